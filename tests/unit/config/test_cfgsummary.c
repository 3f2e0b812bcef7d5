/*
 * A summary family's keys (cfgsummary): quantiles with their errors, max_age and
 * age_buckets, their defaults, and every refusal with its path and message.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>

#include "cfgtest.h"
#include "config/cfgload.h"
#include "config/config.h"

Test(cfgsummary, defaults_are_client_golangs_windows_and_statsd_exporters_objectives)
{
    struct config c;
    const struct config_family *f;

    must_parse(&c, "{'families': [{'name': 'rpc_duration_seconds', 'type': 'summary'},"
                   "              {'name': 'job_ms', 'type': 'summary', 'unit': 'ms'}]}");
    f = &c.families[0];
    cr_assert_eq(f->type, FAMILY_SUMMARY);
    cr_assert_str_eq(config_family_type_name(f->type), "summary");
    cr_assert_str_eq(f->unit, "seconds", "seconds by default, as a histogram");
    cr_assert_eq(f->unit_ms, 0);
    cr_assert_eq(f->nquantiles, 3);
    cr_assert_eq(f->quantiles[0].q, 0.5);
    cr_assert_eq(f->quantiles[0].err, 0.05);
    cr_assert_eq(f->quantiles[1].q, 0.9);
    cr_assert_eq(f->quantiles[1].err, 0.01);
    cr_assert_eq(f->quantiles[2].q, 0.99);
    cr_assert_eq(f->quantiles[2].err, 0.001);
    cr_assert_eq(f->max_age, 600.0);
    cr_assert_eq(f->age_buckets, 5);
    cr_assert_eq(f->nbuckets, 0);
    cr_assert_eq(c.families[1].unit_ms, 1);
    cfgload_release(&c);
}

Test(cfgsummary, quantiles_are_sorted_and_an_empty_object_means_none)
{
    struct config c;
    const struct config_family *f;

    must_parse(&c, "{'families': [{'name': 'a', 'type': 'summary', 'max_age': 60.5,"
                   "               'age_buckets': 10,"
                   "               'quantiles': {'0.99': 0.001, '1': 0, '.25': 0.01, '0': 0,"
                   "                             '1e-1': 0.02}},"
                   "              {'name': 'b', 'type': 'summary', 'quantiles': {}}]}");
    f = &c.families[0];
    cr_assert_eq(f->nquantiles, 5);
    cr_assert_eq(f->quantiles[0].q, 0.0);
    cr_assert_eq(f->quantiles[0].err, 0.0);
    cr_assert_eq(f->quantiles[1].q, 0.1);
    cr_assert_eq(f->quantiles[1].err, 0.02);
    cr_assert_eq(f->quantiles[2].q, 0.25);
    cr_assert_eq(f->quantiles[3].q, 0.99);
    cr_assert_eq(f->quantiles[4].q, 1.0);
    cr_assert_eq(f->max_age, 60.5);
    cr_assert_eq(f->age_buckets, 10);
    cr_assert_eq(c.families[1].nquantiles, 0);
    cr_assert_eq(c.families[1].max_age, 600.0);
    cfgload_release(&c);
}

Test(cfgsummary, the_example_declares_a_summary)
{
    char path[1024], err[512];
    const struct config_family *f;
    struct config c;
    long i;

    snprintf(path, sizeof(path), "%s/packaging/ustatsd.example.json", USTATSD_SOURCE_DIR);
    cr_assert_eq(cfgload_file(&c, path, err, sizeof(err)), 0, "%s", err);
    i = config_find_family(&c, "imgsrv_thumbnail_duration_seconds", 33);
    cr_assert_geq(i, 0);
    f = &c.families[i];
    cr_assert_eq(f->type, FAMILY_SUMMARY);
    cr_assert_eq(f->nquantiles, 4);
    cr_assert_eq(f->quantiles[3].q, 1.0);
    cr_assert_eq(f->quantiles[3].err, 0.0);
    cr_assert_eq(f->labels[0].nvalues, 3);
    cfgload_release(&c);
}

Test(cfgsummary, other_types_hold_no_summary_keys)
{
    struct config c;

    must_parse(&c, "{'families': [{'name': 'h', 'type': 'histogram'}]}");
    cr_assert_eq(c.families[0].nquantiles, 0);
    cr_assert_null(c.families[0].quantiles);
    cr_assert_eq(c.families[0].max_age, 0);
    cr_assert_eq(c.families[0].age_buckets, 0);
    cfgload_release(&c);
}

struct bad {
    char json[400];
    char path[64];
    char msg[120];
};

ParameterizedTestParameters(cfgsummary, refuses_what_a_summary_cannot_mean)
{
    static struct bad cases[] = {
        { "{'families': [{'name': 'a', 'type': 'gauge', 'quantiles': {}}]}",
          "$.families[0].quantiles", "only summaries have quantiles" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'max_age': 60}]}",
          "$.families[0].max_age", "only summaries have max_age" },
        { "{'families': [{'name': 'a', 'type': 'counter', 'age_buckets': 2}]}",
          "$.families[0].age_buckets", "only summaries have age_buckets" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'buckets': [1]}]}",
          "$.families[0].buckets", "only histograms have buckets" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'updown': true}]}",
          "$.families[0].updown", "only a gauge can be up-down" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'labels': [{'name': 'quantile'}]}]}",
          "$.families[0].labels[0].name", "\"quantile\" is reserved for summary quantiles" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': [0.5]}]}",
          "$.families[0].quantiles", "expected an object from each quantile to its allowed error" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'p50': 0.05}}]}",
          "$.families[0].quantiles.p50", "\"p50\" is not a quantile" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {' 0.5': 0.05}}]}",
          "$.families[0].quantiles[\" 0.5\"]", "is not a quantile" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'0.5x': 0.05}}]}",
          "$.families[0].quantiles[\"0.5x\"]", "is not a quantile" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'nan': 0.05}}]}",
          "$.families[0].quantiles.nan", "is not a quantile" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'1.5': 0.05}}]}",
          "$.families[0].quantiles[\"1.5\"]", "quantile 1.5 is outside [0, 1]" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'0.5': '0.05'}}]}",
          "$.families[0].quantiles[\"0.5\"]", "expected the allowed error of quantile 0.5" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'0.5': 0.5}}]}",
          "$.families[0].quantiles[\"0.5\"]", "allowed error 0.5 is outside [0, 0.5)" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'0.5': -0.1}}]}",
          "$.families[0].quantiles[\"0.5\"]", "outside [0, 0.5)" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'0.5': 0}}]}",
          "$.families[0].quantiles[\"0.5\"]",
          "an allowed error of 0 is for the quantiles 0 and 1" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'0.5': 0.1, "
          "'0.50': 0.01}}]}",
          "$.families[0].quantiles[\"0.50\"]", "quantile 0.5 is given twice" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'quantiles': {'0.01': 0.001, "
          "'0.02': 0.001, '0.03': 0.001, '0.04': 0.001, '0.05': 0.001, '0.06': 0.001, "
          "'0.07': 0.001, '0.08': 0.001, '0.09': 0.001, '0.10': 0.001, '0.11': 0.001, "
          "'0.12': 0.001, '0.13': 0.001, '0.14': 0.001, '0.15': 0.001, '0.16': 0.001, "
          "'0.17': 0.001}}]}",
          "$.families[0].quantiles", "17 quantiles, at most 16 are allowed" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'max_age': 0.5}]}",
          "$.families[0].max_age", ">= 1 and <= 86400" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'max_age': 86401}]}",
          "$.families[0].max_age", "<= 86400" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'max_age': '10m'}]}",
          "$.families[0].max_age", "expected a number" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'age_buckets': 0}]}",
          "$.families[0].age_buckets", "10" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'age_buckets': 11}]}",
          "$.families[0].age_buckets", "10" },
        { "{'families': [{'name': 'a', 'type': 'summary', 'age_buckets': 2.5}]}",
          "$.families[0].age_buckets", "integer" },
        { "{'families': [{'name': 'a_count', 'type': 'gauge'}, {'name': 'a', 'type': "
          "'summary'}]}",
          "$.families[1].name", "both expose \"a_count\"" },
        { "{'families': [{'name': 'a_created', 'type': 'gauge'}, {'name': 'a', 'type': "
          "'summary'}]}",
          "$.families[1].name", "both expose \"a_created\"" },
    };

    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *b, cfgsummary, refuses_what_a_summary_cannot_mean)
{
    must_refuse(b->json, b->path, b->msg);
}
