#include "httpdfix.h"
#include "base/query.h"
#include "waitfor.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void collect(const char *handler, unsigned code, uint64_t count, void *arg);

struct gen {
    struct httpdfix *fx;
    struct httpd_conn *conn;
    long n, i;
    size_t piece; /* bytes per piece for /slow */
    int forever;
    uv_timer_t timer; /* /wait: resumes the stream */
    int timer_active;
};

static long query_long(const char *query, const char *name, long dflt)
{
    char v[32];

    if (query_find(query, name, v, sizeof(v)) < 0)
        return dflt;
    return strtol(v, NULL, 10);
}

static void hello_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct httpdfix *fx = arg;

    (void)req;
    atomic_fetch_add(&fx->handled, 1);
    httpd_respond(conn, 200, "text/plain; charset=utf-8", "hello\n", 6, HTTPD_GZIP, NULL);
}

static void echo_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct buf b = BUF_INIT;
    char x[64] = "";

    (void)arg;
    if (query_find(req->query, "x", x, sizeof(x)) < 0)
        strcpy(x, "-");
    buf_addf(&b, "x=%s\naccept=%s\nae=%s\nauth=%s\nsto=%s\nhead=%d\nver=%u.%u\nauthenticated=%d\n",
             x, req->accept, req->accept_encoding, req->authorization, req->scrape_timeout,
             req->head, req->http_major, req->http_minor, req->authenticated);
    httpd_respond(conn, 200, "text/plain", b.ptr, b.len, 0, "X-Echo: 1\r\n");
    buf_release(&b);
}

/* Asks for credentials: the 401 the server gives a request without them. */
static void signin_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    (void)req;
    (void)arg;
    httpd_respond_unauthorized(conn);
}

/* Holds the loop until the test opens the gate, so that connections pile up in the backlog. */
static void block_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct httpdfix *fx = arg;

    (void)req;
    atomic_store(&fx->blocked, 1);
    uv_sem_wait(&fx->gate);
    atomic_store(&fx->blocked, 0);
    httpd_respond(conn, 200, "text/plain", "blocked\n", 8, 0, NULL);
}

/* 503 and close, as promhttp's refusal beyond its scrapes in flight. */
static void busy_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    (void)req;
    (void)arg;
    httpd_respond(conn, 503, "text/plain", "busy\n", 5, HTTPD_CLOSE, NULL);
}

/* A one-shot body of kb KiB. */
static void big_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    size_t len = (size_t)query_long(req->query, "kb", 64) * 1024;
    char *body = malloc(len);
    struct httpdfix *fx = arg;

    atomic_fetch_add(&fx->bigs, 1);
    cr_assert_not_null(body);
    memset(body, 'b', len);
    httpd_respond(conn, 200, "application/octet-stream", body, len, 0, NULL);
    free(body);
}

static void silent_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    (void)conn;
    (void)req;
    (void)arg;
}

static void gen_free_closed(uv_handle_t *h)
{
    free(h->data);
}

static void gen_free(struct gen *g)
{
    if (g->timer_active) {
        g->timer.data = g;
        uv_close((uv_handle_t *)&g->timer, gen_free_closed);
        return;
    }
    free(g);
}

static int gen_produce(struct httpd_conn *conn, struct buf *out, void *arg)
{
    struct gen *g = arg;

    cr_assert_eq(conn, g->conn);
    if (g->forever) {
        buf_grow(out, g->piece);
        memset(out->ptr, 'x', g->piece);
        out->len = g->piece;
        atomic_fetch_add(&g->fx->produced, (long long)g->piece);
        return HTTPD_MORE;
    }
    buf_addf(out, "line %ld\n", g->i);
    if (++g->i < g->n)
        return HTTPD_MORE;
    atomic_fetch_add(&g->fx->dones, 1);
    gen_free(g);
    return HTTPD_DONE;
}

static void gen_cancel(void *arg)
{
    struct gen *g = arg;

    atomic_fetch_add(&g->fx->cancels, 1);
    if (!g->fx->srv.closing)
        atomic_fetch_add(&g->fx->early_cancels, 1);
    gen_free(g);
}

static struct gen *gen_new(struct httpdfix *fx, struct httpd_conn *conn)
{
    struct gen *g = calloc(1, sizeof(*g));

    cr_assert_not_null(g);
    g->fx = fx;
    g->conn = conn;
    return g;
}

static void stream_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct gen *g = gen_new(arg, conn);

    g->n = query_long(req->query, "n", 10);
    cr_assert_eq(httpd_stream(conn, 200, "text/plain", HTTPD_GZIP, gen_produce, gen_cancel, g), 0);
    cr_assert_eq(httpd_stream(conn, 200, "text/plain", 0, gen_produce, gen_cancel, g), -EALREADY);
}

static void slow_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct gen *g = gen_new(arg, conn);

    (void)req;
    g->forever = 1;
    g->piece = 65536;
    cr_assert_eq(httpd_stream(conn, 200, "application/octet-stream", 0, gen_produce, gen_cancel, g),
                 0);
}

static void wait_timer_cb(uv_timer_t *t)
{
    struct gen *g = (struct gen *)(void *)((char *)t - offsetof(struct gen, timer));

    httpd_resume(g->conn);
}

static int wait_produce(struct httpd_conn *conn, struct buf *out, void *arg)
{
    struct gen *g = arg;

    (void)conn;
    if (g->i == g->n) {
        atomic_fetch_add(&g->fx->dones, 1);
        gen_free(g);
        return HTTPD_DONE;
    }
    buf_addf(out, "piece %ld\n", g->i++);
    if (!g->forever || g->i == 1)
        uv_timer_start(&g->timer, wait_timer_cb, 5, 0);
    return HTTPD_WAIT;
}

static void wait_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct gen *g = gen_new(arg, conn);

    g->n = query_long(req->query, "n", 5);
    g->forever = query_long(req->query, "forever", 0) != 0;
    uv_timer_init(&g->fx->loop, &g->timer);
    g->timer_active = 1;
    cr_assert_eq(httpd_stream(conn, 200, "text/plain", 0, wait_produce, gen_cancel, g), 0);
}

/* An answer deferred forever: only the server's deadline or the client ends it. */
static void defer_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    (void)req;
    cr_assert_eq(httpd_defer(conn, gen_cancel, gen_new(arg, conn)), 0);
    atomic_fetch_add(&((struct httpdfix *)arg)->deferred, 1);
}

static void healthy_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    (void)req;
    (void)arg;
    httpd_respond(conn, 200, "text/plain", "ok\n", 3, 0, NULL);
}

static void *loop_main(void *arg)
{
    struct httpdfix *fx = arg;

    uv_run(&fx->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void server_closed(struct httpd_server *srv)
{
    struct httpdfix *fx = (struct httpdfix *)(void *)((char *)srv - offsetof(struct httpdfix, srv));

    fx->server_closed++;
}

static void watch_cb(uv_check_t *w)
{
    struct httpdfix *fx = w->data;

    atomic_store(&fx->accepted, (unsigned)httpd_server_stats(&fx->srv)->connections_accepted);
    atomic_store(&fx->idle, httpd_server_idle_connections(&fx->srv));
    atomic_store(&fx->open, (unsigned)httpd_server_stats(&fx->srv)->connections_open);
    atomic_store(&fx->held, httpd_server_stats(&fx->srv)->responses_held);
    atomic_store(&fx->evicted, (unsigned)httpd_server_stats(&fx->srv)->connections_evicted);
    atomic_fetch_add(&fx->turns, 1);
}

static void tick_cb(uv_async_t *a)
{
    struct httpdfix *fx = a->data;
    unsigned long long t = atomic_load(&fx->fake_ms);

    if (fx->fake)
        httpd_server_set_time(&fx->srv, t);
    atomic_store(&fx->fake_applied, t);
}

static void stop_cb(uv_async_t *a)
{
    struct httpdfix *fx = a->data;

    uv_close((uv_handle_t *)&fx->watch, NULL);
    uv_close((uv_handle_t *)&fx->tick, NULL);
    fx->counts.n = 0;
    httpd_server_foreach_requests(&fx->srv, collect, &fx->counts);
    httpd_server_close(&fx->srv, server_closed);
    uv_close((uv_handle_t *)a, NULL);
}

void httpdfix_setup(struct httpdfix *fx, const struct httpd_config *cfg)
{
    memset(fx, 0, sizeof(*fx));
    /* As the daemon does: libuv writes with writev(2), and a client that left would
     * otherwise kill the process with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(uv_loop_init(&fx->loop), 0);
    cr_assert_eq(uv_sem_init(&fx->gate, 0), 0);
    httpd_server_init(&fx->srv, &fx->loop, cfg);
    cr_assert_eq(httpd_server_route(&fx->srv, "/hello", "hello", hello_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/echo", "echo", echo_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/stream", "stream", stream_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/slow", "slow", slow_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/wait", "wait", wait_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/silent", "silent", silent_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/block", "block", block_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/big", "big", big_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/busy", "busy", busy_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/defer", "defer", defer_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/-/healthy", "healthy", healthy_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/signin", "signin", signin_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/hello", "dup", hello_handler, fx), -EEXIST);
    cr_assert_eq(httpd_server_route(&fx->srv, "nope", "bad", hello_handler, fx), -EINVAL);
}

void httpdfix_run(struct httpdfix *fx, const char *addr)
{
    char err[256] = "";

    cr_assert_eq(httpd_server_listen(&fx->srv, addr, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(httpd_server_address(&fx->srv, fx->addr, sizeof(fx->addr)), 0);
    cr_assert_eq(uv_async_init(&fx->loop, &fx->stop, stop_cb), 0);
    fx->stop.data = fx;
    cr_assert_eq(uv_check_init(&fx->loop, &fx->watch), 0);
    fx->watch.data = fx;
    cr_assert_eq(uv_check_start(&fx->watch, watch_cb), 0);
    cr_assert_eq(uv_async_init(&fx->loop, &fx->tick, tick_cb), 0);
    fx->tick.data = fx;
    cr_assert_eq(pthread_create(&fx->thread, NULL, loop_main, fx), 0);
}

void httpdfix_start(struct httpdfix *fx, const struct httpd_config *cfg)
{
    httpdfix_setup(fx, cfg);
    httpdfix_run(fx, "127.0.0.1:0");
}

void httpdfix_stop(struct httpdfix *fx)
{
    cr_assert_eq(uv_async_send(&fx->stop), 0);
    cr_assert_eq(pthread_join(fx->thread, NULL), 0);
    cr_assert_eq(fx->server_closed, 1);
    cr_assert_eq(uv_loop_close(&fx->loop), 0);
    uv_sem_destroy(&fx->gate);
}

void httpdfix_fake_clock(struct httpdfix *fx)
{
    fx->fake = 1;
    atomic_store(&fx->fake_ms, uv_now(&fx->loop));
    atomic_store(&fx->fake_applied, atomic_load(&fx->fake_ms));
    httpd_server_set_time(&fx->srv, atomic_load(&fx->fake_ms));
}

static int applied(void *arg)
{
    struct httpdfix *fx = arg;

    return atomic_load(&fx->fake_applied) == atomic_load(&fx->fake_ms);
}

void httpdfix_advance(struct httpdfix *fx, uint64_t ms)
{
    cr_assert(fx->fake, "httpdfix_advance() without httpdfix_fake_clock()");
    atomic_fetch_add(&fx->fake_ms, ms);
    cr_assert_eq(uv_async_send(&fx->tick), 0);
    cr_assert_eq(waitfor_cond(applied, fx, 5000), 0, "the loop did not take the time");
}

struct turns_past {
    struct httpdfix *fx;
    unsigned turns;
};

static int turned(void *arg)
{
    struct turns_past *t = arg;

    return (int)(atomic_load(&t->fx->turns) - t->turns) > 0;
}

/* Wake the loop and wait until a check phase after this call has run. */
static int one_turn(struct httpdfix *fx, int timeout_ms)
{
    struct turns_past t = { fx, atomic_load(&fx->turns) };

    cr_assert_eq(uv_async_send(&fx->tick), 0);
    return waitfor_cond(turned, &t, timeout_ms) == 0 ? 0 : -1;
}

int httpdfix_wait_quiet(struct httpdfix *fx, int timeout_ms)
{
    long long deadline = waitfor_now_ms() + timeout_ms;

    /* A turn may be under way as produced is read: the second begins after the read. */
    while (waitfor_now_ms() < deadline) {
        long long before = atomic_load(&fx->produced);

        if (one_turn(fx, timeout_ms) != 0 || one_turn(fx, timeout_ms) != 0)
            return -1;
        if (atomic_load(&fx->produced) == before)
            return 0;
    }
    return -1;
}

static int blocked(void *arg)
{
    return atomic_load(&((struct httpdfix *)arg)->blocked);
}

int httpdfix_wait_blocked(struct httpdfix *fx, int timeout_ms)
{
    return waitfor_cond(blocked, fx, timeout_ms) == 0 ? 0 : -1;
}

void httpdfix_unblock(struct httpdfix *fx)
{
    uv_sem_post(&fx->gate);
}

struct cancels_at {
    struct httpdfix *fx;
    int n;
};

static int cancelled(void *arg)
{
    struct cancels_at *c = arg;

    return atomic_load(&c->fx->early_cancels) >= c->n;
}

int httpdfix_wait_cancels(struct httpdfix *fx, int n, int timeout_ms)
{
    struct cancels_at c = { fx, n };

    return waitfor_cond(cancelled, &c, timeout_ms) == 0 ? 0 : -1;
}

double httpdfix_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct conns_at {
    struct httpdfix *fx;
    unsigned accepted, idle, open;
};

static int opened(void *arg)
{
    struct conns_at *w = arg;

    return atomic_load(&w->fx->open) == w->open;
}

static int evicted(void *arg)
{
    struct conns_at *w = arg;

    return atomic_load(&w->fx->evicted) == w->open;
}

int httpdfix_wait_evicted(struct httpdfix *fx, unsigned n, int timeout_ms)
{
    struct conns_at w = { .fx = fx, .open = n };

    return waitfor_cond(evicted, &w, timeout_ms) == 0 ? 0 : -1;
}

int httpdfix_wait_open(struct httpdfix *fx, unsigned open, int timeout_ms)
{
    struct conns_at w = { .fx = fx, .open = open };

    return waitfor_cond(opened, &w, timeout_ms) == 0 ? 0 : -1;
}

static int accepted(void *arg)
{
    struct conns_at *w = arg;

    return atomic_load(&w->fx->accepted) == w->accepted && atomic_load(&w->fx->idle) == w->idle;
}

int httpdfix_wait_conns(struct httpdfix *fx, unsigned accepted_n, unsigned idle, int timeout_ms)
{
    struct conns_at w = { .fx = fx, .accepted = accepted_n, .idle = idle };

    return waitfor_cond(accepted, &w, timeout_ms) == 0 ? 0 : -1;
}

void httpdfix_open(struct httpc *h, const struct httpdfix *fx)
{
    cr_assert_eq(httpc_open(h, fx->addr, 0), 0);
}

static void collect(const char *handler, unsigned code, uint64_t count, void *arg)
{
    struct counts *c = arg;

    cr_assert_lt(c->n, 32);
    snprintf(c->v[c->n].handler, sizeof(c->v[c->n].handler), "%s", handler);
    c->v[c->n].code = code;
    c->v[c->n].count = count;
    c->n++;
}

uint64_t httpdfix_requests(const struct httpdfix *fx, const char *handler, unsigned code)
{
    const struct counts *c = &fx->counts;

    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].handler, handler) == 0 && c->v[i].code == code)
            return c->v[i].count;
    return 0;
}

void httpdfix_expected_lines(struct buf *b, long n)
{
    for (long i = 0; i < n; i++)
        buf_addf(b, "line %ld\n", i);
}
