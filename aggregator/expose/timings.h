/*
 * timings: the daemon's own timings (scrapes, event-loop turns), and their exposition.
 *
 * A domain module. The line counters live in struct intake_counters, datagram and byte
 * counts in struct ingest_stats and HTTP counts in struct httpd_stats; selfmetrics renders
 * them all from one reading.
 */
#ifndef UTIMINGSD_STATS_H
#define UTIMINGSD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "base/expo.h"

#define TIMINGS_MAX_BUCKETS 12

/* A histogram of durations in seconds over fixed bounds (+Inf implied). */
struct timings_histogram {
    uint64_t buckets[TIMINGS_MAX_BUCKETS + 1]; /* not cumulative; the last is +Inf */
    uint64_t count;
    double sum;
};

struct timings {
    struct timings_histogram scrape; /* ustatsd_scrape_duration_seconds */
    struct timings_histogram loop;   /* ustatsd_event_loop_iteration_seconds */
    struct timings_histogram cpu;    /* ustatsd_event_loop_iteration_cpu_seconds */
};

/* Record one finished scrape that took seconds. */
void timings_scrape(struct timings *s, double seconds);

/*
 * Record one turn of the event loop that ran callbacks for busy_ns without waiting:
 * anything that became ready meanwhile (a datagram, a request) waited for it to end.
 */
void timings_loop_iteration(struct timings *s, uint64_t busy_ns);

/*
 * Record the CPU time the loop's thread used in one turn (its callbacks, and the poll
 * that ended the turn before). On a machine of its own it is the turn's busy time; on a
 * shared one the turn's wall time also holds what the system gave other processes
 * meanwhile, and this is the daemon's own part of it. Same bounds as the loop's.
 */
void timings_loop_cpu(struct timings *s, uint64_t cpu_ns);

/* The upper bounds of the loop's histogram (+Inf implied, not listed): their count. */
size_t timings_loop_bounds(const double **bounds);

/*
 * Write ustatsd_scrape_duration_seconds, ustatsd_event_loop_iteration_seconds and
 * ustatsd_event_loop_iteration_cpu_seconds.
 */
void timings_render(const struct timings *s, struct expo *e);

#endif
