/*
 * State files written by older builds, restored by the real binary of today: the state
 * file's format stays readable (or a new version comes with a reader for the old one).
 * Each fixture in tests/golden/state (its README.md) is an old daemon's config, the lines
 * it was sent, the state file it wrote when stopped and its exposition just before. The
 * daemon of today starts on that config and a copy of that file, and shows every series
 * as the old one did, then goes on from there.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"

/* Written by the daemon of commit 8694cf3, format version 1. */
#define V1 USTATSD_SOURCE_DIR "/tests/golden/state/v1-8694cf3"

static char dir[64];
static char state_path[128];
static struct daemon d; /* the test's daemon: a failed test's .fini kills it (pid > 0) */

static void make_dir(void)
{
    daemon_make_dir(dir, sizeof dir, "compat");
    snprintf(state_path, sizeof state_path, "%s/state", dir);
}

static void remove_all(void)
{
    if (d.pid > 0)
        daemon_kill(&d);
    cr_assert_eq(daemon_remove_dir(dir), 0);
}

/* Copy the fixture's state file to state_path: the daemon restores only a file of its own. */
static void plant(const char *fixture)
{
    char from[512], buf[4096];
    FILE *in, *out;
    size_t n;

    snprintf(from, sizeof from, "%s.state", fixture);
    cr_assert_not_null(in = fopen(from, "rb"), "%s", from);
    cr_assert_not_null(out = fopen(state_path, "wb"));
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    cr_assert_eq(ferror(in), 0);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

/* Start the daemon of today (d) on the fixture's config and a copy of its state file. */
static void start(const char *fixture)
{
    const char *args[] = { "--state-file", state_path, NULL };
    char path[512], *config;

    snprintf(path, sizeof path, "%s.json", fixture);
    cr_assert_not_null(config = daemon_read_file(path), "%s", path);
    plant(fixture);
    cr_assert_eq(daemon_start(&d, config, args), 0, "daemon did not start");
    free(config);
}

/* Stop d, which must exit cleanly. */
static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0);
}

static double value(const char *body, const char *series)
{
    double v = expo_value(body, series);

    cr_assert(!isnan(v), "no %s in\n%s", series, body);
    return v;
}

/* The file was restored whole: every series and job, none dropped. */
static void restored_whole(const char *body, double series, double jobs)
{
    static const char *const reasons[] = {
        "unknown_family", "layout_changed", "label_not_allowed", "label_value", "series_cap",
        "expired",        "duplicate",      "bad_value",         "unknown_job",
    };
    char name[96];

    cr_assert_eq(value(body, "ustatsd_state_restore_result{result=\"restored\"}"), 1, "%s", body);
    cr_assert_eq(value(body, "ustatsd_state_restored_series"), series);
    cr_assert_eq(value(body, "ustatsd_state_restored_jobs"), jobs);
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        snprintf(name, sizeof name, "ustatsd_state_restore_dropped{reason=\"%s\"}", reasons[i]);
        cr_assert_eq(value(body, name), 0, "%s", name);
    }
}

/*
 * Every sample of the old daemon's exposition (fixture.om), against om, the new daemon's:
 * the same value, but for two that moved with the time away. A quantile is NaN: its
 * window (max_age 1 s) is long past. A breaker's time in state went on: it is the old
 * value plus the time since the old scrape, which came after the last line (the newest
 * job timestamp) by less than a second, give or take this scrape's own. Returns the
 * samples compared.
 */
static size_t same_as_old(const char *fixture, const char *om, double now)
{
    char path[512], want[512], *old, *line, *save = NULL, *sp;
    double was, is, last_line = 0;
    size_t n = 0;

    snprintf(path, sizeof path, "%s.om", fixture);
    cr_assert_not_null(old = daemon_read_file(path), "%s", path);
    for (line = strtok_r(old, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || strstr(line, "_timestamp_seconds{") == NULL)
            continue;
        was = strtod(strrchr(line, ' ') + 1, NULL);
        last_line = was > last_line ? was : last_line;
    }
    cr_assert_gt(last_line, 0, "no job timestamp in %s", path);
    free(old);

    cr_assert_not_null(old = daemon_read_file(path));
    for (line = strtok_r(old, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        cr_assert_not_null(sp = strrchr(line, ' '), "%s", line);
        *sp = '\0';
        was = strtod(sp + 1, NULL);
        is = expo_value(om, line);
        if (strstr(line, "quantile=\"") != NULL) {
            snprintf(want, sizeof want, "\n%s NaN\n", line);
            cr_assert_not_null(strstr(om, want), "%s: not NaN in\n%s", line, om);
        } else if (strstr(line, "_circuit_state_seconds{") != NULL) {
            cr_assert_geq(is, was + (now - last_line) - 5, "%s: %g, was %g", line, is, was);
            cr_assert_leq(is, was + (now - last_line) + 1, "%s: %g, was %g", line, is, was);
        } else {
            cr_assert_eq(is, was, "%s: %.17g, the old daemon showed %.17g", line, is, was);
        }
        n++;
    }
    free(old);
    return n;
}

/* What v1-8694cf3.lines make, read off the lines: the values the old daemon showed too. */
static const struct {
    const char *series;
    double value;
} v1_values[] = {
    { "compat_requests_total{method=\"get\",code=\"200\"}", 5 },
    { "compat_requests_total{method=\"put\",code=\"500\"}", 1 },
    { "compat_requests_total{method=\"get\"}", 1 },
    { "compat_requests_total{method=\"get\",code=\"201\"}", 1 },
    { "compat_requests_total{method=\"get\",code=\"202\"}", 1 },
    { "compat_requests_total{method=\"put\",code=\"other\"}", 4 },
    { "compat_sampled_total", 2.5 },
    { "compat_batches_total{kind=\"full\"}", 2 },
    { "compat_batches_total{kind=\"partial\"}", 0 },
    { "compat_mem_alloc_bytes", 1048576 },
    { "compat_mem_alloc_bytes_total", 4194304 },
    { "compat_temperature_celsius{room=\"kitchen\"}", 21.5 },
    { "compat_temperature_celsius{room=\"cellar\"}", -3.25 },
    { "compat_queue_depth{queue=\"mail\"}", 5 },
    { "compat_queue_depth{queue=\"sms\"}", 2 },
    { "compat_latency_seconds_bucket{route=\"home\",le=\"0.01\"}", 1 },
    { "compat_latency_seconds_bucket{route=\"home\",le=\"0.1\"}", 3 },
    { "compat_latency_seconds_bucket{route=\"home\",le=\"1\"}", 4 },
    { "compat_latency_seconds_bucket{route=\"home\",le=\"+Inf\"}", 5 },
    { "compat_latency_seconds_sum{route=\"home\"}", 0.005 + 0.05 + 0.5 + 2 + 0.03 },
    { "compat_latency_seconds_count{route=\"home\"}", 5 },
    { "compat_latency_seconds_bucket{route=\"search\",le=\"0.01\"}", 0 },
    { "compat_latency_seconds_bucket{route=\"search\",le=\"0.1\"}", 0 },
    { "compat_latency_seconds_bucket{route=\"search\",le=\"1\"}", 2 },
    { "compat_latency_seconds_bucket{route=\"search\",le=\"+Inf\"}", 2 },
    { "compat_latency_seconds_sum{route=\"search\"}", 0.625 },
    { "compat_latency_seconds_count{route=\"search\"}", 2 },
    { "compat_render_milliseconds_bucket{le=\"5\"}", 1 },
    { "compat_render_milliseconds_bucket{le=\"50\"}", 2 },
    { "compat_render_milliseconds_bucket{le=\"+Inf\"}", 3 },
    { "compat_render_milliseconds_sum", 443 },
    { "compat_render_milliseconds_count", 3 },
    { "compat_rpc_seconds_sum", 2.125 },
    { "compat_rpc_seconds_count", 5 },
    { "compat_query_milliseconds_sum{db=\"users\"}", 60 },
    { "compat_query_milliseconds_count{db=\"users\"}", 2 },
    { "compat_payload_bytes_sum", 2560 },
    { "compat_payload_bytes_count", 2 },
    { "compat_job_attempts_total{job=\"publish\",outcome=\"worked\"}", 1 },
    { "compat_job_attempts_total{job=\"publish\",outcome=\"idle\"}", 0 },
    { "compat_job_attempts_total{job=\"publish\",outcome=\"error\"}", 2 },
    { "compat_job_attempts_total{job=\"sweep\",outcome=\"worked\"}", 1 },
    { "compat_job_attempts_total{job=\"sweep\",outcome=\"idle\"}", 1 },
    { "compat_job_attempts_total{job=\"sweep\",outcome=\"error\"}", 0 },
    { "compat_job_errors_total{job=\"publish\"}", 2 },
    { "compat_job_errors_total{job=\"sweep\"}", 0 },
    { "compat_job_circuit_open_total{job=\"publish\"}", 1 },
    { "compat_job_circuit_open_total{job=\"sweep\"}", 0 },
    { "compat_job_consecutive_failures{job=\"publish\"}", 0 },
    { "compat_job_consecutive_failures{job=\"sweep\"}", 0 },
    { "compat_job_circuit_state{job=\"publish\",state=\"open\"}", 1 },
    { "compat_job_circuit_state{job=\"publish\",state=\"closed\"}", 0 },
    { "compat_job_circuit_state{job=\"sweep\",state=\"closed\"}", 1 },
    { "compat_job_circuit_state{job=\"sweep\",state=\"open\"}", 0 },
};

Test(e2e_state_compat, v1_8694cf3_comes_back_as_the_old_daemon_showed_it, .init = make_dir,
     .fini = remove_all)
{
    struct timespec ts;
    char *text, *om;
    size_t n;

    start(V1);
    text = daemon_scrape(&d, NULL);
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    clock_gettime(CLOCK_REALTIME, &ts);
    restored_whole(text, 21, 2);
    for (size_t i = 0; i < sizeof v1_values / sizeof v1_values[0]; i++)
        cr_assert_eq(value(text, v1_values[i].series), v1_values[i].value, "%s: %.17g, not %.17g",
                     v1_values[i].series, value(text, v1_values[i].series), v1_values[i].value);
    /* Every sample the old daemon showed, _created and the jobs' timestamps included, and
     * no other: 90, of the 21 series (buckets, quantiles, _created) and 2 jobs. */
    n = same_as_old(V1, om, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    /* A sample line of the fixture's families; the exposition starts with a comment. */
    cr_assert_eq(om[0], '#');
    cr_assert_eq((int)n, daemon_count(om, "\ncompat_"),
                 "the old daemon showed %zu samples, this one %d", n,
                 daemon_count(om, "\ncompat_"));
    cr_assert_eq(n, 90, "%zu samples in the old daemon's exposition", n);
    cr_assert_eq(expo_check(text, 0), 0);
    cr_assert_eq(expo_check(om, 1), 0);
    free(text);
    free(om);
    stop();
}

/*
 * What the file holds beyond the values goes on: a histogram's and a summary's carried
 * half observation, an up-down gauge's value, a capped label's values (a new one at the
 * cap folds into the overflow value), an open breaker and a closed one. (No quantile here:
 * a window of 1 s may pass between a line and the scrape on a loaded machine.)
 */
Test(e2e_state_compat, v1_8694cf3_goes_on_from_where_it_was, .init = make_dir, .fini = remove_all)
{
    char *text;

    start(V1);
    cr_assert_eq(daemon_sends(&d, "compat_requests:1|c|#method:get,code:203\n"
                                  "compat_sampled:1|c|@0.4\n"
                                  "compat_batches:1|c|#kind:partial\n"
                                  "compat_queue_depth:-1|g|#queue:mail\n"
                                  "compat_latency_seconds:0.25|h|@0.4|#route:search\n"
                                  "compat_rpc_seconds:0.5|h|@0.4\n"
                                  "compat_query_milliseconds:30|ms|#db:users\n"
                                  "publish:worked|j\n"
                                  "sweep:error|j\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 9, 5000), 9);
    text = daemon_scrape(&d, NULL);
    cr_assert_eq(value(text, "compat_requests_total{method=\"get\",code=\"other\"}"), 1);
    cr_assert(isnan(expo_value(text, "compat_requests_total{method=\"get\",code=\"203\"}")));
    cr_assert_eq(value(text, "compat_requests_total{method=\"get\",code=\"200\"}"), 5);
    cr_assert_eq(value(text, "compat_sampled_total"), 5);
    cr_assert_eq(value(text, "compat_batches_total{kind=\"partial\"}"), 1);
    cr_assert_eq(value(text, "compat_queue_depth{queue=\"mail\"}"), 4);
    /* 2.5 observations and the 0.5 carried: 3 more, not 2. */
    cr_assert_eq(value(text, "compat_latency_seconds_bucket{route=\"search\",le=\"1\"}"), 5);
    cr_assert_eq(value(text, "compat_latency_seconds_count{route=\"search\"}"), 5);
    cr_assert_eq(value(text, "compat_latency_seconds_sum{route=\"search\"}"), 1.25);
    cr_assert_eq(value(text, "compat_rpc_seconds_count"), 8);
    cr_assert_eq(value(text, "compat_rpc_seconds_sum"), 3.375);
    cr_assert_eq(value(text, "compat_query_milliseconds_count{db=\"users\"}"), 3);
    cr_assert_eq(value(text, "compat_query_milliseconds_sum{db=\"users\"}"), 90);
    /* Open for 10 years: a success counts, and the breaker stays open. */
    cr_assert_eq(value(text, "compat_job_attempts_total{job=\"publish\",outcome=\"worked\"}"), 2);
    cr_assert_eq(value(text, "compat_job_circuit_state{job=\"publish\",state=\"open\"}"), 1);
    cr_assert_eq(value(text, "compat_job_errors_total{job=\"sweep\"}"), 1);
    cr_assert_eq(value(text, "compat_job_consecutive_failures{job=\"sweep\"}"), 1);
    cr_assert_eq(value(text, "compat_job_circuit_state{job=\"sweep\",state=\"closed\"}"), 1);
    free(text);
    stop();
}
