/*
 * `ustatsd --check-config FILE --connect` through the real binary, against a throwaway
 * PostgreSQL (tests/lib/pgtmp) with a fresh database for each test: seed 000's twelve
 * queries each named without their tables and all passing with them; a column missing
 * from a result, a value column that is no number, a syntax error, a role without the
 * right to read, each a line naming the file, the metric and PostgreSQL's message, exit 1;
 * a server that refuses the connection, one line and exit 1; rows the daemon would skip,
 * warnings; metrics the groups exclude, not checked; and without --connect, no connection.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "pgtmp.h"

static struct pgtmp db;
static char dir[64];
static char cfg[128];  /* dir/ustatsd.json */
static char sock[128]; /* dir/ingest.sock */

PGTMP_SHARED_SERVER();

static void init(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ustatsd-sqlcheck-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cfg, sizeof(cfg), "%s/ustatsd.json", dir);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", dir);
    cr_assert_eq(pgtmp_start(&db), 0, "could not start a throwaway PostgreSQL");
}

static void fini(void)
{
    char cmd[128];

    pgtmp_destroy(&db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(e2e_sqlcheck, .init = init, .fini = fini, .timeout = 120);

/* ustatsd --check-config cfg --socket sock --socket-group "" [--connect]; *out both streams. */
static int check(char **out, int connect)
{
    const char *args[] = {
        "--check-config", cfg, "--socket", sock, "--socket-group", "", "--connect", NULL,
    };

    if (!connect)
        args[6] = NULL;
    return daemon_run_once(args, out);
}

#define count daemon_count

/* out holds the printf-formatted string once. */
#define want(out, ...) daemon_want(out, 1, __VA_ARGS__)

/* Seed 000's shipped config, its conninfo the throwaway server's. */
static void write_seed_000(void)
{
    char path[512];
    json_error_t err;
    json_t *root;

    snprintf(path, sizeof(path), "%s/packaging/seeds/000-imgsrv/ustatsd.json", USTATSD_SOURCE_DIR);
    root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s: %s", path, err.text);
    json_object_set_new(json_object_get(root, "postgres"), "conninfo", json_string(db.conninfo));
    cr_assert_eq(json_dump_file(root, cfg, JSON_INDENT(1)), 0);
    json_decref(root);
}

/* The tables seed 000's queries read, as its service keeps them. */
static const char seed_000_schema[] =
    "CREATE TABLE upload_sessions (id bigint, state text);"
    "CREATE TABLE cas_ingest_jobs (id bigint, state text, due_at timestamptz,"
    "                              started_at timestamptz);"
    "CREATE TABLE cas_blobs (digest text, size_bytes bigint, verified boolean);"
    "CREATE TABLE publish_jobs (id bigint, state text);"
    "CREATE TABLE publish_steps (job bigint, step text, state text, due_at timestamptz,"
    "                            started_at timestamptz);"
    "CREATE TABLE image_versions (id bigint, state text);"
    "CREATE TABLE incus_projection (name text);";

static const char *const seed_000_tables[12] = {
    "upload_sessions", "cas_ingest_jobs", "cas_ingest_jobs", "cas_ingest_jobs",
    "cas_blobs",       "cas_blobs",       "publish_jobs",    "publish_steps",
    "publish_steps",   "publish_steps",   "image_versions",  "incus_projection",
};

Test(e2e_sqlcheck, seed_000_without_its_tables_names_each_query_and_with_them_passes)
{
    char *out = NULL, name[64];
    json_t *root = NULL;
    json_error_t err;

    write_seed_000();
    cr_assert_eq(check(&out, 1), 1, "%s", out);
    root = json_load_file(cfg, 0, &err);
    for (size_t i = 0; i < 12; i++) {
        json_t *m = json_array_get(json_object_get(root, "sql_metrics"), i);

        snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(m, "name")));
        want(out, "ustatsd: %s: $.sql_metrics[%zu] (%s): query \"SELECT ", cfg, i, name);
        want(out, "$.sql_metrics[%zu] (%s): query \"", i, name);
        cr_assert_not_null(strstr(strstr(out, name), "relation \""), "%s", out);
    }
    for (size_t i = 0; i < 12; i++) {
        char line[256];

        snprintf(line, sizeof(line), "relation \"%s\" does not exist (SQLSTATE 42P01)\n",
                 seed_000_tables[i]);
        cr_assert_geq(count(out, line), 1, "%s\n%s", line, out);
    }
    cr_assert_eq(count(out, "SQLSTATE 42P01"), 12, "%s", out);
    /* A long query is cut at 60 bytes, its white space folded. */
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (imgsrv_upload_sessions): query \"SELECT state, "
         "count(*)::float8 AS n FROM upload_sessions GRO...\": relation \"upload_sessions\" "
         "does not exist (SQLSTATE 42P01)\n",
         cfg);
    want(out, "ustatsd: %s: --connect: 12 of 12 SQL metrics failed on the database\n", cfg);
    cr_assert_null(strstr(out, ": ok ("), "no ok when a query fails:\n%s", out);
    free(out);
    json_decref(root);

    cr_assert_eq(pgtmp_exec(&db, seed_000_schema), 0);
    cr_assert_eq(check(&out, 1), 0, "%s", out);
    want(out, "%s: ok (", cfg);
    want(out,
         "%s: --connect: 12 SQL metrics ok on the database (0 excluded by groups, not "
         "checked; 0 warnings on stderr",
         cfg);
    cr_assert_null(strstr(out, "ustatsd: "), "nothing on stderr:\n%s", out);
    free(out);
}

/* A config of the SQL metrics given (JSON objects, comma-separated), with conninfo. */
static void write_config(const char *conninfo, const char *metrics, const char *more)
{
    daemon_write_file(cfg,
                      "{\"postgres\": {\"conninfo\": \"%s\", \"statement_timeout_seconds\": 5},\n"
                      "%s \"sql_metrics\": [%s]}\n",
                      conninfo, more, metrics);
}

Test(e2e_sqlcheck, each_broken_metric_is_one_line_with_postgresql_s_message)
{
    static const char metrics[] =
        "{\"name\": \"app_ok\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"WITH x AS (SELECT state FROM jobs) SELECT state, count(*)::float8 AS n "
        "FROM x GROUP BY state; -- trailing\",\n"
        " \"labels\": [{\"name\": \"state\", \"max_values\": 4}]},\n"
        "{\"name\": \"app_missing_column\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELECT count(*)::float8 AS total FROM jobs\"},\n"
        "{\"name\": \"app_text_value\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELECT state, state AS n FROM jobs\", \"labels\": [{\"name\": "
        "\"state\"}]},\n"
        "{\"name\": \"app_syntax\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELEC count(*) AS n FROM jobs\"},\n"
        "{\"name\": \"app_no_label\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELECT count(*)::float8 AS n FROM jobs\", \"labels\": [{\"name\": "
        "\"state\"}]}";
    char *out = NULL;

    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE jobs (state text)"), 0);
    write_config(db.conninfo, metrics, "");
    cr_assert_eq(check(&out, 1), 1, "%s", out);
    cr_assert_null(strstr(out, "(app_ok)"), "%s", out);
    want(out,
         "ustatsd: %s: $.sql_metrics[1] (app_missing_column): query \"SELECT count(*)::float8 AS "
         "total FROM jobs\": value column \"n\" is not in its result (columns: total)\n",
         cfg);
    want(out,
         "ustatsd: %s: $.sql_metrics[2] (app_text_value): query \"SELECT state, state AS n FROM "
         "jobs\": value column \"n\" is of type text: the value must be a number",
         cfg);
    want(out,
         "ustatsd: %s: $.sql_metrics[3] (app_syntax): query \"SELEC count(*) AS n FROM jobs\": "
         "syntax error at or near \"SELEC\" (SQLSTATE 42601)\n",
         cfg);
    want(out,
         "ustatsd: %s: $.sql_metrics[4] (app_no_label): query \"SELECT count(*)::float8 AS n "
         "FROM jobs\": label column \"state\" (label state) is not in its result (columns: n)\n",
         cfg);
    want(out, "ustatsd: %s: --connect: 4 of 5 SQL metrics failed on the database\n", cfg);
    free(out);
}

Test(e2e_sqlcheck, a_role_that_may_not_read_the_table_is_named_with_the_server_s_refusal)
{
    static const char metrics[] =
        "{\"name\": \"app_secret\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELECT count(*)::float8 AS n FROM secret\"},\n"
        "{\"name\": \"app_public\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELECT count(*)::float8 AS n FROM public_jobs\"}";
    char role[64], sql[512], conninfo[320], *out = NULL;

    /* Roles are the server's, which the program's tests share: a name of this test's. */
    snprintf(role, sizeof(role), "reader_%d", (int)getpid());
    snprintf(sql, sizeof(sql),
             "CREATE TABLE secret (n int); CREATE TABLE public_jobs (n int);"
             "CREATE ROLE %s LOGIN; GRANT SELECT ON public_jobs TO %s",
             role, role);
    cr_assert_eq(pgtmp_exec(&db, sql), 0);
    snprintf(conninfo, sizeof(conninfo), "%.*s user=%s",
             (int)(strstr(db.conninfo, " user=") - db.conninfo), db.conninfo, role);
    write_config(conninfo, metrics, "");
    cr_assert_eq(check(&out, 1), 1, "%s", out);
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (app_secret): query \"SELECT count(*)::float8 AS n FROM "
         "secret\": permission denied for table secret (SQLSTATE 42501)\n",
         cfg);
    cr_assert_null(strstr(out, "(app_public)"), "%s", out);
    want(out, "ustatsd: %s: --connect: 1 of 2 SQL metrics failed on the database\n", cfg);
    free(out);
    snprintf(sql, sizeof(sql), "DROP OWNED BY %s; DROP ROLE %s", role, role);
    cr_assert_eq(pgtmp_exec(&db, sql), 0);
}

Test(e2e_sqlcheck, a_refused_connection_is_one_line_and_without_connect_none_is_tried)
{
    char conninfo[96], *out = NULL;

    snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d dbname=x connect_timeout=5",
             daemon_free_port());
    write_config(conninfo,
                 "{\"name\": \"app_x\", \"help\": \"H.\", \"value_column\": \"n\",\n"
                 " \"query\": \"SELECT 1::float8 AS n\"}",
                 "");
    cr_assert_eq(check(&out, 1), 1, "%s", out);
    want(out,
         "ustatsd: %s: $.postgres.conninfo: could not connect: connection to server at "
         "\"127.0.0.1\", port ",
         cfg);
    cr_assert_not_null(strstr(out, "Connection refused"), "%s", out);
    cr_assert_null(strstr(out, "$.sql_metrics[0]"), "nothing checked:\n%s", out);
    cr_assert_null(strstr(out, ": ok ("), "%s", out);
    free(out);

    /* Without --connect, --check-config connects nowhere: the same file is ok. */
    cr_assert_eq(check(&out, 0), 0, "%s", out);
    want(out, "%s: ok (", cfg);
    cr_assert_null(strstr(out, "connect"), "%s", out);
    free(out);
}

Test(e2e_sqlcheck, connect_goes_with_check_config)
{
    const char *args[] = { "--config", "x.json", "--connect", NULL };
    char *out = NULL;

    cr_assert_eq(daemon_run_once(args, &out), 2, "%s", out);
    want(out, "ustatsd: --connect goes with --check-config FILE\n");
    free(out);
}

Test(e2e_sqlcheck, rows_the_daemon_would_skip_are_warnings_and_excluded_metrics_unchecked)
{
    static const char metrics[] =
        "{\"name\": \"app_states\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELECT state, count(*)::float8 AS n FROM jobs GROUP BY state\",\n"
        " \"labels\": [{\"name\": \"state\", \"values\": [\"open\"]}]},\n"
        "{\"name\": \"app_host_only\", \"help\": \"H.\", \"group\": \"host\",\n"
        " \"query\": \"SELECT broken\", \"value_column\": \"n\"}";
    char *out = NULL;

    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE jobs (state text);"
                                 "INSERT INTO jobs VALUES ('open'), ('pa\"used'), (NULL)"),
                 0);
    write_config(db.conninfo, metrics, "\"groups\": {\"exclude\": [\"host\"]},\n");
    cr_assert_eq(check(&out, 1), 0, "%s", out);
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (app_states): warning: 1 of 3 rows would be skipped: a "
         "label value is refused (label_rejected)\n",
         cfg);
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (app_states): warning: 1 of 3 rows would be skipped: a "
         "label column is NULL (null_label)\n",
         cfg);
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (app_states): warning: label state value \"pa\\\"used\" "
         "is not among the label's values\n",
         cfg);
    cr_assert_null(strstr(out, "app_host_only"), "excluded: not checked\n%s", out);
    want(out,
         "%s: --connect: 1 SQL metric ok on the database (1 excluded by groups, not "
         "checked; 3 warnings on stderr",
         cfg);
    free(out);
}

Test(e2e_sqlcheck, values_the_daemon_would_fold_are_warnings_counted_by_label_and_reason)
{
    static const char metrics[] =
        "{\"name\": \"app_steps\", \"help\": \"H.\", \"value_column\": \"n\",\n"
        " \"query\": \"SELECT step, count(*)::float8 AS n FROM steps GROUP BY step ORDER BY step "
        "COLLATE \\\"C\\\"\",\n"
        " \"labels\": [{\"name\": \"step\", \"max_values\": 1, \"pattern\": \"[a-z]+\","
        " \"overflow\": \"__other__\"}]}";
    char *out = NULL;

    cr_assert_eq(pgtmp_exec(&db, "CREATE TABLE steps (step text);"
                                 "INSERT INTO steps VALUES ('Mirror'), ('a'), ('b'), ('c')"),
                 0);
    write_config(db.conninfo, metrics, "");
    cr_assert_eq(check(&out, 1), 0, "folds leave the metric passing: %s", out);
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (app_steps): warning: 2 of 4 rows would fold label step "
         "into \"__other__\" (cap)\n",
         cfg);
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (app_steps): warning: 1 of 4 rows would fold label step "
         "into \"__other__\" (pattern)\n",
         cfg);
    want(out,
         "ustatsd: %s: $.sql_metrics[0] (app_steps): warning: the first fold: label step value "
         "\"Mirror\" does not match the label's pattern\n",
         cfg);
    cr_assert_null(strstr(out, "skipped"), "no row skipped:\n%s", out);
    free(out);
}
