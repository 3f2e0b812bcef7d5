/*
 * cfgjob: a job's counter form, "counter" in $.jobs.list[i]: its defaults, the object and
 * false, and every refusal, each naming the file, the key and the problem; cfgclash's
 * refusal of a counter name that another name takes.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "cfgtest.h"
#include "config/config.h"
#include "config/cfgload.h"

Test(cfgjob, a_job_takes_counter_lines_by_its_own_name_unless_told_otherwise)
{
    struct config c;

    must_parse(&c, "{'jobs': {'list': ['cas-promotion', 'sweep_total',"
                   "  {'name': 'publish', 'counter': {'name': 'publish.runs_total',"
                   "   'outcome_tag': 'result', 'job_tag': 'task.name'}},"
                   "  {'name': 'quiet', 'counter': false},"
                   "  {'name': 'loud', 'counter': true},"
                   "  {'name': 'tags', 'counter': {'job_tag': 'j'}}]}}");
    cr_assert_eq(c.njobs, 6);
    /* The job's name, normalised as a metric name, without "_total". */
    cr_assert_str_eq(c.jobs[0].counter, "cas_promotion");
    cr_assert_str_eq(c.jobs[0].outcome_tag, "outcome");
    cr_assert_str_eq(c.jobs[0].job_tag, "job");
    cr_assert_str_eq(c.jobs[1].counter, "sweep");
    cr_assert_str_eq(c.jobs[2].counter, "publish_runs");
    cr_assert_str_eq(c.jobs[2].outcome_tag, "result");
    cr_assert_str_eq(c.jobs[2].job_tag, "task_name");
    cr_assert_null(c.jobs[3].counter);
    cr_assert_null(c.jobs[3].outcome_tag);
    cr_assert_str_eq(c.jobs[4].counter, "loud");
    cr_assert_str_eq(c.jobs[5].counter, "tags");
    cr_assert_str_eq(c.jobs[5].outcome_tag, "outcome");
    cr_assert_str_eq(c.jobs[5].job_tag, "j");
    cfgload_release(&c);
}

/* Turned off, the name is free: a family may have it. */
Test(cfgjob, counter_false_leaves_the_name_to_a_family)
{
    struct config c;

    must_parse(&c, "{'families': [{'name': 'publish', 'type': 'counter'}],"
                   " 'jobs': {'list': [{'name': 'publish', 'counter': false}]}}");
    cr_assert_null(c.jobs[0].counter);
    cfgload_release(&c);
}

static const struct refusal {
    const char *config;
    const char *want; /* the whole message */
} refusals[] = {
    { "{'jobs': {'list': [{'name': 'a', 'counter': 'a'}]}}",
      "test.json: $.jobs.list[0].counter: expected an object, true or false, got a string" },
    { "{'jobs': {'list': [{'name': 'a', 'counter': {'nme': 'x'}}]}}",
      "test.json: $.jobs.list[0].counter.nme: unknown key" },
    { "{'jobs': {'list': [{'name': 'a', 'counter': {'name': '9x'}}]}}",
      "test.json: $.jobs.list[0].counter.name: \"9x\" is not a valid metric name "
      "([a-zA-Z_][a-zA-Z0-9_]*, '.' and '-' read as '_', not starting with \"__\")" },
    { "{'jobs': {'list': [{'name': 'a', 'counter': {'outcome_tag': 'a b'}}]}}",
      "test.json: $.jobs.list[0].counter.outcome_tag: expected a tag key "
      "([A-Za-z_][A-Za-z0-9_.-]*)" },
    { "{'jobs': {'list': [{'name': 'a', 'counter': {'job_tag': ''}}]}}",
      "test.json: $.jobs.list[0].counter.job_tag: expected a tag key of 1 to 100 bytes" },
    { "{'jobs': {'list': [{'name': 'a', 'counter': {'outcome_tag': 'out.come', 'job_tag': "
      "'out-come'}}]}}",
      "test.json: $.jobs.list[0].counter.job_tag: \"out_come\" is the outcome tag too: a line "
      "cannot carry the job and the outcome under one key" },
    { "{'jobs': {'list': [{'name': 'a', 'counter': {'job_tag': 'outcome'}}]}}",
      "test.json: $.jobs.list[0].counter.job_tag: \"outcome\" is the outcome tag too: a line "
      "cannot carry the job and the outcome under one key" },
    /* The default name clashes with a counter family's exposed names. */
    { "{'families': [{'name': 'publish_total', 'type': 'counter'}],"
      " 'jobs': {'list': ['publish']}}",
      "test.json: $.jobs.list[0].counter: the counter name \"publish\" clashes with "
      "$.families[0].name: a counter line named \"publish\" would name both (give the job "
      "another \"counter\" name, or \"counter\": false)" },
    { "{'families': [{'name': 'runs_total', 'type': 'gauge'}],"
      " 'jobs': {'list': [{'name': 'a', 'counter': {'name': 'runs'}}]}}",
      "test.json: $.jobs.list[0].counter: the counter name \"runs\" clashes with "
      "$.families[0].name: a counter line named \"runs_total\" would name both (give the job "
      "another \"counter\" name, or \"counter\": false)" },
    /* With the job families: the attempts family is the counter form's other name. */
    { "{'jobs': {'prefix': 'bg', 'list': [{'name': 'a', 'counter': {'name': 'bg.attempts'}}]}}",
      "test.json: $.jobs.list[0].counter: the counter name \"bg_attempts\" clashes with the job "
      "families of $.jobs.prefix: a counter line named \"bg_attempts\" would name both (give "
      "the job another \"counter\" name, or \"counter\": false)" },
    /* Two jobs whose names normalise alike, and an explicit name that takes another's. */
    { "{'jobs': {'list': ['a.b', 'a-b']}}",
      "test.json: $.jobs.list[1].counter: the counter name \"a_b\" clashes with the counter "
      "name of $.jobs.list[0]: a counter line named \"a_b\" would name both (give the job "
      "another \"counter\" name, or \"counter\": false)" },
    { "{'jobs': {'list': ['x', {'name': 'y', 'counter': {'name': 'x_total'}}]}}",
      "test.json: $.jobs.list[1].counter: the counter name \"x\" clashes with the counter "
      "name of $.jobs.list[0]: a counter line named \"x\" would name both (give the job "
      "another \"counter\" name, or \"counter\": false)" },
    { "{'sql_metrics': [{'name': 'sweep', 'query': 'SELECT 1 AS v', 'value_column': 'v'}],"
      " 'postgres': {'conninfo': 'dbname=x'}, 'jobs': {'list': ['sweep']}}",
      "test.json: $.jobs.list[0].counter: the counter name \"sweep\" clashes with "
      "$.sql_metrics[0].name: a counter line named \"sweep\" would name both (give the job "
      "another \"counter\" name, or \"counter\": false)" },
};

Test(cfgjob, every_refusal_names_the_file_the_key_and_the_problem)
{
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        struct config c;
        char err[512];

        cr_assert_lt(parse_sq(&c, refusals[i].config, err, sizeof(err)), 0, "case %zu loads", i);
        cr_expect_str_eq(err, refusals[i].want, "case %zu", i);
    }
}
