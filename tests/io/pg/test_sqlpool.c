/*
 * sqlpool against a throwaway PostgreSQL (tests/lib/pgtmp): one server for the whole
 * program, started before the tests and destroyed after them, and a fresh database for
 * each test (its fixture), so that tests stay independent without an initdb each.
 * The conninfo checks and the row rules have unit tests of their own (test_conninfo,
 * test_sqlgauge), without a server.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "base/expo.h"
#include "pgtmp.h"
#include "pg/sqlpool.h"

static struct pgtmp db;

PGTMP_SHARED_SERVER();

static void db_up(void)
{
    cr_assert_eq(pgtmp_start(&db), 0, "cannot start a throwaway PostgreSQL");
}

static void db_down(void)
{
    pgtmp_destroy(&db);
}

#define MAXM 4

/* A test's world: its own loop, a hand-filled config, the pg under test. */
struct world {
    uv_loop_t loop;
    struct config cfg;
    struct config_sql_metric m[MAXM];
    struct config_label labels[MAXM][2];
    char *columns[MAXM][2];
    struct sqlpool pg;
    struct buf out;
};

static void world_init(struct world *w, const char *conninfo, uint32_t pool)
{
    memset(w, 0, sizeof(*w));
    cr_assert_eq(uv_loop_init(&w->loop), 0);
    w->cfg.path = (char *)"test.json";
    w->cfg.has_postgres = 1;
    w->cfg.pg_conninfo = (char *)conninfo;
    w->cfg.pg_pool_size = pool;
    w->cfg.pg_connect_timeout = 2.0;
    w->cfg.pg_statement_timeout = 5.0;
    w->cfg.max_series_per_family = 100;
    w->cfg.max_label_value_len = 32;
    w->cfg.sql_metrics = w->m;
    buf_init(&w->out);
}

/* Add a metric; label may be NULL (no label) and values a NULL-terminated enumeration. */
static struct config_sql_metric *add_metric(struct world *w, const char *name, const char *query,
                                            const char *label, const char *value_col,
                                            double min_interval, double timeout)
{
    size_t i = w->cfg.nsql_metrics++;
    struct config_sql_metric *m = &w->m[i];

    cr_assert_lt(i, MAXM);
    m->name = (char *)name;
    m->help = (char *)"test metric";
    m->group = (char *)"";
    m->unit = (char *)"";
    m->query = (char *)query;
    m->value_column = (char *)value_col;
    m->min_interval_seconds = min_interval;
    m->timeout_seconds = timeout;
    m->labels = w->labels[i];
    m->label_columns = w->columns[i];
    if (label != NULL) {
        w->labels[i][0].name = (char *)label;
        w->labels[i][0].max_values = 10;
        w->columns[i][0] = (char *)label;
        m->nlabels = 1;
    }
    return m;
}

static void world_start(struct world *w)
{
    char err[256];

    cr_assert_eq(sqlpool_init(&w->pg, &w->loop, &w->cfg, err, sizeof(err)), 0, "%s", err);
    w->pg.backoff_base_ms = 50;
    w->pg.backoff_max_ms = 400;
    cr_assert_eq(sqlpool_start(&w->pg), 0);
}

static int closed;

static void on_closed(struct sqlpool *pg)
{
    (void)pg;
    closed++;
}

static void world_close(struct world *w)
{
    closed = 0;
    sqlpool_close(&w->pg, on_closed);
    cr_assert_eq(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(closed, 1);
    cr_assert_eq(uv_loop_close(&w->loop), 0);
    buf_release(&w->out);
}

struct done {
    int n;
    int status;
    const unsigned long *watch; /* a count to read when the callback runs, or NULL */
    unsigned long seen;         /* *watch then */
};

static void on_collected(struct sqlpool *pg, void *arg, int status)
{
    struct done *d = arg;

    (void)pg;
    d->n++;
    d->status = status;
    if (d->watch != NULL)
        d->seen = *d->watch;
}

static void on_nudge(uv_timer_t *t)
{
    (void)t;
}

/*
 * Run the loop until *flag is set. In libuv 1.44 UV_RUN_ONCE runs the due timers first
 * and then may block in poll for good (the pool's idle sockets keep the loop alive), so
 * a 5 ms timer nudges it out of poll to look at the flag.
 */
static void run_until(struct world *w, const int *flag, uint64_t limit_ms)
{
    uint64_t end = uv_hrtime() + limit_ms * 1000000ULL;
    uv_timer_t nudge;

    uv_timer_init(&w->loop, &nudge);
    uv_timer_start(&nudge, on_nudge, 5, 5);
    while (!*flag && uv_hrtime() < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&nudge, NULL);
    uv_run(&w->loop, UV_RUN_NOWAIT);
}

/*
 * Collect and wait for the callback; *status gets its status. With watch, *counted is what
 * *watch went up by between sqlpool_collect and its callback.
 */
static void collect_counting(struct world *w, uint64_t deadline_ms, int *status,
                             const unsigned long *watch, unsigned long *counted)
{
    struct done d = { .status = 1, .watch = watch };
    unsigned long start = watch != NULL ? *watch : 0;

    cr_assert_eq(sqlpool_collect(&w->pg, deadline_ms, on_collected, &d), 0);
    cr_assert_eq(d.n, 0, "the callback ran synchronously");
    run_until(w, &d.n, deadline_ms + 2000);
    cr_assert_eq(d.n, 1, "collect never completed");
    if (status != NULL)
        *status = d.status;
    if (counted != NULL)
        *counted = d.seen - start;
}

static void collect(struct world *w, uint64_t deadline_ms, int *status)
{
    collect_counting(w, deadline_ms, status, NULL, NULL);
}

static void on_tick(uv_timer_t *t)
{
    int *fired = t->data;
    (*fired)++;
}

/* Let the loop run for ms milliseconds. */
static void spin(struct world *w, uint64_t ms)
{
    uv_timer_t t;
    int fired = 0;

    uv_timer_init(&w->loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_tick, ms, 0);
    run_until(w, &fired, ms + 1000);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&w->loop, UV_RUN_NOWAIT);
}

static const char *render(struct world *w)
{
    struct expo e;

    buf_reset(&w->out);
    expo_init(&e, &w->out, EXPO_TEXT);
    sqlpool_render(&w->pg, &e, 1700000000.0, NULL);
    buf_addch(&w->out, '\0');
    return w->out.ptr;
}

/* The value of the sample written exactly as series ("name{labels}"), or NAN if absent. */
static double sample(const char *text, const char *series)
{
    size_t len = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[len] == ' ')
            return strtod(p + len + 1, NULL);
        p += len;
    }
    return NAN;
}

static double err_count(struct world *w, const char *collector, const char *reason)
{
    char series[256];

    snprintf(series, sizeof(series),
             "ustatsd_sql_collector_errors_total{collector=\"%s\",reason=\"%s\"}", collector,
             reason);
    return sample(render(w), series);
}

static double up(struct world *w, const char *collector)
{
    char series[256];

    snprintf(series, sizeof(series), "ustatsd_sql_collector_up{collector=\"%s\"}", collector);
    return sample(render(w), series);
}

TestSuite(sqlpool, .init = db_up, .fini = db_down, .timeout = 60);

Test(sqlpool, gauge_values_match_the_database_and_follow_changes)
{
    struct world w;
    const char *text;
    int status;

    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE jobs (state text);"
                                 "INSERT INTO jobs VALUES ('queued'), ('queued'), ('queued'),"
                                 " ('running')"),
                 0);
    world_init(&w, db.conninfo, 2);
    add_metric(&w, "app_jobs", "SELECT state, count(*)::int AS n FROM jobs GROUP BY state", "state",
               "n", 0.3, 2.0);
    world_start(&w);

    collect(&w, 3000, &status);
    cr_assert_eq(status, 0);
    text = render(&w);
    cr_assert_eq(sample(text, "app_jobs{state=\"queued\"}"), 3.0, "%s", text);
    cr_assert_eq(sample(text, "app_jobs{state=\"running\"}"), 1.0, "%s", text);
    cr_assert_eq(up(&w, "app_jobs"), 1.0);
    cr_assert(strstr(render(&w), "# TYPE app_jobs gauge\n") != NULL);
    cr_assert_eq(
        sample(render(&w),
               "ustatsd_sql_collector_last_success_timestamp_seconds{collector=\"app_jobs\"}") >
            1699999990.0,
        1);

    cr_assert_eq(pgtmp_exec(&db, "UPDATE jobs SET state = 'done' WHERE state = 'running';"
                                 "INSERT INTO jobs VALUES ('queued')"),
                 0);
    spin(&w, 350);
    collect(&w, 3000, &status);
    text = render(&w);
    cr_assert_eq(sample(text, "app_jobs{state=\"queued\"}"), 4.0, "%s", text);
    cr_assert(isnan(sample(text, "app_jobs{state=\"running\"}")), "%s", text);
    cr_assert_eq(sample(text, "app_jobs{state=\"done\"}"), 1.0, "%s", text);
    world_close(&w);
}

Test(sqlpool, null_value_is_absent_and_bad_rows_are_skipped_and_counted)
{
    struct world w;
    struct config_sql_metric *m;
    const char *text;
    static char *enumerated[] = { (char *)"a", (char *)"b", (char *)"c" };

    world_init(&w, db.conninfo, 1);
    m = add_metric(&w, "app_k",
                   "SELECT * FROM (VALUES ('a', '1.5'), ('b', NULL), (NULL, '2'), ('zzz', '1'),"
                   " ('c', 'abc'), ('a', '7')) AS t(k, v)",
                   "k", "v", 10.0, 2.0);
    m->labels[0].values = enumerated;
    m->labels[0].nvalues = 3;
    world_start(&w);

    collect(&w, 3000, NULL);
    text = render(&w);
    cr_assert_eq(up(&w, "app_k"), 1.0, "%s", text);
    cr_assert(isnan(sample(text, "app_k{k=\"b\"}")), "%s", text);
    cr_assert(isnan(sample(text, "app_k{k=\"c\"}")), "%s", text);
    cr_assert(isnan(sample(text, "app_k{k=\"zzz\"}")), "%s", text);
    cr_assert_eq(sample(text, "app_k{k=\"a\"}"), 8.5, "the two rows summed: %s", text);
    cr_assert_eq(err_count(&w, "app_k", "null_label"), 1.0);
    cr_assert_eq(err_count(&w, "app_k", "label_rejected"), 1.0);
    cr_assert_eq(err_count(&w, "app_k", "bad_value"), 1.0);
    cr_assert_eq(err_count(&w, "app_k", "duplicate"), 1.0);
    cr_assert_eq(err_count(&w, "app_k", "query"), 0.0);
    world_close(&w);
}

Test(sqlpool, label_cap_limits_distinct_values_per_result)
{
    struct world w;
    const char *text;
    size_t n = 0;
    const char *p;

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_many", "SELECT g::text AS k, g AS v FROM generate_series(1, 25) g", "k",
               "v", 10.0, 2.0);
    world_start(&w);
    collect(&w, 3000, NULL);
    text = render(&w);
    for (p = text; (p = strstr(p, "\napp_many{")) != NULL; p++)
        n++;
    cr_assert_eq(n, 10, "%s", text);
    cr_assert_eq(err_count(&w, "app_many", "label_rejected"), 15.0);
    world_close(&w);
}

Test(sqlpool, outage_fails_collections_fast_then_recovers)
{
    struct world w;
    int status, i;

    world_init(&w, db.conninfo, 2);
    add_metric(&w, "app_one", "SELECT 1 AS v", NULL, "v", 0.0, 1.0);
    world_start(&w);
    collect(&w, 3000, &status);
    cr_assert_eq(up(&w, "app_one"), 1.0);
    cr_assert_eq(sample(render(&w), "app_one"), 1.0);

    cr_assert_eq(pgtmp_stop(&db), 0);
    for (i = 0; i < 3; i++) {
        /* Answered (failed) before its deadline, not timed out waiting for a server. */
        collect(&w, 2000, &status);
        cr_assert_eq(status, 0, "collect with the server down waited for its deadline");
        cr_assert_eq(up(&w, "app_one"), 0.0);
        cr_assert(isnan(sample(render(&w), "app_one")), "stale value served: %s", render(&w));
        spin(&w, 100);
    }
    cr_assert_geq(err_count(&w, "app_one", "connect"), 1.0, "%s", render(&w));

    cr_assert_eq(pgtmp_resume(&db), 0);
    for (i = 0; i < 50 && up(&w, "app_one") != 1.0; i++) {
        spin(&w, 100);
        collect(&w, 2000, &status);
    }
    cr_assert_eq(up(&w, "app_one"), 1.0, "no recovery: %s", render(&w));
    cr_assert_eq(sample(render(&w), "app_one"), 1.0);
    world_close(&w);
}

/*
 * What the loop did while a collect was in flight, counted rather than timed (the time
 * the loop is held is bench_pg's to measure): the runs of a 5 ms timer, and the loop's
 * turns (a check handle runs once per turn).
 */
static void on_5ms(uv_timer_t *t)
{
    unsigned long *ticks = t->data;
    (*ticks)++;
}

static void on_turn(uv_check_t *h)
{
    unsigned long *turns = h->data;
    (*turns)++;
}

Test(sqlpool, slow_query_times_out_within_the_deadline_and_the_loop_stays_responsive)
{
    struct world w;
    uv_timer_t tick;
    unsigned long ticks = 0, during = 0;
    int status;

    world_init(&w, db.conninfo, 2);
    add_metric(&w, "app_slow", "SELECT 1 AS v FROM pg_sleep(5)", NULL, "v", 0.0, 0.3);
    add_metric(&w, "app_fast", "SELECT 2 AS v", NULL, "v", 0.0, 2.0);
    world_start(&w);
    uv_timer_init(&w.loop, &tick);
    tick.data = &ticks;
    uv_timer_start(&tick, on_5ms, 5, 5);

    collect_counting(&w, 2000, &status, &ticks, &during);
    /* status 0: the 0.3 s timeout answered before the 2 s deadline, not the 5 s query. */
    cr_assert_eq(status, 0);
    cr_assert_eq(up(&w, "app_slow"), 0.0);
    cr_assert_eq(err_count(&w, "app_slow", "timeout"), 1.0, "%s", render(&w));
    cr_assert_eq(up(&w, "app_fast"), 1.0);
    cr_assert_eq(sample(render(&w), "app_fast"), 2.0);
    /*
     * The 0.3 s the query ran, the loop served its timer: a collector that waited for
     * the server inside a call would let it run once at most before the callback.
     */
    cr_assert_geq(during, 2, "the timer ran %lu times while the query ran", during);
    uv_close((uv_handle_t *)&tick, NULL);
    world_close(&w);
}

Test(sqlpool, a_server_that_never_answers_is_abandoned_at_the_loop_deadline)
{
    struct world w;
    char pid[32];
    int status, i;

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_one", "SELECT 1 AS v", NULL, "v", 0.0, 0.3);
    world_start(&w);
    collect(&w, 3000, &status);
    cr_assert_eq(up(&w, "app_one"), 1.0);
    /* A frozen backend answers nothing, not even statement_timeout's cancellation. */
    cr_assert_eq(pgtmp_query(&db,
                             "SELECT pid FROM pg_stat_activity WHERE application_name = 'ustatsd'"
                             " AND datname = current_database()",
                             pid, sizeof(pid)),
                 0);
    cr_assert_eq(kill(atoi(pid), SIGSTOP), 0);
    collect(&w, 3000, &status);
    kill(atoi(pid), SIGCONT);
    /* status 0: the timeout and its grace answered before the 3 s deadline. */
    cr_assert_eq(status, 0);
    cr_assert_eq(up(&w, "app_one"), 0.0);
    cr_assert_eq(err_count(&w, "app_one", "timeout"), 1.0);
    cr_assert_eq(sample(render(&w), "ustatsd_postgres_pool_abandoned_connections_total"), 1.0);
    /* The connection is made again at once. */
    for (i = 0; i < 20 && up(&w, "app_one") != 1.0; i++) {
        spin(&w, 50);
        collect(&w, 2000, &status);
    }
    cr_assert_eq(up(&w, "app_one"), 1.0, "%s", render(&w));
    world_close(&w);
}

Test(sqlpool, collect_deadline_passes_while_a_run_is_in_flight)
{
    struct world w;
    int status;

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_slow", "SELECT 1 AS v FROM pg_sleep(1)", NULL, "v", 0.0, 3.0);
    world_start(&w);
    collect(&w, 200, &status);
    cr_assert_eq(status, UV_ETIMEDOUT);
    /* The run goes on and its result serves the next scrape. */
    collect(&w, 3000, &status);
    cr_assert_eq(status, 0);
    cr_assert_eq(up(&w, "app_slow"), 1.0);
    world_close(&w);
}

Test(sqlpool, a_configured_insert_fails_as_read_only)
{
    struct world w;
    char count[32];

    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE t (x int)"), 0);
    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_write", "INSERT INTO t VALUES (1) RETURNING x AS v", NULL, "v", 0.0, 2.0);
    world_start(&w);
    collect(&w, 3000, NULL);
    cr_assert_eq(up(&w, "app_write"), 0.0);
    cr_assert_eq(err_count(&w, "app_write", "query"), 1.0, "%s", render(&w));
    cr_assert_str_eq(w.pg.cols[0].last_error,
                     "ERROR:  cannot execute INSERT in a read-only transaction");
    cr_assert_eq(pgtmp_query(&db, "SELECT count(*) FROM t", count, sizeof(count)), 0);
    cr_assert_str_eq(count, "0");
    world_close(&w);
}

Test(sqlpool, results_younger_than_min_interval_are_reused)
{
    struct world w;
    double v1, v2, v3;

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_clock", "SELECT extract(epoch from clock_timestamp())::float8 AS v", NULL,
               "v", 0.5, 2.0);
    world_start(&w);
    collect(&w, 3000, NULL);
    v1 = sample(render(&w), "app_clock");
    spin(&w, 50);
    collect(&w, 3000, NULL);
    v2 = sample(render(&w), "app_clock");
    cr_assert(!isnan(v1));
    cr_assert_eq(v1, v2, "the cached result was not reused");
    cr_assert_eq(w.pg.acquires, 1);
    spin(&w, 550);
    collect(&w, 3000, NULL);
    v3 = sample(render(&w), "app_clock");
    cr_assert_gt(v3, v1);
    cr_assert_eq(w.pg.acquires, 2);
    world_close(&w);
}

Test(sqlpool, concurrent_collects_share_one_run_in_flight)
{
    struct world w;
    struct done a = { .status = 1 }, b = { .status = 1 };
    const char *text;

    world_init(&w, db.conninfo, 2);
    add_metric(&w, "app_s", "SELECT 3 AS v FROM pg_sleep(0.2)", NULL, "v", 0.0, 2.0);
    world_start(&w);
    cr_assert_eq(sqlpool_collect(&w.pg, 3000, on_collected, &a), 0);
    cr_assert_eq(sqlpool_collect(&w.pg, 3000, on_collected, &b), 0);
    run_until(&w, &a.n, 3000);
    run_until(&w, &b.n, 3000);
    cr_assert_eq(a.n, 1);
    cr_assert_eq(b.n, 1);
    cr_assert_eq(a.status, 0);
    cr_assert_eq(b.status, 0);
    text = render(&w);
    cr_assert_eq(sample(text, "ustatsd_postgres_pool_acquires_total"), 1.0, "%s", text);
    cr_assert_eq(w.pg.cols[0].runs, 1);
    cr_assert_eq(sample(text, "app_s"), 3.0);
    world_close(&w);
}

Test(sqlpool, pool_metrics_add_up)
{
    struct world w;
    struct done d = { .status = 1 };
    size_t acq, idle, cons, total, max, seen_acquired = 0;
    const char *text;

    world_init(&w, db.conninfo, 3);
    add_metric(&w, "app_a", "SELECT 1 AS v FROM pg_sleep(0.15)", NULL, "v", 0.0, 2.0);
    add_metric(&w, "app_b", "SELECT 1 AS v FROM pg_sleep(0.15)", NULL, "v", 0.0, 2.0);
    add_metric(&w, "app_c", "SELECT 1 AS v FROM pg_sleep(0.15)", NULL, "v", 0.0, 2.0);
    add_metric(&w, "app_d", "SELECT 1 AS v FROM pg_sleep(0.15)", NULL, "v", 0.0, 2.0);
    world_start(&w);
    spin(&w, 300); /* let the pool connect */
    sqlpool_counts(&w.pg, &acq, &idle, &cons, &total, &max);
    cr_assert_eq(idle, 3);
    cr_assert_eq(max, 3);

    cr_assert_eq(sqlpool_collect(&w.pg, 3000, on_collected, &d), 0);
    while (!d.n) {
        int tick = 0;

        sqlpool_counts(&w.pg, &acq, &idle, &cons, &total, &max);
        cr_assert_eq(acq + idle + cons, total);
        cr_assert_leq(total, max);
        if (acq > seen_acquired)
            seen_acquired = acq;
        run_until(&w, &tick, 10);
    }
    cr_assert_eq(seen_acquired, 3);
    text = render(&w);
    cr_assert_eq(sample(text, "ustatsd_postgres_pool_acquires_total"), 4.0, "%s", text);
    cr_assert_eq(sample(text, "ustatsd_postgres_pool_empty_acquires_total"), 1.0, "%s", text);
    cr_assert_eq(sample(text, "ustatsd_postgres_pool_canceled_acquires_total"), 0.0, "%s", text);
    cr_assert_gt(sample(text, "ustatsd_postgres_pool_acquire_duration_seconds_total"), 0.1, "%s",
                 text);
    cr_assert_eq(sample(text, "ustatsd_postgres_pool_connections{state=\"idle\"}"), 3.0);
    cr_assert_eq(sample(text, "ustatsd_postgres_pool_connections{state=\"total\"}"), 3.0);
    cr_assert_eq(sample(text, "ustatsd_postgres_pool_connections{state=\"max\"}"), 3.0);
    world_close(&w);
}

Test(sqlpool, a_canceled_collect_never_calls_back)
{
    struct world w;
    struct done d = { .status = 1 }, other = { .status = 1 };

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_s", "SELECT 1 AS v FROM pg_sleep(0.1)", NULL, "v", 0.0, 2.0);
    world_start(&w);
    cr_assert_eq(sqlpool_collect(&w.pg, 3000, on_collected, &d), 0);
    cr_assert_eq(sqlpool_collect(&w.pg, 3000, on_collected, &other), 0);
    cr_assert_eq(sqlpool_collect_cancel(&w.pg, on_collected, &d), 1);
    run_until(&w, &other.n, 3000);
    spin(&w, 50);
    cr_assert_eq(d.n, 0);
    cr_assert_eq(other.n, 1);
    world_close(&w);
}

Test(sqlpool, close_cancels_pending_collects)
{
    struct world w;
    struct done d = { .status = 1 };

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_s", "SELECT 1 AS v FROM pg_sleep(2)", NULL, "v", 0.0, 3.0);
    world_start(&w);
    cr_assert_eq(sqlpool_collect(&w.pg, 3000, on_collected, &d), 0);
    spin(&w, 100);
    closed = 0;
    sqlpool_close(&w.pg, on_closed);
    cr_assert_eq(d.n, 1);
    cr_assert_eq(d.status, UV_ECANCELED);
    cr_assert_eq(uv_run(&w.loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(closed, 1);
    cr_assert_eq(uv_loop_close(&w.loop), 0);
    buf_release(&w.out);
}

Test(sqlpool, a_huge_result_is_streamed_and_cut_at_the_series_limit)
{
    struct world w;
    uv_check_t turn;
    unsigned long turns = 0, during = 0;
    struct sqlpool_collector_info info;
    const char *text, *p;
    size_t n = 0;
    int status, i;

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_big", "SELECT g::text AS k, g AS v FROM generate_series(1, 200000) g", "k",
               "v", 0.0, 20.0);
    w.labels[0][0].max_values = 1000000; /* only max_series_per_family (100) limits */
    world_start(&w);
    uv_check_init(&w.loop, &turn);
    turn.data = &turns;
    uv_check_start(&turn, on_turn);

    for (i = 0; i < 2; i++) {
        collect_counting(&w, 15000, &status, &turns, &during);
        cr_assert_eq(status, 0);
        /* At most SQLPOOL_ROWS_PER_TICK rows a turn: the rows took that many turns. */
        cr_assert_geq(during, 200000 / SQLPOOL_ROWS_PER_TICK,
                      "200000 rows read in %lu turns of the loop", during);
        text = render(&w);
        cr_assert_eq(up(&w, "app_big"), 1.0, "%s", text);
        n = 0;
        for (p = text; (p = strstr(p, "\napp_big{")) != NULL; p++)
            n++;
        cr_assert_eq(n, 100);
        cr_assert_eq(err_count(&w, "app_big", "limit"), (double)(i + 1), "once per run");
        cr_assert_eq(err_count(&w, "app_big", "label_rejected"), 0.0);
    }
    /* The connection was drained, not dropped, and serves the next run. */
    cr_assert_eq(w.pg.abandoned, 0);
    cr_assert_eq(w.pg.acquires, 2);
    sqlpool_collector_info(&w.pg, 0, &info);
    cr_assert_eq(info.errors[SQLGAUGE_REASON_LIMIT], 2);
    cr_assert_eq(info.up, 1);
    uv_close((uv_handle_t *)&turn, NULL);
    world_close(&w);
}

Test(sqlpool, rows_after_the_limit_are_still_checked_before_it)
{
    struct world w;
    const char *text;

    world_init(&w, db.conninfo, 1);
    w.cfg.max_series_per_family = 3;
    /* NULL label and NULL value rows come first; only good rows fill the limit. */
    add_metric(&w, "app_lim",
               "SELECT * FROM (VALUES (NULL, '1'), ('a', NULL), ('a', '1'), ('b', '2'),"
               " ('c', '3'), ('d', '4'), ('e', '5')) AS t(k, v)",
               "k", "v", 0.0, 2.0);
    world_start(&w);
    collect(&w, 3000, NULL);
    text = render(&w);
    cr_assert_eq(up(&w, "app_lim"), 1.0, "%s", text);
    cr_assert_eq(sample(text, "app_lim{k=\"a\"}"), 1.0, "%s", text);
    cr_assert_eq(sample(text, "app_lim{k=\"c\"}"), 3.0, "%s", text);
    cr_assert(isnan(sample(text, "app_lim{k=\"d\"}")), "%s", text);
    cr_assert_eq(err_count(&w, "app_lim", "null_label"), 1.0);
    cr_assert_eq(err_count(&w, "app_lim", "limit"), 1.0);
    world_close(&w);
}

Test(sqlpool, a_missing_column_fails_the_run_even_with_no_rows)
{
    struct world w;
    struct sqlpool_collector_info info;

    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_none", "SELECT 1 AS other WHERE false", NULL, "v", 0.0, 2.0);
    add_metric(&w, "app_rows", "SELECT g AS other FROM generate_series(1, 5000) g", NULL, "v", 0.0,
               2.0);
    world_start(&w);
    collect(&w, 3000, NULL);
    cr_assert_eq(up(&w, "app_none"), 0.0);
    cr_assert_eq(up(&w, "app_rows"), 0.0);
    cr_assert_eq(err_count(&w, "app_rows", "query"), 1.0);
    sqlpool_collector_info(&w.pg, 1, &info);
    cr_assert_str_eq(info.last_error, "value column \"v\" is not in the result");
    world_close(&w);
}

Test(sqlpool, collector_info_reports_failures_and_down_transitions)
{
    struct world w;
    struct sqlpool_collector_info info;
    int status, i;

    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE flag (ok boolean); INSERT INTO flag VALUES (true)"),
                 0);
    world_init(&w, db.conninfo, 1);
    add_metric(&w, "app_ok", "SELECT 1 AS v", NULL, "v", 0.0, 2.0);
    add_metric(&w, "app_flaky", "SELECT 1 / ok::int AS v FROM flag", NULL, "v", 0.0, 2.0);
    world_start(&w);
    cr_assert_eq(sqlpool_ncollectors(&w.pg), 2);
    sqlpool_collector_info(&w.pg, 1, &info);
    cr_assert_str_eq(info.name, "app_flaky");
    cr_assert_eq(info.has_run, 0);
    cr_assert_eq(info.has_success, 0);
    cr_assert_str_eq(info.last_error, "");
    cr_assert_eq(info.down_events, 0);

    collect(&w, 3000, &status);
    sqlpool_collector_info(&w.pg, 1, &info);
    cr_assert_eq(info.up, 1);
    cr_assert_eq(info.has_run, 1);
    cr_assert_eq(info.has_success, 1);
    cr_assert_gt(info.last_success_unix, 1700000000.0);
    cr_assert_gt(info.duration_seconds, 0.0);
    cr_assert_eq(info.errors_total, 0);
    cr_assert_eq(info.down_events, 0);

    cr_assert_eq(pgtmp_exec(&db, "UPDATE flag SET ok = false"), 0);
    for (i = 0; i < 2; i++)
        collect(&w, 3000, &status);
    sqlpool_collector_info(&w.pg, 1, &info);
    cr_assert_eq(info.up, 0);
    cr_assert_str_eq(info.last_error, "ERROR:  division by zero");
    cr_assert_eq(info.errors[SQLGAUGE_REASON_QUERY], 2);
    cr_assert_eq(info.errors_total, 2);
    cr_assert_eq(info.down_events, 1, "only the up to down transition counts");
    cr_assert_eq(info.has_success, 1);

    cr_assert_eq(pgtmp_exec(&db, "UPDATE flag SET ok = true"), 0);
    collect(&w, 3000, &status);
    cr_assert_eq(pgtmp_exec(&db, "UPDATE flag SET ok = false"), 0);
    collect(&w, 3000, &status);
    sqlpool_collector_info(&w.pg, 1, &info);
    cr_assert_eq(info.down_events, 2);
    sqlpool_collector_info(&w.pg, 0, &info);
    cr_assert_str_eq(info.name, "app_ok");
    cr_assert_eq(info.up, 1);
    cr_assert_eq(info.down_events, 0);
    world_close(&w);
}

Test(sqlpool_info, a_first_run_that_fails_counts_as_going_down)
{
    struct world w;
    struct sqlpool_collector_info info;
    int status;

    /* Nothing listens on port 1 of localhost: connecting fails at once. */
    world_init(&w, "host=127.0.0.1 port=1 dbname=x connect_timeout=2", 1);
    add_metric(&w, "app_one", "SELECT 1 AS v", NULL, "v", 0.0, 1.0);
    world_start(&w);
    spin(&w, 50);
    collect(&w, 2000, &status);
    sqlpool_collector_info(&w.pg, 0, &info);
    cr_assert_eq(info.up, 0);
    cr_assert_eq(info.has_run, 1);
    cr_assert_eq(info.down_events, 1);
    cr_assert_gt(info.errors_total, 0);
    cr_assert_neq(info.last_error[0], '\0');
    collect(&w, 2000, &status);
    sqlpool_collector_info(&w.pg, 0, &info);
    cr_assert_eq(info.down_events, 1);
    world_close(&w);
}

Test(sqlpool_info, init_refuses_a_conninfo_that_needs_dns)
{
    struct world w;
    char err[256];

    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    world_init(&w, "host=db.example.com dbname=x", 1);
    cr_assert_eq(sqlpool_init(&w.pg, &w.loop, &w.cfg, err, sizeof(err)), UV_EINVAL);
    cr_assert(strstr(err, "conninfo") != NULL, "%s", err);
    cr_assert_eq(uv_loop_close(&w.loop), 0);
    buf_release(&w.out);
}
