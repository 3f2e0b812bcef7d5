#include "base/bgwork.h"
#include "base/common.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Lower the calling thread's priority by BGWORK_NICE_STEP (Linux keeps a nice value per
 * thread; setpriority() with a thread id sets that thread's alone). Lowering needs no
 * privilege, so this fails only where a seccomp filter or the like forbids it.
 */
static void lower_priority(struct bgwork *bg)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int cur, want;

    errno = 0;
    cur = getpriority(PRIO_PROCESS, (id_t)tid);
    if (cur == -1 && errno != 0) {
        bg->nice = 0;
        bg->nice_errno = errno;
        return;
    }
    want = cur + BGWORK_NICE_STEP > 19 ? 19 : cur + BGWORK_NICE_STEP;
    if (setpriority(PRIO_PROCESS, (id_t)tid, want) != 0) {
        bg->nice = cur;
        bg->nice_errno = errno;
        return;
    }
    bg->nice = want;
    bg->nice_errno = 0;
}

/*
 * SCHED_IDLE for the calling thread (pid 0 of sched_setscheduler() is the caller alone):
 * a thread may always lower its own policy to it. Else a nice step lower, and the errno.
 */
static void idle_priority(struct bgwork *bg)
{
    struct sched_param sp;
    int err;

    memset(&sp, 0, sizeof(sp));
    errno = 0;
    bg->nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (bg->nice == -1 && errno != 0)
        bg->nice = 0;
    if (sched_setscheduler(0, SCHED_IDLE, &sp) == 0) {
        bg->is_idle = 1;
        bg->nice_errno = 0;
        return;
    }
    err = errno;
    lower_priority(bg);
    bg->nice_errno = err;
}

/*
 * The thread: req joins the done stack, then the loop is woken. The loop reads the
 * eventfd before it takes the stack, so a request pushed after a take is woken for
 * again; the eventfd stays open until the thread is joined (bgwork_release).
 */
static void push_done(struct bgwork *bg, struct bgwork_req *req)
{
    struct bgwork_req *head = atomic_load_explicit(&bg->done, memory_order_relaxed);
    uint64_t one = 1;

    do
        req->next = head;
    while (!atomic_compare_exchange_weak_explicit(&bg->done, &head, req, memory_order_release,
                                                  memory_order_relaxed));
    /* Only a counter at its maximum (2^64 - 2 writes unread) refuses a write. */
    while (write(bg->efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void thread_main(void *arg)
{
    struct bgwork *bg = arg;
    struct bgwork_req *req;

    pthread_setname_np(pthread_self(), bg->name);
    uv_mutex_lock(&bg->mu);
    if (bg->idle)
        idle_priority(bg);
    else
        lower_priority(bg);
    for (;;) {
        while (bg->queued == NULL && !bg->stop)
            uv_cond_wait(&bg->cv, &bg->mu);
        if (bg->queued == NULL)
            break; /* stop, and nothing left */
        req = bg->queued;
        bg->queued = req->next;
        if (bg->queued == NULL)
            bg->queued_tail = &bg->queued;
        uv_mutex_unlock(&bg->mu);
        req->work(req);
        push_done(bg, req);
        uv_mutex_lock(&bg->mu);
    }
    uv_mutex_unlock(&bg->mu);
}

/* On the loop: the done callbacks of what the thread finished, in order. */
static void on_ready(uv_poll_t *h, int status, int events)
{
    struct bgwork *bg = container_of(h, struct bgwork, poll);
    struct bgwork_req *list = NULL, *req, *next;
    uint64_t count;

    (void)events;
    /* libuv stops a handle that reports an error: watched again, the stack taken anyway. */
    if (status < 0)
        uv_poll_start(h, UV_READABLE, on_ready);
    /*
     * First the eventfd, then the stack (push_done). It cannot block; it fails only when
     * there is nothing to read (EAGAIN), which changes nothing here.
     */
    if (read(bg->efd, &count, sizeof(count)) < 0) {
    }
    /* Newest first: turned round, the thread's order. */
    for (req = atomic_exchange_explicit(&bg->done, NULL, memory_order_acquire); req != NULL;
         req = next) {
        next = req->next;
        req->next = list;
        list = req;
    }
    if (list == NULL)
        return; /* a wake-up whose requests an earlier one took */
    /* The thread set its priority's fields before its first push: they are seen now. */
    if (bg->nice_errno != 0 && !bg->said && bg->log != NULL) {
        bg->said = 1;
        log_msg(bg->log, LOG_WARN, "app", "the background thread %s runs at nice %d, %s: %s",
                bg->name, bg->nice,
                bg->idle ? "not SCHED_IDLE: sched_setscheduler" : "the loop's: setpriority",
                strerror(bg->nice_errno));
    }
    while ((req = list) != NULL) {
        list = req->next;
        req->next = NULL;
        bg->pending--;
        if (bg->pending == 0)
            uv_unref((uv_handle_t *)&bg->poll);
        req->done(req); /* may queue the next request */
    }
}

int bgwork_init(struct bgwork *bg, uv_loop_t *loop, struct log *log, const char *name)
{
    int rc;

    memset(bg, 0, sizeof(*bg));
    bg->log = log;
    snprintf(bg->name, sizeof(bg->name), "%s", name);
    bg->queued_tail = &bg->queued;
    atomic_init(&bg->done, NULL);
    if ((bg->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return -errno;
    if ((rc = uv_mutex_init(&bg->mu)) != 0)
        goto fail_fd;
    if ((rc = uv_cond_init(&bg->cv)) != 0)
        goto fail_mu;
    if ((rc = uv_poll_init(loop, &bg->poll, bg->efd)) != 0)
        goto fail_cv;
    if ((rc = uv_poll_start(&bg->poll, UV_READABLE, on_ready)) != 0) {
        /*
         * The handle is the loop's now: closed, and run, before its memory goes (so not
         * from a callback of that loop: the daemon sets its threads up before it runs).
         */
        uv_close((uv_handle_t *)&bg->poll, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        goto fail_cv;
    }
    uv_unref((uv_handle_t *)&bg->poll);
    return 0;
fail_cv:
    uv_cond_destroy(&bg->cv);
fail_mu:
    uv_mutex_destroy(&bg->mu);
fail_fd:
    close(bg->efd);
    bg->efd = -1;
    return rc;
}

void bgwork_idle(struct bgwork *bg)
{
    bg->idle = 1;
}

int bgwork_queue(struct bgwork *bg, struct bgwork_req *req, bgwork_work_cb work,
                 bgwork_done_cb done)
{
    int rc;

    if (uv_is_closing((uv_handle_t *)&bg->poll))
        return UV_ECANCELED;
    if (!bg->started) {
        if ((rc = uv_thread_create(&bg->thread, thread_main, bg)) != 0)
            return rc;
        bg->started = 1;
    }
    req->work = work;
    req->done = done;
    req->next = NULL;
    if (bg->pending++ == 0)
        uv_ref((uv_handle_t *)&bg->poll);
    uv_mutex_lock(&bg->mu);
    *bg->queued_tail = req;
    bg->queued_tail = &req->next;
    uv_cond_signal(&bg->cv);
    uv_mutex_unlock(&bg->mu);
    return 0;
}

void bgwork_close(struct bgwork *bg)
{
    if (!uv_is_closing((uv_handle_t *)&bg->poll))
        uv_close((uv_handle_t *)&bg->poll, NULL);
}

void bgwork_release(struct bgwork *bg)
{
    if (bg->started) {
        uv_mutex_lock(&bg->mu);
        bg->stop = 1;
        uv_cond_signal(&bg->cv);
        uv_mutex_unlock(&bg->mu);
        uv_thread_join(&bg->thread);
        bg->started = 0;
    }
    if (bg->efd >= 0)
        close(bg->efd);
    bg->efd = -1;
    uv_cond_destroy(&bg->cv);
    uv_mutex_destroy(&bg->mu);
}
