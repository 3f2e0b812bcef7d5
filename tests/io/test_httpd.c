/*
 * The HTTP server on a private loop run by a background thread that owns it; the test
 * thread is the client (tests/lib/httpc, blocking with timeouts). Producer state and
 * counters live on the loop thread; the test thread reads them after joining it, or
 * through atomics while it runs.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "query.h"
#include "httpc.h"

struct fixture {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t thread;
    struct httpd_server srv;
    char addr[128];
    int server_closed;
    atomic_int cancels;       /* every cancel */
    atomic_int early_cancels; /* cancels before the server began closing */
    atomic_int dones;
    atomic_int handled;
    atomic_llong produced; /* bytes produced by /slow */
    struct counts {
        struct count {
            char handler[32];
            unsigned code;
            uint64_t count;
        } v[32];
        size_t n;
    } counts; /* taken on the loop thread just before the server closes */
};

static struct fixture F;

static void collect(const char *handler, unsigned code, uint64_t count, void *arg);

struct gen {
    struct fixture *fx;
    struct httpd_conn *conn;
    long n, i;
    size_t piece; /* bytes per piece for /slow */
    int forever;
    uv_timer_t timer; /* /wait: resumes the stream */
    int timer_active;
};

/* The value of the first parameter called name, into v; 0, or -1 when absent or bad. */
static int param(const char *query, const char *name, char *v, size_t size)
{
    char key[32];
    int rc;

    while ((rc = query_next(&query, key, sizeof(key), v, size)) > 0)
        if (strcmp(key, name) == 0)
            return 0;
    return -1;
}

static long query_long(const char *query, const char *name, long dflt)
{
    char v[32];

    if (param(query, name, v, sizeof(v)) < 0)
        return dflt;
    return strtol(v, NULL, 10);
}

static void hello_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct fixture *fx = arg;

    (void)req;
    atomic_fetch_add(&fx->handled, 1);
    httpd_respond(conn, 200, "text/plain; charset=utf-8", "hello\n", 6, HTTPD_GZIP, NULL);
}

static void echo_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct buf b = BUF_INIT;
    char x[64] = "";

    (void)arg;
    if (param(req->query, "x", x, sizeof(x)) < 0)
        strcpy(x, "-");
    buf_addf(&b, "x=%s\naccept=%s\nae=%s\nauth=%s\nsto=%s\nhead=%d\nver=%u.%u\n", x, req->accept,
             req->accept_encoding, req->authorization, req->scrape_timeout, req->head,
             req->http_major, req->http_minor);
    httpd_respond(conn, 200, "text/plain", b.ptr, b.len, 0, "X-Echo: 1\r\n");
    buf_release(&b);
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

static struct gen *gen_new(struct fixture *fx, struct httpd_conn *conn)
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

static void healthy_handler(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    (void)req;
    (void)arg;
    httpd_respond(conn, 200, "text/plain", "ok\n", 3, 0, NULL);
}

static void *loop_main(void *arg)
{
    struct fixture *fx = arg;

    uv_run(&fx->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void server_closed(struct httpd_server *srv)
{
    struct fixture *fx = (struct fixture *)(void *)((char *)srv - offsetof(struct fixture, srv));

    fx->server_closed++;
}

static void stop_cb(uv_async_t *a)
{
    struct fixture *fx = a->data;

    fx->counts.n = 0;
    httpd_server_foreach_requests(&fx->srv, collect, &fx->counts);
    httpd_server_close(&fx->srv, server_closed);
    uv_close((uv_handle_t *)a, NULL);
}

/* Initialise the server and routes on this thread; listen unless addr is NULL. */
static void setup(struct fixture *fx, const struct httpd_config *cfg)
{
    memset(fx, 0, sizeof(*fx));
    /* As the daemon does: libuv writes with writev(2), and a client that left would
     * otherwise kill the process with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(uv_loop_init(&fx->loop), 0);
    httpd_server_init(&fx->srv, &fx->loop, cfg);
    cr_assert_eq(httpd_server_route(&fx->srv, "/hello", "hello", hello_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/echo", "echo", echo_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/stream", "stream", stream_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/slow", "slow", slow_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/wait", "wait", wait_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/silent", "silent", silent_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/-/healthy", "healthy", healthy_handler, fx), 0);
    cr_assert_eq(httpd_server_route(&fx->srv, "/hello", "dup", hello_handler, fx), -EEXIST);
    cr_assert_eq(httpd_server_route(&fx->srv, "nope", "bad", hello_handler, fx), -EINVAL);
}

static void run(struct fixture *fx, const char *addr)
{
    char err[256] = "";

    cr_assert_eq(httpd_server_listen(&fx->srv, addr, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(httpd_server_address(&fx->srv, fx->addr, sizeof(fx->addr)), 0);
    cr_assert_eq(uv_async_init(&fx->loop, &fx->stop, stop_cb), 0);
    fx->stop.data = fx;
    cr_assert_eq(pthread_create(&fx->thread, NULL, loop_main, fx), 0);
}

static void start(struct fixture *fx, const struct httpd_config *cfg)
{
    setup(fx, cfg);
    run(fx, "127.0.0.1:0");
}

static void stop(struct fixture *fx)
{
    cr_assert_eq(uv_async_send(&fx->stop), 0);
    cr_assert_eq(pthread_join(fx->thread, NULL), 0);
    cr_assert_eq(fx->server_closed, 1);
    cr_assert_eq(uv_loop_close(&fx->loop), 0);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void open_conn(struct httpc *h, const struct fixture *fx)
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

static uint64_t requests(const struct fixture *fx, const char *handler, unsigned code)
{
    const struct counts *c = &fx->counts;

    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].handler, handler) == 0 && c->v[i].code == code)
            return c->v[i].count;
    return 0;
}

/* The expected body of /stream?n=N. */
static void expected_lines(struct buf *b, long n)
{
    for (long i = 0; i < n; i++)
        buf_addf(b, "line %ld\n", i);
}

Test(http, get_one_shot_has_content_length_and_body)
{
    struct httpc_response r;

    start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 6);
    cr_assert_str_eq(r.body, "hello\n");
    cr_assert_str_eq(httpc_header(&r, "Content-Length"), "6");
    cr_assert_str_eq(httpc_header(&r, "content-type"), "text/plain; charset=utf-8");
    cr_assert_str_eq(httpc_header(&r, "Vary"), "Accept-Encoding");
    cr_assert_null(httpc_header(&r, "Content-Encoding"));
    httpc_response_release(&r);
    stop(&F);
    cr_assert_eq(F.srv.stats.connections_accepted, 1);
}

Test(http, head_sends_headers_without_body)
{
    struct httpc h;
    struct httpc_response r;

    start(&F, NULL);
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "HEAD", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&h, 1, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(httpc_header(&r, "Content-Length"), "6");
    httpc_response_release(&r);
    /* Had a body been sent, it would now be read as the next status line. */
    cr_assert_eq(httpc_request(&h, "HEAD", "/stream?n=3", NULL), 0);
    cr_assert_eq(httpc_read(&h, 1, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(httpc_header(&r, "Transfer-Encoding"), "chunked");
    httpc_response_release(&r);
    cr_assert_eq(httpc_request(&h, "GET", "/echo?x=after", NULL), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(strncmp(r.body, "x=after\n", 8), 0);
    httpc_response_release(&r);
    httpc_close(&h);
    stop(&F);
    /* HEAD on a stream: produce never runs, cancel releases the producer. */
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(atomic_load(&F.dones), 0);
}

Test(http, unknown_path_is_404)
{
    struct httpc_response r;

    start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/nope?x=1", NULL, &r), 0);
    cr_assert_eq(r.status, 404);
    httpc_response_release(&r);
    stop(&F);
    cr_assert_eq(requests(&F, HTTPD_OTHER_ROUTE, 404), 1);
}

Test(http, other_method_on_known_path_is_405_with_allow)
{
    struct httpc h;
    struct httpc_response r;

    start(&F, NULL);
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "POST", "/hello", "Content-Length: 5\r\n"), 0);
    cr_assert_eq(httpc_send(&h, "abcde", 5), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 405);
    cr_assert_str_eq(httpc_header(&r, "Allow"), "GET, HEAD");
    httpc_response_release(&r);
    /* The body was skipped: the connection still works. */
    cr_assert_eq(httpc_request(&h, "DELETE", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 405);
    httpc_response_release(&r);
    httpc_close(&h);
    stop(&F);
    cr_assert_eq(atomic_load(&F.handled), 0);
    cr_assert_eq(requests(&F, "hello", 405), 2);
}

Test(http, keep_alive_serves_several_requests_on_one_connection)
{
    struct httpc h;
    struct httpc_response r;

    start(&F, NULL);
    open_conn(&h, &F);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(httpc_request(&h, "GET", "/hello", NULL), 0);
        cr_assert_eq(httpc_read(&h, 0, &r), 0);
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.body, "hello\n");
        cr_assert_null(httpc_header(&r, "Connection"));
        httpc_response_release(&r);
    }
    httpc_close(&h);
    stop(&F);
    cr_assert_eq(F.srv.stats.connections_accepted, 1);
    cr_assert_eq(requests(&F, "hello", 200), 5);
}

Test(http, pipelined_requests_are_answered_in_order)
{
    struct httpc h;
    struct httpc_response r;
    const char reqs[] = "GET /echo?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /stream?n=100 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /echo?x=2 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /echo?x=3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    struct buf want = BUF_INIT;

    start(&F, NULL);
    open_conn(&h, &F);
    cr_assert_eq(httpc_send(&h, reqs, sizeof(reqs) - 1), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(strncmp(r.body, "x=1\n", 4), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    expected_lines(&want, 100);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(strncmp(r.body, "x=2\n", 4), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(strncmp(r.body, "x=3\n", 4), 0);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 2000), 0);
    httpc_close(&h);
    buf_release(&want);
    stop(&F);
}

Test(http, stream_of_many_pieces_is_chunked)
{
    struct httpc_response r;
    struct buf want = BUF_INIT;

    start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/stream?n=10000", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert(r.chunked);
    cr_assert_not(r.gzip);
    expected_lines(&want, 10000);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    httpc_response_release(&r);
    buf_release(&want);
    stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
    cr_assert_eq(atomic_load(&F.cancels), 0);
}

Test(http, stream_is_gzipped_when_accepted)
{
    struct httpc_response r;
    struct buf want = BUF_INIT;

    start(&F, NULL);
    cr_assert_eq(
        httpc_get(F.addr, "/stream?n=10000", "Accept-Encoding: deflate, gzip;q=0.5\r\n", &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert(r.chunked);
    cr_assert(r.gzip);
    cr_assert_str_eq(httpc_header(&r, "Vary"), "Accept-Encoding");
    expected_lines(&want, 10000);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    cr_assert_lt(r.wire_len, want.len / 3);
    httpc_response_release(&r);
    buf_release(&want);
    stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
}

Test(http, gzip_refused_with_q_zero)
{
    struct httpc_response r;

    start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/stream?n=50", "Accept-Encoding: gzip;q=0, *\r\n", &r), 0);
    cr_assert_not(r.gzip);
    cr_assert_null(httpc_header(&r, "Content-Encoding"));
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Accept-Encoding: gzip\r\n", &r), 0);
    cr_assert(r.gzip);
    cr_assert_str_eq(r.body, "hello\n");
    httpc_response_release(&r);
    stop(&F);
}

Test(http, waiting_producer_is_resumed)
{
    struct httpc_response r;

    start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/wait?n=4", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "piece 0\npiece 1\npiece 2\npiece 3\n");
    httpc_response_release(&r);
    stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
}

Test(http, server_close_cancels_a_waiting_stream)
{
    struct httpc h;
    char buf[64];

    start(&F, NULL);
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/wait?forever=1", NULL), 0);
    /* The headers and the first piece arrive, then the producer waits forever. */
    cr_assert_gt(httpc_recv(&h, buf, sizeof(buf)), 0);
    stop(&F);
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(atomic_load(&F.early_cancels), 0);
    cr_assert_eq(atomic_load(&F.dones), 0);
    httpc_close(&h);
}

Test(http, handler_that_does_not_respond_gets_500)
{
    struct httpc_response r;

    start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/silent", NULL, &r), 0);
    cr_assert_eq(r.status, 500);
    httpc_response_release(&r);
    stop(&F);
    cr_assert_eq(requests(&F, "silent", 500), 1);
}

Test(http, request_headers_reach_the_handler)
{
    struct httpc_response r;

    start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/echo?y=2&x=a%20b+c",
                           "ACCEPT: text/plain\r\naccept-encoding: br\r\nAccept-Encoding: zstd\r\n"
                           "Authorization: Basic Zm9v\r\n"
                           "X-Prometheus-Scrape-Timeout-Seconds: 9.5\r\nX-Other: 1\r\n",
                           &r),
                 0);
    cr_assert_str_eq(r.body, "x=a b c\naccept=text/plain\nae=br, zstd\nauth=Basic Zm9v\n"
                             "sto=9.5\nhead=0\nver=1.1\n");
    cr_assert_str_eq(httpc_header(&r, "X-Echo"), "1");
    httpc_response_release(&r);
    stop(&F);
}

Test(http, http10_closes_or_keeps_alive_on_request)
{
    struct httpc h;
    struct httpc_response r;
    struct buf want = BUF_INIT;

    start(&F, NULL);
    open_conn(&h, &F);
    cr_assert_eq(httpc_send(&h, "GET /hello HTTP/1.0\r\n\r\n", 23), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello\n");
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 2000), 0);
    httpc_close(&h);

    open_conn(&h, &F);
    for (int i = 0; i < 2; i++) {
        const char req[] = "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

        cr_assert_eq(httpc_send(&h, req, sizeof(req) - 1), 0);
        cr_assert_eq(httpc_read(&h, 0, &r), 0);
        cr_assert_str_eq(httpc_header(&r, "Connection"), "keep-alive");
        httpc_response_release(&r);
    }
    /* A stream to an HTTP/1.0 client: no chunking, the close ends the body. */
    {
        const char req[] = "GET /stream?n=1000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

        cr_assert_eq(httpc_send(&h, req, sizeof(req) - 1), 0);
    }
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_not(r.chunked);
    cr_assert(r.until_close);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    expected_lines(&want, 1000);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    httpc_response_release(&r);
    httpc_close(&h);
    buf_release(&want);
    stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
}

Test(http, header_too_large_gets_431_and_others_are_served)
{
    struct httpc h;
    struct httpc_response r;
    struct buf big = BUF_INIT;

    start(&F, NULL);
    open_conn(&h, &F);
    buf_adds(&big, "GET /hello HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 400; i++)
        buf_addf(&big, "X-Filler-%03d: %040d\r\n", i, i);
    buf_adds(&big, "\r\n");
    cr_assert_gt(big.len, 16384);
    cr_assert_eq(httpc_send(&h, big.ptr, big.len), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 431);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    httpc_close(&h);

    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    buf_release(&big);
    stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_HEADER_SIZE], 1);
    cr_assert_eq(requests(&F, HTTPD_OTHER_ROUTE, 431), 1);
}

Test(http, body_too_large_gets_413)
{
    struct httpc h;
    struct httpc_response r;

    start(&F, NULL);
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "POST", "/hello", "Content-Length: 100000\r\n"), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 413);
    httpc_response_release(&r);
    httpc_close(&h);

    /* Chunked, so the size is only known while reading. */
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "POST", "/hello", "Transfer-Encoding: chunked\r\n"), 0);
    for (int i = 0; i < 20; i++) {
        char chunk[8192 + 16];
        int n = snprintf(chunk, sizeof(chunk), "2000\r\n");

        memset(chunk + n, 'z', 8192);
        memcpy(chunk + n + 8192, "\r\n", 2);
        if (httpc_send(&h, chunk, (size_t)n + 8194) != 0)
            break;
    }
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 413);
    httpc_response_release(&r);
    httpc_close(&h);
    stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_BODY_SIZE], 2);
}

Test(http, malformed_request_gets_400)
{
    struct httpc h;
    struct httpc_response r;
    const char bad[] = "GARBAGE\x01 / HTTP/1.1\r\n\r\n";

    start(&F, NULL);
    open_conn(&h, &F);

    cr_assert_eq(httpc_send(&h, bad, sizeof(bad) - 1), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 400);
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    httpc_close(&h);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_BAD_REQUEST], 1);
}

Test(http, idle_keep_alive_connection_is_closed)
{
    struct httpd_config cfg = { .idle_timeout_ms = 200 };
    struct httpc h;
    struct httpc_response r;
    double t0, dt;

    start(&F, &cfg);
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    httpc_response_release(&r);
    t0 = now_ms();
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    dt = now_ms() - t0;
    cr_assert_geq(dt, 150.0);
    cr_assert_lt(dt, 1500.0);
    httpc_close(&h);
    stop(&F);
    cr_assert_eq(F.srv.stats.connections_idle_closed, 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_READ_TIMEOUT], 0);
}

Test(http, slow_request_is_cut_at_the_read_timeout)
{
    struct httpd_config cfg = { .read_timeout_ms = 300 };
    struct httpc h, ok;
    struct httpc_response r;
    const char half[] = "GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ";
    double t0, dt;

    start(&F, &cfg);
    open_conn(&h, &F);
    t0 = now_ms();
    cr_assert_eq(httpc_send(&h, half, sizeof(half) - 1), 0);
    /* Dribbling bytes does not extend the deadline of the whole request. */
    for (int i = 0; i < 4; i++) {
        usleep(50 * 1000);
        if (httpc_send(&h, "x", 1) != 0)
            break;
    }
    /* Meanwhile another client is served. */
    open_conn(&ok, &F);
    cr_assert_eq(httpc_request(&ok, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&ok, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpc_close(&ok);
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    dt = now_ms() - t0;
    cr_assert_geq(dt, 250.0);
    cr_assert_lt(dt, 1500.0);
    httpc_close(&h);
    stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_READ_TIMEOUT], 1);
}

Test(http, at_the_cap_the_oldest_idle_connection_makes_room)
{
    struct httpd_config cfg = { .max_connections = 2 };
    struct httpc a, b, c;
    struct httpc_response r;

    start(&F, &cfg);
    open_conn(&a, &F); /* never sends a byte */
    usleep(20 * 1000);
    open_conn(&b, &F);
    cr_assert_eq(httpc_request(&b, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&b, 0, &r), 0); /* b is now idle too, but younger */
    httpc_response_release(&r);
    usleep(50 * 1000);

    open_conn(&c, &F);
    cr_assert_eq(httpc_request(&c, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&c, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&a, 2000), 0, "the oldest idle connection stayed open");
    /* b, younger, still serves. */
    cr_assert_eq(httpc_request(&b, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&b, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpc_close(&a);
    httpc_close(&b);
    httpc_close(&c);
    stop(&F);
    cr_assert_eq(F.srv.stats.connections_evicted, 1);
    cr_assert_eq(F.srv.stats.connections_rejected, 0);
}

Test(http, connections_over_the_limit_are_refused)
{
    struct httpd_config cfg = { .max_connections = 2 };
    struct httpc a, b, c;
    struct httpc_response r;
    int ok = 0;

    start(&F, &cfg);
    open_conn(&a, &F);
    open_conn(&b, &F);
    /* A response on each proves both were accepted. */
    cr_assert_eq(httpc_request(&a, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&a, 0, &r), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_request(&b, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&b, 0, &r), 0);
    httpc_response_release(&r);
    /* Both in the middle of their next request: neither is idle, so none makes room. */
    cr_assert_eq(httpc_send(&a, "GET /hello HTTP/1.1\r\n", 21), 0);
    cr_assert_eq(httpc_send(&b, "GET /hello HTTP/1.1\r\n", 21), 0);
    usleep(100 * 1000);

    open_conn(&c, &F);
    if (httpc_read(&c, 0, &r) == 0) {
        cr_assert_eq(r.status, 503);
        httpc_response_release(&r);
    }
    cr_assert_eq(httpc_wait_closed(&c, 2000), 0);
    httpc_close(&c);

    /* A slot frees when a client leaves; the server notices asynchronously. */
    httpc_close(&a);
    for (int i = 0; i < 50 && !ok; i++) {
        if (httpc_get(F.addr, "/hello", NULL, &r) == 0) {
            ok = r.status == 200;
            httpc_response_release(&r);
        }
        if (!ok)
            usleep(20 * 1000);
    }
    cr_assert(ok);
    httpc_close(&b);
    stop(&F);
    cr_assert_geq(F.srv.stats.connections_rejected, 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_CONNECTIONS], F.srv.stats.connections_rejected);
}

Test(http, client_gone_mid_stream_cancels_once)
{
    struct httpc h;
    char buf[65536];
    size_t got = 0;

    start(&F, NULL);
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/slow", NULL), 0);
    while (got < 1 << 20) {
        long n = httpc_recv(&h, buf, sizeof(buf));

        if (n <= 0)
            break;
        got += (size_t)n;
    }
    cr_assert_geq(got, 1 << 20);
    httpc_close(&h);
    for (int i = 0; i < 300 && atomic_load(&F.early_cancels) == 0; i++)
        usleep(10 * 1000);
    cr_assert_eq(atomic_load(&F.early_cancels), 1);
    stop(&F);
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(atomic_load(&F.dones), 0);
}

Test(http, stalled_reader_is_held_by_backpressure_then_cut)
{
    struct httpd_config cfg = { .write_timeout_ms = 600 };
    struct httpc h;

    start(&F, &cfg);
    open_conn(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/slow", NULL), 0);
    usleep(300 * 1000);
    /* Unbounded, 64 KiB per loop iteration would be gigabytes by now; bounded, it is
     * the socket buffers plus max_unacked_bytes. */
    cr_assert_gt(atomic_load(&F.produced), 0);
    cr_assert_lt(atomic_load(&F.produced), 32LL << 20);
    for (int i = 0; i < 300 && atomic_load(&F.early_cancels) == 0; i++)
        usleep(10 * 1000);
    cr_assert_eq(atomic_load(&F.early_cancels), 1);
    httpc_close(&h);
    stop(&F);
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_WRITE_TIMEOUT], 1);
}

Test(http, bearer_token_guards_all_but_health)
{
    struct httpc_response r;

    setup(&F, NULL);
    cr_assert_eq(httpd_server_set_bearer(&F.srv, "s3cret-token"), 0);
    cr_assert_eq(httpd_server_set_bearer(&F.srv, "bad token"), -EINVAL);
    run(&F, "127.0.0.1:0");
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 401);
    cr_assert_str_eq(httpc_header(&r, "WWW-Authenticate"), "Bearer");
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: Bearer s3cret-tokeN\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: Bearer s3cret-token2\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: Bearer s3cret\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: bearer s3cret-token\r\n", &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/-/healthy", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    stop(&F);
    cr_assert_eq(requests(&F, "hello", 401), 4);
    cr_assert_eq(requests(&F, "hello", 200), 1);
    cr_assert_eq(requests(&F, "healthy", 200), 1);
}

Test(http, unix_listener_replaces_a_stale_socket)
{
    char path[108], addr[128];
    struct sockaddr_un sun;
    struct httpc_response r;
    int fd;

    snprintf(path, sizeof(path), "/tmp/ustatsd-test-http-%d.sock", (int)getpid());
    unlink(path);
    /* A stale socket file: bound, then its owner went away without unlinking. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    snprintf(addr, sizeof(addr), "unix:%s", path);

    setup(&F, NULL);
    run(&F, addr);
    cr_assert_str_eq(F.addr, addr);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello\n");
    httpc_response_release(&r);
    {
        /* A live socket is not taken over. */
        struct httpd_server other;
        uv_loop_t l2;
        char err[256] = "";

        cr_assert_eq(uv_loop_init(&l2), 0);
        httpd_server_init(&other, &l2, NULL);
        cr_assert_eq(httpd_server_listen(&other, addr, err, sizeof(err)), -EADDRINUSE);
        cr_assert_neq(strstr(err, "in use"), NULL, "%s", err);
        httpd_server_close(&other, NULL);
        cr_assert_eq(uv_run(&l2, UV_RUN_DEFAULT), 0);
        cr_assert_eq(uv_loop_close(&l2), 0);
    }
    stop(&F);
    cr_assert_eq(access(path, F_OK), -1, "the socket file is removed on close");
}

Test(http, unix_listener_refuses_a_regular_file)
{
    char path[108], addr[128], err[256] = "";
    struct httpd_server srv;
    uv_loop_t loop;
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/ustatsd-test-http-file-%d", (int)getpid());
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(addr, sizeof(addr), "unix:%s", path);
    cr_assert_eq(uv_loop_init(&loop), 0);
    httpd_server_init(&srv, &loop, NULL);
    cr_assert_eq(httpd_server_listen(&srv, addr, err, sizeof(err)), -EEXIST);
    cr_assert_neq(strstr(err, "not a socket"), NULL, "%s", err);
    cr_assert_eq(access(path, F_OK), 0);
    cr_assert_eq(httpd_server_listen(&srv, "300.1.1.1:80", err, sizeof(err)), -EINVAL);
    cr_assert_eq(httpd_server_listen(&srv, "127.0.0.1", err, sizeof(err)), -EINVAL);
    httpd_server_close(&srv, NULL);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    unlink(path);
}

Test(http, ipv6_listener_serves)
{
    struct httpc_response r;

    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a));

    if (fd >= 0)
        close(fd);
    if (rc != 0)
        cr_skip_test("no IPv6 loopback");
    setup(&F, NULL);
    run(&F, "[::1]:0");
    cr_assert_eq(strncmp(F.addr, "[::1]:", 6), 0);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    stop(&F);
}

Test(http, requests_are_counted_by_handler_and_code)
{
    struct httpc_response r;
    const struct httpd_stats *st;

    start(&F, NULL);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
        httpc_response_release(&r);
    }
    cr_assert_eq(httpc_get(F.addr, "/echo", NULL, &r), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/missing", NULL, &r), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/stream?n=5", NULL, &r), 0);
    httpc_response_release(&r);
    stop(&F);
    st = httpd_server_stats(&F.srv);
    cr_assert_eq(st->connections_accepted, 6);
    cr_assert_eq(st->connections_open, 0);
    cr_assert_eq(requests(&F, "hello", 200), 3);
    cr_assert_eq(requests(&F, "echo", 200), 1);
    cr_assert_eq(requests(&F, "stream", 200), 1);
    cr_assert_eq(requests(&F, HTTPD_OTHER_ROUTE, 404), 1);
    cr_assert_eq(requests(&F, "hello", 404), 0);
}

Test(http, limit_names_are_label_values)
{
    cr_assert_str_eq(httpd_limit_name(HTTPD_LIMIT_HEADER_SIZE), "header_size");
    cr_assert_str_eq(httpd_limit_name(HTTPD_LIMIT_CONNECTIONS), "connections");
    cr_assert_str_eq(httpd_limit_name(HTTPD_LIMIT_COUNT), "unknown");
}
