#include "pg/sqlconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/mem.h"

#define BOOLOID 16  /* pg_type.h; libpq does not export the catalog */
#define MSG_LEN 160 /* the messages written here; the owner keeps what it keeps of them */

/*
 * The poll handle lives apart from the connection because libpq may replace its socket
 * during PQconnectPoll (another address of a host list, an SSL retry), possibly under
 * the same fd number: the old handle must be closed, which is asynchronous, while the
 * new one is already needed.
 */
struct sqlconn_poll {
    uv_poll_t h;
    struct sqlconn_owner own;
    struct sqlconn *c;
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_more(uv_idle_t *h);

static void notice_ignore(void *arg, const char *message)
{
    /* libpq's default prints server notices to stderr, once per notice. */
    (void)arg;
    (void)message;
}

static void poll_close_cb(uv_handle_t *h)
{
    struct sqlconn_poll *p = container_of((uv_poll_t *)h, struct sqlconn_poll, h);
    struct sqlconn_owner own = p->own;

    free(p);
    own.ops->handle_closed(own.arg);
}

static void unwatch(struct sqlconn *c)
{
    if (c->poll == NULL)
        return;
    uv_close((uv_handle_t *)&c->poll->h, poll_close_cb);
    c->poll = NULL;
}

/* Watch the connection's socket; renew makes a fresh handle, as PQsocket() may change. */
static int watch(struct sqlconn *c, int events, int renew)
{
    int fd = PQsocket(c->conn);
    struct sqlconn_poll *p;
    int rc;

    if (fd < 0)
        return UV_EBADF;
    if (renew || c->poll == NULL) {
        unwatch(c);
        p = mem_calloc(1, sizeof(*p));
        p->own = c->own;
        p->c = c;
        rc = uv_poll_init(c->own.loop, &p->h, fd);
        if (rc < 0) {
            free(p);
            return rc;
        }
        c->own.ops->handle_opened(c->own.arg);
        c->poll = p;
    }
    return uv_poll_start(&c->poll->h, events, on_poll);
}

void sqlconn_init(struct sqlconn *c, const struct sqlconn_owner *own)
{
    memset(c, 0, sizeof(*c));
    c->own = *own;
    c->state = SQLCONN_DOWN;
    c->err = -1;
    uv_timer_init(own->loop, &c->timer);
    c->timer.data = c;
    own->ops->handle_opened(own->arg);
    uv_idle_init(own->loop, &c->more);
    c->more.data = c;
    own->ops->handle_opened(own->arg);
}

static void on_connect_timeout(uv_timer_t *t)
{
    struct sqlconn *c = t->data;

    if (c->state == SQLCONN_CONNECTING)
        sqlconn_drop(c, SQLCONN_DROP_FAILED);
    else if (c->state == SQLCONN_DOWN)
        sqlconn_connect(c);
}

void sqlconn_connect(struct sqlconn *c)
{
    c->conn = PQconnectStartParams(c->own.params->keys, c->own.params->vals, 0);
    if (c->conn == NULL)
        mem_oom(sizeof(void *));
    c->state = SQLCONN_CONNECTING;
    c->cur_timeout = c->own.session_timeout_ms;
    if (PQstatus(c->conn) == CONNECTION_BAD) {
        sqlconn_drop(c, SQLCONN_DROP_FAILED);
        return;
    }
    PQsetnonblocking(c->conn, 1);
    PQsetNoticeProcessor(c->conn, notice_ignore, NULL);
    uv_timer_start(&c->timer, on_connect_timeout, c->own.connect_timeout_ms, 0);
    /* libpq: behave as if PQconnectPoll had returned PGRES_POLLING_WRITING at first. */
    if (watch(c, UV_WRITABLE, 1) < 0)
        sqlconn_drop(c, SQLCONN_DROP_FAILED);
}

static void reader_reset(struct sqlconn *c)
{
    c->resolved = 0;
    c->vcol = 0;
    memset(c->lcol, 0, sizeof(c->lcol));
}

void sqlconn_drop(struct sqlconn *c, enum sqlconn_drop how)
{
    unwatch(c);
    if (c->conn != NULL)
        PQfinish(c->conn);
    c->conn = NULL;
    c->state = SQLCONN_DOWN;
    memset(&c->run, 0, sizeof(c->run));
    c->want_write = 0;
    uv_timer_stop(&c->timer);
    uv_idle_stop(&c->more);
    reader_reset(c);
    if (how == SQLCONN_DROP_CLOSED)
        c->closed = 1;
    if (c->closed)
        return;
    if (how == SQLCONN_DROP_ABANDONED) {
        c->attempt = 0;
        sqlconn_connect(c);
        return;
    }
    if (how == SQLCONN_DROP_LOST)
        c->attempt = 0;
    uv_timer_start(&c->timer, on_connect_timeout, c->own.ops->backoff_ms(c->own.arg, c->attempt),
                   0);
    if (c->attempt < 32)
        c->attempt++;
    c->own.ops->conn_down(c->own.arg);
}

static void conn_ready(struct sqlconn *c)
{
    uv_timer_stop(&c->timer);
    c->state = SQLCONN_IDLE;
    c->attempt = 0;
    /* Idle connections are watched too, to notice a server that goes away. */
    if (watch(c, UV_READABLE, 0) < 0) {
        sqlconn_drop(c, SQLCONN_DROP_LOST);
        return;
    }
    c->own.ops->pump(c->own.arg);
}

static void connect_step(struct sqlconn *c)
{
    switch (PQconnectPoll(c->conn)) {
    case PGRES_POLLING_OK:
        conn_ready(c);
        return;
    case PGRES_POLLING_READING:
        if (watch(c, UV_READABLE, 1) < 0)
            sqlconn_drop(c, SQLCONN_DROP_FAILED);
        return;
    case PGRES_POLLING_WRITING:
        if (watch(c, UV_WRITABLE, 1) < 0)
            sqlconn_drop(c, SQLCONN_DROP_FAILED);
        return;
    default:
        sqlconn_drop(c, SQLCONN_DROP_FAILED);
        return;
    }
}

/* ---- Runs ---- */

/* Hand the connection back after a run; a broken one is dropped. */
static void conn_release(struct sqlconn *c)
{
    memset(&c->run, 0, sizeof(c->run));
    c->want_write = 0;
    uv_idle_stop(&c->more);
    reader_reset(c);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        sqlconn_drop(c, SQLCONN_DROP_LOST);
        return;
    }
    c->state = SQLCONN_IDLE;
    if (watch(c, UV_READABLE, 0) < 0) {
        sqlconn_drop(c, SQLCONN_DROP_LOST);
        return;
    }
    c->own.ops->pump(c->own.arg);
}

/* Report msg as the run's error. The run may be a copy taken before c was released. */
static void run_error(struct sqlconn *c, const struct sqlconn_run *run, const char *msg)
{
    c->own.ops->set_error(run->arg, msg, NULL);
}

static void run_done(struct sqlconn *c, const struct sqlconn_run *run, int reason)
{
    c->own.ops->run_done(run->arg, reason);
}

/* The run failed because the connection broke: drop it and finish the run. */
static void run_conn_failed(struct sqlconn *c)
{
    struct sqlconn_run run = c->run;

    run_error(c, &run, PQerrorMessage(c->conn));
    sqlconn_drop(c, SQLCONN_DROP_LOST);
    run_done(c, &run, SQLGAUGE_REASON_CONNECT);
}

static int send_step(struct sqlconn *c)
{
    struct sqlconn_run run = c->run;
    char sql[64];
    int ok, r;

    if (c->step == SQLCONN_STEP_SET) {
        snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", run.timeout_ms);
        ok = PQsendQueryParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    } else {
        /*
         * Single-row mode bounds memory by one row whatever the query returns: libpq
         * would otherwise gather the whole result before handing any of it over. Should
         * it be refused, the whole result is still read correctly, only unbounded.
         */
        ok = PQsendQueryParams(c->conn, run.m->query, 0, NULL, NULL, NULL, NULL, 0);
        if (ok)
            PQsetSingleRowMode(c->conn);
    }
    if (!ok) {
        if (PQstatus(c->conn) != CONNECTION_OK) {
            run_conn_failed(c);
        } else {
            run_error(c, &run, PQerrorMessage(c->conn));
            conn_release(c);
            run_done(c, &run, SQLGAUGE_REASON_QUERY);
        }
        return -1;
    }
    r = PQflush(c->conn);
    if (r < 0) {
        run_conn_failed(c);
        return -1;
    }
    c->want_write = r == 1;
    if (watch(c, UV_READABLE | (c->want_write ? UV_WRITABLE : 0), 0) < 0) {
        run_conn_failed(c);
        return -1;
    }
    return 0;
}

void sqlconn_run(struct sqlconn *c, const struct sqlconn_run *run)
{
    c->state = SQLCONN_BUSY;
    c->run = *run;
    c->err = -1;
    reader_reset(c);
    c->step = run->timeout_ms != c->cur_timeout ? SQLCONN_STEP_SET : SQLCONN_STEP_QUERY;
    send_step(c);
}

/* ---- Results ---- */

static int find_column(const PGresult *res, const char *name)
{
    int i, n = PQnfields(res);

    /* PQfnumber folds unquoted names to lower case; config names are exact. */
    for (i = 0; i < n; i++)
        if (strcmp(PQfname(res, i), name) == 0)
            return i;
    return -1;
}

/* Find the value and label columns in the first result of the query (row or final). */
static int resolve_columns(struct sqlconn *c, const PGresult *res)
{
    const struct sqlconn_run *run = &c->run;
    const struct config_sql_metric *m = run->m;
    size_t j;
    char msg[MSG_LEN];

    c->vcol = find_column(res, m->value_column);
    if (c->vcol < 0) {
        snprintf(msg, sizeof(msg), "value column \"%.64s\" is not in the result", m->value_column);
        run_error(c, run, msg);
        return -1;
    }
    for (j = 0; j < run->build->nlabels; j++) {
        c->lcol[j] = find_column(res, m->label_columns[j]);
        if (c->lcol[j] < 0) {
            snprintf(msg, sizeof(msg), "label column \"%.64s\" is not in the result",
                     m->label_columns[j]);
            run_error(c, run, msg);
            return -1;
        }
    }
    c->resolved = 1;
    return 0;
}

static struct sqlgauge_cell cell(const PGresult *res, int r, int col)
{
    struct sqlgauge_cell v;

    v.s = PQgetvalue(res, r, col);
    v.len = (uint32_t)PQgetlength(res, r, col);
    v.isnull = PQgetisnull(res, r, col);
    return v;
}

/*
 * Read the rows of one result: a single row (PGRES_SINGLE_TUPLE), or the final result
 * (no rows in single-row mode, all of them if the mode was refused).
 */
static int read_rows(struct sqlconn *c, const PGresult *res)
{
    const struct sqlconn_run *run = &c->run;
    struct sqlgauge_cell labels[CONFIG_MAX_LABELS], value;
    int r, n = PQntuples(res), reason;
    size_t j;

    if (!c->resolved && resolve_columns(c, res) < 0)
        return -1;
    for (r = 0; r < n && !run->build->limited; r++) {
        for (j = 0; j < run->build->nlabels; j++)
            labels[j] = cell(res, r, c->lcol[j]);
        value = cell(res, r, c->vcol);
        reason = sqlgauge_build_add(run->build, labels, &value, PQftype(res, c->vcol) == BOOLOID);
        if (reason < SQLGAUGE_REASON_COUNT)
            run->errors[reason]++;
    }
    return 0;
}

/* The reason a failed result gives, from its SQLSTATE. */
static int result_error(struct sqlconn *c, const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    c->own.ops->set_error(c->run.arg, PQresultErrorMessage(res), state);
    /* 57014 query_canceled: what statement_timeout raises. */
    if (state != NULL && strcmp(state, "57014") == 0)
        return SQLGAUGE_REASON_TIMEOUT;
    if (PQstatus(c->conn) != CONNECTION_OK || (state != NULL && strncmp(state, "57P", 3) == 0))
        return SQLGAUGE_REASON_CONNECT;
    return SQLGAUGE_REASON_QUERY;
}

static void take_result(struct sqlconn *c, PGresult *res)
{
    if (c->err >= 0)
        return; /* the first error explains the run */
    switch (PQresultStatus(res)) {
    case PGRES_SINGLE_TUPLE:
        if (c->run.build->limited)
            return;
        /* fall through */
    case PGRES_TUPLES_OK:
        if (c->step == SQLCONN_STEP_QUERY && read_rows(c, res) < 0)
            c->err = SQLGAUGE_REASON_QUERY;
        return;
    case PGRES_COMMAND_OK:
        if (c->step == SQLCONN_STEP_QUERY) {
            run_error(c, &c->run, "the query returned no rows result");
            c->err = SQLGAUGE_REASON_QUERY;
        }
        return;
    default:
        c->err = result_error(c, res);
        return;
    }
}

/* Flush and read what the socket has. Returns 0, or -1 when the run was failed. */
static int transfer(struct sqlconn *c, int events)
{
    if ((events & UV_WRITABLE) && c->want_write) {
        int r = PQflush(c->conn);
        if (r < 0) {
            run_conn_failed(c);
            return -1;
        }
        if (r == 0) {
            c->want_write = 0;
            if (watch(c, UV_READABLE, 0) < 0) {
                run_conn_failed(c);
                return -1;
            }
        }
    }
    if ((events & UV_READABLE) && !PQconsumeInput(c->conn)) {
        run_conn_failed(c);
        return -1;
    }
    return 0;
}

/*
 * Take the results libpq holds. Returns 0 when it needs more input or the step is
 * complete, or -1 when it paused (on_more resumes) or the run ended.
 */
static int take_results(struct sqlconn *c)
{
    struct sqlconn_run run = c->run;
    PGresult *res;
    unsigned n = 0;

    while (!PQisBusy(c->conn)) {
        /*
         * One PQconsumeInput reads what the socket holds, which can be thousands of small
         * rows; the rest waits for the next loop iteration (an idle handle, since the
         * socket may have nothing new to report), so other handles get their turn.
         */
        if (n++ == SQLCONN_ROWS_PER_TICK) {
            uv_idle_start(&c->more, on_more);
            return -1;
        }
        res = PQgetResult(c->conn);
        if (res == NULL)
            break;
        if (PQresultStatus(res) == PGRES_COPY_OUT || PQresultStatus(res) == PGRES_COPY_IN ||
            PQresultStatus(res) == PGRES_COPY_BOTH) {
            /* COPY would need its own protocol; drop the connection rather than drain it. */
            PQclear(res);
            run_error(c, &run, "COPY is not supported in a collector query");
            sqlconn_drop(c, SQLCONN_DROP_ABANDONED);
            run_done(c, &run, SQLGAUGE_REASON_QUERY);
            return -1;
        }
        take_result(c, res);
        PQclear(res);
    }
    return 0;
}

/* Read what the server sent for the run in progress, and move it on. */
static void busy_io(struct sqlconn *c, int events)
{
    struct sqlconn_run run = c->run;
    int err;

    if (transfer(c, events) < 0 || take_results(c) < 0 || PQisBusy(c->conn))
        return;
    /* The step's results are all in. */
    if (c->err < 0 && c->step == SQLCONN_STEP_SET) {
        c->cur_timeout = run.timeout_ms;
        c->step = SQLCONN_STEP_QUERY;
        send_step(c);
        return;
    }
    if (c->err == SQLGAUGE_REASON_CONNECT && PQstatus(c->conn) != CONNECTION_OK) {
        sqlconn_drop(c, SQLCONN_DROP_LOST);
        run_done(c, &run, SQLGAUGE_REASON_CONNECT);
        return;
    }
    err = c->err;
    conn_release(c);
    run_done(c, &run, err);
}

static void on_more(uv_idle_t *h)
{
    struct sqlconn *c = h->data;

    uv_idle_stop(h);
    if (c->state == SQLCONN_BUSY)
        busy_io(c, 0);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sqlconn_poll *p = container_of(h, struct sqlconn_poll, h);
    struct sqlconn *c = p->c;

    switch (c->state) {
    case SQLCONN_CONNECTING:
        if (status < 0)
            sqlconn_drop(c, SQLCONN_DROP_FAILED);
        else
            connect_step(c);
        return;
    case SQLCONN_IDLE:
        /* Nothing is expected: this is the server closing, or a notice to swallow. */
        if (status < 0 || !PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK)
            sqlconn_drop(c, SQLCONN_DROP_LOST);
        return;
    case SQLCONN_BUSY:
        if (status < 0)
            run_conn_failed(c);
        else
            busy_io(c, events);
        return;
    default:
        return;
    }
}
