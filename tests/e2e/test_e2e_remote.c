/*
 * Remote write end to end, through the real binary, to real Prometheus 2.42 receivers
 * (--web.enable-remote-write-receiver, native histograms on), next to a real Prometheus
 * that scrapes the same endpoint:
 *   - every series the endpoint serves arrives with the value a scrape shows, counters,
 *     gauges, classic buckets and the native histogram alike, with the external labels;
 *   - the receiver is stopped for a run of intervals and started again on the same
 *     address: the queue fills the gap, every interval once, none dropped;
 *   - a wrong path (404) is refused once per body and never retried;
 *   - a daemon restart with a state file: the mark comes back, nothing is refused, the
 *     values go on;
 *   - a receiver behind TLS and basic auth (its --web.config.file, as for scraping) takes
 *     the same values; a wrong password is a 401, never retried.
 * Intervals are 1 s here (the default is 15 s), so a dozen of them pass in a dozen seconds;
 * every wait is on a condition.
 */
#include <criterion/criterion.h>

#include <jansson.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "httpc.h"
#include "promrun.h"
#include "tlsclient.h"
#include "waitfor.h"

#define FAMILIES                                                                           \
    "\"families\": [\n"                                                                    \
    "  {\"name\": \"orders\", \"type\": \"counter\", \"help\": \"Orders.\",\n"             \
    "   \"labels\": [{\"name\": \"shop\", \"values\": [\"a\", \"b\"]}]},\n"                \
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"help\": \"Jobs waiting.\"},\n"   \
    "  {\"name\": \"rpc_seconds\", \"type\": \"histogram\", \"help\": \"RPC latency.\",\n" \
    "   \"buckets\": [0.1, 1], \"native\": {\"schema\": 3}}\n"                             \
    " ]"

#define TARGET_FMT                                                                    \
    "{\"name\": \"%s\", \"url\": \"%s\", \"interval\": 1, \"endpoints\": [\"prom\"]," \
    " \"external_labels\": {\"host\": \"edge-1\"}, \"send_native_histograms\": true," \
    " \"queue_config\": {\"min_backoff\": 0.05, \"max_backoff\": 0.5}%s}"

static char wdir[] = "/tmp/ustatsd-rw-XXXXXX";

static void mkwdir(void)
{
    cr_assert_not_null(mkdtemp(wdir));
}

static void rmwdir(void)
{
    char cmd[96];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", wdir);
    cr_assert_eq(system(cmd), 0);
}

static void sub(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", wdir, name);
    mkdir(out, 0700);
}

/* The daemon's config: the endpoint, then the targets (a JSON list's items). */
static void config_of(char *out, size_t cap, const char *listen, const char *targets)
{
    snprintf(out, cap,
             "{" FAMILIES ",\n \"endpoints\": [{\"name\": \"prom\", \"listen\": \"%s\"}],\n"
             " \"remote_write\": [%s]}\n",
             listen, targets);
}

static void fail_with_logs(struct daemon *d, struct promrun *p, const char *what)
{
    char *dl = d ? daemon_read_file(d->log) : NULL, *pl = p ? daemon_read_file(p->log) : NULL;

    cr_assert_fail("%s\nlast answer: %s\ndaemon log:\n%s\nprometheus log:\n%s", what,
                   p && p->last ? p->last : "", dl ? dl : "", pl ? pl : "");
}

/* The value of one self-metric series in the default endpoint's scrape, or NAN. */
static double self_value(struct daemon *d, const char *series)
{
    char *text = daemon_scrape(d, NULL), *at, want[512];
    double v = NAN;

    snprintf(want, sizeof want, "\n%s ", series);
    at = text ? strstr(text, want) : NULL;
    if (at != NULL)
        v = strtod(at + strlen(want), NULL);
    free(text);
    return v;
}

struct self_wait {
    struct daemon *d;
    const char *series;
    double min;
};

static int self_reaches(void *arg)
{
    struct self_wait *w = arg;

    return self_value(w->d, w->series) >= w->min;
}

static int wait_self(struct daemon *d, const char *series, double min, int timeout_ms)
{
    struct self_wait w = { d, series, min };

    return waitfor_cond(self_reaches, &w, timeout_ms);
}

static void send_lines(struct daemon *d, int orders_a, int orders_b, int depth)
{
    char line[256];

    snprintf(line, sizeof line,
             "orders:%d|c|#shop:a\norders:%d|c|#shop:b\nqueue_depth:%d|g\n"
             "rpc_seconds:0.05|h\nrpc_seconds:0.5|h\nrpc_seconds:-0.25|h\nrpc_seconds:3|h\n",
             orders_a, orders_b, depth);
    cr_assert_eq(daemon_sends(d, line), 0);
}

/*
 * Every application sample of the endpoint's text scrape, looked up in the receiver with
 * the external label added: the same value. Returns how many were compared.
 */
static int compare_all(const char *listen, struct promrun *rx)
{
    struct httpc_response r;
    char *line, *save = NULL, *text;
    int n = 0;

    cr_assert_eq(httpc_get(listen, "/metrics", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    text = strdup(r.body);
    httpc_response_release(&r);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char sel[512], *sp = strrchr(line, ' '), *brace;
        double want, got;

        if (line[0] == '#' || sp == NULL || strncmp(line, "target_info", 11) == 0)
            continue;
        *sp = '\0';
        want = strtod(sp + 1, NULL);
        brace = strchr(line, '{');
        if (brace != NULL)
            snprintf(sel, sizeof sel, "%.*s{host=\"edge-1\",%s", (int)(brace - line), line,
                     brace + 1);
        else
            snprintf(sel, sizeof sel, "%s{host=\"edge-1\"}", line);
        cr_assert_eq(promrun_value(rx, sel, &got), 0, "%s: %s", sel, rx->last);
        cr_assert_eq(got, want, "%s: received %.17g, scraped %.17g", sel, got, want);
        n++;
    }
    free(text);
    return n;
}

/* The raw samples of one series in the receiver over the last hour: timestamps in ms. */
static size_t raw_times(struct promrun *rx, const char *series, int64_t *ts, size_t cap)
{
    struct httpc_response r;
    char target[512], *q = target;
    json_t *j, *vals, *v;
    size_t n = 0, i;

    q += snprintf(target, sizeof target, "/api/v1/query?query=");
    for (const char *s = series; *s; s++)
        q += sprintf(q, "%%%02X", (unsigned char)*s);
    snprintf(q, sizeof target - (size_t)(q - target), "%%5B1h%%5D");
    cr_assert_eq(httpc_get(rx->addr, target, NULL, &r), 0);
    j = json_loads(r.body, 0, NULL);
    vals = json_object_get(json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0),
                           "values");
    cr_assert_not_null(vals, "%s", r.body);
    json_array_foreach(vals, i, v)
    {
        if (n < cap)
            ts[n++] = (int64_t)llround(json_number_value(json_array_get(v, 0)) * 1000.0);
    }
    json_decref(j);
    httpc_response_release(&r);
    return n;
}

static const char *const rx_flags[] = { "--web.enable-remote-write-receiver",
                                        "--enable-feature=native-histograms", NULL };

Test(e2e_remote, values_equal_the_scraped_ones_across_an_outage_a_404_and_a_restart, .init = mkwdir,
     .fini = rmwdir, .timeout = 240)
{
    char listen[64], rxdir[300], scdir[300], url[128], bad[128], targets[2048], config[4096];
    char state[300], pcfg[512], series[256];
    const char *args[] = { "--state-file", state, NULL };
    struct promrun rx, sc;
    struct daemon d;
    int64_t ts[4096];
    double before, v;
    size_t n;
    int compared;

    snprintf(listen, sizeof listen, "127.0.0.1:%d", daemon_free_port());
    snprintf(state, sizeof state, "%s/state", wdir);
    sub(rxdir, sizeof rxdir, "rx");
    sub(scdir, sizeof scdir, "scraper");
    cr_assert_eq(promrun_start_opts(&rx, rxdir, "global: {}\n", NULL, rx_flags), 0);
    snprintf(url, sizeof url, "http://%s/api/v1/write", rx.addr);
    snprintf(bad, sizeof bad, "http://%s/api/v1/nowhere", rx.addr);
    {
        char a[512], b[512];

        snprintf(a, sizeof a, TARGET_FMT, "central", url, "");
        snprintf(b, sizeof b, TARGET_FMT, "wrong", bad, "");
        snprintf(targets, sizeof targets, "%s, %s", a, b);
    }
    config_of(config, sizeof config, listen, targets);
    cr_assert_eq(daemon_start(&d, config, args), 0);
    snprintf(pcfg, sizeof pcfg,
             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
             "scrape_configs:\n  - job_name: ustatsd\n"
             "    static_configs:\n      - targets: ['%s']\n",
             listen);
    cr_assert_eq(promrun_start_opts(&sc, scdir, pcfg, NULL, rx_flags + 1), 0);

    /* Values in; both Prometheus servers hold them. */
    send_lines(&d, 3, 4, 7);
    if (promrun_wait(&rx, "orders_total{shop=\"a\",host=\"edge-1\"} == 3", 60000) != 0)
        fail_with_logs(&d, &rx, "the receiver never got orders_total");
    if (promrun_wait(&sc, "orders_total{shop=\"a\",job=\"ustatsd\"} == 3", 60000) != 0)
        fail_with_logs(&d, &sc, "the scraper never got orders_total");
    cr_assert_eq(promrun_wait(&rx, "histogram_count(rpc_seconds{host=\"edge-1\"}) == 4", 30000), 0,
                 "%s", rx.last);
    cr_assert_eq(promrun_wait(&sc, "histogram_count(rpc_seconds{job=\"ustatsd\"}) == 4", 30000), 0,
                 "%s", sc.last);
    compared = compare_all(listen, &rx);
    cr_assert_geq(compared, 2 + 1 + 3 + 2, "orders x2, queue_depth, 3 buckets, _sum, _count");
    /* The native histogram, received and scraped: the same. */
    cr_assert_eq(promrun_value(&rx, "histogram_sum(rpc_seconds{host=\"edge-1\"})", &v), 0);
    cr_assert_eq(v, 3.3);
    cr_assert_eq(promrun_value(&sc, "histogram_sum(rpc_seconds{job=\"ustatsd\"})", &v), 0);
    cr_assert_eq(v, 3.3);
    cr_assert_eq(
        promrun_value(&rx, "histogram_quantile(0.5, rpc_seconds{host=\"edge-1\"})", &before), 0);
    cr_assert_eq(promrun_value(&sc, "histogram_quantile(0.5, rpc_seconds{job=\"ustatsd\"})", &v),
                 0);
    cr_assert_eq(v, before, "the same buckets: the same quantile");

    /* The wrong path: a 404, counted as failed and dropped as rejected, never retried. */
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_failed_total{remote_name=\"wrong\",url=\"%s\"}",
             bad);
    if (wait_self(&d, series, 1, 20000) != 0)
        fail_with_logs(&d, NULL, "the 404 was never counted as failed");
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_retried_total{remote_name=\"wrong\",url=\"%s\"}",
             bad);
    cr_assert_eq(self_value(&d, series), 0, "a 4xx is never retried");
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_dropped_total{remote_name=\"wrong\",url=\"%s\","
             "reason=\"rejected\"}",
             bad);
    cr_assert_geq(self_value(&d, series), 1);
    {
        char *log = daemon_read_file(d.log);

        cr_assert_not_null(strstr(log, "refused the interval"), "%s", log);
        cr_assert_not_null(strstr(log, "with 404, not retried"), "%s", log);
        free(log);
    }

    /* The outage: the receiver stops for a dozen intervals while values change. */
    promrun_stop(&rx);
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_retried_total{remote_name=\"central\",url=\"%s\"}",
             url);
    for (int i = 0; i < 12; i++) {
        char q[320];

        send_lines(&d, 1, 0, 7 + i);
        /* An interval passes: one more body queued behind the one being retried. */
        snprintf(q, sizeof q,
                 "ustatsd_remote_write_queue_bytes{remote_name=\"central\",url=\"%s\"}", url);
        before = self_value(&d, q);
        if (waitfor_cond(self_reaches, &(struct self_wait){ &d, q, before + 1 }, 5000) != 0)
            fail_with_logs(&d, NULL, "no interval was queued during the outage");
    }
    cr_assert_geq(self_value(&d, series), 1, "the bodies were retried");
    cr_assert_eq(promrun_start_opts(&rx, rxdir, "global: {}\n", rx.addr, rx_flags), 0);
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_pending{remote_name=\"central\",url=\"%s\"}", url);
    if (promrun_wait(&rx, "orders_total{shop=\"a\",host=\"edge-1\"} == 15", 60000) != 0)
        fail_with_logs(&d, &rx, "the receiver never caught up");
    /*
     * Every interval once, from the first to the last: no repeat, and no gap but the
     * intervals the daemon says it missed (a loop held past a whole interval cannot go
     * back for one).
     */
    n = raw_times(&rx, "orders_total{shop=\"a\",host=\"edge-1\"}", ts, 4096);
    cr_assert_geq(n, 14);
    {
        double gaps = 0;

        for (size_t i = 1; i < n; i++) {
            cr_assert_gt(ts[i], ts[i - 1], "a repeat at sample %zu", i);
            cr_assert_eq(ts[i] % 1000, 0, "the interval's timestamp");
            gaps += (double)(ts[i] - ts[i - 1]) / 1000.0 - 1;
        }
        snprintf(series, sizeof series,
                 "ustatsd_remote_write_intervals_missed_total{remote_name=\"central\",url=\"%s\"}",
                 url);
        cr_assert_leq(gaps, self_value(&d, series), "an interval lost in the outage");
    }
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_dropped_total{remote_name=\"central\",url=\"%s\","
             "reason=\"queue_full\"}",
             url);
    cr_assert_eq(self_value(&d, series), 0);
    compare_all(listen, &rx);

    /* A restart with the state file: the mark is back, the values go on, nothing refused. */
    cr_assert_eq(daemon_stop(&d), 0);
    cr_assert_eq(daemon_start(&d, config, args), 0);
    snprintf(series, sizeof series,
             "prometheus_remote_storage_queue_highest_sent_timestamp_seconds{remote_name="
             "\"central\",url=\"%s\"}",
             url);
    cr_assert_geq(self_value(&d, series), (double)ts[n - 1] / 1000.0,
                  "the newest interval comes back from the state file");
    send_lines(&d, 2, 0, 1);
    if (promrun_wait(&rx, "orders_total{shop=\"a\",host=\"edge-1\"} == 17", 60000) != 0)
        fail_with_logs(&d, &rx, "the restarted daemon's values never arrived");
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_failed_total{remote_name=\"central\",url=\"%s\"}",
             url);
    cr_assert_eq(self_value(&d, series), 0, "no interval refused after the restart");
    compare_all(listen, &rx);
    n = raw_times(&rx, "orders_total{shop=\"a\",host=\"edge-1\"}", ts, 4096);
    for (size_t i = 1; i < n; i++)
        cr_assert_gt(ts[i], ts[i - 1], "each timestamp once");
    /* The scraper marked the series stale while the daemon was down; its next scrape is back. */
    if (promrun_wait(&sc, "orders_total{shop=\"a\",job=\"ustatsd\"} == 17", 60000) != 0)
        fail_with_logs(&d, &sc, "the scraper never got the restarted daemon's orders_total");
    /* /debug shows each target's counts. */
    {
        char *body = NULL;
        json_t *j, *t;

        cr_assert_eq(daemon_get(&d, "/debug?section=daemon", NULL, &body), 200);
        j = json_loads(body, 0, NULL);
        cr_assert_not_null(j, "%s", body);
        t = json_array_get(json_object_get(json_object_get(j, "daemon"), "remote_write"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(t, "name")), "central", "%s", body);
        cr_assert_gt(json_integer_value(json_object_get(t, "samples_sent")), 0, "%s", body);
        cr_assert_eq(json_integer_value(json_object_get(t, "samples_failed")), 0, "%s", body);
        t = json_array_get(json_object_get(json_object_get(j, "daemon"), "remote_write"), 1);
        cr_assert_str_eq(json_string_value(json_object_get(t, "name")), "wrong", "%s", body);
        cr_assert_gt(
            json_integer_value(json_object_get(json_object_get(t, "samples_dropped"), "rejected")),
            0, "%s", body);
        json_decref(j);
        free(body);
    }

    promrun_stop(&sc);
    promrun_stop(&rx);
    cr_assert_eq(daemon_stop(&d), 0);
}

/* bcrypt, cost 4, of "prom-basic-pw" (test_e2e_tls.c's). */
#define PROM_HASH "$2b$04$zs9qmPXI6WNv6X7RHMKpQexmeLrjEIIkQgOEZZ3wcQAAPNtxvqANa"

/* A query of the TLS receiver, with its CA and basic auth; the one sample's value. */
static int tls_value(const char *addr, const char *ca, const char *query, double *v)
{
    struct tlsclient_opts o = { .ca_file = ca };
    struct buf body = BUF_INIT;
    char target[512], *q = target, err[512];
    json_t *j, *val;
    int st, rc = -1;

    q += snprintf(target, sizeof target, "/api/v1/query?query=");
    for (const char *s = query; *s; s++)
        q += sprintf(q, "%%%02X", (unsigned char)*s);
    /* "prometheus:prom-basic-pw" */
    st = tlsclient_get(addr, &o, target,
                       "Authorization: Basic cHJvbWV0aGV1czpwcm9tLWJhc2ljLXB3\r\n", &body, err);
    if (st != 200) {
        buf_release(&body);
        return -1;
    }
    j = json_loads(body.ptr, 0, NULL);
    val = json_array_get(
        json_object_get(json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0),
                        "value"),
        1);
    if (json_is_string(val)) {
        *v = strtod(json_string_value(val), NULL);
        rc = 0;
    }
    json_decref(j);
    buf_release(&body);
    return rc;
}

struct tls_wait {
    const char *addr, *ca, *query;
    double want;
};

static int tls_has(void *arg)
{
    struct tls_wait *w = arg;
    double v;

    return tls_value(w->addr, w->ca, w->query, &v) == 0 && v == w->want;
}

/*
 * The TLS receiver answers a query: it is listening, so that a first attempt refused before
 * Prometheus is up (which is retried, rightly) cannot be taken for a retried 401.
 */
static int tls_up(void *arg)
{
    struct tls_wait *w = arg;
    double v;

    return tls_value(w->addr, w->ca, w->query, &v) == 0;
}

Test(e2e_remote, a_receiver_behind_tls_and_basic_auth_takes_the_same_values, .init = mkwdir,
     .fini = rmwdir, .timeout = 180)
{
    char certs[64], ca[300], crt[300], key[300], web[300], pw[300], badpw[300], rxdir[300],
        listen[64], url[128];
    char a[2048], b[2048], targets[4200], config[6000], webflag[320], series[400];
    const char *flags[] = { "--web.enable-remote-write-receiver",
                            "--enable-feature=native-histograms", webflag, NULL };
    struct promrun rx;
    struct daemon d;

    cr_assert_eq(tlscerts_make(certs), 0);
    snprintf(ca, sizeof ca, "%s", tlscerts_path(certs, "ca.crt"));
    snprintf(crt, sizeof crt, "%s", tlscerts_path(certs, "server.crt"));
    snprintf(key, sizeof key, "%s", tlscerts_path(certs, "server.key"));
    snprintf(web, sizeof web, "%s/web.yml", wdir);
    daemon_write_file(web,
                      "tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
                      "basic_auth_users:\n  prometheus: '" PROM_HASH "'\n",
                      crt, key);
    snprintf(webflag, sizeof webflag, "--web.config.file=%s", web);
    snprintf(pw, sizeof pw, "%s/password", wdir);
    daemon_write_file(pw, "prom-basic-pw\n");
    snprintf(badpw, sizeof badpw, "%s/bad-password", wdir);
    daemon_write_file(badpw, "not-the-password\n");
    sub(rxdir, sizeof rxdir, "rx");
    cr_assert_eq(promrun_start_opts(&rx, rxdir, "global: {}\n", NULL, flags), 0);
    /* The certificate names localhost. */
    snprintf(url, sizeof url, "https://localhost:%s/api/v1/write", strchr(rx.addr, ':') + 1);
    {
        char auth[700], wrong[700];

        snprintf(auth, sizeof auth,
                 ", \"tls_config\": {\"ca_file\": \"%s\"}, \"basic_auth\": {\"username\": "
                 "\"prometheus\", \"password_file\": \"%s\"}",
                 ca, pw);
        snprintf(wrong, sizeof wrong,
                 ", \"tls_config\": {\"ca_file\": \"%s\"}, \"basic_auth\": {\"username\": "
                 "\"prometheus\", \"password_file\": \"%s\"}",
                 ca, badpw);
        snprintf(a, sizeof a, TARGET_FMT, "secure", url, auth);
        snprintf(b, sizeof b, TARGET_FMT, "wrong_password", url, wrong);
    }
    snprintf(targets, sizeof targets, "%s, %s", a, b);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", daemon_free_port());
    config_of(config, sizeof config, listen, targets);
    if (waitfor_cond(tls_up, &(struct tls_wait){ rx.addr, ca, "vector(1)", 1 }, 60000) != 0)
        fail_with_logs(NULL, &rx, "the TLS receiver never answered");
    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    send_lines(&d, 5, 6, 2);
    if (waitfor_cond(
            tls_has,
            &(struct tls_wait){ rx.addr, ca, "orders_total{shop=\"b\",host=\"edge-1\"}", 6 },
            60000) != 0)
        fail_with_logs(&d, &rx, "the TLS receiver never got orders_total");
    {
        double v;

        cr_assert_eq(tls_value(rx.addr, ca, "queue_depth{host=\"edge-1\"}", &v), 0);
        cr_assert_eq(v, 2);
        cr_assert_eq(tls_value(rx.addr, ca, "rpc_seconds_count{host=\"edge-1\"}", &v), 0);
        cr_assert_eq(v, 4);
    }
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_failed_total{remote_name=\"wrong_password\","
             "url=\"%s\"}",
             url);
    if (wait_self(&d, series, 1, 20000) != 0)
        fail_with_logs(&d, &rx, "the 401 was never counted as failed");
    snprintf(series, sizeof series,
             "prometheus_remote_storage_samples_retried_total{remote_name=\"wrong_password\","
             "url=\"%s\"}",
             url);
    cr_assert_eq(self_value(&d, series), 0, "a 401 is never retried");
    {
        char *log = daemon_read_file(d.log);

        cr_assert_not_null(strstr(log, "with 401, not retried"), "%s", log);
        free(log);
    }
    promrun_stop(&rx);
    cr_assert_eq(daemon_stop(&d), 0);
    tlscerts_remove(certs);
}
