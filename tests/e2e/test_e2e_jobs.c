/*
 * Background jobs end to end: the client header's job call, then scrapes; the breaker
 * opens and recovers through the real daemon.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "ustatsd.h"

static const char config[] = "{\n"
                             "  \"families\": [],\n"
                             "  \"jobs\": {\"prefix\": \"imgsrv_background_job\",\n"
                             "            \"failure_threshold\": 5, \"open_seconds\": 60,\n"
                             "            \"list\": [\"publish\",\n"
                             "                     {\"name\": \"cas-promotion\",\n"
                             "                      \"failure_threshold\": 2,\n"
                             "                      \"open_seconds\": 1}]}\n"
                             "}\n";

static struct daemon d;

DAEMON_FIXTURE(d, config)

#define P         "imgsrv_background_job"
#define HALF_OPEN P "_circuit_state{job=\"cas-promotion\",state=\"half_open\"}"

static double state(const char *body, const char *job, const char *s)
{
    char series[160];

    snprintf(series, sizeof(series), P "_circuit_state{job=\"%s\",state=\"%s\"}", job, s);
    return expo_value(body, series);
}

Test(e2e_jobs, every_configured_job_is_exposed_at_zero_from_start_up, .init = start, .fini = stop)
{
    char *body = daemon_scrape(&d, NULL);
    char *om = daemon_scrape(&d, DAEMON_OPENMETRICS);

    cr_assert_float_eq(expo_value(body, P "_attempts_total{job=\"publish\",outcome=\"worked\"}"), 0,
                       1e-9);
    cr_assert_float_eq(
        expo_value(body, P "_attempts_total{job=\"cas-promotion\",outcome=\"error\"}"), 0, 1e-9);
    cr_assert_float_eq(expo_value(body, P "_errors_total{job=\"publish\"}"), 0, 1e-9);
    cr_assert_float_eq(expo_value(body, P "_circuit_open_total{job=\"publish\"}"), 0, 1e-9);
    cr_assert_float_eq(expo_value(body, P "_consecutive_failures{job=\"publish\"}"), 0, 1e-9);
    cr_assert_float_eq(state(body, "publish", "closed"), 1, 1e-9);
    cr_assert_float_eq(state(body, "publish", "open"), 0, 1e-9);
    cr_assert_float_eq(state(body, "publish", "half_open"), 0, 1e-9);
    /* Absent until the first such event (seed 000). */
    cr_assert_null(strstr(body, P "_last_success_timestamp_seconds"));
    cr_assert_null(strstr(body, P "_last_error_timestamp_seconds"));
    cr_assert_eq(expo_check(body, 0), 0);
    cr_assert_eq(expo_check(om, 1), 0);
    cr_assert_not_null(strstr(om, "# TYPE " P "_circuit_state stateset\n"));
    free(body);
    free(om);
}

Test(e2e_jobs, breaker_opens_and_recovers_through_the_daemon, .init = start, .fini = stop)
{
    struct ustatsd c;
    char *body, *om;
    double before;

    cr_assert_eq(ustatsd_open(&c, d.sock), 0);
    c.batching = 0;
    cr_assert_eq(ustatsd_job(&c, "cas-promotion", USTATSD_OUTCOME_WORKED, NULL, 0), 0);
    cr_assert_eq(ustatsd_job(&c, "cas-promotion", USTATSD_OUTCOME_ERROR, NULL, 0), 0);
    cr_assert_eq(ustatsd_job(&c, "cas-promotion", USTATSD_OUTCOME_ERROR, NULL, 0), 0);
    cr_assert_eq(ustatsd_job(&c, "publish", USTATSD_OUTCOME_IDLE, NULL, 0), 0);
    cr_assert_eq(ustatsd_job(&c, "no-such-job", USTATSD_OUTCOME_IDLE, NULL, 0), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 4, 5000), 4);

    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(state(body, "cas-promotion", "open"), 1, 1e-9);
    cr_assert_float_eq(state(body, "cas-promotion", "closed"), 0, 1e-9);
    cr_assert_float_eq(expo_value(body, P "_circuit_open_total{job=\"cas-promotion\"}"), 1, 1e-9);
    cr_assert_float_eq(expo_value(body, P "_consecutive_failures{job=\"cas-promotion\"}"), 2, 1e-9);
    cr_assert_float_eq(expo_value(body, P "_errors_total{job=\"cas-promotion\"}"), 2, 1e-9);
    cr_assert_float_eq(
        expo_value(body, P "_attempts_total{job=\"cas-promotion\",outcome=\"worked\"}"), 1, 1e-9);
    cr_assert_float_eq(expo_value(body, P "_attempts_total{job=\"publish\",outcome=\"idle\"}"), 1,
                       1e-9);
    cr_assert_float_eq(expo_value(body, "ustatsd_lines_rejected_total{reason=\"unknown_job\"}"), 1,
                       1e-9);
    before = expo_value(body, P "_last_error_timestamp_seconds{job=\"cas-promotion\"}");
    cr_assert(before > 1.7e9, "last error timestamp %f", before);
    cr_assert(!isnan(expo_value(body, P "_last_success_timestamp_seconds{job=\"publish\"}")));
    free(body);

    /* open_seconds is 1: half-open without any report. */
    cr_assert_eq(daemon_wait_value(&d, HALF_OPEN, 1, 5000), 1);

    /* A half-open error opens it again, counted as a new opening. */
    cr_assert_eq(ustatsd_job(&c, "cas-promotion", USTATSD_OUTCOME_ERROR, NULL, 0), 0);
    cr_assert_eq(daemon_wait_value(&d, P "_circuit_open_total{job=\"cas-promotion\"}", 2, 5000), 2);
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(state(body, "cas-promotion", "open"), 1, 1e-9);
    free(body);
    cr_assert_eq(daemon_wait_value(&d, HALF_OPEN, 1, 5000), 1);
    /* A half-open success closes it and resets the consecutive failures. */
    cr_assert_eq(ustatsd_job(&c, "cas-promotion", USTATSD_OUTCOME_WORKED, NULL, 0), 0);
    cr_assert_eq(
        daemon_wait_value(&d, P "_circuit_state{job=\"cas-promotion\",state=\"closed\"}", 1, 5000),
        1);
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, P "_consecutive_failures{job=\"cas-promotion\"}"), 0, 1e-9);
    cr_assert_eq(expo_check(body, 0), 0);
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_not_null(
        strstr(om, P "_circuit_state{job=\"cas-promotion\"," P "_circuit_state=\"closed\"} 1\n"));
    cr_assert_eq(expo_check(om, 1), 0);
    free(body);
    free(om);
    ustatsd_close(&c);
}
