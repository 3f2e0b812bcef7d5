/*
 * stats: the daemon's own line counters and scrape timings, and their exposition.
 *
 * A domain module. The ingest path bumps the counters directly (they are plain fields:
 * one loop thread). Datagram and byte counts live in struct ingest_stats and HTTP counts
 * in struct http_stats; the app renders those, since only it knows them all.
 */
#ifndef USTATSD_STATS_H
#define USTATSD_STATS_H

#include <stdint.h>

#include "expo.h"
#include "statsd.h"

/* Upper bounds of ustatsd_scrape_duration_seconds, +Inf implied. */
#define STATS_SCRAPE_BUCKETS                                            \
    {                                                                   \
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 \
    }
#define STATS_NSCRAPE_BUCKETS 11

struct stats {
    uint64_t lines_accepted;
    uint64_t lines_rejected[STATSD_REASON_MAX];         /* index STATSD_OK unused */
    uint64_t scrape_buckets[STATS_NSCRAPE_BUCKETS + 1]; /* not cumulative; last is +Inf */
    uint64_t scrape_count;
    double scrape_sum;
};

/* Record one finished scrape that took seconds. */
void stats_scrape(struct stats *s, double seconds);

/*
 * Write ustatsd_lines_accepted_total, ustatsd_lines_rejected_total{reason} (every reason,
 * zero or not, so that rate() and absent() alerts work from the first scrape) and
 * ustatsd_scrape_duration_seconds.
 */
void stats_render(const struct stats *s, struct expo *e);

#endif
