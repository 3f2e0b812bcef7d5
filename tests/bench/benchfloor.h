/*
 * benchfloor.h: the floor of an aggregator, bench_ingest's second baseline at --series N.
 * The raw sink only counts lines; the floor is the raw sink's thread doing, in addition,
 * the least that any aggregator keeping N series must do with each line:
 *
 *   - find the line, its name (up to ':'), its value (up to '|') and the rest (the
 *     identity's suffix: type, rate and tags);
 *   - hash the name and the suffix (XXH3, as the daemon's front cache does);
 *   - find the series in a table of N: open addressing over 16-byte slots, a 64-bit hash
 *     and a sum, in one cache line, at most half full, the slots of 32 lines prefetched
 *     before the first is read (as the daemon's batches do);
 *   - parse the value (digits, a point, digits) and add it to the series' sum.
 *
 * It keeps no key bytes, compares only the hash, checks nothing, knows no type and no
 * label: a lower bound of what a line costs at N series, not an aggregator. The daemon's
 * ratio to the raw sink can come no nearer to 1 than the floor's does: where the floor's
 * is below a target, the machine, not the daemon, misses it. The table is written once
 * before the timed run, so that its page faults are not in the figure.
 */
#ifndef USTATSD_BENCHFLOOR_H
#define USTATSD_BENCHFLOOR_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#define BENCHFLOOR_BATCH 32

struct benchfloor_slot {
    uint64_t key; /* the identity's hash (0: empty) */
    double sum;
};

struct benchfloor {
    struct benchfloor_slot *slot;
    size_t mask;
    uint64_t series; /* slots taken */
};

/* A table for nseries series (at least twice as many slots), every page already touched. */
static inline int benchfloor_init(struct benchfloor *f, size_t nseries)
{
    size_t n = 64;

    while (n < 2 * nseries)
        n *= 2;
    f->slot = malloc(n * sizeof *f->slot);
    if (f->slot == NULL)
        return -1;
    memset(f->slot, 0, n * sizeof *f->slot);
    f->mask = n - 1;
    f->series = 0;
    return 0;
}

static inline void benchfloor_free(struct benchfloor *f)
{
    free(f->slot);
    f->slot = NULL;
}

/* The value from p to end: digits, optionally a point and more digits. */
static inline double benchfloor_value(const char *p, const char *end)
{
    double v = 0, scale = 1;
    int frac = 0;

    for (; p < end; p++) {
        if (*p == '.') {
            frac = 1;
            continue;
        }
        v = v * 10 + (*p - '0');
        if (frac)
            scale *= 10;
    }
    return v / scale;
}

/* Add each of the n lines (hash h[i], value v[i]) into its series, taking a slot if new. */
static inline void benchfloor_add(struct benchfloor *f, const uint64_t *h, const double *v,
                                  size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = h[i] & f->mask;

        while (f->slot[at].key != h[i] && f->slot[at].key != 0)
            at = (at + 1) & f->mask;
        if (f->slot[at].key == 0) {
            f->slot[at].key = h[i];
            f->series++;
        }
        f->slot[at].sum += v[i];
    }
}

/* One datagram of len bytes at p into the table; returns its lines. */
static inline uint64_t benchfloor_take(struct benchfloor *f, const char *p, size_t len)
{
    const char *end = p + len;
    uint64_t h[BENCHFLOOR_BATCH], lines = 0;
    double v[BENCHFLOOR_BATCH];
    size_t n = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon, *bar;

        if (nl == NULL)
            nl = end;
        colon = memchr(p, ':', (size_t)(nl - p));
        bar = colon != NULL ? memchr(colon, '|', (size_t)(nl - colon)) : NULL;
        lines++;
        if (bar != NULL) {
            uint64_t k =
                XXH3_64bits_withSeed(bar, (size_t)(nl - bar), XXH3_64bits(p, (size_t)(colon - p)));

            h[n] = k != 0 ? k : 1;
            v[n] = benchfloor_value(colon + 1, bar);
            __builtin_prefetch(&f->slot[h[n] & f->mask], 1);
            if (++n == BENCHFLOOR_BATCH) {
                benchfloor_add(f, h, v, n);
                n = 0;
            }
        }
        p = nl + 1;
    }
    benchfloor_add(f, h, v, n);
    return lines;
}

#endif
