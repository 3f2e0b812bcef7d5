/*
 * bgwork on a real loop: requests run in order on one thread of their own, named as
 * asked, at nice 10 over the loop thread's (19 at most) or, once bgwork_idle() asked, at
 * SCHED_IDLE, and call back on the loop thread; a callback
 * may queue the next; the loop lives while requests are pending and not after; the loop
 * keeps turning while a request works; requests done while the loop is away come back
 * in order; after close nothing more is queued; release joins the thread, started or not,
 * and leaves no descriptor open.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uv.h>

#include "base/bgwork.h"
#include "base/common.h"

#define NREQ 5

struct job {
    struct bgwork_req req;
    int index;
    pid_t work_tid;
    int work_nice;
    int work_policy;
    char work_comm[32];
    pid_t done_tid;
    int done_order;
};

static int done_count;

static pid_t tid_now(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static void record_work(struct bgwork_req *req)
{
    struct job *j = container_of(req, struct job, req);
    char path[64];
    FILE *f;

    j->work_tid = tid_now();
    j->work_nice = getpriority(PRIO_PROCESS, (id_t)j->work_tid);
    j->work_policy = sched_getscheduler(0);
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)j->work_tid);
    if ((f = fopen(path, "r")) != NULL) {
        if (fgets(j->work_comm, sizeof(j->work_comm), f) != NULL)
            j->work_comm[strcspn(j->work_comm, "\n")] = '\0';
        fclose(f);
    }
}

static void record_done(struct bgwork_req *req)
{
    struct job *j = container_of(req, struct job, req);

    j->done_tid = tid_now();
    j->done_order = done_count++;
}

/*
 * Queue NREQ jobs on a thread that bgwork_idle() was (idle) or was not asked for, run the
 * loop until it has nothing left, and check what each saw.
 */
static void run_and_check(int want_nice, int idle)
{
    uv_loop_t loop;
    struct bgwork bg;
    struct job jobs[NREQ];
    int fell_back = 0;

    done_count = 0;
    memset(jobs, 0, sizeof(jobs));
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(bgwork_init(&bg, &loop, NULL, "test-bg"), 0);
    if (idle)
        bgwork_idle(&bg);
    for (int i = 0; i < NREQ; i++) {
        jobs[i].index = i;
        cr_assert_eq(bgwork_queue(&bg, &jobs[i].req, record_work, record_done), 0);
    }
    /* Returns only when every callback has run: the pending requests hold the loop. */
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(done_count, NREQ);
    if (idle && bg.nice_errno != 0) {
        /* The system refused SCHED_IDLE (a sandbox may): the thread took the lower nice. */
        int base = getpriority(PRIO_PROCESS, (id_t)tid_now());

        fell_back = 1;
        idle = 0;
        want_nice = base + BGWORK_NICE_STEP > 19 ? 19 : base + BGWORK_NICE_STEP;
    }
    for (int i = 0; i < NREQ; i++) {
        cr_assert_eq(jobs[i].done_order, i, "job %d was called back %d-th", i, jobs[i].done_order);
        cr_assert_eq(jobs[i].done_tid, tid_now(), "job %d called back off the loop thread", i);
        cr_assert_neq(jobs[i].work_tid, tid_now(), "job %d worked on the loop thread", i);
        cr_assert_eq(jobs[i].work_tid, jobs[0].work_tid, "job %d on another thread", i);
        cr_assert_eq(jobs[i].work_nice, want_nice, "job %d worked at nice %d, not %d", i,
                     jobs[i].work_nice, want_nice);
        cr_assert_eq(jobs[i].work_policy, idle ? SCHED_IDLE : SCHED_OTHER,
                     "job %d worked under policy %d", i, jobs[i].work_policy);
        cr_assert_str_eq(jobs[i].work_comm, "test-bg");
    }
    cr_assert_eq(bg.nice, want_nice);
    cr_assert_eq(bg.nice_errno != 0, fell_back, "nice_errno %d", bg.nice_errno);
    cr_assert_eq(bg.is_idle, idle);
    bgwork_close(&bg);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    bgwork_release(&bg);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(bgwork, runs_requests_in_order_on_its_own_thread_below_the_loop)
{
    int base = getpriority(PRIO_PROCESS, (id_t)tid_now());

    run_and_check(base + BGWORK_NICE_STEP > 19 ? 19 : base + BGWORK_NICE_STEP, 0);
}

/* Asked to idle: SCHED_IDLE, its nice left as the loop thread's. */
Test(bgwork, an_idle_thread_runs_at_sched_idle)
{
    run_and_check(getpriority(PRIO_PROCESS, (id_t)tid_now()), 1);
}

/* A loop thread at nice 15: the thread stops at 19, the lowest there is. */
Test(bgwork, a_loop_thread_near_the_bottom_leaves_it_at_nice_19)
{
    cr_assert_eq(setpriority(PRIO_PROCESS, (id_t)tid_now(), 15), 0);
    run_and_check(19, 0);
}

/* Descriptors this process has open. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* The thread's side of a batch: the last request's work posts all_worked. */
static uv_sem_t all_worked;
static int batch_worked;

static void batch_work(struct bgwork_req *req)
{
    record_work(req);
    if (++batch_worked == 3 * NREQ)
        uv_sem_post(&all_worked);
}

/*
 * Requests the thread finishes while the loop is not running pile up, newest first, and
 * the loop calls them back oldest first (the last may come with a wake-up of its own: the
 * semaphore is posted from its work, before its push); a released bgwork has closed what
 * it opened.
 */
Test(bgwork, requests_done_while_the_loop_is_away_come_back_in_order)
{
    uv_loop_t loop;
    struct bgwork bg;
    struct job jobs[3 * NREQ];
    int fds;

    done_count = 0;
    batch_worked = 0;
    memset(jobs, 0, sizeof(jobs));
    cr_assert_eq(uv_sem_init(&all_worked, 0), 0);
    cr_assert_eq(uv_loop_init(&loop), 0);
    fds = open_fds(); /* the loop's own, and libuv's for the process, are open by now */
    cr_assert_eq(bgwork_init(&bg, &loop, NULL, "test-bg"), 0);
    for (int i = 0; i < 3 * NREQ; i++)
        cr_assert_eq(bgwork_queue(&bg, &jobs[i].req, batch_work, record_done), 0);
    uv_sem_wait(&all_worked); /* every one worked; the loop has not run yet */
    cr_assert_eq(done_count, 0);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(done_count, 3 * NREQ);
    for (int i = 0; i < 3 * NREQ; i++)
        cr_assert_eq(jobs[i].done_order, i, "job %d was called back %d-th", i, jobs[i].done_order);
    cr_assert_eq(bg.pending, 0);
    bgwork_close(&bg);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    bgwork_release(&bg);
    cr_assert_eq(open_fds(), fds, "a descriptor left open");
    cr_assert_eq(uv_loop_close(&loop), 0);
    uv_sem_destroy(&all_worked);
}

/* Three steps, each queued by the one before's callback, as a snapshot's are. */
struct chain {
    struct bgwork_req req;
    struct bgwork *bg;
    int steps, worked;
};

static void chain_work(struct bgwork_req *req)
{
    struct chain *c = container_of(req, struct chain, req);

    c->worked++;
}

static void chain_done(struct bgwork_req *req)
{
    struct chain *c = container_of(req, struct chain, req);

    if (++c->steps < 3)
        cr_assert_eq(bgwork_queue(c->bg, &c->req, chain_work, chain_done), 0);
}

Test(bgwork, a_callback_queues_the_next_step_and_the_loop_waits_for_it)
{
    uv_loop_t loop;
    struct bgwork bg;
    struct chain c = { .bg = &bg };

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(bgwork_init(&bg, &loop, NULL, "test-bg"), 0);
    cr_assert_eq(bgwork_queue(&bg, &c.req, chain_work, chain_done), 0);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(c.steps, 3);
    cr_assert_eq(c.worked, 3);
    cr_assert_eq(bg.pending, 0);
    bgwork_close(&bg);
    uv_run(&loop, UV_RUN_DEFAULT);
    bgwork_release(&bg);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

/*
 * While a request works, the loop turns: the work waits for a semaphore that only a
 * timer on the loop posts. A loop that waited for the work would never fire it.
 */
struct blocked {
    struct bgwork_req req;
    uv_sem_t go;
    uv_timer_t timer;
    int fired, done;
};

static void blocked_work(struct bgwork_req *req)
{
    struct blocked *b = container_of(req, struct blocked, req);

    uv_sem_wait(&b->go);
}

static void blocked_done(struct bgwork_req *req)
{
    struct blocked *b = container_of(req, struct blocked, req);

    cr_assert_eq(b->fired, 1, "the callback came before the loop fired its timer");
    b->done = 1;
}

static void on_timer(uv_timer_t *t)
{
    struct blocked *b = t->data;

    b->fired = 1;
    uv_sem_post(&b->go);
    uv_close((uv_handle_t *)t, NULL);
}

Test(bgwork, the_loop_turns_while_a_request_works)
{
    uv_loop_t loop;
    struct bgwork bg;
    struct blocked b = { 0 };

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(uv_sem_init(&b.go, 0), 0);
    cr_assert_eq(bgwork_init(&bg, &loop, NULL, "test-bg"), 0);
    cr_assert_eq(bgwork_queue(&bg, &b.req, blocked_work, blocked_done), 0);
    uv_timer_init(&loop, &b.timer);
    b.timer.data = &b;
    uv_timer_start(&b.timer, on_timer, 20, 0);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(b.done, 1);
    bgwork_close(&bg);
    uv_run(&loop, UV_RUN_DEFAULT);
    bgwork_release(&bg);
    uv_sem_destroy(&b.go);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

/*
 * An idle bgwork holds no loop, and starts no thread until asked; after its close it
 * takes nothing more; release frees a bgwork whose thread never started.
 */
Test(bgwork, idle_it_holds_no_loop_and_after_close_it_takes_nothing)
{
    uv_loop_t loop;
    struct bgwork bg;
    struct job j = { 0 };

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(bgwork_init(&bg, &loop, NULL, "test-bg"), 0);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0, "an idle bgwork kept the loop alive");
    cr_assert_eq(bg.started, 0, "a thread started before any request");
    bgwork_close(&bg);
    cr_assert_eq(bgwork_queue(&bg, &j.req, record_work, record_done), UV_ECANCELED);
    cr_assert_eq(bg.started, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    bgwork_release(&bg);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
