/*
 * End to end through the real binary: OpenMetrics dates every counter and histogram
 * series with _created, the text format never; a reload keeps the dates of a family it
 * keeps and renews those of one whose layout changed; a precreated family shows every
 * combination at zero before any line, and one whose combinations exceed the cap is
 * refused at start-up and on reload. Every counter, histogram and summary the daemon
 * writes, of every kind (the application's, the jobs', client telemetry, its own, the SQL
 * collectors' and the pool's, promhttp's, the process'), has its _created in ms.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "pgtmp.h"

static struct daemon d;
static struct pgtmp db;

PGTMP_SHARED_SERVER();

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

/*
 * Counters whose start is not known, so they have no _created (docs/exposition.md, "Start
 * times"): the network counters are the interfaces' of the process' network namespace.
 */
static const char *const undated[] = { "process_network_receive_bytes",
                                       "process_network_transmit_bytes", NULL };

/* The walker finds what it is there to find. */
Test(e2e_created, the_walker_finds_a_point_without_created)
{
    static const char body[] = "# TYPE a counter\n"
                               "a_total{x=\"1\"} 1\n"
                               "a_created{x=\"1\"} 1795385066.014\n"
                               "a_total{x=\"2\"} 1\n"
                               "# TYPE h histogram\n"
                               "h_bucket{le=\"+Inf\"} 0\n"
                               "h_count 0\n"
                               "h_sum 0\n"
                               "# TYPE g gauge\n"
                               "g 1\n"
                               "# TYPE b counter\n"
                               "b_total 3\n"
                               "b_created 1795385066.0148323\n"
                               "# EOF\n";
    const char *const skip_a[] = { "a", NULL };
    char out[512];

    cr_assert_eq(expo_undated(body, NULL, out, sizeof out), 3, "%s", out);
    cr_assert_not_null(strstr(out, "no _created: a_total{x=\"2\"}\n"), "%s", out);
    cr_assert_not_null(strstr(out, "no _created: h_count\n"), "%s", out);
    cr_assert_not_null(strstr(out, "more than ms precision: b_created 1795385066.0148323\n"), "%s",
                       out);
    cr_assert_eq(expo_undated(body, skip_a, out, sizeof out), 2, "%s", out);
}

/* The endpoint's socket and the state file, in a directory of the test's. */
static char dir[64];

static void stop_all(void)
{
    char cmd[96];

    stop();
    pgtmp_destroy(&db);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/*
 * A daemon with every kind of counter on: application counters and histograms, a job,
 * DogStatsD client telemetry, folded, stripped and dropped tags, UDP, the state file,
 * the SQL collectors and the pool, promhttp on an endpoint, the process. Each point of
 * each counter, histogram and summary family in its OpenMetrics exposition has its
 * _created, in ms; a family added later is held to the same.
 */
Test(e2e_created, every_counter_the_daemon_writes_has_created, .fini = stop_all, .timeout = 60)
{
    const char *args[] = { "--udp-listen", "127.0.0.1:0", "--state-file", NULL, NULL };
    char *cfg = NULL, *om, state[192], ep[192], ep_listen[200], out[4096];
    size_t len = 0;
    FILE *f;

    cr_assert_eq(pgtmp_start(&db), 0, "could not start a throwaway PostgreSQL");
    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE jobs (state text)"), 0);
    snprintf(dir, sizeof dir, "/tmp/ustatsd-created-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(ep, sizeof ep, "%s/app.sock", dir);
    snprintf(ep_listen, sizeof ep_listen, "unix:%s", ep);
    args[3] = state;
    f = open_memstream(&cfg, &len);
    fprintf(
        f,
        "{\"clients\": {\"strip_tags\": [\"env\"]},\n"
        " \"families\": [\n"
        "  {\"name\": \"hits\", \"type\": \"counter\", \"help\": \"H.\",\n"
        "   \"labels\": [{\"name\": \"code\", \"values\": [\"200\"], \"overflow\": \"other\"}]},\n"
        "  {\"name\": \"took\", \"type\": \"histogram\", \"help\": \"T.\", \"buckets\": [1],\n"
        "   \"undeclared_labels\": \"drop\"}],\n"
        " \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\"]},\n"
        " \"endpoints\": [{\"name\": \"app\", \"listen\": \"%s\", \"promhttp\": true,\n"
        "                  \"self_metrics\": true}],\n"
        " \"postgres\": {\"conninfo\": \"%s\", \"pool_size\": 1},\n"
        " \"sql_metrics\": [{\"name\": \"queued\", \"help\": \"Q.\",\n"
        "   \"query\": \"SELECT count(*)::float8 AS n FROM jobs\", \"value_column\": \"n\"}]}\n",
        ep_listen, db.conninfo);
    fclose(f);
    cr_assert_eq(daemon_start(&d, cfg, args), 0);
    free(cfg);
    cr_assert_eq(daemon_sends(&d, "hits:1|c|#code:200\nhits:1|c|#code:404,env:prod\n"
                                  "took:0.5|h|#zone:a\nmailer:worked|j\n"
                                  "datadog.dogstatsd.client.packets_sent:3|c|#client:go,"
                                  "client_version:5.3.0,client_transport:uds"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 5, 5000), 5);

    /* Scraped twice, so that promhttp has counted a scrape. */
    for (int i = 0; i < 2; i++) {
        struct httpc_response r;

        cr_assert_eq(httpc_get(ep_listen, "/metrics", "Accept: " DAEMON_OPENMETRICS "\r\n", &r), 0);
        cr_assert_eq(r.status, 200);
        if (i == 1) {
            cr_assert_eq(expo_undated(r.body, undated, out, sizeof out), 0, "%s\n%s", out, r.body);
            cr_assert_not_null(strstr(r.body, "promhttp_metric_handler_requests_created{"), "%s",
                               r.body);
        }
        httpc_response_release(&r);
    }
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_undated(om, undated, out, sizeof out), 0, "%s\n%s", out, om);
    /* Each kind is there to be checked. */
    static const char *const kinds[] = {
        "hits_created{code=\"200\"}",
        "hits_created{code=\"other\"}",
        "took_created",
        "e2e_job_attempts_created{job=\"mailer\",outcome=\"worked\"}",
        "ustatsd_client_packets_sent_created{",
        "ustatsd_label_values_folded_created{",
        "ustatsd_tags_stripped_created{key=\"env\"}",
        "ustatsd_labels_dropped_created{family=\"took\"}",
        "ustatsd_udp_datagrams_received_created",
        "ustatsd_state_snapshots_created{",
        "ustatsd_sql_collector_errors_created{collector=\"queued\",reason=\"query\"}",
        "ustatsd_postgres_pool_acquires_created",
        "ustatsd_postgres_pool_empty_acquires_created",
        "ustatsd_postgres_pool_canceled_acquires_created",
        "ustatsd_postgres_pool_acquire_duration_seconds_created",
        "ustatsd_postgres_pool_abandoned_connections_created",
        "ustatsd_scrape_duration_seconds_created",
        "process_cpu_seconds_created",
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        cr_assert_not_null(strstr(om, kinds[i]), "%s missing:\n%s", kinds[i], om);
    /* The daemon's own counters, the SQL ones among them, start with the daemon. */
    cr_assert_eq(expo_value(om, "ustatsd_postgres_pool_acquires_created"),
                 expo_value(om, "ustatsd_lines_accepted_created"), "%s", om);
    cr_assert_eq(expo_check(om, 1), 0);
    free(om);
}
