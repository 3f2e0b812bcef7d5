/*
 * End to end through the real binary: OpenMetrics dates every counter and histogram
 * series with _created, the text format never; a reload keeps the dates of a family it
 * keeps and renews those of one whose layout changed; a precreated family shows every
 * combination at zero before any line, and one whose combinations exceed the cap is
 * refused at start-up and on reload.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static struct daemon d;

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The clock dates series in ms, so a time read here is at most 1 ms before the date of
 * something that happened after it.
 */
static void assert_between(const char *body, const char *series, double lo, double hi)
{
    double v = expo_value(body, series);

    cr_assert(v >= floor(lo * 1000) / 1000 && v <= hi, "%s is %.3f, not within [%.3f, %.3f]\n%s",
              series, v, lo, hi, body);
}

/* Write json as the config, send SIGHUP, and wait until the reloads of result reach want. */
static void reload_with(const char *json, const char *result, double want)
{
    char series[96];
    FILE *f = fopen(d.config, "w");

    cr_assert(f != NULL && fputs(json, f) >= 0 && fclose(f) == 0, "cannot write %s", d.config);
    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want, "%s", series);
}

/*
 * Dates are in ms: wait until the wall clock has moved on from t by a few ms, so that
 * what happens next gets a date of its own. Not a synchronisation: nothing runs meanwhile.
 */
static void clock_moves_past(double t)
{
    struct timespec ms = { 0, 1000000 };

    while (wall_now() < t + 0.005)
        nanosleep(&ms, NULL);
}

static const char config_before[] =
    "{\"limits\": {\"max_series_per_family\": 6},\n"
    " \"families\": [\n"
    "  {\"name\": \"hits\", \"type\": \"counter\", \"help\": \"H.\", \"precreate\": true,\n"
    "   \"labels\": [{\"name\": \"code\", \"values\": [\"200\", \"500\", \"503\"]}]},\n"
    "  {\"name\": \"reqs\", \"type\": \"counter\", \"help\": \"R.\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},\n"
    "  {\"name\": \"took\", \"type\": \"histogram\", \"help\": \"T.\", \"buckets\": [0.1, 1]},\n"
    "  {\"name\": \"lat\", \"type\": \"histogram\", \"help\": \"L.\", \"buckets\": [0.1, 1],\n"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 3}]},\n"
    "  {\"name\": \"depth\", \"type\": \"gauge\", \"help\": \"D.\"}],\n"
    " \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\"]}}\n";

/* hits gains 504 (kept, one combination more); lat is rebucketed (reset); a job added. */
static const char config_after[] =
    "{\"limits\": {\"max_series_per_family\": 6},\n"
    " \"families\": [\n"
    "  {\"name\": \"hits\", \"type\": \"counter\", \"help\": \"H.\", \"precreate\": true,\n"
    "   \"labels\": [{\"name\": \"code\", \"values\": [\"200\", \"500\", \"503\", \"504\"]}]},\n"
    "  {\"name\": \"reqs\", \"type\": \"counter\", \"help\": \"R.\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},\n"
    "  {\"name\": \"took\", \"type\": \"histogram\", \"help\": \"T.\", \"buckets\": [0.1, 1]},\n"
    "  {\"name\": \"lat\", \"type\": \"histogram\", \"help\": \"L.\", \"buckets\": [0.5, 2],\n"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 3}]},\n"
    "  {\"name\": \"depth\", \"type\": \"gauge\", \"help\": \"D.\"}],\n"
    " \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\", \"indexer\"]}}\n";

/* 7 codes: more combinations than max_series_per_family. */
static const char config_too_many[] =
    "{\"limits\": {\"max_series_per_family\": 6},\n"
    " \"families\": [\n"
    "  {\"name\": \"hits\", \"type\": \"counter\", \"precreate\": true,\n"
    "   \"labels\": [{\"name\": \"code\", \"values\": [\"200\", \"201\", \"204\", \"500\",\n"
    "                                            \"502\", \"503\", \"504\"]}]}]}\n";

static const char *const codes[] = { "200", "500", "503" };

Test(e2e_created, openmetrics_dates_series_and_reloads_keep_or_renew_the_dates, .fini = stop)
{
    double t0 = wall_now(), t1, t2, t3, t4, hit200, get, mailer;
    char *om, *text, series[128];

    cr_assert_eq(daemon_start(&d, config_before, NULL), 0);
    t1 = wall_now();

    /* Before any line: the precreated combinations, the zero series, the daemon's own. */
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    text = daemon_scrape(&d, NULL);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        snprintf(series, sizeof series, "hits_total{code=\"%s\"}", codes[i]);
        cr_assert_eq(expo_value(om, series), 0, "%s\n%s", series, om);
        cr_assert_eq(expo_value(text, series), 0, "%s\n%s", series, text);
        snprintf(series, sizeof series, "hits_created{code=\"%s\"}", codes[i]);
        assert_between(om, series, t0, t1);
    }
    assert_between(om, "took_created", t0, t1);
    assert_between(om, "e2e_job_errors_created{job=\"mailer\"}", t0, t1);
    assert_between(om, "e2e_job_attempts_created{job=\"mailer\",outcome=\"idle\"}", t0, t1);
    assert_between(om, "ustatsd_lines_accepted_created", t0, t1);
    assert_between(om, "ustatsd_scrape_duration_seconds_created", t0, t1);
    assert_between(om, "process_cpu_seconds_created", t0 - 10, t1);
    cr_assert(isnan(expo_value(om, "reqs_total{method=\"GET\"}")), "not precreated");
    cr_assert_null(strstr(text, "_created"), "the text format has no _created:\n%s", text);
    cr_assert_eq(expo_check(om, 1), 0);
    cr_assert_eq(expo_check(text, 0), 0);
    hit200 = expo_value(om, "hits_created{code=\"200\"}");
    mailer = expo_value(om, "e2e_job_errors_created{job=\"mailer\"}");
    free(om);
    free(text);

    /* Series created by lines are dated when their first line arrives. */
    clock_moves_past(t1);
    t2 = wall_now();
    cr_assert_eq(daemon_sends(&d, "reqs:1|c|#method:GET\nlat:0.05|h|#route:a\ndepth:4|g\n"
                                  "hits:2|c|#code:500"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 4, 5000), 4);
    t3 = wall_now();
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    assert_between(om, "reqs_created{method=\"GET\"}", t2, t3);
    assert_between(om, "lat_created{route=\"a\"}", t2, t3);
    cr_assert_eq(expo_value(om, "hits_created{code=\"200\"}"), hit200, "an update keeps it");
    cr_assert_eq(expo_value(om, "hits_total{code=\"500\"}"), 2);
    cr_assert_null(strstr(om, "depth_created"), "a gauge has none:\n%s", om);
    cr_assert_eq(expo_check(om, 1), 0);
    get = expo_value(om, "reqs_created{method=\"GET\"}");
    free(om);
    text = daemon_scrape(&d, NULL);
    cr_assert_null(strstr(text, "_created"), "%s", text);
    cr_assert_eq(expo_check(text, 0), 0);
    free(text);

    /* The reload keeps hits, reqs and the job mailer, and resets lat. */
    clock_moves_past(t3);
    t3 = wall_now();
    reload_with(config_after, "success", 1);
    t4 = wall_now();
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_value(om, "hits_created{code=\"200\"}"), hit200, "kept\n%s", om);
    cr_assert_eq(expo_value(om, "hits_total{code=\"500\"}"), 2, "kept");
    cr_assert_eq(expo_value(om, "hits_total{code=\"504\"}"), 0, "the new combination");
    assert_between(om, "hits_created{code=\"504\"}", t3, t4);
    cr_assert_eq(expo_value(om, "reqs_created{method=\"GET\"}"), get, "kept");
    cr_assert_eq(expo_value(om, "e2e_job_errors_created{job=\"mailer\"}"), mailer, "kept");
    assert_between(om, "e2e_job_errors_created{job=\"indexer\"}", t3, t4);
    cr_assert(isnan(expo_value(om, "lat_created{route=\"a\"}")), "reset: the series is gone");
    cr_assert_eq(expo_check(om, 1), 0);
    free(om);
    cr_assert_eq(daemon_sends(&d, "lat:0.05|h|#route:a"), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 5, 5000), 5);
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    assert_between(om, "lat_created{route=\"a\"}", t3, wall_now());
    free(om);

    /* Too many combinations: the reload is refused by name, and the config running stays. */
    reload_with(config_too_many, "failure", 1);
    text = daemon_read_file(d.log);
    cr_assert_not_null(strstr(text, "config.json: $.families[0].precreate: 7 combinations of "
                                    "label values, more than limits.max_series_per_family (6)"),
                       "%s", text);
    free(text);
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_value(om, "hits_total{code=\"504\"}"), 0);
    cr_assert(isnan(expo_value(om, "hits_total{code=\"201\"}")));
    cr_assert_eq(expo_value(om, "hits_created{code=\"200\"}"), hit200);
    free(om);
}

Test(e2e_created, too_many_combinations_are_refused_at_start_up)
{
    const char *path = "e2e-created-too-many.json";
    const char *args[] = { "--config",         path, "--socket", "e2e-created-never.sock",
                           "--metrics-listen", "",   NULL };
    char *out = NULL;
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fputs(config_too_many, f);
    fclose(f);
    cr_assert_eq(daemon_run_once(args, &out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "e2e-created-too-many.json: $.families[0].precreate: 7 "
                                   "combinations"),
                       "%s", out);
    cr_assert_eq(access("e2e-created-never.sock", F_OK), -1);
    free(out);
    unlink(path);
}
