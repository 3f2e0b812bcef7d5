/*
 * benchfloor.h: the floor of an aggregator, bench_ingest's second baseline at --series N.
 * The raw sink only counts lines; the floor is the raw sink's thread doing, in addition,
 * the least that an exact aggregator keeping N series must do with each line:
 *
 *   - find the line, its name (up to ':'), its value (up to '|') and the rest (the
 *     identity's suffix: type, rate and tags);
 *   - hash the name and the suffix (XXH3, as the daemon's front cache does);
 *   - find the series in a table of N: open addressing over 64-byte slots (one cache
 *     line: the hash, the sum and the identity's bytes), at most half full, the two slots
 *     a line's lookup may read prefetched for 32 lines before the first is read (as the
 *     daemon's batches do); compare the identity's bytes, so that two series never merge
 *     on a hash;
 *   - parse the value (digits, a point, digits) and add it to the series' sum.
 *
 * It checks nothing, knows no type, no label and no bucket, and an identity longer than
 * BENCHFLOOR_KEY bytes ends the benchmark (bench_ingest's are shorter): a lower bound of
 * what a line costs at N series, not an aggregator. The daemon's
 * ratio to the raw sink can come no nearer to 1 than the floor's does: where the floor's
 * is below a target, the machine, not the daemon, misses it. The table is written once
 * before the timed run, so that its page faults are not in the figure.
 */
#ifndef USTATSD_BENCHFLOOR_H
#define USTATSD_BENCHFLOOR_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#define BENCHFLOOR_BATCH 32
#define BENCHFLOOR_KEY   46 /* identity bytes a slot holds */

struct benchfloor_slot {
    uint64_t hash; /* the identity's (0: empty) */
    double sum;
    uint16_t len; /* the identity's bytes: name, then suffix */
    char key[BENCHFLOOR_KEY];
} __attribute__((aligned(64)));

/* A line as the floor reads it: its identity's hash and two pieces, and its value. */
struct benchfloor_line {
    uint64_t hash;
    const char *name, *suffix;
    size_t nlen, slen;
    double value;
};

struct benchfloor {
    struct benchfloor_slot *slot;
    size_t mask;
    uint64_t series; /* slots taken */
    void *map;       /* the mapping the slots lie in */
    size_t mapped;
};

#define BENCHFLOOR_HUGE ((size_t)2 << 20)

/*
 * A table for nseries series (at least twice as many slots), in 2 MiB pages where the
 * kernel gives them (MADV_HUGEPAGE: fewer TLB misses than any layout of 4 KiB pages),
 * every page already touched.
 */
static inline int benchfloor_init(struct benchfloor *f, size_t nseries)
{
    size_t n = 64, bytes;

    while (n < 2 * nseries)
        n *= 2;
    bytes = n * sizeof *f->slot;
    f->mapped = bytes + BENCHFLOOR_HUGE;
    f->map = mmap(NULL, f->mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f->map == MAP_FAILED)
        return -1;
    f->slot = (struct benchfloor_slot *)(((uintptr_t)f->map + BENCHFLOOR_HUGE - 1) &
                                         ~(uintptr_t)(BENCHFLOOR_HUGE - 1));
    madvise(f->slot, bytes, MADV_HUGEPAGE);
    memset(f->slot, 0, bytes);
    f->mask = n - 1;
    f->series = 0;
    return 0;
}

static inline void benchfloor_free(struct benchfloor *f)
{
    munmap(f->map, f->mapped);
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

static inline int benchfloor_same(const struct benchfloor_slot *s, const struct benchfloor_line *l)
{
    return s->hash == l->hash && s->len == l->nlen + l->slen &&
           memcmp(s->key, l->name, l->nlen) == 0 &&
           memcmp(s->key + l->nlen, l->suffix, l->slen) == 0;
}

/* Add each of the n lines into its series, taking a slot for a new one. */
static inline void benchfloor_add(struct benchfloor *f, const struct benchfloor_line *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = l[i].hash & f->mask;
        struct benchfloor_slot *s;

        while (f->slot[at].hash != 0 && !benchfloor_same(&f->slot[at], &l[i]))
            at = (at + 1) & f->mask;
        s = &f->slot[at];
        if (s->hash == 0) {
            if (l[i].nlen + l[i].slen > BENCHFLOOR_KEY)
                abort(); /* bench_ingest's identities fit */
            s->hash = l[i].hash;
            s->len = (uint16_t)(l[i].nlen + l[i].slen);
            memcpy(s->key, l[i].name, l[i].nlen);
            memcpy(s->key + l[i].nlen, l[i].suffix, l[i].slen);
            f->series++;
        }
        s->sum += l[i].value;
    }
}

/* One datagram of len bytes at p into the table; returns its lines. */
static inline uint64_t benchfloor_take(struct benchfloor *f, const char *p, size_t len)
{
    const char *end = p + len;
    struct benchfloor_line l[BENCHFLOOR_BATCH];
    uint64_t lines = 0;
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

            l[n] = (struct benchfloor_line){ k != 0 ? k : 1,
                                             p,
                                             bar,
                                             (size_t)(colon - p),
                                             (size_t)(nl - bar),
                                             benchfloor_value(colon + 1, bar) };
            /* The home slot, and the next one a probe may go on to. */
            __builtin_prefetch(&f->slot[l[n].hash & f->mask], 1);
            __builtin_prefetch(&f->slot[(l[n].hash + 1) & f->mask], 1);
            if (++n == BENCHFLOOR_BATCH) {
                benchfloor_add(f, l, n);
                n = 0;
            }
        }
        p = nl + 1;
    }
    benchfloor_add(f, l, n);
    return lines;
}

#endif
