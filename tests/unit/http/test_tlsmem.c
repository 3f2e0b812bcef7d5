/*
 * The TLS engine, without sockets: an OpenSSL client on memory BIOs talks to a
 * tlsmem_conn, bytes pumped between the two until neither has anything to say. The
 * certificates are made once per run (tests/lib/tlscerts.sh).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "base/errcode.h"
#include "http/tlsmem.h"
#include "tlsclient.h"

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    tlscerts_share();
}

static const char *dir(void)
{
    const char *d = tlscerts_dir();

    cr_assert_not_null(d, "no test certificates");
    return d;
}

/* A tls_server_config as webcfg_load() would leave it: PEM text, origins, defaults. */
static void cfg_init(struct webcfg_tls *c, const char *cert, const char *key)
{
    memset(c, 0, sizeof(*c));
    c->enabled = 1;
    c->cert_pem = tlscerts_read(dir(), cert);
    c->key_pem = tlscerts_read(dir(), key);
    cr_assert(c->cert_pem && c->key_pem);
    c->cert_origin = (char *)cert;
    c->key_origin = (char *)key;
    c->min_version = TLS1_2_VERSION;
    c->max_version = TLS1_3_VERSION;
    c->prefer_server_cipher_suites = 1;
}

static void cfg_ca(struct webcfg_tls *c, enum webcfg_client_auth auth, const char *ca)
{
    c->client_auth = auth;
    if (ca != NULL) {
        c->client_ca_pem = tlscerts_read(dir(), ca);
        c->client_ca_origin = (char *)ca;
    }
}

static void cfg_release(struct webcfg_tls *c)
{
    free(c->cert_pem);
    free(c->key_pem);
    free(c->client_ca_pem);
}

static struct tlsmem_ctx *ctx_ok(const struct webcfg_tls *c)
{
    struct tlsmem_ctx *ctx = NULL;
    char err[512] = "";

    cr_assert_eq(tlsmem_ctx_new(&ctx, c, "web.yml", err, sizeof(err)), 0, "%s", err);
    return ctx;
}

static void ctx_err(const struct webcfg_tls *c, const char *want)
{
    struct tlsmem_ctx *ctx = NULL;
    char err[512] = "";

    cr_assert_eq(tlsmem_ctx_new(&ctx, c, "web.yml", err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_null(ctx);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "got \"%s\", want \"%s...\"", err, want);
}

/* The client's side. */
struct peer {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
};

struct copts {
    const char *cert, *key;
    int verify; /* verify the server against ca.crt */
    int max_version;
    const char *ciphers, *groups;
};

static void peer_init(struct peer *p, const struct copts *o)
{
    p->ctx = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(p->ctx);
    if (o->cert) {
        cr_assert_eq(
            SSL_CTX_use_certificate_file(p->ctx, tlscerts_path(dir(), o->cert), SSL_FILETYPE_PEM),
            1);
        cr_assert_eq(
            SSL_CTX_use_PrivateKey_file(p->ctx, tlscerts_path(dir(), o->key), SSL_FILETYPE_PEM), 1);
    }
    if (o->verify) {
        cr_assert_eq(SSL_CTX_load_verify_locations(p->ctx, tlscerts_path(dir(), "ca.crt"), NULL),
                     1);
        SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (o->max_version)
        SSL_CTX_set_max_proto_version(p->ctx, o->max_version);
    if (o->ciphers)
        cr_assert_eq(SSL_CTX_set_cipher_list(p->ctx, o->ciphers), 1);
    if (o->groups)
        cr_assert_eq(SSL_CTX_set1_groups_list(p->ctx, o->groups), 1);
    p->ssl = SSL_new(p->ctx);
    p->in = BIO_new(BIO_s_mem());
    p->out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(p->in, -1);
    SSL_set_bio(p->ssl, p->in, p->out);
    SSL_set_connect_state(p->ssl);
    SSL_set_tlsext_host_name(p->ssl, "localhost");
}

static void peer_release(struct peer *p)
{
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
    ERR_clear_error();
}

/*
 * Move bytes both ways until neither side has more; the server's plaintext goes to plain.
 * Returns the server's last status.
 */
static enum tlsmem_status pump(struct peer *p, struct tlsmem_conn *t, struct buf *plain)
{
    enum tlsmem_status st = TLSMEM_OK;
    char chunk[65536];

    for (int round = 0; round < 50; round++) {
        struct buf out = BUF_INIT;
        int n, moved = 0;

        SSL_do_handshake(p->ssl); /* the client's next flight, if any */
        while ((n = BIO_read(p->out, chunk, sizeof(chunk))) > 0) {
            st = tlsmem_conn_feed(t, chunk, (size_t)n, plain);
            moved = 1;
        }
        if (tlsmem_conn_take(t, &out) > 0) {
            BIO_write(p->in, out.ptr, (int)out.len);
            moved = 1;
        }
        buf_release(&out);
        if (!moved)
            break;
    }
    return st;
}

/* Whether the client sees the handshake through and the server lets a request pass. */
static enum tlsmem_fail exchange(const struct webcfg_tls *c, const struct copts *o, int *client_ok)
{
    struct tlsmem_ctx *ctx = ctx_ok(c);
    struct tlsmem_conn *t = tlsmem_conn_new(ctx);
    struct peer p;
    struct buf plain = BUF_INIT;
    enum tlsmem_fail why;

    tlsmem_ctx_unref(ctx); /* the connection holds its own reference */
    peer_init(&p, o);
    pump(&p, t, &plain);
    *client_ok = SSL_is_init_finished(p.ssl);
    if (*client_ok) {
        SSL_write(p.ssl, "GET / HTTP/1.1\r\n\r\n", 18);
        pump(&p, t, &plain);
    }
    why = tlsmem_conn_failure(t);
    if (why == TLSMEM_FAIL_NONE) {
        cr_assert(tlsmem_conn_established(t));
        cr_assert_eq(plain.len, 18);
        cr_assert(memcmp(plain.ptr, "GET / HTTP/1.1\r\n\r\n", 18) == 0);
    } else {
        cr_assert_not(tlsmem_conn_established(t));
    }
    buf_release(&plain);
    tlsmem_conn_free(t);
    peer_release(&p);
    return why;
}

Test(tlsmem, request_and_response_round_trip_then_close_notify)
{
    struct webcfg_tls c;
    struct tlsmem_ctx *ctx;
    struct tlsmem_conn *t;
    struct peer p;
    struct buf plain = BUF_INIT;
    struct copts o = { .verify = 1 };
    char got[256];
    int n;

    cfg_init(&c, "server.crt", "server.key");
    ctx = ctx_ok(&c);
    t = tlsmem_conn_new(ctx);
    peer_init(&p, &o);
    cr_assert_eq(pump(&p, t, &plain), TLSMEM_OK);
    cr_assert(SSL_is_init_finished(p.ssl));
    cr_assert_eq(SSL_version(p.ssl), TLS1_3_VERSION);
    cr_assert_eq(SSL_get_verify_result(p.ssl), X509_V_OK);
    cr_assert(tlsmem_conn_established(t));
    SSL_write(p.ssl, "ping", 4);
    pump(&p, t, &plain);
    cr_assert_eq(plain.len, 4);
    cr_assert_eq(tlsmem_conn_seal(t, "pong", 4), 0);
    tlsmem_conn_close_notify(t);
    cr_assert_eq(tlsmem_conn_seal(t, "late", 4), -EPIPE, "nothing after close_notify");
    pump(&p, t, &plain);
    n = SSL_read(p.ssl, got, sizeof(got));
    cr_assert_eq(n, 4);
    cr_assert(memcmp(got, "pong", 4) == 0);
    cr_assert_eq(SSL_read(p.ssl, got, sizeof(got)), 0);
    cr_assert_eq(SSL_get_error(p.ssl, 0), SSL_ERROR_ZERO_RETURN, "close_notify seen");
    /* The client's close_notify in turn. */
    SSL_shutdown(p.ssl);
    cr_assert_eq(pump(&p, t, &plain), TLSMEM_CLOSED);
    buf_release(&plain);
    tlsmem_conn_free(t);
    tlsmem_ctx_unref(ctx);
    peer_release(&p);
    cfg_release(&c);
}

Test(tlsmem, fingerprint_is_the_certificates_sha256)
{
    struct webcfg_tls c;
    struct tlsmem_ctx *ctx;
    char got[65], want[65];

    cfg_init(&c, "server.crt", "server.key");
    ctx = ctx_ok(&c);
    tlsmem_ctx_fingerprint(ctx, got);
    tlscerts_fingerprint(dir(), "server.crt", want);
    cr_assert_str_eq(got, want);
    cr_assert_eq(strlen(got), 64);
    tlsmem_ctx_unref(ctx);
    cfg_release(&c);
}

/* client_auth_type x the client's certificate: who gets through, and why not. */
struct auth_case {
    enum webcfg_client_auth auth;
    int ca; /* client_ca_file: ca.crt */
    char cert[32], key[32];
    enum tlsmem_fail want;
};

ParameterizedTestParameters(tlsmem, client_auth_types_as_go_maps_them)
{
    static struct auth_case cases[] = {
        { WEBCFG_NO_CLIENT_CERT, 0, "", "", TLSMEM_FAIL_NONE },
        { WEBCFG_NO_CLIENT_CERT, 0, "other_client.crt", "other_client.key", TLSMEM_FAIL_NONE },
        { WEBCFG_REQUEST_CLIENT_CERT, 0, "", "", TLSMEM_FAIL_NONE },
        { WEBCFG_REQUEST_CLIENT_CERT, 0, "other_client.crt", "other_client.key", TLSMEM_FAIL_NONE },
        { WEBCFG_REQUIRE_ANY_CLIENT_CERT, 0, "", "", TLSMEM_FAIL_NO_CLIENT_CERT },
        { WEBCFG_REQUIRE_ANY_CLIENT_CERT, 0, "other_client.crt", "other_client.key",
          TLSMEM_FAIL_NONE },
        { WEBCFG_REQUIRE_ANY_CLIENT_CERT, 1, "client_expired.crt", "client.key", TLSMEM_FAIL_NONE },
        { WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN, 1, "", "", TLSMEM_FAIL_NONE },
        { WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN, 1, "client.crt", "client.key", TLSMEM_FAIL_NONE },
        { WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN, 1, "other_client.crt", "other_client.key",
          TLSMEM_FAIL_BAD_CLIENT_CERT },
        { WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT, 1, "", "", TLSMEM_FAIL_NO_CLIENT_CERT },
        { WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT, 1, "client.crt", "client.key", TLSMEM_FAIL_NONE },
        { WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT, 1, "other_client.crt", "other_client.key",
          TLSMEM_FAIL_BAD_CLIENT_CERT },
        { WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT, 1, "client_expired.crt", "client.key",
          TLSMEM_FAIL_BAD_CLIENT_CERT },
        { WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT, 1, "server.crt", "server.key", TLSMEM_FAIL_NONE },
    };

    return cr_make_param_array(struct auth_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct auth_case *k, tlsmem, client_auth_types_as_go_maps_them)
{
    struct webcfg_tls c;
    struct copts o = { .cert = k->cert[0] ? k->cert : NULL, .key = k->key };
    int client_ok;

    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        enum tlsmem_fail got;

        cfg_init(&c, "server.crt", "server.key");
        cfg_ca(&c, k->auth, k->ca ? "ca.crt" : NULL);
        o.max_version = v;
        got = exchange(&c, &o, &client_ok);
        cr_assert_eq(got, k->want, "auth %d cert %s version %x: got %s, want %s", k->auth, k->cert,
                     v, tlsmem_fail_name(got), tlsmem_fail_name(k->want));
        cfg_release(&c);
    }
}

Test(tlsmem, client_allowed_sans_match_dns_email_uri_exactly)
{
    static const char *const ok[] = { "scraper.example", "scraper@example.com",
                                      "spiffe://example/scraper" };
    static const char *const no[] = { "Scraper.example", "scraper", "example", "stranger.example" };
    struct webcfg_tls c;
    struct copts o = { .cert = "client.crt", .key = "client.key" };
    int client_ok;

    for (size_t i = 0; i < 3; i++) {
        char *sans[] = { (char *)"nobody.example", (char *)ok[i] };

        cfg_init(&c, "server.crt", "server.key");
        cfg_ca(&c, WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT, "ca.crt");
        c.client_allowed_sans = sans;
        c.nclient_allowed_sans = 2;
        cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_NONE, "%s", ok[i]);
        cfg_release(&c);
    }
    for (size_t i = 0; i < 4; i++) {
        char *sans[] = { (char *)no[i] };

        cfg_init(&c, "server.crt", "server.key");
        cfg_ca(&c, WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT, "ca.crt");
        c.client_allowed_sans = sans;
        c.nclient_allowed_sans = 1;
        cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_CLIENT_SAN, "%s", no[i]);
        cfg_release(&c);
    }
}

Test(tlsmem, client_allowed_sans_refuse_a_client_without_a_certificate)
{
    struct webcfg_tls c;
    struct copts o = { 0 };
    char *sans[] = { (char *)"scraper.example" };
    int client_ok;

    cfg_init(&c, "server.crt", "server.key");
    cfg_ca(&c, WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN, "ca.crt");
    c.client_allowed_sans = sans;
    c.nclient_allowed_sans = 1;
    cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_CLIENT_SAN);
    cfg_release(&c);
}

Test(tlsmem, cipher_suites_by_iana_name_govern_tls12)
{
    struct webcfg_tls c;
    char *suites[] = { (char *)"TLS_AES_128_GCM_SHA256",
                       (char *)"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" };
    struct copts o = { .max_version = TLS1_2_VERSION };
    struct tlsmem_ctx *ctx;
    struct tlsmem_conn *t;
    struct peer p;
    struct buf plain = BUF_INIT;
    int client_ok;

    cfg_init(&c, "server.crt", "server.key");
    c.cipher_suites = suites;
    c.ncipher_suites = 2;
    ctx = ctx_ok(&c);
    t = tlsmem_conn_new(ctx);
    peer_init(&p, &o);
    pump(&p, t, &plain);
    cr_assert(SSL_is_init_finished(p.ssl));
    cr_assert_str_eq(SSL_CIPHER_standard_name(SSL_get_current_cipher(p.ssl)),
                     "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    tlsmem_conn_free(t);
    tlsmem_ctx_unref(ctx);
    peer_release(&p);
    /* A client offering only another suite gets none. */
    o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_CIPHER);
    cr_assert_not(client_ok);
    /* TLS 1.3 is not governed by the list. */
    o.max_version = TLS1_3_VERSION;
    cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_NONE);
    buf_release(&plain);
    cfg_release(&c);
}

Test(tlsmem, min_version_and_curve_preferences_are_enforced)
{
    struct webcfg_tls c;
    char *curves[] = { (char *)"CurveP384" };
    struct copts o = { .max_version = TLS1_2_VERSION };
    int client_ok;

    cfg_init(&c, "server.crt", "server.key");
    c.min_version = TLS1_3_VERSION;
    cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_VERSION);
    c.min_version = TLS1_2_VERSION;
    c.curve_preferences = curves;
    c.ncurve_preferences = 1;
    o = (struct copts){ .groups = "X25519:P-256" };
    cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_CIPHER);
    o = (struct copts){ .groups = "X25519:P-384" };
    cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_NONE);
    cfg_release(&c);
}

Test(tlsmem, plain_http_and_garbage_fail_the_handshake_by_reason)
{
    struct webcfg_tls c;
    struct tlsmem_ctx *ctx;
    struct tlsmem_conn *t;
    struct buf plain = BUF_INIT, out = BUF_INIT;
    static const char junk[] = "\x16\x03\x01\x00\x05hello, not a ClientHello at all";

    cfg_init(&c, "server.crt", "server.key");
    ctx = ctx_ok(&c);
    t = tlsmem_conn_new(ctx);
    cr_assert_eq(tlsmem_conn_feed(t, "GET / HTTP/1.1\r\n\r\n", 18, &plain), TLSMEM_FAILED);
    cr_assert_eq(tlsmem_conn_failure(t), TLSMEM_FAIL_PLAIN_HTTP);
    cr_assert_eq(tlsmem_conn_feed(t, "x", 1, &plain), TLSMEM_FAILED, "stays failed");
    cr_assert_eq(plain.len, 0);
    tlsmem_conn_free(t);
    t = tlsmem_conn_new(ctx);
    cr_assert_eq(tlsmem_conn_feed(t, junk, sizeof(junk) - 1, &plain), TLSMEM_FAILED);
    cr_assert_eq(tlsmem_conn_failure(t), TLSMEM_FAIL_PROTOCOL);
    cr_assert_gt(tlsmem_conn_take(t, &out), 0, "an alert goes out");
    tlsmem_conn_free(t);
    /* Byte by byte, a handshake waits for more. */
    t = tlsmem_conn_new(ctx);
    cr_assert_eq(tlsmem_conn_feed(t, "\x16", 1, &plain), TLSMEM_OK);
    cr_assert_eq(tlsmem_conn_failure(t), TLSMEM_FAIL_NONE);
    cr_assert_eq(tlsmem_conn_seal(t, "x", 1), -EPIPE, "no data before the handshake");
    tlsmem_conn_free(t);
    tlsmem_ctx_unref(ctx);
    buf_release(&plain);
    buf_release(&out);
    cfg_release(&c);
}

Test(tlsmem, an_expired_server_certificate_is_refused_by_the_client)
{
    struct webcfg_tls c;
    struct copts o = { .verify = 1 };
    int client_ok;

    cfg_init(&c, "server_expired.crt", "server.key");
    cr_assert_eq(exchange(&c, &o, &client_ok), TLSMEM_FAIL_CLIENT_ALERT);
    cr_assert_not(client_ok);
    cfg_release(&c);
}

Test(tlsmem, config_errors_name_the_file_the_key_and_the_problem)
{
    struct webcfg_tls c;
    char *bad_suite[] = { (char *)"TLS_FOO_WITH_BAR" };
    char *bad_curve[] = { (char *)"CurveP999" };
    char *junk = strdup("not a PEM");

    cfg_init(&c, "server.crt", "server2.key");
    ctx_err(&c, "web.yml: tls_server_config.key_file: server2.key: does not match the certificate");
    c.key_origin = (char *)"tls_server_config.key";
    ctx_err(&c, "web.yml: tls_server_config.key: does not match the certificate");
    cfg_release(&c);

    cfg_init(&c, "server.key", "server.key");
    ctx_err(&c, "web.yml: tls_server_config.cert_file: server.key: no PEM certificate in it");
    cfg_release(&c);

    cfg_init(&c, "server.crt", "server.crt");
    ctx_err(&c, "web.yml: tls_server_config.key_file: server.crt: no unencrypted PEM private key");
    cfg_release(&c);

    cfg_init(&c, "server.crt", "server.key");
    c.client_auth = WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT;
    c.client_ca_pem = junk;
    c.client_ca_origin = (char *)"ca.pem";
    ctx_err(&c, "web.yml: tls_server_config.client_ca_file: ca.pem: no PEM certificate in it");
    c.client_ca_pem = NULL;
    c.client_auth = WEBCFG_NO_CLIENT_CERT;
    c.cipher_suites = bad_suite;
    c.ncipher_suites = 1;
    ctx_err(&c, "web.yml: tls_server_config.cipher_suites: TLS_FOO_WITH_BAR: not available");
    c.ncipher_suites = 0;
    c.curve_preferences = bad_curve;
    c.ncurve_preferences = 1;
    ctx_err(&c, "web.yml: tls_server_config.curve_preferences: CurveP999: not one of");
    c.ncurve_preferences = 0;
    c.min_version = TLS1_3_VERSION;
    c.max_version = TLS1_2_VERSION;
    ctx_err(&c, "web.yml: tls_server_config.min_version: higher than max_version");
    cfg_release(&c);
    free(junk);
}

Test(tlsmem, fail_names_cover_every_reason)
{
    for (int i = 0; i < TLSMEM_FAIL_COUNT; i++)
        cr_assert_str_neq(tlsmem_fail_name((enum tlsmem_fail)i), "unknown");
    cr_assert_str_eq(tlsmem_fail_name(TLSMEM_FAIL_COUNT), "unknown");
    cr_assert_str_eq(tlsmem_fail_name(TLSMEM_FAIL_NO_CLIENT_CERT), "no_client_cert");
}

/* notAfter of pem's first certificate, read another way: ASN1_TIME_to_tm() and timegm(). */
static int64_t not_after_of(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    struct tm tm;

    cr_assert_not_null(x);
    cr_assert_eq(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
    X509_free(x);
    BIO_free(b);
    return (int64_t)timegm(&tm);
}

Test(tlsmem, the_context_knows_its_certificate_expiry_and_file)
{
    struct webcfg_tls c;
    struct tlsmem_ctx *ctx;

    cfg_init(&c, "server_expired.crt", "server.key");
    ctx = ctx_ok(&c);
    cr_assert_eq(tlsmem_ctx_not_after(ctx), 1577923200); /* 2020-01-02T00:00:00Z */
    cr_assert_str_eq(tlsmem_ctx_cert_origin(ctx), "server_expired.crt");
    tlsmem_ctx_unref(ctx);
    cfg_release(&c);

    cfg_init(&c, "server.crt", "server.key");
    c.cert_origin = NULL; /* inline */
    ctx = ctx_ok(&c);
    cr_assert_eq(tlsmem_ctx_not_after(ctx), not_after_of(c.cert_pem));
    cr_assert_gt(tlsmem_ctx_not_after(ctx), 1577923200);
    cr_assert_str_eq(tlsmem_ctx_cert_origin(ctx), "tls_server_config.cert");
    tlsmem_ctx_unref(ctx);
    cfg_release(&c);
}

Test(tlsmem, a_certificate_is_worth_a_warning_within_14_days_of_its_end)
{
    const int64_t end = 1577923200, day = 86400;

    cr_assert_eq(tlsmem_expiry_check(end, end - 15 * day), TLSMEM_VALID);
    cr_assert_eq(tlsmem_expiry_check(end, end - 14 * day - 1), TLSMEM_VALID);
    cr_assert_eq(tlsmem_expiry_check(end, end - 14 * day), TLSMEM_EXPIRES_SOON);
    cr_assert_eq(tlsmem_expiry_check(end, end - 1), TLSMEM_EXPIRES_SOON);
    cr_assert_eq(tlsmem_expiry_check(end, end), TLSMEM_EXPIRED);
    cr_assert_eq(tlsmem_expiry_check(end, end + 365 * day), TLSMEM_EXPIRED);
}
