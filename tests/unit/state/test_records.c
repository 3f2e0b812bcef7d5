/*
 * The state file's records: a registry and its jobs dumped a slice at a time and put back
 * into a fresh registry read the same in every exposition, carries and creation times
 * included; what the running config no longer takes is dropped by reason; a body that
 * does not parse changes nothing.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "state/records.h"
#include "base/expo.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "expose/render.h"
#include "statsd.h"
#include "records_fixture.h"

static const char base[] =
    "{\"limits\": {\"max_series\": 40, \"max_series_per_family\": 10},"
    " \"jobs\": {\"prefix\": \"job\", \"list\": [{\"name\": \"mail\", \"failure_threshold\": 2,"
    "            \"open_seconds\": 30}, \"thumbs\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"status_code\", \"max_values\": 3}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"updown\": true, \"ttl_seconds\": 60,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 0.5, 1],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"}"
    " ]}";

/* Everything a scrape shows of the world, in OpenMetrics (creation times included). */
static char *scrape(struct world *w, uint64_t now)
{
    struct buf out = BUF_INIT;
    struct render rd;
    struct expo e;

    render_init(&rd, &w->reg, EXPO_OPENMETRICS);
    while (render_step(&rd, &out, 1000, now))
        ;
    render_release(&rd);
    expo_init(&e, &out, EXPO_OPENMETRICS);
    jobs_render(&w->jobs, &e, now);
    buf_addch(&out, '\0');
    return out.ptr;
}

static void fill(struct world *w)
{
    feed(w, "requests:3|c|#method:GET,status_code:200", 1000);
    feed(w, "requests:1|c|@0.25|#method:POST,status_code:500", 1000);
    feed(w, "queue_depth:+5|g|#queue:mail", 1000);
    feed(w, "queue_depth:-2|g|#queue:mail", 1000);
    feed(w, "latency_seconds:0.2:0.7:3|h|@0.3|#route:/a", 1000);
    feed(w, "latency_seconds:0.05|h|#route:/b", 1000);
    feed(w, "uploads:7|c", 1000);
    feed(w, "mail:error|j", 1000);
    feed(w, "mail:error|j", 2000); /* the breaker opens at 2 s */
    feed(w, "thumbs:worked|j", 1500);
}

Test(records, a_restored_world_reads_as_the_dumped_one_in_every_slice_size)
{
    static const size_t slices[] = { 1, 2, 3, 1000 };

    for (size_t i = 0; i < sizeof slices / sizeof slices[0]; i++) {
        struct world a, b;
        struct records_restored got;
        struct buf body = BUF_INIT;
        char *want, *have;

        world_init(&a, base);
        fill(&a);
        records_all(&a, &body, slices[i], 5000);
        want = scrape(&a, 5000);

        world_init(&b, base);
        /* Restored with no time away, at the same monotonic time: the same scrape. */
        restore(&b, &body, 5000, 1700000200000ull, &got);
        cr_assert_eq(got.series, registry_series_total(&a.reg));
        cr_assert_eq(got.jobs, 2);
        cr_assert_eq(got.saved_unix_ms, 1700000200000ull);
        for (size_t d = 0; d < RECORDS_DROP_MAX; d++)
            cr_assert_eq(got.dropped[d], 0, "%s", records_drop_name((enum records_drop)d));
        have = scrape(&b, 5000);
        cr_assert_str_eq(have, want, "slice %zu", slices[i]);
        cr_assert_not_null(
            strstr(have, "job_circuit_state{job=\"mail\",job_circuit_state=\"open\"} 1"), "%s",
            have);

        /* The restored series go on from where they were. */
        feed(&b, "requests:2|c|#method:GET,status_code:200", 6000);
        feed(&b, "queue_depth:-1|g|#queue:mail", 6000);
        free(have);
        have = scrape(&b, 6000);
        cr_assert_not_null(strstr(have, "requests_total{method=\"GET\",status_code=\"200\"} 5\n"),
                           "%s", have);
        cr_assert_not_null(strstr(have, "queue_depth{queue=\"mail\"} 2\n"), "%s", have);
        free(want);
        free(have);
        buf_release(&body);
        world_release(&a);
        world_release(&b);
    }
}

Test(records, time_away_runs_on_breakers_half_open_and_idle_series_expire)
{
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;
    char *have;

    world_init(&a, base);
    fill(&a);
    records_all(&a, &body, 100, 20000); /* mail opened at 2 s: open 18 s of 30 */
    world_init(&b, base);
    /* 70 s away: the breaker's 30 s ran out 12 s after the dump; the gauge idled 19 + 70 s. */
    restore(&b, &body, 100000, 1700000200000ull + 70000, &got);
    cr_assert_eq(got.dropped[RECORDS_DROP_EXPIRED], 1, "the queue gauge (ttl 60 s)");
    have = scrape(&b, 100000);
    cr_assert_not_null(
        strstr(have, "job_circuit_state{job=\"mail\",job_circuit_state=\"half_open\"} 1"), "%s",
        have);
    /* Half-open since 12 s after the dump (which was at 70 s before now): 58 s. */
    cr_assert_not_null(strstr(have, "job_circuit_state_seconds{job=\"mail\"} 58\n"), "%s", have);
    cr_assert_null(strstr(have, "queue_depth{"), "%s", have);
    cr_assert_not_null(strstr(have, "uploads_total 7\n"), "%s", have);
    free(have);
    buf_release(&body);
    world_release(&a);
    world_release(&b);
}

Test(records, what_the_running_config_no_longer_takes_is_dropped_by_reason)
{
    /* latency's buckets changed, queue_depth is gone, requests lost the POST value, a
     * capped key's cap fell to 1, thumbs left the jobs; uploads is kept. */
    static const char next[] =
        "{\"limits\": {\"max_series\": 40, \"max_series_per_family\": 10},"
        " \"jobs\": {\"prefix\": \"job\", \"list\": [\"mail\"]},"
        " \"families\": ["
        "  {\"name\": \"requests\", \"type\": \"counter\","
        "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\"]},"
        "              {\"name\": \"status_code\", \"max_values\": 3}]},"
        "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 1],"
        "   \"labels\": [{\"name\": \"route\", \"max_values\": 1}]},"
        "  {\"name\": \"errors\", \"type\": \"counter\","
        "   \"labels\": [{\"name\": \"route\", \"max_values\": 1}]},"
        "  {\"name\": \"uploads\", \"type\": \"counter\"}"
        " ]}";
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;
    char *have;

    world_init(&a, base);
    fill(&a);
    records_all(&a, &body, 100, 5000);
    world_init(&b, next);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.dropped[RECORDS_DROP_LAYOUT_CHANGED], 2 + 2, "requests (2), latency (2)");
    cr_assert_eq(got.dropped[RECORDS_DROP_UNKNOWN_FAMILY], 1, "queue_depth");
    cr_assert_eq(got.dropped[RECORDS_DROP_UNKNOWN_JOB], 1, "thumbs");
    cr_assert_eq(got.series, 1);
    cr_assert_eq(got.jobs, 1);
    have = scrape(&b, 5000);
    cr_assert_not_null(strstr(have, "uploads_total 7\n"), "%s", have);
    free(have);
    buf_release(&body);
    world_release(&b);

    /* A cap that fell below the series saved: the first ones fit, the rest are dropped. */
    static const char capped[] =
        "{\"limits\": {\"max_series\": 40, \"max_series_per_family\": 1},"
        " \"families\": ["
        "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 0.5, 1],"
        "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]}"
        " ]}";
    buf_init(&body);
    records_all(&a, &body, 100, 5000);
    world_init(&b, capped);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 1);
    cr_assert_eq(got.dropped[RECORDS_DROP_SERIES_CAP], 1);
    cr_assert_eq(got.dropped[RECORDS_DROP_UNKNOWN_FAMILY], 4, "requests 2, queue 1, uploads 1");
    buf_release(&body);
    world_release(&a);
    world_release(&b);
}

Test(records, an_enumerated_key_that_gained_a_value_keeps_its_series)
{
    static const char more[] =
        "{\"limits\": {\"max_series\": 40, \"max_series_per_family\": 10},"
        " \"families\": ["
        "  {\"name\": \"requests\", \"type\": \"counter\","
        "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\", \"PUT\"]},"
        "              {\"name\": \"status_code\", \"max_values\": 3}]}"
        " ]}";
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;

    world_init(&a, base);
    fill(&a);
    records_all(&a, &body, 100, 5000);
    world_init(&b, more);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 2);
    cr_assert_eq(got.dropped[RECORDS_DROP_LAYOUT_CHANGED], 0);
    buf_release(&body);
    world_release(&a);
    world_release(&b);
}

/* A body cut anywhere, or with a record changed, is refused whole: nothing restored. */
Test(records, a_body_that_does_not_parse_changes_nothing)
{
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;
    char err[256], *fresh, *have;

    world_init(&a, base);
    fill(&a);
    records_all(&a, &body, 100, 5000);
    world_init(&b, base);
    fresh = scrape(&b, 5000);
    for (size_t cut = 0; cut < body.len; cut++) {
        err[0] = '\0';
        cr_assert_eq(records_restore(&b.reg, &b.jobs, body.ptr, cut, 5000, 1700000200000ull, &got,
                                     err, sizeof err),
                     ERRCODE_FORMAT, "cut at %zu", cut);
        cr_assert_neq(err[0], '\0');
    }
    /* An unknown record, and bytes after the end record. */
    body.ptr[body.len - 4] = 'Z';
    cr_assert_eq(records_restore(&b.reg, &b.jobs, body.ptr, body.len, 5000, 1700000200000ull, &got,
                                 err, sizeof err),
                 ERRCODE_FORMAT);
    cr_assert_not_null(strstr(err, "unknown record 0x5a"), "%s", err);
    have = scrape(&b, 5000);
    cr_assert_str_eq(have, fresh);
    free(have);
    free(fresh);
    buf_release(&body);
    world_release(&a);
    world_release(&b);
}

Test(records, a_series_twice_in_a_file_is_restored_once)
{
    static const char one[] = "{\"families\": [{\"name\": \"uploads\", \"type\": \"counter\"}]}";
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT, twice = BUF_INIT;
    size_t f = 1, e;

    world_init(&a, one);
    feed(&a, "uploads:7|c", 1000);
    records_all(&a, &body, 100, 5000);
    /* 'M' u | 'F' ... 'S' ... | 'E' 1 1 0: the family and its series twice. */
    while ((unsigned char)body.ptr[f] & 0x80)
        f++;
    f++;
    e = body.len - 4;
    cr_assert_eq(body.ptr[f], 'F');
    cr_assert_eq(memcmp(body.ptr + e, "E\x01\x01\x00", 4), 0);
    buf_add(&twice, body.ptr, e);
    buf_add(&twice, body.ptr + f, e - f);
    buf_add(&twice, "E\x02\x02\x00", 4);
    world_init(&b, one);
    restore(&b, &twice, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 1);
    cr_assert_eq(got.dropped[RECORDS_DROP_DUPLICATE], 1);
    buf_release(&body);
    buf_release(&twice);
    world_release(&a);
    world_release(&b);
}

/* ---- summaries ---- */

static const char summaries[] =
    "{\"families\": ["
    "  {\"name\": \"rpc_seconds\", \"type\": \"summary\", \"max_age\": 60, \"age_buckets\": 3,"
    "   \"quantiles\": {\"0\": 0, \"0.5\": 0.05, \"0.9\": 0.01, \"1\": 0},"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},"
    "  {\"name\": \"never_seconds\", \"type\": \"summary\"},"
    "  {\"name\": \"bare_seconds\", \"type\": \"summary\", \"quantiles\": {}}"
    " ]}";

/* Observations over 50 s: two of the three streams saw a rotation. */
static void fill_summaries(struct world *w)
{
    char line[96];

    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, "rpc_seconds:%d|ms|@0.5|#method:GET", (i * 37) % 1000);
        feed(w, line, 1000 + (uint64_t)i * 16);
    }
    feed(w, "rpc_seconds:0.125:0.25:0.5|h|#method:POST", 1000);
    feed(w, "bare_seconds:3|d", 1000);
}

Test(records, a_summary_comes_back_with_its_windows_and_goes_on_alike)
{
    static const size_t slices[] = { 1, 1000 };

    for (size_t i = 0; i < sizeof slices / sizeof slices[0]; i++) {
        struct world a, b;
        struct records_restored got;
        struct buf body = BUF_INIT;
        char *want, *have;

        world_init(&a, summaries);
        fill_summaries(&a);
        records_all(&a, &body, slices[i], 50000);
        world_init(&b, summaries);
        restore(&b, &body, 50000, 1700000200000ull, &got);
        cr_assert_eq(got.series, 4);
        cr_assert_eq(got.dropped[RECORDS_DROP_BAD_VALUE], 0);
        want = scrape(&a, 50000);
        have = scrape(&b, 50000);
        cr_assert_str_eq(have, want);
        cr_assert_not_null(strstr(have, "rpc_seconds_count{method=\"GET\"} 6000\n"), "%s", have);
        free(want);
        free(have);
        /* The same observations and reads after: the same answers, rotations included. */
        for (uint64_t t = 60000; t <= 150000; t += 30000) {
            feed(&a, "rpc_seconds:250|ms|#method:GET", t);
            feed(&b, "rpc_seconds:250|ms|#method:GET", t);
            want = scrape(&a, t);
            have = scrape(&b, t);
            cr_assert_str_eq(have, want, "at %llu ms", (unsigned long long)t);
            free(want);
            free(have);
        }
        buf_release(&body);
        world_release(&a);
        world_release(&b);
    }
}

Test(records, a_summary_window_runs_on_across_the_time_away)
{
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;
    char *have;

    world_init(&a, summaries);
    fill_summaries(&a);
    records_all(&a, &body, 100, 50000);
    /* A minute away: every observation has left its window, the counts stay. */
    world_init(&b, summaries);
    restore(&b, &body, 7, 1700000200000ull + 60000, &got);
    cr_assert_eq(got.series, 4);
    have = scrape(&b, 7);
    cr_assert_not_null(strstr(have, "rpc_seconds{method=\"GET\",quantile=\"0.5\"} NaN\n"), "%s",
                       have);
    cr_assert_not_null(strstr(have, "rpc_seconds_count{method=\"GET\"} 6000\n"), "%s", have);
    cr_assert_not_null(strstr(have, "bare_seconds_sum 3\n"), "%s", have);
    free(have);
    world_release(&b);
    /* A second away, at a monotonic clock that started again: the window is still there. */
    world_init(&b, summaries);
    restore(&b, &body, 7, 1700000200000ull + 1000, &got);
    have = scrape(&b, 7);
    cr_assert_not_null(strstr(have, "rpc_seconds{method=\"POST\",quantile=\"0.5\"} 0.25\n"), "%s",
                       have);
    free(have);
    buf_release(&body);
    world_release(&a);
    world_release(&b);
}

Test(records, a_summary_whose_quantiles_or_windows_changed_is_dropped)
{
    static const char *const changed[] = {
        "{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"summary\", \"max_age\": 60,"
        " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}]}",
        "{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"summary\", \"max_age\": 60,"
        " \"age_buckets\": 3, \"quantiles\": {\"0\": 0, \"0.5\": 0.05, \"0.9\": 0.02, \"1\": 0},"
        " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}]}",
        "{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"summary\", \"max_age\": 30,"
        " \"age_buckets\": 3, \"quantiles\": {\"0\": 0, \"0.5\": 0.05, \"0.9\": 0.01, \"1\": 0},"
        " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}]}",
        "{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"histogram\","
        " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}]}",
    };
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;

    world_init(&a, summaries);
    fill_summaries(&a);
    records_all(&a, &body, 100, 50000);
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        world_init(&b, changed[i]);
        restore(&b, &body, 50000, 1700000200000ull, &got);
        cr_assert_eq(got.series, 0, "%s", changed[i]);
        cr_assert_eq(got.dropped[RECORDS_DROP_LAYOUT_CHANGED], 2, "%s", changed[i]);
        world_release(&b);
    }
    buf_release(&body);
    world_release(&a);
}

/* Where the bytes of d first occur in body at or after from, or SIZE_MAX. */
static size_t find_double(const struct buf *body, size_t from, double d)
{
    for (size_t i = from; i + sizeof d <= body->len; i++)
        if (memcmp(body->ptr + i, &d, sizeof d) == 0)
            return i;
    return SIZE_MAX;
}

/* A damaged summary is never trusted: refused whole, or its series dropped as a bad value. */
Test(records, a_damaged_summary_is_refused)
{
    static const double quarter = 0.25, late = 0.75, one = 1.0;
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT, big = BUF_INIT;
    char err[256], *fresh, *have;
    size_t at, n = 0;

    world_init(&a, summaries);
    feed(&a, "rpc_seconds:0.125:0.25:0.5|h|#method:POST", 1000);
    records_all(&a, &body, 100, 5000);
    world_init(&b, summaries);
    fresh = scrape(&b, 5000);
    for (size_t cut = 0; cut < body.len; cut++)
        cr_assert_eq(records_restore(&b.reg, &b.jobs, body.ptr, cut, 5000, 1700000200000ull, &got,
                                     err, sizeof err),
                     ERRCODE_FORMAT, "cut at %zu", cut);
    have = scrape(&b, 5000);
    cr_assert_str_eq(have, fresh);
    free(have);

    /* A stream of 2049 tuples, past the cap: refused before anything is allocated. */
    /* The first stream's slack, 1, then its tuple count, 3 (a quantile 1 comes before). */
    for (at = find_double(&body, 0, one); at != SIZE_MAX && body.ptr[at + 8] != 3;)
        at = find_double(&body, at + 1, one);
    cr_assert_neq(at, SIZE_MAX);
    buf_add(&big, body.ptr, at + 8);
    buf_add(&big, "\x81\x10", 2);
    buf_add(&big, body.ptr + at + 9, body.len - at - 9);
    cr_assert_eq(records_restore(&b.reg, &b.jobs, big.ptr, big.len, 5000, 1700000200000ull, &got,
                                 err, sizeof err),
                 ERRCODE_FORMAT);
    cr_assert_not_null(strstr(err, "2049 tuples (at most 1024)"), "%s", err);

    /* The middle value moved past the maximum in every stream: out of order, not trusted. */
    while ((at = find_double(&body, n, quarter)) != SIZE_MAX) {
        memcpy(body.ptr + at, &late, sizeof late);
        n = at + 1;
    }
    cr_assert_gt(n, 0);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 2, "the zero series of never_seconds and bare_seconds");
    cr_assert_eq(got.dropped[RECORDS_DROP_BAD_VALUE], 1);
    have = scrape(&b, 5000);
    cr_assert_null(strstr(have, "method=\"POST\""), "%s", have);
    free(have);
    free(fresh);
    buf_release(&body);
    buf_release(&big);
    world_release(&a);
    world_release(&b);
}

/*
 * A gauge "x" beside a counter "x_total" (config_family.total_in_name): each is saved and
 * restored under its own stored name. Where the running config has the counter alone
 * (stored "x"), neither record is taken for it: the gauge's "x" is of another type, and
 * "x_total" finds counter "x" only by the name lines add "_total" to, not by its own.
 */
Test(records, a_gauge_and_a_counter_named_with_total_are_restored_apart)
{
    static const char pair[] = "{\"families\": [{\"name\": \"alloc_bytes\", \"type\": \"gauge\"},"
                               " {\"name\": \"alloc_bytes_total\", \"type\": \"counter\"}]}";
    static const char alone[] =
        "{\"families\": [{\"name\": \"alloc_bytes_total\", \"type\": \"counter\"}]}";
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;
    char *want, *have;

    world_init(&a, pair);
    feed(&a, "alloc_bytes:7|g", 1000);
    feed(&a, "alloc_bytes_total:5|c", 1000);
    records_all(&a, &body, 1, 5000);
    want = scrape(&a, 5000);
    cr_assert_not_null(strstr(want, "\nalloc_bytes 7\n"), "%s", want);
    cr_assert_not_null(strstr(want, "\nalloc_bytes_total 5\n"), "%s", want);

    world_init(&b, pair);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 2);
    have = scrape(&b, 5000);
    cr_assert_str_eq(have, want);
    free(have);
    world_release(&b);

    world_init(&b, alone);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 0);
    cr_assert_eq(
        got.dropped[RECORDS_DROP_LAYOUT_CHANGED] + got.dropped[RECORDS_DROP_UNKNOWN_FAMILY], 2);
    have = scrape(&b, 5000);
    cr_assert_not_null(strstr(have, "\nalloc_bytes_total 0\n"), "%s", have);
    free(have);
    free(want);
    buf_release(&body);
    world_release(&a);
    world_release(&b);
}

Test(records, remote_write_marks_come_back_and_a_file_without_them_has_none)
{
    struct records_marks marks = { 2, { { "central", 1700000190000ll }, { "edge.eu-1", 15000 } } };
    struct records_restored got;
    struct records_writer d;
    struct buf body = BUF_INIT;
    struct world a, b;

    world_init(&a, base);
    fill(&a);
    records_begin(&d, &a.reg, &a.jobs, 1700000200000ull, &body);
    records_set_marks(&d, &marks);
    while (records_step(&d, &body, 2, 5000))
        ;
    records_end(&d);
    world_init(&b, base);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.series, registry_series_total(&a.reg), "the marks change nothing else");
    cr_assert_eq(got.marks.n, 2);
    cr_assert_str_eq(got.marks.m[0].name, "central");
    cr_assert_eq(got.marks.m[0].ms, 1700000190000ll);
    cr_assert_str_eq(got.marks.m[1].name, "edge.eu-1");
    cr_assert_eq(got.marks.m[1].ms, 15000);
    world_release(&b);

    buf_reset(&body);
    records_all(&a, &body, 1000, 5000);
    world_init(&b, base);
    restore(&b, &body, 5000, 1700000200000ull, &got);
    cr_assert_eq(got.marks.n, 0);
    buf_release(&body);
    world_release(&a);
    world_release(&b);
}
