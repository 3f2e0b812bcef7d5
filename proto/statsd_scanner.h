/*
 * statsd_scanner: statsd_next_line() and statsd_split() in one pass over a datagram, the
 * daemon's hot path. A pure module of the wire contract; statsd.h has the grammar's
 * functions it stands for.
 */
#ifndef USTATSD_STATSD_SCANNER_H
#define USTATSD_STATSD_SCANNER_H

#include <stddef.h>
#include <stdint.h>

#include "statsd.h"

/* A line of a datagram with the spans statsd_split() finds in it. */
struct statsd_parts {
    struct statsd_view line; /* as statsd_next_line() gives it */
    int split;               /* statsd_split(line) would return 1: the three spans are set */
    struct statsd_view name; /* as statsd_split() gives them */
    struct statsd_view values;
    struct statsd_view suffix;
};

/*
 * statsd_next_line() and statsd_split() in one pass over a datagram: the daemon's hot
 * path. statsd_scanner_next() returns 1 and sets *out for each line in turn (empty lines
 * included, with line.len 0), then 0. The datagram must stay unchanged meanwhile.
 */
struct statsd_scanner {
    const char *dgram;
    size_t len;
    size_t pos; /* where the next line starts */
};

void statsd_scanner_init(struct statsd_scanner *s, const char *dgram, size_t len);
int statsd_scanner_next(struct statsd_scanner *s, struct statsd_parts *out);

/*
 * Up to max lines at once into out[], as that many statsd_scanner_next() calls would
 * give them; returns how many (fewer than max: the datagram is done). The scanner's
 * state stays in registers meanwhile, which the line-at-a-time call cannot do.
 */
size_t statsd_scanner_fill(struct statsd_scanner *s, struct statsd_parts *out, size_t max);

/*
 * statsd_scanner_fill() takes a datagram's bytes 32 at a time where the CPU has AVX2 and
 * BMI2 (statsd_scanner_avx2() says 1), 16 at a time (SSE2) or one at a time otherwise.
 * statsd_scanner_fill_base() is the same without AVX2, whatever the CPU, so that tests
 * compare the two on any machine.
 */
int statsd_scanner_avx2(void);
size_t statsd_scanner_fill_base(struct statsd_scanner *s, struct statsd_parts *out, size_t max);

#endif
