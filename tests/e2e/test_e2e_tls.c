/*
 * End to end through the real binary: TLS on the HTTP listeners with --web.config.file,
 * a test CA and certificates made at test time (tests/lib/tlscerts.sh, the openssl
 * tool). Client certificates under each client_auth_type, a wrong CA, expired
 * certificates on either side, rotation on SIGHUP (checked by fingerprint), a bad file
 * on SIGHUP and at start-up, and a real Prometheus scraping over TLS with a client
 * certificate and a bearer token (one job) or basic auth (another).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "promrun.h"
#include "selfcheck.h"
#include "tlsclient.h"
#include "waitfor.h"

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    tlscerts_share();
}

/* The config's families, without its closing brace. */
#define FAMILIES                                                                           \
    "{\"families\": [{\"name\": \"e2e_tls\", \"type\": \"counter\", \"help\": \"Sent.\"}," \
    "  {\"name\": \"e2e_prom\", \"type\": \"counter\", \"help\": \"Sent.\"}]"

static struct daemon d;
static char wdir[64];       /* this test's files: web.yml, the token */
static char web[128];       /* wdir/web.yml */
static char paths[32][256]; /* tlscerts_path() copies, reused in turn */

static const char *certs(void)
{
    const char *c = tlscerts_dir();

    cr_assert_not_null(c, "no test certificates");
    return c;
}

/* The path of a shared certificate file, in one of 32 buffers used in turn. */
static const char *cert(const char *name)
{
    static unsigned next;
    char *p = paths[next++ % 32];

    snprintf(p, sizeof(paths[0]), "%s", tlscerts_path(certs(), name));
    return p;
}

static void setup(void)
{
    snprintf(wdir, sizeof(wdir), "/tmp/ustatsd-e2e-tls-XXXXXX");
    cr_assert_not_null(mkdtemp(wdir));
    snprintf(web, sizeof(web), "%s/web.yml", wdir);
}

static void teardown(void)
{
    if (d.pid > 0)
        daemon_stop(&d);
    tlscerts_remove(wdir);
}

/* web.yml with the server certificate cert_name, and the rest of tls_server_config. */
static void write_web(const char *cert_name, const char *key_name, const char *more)
{
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n%s",
                      cert(cert_name), cert(key_name), more ? more : "");
}

static struct tlsclient_opts client(const char *crt, const char *key)
{
    struct tlsclient_opts o = { .ca_file = cert("ca.crt") };

    if (crt != NULL) {
        o.cert_file = cert(crt);
        o.key_file = cert(key);
    }
    return o;
}

struct ready {
    const char *addr;
    struct tlsclient_opts o;
};

static int is_ready(void *arg)
{
    struct ready *r = arg;
    char err[512];

    return tlsclient_get(r->addr, &r->o, "/-/ready", NULL, NULL, err) == 200;
}

/* Start the daemon with the web config and wait until it answers over TLS at addr. */
static void start(const char *addr, const struct tlsclient_opts *probe, const char *json,
                  const char *const *more)
{
    const char *args[16];
    size_t n = 0;
    struct daemon_options o = { .args = args, .no_wait = 1 };
    struct ready r = { .addr = addr ? addr : NULL, .o = *probe };

    args[n++] = "--web.config.file";
    args[n++] = web;
    for (; more != NULL && *more != NULL; more++)
        args[n++] = *more;
    args[n] = NULL;
    cr_assert_eq(daemon_start_with(&d, json ? json : FAMILIES "}", &o), 0);
    if (r.addr == NULL)
        r.addr = d.http;
    cr_assert_eq(waitfor_cond(is_ready, &r, 10000), 0, "no TLS /-/ready within 10 s");
}

/* GET path over TLS on d's listener: the status, or -1 (the reason in err). */
static int get(const struct tlsclient_opts *o, const char *path, struct buf *body, char *err)
{
    return tlsclient_get(d.http, o, path, NULL, body, err);
}

/* /metrics and /debug on one connection (no handshake between them), checked to agree. */
static void check_views(const struct tlsclient_opts *o, char **metrics)
{
    struct tlsclient t;
    struct tlsclient_response m, g;
    json_error_t jerr;
    json_t *j;

    cr_assert_eq(tlsclient_open(&t, d.http, o), 0, "%s", t.error);
    cr_assert_eq(tlsclient_request(&t, "/metrics", NULL), 0);
    cr_assert_eq(tlsclient_read(&t, &m), 0, "%s", t.error);
    cr_assert_eq(tlsclient_request(&t, "/debug", NULL), 0);
    cr_assert_eq(tlsclient_read(&t, &g), 0, "%s", t.error);
    cr_assert_eq(m.status, 200);
    cr_assert_eq(g.status, 200, "%s", g.body.ptr);
    j = json_loads(g.body.ptr, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    selfcheck_agree(m.body.ptr, j, NULL);
    json_decref(j);
    *metrics = strdup(m.body.ptr);
    tlsclient_response_release(&m);
    tlsclient_response_release(&g);
    tlsclient_close(&t);
}

static double failures(const char *metrics, const char *reason)
{
    char series[128];

    snprintf(series, sizeof(series), "ustatsd_http_tls_handshake_failures_total{reason=\"%s\"}",
             reason);
    return expo_value(metrics, series);
}

TestSuite(e2e_tls, .init = setup, .fini = teardown);

Test(e2e_tls, require_and_verify_client_cert_admits_only_a_valid_client)
{
    struct tlsclient_opts good = client("client.crt", "client.key");
    struct tlsclient_opts none = client(NULL, NULL);
    struct tlsclient_opts wrong_ca = client("other_client.crt", "other_client.key");
    struct tlsclient_opts expired = client("client_expired.crt", "client.key");
    struct buf body = BUF_INIT;
    char err[512], *m;

    daemon_write_file(web,
                      "tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
                      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n",
                      cert("server.crt"), cert("server.key"), cert("ca.crt"));
    start(NULL, &good, NULL, NULL);
    cr_assert_eq(daemon_connect(&d), 0);
    cr_assert_eq(daemon_sends(&d, "e2e_tls:3|c"), 0);
    cr_assert_eq(daemon_wait_read(&d, 5000), 0);
    cr_assert_eq(get(&good, "/metrics", &body, err), 200, "%s", err);
    cr_assert_eq(expo_value(body.ptr, "e2e_tls_total"), 3);
    buf_release(&body);

    cr_assert_eq(get(&none, "/metrics", NULL, err), -1);
    cr_assert(strstr(err, "certificate required") != NULL, "%s", err);
    cr_assert_eq(get(&wrong_ca, "/metrics", NULL, err), -1);
    cr_assert(strstr(err, "unknown ca") != NULL, "%s", err);
    cr_assert_eq(get(&expired, "/metrics", NULL, err), -1);
    cr_assert(strstr(err, "certificate expired") != NULL, "%s", err);
    /* Probes need a certificate too: the listener is TLS with client auth throughout. */
    cr_assert_eq(get(&none, "/-/healthy", NULL, err), -1);

    check_views(&good, &m);
    cr_assert_eq(failures(m, "no_client_cert"), 2);
    cr_assert_eq(failures(m, "bad_client_cert"), 2);
    cr_assert_geq(expo_value(m, "ustatsd_http_tls_handshakes_total"), 3);
    free(m);
}

Test(e2e_tls, an_expired_server_certificate_is_refused_by_a_verifying_client)
{
    struct tlsclient_opts verify = client(NULL, NULL), blind = { 0 };
    char err[512];

    write_web("server_expired.crt", "server.key", NULL);
    start(NULL, &blind, NULL, NULL);
    cr_assert_eq(get(&verify, "/metrics", NULL, err), -1);
    cr_assert(strstr(err, "certificate has expired") != NULL, "%s", err);
    /* It is the certificate: without verification the same server answers. */
    cr_assert_eq(get(&blind, "/metrics", NULL, err), 200, "%s", err);
    /* The log said so at start-up, naming the file and the date, and so does a gauge. */
    {
        char *log = daemon_read_file(d.log), want[512], series[512];
        char *m;

        cr_assert_not_null(log);
        snprintf(want, sizeof(want), "the TLS certificate %s expired on 2020-01-02T00:00:00Z",
                 cert("server_expired.crt"));
        cr_assert_not_null(strstr(log, want), "%s", log);
        free(log);
        check_views(&blind, &m);
        snprintf(series, sizeof(series),
                 "ustatsd_tls_certificate_expiry_timestamp_seconds{file=\"%s\"}",
                 cert("server_expired.crt"));
        cr_assert_eq(expo_value(m, series), 1577923200);
        free(m);
    }
}

Test(e2e_tls, a_certificate_far_from_its_end_is_not_warned_of)
{
    struct tlsclient_opts o = client(NULL, NULL);
    char *log, *m, series[512];

    write_web("server.crt", "server.key", NULL);
    start(NULL, &o, NULL, NULL);
    check_views(&o, &m);
    snprintf(series, sizeof(series),
             "ustatsd_tls_certificate_expiry_timestamp_seconds{file=\"%s\"}", cert("server.crt"));
    cr_assert_gt(expo_value(m, series), 1577923200); /* 30 days from when the tests began */
    free(m);
    log = daemon_read_file(d.log);
    cr_assert_not_null(log);
    cr_assert_null(strstr(log, "the TLS certificate"), "%s", log);
    free(log);
}

/* Plain HTTP on the TLS port: Go's 400, in clear, and the connection closed. */
Test(e2e_tls, plain_http_on_the_tls_port_gets_a_400)
{
    struct tlsclient_opts o = client(NULL, NULL);
    static const char want[] =
        "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    char got[256];
    size_t n = 0;
    long r;
    struct httpc h;

    write_web("server.crt", "server.key", NULL);
    start(NULL, &o, NULL, NULL);
    cr_assert_eq(httpc_open(&h, d.http, 0), 0);
    cr_assert_eq(httpc_send(&h, "GET /metrics HTTP/1.1\r\n\r\n", 25), 0);
    while (n < sizeof(got) - 1 && (r = httpc_recv(&h, got + n, sizeof(got) - 1 - n)) > 0)
        n += (size_t)r;
    got[n] = '\0';
    cr_assert_str_eq(got, want);
    httpc_close(&h);
}

/* The other client_auth_types: who gets a 200. */
Test(e2e_tls, each_client_auth_type_admits_whom_go_would)
{
    static const struct {
        const char *type;
        int ca;
        int none, good, other_ca; /* 1: admitted */
    } modes[] = {
        { "NoClientCert", 0, 1, 1, 1 },
        { "RequestClientCert", 0, 1, 1, 1 },
        { "RequireAnyClientCert", 0, 0, 1, 1 },
        { "VerifyClientCertIfGiven", 1, 1, 1, 0 },
        { "RequireAndVerifyClientCert", 1, 0, 1, 0 },
    };
    char err[512], more[512];

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        struct tlsclient_opts none = client(NULL, NULL);
        struct tlsclient_opts good = client("client.crt", "client.key");
        struct tlsclient_opts other = client("other_client.crt", "other_client.key");

        snprintf(more, sizeof(more), "  client_auth_type: %s\n%s%s%s", modes[i].type,
                 modes[i].ca ? "  client_ca_file: " : "", modes[i].ca ? cert("ca.crt") : "",
                 modes[i].ca ? "\n" : "");
        write_web("server.crt", "server.key", more);
        start(NULL, &good, NULL, NULL);
        cr_assert_eq(get(&none, "/metrics", NULL, err) == 200, modes[i].none, "%s, no cert: %s",
                     modes[i].type, err);
        cr_assert_eq(get(&good, "/metrics", NULL, err) == 200, modes[i].good, "%s, good: %s",
                     modes[i].type, err);
        cr_assert_eq(get(&other, "/metrics", NULL, err) == 200, modes[i].other_ca,
                     "%s, other CA: %s", modes[i].type, err);
        cr_assert_eq(daemon_stop(&d), 0);
    }
}

Test(e2e_tls, client_allowed_sans_admit_only_the_names_listed)
{
    struct tlsclient_opts good = client("client.crt", "client.key");
    struct tlsclient_opts stranger = client("stranger.crt", "stranger.key");
    char err[512], more[512], *m;

    snprintf(more, sizeof(more),
             "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n"
             "  client_allowed_sans: [\"spiffe://example/scraper\"]\n",
             cert("ca.crt"));
    write_web("server.crt", "server.key", more);
    start(NULL, &good, NULL, NULL);
    cr_assert_eq(get(&stranger, "/metrics", NULL, err), -1, "a CA-signed stranger is refused");
    check_views(&good, &m);
    cr_assert_eq(failures(m, "client_san"), 1);
    free(m);
}

struct reloads {
    const struct tlsclient_opts *o;
    const char *series;
    double want;
};

static int reloaded(void *arg)
{
    struct reloads *r = arg;
    struct buf body = BUF_INIT;
    char err[512];
    int ok = get(r->o, "/metrics", &body, err) == 200 && expo_value(body.ptr, r->series) >= r->want;

    buf_release(&body);
    return ok;
}

static void sighup_and_wait(const struct tlsclient_opts *o, const char *result, double want)
{
    char series[96];
    struct reloads r = { o, series, want };

    snprintf(series, sizeof(series), "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(waitfor_cond(reloaded, &r, 10000), 0, "%s did not reach %g", series, want);
}

Test(e2e_tls, sighup_rotates_the_certificate_for_new_connections_and_keeps_old_ones)
{
    struct tlsclient_opts o = client(NULL, NULL);
    struct tlsclient old, t;
    struct tlsclient_response r;
    struct buf body = BUF_INIT;
    char fp1[65], fp2[65], err[512];
    json_t *j;
    json_error_t jerr;

    tlscerts_fingerprint(certs(), "server.crt", fp1);
    tlscerts_fingerprint(certs(), "server2.crt", fp2);
    cr_assert_str_neq(fp1, fp2);
    write_web("server.crt", "server.key", NULL);
    start(NULL, &o, NULL, NULL);
    cr_assert_eq(tlsclient_open(&old, d.http, &o), 0, "%s", old.error);
    cr_assert_str_eq(old.fingerprint, fp1);

    write_web("server2.crt", "server2.key", NULL);
    sighup_and_wait(&o, "success", 1);
    cr_assert_eq(tlsclient_open(&t, d.http, &o), 0, "%s", t.error);
    cr_assert_str_eq(t.fingerprint, fp2, "a new connection gets the new certificate");
    tlsclient_close(&t);
    /* The connection from before the reload is still served, on its old session. */
    cr_assert_eq(tlsclient_request(&old, "/-/healthy", NULL), 0);
    cr_assert_eq(tlsclient_read(&old, &r), 0, "%s", old.error);
    cr_assert_eq(r.status, 200);
    tlsclient_response_release(&r);
    tlsclient_close(&old);

    /* A key that does not match: refused, and the running certificate stays. */
    write_web("server.crt", "server2.key", NULL);
    sighup_and_wait(&o, "failure", 1);
    cr_assert_eq(tlsclient_open(&t, d.http, &o), 0, "%s", t.error);
    cr_assert_str_eq(t.fingerprint, fp2);
    tlsclient_close(&t);
    cr_assert_eq(get(&o, "/debug?section=daemon", &body, err), 200, "%s", err);
    j = json_loads(body.ptr, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    {
        json_t *dm = json_object_get(j, "daemon");
        const char *why =
            json_string_value(json_object_get(json_object_get(dm, "reloads"), "last_error"));
        char want[512];

        snprintf(want, sizeof(want),
                 "%s: tls_server_config.key_file: %s: does not match the "
                 "certificate",
                 web, cert("server2.key"));
        cr_assert_not_null(why);
        cr_assert(strstr(why, want) != NULL, "last_error \"%s\", want \"%s\"", why, want);
        cr_assert_str_eq(
            json_string_value(json_object_get(json_object_get(dm, "tls"), "certificate_sha256")),
            fp2);
    }
    json_decref(j);
    buf_release(&body);
    /* Bad YAML is refused too, naming the file. */
    daemon_write_file(web, "tls_server_config:\n  cert_file: [\n");
    sighup_and_wait(&o, "failure", 2);
    cr_assert_eq(get(&o, "/-/healthy", NULL, err), 200, "%s", err);

    /* A web config without TLS downgrades every listener, and the log says so. */
    daemon_write_file(web, "# no tls_server_config\n");
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    for (int i = 0; i < 500 && daemon_get(&d, "/-/healthy", NULL, NULL) != 200; i++)
        usleep(10000);
    cr_assert_eq(daemon_get(&d, "/-/healthy", NULL, NULL), 200, "plain HTTP after the reload");
    {
        char *log = daemon_read_file(d.log);

        cr_assert_not_null(log);
        cr_assert_not_null(strstr(log, "has no TLS"), "%s", log);
        free(log);
    }
}

Test(e2e_tls, a_bad_web_config_refuses_start_up_naming_file_key_and_problem)
{
    const char *args[12];
    char *out = NULL, cfg[160], want[512], sock[160];
    int rc;

    write_web("server.crt", "server2.key", NULL);
    snprintf(cfg, sizeof(cfg), "%s/config.json", wdir);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", wdir);
    daemon_write_file(cfg, "{\"daemon\": {\"web_config_file\": \"%s\"}, \"families\": []}", web);
    snprintf(want, sizeof(want),
             "%s: tls_server_config.key_file: %s: does not match the certificate", web,
             cert("server2.key"));

    args[0] = "--config";
    args[1] = cfg;
    args[2] = "--socket";
    args[3] = sock;
    args[4] = "--metrics-listen";
    args[5] = "127.0.0.1:0";
    args[6] = NULL;
    rc = daemon_run_once(args, &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, want) != NULL, "output \"%s\", want \"%s\"", out, want);
    free(out);

    /* --check-config reads daemon.web_config_file too. */
    args[0] = "--check-config";
    args[1] = cfg;
    args[2] = NULL;
    rc = daemon_run_once(args, &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, want) != NULL, "output \"%s\"", out);
    free(out);

    /* An unknown key, by flag this time. */
    daemon_write_file(web,
                      "tls_server_config:\n  cert_file: %s\n  key_file: %s\n  min_versoin: TLS13\n",
                      cert("server.crt"), cert("server.key"));
    daemon_write_file(cfg, "{\"families\": []}");
    args[0] = "--config";
    args[1] = cfg;
    args[2] = "--web.config.file";
    args[3] = web;
    args[4] = "--socket";
    args[5] = sock;
    args[6] = NULL;
    rc = daemon_run_once(args, &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "min_versoin") != NULL && strstr(out, web) != NULL, "%s", out);
    free(out);
}

/* bcrypt, cost 4, of "prom-basic-pw" (made once with libxcrypt's crypt()). */
#define PROM_HASH "$2b$04$zs9qmPXI6WNv6X7RHMKpQexmeLrjEIIkQgOEZZ3wcQAAPNtxvqANa"

Test(e2e_tls, prometheus_scrapes_over_tls_with_a_bearer_token_or_basic_auth_and_a_client_cert,
     .timeout = 120)
{
    static const char *const queries[] = {
        "up{job=\"ustatsd_basic\"} == 1",
        "ustatsd_http_basic_auth_checks_total{job=\"ustatsd_basic\",result=\"ok\"} >= 1",
        "e2e_prom_total{job=\"ustatsd_basic\"} == 7",
        "ustatsd_http_tls_handshakes_total{job=\"ustatsd\"} >= 1",
    };
    struct tlsclient_opts good = client("client.crt", "client.key");
    char token[160], json[512], listen[64], pcfg[2048], pw[160];
    const char *more[3];
    struct promrun p;
    int port = daemon_free_port();

    snprintf(token, sizeof(token), "%s/token", wdir);
    daemon_write_file(token, "s3cret-token-e2e\n");
    snprintf(pw, sizeof(pw), "%s/password", wdir);
    daemon_write_file(pw, "prom-basic-pw");
    snprintf(json, sizeof(json), FAMILIES ", \"daemon\": {\"bearer_token_file\": \"%s\"}}", token);
    daemon_write_file(web,
                      "tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
                      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n"
                      "  min_version: TLS12\n"
                      "basic_auth_users:\n  prometheus: '" PROM_HASH "'\n",
                      cert("server.crt"), cert("server.key"), cert("ca.crt"));
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    more[0] = "--metrics-listen";
    more[1] = listen;
    more[2] = NULL;
    start(listen, &good, json, more);
    cr_assert_eq(daemon_connect(&d), 0);
    cr_assert_eq(daemon_sends(&d, "e2e_prom:7|c"), 0);
    cr_assert_eq(daemon_wait_read(&d, 5000), 0);

    snprintf(pcfg, sizeof(pcfg),
             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
             "scrape_configs:\n"
             "  - job_name: ustatsd\n    scheme: https\n"
             "    authorization:\n      credentials_file: %s\n"
             "    tls_config:\n      ca_file: %s\n      cert_file: %s\n      key_file: %s\n"
             "      server_name: localhost\n"
             "    static_configs:\n      - targets: ['%s']\n"
             "  - job_name: ustatsd_basic\n    scheme: https\n"
             "    basic_auth:\n      username: prometheus\n      password_file: %s\n"
             "    tls_config:\n      ca_file: %s\n      cert_file: %s\n      key_file: %s\n"
             "      server_name: localhost\n"
             "    static_configs:\n      - targets: ['%s']\n",
             token, cert("ca.crt"), cert("client.crt"), cert("client.key"), listen, pw,
             cert("ca.crt"), cert("client.crt"), cert("client.key"), listen);
    cr_assert_eq(promrun_start(&p, wdir, pcfg), 0);
    if (promrun_wait(&p, "up{job=\"ustatsd\"} == 1", 60000) != 0) {
        char *l = daemon_read_file(p.log);

        cr_assert_fail("Prometheus never saw up == 1: %s\n%s", p.last ? p.last : "(no answer)",
                       l ? l : "");
    }
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
        cr_assert_eq(promrun_wait(&p, queries[i], 30000), 0, "%s: %s", queries[i],
                     p.last ? p.last : "");
    promrun_stop(&p);
}
