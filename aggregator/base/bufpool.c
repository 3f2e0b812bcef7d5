#include "base/bufpool.h"

#include <stdlib.h>

void bufpool_init(struct bufpool *p, size_t min_cap, size_t max_bytes)
{
    *p = (struct bufpool){ .min_cap = min_cap, .max_bytes = max_bytes };
}

void bufpool_put(struct bufpool *p, char *ptr, size_t cap)
{
    if (ptr == NULL)
        return;
    if (cap < p->min_cap || p->n == BUFPOOL_SLOTS || cap > p->max_bytes - p->bytes) {
        free(ptr);
        return;
    }
    p->ptr[p->n] = ptr;
    p->cap[p->n] = cap;
    p->n++;
    p->bytes += cap;
}

void bufpool_put_buf(struct bufpool *p, struct buf *b)
{
    bufpool_put(p, b->ptr, b->cap);
    buf_init(b);
}

void bufpool_get_buf(struct bufpool *p, struct buf *b)
{
    size_t best = 0;

    if (p->n == 0 || b->ptr != NULL)
        return;
    for (size_t i = 1; i < p->n; i++)
        if (p->cap[i] > p->cap[best])
            best = i;
    b->ptr = p->ptr[best];
    b->cap = p->cap[best];
    b->len = 0;
    b->ptr[0] = '\0';
    p->bytes -= p->cap[best];
    p->n--;
    p->ptr[best] = p->ptr[p->n];
    p->cap[best] = p->cap[p->n];
    p->reused++;
}

void bufpool_release(struct bufpool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->ptr[i]);
    p->n = 0;
    p->bytes = 0;
}
