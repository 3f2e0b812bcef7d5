#include "pg/sqlpool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/jsonstr.h"
#include "base/mem.h"
#include "pg/sqlconn.h"
#include "base/wallclock.h"

_Static_assert(SQLPOOL_ROWS_PER_TICK == SQLCONN_ROWS_PER_TICK, "one bound, documented here");

struct sqlpool_waiter {
    struct sqlpool_waiter *next;
    sqlpool_collect_cb cb;
    void *arg;
    uint64_t deadline; /* uv_now() based */
    size_t pending;
    uint64_t need[]; /* per collector: the run sequence awaited, 0 for none */
};

static void notify(struct sqlpool *pool, size_t idx);
static void set_error(struct sqlpool_collector *col, const char *msg, const char *sqlstate);
static void run_done(struct sqlpool_collector *col, int reason);
static void pump(struct sqlpool *pool);
static void conn_down(struct sqlpool *pool);
static void handle_closed(struct sqlpool *pool);

/* ---- The connections' hooks (sqlconn.h): owner is the pool, run a collector ---- */

static void on_conn_pump(void *owner)
{
    pump(owner);
}

static void on_conn_down(void *owner)
{
    conn_down(owner);
}

static void on_handle_opened(void *owner)
{
    struct sqlpool *pool = owner;

    pool->open_handles++;
}

static void on_handle_closed(void *owner)
{
    handle_closed(owner);
}

/* xorshift64*: jitter needs no quality, only independence from any global state. */
static uint64_t rng_next(struct sqlpool *pool)
{
    uint64_t x = pool->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pool->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* "Equal jitter": half the exponential delay fixed, half random, so peers spread out. */
static uint64_t on_backoff_ms(void *owner, unsigned attempt)
{
    struct sqlpool *pool = owner;
    uint64_t d = pool->backoff_base_ms;
    unsigned i;

    for (i = 0; i < attempt && d < pool->backoff_max_ms; i++)
        d *= 2;
    if (d > pool->backoff_max_ms)
        d = pool->backoff_max_ms;
    return d / 2 + rng_next(pool) % (d / 2 + 1);
}

static void on_set_error(void *run, const char *msg, const char *sqlstate)
{
    set_error(run, msg, sqlstate);
}

static void on_run_done(void *run, int reason)
{
    run_done(run, reason);
}

static const struct sqlconn_ops conn_ops = {
    .pump = on_conn_pump,
    .conn_down = on_conn_down,
    .handle_opened = on_handle_opened,
    .handle_closed = on_handle_closed,
    .backoff_ms = on_backoff_ms,
    .set_error = on_set_error,
    .run_done = on_run_done,
};

static uint64_t now_ms(const struct sqlpool *pool)
{
    return uv_now(pool->loop);
}

static void init_collectors(struct sqlpool *pool)
{
    const struct config *cfg = pool->cfg;
    size_t i, n = 0;

    for (i = 0; i < cfg->nsql_metrics; i++)
        n += !cfg->sql_metrics[i].excluded;
    pool->cols = mem_calloc(n, sizeof(*pool->cols));
    for (i = 0; i < cfg->nsql_metrics; i++) {
        const struct config_sql_metric *m = &cfg->sql_metrics[i];
        struct sqlpool_collector *col;

        if (m->excluded)
            continue;
        col = &pool->cols[pool->ncols++];
        col->pool = pool;
        col->m = m;
        col->index = i;
        col->timeout_ms = conninfo_query_timeout_ms(cfg, m);
        uv_timer_init(pool->loop, &col->timer);
        col->timer.data = col;
        pool->open_handles++;
    }
}

int sqlpool_init(struct sqlpool *pool, uv_loop_t *loop, const struct config *cfg, char *err,
                 size_t errlen)
{
    struct sqlconn_owner own;
    size_t i;

    memset(pool, 0, sizeof(*pool));
    if (errlen > 0)
        err[0] = '\0';
    pool->loop = loop;
    pool->cfg = cfg;
    pool->backoff_base_ms = SQLPOOL_BACKOFF_BASE_MS;
    pool->backoff_max_ms = SQLPOOL_BACKOFF_MAX_MS;
    pool->created_unix = wallclock_unix();
    pool->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)pool ^ ((uint64_t)getpid() << 32);
    if (pool->rng == 0)
        pool->rng = 0x9E3779B97F4A7C15ULL;
    /* 0 disables the server-side limit; the loop-side deadlines remain. */
    pool->session_timeout_ms = conninfo_session_timeout_ms(cfg);
    pool->connect_timeout_ms = conninfo_connect_timeout_ms(cfg);
    if (conninfo_params_init(&pool->params, cfg, pool->session_timeout_ms, err, errlen) < 0)
        return UV_EINVAL;

    init_collectors(pool);
    pool->nconns = cfg->pg_pool_size ? cfg->pg_pool_size : CONFIG_DEFAULT_PG_POOL_SIZE;
    pool->conns = mem_calloc(pool->nconns, sizeof(*pool->conns));
    own = (struct sqlconn_owner){ .loop = loop,
                                  .params = &pool->params,
                                  .session_timeout_ms = pool->session_timeout_ms,
                                  .connect_timeout_ms = pool->connect_timeout_ms,
                                  .ops = &conn_ops,
                                  .arg = pool };
    for (i = 0; i < pool->nconns; i++)
        sqlconn_init(&pool->conns[i], &own);
    uv_timer_init(loop, &pool->wake);
    pool->wake.data = pool;
    pool->open_handles++;
    return 0;
}

/* ---- Runs ---- */

/* Keep msg, trailing newlines and spaces trimmed, as col's last error, with its SQLSTATE. */
static void set_error(struct sqlpool_collector *col, const char *msg, const char *sqlstate)
{
    size_t len;

    snprintf(col->sqlstate, sizeof(col->sqlstate), "%.5s", sqlstate ? sqlstate : "");
    snprintf(col->last_error, sizeof(col->last_error), "%s", msg ? msg : "");
    len = strlen(col->last_error);
    while (len > 0 && (col->last_error[len - 1] == '\n' || col->last_error[len - 1] == ' '))
        col->last_error[--len] = '\0';
}

/* True when some connection is up or coming up, so a queued run may still be served. */
static int pool_alive(const struct sqlpool *pool)
{
    size_t i;

    for (i = 0; i < pool->nconns; i++)
        if (pool->conns[i].state != SQLCONN_DOWN)
            return 1;
    return 0;
}

static struct sqlpool_collector *dequeue(struct sqlpool *pool)
{
    struct sqlpool_collector *col = pool->qhead;

    pool->qhead = col->qnext;
    if (pool->qhead == NULL)
        pool->qtail = NULL;
    col->qnext = NULL;
    return col;
}

/* A connection went down: fail the queued runs if none is left alive. */
static void conn_down(struct sqlpool *pool)
{
    while (pool->qhead != NULL && !pool_alive(pool)) {
        struct sqlpool_collector *col = dequeue(pool);

        pool->canceled_acquires++;
        set_error(col, "could not connect to the database; reconnecting with backoff", NULL);
        run_done(col, SQLGAUGE_REASON_CONNECT);
    }
}

static void run_succeeded(struct sqlpool_collector *col)
{
    col->errors[SQLGAUGE_REASON_DUPLICATE] +=
        sqlgauge_build_finish(&col->build, &col->rows, &col->nrows);
    col->up = 1;
    col->has_success = 1;
    col->success_ns = uv_hrtime();
    col->success_unix = wallclock_unix();
    col->fresh = 1;
    col->fresh_ms = col->req_ms;
}

/* ---- The log: each trouble said once (sqllog.h) ---- */

/* The first line of a message, without libpq's "ERROR:  " (the reason says as much). */
static int first_line(const char *msg, const char **start)
{
    size_t n;

    if (strncmp(msg, "ERROR:", 6) == 0)
        msg += 6 + strspn(msg + 6, " ");
    n = strcspn(msg, "\n");
    *start = msg;
    return n > 512 ? 512 : (int)n;
}

static void say_run(struct sqlpool_collector *col, int reason)
{
    struct log *l = col->pool->log;
    enum sqllog_say what = sqllog_run(&col->said, reason, col->sqlstate);
    const char *msg;
    int n;

    if (what == SQLLOG_SAY_DOWN || what == SQLLOG_SAY_CHANGED) {
        n = first_line(col->last_error, &msg);
        log_msg(l, LOG_WARN, "pg",
                "SQL collector %s is down%s: %s: %.*s%s%s%s; its gauges are absent until a run "
                "succeeds (said once per reason)",
                col->m->name, what == SQLLOG_SAY_CHANGED ? " for another reason" : "",
                sqlgauge_reason_name((enum sqlgauge_reason)reason), n, msg,
                col->sqlstate[0] ? " (SQLSTATE " : "", col->sqlstate, col->sqlstate[0] ? ")" : "");
    } else if (what == SQLLOG_SAY_UP || what == SQLLOG_SAY_RECOVERED) {
        log_msg(l, LOG_INFO, "pg", "SQL collector %s is up%s", col->m->name,
                what == SQLLOG_SAY_RECOVERED ? " again" : "");
    }
}

/* The label values rows were skipped for, each new one once. */
static void say_rejected(struct sqlpool_collector *col)
{
    struct log *l = col->pool->log;
    const struct sqllog_value *v;
    struct buf b = BUF_INIT;

    while ((v = sqllog_next_value(&col->said)) != NULL) {
        sqllog_describe(&b, col->m, v);
        log_msg(l, LOG_WARN, "pg",
                "SQL collector %s: rows skipped (label_rejected): %s; said once per value",
                col->m->name, b.ptr);
    }
    if (sqllog_take_more(&col->said))
        log_msg(l, LOG_WARN, "pg",
                "SQL collector %s: rows skipped for more label values than the %d said; no "
                "more are said (ustatsd_sql_collector_errors_total{reason=\"label_rejected\"} "
                "counts every row)",
                col->m->name, SQLLOG_MAX_VALUES);
    if ((v = sqllog_take_fold(&col->said)) != NULL) {
        sqllog_describe(&b, col->m, v);
        log_msg(l, LOG_INFO, "pg",
                "SQL collector %s: %s: folded into \"%s\"; the first fold, said once "
                "(ustatsd_sql_label_values_folded_total counts them all)",
                col->m->name, b.ptr, col->m->labels[v->label].overflow);
    }
    buf_release(&b);
}

static void say(struct sqlpool_collector *col, int reason)
{
    if (col->pool->log == NULL)
        return;
    say_rejected(col);
    say_run(col, reason);
}

/* Complete col's run; reason -1 for success. Never calls user code. */
static void run_done(struct sqlpool_collector *col, int reason)
{
    struct sqlpool *pool = col->pool;

    uv_timer_stop(&col->timer);
    col->duration = (double)(uv_hrtime() - col->req_ns) / 1e9;
    col->conn = NULL;
    col->state = SQLPOOL_COL_IDLE;
    sqlgauge_rows_free(col->rows, col->nrows);
    col->rows = NULL;
    col->nrows = 0;
    if (reason < 0) {
        run_succeeded(col);
    } else {
        sqlgauge_build_release(&col->build);
        /* seq_done is still 0 when the very first run fails. */
        if (col->up || col->seq_done == 0)
            col->down_events++;
        col->errors[reason]++;
        col->up = 0;
        col->fresh = 0;
    }
    col->seq_done = col->seq_started;
    say(col, reason);
    notify(pool, (size_t)(col - pool->cols));
}

static void dispatch(struct sqlconn *c, struct sqlpool_collector *col)
{
    struct sqlpool *pool = col->pool;

    pool->acquires++;
    pool->acquire_ns += uv_hrtime() - col->req_ns;
    sqlgauge_build_init(&col->build, pool->cfg, col->m);
    col->build.log = &col->said;
    col->build.folds = &col->folds;
    col->conn = c;
    col->state = SQLPOOL_COL_RUNNING;
    sqlconn_run(c, &(struct sqlconn_run){ .m = col->m,
                                          .timeout_ms = col->timeout_ms,
                                          .build = &col->build,
                                          .errors = col->errors,
                                          .arg = col });
}

static struct sqlconn *idle_conn(struct sqlpool *pool)
{
    size_t i;

    for (i = 0; i < pool->nconns; i++)
        if (pool->conns[i].state == SQLCONN_IDLE)
            return &pool->conns[i];
    return NULL;
}

/* Hand queued runs to idle connections. */
static void pump(struct sqlpool *pool)
{
    struct sqlconn *c;

    while (pool->qhead != NULL && (c = idle_conn(pool)) != NULL)
        dispatch(c, dequeue(pool));
}

static void unqueue(struct sqlpool *pool, struct sqlpool_collector *col)
{
    struct sqlpool_collector **pp;

    for (pp = &pool->qhead; *pp != NULL; pp = &(*pp)->qnext) {
        if (*pp == col) {
            *pp = col->qnext;
            break;
        }
    }
    pool->qtail = NULL;
    for (pp = &pool->qhead; *pp != NULL; pp = &(*pp)->qnext)
        pool->qtail = *pp;
    col->qnext = NULL;
}

/* The loop-side deadline of a run: the server has not answered, or no connection came. */
static void on_run_deadline(uv_timer_t *t)
{
    struct sqlpool_collector *col = t->data;
    struct sqlpool *pool = col->pool;

    if (col->state == SQLPOOL_COL_QUEUED) {
        unqueue(pool, col);
        pool->canceled_acquires++;
        set_error(col, "no connection became free before the timeout", NULL);
        run_done(col, SQLGAUGE_REASON_TIMEOUT);
    } else if (col->state == SQLPOOL_COL_RUNNING) {
        struct sqlconn *c = col->conn;

        pool->abandoned++;
        set_error(col, "no answer from the server before the timeout: connection abandoned", NULL);
        run_done(col, SQLGAUGE_REASON_TIMEOUT);
        sqlconn_drop(c, SQLCONN_DROP_ABANDONED);
    }
}

static void run_request(struct sqlpool_collector *col)
{
    struct sqlpool *pool = col->pool;
    struct sqlconn *c;

    col->seq_started++;
    col->runs++;
    col->req_ns = uv_hrtime();
    col->req_ms = now_ms(pool);
    col->state = SQLPOOL_COL_QUEUED;
    uv_timer_start(&col->timer, on_run_deadline, (uint64_t)col->timeout_ms + SQLPOOL_GRACE_MS, 0);
    c = idle_conn(pool);
    if (c != NULL) {
        dispatch(c, col);
    } else if (pool_alive(pool)) {
        pool->empty_acquires++;
        col->qnext = NULL;
        if (pool->qtail != NULL)
            pool->qtail->qnext = col;
        else
            pool->qhead = col;
        pool->qtail = col;
    } else {
        pool->canceled_acquires++;
        set_error(col, "could not connect to the database; reconnecting with backoff", NULL);
        run_done(col, SQLGAUGE_REASON_CONNECT);
    }
}

/* ---- Waiters ---- */

static void on_wake(uv_timer_t *t);

static void wake_arm(struct sqlpool *pool)
{
    struct sqlpool_waiter *w;
    uint64_t now = now_ms(pool), first = UINT64_MAX;

    for (w = pool->waiters; w != NULL; w = w->next) {
        uint64_t at = w->pending == 0 ? now : w->deadline;
        if (at < first)
            first = at;
    }
    if (first == UINT64_MAX) {
        uv_timer_stop(&pool->wake);
        return;
    }
    uv_timer_start(&pool->wake, on_wake, first > now ? first - now : 0, 0);
}

static void notify(struct sqlpool *pool, size_t idx)
{
    struct sqlpool_waiter *w;
    const struct sqlpool_collector *col = &pool->cols[idx];
    int ready = 0;

    for (w = pool->waiters; w != NULL; w = w->next) {
        if (w->need[idx] != 0 && col->seq_done >= w->need[idx]) {
            w->need[idx] = 0;
            if (--w->pending == 0)
                ready = 1;
        }
    }
    if (ready)
        wake_arm(pool);
}

/* Unlink and return the first waiter that is complete or past its deadline, or NULL. */
static struct sqlpool_waiter *take_due(struct sqlpool *pool, uint64_t now)
{
    struct sqlpool_waiter **pp, *w;

    for (pp = &pool->waiters; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->pending == 0 || (*pp)->deadline <= now) {
            w = *pp;
            *pp = w->next;
            pool->nwaiters--;
            return w;
        }
    }
    return NULL;
}

/* Deliver one waiter at a time: a callback may collect, cancel, or close the pool. */
static void on_wake(uv_timer_t *t)
{
    struct sqlpool *pool = t->data;
    struct sqlpool_waiter *w;

    while ((w = take_due(pool, now_ms(pool))) != NULL) {
        sqlpool_collect_cb cb = w->cb;
        void *arg = w->arg;
        int status = w->pending == 0 ? 0 : UV_ETIMEDOUT;

        free(w);
        cb(pool, arg, status);
    }
    if (!pool->closing)
        wake_arm(pool);
}

int sqlpool_collect(struct sqlpool *pool, uint64_t deadline_ms, sqlpool_collect_cb cb, void *arg)
{
    struct sqlpool_waiter *w;
    uint64_t now = now_ms(pool);
    size_t i;

    if (pool->closing)
        return UV_ECANCELED;
    if (pool->nwaiters >= SQLPOOL_MAX_WAITERS)
        return UV_EBUSY;
    w = mem_calloc(1, sizeof(*w) + pool->ncols * sizeof(w->need[0]));
    w->cb = cb;
    w->arg = arg;
    w->deadline = now + deadline_ms;
    for (i = 0; i < pool->ncols; i++) {
        struct sqlpool_collector *col = &pool->cols[i];
        double mi = col->m->min_interval_seconds;
        /* 0 disables the cache: every collect runs the query. */
        uint64_t interval = mi > 0 ? (uint64_t)llround(mi * 1000.0) : 0;

        if (col->state == SQLPOOL_COL_IDLE) {
            if (col->fresh && now - col->fresh_ms < interval)
                continue;
            run_request(col);
        }
        /* A run may have failed at once (no connection); it still counts as done. */
        if (col->seq_done < col->seq_started) {
            w->need[i] = col->seq_started;
            w->pending++;
        }
    }
    w->next = pool->waiters;
    pool->waiters = w;
    pool->nwaiters++;
    wake_arm(pool);
    return 0;
}

size_t sqlpool_collect_cancel(struct sqlpool *pool, sqlpool_collect_cb cb, void *arg)
{
    struct sqlpool_waiter **pp = &pool->waiters;
    size_t n = 0;

    while (*pp != NULL) {
        struct sqlpool_waiter *w = *pp;
        if (w->cb == cb && w->arg == arg) {
            *pp = w->next;
            free(w);
            pool->nwaiters--;
            n++;
        } else {
            pp = &w->next;
        }
    }
    if (!pool->closing)
        wake_arm(pool);
    return n;
}

/* ---- Start, close ---- */

int sqlpool_start(struct sqlpool *pool)
{
    size_t i;

    if (pool->started || pool->closing)
        return 0;
    pool->started = 1;
    for (i = 0; i < pool->nconns; i++)
        sqlconn_connect(&pool->conns[i]);
    return 0;
}

/* One of the pool's handles finished closing; the last one while closing ends it. */
static void handle_closed(struct sqlpool *pool)
{
    size_t i;
    sqlpool_close_cb cb;

    if (--pool->open_handles > 0 || !pool->closing)
        return;
    for (i = 0; i < pool->ncols; i++) {
        sqlgauge_rows_free(pool->cols[i].rows, pool->cols[i].nrows);
        sqlgauge_build_release(&pool->cols[i].build);
    }
    free(pool->cols);
    free(pool->conns);
    conninfo_params_release(&pool->params);
    pool->cols = NULL;
    pool->conns = NULL;
    pool->ncols = pool->nconns = 0;
    cb = pool->close_cb;
    if (cb != NULL)
        cb(pool);
}

static void timer_close_cb(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void close_handle(uv_handle_t *h, struct sqlpool *pool)
{
    h->data = pool;
    uv_close(h, timer_close_cb);
}

void sqlpool_close(struct sqlpool *pool, sqlpool_close_cb close_cb)
{
    size_t i;

    if (pool->closing)
        return;
    pool->closing = 1;
    pool->close_cb = close_cb;
    while (pool->waiters != NULL) {
        struct sqlpool_waiter *w = pool->waiters;
        sqlpool_collect_cb cb = w->cb;
        void *arg = w->arg;

        pool->waiters = w->next;
        pool->nwaiters--;
        free(w);
        cb(pool, arg, UV_ECANCELED);
    }
    pool->qhead = pool->qtail = NULL;
    for (i = 0; i < pool->ncols; i++) {
        struct sqlpool_collector *col = &pool->cols[i];

        col->state = SQLPOOL_COL_IDLE;
        col->conn = NULL;
        col->qnext = NULL;
        close_handle((uv_handle_t *)&col->timer, pool);
    }
    for (i = 0; i < pool->nconns; i++) {
        struct sqlconn *c = &pool->conns[i];

        sqlconn_drop(c, SQLCONN_DROP_CLOSED);
        close_handle((uv_handle_t *)&c->timer, pool);
        close_handle((uv_handle_t *)&c->more, pool);
    }
    uv_close((uv_handle_t *)&pool->wake, timer_close_cb);
}

/* ---- Exposition ---- */

void sqlpool_counts(const struct sqlpool *pool, size_t *acquired, size_t *idle,
                    size_t *constructing, size_t *total, size_t *max)
{
    size_t i;

    *acquired = *idle = *constructing = 0;
    for (i = 0; i < pool->nconns; i++) {
        switch (pool->conns[i].state) {
        case SQLCONN_BUSY:
            (*acquired)++;
            break;
        case SQLCONN_IDLE:
            (*idle)++;
            break;
        case SQLCONN_CONNECTING:
            (*constructing)++;
            break;
        default:
            break;
        }
    }
    *total = *acquired + *idle + *constructing;
    *max = pool->nconns;
}

void sqlpool_render(const struct sqlpool *pool, struct expo *e, double now_unix,
                    const struct sqlpool_select *sel)
{
    struct sqlgauge_status *st = mem_calloc(pool->ncols, sizeof(*st));
    struct sqlgauge_pool p;
    uint64_t now_ns = uv_hrtime();
    double was = e->created;
    size_t i;

    for (i = 0; i < pool->ncols; i++) {
        const struct sqlpool_collector *col = &pool->cols[i];

        if (sel == NULL || config_serves(sel->cfg->sql_metrics[col->index].endpoints, sel->bit)) {
            e->const_labels = sel ? sel->labels : NULL;
            e->nconst = sel ? sel->nlabels : 0;
            sqlgauge_render_family(e, col->m, col->rows, col->nrows);
        }
        st[i].name = col->m->name;
        st[i].up = col->up;
        st[i].has_run = col->seq_done > 0;
        st[i].duration = col->duration;
        st[i].has_success = col->has_success;
        st[i].last_success = now_unix - (double)(now_ns - col->success_ns) / 1e9;
        st[i].errors = col->errors;
        st[i].m = col->m;
        st[i].folds = &col->folds;
    }
    e->const_labels = NULL;
    e->nconst = 0;
    if (sel != NULL && !sel->self) {
        free(st);
        return;
    }
    e->created = pool->created_unix;
    sqlgauge_render_status(e, st, pool->ncols);
    free(st);
    memset(&p, 0, sizeof(p));
    sqlpool_counts(pool, &p.acquired, &p.idle, &p.constructing, &p.total, &p.max);
    p.acquires = pool->acquires;
    p.empty_acquires = pool->empty_acquires;
    p.canceled_acquires = pool->canceled_acquires;
    p.abandoned = pool->abandoned;
    p.acquire_seconds = (double)pool->acquire_ns / 1e9;
    sqlgauge_render_pool(e, &p);
    e->created = was;
}

size_t sqlpool_ncollectors(const struct sqlpool *pool)
{
    return pool->ncols;
}

void sqlpool_collector_info(const struct sqlpool *pool, size_t i,
                            struct sqlpool_collector_info *out)
{
    const struct sqlpool_collector *col = &pool->cols[i];
    size_t r;

    memset(out, 0, sizeof(*out));
    out->name = col->m->name;
    out->up = col->up;
    out->has_run = col->seq_done > 0;
    out->duration_seconds = col->seq_done > 0 ? col->duration : 0;
    out->has_success = col->has_success;
    out->last_success_unix = col->has_success ? col->success_unix : 0;
    out->last_error = col->last_error;
    for (r = 0; r < SQLGAUGE_REASON_COUNT; r++) {
        out->errors[r] = col->errors[r];
        out->errors_total += col->errors[r];
    }
    out->down_events = col->down_events;
}
