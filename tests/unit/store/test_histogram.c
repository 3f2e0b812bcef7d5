#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/histogram.h"
#include "registry_fixture.h"

/* The bucket a plain scan finds: the first bound >= v, n for +Inf. */
static size_t scan_bucket(const double *bounds, size_t n, double v)
{
    size_t i = 0;

    while (i < n && v > bounds[i])
        i++;
    return i;
}

/*
 * histogram_bucket() against a plain scan, for every count of bounds up to 40 (both
 * searches), at each bound, between bounds and beyond both ends.
 */
Test(histogram, bucket_is_the_first_bound_not_below_the_value)
{
    double bounds[40];

    for (size_t n = 0; n <= 40; n++) {
        for (size_t i = 0; i < n; i++)
            bounds[i] = (double)i * 1.5 - 3;
        for (double v = -5; v <= 60; v += 0.25)
            cr_assert_eq(histogram_bucket(bounds, n, v), scan_bucket(bounds, n, v),
                         "%zu bounds, value %g", n, v);
        cr_assert_eq(histogram_bucket(bounds, n, (double)INFINITY), n);
        cr_assert_eq(histogram_bucket(bounds, n, -(double)INFINITY), 0);
        cr_assert_eq(histogram_bucket(bounds, n, (double)NAN), 0);
    }
}

/* A plan changes nothing until it is committed; unsampled values count 1 each. */
Test(histogram, plan_then_commit_counts_each_value)
{
    static const double bounds[] = { 0.1, 0.5, 1 };
    static const double values[] = { 100, 500, 2000, 50 };
    union {
        struct histogram h;
        unsigned char bytes[256];
    } block;
    struct histogram_update u;
    double sum = 1;

    cr_assert_leq(histogram_size(3), sizeof block);
    memset(&block, 0, sizeof block);
    histogram_plan(&block.h, bounds, 3, values, 4, 1000.0, 1.0, &sum, &u);
    cr_assert_eq(block.h.count, 0, "planning changed the histogram");
    cr_assert_float_eq(sum, 1 + 0.1 + 0.5 + 2 + 0.05, 1e-12);
    cr_assert_eq(u.carries, 0, "an unsampled plan left a carry");
    histogram_commit(&block.h, 3, &u, 4, 1.0);
    cr_assert_null(block.h.carry);
    cr_assert_eq(block.h.count, 4);
    cr_assert_eq(block.h.b[0], 2);
    cr_assert_eq(block.h.b[1], 1);
    cr_assert_eq(block.h.b[2], 0);
    cr_assert_eq(block.h.b[3], 1);
}

/* Sampled at 0.4, each observation weighs 2.5: the carries keep the counts exact. */
Test(histogram, sampled_counts_carry_their_fractions)
{
    static const double bounds[] = { 1 };
    static const double one[] = { 0.5 };
    union {
        struct histogram h;
        unsigned char bytes[64];
    } block;
    struct histogram_update u;
    double sum = 0, carries[2] = { 0, 0 };

    memset(&block, 0, sizeof block);
    for (int i = 1; i <= 100; i++) {
        histogram_plan(&block.h, bounds, 1, one, 1, 1.0, 0.4, &sum, &u);
        /* The owner gives the carries a block when the plan first leaves one. */
        cr_assert_eq(u.carries, i % 2 == 1, "after %d: carries %d", i, u.carries);
        if (u.carries)
            block.h.carry = carries;
        histogram_commit(&block.h, 1, &u, 1, 0.4);
        cr_assert_leq(fabs((double)block.h.b[0] - i * 2.5), 1.0, "after %d: %llu", i,
                      (unsigned long long)block.h.b[0]);
    }
    cr_assert_eq(block.h.b[0], 250);
    cr_assert_eq(block.h.count, 250);
    cr_assert_float_eq(sum, 100 * 0.5 / 0.4, 1e-9);
}

Test(histogram, histogram_buckets_include_their_bound, .init = setup, .fini = teardown)
{
    /* Bounds 0.1, 0.5, 1: ms lines become seconds, h and d lines are seconds already. */
    cr_assert_eq(feed("latency_seconds:100|ms|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:0.5|h|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:1|d|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:1.0000001|h|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:-3|h|#route:a"), STATSD_OK);
    {
        const uint64_t want[] = { 2, 1, 1, 1 };

        assert_hist(F_LATENCY, "route=a", want, 4, 0.1 + 0.5 + 1 + 1.0000001 - 3);
    }
}

Test(histogram, histogram_packed_values_are_observations, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed("latency_seconds:0.05:0.7:1:250|h|#route:p"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:50:700|ms|#route:p"), STATSD_OK);
    {
        const uint64_t want[] = { 2, 0, 3, 1 };

        assert_hist(F_LATENCY, "route=p", want, 4, 0.05 + 0.7 + 1 + 250 + 0.05 + 0.7);
    }
}

Test(histogram, histogram_in_ms_keeps_ms_lines, .init = setup, .fini = teardown)
{
    /* Bounds 10, 100 (ms): ms, h and d lines are all taken as milliseconds. */
    cr_assert_eq(feed("proc_ms:10|ms"), STATSD_OK);
    cr_assert_eq(feed("proc_ms:50|ms"), STATSD_OK);
    cr_assert_eq(feed("proc_ms:100|h"), STATSD_OK);
    cr_assert_eq(feed("proc.ms:5000|d"), STATSD_OK);
    {
        const uint64_t want[] = { 1, 2, 1 };

        assert_hist(F_PROC, "", want, 3, 10 + 50 + 100 + 5000);
    }
}

Test(histogram, weighted_counts_stay_integer_and_unbiased, .init = setup, .fini = teardown)
{
    const int n = 10000;
    struct registry_sample s;
    int i;

    for (i = 0; i < n; i++) {
        cr_assert_eq(feed("latency_seconds:0.2|h|@0.3|#route:w"), STATSD_OK);
        if (i % 997 == 0) {
            cr_assert(find(F_LATENCY, "route=w", &s));
            cr_assert_leq(fabs((double)s.count - (i + 1) / 0.3), 1.0, "after %d: %llu", i + 1,
                          (unsigned long long)s.count);
        }
    }
    cr_assert(find(F_LATENCY, "route=w", &s));
    cr_assert_leq(fabs((double)s.count - n / 0.3), 1.0, "count %llu", (unsigned long long)s.count);
    cr_assert_eq(s.buckets[1], s.count);
    /* _sum adds the exact weighted value. */
    cr_assert_float_eq(s.value, 0.2 * n / 0.3, 1e-6);
    /* Packed values are weighted each. */
    cr_assert_eq(feed("latency_seconds:0.05:0.05:0.05|ms|@0.5|#route:x"), STATSD_OK);
    {
        const uint64_t want[] = { 6, 0, 0, 0 };

        assert_hist(F_LATENCY, "route=x", want, 4, 0.00005 * 6);
    }
}

/*
 * Values that alternate between buckets: each bucket's count must follow its own
 * weighted count. With one carry per series, the fraction each observation leaves would
 * be counted by whichever bucket came next, and the buckets would drift apart.
 */
Test(histogram, weighted_counts_are_unbiased_per_bucket, .init = setup, .fini = teardown)
{
    struct registry_sample s;
    int i;

    for (i = 0; i < 1000; i++) {
        cr_assert_eq(feed("latency_seconds:0.001|h|@0.4|#route:alt"), STATSD_OK);
        cr_assert_eq(feed("latency_seconds:7|h|@0.4|#route:alt"), STATSD_OK);
    }
    cr_assert_eq(feed("latency_seconds:0.2:0.001:0.2|h|@0.4|#route:alt"), STATSD_OK);
    cr_assert(find(F_LATENCY, "route=alt", &s));
    /* Buckets 0.1, 0.5, 1, +Inf (per bucket, not cumulative). */
    cr_assert_leq(fabs((double)s.buckets[0] - 1001 / 0.4), 1.0, "%llu",
                  (unsigned long long)s.buckets[0]);
    cr_assert_leq(fabs((double)s.buckets[1] - 2 / 0.4), 1.0, "%llu",
                  (unsigned long long)s.buckets[1]);
    cr_assert_eq(s.buckets[2], 0);
    cr_assert_leq(fabs((double)s.buckets[3] - 1000 / 0.4), 1.0, "%llu",
                  (unsigned long long)s.buckets[3]);
    cr_assert_eq(s.count, s.buckets[0] + s.buckets[1] + s.buckets[3]);
    cr_assert_float_eq(s.value, (1001 * 0.001 + 1000 * 7 + 2 * 0.2) / 0.4, 1e-6);
}

/*
 * Every bound, and the values between them, of a few bucket counts on both sides of 16
 * (where the search changes), odd and even.
 */
Test(histogram, histogram_bucket_search_finds_every_bucket, .fini = teardown)
{
    static const int counts[] = { 1, 2, 12, 16, 17, 33 };

    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int nb = counts[c];
        char json[1024], line[64];
        size_t o = 0;
        uint64_t want[34] = { 0 };
        double sum = 0;

        if (c > 0)
            teardown();
        o += (size_t)snprintf(json + o, sizeof json - o,
                              "{\"families\": [{\"name\": \"sizes\", \"type\": \"histogram\","
                              " \"buckets\": [");
        for (int b = 1; b <= nb; b++)
            o += (size_t)snprintf(json + o, sizeof json - o, "%s%d", b > 1 ? ", " : "", b);
        snprintf(json + o, sizeof json - o, "]}]}");
        load(json);
        for (int k = 0; k <= 2 * nb + 1; k++) {
            double v = k / 2.0; /* 0, 0.5, 1, ..., nb + 0.5 */
            size_t b = v <= 1 ? 0 : (size_t)(v + 0.5) - 1;

            if (b > (size_t)nb)
                b = (size_t)nb;
            snprintf(line, sizeof line, "sizes:%g|h", v);
            cr_assert_eq(feed(line), STATSD_OK);
            want[b]++;
            sum += v;
        }
        assert_hist(0, "", want, (size_t)nb + 1, sum);
    }
}

/*
 * The carries of sampled observations lie in a block of their own, made at the first
 * sampled observation that leaves a fraction: a histogram never sampled (the usual one)
 * does without, and reads as all-zero carries.
 */
Test(histogram, carries_take_memory_only_once_sampled, .init = setup, .fini = teardown)
{
    struct registry_sample s;
    size_t before;

    cr_assert_eq(feed("latency_seconds:0.2|h|#route:plain"), STATSD_OK);
    before = registry_memory(&reg);
    cr_assert_eq(feed("latency_seconds:0.3|h|#route:plain"), STATSD_OK);
    /* A rate of 0.5 weighs 2: a whole count, no fraction left, no block. */
    cr_assert_eq(feed("latency_seconds:0.3|h|@0.5|#route:plain"), STATSD_OK);
    cr_assert_eq(registry_memory(&reg), before, "an unsampled histogram grew");
    cr_assert(find(F_LATENCY, "route=plain", &s));
    for (int i = 0; i < 4; i++)
        cr_assert_eq(s.carries[i], 0);
    cr_assert_eq(s.buckets[1], 4); /* 1 + 1 + a weight of 2 */
    /* A rate of 0.4 weighs 2.5: half a count is carried. */
    cr_assert_eq(feed("latency_seconds:0.3|h|@0.4|#route:plain"), STATSD_OK);
    cr_assert_eq(registry_memory(&reg), before + 4 * sizeof(double));
    cr_assert(find(F_LATENCY, "route=plain", &s));
    cr_assert_eq(s.buckets[1], 6); /* and 2 of 2.5 */
    cr_assert_float_eq(s.carries[1], 0.5, 1e-12);
    cr_assert_eq(s.carries[0], 0);
}
