/*
 * histogram: observations counted in buckets over sorted upper bounds (Prometheus "le":
 * a value equal to a bound belongs to that bound's bucket; one more bucket, +Inf, takes
 * what lies above the last bound). The one bucketing of the daemon: the registry's
 * series and the daemon's own timings (timings.c) both use histogram_bucket().
 *
 * The counts of a series lie in its block as struct histogram. The carries of sampled
 * observations (below), one per bucket, lie in a block of their own that the owner
 * allocates at the first sampled observation that leaves one (histogram_update.carries):
 * most histograms are never sampled, and the carries would double their size. Observing
 * is two steps, so that a caller can reject a line after working out its effect and leave
 * the histogram unchanged: histogram_plan() computes, histogram_commit() writes.
 *
 * A domain module; allocates nothing.
 */
#ifndef USTATSD_HISTOGRAM_H
#define USTATSD_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HISTOGRAM_MAX_BOUNDS 64 /* bounds per histogram, +Inf excluded */
#define HISTOGRAM_MAX_VALUES 64 /* observations one plan takes */

/*
 * One histogram's counts, in a caller's block of histogram_size(nbounds) bytes (zeroed
 * for an empty histogram, 8-byte aligned): b[nbounds + 1] per-bucket counts (NOT
 * cumulative; the last is +Inf).
 */
struct histogram {
    uint64_t count; /* == sum of b[] */
    double *carry;  /* nbounds + 1 carries, each in [0, 1); NULL: all zero (the owner's) */
    uint64_t b[];
};

/* What histogram_plan() works out for values[0..n), for histogram_commit(). */
struct histogram_update {
    uint64_t incs[HISTOGRAM_MAX_VALUES];
    uint16_t bucket[HISTOGRAM_MAX_VALUES];
    unsigned char touched[HISTOGRAM_MAX_BOUNDS + 1];
    double carry[HISTOGRAM_MAX_BOUNDS + 1];
    /* Whether the commit leaves a carry that is not zero: histogram.carry must exist. */
    int carries;
};

/* Bytes of a histogram of nbounds bounds in its block (the carries lie apart). */
static inline size_t histogram_size(size_t nbounds)
{
    return sizeof(struct histogram) + (nbounds + 1) * sizeof(uint64_t);
}

/* Bytes of the carries of a histogram of nbounds bounds (struct histogram.carry). */
static inline size_t histogram_carries_size(size_t nbounds)
{
    return (nbounds + 1) * sizeof(double);
}

/*
 * The bucket of v among bounds[0..n), sorted ascending: the first bound >= v, or n for
 * +Inf. NaN lands in bucket 0. Inline: the ingest path runs it for every observation.
 *
 * Without branches on the data: values land in buckets at random, and a mispredicted
 * branch per halving cost more than the whole search. Up to 16 bounds (the usual case)
 * the bounds below v are counted, independent compares that pipeline; beyond, a lower
 * bound narrows with a select that compiles to a conditional move.
 */
static inline size_t histogram_bucket(const double *bounds, size_t n, double v)
{
    const double *base = bounds;
    size_t below = 0;

    if (n <= 16) {
        /* Two bounds a compare, in a vector of the compiler's (each true lane is -1). */
        typedef double pair __attribute__((vector_size(16)));
        typedef long long mask __attribute__((vector_size(16)));
        const pair vv = { v, v };
        mask acc = { 0, 0 };
        size_t i;

        for (i = 0; i + 2 <= n; i += 2) {
            pair b;
            memcpy(&b, base + i, sizeof b);
            acc += b < vv;
        }
        below = (size_t)(-(acc[0] + acc[1]));
        return i < n ? below + (base[i] < v) : below;
    }
    while (n > 1) {
        size_t half = n / 2;

        base = base[half] < v ? base + half : base;
        n -= half;
    }
    return (size_t)(base - bounds) + (*base < v);
}

/*
 * Plan the observation of values[0..n) (n <= HISTOGRAM_MAX_VALUES), each divided by div
 * first (1000 for milliseconds into seconds, else 1), at sample rate rate in (0, 1]: each
 * weighs 1 / rate. Adds each value / rate to *sum, in order. h is the histogram the plan
 * is for, or NULL for a new one; it is read, not changed.
 */
void histogram_plan(const struct histogram *h, const double *bounds, size_t nbounds,
                    const double *values, size_t n, double div, double rate, double *sum,
                    struct histogram_update *u);

/*
 * Apply the plan of n values at rate rate to h, the histogram it was planned for. When
 * u->carries is set, h->carry must point at the histogram's carries (the owner allocates
 * them zeroed before the commit).
 */
void histogram_commit(struct histogram *h, size_t nbounds, const struct histogram_update *u,
                      size_t n, double rate);

#endif
