#include "base/buf.h"

#include "base/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_release(struct buf *b)
{
    free(b->ptr);
    buf_init(b);
}

void buf_grow(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap;

    if (need < b->len)
        mem_oom(SIZE_MAX);
    if (need <= b->cap && b->ptr != NULL)
        return;
    /* Grow by half again, like git's alloc_nr(), so appends stay amortised O(1). */
    cap = b->cap ? b->cap + b->cap / 2 : 64;
    if (cap < need)
        cap = need;
    b->ptr = mem_realloc(b->ptr, cap);
    b->cap = cap;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

void buf_add(struct buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    buf_grow(b, len);
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, char c)
{
    buf_grow(b, 1);
    b->ptr[b->len++] = c;
    b->ptr[b->len] = '\0';
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    buf_grow(b, 64);
    va_copy(cp, ap);
    n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        buf_grow(b, (size_t)n);
        n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
    b->ptr[b->len] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p;

    if (b->ptr == NULL)
        buf_grow(b, 0);
    p = b->ptr;
    if (len)
        *len = b->len;
    p[b->len] = '\0';
    buf_init(b);
    return p;
}
