#include "state/recwire.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"

void rec_put_byte(struct buf *b, unsigned v)
{
    buf_addch(b, (char)(unsigned char)v);
}

void rec_put_u(struct buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;

    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            tmp[n] |= 0x80;
        n++;
    } while (v != 0);
    buf_add(b, tmp, n);
}

void rec_put_f(struct buf *b, double d)
{
    unsigned char tmp[8];
    uint64_t v;

    memcpy(&v, &d, sizeof v);
    le_put64(tmp, v);
    buf_add(b, tmp, sizeof tmp);
}

void rec_put_s(struct buf *b, const char *s, size_t len)
{
    rec_put_u(b, len);
    buf_add(b, s, len);
}

void rec_rd_fail(struct rd *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->bad)
        return;
    r->bad = 1;
    n = snprintf(r->err, r->errlen, "at byte %zu: ", (size_t)(r->p - r->base));
    if (n < 0 || (size_t)n >= r->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

unsigned rec_get_byte(struct rd *r)
{
    if (r->bad)
        return 0;
    if (r->p >= r->end) {
        rec_rd_fail(r, "a record is cut short");
        return 0;
    }
    return *r->p++;
}

uint64_t rec_get_u(struct rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0, c;

    do {
        c = rec_get_byte(r);
        if (r->bad)
            return 0;
        if (shift == 63 && (c & 0x7e) != 0) {
            rec_rd_fail(r, "a number overflows 64 bits");
            return 0;
        }
        v |= (uint64_t)(c & 0x7f) << shift;
        shift += 7;
    } while ((c & 0x80) != 0 && shift < 70);
    if (c & 0x80)
        rec_rd_fail(r, "a number runs past 10 bytes");
    return v;
}

double rec_get_f(struct rd *r)
{
    uint64_t v;
    double d;

    if (r->bad)
        return 0;
    if (r->end - r->p < 8) {
        rec_rd_fail(r, "a record is cut short");
        return 0;
    }
    v = le_get64(r->p);
    r->p += 8;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* A string of at most max bytes, as a view into the body. */
struct statsd_view rec_get_s(struct rd *r, size_t max, const char *what)
{
    struct statsd_view v = { NULL, 0 };
    uint64_t len = rec_get_u(r);

    if (r->bad)
        return v;
    if (len > max) {
        rec_rd_fail(r, "%s of %llu bytes (at most %zu)", what, (unsigned long long)len, max);
        return v;
    }
    if ((uint64_t)(r->end - r->p) < len) {
        rec_rd_fail(r, "a record is cut short");
        return v;
    }
    v.ptr = (const char *)r->p;
    v.len = (size_t)len;
    r->p += len;
    return v;
}
