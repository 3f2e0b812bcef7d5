/*
 * Native histograms end to end through the real binary: a family with classic buckets and
 * a "native" block, observations on both sides of zero and in the zero bucket, served in
 * the delimited protobuf exposition to a real Prometheus 2.42 started with
 * --enable-feature=native-histograms, which reads histogram_count() and histogram_sum()
 * back exactly and histogram_quantile() within the schema's relative error, while one
 * without the flag reads the same family's classic buckets; the text exposition keeps
 * them; a restart with a state file keeps the native ones; /debug shows them.
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

/* %s: the endpoint's listen address. */
static const char config_fmt[] =
    "{\"families\": [\n"
    "  {\"name\": \"rpc_seconds\", \"type\": \"histogram\", \"help\": \"RPC latency.\",\n"
    "   \"buckets\": [0.1, 1], \"native\": {\"schema\": 3},\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\"]}]}\n"
    " ],\n"
    " \"endpoints\": [{\"name\": \"prom\", \"listen\": \"%s\"}]}\n";

#define NPOS 200

static struct daemon d;
static char listen_addr[64];
static double values[NPOS + 2];

static void start(void)
{
    char config[2048];

    snprintf(listen_addr, sizeof listen_addr, "127.0.0.1:%d", daemon_free_port());
    snprintf(config, sizeof config, config_fmt, listen_addr);
    daemon_fixture_start(&d, config);
}

static void stop(void)
{
    daemon_fixture_stop(&d);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* 200 values from 1 ms to 17 s, a zero and a negative; returns their sum. */
static double send_values(void)
{
    char line[128];
    double sum = 0;

    for (int i = 0; i < NPOS + 2; i++) {
        values[i] = i < NPOS ? 0.001 * pow(1.05, i) : i == NPOS ? 0 : -0.5;
        snprintf(line, sizeof line, "rpc_seconds:%.17g|h|#method:GET\n", values[i]);
        cr_assert_eq(daemon_sends(&d, line), 0);
        sum += values[i];
    }
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", NPOS + 2, 5000), NPOS + 2);
    qsort(values, NPOS + 2, sizeof values[0], by_value);
    return sum;
}

/* /debug shows the family's block and the series' native buckets, bounds and counts. */
static void check_debug(void)
{
    char *body = NULL;
    json_error_t err;
    json_t *j, *fam, *nat, *buckets, *b;
    uint64_t total = 0;
    size_t i;
    int negative = 0;

    cr_assert_eq(daemon_get(&d, "/debug?section=families&family=rpc_seconds", NULL, &body), 200);
    j = json_loads(body, 0, &err);
    cr_assert_not_null(j, "%s", body);
    free(body);
    fam = json_array_get(json_object_get(j, "families"), 0);
    nat = json_object_get(fam, "native");
    cr_assert_eq(json_number_value(json_object_get(nat, "schema")), 3);
    cr_assert_eq(json_integer_value(json_object_get(nat, "max_buckets")), 160);
    json_decref(j);

    cr_assert_eq(daemon_get(&d, "/debug?section=series&family=rpc_seconds", NULL, &body), 200);
    j = json_loads(body, 0, &err);
    cr_assert_not_null(j, "%s", body);
    nat = json_object_get(json_array_get(json_object_get(j, "series"), 0), "native");
    cr_assert_not_null(nat, "%s", body);
    free(body);
    cr_assert_eq(json_integer_value(json_object_get(nat, "count")), NPOS + 2);
    cr_assert_eq(json_integer_value(json_object_get(nat, "zero_count")), 1);
    buckets = json_object_get(nat, "buckets");
    json_array_foreach(buckets, i, b)
    {
        double lo = json_number_value(json_object_get(b, "lower"));
        double hi = json_number_value(json_object_get(b, "upper"));

        cr_assert_lt(lo, hi);
        total += (uint64_t)json_integer_value(json_object_get(b, "count"));
        negative += lo <= -0.5 && -0.5 < hi; /* [lower, upper) on the negative side */
    }
    cr_assert_eq(total, NPOS + 1, "every value but the zero in a bucket");
    cr_assert_eq(negative, 1, "-0.5 in a negative bucket");
    json_decref(j);
}

Test(e2e_native, protobuf_is_negotiated_and_text_keeps_the_classic_buckets, .init = start,
     .fini = stop)
{
    struct httpc_response r;
    char *text;

    send_values();
    cr_assert_eq(httpc_get(listen_addr, "/metrics",
                           "Accept: application/vnd.google.protobuf;"
                           "proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,"
                           "text/plain;version=0.0.4;q=0.3\r\n",
                           &r),
                 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(httpc_header(&r, "content-type"),
                     "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                     "encoding=delimited; escaping=underscores");
    cr_assert_not_null(memmem(r.body, r.body_len, "rpc_seconds", 11));
    httpc_response_release(&r);
    check_debug();
    text = daemon_scrape(&d, NULL);
    daemon_want(text, 1, "rpc_seconds_bucket{method=\"GET\",le=\"0.1\"} 97\n");
    daemon_want(text, 1, "rpc_seconds_bucket{method=\"GET\",le=\"1\"} 144\n");
    daemon_want(text, 1, "rpc_seconds_bucket{method=\"GET\",le=\"+Inf\"} 202\n");
    free(text);
}

#define PB_ACCEPT                                                                      \
    "Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;" \
    "encoding=delimited\r\n"

/* The delimited message of body that holds name (a copy), or NULL. */
static char *message_of(const struct httpc_response *r, const char *name, size_t *len)
{
    size_t pos = 0, nl = strlen(name);

    while (pos < r->body_len) {
        uint64_t n = 0;
        int shift = 0;
        unsigned char c;

        do {
            c = (unsigned char)r->body[pos++];
            n |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
        } while ((c & 0x80) && pos < r->body_len);
        cr_assert_leq(pos + n, r->body_len, "a message cut short");
        /* A MetricFamily starts with its name: field 1, its length, the bytes. */
        if (n > nl + 2 && (unsigned char)r->body[pos] == 0x0a &&
            (size_t)(unsigned char)r->body[pos + 1] == nl &&
            memcmp(r->body + pos + 2, name, nl) == 0) {
            char *m = malloc(n);

            memcpy(m, r->body + pos, n);
            *len = n;
            return m;
        }
        pos += n;
    }
    return NULL;
}

static char *native_message(const char *addr, size_t *len)
{
    struct httpc_response r;
    char *m;

    cr_assert_eq(httpc_get(addr, "/metrics", PB_ACCEPT, &r), 0);
    cr_assert_eq(r.status, 200);
    m = message_of(&r, "rpc_seconds", len);
    cr_assert_not_null(m, "no rpc_seconds message");
    httpc_response_release(&r);
    return m;
}

Test(e2e_native, a_restart_with_a_state_file_keeps_the_native_buckets)
{
    char dir[] = "/tmp/ustatsd-native-XXXXXX", path[64], config[2048], cmd[96];
    const char *args[] = { "--state-file", path, NULL };
    size_t before_len, after_len;
    char *before, *after;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state", dir);
    snprintf(listen_addr, sizeof listen_addr, "127.0.0.1:%d", daemon_free_port());
    snprintf(config, sizeof config, config_fmt, listen_addr);
    cr_assert_eq(daemon_start(&d, config, args), 0);
    send_values();
    before = native_message(listen_addr, &before_len);
    cr_assert_eq(daemon_stop(&d), 0);
    cr_assert_eq(daemon_start(&d, config, args), 0);
    after = native_message(listen_addr, &after_len);
    cr_assert_eq(after_len, before_len);
    cr_assert_eq(memcmp(after, before, before_len), 0, "the family reads otherwise");
    cr_assert_eq(daemon_stop(&d), 0);
    free(before);
    free(after);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(e2e_native, a_real_prometheus_reads_the_native_histogram, .init = start, .fini = stop,
     .timeout = 120)
{
    static const double qs[] = { 0.1, 0.5, 0.9 };
    char pcfg[512], query[256], dir2[300];
    struct promrun p;
    double v, sum = send_values();

    snprintf(pcfg, sizeof pcfg,
             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
             "scrape_configs:\n"
             "  - job_name: ustatsd\n"
             "    static_configs:\n      - targets: ['%s']\n",
             listen_addr);
    cr_assert_eq(promrun_start_flag(&p, d.dir, pcfg, "--enable-feature=native-histograms"), 0);
    if (promrun_wait(&p, "histogram_count(rpc_seconds{method=\"GET\"}) == 202", 60000) != 0) {
        char *l = daemon_read_file(p.log);

        promrun_stop(&p);
        cr_assert_fail("Prometheus never read the native histogram: %s\n%s", p.last ? p.last : "",
                       l ? l : "");
    }
    cr_assert_eq(promrun_value(&p, "histogram_sum(rpc_seconds{method=\"GET\"})", &v), 0, "%s",
                 p.last);
    cr_assert_float_eq(v, sum, 1e-9 * fabs(sum), "sum %.17g, want %.17g", v, sum);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        /* The exact quantile: the rank Prometheus interpolates to, q * count. */
        double exact = values[(size_t)ceil(qs[i] * (NPOS + 2)) - 1];

        snprintf(query, sizeof query, "histogram_quantile(%g, rpc_seconds{method=\"GET\"})", qs[i]);
        cr_assert_eq(promrun_value(&p, query, &v), 0, "%s: %s", query, p.last);
        /* Schema 3: a bucket spans a factor of 2^(1/8), so at most that far off. */
        cr_assert_leq(fabs(v / exact - 1), pow(2, 1.0 / 8) - 1, "q %g: %.17g, exact %.17g", qs[i],
                      v, exact);
    }
    promrun_stop(&p);

    /*
     * Prometheus 2.42 ingests a histogram with native buckets as native only (both came in
     * 2.45, scrape_classic_histograms): one without the flag reads the classic buckets of
     * the same family, through OpenMetrics.
     */
    snprintf(dir2, sizeof dir2, "%s/classic", d.dir);
    cr_assert_eq(mkdir(dir2, 0700), 0);
    cr_assert_eq(promrun_start(&p, dir2, pcfg), 0);
    cr_assert_eq(promrun_wait(&p, "rpc_seconds_count{method=\"GET\"} == 202", 60000), 0, "%s",
                 p.last ? p.last : "");
    cr_assert_eq(promrun_value(&p, "rpc_seconds_bucket{method=\"GET\",le=\"0.1\"}", &v), 0, "%s",
                 p.last);
    cr_assert_eq(v, 97);
    cr_assert_eq(promrun_value(&p, "rpc_seconds_bucket{method=\"GET\",le=\"1.0\"}", &v), 0, "%s",
                 p.last);
    cr_assert_eq(v, 144);
    promrun_stop(&p);
}
