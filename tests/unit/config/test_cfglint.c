/*
 * cfglint: each of promlint's rules, and the OpenMetrics suffixes, on the families a config
 * declares. A table of (config, the findings it must give, in order); a clean config gives
 * none.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <string.h>

#include "config/cfglint.h"
#include "cfgtest.h"
#include "config/config.h"
#include "config/cfgload.h"

struct lint_case {
    char config[512];
    char want[512]; /* "where: msg" lines, each ending in '\n'; "" for none */
};

static void collect(void *arg, const char *where, const char *msg)
{
    char *out = arg;
    size_t n = strlen(out);

    snprintf(out + n, 2048 - n, "%s: %s\n", where, msg);
}

static struct lint_case cases[] = {
    { "{'families': [{'name': 'http_requests', 'type': 'counter', 'help': 'Requests.'},"
      " {'name': 'queue_depth', 'type': 'gauge', 'help': 'Depth.', 'labels': [{'name': 'queue'}]},"
      " {'name': 'job_duration_seconds', 'type': 'histogram', 'help': 'Jobs.'},"
      " {'name': 'last_run_timestamp_seconds', 'type': 'gauge', 'help': 'Last.'}]}",
      "" },
    { "{'families': [{'name': 'users_total', 'type': 'gauge', 'help': 'Users.'}]}",
      "$.families[0].name: \"users_total\" (gauge): non-counter metrics should not have "
      "\"_total\" suffix\n" },
    { "{'families': [{'name': 'hits', 'type': 'counter'}]}",
      "$.families[0].help: \"hits_total\" (counter): no help text\n" },
    { "{'families': [{'name': 'app_hits', 'type': 'counter', 'help': 'x'},"
      " {'name': 'req_duration_milliseconds', 'type': 'histogram', 'help': 'x', 'unit': "
      "'milliseconds'}]}",
      "$.families[1].name: \"req_duration_milliseconds\" (histogram): use base unit "
      "\"seconds\" instead of \"milliseconds\"\n" },
    { "{'families': [{'name': 'disk_kilobytes', 'type': 'gauge', 'help': 'x'}]}",
      "$.families[0].name: \"disk_kilobytes\" (gauge): use base unit \"bytes\" instead of "
      "\"kilobytes\"\n" },
    { "{'families': [{'name': 'uptime_hours', 'type': 'gauge', 'help': 'x'}]}",
      "$.families[0].name: \"uptime_hours\" (gauge): use base unit \"seconds\" instead of "
      "\"hours\"\n" },
    { "{'families': [{'name': 'latency_ms', 'type': 'histogram', 'help': 'x'},"
      " {'name': 'ms_latency', 'type': 'gauge', 'help': 'x'}]}",
      "$.families[0].name: \"latency_ms\" (histogram): metric names should not contain "
      "abbreviated units\n" },
    { "{'families': [{'name': 'requestCount', 'type': 'gauge', 'help': 'x',"
      " 'labels': [{'name': 'statusCode'}]}]}",
      "$.families[0].name: \"requestCount\" (gauge): metric names should be written in "
      "'snake_case' not 'camelCase'\n"
      "$.families[0].labels[0].name: \"requestCount\" (gauge): label names should be written "
      "in 'snake_case' not 'camelCase' (\"statusCode\")\n" },
    { "{'families': [{'name': 'x_bucket', 'type': 'gauge', 'help': 'x'},"
      " {'name': 'y_count', 'type': 'gauge', 'help': 'x'},"
      " {'name': 'z_sum', 'type': 'counter', 'help': 'x'}]}",
      "$.families[0].name: \"x_bucket\" (gauge): non-histogram metrics should not have "
      "\"_bucket\" suffix\n"
      "$.families[1].name: \"y_count\" (gauge): non-histogram and non-summary metrics should "
      "not have \"_count\" suffix\n" },
    { "{'families': [{'name': 'q', 'type': 'gauge', 'help': 'x', 'labels': [{'name': 'le'},"
      " {'name': 'quantile'}]}]}",
      "$.families[0].labels[0].name: \"q\" (gauge): non-histogram metrics should not have "
      "\"le\" label\n"
      "$.families[0].labels[1].name: \"q\" (gauge): non-summary metrics should not have "
      "\"quantile\" label\n" },
    { "{'families': [{'name': 'queue_gauge', 'type': 'gauge', 'help': 'x'},"
      " {'name': 'x_counter_things', 'type': 'counter', 'help': 'x'}]}",
      "$.families[0].name: \"queue_gauge\" (gauge): metric name should not include type "
      "'gauge'\n"
      "$.families[1].name: \"x_counter_things_total\" (counter): metric name should not "
      "include type 'counter'\n" },
    { "{'families': [{'name': 'boot_timestamp_seconds', 'type': 'counter', 'help': 'x'},"
      " {'name': 'cache_created', 'type': 'gauge', 'help': 'x'},"
      " {'name': 'build_info', 'type': 'gauge', 'help': 'x'}]}",
      "$.families[1].name: \"cache_created\" (gauge): the \"_created\" suffix is reserved for "
      "the creation time of counters, histograms and summaries (OpenMetrics)\n"
      "$.families[2].name: \"build_info\" (gauge): the \"_info\" suffix is reserved for info "
      "metrics (OpenMetrics); this one is exposed as a gauge\n" },
    { "{'families': [{'name': 'ok_seconds', 'type': 'histogram', 'help': 'x'}],"
      " 'jobs': {'prefix': 'batchJob_ms', 'list': [{'name': 'nightly'}]}}",
      "$.jobs.prefix: \"batchJob_ms\" (the prefix of the job families): metric names should "
      "be written in 'snake_case' not 'camelCase'\n"
      "$.jobs.prefix: \"batchJob_ms\" (the prefix of the job families): metric names should "
      "not contain abbreviated units\n" },
    /* client_golang's gauge beside its counter named with "_total" (total_in_name). */
    { "{'families': [{'name': 'alloc_bytes', 'type': 'gauge', 'help': 'x'},"
      " {'name': 'alloc_bytes_total', 'type': 'counter', 'help': 'x'}]}",
      "$.families[1].name: \"alloc_bytes_total\" (counter): OpenMetrics would name its "
      "family \"alloc_bytes\", the gauge's, so it is written there as the unknown family "
      "\"alloc_bytes_total\", without _created (text 0.0.4 writes it as a counter)\n" },
    { "{'postgres': {'conninfo': 'host=/tmp'}, 'sql_metrics': [{'name': 'rows_total', "
      "'query': 'SELECT 1 AS v', 'value_column': 'v'}]}",
      "$.sql_metrics[0].help: \"rows_total\" (gauge): no help text\n"
      "$.sql_metrics[0].name: \"rows_total\" (gauge): non-counter metrics should not have "
      "\"_total\" suffix\n" },
};

ParameterizedTestParameters(cfglint, findings)
{
    return cr_make_param_array(struct lint_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct lint_case *tc, cfglint, findings)
{
    struct config c;
    char out[2048] = "";
    size_t n, lines = 0;

    memset(&c, 0, sizeof(c));
    must_parse(&c, tc->config);
    n = cfglint_run(&c, collect, out);
    for (const char *p = tc->want; *p; p++)
        lines += *p == '\n';
    cr_assert_str_eq(out, tc->want, "config %s", tc->config);
    cr_assert_eq(n, lines);
    cfgload_release(&c);
}

Test(cfglint, client_telemetry_families_are_not_linted)
{
    struct config c;
    char out[2048] = "";

    memset(&c, 0, sizeof(c));
    must_parse(&c, "{'clients': {'dogstatsd_telemetry': true}}");
    cr_assert_gt(c.nfamilies, 0, "telemetry families are synthesised");
    cr_assert_eq(cfglint_run(&c, collect, out), 0, "%s", out);
    cfgload_release(&c);
}
