#include <criterion/criterion.h>

#include <string.h>

#include "base/buf.h"
#include "base/expo.h"
#include "expose/timings.h"

static char *render(const struct timings *t, struct buf *b)
{
    struct expo e;

    expo_init(&e, b, EXPO_TEXT);
    timings_render(t, &e);
    buf_addch(b, '\0');
    return b->ptr;
}

Test(timings, a_scrape_lands_in_the_first_bucket_that_holds_it_and_buckets_are_cumulative)
{
    struct timings t;
    struct buf b = BUF_INIT;
    const char *out;

    memset(&t, 0, sizeof(t));
    timings_scrape(&t, 0.003); /* <= 0.005 */
    timings_scrape(&t, 0.2);   /* <= 0.25 */
    timings_scrape(&t, 9.0);   /* +Inf only */
    out = render(&t, &b);
    cr_assert_not_null(strstr(out, "ustatsd_scrape_duration_seconds_bucket{le=\"0.0025\"} 0\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "ustatsd_scrape_duration_seconds_bucket{le=\"0.005\"} 1\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "ustatsd_scrape_duration_seconds_bucket{le=\"0.25\"} 2\n"), "%s",
                       out);
    cr_assert_not_null(strstr(out, "ustatsd_scrape_duration_seconds_bucket{le=\"2.5\"} 2\n"), "%s",
                       out);
    cr_assert_not_null(strstr(out, "ustatsd_scrape_duration_seconds_bucket{le=\"+Inf\"} 3\n"), "%s",
                       out);
    cr_assert_not_null(strstr(out, "ustatsd_scrape_duration_seconds_sum 9.203\n"), "%s", out);
    cr_assert_not_null(strstr(out, "ustatsd_scrape_duration_seconds_count 3\n"), "%s", out);
    buf_release(&b);
}

Test(timings, loop_turns_are_taken_in_nanoseconds_and_shown_in_seconds)
{
    struct timings t;
    struct buf b = BUF_INIT;
    const char *out;

    memset(&t, 0, sizeof(t));
    timings_loop_iteration(&t, 50000);   /* 50 us: the first bucket, 100 us */
    timings_loop_iteration(&t, 2000000); /* 2 ms: <= 0.0025 */
    out = render(&t, &b);
    cr_assert_not_null(strstr(out, "# TYPE ustatsd_event_loop_iteration_seconds histogram\n"), "%s",
                       out);
    cr_assert_not_null(
        strstr(out, "ustatsd_event_loop_iteration_seconds_bucket{le=\"0.0001\"} 1\n"), "%s", out);
    cr_assert_not_null(strstr(out, "ustatsd_event_loop_iteration_seconds_bucket{le=\"0.001\"} 1\n"),
                       "%s", out);
    cr_assert_not_null(
        strstr(out, "ustatsd_event_loop_iteration_seconds_bucket{le=\"0.0025\"} 2\n"), "%s", out);
    cr_assert_not_null(strstr(out, "ustatsd_event_loop_iteration_seconds_count 2\n"), "%s", out);
    buf_release(&b);
}

Test(timings, loop_cpu_is_its_own_histogram_on_the_loop_bounds)
{
    struct timings t;
    struct buf b = BUF_INIT;
    const char *out;

    memset(&t, 0, sizeof(t));
    timings_loop_iteration(&t, 20000000); /* 20 ms of wall time ... */
    timings_loop_cpu(&t, 300000);         /* ... of which 0.3 ms on the CPU: <= 0.0005 */
    out = render(&t, &b);
    cr_assert_not_null(strstr(out, "# TYPE ustatsd_event_loop_iteration_cpu_seconds histogram\n"),
                       "%s", out);
    cr_assert_not_null(
        strstr(out, "ustatsd_event_loop_iteration_cpu_seconds_bucket{le=\"0.00025\"} 0\n"), "%s",
        out);
    cr_assert_not_null(
        strstr(out, "ustatsd_event_loop_iteration_cpu_seconds_bucket{le=\"0.0005\"} 1\n"), "%s",
        out);
    cr_assert_not_null(strstr(out, "ustatsd_event_loop_iteration_cpu_seconds_sum 0.0003\n"), "%s",
                       out);
    cr_assert_not_null(strstr(out, "ustatsd_event_loop_iteration_seconds_bucket{le=\"0.01\"} 0\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "ustatsd_event_loop_iteration_seconds_bucket{le=\"0.025\"} 1\n"),
                       "%s", out);
    buf_release(&b);
}
