/*
 * sqllog without a server or a log: which run endings are said (once per reason and
 * SQLSTATE, then the recovery), and which rejected label values (each once, at most
 * SQLLOG_MAX_VALUES, then "and more" once); and that a build remembers what it rejects.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "pg/sqlgauge.h"
#include "pg/sqllog.h"

Test(sqllog, a_failure_is_said_once_per_reason_and_sqlstate)
{
    struct sqllog_metric m;
    static const struct {
        int reason;
        const char *sqlstate;
        enum sqllog_say want;
    } steps[] = {
        { SQLGAUGE_REASON_QUERY, "42P01", SQLLOG_SAY_DOWN }, /* the first run fails */
        { SQLGAUGE_REASON_QUERY, "42P01", SQLLOG_QUIET },    /* every scrape after: quiet */
        { SQLGAUGE_REASON_QUERY, "42P01", SQLLOG_QUIET },
        { SQLGAUGE_REASON_QUERY, "42703", SQLLOG_SAY_CHANGED }, /* another SQLSTATE */
        { SQLGAUGE_REASON_CONNECT, NULL, SQLLOG_SAY_CHANGED },  /* another reason */
        { SQLGAUGE_REASON_CONNECT, "", SQLLOG_QUIET },          /* "" and NULL are one */
        { -1, NULL, SQLLOG_SAY_RECOVERED },
        { -1, NULL, SQLLOG_QUIET },
        { SQLGAUGE_REASON_CONNECT, NULL, SQLLOG_SAY_DOWN }, /* down again, as before: said */
        { SQLGAUGE_REASON_TIMEOUT, "57014", SQLLOG_SAY_CHANGED },
        { SQLGAUGE_REASON_TIMEOUT, "57014", SQLLOG_QUIET },
    };

    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        cr_assert_eq(sqllog_run(&m, steps[i].reason, steps[i].sqlstate), steps[i].want, "step %zu",
                     i);
}

Test(sqllog, the_first_success_is_said_once)
{
    struct sqllog_metric m;

    memset(&m, 0, sizeof m);
    cr_assert_eq(sqllog_run(&m, -1, NULL), SQLLOG_SAY_UP);
    cr_assert_eq(sqllog_run(&m, -1, NULL), SQLLOG_QUIET);
    cr_assert_eq(sqllog_run(&m, SQLGAUGE_REASON_QUERY, "XX000"), SQLLOG_SAY_DOWN);
}

Test(sqllog, each_rejected_value_is_said_once_in_order)
{
    struct sqllog_metric m;
    const struct sqllog_value *v;

    memset(&m, 0, sizeof m);
    sqllog_reject(&m, 0, CONFIG_FOLD_NOT_ALLOWED, "paused", 6);
    sqllog_reject(&m, 0, CONFIG_FOLD_NOT_ALLOWED, "paused", 6);
    sqllog_reject(&m, 1, CONFIG_FOLD_NOT_ALLOWED, "paused", 6); /* another label: another value */
    sqllog_reject(&m, 0, CONFIG_FOLD_NOT_ALLOWED, "pause", 5);
    v = sqllog_next_value(&m);
    cr_assert(v != NULL && v->label == 0 && v->len == 6 && memcmp(v->text, "paused", 6) == 0);
    v = sqllog_next_value(&m);
    cr_assert(v != NULL && v->label == 1 && v->why == CONFIG_FOLD_NOT_ALLOWED);
    v = sqllog_next_value(&m);
    cr_assert(v != NULL && v->len == 5);
    cr_assert_null(sqllog_next_value(&m));
    cr_assert_eq(sqllog_take_more(&m), 0);
    /* Said values stay remembered: seen again, they are not said again. */
    sqllog_reject(&m, 0, CONFIG_FOLD_NOT_ALLOWED, "paused", 6);
    cr_assert_null(sqllog_next_value(&m));
}

Test(sqllog, values_beyond_the_bound_are_said_as_and_more_once)
{
    struct sqllog_metric m;
    char value[16];
    size_t said = 0;

    memset(&m, 0, sizeof m);
    for (int i = 0; i < 3 * SQLLOG_MAX_VALUES; i++) {
        int n = snprintf(value, sizeof value, "v%d", i);

        sqllog_reject(&m, 0, CONFIG_FOLD_CAP, value, (size_t)n);
    }
    cr_assert_eq(sqllog_take_more(&m), 0, "the values first");
    while (sqllog_next_value(&m) != NULL)
        said++;
    cr_assert_eq(said, SQLLOG_MAX_VALUES);
    cr_assert_eq(sqllog_take_more(&m), 1);
    cr_assert_eq(sqllog_take_more(&m), 0, "once");
    sqllog_reject(&m, 0, CONFIG_FOLD_CAP, "another", 7);
    cr_assert_null(sqllog_next_value(&m));
    cr_assert_eq(sqllog_take_more(&m), 0, "and never again");
    cr_assert_leq(sizeof m, 2048, "bounded memory per metric: %zu bytes", sizeof m);
}

Test(sqllog, long_values_are_kept_by_their_first_bytes_and_length)
{
    struct sqllog_metric m;
    char a[200], b[200];
    const struct sqllog_value *v;

    memset(&m, 0, sizeof m);
    memset(a, 'x', sizeof a);
    memcpy(b, a, sizeof b);
    b[150] = 'y'; /* differs past the bytes kept: the same value for the log */
    sqllog_reject(&m, 0, CONFIG_FOLD_TOO_LONG, a, sizeof a);
    sqllog_reject(&m, 0, CONFIG_FOLD_TOO_LONG, b, sizeof b);
    sqllog_reject(&m, 0, CONFIG_FOLD_TOO_LONG, a, sizeof a - 1); /* another length */
    v = sqllog_next_value(&m);
    cr_assert(v != NULL && v->len == sizeof a && v->why == CONFIG_FOLD_TOO_LONG);
    v = sqllog_next_value(&m);
    cr_assert(v != NULL && v->len == sizeof a - 1);
    cr_assert_null(sqllog_next_value(&m));
}

/* A build hands each rejected row's label, value and why to its log memory. */
Test(sqllog, a_build_remembers_why_it_rejected_a_value)
{
    static char *states[] = { (char *)"open", (char *)"closed" };
    struct config cfg;
    struct config_label labels[2];
    char *columns[2] = { (char *)"state", (char *)"shard" };
    struct config_sql_metric m;
    struct sqlgauge_build b;
    struct sqllog_metric said;
    const struct sqllog_value *v;
    static const struct {
        const char *state, *shard;
        int label;
        enum config_fold why;
    } rows[] = {
        { "open", "a", -1, 0 },
        { "paused", "a", 0, CONFIG_FOLD_NOT_ALLOWED },
        { "open", "b", -1, 0 },
        { "open", "c", 1, CONFIG_FOLD_CAP }, /* shard takes 2 distinct values */
        { "open", "a-long-shard-name", 1, CONFIG_FOLD_TOO_LONG },
    };

    memset(&cfg, 0, sizeof cfg);
    memset(&m, 0, sizeof m);
    memset(labels, 0, sizeof labels);
    memset(&said, 0, sizeof said);
    cfg.max_label_value_len = 8;
    labels[0].name = (char *)"state";
    labels[0].values = states;
    labels[0].nvalues = 2;
    labels[1].name = (char *)"shard";
    labels[1].max_values = 2;
    m.name = (char *)"app_rows";
    m.labels = labels;
    m.nlabels = 2;
    m.label_columns = columns;
    m.value_column = (char *)"n";
    sqlgauge_build_init(&b, &cfg, &m);
    b.log = &said;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sqlgauge_cell cells[2] = { { rows[i].state, (uint32_t)strlen(rows[i].state), 0 },
                                          { rows[i].shard, (uint32_t)strlen(rows[i].shard), 0 } };
        struct sqlgauge_cell value = { "1", 1, 0 };

        cr_assert_eq(sqlgauge_build_add(&b, cells, &value, 0),
                     rows[i].label < 0 ? SQLGAUGE_KEPT : SQLGAUGE_REASON_LABEL_REJECTED, "row %zu",
                     i);
    }
    sqlgauge_build_release(&b);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *want = rows[i].label == 0 ? rows[i].state : rows[i].shard;

        if (rows[i].label < 0)
            continue;
        v = sqllog_next_value(&said);
        cr_assert_not_null(v, "row %zu", i);
        cr_assert_eq(v->label, (uint32_t)rows[i].label, "row %zu", i);
        cr_assert_eq(v->why, (uint32_t)rows[i].why, "row %zu", i);
        cr_assert(v->len == strlen(want) && memcmp(v->text, want, v->len) == 0, "row %zu", i);
    }
    cr_assert_null(sqllog_next_value(&said));
    cr_assert_str_eq(sqllog_why_text(CONFIG_FOLD_NOT_ALLOWED), "is not among the label's values");
}
