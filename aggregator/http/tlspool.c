#include "http/tlspool.h"
#include "base/common.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum { IDLE, QUEUED, RUNNING };

void tlspool_init(struct tlspool *p, uv_loop_t *loop, unsigned max_in_flight, uint64_t max_wait_ms)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->max_in_flight = max_in_flight ? max_in_flight : TLSPOOL_DEFAULT_IN_FLIGHT;
    p->max_wait_ms = max_wait_ms ? max_wait_ms : TLSPOOL_DEFAULT_WAIT_MS;
    if (uv_sem_init(&p->slots, p->max_in_flight) != 0)
        abort(); /* ENOMEM or a count over SEM_VALUE_MAX */
    atomic_init(&p->taken, 0);
    atomic_init(&p->computing, 0);
    atomic_init(&p->peak_computing, 0);
}

void tlspool_set_clock(struct tlspool *p, tlspool_clock_cb clock, void *arg)
{
    p->clock = clock;
    p->clock_arg = arg;
}

static uint64_t now_ms(const struct tlspool *p)
{
    return p->clock != NULL ? p->clock(p->clock_arg) : uv_now(p->loop);
}

void tlspool_release(struct tlspool *p)
{
    assert(p->in_flight == 0 && p->waiting == 0);
    uv_sem_destroy(&p->slots);
}

void tlspool_job_init(struct tlspool_job *job, void *data)
{
    memset(job, 0, sizeof(*job));
    job->data = data;
    job->where = IDLE;
    buf_init(&job->plain);
    buf_init(&job->in);
}

void tlspool_job_release(struct tlspool_job *job)
{
    assert(job->where == IDLE);
    buf_release(&job->plain);
    buf_release(&job->in);
}

int tlspool_job_busy(const struct tlspool_job *job)
{
    return job->where != IDLE;
}

/*
 * On a threadpool thread: the job's tlsmem_conn is this thread's until after_work. The
 * semaphore lets max_in_flight steps compute at once; the job handed ahead of its turn
 * waits here.
 */
static void work_cb(uv_work_t *req)
{
    struct tlspool_job *job = container_of(req, struct tlspool_job, req);
    struct tlspool *p = job->pool;
    unsigned now, peak;

    atomic_fetch_add(&p->taken, 1);
    uv_sem_wait(&p->slots);
    now = atomic_fetch_add(&p->computing, 1) + 1;
    peak = atomic_load(&p->peak_computing);
    while (now > peak && !atomic_compare_exchange_weak(&p->peak_computing, &peak, now))
        ;
    job->st = tlsmem_conn_feed(job->tls, job->in.ptr, job->in.len, &job->plain);
    buf_reset(&job->in);
    atomic_fetch_sub(&p->computing, 1);
    atomic_fetch_sub(&p->taken, 1);
    uv_sem_post(&p->slots);
}

static void pump(struct tlspool *p);

static void after_work(uv_work_t *req, int status)
{
    struct tlspool_job *job = container_of(req, struct tlspool_job, req);
    struct tlspool *p = job->pool;

    assert(job->where == RUNNING && p->in_flight > 0);
    p->in_flight--;
    job->where = IDLE;
    if (status == 0)
        p->steps++;
    else
        buf_reset(&job->in);
    /*
     * The next step is handed out before the callback, which may end the pool's owner:
     * a connection closed while its step ran is freed there, and with it, when it was a
     * closing server's last, the server and the pool it embeds (httpd.c). Neither job
     * nor p is touched after it.
     */
    pump(p);
    job->done(job, status == 0 ? TLSPOOL_DONE : TLSPOOL_CANCELED);
}

static void unlink_job(struct tlspool *p, struct tlspool_job *job)
{
    int q = !job->begun;

    if (job->prev)
        job->prev->next = job->next;
    else
        p->head[q] = job->next;
    if (job->next)
        job->next->prev = job->prev;
    else
        p->tail[q] = job->prev;
    job->prev = job->next = NULL;
    p->waiting--;
}

static void start(struct tlspool *p, struct tlspool_job *job)
{
    job->where = RUNNING;
    p->in_flight++;
    if (uv_queue_work(p->loop, &job->req, work_cb, after_work) != 0)
        abort(); /* only for a NULL callback */
}

/*
 * Hand waiting jobs to libuv while there is room, the begun handshakes first, each in
 * arrival order; one that waited too long is answered TLSPOOL_EXPIRED instead. Its
 * callback closes a connection, which may cancel other jobs: the queues are read again
 * after each. (It cannot free the pool: the job was idle, so its connection is not one
 * waiting for a step to be freed, and closing takes a loop turn.)
 */
static void pump(struct tlspool *p)
{
    while (p->in_flight < p->max_in_flight + 1) {
        struct tlspool_job *job = p->head[0] ? p->head[0] : p->head[1];

        if (job == NULL)
            return;
        unlink_job(p, job);
        if (now_ms(p) - job->queued_ms > p->max_wait_ms) {
            job->where = IDLE;
            buf_reset(&job->in);
            p->expired++;
            job->done(job, TLSPOOL_EXPIRED);
            continue;
        }
        start(p, job);
    }
}

void tlspool_feed(struct tlspool *p, struct tlspool_job *job, struct tlsmem_conn *tls,
                  const void *data, size_t len, int begun, tlspool_done_cb done)
{
    int q = !begun;

    assert(job->where == IDLE);
    buf_add(&job->in, data, len);
    job->pool = p;
    job->tls = tls;
    job->done = done;
    job->begun = begun;
    job->queued_ms = now_ms(p);
    job->where = QUEUED;
    job->next = NULL;
    job->prev = p->tail[q];
    if (p->tail[q])
        p->tail[q]->next = job;
    else
        p->head[q] = job;
    p->tail[q] = job;
    if (++p->waiting > p->max_waiting)
        p->max_waiting = p->waiting;
    /* Not from inside this call: the caller is in the middle of a read. */
    if (p->in_flight < p->max_in_flight + 1 && p->waiting == 1 && p->head[q] == job) {
        unlink_job(p, job);
        start(p, job);
    }
}

int tlspool_cancel(struct tlspool_job *job)
{
    if (job->where == IDLE)
        return 1;
    if (job->where == QUEUED) {
        unlink_job(job->pool, job);
        job->where = IDLE;
        buf_reset(&job->in);
        return 1;
    }
    uv_cancel((uv_req_t *)&job->req);
    return 0;
}
