/*
 * The HTTP server over TLS: requests and streams through the engine, keep-alive,
 * close_notify before FIN, and handshakes that fail (counted by reason, the failing
 * connection alone closed) or never finish (the read deadline), and handshakes on the
 * threadpool (one step at a time, the begun ones first, shed past their wait). The server runs on
 * its own loop thread (tests/lib/httpdfix); this thread is an OpenSSL client (tests/lib/tlsclient).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "httpc.h"
#include "httpdfix.h"
#include "http/tlsmem.h"
#include "tlsclient.h"
#include "http/tlspool.h"
#include "waitfor.h"

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    tlscerts_share();
}

static struct httpdfix F;

static const char *dir(void)
{
    const char *d = tlscerts_dir();

    cr_assert_not_null(d, "no test certificates");
    return d;
}

static void start_tls_with(const struct httpd_config *cfg, enum webcfg_client_auth auth,
                           struct tlspool *pool, unsigned in_flight, uint64_t wait_ms,
                           tlspool_clock_cb clock);

/* Start the fixture serving TLS with server.crt, and client_auth as given. */
static void start_tls(const struct httpd_config *cfg, enum webcfg_client_auth auth)
{
    start_tls_with(cfg, auth, NULL, 0, 0, NULL);
}

/*
 * The same, its handshakes on pool (initialised here with these limits), which reads
 * the time from clock (tlspool_set_clock(); it runs on the fixture's loop thread).
 */
static void start_tls_pool(struct tlspool *pool, unsigned in_flight, uint64_t wait_ms,
                           tlspool_clock_cb clock)
{
    start_tls_with(NULL, WEBCFG_NO_CLIENT_CERT, pool, in_flight, wait_ms, clock);
}

/* A server context for server.crt, with client_auth as given. */
static struct tlsmem_ctx *server_ctx(enum webcfg_client_auth auth)
{
    struct webcfg_tls c = { 0 };
    struct tlsmem_ctx *ctx = NULL;
    char err[512] = "";

    c.enabled = 1;
    c.cert_pem = tlscerts_read(dir(), "server.crt");
    c.key_pem = tlscerts_read(dir(), "server.key");
    c.cert_origin = (char *)"server.crt";
    c.key_origin = (char *)"server.key";
    c.client_auth = auth;
    if (auth != WEBCFG_NO_CLIENT_CERT) {
        c.client_ca_pem = tlscerts_read(dir(), "ca.crt");
        c.client_ca_origin = (char *)"ca.crt";
    }
    c.min_version = TLS1_2_VERSION;
    c.max_version = TLS1_3_VERSION;
    cr_assert_eq(tlsmem_ctx_new(&ctx, &c, "web.yml", err, sizeof(err)), 0, "%s", err);
    free(c.cert_pem);
    free(c.key_pem);
    free(c.client_ca_pem);
    return ctx;
}

static void start_tls_with(const struct httpd_config *cfg, enum webcfg_client_auth auth,
                           struct tlspool *pool, unsigned in_flight, uint64_t wait_ms,
                           tlspool_clock_cb clock)
{
    struct tlsmem_ctx *ctx = server_ctx(auth);

    httpdfix_setup(&F, cfg);
    if (pool != NULL) {
        tlspool_init(pool, &F.loop, in_flight, wait_ms);
        tlspool_set_clock(pool, clock, NULL);
        httpd_server_set_tls_pool(&F.srv, pool);
    }
    httpd_server_set_tls(&F.srv, ctx);
    tlsmem_ctx_unref(ctx); /* the server holds its own */
    httpdfix_run(&F, "127.0.0.1:0");
}

static struct tlsclient_opts verified(void)
{
    static char ca[256];

    snprintf(ca, sizeof(ca), "%s", tlscerts_path(dir(), "ca.crt"));
    return (struct tlsclient_opts){ .ca_file = ca };
}

Test(httpd_tls, one_shot_and_stream_over_keep_alive_then_close_notify_before_fin)
{
    struct tlsclient_opts o;
    struct tlsclient t;
    struct tlsclient_response r;
    struct buf want = BUF_INIT;
    char fp[65];

    start_tls(NULL, WEBCFG_NO_CLIENT_CERT);
    o = verified();
    cr_assert_eq(tlsclient_open(&t, F.addr, &o), 0, "%s", t.error);
    tlscerts_fingerprint(dir(), "server.crt", fp);
    cr_assert_str_eq(t.fingerprint, fp);
    cr_assert_eq(tlsclient_request(&t, "/hello", NULL), 0);
    cr_assert_eq(tlsclient_read(&t, &r), 0, "%s", t.error);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body.ptr, "hello\n");
    tlsclient_response_release(&r);
    /* A body of ~600 KB, chunked, in many pieces and records. */
    cr_assert_eq(tlsclient_request(&t, "/stream?n=50000", NULL), 0);
    cr_assert_eq(tlsclient_read(&t, &r), 0, "%s", t.error);
    cr_assert_eq(r.status, 200);
    httpdfix_expected_lines(&want, 50000);
    cr_assert_eq(r.body.len, want.len);
    cr_assert(memcmp(r.body.ptr, want.ptr, want.len) == 0);
    tlsclient_response_release(&r);
    /* Pipelined, the last one closing. */
    cr_assert_eq(tlsclient_request(&t, "/hello", NULL), 0);
    cr_assert_eq(tlsclient_request(&t, "/echo?x=1", "Connection: close\r\n"), 0);
    cr_assert_eq(tlsclient_read(&t, &r), 0, "%s", t.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);
    cr_assert_eq(tlsclient_read(&t, &r), 0, "%s", t.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);
    cr_assert_eq(tlsclient_wait_closed(&t), 0);
    cr_assert(t.close_notify, "the server ends with close_notify");
    tlsclient_close(&t);
    buf_release(&want);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.tls_handshakes, 1);
    for (int i = 0; i < TLSMEM_FAIL_COUNT; i++)
        cr_assert_eq(F.srv.stats.tls_failures[i], 0, "%s", tlsmem_fail_name((enum tlsmem_fail)i));
}

Test(httpd_tls, failed_handshakes_are_counted_by_reason_and_harm_nobody_else)
{
    struct tlsclient_opts o, with_cert, other;
    struct tlsclient good;
    struct tlsclient_response r;
    struct httpc h;
    struct httpc_response hr;
    char err[512], cert[256], key[256], ocert[256], okey[256];

    start_tls(NULL, WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT);
    o = verified();
    snprintf(cert, sizeof(cert), "%s", tlscerts_path(dir(), "client.crt"));
    snprintf(key, sizeof(key), "%s", tlscerts_path(dir(), "client.key"));
    snprintf(ocert, sizeof(ocert), "%s", tlscerts_path(dir(), "other_client.crt"));
    snprintf(okey, sizeof(okey), "%s", tlscerts_path(dir(), "other_client.key"));
    with_cert = o;
    with_cert.cert_file = cert;
    with_cert.key_file = key;
    other = o;
    other.cert_file = ocert;
    other.key_file = okey;

    /* A connection that stays up, mid-way between requests, through all that follows. */
    cr_assert_eq(tlsclient_open(&good, F.addr, &with_cert), 0, "%s", good.error);
    cr_assert_eq(tlsclient_request(&good, "/hello", NULL), 0);
    cr_assert_eq(tlsclient_read(&good, &r), 0, "%s", good.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);

    cr_assert_eq(tlsclient_get(F.addr, &o, "/hello", NULL, NULL, err), -1, "no certificate");
    cr_assert_eq(tlsclient_get(F.addr, &other, "/hello", NULL, NULL, err), -1, "another CA");
    /* Plain HTTP on a TLS port: Go's 400 in clear, the connection closed. */
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&h, 0, &hr), 0);
    cr_assert_eq(hr.status, 400);
    cr_assert_eq(hr.http_minor, 0);
    cr_assert_str_eq(hr.body, "Client sent an HTTP request to an HTTPS server.\n");
    cr_assert(hr.until_close);
    httpc_response_release(&hr);
    cr_assert_eq(httpc_wait_closed(&h, 5000), 0);
    httpc_close(&h);
    /* A client that leaves mid-handshake. */
    {
        struct httpc raw;

        httpdfix_open(&raw, &F);
        cr_assert_eq(httpc_send(&raw, "\x16\x03\x01", 3), 0);
        /* good's and this one wait for a request: the others are gone */
        cr_assert_eq(httpdfix_wait_conns(&F, 5, 2, 5000), 0);
        httpc_close(&raw);
        cr_assert_eq(httpdfix_wait_conns(&F, 5, 1, 5000), 0);
    }
    /* The same certificate as good's: still fine. */
    cr_assert_eq(tlsclient_get(F.addr, &with_cert, "/hello", NULL, NULL, err), 200, "%s", err);
    cr_assert_eq(tlsclient_request(&good, "/echo?x=still", NULL), 0);
    cr_assert_eq(tlsclient_read(&good, &r), 0, "%s", good.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);
    tlsclient_close(&good);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.tls_handshakes, 2);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_NO_CLIENT_CERT], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_BAD_CLIENT_CERT], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_PLAIN_HTTP], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_EARLY_EOF], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_INCOMPLETE], 0);
}

Test(httpd_tls, a_handshake_that_never_finishes_ends_at_the_read_deadline)
{
    struct httpd_config cfg = { .read_timeout_ms = 300 };
    struct httpc h;
    double t0;

    start_tls(&cfg, WEBCFG_NO_CLIENT_CERT);
    httpdfix_open(&h, &F);
    t0 = httpdfix_now_ms();
    cr_assert_eq(httpc_send(&h, "\x16\x03\x01\x02", 4), 0); /* a ClientHello's start */
    cr_assert_eq(httpc_wait_closed(&h, 5000), 0);
    cr_assert_geq(httpdfix_now_ms() - t0, 250);
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_INCOMPLETE], 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_READ_TIMEOUT], 1);
    cr_assert_eq(F.srv.stats.tls_handshakes, 0);
}

/* ---- handshakes on the threadpool (tlspool.h) ---- */

/* A ClientHello, as an OpenSSL client's first flight, into out; returns its length. */
static size_t client_hello(unsigned char *out, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *s = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    int n;

    cr_assert(ctx && s && rb && wb);
    SSL_set_bio(s, rb, wb);
    SSL_set_connect_state(s);
    cr_assert_leq(SSL_do_handshake(s), 0, "it waits for the server");
    n = BIO_read(wb, out, (int)cap);
    cr_assert_gt(n, 0);
    SSL_free(s);
    SSL_CTX_free(ctx);
    return (size_t)n;
}

struct steps {
    int done, expired;
};

static void step_done(struct tlspool_job *job, enum tlspool_result result)
{
    struct steps *s = job->data;

    if (result == TLSPOOL_DONE) {
        cr_assert_eq(job->st, TLSMEM_OK);
        s->done++;
    } else {
        cr_assert_eq(result, TLSPOOL_EXPIRED);
        s->expired++;
    }
    buf_reset(&job->plain);
}

#define NJOBS 5

/* A fake clock for tlspool_set_clock(): it reads the uint64_t that arg points to. */
static uint64_t fake_clock(void *arg)
{
    return *(const uint64_t *)arg;
}

/*
 * A pool of one step at a time on this thread's loop: two jobs are handed to libuv (the
 * second waits for the first on the semaphore), the rest queue, begun handshakes first;
 * a queued job can be taken back silently; one that waited past the deadline is shed.
 */
Test(httpd_tls, pool_computes_one_step_at_a_time_in_order_and_sheds_the_late)
{
    uv_loop_t loop;
    struct tlspool p;
    struct tlsmem_ctx *ctx = server_ctx(WEBCFG_NO_CLIENT_CERT);
    struct tlsmem_conn *t[NJOBS];
    struct tlspool_job j[NJOBS];
    struct steps s = { 0, 0 };
    unsigned char hello[4096];
    size_t n = client_hello(hello, sizeof(hello));
    uint64_t now = 1000;

    cr_assert_eq(uv_loop_init(&loop), 0);
    tlspool_init(&p, &loop, 1, 50);
    tlspool_set_clock(&p, fake_clock, &now);
    for (int i = 0; i < NJOBS; i++) {
        t[i] = tlsmem_conn_new(ctx);
        tlspool_job_init(&j[i], &s);
    }
    /* 0 and 1 go to libuv; 2 and 3 are new, 4 continues a handshake: 4 goes first. */
    for (int i = 0; i < NJOBS; i++)
        tlspool_feed(&p, &j[i], t[i], hello, n, i == 4, step_done);
    cr_assert_eq(p.in_flight, 2, "one computing, one handed ahead of its turn");
    cr_assert_eq(p.waiting, 3);
    cr_assert_eq(p.head[0], &j[4], "the begun handshake is next");
    cr_assert_eq(p.head[1], &j[2]);
    cr_assert_eq(s.done + s.expired, 0, "never from inside the call");
    cr_assert_eq(tlspool_cancel(&j[3]), 1, "a queued job is taken back");
    cr_assert_not(tlspool_job_busy(&j[3]));
    cr_assert_eq(p.waiting, 2);
    /* 100 ms pass before the loop turns: 4 and 2 have waited past their 50 ms. */
    now += 100;
    while (s.done + s.expired < 4)
        uv_run(&loop, UV_RUN_ONCE);
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert_eq(s.done, 2);
    cr_assert_eq(s.expired, 2, "3 never called back");
    cr_assert_eq(p.steps, 2);
    cr_assert_eq(p.expired, 2);
    cr_assert_eq(atomic_load(&p.peak_computing), 1, "never two steps at once");
    cr_assert_eq(p.in_flight + p.waiting, 0);
    cr_assert(tlsmem_conn_take(t[0], &j[0].plain) > 0, "0's server flight is ready");
    cr_assert_eq(tlsmem_conn_take(t[4], &j[4].plain), 0, "4 was never run");
    for (int i = 0; i < NJOBS; i++) {
        tlspool_job_release(&j[i]);
        tlsmem_conn_free(t[i]);
    }
    tlspool_release(&p);
    tlsmem_ctx_unref(ctx);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

#define BURST 16

/*
 * A clock on which 3 ms pass between any two readings, for a pool with a 2 ms wait: a
 * step that is queued at all (the pool reads the time when it is fed, and again when
 * its turn comes) has waited past its deadline, however fast or loaded the machine.
 * Loop thread only.
 */
static uint64_t hopping_clock(void *arg)
{
    static uint64_t now;

    (void)arg;
    return now += 3;
}

/*
 * Through the server: a burst of ClientHellos read in one loop turn (the loop was held
 * by /block meanwhile) goes through a pool of one step at a time with a 2 ms wait, on
 * a clock that moves 3 ms at every reading. The first is answered; those whose turn
 * came too late are closed without a byte and counted as queue_timeout; a kept-alive
 * client is served all along.
 */
Test(httpd_tls, handshakes_waiting_past_the_deadline_are_closed_and_counted)
{
    static struct tlspool pool;
    struct tlsclient_opts o;
    struct tlsclient k;
    struct tlsclient_response r;
    struct httpc raw[BURST];
    unsigned char hello[4096];
    size_t n = client_hello(hello, sizeof(hello));
    int answered = 0, shed = 0;

    start_tls_pool(&pool, 1, 2, hopping_clock);
    o = verified();
    cr_assert_eq(tlsclient_open(&k, F.addr, &o), 0, "%s", k.error);
    for (int i = 0; i < BURST; i++)
        httpdfix_open(&raw[i], &F);
    cr_assert_eq(httpdfix_wait_conns(&F, BURST + 1, BURST + 1, 5000), 0);
    cr_assert_eq(tlsclient_request(&k, "/block", NULL), 0);
    cr_assert_eq(httpdfix_wait_blocked(&F, 5000), 0, "the loop is not held");
    for (int i = 0; i < BURST; i++) /* the loop is held: the hellos wait in their sockets */
        cr_assert_eq(httpc_send(&raw[i], hello, n), 0);
    httpdfix_unblock(&F);
    cr_assert_eq(tlsclient_read(&k, &r), 0, "%s", k.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);
    for (int i = 0; i < BURST; i++) {
        char b[64];
        long got = httpc_recv(&raw[i], b, sizeof(b));

        if (got > 0)
            answered++; /* the server's flight: its turn came in time */
        else
            shed += got == 0 || got == -ECONNRESET;
        httpc_close(&raw[i]);
    }
    /* The kept-alive client is still served. */
    cr_assert_eq(tlsclient_request(&k, "/hello", NULL), 0);
    cr_assert_eq(tlsclient_read(&k, &r), 0, "%s", k.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);
    tlsclient_close(&k);
    httpdfix_stop(&F);
    cr_assert_geq(answered, 1, "the first in line is answered");
    cr_assert_geq(shed, 1, "the ones that waited past 2 ms are shed");
    cr_assert_eq(answered + shed, BURST);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_QUEUE_TIMEOUT], (uint64_t)shed);
    cr_assert_eq(pool.expired, (uint64_t)shed);
    tlspool_release(&pool);
    cr_assert_eq(atomic_load(&pool.peak_computing), 1, "never two steps at once");
    cr_assert_geq(pool.max_waiting, 1);
}

/* ---- a connection, and its server, ending while their step runs ---- */

static int poisoned;

/*
 * The server is done: whatever still reads it, or the pool it embeds, from here on
 * reads garbage, pointers included (0x0101...), and crashes, with or without ASan.
 */
static void poison_cb(struct httpd_server *srv)
{
    memset(srv, 0x01, sizeof(*srv));
    poisoned = 1;
}

/* What the conditions below look at: the test's loop and its server's pool. */
struct stepper {
    uv_loop_t *loop;
    struct tlspool *pool;
};

/* A loop turn, then: the step was handed to libuv. */
static int step_handed_out(void *arg)
{
    struct stepper *st = arg;

    uv_run(st->loop, UV_RUN_NOWAIT);
    return st->pool->in_flight > 0;
}

/* A threadpool thread has begun the step: it waits for the slot, uv_cancel() fails. */
static int step_taken(void *arg)
{
    struct stepper *st = arg;

    return atomic_load(&st->pool->taken) == 1;
}

static void count_handle(uv_handle_t *h, void *arg)
{
    (void)h;
    ++*(int *)arg;
}

/*
 * A loop turn, then: every handle is closed (uv_walk() skips libuv's own): what the
 * server closes on the loop alone has ended, and only the step is left out.
 */
static int handles_closed(void *arg)
{
    struct stepper *st = arg;
    int n = 0;

    uv_run(st->loop, UV_RUN_NOWAIT);
    uv_walk(st->loop, count_handle, &n);
    return n == 0;
}

/* A loop turn, then: the server ended (poison_cb ran). */
static int server_ended(void *arg)
{
    struct stepper *st = arg;

    uv_run(st->loop, UV_RUN_NOWAIT);
    return poisoned;
}

/*
 * A server on its own pool (httpd_server_init's), this thread's loop. The test holds
 * the pool's one slot, so that the step of a ClientHello blocks in the threadpool; the
 * client hangs up (when client_closes), and the server is stopped. The connection waits
 * for its step, the server for the connection; once the step is let through, the
 * connection is freed from the step's callback, and the server, its last, ends there:
 * its close callback may release what holds it, and nothing may touch the pool after.
 */
static void stop_during_a_step(int client_closes)
{
    uv_loop_t loop;
    struct httpd_server *srv = malloc(sizeof(*srv));
    struct tlsmem_ctx *ctx = server_ctx(WEBCFG_NO_CLIENT_CERT);
    struct stepper st;
    struct httpc c;
    char addr[128], err[256] = "";
    unsigned char hello[4096];
    size_t n = client_hello(hello, sizeof(hello));

    cr_assert_not_null(srv);
    poisoned = 0;
    cr_assert_eq(uv_loop_init(&loop), 0);
    httpd_server_init(srv, &loop, NULL);
    httpd_server_set_tls(srv, ctx);
    tlsmem_ctx_unref(ctx);
    cr_assert_eq(httpd_server_listen(srv, "127.0.0.1:0", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(httpd_server_address(srv, addr, sizeof(addr)), 0);
    st = (struct stepper){ &loop, &srv->own_hs };
    uv_sem_wait(&srv->own_hs.slots);
    cr_assert_eq(httpc_open(&c, addr, 0), 0);
    cr_assert_eq(httpc_send(&c, hello, n), 0);
    (void)waitfor_cond(step_handed_out, &st, 5000);
    cr_assert_eq(srv->own_hs.in_flight, 1, "the step was handed out");
    cr_assert_eq(waitfor_cond(step_taken, &st, 5000), 0, "no threadpool thread took the step");
    if (client_closes) {
        httpc_close(&c);
        /* The end waits in the socket: a connection does not read while its step is out. */
        uv_run(&loop, UV_RUN_NOWAIT);
        cr_assert_eq(srv->stats.connections_open, 1);
    }
    httpd_server_close(srv, poison_cb);
    cr_assert_eq(waitfor_cond(handles_closed, &st, 5000), 0, "the server's handles stay open");
    cr_assert_not(poisoned, "the server ended with its connection's step out");
    cr_assert_eq(srv->own_hs.in_flight, 1);
    uv_sem_post(&srv->own_hs.slots);
    (void)waitfor_cond(server_ended, &st, 5000);
    cr_assert(poisoned, "the server never ended");
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    free(srv);
    httpc_close(&c);
}

Test(httpd_tls, a_connection_closed_during_its_step_then_the_server_stopped_ends_cleanly)
{
    stop_during_a_step(1);
}

Test(httpd_tls, a_server_stopped_during_a_step_ends_cleanly)
{
    stop_during_a_step(0);
}

/*
 * At the cap: 3 bytes of a record cost no handshake step (the server waits on the loop
 * for a whole record), so the connection is not one the server works on: a newcomer
 * takes its place at once, without waiting for any deadline (the clock never moves), and
 * it is parked: what it sends next is dropped.
 */
Test(httpd_tls, a_record_begun_and_left_costs_no_step_and_is_parked)
{
    struct httpd_config cfg = { .max_connections = 1, .probe_reserve = 1 };
    struct tlsclient_opts o;
    struct tlsclient t;
    struct tlsclient_response r;
    struct httpc h;

    httpdfix_setup(&F, &cfg);
    httpdfix_fake_clock(&F);
    {
        struct tlsmem_ctx *ctx = server_ctx(WEBCFG_NO_CLIENT_CERT);

        httpd_server_set_tls(&F.srv, ctx);
        tlsmem_ctx_unref(ctx);
    }
    httpdfix_run(&F, "127.0.0.1:0");
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_send(&h, "\x16\x03\x01", 3), 0);
    cr_assert_eq(httpdfix_wait_conns(&F, 1, 1, 2000), 0);
    cr_assert_eq(httpdfix_wait_quiet(&F, 2000), 0); /* its 3 bytes are read */

    o = verified();
    cr_assert_eq(tlsclient_open(&t, F.addr, &o), 0, "%s", t.error);
    cr_assert_eq(tlsclient_request(&t, "/hello", NULL), 0);
    cr_assert_eq(tlsclient_read(&t, &r), 0, "%s", t.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);
    tlsclient_close(&t);

    cr_assert_eq(httpc_wait_closed(&h, 100), -ETIMEDOUT, "closed, not parked");
    cr_assert_eq(httpc_send(&h, "\x02\x00", 2), 0);
    cr_assert_eq(httpc_wait_closed(&h, 100), -ETIMEDOUT, "a parked one answered or closed");
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_FRESH], 1);
    cr_assert_eq(F.srv.stats.connections_parked, 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLSMEM_FAIL_INCOMPLETE], 1);
    cr_assert_eq(F.srv.stats.tls_handshakes, 1);
}
