/*
 * rwstats: what each remote write target has done, as the daemon's own metrics show it,
 * named as Prometheus's own (prometheus_remote_storage_*, labelled remote_name and url),
 * so that the dashboards and alerts written for Prometheus's remote write read ustatsd's.
 *
 * A domain module. The targets' senders (remote/) count into it on the loop thread; the
 * scrape's head renders it after the daemon's other families. A slot is a target's by its
 * name and URL and keeps its counts across reloads that keep both.
 */
#ifndef USTATSD_RWSTATS_H
#define USTATSD_RWSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "base/expo.h"

#define RWSTATS_MAX_TARGETS 8
/* prometheus_remote_storage_sent_batch_duration_seconds: client_golang's DefBuckets, then
 * 25, 60, 120 and 300 s, as Prometheus has them. */
#define RWSTATS_NBOUNDS 15
/* The reasons a body is dropped (remote/rwqueue.h has them in this order). */
#define RWSTATS_NREASONS 4

struct rwstats_target {
    int used;
    char name[128];
    char url[512];
    uint64_t samples, histograms;               /* sent */
    uint64_t samples_failed, histograms_failed; /* rejected by the receiver, not retried */
    uint64_t samples_retried, histograms_retried;
    uint64_t samples_dropped[RWSTATS_NREASONS], histograms_dropped[RWSTATS_NREASONS];
    uint64_t bytes;            /* compressed bodies sent (2xx) */
    int64_t highest_sent_ms;   /* the newest interval a receiver took; 0: none */
    uint64_t intervals;        /* collected */
    uint64_t intervals_missed; /* passed while the loop was held past a whole interval */
    uint64_t pending_samples, pending_histograms, queue_bytes, queue_max_bytes;
    uint64_t duration_buckets[RWSTATS_NBOUNDS + 1];
    double duration_sum;
    uint64_t duration_count;
};

struct rwstats {
    struct rwstats_target t[RWSTATS_MAX_TARGETS];
};

/* The slot of the target named name with url, made if need be; NULL when all are taken. */
struct rwstats_target *rwstats_target(struct rwstats *s, const char *name, const char *url);

/* Free the slots whose target is gone: keep[i] != 0 keeps slot i. */
void rwstats_retain(struct rwstats *s, const int keep[RWSTATS_MAX_TARGETS]);

/* One request ended after seconds. */
void rwstats_duration(struct rwstats_target *t, double seconds);

/* The reason names, in rwqueue's order. */
const char *rwstats_reason(size_t i);

/* The families, when some target is configured. */
void rwstats_render(const struct rwstats *s, struct expo *e);

#endif
