/*
 * The HTTP server over TLS: requests and streams through the engine, keep-alive,
 * close_notify before FIN, and handshakes that fail (counted by reason, the failing
 * connection alone closed) or never finish (the read deadline). The server runs on its
 * own loop thread (tests/lib/httpdfix); this thread is an OpenSSL client
 * (tests/lib/tlsclient).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "httpdfix.h"
#include "tls.h"
#include "tlsclient.h"

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

/* Start the fixture serving TLS with server.crt, and client_auth as given. */
static void start_tls(const struct httpd_config *cfg, enum webcfg_client_auth auth)
{
    struct webcfg_tls c = { 0 };
    struct tls_ctx *ctx = NULL;
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
    cr_assert_eq(tls_ctx_new(&ctx, &c, "web.yml", err, sizeof(err)), 0, "%s", err);
    free(c.cert_pem);
    free(c.key_pem);
    free(c.client_ca_pem);
    httpdfix_setup(&F, cfg);
    httpd_server_set_tls(&F.srv, ctx);
    tls_ctx_unref(ctx); /* the server holds its own */
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
    for (int i = 0; i < TLS_FAIL_COUNT; i++)
        cr_assert_eq(F.srv.stats.tls_failures[i], 0, "%s", tls_fail_name((enum tls_fail)i));
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
    /* Plain HTTP on a TLS port: no answer in clear, the connection closed. */
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/hello", NULL), 0);
    cr_assert_neq(httpc_read(&h, 0, &hr), 0);
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
    cr_assert_eq(F.srv.stats.tls_failures[TLS_FAIL_NO_CLIENT_CERT], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLS_FAIL_BAD_CLIENT_CERT], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLS_FAIL_PLAIN_HTTP], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLS_FAIL_EARLY_EOF], 1);
    cr_assert_eq(F.srv.stats.tls_failures[TLS_FAIL_INCOMPLETE], 0);
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
    cr_assert_eq(F.srv.stats.tls_failures[TLS_FAIL_INCOMPLETE], 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_READ_TIMEOUT], 1);
    cr_assert_eq(F.srv.stats.tls_handshakes, 0);
}
