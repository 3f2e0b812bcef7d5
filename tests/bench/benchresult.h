/*
 * benchresult: what the benchmarks of high cardinality share (tests/bench/cardinality.sh
 * runs them at 10k to 10M series and reads only their result lines):
 *
 *   - a figure as one machine-readable line, beside the bench's own prose:
 *
 *         result <bench> series=<N> <key>=<value>
 *
 *     key is [a-z0-9_]+ and names its unit (_ns_per_series, _ms, _bytes); value is a
 *     number, or "inf" for a loop turn past the histogram's last bound;
 *   - the size of `--series N`: a whole number, or one with a k or M suffix (100k, 10M);
 *   - the daemon's event-loop turns (ustatsd_event_loop_iteration_seconds) parsed from an
 *     exposition, and the longest turn between two readings: the upper bound of the
 *     highest bucket that gained a turn.
 *
 * A header of static inline functions that only the benchmarks include.
 */
#ifndef USTATSD_BENCHRESULT_H
#define USTATSD_BENCHRESULT_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCHRESULT_MAX_BOUNDS 16

/* Print "result <bench> series=<n> <key>=<value>" and flush (the script reads a pipe). */
static inline void benchresult(const char *bench, size_t n, const char *key, double value)
{
    if (isinf(value))
        printf("result %s series=%zu %s=inf\n", bench, n, key);
    else
        printf("result %s series=%zu %s=%.10g\n", bench, n, key, value);
    fflush(stdout);
}

/* "100000", "100k", "10M": the number of series, or 0 when s is none of these. */
static inline size_t benchresult_series(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);

    if (end == s || s[0] == '-')
        return 0;
    if (*end == 'k' || *end == 'K')
        v *= 1000, end++;
    else if (*end == 'M')
        v *= 1000000, end++;
    return *end == '\0' ? (size_t)v : 0;
}

/* The loop-turn histogram: cumulative counts per upper bound (seconds), the last +Inf. */
struct benchresult_turns {
    size_t nb;
    double le[BENCHRESULT_MAX_BOUNDS], cum[BENCHRESULT_MAX_BOUNDS];
};

/* Parse ustatsd_event_loop_iteration_seconds out of an exposition; 0, or -1: not there. */
static inline int benchresult_turns_parse(const char *body, struct benchresult_turns *t)
{
    static const char prefix[] = "\nustatsd_event_loop_iteration_seconds_bucket{le=\"";
    const char *p = body;

    memset(t, 0, sizeof(*t));
    while ((p = strstr(p, prefix)) != NULL && t->nb < BENCHRESULT_MAX_BOUNDS) {
        const char *q = p + strlen(prefix), *sp;

        t->le[t->nb] = strncmp(q, "+Inf", 4) == 0 ? INFINITY : strtod(q, NULL);
        if ((sp = strchr(q, ' ')) == NULL)
            break;
        t->cum[t->nb++] = strtod(sp + 1, NULL);
        p = sp;
    }
    return t->nb > 0 ? 0 : -1;
}

/*
 * The longest turn between two readings of the same daemon, in ms: the upper bound of
 * the highest bucket with more turns in after than in before (INFINITY past the last
 * bound), or 0 when no turn was counted in between.
 */
static inline double benchresult_turns_worst_ms(const struct benchresult_turns *before,
                                                const struct benchresult_turns *after)
{
    double worst = 0, below = 0;

    for (size_t i = 0; i < after->nb && i < before->nb; i++) {
        double in = after->cum[i] - before->cum[i];

        if (in > below)
            worst = after->le[i] * 1e3;
        below = in;
    }
    return worst;
}

#endif
