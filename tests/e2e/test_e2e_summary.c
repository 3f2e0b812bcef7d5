/*
 * Summary families end to end through the real binary: ms, h and d lines (packed values,
 * a sample rate) to a seconds summary and a millisecond one, scraped in text 0.0.4
 * (checked by promtool) and OpenMetrics (by a strict parser), value by value; the debug
 * view's quantiles; then a real Prometheus scraping an endpoint of the daemon and reading
 * the quantiles, _sum and _count back.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "httpc.h"
#include "promrun.h"

/* %s: the endpoint's listen address. */
static const char config_fmt[] =
    "{\"families\": [\n"
    "  {\"name\": \"rpc_duration_seconds\", \"type\": \"summary\", \"help\": \"RPC latency.\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},\n"
    "  {\"name\": \"job_duration_ms\", \"type\": \"summary\", \"help\": \"Job time.\",\n"
    "   \"unit\": \"ms\", \"quantiles\": {\"0\": 0, \"0.5\": 0.05, \"1\": 0},\n"
    "   \"max_age\": 60, \"age_buckets\": 2},\n"
    "  {\"name\": \"idle_seconds\", \"type\": \"summary\", \"help\": \"Never observed.\"}\n"
    " ],\n"
    " \"endpoints\": [{\"name\": \"prom\", \"listen\": \"%s\"}]}\n";

static struct daemon d;
static char listen_addr[64];

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

/* 0.1, 0.2 (packed), 0.3 (h), 0.4 (d), 0.5 at @0.5 (weighs 2); 80 and 120 ms; one mismatch. */
static void send_lines(void)
{
    cr_assert_eq(daemon_sends(&d, "rpc_duration_seconds:100:200|ms|#method:GET\n"
                                  "rpc_duration_seconds:0.3|h|#method:GET\n"
                                  "rpc_duration_seconds:0.4|d|#method:GET\n"
                                  "rpc_duration_seconds:500|ms|@0.5|#method:GET\n"
                                  "job_duration_ms:120|ms\n"
                                  "job_duration_ms:80|h\n"
                                  "rpc_duration_seconds:1|c|#method:GET\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 6, 5000), 6);
}

static void expect(const char *body, const char *series, double want)
{
    double got = expo_value(body, series);

    if (isnan(want))
        cr_assert(isnan(got) && strstr(body, series) != NULL, "%s: %g, want NaN", series, got);
    else
        cr_assert_float_eq(got, want, 1e-9, "%s: %g, want %g", series, got, want);
}

Test(e2e_summary, ms_h_and_d_lines_scraped_in_both_formats, .init = start, .fini = stop)
{
    char *text, *om, *debug = NULL;
    json_t *j, *series;
    int found = 0;

    send_lines();
    text = daemon_scrape(&d, NULL);
    cr_assert_not_null(strstr(text, "# TYPE rpc_duration_seconds summary\n"));
    /* Six observations of 0.1 to 0.5, 0.5 twice: too few for the estimator to merge any. */
    expect(text, "rpc_duration_seconds{method=\"GET\",quantile=\"0.5\"}", 0.3);
    expect(text, "rpc_duration_seconds{method=\"GET\",quantile=\"0.9\"}", 0.5);
    expect(text, "rpc_duration_seconds{method=\"GET\",quantile=\"0.99\"}", 0.5);
    expect(text, "rpc_duration_seconds_sum{method=\"GET\"}", 2.0);
    expect(text, "rpc_duration_seconds_count{method=\"GET\"}", 6);
    expect(text, "job_duration_ms{quantile=\"0\"}", 80);
    expect(text, "job_duration_ms{quantile=\"0.5\"}", 80);
    expect(text, "job_duration_ms{quantile=\"1\"}", 120);
    expect(text, "job_duration_ms_sum", 200);
    expect(text, "job_duration_ms_count", 2);
    expect(text, "idle_seconds{quantile=\"0.5\"}", NAN);
    expect(text, "idle_seconds_count", 0);
    expect(text, "ustatsd_lines_rejected_total{reason=\"type_mismatch\"}", 1);
    cr_assert_eq(expo_check(text, 0), 0, "promtool rejected the text exposition");

    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_not_null(strstr(om, "# TYPE rpc_duration_seconds summary\n"));
    cr_assert_not_null(strstr(om, "# UNIT rpc_duration_seconds seconds\n"));
    expect(om, "rpc_duration_seconds{method=\"GET\",quantile=\"0.5\"}", 0.3);
    expect(om, "rpc_duration_seconds_count{method=\"GET\"}", 6);
    expect(om, "job_duration_ms{quantile=\"1.0\"}", 120);
    expect(om, "idle_seconds{quantile=\"0.99\"}", NAN);
    cr_assert_gt(expo_value(om, "rpc_duration_seconds_created{method=\"GET\"}"), 1.6e9);
    cr_assert_gt(expo_value(om, "idle_seconds_created"), 1.6e9);
    cr_assert_eq(expo_check(om, 1), 0, "the OpenMetrics exposition is invalid");

    /* The debug view: each quantile with its value and error, the window's count. */
    cr_assert_eq(daemon_get(&d, "/debug?section=series&family=rpc_duration_seconds", NULL, &debug),
                 200);
    j = json_loads(debug, 0, NULL);
    cr_assert_not_null(j, "%s", debug);
    series = json_array_get(json_object_get(j, "series"), 0);
    cr_assert_eq(json_integer_value(json_object_get(series, "count")), 6);
    cr_assert_eq(json_integer_value(json_object_get(series, "window_count")), 6);
    cr_assert_float_eq(json_number_value(json_object_get(series, "sum")), 2.0, 1e-9);
    for (size_t i = 0; i < json_array_size(json_object_get(series, "quantiles")); i++) {
        json_t *q = json_array_get(json_object_get(series, "quantiles"), i);

        if (json_number_value(json_object_get(q, "quantile")) == 0.5) {
            cr_assert_float_eq(json_number_value(json_object_get(q, "value")), 0.3, 1e-9);
            cr_assert_float_eq(json_number_value(json_object_get(q, "error")), 0.05, 1e-12);
            found = 1;
        }
    }
    cr_assert(found, "%s", debug);
    json_decref(j);
    free(debug);
    free(text);
    free(om);
}

Test(e2e_summary, a_real_prometheus_scrapes_the_summaries, .init = start, .fini = stop,
     .timeout = 120)
{
    static const struct {
        const char *query;
        double want;
    } reads[] = {
        { "rpc_duration_seconds{method=\"GET\",quantile=\"0.5\"}", 0.3 },
        { "rpc_duration_seconds{method=\"GET\",quantile=\"0.99\"}", 0.5 },
        { "rpc_duration_seconds_sum{method=\"GET\"}", 2.0 },
        /* Prometheus 2 negotiates OpenMetrics, where client_golang writes 1 as "1.0". */
        { "job_duration_ms{quantile=\"1.0\"}", 120 },
        { "job_duration_ms_count", 2 },
    };
    char pcfg[512];
    struct promrun p;
    double v;

    send_lines();
    snprintf(pcfg, sizeof pcfg,
             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
             "scrape_configs:\n"
             "  - job_name: ustatsd\n"
             "    static_configs:\n      - targets: ['%s']\n",
             listen_addr);
    cr_assert_eq(promrun_start(&p, d.dir, pcfg), 0);
    if (promrun_wait(&p, "rpc_duration_seconds_count{method=\"GET\"} == 6", 60000) != 0) {
        char *l = daemon_read_file(p.log);

        promrun_stop(&p);
        cr_assert_fail("Prometheus never read the summary: %s\n%s", p.last ? p.last : "",
                       l ? l : "");
    }
    cr_assert_eq(promrun_value(&p, "up{job=\"ustatsd\"}", &v), 0);
    cr_assert_eq(v, 1);
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        cr_assert_eq(promrun_value(&p, reads[i].query, &v), 0, "%s: %s", reads[i].query,
                     p.last ? p.last : "");
        cr_assert_float_eq(v, reads[i].want, 1e-9, "%s: %g", reads[i].query, v);
    }
    /* An empty window is NaN in Prometheus too. */
    cr_assert_eq(promrun_value(&p, "idle_seconds{quantile=\"0.9\"}", &v), 0, "%s", p.last);
    cr_assert(isnan(v));
    promrun_stop(&p);
}
