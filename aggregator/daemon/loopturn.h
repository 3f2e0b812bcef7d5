/*
 * loopturn: *I/O*. Times each turn of the event loop, for the histograms
 * ustatsd_event_loop_iteration_seconds and ustatsd_event_loop_iteration_cpu_seconds
 * (expose/timings.h). A prepare handle runs just before the loop waits for events: the
 * time since its previous run, less the time the loop spent waiting (libuv's idle time),
 * is what the loop's callbacks ran in between, the longest any event that became ready
 * meanwhile, a datagram included, had to wait. The thread's CPU time over the same
 * stretch is the daemon's own part of it (waiting costs none); under a hypervisor it also
 * holds any time the virtual CPU was stopped while the thread ran (docs/cardinality.md).
 *
 * The same handle gives each turn its allowance of dead memory to give back
 * (LOOPTURN_RELEASE, counted_release_allow): a drain that steps dead tables on each of
 * thousands of inserts then unmaps one step of them, not hundreds of megabytes.
 *
 *     loopturn_init()    the handle initialised, not started
 *     loopturn_start()   timing from the next turn on
 *     loopturn_close()   the handle closed (the loop runs cb)
 */
#ifndef USTATSD_DAEMON_LOOPTURN_H
#define USTATSD_DAEMON_LOOPTURN_H

#include <stdint.h>

#include <uv.h>

#include "base/counted.h"
#include "expose/timings.h"

#define LOOPTURN_RELEASE COUNTED_RELEASE_STEP /* bytes of dead blocks given back a turn */

struct loopturn {
    uv_prepare_t prep;
    struct timings *stats; /* where each turn is counted */
    uint64_t prev_hrtime;  /* 0 until the first turn */
    uint64_t prev_idle_ns;
    uint64_t prev_cpu_ns; /* the loop thread's CPU time at the last turn */
};

/*
 * Set up on loop, whose idle time must be measured (UV_METRICS_IDLE_TIME); turns are
 * counted in stats. Returns 0, or a negative libuv code (then nothing needs closing).
 */
int loopturn_init(struct loopturn *t, uv_loop_t *loop, struct timings *stats);

/* Start timing. Returns 0, or a negative libuv code. */
int loopturn_start(struct loopturn *t);

/* Close the handle; cb (may be NULL) runs on the loop once it is closed. */
void loopturn_close(struct loopturn *t, uv_close_cb cb);

#endif
