/*
 * SQL metrics' labels and "fold" (cfgsql, cfgmetric): the pattern and overflow value a
 * label takes as a family's does, refused by the same rules, and what a reload compares.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"
#include "config/cfgload.h"
#include "config/config.h"

/* "%s" is where each case puts the metric's extra keys, "%s" the label's. */
#define SQL_BASE                                                                      \
    "{'postgres': {'conninfo': 'host=/tmp'},"                                         \
    " 'sql_metrics': [{'name': 's', 'query': 'SELECT 1 AS v', 'value_column': 'v'%s," \
    "   'labels': [{'name': 'state', 'max_values': 4%s}]}]}"

static void parse_sql(struct config *c, const char *metric, const char *label)
{
    char text[1024];

    snprintf(text, sizeof(text), SQL_BASE, metric, label);
    must_parse(c, text);
}

static void refuse_sql(const char *metric, const char *label, const char *path, const char *msg)
{
    char text[1024];

    snprintf(text, sizeof(text), SQL_BASE, metric, label);
    must_refuse(text, path, msg);
}

Test(cfgsql, labels_take_a_pattern_and_an_overflow_value)
{
    struct config c;
    const struct config_label *l;

    parse_sql(&c, ", 'fold': 'max'", ", 'pattern': '[a-z][a-z0-9_]*', 'overflow': '__other__'");
    l = &c.sql_metrics[0].labels[0];
    cr_assert_str_eq(l->pattern, "[a-z][a-z0-9_]*");
    cr_assert_not_null(l->pattern_re);
    cr_assert_str_eq(l->overflow, "__other__");
    cr_assert_eq(l->max_values, 4);
    cr_assert(config_label_matches(l, "running", 7));
    cr_assert_not(config_label_matches(l, "Running", 7));
    cr_assert_eq(c.sql_metrics[0].fold, CONFIG_SQL_FOLD_MAX);
    cfgload_release(&c);

    parse_sql(&c, "", "");
    l = &c.sql_metrics[0].labels[0];
    cr_assert_null(l->pattern);
    cr_assert_null(l->overflow);
    cr_assert_eq(c.sql_metrics[0].fold, CONFIG_SQL_FOLD_SUM, "sum by default");
    cfgload_release(&c);

    parse_sql(&c, ", 'fold': 'min'", ", 'overflow': 'x'");
    cr_assert_eq(c.sql_metrics[0].fold, CONFIG_SQL_FOLD_MIN);
    cfgload_release(&c);
}

Test(cfgsql, bad_patterns_overflows_and_folds_are_refused_as_a_familys)
{
    refuse_sql("", ", 'pattern': '[a-'", "$.sql_metrics[0].labels[0].pattern",
               "\"[a-\" is not a POSIX extended regular expression");
    refuse_sql("", ", 'pattern': ''", "$.sql_metrics[0].labels[0].pattern",
               "expected 1 to 256 bytes");
    refuse_sql("", ", 'overflow': 'a|b'", "$.sql_metrics[0].labels[0].overflow",
               "\"a|b\" contains '|'");
    refuse_sql("", ", 'overflow': 3", "$.sql_metrics[0].labels[0].overflow",
               "expected the overflow value (a string), got a number");
    refuse_sql(", 'fold': 'avg'", "", "$.sql_metrics[0].fold",
               "expected \"sum\", \"max\" or \"min\"");
    must_refuse((char[]){ "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', "
                          "'query': 'q', 'value_column': 'v', 'labels': [{'name': 's', "
                          "'values': ['a'], 'pattern': 'a'}]}]}" },
                "$.sql_metrics[0].labels[0].pattern", "\"pattern\" is for a capped label");
}

static const char *restart_key(const char *metric, const char *label, char *buf, size_t len)
{
    static char key[128];
    struct config a, b;
    const char *k;

    parse_sql(&a, "", ", 'pattern': '[a-z]+', 'overflow': 'other'");
    parse_sql(&b, metric, label);
    k = cfgload_restart_key(&a, &b, buf, len);
    snprintf(key, sizeof(key), "%s", k ? k : "(none)");
    cfgload_release(&a);
    cfgload_release(&b);
    return key;
}

Test(cfgsql, a_new_pattern_overflow_or_fold_needs_a_restart)
{
    char buf[128];

    cr_assert_str_eq(
        restart_key("", ", 'pattern': '[a-z]+', 'overflow': 'other'", buf, sizeof(buf)), "(none)");
    cr_assert_str_eq(
        restart_key("", ", 'pattern': '[a-y]+', 'overflow': 'other'", buf, sizeof(buf)),
        "$.sql_metrics[0]");
    cr_assert_str_eq(restart_key("", ", 'pattern': '[a-z]+', 'overflow': 'rest'", buf, sizeof(buf)),
                     "$.sql_metrics[0]");
    cr_assert_str_eq(restart_key("", ", 'pattern': '[a-z]+'", buf, sizeof(buf)),
                     "$.sql_metrics[0]");
    cr_assert_str_eq(restart_key(", 'fold': 'max'", ", 'pattern': '[a-z]+', 'overflow': 'other'",
                                 buf, sizeof(buf)),
                     "$.sql_metrics[0]");
}
