/*
 * stats: the daemon's own line counters and scrape timings, and their exposition.
 *
 * A domain module. The ingest path bumps the counters directly (they are plain fields:
 * one loop thread). Datagram and byte counts live in struct ingest_stats and HTTP counts
 * in struct httpd_stats; the app renders those, since only it knows them all.
 */
#ifndef USTATSD_STATS_H
#define USTATSD_STATS_H

#include <stdint.h>

#include "expo.h"
#include "statsd.h"

#define STATS_MAX_BUCKETS 12

/* A histogram of durations in seconds over fixed bounds (+Inf implied). */
struct stats_histogram {
    uint64_t buckets[STATS_MAX_BUCKETS + 1]; /* not cumulative; the last is +Inf */
    uint64_t count;
    double sum;
};

struct stats {
    uint64_t lines_accepted;
    uint64_t lines_rejected[STATSD_REASON_MAX]; /* index STATSD_OK unused */
    struct stats_histogram scrape;              /* ustatsd_scrape_duration_seconds */
    struct stats_histogram loop;                /* ustatsd_event_loop_iteration_seconds */
};

/* Record one finished scrape that took seconds. */
void stats_scrape(struct stats *s, double seconds);

/*
 * Record one turn of the event loop that ran callbacks for busy_ns without waiting:
 * anything that became ready meanwhile (a datagram, a request) waited for it to end.
 */
void stats_loop_iteration(struct stats *s, uint64_t busy_ns);

/*
 * Write ustatsd_lines_accepted_total, ustatsd_lines_rejected_total{reason} (every reason,
 * zero or not, so that rate() and absent() alerts work from the first scrape),
 * ustatsd_scrape_duration_seconds and ustatsd_event_loop_iteration_seconds.
 */
void stats_render(const struct stats *s, struct expo *e);

#endif
