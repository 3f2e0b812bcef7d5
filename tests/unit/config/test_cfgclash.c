/*
 * cfgclash and config_family.total_in_name: a counter declared "x_total" beside a gauge
 * "x" (client_golang's go_memstats_alloc_bytes and go_memstats_alloc_bytes_total) is the
 * one pairing let through; it keeps "x_total" as its stored name. Every other counter is
 * stored without "_total", and every other clash is still refused.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "cfgtest.h"
#include "config/config.h"
#include "config/cfgload.h"

static long find(const struct config *c, const char *name)
{
    return config_find_family(c, name, strlen(name));
}

Test(cfgclash, a_counter_named_with_total_beside_a_gauge_keeps_its_name)
{
    /* Either order: the gauge may come first or last. */
    static const char *const configs[] = {
        "{'families': [{'name': 'alloc_bytes', 'type': 'gauge'},"
        " {'name': 'alloc_bytes_total', 'type': 'counter'}]}",
        "{'families': [{'name': 'alloc.bytes_total', 'type': 'counter'},"
        " {'name': 'alloc_bytes', 'type': 'gauge'}]}",
    };

    for (size_t i = 0; i < 2; i++) {
        struct config c;
        long g, n;

        memset(&c, 0, sizeof c);
        must_parse(&c, configs[i]);
        g = find(&c, "alloc_bytes");
        n = find(&c, "alloc_bytes_total");
        cr_assert(g >= 0 && n >= 0 && g != n, "case %zu", i);
        cr_expect_eq(c.families[g].type, FAMILY_GAUGE);
        cr_expect_eq(c.families[g].total_in_name, 0);
        cr_expect_eq(c.families[n].type, FAMILY_COUNTER);
        cr_expect_str_eq(c.families[n].name, "alloc_bytes_total");
        cr_expect_eq(c.families[n].total_in_name, 1);
        cr_expect_eq(find(&c, "alloc.bytes-total"), n);
        cr_expect_eq(find(&c, "alloc_bytes_total_total"), ERRCODE_UNKNOWN);
        cfgload_release(&c);
    }
}

/* Without the gauge, nothing changes: the counter is stored bare, found either way. */
Test(cfgclash, a_counter_named_with_total_alone_is_stored_bare)
{
    struct config c;

    memset(&c, 0, sizeof c);
    must_parse(&c, "{'families': [{'name': 'alloc_bytes_total', 'type': 'counter'},"
                   " {'name': 'alloc', 'type': 'gauge'}]}");
    cr_expect_str_eq(c.families[0].name, "alloc_bytes");
    cr_expect_eq(c.families[0].total_in_name, 0);
    cr_expect_eq(find(&c, "alloc_bytes"), 0);
    cr_expect_eq(find(&c, "alloc_bytes_total"), 0);
    cfgload_release(&c);
}

struct clash_case {
    const char *config;
    const char *want; /* the whole message */
};

static const struct clash_case still_clash[] = {
    /* Declared without "_total", the counter is "x" in OpenMetrics, the gauge's family. */
    { "{'families': [{'name': 'x', 'type': 'gauge'}, {'name': 'x', 'type': 'counter'}]}",
      "test.json: $.families[1].name: clashes with $.families[0].name: both expose \"x\"" },
    /* Two counters "x_total" beside the gauge. */
    { "{'families': [{'name': 'x', 'type': 'gauge'}, {'name': 'x_total', 'type': 'counter'},"
      " {'name': 'x.total', 'type': 'counter'}]}",
      "test.json: $.families[2].name: clashes with $.families[1].name: both expose "
      "\"x_total\"" },
    /* The counter "x_total" and a gauge "x_total". */
    { "{'families': [{'name': 'x', 'type': 'gauge'}, {'name': 'x_total', 'type': 'counter'},"
      " {'name': 'x_total', 'type': 'gauge'}]}",
      "test.json: $.families[2].name: clashes with $.families[1].name: both expose "
      "\"x_total\"" },
    /* Only a gauge family: a histogram "x" still clashes with the counter. */
    { "{'families': [{'name': 'x', 'type': 'histogram'}, {'name': 'x_total', 'type': "
      "'counter'}]}",
      "test.json: $.families[1].name: clashes with $.families[0].name: both expose \"x\"" },
    /* Nor an SQL metric (a gauge, but not a family). */
    { "{'families': [{'name': 'x_total', 'type': 'counter'}], 'postgres': {'conninfo': 'a'},"
      " 'sql_metrics': [{'name': 'x', 'query': 'q', 'value_column': 'v'}]}",
      "test.json: $.sql_metrics[0].name: clashes with $.families[0].name: both expose \"x\"" },
    /* A job's counter name "x" names x and x_total. */
    { "{'families': [{'name': 'x', 'type': 'gauge'}, {'name': 'x_total', 'type': 'counter'}],"
      " 'jobs': {'list': ['x']}}",
      "test.json: $.jobs.list[0].counter: the counter name \"x\" clashes with "
      "$.families[0].name: a counter line named \"x\" would name both (give the job another "
      "\"counter\" name, or \"counter\": false)" },
};

Test(cfgclash, every_other_clash_is_still_refused)
{
    for (size_t i = 0; i < sizeof(still_clash) / sizeof(still_clash[0]); i++) {
        struct config c;
        char err[512];

        memset(&c, 0, sizeof c);
        cr_expect_neq(parse_sq(&c, still_clash[i].config, err, sizeof(err)), 0, "case %zu", i);
        cr_expect_str_eq(err, still_clash[i].want, "case %zu: %s", i, err);
        cfgload_release(&c);
    }
}
