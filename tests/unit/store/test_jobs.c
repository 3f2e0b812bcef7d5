/*
 * The jobs' exposition dates: each job's counters start at zero with the job (start-up,
 * or the reload that added it), and OpenMetrics shows that time as their _created.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "exposcan.h"
#include "base/expo.h"
#include "store/jobs.h"

static const char one_job[] = "{\"jobs\": {\"prefix\": \"job\", \"list\": [\"mail\"]}}";
static const char two_jobs[] = "{\"jobs\": {\"prefix\": \"job\", \"list\": [\"thumbs\","
                               " {\"name\": \"mail\", \"failure_threshold\": 3}]}}";

static char *scrape(struct jobs *j, enum expo_format fmt)
{
    struct buf out = BUF_INIT;
    struct expo e;

    expo_init(&e, &out, fmt);
    e.created = 7;
    jobs_render(j, &e, 0);
    cr_assert_eq(e.created, 7, "the caller's start time is given back");
    buf_addch(&out, '\0');
    return out.ptr;
}

Test(jobs, counters_are_dated_with_their_job_and_a_kept_job_keeps_its_date)
{
    struct config a, b;
    struct jobs j;
    char err[256], *om;

    cr_assert_eq(cfgload_text(&a, one_job, strlen(one_job), "a.json", err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(cfgload_text(&b, two_jobs, strlen(two_jobs), "b.json", err, sizeof err), 0, "%s",
                 err);
    jobs_init(&j, &a, 0);
    om = scrape(&j, EXPO_OPENMETRICS);
    cr_assert_null(strstr(om, "_created"), "undated: none\n%s", om);
    free(om);

    jobs_date(&j, 1700000000.5);
    om = scrape(&j, EXPO_OPENMETRICS);
    cr_assert_eq(expo_value(om, "job_attempts_created{job=\"mail\",outcome=\"worked\"}"),
                 1700000000.5, "%s", om);
    cr_assert_eq(expo_value(om, "job_attempts_created{job=\"mail\",outcome=\"error\"}"),
                 1700000000.5);
    cr_assert_eq(expo_value(om, "job_errors_created{job=\"mail\"}"), 1700000000.5);
    cr_assert_eq(expo_value(om, "job_circuit_open_created{job=\"mail\"}"), 1700000000.5);
    cr_assert_null(strstr(om, "consecutive_failures_created"), "a gauge");
    free(om);

    jobs_reconfigure(&j, &b, 0);
    jobs_date(&j, 1700000100);
    om = scrape(&j, EXPO_OPENMETRICS);
    cr_assert_eq(expo_value(om, "job_errors_created{job=\"mail\"}"), 1700000000.5, "kept");
    cr_assert_eq(expo_value(om, "job_errors_created{job=\"thumbs\"}"), 1700000100,
                 "added by the reload");
    free(om);
    om = scrape(&j, EXPO_TEXT);
    cr_assert_null(strstr(om, "_created"), "text has none");
    free(om);
    jobs_release(&j);
    cfgload_release(&a);
    cfgload_release(&b);
}
