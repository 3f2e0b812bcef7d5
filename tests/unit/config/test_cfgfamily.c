/*
 * The allowlist part of the configuration (cfgfamily): name lookup, groups, labels, what
 * a line can carry, bucket caps. The messages of refused configs are in test_config.c.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/cfgfamily.h"
#include "cfgtest.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "base/errcode.h"
#include "statsd.h"

Test(cfgfamily, counters_are_found_with_and_without_total)
{
    struct config c;
    const char *line = "app.requests-total|c";

    must_parse(&c, "{'families': [{'name': 'app.requests_total', 'type': 'counter'},"
                   "              {'name': 'queue_total', 'type': 'gauge'}]}");
    cr_assert_str_eq(c.families[0].name, "app_requests");
    cr_assert_eq(config_find_family(&c, "app_requests", 12), 0);
    cr_assert_eq(config_find_family(&c, "app_requests_total", 18), 0);
    cr_assert_eq(config_find_family(&c, "app.requests", 12), 0);
    /* Not NUL-terminated: the length decides. */
    cr_assert_eq(config_find_family(&c, line, strlen("app.requests-total")), 0);
    cr_assert_eq(config_find_family(&c, line, 5), ERRCODE_UNKNOWN);
    /* Gauges keep their name as written, _total included. */
    cr_assert_str_eq(c.families[1].name, "queue_total");
    cr_assert_eq(config_find_family(&c, "queue_total", 11), 1);
    cr_assert_eq(config_find_family(&c, "queue", 5), ERRCODE_UNKNOWN);
    cr_assert_eq(config_find_family(&c, "app_requests_totals", 19), ERRCODE_UNKNOWN);
    cr_assert_str_eq(config_family_type_name(c.families[0].type), "counter");
    cr_assert_str_eq(config_family_type_name(FAMILY_HISTOGRAM), "histogram");
    cfgload_release(&c);
}

Test(cfgfamily, groups_exclude_families_and_sql_metrics)
{
    struct config c;

    must_parse(&c, "{'groups': {'include': ['a', 'c'], 'exclude': ['c']},"
                   " 'families': [{'name': 'fa', 'type': 'gauge', 'group': 'a'},"
                   "              {'name': 'fb', 'type': 'gauge', 'group': 'b'},"
                   "              {'name': 'fc', 'type': 'gauge', 'group': 'c'},"
                   "              {'name': 'fn', 'type': 'gauge'}],"
                   " 'postgres': {'conninfo': 'host=/tmp'},"
                   " 'sql_metrics': [{'name': 'sa', 'group': 'a', 'query': 'SELECT 1 AS v',"
                   "                  'value_column': 'v'},"
                   "                 {'name': 'sb', 'group': 'b', 'query': 'SELECT 1 AS v',"
                   "                  'value_column': 'v'}]}");
    cr_assert_eq(c.families[0].excluded, 0);
    cr_assert_eq(c.families[1].excluded, 1, "not in include");
    cr_assert_eq(c.families[2].excluded, 1, "exclude wins over include");
    cr_assert_eq(c.families[3].excluded, 0, "no group: never excluded");
    cr_assert_eq(c.sql_metrics[0].excluded, 0);
    cr_assert_eq(c.sql_metrics[1].excluded, 1);
    cfgload_release(&c);

    must_parse(&c, "{'groups': {'include': 'all', 'exclude': ['b']},"
                   " 'families': [{'name': 'fa', 'type': 'gauge', 'group': 'a'},"
                   "              {'name': 'fb', 'type': 'gauge', 'group': 'b'}]}");
    cr_assert_null(c.include_groups);
    cr_assert_eq(c.families[0].excluded, 0);
    cr_assert_eq(c.families[1].excluded, 1);
    cfgload_release(&c);

    must_parse(&c, "{'groups': {'include': []},"
                   " 'families': [{'name': 'fa', 'type': 'gauge', 'group': 'a'},"
                   "              {'name': 'fn', 'type': 'gauge'}]}");
    cr_assert_not_null(c.include_groups);
    cr_assert_eq(c.ninclude_groups, 0);
    cr_assert_eq(c.families[0].excluded, 1, "an empty include list includes no group");
    cr_assert_eq(c.families[1].excluded, 0);
    cfgload_release(&c);
}

Test(cfgfamily, labels_enumerated_or_capped)
{
    struct config c;
    const struct config_family *f;

    must_parse(&c, "{'limits': {'max_label_value_length': 5},"
                   " 'families': [{'name': 'ops', 'type': 'counter',"
                   "   'labels': [{'name': 'op', 'values': ['get', 'put', '\\u00e9t\\u00e9']},"
                   "              {'name': 'outcome', 'max_values': 3}]}]}");
    f = &c.families[0];
    cr_assert_eq(f->nlabels, 2);
    cr_assert_eq(f->labels[0].nvalues, 3);
    cr_assert_eq(f->labels[0].max_values, 3);
    cr_assert_str_eq(f->labels[0].values[2], "\xc3\xa9t\xc3\xa9", "5 bytes: at the limit");
    cr_assert_null(f->labels[1].values);
    cr_assert_eq(f->labels[1].max_values, 3);
    cfgload_release(&c);
}

Test(cfgfamily, accepts_what_a_line_can_carry_and_durations_at_their_bounds)
{
    struct buf b = BUF_INIT;
    struct config c;
    char err[512];
    char longest[STATSD_MAX_NAME + 1];

    /*
     * Job names are matched as sent: '.' and '-' stay, and "a.b" and "a_b" are two jobs
     * (whose counter names, normalised as metric names are, would be one: cfgjob.h).
     */
    must_parse(&c, "{'jobs': {'open_seconds': 315360000,"
                   "          'list': ['cas-promotion', 'a.b', {'name': 'a_b', 'counter': false},"
                   "                   '_x9', 'Z',"
                   "                   {'name': 'short', 'open_seconds': 0.001}]}}");
    cr_assert_eq(c.njobs, 6);
    cr_assert_str_eq(c.jobs[0].name, "cas-promotion");
    cr_assert_eq(config_find_job(&c, "a.b", 3), 1);
    cr_assert_eq(config_find_job(&c, "a_b", 3), 2);
    cr_assert_eq(c.jobs[0].open_seconds, CONFIG_MAX_OPEN_SECONDS);
    cr_assert_eq(c.jobs[5].open_seconds, 0.001);
    cfgload_release(&c);

    /* A job name of exactly STATSD_MAX_NAME bytes is a name a line can hold. */
    memset(longest, 'j', STATSD_MAX_NAME);
    longest[STATSD_MAX_NAME] = '\0';
    buf_addf(&b, "{\"limits\": {\"max_label_value_length\": 256}, \"jobs\": {\"list\": [\"%s\"]}}",
             longest);
    cr_assert_eq(cfgload_text(&c, b.ptr, b.len, "test.json", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strlen(c.jobs[0].name), STATSD_MAX_NAME);
    cfgload_release(&c);
    buf_release(&b);

    /* Spaces, ':', '#', '=' and UTF-8 are all inside a tag value; only ',' and '|' end one. */
    must_parse(&c, "{'families': [{'name': 'a', 'type': 'counter', 'ttl_seconds': 315360000,"
                   "  'labels': [{'name': 'reason', 'values': ['automatic approval',"
                   "     'http://h:8080/x', '#1', 'k=v', '\\u00e9t\\u00e9', ' ']}]}],"
                   " 'postgres': {'conninfo': 'a', 'connect_timeout_seconds': 86400,"
                   "              'statement_timeout_seconds': 86400},"
                   " 'sql_metrics': [{'name': 's', 'query': 'q', 'value_column': 'v',"
                   "   'min_interval_seconds': 86400, 'timeout_seconds': 86400,"
                   "   'labels': [{'name': 'state', 'values': ['in progress', 'a:b']}]}]}");
    cr_assert_eq(c.families[0].labels[0].nvalues, 6);
    cr_assert_str_eq(c.families[0].labels[0].values[1], "http://h:8080/x");
    cr_assert_str_eq(c.families[0].labels[0].values[4], "\xc3\xa9t\xc3\xa9");
    cr_assert_eq(c.families[0].ttl_seconds, CONFIG_MAX_TTL_SECONDS);
    cr_assert_eq(c.pg_connect_timeout, CONFIG_MAX_TIMEOUT_SECONDS);
    cr_assert_eq(c.pg_statement_timeout, CONFIG_MAX_TIMEOUT_SECONDS);
    cr_assert_eq(c.sql_metrics[0].min_interval_seconds, CONFIG_MAX_SQL_MIN_INTERVAL);
    cr_assert_eq(c.sql_metrics[0].timeout_seconds, CONFIG_MAX_TIMEOUT_SECONDS);
    cr_assert_str_eq(c.sql_metrics[0].labels[0].values[1], "a:b");
    cfgload_release(&c);

    /* Resource values never go over the wire: they keep the label value rules only. */
    must_parse(&c, "{'resource': {'deployment.environment': 'eu,west|1'}}");
    cr_assert_str_eq(c.resource[0].value, "eu,west|1");
    cfgload_release(&c);
}

Test(cfgfamily, bucket_count_is_capped)
{
    struct buf b = BUF_INIT;
    struct config c;
    char err[512];

    for (int n = CONFIG_MAX_BUCKETS; n <= CONFIG_MAX_BUCKETS + 1; n++) {
        buf_reset(&b);
        buf_adds(&b, "{\"families\": [{\"name\": \"h\", \"type\": \"histogram\", \"buckets\": [");
        for (int i = 1; i <= n; i++)
            buf_addf(&b, "%s%d", i > 1 ? ", " : "", i);
        buf_adds(&b, "]}]}");
        if (n == CONFIG_MAX_BUCKETS) {
            cr_assert_eq(cfgload_text(&c, b.ptr, b.len, "test.json", err, sizeof(err)), 0, "%s",
                         err);
            cr_assert_eq(c.families[0].nbuckets, CONFIG_MAX_BUCKETS);
            cfgload_release(&c);
        } else {
            cr_assert_eq(cfgload_text(&c, b.ptr, b.len, "test.json", err, sizeof(err)),
                         ERRCODE_CONFIG);
            cr_assert_str_eq(err, "test.json: $.families[0].buckets: 65 buckets, at most 64 are "
                                  "allowed");
        }
    }
    buf_release(&b);
}

Test(cfgfamily, precreate_counts_every_enumerated_combination_and_the_overflow_value)
{
    struct config c;

    must_parse(&c, "{'families': ["
                   " {'name': 'a', 'type': 'counter', 'precreate': true,"
                   "  'labels': [{'name': 'code', 'values': ['200', '500', '503']},"
                   "             {'name': 'm', 'values': ['GET', 'POST'], 'overflow': 'other'}]},"
                   " {'name': 'b', 'type': 'histogram', 'precreate': true,"
                   "  'labels': [{'name': 'm', 'values': ['GET', 'POST'], 'overflow': 'GET'}]},"
                   " {'name': 'c', 'type': 'counter', 'precreate': true},"
                   " {'name': 'd', 'type': 'counter',"
                   "  'labels': [{'name': 'x', 'max_values': 3}]}]}");
    cr_assert_eq(c.families[0].precreate, 1);
    cr_assert_eq(cfgfamily_combinations(&c.families[0]), 9, "3 x (2 + overflow)");
    cr_assert_eq(cfgfamily_combinations(&c.families[1]), 2, "an overflow among the values");
    cr_assert_eq(cfgfamily_combinations(&c.families[2]), 1, "no label: one series");
    cr_assert_eq(c.families[3].precreate, 0, "off by default");
    cr_assert_eq(cfgfamily_combinations(&c.families[3]), SIZE_MAX, "a capped label: unknown");
    cfgload_release(&c);
}

struct bad_precreate {
    char json[400];
    char msg[200];
};

ParameterizedTestParameters(cfgfamily, refuses_a_precreate_that_cannot_hold)
{
    static struct bad_precreate cases[] = {
        { "{'families': [{'name': 'a', 'type': 'gauge', 'precreate': true,"
          " 'labels': [{'name': 'x', 'values': ['1']}]}]}",
          "test.json: $.families[0].precreate: a gauge cannot be precreated: 0 before its "
          "first value would be a value nobody sent" },
        { "{'families': [{'name': 'a', 'type': 'counter', 'precreate': true,"
          " 'labels': [{'name': 'x', 'values': ['1']}, {'name': 'y', 'max_values': 2}]}]}",
          "test.json: $.families[0].precreate: label \"y\" is capped (max_values), not "
          "enumerated (values): its values are not known ahead" },
        { "{'limits': {'max_series_per_family': 5},"
          " 'families': [{'name': 'a', 'type': 'counter', 'precreate': true,"
          " 'labels': [{'name': 'x', 'values': ['1', '2', '3']},"
          "            {'name': 'y', 'values': ['1'], 'overflow': 'z'}]}]}",
          "test.json: $.families[0].precreate: 6 combinations of label values, more than "
          "limits.max_series_per_family (5)" },
        { "{'limits': {'max_series': 10},"
          " 'families': [{'name': 'a', 'type': 'counter', 'precreate': true,"
          "   'labels': [{'name': 'x', 'values': ['1', '2', '3', '4', '5', '6']}]},"
          "  {'name': 'b', 'type': 'counter',"
          "   'labels': [{'name': 'x', 'values': ['1', '2', '3', '4', '5', '6']}]},"
          "  {'name': 'c', 'type': 'histogram', 'precreate': true,"
          "   'labels': [{'name': 'x', 'values': ['1', '2', '3', '4', '5']}]}]}",
          "test.json: $.families[2].precreate: with this family's 5 combinations, the "
          "precreated families need more than limits.max_series (10) series" },
        { "{'families': [{'name': 'a', 'type': 'counter', 'precreate': 1}]}",
          "test.json: $.families[0].precreate: expected true or false, got a number" },
    };

    return cr_make_param_array(struct bad_precreate, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_precreate *b, cfgfamily, refuses_a_precreate_that_cannot_hold)
{
    struct config c;
    char err[512];

    cr_assert_eq(parse_sq(&c, b->json, err, sizeof(err)), ERRCODE_CONFIG, "accepted: %s", b->json);
    cr_assert_eq(strncmp(err, b->msg, strlen(b->msg)), 0, "want: %s\n got: %s", b->msg, err);
    cfgload_release(&c);
}
