/*
 * PostgreSQL gauges through the real daemon, against a throwaway server that the program
 * starts before its tests (tests/lib/pgtmp), with a fresh database for each test: values follow the
 * database, NULL means absent, an outage keeps scrapes at 200 with up 0 and recovers, a slow query
 * never stalls ingestion, and a writing query fails as read-only. The log says why a
 * query fails once per reason, not once per scrape, and each rejected label value once;
 * values outside a label's bounds fold into its overflow value, combined by "fold".
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "pgtmp.h"

static struct pgtmp db;
static struct daemon d;

PGTMP_SHARED_SERVER();

static const char schema[] = "CREATE TABLE uploads (state text);"
                             "CREATE TABLE jobs (state text, created timestamptz);"
                             "INSERT INTO uploads VALUES ('open'), ('open'), ('committed');";

static void start_db(void)
{
    cr_assert_eq(pgtmp_start(&db), 0, "could not start a throwaway PostgreSQL");
    cr_assert_eq(pgtmp_exec(&db, schema), 0);
}

static void start_daemon(const char *sql_metrics)
{
    char *cfg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&cfg, &len);

    fprintf(
        f,
        "{\"families\": [{\"name\": \"hits_total\", \"type\": \"counter\", \"help\": \"Hits.\"}],\n"
        " \"postgres\": {\"conninfo\": \"%s\", \"pool_size\": 2,\n"
        "              \"connect_timeout_seconds\": 2, \"statement_timeout_seconds\": 5},\n"
        " \"sql_metrics\": [%s]}\n",
        db.conninfo, sql_metrics);
    fclose(f);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
}

static void teardown(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
    pgtmp_destroy(&db);
}

static const char state_metrics[] =
    "{\"name\": \"imgsrv_upload_sessions\", \"help\": \"Upload sessions by durable state.\",\n"
    " \"query\": \"SELECT state, count(*)::float8 AS n FROM uploads GROUP BY state\",\n"
    " \"labels\": [{\"name\": \"state\", \"values\": [\"open\", \"committed\", \"aborted\"]}],\n"
    " \"value_column\": \"n\", \"min_interval_seconds\": 0, \"timeout_seconds\": 2},\n"
    "{\"name\": \"imgsrv_cas_ingest_oldest_queued_age_seconds\", \"help\": \"Oldest queued.\",\n"
    " \"query\": \"SELECT extract(epoch FROM now() - min(created))::float8 AS age FROM jobs "
    "WHERE state = 'queued'\",\n"
    " \"value_column\": \"age\", \"min_interval_seconds\": 0, \"timeout_seconds\": 2}";

Test(e2e_pg, gauges_follow_the_database_and_null_is_absent, .init = start_db, .fini = teardown)
{
    char *body;
    double acquired, idle, constructing, total, max;

    start_daemon(state_metrics);
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "imgsrv_upload_sessions{state=\"open\"}"), 2, 1e-9);
    cr_assert_float_eq(expo_value(body, "imgsrv_upload_sessions{state=\"committed\"}"), 1, 1e-9);
    cr_assert(isnan(expo_value(body, "imgsrv_upload_sessions{state=\"aborted\"}")));
    /* No queued job: min() is NULL, so the series is absent (seed 000). */
    cr_assert(isnan(expo_value(body, "imgsrv_cas_ingest_oldest_queued_age_seconds")));
    cr_assert_float_eq(
        expo_value(body, "ustatsd_sql_collector_up{collector=\"imgsrv_upload_sessions\"}"), 1,
        1e-9);
    cr_assert_eq(expo_check(body, 0), 0);
    free(body);
    body = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_check(body, 1), 0);
    free(body);

    cr_assert_eq(pgtmp_exec(&db, "INSERT INTO uploads VALUES ('open'), ('aborted');"
                                 "INSERT INTO jobs VALUES ('queued', now() - interval '90 s')"),
                 0);
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "imgsrv_upload_sessions{state=\"open\"}"), 3, 1e-9);
    cr_assert_float_eq(expo_value(body, "imgsrv_upload_sessions{state=\"aborted\"}"), 1, 1e-9);
    cr_assert_geq(expo_value(body, "imgsrv_cas_ingest_oldest_queued_age_seconds"), 90);

    /* The pool metrics add up. */
    acquired = expo_value(body, "ustatsd_postgres_pool_connections{state=\"acquired\"}");
    idle = expo_value(body, "ustatsd_postgres_pool_connections{state=\"idle\"}");
    constructing = expo_value(body, "ustatsd_postgres_pool_connections{state=\"constructing\"}");
    total = expo_value(body, "ustatsd_postgres_pool_connections{state=\"total\"}");
    max = expo_value(body, "ustatsd_postgres_pool_connections{state=\"max\"}");
    cr_assert_float_eq(acquired + idle + constructing, total, 1e-9);
    cr_assert_leq(total, max);
    cr_assert_float_eq(max, 2, 1e-9);
    cr_assert_geq(expo_value(body, "ustatsd_postgres_pool_acquires_total"), 4);
    free(body);
}

Test(e2e_pg, an_outage_keeps_scrapes_at_200_and_recovers, .init = start_db, .fini = teardown,
     .timeout = 120)
{
    char *body;
    double up = 0;
    int i;

    start_daemon(state_metrics);
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "imgsrv_upload_sessions{state=\"open\"}"), 2, 1e-9);
    free(body);

    cr_assert_eq(pgtmp_stop(&db), 0);
    cr_assert_eq(daemon_sends(&d, "hits:1|c"), 0);
    body = daemon_scrape(&d, NULL); /* daemon_scrape fails the test on anything but 200 */
    cr_assert_float_eq(
        expo_value(body, "ustatsd_sql_collector_up{collector=\"imgsrv_upload_sessions\"}"), 0,
        1e-9);
    cr_assert(isnan(expo_value(body, "imgsrv_upload_sessions{state=\"open\"}")));
    cr_assert_float_eq(expo_value(body, "hits_total"), 1, 1e-9, "other families must stay");
    cr_assert_gt(expo_value(body, "ustatsd_sql_collector_errors_total{collector=\"imgsrv_upload_"
                                  "sessions\",reason=\"connect\"}") +
                     expo_value(body, "ustatsd_sql_collector_errors_total{collector=\"imgsrv_"
                                      "upload_sessions\",reason=\"query\"}"),
                 0);
    free(body);

    cr_assert_eq(pgtmp_resume(&db), 0);
    for (i = 0; i < 300 && up != 1; i++) {
        body = daemon_scrape(&d, NULL);
        up = expo_value(body, "ustatsd_sql_collector_up{collector=\"imgsrv_upload_sessions\"}");
        if (up == 1)
            cr_assert_float_eq(expo_value(body, "imgsrv_upload_sessions{state=\"open\"}"), 2, 1e-9);
        free(body);
        usleep(100 * 1000);
    }
    cr_assert_eq(up, 1, "the collector did not recover after the server came back");
    {
        /* The log says why, once per change, and when it came back. */
        char *log = daemon_read_file(d.log);
        cr_assert_not_null(strstr(log, "SQL collector imgsrv_upload_sessions is down: "), "%s",
                           log);
        cr_assert_not_null(strstr(log, "SQL collector imgsrv_upload_sessions is up"), "%s", log);
        free(log);
    }
}

struct scrape_arg {
    char *body;
    atomic_int done; /* the scrape has its answer */
};

static void *scrape_thread(void *p)
{
    struct scrape_arg *a = p;

    a->body = daemon_scrape(&d, NULL);
    atomic_store(&a->done, 1);
    return NULL;
}

Test(e2e_pg, a_slow_query_times_out_by_the_deadline_and_ingestion_goes_on, .init = start_db,
     .fini = teardown, .timeout = 120)
{
    static const char slow[] =
        "{\"name\": \"slow_gauge\", \"help\": \"Sleeps.\",\n"
        " \"query\": \"SELECT 1.0::float8 AS v FROM pg_sleep(10)\",\n"
        " \"value_column\": \"v\", \"min_interval_seconds\": 0, \"timeout_seconds\": 1}";
    struct scrape_arg a = { NULL, 0 };
    pthread_t th;
    int i, sent = 0, healthy = 0;
    double up;

    start_daemon(slow);
    cr_assert_eq(pthread_create(&th, NULL, scrape_thread, &a), 0);
    /*
     * While the scrape waits for the query, the loop must stay free: datagrams keep
     * arriving and all count, and /-/healthy is answered while the scrape still waits
     * (it waits a second at least: the query's timeout). The sends block, so they alone
     * could not tell a stalled loop; a health check behind a stalled loop would be
     * answered only after the query, and the scrape, ended.
     */
    while (!atomic_load(&a.done)) {
        for (i = 0; i < 50; i++, sent++)
            cr_assert_eq(daemon_sends(&d, "hits:1|c"), 0);
        cr_assert_eq(daemon_get(&d, "/-/healthy", NULL, NULL), 200);
        healthy += !atomic_load(&a.done);
        usleep(2000);
    }
    pthread_join(th, NULL);
    cr_assert_geq(healthy, 2, "/-/healthy waited for the query");
    /* The scrape ended without the query's answer (which it would have after 10 s), and
     * the server's timeout and the scrape's deadline fall together: the run may not have
     * ended yet (up absent) or have failed (up 0); it cannot be up. */
    up = expo_value(a.body, "ustatsd_sql_collector_up{collector=\"slow_gauge\"}");
    cr_assert(isnan(up) || up == 0, "up %g", up);
    cr_assert(isnan(expo_value(a.body, "slow_gauge")));
    free(a.body);
    cr_assert_eq(daemon_wait_value(&d, "hits_total", sent, 5000), sent);
    /* Each scrape retries a failed collector, so there may be more than one timeout. */
    cr_assert_geq(daemon_wait_value(&d,
                                    "ustatsd_sql_collector_errors_total{collector=\"slow_gauge\","
                                    "reason=\"timeout\"}",
                                    1, 10000),
                  1);
    cr_assert_float_eq(
        daemon_wait_value(&d, "ustatsd_sql_collector_up{collector=\"slow_gauge\"}", 0, 5000), 0,
        1e-9, "a run has failed: up is 0");
}

Test(e2e_pg, a_writing_query_fails_as_read_only, .init = start_db, .fini = teardown)
{
    static const char writer[] =
        "{\"name\": \"bad_writer\", \"help\": \"Writes.\",\n"
        " \"query\": \"INSERT INTO uploads VALUES ('aborted') RETURNING 1.0::float8 AS v\",\n"
        " \"value_column\": \"v\", \"min_interval_seconds\": 0, \"timeout_seconds\": 2}";
    char *body, count[32];

    start_daemon(writer);
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "ustatsd_sql_collector_up{collector=\"bad_writer\"}"), 0,
                       1e-9);
    cr_assert_float_eq(expo_value(body, "ustatsd_sql_collector_errors_total{collector=\"bad_"
                                        "writer\",reason=\"query\"}"),
                       1, 1e-9);
    free(body);
    cr_assert_eq(pgtmp_query(&db, "SELECT count(*) FROM uploads WHERE state = 'aborted'", count,
                             sizeof(count)),
                 0);
    cr_assert_str_eq(count, "0", "the INSERT went through");
}

/*
 * Before a collector's first run ends, ustatsd_sql_collector_up has no sample: a 0 would
 * read as "down" and could fire a collector-down alert at every start-up. A scrape that
 * gives up waiting (its Prometheus timeout is shorter than the query) shows the window.
 */
Test(e2e_pg, collector_up_is_absent_until_the_first_run_ends, .init = start_db, .fini = teardown,
     .timeout = 60)
{
    static const char slow[] =
        "{\"name\": \"slow_first\", \"help\": \"Sleeps, then answers.\",\n"
        " \"query\": \"SELECT 1.0::float8 AS v FROM pg_sleep(3)\",\n"
        " \"value_column\": \"v\", \"min_interval_seconds\": 60, \"timeout_seconds\": 6}";
    struct httpc_response r;

    start_daemon(slow);
    /* The scrape gives up at its own timeout: it has neither up nor the value, which a
     * scrape that waited for the 3 s query would have. */
    cr_assert_eq(httpc_get(d.http, "/metrics", "X-Prometheus-Scrape-Timeout-Seconds: 0.5\r\n", &r),
                 0);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "# TYPE ustatsd_sql_collector_up gauge\n"), "%s", r.body);
    cr_assert_null(strstr(r.body, "ustatsd_sql_collector_up{"), "up before the first run: %s",
                   r.body);
    cr_assert_null(strstr(r.body, "ustatsd_sql_collector_duration_seconds{"), "%s", r.body);
    cr_assert(isnan(expo_value(r.body, "slow_first")));
    httpc_response_release(&r);
    /* The run that scrape started ends, and from then on up has its value. */
    cr_assert_float_eq(
        daemon_wait_value(&d, "ustatsd_sql_collector_up{collector=\"slow_first\"}", 1, 20000), 1,
        1e-9);
    cr_assert_float_eq(daemon_wait_value(&d, "slow_first", 1, 5000), 1, 1e-9);
}

/* How many times needle is in the daemon's log. */
static int log_count(const char *needle)
{
    char *log = daemon_read_file(d.log);
    int n;

    cr_assert_not_null(log);
    n = daemon_count(log, needle);
    free(log);
    return n;
}

static char *log_text(void)
{
    return daemon_read_file(d.log);
}

Test(e2e_pg, a_failing_query_is_logged_once_per_reason_and_its_recovery, .init = start_db,
     .fini = teardown)
{
    static const char missing[] =
        "{\"name\": \"app_sessions\", \"help\": \"Sessions.\",\n"
        " \"query\": \"SELECT count(*)::float8 AS n FROM sessions WHERE closed_at IS NULL\",\n"
        " \"value_column\": \"n\", \"min_interval_seconds\": 0, \"timeout_seconds\": 2}";
    static const char down[] = "SQL collector app_sessions is down: query: relation \"sessions\" "
                               "does not exist (SQLSTATE 42P01); its gauges are absent";
    static const char other[] = "SQL collector app_sessions is down for another reason: query: "
                                "column \"closed_at\" does not exist (SQLSTATE 42703)";
    static const char again[] = "SQL collector app_sessions is up again";
    char *body, *log;

    start_daemon(missing);
    for (int i = 0; i < 3; i++) {
        body = daemon_scrape(&d, NULL);
        cr_assert_float_eq(expo_value(body, "ustatsd_sql_collector_errors_total{collector=\"app_"
                                            "sessions\",reason=\"query\"}"),
                           i + 1, 1e-9, "each scrape ran the query");
        free(body);
    }
    log = log_text();
    cr_assert_eq(log_count(down), 1, "said once, not per scrape:\n%s", log);
    free(log);

    /* Another failure (the table is there, a column is not): said once. */
    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE sessions (id int)"), 0);
    free(daemon_scrape(&d, NULL));
    free(daemon_scrape(&d, NULL));
    log = log_text();
    cr_assert_eq(log_count(other), 1, "%s", log);
    cr_assert_eq(log_count(down), 1, "%s", log);
    free(log);

    /* The recovery, said once. */
    cr_assert_eq(pgtmp_exec(&db, "ALTER TABLE sessions ADD COLUMN closed_at timestamptz"), 0);
    free(daemon_scrape(&d, NULL));
    free(daemon_scrape(&d, NULL));
    cr_assert_eq(log_count(again), 1);

    /* Down again after the recovery: said again. */
    cr_assert_eq(pgtmp_exec(&db, "DROP TABLE sessions"), 0);
    free(daemon_scrape(&d, NULL));
    free(daemon_scrape(&d, NULL));
    log = log_text();
    cr_assert_eq(log_count(down), 2, "%s", log);
    cr_assert_eq(log_count("SQL collector app_sessions is "), 4, "%s", log);
    free(log);
}

Test(e2e_pg, a_rejected_label_value_is_counted_by_metric_and_logged_once, .init = start_db,
     .fini = teardown)
{
    static const char open_only[] =
        "{\"name\": \"app_uploads\", \"help\": \"Uploads.\",\n"
        " \"query\": \"SELECT state, count(*)::float8 AS n FROM uploads GROUP BY state ORDER BY "
        "state\",\n"
        " \"labels\": [{\"name\": \"state\", \"values\": [\"open\"]}],\n"
        " \"value_column\": \"n\", \"min_interval_seconds\": 0, \"timeout_seconds\": 2}";
    char *body, *log;

    /* 20 values beside open, which the config does not list: the first of them quoted. */
    cr_assert_eq(pgtmp_exec(&db, "DELETE FROM uploads;"
                                 "INSERT INTO uploads VALUES ('open'), ('a\"quoted');"
                                 "INSERT INTO uploads SELECT 's' || lpad(g::text, 2, '0') "
                                 "FROM generate_series(1, 19) g"),
                 0);
    start_daemon(open_only);
    for (int i = 0; i < 2; i++) {
        body = daemon_scrape(&d, NULL);
        cr_assert_float_eq(expo_value(body, "app_uploads{state=\"open\"}"), 1, 1e-9);
        cr_assert_float_eq(expo_value(body, "ustatsd_sql_collector_errors_total{collector=\"app_"
                                            "uploads\",reason=\"label_rejected\"}"),
                           20 * (i + 1), 1e-9, "counted by metric, each row");
        cr_assert_float_eq(expo_value(body, "ustatsd_sql_collector_up{collector=\"app_uploads\"}"),
                           1, 1e-9, "rows skipped leave the run up");
        free(body);
    }
    log = log_text();
    cr_assert_eq(log_count("SQL collector app_uploads: rows skipped (label_rejected): label state "
                           "value \"a\\\"quoted\" is not among the label's values; said once"),
                 1, "%s", log);
    cr_assert_eq(log_count("SQL collector app_uploads: rows skipped (label_rejected): label state "
                           "value \"s15\" is not among"),
                 1, "%s", log);
    cr_assert_eq(log_count("rows skipped (label_rejected)"), 16, "bounded:\n%s", log);
    cr_assert_eq(log_count("SQL collector app_uploads: rows skipped for more label values than "
                           "the 16 said; no more are said"),
                 1, "%s", log);
    cr_assert_eq(log_count("value \"s16\""), 0, "%s", log);
    free(log);
}

/* One family's lines in a text exposition, from its # HELP to the next family's. */
static char *family_text(const char *body, const char *name)
{
    char head[128];
    const char *p, *end;

    snprintf(head, sizeof(head), "# HELP %s ", name);
    p = strstr(body, head);
    if (p == NULL)
        return strdup("");
    end = strstr(p + 1, "\n# HELP ");
    return strndup(p, end != NULL ? (size_t)(end + 1 - p) : strlen(p));
}

Test(e2e_pg, unlisted_values_fold_into_the_overflow_value_by_sum_and_by_max, .init = start_db,
     .fini = teardown)
{
    static const char folding[] =
        "{\"name\": \"app_uploads\", \"help\": \"Uploads.\",\n"
        " \"query\": \"SELECT state, count(*)::float8 AS n FROM uploads GROUP BY state ORDER BY "
        "state COLLATE \\\"C\\\"\",\n"
        " \"labels\": [{\"name\": \"state\", \"values\": [\"open\", \"committed\"],"
        " \"overflow\": \"__other__\"}],\n"
        " \"value_column\": \"n\", \"min_interval_seconds\": 0, \"timeout_seconds\": 2},\n"
        "{\"name\": \"app_oldest_step_age_seconds\", \"help\": \"Oldest by step.\",\n"
        " \"query\": \"SELECT step, age FROM steps ORDER BY step COLLATE \\\"C\\\", age\",\n"
        " \"labels\": [{\"name\": \"step\", \"max_values\": 2, \"pattern\": \"[a-z][a-z0-9_]*\","
        " \"overflow\": \"__other__\"}], \"fold\": \"max\",\n"
        " \"value_column\": \"age\", \"min_interval_seconds\": 0, \"timeout_seconds\": 2}";
    static const char rows[] =
        "DELETE FROM uploads;"
        "INSERT INTO uploads VALUES ('open'), ('open'), ('committed'), ('aborted'), ('aborted'),"
        " ('aborted'), ('Weird');"
        "CREATE TABLE steps (step text, age float8);"
        "INSERT INTO steps VALUES ('Bad step', 50), ('fetch', 10), ('resize', 20),"
        " ('upload', 30), ('upload', 5)";
    char want[1024], *body, *fam, *log;

    cr_assert_eq(pgtmp_exec(&db, rows), 0);
    start_daemon(folding);
    for (int i = 1; i <= 2; i++) {
        body = daemon_scrape(&d, NULL);
        /* Weird and aborted are not listed: their counts add up in __other__. */
        fam = family_text(body, "app_uploads");
        cr_assert_str_eq(fam, "# HELP app_uploads Uploads.\n"
                              "# TYPE app_uploads gauge\n"
                              "app_uploads{state=\"__other__\"} 4\n"
                              "app_uploads{state=\"committed\"} 1\n"
                              "app_uploads{state=\"open\"} 2\n");
        free(fam);
        /* "Bad step" misses the pattern, upload is a third value past the cap of 2 (twice):
         * the oldest of them is __other__'s. */
        fam = family_text(body, "app_oldest_step_age_seconds");
        cr_assert_str_eq(fam, "# HELP app_oldest_step_age_seconds Oldest by step.\n"
                              "# TYPE app_oldest_step_age_seconds gauge\n"
                              "app_oldest_step_age_seconds{step=\"__other__\"} 50\n"
                              "app_oldest_step_age_seconds{step=\"fetch\"} 10\n"
                              "app_oldest_step_age_seconds{step=\"resize\"} 20\n");
        free(fam);
        snprintf(want, sizeof(want),
                 "# HELP ustatsd_sql_label_values_folded_total Label values of SQL rows that "
                 "folded into their label's overflow value instead of skipping the row, by "
                 "collector, label and reason.\n"
                 "# TYPE ustatsd_sql_label_values_folded_total counter\n"
                 "ustatsd_sql_label_values_folded_total{collector=\"app_uploads\",label=\"state\","
                 "reason=\"not_allowed\"} %d\n"
                 "ustatsd_sql_label_values_folded_total{collector=\"app_uploads\",label=\"state\","
                 "reason=\"too_long\"} 0\n"
                 "ustatsd_sql_label_values_folded_total{collector=\"app_oldest_step_age_seconds\","
                 "label=\"step\",reason=\"cap\"} %d\n"
                 "ustatsd_sql_label_values_folded_total{collector=\"app_oldest_step_age_seconds\","
                 "label=\"step\",reason=\"pattern\"} %d\n"
                 "ustatsd_sql_label_values_folded_total{collector=\"app_oldest_step_age_seconds\","
                 "label=\"step\",reason=\"too_long\"} 0\n",
                 2 * i, 2 * i, i);
        fam = family_text(body, "ustatsd_sql_label_values_folded_total");
        cr_assert_str_eq(fam, want, "counted at each run");
        free(fam);
        cr_assert_float_eq(expo_value(body, "ustatsd_sql_collector_errors_total{collector=\"app_"
                                            "uploads\",reason=\"label_rejected\"}"),
                           0, 1e-9, "folded rows are kept");
        free(body);
    }
    log = log_text();
    cr_assert_eq(log_count("SQL collector app_uploads: label state value \"Weird\" is not among "
                           "the label's values: folded into \"__other__\"; the first fold, said "
                           "once"),
                 1, "%s", log);
    cr_assert_eq(log_count("SQL collector app_oldest_step_age_seconds: label step value \"Bad "
                           "step\" does not match the label's pattern: folded into \"__other__\""),
                 1, "%s", log);
    cr_assert_eq(log_count("folded into"), 2, "the first fold of each metric only:\n%s", log);
    free(log);
}
