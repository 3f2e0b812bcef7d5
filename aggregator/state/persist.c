#include "state/persist.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/wallclock.h"

/* Series a records_step() call encodes between two looks at the clock. */
#define SLICE_SERIES 1024

enum step { STEP_CREATE, STEP_APPEND, STEP_COMMIT };

static const char *const restore_names[] = { "off", "absent", "restored", "set_aside",
                                             "unreadable" };

const char *persist_restore_name(enum persist_restore_result r)
{
    return (unsigned)r < ARRAY_SIZE(restore_names) ? restore_names[r] : "unknown";
}

void persist_init(struct persist *st, uv_loop_t *loop, struct bgwork *bg, struct registry *reg,
                  struct jobs *jobs, struct log *log, const char *path, double interval_s)
{
    int rc;

    memset(st, 0, sizeof *st);
    st->loop = loop;
    st->bg = bg;
    st->reg = reg;
    st->jobs = jobs;
    st->log = log;
    st->path = path != NULL && path[0] != '\0' ? path : NULL;
    st->interval_ms = (uint64_t)(interval_s * 1000.0);
    buf_init(&st->chunk);
    /* libuv's timer calls fail only for a handle that is closing or a NULL callback. */
    rc = uv_timer_init(loop, &st->timer);
    assert(rc == 0);
    (void)rc;
    st->timer.data = st;
}

/* ---- restore ---- */

static void set_aside(struct persist *st, const char *why)
{
    char to[4200], err[1024];

    st->restore = PERSIST_RESTORE_SET_ASIDE;
    snprintf(st->restore_error, sizeof st->restore_error, "%s", why);
    if (statefile_set_aside(st->path, to, sizeof to, err, sizeof err) == 0)
        log_msg(st->log, LOG_ERROR, "state", "%s; moved to %s, starting empty", why, to);
    else
        log_msg(st->log, LOG_ERROR, "state", "%s; starting empty, and it stays: %s", why, err);
}

void persist_restore(struct persist *st, size_t max_body, uint64_t now_ms)
{
    struct buf body = BUF_INIT;
    char err[1024], why[1200];
    uint64_t t0 = uv_hrtime();
    int rc;

    if (st->path == NULL)
        return;
    rc = statefile_read(st->path, max_body, &body, err, sizeof err);
    if (rc == STATEFILE_ABSENT) {
        st->restore = PERSIST_RESTORE_ABSENT;
        log_msg(st->log, LOG_INFO, "state", "no state file at %s: starting empty", st->path);
    } else if (rc == STATEFILE_BAD) {
        set_aside(st, err);
    } else if (rc != 0) {
        st->restore = PERSIST_RESTORE_UNREADABLE;
        snprintf(st->restore_error, sizeof st->restore_error, "%s", err);
        log_msg(st->log, LOG_ERROR, "state", "%s; starting empty", err);
    } else if (records_restore(st->reg, st->jobs, body.ptr, body.len, now_ms, wallclock_ms(),
                               &st->restored, err, sizeof err) != 0) {
        snprintf(why, sizeof why, "state file %s: its records do not parse: %s", st->path, err);
        set_aside(st, why);
    } else {
        struct buf drops = BUF_INIT;
        uint64_t ndropped = 0;

        st->restore = PERSIST_RESTORE_RESTORED;
        for (size_t d = 0; d < RECORDS_DROP_MAX; d++) {
            if (st->restored.dropped[d] == 0)
                continue;
            buf_addf(&drops, "%s%llu %s", ndropped ? ", " : "",
                     (unsigned long long)st->restored.dropped[d],
                     records_drop_name((enum records_drop)d));
            ndropped += st->restored.dropped[d];
        }
        buf_addch(&drops, '\0');
        log_msg(st->log, LOG_INFO, "state",
                "restored %zu series of %zu families and %zu jobs from %s, written %.1f s ago "
                "(%zu bytes of records) in %.3f s; dropped %llu%s%s%s",
                st->restored.series, st->restored.families, st->restored.jobs, st->path,
                (double)(wallclock_ms() - st->restored.saved_unix_ms) / 1000.0, body.len,
                (double)(uv_hrtime() - t0) / 1e9, (unsigned long long)ndropped,
                ndropped ? " (" : "", ndropped ? drops.ptr : "", ndropped ? ")" : "");
        buf_release(&drops);
    }
    st->restore_seconds = (double)(uv_hrtime() - t0) / 1e9;
    buf_release(&body);
}

/* ---- snapshots ---- */

static void run_step(struct persist *st);

static void answer(struct persist_waiter **list, struct persist *st, int ok)
{
    struct persist_waiter *w = *list, *next;

    *list = NULL;
    for (; w != NULL; w = next) {
        next = w->next;
        w->cb(st, ok, w->arg);
    }
}

static void start_snapshot(struct persist *st);

/* The snapshot ended, well or not: answer its riders, then what waits for the next. */
static void finish(struct persist *st, int ok)
{
    records_end(&st->dw);
    buf_reset(&st->chunk);
    if (st->chunk.cap > PERSIST_CHUNK_BYTES * 2) {
        buf_release(&st->chunk);
        buf_init(&st->chunk);
    }
    st->running = 0;
    if (ok) {
        st->ok++;
        st->last_ok_unix = wallclock_unix();
        st->last_seconds = (double)(uv_hrtime() - st->began_ns) / 1e9;
        st->last_bytes = st->out.file_size;
        st->last_body_bytes = st->out.body_size;
        st->last_series = records_series(&st->dw);
        st->last_longest_slice = (double)st->longest_ns / 1e9;
        st->last_error[0] = '\0';
        if (st->failing)
            log_msg(st->log, LOG_INFO, "state", "snapshots to %s work again", st->path);
        st->failing = 0;
        log_msg(st->log, st->final ? LOG_INFO : LOG_DEBUG, "state",
                "%ssnapshot: %llu series, %llu bytes (%llu of records) in %.3f s; longest slice "
                "%.3f ms",
                st->final ? "final " : "", (unsigned long long)st->last_series,
                (unsigned long long)st->last_bytes, (unsigned long long)st->last_body_bytes,
                st->last_seconds, st->last_longest_slice * 1e3);
    } else {
        st->failed++;
        snprintf(st->last_error, sizeof st->last_error, "%s", st->err);
        /* Once when it starts failing, then at debug: a full disk must not flood the log.
         * The final one always: what it held is lost. */
        if (st->final)
            log_msg(st->log, LOG_ERROR, "state",
                    "final snapshot failed: the lines since the last good one are lost: %s",
                    st->err);
        else
            log_msg(st->log, st->failing ? LOG_DEBUG : LOG_ERROR, "state",
                    "snapshot failed, the daemon runs on (the next one tries again in %.0f s): "
                    "%s",
                    (double)st->interval_ms / 1000.0, st->err);
        st->failing = 1;
    }
    if (st->out_open)
        statefile_abort(&st->out); /* after a commit: releases only */
    st->out_open = 0;
    answer(&st->riding, st, ok);
    if (st->final) {
        st->final = 0;
        buf_release(&st->chunk);
        uv_close((uv_handle_t *)&st->timer, st->closed_cb);
        return;
    }
    if (st->again)
        start_snapshot(st);
}

static void work_cb(struct bgwork_req *req)
{
    struct persist *st = container_of(req, struct persist, work);

    switch (st->step) {
    case STEP_CREATE:
        st->rc = statefile_create(&st->out, st->path, st->err, sizeof st->err);
        if (st->rc == 0)
            st->rc =
                statefile_append(&st->out, st->chunk.ptr, st->chunk.len, st->err, sizeof st->err);
        break;
    case STEP_APPEND:
        st->rc = statefile_append(&st->out, st->chunk.ptr, st->chunk.len, st->err, sizeof st->err);
        break;
    case STEP_COMMIT:
        st->rc = statefile_commit(&st->out, st->err, sizeof st->err);
        break;
    }
}

static void after_work_cb(struct bgwork_req *req)
{
    struct persist *st = container_of(req, struct persist, work);

    if (st->step == STEP_CREATE)
        st->out_open = 1;
    if (st->rc != 0) {
        finish(st, 0);
        return;
    }
    if (st->step == STEP_COMMIT) {
        finish(st, 1);
        return;
    }
    buf_reset(&st->chunk);
    run_step(st);
}

static void queue(struct persist *st, int step)
{
    int rc;

    st->step = step;
    rc = bgwork_queue(st->bg, &st->work, work_cb, after_work_cb);
    if (rc != 0) {
        snprintf(st->err, sizeof st->err, "state file %s: could not queue the write: %s", st->path,
                 uv_strerror(rc));
        finish(st, 0);
        return;
    }
}

/*
 * Encode the next chunk on the loop, within PERSIST_SLICE_NS, and hand it to the thread;
 * once the records are all written, the commit.
 */
static void run_step(struct persist *st)
{
    uint64_t t0 = uv_hrtime(), now_ms = uv_now(st->loop), took;
    int more = !st->dw.done;

    while (more && st->chunk.len < PERSIST_CHUNK_BYTES) {
        more = records_step(&st->dw, &st->chunk, SLICE_SERIES, now_ms);
        if (uv_hrtime() - t0 >= PERSIST_SLICE_NS)
            break;
    }
    took = uv_hrtime() - t0;
    if (took > st->longest_ns)
        st->longest_ns = took;
    if (st->chunk.len > 0)
        queue(st, STEP_APPEND);
    else
        queue(st, STEP_COMMIT);
}

static void start_snapshot(struct persist *st)
{
    st->again = 0;
    st->running = 1;
    st->final = st->stopping;
    st->riding = st->waiting;
    st->waiting = NULL;
    st->began_ns = uv_hrtime();
    st->longest_ns = 0;
    st->err[0] = '\0';
    buf_reset(&st->chunk);
    records_begin(&st->dw, st->reg, st->jobs, wallclock_ms(), &st->chunk);
    records_set_marks(&st->dw, st->marks);
    /* The header and the first records, created on the background thread. */
    st->out_open = 0;
    queue(st, STEP_CREATE);
}

static void on_tick(uv_timer_t *t)
{
    struct persist *st = t->data;

    if (!st->running && !st->stopping)
        start_snapshot(st);
}

void persist_start(struct persist *st)
{
    int rc;

    if (st->path == NULL)
        return;
    rc = uv_timer_start(&st->timer, on_tick, st->interval_ms, st->interval_ms);
    assert(rc == 0); /* a live handle and a callback */
    (void)rc;
}

void persist_configure(struct persist *st, double interval_s)
{
    uint64_t ms = (uint64_t)(interval_s * 1000.0);

    if (ms == st->interval_ms || st->path == NULL || st->stopping)
        return;
    st->interval_ms = ms;
    uv_timer_start(&st->timer, on_tick, ms, ms);
}

int persist_running(const struct persist *st)
{
    return st->running;
}

int persist_request(struct persist *st, struct persist_waiter *w)
{
    if (st->path == NULL)
        return -EOPNOTSUPP;
    if (st->stopping)
        return -ECANCELED;
    w->next = st->waiting;
    st->waiting = w;
    if (st->running)
        st->again = 1;
    else
        start_snapshot(st);
    return 0;
}

void persist_cancel(struct persist *st, struct persist_waiter *w)
{
    struct persist_waiter **lists[] = { &st->riding, &st->waiting };

    for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
        for (struct persist_waiter **p = lists[i]; *p != NULL; p = &(*p)->next)
            if (*p == w) {
                *p = w->next;
                return;
            }
}

void persist_stop(struct persist *st, int write, uv_close_cb cb, void *arg)
{
    st->closed_cb = cb;
    st->timer.data = arg;
    uv_timer_stop(&st->timer);
    st->stopping = 1;
    if (st->path == NULL || (!write && !st->running)) {
        buf_release(&st->chunk);
        uv_close((uv_handle_t *)&st->timer, cb);
        return;
    }
    if (st->running) {
        if (write)
            st->again = 1; /* finish() starts the final one */
        else
            st->final = 1; /* finish() closes once it ends */
        return;
    }
    start_snapshot(st);
}
