/*
 * bench_pg: the latency of a scrape's PostgreSQL part, sqlpool_collect() until its callback
 * plus sqlpool_render(), against a throwaway server (tests/lib/pgtmp).
 *
 *   warm: every collector's result is younger than min_interval (served from the cache);
 *   cold: min_interval is 0, so every collect runs the queries.
 *
 * Then how long the loop is held while a collector works, as the longest gap between the
 * runs of a 5 ms timer during one collect (the loop is free when it is about 5 ms):
 *
 *   timeout: a query that outlives its 0.3 s timeout (pg_sleep), the loop waiting;
 *   stream:  a 200,000-row result, read SQLPOOL_ROWS_PER_TICK rows a loop turn and cut
 *            at the series limit.
 *
 * test_sqlpool checks the behaviour (the timer runs while a query is in flight, the rows
 * take a turn per SQLPOOL_ROWS_PER_TICK); the time is measured here, where a loaded
 * machine moves the figure rather than fails a test.
 *
 * Usage: bench_pg [runs]   (default 200 warm, a quarter of that cold, a twentieth of
 *                           that for each loop figure)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "base/expo.h"
#include "pgtmp.h"
#include "pg/sqlpool.h"

#define NCOLS 3

static struct pgtmp db;

struct bench {
    uv_loop_t loop;
    struct config cfg;
    struct config_sql_metric m[NCOLS];
    struct config_label labels[NCOLS][1];
    char *columns[NCOLS][1];
    struct sqlpool pg;
    struct buf out;
    int status;
};

static void on_collected(struct sqlpool *pg, void *arg, int status)
{
    struct bench *b = arg;

    b->status = status;
    uv_stop(pg->loop);
}

static void on_closed(struct sqlpool *pg)
{
    (void)pg;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One scrape's share: collect, wait on the loop, render. Returns microseconds. */
static double scrape(struct bench *b, size_t *bytes)
{
    struct expo e;
    uint64_t t0 = uv_hrtime();

    if (sqlpool_collect(&b->pg, 5000, on_collected, b) < 0) {
        fprintf(stderr, "bench_pg: sqlpool_collect refused\n");
        exit(1);
    }
    uv_run(&b->loop, UV_RUN_DEFAULT);
    buf_reset(&b->out);
    expo_init(&e, &b->out, EXPO_OPENMETRICS);
    sqlpool_render(&b->pg, &e, 1700000000.0, NULL);
    *bytes = b->out.len;
    return (double)(uv_hrtime() - t0) / 1e3;
}

/*
 * Set b up with n SQL metrics (n <= NCOLS), each with one label, and start its pool.
 * The label allows max_values values; max_series_per_family is 1000.
 */
static void bench_start(struct bench *b, int n, const char *const *names,
                        const char *const *queries, const char *const *label, uint32_t max_values,
                        double min_interval, double timeout)
{
    char err[256];
    int i;

    memset(b, 0, sizeof(*b));
    if (uv_loop_init(&b->loop) != 0)
        exit(1);
    b->cfg.path = (char *)"bench";
    b->cfg.has_postgres = 1;
    b->cfg.pg_conninfo = db.conninfo;
    b->cfg.pg_pool_size = 2;
    b->cfg.pg_connect_timeout = 5;
    b->cfg.pg_statement_timeout = 5;
    b->cfg.max_series_per_family = 1000;
    b->cfg.max_label_value_len = 64;
    b->cfg.sql_metrics = b->m;
    b->cfg.nsql_metrics = (size_t)n;
    for (i = 0; i < n; i++) {
        b->m[i].name = (char *)names[i];
        b->m[i].help = (char *)"bench";
        b->m[i].group = (char *)"";
        b->m[i].unit = (char *)"";
        b->m[i].query = (char *)queries[i];
        b->m[i].value_column = (char *)"n";
        b->m[i].min_interval_seconds = min_interval;
        b->m[i].timeout_seconds = timeout;
        b->labels[i][0].name = (char *)label[i];
        b->labels[i][0].max_values = max_values;
        b->columns[i][0] = (char *)label[i];
        b->m[i].labels = b->labels[i];
        b->m[i].label_columns = b->columns[i];
        b->m[i].nlabels = 1;
    }
    if (sqlpool_init(&b->pg, &b->loop, &b->cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_pg: %s\n", err);
        exit(1);
    }
    sqlpool_start(&b->pg);
}

static void bench_stop(struct bench *b)
{
    sqlpool_close(&b->pg, on_closed);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&b->loop) != 0)
        fprintf(stderr, "bench_pg: loop not closed cleanly\n");
    buf_release(&b->out);
}

static void run(const char *what, double min_interval, int n)
{
    static const char *const names[NCOLS] = { "bench_jobs", "bench_steps", "bench_blobs" };
    static const char *const queries[NCOLS] = {
        "SELECT state, count(*)::int AS n FROM jobs GROUP BY state",
        "SELECT step, max(age)::float8 AS n FROM jobs GROUP BY step",
        "SELECT 'all' AS kind, sum(age)::float8 AS n FROM jobs",
    };
    static const char *const label[NCOLS] = { "state", "step", "kind" };
    struct bench b;
    double *us = calloc((size_t)n, sizeof(*us));
    size_t bytes = 0;
    int i;

    if (us == NULL)
        exit(1);
    bench_start(&b, NCOLS, names, queries, label, 100, min_interval, 5);
    scrape(&b, &bytes); /* connect the pool, fill the cache */
    for (i = 0; i < n; i++)
        us[i] = scrape(&b, &bytes);
    if (b.status != 0)
        fprintf(stderr, "bench_pg: last collect status %d\n", b.status);
    qsort(us, (size_t)n, sizeof(*us), cmp_double);
    printf("pg collect+render %-5s median %9.1f us  p90 %9.1f us  (%d runs, %zu bytes)\n", what,
           us[n / 2], us[n * 9 / 10], n, bytes);
    bench_stop(&b);
    free(us);
}

struct gaps {
    uint64_t last, max;
};

static void on_5ms(uv_timer_t *t)
{
    struct gaps *g = t->data;
    uint64_t now = uv_hrtime();

    if (g->last != 0 && now - g->last > g->max)
        g->max = now - g->last;
    g->last = now;
}

/* The longest gap between 5 ms ticks during each of n collects of query, in ms. */
static void stall(const char *what, const char *query, double timeout, int n)
{
    static const char *const label[1] = { "k" };
    const char *const names[1] = { "bench_stall" };
    const char *const queries[1] = { query };
    struct bench b;
    struct gaps g = { 0, 0 };
    uv_timer_t tick;
    double *ms = calloc((size_t)n, sizeof(*ms));
    size_t bytes = 0;
    int i;

    if (ms == NULL)
        exit(1);
    bench_start(&b, 1, names, queries, label, 1000000, 0.0, timeout);
    scrape(&b, &bytes); /* connect the pool */
    uv_timer_init(&b.loop, &tick);
    tick.data = &g;
    uv_timer_start(&tick, on_5ms, 5, 5);
    for (i = 0; i < n; i++) {
        g.last = 0;
        g.max = 0;
        scrape(&b, &bytes);
        ms[i] = (double)g.max / 1e6;
    }
    uv_close((uv_handle_t *)&tick, NULL);
    qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
    printf("pg loop gap %-8s median %6.1f ms  max %6.1f ms  (5 ms timer, %d collects)\n", what,
           ms[n / 2], ms[n - 1], n);
    bench_stop(&b);
    free(ms);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;

    if (n < 4)
        n = 4;
    if (pgtmp_start(&db) < 0)
        return 1;
    if (pgtmp_exec(&db, "CREATE TABLE jobs (state text, step text, age int);"
                        "INSERT INTO jobs SELECT (ARRAY['queued','running','done','failed'])"
                        "[1 + g % 4], 'step' || (g % 40), g FROM generate_series(1, 20000) g;"
                        "ANALYZE jobs") < 0) {
        pgtmp_destroy(&db);
        return 1;
    }
    run("warm", 3600.0, n);
    run("cold", 0.0, n / 4);
    stall("timeout", "SELECT 'x' AS k, 1 AS n FROM pg_sleep(5)", 0.3, n / 20 < 3 ? 3 : n / 20);
    stall("stream", "SELECT g::text AS k, g AS n FROM generate_series(1, 200000) g", 20.0,
          n / 20 < 3 ? 3 : n / 20);
    pgtmp_destroy(&db);
    return 0;
}
