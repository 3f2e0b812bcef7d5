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
 *   - the daemon's event-loop turns (ustatsd_event_loop_iteration_seconds, and their CPU
 *     time, ustatsd_event_loop_iteration_cpu_seconds) parsed from an exposition, and the
 *     longest turn between two readings: the upper bound of the highest bucket that
 *     gained a turn.
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

/*
 * "1k,100k,1M": the sizes of a comma-separated list (s is cut up), at most max, those that
 * are no size skipped. Returns how many.
 */
static inline size_t benchresult_series_list(char *s, size_t *sizes, size_t max)
{
    size_t n = 0;

    for (char *tok = strtok(s, ","); tok != NULL && n < max; tok = strtok(NULL, ","))
        if ((sizes[n] = benchresult_series(tok)) != 0)
            n++;
    return n;
}

/* A histogram of loop turns: cumulative counts per upper bound (seconds), the last +Inf. */
struct benchresult_hist {
    size_t nb;
    double le[BENCHRESULT_MAX_BOUNDS], cum[BENCHRESULT_MAX_BOUNDS];
};

/*
 * The daemon's loop turns: their wall time (ustatsd_event_loop_iteration_seconds) and
 * their CPU time (ustatsd_event_loop_iteration_cpu_seconds; nb 0 from a daemon without).
 */
struct benchresult_turns {
    struct benchresult_hist wall, cpu;
};

/* Parse the histogram <name>_bucket out of an exposition; 0, or -1: not there. */
static inline int benchresult_hist_parse(const char *body, const char *name,
                                         struct benchresult_hist *t)
{
    char prefix[128];
    const char *p = body;

    snprintf(prefix, sizeof prefix, "\n%s_bucket{le=\"", name);
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

/* Parse both histograms of the loop's turns; 0, or -1: no wall-time one. */
static inline int benchresult_turns_parse(const char *body, struct benchresult_turns *t)
{
    benchresult_hist_parse(body, "ustatsd_event_loop_iteration_cpu_seconds", &t->cpu);
    return benchresult_hist_parse(body, "ustatsd_event_loop_iteration_seconds", &t->wall);
}

/*
 * The longest turn between two readings of one histogram, in ms: the upper bound of the
 * highest bucket with more turns in after than in before (INFINITY past the last bound),
 * or 0 when no turn was counted in between; -1 when the daemon has no such histogram.
 */
static inline double benchresult_hist_worst_ms(const struct benchresult_hist *before,
                                               const struct benchresult_hist *after)
{
    double worst = 0, below = 0;

    if (after->nb == 0)
        return -1;
    for (size_t i = 0; i < after->nb && i < before->nb; i++) {
        double in = after->cum[i] - before->cum[i];

        if (in > below)
            worst = after->le[i] * 1e3;
        below = in;
    }
    return worst;
}

/*
 * The turns counted between two readings of one histogram that took longer than ms (a
 * bucket's bound; -1 when it is not one, or the daemon has no such histogram), and in
 * *total all the turns counted between them.
 */
static inline double benchresult_hist_over(const struct benchresult_hist *before,
                                           const struct benchresult_hist *after, double ms,
                                           double *total)
{
    size_t n = after->nb < before->nb ? after->nb : before->nb;

    *total = n > 0 ? after->cum[n - 1] - before->cum[n - 1] : 0;
    for (size_t i = 0; i < n; i++)
        if (after->le[i] * 1e3 == ms)
            return *total - (after->cum[i] - before->cum[i]);
    return -1;
}

/* The longest turn in wall time between two readings of the same daemon, in ms. */
static inline double benchresult_turns_worst_ms(const struct benchresult_turns *before,
                                                const struct benchresult_turns *after)
{
    return benchresult_hist_worst_ms(&before->wall, &after->wall);
}

/*
 * The longest turn in the loop thread's CPU time, in ms (-1: the daemon does not count
 * it): the daemon's own work in a turn, without the time the machine gave others.
 */
static inline double benchresult_turns_worst_cpu_ms(const struct benchresult_turns *before,
                                                    const struct benchresult_turns *after)
{
    return benchresult_hist_worst_ms(&before->cpu, &after->cpu);
}

#endif
