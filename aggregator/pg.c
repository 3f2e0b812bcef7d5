#include "pg.h"
#include "common.h"
#include "mem.h"
#include "wallclock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BOOLOID 16 /* pg_type.h; libpq does not export the catalog */

enum { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };
enum { COL_IDLE, COL_QUEUED, COL_RUNNING };
enum { STEP_SET, STEP_QUERY };

/*
 * The poll handle lives apart from the connection because libpq may replace its socket
 * during PQconnectPoll (another address of a host list, an SSL retry), possibly under
 * the same fd number: the old handle must be closed, which is asynchronous, while the
 * new one is already needed.
 */
struct pg_poll {
    uv_poll_t h;
    struct pg *pg;
    struct pg_conn *c;
};

/*
 * A set of label values seen in one result, to enforce a label's cap on distinct values.
 * The strings are those of the rows kept (col->build), so they live as long as the run.
 */
struct strset {
    const char **s;
    uint32_t *len;
    size_t cap, n;
};

/*
 * How the rows of the run in progress are read. In single-row mode every row is its own
 * PGresult, so what one result used to hold for the whole read lives here.
 */
struct pg_reader {
    int resolved; /* columns looked up */
    int vcol;
    int lcol[CONFIG_MAX_LABELS];
    int limited; /* max_series_per_family reached: later rows are only discarded */
    struct strset seen[CONFIG_MAX_LABELS];
};

struct pg_conn {
    struct pg *pg;
    PGconn *conn;
    struct pg_poll *poll;
    uv_timer_t timer; /* connect timeout, then reconnect backoff */
    int state;
    unsigned attempt;
    struct pg_collector *run;
    int step;
    int want_write;
    int err;          /* reason of the run's first error, or -1 */
    long cur_timeout; /* the session's statement_timeout now, ms */
    uv_idle_t more;   /* resumes reading rows that libpq already holds */
    struct pg_reader rd;
};

struct pg_waiter {
    struct pg_waiter *next;
    pg_collect_cb cb;
    void *arg;
    uint64_t deadline; /* uv_now() based */
    size_t pending;
    uint64_t need[]; /* per collector: the run sequence awaited, 0 for none */
};

static const char *const reason_names[] = {
#define PG_REASON_NAME(e, s) s,
    PG_REASON_MAP(PG_REASON_NAME)
#undef PG_REASON_NAME
};

static void conn_connect(struct pg_conn *c);
static void reader_reset(struct pg_conn *c);
static void conn_drop(struct pg_conn *c, int lost);
static void pump(struct pg *pg);

const char *pg_reason_name(enum pg_reason r)
{
    return (unsigned)r < PG_REASON_COUNT ? reason_names[r] : "unknown";
}

static uint64_t now_ms(const struct pg *pg)
{
    return uv_now(pg->loop);
}

static long seconds_to_ms(double s, double dflt)
{
    if (!(s > 0))
        s = dflt;
    if (s > 86400.0)
        s = 86400.0;
    return (long)llround(s * 1000.0) > 0 ? (long)llround(s * 1000.0) : 1;
}

/* xorshift64*: jitter needs no quality, only independence from any global state. */
static uint64_t rng_next(struct pg *pg)
{
    uint64_t x = pg->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pg->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* "Equal jitter": half the exponential delay fixed, half random, so peers spread out. */
static uint64_t backoff_ms(struct pg *pg, unsigned attempt)
{
    uint64_t d = pg->backoff_base_ms;
    unsigned i;

    for (i = 0; i < attempt && d < pg->backoff_max_ms; i++)
        d *= 2;
    if (d > pg->backoff_max_ms)
        d = pg->backoff_max_ms;
    return d / 2 + rng_next(pg) % (d / 2 + 1);
}

/*
 * A host entry keeps the loop non-blocking if it is a Unix-socket directory, an abstract
 * socket ("@name"), empty (the default socket directory) or an IP literal. host may list
 * several entries separated by commas.
 */
static int host_needs_dns(const char *host)
{
    const char *p = host;

    while (1) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char one[256];
        unsigned char addr[16];

        if (len > 0 && p[0] != '/' && p[0] != '@') {
            if (len >= sizeof(one))
                return 1;
            memcpy(one, p, len);
            one[len] = '\0';
            if (inet_pton(AF_INET, one, addr) != 1 && inet_pton(AF_INET6, one, addr) != 1)
                return 1;
        }
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

static void free_params(struct pg *pg)
{
    size_t i;

    if (pg->keys != NULL) {
        for (i = 0; pg->keys[i] != NULL; i++) {
            free((char *)pg->keys[i]);
            free((char *)pg->vals[i]);
        }
    }
    free(pg->keys);
    free(pg->vals);
    free(pg->options);
    pg->keys = pg->vals = NULL;
    pg->options = NULL;
}

/*
 * libpq's parse message may quote a fragment of the conninfo, password included, so it
 * is never shown. Only the name of an unknown keyword is taken from it, and only when
 * it looks like a keyword: libpq writes `invalid connection option "name"` or, for a
 * URI, `invalid URI query parameter: "name"`.
 */
static void unknown_keyword(const char *msg, char *out, size_t outlen)
{
    static const char *const forms[] = { "invalid connection option \"",
                                         "invalid URI query parameter: \"" };
    size_t i, n;

    out[0] = '\0';
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const char *p = strstr(msg, forms[i]);

        if (p == NULL)
            continue;
        p += strlen(forms[i]);
        for (n = 0; p[n] != '"' && n + 1 < outlen; n++)
            if (!((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_'))
                return;
        if (p[n] != '"' || n == 0)
            return;
        memcpy(out, p, n);
        out[n] = '\0';
        return;
    }
}

/*
 * Parse and vet cfg's conninfo. Returns the parsed options (the caller frees them with
 * PQconninfoFree) or NULL with a message in err.
 */
static PQconninfoOption *parse_conninfo(const struct config *cfg, char *err, size_t errlen)
{
    PQconninfoOption *opts, *o;
    char *msg = NULL;
    const char *file = cfg->path ? cfg->path : "";
    const char *host = NULL, *hostaddr = NULL, *from = "";
    char kw[48];

    opts = PQconninfoParse(cfg->pg_conninfo ? cfg->pg_conninfo : "", &msg);
    if (opts == NULL) {
        if (msg == NULL) {
            snprintf(err, errlen, "%s: $.postgres.conninfo: out of memory while parsing", file);
            return NULL;
        }
        unknown_keyword(msg, kw, sizeof(kw));
        PQfreemem(msg);
        if (kw[0] != '\0')
            snprintf(err, errlen, "%s: $.postgres.conninfo: unknown keyword \"%s\"", file, kw);
        else
            snprintf(err, errlen,
                     "%s: $.postgres.conninfo: cannot be parsed by libpq (its message is "
                     "withheld: it may quote secrets)",
                     file);
        return NULL;
    }
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
    }
    if (host == NULL && (host = getenv("PGHOST")) != NULL)
        from = " (from PGHOST)";
    if (hostaddr == NULL)
        hostaddr = getenv("PGHOSTADDR");
    if ((hostaddr == NULL || hostaddr[0] == '\0') && host != NULL && host_needs_dns(host)) {
        snprintf(err, errlen,
                 "%s: $.postgres.conninfo: host \"%.64s\"%s is a name: resolving it would block "
                 "the loop; give an IP address, a socket directory, or hostaddr= as well",
                 file, host, from);
        PQconninfoFree(opts);
        return NULL;
    }
    return opts;
}

int pg_check_config(const struct config *cfg, char *err, size_t errlen)
{
    PQconninfoOption *opts;

    if (errlen > 0)
        err[0] = '\0';
    if (!cfg->has_postgres)
        return 0;
    opts = parse_conninfo(cfg, err, errlen);
    if (opts == NULL)
        return -1;
    PQconninfoFree(opts);
    return 0;
}

/*
 * Turn the conninfo into PQconnectStartParams arrays, with our options appended (later
 * -c settings win, so the conninfo cannot undo read-only) and UTF-8 forced, since label
 * values go to the exposition as they are.
 */
static int build_params(struct pg *pg, char *err, size_t errlen)
{
    PQconninfoOption *opts, *o;
    const char *user_opts = NULL;
    size_t n = 0, k = 0;
    struct buf b = BUF_INIT;

    opts = parse_conninfo(pg->cfg, err, errlen);
    if (opts == NULL)
        return UV_EINVAL;
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "options") == 0)
            user_opts = o->val;
        n++;
    }
    buf_addf(&b, "%s%s-c default_transaction_read_only=on -c statement_timeout=%ld",
             user_opts ? user_opts : "", user_opts ? " " : "", pg->session_timeout_ms);
    pg->options = buf_detach(&b, NULL);
    pg->keys = mem_calloc(n + 4, sizeof(*pg->keys));
    pg->vals = mem_calloc(n + 4, sizeof(*pg->vals));
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0' || strcmp(o->keyword, "options") == 0 ||
            strcmp(o->keyword, "client_encoding") == 0)
            continue;
        pg->keys[k] = mem_strdup(o->keyword);
        pg->vals[k++] = mem_strdup(o->val);
    }
    pg->keys[k] = mem_strdup("options");
    pg->vals[k++] = mem_strdup(pg->options);
    pg->keys[k] = mem_strdup("client_encoding");
    pg->vals[k++] = mem_strdup("UTF8");
    pg->keys[k] = mem_strdup("fallback_application_name");
    pg->vals[k++] = mem_strdup("ustatsd");
    PQconninfoFree(opts);
    return 0;
}

int pg_init(struct pg *pg, uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen)
{
    size_t i, n = 0;
    int rc;

    memset(pg, 0, sizeof(*pg));
    if (errlen > 0)
        err[0] = '\0';
    pg->loop = loop;
    pg->cfg = cfg;
    pg->backoff_base_ms = PG_BACKOFF_BASE_MS;
    pg->backoff_max_ms = PG_BACKOFF_MAX_MS;
    pg->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)pg ^ ((uint64_t)getpid() << 32);
    if (pg->rng == 0)
        pg->rng = 0x9E3779B97F4A7C15ULL;
    /* 0 disables the server-side limit; the loop-side deadlines remain. */
    pg->session_timeout_ms =
        cfg->pg_statement_timeout > 0 ? seconds_to_ms(cfg->pg_statement_timeout, 0) : 0;

    rc = build_params(pg, err, errlen);
    if (rc < 0) {
        free_params(pg);
        return rc;
    }

    for (i = 0; i < cfg->nsql_metrics; i++)
        n += !cfg->sql_metrics[i].excluded;
    pg->cols = mem_calloc(n, sizeof(*pg->cols));
    for (i = 0; i < cfg->nsql_metrics; i++) {
        const struct config_sql_metric *m = &cfg->sql_metrics[i];
        struct pg_collector *col;
        long t;

        if (m->excluded)
            continue;
        col = &pg->cols[pg->ncols++];
        col->pg = pg;
        col->m = m;
        t = seconds_to_ms(m->timeout_seconds, CONFIG_DEFAULT_SQL_TIMEOUT);
        if (pg->session_timeout_ms > 0 && pg->session_timeout_ms < t)
            t = pg->session_timeout_ms;
        col->timeout_ms = t;
        uv_timer_init(loop, &col->timer);
        col->timer.data = col;
        pg->open_handles++;
    }

    pg->nconns = cfg->pg_pool_size ? cfg->pg_pool_size : CONFIG_DEFAULT_PG_POOL_SIZE;
    pg->conns = mem_calloc(pg->nconns, sizeof(*pg->conns));
    for (i = 0; i < pg->nconns; i++) {
        struct pg_conn *c = &pg->conns[i];
        c->pg = pg;
        c->state = CONN_DOWN;
        c->err = -1;
        uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        uv_idle_init(loop, &c->more);
        c->more.data = c;
        pg->open_handles += 2;
    }
    uv_timer_init(loop, &pg->wake);
    pg->wake.data = pg;
    pg->open_handles++;
    return 0;
}

/* ---- Connections ---- */

static void notice_ignore(void *arg, const char *message)
{
    /* libpq's default prints server notices to stderr, once per notice. */
    (void)arg;
    (void)message;
}

static void handle_closed(struct pg *pg);

static void poll_close_cb(uv_handle_t *h)
{
    struct pg_poll *p = container_of((uv_poll_t *)h, struct pg_poll, h);
    struct pg *pg = p->pg;

    free(p);
    handle_closed(pg);
}

static void conn_unwatch(struct pg_conn *c)
{
    if (c->poll == NULL)
        return;
    uv_close((uv_handle_t *)&c->poll->h, poll_close_cb);
    c->poll = NULL;
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Watch the connection's socket; renew makes a fresh handle, as PQsocket() may change. */
static int conn_watch(struct pg_conn *c, int events, int renew)
{
    int fd = PQsocket(c->conn);
    struct pg_poll *p;
    int rc;

    if (fd < 0)
        return UV_EBADF;
    if (renew || c->poll == NULL) {
        conn_unwatch(c);
        p = mem_calloc(1, sizeof(*p));
        p->pg = c->pg;
        p->c = c;
        rc = uv_poll_init(c->pg->loop, &p->h, fd);
        if (rc < 0) {
            free(p);
            return rc;
        }
        c->pg->open_handles++;
        c->poll = p;
    }
    return uv_poll_start(&c->poll->h, events, on_poll);
}

static void on_connect_timeout(uv_timer_t *t)
{
    struct pg_conn *c = t->data;

    if (c->state == CONN_CONNECTING)
        conn_drop(c, 0);
    else if (c->state == CONN_DOWN)
        conn_connect(c);
}

static void conn_connect(struct pg_conn *c)
{
    struct pg *pg = c->pg;

    c->conn = PQconnectStartParams(pg->keys, pg->vals, 0);
    if (c->conn == NULL)
        mem_oom(sizeof(void *));
    c->state = CONN_CONNECTING;
    c->cur_timeout = pg->session_timeout_ms;
    if (PQstatus(c->conn) == CONNECTION_BAD) {
        conn_drop(c, 0);
        return;
    }
    PQsetnonblocking(c->conn, 1);
    PQsetNoticeProcessor(c->conn, notice_ignore, NULL);
    uv_timer_start(
        &c->timer, on_connect_timeout,
        (uint64_t)seconds_to_ms(pg->cfg->pg_connect_timeout, CONFIG_DEFAULT_PG_CONNECT_TIMEOUT), 0);
    /* libpq: behave as if PQconnectPoll had returned PGRES_POLLING_WRITING at first. */
    if (conn_watch(c, UV_WRITABLE, 1) < 0)
        conn_drop(c, 0);
}

/* True when some connection is up or coming up, so a queued run may still be served. */
static int pool_alive(const struct pg *pg)
{
    size_t i;

    for (i = 0; i < pg->nconns; i++)
        if (pg->conns[i].state != CONN_DOWN)
            return 1;
    return 0;
}

static void run_done(struct pg_collector *col, int reason);

static void fail_queue_if_hopeless(struct pg *pg)
{
    while (pg->qhead != NULL && !pool_alive(pg)) {
        struct pg_collector *col = pg->qhead;

        pg->qhead = col->qnext;
        if (pg->qhead == NULL)
            pg->qtail = NULL;
        col->qnext = NULL;
        pg->canceled_acquires++;
        snprintf(col->last_error, sizeof(col->last_error),
                 "could not connect to the database; reconnecting with backoff");
        run_done(col, PG_REASON_CONNECT);
    }
}

/*
 * Finish the connection and schedule the next attempt. lost: the connection had worked
 * (or was abandoned), so the backoff starts over; otherwise each failed attempt doubles
 * it. An abandoned connection (lost == 2) is made again at once.
 */
static void conn_drop(struct pg_conn *c, int lost)
{
    struct pg *pg = c->pg;

    conn_unwatch(c);
    if (c->conn != NULL)
        PQfinish(c->conn);
    c->conn = NULL;
    c->state = CONN_DOWN;
    c->run = NULL;
    c->want_write = 0;
    uv_timer_stop(&c->timer);
    uv_idle_stop(&c->more);
    reader_reset(c);
    if (pg->closing)
        return;
    if (lost == 2) {
        c->attempt = 0;
        conn_connect(c);
        return;
    }
    if (lost)
        c->attempt = 0;
    uv_timer_start(&c->timer, on_connect_timeout, backoff_ms(pg, c->attempt), 0);
    if (c->attempt < 32)
        c->attempt++;
    fail_queue_if_hopeless(pg);
}

static void conn_ready(struct pg_conn *c)
{
    uv_timer_stop(&c->timer);
    c->state = CONN_IDLE;
    c->attempt = 0;
    /* Idle connections are watched too, to notice a server that goes away. */
    if (conn_watch(c, UV_READABLE, 0) < 0) {
        conn_drop(c, 1);
        return;
    }
    pump(c->pg);
}

static void connect_step(struct pg_conn *c)
{
    switch (PQconnectPoll(c->conn)) {
    case PGRES_POLLING_OK:
        conn_ready(c);
        return;
    case PGRES_POLLING_READING:
        if (conn_watch(c, UV_READABLE, 1) < 0)
            conn_drop(c, 0);
        return;
    case PGRES_POLLING_WRITING:
        if (conn_watch(c, UV_WRITABLE, 1) < 0)
            conn_drop(c, 0);
        return;
    default:
        conn_drop(c, 0);
        return;
    }
}

/* ---- Runs ---- */

static void set_error(struct pg_collector *col, const char *msg)
{
    size_t len;

    snprintf(col->last_error, sizeof(col->last_error), "%s", msg ? msg : "");
    len = strlen(col->last_error);
    while (len > 0 && (col->last_error[len - 1] == '\n' || col->last_error[len - 1] == ' '))
        col->last_error[--len] = '\0';
}

static void rows_free(struct pg_row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(rows[i].blob);
    free(rows);
}

static int row_cmp(const void *pa, const void *pb)
{
    const struct pg_row *a = pa, *b = pb;
    uint32_t i;

    for (i = 0; i < a->nlabels; i++) {
        uint32_t la = a->len[i], lb = b->len[i];
        int d = memcmp(a->blob + a->off[i], b->blob + b->off[i], la < lb ? la : lb);
        if (d != 0)
            return d;
        if (la != lb)
            return la < lb ? -1 : 1;
    }
    return 0;
}

static void notify(struct pg *pg, size_t idx);

/* Complete the collector's run: reason -1 for success. Never calls user code. */
static void run_done(struct pg_collector *col, int reason)
{
    struct pg *pg = col->pg;

    uv_timer_stop(&col->timer);
    col->duration = (double)(uv_hrtime() - col->req_ns) / 1e9;
    col->conn = NULL;
    col->state = COL_IDLE;
    rows_free(col->rows, col->nrows);
    col->rows = NULL;
    col->nrows = 0;
    if (reason < 0) {
        size_t i, k = 0;

        /* Sorted output is deterministic, and duplicates become neighbours. */
        if (col->nbuild > 1)
            qsort(col->build, col->nbuild, sizeof(*col->build), row_cmp);
        for (i = 0; i < col->nbuild; i++) {
            if (k > 0 && row_cmp(&col->build[k - 1], &col->build[i]) == 0) {
                free(col->build[i].blob);
                col->errors[PG_REASON_DUPLICATE]++;
                continue;
            }
            col->build[k++] = col->build[i];
        }
        col->rows = col->build;
        col->nrows = k;
        col->up = 1;
        col->has_success = 1;
        col->success_ns = uv_hrtime();
        col->success_unix = wallclock_unix();
        col->fresh = 1;
        col->fresh_ms = col->req_ms;
    } else {
        rows_free(col->build, col->nbuild);
        /* seq_done is still 0 when the very first run fails. */
        if (col->up || col->seq_done == 0)
            col->down_events++;
        col->errors[reason]++;
        col->up = 0;
        col->fresh = 0;
    }
    col->build = NULL;
    col->nbuild = col->capbuild = 0;
    col->seq_done = col->seq_started;
    notify(pg, (size_t)(col - pg->cols));
}

static int send_step(struct pg_conn *c);

static void dispatch(struct pg_conn *c, struct pg_collector *col)
{
    struct pg *pg = c->pg;

    pg->acquires++;
    pg->acquire_ns += uv_hrtime() - col->req_ns;
    c->state = CONN_BUSY;
    c->run = col;
    c->err = -1;
    reader_reset(c);
    col->conn = c;
    col->state = COL_RUNNING;
    c->step = col->timeout_ms != c->cur_timeout ? STEP_SET : STEP_QUERY;
    send_step(c);
}

static struct pg_conn *idle_conn(struct pg *pg)
{
    size_t i;

    for (i = 0; i < pg->nconns; i++)
        if (pg->conns[i].state == CONN_IDLE)
            return &pg->conns[i];
    return NULL;
}

static void pump(struct pg *pg)
{
    struct pg_conn *c;

    while (pg->qhead != NULL && (c = idle_conn(pg)) != NULL) {
        struct pg_collector *col = pg->qhead;

        pg->qhead = col->qnext;
        if (pg->qhead == NULL)
            pg->qtail = NULL;
        col->qnext = NULL;
        dispatch(c, col);
    }
}

/* Hand the connection back after a run; a broken one is dropped. */
static void conn_release(struct pg_conn *c)
{
    c->run = NULL;
    c->want_write = 0;
    uv_idle_stop(&c->more);
    reader_reset(c);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        conn_drop(c, 1);
        return;
    }
    c->state = CONN_IDLE;
    if (conn_watch(c, UV_READABLE, 0) < 0) {
        conn_drop(c, 1);
        return;
    }
    pump(c->pg);
}

/* The run failed because the connection broke: drop it and finish the run. */
static void run_conn_failed(struct pg_conn *c)
{
    struct pg_collector *col = c->run;

    set_error(col, PQerrorMessage(c->conn));
    conn_drop(c, 1);
    run_done(col, PG_REASON_CONNECT);
}

static int send_step(struct pg_conn *c)
{
    struct pg_collector *col = c->run;
    char sql[64];
    int ok, r;

    if (c->step == STEP_SET) {
        snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", col->timeout_ms);
        ok = PQsendQueryParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    } else {
        /*
         * Single-row mode bounds memory by one row whatever the query returns: libpq
         * would otherwise gather the whole result before handing any of it over. Should
         * it be refused, the whole result is still read correctly, only unbounded.
         */
        ok = PQsendQueryParams(c->conn, col->m->query, 0, NULL, NULL, NULL, NULL, 0);
        if (ok)
            PQsetSingleRowMode(c->conn);
    }
    if (!ok) {
        if (PQstatus(c->conn) != CONNECTION_OK) {
            run_conn_failed(c);
        } else {
            set_error(col, PQerrorMessage(c->conn));
            conn_release(c);
            run_done(col, PG_REASON_QUERY);
        }
        return -1;
    }
    r = PQflush(c->conn);
    if (r < 0) {
        run_conn_failed(c);
        return -1;
    }
    c->want_write = r == 1;
    if (conn_watch(c, UV_READABLE | (c->want_write ? UV_WRITABLE : 0), 0) < 0) {
        run_conn_failed(c);
        return -1;
    }
    return 0;
}

/* An FNV-1a string set, grown at half load; values point into the PGresult. */
static uint64_t hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static size_t strset_slot(const struct strset *set, const char *s, uint32_t len)
{
    size_t i = (size_t)hash(s, len) & (set->cap - 1);

    while (set->s[i] != NULL && !(set->len[i] == len && memcmp(set->s[i], s, len) == 0))
        i = (i + 1) & (set->cap - 1);
    return i;
}

static int strset_has(const struct strset *set, const char *s, uint32_t len)
{
    return set->cap > 0 && set->s[strset_slot(set, s, len)] != NULL;
}

static void strset_add(struct strset *set, const char *s, uint32_t len)
{
    size_t i;

    if ((set->n + 1) * 2 > set->cap) {
        struct strset old = *set;

        set->cap = old.cap ? old.cap * 2 : 16;
        set->n = 0;
        set->s = mem_calloc(set->cap, sizeof(*set->s));
        set->len = mem_calloc(set->cap, sizeof(*set->len));
        for (i = 0; i < old.cap; i++) {
            if (old.s[i] != NULL) {
                size_t j = strset_slot(set, old.s[i], old.len[i]);
                set->s[j] = old.s[i];
                set->len[j] = old.len[i];
                set->n++;
            }
        }
        free(old.s);
        free(old.len);
    }
    i = strset_slot(set, s, len);
    if (set->s[i] == NULL) {
        set->s[i] = s;
        set->len[i] = len;
        set->n++;
    }
}

static int parse_value(const PGresult *res, int row, int col, double *out)
{
    const char *s = PQgetvalue(res, row, col);
    char *end;

    if (PQftype(res, col) == BOOLOID) {
        if (s[0] == 't' || s[0] == 'f') {
            *out = s[0] == 't';
            return 0;
        }
        return -1;
    }
    if (s[0] == '\0')
        return -1;
    /* strtod also takes float8's and numeric's "Infinity", "-Infinity" and "NaN". */
    errno = 0;
    *out = strtod(s, &end);
    if (*end != '\0')
        return -1;
    return 0;
}

static int find_column(const PGresult *res, const char *name)
{
    int i, n = PQnfields(res);

    /* PQfnumber folds unquoted names to lower case; config names are exact. */
    for (i = 0; i < n; i++)
        if (strcmp(PQfname(res, i), name) == 0)
            return i;
    return -1;
}

static int label_allowed(const struct config_label *l, const struct strset *seen, const char *s,
                         uint32_t len)
{
    size_t i;

    if (l->values != NULL) {
        for (i = 0; i < l->nvalues; i++)
            if (strlen(l->values[i]) == len && memcmp(l->values[i], s, len) == 0)
                return 1;
        return 0;
    }
    if (strset_has(seen, s, len))
        return 1;
    return seen->n < (l->max_values ? l->max_values : CONFIG_DEFAULT_MAX_LABEL_VALUES);
}

static void reader_reset(struct pg_conn *c)
{
    size_t j;

    for (j = 0; j < CONFIG_MAX_LABELS; j++) {
        free(c->rd.seen[j].s);
        free(c->rd.seen[j].len);
    }
    memset(&c->rd, 0, sizeof(c->rd));
}

/* Find the value and label columns in the first result of the query (row or final). */
static int resolve_columns(struct pg_collector *col, struct pg_reader *rd, const PGresult *res)
{
    const struct config_sql_metric *m = col->m;
    size_t j, nl = m->nlabels < CONFIG_MAX_LABELS ? m->nlabels : CONFIG_MAX_LABELS;
    char msg[PG_ERROR_LEN];

    rd->vcol = find_column(res, m->value_column);
    if (rd->vcol < 0) {
        snprintf(msg, sizeof(msg), "value column \"%.64s\" is not in the result", m->value_column);
        set_error(col, msg);
        return -1;
    }
    for (j = 0; j < nl; j++) {
        rd->lcol[j] = find_column(res, m->label_columns[j]);
        if (rd->lcol[j] < 0) {
            snprintf(msg, sizeof(msg), "label column \"%.64s\" is not in the result",
                     m->label_columns[j]);
            set_error(col, msg);
            return -1;
        }
    }
    rd->resolved = 1;
    return 0;
}

/* Read row r of res into col->build, or count and skip it. */
static void read_row(struct pg_collector *col, struct pg_reader *rd, const PGresult *res, int r)
{
    const struct config_sql_metric *m = col->m;
    const struct config *cfg = col->pg->cfg;
    size_t max_rows =
        cfg->max_series_per_family ? cfg->max_series_per_family : CONFIG_DEFAULT_MAX_FAMILY_SERIES;
    size_t max_len =
        cfg->max_label_value_len ? cfg->max_label_value_len : CONFIG_DEFAULT_MAX_LABEL_LEN;
    size_t j, nl = m->nlabels < CONFIG_MAX_LABELS ? m->nlabels : CONFIG_MAX_LABELS;
    struct pg_row *row;
    double v = 0;
    size_t total = 0;
    int reject = -1;

    for (j = 0; j < nl && reject < 0; j++) {
        uint32_t len = (uint32_t)PQgetlength(res, r, rd->lcol[j]);
        if (PQgetisnull(res, r, rd->lcol[j]))
            reject = PG_REASON_NULL_LABEL;
        else if (len > max_len ||
                 !label_allowed(&m->labels[j], &rd->seen[j], PQgetvalue(res, r, rd->lcol[j]), len))
            reject = PG_REASON_LABEL_REJECTED;
        total += len + 1;
    }
    if (reject < 0 && PQgetisnull(res, r, rd->vcol))
        return; /* a NULL value: the series is absent */
    if (reject < 0 && parse_value(res, r, rd->vcol, &v) < 0)
        reject = PG_REASON_BAD_VALUE;
    if (reject < 0 && col->nbuild >= max_rows) {
        /* Counted once per run: what is left of the result is only drained. */
        rd->limited = 1;
        reject = PG_REASON_LIMIT;
    }
    if (reject >= 0) {
        col->errors[reject]++;
        return;
    }
    if (col->nbuild == col->capbuild) {
        size_t cap = col->capbuild ? col->capbuild * 2 : 16;
        struct pg_row *p = mem_realloc(col->build, cap * sizeof(*p));
        col->build = p;
        col->capbuild = cap;
    }
    row = &col->build[col->nbuild++];
    memset(row, 0, sizeof(*row));
    row->blob = mem_calloc(total ? total : 1, 1);
    row->nlabels = (uint32_t)nl;
    row->value = v;
    total = 0;
    for (j = 0; j < nl; j++) {
        uint32_t len = (uint32_t)PQgetlength(res, r, rd->lcol[j]);

        memcpy(row->blob + total, PQgetvalue(res, r, rd->lcol[j]), len);
        row->off[j] = (uint32_t)total;
        row->len[j] = len;
        if (m->labels[j].values == NULL)
            strset_add(&rd->seen[j], row->blob + total, len);
        total += len + 1;
    }
}

/*
 * Read the rows of one result: a single row (PGRES_SINGLE_TUPLE), or the final result
 * (no rows in single-row mode, all of them if the mode was refused).
 */
static int read_rows(struct pg_conn *c, const PGresult *res)
{
    struct pg_collector *col = c->run;
    int r, n = PQntuples(res);

    if (!c->rd.resolved && resolve_columns(col, &c->rd, res) < 0)
        return -1;
    for (r = 0; r < n && !c->rd.limited; r++)
        read_row(col, &c->rd, res, r);
    return 0;
}

static void take_result(struct pg_conn *c, PGresult *res)
{
    struct pg_collector *col = c->run;
    ExecStatusType st = PQresultStatus(res);
    const char *state;

    if (c->err >= 0)
        return; /* the first error explains the run */
    switch (st) {
    case PGRES_SINGLE_TUPLE:
        if (c->rd.limited)
            return;
        /* fall through */
    case PGRES_TUPLES_OK:
        if (c->step == STEP_QUERY && read_rows(c, res) < 0)
            c->err = PG_REASON_QUERY;
        return;
    case PGRES_COMMAND_OK:
        if (c->step == STEP_QUERY) {
            set_error(col, "the query returned no rows result");
            c->err = PG_REASON_QUERY;
        }
        return;
    default:
        set_error(col, PQresultErrorMessage(res));
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        /* 57014 query_canceled: what statement_timeout raises. */
        if (state != NULL && strcmp(state, "57014") == 0)
            c->err = PG_REASON_TIMEOUT;
        else if (PQstatus(c->conn) != CONNECTION_OK ||
                 (state != NULL && strncmp(state, "57P", 3) == 0))
            c->err = PG_REASON_CONNECT;
        else
            c->err = PG_REASON_QUERY;
        return;
    }
}

static void on_more(uv_idle_t *h);

/* Read what the server sent for the run in progress, and move it on. */
static void busy_io(struct pg_conn *c, int events)
{
    struct pg_collector *col = c->run;
    PGresult *res;
    unsigned n = 0;

    if ((events & UV_WRITABLE) && c->want_write) {
        int r = PQflush(c->conn);
        if (r < 0) {
            run_conn_failed(c);
            return;
        }
        if (r == 0) {
            c->want_write = 0;
            if (conn_watch(c, UV_READABLE, 0) < 0) {
                run_conn_failed(c);
                return;
            }
        }
    }
    if ((events & UV_READABLE) && !PQconsumeInput(c->conn)) {
        run_conn_failed(c);
        return;
    }
    while (!PQisBusy(c->conn)) {
        /*
         * One PQconsumeInput reads what the socket holds, which can be thousands of small
         * rows; the rest waits for the next loop iteration (an idle handle, since the
         * socket may have nothing new to report), so other handles get their turn.
         */
        if (n++ == PG_ROWS_PER_TICK) {
            uv_idle_start(&c->more, on_more);
            return;
        }
        res = PQgetResult(c->conn);
        if (res == NULL)
            break;
        if (PQresultStatus(res) == PGRES_COPY_OUT || PQresultStatus(res) == PGRES_COPY_IN ||
            PQresultStatus(res) == PGRES_COPY_BOTH) {
            /* COPY would need its own protocol; drop the connection rather than drain it. */
            PQclear(res);
            set_error(col, "COPY is not supported in a collector query");
            conn_drop(c, 2);
            run_done(col, PG_REASON_QUERY);
            return;
        }
        take_result(c, res);
        PQclear(res);
    }
    if (PQisBusy(c->conn))
        return;
    /* The step's results are all in. */
    if (c->err < 0 && c->step == STEP_SET) {
        c->cur_timeout = col->timeout_ms;
        c->step = STEP_QUERY;
        send_step(c);
        return;
    }
    if (c->err == PG_REASON_CONNECT && PQstatus(c->conn) != CONNECTION_OK) {
        conn_drop(c, 1);
        run_done(col, PG_REASON_CONNECT);
        return;
    }
    {
        int err = c->err;
        conn_release(c);
        run_done(col, err);
    }
}

static void on_more(uv_idle_t *h)
{
    struct pg_conn *c = h->data;

    uv_idle_stop(h);
    if (c->state == CONN_BUSY)
        busy_io(c, 0);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct pg_poll *p = container_of(h, struct pg_poll, h);
    struct pg_conn *c = p->c;

    switch (c->state) {
    case CONN_CONNECTING:
        if (status < 0)
            conn_drop(c, 0);
        else
            connect_step(c);
        return;
    case CONN_IDLE:
        /* Nothing is expected: this is the server closing, or a notice to swallow. */
        if (status < 0 || !PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK)
            conn_drop(c, 1);
        return;
    case CONN_BUSY:
        if (status < 0)
            run_conn_failed(c);
        else
            busy_io(c, events);
        return;
    default:
        return;
    }
}

/* The loop-side deadline of a run: the server has not answered, or no connection came. */
static void on_run_deadline(uv_timer_t *t)
{
    struct pg_collector *col = t->data;
    struct pg *pg = col->pg;
    struct pg_collector **pp;

    if (col->state == COL_QUEUED) {
        for (pp = &pg->qhead; *pp != NULL; pp = &(*pp)->qnext) {
            if (*pp == col) {
                *pp = col->qnext;
                break;
            }
        }
        pg->qtail = NULL;
        for (pp = &pg->qhead; *pp != NULL; pp = &(*pp)->qnext)
            pg->qtail = *pp;
        col->qnext = NULL;
        pg->canceled_acquires++;
        set_error(col, "no connection became free before the timeout");
        run_done(col, PG_REASON_TIMEOUT);
    } else if (col->state == COL_RUNNING) {
        struct pg_conn *c = col->conn;

        pg->abandoned++;
        set_error(col, "no answer from the server before the timeout: connection abandoned");
        run_done(col, PG_REASON_TIMEOUT);
        conn_drop(c, 2);
    }
}

static void run_request(struct pg_collector *col)
{
    struct pg *pg = col->pg;
    struct pg_conn *c;

    col->seq_started++;
    col->runs++;
    col->req_ns = uv_hrtime();
    col->req_ms = now_ms(pg);
    col->state = COL_QUEUED;
    uv_timer_start(&col->timer, on_run_deadline, (uint64_t)col->timeout_ms + PG_GRACE_MS, 0);
    c = idle_conn(pg);
    if (c != NULL) {
        dispatch(c, col);
    } else if (pool_alive(pg)) {
        pg->empty_acquires++;
        col->qnext = NULL;
        if (pg->qtail != NULL)
            pg->qtail->qnext = col;
        else
            pg->qhead = col;
        pg->qtail = col;
    } else {
        pg->canceled_acquires++;
        set_error(col, "could not connect to the database; reconnecting with backoff");
        run_done(col, PG_REASON_CONNECT);
    }
}

/* ---- Waiters ---- */

static void on_wake(uv_timer_t *t);

static void wake_arm(struct pg *pg)
{
    struct pg_waiter *w;
    uint64_t now = now_ms(pg), first = UINT64_MAX;

    for (w = pg->waiters; w != NULL; w = w->next) {
        uint64_t at = w->pending == 0 ? now : w->deadline;
        if (at < first)
            first = at;
    }
    if (first == UINT64_MAX) {
        uv_timer_stop(&pg->wake);
        return;
    }
    uv_timer_start(&pg->wake, on_wake, first > now ? first - now : 0, 0);
}

static void notify(struct pg *pg, size_t idx)
{
    struct pg_waiter *w;
    const struct pg_collector *col = &pg->cols[idx];
    int ready = 0;

    for (w = pg->waiters; w != NULL; w = w->next) {
        if (w->need[idx] != 0 && col->seq_done >= w->need[idx]) {
            w->need[idx] = 0;
            if (--w->pending == 0)
                ready = 1;
        }
    }
    if (ready)
        wake_arm(pg);
}

/* Deliver one waiter at a time: a callback may collect, cancel, or close pg. */
static void on_wake(uv_timer_t *t)
{
    struct pg *pg = t->data;

    for (;;) {
        uint64_t now = now_ms(pg);
        struct pg_waiter **pp, *w = NULL;
        pg_collect_cb cb;
        void *arg;
        int status;

        for (pp = &pg->waiters; *pp != NULL; pp = &(*pp)->next) {
            if ((*pp)->pending == 0 || (*pp)->deadline <= now) {
                w = *pp;
                *pp = w->next;
                break;
            }
        }
        if (w == NULL)
            break;
        pg->nwaiters--;
        cb = w->cb;
        arg = w->arg;
        status = w->pending == 0 ? 0 : UV_ETIMEDOUT;
        free(w);
        cb(pg, arg, status);
    }
    if (!pg->closing)
        wake_arm(pg);
}

int pg_collect(struct pg *pg, uint64_t deadline_ms, pg_collect_cb cb, void *arg)
{
    struct pg_waiter *w;
    uint64_t now = now_ms(pg);
    size_t i;

    if (pg->closing)
        return UV_ECANCELED;
    if (pg->nwaiters >= PG_MAX_WAITERS)
        return UV_EBUSY;
    w = mem_calloc(1, sizeof(*w) + pg->ncols * sizeof(w->need[0]));
    w->cb = cb;
    w->arg = arg;
    w->deadline = now + deadline_ms;
    for (i = 0; i < pg->ncols; i++) {
        struct pg_collector *col = &pg->cols[i];
        double mi = col->m->min_interval_seconds;
        /* 0 disables the cache: every collect runs the query. */
        uint64_t interval = mi > 0 ? (uint64_t)llround(mi * 1000.0) : 0;

        if (col->state == COL_IDLE) {
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
    w->next = pg->waiters;
    pg->waiters = w;
    pg->nwaiters++;
    wake_arm(pg);
    return 0;
}

size_t pg_collect_cancel(struct pg *pg, pg_collect_cb cb, void *arg)
{
    struct pg_waiter **pp = &pg->waiters;
    size_t n = 0;

    while (*pp != NULL) {
        struct pg_waiter *w = *pp;
        if (w->cb == cb && w->arg == arg) {
            *pp = w->next;
            free(w);
            pg->nwaiters--;
            n++;
        } else {
            pp = &w->next;
        }
    }
    if (!pg->closing)
        wake_arm(pg);
    return n;
}

/* ---- Start, close ---- */

int pg_start(struct pg *pg)
{
    size_t i;

    if (pg->started || pg->closing)
        return 0;
    pg->started = 1;
    for (i = 0; i < pg->nconns; i++)
        conn_connect(&pg->conns[i]);
    return 0;
}

static void handle_closed(struct pg *pg)
{
    size_t i;
    pg_close_cb cb;

    if (--pg->open_handles > 0 || !pg->closing)
        return;
    for (i = 0; i < pg->ncols; i++) {
        rows_free(pg->cols[i].rows, pg->cols[i].nrows);
        rows_free(pg->cols[i].build, pg->cols[i].nbuild);
    }
    free(pg->cols);
    free(pg->conns);
    free_params(pg);
    pg->cols = NULL;
    pg->conns = NULL;
    pg->ncols = pg->nconns = 0;
    cb = pg->close_cb;
    if (cb != NULL)
        cb(pg);
}

static void timer_close_cb(uv_handle_t *h)
{
    handle_closed(h->data);
}

void pg_close(struct pg *pg, pg_close_cb close_cb)
{
    size_t i;

    if (pg->closing)
        return;
    pg->closing = 1;
    pg->close_cb = close_cb;
    while (pg->waiters != NULL) {
        struct pg_waiter *w = pg->waiters;
        pg_collect_cb cb = w->cb;
        void *arg = w->arg;

        pg->waiters = w->next;
        pg->nwaiters--;
        free(w);
        cb(pg, arg, UV_ECANCELED);
    }
    pg->qhead = pg->qtail = NULL;
    for (i = 0; i < pg->ncols; i++) {
        struct pg_collector *col = &pg->cols[i];

        col->state = COL_IDLE;
        col->conn = NULL;
        col->qnext = NULL;
        col->timer.data = pg;
        uv_close((uv_handle_t *)&col->timer, timer_close_cb);
    }
    for (i = 0; i < pg->nconns; i++) {
        struct pg_conn *c = &pg->conns[i];

        conn_drop(c, 1);
        c->timer.data = pg;
        uv_close((uv_handle_t *)&c->timer, timer_close_cb);
        c->more.data = pg;
        uv_close((uv_handle_t *)&c->more, timer_close_cb);
    }
    uv_close((uv_handle_t *)&pg->wake, timer_close_cb);
}

/* ---- Exposition ---- */

void pg_pool_counts(const struct pg *pg, size_t *acquired, size_t *idle, size_t *constructing,
                    size_t *total, size_t *max)
{
    size_t i;

    *acquired = *idle = *constructing = 0;
    for (i = 0; i < pg->nconns; i++) {
        switch (pg->conns[i].state) {
        case CONN_BUSY:
            (*acquired)++;
            break;
        case CONN_IDLE:
            (*idle)++;
            break;
        case CONN_CONNECTING:
            (*constructing)++;
            break;
        default:
            break;
        }
    }
    *total = *acquired + *idle + *constructing;
    *max = pg->nconns;
}

static void sample1(struct expo *e, const char *suffix, const char *lname, const char *lvalue,
                    double v)
{
    struct expo_label l = { lname, lvalue, strlen(lvalue) };
    expo_sample(e, suffix, &l, 1, v);
}

void pg_render(const struct pg *pg, struct expo *e, double now_unix)
{
    static const char *const states[] = { "acquired", "idle", "constructing", "total", "max" };
    size_t counts[5];
    size_t i, r, j;
    uint64_t now_ns = uv_hrtime();

    for (i = 0; i < pg->ncols; i++) {
        const struct pg_collector *col = &pg->cols[i];
        const struct config_sql_metric *m = col->m;
        struct expo_label labels[CONFIG_MAX_LABELS];

        expo_family(e, m->name, EXPO_GAUGE, m->help ? m->help : "", m->unit ? m->unit : "");
        for (r = 0; r < col->nrows; r++) {
            const struct pg_row *row = &col->rows[r];
            for (j = 0; j < row->nlabels; j++) {
                labels[j].name = m->labels[j].name;
                labels[j].value = row->blob + row->off[j];
                labels[j].value_len = row->len[j];
            }
            expo_sample(e, "", labels, row->nlabels, row->value);
        }
    }
    if (pg->ncols > 0) {
        expo_family(e, "ustatsd_sql_collector_up", EXPO_GAUGE,
                    "1 if the collector's last query succeeded, 0 if it failed.", "");
        for (i = 0; i < pg->ncols; i++)
            sample1(e, "", "collector", pg->cols[i].m->name, pg->cols[i].up);
        expo_family(e, "ustatsd_sql_collector_duration_seconds", EXPO_GAUGE,
                    "Duration of the collector's last completed run, waiting included.", "seconds");
        for (i = 0; i < pg->ncols; i++)
            if (pg->cols[i].seq_done > 0)
                sample1(e, "", "collector", pg->cols[i].m->name, pg->cols[i].duration);
        expo_family(e, "ustatsd_sql_collector_errors", EXPO_COUNTER,
                    "Collector errors and rows skipped, by reason.", "");
        for (i = 0; i < pg->ncols; i++) {
            for (r = 0; r < PG_REASON_COUNT; r++) {
                struct expo_label l[2] = {
                    { "collector", pg->cols[i].m->name, strlen(pg->cols[i].m->name) },
                    { "reason", reason_names[r], strlen(reason_names[r]) },
                };
                expo_sample(e, "_total", l, 2, (double)pg->cols[i].errors[r]);
            }
        }
        expo_family(e, "ustatsd_sql_collector_last_success_timestamp_seconds", EXPO_GAUGE,
                    "Unix time of the collector's last successful run.", "seconds");
        for (i = 0; i < pg->ncols; i++) {
            const struct pg_collector *col = &pg->cols[i];
            if (col->has_success)
                sample1(e, "", "collector", col->m->name,
                        now_unix - (double)(now_ns - col->success_ns) / 1e9);
        }
    }

    pg_pool_counts(pg, &counts[0], &counts[1], &counts[2], &counts[3], &counts[4]);
    expo_family(e, "ustatsd_postgres_pool_connections", EXPO_GAUGE,
                "Current PostgreSQL pool connections by state.", "");
    for (i = 0; i < 5; i++)
        sample1(e, "", "state", states[i], (double)counts[i]);
    expo_scalar(e, "ustatsd_postgres_pool_acquires", EXPO_COUNTER, "Successful pool acquisitions.",
                "", (double)pg->acquires);
    expo_scalar(e, "ustatsd_postgres_pool_empty_acquires", EXPO_COUNTER,
                "Acquisitions that had to wait because no connection was idle.", "",
                (double)pg->empty_acquires);
    expo_scalar(e, "ustatsd_postgres_pool_canceled_acquires", EXPO_COUNTER,
                "Acquisitions given up: no connection, or none free before the timeout.", "",
                (double)pg->canceled_acquires);
    expo_scalar(e, "ustatsd_postgres_pool_acquire_duration_seconds", EXPO_COUNTER,
                "Cumulative time spent acquiring pool connections.", "seconds",
                (double)pg->acquire_ns / 1e9);
    expo_scalar(e, "ustatsd_postgres_pool_abandoned_connections", EXPO_COUNTER,
                "Connections finished because the server did not answer before a timeout.", "",
                (double)pg->abandoned);
}

size_t pg_ncollectors(const struct pg *pg)
{
    return pg->ncols;
}

void pg_collector_info(const struct pg *pg, size_t i, struct pg_collector_info *out)
{
    const struct pg_collector *col = &pg->cols[i];
    size_t r;

    memset(out, 0, sizeof(*out));
    out->name = col->m->name;
    out->up = col->up;
    out->has_run = col->seq_done > 0;
    out->duration_seconds = col->seq_done > 0 ? col->duration : 0;
    out->has_success = col->has_success;
    out->last_success_unix = col->has_success ? col->success_unix : 0;
    out->last_error = col->last_error;
    for (r = 0; r < PG_REASON_COUNT; r++) {
        out->errors[r] = col->errors[r];
        out->errors_total += col->errors[r];
    }
    out->down_events = col->down_events;
}
