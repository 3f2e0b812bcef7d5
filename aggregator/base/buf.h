/*
 * buf: a growable byte buffer, after git's strbuf.
 *
 * The buffer always keeps one spare byte so that ptr[len] can be set to NUL, but the
 * contents are bytes: they may hold NULs. Growth that cannot be satisfied aborts with a
 * message (Redis zmalloc_default_oom): out of memory is not an error the caller handles.
 */
#ifndef USTATSD_BUF_H
#define USTATSD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *ptr; /* NULL until the first growth */
    size_t len;
    size_t cap;
};

#define BUF_INIT   \
    {              \
        NULL, 0, 0 \
    }

/* Initialise an empty buffer; allocates nothing. */
void buf_init(struct buf *b);
/* Free the storage and reset to empty. */
void buf_release(struct buf *b);
/* Make room for at least extra more bytes (plus the spare NUL byte). */
void buf_grow(struct buf *b, size_t extra);
/* Drop the contents, keep the storage. */
void buf_reset(struct buf *b);
/* Append len bytes. */
void buf_add(struct buf *b, const void *data, size_t len);
/* Append a NUL-terminated string, without its NUL. */
void buf_adds(struct buf *b, const char *s);
/* Append one byte. */
void buf_addch(struct buf *b, char c);
/* Append printf-formatted text. */
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Remove the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
/* Hand the storage to the caller (who frees it) and reset b; NUL-terminated. */
char *buf_detach(struct buf *b, size_t *len);

#endif
