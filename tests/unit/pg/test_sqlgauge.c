/*
 * sqlgauge without a server: which rows of a result are kept and why the others are
 * skipped, the order and deduplication of what is kept, and the rendered text.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "base/errcode.h"
#include "base/expo.h"
#include "pg/sqlgauge.h"

#define NULLCELL ((struct sqlgauge_cell){ NULL, 0, 1 })

static struct sqlgauge_cell text(const char *s)
{
    struct sqlgauge_cell c = { s, (uint32_t)strlen(s), 0 };
    return c;
}

/* A metric with one label "k", capped at max_values, or enumerated when values != NULL. */
struct fixture {
    struct config cfg;
    struct config_sql_metric m;
    struct config_label label;
    char *column;
    struct sqlgauge_build b;
};

static void fixture_init(struct fixture *f, char **values, size_t nvalues, uint32_t max_values)
{
    memset(f, 0, sizeof(*f));
    f->cfg.max_series_per_family = 4;
    f->cfg.max_label_value_len = 8;
    f->label.name = (char *)"k";
    f->label.values = values;
    f->label.nvalues = nvalues;
    f->label.max_values = max_values;
    f->column = (char *)"k";
    f->m.name = (char *)"app_k";
    f->m.help = (char *)"Ks.";
    f->m.unit = (char *)"";
    f->m.labels = &f->label;
    f->m.nlabels = 1;
    f->m.label_columns = &f->column;
    f->m.value_column = (char *)"v";
    sqlgauge_build_init(&f->b, &f->cfg, &f->m);
}

static int add(struct fixture *f, struct sqlgauge_cell k, struct sqlgauge_cell v)
{
    return sqlgauge_build_add(&f->b, &k, &v, 0);
}

/* A result row and what the build must say of it; NULL stands for SQL NULL. */
struct row_case {
    const char *label, *value;
    int expect; /* SQLGAUGE_KEPT, SQLGAUGE_ABSENT, or the reason */
};

/*
 * Feed rows to a fresh build (see fixture_init), checking each verdict, then how many
 * rows were kept and whether the build is limited.
 */
static void feed(char **values, size_t nvalues, uint32_t max_values, const struct row_case *rows,
                 size_t n, size_t kept, int limited)
{
    struct fixture fx, *f = &fx;
    size_t i;

    fixture_init(f, values, nvalues, max_values);
    for (i = 0; i < n; i++) {
        struct sqlgauge_cell k = rows[i].label ? text(rows[i].label) : NULLCELL;
        struct sqlgauge_cell v = rows[i].value ? text(rows[i].value) : NULLCELL;

        cr_assert_eq(add(f, k, v), rows[i].expect, "row %zu (%s, %s)", i,
                     rows[i].label ? rows[i].label : "NULL",
                     rows[i].value ? rows[i].value : "NULL");
    }
    cr_assert_eq(f->b.n, kept);
    cr_assert_eq(f->b.limited, limited);
    sqlgauge_build_release(&f->b);
}

Test(sqlgauge, each_bad_row_is_skipped_with_its_reason)
{
    static char *enumerated[] = { (char *)"a", (char *)"b", (char *)"c" };
    static const struct row_case rows[] = {
        { "a", "1.5", SQLGAUGE_KEPT },
        { NULL, "2", SQLGAUGE_REASON_NULL_LABEL },
        { "zzz", "1", SQLGAUGE_REASON_LABEL_REJECTED },
        { "b", "abc", SQLGAUGE_REASON_BAD_VALUE },
        { "b", NULL, SQLGAUGE_ABSENT },             /* absent, which is no error */
        { NULL, NULL, SQLGAUGE_REASON_NULL_LABEL }, /* labels are judged first */
        { "nope", "x", SQLGAUGE_REASON_LABEL_REJECTED },
    };
    feed(enumerated, 3, 3, rows, sizeof(rows) / sizeof(rows[0]), 1, 0);
}

Test(sqlgauge, the_family_cap_marks_the_build_limited)
{
    /* Rows that fail for another reason are judged first, and do not count. */
    static const struct row_case rows[] = {
        { "a", "1", SQLGAUGE_KEPT }, { "b", "1", SQLGAUGE_KEPT },
        { "c", "1", SQLGAUGE_KEPT }, { NULL, "1", SQLGAUGE_REASON_NULL_LABEL },
        { "d", "1", SQLGAUGE_KEPT }, { "e", "1", SQLGAUGE_REASON_LIMIT },
    };
    feed(NULL, 0, 100, rows, sizeof(rows) / sizeof(rows[0]), 4, 1);
}

Test(sqlgauge, a_capped_label_takes_known_values_but_no_new_one)
{
    static const struct row_case rows[] = {
        { "a", "1", SQLGAUGE_KEPT },
        { "b", "2", SQLGAUGE_KEPT },
        { "c", "3", SQLGAUGE_REASON_LABEL_REJECTED },
        { "a", "4", SQLGAUGE_KEPT },                          /* seen already: not new */
        { "123456789", "4", SQLGAUGE_REASON_LABEL_REJECTED }, /* over max_label_value_len */
    };
    /* The second "a" joins the first: two series. */
    feed(NULL, 0, 2, rows, sizeof(rows) / sizeof(rows[0]), 2, 0);
}

struct value_case {
    char s[16];
    int is_bool;
    int ok;
    double v;
};

static struct value_case value_cases[] = {
    { "1.5", 0, 1, 1.5 },
    { "-2", 0, 1, -2 },
    { "1e3", 0, 1, 1000 },
    { "Infinity", 0, 1, INFINITY },
    { "-Infinity", 0, 1, -INFINITY },
    { "t", 1, 1, 1 },
    { "f", 1, 1, 0 },
    { "", 0, 0, 0 },
    { "abc", 0, 0, 0 },
    { "1x", 0, 0, 0 },
    { "1 ", 0, 0, 0 },
    { "1", 1, 0, 0 },
};

ParameterizedTestParameters(sqlgauge, values_parse_as_postgres_writes_them)
{
    return cr_make_param_array(struct value_case, value_cases,
                               sizeof(value_cases) / sizeof(value_cases[0]));
}

ParameterizedTest(struct value_case *c, sqlgauge, values_parse_as_postgres_writes_them)
{
    double v = -42;
    int rc = sqlgauge_parse_value(c->s, c->is_bool, &v);

    if (!c->ok) {
        cr_assert_eq(rc, ERRCODE_BADVALUE, "\"%s\" accepted", c->s);
        return;
    }
    cr_assert_eq(rc, 0, "\"%s\" refused", c->s);
    cr_assert_eq(v, c->v, "\"%s\": %g", c->s, v);
}

Test(sqlgauge, nan_is_a_value)
{
    double v = 0;

    cr_assert_eq(sqlgauge_parse_value("NaN", 0, &v), 0);
    cr_assert(isnan(v));
}

static const char *render_rows(struct buf *out, struct fixture *f, size_t *dups)
{
    struct sqlgauge_row *rows;
    size_t n;
    struct expo e;

    *dups = sqlgauge_build_finish(&f->b, &rows, &n);
    buf_init(out);
    expo_init(&e, out, EXPO_TEXT);
    sqlgauge_render_family(&e, &f->m, rows, n);
    buf_addch(out, '\0');
    sqlgauge_rows_free(rows, n);
    return out->ptr;
}

Test(sqlgauge, rows_render_sorted_by_label_bytes_and_duplicates_are_summed)
{
    struct fixture f;
    struct buf out;
    size_t dups;

    fixture_init(&f, NULL, 0, 10);
    f.cfg.max_series_per_family = 10;
    sqlgauge_build_init(&f.b, &f.cfg, &f.m);
    cr_assert_eq(add(&f, text("b"), text("2")), SQLGAUGE_KEPT);
    cr_assert_eq(add(&f, text("ab"), text("3")), SQLGAUGE_KEPT);
    cr_assert_eq(add(&f, text("a"), text("1")), SQLGAUGE_KEPT);
    cr_assert_eq(add(&f, text("b"), text("2.5")), SQLGAUGE_KEPT);
    cr_assert_str_eq(render_rows(&out, &f, &dups), "# HELP app_k Ks.\n"
                                                   "# TYPE app_k gauge\n"
                                                   "app_k{k=\"a\"} 1\n"
                                                   "app_k{k=\"ab\"} 3\n"
                                                   "app_k{k=\"b\"} 4.5\n");
    cr_assert_eq(dups, 1, "the query's own repeat is still counted");
    cr_assert_null(f.b.rows, "finish leaves the build released");
    buf_release(&out);
}

/* Feed (label, value) pairs to f, each row expected kept. */
static void feed_kept(struct fixture *f, const char *const *rows, size_t n)
{
    for (size_t i = 0; i < n; i += 2)
        cr_assert_eq(add(f, text(rows[i]), text(rows[i + 1])), SQLGAUGE_KEPT, "row %s", rows[i]);
}

Test(sqlgauge, values_outside_the_enumeration_fold_into_the_overflow_value_and_sum)
{
    static char *enumerated[] = { (char *)"a", (char *)"b" };
    static const char *const rows[] = {
        "a", "1", "zzz", "2", "yyy", "3", "b", "4", "123456789", "5"
    };
    struct fixture f;
    struct sqllog_metric said;
    sqlgauge_folds folds;
    const struct sqllog_value *v;
    struct buf out;
    size_t dups;

    fixture_init(&f, enumerated, 2, 2);
    f.label.overflow = (char *)"other";
    memset(&said, 0, sizeof(said));
    memset(folds, 0, sizeof(folds));
    f.b.log = &said;
    f.b.folds = &folds;
    feed_kept(&f, rows, sizeof(rows) / sizeof(rows[0]));
    cr_assert_str_eq(render_rows(&out, &f, &dups), "# HELP app_k Ks.\n"
                                                   "# TYPE app_k gauge\n"
                                                   "app_k{k=\"a\"} 1\n"
                                                   "app_k{k=\"b\"} 4\n"
                                                   "app_k{k=\"other\"} 10\n");
    cr_assert_eq(dups, 0, "folded rows are no duplicates");
    cr_assert_eq(folds[0][CONFIG_FOLD_NOT_ALLOWED], 2);
    cr_assert_eq(folds[0][CONFIG_FOLD_TOO_LONG], 1);
    cr_assert_eq(folds[0][CONFIG_FOLD_CAP] + folds[0][CONFIG_FOLD_PATTERN], 0);
    cr_assert_null(sqllog_next_value(&said), "nothing was refused");
    v = sqllog_take_fold(&said);
    cr_assert(v != NULL && v->len == 3 && memcmp(v->text, "zzz", 3) == 0 &&
              v->why == CONFIG_FOLD_NOT_ALLOWED);
    cr_assert_null(sqllog_take_fold(&said), "the first fold is said once");
    buf_release(&out);
}

struct fold_case {
    enum config_sql_fold fold;
    char want[128]; /* inline: the parameters are copied into each test's process */
};

static struct fold_case fold_cases[] = {
    { CONFIG_SQL_FOLD_SUM, "app_k{k=\"a\"} 11\napp_k{k=\"b\"} 1\napp_k{k=\"other\"} 19\n" },
    { CONFIG_SQL_FOLD_MAX, "app_k{k=\"a\"} 6\napp_k{k=\"b\"} 1\napp_k{k=\"other\"} 9\n" },
    { CONFIG_SQL_FOLD_MIN, "app_k{k=\"a\"} 5\napp_k{k=\"b\"} 1\napp_k{k=\"other\"} 3\n" },
};

ParameterizedTestParameters(sqlgauge, values_off_the_pattern_or_past_the_cap_fold_as_fold_says)
{
    return cr_make_param_array(struct fold_case, fold_cases,
                               sizeof(fold_cases) / sizeof(fold_cases[0]));
}

ParameterizedTest(struct fold_case *c, sqlgauge,
                  values_off_the_pattern_or_past_the_cap_fold_as_fold_says)
{
    /* B misses the pattern, c is past the cap of 2, a comes twice, other is the overflow
     * value itself: taken as it is, and no third value for the cap. */
    static const char *const rows[] = { "a", "5", "B", "7", "b",     "1",
                                        "c", "9", "a", "6", "other", "3" };
    struct fixture f;
    sqlgauge_folds folds;
    regex_t re;
    struct buf out;
    size_t dups;
    char want[256];

    cr_assert_eq(regcomp(&re, "[a-z]+", REG_EXTENDED), 0);
    fixture_init(&f, NULL, 0, 2);
    f.label.pattern_re = &re;
    f.label.overflow = (char *)"other";
    f.m.fold = c->fold;
    memset(folds, 0, sizeof(folds));
    f.b.folds = &folds;
    feed_kept(&f, rows, sizeof(rows) / sizeof(rows[0]));
    snprintf(want, sizeof(want), "# HELP app_k Ks.\n# TYPE app_k gauge\n%s", c->want);
    cr_assert_str_eq(render_rows(&out, &f, &dups), want);
    cr_assert_eq(dups, 1, "a twice, from the query");
    cr_assert_eq(folds[0][CONFIG_FOLD_PATTERN], 1);
    cr_assert_eq(folds[0][CONFIG_FOLD_CAP], 1);
    cr_assert_eq(folds[0][CONFIG_FOLD_NOT_ALLOWED] + folds[0][CONFIG_FOLD_TOO_LONG], 0);
    buf_release(&out);
    regfree(&re);
}

Test(sqlgauge, rows_that_fold_together_count_once_against_the_series_limit)
{
    struct fixture f;
    char value[8];

    fixture_init(&f, NULL, 0, 3); /* max_series_per_family 4 */
    f.label.overflow = (char *)"other";
    for (int i = 0; i < 20; i++) {
        snprintf(value, sizeof(value), "v%d", i);
        cr_assert_eq(add(&f, text(value), text("1")), SQLGAUGE_KEPT, "row %d", i);
    }
    cr_assert_eq(f.b.n, 4, "v0, v1, v2 and other");
    cr_assert_eq(f.b.limited, 0);
    cr_assert_eq(add(&f, NULLCELL, text("1")), SQLGAUGE_REASON_NULL_LABEL, "NULL never folds");
    sqlgauge_build_release(&f.b);
}

Test(sqlgauge, folds_render_by_collector_label_and_the_reasons_that_apply)
{
    static char *enumerated[] = { (char *)"a" };
    uint64_t errs[SQLGAUGE_REASON_COUNT] = { 0 };
    sqlgauge_folds folds;
    struct fixture f;
    struct sqlgauge_status st[2] = { { "app_k", 1, 1, 0, 0, 0, errs, NULL, NULL },
                                     { "app_k", 1, 1, 0, 0, 0, errs, NULL, NULL } };
    struct buf out;
    struct expo e;

    fixture_init(&f, enumerated, 1, 1);
    memset(folds, 0, sizeof(folds));
    folds[0][CONFIG_FOLD_NOT_ALLOWED] = 3;
    st[1].m = &f.m;
    st[1].folds = (const sqlgauge_folds *)&folds;
    buf_init(&out);
    expo_init(&e, &out, EXPO_TEXT);
    sqlgauge_render_status(&e, st, 2);
    buf_addch(&out, '\0');
    cr_assert_null(strstr(out.ptr, "folded"), "no overflow value, no family:\n%s", out.ptr);
    f.label.overflow = (char *)"other";
    buf_reset(&out);
    sqlgauge_render_status(&e, st, 2);
    buf_addch(&out, '\0');
    cr_assert_not_null(
        strstr(out.ptr, "# HELP ustatsd_sql_label_values_folded_total Label values of SQL rows "
                        "that folded into their label's overflow value instead of skipping the "
                        "row, by collector, label and reason.\n"
                        "# TYPE ustatsd_sql_label_values_folded_total counter\n"
                        "ustatsd_sql_label_values_folded_total{collector=\"app_k\",label=\"k\","
                        "reason=\"not_allowed\"} 3\n"
                        "ustatsd_sql_label_values_folded_total{collector=\"app_k\",label=\"k\","
                        "reason=\"too_long\"} 0\n"),
        "%s", out.ptr);
    buf_release(&out);
    sqlgauge_build_release(&f.b);
}

Test(sqlgauge, status_and_pool_families_render_in_a_fixed_order)
{
    uint64_t errs_a[SQLGAUGE_REASON_COUNT] = { 0 }, errs_b[SQLGAUGE_REASON_COUNT] = { 0 };
    uint64_t errs_c[SQLGAUGE_REASON_COUNT] = { 0 };
    struct sqlgauge_status st[3] = {
        { "app_a", 1, 1, 0.25, 1, 1700000000.5, errs_a, NULL, NULL },
        { "app_b", 0, 1, 2.5, 0, 0, errs_b, NULL, NULL },
        { "app_c", 0, 0, 0, 0, 0, errs_c, NULL, NULL }, /* its first run has not ended */
    };
    struct sqlgauge_pool pool = { 1, 1, 0, 2, 3, 7, 2, 1, 1, 0.5 };
    struct buf out;
    struct expo e;
    const char *p;
    static const char *const order[] = {
        "ustatsd_sql_collector_up{collector=\"app_a\"} 1\n",
        "ustatsd_sql_collector_up{collector=\"app_b\"} 0\n",
        "ustatsd_sql_collector_duration_seconds{collector=\"app_a\"} 0.25\n",
        "ustatsd_sql_collector_duration_seconds{collector=\"app_b\"} 2.5\n",
        "ustatsd_sql_collector_errors_total{collector=\"app_a\",reason=\"connect\"} 0\n",
        "ustatsd_sql_collector_errors_total{collector=\"app_a\",reason=\"limit\"} 0\n",
        "ustatsd_sql_collector_errors_total{collector=\"app_b\",reason=\"query\"} 4\n",
        "ustatsd_sql_collector_last_success_timestamp_seconds{collector=\"app_a\"} ",
        "ustatsd_postgres_pool_connections{state=\"acquired\"} 1\n",
        "ustatsd_postgres_pool_connections{state=\"max\"} 3\n",
        "ustatsd_postgres_pool_acquires_total 7\n",
        "ustatsd_postgres_pool_empty_acquires_total 2\n",
        "ustatsd_postgres_pool_canceled_acquires_total 1\n",
        "ustatsd_postgres_pool_acquire_duration_seconds_total 0.5\n",
        "ustatsd_postgres_pool_abandoned_connections_total 1\n",
    };
    size_t i;

    errs_b[SQLGAUGE_REASON_QUERY] = 4;
    buf_init(&out);
    expo_init(&e, &out, EXPO_TEXT);
    sqlgauge_render_status(&e, st, 0);
    cr_assert_eq(out.len, 0, "no collector, no collector families");
    sqlgauge_render_status(&e, st, 3);
    sqlgauge_render_pool(&e, &pool);
    buf_addch(&out, '\0');
    for (i = 0, p = out.ptr; i < sizeof(order) / sizeof(order[0]); i++) {
        p = strstr(p, order[i]);
        cr_assert_not_null(p, "missing or out of order: %s\n%s", order[i], out.ptr);
    }
    cr_assert_null(strstr(out.ptr, "timestamp_seconds{collector=\"app_b\"}"),
                   "app_b never succeeded");
    cr_assert_null(strstr(out.ptr, "up{collector=\"app_c\"}"), "app_c's first run has not ended");
    cr_assert_null(strstr(out.ptr, "duration_seconds{collector=\"app_c\"}"));
    cr_assert_null(strstr(out.ptr, "{collector=\"app_c\",reason=\"query\"} 1"));
    cr_assert_not_null(strstr(out.ptr, "errors_total{collector=\"app_c\",reason=\"query\"} 0\n"),
                       "errors count from zero from the start");
    buf_release(&out);
}

Test(sqlgauge, reason_names_follow_the_map)
{
    cr_assert_str_eq(sqlgauge_reason_name(SQLGAUGE_REASON_CONNECT), "connect");
    cr_assert_str_eq(sqlgauge_reason_name(SQLGAUGE_REASON_LIMIT), "limit");
    cr_assert_str_eq(sqlgauge_reason_name(SQLGAUGE_REASON_COUNT), "unknown");
}
