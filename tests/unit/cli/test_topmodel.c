/*
 * ustatsd top's model: rates from two readings (and "n/a" where they cannot be told),
 * the sort keys, the caps and how full each is, the reject reasons with their examples
 * and senders, the event loop's turns, jobs and snapshots. Readings are JSON text dated
 * by the test: no daemon, no clock.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/topmodel.h"

/* A /debug document: accepted and rejected counts, two families' lines, the loop's turns. */
static void doc(char *out, size_t len, unsigned accepted, unsigned unknown, unsigned a_lines,
                unsigned b_lines, unsigned turns, unsigned slow)
{
    snprintf(
        out, len,
        "{\"schema\": 1,"
        " \"daemon\": {\"version\": \"0.1.0\", \"start_time\": 1000, \"uptime_seconds\": 60,"
        "  \"state\": {\"snapshots\": {\"succeeded\": 4, \"failed\": 1, \"last_error\": null,"
        "   \"last_success_time\": 1050, \"last_seconds\": 0.012}},"
        "  \"series\": {\"total\": 5, \"limit\": 10, \"memory_bytes\": 4096},"
        "  \"event_loop\": {\"iterations\": %u, \"busy_seconds\": %g,"
        "   \"buckets\": [{\"le\": 0.001, \"count\": %u}, {\"le\": 0.01, \"count\": %u},"
        "                 {\"le\": \"+Inf\", \"count\": %u}]}},"
        " \"ingest\": {\"datagrams\": %u, \"lines_accepted\": %u, \"lines_rejected\": %u,"
        "  \"rejected_by_reason\": {\"unknown_family\": %u, \"label_not_allowed\": 1,"
        "                          \"bad_value\": 0}},"
        " \"families\": ["
        "  {\"name\": \"alpha\", \"type\": \"counter\", \"lines\": %u, \"series\": 1,"
        "   \"series_cap\": 100, \"labels\": [{\"name\": \"route\", \"distinct_values\": 4,"
        "   \"cap\": 5}]},"
        "  {\"name\": \"beta\", \"type\": \"gauge\", \"lines\": %u, \"series\": 3,"
        "   \"series_cap\": 4, \"labels\": []}],"
        " \"jobs\": [{\"job\": \"mailer\", \"state\": \"open\", \"state_seconds\": 4.5,"
        "  \"consecutive_failures\": 2, \"failure_threshold\": 2, \"errors\": 3,"
        "  \"circuit_openings\": 1}],"
        " \"rejects\": ["
        "  {\"time\": 1059, \"reason\": \"unknown_family\", \"line\": \"nope:1|c\", \"pid\": 7,"
        "   \"uid\": 1000, \"source\": null},"
        "  {\"time\": 1058, \"reason\": \"label_not_allowed\", \"line\": \"alpha_total:1|c|#x:y\","
        "   \"pid\": null, \"uid\": null, \"source\": \"127.0.0.1:5000\"},"
        "  {\"time\": 1057, \"reason\": \"unknown_family\", \"line\": \"old:1|c\", \"pid\": 8,"
        "   \"uid\": 0, \"source\": null},"
        "  {\"time\": 1056, \"reason\": \"unknown_family\", \"line\": \"older:1|c\", \"pid\": 7,"
        "   \"uid\": 1000, \"source\": null}],"
        " \"rejects_total\": 4}",
        turns, 0.0005 * (turns - slow) + 0.005 * slow, turns - slow, turns, turns, accepted,
        accepted, unknown + 1, unknown, a_lines, b_lines);
}

static void reading(struct top_reading *r, uint64_t at_ms, unsigned accepted, unsigned unknown,
                    unsigned a_lines, unsigned b_lines, unsigned turns, unsigned slow)
{
    char text[4096], err[256];

    doc(text, sizeof(text), accepted, unknown, a_lines, b_lines, turns, slow);
    cr_assert_eq(top_reading_parse(r, text, strlen(text), at_ms, err, sizeof(err)), 0, "%s", err);
}

static const struct top_family *family(const struct top_view *v, const char *name)
{
    for (size_t i = 0; i < v->nfamilies; i++)
        if (strcmp(v->families[i].name, name) == 0)
            return &v->families[i];
    cr_assert_fail("no family %s", name);
    return NULL;
}

Test(topmodel, rates_are_differences_over_the_time_between_readings)
{
    struct top_reading a, b;
    struct top_view v;

    reading(&a, 10000, 100, 2, 50, 50, 1000, 0);
    reading(&b, 12000, 140, 6, 80, 60, 1200, 0);
    top_view_compute(&v, &a, &b, TOP_SORT_SERIES);
    cr_assert_float_eq(v.interval_seconds, 2.0, 1e-9);
    cr_assert(v.accepted_rate.known);
    cr_assert_float_eq(v.accepted_rate.per_s, 20.0, 1e-9);
    cr_assert_float_eq(v.rejected_rate.per_s, 2.0, 1e-9);
    cr_assert_float_eq(v.loop_rate.per_s, 100.0, 1e-9);
    cr_assert_float_eq(family(&v, "alpha")->rate.per_s, 15.0, 1e-9);
    cr_assert_float_eq(family(&v, "beta")->rate.per_s, 5.0, 1e-9);
    cr_assert_eq(family(&v, "alpha")->lines, 80);
    cr_assert_str_eq(v.reasons[0].reason, "unknown_family");
    cr_assert_float_eq(v.reasons[0].rate.per_s, 2.0, 1e-9);
    cr_assert_float_eq(v.reasons[1].rate.per_s, 0.0, 1e-9, "label_not_allowed stayed at 1");
    top_view_release(&v);
    top_reading_release(&a);
    top_reading_release(&b);
}

Test(topmodel, rates_are_unknown_with_one_reading_no_time_or_a_counter_that_went_down)
{
    struct top_reading a, b;
    struct top_view v;

    reading(&a, 10000, 100, 2, 50, 50, 1000, 0);
    top_view_compute(&v, NULL, &a, TOP_SORT_SERIES);
    cr_assert_not(v.accepted_rate.known);
    cr_assert_not(family(&v, "alpha")->rate.known);
    cr_assert_eq(v.interval_seconds, 0);
    top_view_release(&v);

    reading(&b, 10000, 140, 6, 80, 60, 1200, 0);
    top_view_compute(&v, &a, &b, TOP_SORT_SERIES);
    cr_assert_not(v.accepted_rate.known, "no time passed");
    top_view_release(&v);
    top_reading_release(&b);

    reading(&b, 11000, 10, 6, 5, 60, 1200, 0); /* the daemon restarted */
    top_view_compute(&v, &a, &b, TOP_SORT_SERIES);
    cr_assert_not(v.accepted_rate.known);
    cr_assert_not(family(&v, "alpha")->rate.known);
    cr_assert(family(&v, "beta")->rate.known);
    cr_assert_float_eq(family(&v, "beta")->rate.per_s, 10.0, 1e-9);
    top_view_release(&v);
    top_reading_release(&a);
    top_reading_release(&b);
}

Test(topmodel, each_key_sorts_the_families)
{
    struct top_reading a, b;
    struct top_view v;
    enum top_sort sort;

    reading(&a, 0, 0, 0, 0, 0, 0, 0);
    reading(&b, 1000, 0, 0, 90, 10, 0, 0);
    top_view_compute(&v, &a, &b, TOP_SORT_SERIES);
    cr_assert_str_eq(v.families[0].name, "beta", "3 series before 1");
    cr_assert_eq(top_sort_of_key('r', &sort), 1);
    top_view_sort(&v, sort);
    cr_assert_str_eq(v.families[0].name, "alpha", "90 lines/s before 10");
    cr_assert_eq(top_sort_of_key('n', &sort), 1);
    top_view_sort(&v, sort);
    cr_assert_str_eq(v.families[0].name, "alpha");
    cr_assert_str_eq(v.families[1].name, "beta");
    cr_assert_eq(top_sort_of_key('j', &sort), 1);
    top_view_sort(&v, sort);
    cr_assert_str_eq(v.families[0].name, "alpha", "alpha_total:1|c was rejected");
    cr_assert_eq(v.families[0].rejects, 1);
    cr_assert_eq(v.families[1].rejects, 0);
    cr_assert_str_eq(top_sort_name(v.sort), "rejects");
    cr_assert_eq(top_sort_of_key('x', &sort), 0);
    top_view_release(&v);
    top_reading_release(&a);
    top_reading_release(&b);
}

Test(topmodel, caps_global_family_and_label_fullest_first)
{
    struct top_reading a;
    struct top_view v;

    reading(&a, 0, 0, 0, 0, 0, 0, 0);
    top_view_compute(&v, NULL, &a, TOP_SORT_SERIES);
    cr_assert_eq(v.ncaps, 4, "global, two families, one label");
    cr_assert_eq(v.caps[0].kind, TOP_CAP_LABEL, "4 of 5 values");
    cr_assert_str_eq(v.caps[0].family, "alpha");
    cr_assert_str_eq(v.caps[0].label, "route");
    cr_assert_float_eq(v.caps[0].percent, 80.0, 1e-9);
    cr_assert_eq(v.caps[1].kind, TOP_CAP_FAMILY, "3 of 4 series");
    cr_assert_float_eq(v.caps[1].percent, 75.0, 1e-9);
    cr_assert_eq(v.caps[2].kind, TOP_CAP_GLOBAL, "5 of 10");
    cr_assert_float_eq(v.caps[2].percent, 50.0, 1e-9);
    cr_assert_float_eq(v.caps[3].percent, 1.0, 1e-9);
    top_view_release(&v);
    top_reading_release(&a);
}

Test(topmodel, reasons_with_a_count_carry_the_newest_line_and_distinct_senders)
{
    struct top_reading a;
    struct top_view v;

    reading(&a, 0, 0, 3, 0, 0, 0, 0);
    top_view_compute(&v, NULL, &a, TOP_SORT_SERIES);
    cr_assert_eq(v.nreasons, 2, "bad_value is 0: not listed");
    cr_assert_str_eq(v.reasons[0].reason, "unknown_family");
    cr_assert_eq(v.reasons[0].count, 3);
    cr_assert_str_eq(v.reasons[0].example, "nope:1|c", "the newest");
    cr_assert_eq(v.reasons[0].nsenders, 2, "pid 7 twice is one sender");
    cr_assert_str_eq(v.reasons[0].senders[0], "pid 7 uid 1000");
    cr_assert_str_eq(v.reasons[0].senders[1], "pid 8 uid 0");
    cr_assert_str_eq(v.reasons[1].senders[0], "127.0.0.1:5000", "UDP: its source");
    cr_assert_eq(v.nrejects, 4);
    cr_assert_str_eq(v.rejects[1].line, "alpha_total:1|c|#x:y");
    cr_assert_str_eq(v.rejects[1].sender, "127.0.0.1:5000");
    cr_assert_float_eq(v.rejects[3].age_seconds, 3.0, 1e-9, "1056, against the newest 1059");
    top_view_release(&v);
    top_reading_release(&a);
}

Test(topmodel, the_loop_over_the_interval_mean_and_99th_percentile_bucket)
{
    struct top_reading a, b;
    struct top_view v;

    reading(&a, 0, 0, 0, 0, 0, 1000, 500); /* half of the first turns were slow */
    reading(&b, 1000, 0, 0, 0, 0, 2000, 500);
    top_view_compute(&v, &a, &b, TOP_SORT_SERIES);
    cr_assert_eq(v.loop_turns, 2000);
    cr_assert_float_eq(v.loop_mean_ms, 0.5, 1e-6, "the last 1000 turns, all fast");
    cr_assert_float_eq(v.loop_p99_ms, 1.0, 1e-9);
    top_view_release(&v);

    top_view_compute(&v, NULL, &a, TOP_SORT_SERIES);
    cr_assert_float_eq(v.loop_mean_ms, 2.75, 1e-6, "all time: half at 0.5 ms, half at 5");
    cr_assert_float_eq(v.loop_p99_ms, 10.0, 1e-9);
    top_view_release(&v);
    top_reading_release(&a);
    top_reading_release(&b);
}

Test(topmodel, jobs_snapshots_and_the_global_series)
{
    struct top_reading a;
    struct top_view v;

    reading(&a, 0, 0, 0, 0, 0, 0, 0);
    top_view_compute(&v, NULL, &a, TOP_SORT_SERIES);
    cr_assert_eq(v.njobs, 1);
    cr_assert_str_eq(v.jobs[0].job, "mailer");
    cr_assert_str_eq(v.jobs[0].state, "open");
    cr_assert_eq(v.jobs[0].consecutive_failures, 2);
    cr_assert_eq(v.jobs[0].openings, 1);
    cr_assert(v.snapshots_on);
    cr_assert_eq(v.snapshots_ok, 4);
    cr_assert_eq(v.snapshots_failed, 1);
    cr_assert_float_eq(v.snapshot_age_seconds, 10.0, 1e-9, "1060 by the daemon's clock");
    cr_assert_eq(v.series, 5);
    cr_assert_eq(v.series_limit, 10);
    cr_assert_str_eq(v.version, "0.1.0");
    top_view_release(&v);
    top_reading_release(&a);
}

Test(topmodel, a_document_that_is_not_the_debug_view_is_refused)
{
    struct top_reading r;
    char err[256];
    const char *bad = "{\"schema\": 1, \"error\": \"unknown section\"}";

    cr_assert_neq(top_reading_parse(&r, "nope", 4, 0, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "not JSON"), "%s", err);
    cr_assert_neq(top_reading_parse(&r, "[1]", 3, 0, err, sizeof(err)), 0);
    cr_assert_neq(top_reading_parse(&r, bad, strlen(bad), 0, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "unknown section"), "%s", err);
    cr_assert_null(r.doc);
}

Test(topmodel, an_empty_document_gives_an_empty_view)
{
    struct top_reading r;
    struct top_view v;
    char err[64];

    cr_assert_eq(top_reading_parse(&r, "{}", 2, 5, err, sizeof(err)), 0);
    top_view_compute(&v, NULL, &r, TOP_SORT_NAME);
    cr_assert_eq(v.nfamilies, 0);
    cr_assert_eq(v.nreasons, 0);
    cr_assert_eq(v.ncaps, 1, "the global cap, of 0");
    cr_assert_eq(v.loop_mean_ms, -1);
    cr_assert_not(v.snapshots_on);
    top_view_release(&v);
    top_reading_release(&r);
}

Test(topmodel, line_names_fold_dots_and_dashes)
{
    char name[16];

    top_line_name("http.requests-total:1|c", name, sizeof(name));
    cr_assert_str_eq(name, "http_requests_t", "cut to the buffer");
    top_line_name("a.b|c", name, sizeof(name));
    cr_assert_str_eq(name, "a_b");
}
