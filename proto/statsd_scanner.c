/*
 * statsd_scanner: a datagram's lines and their spans in one pass, the daemon's hot path.
 *
 * A window of two 64-byte blocks is classified once (SSE2 where there is SSE2, a plain loop
 * otherwise, and in the STATSD_PORTABLE build that tests it): three bit masks say where
 * the '\n', ':' and '|' bytes are. Each line's end, colon and first bar are then the next
 * set bit of a mask, so a line costs a few shifts, not a byte loop.
 *
 *   requests:1|c|#method:GET\nlatency:0.5|ms\n
 *           ^ ^              ^       ^   ^
 *           colon, bar, newline: one bit each in the masks
 */
#include "statsd_scanner.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) && !defined(STATSD_PORTABLE)
#include <emmintrin.h>
#endif

/* The scan's steps must fold into one loop, scanner state in registers, whatever the
 * compiler's estimate of their size. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

#define SCAN_WINDOW 128 /* bytes the masks describe; also "not in the window" */

#if defined(__SSE2__) && !defined(STATSD_PORTABLE)
static ALWAYS_INLINE uint64_t scan_eq16(__m128i w, char c, unsigned shift)
{
    return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, _mm_set1_epi8(c))) << shift;
}

static ALWAYS_INLINE void scan_classify(const char *p, uint64_t *nl, uint64_t *colon, uint64_t *bar)
{
    *nl = *colon = *bar = 0;
    for (unsigned k = 0; k < 64; k += 16) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        *nl |= scan_eq16(w, '\n', k);
        *colon |= scan_eq16(w, ':', k);
        *bar |= scan_eq16(w, '|', k);
    }
}
#else
static ALWAYS_INLINE void scan_classify(const char *p, uint64_t *nl, uint64_t *colon, uint64_t *bar)
{
    *nl = *colon = *bar = 0;
    for (unsigned k = 0; k < 64; k++) {
        *nl |= (uint64_t)(p[k] == '\n') << k;
        *colon |= (uint64_t)(p[k] == ':') << k;
        *bar |= (uint64_t)(p[k] == '|') << k;
    }
}
#endif

/* Block block of the datagram into half h of the window. */
static ALWAYS_INLINE void scan_block(struct statsd_scanner *s, size_t block, unsigned h)
{
    size_t off = block * 64;

    if (off >= s->len) {
        s->nl[h] = s->colon[h] = s->bar[h] = 0;
    } else if (s->len - off >= 64) {
        scan_classify(s->dgram + off, &s->nl[h], &s->colon[h], &s->bar[h]);
    } else {
        char tail[64] = { 0 };
        memcpy(tail, s->dgram + off, s->len - off);
        scan_classify(tail, &s->nl[h], &s->colon[h], &s->bar[h]);
    }
}

/* Move the window to start at block; the next block is usually the old window's second. */
static ALWAYS_INLINE void scan_window(struct statsd_scanner *s, size_t block)
{
    if (s->block != SIZE_MAX && block == s->block + 1) {
        s->nl[0] = s->nl[1];
        s->colon[0] = s->colon[1];
        s->bar[0] = s->bar[1];
    } else {
        scan_block(s, block, 0);
    }
    scan_block(s, block + 1, 1);
    s->block = block;
}

/* The first bit of m at or after off (< SCAN_WINDOW), or SCAN_WINDOW. */
static ALWAYS_INLINE size_t scan_first(const uint64_t m[2], size_t off)
{
    uint64_t lo, hi;

    if (off < 64) {
        lo = m[0] >> off;
        hi = m[1];
        if (lo != 0)
            return off + (size_t)__builtin_ctzll(lo);
    } else {
        hi = m[1] & (~UINT64_C(0) << (off - 64));
    }
    return hi != 0 ? 64 + (size_t)__builtin_ctzll(hi) : SCAN_WINDOW;
}

void statsd_scanner_init(struct statsd_scanner *s, const char *dgram, size_t len)
{
    s->dgram = dgram;
    s->len = len;
    s->pos = 0;
    s->block = SIZE_MAX;
}

/* A line that runs past the window, split the plain way. */
static int scanner_long_line(struct statsd_scanner *s, struct statsd_parts *out)
{
    statsd_next_line(s->dgram, s->len, &s->pos, &out->line);
    out->split = statsd_split(out->line.ptr, out->line.len, &out->name, &out->values, &out->suffix);
    return 1;
}

static ALWAYS_INLINE int scanner_next(struct statsd_scanner *s, struct statsd_parts *out)
{
    size_t start = s->pos, block = start / 64, base = block * 64, nl, colon, bar = SCAN_WINDOW, p;

    if (start >= s->len)
        return 0;
    if (block != s->block)
        scan_window(s, block);
    /* Offsets from here on are from base, the window's start. */
    nl = scan_first(s->nl, start - base);
    if (nl == SCAN_WINDOW) {
        if (s->len - base > SCAN_WINDOW)
            return scanner_long_line(s, out);
        nl = s->len - base; /* the last line, with no '\n' */
    }
    colon = scan_first(s->colon, start - base);
    if (colon < nl && colon + 1 < SCAN_WINDOW)
        bar = scan_first(s->bar, colon + 1);
    p = base + nl;
    s->pos = p < s->len ? p + 1 : s->len;
    /* As statsd_next_line(): one '\r' before the end is dropped; ':' and '|' lie before it. */
    if (p > start && s->dgram[p - 1] == '\r')
        p--;
    out->line.ptr = s->dgram + start;
    out->line.len = p - start;
    out->split = colon < nl && bar < nl && base + colon != start;
    if (out->split) {
        out->name.ptr = s->dgram + start;
        out->name.len = base + colon - start;
        out->values.ptr = s->dgram + base + colon + 1;
        out->values.len = bar - colon - 1;
        out->suffix.ptr = s->dgram + base + bar;
        out->suffix.len = p - base - bar;
    }
    return 1;
}

int statsd_scanner_next(struct statsd_scanner *s, struct statsd_parts *out)
{
    return scanner_next(s, out);
}

size_t statsd_scanner_fill(struct statsd_scanner *s, struct statsd_parts *out, size_t max)
{
    struct statsd_scanner t = *s;
    size_t n = 0;

    while (n < max && scanner_next(&t, &out[n]))
        n++;
    *s = t;
    return n;
}
