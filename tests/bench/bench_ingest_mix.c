/*
 * bench_ingest_mix.c: bench_ingest's load, the lines and the series they go to
 * (--series, --mix).
 */
#include "bench_ingest.h"

#include <stdio.h>

#include "benchutil.h"

static double *zipf_cdf;   /* MIX_ZIPF: cumulative probability of ranks [0, k] */
static uint64_t zipf_step; /* rank -> series: r * zipf_step mod nseries, a bijection */

/* splitmix64: a line's random draw, the same in every round. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void zipf_setup(void)
{
    double sum = 0;

    zipf_cdf = benchutil_xrealloc(NULL, nseries * sizeof(*zipf_cdf));
    for (size_t k = 0; k < nseries; k++)
        zipf_cdf[k] = sum += 1.0 / (double)(k + 1);
    for (size_t k = 0; k < nseries; k++)
        zipf_cdf[k] /= sum;
    /* A step near the golden ratio of N, coprime with it: ranks land all over. */
    zipf_step = (uint64_t)((double)nseries * 0.6180339887) | 1;
    while (gcd(zipf_step, nseries) != 1)
        zipf_step += 2;
}

/* The series line i goes to. */
static size_t series_of(uint64_t i)
{
    uint64_t r;
    size_t lo = 0, hi;

    switch (mix) {
    case MIX_RR:
        return (size_t)(i % nseries);
    case MIX_UNIFORM:
        return (size_t)(mix64(i) % nseries);
    default:
        break;
    }
    /* The first rank whose cumulative probability reaches a uniform draw in [0, 1). */
    r = mix64(i) >> 11;
    hi = nseries - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((double)r * 0x1p-53 < zipf_cdf[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return (size_t)((uint64_t)lo * zipf_step % nseries);
}

/*
 * Line i to series s; a third of the series are in each family:
 *
 *   bench.requests:1|c|#k:s0,env:prod
 *   bench.inflight:17|g|#k:s1,env:prod
 *   bench.latency_seconds:0.042|h|#k:s2,env:prod
 */
static size_t line_for(size_t s, uint64_t i, char *buf, size_t cap)
{
    int n;

    switch (s % 3) {
    case 0:
        n = snprintf(buf, cap, "bench.requests:1|c|#k:s%zu,env:prod", s);
        break;
    case 1:
        n = snprintf(buf, cap, "bench.inflight:%u|g|#k:s%zu,env:prod", (unsigned)(i % 97), s);
        break;
    default:
        n = snprintf(buf, cap, "bench.latency_seconds:0.%03u|h|#k:s%zu,env:prod",
                     (unsigned)(i % 1000), s);
        break;
    }
    return (size_t)n;
}

size_t line_of(uint64_t i, char *buf, size_t cap)
{
    return line_for(series_of(i), i, buf, cap);
}

/* The warm-up: line i to series i. */
size_t warm_line_of(uint64_t i, char *buf, size_t cap)
{
    return line_for((size_t)i, i, buf, cap);
}

void zipf_release(void)
{
    free(zipf_cdf);
    zipf_cdf = NULL;
}
