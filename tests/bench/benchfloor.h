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
 *     a line's lookup may read prefetched for 32 lines before the first is read, the
 *     lines of one receive's datagrams together (as the daemon's batches and its staging
 *     of short datagrams do); compare the identity's bytes, so that two series never
 *     merge on a hash;
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
#include <time.h>
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "statsd.h"
#include "statsd_scanner.h"
#include "store/histogram.h"

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
    /* Lines whose slots were asked for, not yet added (benchfloor_flush). */
    struct benchfloor_line pend[BENCHFLOOR_BATCH];
    size_t npend;
    void *map; /* the mapping the slots lie in */
    size_t mapped;
};

#define BENCHFLOOR_HUGE ((size_t)2 << 20)

/*
 * n bytes in 2 MiB pages where the kernel gives them, every page touched: the page faults
 * come before the timed run, not in it.
 */
static inline void *benchfloor_huge(size_t bytes, void **map, size_t *mapped)
{
    void *p;

    *mapped = bytes + BENCHFLOOR_HUGE;
    *map = mmap(NULL, *mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED)
        return NULL;
    p = (void *)(((uintptr_t)*map + BENCHFLOOR_HUGE - 1) & ~(uintptr_t)(BENCHFLOOR_HUGE - 1));
    madvise(p, bytes, MADV_HUGEPAGE);
    memset(p, 0, bytes);
    return p;
}

/*
 * A table for count series (at least twice as many slots), in 2 MiB pages where the
 * kernel gives them (MADV_HUGEPAGE: fewer TLB misses than any layout of 4 KiB pages),
 * every page already touched.
 */
static inline int benchfloor_init(struct benchfloor *f, size_t count)
{
    size_t n = 64;

    while (n < 2 * count)
        n *= 2;
    f->slot = benchfloor_huge(n * sizeof *f->slot, &f->map, &f->mapped);
    if (f->slot == NULL)
        return -1;
    f->mask = n - 1;
    f->npend = 0;
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
        }
        s->sum += l[i].value;
    }
}

/* Add the lines taken so far (benchfloor_take) into their series. */
static inline void benchfloor_flush(struct benchfloor *f)
{
    benchfloor_add(f, f->pend, f->npend);
    f->npend = 0;
}

/*
 * One datagram of len bytes at p into the table; returns its lines. Its lines join those
 * of the datagrams before it, BENCHFLOOR_BATCH at a time, so that datagrams of one line
 * overlap their misses too: the caller calls benchfloor_flush() once the datagrams it
 * received together are taken, before their bytes change.
 */
static inline uint64_t benchfloor_take(struct benchfloor *f, const char *p, size_t len)
{
    const char *end = p + len;
    struct benchfloor_line *l = f->pend;
    uint64_t lines = 0;

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
            size_t n = f->npend;

            l[n] = (struct benchfloor_line){ k != 0 ? k : 1,
                                             p,
                                             bar,
                                             (size_t)(colon - p),
                                             (size_t)(nl - bar),
                                             benchfloor_value(colon + 1, bar) };
            /* The home slot, and the next one a probe may go on to. */
            __builtin_prefetch(&f->slot[l[n].hash & f->mask], 1);
            __builtin_prefetch(&f->slot[(l[n].hash + 1) & f->mask], 1);
            if (++f->npend == BENCHFLOOR_BATCH)
                benchfloor_flush(f);
        }
        if (nl == end)
            break;
        p = nl + 1;
    }
    return lines;
}

/*
 * The floor of a statsd aggregator (struct benchfloor_statsd): the floor above, doing in
 * addition what the statsd format itself asks of any receiver that keeps its series
 * exactly, whatever else it checks:
 *
 *   - the type after the first bar ("c", "g", "h", "d" or "ms") decides what the value
 *     does: a counter adds it (over the sample rate, "|@r" right after the type), a gauge
 *     replaces its value (or adds a signed one), a histogram finds its bucket among the
 *     family's bounds, counts it and adds it to its sum;
 *   - the value is checked: a number, else the line is dropped and counted;
 *   - each series keeps the time of its last line, for expiry.
 *
 * Left out, since bench_ingest sends none of them, and all of them cheaper left out: sets
 * ("|s"), the daemon's job and service-check lines, a rate placed after the tags, a rate
 * on a histogram, packed values past the first, a timer's milliseconds made seconds; an
 * empty line counts as dropped, a rate that is no number as 1.
 *
 * Each table is at most half full: the histograms' has half the slots of the other, for
 * bench_ingest's mix, a third of its series histograms (more ends the benchmark).
 *
 * A counter's or gauge's slot is one cache line (the tag, the time, the value or sum, the
 * type and up to BENCHFLOOR_SKEY bytes of identity); a histogram's is two, that line and
 * its counts, in a table of its own (a line's type says which table it looks in before
 * the lookup): one place a line reads, asked for with the line's first prefetch, so that
 * a lookup waits on memory once. (Its counts in a second table at the same index, one
 * line a series, cost a second miss: 0.39 against 0.52 for the floor at 1M series,
 * uniform, 20 lines a datagram.) Every histogram has bench_ingest's 11 bounds (one family);
 * a receiver of many would find the bounds through the series' family. It knows no label,
 * allowlist or cap: those depend on the identity only, and an aggregator can check them
 * once a series, as ustatsd's front cache does.
 */
#define BENCHFLOOR_SKEY    46
#define BENCHFLOOR_BUCKETS 12

enum { BENCHFLOOR_COUNTER = 1, BENCHFLOOR_GAUGE, BENCHFLOOR_HISTOGRAM };

struct benchfloor_sslot {
    uint32_t tag;  /* the hash's low 32 bits */
    uint32_t seen; /* the last line's time, s */
    double value;  /* a counter's sum, a gauge's value, a histogram's sum */
    uint8_t len;   /* identity bytes (0: empty) */
    uint8_t type;
    char key[BENCHFLOOR_SKEY];
} __attribute__((aligned(64)));

/* A histogram's slot: the line every slot has, then its counts. */
struct benchfloor_hslot {
    struct benchfloor_sslot head;
    uint32_t n[BENCHFLOOR_BUCKETS];
} __attribute__((aligned(64)));

struct benchfloor_sline {
    uint64_t hash;
    const char *name, *suffix;
    uint8_t nlen, slen, type;
    uint8_t rel; /* a gauge's signed value: added, not set */
    double value;
};

struct benchfloor_statsd {
    struct benchfloor_sslot *slot;
    struct benchfloor_hslot *hist; /* the histograms' table, half as many slots */
    size_t hmask;
    uint64_t hseries; /* its slots taken */
    size_t mask;
    uint64_t dropped;                               /* lines whose type or value is not statsd's */
    struct benchfloor_sline pend[BENCHFLOOR_BATCH]; /* as struct benchfloor's */
    size_t npend;
    uint32_t now;     /* the time a line is stamped with */
    uint32_t scratch; /* what a line that is not a histogram's counts, without a branch */
    unsigned tick;    /* datagrams since the clock was read */
    void *map[2];
    size_t mapped[2];
};

static const double benchfloor_bounds[BENCHFLOOR_BUCKETS - 1] = { 0.005, 0.01, 0.025, 0.05,
                                                                  0.1,   0.25, 0.5,   1,
                                                                  2.5,   5,    10 };

static inline int benchfloor_statsd_init(struct benchfloor_statsd *f, size_t count)
{
    size_t n = 64;

    while (n < 2 * count)
        n *= 2;
    memset(f, 0, sizeof *f);
    f->slot = benchfloor_huge(n * sizeof *f->slot, &f->map[0], &f->mapped[0]);
    /* Half the slots: bench_ingest's histograms are a third of its series (checked). */
    f->hist = benchfloor_huge(n / 2 * sizeof *f->hist, &f->map[1], &f->mapped[1]);
    if (f->slot == NULL || f->hist == NULL) {
        if (f->slot != NULL)
            munmap(f->map[0], f->mapped[0]);
        if (f->hist != NULL)
            munmap(f->map[1], f->mapped[1]);
        return -1;
    }
    f->mask = n - 1;
    f->hmask = n / 2 - 1;
    return 0;
}

static inline void benchfloor_statsd_free(struct benchfloor_statsd *f)
{
    munmap(f->map[0], f->mapped[0]);
    munmap(f->map[1], f->mapped[1]);
    f->slot = NULL;
    f->hist = NULL;
}

/*
 * The type of the suffix at bar ("|c", "|g", "|h", "|d", "|ms", then '|' or its end), or
 * 0; *after is where the type ends. A table, not a switch: the types of a host's lines
 * come in no order a branch could learn.
 */
static inline unsigned benchfloor_type(const char *bar, const char *end, const char **after)
{
    static const uint8_t types[256] = { ['c'] = BENCHFLOOR_COUNTER,
                                        ['g'] = BENCHFLOOR_GAUGE,
                                        ['h'] = BENCHFLOOR_HISTOGRAM,
                                        ['d'] = BENCHFLOOR_HISTOGRAM,
                                        ['m'] = BENCHFLOOR_HISTOGRAM };
    const char *p = bar + 2;
    unsigned type;

    if (end - bar < 2)
        return 0;
    type = types[(uint8_t)bar[1]];
    if (bar[1] == 'm' && (p == end || *p++ != 's'))
        return 0;
    *after = p;
    return p == end || *p == '|' ? type : 0;
}

/* The slots of the table a line of type looks in, less one (without a branch on the type). */
static inline size_t benchfloor_mask(const struct benchfloor_statsd *f, unsigned type)
{
    return type == BENCHFLOOR_HISTOGRAM ? f->hmask : f->mask;
}

/* Slot at of the table a line of type looks in. */
static inline struct benchfloor_sslot *benchfloor_slot(const struct benchfloor_statsd *f,
                                                       unsigned type, size_t at)
{
    return type == BENCHFLOOR_HISTOGRAM ? &f->hist[at].head : &f->slot[at];
}

static inline int benchfloor_ssame(const struct benchfloor_sslot *s,
                                   const struct benchfloor_sline *l)
{
    return s->tag == (uint32_t)l->hash && s->len == l->nlen + l->slen &&
           memcmp(s->key, l->name, l->nlen) == 0 &&
           memcmp(s->key + l->nlen, l->suffix, l->slen) == 0;
}

static inline void benchfloor_statsd_add(struct benchfloor_statsd *f,
                                         const struct benchfloor_sline *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t mask = benchfloor_mask(f, l[i].type), at = l[i].hash & mask;
        struct benchfloor_sslot *s;

        while ((s = benchfloor_slot(f, l[i].type, at))->len != 0 && !benchfloor_ssame(s, &l[i]))
            at = (at + 1) & mask;
        if (s->len == 0) {
            s->tag = (uint32_t)l[i].hash;
            s->len = (uint8_t)(l[i].nlen + l[i].slen);
            s->type = l[i].type;
            memcpy(s->key, l[i].name, l[i].nlen);
            memcpy(s->key + l[i].nlen, l[i].suffix, l[i].slen);
            /* At most half full: the histograms' table has half the slots. */
            if (l[i].type == BENCHFLOOR_HISTOGRAM && ++f->hseries > (f->hmask + 1) / 2)
                abort();
        }
        s->seen = f->now;
        {
            /*
             * Without a branch on the type: a gauge set to an unsigned value takes it, every
             * other line adds it; a histogram's count goes to its bucket, any other line's
             * to a scratch word.
             */
            size_t b = histogram_bucket(benchfloor_bounds, BENCHFLOOR_BUCKETS - 1, l[i].value);
            uint32_t *count = s->type == BENCHFLOOR_HISTOGRAM
                                  ? &((struct benchfloor_hslot *)s)->n[b]
                                  : &f->scratch;
            double base = s->type == BENCHFLOOR_GAUGE && !l[i].rel ? 0 : s->value;

            s->value = base + l[i].value;
            (*count)++;
        }
    }
}

/* The sample rate at p ("|@r" after the type), or 1. */
static inline double benchfloor_rate(const char *p, const char *end)
{
    const char *q = p + 2;
    double r;

    if (end - p < 3 || p[1] != '@')
        return 1;
    while (q < end && *q != '|')
        q++;
    return statsd_plain_value(p + 2, (size_t)(q - p - 2), &r) && r > 0 && r <= 1 ? r : 1;
}

/*
 * Line lp (split) into l, or 0 if it is not a statsd line (counted as dropped). The
 * values as the daemon reads them (statsd_plain_value, else statsd_parse_values: a sign,
 * an exponent, packed values; only the first of packed values is taken).
 */
static inline int benchfloor_sline(struct benchfloor_statsd *f, const struct statsd_parts *lp,
                                   struct benchfloor_sline *l)
{
    static const enum statsd_type as[] = { [BENCHFLOOR_COUNTER] = STATSD_COUNTER,
                                           [BENCHFLOOR_GAUGE] = STATSD_GAUGE,
                                           [BENCHFLOOR_HISTOGRAM] = STATSD_HISTOGRAM };
    const char *end = NULL, *after = NULL;
    unsigned type = 0;
    struct statsd_line line;
    double v;

    if (lp->split) {
        end = lp->suffix.ptr + lp->suffix.len;
        type = benchfloor_type(lp->suffix.ptr, end, &after);
    }
    if (type == 0) {
        f->dropped++;
        return 0;
    }
    if (lp->name.len + lp->suffix.len > BENCHFLOOR_SKEY)
        abort(); /* bench_ingest's identities fit */
    line.relative = 0;
    if (!statsd_plain_value(lp->values.ptr, lp->values.len, &v)) {
        line.type = as[type];
        if (statsd_parse_values(lp->values.ptr, lp->values.len, &line) != STATSD_OK) {
            f->dropped++;
            return 0;
        }
        v = line.values[0];
    }
    if (type == BENCHFLOOR_COUNTER && after < end)
        v /= benchfloor_rate(after, end);
    *l = (struct benchfloor_sline){ XXH3_64bits_withSeed(lp->suffix.ptr, lp->suffix.len,
                                                         XXH3_64bits(lp->name.ptr, lp->name.len)),
                                    lp->name.ptr,
                                    lp->suffix.ptr,
                                    (uint8_t)lp->name.len,
                                    (uint8_t)lp->suffix.len,
                                    (uint8_t)type,
                                    (uint8_t)line.relative,
                                    v };
    /* The home slot (a histogram's two lines), and the next one's first. */
    __builtin_prefetch(benchfloor_slot(f, type, l->hash & benchfloor_mask(f, type)), 1);
    if (type == BENCHFLOOR_HISTOGRAM)
        __builtin_prefetch(f->hist[l->hash & f->hmask].n, 1);
    __builtin_prefetch(benchfloor_slot(f, type, (l->hash + 1) & benchfloor_mask(f, type)), 1);
    return 1;
}

/* Add the lines taken so far (benchfloor_statsd_take) into their series. */
static inline void benchfloor_statsd_flush(struct benchfloor_statsd *f)
{
    benchfloor_statsd_add(f, f->pend, f->npend);
    f->npend = 0;
}

/*
 * One datagram of len bytes at p into the table; returns its lines. Split as the daemon
 * splits it (statsd_scanner_fill: the fastest split here), its lines join those of the
 * datagrams before it, BENCHFLOOR_BATCH at a time, as benchfloor_take()'s do; the caller
 * calls benchfloor_statsd_flush() once the datagrams it received together are taken.
 */
static inline uint64_t benchfloor_statsd_take(struct benchfloor_statsd *f, const char *p,
                                              size_t len)
{
    struct statsd_scanner scan;
    struct statsd_parts lp[BENCHFLOOR_BATCH];
    uint64_t lines = 0;
    size_t got;

    if (f->tick++ % 64 == 0) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME_COARSE, &ts);
        f->now = (uint32_t)ts.tv_sec;
    }
    statsd_scanner_init(&scan, p, len);
    do {
        got = statsd_scanner_fill(&scan, lp, BENCHFLOOR_BATCH);
        for (size_t i = 0; i < got; i++) {
            f->npend += (size_t)benchfloor_sline(f, &lp[i], &f->pend[f->npend]);
            if (f->npend == BENCHFLOOR_BATCH)
                benchfloor_statsd_flush(f);
        }
        lines += got;
    } while (got == BENCHFLOOR_BATCH);
    return lines;
}

/*
 * One datagram into the floor f, or the statsd floor sf when f is NULL, and the flush of
 * the lines taken: what the sink and bench_intake call with whichever floor they run.
 */
static inline uint64_t benchfloor_take_into(struct benchfloor *f, struct benchfloor_statsd *sf,
                                            const char *p, size_t len)
{
    return f != NULL ? benchfloor_take(f, p, len) : benchfloor_statsd_take(sf, p, len);
}

static inline void benchfloor_flush_into(struct benchfloor *f, struct benchfloor_statsd *sf)
{
    if (f != NULL)
        benchfloor_flush(f);
    else
        benchfloor_statsd_flush(sf);
}

#endif
