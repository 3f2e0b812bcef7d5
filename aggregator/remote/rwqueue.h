/*
 * rwqueue: a remote write target's queue of compressed WriteRequest bodies, oldest first,
 * bounded in bytes.
 *
 * A domain module. One body per interval (per endpoint set), in the order they were
 * collected, which is the order they are sent: a receiver such as Prometheus refuses
 * samples older than the newest it holds, so a body is never sent before an older one.
 * When a new body does not fit, the oldest ones that are not being sent go first (a
 * receiver back from an outage gets the newest data the bound can hold); a body larger
 * than the whole bound is dropped as it comes. Every drop is told to the caller with its
 * reason and its sample counts, for prometheus_remote_storage_samples_dropped_total.
 */
#ifndef USTATSD_RWQUEUE_H
#define USTATSD_RWQUEUE_H

#include <stddef.h>
#include <stdint.h>

enum rwqueue_drop {
    RWQUEUE_DROP_QUEUE_FULL, /* pushed out by a newer body */
    RWQUEUE_DROP_TOO_LARGE,  /* larger than the whole bound */
    RWQUEUE_DROP_REJECTED,   /* the receiver answered a status that is never retried */
    RWQUEUE_DROP_BEHIND,     /* an interval not collected: the previous one was still going */
    RWQUEUE_DROP_COUNT
};

struct rwqueue_body {
    struct rwqueue_body *next;
    int64_t timestamp_ms; /* the interval's */
    uint64_t samples, histograms;
    unsigned attempts; /* sends tried so far */
    size_t len;
    unsigned char data[]; /* snappy-compressed WriteRequest */
};

typedef void (*rwqueue_drop_cb)(void *arg, enum rwqueue_drop why, const struct rwqueue_body *b);

struct rwqueue {
    struct rwqueue_body *head, *tail;
    size_t bytes, max_bytes; /* the bodies' data */
    size_t count;
    uint64_t samples, histograms; /* queued: prometheus_remote_storage_samples_pending */
    int head_busy;                /* the head is being sent: never pushed out */
    rwqueue_drop_cb dropped;
    void *arg;
};

void rwqueue_init(struct rwqueue *q, size_t max_bytes, rwqueue_drop_cb dropped, void *arg);

/* A body of len bytes (data copied; NULL: left for the caller to fill), not yet queued. */
struct rwqueue_body *rwqueue_body_new(const void *data, size_t len, int64_t timestamp_ms,
                                      uint64_t samples, uint64_t histograms);

/*
 * Queue b (taken): older bodies that are not being sent are dropped (QUEUE_FULL) until it
 * fits, or b itself (TOO_LARGE) when it cannot fit beside the one being sent.
 */
void rwqueue_push(struct rwqueue *q, struct rwqueue_body *b);

/* The oldest body, now marked as being sent, or NULL. */
struct rwqueue_body *rwqueue_take(struct rwqueue *q);

/* The body being sent is done with: sent, or dropped (REJECTED) when rejected. */
void rwqueue_done(struct rwqueue *q, int rejected);

/* The body being sent goes back to waiting (a retry later); it stays the oldest. */
void rwqueue_release(struct rwqueue *q);

/* A new bound: bodies are dropped as by rwqueue_push() until the queue fits. */
void rwqueue_set_max(struct rwqueue *q, size_t max_bytes);

/* Free every body, no drops told. */
void rwqueue_clear(struct rwqueue *q);

const char *rwqueue_drop_name(enum rwqueue_drop why);

#endif
