/*
 * cfgalias: a family with a unit also takes its name without "_<unit>" (OpenTelemetry's
 * name), unless that name is taken; cfglint says why a family has none.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "cfgtest.h"
#include "config/cfgalias.h"
#include "config/cfglint.h"
#include "config/config.h"
#include "config/cfgload.h"

static void collect(void *arg, const char *where, const char *msg)
{
    char *out = arg;
    size_t n = strlen(out);

    snprintf(out + n, 4096 - n, "%s: %s\n", where, msg);
}

Test(cfgalias, a_family_takes_its_name_without_its_unit)
{
    struct config c;
    char lint[4096] = "";

    must_parse(&c, "{'families': ["
                   " {'name': 'http.server.request.duration_seconds', 'type': 'histogram',"
                   "  'help': 'x'},"
                   " {'name': 'objectstore_bytes_total', 'type': 'counter', 'unit': 'bytes',"
                   "  'help': 'x'},"
                   " {'name': 'ml_duration_ms', 'type': 'histogram', 'unit': 'ms', 'help': 'x'},"
                   " {'name': 'queue_depth', 'type': 'gauge', 'unit': 'requests', 'help': 'x'},"
                   " {'name': 'seconds', 'type': 'gauge', 'unit': 'seconds', 'help': 'x'},"
                   " {'name': 'plain', 'type': 'gauge', 'help': 'x'},"
                   " {'name': 'supply_volts', 'type': 'gauge', 'unit': 'volts', 'help': 'x'},"
                   " {'name': 'active_requests', 'type': 'gauge', 'unit': 'requests',"
                   "  'help': 'x'},"
                   " {'name': 'rx_bytes_per_second', 'type': 'gauge',"
                   "  'unit': 'bytes_per_second', 'help': 'x'},"
                   " {'name': 'rx_bytes_per_fortnight', 'type': 'gauge',"
                   "  'unit': 'bytes_per_fortnight', 'help': 'x'}]}");
    cr_assert_str_eq(c.families[0].alias, "http_server_request_duration");
    cr_assert_str_eq(c.families[1].alias, "objectstore"); /* stored without _total */
    cr_assert_null(c.families[2].alias, "OpenTelemetry's exporter writes ms as milliseconds");
    cr_assert_null(c.families[3].alias, "the name does not end in its unit");
    cr_assert_null(c.families[4].alias, "nothing is left without the unit");
    cr_assert_null(c.families[5].alias);
    cr_assert_str_eq(c.families[6].alias, "supply");
    cr_assert_null(c.families[7].alias, "no OpenTelemetry unit is written \"requests\"");
    cr_assert_str_eq(c.families[8].alias, "rx");
    cr_assert_null(c.families[9].alias, "\"fortnight\" is no unit of a \"per\" suffix");
    /* The client telemetry families have no unit, so no alias. */
    for (size_t i = 10; i < c.nfamilies; i++)
        cr_assert(c.families[i].client_telemetry && c.families[i].alias == NULL);
    cr_assert_eq(cfglint_run(&c, collect, lint), 1, "%s", lint);
    cr_assert_str_eq(lint, "$.families[2].name: \"ml_duration_ms\" (histogram): metric names "
                           "should not contain abbreviated units\n");
    cfgload_release(&c);
}

static const struct clash {
    const char *config;
    size_t family;    /* the family without an alias */
    const char *lint; /* cfglint's finding about it */
} clashes[] = {
    /* Exact names win: a family's, a counter's with "_total", a job's counter name. */
    { "{'families': [{'name': 'lat', 'type': 'gauge', 'help': 'x'},"
      " {'name': 'lat_seconds', 'type': 'histogram', 'help': 'x'}]}",
      1,
      "$.families[1].name: \"lat_seconds\" (histogram): its name without the unit, \"lat\", is "
      "the name of $.families[0]: lines named \"lat\" go there, and this family takes only its "
      "own name\n" },
    { "{'families': [{'name': 'io_bytes', 'type': 'counter', 'unit': 'bytes', 'help': 'x'},"
      " {'name': 'io', 'type': 'gauge', 'help': 'x'}]}",
      0,
      "$.families[0].name: \"io_bytes_total\" (counter): its name without the unit, \"io\", is "
      "the name of $.families[1]: lines named \"io\" go there, and this family takes only its "
      "own name\n" },
    { "{'families': [{'name': 'io_total', 'type': 'gauge', 'help': 'x'},"
      " {'name': 'io_total_bytes', 'type': 'gauge', 'unit': 'bytes', 'help': 'x'}]}",
      1,
      "$.families[0].name: \"io_total\" (gauge): non-counter metrics should not have \"_total\" "
      "suffix\n"
      "$.families[1].name: \"io_total_bytes\" (gauge): its name without the unit, \"io_total\", "
      "is the name of $.families[0]: lines named \"io_total\" go there, and this family takes "
      "only its own name\n" },
    { "{'families': [{'name': 'sweep_seconds', 'type': 'histogram', 'help': 'x'}],"
      " 'jobs': {'list': ['sweep']}}",
      0,
      "$.families[0].name: \"sweep_seconds\" (histogram): its name without the unit, \"sweep\", "
      "is the counter name of $.jobs.list[0]: lines named \"sweep\" report that job, and this "
      "family takes only its own name\n" },
    { "{'families': [{'name': 'bg_attempts_seconds', 'type': 'histogram', 'help': 'x'}],"
      " 'jobs': {'prefix': 'bg'}}",
      0,
      "$.families[0].name: \"bg_attempts_seconds\" (histogram): its name without the unit, "
      "\"bg_attempts\", is the attempts family of $.jobs.prefix: this family takes only its "
      "own name\n" },
    /* Two families with one candidate: neither has it. */
    { "{'families': [{'name': 'size_bytes', 'type': 'gauge', 'unit': 'bytes', 'help': 'x'},"
      " {'name': 'size_seconds', 'type': 'histogram', 'help': 'x'}]}",
      1,
      "$.families[0].name: \"size_bytes\" (gauge): its name without the unit, \"size\", is also "
      "$.families[1]'s: neither family takes it, each only its own name\n"
      "$.families[1].name: \"size_seconds\" (histogram): its name without the unit, \"size\", "
      "is also $.families[0]'s: neither family takes it, each only its own name\n" },
};

Test(cfgalias, a_taken_name_is_no_alias_and_the_lint_says_why)
{
    for (size_t i = 0; i < sizeof(clashes) / sizeof(clashes[0]); i++) {
        struct config c;
        char lint[4096] = "", why[512];

        must_parse(&c, clashes[i].config);
        cr_expect_null(c.families[clashes[i].family].alias, "case %zu", i);
        cr_expect_not_null(cfgalias_problem(&c, clashes[i].family, why, sizeof(why)));
        cfglint_run(&c, collect, lint);
        cr_expect_str_eq(lint, clashes[i].lint, "case %zu", i);
        cfgload_release(&c);
    }
}
