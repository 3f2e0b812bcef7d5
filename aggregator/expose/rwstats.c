#include "expose/rwstats.h"

#include <stdio.h>
#include <string.h>

static const double bounds[RWSTATS_NBOUNDS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                2.5,   5,    10,    25,   60,  120,  300 };
static const char *const reasons[RWSTATS_NREASONS] = { "queue_full", "too_large", "rejected",
                                                       "behind" };

const char *rwstats_reason(size_t i)
{
    return i < RWSTATS_NREASONS ? reasons[i] : "?";
}

struct rwstats_target *rwstats_target(struct rwstats *s, const char *name, const char *url)
{
    struct rwstats_target *free_slot = NULL;

    for (size_t i = 0; i < RWSTATS_MAX_TARGETS; i++) {
        struct rwstats_target *t = &s->t[i];

        if (!t->used) {
            if (free_slot == NULL)
                free_slot = t;
            continue;
        }
        if (strcmp(t->name, name) == 0 && strcmp(t->url, url) == 0)
            return t;
    }
    if (free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = 1;
    snprintf(free_slot->name, sizeof free_slot->name, "%s", name);
    snprintf(free_slot->url, sizeof free_slot->url, "%s", url);
    return free_slot;
}

void rwstats_retain(struct rwstats *s, const int keep[RWSTATS_MAX_TARGETS])
{
    for (size_t i = 0; i < RWSTATS_MAX_TARGETS; i++)
        if (!keep[i])
            s->t[i].used = 0;
}

void rwstats_duration(struct rwstats_target *t, double seconds)
{
    size_t i = 0;

    while (i < RWSTATS_NBOUNDS && seconds > bounds[i])
        i++;
    t->duration_buckets[i]++;
    t->duration_sum += seconds;
    t->duration_count++;
}

static size_t labels_of(const struct rwstats_target *t, struct expo_label l[3])
{
    l[0] = (struct expo_label){ "remote_name", t->name, strlen(t->name) };
    l[1] = (struct expo_label){ "url", t->url, strlen(t->url) };
    return 2;
}

/* A family with one sample per used target, field at offset off (uint64_t or int64_t ms). */
enum kind { U64, MS_AS_SECONDS };

static void family(const struct rwstats *s, struct expo *e, const char *name, enum expo_type type,
                   const char *help, const char *unit, size_t off, enum kind kind)
{
    struct expo_label l[3];

    expo_family(e, name, type, help, unit);
    for (size_t i = 0; i < RWSTATS_MAX_TARGETS; i++) {
        const struct rwstats_target *t = &s->t[i];
        const unsigned char *p = (const unsigned char *)t + off;
        double v;

        if (!t->used)
            continue;
        if (kind == U64) {
            uint64_t u;

            memcpy(&u, p, sizeof u);
            v = (double)u;
        } else {
            int64_t ms;

            memcpy(&ms, p, sizeof ms);
            v = (double)ms / 1000.0;
        }
        expo_sample(e, type == EXPO_COUNTER ? "_total" : "", l, labels_of(t, l), v);
    }
}

static void dropped(const struct rwstats *s, struct expo *e, const char *name, const char *help,
                    int histograms)
{
    struct expo_label l[3];

    expo_family(e, name, EXPO_COUNTER, help, "");
    for (size_t i = 0; i < RWSTATS_MAX_TARGETS; i++) {
        const struct rwstats_target *t = &s->t[i];

        if (!t->used)
            continue;
        for (size_t r = 0; r < RWSTATS_NREASONS; r++) {
            size_t n = labels_of(t, l);

            l[n] = (struct expo_label){ "reason", reasons[r], strlen(reasons[r]) };
            expo_sample(e, "_total", l, n + 1,
                        (double)(histograms ? t->histograms_dropped[r] : t->samples_dropped[r]));
        }
    }
}

static void durations(const struct rwstats *s, struct expo *e)
{
    char text[RWSTATS_NBOUNDS][32];
    unsigned char lens[RWSTATS_NBOUNDS];
    struct expo_label l[3];

    expo_family(e, "prometheus_remote_storage_sent_batch_duration_seconds", EXPO_HISTOGRAM,
                "Duration of send calls to the remote storage.", "seconds");
    for (size_t i = 0; i < RWSTATS_NBOUNDS; i++)
        lens[i] = (unsigned char)expo_bucket_bound(e->fmt, text[i], bounds[i]);
    for (size_t i = 0; i < RWSTATS_MAX_TARGETS; i++) {
        const struct rwstats_target *t = &s->t[i];

        if (t->used)
            expo_histogram(e, l, labels_of(t, l), bounds, (const char(*)[32])text, lens,
                           RWSTATS_NBOUNDS, t->duration_buckets, t->duration_sum,
                           t->duration_count);
    }
}

#define F(field) offsetof(struct rwstats_target, field)

void rwstats_render(const struct rwstats *s, struct expo *e)
{
    size_t used = 0;

    for (size_t i = 0; i < RWSTATS_MAX_TARGETS; i++)
        used += s->t[i].used != 0;
    if (used == 0)
        return;
    family(s, e, "prometheus_remote_storage_samples", EXPO_COUNTER,
           "Total number of samples sent to remote storage.", "", F(samples), U64);
    family(s, e, "prometheus_remote_storage_histograms", EXPO_COUNTER,
           "Total number of histograms sent to remote storage.", "", F(histograms), U64);
    family(s, e, "prometheus_remote_storage_samples_failed", EXPO_COUNTER,
           "Total number of samples which failed on send to remote storage, non-recoverable "
           "errors.",
           "", F(samples_failed), U64);
    family(s, e, "prometheus_remote_storage_histograms_failed", EXPO_COUNTER,
           "Total number of histograms which failed on send to remote storage, non-recoverable "
           "errors.",
           "", F(histograms_failed), U64);
    family(s, e, "prometheus_remote_storage_samples_retried", EXPO_COUNTER,
           "Total number of samples which failed on send to remote storage but were retried "
           "because the send error was recoverable.",
           "", F(samples_retried), U64);
    family(s, e, "prometheus_remote_storage_histograms_retried", EXPO_COUNTER,
           "Total number of histograms which failed on send to remote storage but were retried "
           "because the send error was recoverable.",
           "", F(histograms_retried), U64);
    dropped(s, e, "prometheus_remote_storage_samples_dropped",
            "Total number of samples which were dropped before being sent to remote storage, "
            "by reason.",
            0);
    dropped(s, e, "prometheus_remote_storage_histograms_dropped",
            "Total number of histograms which were dropped before being sent to remote "
            "storage, by reason.",
            1);
    family(s, e, "prometheus_remote_storage_bytes", EXPO_COUNTER,
           "The total number of bytes of data (not metadata) sent by the queue after "
           "compression.",
           "", F(bytes), U64);
    family(s, e, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds", EXPO_GAUGE,
           "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, "
           "in seconds since epoch.",
           "", F(highest_sent_ms), MS_AS_SECONDS);
    family(s, e, "prometheus_remote_storage_samples_pending", EXPO_GAUGE,
           "The number of samples pending in the queues shards to be sent to the remote "
           "storage.",
           "", F(pending_samples), U64);
    family(s, e, "prometheus_remote_storage_histograms_pending", EXPO_GAUGE,
           "The number of histograms pending in the queues shards to be sent to the remote "
           "storage.",
           "", F(pending_histograms), U64);
    family(s, e, "ustatsd_remote_write_queue_bytes", EXPO_GAUGE,
           "Compressed bytes waiting in the remote write queue.", "bytes", F(queue_bytes), U64);
    family(s, e, "ustatsd_remote_write_queue_max_bytes", EXPO_GAUGE,
           "The remote write queue's bound (queue_config.max_bytes).", "bytes", F(queue_max_bytes),
           U64);
    family(s, e, "ustatsd_remote_write_intervals", EXPO_COUNTER,
           "Intervals collected for the remote write queue.", "", F(intervals), U64);
    family(s, e, "ustatsd_remote_write_intervals_missed", EXPO_COUNTER,
           "Intervals that passed uncollected: the loop was held past a whole interval.", "",
           F(intervals_missed), U64);
    durations(s, e);
}
