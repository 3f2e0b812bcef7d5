/*
 * rwhttp on a real loop against a small HTTP server in a thread of the test, which records
 * each request and answers what the test scripted: the headers remote write 1.0 requires,
 * the target's own, a bearer token and basic auth read from their files at each request,
 * the body intact; the status, both forms of Retry-After and the answer's reason; a silent
 * receiver timed out while the loop keeps turning, another answered meanwhile; a refused
 * connection; an unreadable or two-line token file told through the callback, one callback
 * cancelling another; cancel and close with transfers in flight; TLS with a CA file, a
 * client certificate, server_name and insecure_skip_verify against a TLS server.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <uv.h>

#include "remote/rwhttp.h"
#include "tlsclient.h"

struct server {
    int fd, port;
    pthread_t thread;
    const char *answer; /* the whole response, or NULL: read and never answer */
    char request[8192]; /* the last request, head and body */
    size_t request_len;
    int requests;
    SSL_CTX *tls;      /* NULL: plain HTTP */
    char sni[128];     /* the last handshake's server name, "" for none */
    char peer_cn[128]; /* the CN of the client's certificate, "" for none */
    int handshakes_failed;
};

static ssize_t conn_read(SSL *ssl, int c, void *p, size_t n)
{
    if (ssl == NULL)
        return read(c, p, n);
    return SSL_read(ssl, p, (int)n);
}

/* The TLS handshake on c, recording SNI and the client's CN; NULL when it failed. */
static SSL *server_handshake(struct server *s, int c)
{
    SSL *ssl = SSL_new(s->tls);
    const char *sni;
    X509 *peer;

    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        s->handshakes_failed++;
        return NULL;
    }
    sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    snprintf(s->sni, sizeof s->sni, "%s", sni ? sni : "");
    s->peer_cn[0] = '\0';
    if ((peer = SSL_get1_peer_certificate(ssl)) != NULL) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, s->peer_cn,
                                  sizeof s->peer_cn);
        X509_free(peer);
    }
    return ssl;
}

static void *serve(void *arg)
{
    struct server *s = arg;

    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        size_t have = 0, head = 0, need = 0;
        SSL *ssl = NULL;

        if (c < 0)
            return NULL;
        if (s->tls != NULL && (ssl = server_handshake(s, c)) == NULL) {
            close(c);
            continue;
        }
        for (;;) {
            ssize_t n = conn_read(ssl, c, s->request + have, sizeof s->request - 1 - have);
            char *end, *cl;

            if (n <= 0)
                break;
            have += (size_t)n;
            s->request[have] = '\0';
            if (head == 0 && (end = strstr(s->request, "\r\n\r\n")) != NULL) {
                head = (size_t)(end - s->request) + 4;
                cl = strcasestr(s->request, "content-length:");
                need = cl ? strtoul(cl + 15, NULL, 10) : 0;
            }
            if (head != 0 && have - head >= need)
                break;
        }
        if (have == 0) { /* a connection that died before its request */
            SSL_free(ssl);
            close(c);
            continue;
        }
        s->request_len = have;
        __atomic_add_fetch(&s->requests, 1, __ATOMIC_SEQ_CST);
        if (s->answer == NULL) {
            char sink[512];

            /* Silent: the client's timeout, cancel or close ends the connection. */
            while (conn_read(ssl, c, sink, sizeof sink) > 0)
                ;
        } else if (ssl != NULL) {
            SSL_write(ssl, s->answer, (int)strlen(s->answer));
            SSL_shutdown(ssl);
        } else if (write(c, s->answer, strlen(s->answer)) < 0) {
            /* the client went away */
        }
        SSL_free(ssl);
        close(c);
    }
}

/* Start s (zeroed, or with tls set) answering answer. */
static void server_start_tls(struct server *s, const char *answer)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    SSL_CTX *tls = s->tls;

    memset(s, 0, sizeof *s);
    s->tls = tls;
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->fd, 0);
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->fd, 8), 0);
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_start(struct server *s, const char *answer)
{
    s->tls = NULL;
    server_start_tls(s, answer);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

struct done {
    int called;
    struct rwhttp_result res;
};

static void on_done(void *arg, const struct rwhttp_result *res)
{
    struct done *d = arg;

    d->called++;
    d->res = *res;
}

static int ticks;

static void on_tick(uv_timer_t *t)
{
    (void)t;
    ticks++;
}

static uv_loop_t loop;
static struct rwhttp *h;
static char dir[64];

static void setup(void)
{
    /* The server's write to a client that hung up fails with EPIPE, as in the daemon. */
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(rwhttp_new(&h, &loop), 0);
    snprintf(dir, sizeof dir, "/tmp/ustatsd-rwhttp-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static int closed;

static void on_closed(void *arg)
{
    (void)arg;
    closed = 1;
}

static void teardown(void)
{
    char cmd[96];

    closed = 0;
    rwhttp_close(h, on_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(closed, 1);
    cr_assert_eq(uv_loop_close(&loop), 0, "every handle closed");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static char *file_with(const char *name, const char *text)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Run the loop until d's callback came. */
static void run_until(struct done *d)
{
    while (!d->called)
        uv_run(&loop, UV_RUN_ONCE);
}

static struct rwhttp_req req_for(const struct server *s, char *url, size_t cap)
{
    snprintf(url, cap, "http://127.0.0.1:%d/api/v1/write", s->port);
    return (struct rwhttp_req){ .url = url, .timeout_s = 5 };
}

Test(rwhttp, a_post_carries_the_protocols_headers_the_targets_and_its_token, .init = setup,
     .fini = teardown)
{
    static const char body[] = "\x0a\x03\x00\xffsnappy bytes";
    const char *extra[] = { "X-Scope-OrgID: edge" };
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;
    char url[128];

    server_start(&s, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    req = req_for(&s, url, sizeof url);
    req.headers = extra;
    req.nheaders = 1;
    req.bearer_token_file = file_with("token", "  s3cret-token\n");
    cr_assert_not_null(rwhttp_post(h, &req, body, sizeof body - 1, on_done, &d));
    cr_assert_eq(d.called, 0, "never from inside the call");
    cr_assert_eq(rwhttp_in_flight(h), 1);
    run_until(&d);
    cr_assert_eq(d.res.status, 204);
    cr_assert_eq(d.res.retry_after_s, -1);
    cr_assert_str_eq(d.res.error, "");
    cr_assert_eq(rwhttp_in_flight(h), 0);
    cr_assert(strncmp(s.request, "POST /api/v1/write HTTP/1.1\r\n", 29) == 0, "%s", s.request);
    cr_assert_not_null(strstr(s.request, "Content-Encoding: snappy\r\n"));
    cr_assert_not_null(strstr(s.request, "Content-Type: application/x-protobuf\r\n"));
    cr_assert_not_null(strstr(s.request, "X-Prometheus-Remote-Write-Version: 0.1.0\r\n"));
    cr_assert_not_null(strstr(s.request, "User-Agent: ustatsd/"));
    cr_assert_not_null(strstr(s.request, "X-Scope-OrgID: edge\r\n"));
    cr_assert_not_null(strstr(s.request, "Authorization: Bearer s3cret-token\r\n"), "%s",
                       s.request);
    cr_assert_null(strstr(s.request, "Expect:"));
    cr_assert_eq(memcmp(s.request + s.request_len - (sizeof body - 1), body, sizeof body - 1), 0,
                 "the body, byte for byte");
    /* The token file is read at each request: a rotated token goes with the next. */
    file_with("token", "rotated\n");
    d.called = 0;
    cr_assert_not_null(rwhttp_post(h, &req, body, sizeof body - 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 204, "%s", d.res.error);
    cr_assert_not_null(strstr(s.request, "Authorization: Bearer rotated\r\n"));
    server_stop(&s);
}

Test(rwhttp, basic_auth_from_a_password_file, .init = setup, .fini = teardown)
{
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;
    char url[128];

    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    req = req_for(&s, url, sizeof url);
    req.username = "prometheus";
    req.password_file = file_with("pw", "prom-basic-pw\n");
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 200);
    /* base64("prometheus:prom-basic-pw") */
    cr_assert_not_null(
        strstr(s.request, "Authorization: Basic cHJvbWV0aGV1czpwcm9tLWJhc2ljLXB3\r\n"), "%s",
        s.request);
    server_stop(&s);
}

Test(rwhttp, retry_after_in_seconds_or_as_a_date_and_the_receivers_reason, .init = setup,
     .fini = teardown)
{
    char date[64], answer[256], url[128];
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;
    time_t later = time(NULL) + 30;
    struct tm tm;

    server_start(&s, "HTTP/1.1 500 Internal Server Error\r\nRetry-After: 7\r\n"
                     "Content-Length: 0\r\n\r\n");
    req = req_for(&s, url, sizeof url);
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 500);
    cr_assert_str_eq(d.res.error, "");
    cr_assert_str_eq(d.res.body, "");
    cr_assert_eq(d.res.retry_after_s, 7);
    server_stop(&s);

    gmtime_r(&later, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(answer, sizeof answer,
             "HTTP/1.1 429 Too Many Requests\r\nRetry-After: %s\r\nContent-Length: 0\r\n\r\n",
             date);
    server_start(&s, answer);
    req = req_for(&s, url, sizeof url);
    d.called = 0;
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 429);
    cr_assert(d.res.retry_after_s >= 25 && d.res.retry_after_s <= 31, "%ld", d.res.retry_after_s);
    server_stop(&s);

    server_start(&s, "HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\n\r\n"
                     "out of order sample\n12345");
    req = req_for(&s, url, sizeof url);
    d.called = 0;
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 400);
    cr_assert_str_eq(d.res.body, "out of order sample\n12345");
    server_stop(&s);
}

Test(rwhttp, a_silent_receiver_times_out_while_the_loop_turns, .init = setup, .fini = teardown)
{
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;
    uv_timer_t tick;
    char url[128];

    server_start(&s, NULL);
    req = req_for(&s, url, sizeof url);
    req.timeout_s = 0.5;
    uv_timer_init(&loop, &tick);
    ticks = 0;
    uv_timer_start(&tick, on_tick, 10, 10);
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    uv_close((uv_handle_t *)&tick, NULL);
    cr_assert_eq(d.res.status, 0);
    cr_assert_neq(d.res.error[0], '\0');
    cr_assert_geq(d.res.duration_s, 0.4);
    cr_assert_geq(ticks, 10, "the loop kept turning while the request waited: %d ticks", ticks);
    server_stop(&s);
}

Test(rwhttp, no_answer_at_all_and_an_unreadable_token_file_come_back_as_errors, .init = setup,
     .fini = teardown)
{
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;
    char url[128];

    server_start(&s, "HTTP/1.1 204 No Content\r\n\r\n");
    server_stop(&s); /* the port is closed now: refused */
    req = req_for(&s, url, sizeof url);
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 0);
    cr_assert_neq(d.res.error[0], '\0');

    d.called = 0;
    req.bearer_token_file = "/nonexistent/token";
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    cr_assert_eq(d.called, 0, "told on the loop, not from inside the call");
    run_until(&d);
    cr_assert_eq(d.res.status, 0);
    cr_assert_not_null(strstr(d.res.error, "bearer_token_file /nonexistent/token"), "%s",
                       d.res.error);
}

Test(rwhttp, cancel_and_close_with_transfers_in_flight_call_nothing_back, .init = setup,
     .fini = teardown)
{
    struct server s;
    struct done a = { 0 }, b = { 0 };
    struct rwhttp_req req;
    struct rwhttp_xfer *x;
    uv_timer_t tick;
    char url[128];

    server_start(&s, NULL);
    req = req_for(&s, url, sizeof url);
    x = rwhttp_post(h, &req, "x", 1, on_done, &a);
    cr_assert_not_null(rwhttp_post(h, &req, "y", 1, on_done, &b));
    cr_assert_eq(rwhttp_in_flight(h), 2);
    /* The loop turns (a timer keeps it from blocking) until the server has a request. */
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    while (__atomic_load_n(&s.requests, __ATOMIC_SEQ_CST) == 0)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    rwhttp_cancel(x);
    cr_assert_eq(rwhttp_in_flight(h), 1);
    /* teardown closes h with b in flight: neither is ever called back. */
    teardown();
    cr_assert_eq(a.called, 0);
    cr_assert_eq(b.called, 0);
    server_stop(&s);
    setup();
}

Test(rwhttp, a_long_reason_is_cut_to_its_first_255_bytes, .init = setup, .fini = teardown)
{
    char answer[1024], reason[601], url[128];
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;

    for (size_t i = 0; i < 600; i++)
        reason[i] = (char)('a' + i % 26);
    reason[600] = '\0';
    snprintf(answer, sizeof answer,
             "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 600\r\n\r\n%s", reason);
    server_start(&s, answer);
    req = req_for(&s, url, sizeof url);
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 413);
    cr_assert_eq(strlen(d.res.body), 255);
    cr_assert_eq(strncmp(d.res.body, reason, 255), 0);
    server_stop(&s);
}

Test(rwhttp, two_at_once_a_silent_receiver_holds_up_nothing_else, .init = setup, .fini = teardown)
{
    struct server quiet, quick;
    struct done a = { 0 }, b = { 0 };
    struct rwhttp_req ra, rb;
    char ua[128], ub[128];

    server_start(&quiet, NULL);
    server_start(&quick, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    ra = req_for(&quiet, ua, sizeof ua);
    ra.timeout_s = 1;
    rb = req_for(&quick, ub, sizeof ub);
    cr_assert_not_null(rwhttp_post(h, &ra, "quiet", 5, on_done, &a));
    cr_assert_not_null(rwhttp_post(h, &rb, "quick", 5, on_done, &b));
    cr_assert_eq(rwhttp_in_flight(h), 2);
    run_until(&b);
    cr_assert_eq(b.res.status, 204);
    cr_assert_eq(memcmp(quick.request + quick.request_len - 5, "quick", 5), 0);
    cr_assert_eq(a.called, 0, "the silent one is still waiting");
    cr_assert_eq(rwhttp_in_flight(h), 1);
    run_until(&a);
    cr_assert_eq(a.res.status, 0);
    cr_assert_neq(a.res.error[0], '\0');
    cr_assert_eq(b.called, 1);
    cr_assert_eq(rwhttp_in_flight(h), 0);
    server_stop(&quiet);
    server_stop(&quick);
}

struct canceller {
    int called;
    struct rwhttp_xfer *other;
    struct canceller *other_c;
};

/* Cancels the other transfer, which has failed too and waits to be told. */
static void on_done_cancel(void *arg, const struct rwhttp_result *res)
{
    struct canceller *c = arg;

    (void)res;
    c->called++;
    if (c->other_c->called == 0)
        rwhttp_cancel(c->other);
}

Test(rwhttp, a_callback_may_cancel_a_transfer_that_failed_alongside, .init = setup,
     .fini = teardown)
{
    struct canceller a = { 0 }, b = { 0 };
    struct rwhttp_req req = { .url = "http://127.0.0.1:9/",
                              .timeout_s = 1,
                              .bearer_token_file = "/nonexistent/token" };

    a.other_c = &b;
    b.other_c = &a;
    a.other = rwhttp_post(h, &req, "x", 1, on_done_cancel, &b);
    b.other = rwhttp_post(h, &req, "x", 1, on_done_cancel, &a);
    cr_assert_not_null(a.other);
    cr_assert_not_null(b.other);
    while (a.called + b.called == 0)
        uv_run(&loop, UV_RUN_ONCE);
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert_eq(a.called + b.called, 1, "the cancelled one is never called back");
    cr_assert_eq(rwhttp_in_flight(h), 0);
}

Test(rwhttp, a_token_of_two_lines_fails_rather_than_break_the_header, .init = setup,
     .fini = teardown)
{
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;
    char url[128], path[160];

    server_start(&s, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    req = req_for(&s, url, sizeof url);
    snprintf(path, sizeof path, "%s", file_with("token", "tok\r\nX-Injected: 1\n"));
    req.bearer_token_file = path;
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 0);
    cr_assert_not_null(strstr(d.res.error, path), "%s", d.res.error);
    cr_assert_eq(__atomic_load_n(&s.requests, __ATOMIC_SEQ_CST), 0, "nothing was sent");
    server_stop(&s);
}

/* A TLS server context: stranger.crt (DNS:stranger.example only), asking for a client
 * certificate signed by ca.crt without requiring one. */
static SSL_CTX *tls_server_ctx(const char *certs)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char path[256];

    cr_assert_not_null(ctx);
    snprintf(path, sizeof path, "%s/stranger.crt", certs);
    cr_assert_eq(SSL_CTX_use_certificate_chain_file(ctx, path), 1);
    snprintf(path, sizeof path, "%s/stranger.key", certs);
    cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM), 1);
    snprintf(path, sizeof path, "%s/ca.crt", certs);
    cr_assert_eq(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

Test(rwhttp, tls_with_a_ca_file_a_client_certificate_server_name_and_insecure, .init = setup,
     .fini = teardown)
{
    char certs[64], ca[256], cert[256], key[256], url[128], host[64];
    struct server s;
    struct done d = { 0 };
    struct rwhttp_req req;

    cr_assert_eq(tlscerts_make(certs), 0);
    snprintf(ca, sizeof ca, "%s/ca.crt", certs);
    snprintf(cert, sizeof cert, "%s/client.crt", certs);
    snprintf(key, sizeof key, "%s/client.key", certs);
    s.tls = tls_server_ctx(certs);
    server_start_tls(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api/v1/write", s.port);
    snprintf(host, sizeof host, "Host: 127.0.0.1:%d\r\n", s.port);

    /* The certificate names stranger.example, not the URL's 127.0.0.1: refused. */
    req = (struct rwhttp_req){ .url = url, .timeout_s = 5, .ca_file = ca };
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 0);
    cr_assert_neq(d.res.error[0], '\0');
    cr_assert_eq(__atomic_load_n(&s.requests, __ATOMIC_SEQ_CST), 0);

    /* server_name: SNI and the name checked; the Host header and the address stay the
     * URL's. The client certificate goes along. */
    req.server_name = "stranger.example";
    req.cert_file = cert;
    req.key_file = key;
    d.called = 0;
    cr_assert_not_null(rwhttp_post(h, &req, "tls body", 8, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 200, "%s", d.res.error);
    cr_assert_str_eq(s.sni, "stranger.example");
    cr_assert_str_eq(s.peer_cn, "scraper");
    cr_assert_not_null(strstr(s.request, host), "%s", s.request);
    cr_assert(strncmp(s.request, "POST /api/v1/write HTTP/1.1\r\n", 29) == 0, "%s", s.request);
    cr_assert_eq(memcmp(s.request + s.request_len - 8, "tls body", 8), 0);

    /* A CA that did not sign it: refused; insecure_skip_verify: taken all the same. */
    snprintf(ca, sizeof ca, "%s/other_ca.crt", certs);
    d.called = 0;
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 0);
    req =
        (struct rwhttp_req){ .url = url, .timeout_s = 5, .ca_file = ca, .insecure_skip_verify = 1 };
    d.called = 0;
    cr_assert_not_null(rwhttp_post(h, &req, "x", 1, on_done, &d));
    run_until(&d);
    cr_assert_eq(d.res.status, 200, "%s", d.res.error);
    cr_assert_str_eq(s.sni, "", "no SNI for an address");
    cr_assert_str_eq(s.peer_cn, "");
    cr_assert_eq(__atomic_load_n(&s.requests, __ATOMIC_SEQ_CST), 2);
    server_stop(&s);
    SSL_CTX_free(s.tls);
    tlscerts_remove(certs);
}
