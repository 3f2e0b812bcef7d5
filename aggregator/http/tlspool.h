/*
 * tlspool: TLS handshakes on libuv's threadpool, bounded, so that a flood of handshakes
 * can neither hold the event loop nor take more than a bounded share of the CPU.
 *
 * An I/O module. Loop thread only, except the handshake steps it runs itself.
 *
 * Why off the loop: a handshake step signs with the server's key and derives the shared
 * secret; with a 4096-bit RSA key that is several milliseconds of CPU per connection,
 * and a client that reconnects in a loop (`openssl s_time -new`) would otherwise hold
 * the loop for that long at every turn: ingestion, plain listeners and established TLS
 * connections would all wait. Here the loop only queues a step and takes its result.
 *
 * Bounds. At most max_in_flight steps compute at once (1 by default: a handshake flood
 * costs at most one CPU). One more is handed to libuv ahead of its turn, so that the
 * thread never idles while the loop takes a result and hands the next: it waits on a
 * semaphore (a second threadpool thread, blocked for at most one step; libuv's 4 threads
 * keep room for the bcrypt checks, state snapshots and reloads that share them). The
 * others wait in FIFO order, the steps of handshakes already begun (a client's
 * Finished, its certificate) ahead of new ones, so that work already done is not thrown
 * away. A step that waited longer than max_wait_ms when its turn comes is not run: its
 * job's callback gets TLSPOOL_EXPIRED and the caller closes that connection (shedding
 * load early, rather than serving every client late). The queue holds at most one job
 * per connection, so it is bounded by the connection cap.
 *
 * A job belongs to one connection; its struct tlsmem_conn is used by the step while the job
 * is out (queued or running) and must not be touched by the loop until the callback.
 */
#ifndef USTATSD_TLSPOOL_H
#define USTATSD_TLSPOOL_H

#include <stdatomic.h>
#include <stdint.h>

#include <uv.h>

#include "base/buf.h"
#include "http/tlsmem.h"

#define TLSPOOL_DEFAULT_IN_FLIGHT 1
#define TLSPOOL_DEFAULT_WAIT_MS   1000

struct tlspool_job;

/* The outcome of a job, as its callback gets it. */
enum tlspool_result {
    TLSPOOL_DONE = 0,    /* the step ran: job->st, job->plain */
    TLSPOOL_EXPIRED = 1, /* it waited past max_wait_ms and was not run */
    TLSPOOL_CANCELED = 2 /* tlspool_cancel() took it back from libuv before it ran */
};

/*
 * The job's step came back, on the loop thread. The job is idle again: the callback may
 * free the memory that holds it, or feed it again. With TLSPOOL_DONE or TLSPOOL_CANCELED
 * it may also release the pool and free the memory that holds it, when no other job is
 * out: the pool is not touched after the callback. With TLSPOOL_EXPIRED it must not (the
 * pool goes on handing out jobs after it).
 */
typedef void (*tlspool_done_cb)(struct tlspool_job *job, enum tlspool_result result);

/* A clock for tlspool_set_clock(): milliseconds on uv_now()'s scale. arg is the one given. */
typedef uint64_t (*tlspool_clock_cb)(void *arg);

struct tlspool {
    /* Private, but for the counters. */
    uv_loop_t *loop;
    unsigned max_in_flight; /* steps computing at once */
    uint64_t max_wait_ms;
    uv_sem_t slots;                        /* max_in_flight of them */
    unsigned in_flight;                    /* handed to libuv: at most max_in_flight + 1 */
    unsigned waiting;                      /* in the queues */
    struct tlspool_job *head[2], *tail[2]; /* [0]: handshakes begun, [1]: new ones */
    uint64_t steps;                        /* run */
    uint64_t expired;                      /* not run: waited past max_wait_ms */
    unsigned max_waiting;                  /* the most that ever waited at once */
    atomic_uint taken;                     /* steps a threadpool thread has begun: they
                                              wait for a slot or compute, uv_cancel() fails */
    atomic_uint computing;                 /* steps computing now (threadpool threads) */
    atomic_uint peak_computing;            /* the most that ever computed at once */
    tlspool_clock_cb clock;                /* NULL: uv_now() */
    void *clock_arg;
};

struct tlspool_job {
    /* Read by the callback. */
    enum tlsmem_status st; /* what tlsmem_conn_feed() returned */
    struct buf plain;      /* the plaintext it completed; the caller resets it */
    void *data;            /* the caller's */

    /* Private. */
    uv_work_t req;
    struct tlspool *pool;
    struct tlspool_job *prev, *next;
    int where; /* idle, queued, running */
    int begun; /* the handshake had a step before: the first queue */
    uint64_t queued_ms;
    struct tlsmem_conn *tls;
    struct buf in;
    tlspool_done_cb done;
};

/*
 * Initialise p for loop; 0 in either limit means its default. No handle is made;
 * tlspool_release() must follow, once no job is out.
 */
void tlspool_init(struct tlspool *p, uv_loop_t *loop, unsigned max_in_flight, uint64_t max_wait_ms);

/*
 * Testing only: from now on the pool reads the time from clock(arg) instead of uv_now();
 * NULL restores uv_now(). The time stamps a job when it is fed and decides, when its turn
 * comes, whether it waited past max_wait_ms. clock runs on the loop thread, from
 * tlspool_feed() and from the loop. Call before the loop runs, or on the loop thread with
 * no job queued.
 */
void tlspool_set_clock(struct tlspool *p, tlspool_clock_cb clock, void *arg);

/* Release what tlspool_init() made. No job may be out (queued or handed to libuv). */
void tlspool_release(struct tlspool *p);

/* An idle job, owned by the caller (typically embedded in its connection). */
void tlspool_job_init(struct tlspool_job *job, void *data);

/* Free the job's buffers. It must be idle (never fed, or its callback ran). */
void tlspool_job_release(struct tlspool_job *job);

/* Whether the job is out (queued or running): its tlsmem_conn is not the loop's. */
int tlspool_job_busy(const struct tlspool_job *job);

/*
 * Queue a handshake step: tlsmem_conn_feed(tls, data, len, &job->plain) on the threadpool.
 * data is copied. begun: the connection's handshake had a step already (it goes ahead of
 * new ones). done runs once, on a later loop iteration, never from inside this call. The
 * job must be idle.
 */
void tlspool_feed(struct tlspool *p, struct tlspool_job *job, struct tlsmem_conn *tls,
                  const void *data, size_t len, int begun, tlspool_done_cb done);

/*
 * Take the job back. Queued: it is removed, its callback never runs, and this returns 1.
 * Handed to libuv: uv_cancel() is tried, the callback runs later (TLSPOOL_CANCELED, or
 * TLSPOOL_DONE if it was running already) and this returns 0. Idle: returns 1.
 */
int tlspool_cancel(struct tlspool_job *job);

#endif
