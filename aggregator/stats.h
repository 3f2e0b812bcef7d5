/*
 * stats: the daemon's own timings (scrapes, event-loop turns), and their exposition.
 *
 * A domain module. The line counters live in struct intake_counters, datagram and byte
 * counts in struct ingest_stats and HTTP counts in struct httpd_stats; selfstat renders
 * them all from one snapshot.
 */
#ifndef USTATSD_STATS_H
#define USTATSD_STATS_H

#include <stdint.h>

#include "expo.h"

#define STATS_MAX_BUCKETS 12

/* A histogram of durations in seconds over fixed bounds (+Inf implied). */
struct stats_histogram {
    uint64_t buckets[STATS_MAX_BUCKETS + 1]; /* not cumulative; the last is +Inf */
    uint64_t count;
    double sum;
};

struct stats {
    struct stats_histogram scrape; /* ustatsd_scrape_duration_seconds */
    struct stats_histogram loop;   /* ustatsd_event_loop_iteration_seconds */
};

/* Record one finished scrape that took seconds. */
void stats_scrape(struct stats *s, double seconds);

/*
 * Record one turn of the event loop that ran callbacks for busy_ns without waiting:
 * anything that became ready meanwhile (a datagram, a request) waited for it to end.
 */
void stats_loop_iteration(struct stats *s, uint64_t busy_ns);

/* Write ustatsd_scrape_duration_seconds and ustatsd_event_loop_iteration_seconds. */
void stats_render(const struct stats *s, struct expo *e);

#endif
