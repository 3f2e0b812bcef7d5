/*
 * End to end through the real binary: the client header and raw datagrams in, both
 * exposition formats out, compared value by value and checked by promtool (text 0.0.4)
 * and a strict OpenMetrics parser.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    "    {\"name\": \"queue_depth\", \"type\": \"gauge\", \"help\": \"Queue \\\"depth\\\".\",\n"
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

static void start(void)
{
    cr_assert_eq(daemon_start(&d, config, NULL), 0, "daemon did not start");
}

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

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
                         "text/plain; version=0.0.4; charset=utf-8");
        cr_assert_not_null(strstr(r.body, "ustatsd_lines_accepted_total"));
        httpc_response_release(&r);
    }
    cr_assert_eq(httpc_request(&h, "GET", "/metrics",
                               "Accept: application/openmetrics-text;version=1.0.0,"
                               "application/openmetrics-text;version=0.0.1;q=0.75,"
                               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"),
                 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_str_eq(httpc_header(&r, "content-type"),
                     "application/openmetrics-text; version=1.0.0; charset=utf-8");
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
    double want[STATSD_REASON_MAX] = { 0 };
    struct testdata t;
    struct testdata_row row;
    char big[STATSD_MAX_DATAGRAM + 100];
    char *body;
    size_t i, sent = 0;
    int r;

    testdata_open(&t, "invalid.tsv");
    while (testdata_next(&t, &row)) {
        size_t len;
        char *line = testdata_decode(row.field[1], &len, row.lineno);
        for (r = 1; r < STATSD_REASON_MAX; r++)
            if (strcmp(statsd_reason_name(r), row.field[0]) == 0)
                break;
        cr_assert_lt(r, STATSD_REASON_MAX, "line %d: unknown reason %s", row.lineno, row.field[0]);
        cr_assert_eq(daemon_send(&d, line, len), 0);
        want[r]++;
        sent++;
        free(line);
    }
    testdata_close(&t);
    cr_assert_gt(sent, 20);
    for (i = 0; i < sizeof(daemon_lines) / sizeof(daemon_lines[0]); i++) {
        for (r = 1; r < STATSD_REASON_MAX; r++)
            if (strcmp(statsd_reason_name(r), daemon_lines[i][0]) == 0)
                break;
        cr_assert_eq(daemon_sends(&d, daemon_lines[i][1]), 0);
        want[r]++;
    }
    /* A datagram over the limit is dropped whole and counted as truncated. */
    memset(big, 'a', sizeof(big));
    cr_assert_eq(daemon_send(&d, big, sizeof(big)), 0);
    /* Pure garbage: binary with NULs, and a lone newline (an empty line: ignored). */
    {
        static const char garbage[] = "\0\0\0\xff\xfe";
        struct statsd_line l;
        r = statsd_parse_line(garbage, sizeof(garbage) - 1, &l);
        cr_assert_neq(r, STATSD_OK);
        cr_assert_eq(daemon_send(&d, garbage, sizeof(garbage) - 1), 0);
        want[r]++;
        cr_assert_eq(daemon_send(&d, "\n", 1), 0);
    }

    /*
     * The series cap: 60 x 60 pairs of capped labels make 3,600 series for a family
     * capped at 3,000 (max_series_per_family); the last 600 lines are series_cap.
     */
    {
        char dgram[8000];
        size_t len = 0;
        int a, b;
        for (a = 0; a < 60; a++) {
            for (b = 0; b < 60; b++) {
                char line[64];
                int n = snprintf(line, sizeof(line), "pairs:1|g|#a:x%d,b:y%d\n", a, b);
                if (len + (size_t)n > sizeof(dgram)) {
                    cr_assert_eq(daemon_send(&d, dgram, len), 0);
                    len = 0;
                }
                memcpy(dgram + len, line, (size_t)n);
                len += (size_t)n;
            }
        }
        cr_assert_eq(daemon_send(&d, dgram, len), 0);
        want[STATSD_SERIES_CAP] += 600;
    }

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
        if (len + (size_t)n > sizeof(dgram)) {
            cr_assert_eq(daemon_send(&d, dgram, len), 0);
            len = 0;
        }
        memcpy(dgram + len, line, (size_t)n);
        len += (size_t)n;
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

Test(e2e, expired_series_stop_appearing, .init = start, .fini = stop)
{
    char *body;

    cr_assert_eq(daemon_sends(&d, "short_lived:5|g|#k:a"), 0);
    cr_assert_eq(daemon_wait_value(&d, "short_lived{k=\"a\"}", 5, 5000), 5);
    usleep(2500 * 1000);
    body = daemon_scrape(&d, NULL);
    cr_assert(isnan(expo_value(body, "short_lived{k=\"a\"}")), "series did not expire");
    cr_assert_float_eq(expo_value(body, "ustatsd_family_series{family=\"short_lived\"}"), 0, 1e-9);
    free(body);
}

Test(e2e, json_logs_carry_level_pid_timestamp_message_and_context)
{
    const char *args[] = { "--log-format", "json", NULL };
    char *log, *line;

    cr_assert_eq(daemon_start(&d, config, args), 0);
    log = daemon_read_file(d.log);
    cr_assert_not_null(log);
    cr_assert_eq(daemon_stop(&d), 0);
    line = strtok(log, "\n");
    cr_assert_not_null(line);
    for (; line; line = strtok(NULL, "\n")) {
        cr_assert_eq(line[0], '{', "not JSON: %s", line);
        cr_assert_not_null(strstr(line, "\"level\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"pid\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"timestamp\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"message\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"context\":"), "%s", line);
    }
    free(log);
}

Test(e2e, invalid_config_is_refused_naming_file_path_and_problem)
{
    char path[] = "/tmp/ustatsd-badcfg-XXXXXX";
    const char *check[] = { "--check-config", path, NULL };
    const char *run[] = { "--config", path, "--socket", "/tmp/ustatsd-never.sock", NULL };
    char *out = NULL;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    fputs("{\"families\": [{\"name\": \"x\", \"type\": \"counter\", \"buckets\": [1]}]}", f);
    fclose(f);
    cr_assert_eq(daemon_run_once(check, &out), 1);
    cr_assert_not_null(strstr(out, path), "message does not name the file: %s", out);
    cr_assert_not_null(strstr(out, "$.families[0]"), "message does not name the path: %s", out);
    free(out);
    cr_assert_eq(daemon_run_once(run, &out), 1);
    cr_assert_not_null(strstr(out, "$.families[0]"), "%s", out);
    cr_assert_eq(access("/tmp/ustatsd-never.sock", F_OK), -1);
    free(out);
    unlink(path);
}

Test(e2e, check_config_refuses_a_conninfo_the_daemon_would_refuse)
{
    char path[] = "/tmp/ustatsd-pgcfg-XXXXXX";
    const char *check[] = { "--check-config", path, NULL };
    char *out = NULL;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    fputs("{\"postgres\": {\"conninfo\": \"host=db.example.com dbname=x password=hunter2\"}}", f);
    fclose(f);
    cr_assert_eq(daemon_run_once(check, &out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "$.postgres.conninfo"), "%s", out);
    cr_assert_null(strstr(out, "hunter2"), "the message quotes the password: %s", out);
    free(out);
    unlink(path);
}

Test(e2e, check_config_accepts_the_example_and_every_seed)
{
    static const char *const files[] = {
        "packaging/ustatsd.example.json",    "packaging/seeds/000-imgsrv.json",
        "packaging/seeds/001-imgforge.json", "packaging/seeds/002-connaisseur.json",
        "packaging/seeds/003-gallery.json",  "packaging/seeds/004-inference.json",
    };
    char path[512];
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *args[] = { "--check-config", path, NULL };
        char *out = NULL;
        snprintf(path, sizeof(path), "%s/%s", USTATSD_SOURCE_DIR, files[i]);
        cr_assert_eq(daemon_run_once(args, &out), 0, "%s: %s", files[i], out);
        free(out);
    }
}

Test(e2e, socket_path_that_is_not_a_socket_is_refused)
{
    char dir[] = "/tmp/ustatsd-notsock-XXXXXX";
    char path[128], cfgpath[160];
    const char *args[] = { "--config", cfgpath, "--socket", path, "--metrics-listen", "", NULL };
    char *out = NULL;
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/plain-file", dir);
    snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", dir);
    f = fopen(path, "w");
    fputs("precious", f);
    fclose(f);
    f = fopen(cfgpath, "w");
    fputs(config, f);
    fclose(f);
    cr_assert_eq(daemon_run_once(args, &out), 1);
    cr_assert_not_null(strstr(out, path), "message does not name the path: %s", out);
    free(out);
    out = daemon_read_file(path);
    cr_assert_str_eq(out, "precious");
    free(out);
    unlink(path);
    unlink(cfgpath);
    rmdir(dir);
}

Test(e2e, stale_socket_from_a_crash_is_replaced)
{
    const char *args[] = { NULL };
    struct daemon first;

    cr_assert_eq(daemon_start(&first, config, args), 0);
    /* A crash leaves the socket file behind. */
    kill(first.pid, SIGKILL);
    waitpid(first.pid, NULL, 0);
    first.pid = 0;
    {
        struct stat st;
        cr_assert_eq(lstat(first.sock, &st), 0);
        cr_assert(S_ISSOCK(st.st_mode));
    }
    {
        /* A second daemon on the same path starts and serves. */
        char sock[192];
        const char *again[] = { "--socket", sock, NULL };
        snprintf(sock, sizeof(sock), "%s", first.sock);
        cr_assert_eq(daemon_start(&d, config, again), 0);
        cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:GET"), 0);
        cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000), 1);
        cr_assert_eq(daemon_stop(&d), 0);
    }
    daemon_stop(&first);
}

Test(e2e, socket_mode_is_applied)
{
    const char *args[] = { "--socket-mode", "0600", NULL };
    struct stat st;

    cr_assert_eq(daemon_start(&d, config, args), 0);
    cr_assert_eq(lstat(d.sock, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(daemon_stop(&d), 0);
}

static void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_eq(fputs(json, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

/* Send SIGHUP and wait until the reload counter of result reaches want. */
static void reload_and_wait(const char *result, double want)
{
    char series[96];

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want, "%s", series);
}

static const char reload_before[] =
    "{\"families\": [\n"
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\"]}]},\n"
    "  {\"name\": \"old_depth\", \"type\": \"gauge\", \"help\": \"Removed by the reload.\"},\n"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"help\": \"L.\",\n"
    "   \"buckets\": [0.1, 1]}],\n"
    " \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\"]}}\n";

/* POST allowed, old_depth gone, latency rebucketed, a family and a job added. */
static const char reload_after[] =
    "{\"families\": [\n"
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests, reloaded.\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},\n"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"help\": \"L.\",\n"
    "   \"buckets\": [0.5, 2]},\n"
    "  {\"name\": \"fresh\", \"type\": \"counter\", \"help\": \"Added by the reload.\"}],\n"
    " \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\", \"indexer\"]}}\n";

Test(e2e, sighup_reloads_the_allowlist_and_keeps_the_series_it_still_allows, .fini = stop)
{
    char *text, *dbg = NULL;
    struct stat st;

    cr_assert_eq(daemon_start(&d, reload_before, NULL), 0);
    cr_assert_eq(daemon_sends(&d, "requests:3|c|#method:GET\nold_depth:7|g\n"
                                  "latency_seconds:0.05|h\nmailer:error|j"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 4, 5000), 4);
    cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:POST"), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"label_value_not_allowed\"}", 1,
                          5000),
        1);

    write_config(reload_after);
    reload_and_wait("success", 1);
    cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:POST\nrequests:1|c|#method:GET\n"
                                  "fresh:2|c\nlatency_seconds:0.05|h\nold_depth:1|g"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 8, 5000), 8);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 1, 5000),
        1);
    text = daemon_scrape(&d, NULL);
    /* Kept: the GET count goes on from 3. */
    cr_assert_eq(expo_value(text, "requests_total{method=\"GET\"}"), 4, "%s", text);
    cr_assert_eq(expo_value(text, "requests_total{method=\"POST\"}"), 1);
    cr_assert_not_null(strstr(text, "# HELP requests_total Requests, reloaded.\n"));
    cr_assert_eq(expo_value(text, "fresh_total"), 2);
    cr_assert(isnan(expo_value(text, "old_depth")), "a removed family is still exposed");
    /* New buckets: the series starts again with only the observation after the reload. */
    cr_assert_eq(expo_value(text, "latency_seconds_bucket{le=\"0.5\"}"), 1);
    cr_assert_eq(expo_value(text, "latency_seconds_count"), 1);
    cr_assert(isnan(expo_value(text, "latency_seconds_bucket{le=\"0.1\"}")));
    /* The job kept its counts; the new one starts at zero. */
    cr_assert_eq(expo_value(text, "e2e_job_errors_total{job=\"mailer\"}"), 1);
    cr_assert_eq(expo_value(text, "e2e_job_errors_total{job=\"indexer\"}"), 0);
    cr_assert_eq(expo_value(text, "ustatsd_config_last_reload_successful"), 1);
    cr_assert_eq(expo_value(text, "ustatsd_family_series{family=\"fresh\"}"), 1);
    cr_assert(isnan(expo_value(text, "ustatsd_family_series{family=\"old_depth\"}")));
    cr_assert_eq(expo_check(text, 0), 0);
    free(text);
    text = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_check(text, 1), 0);
    free(text);

    /* A broken file: refused, with the file, the key and the problem; the old one runs. */
    write_config("{\"families\": [{\"name\": \"x\", \"type\": \"countr\"}]}");
    reload_and_wait("failure", 1);
    text = daemon_read_file(d.log);
    cr_assert_not_null(strstr(text, "reload refused"), "%s", text);
    cr_assert_not_null(strstr(text, "config.json: $.families[0].type"), "%s", text);
    free(text);
    cr_assert_eq(daemon_sends(&d, "fresh:1|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "fresh_total", 3, 5000), 3);
    text = daemon_scrape(&d, NULL);
    cr_assert_eq(expo_value(text, "ustatsd_config_last_reload_successful"), 0);
    free(text);

    /* What only a restart can change is refused by name, and shows in the debug view. */
    write_config("{\"daemon\": {\"socket_mode\": \"0600\"}, \"families\": []}");
    reload_and_wait("failure", 2);
    cr_assert_eq(stat(d.sock, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0660);
    cr_assert_eq(daemon_get(&d, "/debug?section=daemon", NULL, &dbg), 200);
    cr_assert_not_null(strstr(dbg, "\"failed\":2"), "%s", dbg);
    cr_assert_not_null(strstr(dbg, "$.daemon.socket_mode: differs from the running"), "%s", dbg);
    free(dbg);

    /* A good file again: accepted, and the failure clears. */
    write_config(reload_after);
    reload_and_wait("success", 2);
    text = daemon_scrape(&d, NULL);
    cr_assert_eq(expo_value(text, "ustatsd_config_last_reload_successful"), 1);
    cr_assert_eq(expo_value(text, "fresh_total"), 3);
    free(text);
}

static const char reload_big[] =
    "{\"limits\": {\"max_series_per_family\": 20000},\n"
    " \"families\": [{\"name\": \"big\", \"type\": \"gauge\", \"help\": \"Many series.\",\n"
    "   \"labels\": [{\"name\": \"k\", \"max_values\": 20000}]}]}\n";

/*
 * A SIGHUP while the series the last reload dropped are being freed waits for them: the
 * daemon never holds two reloads' worth. 20,000 series take 0.5 s to free.
 */
Test(e2e, a_reload_during_a_drain_waits_for_it, .fini = stop)
{
    char dgram[8192], *log;
    size_t len = 0;

    cr_assert_eq(daemon_start(&d, reload_big, NULL), 0);
    for (int i = 0; i < 20000; i++) {
        len += (size_t)snprintf(dgram + len, sizeof dgram - len, "big:1|g|#k:v%d\n", i);
        if (len > sizeof dgram - 64 || i == 19999) {
            cr_assert_eq(daemon_send(&d, dgram, len - 1), 0);
            len = 0;
        }
    }
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 20000, 10000), 20000);
    write_config("{\"families\": []}");
    reload_and_wait("success", 1);
    write_config(reload_big);
    reload_and_wait("success", 2);
    log = daemon_read_file(d.log);
    cr_assert_not_null(strstr(log, "reload deferred until the"), "%s", log);
    free(log);
    cr_assert_eq(daemon_sends(&d, "big:5|g|#k:again"), 0);
    cr_assert_eq(daemon_wait_value(&d, "big{k=\"again\"}", 5, 5000), 5);
}

/* The README's run command uses the example config: its exposition must be clean. */
Test(e2e, example_config_serves_a_clean_exposition)
{
    char path[512];
    char *cfg, *text, *om;

    snprintf(path, sizeof(path), "%s/packaging/ustatsd.example.json", USTATSD_SOURCE_DIR);
    cfg = daemon_read_file(path);
    cr_assert_not_null(cfg);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
    cr_assert_eq(daemon_sends(&d, "imgsrv_objectstore_operations_total:1|c|#operation:get,"
                                  "outcome:success\n"
                                  "imgsrv_objectstore_operation_duration_seconds:12|ms|#operation:"
                                  "put,outcome:error\n"
                                  "inference_latency_seconds:0.07|h|#model:resnet,version:v1,"
                                  "tenant:acme\n"
                                  "job_queue_depth:+3|g|#model:resnet,version:v1\n"
                                  "publish:worked|j\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 5, 5000), 5);
    text = daemon_scrape(&d, NULL);
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_float_eq(expo_value(text, "imgsrv_objectstore_operation_duration_seconds_sum{"
                                        "operation=\"put\",outcome=\"error\"}"),
                       0.012, 1e-12);
    cr_assert_eq(expo_check(text, 0), 0);
    cr_assert_eq(expo_check(om, 1), 0);
    free(text);
    free(om);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e, environment_variables_configure_the_daemon_and_flags_win)
{
    const char *args[] = { "--metrics-path", "/flag-metrics", NULL };
    char *log;

    setenv("USTATSD_METRICS_PATH", "/env-metrics", 1);
    setenv("USTATSD_LOG_FORMAT", "json", 1);
    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    cr_assert_eq(daemon_get(&d, "/env-metrics", NULL, NULL), 200);
    cr_assert_eq(daemon_get(&d, "/metrics", NULL, NULL), 404);
    log = daemon_read_file(d.log);
    cr_assert_eq(log[0], '{', "USTATSD_LOG_FORMAT=json ignored: %s", log);
    free(log);
    cr_assert_eq(daemon_stop(&d), 0);

    cr_assert_eq(daemon_start(&d, config, args), 0);
    cr_assert_eq(daemon_get(&d, "/flag-metrics", NULL, NULL), 200);
    cr_assert_eq(daemon_get(&d, "/env-metrics", NULL, NULL), 404);
    cr_assert_eq(daemon_stop(&d), 0);
    unsetenv("USTATSD_METRICS_PATH");
    unsetenv("USTATSD_LOG_FORMAT");

    /* A bad value is refused naming the variable or flag it came from. */
    {
        char path[512];
        const char *env_run[] = { "--config", path, NULL };
        const char *flag_run[] = { "--config", path, "--log-level", "loud", NULL };
        char *out = NULL;

        snprintf(path, sizeof(path), "%s/packaging/ustatsd.example.json", USTATSD_SOURCE_DIR);
        setenv("USTATSD_SOCKET_MODE", "abc", 1);
        cr_assert_eq(daemon_run_once(env_run, &out), 2);
        cr_assert_not_null(strstr(out, "USTATSD_SOCKET_MODE \"abc\""), "%s", out);
        free(out);
        unsetenv("USTATSD_SOCKET_MODE");
        cr_assert_eq(daemon_run_once(flag_run, &out), 2);
        cr_assert_not_null(strstr(out, "--log-level \"loud\""), "%s", out);
        free(out);
    }
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
 * the histogram's buckets are cumulative up to its count.
 */
Test(e2e, event_loop_turns_and_waits_add_up_to_the_wall_time, .init = start, .fini = stop)
{
    static const char *const les[] = { "0.0001", "0.001", "0.01", "0.1", "1", "+Inf" };
    char *before, *after, series[96];
    double t0, t1, turns, busy, waited, prev = 0;
    size_t i;

    before = daemon_scrape(&d, NULL);
    t0 = seconds_now();
    for (i = 0; i < 50; i++) {
        cr_assert_eq(daemon_sends(&d, "queue_depth:1|g|#queue:q1"), 0);
        usleep(10 * 1000);
    }
    usleep(500 * 1000);
    t1 = seconds_now();
    after = daemon_scrape(&d, NULL);

    turns = expo_value(after, "ustatsd_event_loop_iteration_seconds_count") -
            expo_value(before, "ustatsd_event_loop_iteration_seconds_count");
    busy = expo_value(after, "ustatsd_event_loop_iteration_seconds_sum") -
           expo_value(before, "ustatsd_event_loop_iteration_seconds_sum");
    waited = expo_value(after, "ustatsd_event_loop_idle_seconds_total") -
             expo_value(before, "ustatsd_event_loop_idle_seconds_total");
    cr_assert_geq(turns, 50, "%.0f turns for 50 datagrams sent 10 ms apart", turns);
    cr_assert_gt(busy, 0);
    /* The daemon reads both at its scrapes, a few ms outside [t0, t1]. */
    cr_assert_leq(fabs(busy + waited - (t1 - t0)), 0.1 * (t1 - t0) + 0.05,
                  "busy %.4f s + waiting %.4f s against %.4f s of wall time", busy, waited,
                  t1 - t0);
    for (i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
        double v;
        snprintf(series, sizeof(series), "ustatsd_event_loop_iteration_seconds_bucket{le=\"%s\"}",
                 les[i]);
        v = expo_value(after, series);
        cr_assert_geq(v, prev, "%s", series);
        prev = v;
    }
    cr_assert_float_eq(prev, expo_value(after, "ustatsd_event_loop_iteration_seconds_count"), 0);
    free(before);
    free(after);
}

Test(e2e, bearer_token_guards_metrics_and_debug_but_not_health)
{
    char tokfile[] = "/tmp/ustatsd-token-XXXXXX";
    char cfg[sizeof(config) + 256];
    struct httpc_response r;
    int fd = mkstemp(tokfile);

    cr_assert_eq(write(fd, "s3cret\n", 7), 7);
    close(fd);
    /* The same config with a daemon section naming the token file. */
    snprintf(cfg, sizeof(cfg), "{\n  \"daemon\": {\"bearer_token_file\": \"%s\"},%s", tokfile,
             config + 2);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    cr_assert_eq(daemon_get(&d, "/metrics", NULL, NULL), 401);
    cr_assert_eq(daemon_get(&d, "/debug", NULL, NULL), 401);
    cr_assert_eq(daemon_get(&d, "/-/healthy", NULL, NULL), 200);
    cr_assert_eq(daemon_get(&d, "/-/ready", NULL, NULL), 200);
    cr_assert_eq(httpc_get(d.http, "/metrics", "Authorization: Bearer wrong\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(d.http, "/metrics", "Authorization: Bearer s3cret\r\n", &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "ustatsd_lines_accepted_total"));
    httpc_response_release(&r);
    cr_assert_eq(daemon_stop(&d), 0);
    unlink(tokfile);
}

Test(e2e, socket_group_is_applied)
{
    struct group *g = getgrgid(getgid());
    const char *args[] = { "--socket-group", g ? g->gr_name : "root", NULL };
    struct stat st;

    cr_assert_eq(daemon_start(&d, config, args), 0);
    cr_assert_eq(lstat(d.sock, &st), 0);
    cr_assert_eq(st.st_gid, getgid());
    cr_assert_eq(daemon_stop(&d), 0);
    {
        const char *bad[] = { "--config",
                              d.config,
                              "--socket",
                              "/tmp/ustatsd-nogroup.sock",
                              "--socket-group",
                              "no-such-group-here",
                              "--metrics-listen",
                              "",
                              NULL };
        char *out = NULL;
        char path[] = "/tmp/ustatsd-grp-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_eq(write(fd, config, strlen(config)), (ssize_t)strlen(config));
        close(fd);
        bad[1] = path;
        cr_assert_eq(daemon_run_once(bad, &out), 1);
        cr_assert_not_null(strstr(out, "no-such-group-here"), "%s", out);
        free(out);
        unlink(path);
    }
}
