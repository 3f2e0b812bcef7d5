/*
 * persist: the daemon's state file on the loop. Snapshots every state_interval_seconds, on
 * demand and at a clean stop; the restore at start-up.
 *
 * An I/O module. A snapshot never holds the loop for long: the loop encodes the records
 * (records.h) a slice at a time, at most PERSIST_SLICE_NS or PERSIST_CHUNK_BYTES per
 * turn, and hands each chunk to the state file's background thread (base/bgwork.h, below
 * the loop's priority), which deflates, checksums and writes it (statefile.h); the next
 * slice is encoded when that is done, so at most one chunk is held. The last step fsyncs
 * and renames: readers see the old file or the new one.
 *
 * One snapshot runs at a time. The timer's tick while one runs is skipped; a request
 * (persist_request) while one runs waits for the next, which starts right after, so its
 * answer covers every line applied before it was asked. A failure (an unwritable
 * directory, a full disk) is logged when it starts and when it ends, counted, and the
 * daemon runs on; the next tick tries again.
 *
 * Lifecycle, loop thread only:
 *     persist_init()      nothing started; persist_restore() may run (before any line)
 *     persist_start()     the timer
 *     persist_configure() a reload's interval
 *     persist_stop()      the final snapshot (after the last line was applied: close the
 *                       ingest first), then the timer's close; cb when all is done
 */
#ifndef USTATSD_PERSIST_H
#define USTATSD_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/bgwork.h"
#include "base/buf.h"
#include "state/records.h"
#include "store/jobs.h"
#include "base/log.h"
#include "store/registry.h"
#include "state/statefile.h"

#define PERSIST_SLICE_NS    1000000u    /* loop time one slice of encoding may take */
#define PERSIST_CHUNK_BYTES (256 << 10) /* records handed to the thread at once */

/* What the start-up restore found. */
enum persist_restore_result {
    PERSIST_RESTORE_OFF,       /* no state_file */
    PERSIST_RESTORE_ABSENT,    /* no file: a first start */
    PERSIST_RESTORE_RESTORED,  /* read and restored (what did not match is in dropped) */
    PERSIST_RESTORE_SET_ASIDE, /* unusable: moved to "<path>.bad", started empty */
    PERSIST_RESTORE_UNREADABLE /* could not be read (permissions, I/O): started empty */
};

/* "off", "absent", "restored", "set_aside", "unreadable". */
const char *persist_restore_name(enum persist_restore_result r);

struct persist;

/*
 * The end of a snapshot a request waited for: ok 1 with the figures in st (see struct
 * state), or 0 with st->last_error saying why.
 */
typedef void (*persist_done_cb)(struct persist *st, int ok, void *arg);

/* A request for a snapshot; caller-owned until its callback runs or persist_cancel(). */
struct persist_waiter {
    persist_done_cb cb;
    void *arg;
    struct persist_waiter *next;
};

struct persist {
    /* Read-only for the owner: the self-metrics and the debug view show them. */
    const char *path; /* NULL: snapshots are off */
    uint64_t interval_ms;
    uint64_t ok, failed;       /* snapshots finished */
    double last_ok_unix;       /* when the last good one was committed; 0: none yet */
    double last_seconds;       /* how long it took, first slice to rename */
    uint64_t last_bytes;       /* its size on disk */
    uint64_t last_body_bytes;  /* its records, uncompressed */
    uint64_t last_series;      /* series it holds */
    double last_longest_slice; /* the longest loop time one of its slices took, seconds */
    char last_error[1024];     /* why the last one failed; "" when it succeeded */
    /* Written into every snapshot ('R' records), the owner's; NULL: none. */
    const struct records_marks *marks;
    enum persist_restore_result restore;
    struct records_restored restored;
    double restore_seconds;   /* reading, checking and restoring the file */
    char restore_error[1024]; /* set_aside, unreadable: why */

    /* Private. */
    uv_loop_t *loop;
    struct bgwork *bg;
    struct registry *reg;
    struct jobs *jobs;
    struct log *log;
    uv_timer_t timer;
    struct bgwork_req work;
    int running;  /* a snapshot: encoding, or a step on the background thread */
    int again;    /* requests or the stop wait for the next snapshot */
    int stopping; /* the final snapshot is asked for */
    int final;    /* the running snapshot is the final one */
    int failing;  /* the last snapshot failed: logged once until one succeeds */
    int step;     /* what the background thread does next */
    int rc;       /* the background step's result */
    char err[1024];
    struct records_writer dw; /* open while running (records_end() is idempotent) */
    struct buf chunk;
    struct statefile_out out;
    int out_open;
    uint64_t began_ns;
    uint64_t longest_ns;
    struct persist_waiter *riding;  /* answered by the running snapshot */
    struct persist_waiter *waiting; /* answered by the next one */
    uv_close_cb closed_cb;          /* persist_stop()'s; its arg is the timer's data */
};

/*
 * Set up st for path (NULL or "": off) every interval_s seconds, its writes on bg. Starts
 * nothing.
 */
void persist_init(struct persist *st, uv_loop_t *loop, struct bgwork *bg, struct registry *reg,
                  struct jobs *jobs, struct log *log, const char *path, double interval_s);

/*
 * Read the state file and put it back into reg and jobs, which no line has touched yet,
 * logging what happened (st->restore and the fields after it say it too). Blocks: run it
 * at start-up, before the daemon serves. A file whose records would be over max_body
 * bytes (records_max_body()) is set aside unread. now_ms is the registry's clock. Never
 * fails: whatever the file holds, the daemon starts, restored or empty.
 */
void persist_restore(struct persist *st, size_t max_body, uint64_t now_ms);

/* Start the snapshot timer (nothing when off). */
void persist_start(struct persist *st);

/* A reload's interval, from the next tick. */
void persist_configure(struct persist *st, double interval_s);

/*
 * Ask for a snapshot that starts after this call; w->cb runs with its result. Returns 0,
 * or -EOPNOTSUPP when snapshots are off, -ECANCELED when they are stopping (then w->cb
 * never runs).
 */
int persist_request(struct persist *st, struct persist_waiter *w);

/* Whether a snapshot is under way: being encoded, or a step of it on the background thread. */
int persist_running(const struct persist *st);

/* Forget a waiter (its client left): its callback will not run. */
void persist_cancel(struct persist *st, struct persist_waiter *w);

/*
 * With write, write the final snapshot (after the one running, if any); then close the
 * timer. cb runs with the timer handle, whose data is arg, once everything is closed and
 * written (or failed, logged). Without write (a failed start-up) only a running snapshot
 * is finished. Call once.
 */
void persist_stop(struct persist *st, int write, uv_close_cb cb, void *arg);

#endif
