/*
 * End to end through the real binary, ingestion and exposition: the client header and
 * raw datagrams in, both exposition formats out, compared value by value and checked by
 * promtool (text 0.0.4) and a strict OpenMetrics parser; hostile input, a cardinality
 * attack, series expiry, and the event loop's own timing. Configuration, flags and
 * sockets are in test_e2e_config.c, reloads in test_e2e_reload.c.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "statsd.h"
#include "testdata.h"
#include "ustatsd.h"

static const char config[] =
    "{\n"
    "  \"limits\": {\"max_series\": 5000, \"max_series_per_family\": 3000,\n"
    "              \"max_label_value_length\": 64},\n"
    "  \"resource\": {\"service.name\": \"e2e\", \"service.version\": \"1.0\"},\n"
    "  \"groups\": {\"exclude\": [\"host\"]},\n"
    "  \"families\": [\n"
    "    {\"name\": \"requests_total\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "     \"group\": \"api\",\n"
    "     \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},\n"
    "                {\"name\": \"reason\", \"max_values\": 5}]},\n"
    "    {\"name\": \"queue_depth\", \"type\": \"gauge\", \"updown\": true,\n"
    "     \"help\": \"Queue \\\"depth\\\".\",\n"
    "     \"labels\": [{\"name\": \"queue\", \"max_values\": 3}]},\n"
    "    {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"help\": \"Latency.\",\n"
    "     \"unit\": \"seconds\", \"buckets\": [0.01, 0.1, 1]},\n"
    "    {\"name\": \"ml_duration_milliseconds\", \"type\": \"histogram\", \"help\": \"ML "
    "latency.\",\n"
    "     \"unit\": \"milliseconds\", \"buckets\": [10, 100, 1000]},\n"
    "    {\"name\": \"host_load\", \"type\": \"gauge\", \"help\": \"Load.\", \"group\": "
    "\"host\"},\n"
    "    {\"name\": \"users\", \"type\": \"gauge\", \"help\": \"Per user.\",\n"
    "     \"labels\": [{\"name\": \"user_id\", \"max_values\": 1000}]},\n"
    "    {\"name\": \"pairs\", \"type\": \"gauge\", \"help\": \"Two capped labels.\",\n"
    "     \"labels\": [{\"name\": \"a\", \"max_values\": 100},\n"
    "                {\"name\": \"b\", \"max_values\": 100}]},\n"
    "    {\"name\": \"short_lived\", \"type\": \"gauge\", \"help\": \"Expires.\",\n"
    "     \"ttl_seconds\": 1, \"labels\": [{\"name\": \"k\", \"max_values\": 10}]}\n"
    "  ],\n"
    "  \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\"]}\n"
    "}\n";

static struct daemon d;

DAEMON_FIXTURE(d, config)

Test(e2e, client_and_raw_datagrams_aggregate_and_scrape_in_both_formats, .init = start,
     .fini = stop)
{
    struct ustatsd c;
    struct ustatsd_label get_ok[] = { { "method", "GET" }, { "reason", "ok" } };
    struct ustatsd_label mail[] = { { "queue", "mail" } };
    char *text, *om;

    cr_assert_eq(ustatsd_open(&c, d.sock), 0);
    cr_assert_eq(ustatsd_count(&c, "requests", 3, get_ok, 2), 0);
    cr_assert_eq(ustatsd_count_sampled(&c, "requests_total", 1, 0.5, get_ok, 2), 0);
    cr_assert_eq(ustatsd_gauge_set(&c, "queue.depth", 10, mail, 1), 0);
    cr_assert_eq(ustatsd_gauge_add(&c, "queue-depth", -3, mail, 1), 0);
    cr_assert_eq(ustatsd_observe(&c, "latency_seconds", 0.05, NULL, 0), 0);
    cr_assert_eq(ustatsd_timing_ms(&c, "latency_seconds", 500, NULL, 0), 0);
    cr_assert_eq(ustatsd_timing_ms(&c, "ml_duration_milliseconds", 50, NULL, 0), 0);
    cr_assert_eq(ustatsd_flush(&c), 0);
    cr_assert_eq(c.datagrams_dropped, 0);
    ustatsd_close(&c);

    /* Raw datagrams: several lines, packed values, tags in another order, a \r\n end. */
    cr_assert_eq(daemon_sends(&d, "requests:2|c|#reason:ok,method:GET\r\n"
                                  "latency_seconds:0.005:2|h\n"
                                  "ml_duration_milliseconds:5000|ms\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 10, 5000), 10);

    text = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(text, "requests_total{method=\"GET\",reason=\"ok\"}"), 7, 1e-9);
    cr_assert_float_eq(expo_value(text, "queue_depth{queue=\"mail\"}"), 7, 1e-9);
    cr_assert_float_eq(expo_value(text, "latency_seconds_bucket{le=\"0.01\"}"), 1, 1e-9);
    cr_assert_float_eq(expo_value(text, "latency_seconds_bucket{le=\"0.1\"}"), 2, 1e-9);
    cr_assert_float_eq(expo_value(text, "latency_seconds_bucket{le=\"1\"}"), 3, 1e-9);
    cr_assert_float_eq(expo_value(text, "latency_seconds_bucket{le=\"+Inf\"}"), 4, 1e-9);
    cr_assert_float_eq(expo_value(text, "latency_seconds_count"), 4, 1e-9);
    cr_assert_float_eq(expo_value(text, "latency_seconds_sum"), 0.05 + 0.5 + 0.005 + 2, 1e-9);
    /* A milliseconds family keeps ms values unchanged. */
    cr_assert_float_eq(expo_value(text, "ml_duration_milliseconds_bucket{le=\"100\"}"), 1, 1e-9);
    cr_assert_float_eq(expo_value(text, "ml_duration_milliseconds_sum"), 5050, 1e-9);
    cr_assert_float_eq(
        expo_value(text, "target_info{service_name=\"e2e\",service_version=\"1.0\"}"), 1, 1e-9);
    cr_assert_not_null(strstr(text, "# TYPE requests_total counter\n"));
    cr_assert_eq(expo_check(text, 0), 0, "promtool rejected the text exposition");

    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_float_eq(expo_value(om, "requests_total{method=\"GET\",reason=\"ok\"}"), 7, 1e-9);
    cr_assert_float_eq(expo_value(om, "queue_depth{queue=\"mail\"}"), 7, 1e-9);
    cr_assert_float_eq(expo_value(om, "latency_seconds_count"), 4, 1e-9);
    cr_assert_not_null(strstr(om, "# TYPE requests counter\n"));
    cr_assert_not_null(strstr(om, "# UNIT latency_seconds seconds\n"));
    cr_assert_not_null(
        strstr(om, "e2e_job_circuit_state{job=\"mailer\",e2e_job_circuit_state=\"closed\"} 1\n"));
    cr_assert_eq(strcmp(om + strlen(om) - 6, "# EOF\n"), 0, "OpenMetrics must end with # EOF");
    cr_assert_eq(expo_check(om, 1), 0, "the OpenMetrics exposition is invalid");
    free(text);
    free(om);
}

/*
 * A DogStatsD client sets a negative gauge with one signed line: "users:-4|g" twice reads
 * -4. Only queue_depth, declared up-down, adds signed values. The client header's
 * ustatsd_gauge_set() gives the same reading on both kinds.
 */
Test(e2e, signed_gauges_set_unless_the_family_is_up_down, .init = start, .fini = stop)
{
    struct ustatsd c;
    struct ustatsd_label u2[] = { { "user_id", "u2" } }, q2[] = { { "queue", "q2" } };
    char *text;

    cr_assert_eq(daemon_sends(&d, "users:0|g|#user_id:u1\n"
                                  "users:-4|g|#user_id:u1\n"
                                  "users:-4|g|#user_id:u1\n"
                                  "queue_depth:0|g|#queue:q1\n"
                                  "queue_depth:-4|g|#queue:q1\n"
                                  "queue_depth:-4|g|#queue:q1\n"),
                 0);
    cr_assert_eq(ustatsd_open(&c, d.sock), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ustatsd_gauge_set(&c, "users", -7.5, u2, 1), 0);
        cr_assert_eq(ustatsd_gauge_set(&c, "queue_depth", -7.5, q2, 1), 0);
    }
    cr_assert_eq(ustatsd_flush(&c), 0);
    ustatsd_close(&c);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 14, 5000), 14);

    text = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(text, "users{user_id=\"u1\"}"), -4, 1e-9);
    cr_assert_float_eq(expo_value(text, "queue_depth{queue=\"q1\"}"), -8, 1e-9);
    cr_assert_float_eq(expo_value(text, "users{user_id=\"u2\"}"), -7.5, 1e-9);
    cr_assert_float_eq(expo_value(text, "queue_depth{queue=\"q2\"}"), -7.5, 1e-9);
    free(text);
}

Test(e2e, http_status_codes_content_types_gzip_and_keep_alive, .init = start, .fini = stop)
{
    struct httpc h;
    struct httpc_response r;
    int i;

    cr_assert_eq(httpc_open(&h, d.http, 0), 0);
    for (i = 0; i < 3; i++) { /* keep-alive: three requests, one connection */
        cr_assert_eq(httpc_request(&h, "GET", "/metrics", "Accept-Encoding: gzip\r\n"), 0);
        cr_assert_eq(httpc_read(&h, 0, &r), 0);
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.gzip, 1);
        cr_assert_str_eq(httpc_header(&r, "content-type"),
                         "text/plain; version=0.0.4; charset=utf-8; escaping=underscores");
        cr_assert_not_null(strstr(r.body, "ustatsd_lines_accepted_total"));
        httpc_response_release(&r);
    }
    cr_assert_eq(httpc_request(&h, "GET", "/metrics",
                               "Accept: application/openmetrics-text;version=1.0.0,"
                               "application/openmetrics-text;version=0.0.1;q=0.75,"
                               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"),
                 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_str_eq(
        httpc_header(&r, "content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores");
    httpc_response_release(&r);
    cr_assert_eq(httpc_request(&h, "HEAD", "/metrics", NULL), 0);
    cr_assert_eq(httpc_read(&h, 1, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_request(&h, "POST", "/metrics", "Content-Length: 0\r\n"), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 405);
    cr_assert_not_null(httpc_header(&r, "allow"));
    httpc_response_release(&r);
    httpc_close(&h);

    cr_assert_eq(daemon_get(&d, "/nope", NULL, NULL), 404);
    cr_assert_eq(daemon_get(&d, "/-/healthy", NULL, NULL), 200);
    cr_assert_eq(daemon_get(&d, "/-/ready", NULL, NULL), 200);
}

static int reason_of(const char *name)
{
    int r;

    for (r = 1; r < STATSD_REASON_MAX; r++)
        if (strcmp(statsd_reason_name(r), name) == 0)
            return r;
    cr_assert_fail("unknown reason %s", name);
    return 0;
}

/* Every line of proto/testdata/invalid.tsv, one datagram each; returns how many. */
static size_t send_invalid_vectors(double *want)
{
    struct testdata t;
    struct testdata_row row;
    size_t sent = 0;

    testdata_open(&t, "invalid.tsv");
    while (testdata_next(&t, &row)) {
        size_t len;
        char *line = testdata_decode(row.field[1], &len, row.lineno);
        cr_assert_eq(daemon_send(&d, line, len), 0);
        want[reason_of(row.field[0])]++;
        sent++;
        free(line);
    }
    testdata_close(&t);
    return sent;
}

/* Append line to the datagram being filled, sending that first when the line would not fit. */
static void pack_line(char *dgram, size_t cap, size_t *len, const char *line, size_t n)
{
    if (*len + n > cap) {
        cr_assert_eq(daemon_send(&d, dgram, *len), 0);
        *len = 0;
    }
    memcpy(dgram + *len, line, n);
    *len += n;
}

/*
 * The series cap: 60 x 60 pairs of capped labels make 3,600 series for a family capped
 * at 3,000 (max_series_per_family); the last 600 lines are series_cap.
 */
static void send_past_the_series_cap(double *want)
{
    char dgram[8000];
    size_t len = 0;
    int a, b;

    for (a = 0; a < 60; a++) {
        for (b = 0; b < 60; b++) {
            char line[64];
            int n = snprintf(line, sizeof(line), "pairs:1|g|#a:x%d,b:y%d\n", a, b);
            pack_line(dgram, sizeof(dgram), &len, line, (size_t)n);
        }
    }
    cr_assert_eq(daemon_send(&d, dgram, len), 0);
    want[STATSD_SERIES_CAP] += 600;
}

/*
 * Garbage, oversized, NUL-laden and every invalid kind of line from proto/testdata, then
 * one valid line: the valid line counts and every reason went up by what was sent.
 */
Test(e2e, hostile_input_is_counted_by_reason_and_the_daemon_lives_on, .init = start, .fini = stop)
{
    static const char *const daemon_lines[][2] = {
        { "unknown_family", "nope:1|c" },
        { "type_mismatch", "requests:1|g" },
        { "label_not_allowed", "requests:1|c|#upload_id:123" },
        { "label_value_not_allowed", "requests:1|c|#method:PATCH" },
        { "label_value_too_long",
          "requests:1|c|#reason:"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
        { "negative_counter", "requests:-1|c" },
        { "group_excluded", "host_load:1|g" },
        { "unknown_job", "nosuchjob:error|j" },
    };
    static const char garbage[] = "\0\0\0\xff\xfe";
    double want[STATSD_REASON_MAX] = { 0 };
    char big[STATSD_MAX_DATAGRAM + 100];
    struct statsd_line l;
    char *body;
    size_t i;
    int r;

    cr_assert_gt(send_invalid_vectors(want), 20);
    for (i = 0; i < sizeof(daemon_lines) / sizeof(daemon_lines[0]); i++) {
        cr_assert_eq(daemon_sends(&d, daemon_lines[i][1]), 0);
        want[reason_of(daemon_lines[i][0])]++;
    }
    /* A datagram over the limit is dropped whole and counted as truncated. */
    memset(big, 'a', sizeof(big));
    cr_assert_eq(daemon_send(&d, big, sizeof(big)), 0);
    /* Pure garbage: binary with NULs, and a lone newline (an empty line: ignored). */
    r = statsd_parse_line(garbage, sizeof(garbage) - 1, &l);
    cr_assert_neq(r, STATSD_OK);
    cr_assert_eq(daemon_send(&d, garbage, sizeof(garbage) - 1), 0);
    want[r]++;
    cr_assert_eq(daemon_send(&d, "\n", 1), 0);
    send_past_the_series_cap(want);

    cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:POST"), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 3001, 10000), 3001);

    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "requests_total{method=\"POST\"}"), 1, 1e-9);
    cr_assert_float_eq(expo_value(body, "ustatsd_datagrams_truncated_total"), 1, 1e-9);
    cr_assert_float_eq(expo_value(body, "ustatsd_family_series{family=\"pairs\"}"), 3000, 1e-9);
    for (r = 1; r < STATSD_REASON_MAX; r++) {
        char series[128];
        snprintf(series, sizeof(series), "ustatsd_lines_rejected_total{reason=\"%s\"}",
                 statsd_reason_name(r));
        cr_assert_float_eq(expo_value(body, series), want[r], 1e-9, "%s: %g, want %g", series,
                           expo_value(body, series), want[r]);
    }
    /* Raw line content never reaches a label. */
    cr_assert_null(strstr(body, "upload_id"));
    cr_assert_null(strstr(body, "PATCH"));
    cr_assert_eq(expo_check(body, 0), 0);
    free(body);
}

static long rss_kib(pid_t pid)
{
    char path[64], *status, *p;
    long kib = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    status = daemon_read_file(path);
    if (status && (p = strstr(status, "VmRSS:")) != NULL)
        kib = strtol(p + 6, NULL, 10);
    free(status);
    return kib;
}

Test(e2e, cardinality_attack_leaves_memory_bounded_and_counts_the_cap, .init = start, .fini = stop,
     .timeout = 120)
{
    char dgram[8000];
    size_t len = 0;
    long before, after;
    int i;

    before = rss_kib(d.pid);
    for (i = 0; i < 100000; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "users:1|g|#user_id:u%d\n", i);
        pack_line(dgram, sizeof(dgram), &len, line, (size_t)n);
    }
    cr_assert_eq(daemon_send(&d, dgram, len), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"label_values_cap\"}",
                                   99000, 20000),
                 99000);
    {
        char *body = daemon_scrape(&d, NULL);
        cr_assert_float_eq(expo_value(body, "ustatsd_lines_accepted_total"), 1000, 1e-9);
        cr_assert_float_eq(expo_value(body, "ustatsd_family_series{family=\"users\"}"), 1000, 1e-9);
        free(body);
    }
    after = rss_kib(d.pid);
    /* 1000 series of a few hundred bytes: the attack must not cost megabytes. */
    cr_assert_lt(after - before, 4096, "RSS grew from %ld to %ld KiB", before, after);
}

static int short_lived_gone(const char *body, void *arg)
{
    (void)arg;
    return expo_value(body, "ustatsd_family_series{family=\"short_lived\"}") == 0;
}

Test(e2e, expired_series_stop_appearing, .init = start, .fini = stop)
{
    char *body;

    cr_assert_eq(daemon_sends(&d, "short_lived:5|g|#k:a"), 0);
    cr_assert_eq(daemon_wait_value(&d, "short_lived{k=\"a\"}", 5, 5000), 5);
    /* ttl_seconds is 1: the series goes within a sweep or two, without another line. */
    cr_assert_eq(daemon_wait_scrape(&d, short_lived_gone, NULL, 5000), 0, "series did not expire");
    body = daemon_scrape(&d, NULL);
    cr_assert(isnan(expo_value(body, "short_lived{k=\"a\"}")), "series did not expire");
    cr_assert_float_eq(expo_value(body, "ustatsd_family_series{family=\"short_lived\"}"), 0, 1e-9);
    free(body);
}

Test(e2e, a_short_kernel_queue_is_reported_at_start_up, .init = start, .fini = stop)
{
    char *log = daemon_read_file(d.log);
    char *qlen = daemon_read_file("/proc/sys/net/unix/max_dgram_qlen");
    char *body = daemon_scrape(&d, NULL);
    long v = strtol(qlen, NULL, 10);

    cr_assert_float_eq(expo_value(body, "ustatsd_unix_max_dgram_qlen"), (double)v, 1e-9);
    if (v < 512)
        cr_assert_not_null(strstr(log, "net.unix.max_dgram_qlen is"), "%s", log);
    else
        cr_assert_null(strstr(log, "clients drop datagrams"), "%s", log);
    free(log);
    free(qlen);
    free(body);
}

static double seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Every turn of the event loop is timed. Between two scrapes, the turns' busy time and
 * the time spent waiting for events add up to the wall time; datagrams add turns; and
 * the histogram's buckets are cumulative up to its count. The same turns' CPU time is
 * counted turn for turn, and is no more than the wall time.
 *
 * The daemon's interval runs from the turn that answers the first scrape to the turn that
 * answers the second. It holds the time from the first answer's arrival to the second
 * request's sending (inner), and lies within the time from the first request's sending to
 * the second answer's arrival (outer). Both bounds hold however loaded the machine is: a
 * stall of the daemon or of this test lengthens all three alike.
 */
Test(e2e, event_loop_turns_and_waits_add_up_to_the_wall_time, .init = start, .fini = stop)
{
    static const char *const les[] = { "0.0001", "0.001", "0.01", "0.1", "1", "+Inf" };
    char *before, *after, series[96];
    double outer0, inner0, inner1, outer1, turns, busy, waited, cpu, prev = 0;
    size_t i;

    outer0 = seconds_now();
    before = daemon_scrape(&d, NULL);
    inner0 = seconds_now();
    /* Each datagram is read before the next is sent, so each has a turn of its own. */
    for (i = 0; i < 50; i++) {
        cr_assert_eq(daemon_sends(&d, "queue_depth:1|g|#queue:q1"), 0);
        cr_assert_eq(daemon_wait_read(&d, 5000), 0);
    }
    /*
     * Not a wait for an event: this idle stretch is part of the interval under test, so
     * that a daemon which did not count its waiting falls outside the bounds below.
     */
    usleep(250 * 1000);
    inner1 = seconds_now();
    after = daemon_scrape(&d, NULL);
    outer1 = seconds_now();

    turns = expo_value(after, "ustatsd_event_loop_iteration_seconds_count") -
            expo_value(before, "ustatsd_event_loop_iteration_seconds_count");
    busy = expo_value(after, "ustatsd_event_loop_iteration_seconds_sum") -
           expo_value(before, "ustatsd_event_loop_iteration_seconds_sum");
    waited = expo_value(after, "ustatsd_event_loop_idle_seconds_total") -
             expo_value(before, "ustatsd_event_loop_idle_seconds_total");
    cr_assert_geq(turns, 50, "%.0f turns for 50 datagrams, each read before the next", turns);
    cr_assert_gt(busy, 0);
    /* 1 ms of slack each way: the clocks are read a few instructions apart. */
    cr_assert(busy + waited >= inner1 - inner0 - 0.001 && busy + waited <= outer1 - outer0 + 0.001,
              "busy %.4f s + waiting %.4f s, not within [%.4f, %.4f] s of wall time", busy, waited,
              inner1 - inner0, outer1 - outer0);
    for (i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
        double v;
        snprintf(series, sizeof(series), "ustatsd_event_loop_iteration_seconds_bucket{le=\"%s\"}",
                 les[i]);
        v = expo_value(after, series);
        cr_assert_geq(v, prev, "%s", series);
        prev = v;
    }
    cr_assert_float_eq(prev, expo_value(after, "ustatsd_event_loop_iteration_seconds_count"), 0);
    /* The same turns' CPU time: one thread's CPU time never exceeds the wall time. */
    cpu = expo_value(after, "ustatsd_event_loop_iteration_cpu_seconds_sum") -
          expo_value(before, "ustatsd_event_loop_iteration_cpu_seconds_sum");
    cr_assert_float_eq(expo_value(after, "ustatsd_event_loop_iteration_cpu_seconds_count") -
                           expo_value(before, "ustatsd_event_loop_iteration_cpu_seconds_count"),
                       turns, 0);
    cr_assert(cpu > 0 && cpu <= outer1 - outer0, "CPU %.4f s in %.4f s of wall time", cpu,
              outer1 - outer0);
    free(before);
    free(after);
}
