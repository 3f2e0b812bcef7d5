/*
 * The intake with the forms ordinary DogStatsD clients send: a job's runs as service
 * checks and counter lines, an up-down gauge moved by counter lines, a family named
 * without its unit. Each under the writer policy, and each on the front cache's path as
 * on the full parse's.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "config/config.h"
#include "config/cfgload.h"
#include "ingest/intake.h"
#include "ingest/rejects.h"
#include "intake_fixture.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "statsd.h"

static const char config_json[] =
    "{\"families\": ["
    "  {\"name\": \"inflight\", \"type\": \"gauge\", \"updown\": true,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4}]},"
    "  {\"name\": \"guarded_depth\", \"type\": \"gauge\", \"updown\": true},"
    "  {\"name\": \"guarded.duration_seconds\", \"type\": \"histogram\", \"buckets\": [1]},"
    "  {\"name\": \"temp\", \"type\": \"gauge\"}"
    " ],"
    " \"jobs\": {\"prefix\": \"bg\", \"failure_threshold\": 2,"
    "  \"list\": [\"publish\", \"deploy\"]},"
    " \"writers\": ["
    "  {\"prefix\": \"guarded\", \"users\": [0]},"
    "  {\"job\": \"deploy\", \"users\": [0]}"
    " ]}";

static const struct intake_sender user = { 4242, 1001, 1002, NULL };
static const struct intake_sender root = { 1, 0, 0, NULL };

enum { PUBLISH, DEPLOY };

static void setup(void)
{
    intake_up(config_json);
}

static void teardown(void)
{
    intake_down();
}

TestSuite(intake_jobs, .init = setup, .fini = teardown);

static void take_from(const char *dgram, const struct intake_sender *from)
{
    intake_datagram(&in, dgram, strlen(dgram), from, NOW_MS);
}

static const struct breaker *job(size_t i)
{
    return jobs_get(&jobs, i, NOW_MS);
}

static double series_value(const char *family, const char *label)
{
    struct registry_cursor c;
    struct registry_sample s;
    double v = -12345;

    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s))
        if (strcmp(s.cfg->name, family) == 0 &&
            (label == NULL
                 ? s.nlabels == 0
                 : s.nlabels == 1 && strncmp(s.labels[0].value, label, s.labels[0].value_len) == 0))
            v = s.value;
    registry_cursor_release(&c);
    return v;
}

/*
 * The same datagram three times: a job's lines are never cached (the registry never takes
 * them), so each round counts them as runs again, never as a family's.
 */
Test(intake_jobs, job_lines_count_as_runs_round_after_round)
{
    static const char dgram[] = "publish:1|c|#outcome:worked\n"
                                "publish:2|c|#outcome:error\n"
                                "_sc|publish|1|#env:dev\n"
                                "bg.attempts:1|c|#job:publish,outcome:idle\n";

    for (int round = 1; round <= 3; round++) {
        take_from(dgram, &user);
        cr_assert_eq(in.count.accepted, 4u * (unsigned)round);
        cr_assert_eq(job(PUBLISH)->attempts[STATSD_OUTCOME_WORKED], (uint64_t)round);
        cr_assert_eq(job(PUBLISH)->attempts[STATSD_OUTCOME_ERROR], 2u * (uint64_t)round);
        cr_assert_eq(job(PUBLISH)->attempts[STATSD_OUTCOME_IDLE], 2u * (uint64_t)round);
    }
    /* Round one's two errors opened it; an open breaker only counts, at one time. */
    cr_assert_eq(job(PUBLISH)->openings, 1);
    cr_assert_eq(job(PUBLISH)->state, BREAKER_OPEN);
    cr_assert_eq(registry_series_total(&reg), 1, "only the histogram's zero series");
    cr_assert_eq(intake_rejected_total(&in.count), 0);
}

/*
 * A reload that turns a family's name into a job's counter name: the front cache, which
 * knew the line as the family's, is emptied, and the line reports the job.
 */
Test(intake_jobs, a_reload_hands_a_family_s_cached_line_to_the_job)
{
    static const char before_json[] =
        "{\"families\": [{\"name\": \"publish\", \"type\": \"counter\","
        "  \"labels\": [{\"name\": \"outcome\", \"values\": [\"worked\", \"error\"]}]}],"
        " \"jobs\": {\"list\": [{\"name\": \"publish\", \"counter\": false}]}}";
    static const char after_json[] = "{\"jobs\": {\"list\": [\"publish\"]}}";
    struct config before, after;
    struct registry_reload rr;
    char err[512];

    teardown();
    cr_assert_eq(cfgload_text(&before, before_json, strlen(before_json), "b", err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(cfgload_text(&after, after_json, strlen(after_json), "a", err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(registry_init(&reg, &before), 0);
    jobs_init(&jobs, &before, 0);
    rejects_init(&rejects);
    intake_init(&in, &reg, &jobs, &rejects, fake_clock, NULL);
    take_from("publish:1|c|#outcome:worked\npublish:1|c|#outcome:worked", &user);
    cr_assert_eq(series_value("publish", "worked"), 2);
    cr_assert_eq(job(PUBLISH)->attempts[STATSD_OUTCOME_WORKED], 0);

    registry_reconfigure(&reg, &after, &rr);
    jobs_reconfigure(&jobs, &after, NOW_MS);
    take_from("publish:1|c|#outcome:worked", &user);
    cr_assert_eq(job(PUBLISH)->attempts[STATSD_OUTCOME_WORKED], 1);
    cr_assert_eq(in.count.accepted, 3);
    jobs_release(&jobs);
    registry_release(&reg);
    cfgload_release(&before);
    cfgload_release(&after);
    setup();
}

/*
 * The writer policy guards a job's every form, before its outcome or count is judged;
 * a line that names no job keeps its reason whoever sends it.
 */
Test(intake_jobs, a_guarded_job_refuses_every_form_from_other_senders)
{
    static const char *const refused[] = {
        "deploy:error|j",
        "_sc|deploy|2",
        "deploy:1|c|#outcome:error",
        "bg_attempts_total:1|c|#job:deploy,outcome:error",
        "deploy:1|c|#outcome:maybe",
        "deploy:0.5|c|#outcome:error",
        "_sc|deploy|0|m:fine",
    };
    char all[512] = "";

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        strcat(all, refused[i]);
        strcat(all, "\n");
    }
    take_from(all, &user);
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED],
                 sizeof(refused) / sizeof(refused[0]));
    cr_assert_eq(job(DEPLOY)->attempts[STATSD_OUTCOME_ERROR], 0);
    cr_assert(!job(DEPLOY)->has_error && !job(DEPLOY)->has_success);
    take_from("_sc|nobody|2\nbg.attempts:1|c|#job:nobody,outcome:error", &user);
    cr_assert_eq(in.count.rejected[STATSD_UNKNOWN_JOB], 2);

    /* Its writer may, and the unguarded job takes anyone's. */
    take_from(all, &root);
    cr_assert_eq(job(DEPLOY)->attempts[STATSD_OUTCOME_ERROR], 4);
    cr_assert_eq(in.count.rejected[STATSD_INVALID_JOB_OUTCOME], 1);
    cr_assert_eq(in.count.rejected[STATSD_INVALID_JOB_COUNT], 1);
    cr_assert_eq(job(DEPLOY)->state, BREAKER_OPEN, "opened by the second error");
    cr_assert_eq(job(DEPLOY)->consecutive_failures, 0, "the last check worked");
    take_from("_sc|publish|2\npublish:1|c|#outcome:error", &user);
    cr_assert_eq(job(PUBLISH)->state, BREAKER_OPEN);
}

/* An up-down gauge moved by counter lines: the full parse, then the cache, then refusals. */
Test(intake_jobs, an_up_down_gauge_moves_with_counter_lines_on_both_paths)
{
    static const char dgram[] = "inflight:1|c|#queue:a\n"
                                "inflight:1|c|#queue:a\n"
                                "inflight:-1|c|#queue:a\n"
                                "inflight:1|c|@0.5|#queue:a\n";

    take_from(dgram, &user);
    cr_assert_eq(series_value("inflight", "a"), 1 + 1 - 1 + 2);
    take_from(dgram, &user);
    cr_assert_eq(series_value("inflight", "a"), 2 * (1 + 1 - 1 + 2));
    take_from("inflight:-3|g|#queue:a", &user);
    cr_assert_eq(series_value("inflight", "a"), 6 - 3);
    cr_assert_eq(in.count.accepted, 9);
    take_from("temp:1|c\ntemp:-1|c", &user);
    cr_assert_eq(in.count.rejected[STATSD_TYPE_MISMATCH], 2);

    /* Guarded: refused from another sender on both paths, taken from its writer. */
    take_from("guarded_depth:1|c\nguarded_depth:-1|c", &root);
    take_from("guarded_depth:1|c\nguarded_depth:-1|c\nguarded_depth:5|c", &user);
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 3);
    take_from("guarded_depth:-1|c\nguarded-depth:-1|c", &root);
    cr_assert_eq(series_value("guarded_depth", NULL), -2);
}

/* A line that names a family without its unit is that family's, under its rule. */
Test(intake_jobs, a_family_s_open_telemetry_name_is_guarded_as_the_family)
{
    take_from("guarded.duration:0.5|h\nguarded_duration:2|h", &user);
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 2);
    take_from("guarded.duration:0.5|h\nguarded.duration:0.5|h\nguarded_duration:2|h", &root);
    cr_assert_eq(in.count.accepted, 3);
    cr_assert_eq(series_value("guarded_duration_seconds", NULL), 3);
}
