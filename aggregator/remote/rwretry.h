/*
 * rwretry: what a remote write target does after an attempt, as Prometheus's queue manager
 * does it (storage/remote/queue_manager.go, client.go).
 *
 * A domain module: the time is the caller's. A 2xx is sent. A 5xx, a 429 and a failure
 * without an answer (connect, TLS, timeout) are retried, forever, with a backoff that
 * starts at min_backoff and doubles up to max_backoff; a Retry-After the answer gave
 * (seconds, libcurl reads both of its forms) replaces the backoff, capped at
 * RWRETRY_MAX_RETRY_AFTER_S. Anything else (a 4xx other than 429, a 1xx or 3xx) is
 * rejected: the body is dropped and never sent again. The queue's byte bound, not a retry
 * count, ends a long outage: new bodies push the oldest out.
 */
#ifndef USTATSD_RWRETRY_H
#define USTATSD_RWRETRY_H

#include <stdint.h>

/* The longest Retry-After honoured, in seconds: a receiver's answer of a day is read as this. */
#define RWRETRY_MAX_RETRY_AFTER_S 3600

enum rwretry_verdict {
    RWRETRY_SENT,     /* 2xx */
    RWRETRY_RETRY,    /* 5xx, 429, no answer */
    RWRETRY_REJECTED, /* any other status: never retried */
};

struct rwretry {
    uint64_t min_backoff_ms; /* > 0 */
    uint64_t max_backoff_ms; /* >= min_backoff_ms */
};

/* The verdict on an attempt that ended with HTTP status (0: no answer came). */
enum rwretry_verdict rwretry_judge(long status);

/*
 * How long to wait before retry number attempt (1: the first retry), in ms: the backoff,
 * or retry_after_s when the answer had a Retry-After (>= 0; < 0: none).
 */
uint64_t rwretry_delay_ms(const struct rwretry *p, unsigned attempt, long retry_after_s);

/* "sent", "retry" or "rejected". */
const char *rwretry_verdict_name(enum rwretry_verdict v);

#endif
