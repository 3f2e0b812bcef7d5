/*
 * bgwork: *I/O*. A thread of the daemon's own for work that can wait: one writes the
 * snapshots (deflate, write, fsync) and puts full regions of series in huge pages
 * (daemon/hugepages.h), another compresses remote write's bodies, so that a slow disk
 * never holds remote write back, a third clears a huge page before each collapse. Each
 * runs at a lower priority than the loop thread (nice BGWORK_NICE_STEP over it, at most
 * 19), so that on a busy or pinned CPU the loop gets its turn first and a big snapshot
 * slows down instead of the loop; the third runs at SCHED_IDLE (bgwork_idle), only when
 * the CPU has nothing else to do, since nothing waits for it. libuv's shared pool stays
 * at the loop's priority for what a client waits on: TLS handshakes, bcrypt checks, a
 * reload's parse, malloc_trim (which holds the allocator's locks, and must not be left
 * waiting for its CPU while it does).
 *
 * Requests run one at a time, in the order queued; each one's done callback runs on the
 * loop thread after its work. The thread starts with the first request and stops in
 * bgwork_release(). While requests are pending the loop stays alive (as with
 * uv_queue_work); when none is, the thread's handle does not keep the loop running.
 *
 *     bgwork_init()       nothing started
 *     bgwork_queue()      loop thread; starts the thread on the first call
 *     (uv_run returns, the handle closed by the loop's owner, or bgwork_close())
 *     bgwork_release()    after the loop has run the handle's close: joins the thread
 */
#ifndef USTATSD_BGWORK_H
#define USTATSD_BGWORK_H

#include <stdatomic.h>
#include <stddef.h>

#include <uv.h>

#include "base/log.h"

/* How far below the loop thread the background thread runs, in nice steps. */
#define BGWORK_NICE_STEP 10
/* The longest thread name, as /proc/<pid>/task/<tid>/comm and top -H show it. */
#define BGWORK_NAME_MAX 15

struct bgwork_req;
typedef void (*bgwork_work_cb)(struct bgwork_req *req);
typedef void (*bgwork_done_cb)(struct bgwork_req *req);

/* One request: embed it, and find the embedder with container_of(). */
struct bgwork_req {
    bgwork_work_cb work; /* on the background thread */
    bgwork_done_cb done; /* then on the loop thread */
    struct bgwork_req *next;
};

/*
 * The thread's word to the loop is an eventfd, written after a request joins the done
 * stack, which the thread pushes onto and the loop takes whole, without a lock: neither
 * side ever waits for the other there. uv_async_send() did not do: the loop thread spins
 * (libuv's uv__async_spin, a thousand pauses, then sched_yield(), again) while a sender
 * is between its wake-up and its flag, and a sender that runs at a lower priority on the
 * loop's CPU is preempted right there, by the very loop its wake-up woke: 2% of the
 * loop's time while huge pages were warmed under load (bench_ingest --per 1).
 */
struct bgwork {
    uv_poll_t poll; /* readable: efd was written, requests are done */
    int efd;        /* the eventfd, -1 until bgwork_init() made it; closed by bgwork_release() */
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cv;
    struct bgwork_req *queued, **queued_tail; /* queued, in order */
    _Atomic(struct bgwork_req *) done;        /* worked, newest first, waiting for callbacks */
    size_t pending;                           /* queued and not yet called back: loop thread */
    int started;                              /* the thread runs */
    int stop;                                 /* under mu: the thread ends once queued is empty */
    struct log *log;                          /* where a priority it could not take is said */
    char name[BGWORK_NAME_MAX + 1];           /* the thread's */
    int idle;                                 /* bgwork_idle(): SCHED_IDLE rather than nice */
    /* What the thread made of its priority: set under mu before its first work. */
    int nice;       /* the nice value it runs at (SCHED_IDLE: the one it had) */
    int nice_errno; /* 0, or why it could not lower itself */
    int is_idle;    /* it runs at SCHED_IDLE */
    int said;       /* the log has heard of a nice_errno */
};

/*
 * Set up, on the loop's thread, a thread to be called name (at most BGWORK_NAME_MAX
 * bytes are kept); log (or NULL) hears once, at the first request done, when the thread
 * could not lower its priority (it then runs at the loop's). Returns 0, or a negative
 * libuv code.
 */
int bgwork_init(struct bgwork *bg, uv_loop_t *loop, struct log *log, const char *name);

/*
 * Before the first request: the thread runs at SCHED_IDLE, taking a CPU only when no
 * other thread wants it, instead of BGWORK_NICE_STEP below the loop. For work nothing
 * waits for, which may go on for as long as the CPU stays busy. Where the system refuses
 * SCHED_IDLE, the thread lowers its nice instead, and the log hears why once.
 */
void bgwork_idle(struct bgwork *bg);

/*
 * Queue req: work(req) on the background thread, then done(req) on the loop thread.
 * Returns 0, or a negative libuv code when the thread could not be started (then nothing
 * was queued and neither callback runs). After bgwork_close(), returns UV_ECANCELED.
 */
int bgwork_queue(struct bgwork *bg, struct bgwork_req *req, bgwork_work_cb work,
                 bgwork_done_cb done);

/* Close the poll handle (the loop then runs its close); pending requests must be done. */
void bgwork_close(struct bgwork *bg);

/*
 * After the loop has closed the handle (by bgwork_close() or a uv_walk() over the
 * loop's handles) and run: stops and joins the thread, closes the eventfd, frees the locks.
 */
void bgwork_release(struct bgwork *bg);

#endif
