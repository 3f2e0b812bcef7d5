/*
 * rwtarget: one remote write target at work. Every interval (aligned to the wall clock's
 * multiples of it, so that each sample's timestamp is the interval's), it collects what
 * its endpoints serve (rwcollect.h), compresses the WriteRequest with snappy on remote
 * write's background thread (base/bgwork.h), queues it (rwqueue.h, bounded in bytes) and
 * sends the queue oldest first, one request at a time, through libcurl's multi interface
 * on the loop (rwhttp.h), retrying as rwretry.h says. Counts go to its rwstats slot.
 *
 * One request in flight: a WriteRequest of 100,000 series is one POST of a few MB, and
 * Prometheus's receiver takes bodies in order; sharding would send intervals out of
 * order, which it refuses. Loop thread only.
 */
#ifndef USTATSD_RWTARGET_H
#define USTATSD_RWTARGET_H

#include <stdint.h>

#include <uv.h>

#include "base/log.h"
#include "config/config.h"
#include "expose/rwstats.h"
#include "handler/site.h"
#include "remote/rwcollect.h"
#include "remote/rwhttp.h"
#include "remote/rwqueue.h"
#include "remote/rwretry.h"

struct rwtarget_work;

#define RWTARGET_MAX_HEADERS 32 /* a target's own headers sent (the config's bound) */

struct rwtarget {
    struct site *site;
    struct log *log;
    struct rwhttp *http;
    const struct config_remote *cfg; /* the running config's; rwtarget_update() moves it */
    struct rwstats_target *st;
    struct rwqueue q;
    struct rwretry retry;
    uv_timer_t tick, backoff;
    int closing, closed_handles;
    void (*closed)(void *arg);
    void *closed_arg;
    struct rwcollect *collect;  /* the interval being collected, or NULL */
    struct rwtarget_work *work; /* the body being compressed, or NULL */
    struct rwhttp_xfer *xfer;   /* the request in flight, or NULL */
    int waiting;                /* in backoff: the next attempt waits for the timer */
    int64_t next_ms;            /* the next interval's timestamp */
    int64_t last_ms; /* the newest interval collected, or sent before a restart: never again */
    int failing;     /* the last attempt failed: logged once until one succeeds */
    int ticked;      /* an interval's timer has fired since the start */
    void (*marked)(void *arg); /* a newer interval was sent (rwpush's, for the snapshots) */
    void *marked_arg;
};

/*
 * Start a target of cfg (borrowed until rwtarget_update() or close) on s's loop; last_ms:
 * the newest interval it sent before a restart (the state file), 0 for none: no interval
 * up to it is collected again.
 */
int rwtarget_start(struct rwtarget *t, struct site *s, struct log *log, struct rwhttp *http,
                   const struct config_remote *cfg, int64_t last_ms);

/* The running config changed; cfg is this target's in it (same name and URL). */
void rwtarget_update(struct rwtarget *t, const struct config_remote *cfg);

/* Stop: cancel the collection and the request, drop the queue; closed(arg) when done. */
void rwtarget_close(struct rwtarget *t, void (*closed)(void *arg), void *arg);

/* Collect the interval of timestamp ts_ms now (tests, and the first interval after start). */
void rwtarget_collect_now(struct rwtarget *t, int64_t ts_ms);

#endif
