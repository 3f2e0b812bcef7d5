/*
 * The JSON debug view end to end: every section parsed with jansson and checked against
 * what was sent, the 400s, the bearer token and the rejects ring's bound.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/cfgclient.h"
#include "daemon.h"
#include "httpc.h"
#include "selfcheck.h"

static const char config[] =
    "{\n"
    "  \"families\": [\n"
    "    {\"name\": \"requests_total\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "     \"group\": \"api\",\n"
    "     \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},\n"
    "                {\"name\": \"route\", \"max_values\": 5}]},\n"
    "    {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"help\": \"Latency.\",\n"
    "     \"buckets\": [0.1, 1]},\n"
    "    {\"name\": \"users\", \"type\": \"gauge\", \"help\": \"Per user.\",\n"
    "     \"labels\": [{\"name\": \"user_id\", \"max_values\": 100000}]}\n"
    "  ],\n"
    "  \"limits\": {\"max_series\": 200000, \"max_series_per_family\": 150000},\n"
    "  \"jobs\": {\"list\": [{\"name\": \"mailer\", \"failure_threshold\": 1}]}\n"
    "}\n";

static struct daemon d;

DAEMON_FIXTURE(d, config)

static json_t *get_json(const char *target, int want_status)
{
    char *body = NULL;
    json_error_t err;
    json_t *j;
    int st = daemon_get(&d, target, NULL, &body);

    cr_assert_eq(st, want_status, "GET %s: %d", target, st);
    j = json_loads(body, 0, &err);
    cr_assert_not_null(j, "GET %s: invalid JSON (%s at %d): %.200s", target, err.text, err.line,
                       body);
    free(body);
    cr_assert_eq(json_integer_value(json_object_get(j, "schema")), 1);
    return j;
}

/* The daemon section: version, files, socket, uptime, limits. */
static void check_daemon(const json_t *all)
{
    json_t *s;

    s = json_object_get(all, "daemon");
    cr_assert_str_eq(json_string_value(json_object_get(s, "version")), "0.1.0");
    cr_assert_str_eq(json_string_value(json_object_get(s, "config_file")), d.config);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "socket"), "path")),
                     d.sock);
    cr_assert(json_is_number(json_object_get(json_object_get(s, "socket"), "max_dgram_qlen")));
    cr_assert(json_real_value(json_object_get(s, "uptime_seconds")) >= 0);
    cr_assert(json_is_object(json_object_get(s, "limits")));
    /* Series over all families against the global cap, and the loop's turns. */
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "series"), "total")), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "series"), "limit")),
                 200000);
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(s, "series"), "memory_bytes")),
                 0);
    s = json_object_get(s, "event_loop");
    cr_assert_gt(json_integer_value(json_object_get(s, "iterations")), 0);
    s = json_object_get(s, "buckets");
    cr_assert_eq(json_array_size(s), 13);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(s, 12), "le")), "+Inf");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(s, 12), "count")),
                 json_integer_value(json_object_get(
                     json_object_get(json_object_get(all, "daemon"), "event_loop"), "iterations")),
                 "cumulative: +Inf holds every turn");
}

/* The ingest section counts the datagram and every line by outcome. */
static void check_ingest(const json_t *all)
{
    json_t *s;
    json_t *v;

    s = json_object_get(all, "ingest");
    cr_assert_eq(json_integer_value(json_object_get(s, "datagrams")), 1);
    cr_assert_eq(json_integer_value(json_object_get(s, "lines_accepted")), 3);
    cr_assert_eq(json_integer_value(json_object_get(s, "lines_rejected")), 2);
    v = json_object_get(s, "rejected_by_reason");
    cr_assert_eq(json_integer_value(json_object_get(v, "label_not_allowed")), 1);
    cr_assert_eq(json_integer_value(json_object_get(v, "unknown_family")), 1);
}

/* The families section: the counter with its capped label and the value seen, and the
 * gauge, not up-down. */
static void check_families(const json_t *all)
{
    json_t *s;
    json_t *v;

    s = json_object_get(all, "families");
    cr_assert_eq(json_array_size(s), 3 + CFGCLIENT_NFAMILIES, "and the client telemetry's");
    v = json_array_get(s, 0);
    cr_assert_str_eq(json_string_value(json_object_get(v, "name")), "requests");
    cr_assert_str_eq(json_string_value(json_object_get(v, "type")), "counter");
    cr_assert_eq(json_integer_value(json_object_get(v, "series")), 1);
    cr_assert_eq(json_integer_value(json_object_get(v, "lines")), 1, "the refused line is not");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(s, 1), "lines")), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(s, 2), "lines")), 0);
    cr_assert_null(json_object_get(v, "updown"));
    cr_assert(json_is_false(json_object_get(json_array_get(s, 2), "updown")));
    v = json_array_get(json_object_get(v, "labels"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(v, "name")), "route");
    cr_assert_eq(json_integer_value(json_object_get(v, "distinct_values")), 1);
    cr_assert_eq(json_integer_value(json_object_get(v, "cap")), 5);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "seen"), 0)), "/a");
}

/* The series section holds the counter and the histogram with their values. */
static void check_series(const json_t *all)
{
    json_t *s;
    json_t *v;
    size_t i;
    int found = 0;

    s = json_object_get(all, "series");
    for (i = 0; i < json_array_size(s); i++) {
        v = json_array_get(s, i);
        if (strcmp(json_string_value(json_object_get(v, "family")), "requests") == 0) {
            cr_assert_float_eq(json_number_value(json_object_get(v, "value")), 2, 1e-9);
            cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(v, "labels"), "method")), "GET");
            cr_assert(json_number_value(json_object_get(v, "last_update")) > 1.7e9);
            found++;
        }
        if (strcmp(json_string_value(json_object_get(v, "family")), "latency_seconds") == 0) {
            cr_assert_eq(json_integer_value(json_object_get(v, "count")), 1);
            cr_assert_eq(json_array_size(json_object_get(v, "buckets")), 3);
            found++;
        }
    }
    cr_assert_eq(found, 2);
}

/* The jobs section: the breaker opened by one error. */
static void check_jobs(const json_t *all)
{
    json_t *s;

    s = json_array_get(json_object_get(all, "jobs"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(s, "job")), "mailer");
    cr_assert_str_eq(json_string_value(json_object_get(s, "state")), "open");
    cr_assert_eq(json_integer_value(json_object_get(s, "consecutive_failures")), 1);
    cr_assert_eq(json_integer_value(json_object_get(s, "failure_threshold")), 1);
    cr_assert(json_is_null(json_object_get(s, "last_success")));
}

/* The rejects section: both rejected lines, newest first, with their sender. */
static void check_rejects(const json_t *all)
{
    json_t *s;
    json_t *v;

    s = json_object_get(all, "rejects");
    cr_assert_eq(json_array_size(s), 2);
    v = json_array_get(s, 0); /* newest first */
    cr_assert_str_eq(json_string_value(json_object_get(v, "reason")), "unknown_family");
    cr_assert_str_eq(json_string_value(json_object_get(v, "line")), "nope:1|c");
    cr_assert_eq(json_integer_value(json_object_get(v, "pid")), getpid());
    cr_assert_eq(json_integer_value(json_object_get(v, "uid")), getuid());
    v = json_array_get(s, 1);
    cr_assert_str_eq(json_string_value(json_object_get(v, "reason")), "label_not_allowed");
    cr_assert_str_eq(json_string_value(json_object_get(v, "line")),
                     "requests:1|c|#upload_id:abc123");
}

Test(e2e_debug, every_section_reflects_what_was_sent, .init = start, .fini = stop)
{
    json_t *all;

    cr_assert_eq(daemon_sends(&d, "requests:2|c|#method:GET,route:/a\n"
                                  "latency_seconds:0.5|h\n"
                                  "mailer:error|j\n"
                                  "requests:1|c|#upload_id:abc123\n"
                                  "nope:1|c\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 3, 5000), 3);

    all = get_json("/debug", 200);
    check_daemon(all);
    check_ingest(all);
    check_families(all);
    check_series(all);
    check_jobs(all);
    check_rejects(all);
    json_decref(all);

    /* The rejected line content is only in /debug, never in /metrics. */
    {
        char *body = daemon_scrape(&d, NULL);
        cr_assert_null(strstr(body, "abc123"));
        free(body);
    }
}

/* /metrics and /debug render one reading: every value they share agrees. */
Test(e2e_debug, metrics_and_debug_agree_on_every_counter, .init = start, .fini = stop)
{
    char *body;
    json_t *j, *ingest;

    cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:GET\nnope:1|c\nrequests:x|c\n"), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000), 1);
    body = daemon_scrape(&d, NULL);
    j = get_json("/debug", 200);
    selfcheck_agree(body, j, NULL);
    ingest = json_object_get(j, "ingest");
    cr_assert(json_is_integer(json_object_get(ingest, "receive_errors")));
    cr_assert(json_is_integer(json_object_get(ingest, "budget_exhausted")));
    cr_assert(json_is_integer(json_object_get(ingest, "batches_cut")));
    cr_assert(json_is_integer(json_object_get(ingest, "wakeups")));
    cr_assert_eq(json_integer_value(json_object_get(ingest, "lines_rejected")), 2);
    cr_assert_eq(expo_value(body, "ustatsd_datagrams_receive_errors_total"), 0);
    cr_assert_geq(expo_value(body, "ustatsd_ingest_budget_exhausted_total"), 0);
    cr_assert_eq(expo_value(body, "ustatsd_ingest_batches_cut_total"), 0);
    /* One datagram: at least one drain took it in, and none ran without a readable event. */
    cr_assert_geq(expo_value(body, "ustatsd_ingest_wakeups_total"), 1);
    cr_assert_leq(expo_value(body, "ustatsd_ingest_wakeups_total"),
                  expo_value(body, "ustatsd_datagrams_received_total"));
    json_decref(j);
    free(body);
}

Test(e2e_debug, section_family_limit_and_pretty_narrow_the_output, .init = start, .fini = stop)
{
    json_t *j;
    char *body = NULL;
    int i;

    for (i = 0; i < 30; i++) {
        char line[64];
        snprintf(line, sizeof(line), "users:%d|g|#user_id:u%d", i, i);
        cr_assert_eq(daemon_sends(&d, line), 0);
    }
    cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:POST"), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 31, 5000), 31);

    j = get_json("/debug?section=series&family=users&limit=10", 200);
    cr_assert_null(json_object_get(j, "daemon"));
    cr_assert_null(json_object_get(j, "rejects"));
    cr_assert_eq(json_array_size(json_object_get(j, "series")), 10);
    cr_assert(json_is_true(json_object_get(j, "series_truncated")));
    for (i = 0; i < 10; i++)
        cr_assert_str_eq(json_string_value(json_object_get(
                             json_array_get(json_object_get(j, "series"), (size_t)i), "family")),
                         "users");
    json_decref(j);

    j = get_json("/debug?section=families&family=requests_total", 200);
    cr_assert_eq(json_array_size(json_object_get(j, "families")), 1);
    json_decref(j);

    j = get_json("/debug?section=families&family=users&seen=0", 200);
    cr_assert_null(json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(j, "families"), 0), "labels"),
                       0),
        "seen"));
    cr_assert_eq(
        json_integer_value(json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(j, "families"), 0), "labels"), 0),
            "distinct_values")),
        30, "the count stays");
    json_decref(j);

    j = get_json("/debug?section=jobs,daemon", 200);
    cr_assert(json_is_object(json_object_get(j, "daemon")));
    cr_assert(json_is_array(json_object_get(j, "jobs")));
    cr_assert_null(json_object_get(j, "ingest"));
    cr_assert_null(json_object_get(j, "series"));
    json_decref(j);

    cr_assert_eq(daemon_get(&d, "/debug?section=jobs&pretty=1", NULL, &body), 200);
    cr_assert_not_null(strstr(body, "\n  \"jobs\": ["), "%s", body);
    free(body);
}

Test(e2e_debug, bad_parameters_get_400_with_a_json_error, .init = start, .fini = stop)
{
    static const char *const bad[] = {
        "/debug?bogus=1",         "/debug?section=nope",
        "/debug?family=unknown",  "/debug?limit=0",
        "/debug?limit=abc",       "/debug?pretty=2",
        "/debug?seen=yes",        "/debug?section=daemon&section=ingest",
        "/debug?section=daemon,", "/debug?section=daemon,nope",
        "/debug?family=%zz",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = get_json(bad[i], 400);
        cr_assert(json_is_string(json_object_get(j, "error")), "%s", bad[i]);
        json_decref(j);
    }
}

Test(e2e_debug, rejects_ring_keeps_the_last_100_and_cuts_lines_to_200_bytes, .init = start,
     .fini = stop)
{
    char line[400];
    json_t *j, *r;
    int i;

    for (i = 0; i < 150; i++) {
        snprintf(line, sizeof(line), "unknown_%d:1|c", i);
        cr_assert_eq(daemon_sends(&d, line), 0);
    }
    memset(line, 'x', 300);
    memcpy(line, "long", 4);
    memcpy(line + 300, ":1|c", 5);
    cr_assert_eq(daemon_sends(&d, line), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"name_too_long\"}", 1, 5000),
        1);
    j = get_json("/debug?section=rejects", 200);
    r = json_object_get(j, "rejects");
    cr_assert_eq(json_array_size(r), 100);
    cr_assert_eq(json_integer_value(json_object_get(j, "rejects_total")), 151);
    cr_assert_eq(strlen(json_string_value(json_object_get(json_array_get(r, 0), "line"))), 200);
    cr_assert(json_is_true(json_object_get(json_array_get(r, 0), "line_cut")));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 1), "line")),
                     "unknown_149:1|c");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 99), "line")),
                     "unknown_51:1|c");
    json_decref(j);
}

struct render_arg {
    volatile int done;
    int status;
    json_t *j;
    double secs; /* the GET, request to last byte */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* No Criterion assertion here: they belong to the test's own thread. */
static void *render_thread(void *p)
{
    struct render_arg *a = p;
    char *body = NULL;
    double t0 = now_s();

    a->status = daemon_get(&d, "/debug?section=series&family=users&limit=1000000", NULL, &body);
    a->secs = now_s() - t0;
    a->done = 1; /* the daemon's part is over */
    a->j = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return NULL;
}

Test(e2e_debug, a_large_registry_renders_as_valid_json_while_ingestion_goes_on, .init = start,
     .fini = stop, .timeout = 120)
{
    char dgram[8000];
    size_t len = 0;
    json_t *j;
    int i;

    for (i = 0; i < 100000; i++) {
        char l[64];
        int n = snprintf(l, sizeof(l), "users:%d|g|#user_id:u%d\n", i, i);
        if (len + (size_t)n > sizeof(dgram)) {
            cr_assert_eq(daemon_send(&d, dgram, len), 0);
            len = 0;
        }
        memcpy(dgram + len, l, (size_t)n);
        len += (size_t)n;
    }
    cr_assert_eq(daemon_send(&d, dgram, len), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 100000, 30000), 100000);
    {
        /* While a large render runs in another thread, health checks answer promptly. */
        struct render_arg ra = { 0, 0, NULL, 0 };
        pthread_t th;
        double t0 = now_s(), worst = 0;
        cr_assert_eq(pthread_create(&th, NULL, render_thread, &ra), 0);
        while (!ra.done && now_s() - t0 < 20) {
            double h0 = now_s();
            cr_assert_eq(daemon_get(&d, "/-/healthy", NULL, NULL), 200);
            if (now_s() - h0 > worst)
                worst = now_s() - h0;
            cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:GET"), 0);
        }
        pthread_join(th, NULL);
        /*
         * A render held whole delays a check by most of the render (measured: 77-86% of
         * it, ASan); one that yields, by a piece or two (5-13 ms on an idle machine, at
         * most 11% of the render on a loaded one). Load stretches both alike.
         */
        cr_assert_lt(worst, ra.secs / 2, "/-/healthy took %.3f s during a %.3f s render", worst,
                     ra.secs);
        cr_assert_eq(ra.status, 200);
        cr_assert_not_null(ra.j, "the render is not valid JSON");
        j = ra.j;
    }
    cr_assert_eq(json_array_size(json_object_get(j, "series")), 100000);
    cr_assert(json_is_false(json_object_get(j, "series_truncated")));
    json_decref(j);
}

Test(e2e_debug, separate_listener_and_disabled_debug)
{
    char dir_listen[256];
    const char *args[] = { "--debug-listen", dir_listen, NULL };
    const char *off[] = { "--debug-listen", "", NULL };
    struct httpc_response r;

    snprintf(dir_listen, sizeof(dir_listen), "unix:/tmp/ustatsd-dbg-%d.sock", (int)getpid());
    cr_assert_eq(daemon_start(&d, config, args), 0);
    cr_assert_eq(daemon_get(&d, "/debug", NULL, NULL), 404, "debug still on the metrics listener");
    cr_assert_eq(httpc_get(dir_listen, "/debug?section=daemon", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "\"daemon\""));
    httpc_response_release(&r);
    cr_assert_eq(daemon_stop(&d), 0);

    cr_assert_eq(daemon_start(&d, config, off), 0);
    cr_assert_eq(daemon_get(&d, "/debug", NULL, NULL), 404);
    cr_assert_eq(daemon_stop(&d), 0);
}
