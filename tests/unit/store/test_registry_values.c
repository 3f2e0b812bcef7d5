/*
 * What an accepted line does to the registry's series: counters add value over rate,
 * gauges set or move, labels in any order make one series, label-less series exist from
 * the start, label values are counted and listed, and a line for an existing series
 * allocates nothing.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "registry_fixture.h"

Test(registry, counters_add_value_over_rate, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed("requests:1|c|@0.1|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests_total:2.5|c|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:3|c|@0.5|#method:GET"), STATSD_OK);
    cr_assert_float_eq(value_of(F_REQUESTS, "method=GET"), 1 / 0.1 + 2.5 + 6, 1e-9);
    cr_assert_eq(feed("uploads:0|c"), STATSD_OK);
    cr_assert_eq(value_of(F_UPLOADS, ""), 0);
}

/* The up-down gauge of the fixture: a sign moves the value (etsy statsd). */
Test(registry, gauges_set_or_add_when_relative, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed("queue_depth:5|g|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 5);
    cr_assert_eq(feed("queue_depth:+3|g|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 8);
    cr_assert_eq(feed("queue_depth:-10|g|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), -2);
    cr_assert_eq(feed("queue_depth:4|g|@0.5|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 4);
    /* A relative first update starts from zero. */
    cr_assert_eq(feed("queue_depth:-1|g|#queue:b"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=b"), -1);
}

/*
 * DogStatsD's gauge: a signed value sets it, through the full parse and through the front
 * cache alike; only a family declared up-down adds. After 0, -4, -4 an absolute gauge
 * reads -4 and an up-down one -8.
 */
Test(registry, a_signed_gauge_sets_unless_the_family_is_up_down, .fini = teardown)
{
    static const char *const seq[] = { "0", "-4", "-4", "+3" };
    static const double absolute[] = { 0, -4, -4, 3 }, updown[] = { 0, -4, -8, -5 };
    const char *names[] = { "temperature", "in_flight" };

    load("{\"families\": [{\"name\": \"temperature\", \"type\": \"gauge\"},"
         " {\"name\": \"in_flight\", \"type\": \"gauge\", \"updown\": true}]}");
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < 4; i++) {
            char line[64];
            int rc;

            snprintf(line, sizeof(line), "%s:%s|g", names[f], seq[i]);
            rc = registry_apply_raw(&reg, line, strlen(line), 1000);
            if (rc == REGISTRY_MISS)
                rc = feed(line);
            cr_assert_eq(rc, STATSD_OK, "%s", line);
            cr_assert_float_eq(value_of(f, ""), f == 0 ? absolute[i] : updown[i], 1e-9, "%s", line);
        }
    }
}

Test(registry, labels_in_any_order_make_one_series, .init = setup, .fini = teardown)
{
    struct registry_sample s;

    cr_assert_eq(feed("requests:1|c|#status_code:200,method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#status-code:200,method:GET"), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, F_REQUESTS), 1);
    cr_assert(find(F_REQUESTS, "method=GET,status_code=200", &s));
    cr_assert_eq(s.value, 3);
    cr_assert_eq(s.last_update_ms, 1000);
    /* Absent labels (no tag or a bare tag) are a different series, omitted when printed. */
    cr_assert_eq(feed("requests:1|c|#status_code,method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, F_REQUESTS), 2);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET"), 2);
}

Test(registry, label_less_counters_and_histograms_exist_from_start, .init = setup, .fini = teardown)
{
    struct registry_sample s;

    /* uploads (counter) and proc_ms (histogram); not the excluded ml_infer_ms. */
    cr_assert_eq(registry_series_total(&reg), 2);
    cr_assert(find(F_UPLOADS, "", &s));
    cr_assert_eq(s.value, 0);
    cr_assert_eq(s.last_update_ms, 0);
    cr_assert(find(F_PROC, "", &s));
    cr_assert_eq(s.count, 0);
    cr_assert_not(find(F_ML, "", &s));
    /* They never expire. */
    cr_assert_eq(registry_expire(&reg, UINT64_MAX / 2, 1000), 0);
    cr_assert_eq(registry_series_total(&reg), 2);
}

Test(registry, label_values_are_counted_and_listed, .init = setup, .fini = teardown)
{
    const char *v;
    size_t it = 0, len, n = 0;

    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:POST,status_code:200"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#status_code:404"), STATSD_OK);
    cr_assert_eq(registry_label_values(&reg, F_REQUESTS, 0), 2);
    cr_assert_eq(registry_label_values(&reg, F_REQUESTS, 1), 2);
    while (registry_label_value_next(&reg, F_REQUESTS, 1, &it, &v, &len)) {
        cr_assert(len == 3 && (memcmp(v, "200", 3) == 0 || memcmp(v, "404", 3) == 0));
        n++;
    }
    cr_assert_eq(n, 2);
}

/*
 * The ingest promise: an accepted line for an existing series allocates nothing. The
 * registry's own accounting must not move, and neither may glibc's count of bytes in
 * use (mallinfo2). Under ASan, whose allocator mallinfo2 does not see, only the first
 * check bites; the release build runs both.
 */
Test(registry, accepted_lines_for_existing_series_allocate_nothing, .init = setup, .fini = teardown)
{
    struct statsd_line l[4];
    struct mallinfo2 before, after;
    size_t mem, i;
    int k;
    static const char *const lines[] = {
        "requests:1|c|#method:GET,status_code:200",
        "queue_depth:+1|g|#queue:mail",
        "latency_seconds:0.2:0.7|ms|@0.5|#route:/a",
        "proc_ms:12|ms",
    };

    for (i = 0; i < 4; i++) {
        cr_assert_eq(statsd_parse_line(lines[i], strlen(lines[i]), &l[i]), STATSD_OK);
        cr_assert_eq(registry_apply(&reg, &l[i], 1000), STATSD_OK, "%s", lines[i]);
    }
    mem = registry_memory(&reg);
    before = mallinfo2();
    for (k = 0; k < 100000; k++) {
        for (i = 0; i < 4; i++) {
            cr_assert_eq(statsd_parse_line(lines[i], strlen(lines[i]), &l[i]), STATSD_OK);
            cr_assert_eq(registry_apply(&reg, &l[i], 1000 + (uint64_t)k), STATSD_OK);
        }
    }
    after = mallinfo2();
    cr_assert_eq(registry_memory(&reg), mem);
    cr_assert_eq(after.uordblks, before.uordblks, "heap in use moved from %zu to %zu bytes",
                 before.uordblks, after.uordblks);
    cr_assert_float_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 100001, 1e-9);
}
