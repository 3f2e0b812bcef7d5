/*
 * expo's numbers: values, sample values and histogram bounds as the text and OpenMetrics
 * formats write them (shortest round-trip, %g-like short forms, Go's le formatting).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/expo.h"

struct fmt_case {
    double v;
    char want[32];
};

static struct fmt_case fmt_cases[] = {
    { 0.0, "0" },
    { -0.0, "-0" },
    { 42, "42" },
    { -42, "-42" },
    { 1.5, "1.5" },
    { 0.1, "0.1" },
    { 0.30000000000000004, "0.30000000000000004" },
    { 1.0 / 3.0, "0.3333333333333333" },
    { 1e-5, "1e-05" },
    { 0.0001, "0.0001" },
    { 1.5e-7, "1.5e-07" },
    { 123456.789, "123456.789" },
    { 1000000, "1000000" },
    { 1e15 + 0.5, "1000000000000000.5" },
    { 9007199254740992.0, "9007199254740992" },
    { 9007199254740994.0, "9007199254740994" },
    { -9007199254740992.0, "-9007199254740992" },
    { 1e16, "1e+16" },
    { 1e20, "1e+20" },
    { 18446744073709551616.0, "1.8446744073709552e+19" },
    { 1.7976931348623157e308, "1.7976931348623157e+308" },
    { 2.2250738585072014e-308, "2.2250738585072014e-308" },
    { 1e-300, "1e-300" },
    { INFINITY, "+Inf" },
    { -INFINITY, "-Inf" },
    { NAN, "NaN" },
};

ParameterizedTestParameters(expo, formats_doubles)
{
    return cr_make_param_array(struct fmt_case, fmt_cases,
                               sizeof(fmt_cases) / sizeof(fmt_cases[0]));
}

ParameterizedTest(struct fmt_case *c, expo, formats_doubles)
{
    char out[32];
    size_t n = expo_format_double(out, c->v);

    cr_assert_str_eq(out, c->want);
    cr_assert_eq(n, strlen(c->want));
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void check_round_trip(double v, size_t (*fmt)(char[32], double))
{
    char out[32];
    size_t n = fmt(out, v);
    double back = strtod(out, NULL);

    cr_assert_lt(n, 32);
    cr_assert_eq(n, strlen(out));
    if (isnan(v)) {
        cr_assert(isnan(back), "%s", out);
        return;
    }
    cr_assert_eq(memcmp(&v, &back, sizeof(v)), 0, "%.17g -> %s -> %.17g", v, out, back);
}

Test(expo, random_doubles_round_trip_through_strtod)
{
    uint64_t seed = 0x9e3779b97f4a7c15u;

    for (int i = 0; i < 300000; i++) {
        uint64_t bits = xorshift64(&seed);
        double v;

        memcpy(&v, &bits, sizeof(v));
        check_round_trip(v, expo_format_double);
        check_round_trip(v, expo_format_le);
        /* Values that look like real metrics: integers and few-decimal fractions. */
        v = (double)(int64_t)(xorshift64(&seed) >> (xorshift64(&seed) % 64)) /
            pow(10, (double)(xorshift64(&seed) % 8));
        check_round_trip(v, expo_format_double);
        check_round_trip(v, expo_format_le);
    }
}

/*
 * Where %.15g round-trips and uses fixed notation, it is the shortest form, and both the
 * short-decimal fast path and the snprintf() path must print exactly that.
 */
Test(expo, short_values_print_like_percent_15g)
{
    uint64_t seed = 42;
    int compared = 0;

    for (int i = 0; i < 200000; i++) {
        double v = (double)(int64_t)(xorshift64(&seed) >> (12 + xorshift64(&seed) % 50)) /
                   pow(10, (double)(xorshift64(&seed) % 12));
        char want[40], got[32];

        if (i % 2)
            v = -v;
        if (fabs(v) < 1e-4 || fabs(v) >= 1e15)
            continue;
        snprintf(want, sizeof(want), "%.15g", v);
        if (strtod(want, NULL) != v)
            continue;
        expo_format_double(got, v);
        cr_assert_str_eq(got, want, "%.17g", v);
        compared++;
    }
    cr_assert_gt(compared, 100000);
}

struct le_case {
    double le;
    char want[32];
};

/* The examples of OpenMetrics 1.0 "Considerations: Canonical Numbers", verbatim. */
static struct le_case le_cases[] = {
    { 0.0, "0.0" },         { 0.001, "0.001" }, { 0.002, "0.002" }, { 0.01, "0.01" },
    { 0.1, "0.1" },         { 0.9, "0.9" },     { 0.95, "0.95" },   { 0.99, "0.99" },
    { 0.999, "0.999" },     { 1.0, "1.0" },     { 1.7, "1.7" },     { 10.0, "10.0" },
    { 1e-10, "1e-10" },     { 1e-09, "1e-09" }, { 1e-05, "1e-05" }, { 0.0001, "0.0001" },
    { 100000, "100000.0" }, { 1e+06, "1e+06" }, { 1e+10, "1e+10" }, { INFINITY, "+Inf" },
};

ParameterizedTestParameters(expo, openmetrics_le_is_canonical)
{
    return cr_make_param_array(struct le_case, le_cases, sizeof(le_cases) / sizeof(le_cases[0]));
}

ParameterizedTest(struct le_case *c, expo, openmetrics_le_is_canonical)
{
    struct buf b = BUF_INIT, want = BUF_INIT;
    struct expo e;

    expo_init(&e, &b, EXPO_OPENMETRICS);
    expo_family(&e, "h", EXPO_HISTOGRAM, NULL, NULL);
    buf_reset(&b);
    expo_bucket(&e, NULL, 0, c->le, 3);
    buf_addf(&want, "h_bucket{le=\"%s\"} 3\n", c->want);
    cr_assert_str_eq(b.ptr, want.ptr);
    buf_release(&want);
    buf_release(&b);
}

Test(expo, text_le_follows_go_formatting)
{
    struct buf b = BUF_INIT;
    struct expo e;
    const struct expo_label l = { "a", "x", 1 };

    expo_init(&e, &b, EXPO_TEXT);
    expo_family(&e, "h", EXPO_HISTOGRAM, NULL, NULL);
    expo_bucket(&e, &l, 1, 1, 0);
    expo_bucket(&e, &l, 1, 1e6, 1);
    expo_bucket(&e, &l, 1, INFINITY, 2);
    cr_assert_str_eq(b.ptr, "# TYPE h histogram\n"
                            "h_bucket{a=\"x\",le=\"1\"} 0\n"
                            "h_bucket{a=\"x\",le=\"1e+06\"} 1\n"
                            "h_bucket{a=\"x\",le=\"+Inf\"} 2\n");
    buf_release(&b);
}
