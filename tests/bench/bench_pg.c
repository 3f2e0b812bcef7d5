/*
 * bench_pg: the latency of a scrape's PostgreSQL part, sqlpool_collect() until its callback
 * plus sqlpool_render(), against a throwaway server (tests/lib/pgtmp).
 *
 *   warm: every collector's result is younger than min_interval (served from the cache);
 *   cold: min_interval is 0, so every collect runs the queries.
 *
 * Usage: bench_pg [runs]   (default 200 warm, a quarter of that cold)
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
    char err[256];
    double *us = calloc((size_t)n, sizeof(*us));
    size_t bytes = 0;
    int i;

    memset(&b, 0, sizeof(b));
    if (us == NULL || uv_loop_init(&b.loop) != 0)
        exit(1);
    b.cfg.path = (char *)"bench";
    b.cfg.has_postgres = 1;
    b.cfg.pg_conninfo = db.conninfo;
    b.cfg.pg_pool_size = 2;
    b.cfg.pg_connect_timeout = 5;
    b.cfg.pg_statement_timeout = 5;
    b.cfg.max_series_per_family = 1000;
    b.cfg.max_label_value_len = 64;
    b.cfg.sql_metrics = b.m;
    b.cfg.nsql_metrics = NCOLS;
    for (i = 0; i < NCOLS; i++) {
        b.m[i].name = (char *)names[i];
        b.m[i].help = (char *)"bench";
        b.m[i].group = (char *)"";
        b.m[i].unit = (char *)"";
        b.m[i].query = (char *)queries[i];
        b.m[i].value_column = (char *)"n";
        b.m[i].min_interval_seconds = min_interval;
        b.m[i].timeout_seconds = 5;
        b.labels[i][0].name = (char *)label[i];
        b.labels[i][0].max_values = 100;
        b.columns[i][0] = (char *)label[i];
        b.m[i].labels = b.labels[i];
        b.m[i].label_columns = b.columns[i];
        b.m[i].nlabels = 1;
    }
    if (sqlpool_init(&b.pg, &b.loop, &b.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_pg: %s\n", err);
        exit(1);
    }
    sqlpool_start(&b.pg);
    scrape(&b, &bytes); /* connect the pool, fill the cache */
    for (i = 0; i < n; i++)
        us[i] = scrape(&b, &bytes);
    if (b.status != 0)
        fprintf(stderr, "bench_pg: last collect status %d\n", b.status);
    qsort(us, (size_t)n, sizeof(*us), cmp_double);
    printf("pg collect+render %-5s median %9.1f us  p90 %9.1f us  (%d runs, %zu bytes)\n", what,
           us[n / 2], us[n * 9 / 10], n, bytes);
    sqlpool_close(&b.pg, on_closed);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&b.loop) != 0)
        fprintf(stderr, "bench_pg: loop not closed cleanly\n");
    buf_release(&b.out);
    free(us);
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
    pgtmp_destroy(&db);
    return 0;
}
