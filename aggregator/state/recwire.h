/*
 * recwire: the state file's record primitives (records.h): a byte, an unsigned LEB128
 * number (at most 10 bytes), a little-endian double, a string as its length then its
 * bytes; written to a buf, read from a body with a bounds check on every read. A reader
 * that fails records the first problem, with its byte offset, and reads zeroes after it.
 *
 * A domain module: no state, no allocation but the buf's.
 */
#ifndef USTATSD_RECWIRE_H
#define USTATSD_RECWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "statsd.h"

void rec_put_byte(struct buf *b, unsigned v);
void rec_put_u(struct buf *b, uint64_t v);
void rec_put_f(struct buf *b, double d);
void rec_put_s(struct buf *b, const char *s, size_t len);

/* A body being read: [base, end), p the next byte; bad once a read failed. */
struct rd {
    const unsigned char *base, *p, *end;
    char *err;
    size_t errlen;
    int bad;
};

/* Record the first problem (at r->p's offset) in r->err; later ones are dropped. */
void rec_rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
unsigned rec_get_byte(struct rd *r);
uint64_t rec_get_u(struct rd *r);
double rec_get_f(struct rd *r);
/* A string of at most max bytes, as a view into the body; what names it in a message. */
struct statsd_view rec_get_s(struct rd *r, size_t max, const char *what);

#endif
