/*
 * jobmatch through jobs_report(): a job's run in each form a client sends it, `|j`, a
 * service check, the job's counter name and the attempts family with the job tag, and
 * every reason a job line is refused for. The counter form counts exactly as `|j` does.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "base/errcode.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "store/jobmatch.h"
#include "store/jobs.h"
#include "statsd.h"

static const char config_json[] =
    "{\"families\": [{\"name\": \"uploads\", \"type\": \"counter\"}],"
    " \"jobs\": {\"prefix\": \"imgsrv.background_job\", \"failure_threshold\": 3,"
    "  \"list\": [\"publish\", \"cas-promotion\","
    "   {\"name\": \"sync\", \"counter\": {\"name\": \"sync.runs\", \"outcome_tag\": "
    "\"run.result\","
    "    \"job_tag\": \"task\"}},"
    "   {\"name\": \"quiet\", \"counter\": false}]}}";

enum { PUBLISH, CAS, SYNC, QUIET };

static struct config cfg;
static struct jobs jobs;

static void setup(void)
{
    char err[512];

    memset(&cfg, 0, sizeof(cfg));
    cr_assert_eq(cfgload_text(&cfg, config_json, strlen(config_json), "test", err, sizeof(err)), 0,
                 "%s", err);
    jobs_init(&jobs, &cfg, 0);
}

static void teardown(void)
{
    jobs_release(&jobs);
    cfgload_release(&cfg);
}

TestSuite(jobmatch, .init = setup, .fini = teardown);

static int report(const char *text)
{
    struct statsd_line l;
    int rc = statsd_parse_line(text, strlen(text), &l);

    cr_assert_eq(rc, STATSD_OK, "%s: %s", text, statsd_reason_name(rc));
    return jobs_report(&jobs, &l, 1000, 1.7e9);
}

static const struct breaker *job(size_t i)
{
    return jobs_get(&jobs, i, 1000);
}

Test(jobmatch, each_form_names_its_job_and_outcome)
{
    static const struct {
        const char *line;
        size_t job;
        enum statsd_outcome outcome;
        uint64_t runs;
    } forms[] = {
        { "publish:error|j", PUBLISH, STATSD_OUTCOME_ERROR, 1 },
        { "_sc|publish|2|#env:dev|m:timed out", PUBLISH, STATSD_OUTCOME_ERROR, 1 },
        { "_sc|cas-promotion|1", CAS, STATSD_OUTCOME_IDLE, 1 },
        { "publish:1|c|#outcome:worked", PUBLISH, STATSD_OUTCOME_WORKED, 1 },
        { "publish_total:4|c|#outcome:idle", PUBLISH, STATSD_OUTCOME_IDLE, 4 },
        /* The counter name is a metric name: normalised as family names are. */
        { "cas_promotion:2|c|#outcome:error", CAS, STATSD_OUTCOME_ERROR, 2 },
        { "cas-promotion:1|c|#region:eu,outcome:worked", CAS, STATSD_OUTCOME_WORKED, 1 },
        { "sync.runs:1|c|#run-result:error", SYNC, STATSD_OUTCOME_ERROR, 1 },
        { "sync-runs_total:1|c|#run_result:idle", SYNC, STATSD_OUTCOME_IDLE, 1 },
        /* The attempts family, with each job's own job tag and outcome tag. */
        { "imgsrv.background_job.attempts:1|c|#job:publish,outcome:worked", PUBLISH,
          STATSD_OUTCOME_WORKED, 1 },
        { "imgsrv_background_job_attempts_total:3|c|#outcome:error,job:cas-promotion", CAS,
          STATSD_OUTCOME_ERROR, 3 },
        { "imgsrv.background_job.attempts:1|c|#task:sync,run.result:worked", SYNC,
          STATSD_OUTCOME_WORKED, 1 },
        /* 0 runs: accepted, nothing counted. The rate is not applied, as on |j lines. */
        { "publish:0|c|#outcome:error", PUBLISH, STATSD_OUTCOME_ERROR, 0 },
        { "publish:2|c|@0.5|#outcome:idle", PUBLISH, STATSD_OUTCOME_IDLE, 2 },
    };

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct statsd_line l;
        struct jobmatch_run run;
        const struct config_writers *w;

        cr_assert_eq(statsd_parse_line(forms[i].line, strlen(forms[i].line), &l), STATSD_OK);
        cr_assert_eq(jobs_match(&jobs, &l, &run, &w), STATSD_OK, "%s", forms[i].line);
        cr_expect_eq(run.job, (long)forms[i].job, "%s", forms[i].line);
        cr_expect_eq(run.outcome, forms[i].outcome, "%s", forms[i].line);
        cr_expect_eq(run.runs, forms[i].runs, "%s", forms[i].line);
    }
}

Test(jobmatch, lines_no_job_takes_are_left_to_the_families)
{
    static const char *const family_lines[] = {
        "uploads:1|c",
        "publisher:1|c|#outcome:worked",
        "quiet:1|c|#outcome:worked",   /* its counter form is off */
        "publish:1|g|#outcome:worked", /* not a counter line */
        "imgsrv_background_job_errors:1|c|#job:publish",
        "publish:1|h|#outcome:worked",
    };

    for (size_t i = 0; i < sizeof(family_lines) / sizeof(family_lines[0]); i++)
        cr_expect_eq(report(family_lines[i]), JOBMATCH_FAMILY, "%s", family_lines[i]);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(job(i)->attempts[0] + job(i)->attempts[1] + job(i)->attempts[2], 0);
}

Test(jobmatch, every_refusal_has_its_reason_and_changes_nothing)
{
    static const struct {
        const char *line;
        int reason;
    } refused[] = {
        { "nobody:worked|j", STATSD_UNKNOWN_JOB },
        { "_sc|nobody|0", STATSD_UNKNOWN_JOB },
        { "_sc|cas_promotion|0", STATSD_UNKNOWN_JOB }, /* checks name jobs as sent */
        { "imgsrv.background_job.attempts:1|c|#outcome:worked", STATSD_UNKNOWN_JOB },
        { "imgsrv.background_job.attempts:1|c|#job:nobody,outcome:worked", STATSD_UNKNOWN_JOB },
        { "imgsrv.background_job.attempts:1|c|#job:quiet,outcome:worked", STATSD_UNKNOWN_JOB },
        /* sync's job tag is "task": "job" names nothing for it. */
        { "imgsrv.background_job.attempts:1|c|#job:sync,run_result:worked", STATSD_UNKNOWN_JOB },
        { "publish:1|c", STATSD_INVALID_JOB_OUTCOME },
        { "publish:1|c|#outcome:done", STATSD_INVALID_JOB_OUTCOME },
        { "publish:1|c|#outcome:WORKED", STATSD_INVALID_JOB_OUTCOME },
        { "publish:1|c|#outcome", STATSD_INVALID_JOB_OUTCOME },
        { "sync.runs:1|c|#outcome:worked", STATSD_INVALID_JOB_OUTCOME },
        { "imgsrv.background_job.attempts:1|c|#job:publish", STATSD_INVALID_JOB_OUTCOME },
        { "publish:0.5|c|#outcome:worked", STATSD_INVALID_JOB_COUNT },
        { "publish:-1|c|#outcome:worked", STATSD_INVALID_JOB_COUNT },
        { "publish:1e17|c|#outcome:worked", STATSD_INVALID_JOB_COUNT },
        { "publish:1e300|c|#outcome:worked", STATSD_INVALID_JOB_COUNT },
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        cr_expect_eq(report(refused[i].line), refused[i].reason, "%s: %s", refused[i].line,
                     statsd_reason_name(report(refused[i].line)));
    for (size_t i = 0; i < 4; i++) {
        const struct breaker *b = job(i);

        cr_assert_eq(b->attempts[0] + b->attempts[1] + b->attempts[2], 0, "job %zu", i);
        cr_assert(!b->has_success && !b->has_error);
    }
    /* The largest count: 2^53 runs, exact. */
    cr_assert_eq(report("publish:9007199254740992|c|#outcome:idle"), STATSD_OK);
    cr_assert_eq(job(PUBLISH)->attempts[STATSD_OUTCOME_IDLE], UINT64_C(9007199254740992));
}

/* Each form counts as `|j` does: attempts, errors, failures, timestamps, the breaker. */
Test(jobmatch, every_form_opens_the_breaker_as_job_lines_do)
{
    static const char *const native[] = { "publish:worked|j", "publish:error|j", "publish:error|j",
                                          "publish:error|j" };
    static const char *const clients[] = {
        "_sc|cas-promotion|0|#env:dev",
        "cas-promotion:1|c|#outcome:error",
        "imgsrv.background_job.attempts:1|c|#job:cas-promotion,outcome:error",
        "_sc|cas-promotion|2",
    };
    static const char *const summed[] = { "sync.runs:1|c|#run.result:worked",
                                          "sync.runs:3|c|#run.result:error" };
    const struct breaker *a, *b, *c;

    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(report(native[i]), STATSD_OK);
        cr_assert_eq(report(clients[i]), STATSD_OK);
    }
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(report(summed[i]), STATSD_OK);
    a = job(PUBLISH);
    b = job(CAS);
    c = job(SYNC);
    cr_assert_eq(a->state, BREAKER_OPEN);
    cr_assert_eq(a->openings, 1);
    for (const struct breaker *x = b; x != NULL; x = x == b ? c : NULL) {
        cr_assert_eq(x->state, a->state);
        cr_assert_eq(x->openings, a->openings);
        cr_assert_eq(x->errors, a->errors);
        cr_assert_eq(x->consecutive_failures, a->consecutive_failures);
        cr_assert(memcmp(x->attempts, a->attempts, sizeof(a->attempts)) == 0);
        cr_assert_eq(x->has_success, a->has_success);
        cr_assert_eq(x->has_error, a->has_error);
        cr_assert_float_eq(x->last_error_unix, a->last_error_unix, 0);
        cr_assert_float_eq(x->last_success_unix, a->last_success_unix, 0);
    }
}

/* A reload rebuilds the names: a job's new counter name takes lines, its old one does not. */
Test(jobmatch, a_reload_takes_the_new_counter_names)
{
    static const char next_json[] = "{\"jobs\": {\"prefix\": \"bg\", \"list\": ["
                                    " {\"name\": \"publish\", \"counter\": {\"name\": \"pub\"}}]}}";
    struct config next;
    char err[512];

    cr_assert_eq(cfgload_text(&next, next_json, strlen(next_json), "next", err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(report("publish:1|c|#outcome:error"), STATSD_OK);
    jobs_reconfigure(&jobs, &next, 2000);
    cr_assert_eq(report("publish:1|c|#outcome:error"), JOBMATCH_FAMILY);
    cr_assert_eq(report("pub:1|c|#outcome:error"), STATSD_OK);
    cr_assert_eq(report("bg.attempts:1|c|#job:publish,outcome:error"), STATSD_OK);
    cr_assert_eq(report("imgsrv.background_job.attempts:1|c|#job:publish,outcome:error"),
                 JOBMATCH_FAMILY);
    cr_assert_eq(jobs_get(&jobs, 0, 2000)->errors, 3, "the job kept its count");
    jobs_reconfigure(&jobs, &cfg, 3000);
    cfgload_release(&next);
}
