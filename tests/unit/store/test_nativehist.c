/*
 * A native histogram (nativehist.h) against client_golang's rules, worked out here by hand
 * or from the definition of the buckets rather than read from the module: the key of known
 * values at several schemas, +-Inf, the zero bucket at its threshold, NaN, the resolution
 * halved past max_buckets (by hand, both signs of keys), the hard cap when Go would hold
 * more, makeBuckets' spans and deltas with gaps of 1, 2 and 3, the snapshot's round trip
 * and its refusal of damaged input, and random values against the bucket bounds
 * 2^((k-1) 2^-s) < |v| <= 2^(k 2^-s).
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "store/nativehist.h"

static struct nativehist_cfg cfg_of(int schema, double zt, uint32_t max)
{
    struct nativehist_cfg cfg = { .schema = (int8_t)schema,
                                  .zero_threshold = zt,
                                  .max_buckets = max };
    const char *why = NULL;

    cr_assert_eq(nativehist_cfg_check(&cfg, &why), 0, "%s", why);
    return cfg;
}

/* The key v lands in at schema (asserting which side it lands on). */
static int32_t key_for(int schema, double v)
{
    struct nativehist_cfg cfg = cfg_of(schema, 0, 0);
    enum nativehist_side side = v < 0 ? NATIVEHIST_NEGATIVE : NATIVEHIST_POSITIVE;
    struct nativehist h;
    uint64_t count;
    int32_t key;

    nativehist_init(&h, &cfg);
    nativehist_observe(&h, &cfg, v, 1);
    cr_assert_eq(nativehist_buckets(&h, side), 1, "value %a at schema %d", v, schema);
    cr_assert_eq(nativehist_buckets(&h, !side), 0);
    nativehist_bucket(&h, side, 0, &key, &count);
    cr_assert_eq(count, 1);
    nativehist_free(&h);
    return key;
}

/* The buckets of a side, as (key, count) pairs, against want[0..n). */
static void assert_side(const struct nativehist *h, enum nativehist_side side,
                        const int32_t (*want)[2], size_t n)
{
    cr_assert_eq(nativehist_buckets(h, side), n, "side %d: %zu buckets, want %zu", side,
                 nativehist_buckets(h, side), n);
    for (size_t i = 0; i < n; i++) {
        int32_t key;
        uint64_t count;

        nativehist_bucket(h, side, i, &key, &count);
        cr_assert_eq(key, want[i][0], "side %d bucket %zu: key %d, want %d", side, i, key,
                     want[i][0]);
        cr_assert_eq(count, (uint64_t)want[i][1], "side %d key %d: count %llu, want %d", side, key,
                     (unsigned long long)count, want[i][1]);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)(rng() >> 11) * 0x1p-53;
}

Test(nativehist, defaults_are_client_golangs)
{
    struct nativehist_cfg cfg = nativehist_cfg_default();
    const char *why = NULL;

    cr_assert_eq(cfg.schema, 3);
    cr_assert_eq(cfg.zero_threshold, 2.938735877055719e-39);
    cr_assert_eq(cfg.zero_threshold, ldexp(1, -128));
    cr_assert_eq(cfg.max_buckets, 160);
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), 0);
}

Test(nativehist, cfg_check_names_each_fault)
{
    struct nativehist_cfg good = nativehist_cfg_default(), cfg;
    const char *why;

    cfg = good, cfg.schema = 9;
    why = NULL;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(why, "schema"));
    cfg.schema = -5;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), ERRCODE_CONFIG);
    cfg = good, cfg.zero_threshold = -1e-9;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(why, "zero threshold"));
    cfg.zero_threshold = NAN;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), ERRCODE_CONFIG);
    cfg.zero_threshold = INFINITY;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), ERRCODE_CONFIG);
    cfg = good, cfg.max_buckets = NATIVEHIST_HARD_MAX + 1;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(why, "max_buckets"));
    cfg.max_buckets = NATIVEHIST_HARD_MAX;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), 0);
    cfg.max_buckets = 0;
    cfg.schema = -4;
    cfg.zero_threshold = 0;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), 0);
    cfg.schema = 8;
    cr_assert_eq(nativehist_cfg_check(&cfg, &why), 0);
}

/*
 * Bucket k of schema s is (2^((k-1)/2^s), 2^(k/2^s)]. Worked out by hand: log2(1.1) =
 * 0.1375, times 8 is 1.100, so key 2 at schema 3; log2(1.05) * 8 = 0.563: key 1; log2(1.2)
 * * 8 = 2.104: key 3; log2(0.6) * 2 = -1.474: key -1 at schema 1.
 */
Test(nativehist, keys_of_known_values)
{
    static const struct {
        int schema;
        double v;
        int32_t key;
    } cases[] = {
        { 3, 1.0, 0 },
        { 3, 1.1, 2 },
        { 3, 1.05, 1 },
        { 3, 1.2, 3 },
        { 3, 2.0, 8 },
        { 3, 0.5, -8 },
        { 3, 1024, 80 },
        { 3, 1.0001, 1 },
        { 8, 1.0, 0 },
        { 8, 2.0, 256 },
        { 8, 0.5, -256 },
        { 1, 0.6, -1 },
        { 1, 0.5, -2 },
        { 1, 1.5, 2 },
        { 1, 1.4, 1 },
        { 0, 1, 0 },
        { 0, 2, 1 },
        { 0, 3, 2 },
        { 0, 4, 2 },
        { 0, 0.75, 0 },
        { 0, 0.5, -1 },
        { 0, 4.000001, 3 },
        { -1, 1, 0 },
        { -1, 2, 1 },
        { -1, 4, 1 },
        { -1, 5, 2 },
        { -1, 0.25, -1 },
        { -1, 0.3, 0 },
        { -4, 1, 0 },
        { -4, 1.5, 1 },
        { -4, 65536, 1 },
        { -4, 65537, 2 },
        { -4, 0x1p-16, -1 },
        { -4, 0x1.8p-16, 0 },
        { -2, 16, 1 },
        { -2, 17, 2 },
        { 2, 0x1p-1074, -4296 }, /* the least subnormal: exponent -1074 */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(key_for(cases[i].schema, cases[i].v), cases[i].key,
                     "%g at schema %d: key %d, want %d", cases[i].v, cases[i].schema,
                     key_for(cases[i].schema, cases[i].v), cases[i].key);
        cr_assert_eq(key_for(cases[i].schema, -cases[i].v), cases[i].key, "negated");
    }
}

/* An exact power of two 2^e is the top of its bucket: key e 2^s, at every schema. */
Test(nativehist, powers_of_two_end_their_buckets)
{
    for (int s = NATIVEHIST_SCHEMA_MIN; s <= NATIVEHIST_SCHEMA_MAX; s++)
        for (int e = -1074; e <= 1023; e++) {
            int32_t want = s >= 0 ? e * (1 << s) : (int32_t)ceil(e / (double)(1 << -s));

            cr_assert_eq(key_for(s, ldexp(1, e)), want, "2^%d at schema %d", e, s);
            if (e < 1023 && e > -1000) /* just above: the next bucket */
                cr_assert_eq(key_for(s, nextafter(ldexp(1, e), INFINITY)),
                             s >= 0 ? want + 1 : (int32_t)floor(e / (double)(1 << -s)) + 1);
        }
}

/* +-Inf count one bucket above +-DBL_MAX's, which ends at 2^1024. */
Test(nativehist, infinities_count_above_the_largest_double)
{
    cr_assert_eq(key_for(3, DBL_MAX), 8192);
    cr_assert_eq(key_for(3, INFINITY), 8193);
    cr_assert_eq(key_for(3, -INFINITY), 8193);
    cr_assert_eq(key_for(8, INFINITY), 262145);
    cr_assert_eq(key_for(0, DBL_MAX), 1024);
    cr_assert_eq(key_for(-4, DBL_MAX), 64);
    cr_assert_eq(key_for(-4, INFINITY), 65);
    cr_assert_eq(nativehist_upper_bound(3, 8192), DBL_MAX);
    cr_assert(isinf(nativehist_upper_bound(3, 8193)));
    cr_assert_eq(nativehist_upper_bound(-4, 64), DBL_MAX);
    cr_assert(isinf(nativehist_upper_bound(-4, 65)));
    cr_assert_eq(nativehist_upper_bound(3, 0), 1.0);
    cr_assert_eq(nativehist_upper_bound(3, 8), 2.0);
    cr_assert_eq(nativehist_upper_bound(-2, -1), 1.0 / 16);
    /*
     * Go's table has 0.7071067811865475 for 2^-1/2, one ulp below the double nearest to it
     * (0.7071067811865476): the bound of schema 1's key 1 is that, and the double nearest
     * to sqrt 2 lands above it, in key 2, as it does in Go.
     */
    cr_assert_eq(nativehist_upper_bound(1, 1), 0x1.6a09e667f3bccp0);
    cr_assert_eq(key_for(1, 0x1.6a09e667f3bccp0), 1);
    cr_assert_eq(key_for(1, 0x1.6a09e667f3bcdp0), 2);
}

/* Negative values count by |v| on their own side; the sum keeps the sign. */
Test(nativehist, negative_values)
{
    struct nativehist_cfg cfg = nativehist_cfg_default();
    struct nativehist h;
    static const int32_t neg[][2] = { { -8, 1 }, { 0, 2 }, { 2, 3 } };
    static const int32_t pos[][2] = { { 2, 1 } };

    nativehist_init(&h, &cfg);
    nativehist_observe(&h, &cfg, -1.1, 3);
    nativehist_observe(&h, &cfg, -1.0, 2);
    nativehist_observe(&h, &cfg, -0.5, 1);
    nativehist_observe(&h, &cfg, 1.1, 1);
    assert_side(&h, NATIVEHIST_NEGATIVE, neg, 3);
    assert_side(&h, NATIVEHIST_POSITIVE, pos, 1);
    cr_assert_eq(nativehist_count(&h), 7);
    cr_assert_float_eq(nativehist_sum(&h), -3.3 - 2 - 0.5 + 1.1, 1e-12);
    cr_assert_eq(nativehist_zero_count(&h), 0);
    nativehist_free(&h);
}

/* |v| <= threshold is the zero bucket's, on both sides; just above is a bucket's. */
Test(nativehist, zero_bucket_takes_the_threshold_itself)
{
    struct nativehist_cfg cfg = nativehist_cfg_default();
    double zt = cfg.zero_threshold;
    struct nativehist h;
    static const int32_t above[][2] = { { -1023, 1 } }; /* 2^-128 ends bucket -1024 */

    nativehist_init(&h, &cfg);
    nativehist_observe(&h, &cfg, 0, 1);
    nativehist_observe(&h, &cfg, -0.0, 1);
    nativehist_observe(&h, &cfg, zt, 1);
    nativehist_observe(&h, &cfg, -zt, 1);
    nativehist_observe(&h, &cfg, zt / 3, 1);
    nativehist_observe(&h, &cfg, 0x1p-1074, 1);
    cr_assert_eq(nativehist_zero_count(&h), 6);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 0);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_NEGATIVE), 0);
    nativehist_observe(&h, &cfg, nextafter(zt, 1), 1);
    nativehist_observe(&h, &cfg, -nextafter(zt, 1), 1);
    assert_side(&h, NATIVEHIST_POSITIVE, above, 1);
    assert_side(&h, NATIVEHIST_NEGATIVE, above, 1);
    cr_assert_eq(nativehist_count(&h), 8);
    nativehist_free(&h);

    /* A threshold off the boundaries: 0.5 is in, 0.5000001 in (0.5, 2^(-7/8)], key -7. */
    cfg = cfg_of(3, 0.5, 160);
    nativehist_init(&h, &cfg);
    nativehist_observe(&h, &cfg, 0.5, 1);
    nativehist_observe(&h, &cfg, -0.5, 1);
    nativehist_observe(&h, &cfg, 0.5000001, 1);
    cr_assert_eq(nativehist_zero_count(&h), 2);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 1);
    nativehist_free(&h);

    /* Threshold 0: only zeros; the least subnormal has a bucket, key -1074 at schema 0. */
    cfg = cfg_of(0, 0, 160);
    nativehist_init(&h, &cfg);
    cr_assert_eq(nativehist_needs_noop_span(&h), 1);
    nativehist_observe(&h, &cfg, 0, 1);
    cr_assert_eq(nativehist_needs_noop_span(&h), 0);
    nativehist_observe(&h, &cfg, 0x1p-1074, 1);
    cr_assert_eq(nativehist_zero_count(&h), 1);
    cr_assert_eq(key_for(0, 0x1p-1074), -1074);
    nativehist_free(&h);
}

/* Go: NaN adds to the count and the sum and to no bucket (not even the zero bucket). */
Test(nativehist, nan_counts_but_has_no_bucket)
{
    struct nativehist_cfg cfg = cfg_of(3, ldexp(1, -128), 1);
    struct nativehist h;

    nativehist_init(&h, &cfg);
    nativehist_observe(&h, &cfg, 1.0, 1);
    nativehist_observe(&h, &cfg, 2.0, 1); /* two buckets, over the limit: halved once */
    cr_assert_eq(nativehist_schema(&h), 2);
    cr_assert_eq(nativehist_observe(&h, &cfg, NAN, 5), 0, "NaN halved: Go skips the limit");
    cr_assert_eq(nativehist_schema(&h), 2);
    cr_assert_eq(nativehist_count(&h), 7);
    cr_assert(isnan(nativehist_sum(&h)));
    cr_assert_eq(nativehist_zero_count(&h), 0);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 2);
    /* A zero observation runs limitBuckets, though: one halving. */
    cr_assert_eq(nativehist_observe(&h, &cfg, 0, 1), 1);
    cr_assert_eq(nativehist_schema(&h), 1);
    nativehist_observe(&h, &cfg, 5, 0); /* n == 0: nothing */
    cr_assert_eq(nativehist_count(&h), 8);
    nativehist_free(&h);
}

/*
 * By hand, schema 3, max 3: 1.0, 1.05, 1.1, 1.2 are keys 0, 1, 2, 3; the fourth bucket
 * halves to schema 2, (k + 1) / 2 for k > 0: 0, 1, 1, 2. Schema 2's bucket 1 is (1, 1.189]
 * (1.05 and 1.1), bucket 2 (1.189, 1.414] (1.2).
 */
Test(nativehist, one_halving_merges_pairs)
{
    struct nativehist_cfg cfg = cfg_of(3, ldexp(1, -128), 3);
    struct nativehist h;
    static const int32_t want[][2] = { { 0, 1 }, { 1, 2 }, { 2, 1 } };

    nativehist_init(&h, &cfg);
    cr_assert_eq(nativehist_observe(&h, &cfg, 1.0, 1), 0);
    cr_assert_eq(nativehist_observe(&h, &cfg, 1.05, 1), 0);
    cr_assert_eq(nativehist_observe(&h, &cfg, 1.1, 1), 0);
    cr_assert_eq(nativehist_schema(&h), 3);
    cr_assert_eq(nativehist_observe(&h, &cfg, 1.2, 1), 1);
    cr_assert_eq(nativehist_schema(&h), 2);
    assert_side(&h, NATIVEHIST_POSITIVE, want, 3);
    nativehist_reset(&h, &cfg);
    cr_assert_eq(nativehist_schema(&h), 3);
    cr_assert_eq(nativehist_count(&h), 0);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 0);
    cr_assert_eq(nativehist_bytes(&h), 0);
    nativehist_free(&h);
}

/*
 * Negative keys, by hand, schema 1, max 1: 0.5 is key -2 and 0.6 key -1; halved (Go's
 * key /= 2, toward zero): -1 and 0, still two buckets (one halving an observation).
 * Schema 0: bucket -1 is (0.25, 0.5], bucket 0 (0.5, 1]. 0.6 again: halved to schema -1,
 * -1 -> 0 and 0 -> 0, one bucket (0.25, 1] of 3.
 */
Test(nativehist, halving_negative_keys_rounds_up)
{
    struct nativehist_cfg cfg = cfg_of(1, ldexp(1, -128), 1);
    struct nativehist h;
    static const int32_t first[][2] = { { -1, 1 }, { 0, 1 } };
    static const int32_t then[][2] = { { 0, 3 } };

    nativehist_init(&h, &cfg);
    nativehist_observe(&h, &cfg, -0.5, 1);
    cr_assert_eq(nativehist_observe(&h, &cfg, -0.6, 1), 1);
    cr_assert_eq(nativehist_schema(&h), 0);
    assert_side(&h, NATIVEHIST_NEGATIVE, first, 2);
    cr_assert_eq(nativehist_observe(&h, &cfg, -0.6, 1), 1);
    cr_assert_eq(nativehist_schema(&h), -1);
    assert_side(&h, NATIVEHIST_NEGATIVE, then, 1);
    nativehist_free(&h);
}

/*
 * Sparse buckets gain nothing from a halving; each observation halves once more. Schema 2,
 * max 4: 1, 2, 4, 8 are keys 0, 4, 8, 12; 16 (key 16) halves to schema 1 (0 2 4 6 8), 16
 * again to 0 (0 1 2 3 4), 1 again to -1: (4^(k-1), 4^k] holds {1, 1}, {2, 4}, {8, 16, 16}.
 * Then at -4 nothing halves.
 */
Test(nativehist, each_observation_halves_once)
{
    struct nativehist_cfg cfg = cfg_of(2, ldexp(1, -128), 4);
    struct nativehist h;
    static const int32_t want[][2] = { { 0, 2 }, { 1, 2 }, { 2, 3 } };

    nativehist_init(&h, &cfg);
    for (int e = 0; e <= 3; e++)
        cr_assert_eq(nativehist_observe(&h, &cfg, ldexp(1, e), 1), 0);
    cr_assert_eq(nativehist_observe(&h, &cfg, 16, 1), 1);
    cr_assert_eq(nativehist_schema(&h), 1);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 5);
    cr_assert_eq(nativehist_observe(&h, &cfg, 16, 1), 1);
    cr_assert_eq(nativehist_schema(&h), 0);
    cr_assert_eq(nativehist_observe(&h, &cfg, 1, 1), 1);
    cr_assert_eq(nativehist_schema(&h), -1);
    assert_side(&h, NATIVEHIST_POSITIVE, want, 3);
    nativehist_free(&h);

    /* The same five values observed 3 times at once halve up to 3 times (Go: 3 calls). */
    nativehist_init(&h, &cfg);
    for (int e = 0; e <= 3; e++)
        nativehist_observe(&h, &cfg, ldexp(1, e), 1);
    cr_assert_eq(nativehist_observe(&h, &cfg, 16, 3), 3);
    cr_assert_eq(nativehist_schema(&h), -1);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 3);
    nativehist_free(&h);

    /* At schema -4 there is nothing to halve. */
    cfg = cfg_of(-4, 0, 1);
    nativehist_init(&h, &cfg);
    nativehist_observe(&h, &cfg, 1, 1);
    cr_assert_eq(nativehist_observe(&h, &cfg, 1e10, 1000), 0);
    cr_assert_eq(nativehist_schema(&h), -4);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 2);
    nativehist_free(&h);
}

/* max_buckets 0 (none, in Go) is 4096: 4097 distinct buckets halve schema 8 to 7. */
Test(nativehist, no_limit_is_the_hard_cap)
{
    struct nativehist_cfg cfg = cfg_of(8, ldexp(1, -128), 0);
    struct nativehist h;

    nativehist_init(&h, &cfg);
    for (int i = 0; i < NATIVEHIST_HARD_MAX; i++) /* 2^((i + 0.5)/256): key i + 1 */
        cr_assert_eq(nativehist_observe(&h, &cfg, exp2((i + 0.5) / 256), 1), 0);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), NATIVEHIST_HARD_MAX);
    cr_assert_eq(nativehist_schema(&h), 8);
    cr_assert_eq(nativehist_observe(&h, &cfg, exp2(4096.5 / 256), 1), 1);
    cr_assert_eq(nativehist_schema(&h), 7);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 2049); /* keys 1..4097 -> 1..2049 */
    cr_assert_eq(nativehist_count(&h), 4097);
    cr_assert_leq(nativehist_bytes(&h), (NATIVEHIST_HARD_MAX + 1) * 12);
    nativehist_free(&h);
}

/*
 * Where Go's one halving leaves more than 4096 (buckets 64 keys apart gain nothing until
 * the seventh), the halving goes on: never more than 4096 buckets.
 */
Test(nativehist, hard_cap_halves_past_go)
{
    struct nativehist_cfg cfg = cfg_of(8, 0, NATIVEHIST_HARD_MAX); /* 2^-512 is a bucket's */
    struct nativehist h;
    int last = 0;

    nativehist_init(&h, &cfg);
    for (int i = 0; i <= NATIVEHIST_HARD_MAX; i++) {
        /* key -131072 + 64 i: the middle of its bucket */
        last = nativehist_observe(&h, &cfg, exp2((-131072 + 64 * i - 0.5) / 256), 1);
        cr_assert_leq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), NATIVEHIST_HARD_MAX);
    }
    cr_assert_eq(last, 7, "halvings: %d", last);
    cr_assert_eq(nativehist_schema(&h), 1);
    cr_assert_eq(nativehist_buckets(&h, NATIVEHIST_POSITIVE), 2049);
    nativehist_free(&h);
}

/*
 * makeBuckets by hand, schema 0 (value 2^k is key k): keys 0 1 3 6 10 of counts 1 2 4 1 5.
 * 0 opens a span at offset 0; 1 follows; 3 after a gap of 1 and 6 after a gap of 2 stay in
 * it with zeros; 10 after a gap of 3 opens a span at offset 3. Deltas: 1, +1, (0) -2, +4,
 * (0) -4, (0) 0, +1 | +4.
 */
Test(nativehist, spans_fill_gaps_of_two_and_split_at_three)
{
    struct nativehist_cfg cfg = cfg_of(0, 0, 160);
    struct nativehist h;
    static const int keys[] = { 0, 1, 3, 6, 10 }, counts[] = { 1, 2, 4, 1, 5 };
    static const int64_t want[] = { 1, 1, -2, 4, -4, 0, 1, 4 };
    struct expo_span spans[8];
    int64_t deltas[16];
    size_t ns, nd;

    nativehist_init(&h, &cfg);
    for (int i = 0; i < 5; i++) {
        nativehist_observe(&h, &cfg, ldexp(1, keys[i]), (uint64_t)counts[i]);
        nativehist_observe(&h, &cfg, -ldexp(1, keys[i] - 5), (uint64_t)counts[i]);
    }
    cr_assert_eq(nativehist_spans(&h, NATIVEHIST_POSITIVE, spans, 8, deltas, 16, &ns, &nd), 0);
    cr_assert_eq(ns, 2);
    cr_assert_eq(spans[0].offset, 0);
    cr_assert_eq(spans[0].length, 7);
    cr_assert_eq(spans[1].offset, 3);
    cr_assert_eq(spans[1].length, 1);
    cr_assert_eq(nd, 8);
    for (size_t i = 0; i < nd; i++)
        cr_assert_eq(deltas[i], want[i], "delta %zu: %lld", i, (long long)deltas[i]);

    /* The negative side: the same keys less 5, the first offset -5 (from key 0). */
    cr_assert_eq(nativehist_spans(&h, NATIVEHIST_NEGATIVE, spans, 8, deltas, 16, &ns, &nd), 0);
    cr_assert_eq(ns, 2);
    cr_assert_eq(spans[0].offset, -5);
    cr_assert_eq(spans[0].length, 7);
    cr_assert_eq(spans[1].offset, 3);
    for (size_t i = 0; i < nd; i++)
        cr_assert_eq(deltas[i], want[i]);

    /* Too small: the sizes needed, nothing written. */
    spans[0].offset = 99;
    cr_assert_eq(nativehist_spans(&h, NATIVEHIST_POSITIVE, spans, 1, deltas, 16, &ns, &nd),
                 ERRCODE_LIMIT);
    cr_assert_eq(ns, 2);
    cr_assert_eq(nd, 8);
    cr_assert_eq(spans[0].offset, 99);
    cr_assert_eq(nativehist_spans(&h, NATIVEHIST_POSITIVE, spans, 2, deltas, 7, &ns, &nd),
                 ERRCODE_LIMIT);
    nativehist_reset(&h, &cfg);
    cr_assert_eq(nativehist_spans(&h, NATIVEHIST_POSITIVE, NULL, 0, NULL, 0, &ns, &nd), 0);
    cr_assert_eq(ns, 0);
    cr_assert_eq(nd, 0);
    cr_assert_eq(nativehist_needs_noop_span(&h), 1);
    nativehist_free(&h);
}

/* Random values at every schema, of every magnitude, both signs, some zeros and Infs. */
static void observe_random(struct nativehist *h, const struct nativehist_cfg *cfg, int count)
{
    for (int i = 0; i < count; i++) {
        uint64_t r = rng();
        double v = ldexp(0.5 + rng_unit() / 2, (int)(r % 2098) - 1073);

        if (r % 97 == 0)
            v = 0;
        else if (r % 89 == 0)
            v = INFINITY;
        if (r & (1ull << 40))
            v = -v;
        nativehist_observe(h, cfg, v, 1 + (r >> 60));
    }
}

static void assert_counts_add_up(const struct nativehist *h)
{
    uint64_t total = nativehist_zero_count(h);

    for (int side = 0; side < 2; side++) {
        int32_t prev = INT32_MIN, key;
        uint64_t c;

        for (size_t i = 0; i < nativehist_buckets(h, side); i++) {
            nativehist_bucket(h, side, i, &key, &c);
            cr_assert_gt(key, prev, "keys not ascending");
            cr_assert_gt(c, 0);
            prev = key;
            total += c;
        }
    }
    cr_assert_eq(total, nativehist_count(h));
}

/*
 * Every value's bucket, by the definition: 2^((k-1) 2^-s) < |v| <= 2^(k 2^-s), in long
 * double, within 1e-15 (Go's table is rounded); exactly against Go's bounds (getLe) for
 * normal values; and ceil(log2 |v| 2^s) unless |v| lies within 1e-9 of a boundary.
 */
Test(nativehist, random_values_land_within_their_bounds)
{
    for (int s = NATIVEHIST_SCHEMA_MIN; s <= NATIVEHIST_SCHEMA_MAX; s++) {
        for (int i = 0; i < 3000; i++) {
            double a = ldexp(0.5 + rng_unit() / 2, (int)(rng() % 2098) - 1073);
            int32_t k = key_for(s, a);
            long double up = exp2l((long double)k / ldexp(1, s));
            long double lo = exp2l((long double)(k - 1) / ldexp(1, s));
            long double x = log2l(a) * ldexp(1, s);

            if (!(a <= up * (1 + 1e-15L) && a > lo * (1 - 1e-15L)))
                cr_assert_fail("%a at schema %d: key %d, bounds (%Lg, %Lg]", a, s, k, lo, up);
            if (a >= 0x1p-1020 &&
                !(a <= nativehist_upper_bound(s, k) && a > nativehist_upper_bound(s, k - 1)))
                cr_assert_fail("%a at schema %d: key %d outside Go's bounds", a, s, k);
            if (fabsl(x - roundl(x)) > 1e-9L && k != (int32_t)ceill(x))
                cr_assert_fail("%a at schema %d: key %d, ceil(log2) %Lg", a, s, k, ceill(x));
        }
    }
}

/* count == zero_count + the buckets, at every schema and several limits. */
Test(nativehist, counts_add_up_under_halving)
{
    static const uint32_t limits[] = { 1, 7, 160, 0 };

    for (int s = NATIVEHIST_SCHEMA_MIN; s <= NATIVEHIST_SCHEMA_MAX; s++)
        for (size_t l = 0; l < 4; l++) {
            struct nativehist_cfg cfg = cfg_of(s, ldexp(1, -128), limits[l]);
            struct nativehist h;

            nativehist_init(&h, &cfg);
            for (int round = 0; round < 5; round++) {
                observe_random(&h, &cfg, 400);
                assert_counts_add_up(&h);
                cr_assert_leq(nativehist_schema(&h), s);
                cr_assert_leq(nativehist_buckets(&h, 0) + nativehist_buckets(&h, 1),
                              NATIVEHIST_HARD_MAX);
            }
            nativehist_free(&h);
        }
}

static void assert_same(const struct nativehist *a, const struct nativehist *b)
{
    cr_assert_eq(nativehist_count(a), nativehist_count(b));
    double sa = nativehist_sum(a), sb = nativehist_sum(b);

    cr_assert_eq(memcmp(&sa, &sb, sizeof sa), 0);
    cr_assert_eq(nativehist_zero_count(a), nativehist_zero_count(b));
    cr_assert_eq(nativehist_zero_threshold(a), nativehist_zero_threshold(b));
    cr_assert_eq(nativehist_schema(a), nativehist_schema(b));
    for (int side = 0; side < 2; side++) {
        cr_assert_eq(nativehist_buckets(a, side), nativehist_buckets(b, side));
        for (size_t i = 0; i < nativehist_buckets(a, side); i++) {
            int32_t ka, kb;
            uint64_t ca, cb;

            nativehist_bucket(a, side, i, &ka, &ca);
            nativehist_bucket(b, side, i, &kb, &cb);
            cr_assert_eq(ka, kb);
            cr_assert_eq(ca, cb);
        }
    }
}

/* A histogram of a few dozen buckets a side, encoded into *len bytes of a new block. */
static unsigned char *sample_encoding(const struct nativehist_cfg *cfg, struct nativehist *h,
                                      size_t *len)
{
    unsigned char *buf;

    nativehist_init(h, cfg);
    for (int i = 0; i < 60; i++)
        nativehist_observe(h, cfg, ((i % 3) - 1) * exp2(i / 5.0 - 6), (uint64_t)i + 1);
    nativehist_observe(h, cfg, INFINITY, 2);
    *len = nativehist_encoded_size(h);
    buf = malloc(*len + 1);
    cr_assert_eq(nativehist_encode(h, buf, *len - 1), ERRCODE_LIMIT);
    cr_assert_eq(nativehist_encode(h, buf, *len + 1), (int)*len);
    return buf;
}

Test(nativehist, snapshot_round_trip)
{
    struct nativehist_cfg cfg = cfg_of(3, ldexp(1, -128), 160);
    struct nativehist h, back;
    unsigned char *buf, *again;
    size_t len;

    buf = sample_encoding(&cfg, &h, &len);
    cr_assert_gt(nativehist_buckets(&h, NATIVEHIST_NEGATIVE), 10);
    cr_assert_eq(len, 40 + 12 * (nativehist_buckets(&h, 0) + nativehist_buckets(&h, 1)));
    nativehist_init(&back, &cfg);
    nativehist_observe(&back, &cfg, 42, 1); /* replaced */
    cr_assert_eq(nativehist_decode(&back, &cfg, buf, len), 0);
    assert_same(&h, &back);
    again = malloc(len);
    cr_assert_eq(nativehist_encode(&back, again, len), (int)len);
    cr_assert_eq(memcmp(buf, again, len), 0);
    /* It goes on counting as the original does. */
    nativehist_observe(&h, &cfg, 3.5, 2);
    nativehist_observe(&back, &cfg, 3.5, 2);
    assert_same(&h, &back);

    /* An empty one. */
    nativehist_reset(&h, &cfg);
    cr_assert_eq(nativehist_encode(&h, again, len), 40);
    cr_assert_eq(nativehist_decode(&back, &cfg, again, 40), 0);
    assert_same(&h, &back);
    nativehist_free(&h);
    nativehist_free(&back);
    free(buf);
    free(again);
}

/* A snapshot of schema 3 restored for schema 1 is halved twice, as observations would. */
Test(nativehist, snapshot_of_a_finer_schema_is_halved)
{
    struct nativehist_cfg cfg = cfg_of(3, ldexp(1, -128), 160),
                          coarse = cfg_of(1, cfg.zero_threshold, 160);
    struct nativehist h, back;
    unsigned char *buf;
    size_t len;
    int halvings = 0;

    buf = sample_encoding(&cfg, &h, &len);
    nativehist_init(&back, &coarse);
    cr_assert_eq(nativehist_decode(&back, &coarse, buf, len), 0);
    cr_assert_eq(nativehist_schema(&back), 1);
    cr_assert_eq(nativehist_count(&back), nativehist_count(&h));
    /* The same as the original held to 2 buckets of a side, then given room: halved. */
    while (nativehist_schema(&h) > 1) {
        struct nativehist_cfg tight = cfg_of(3, cfg.zero_threshold, 1);

        halvings += nativehist_observe(&h, &tight, 0, 1);
        nativehist_observe(&back, &coarse, 0, 1);
    }
    cr_assert_eq(halvings, 2);
    assert_same(&h, &back);
    assert_counts_add_up(&back);

    /* Another zero threshold: refused, as a misfit rather than damage. */
    coarse.zero_threshold = 0;
    cr_assert_eq(nativehist_decode(&back, &coarse, buf, len), ERRCODE_CONFIG);
    nativehist_free(&h);
    nativehist_free(&back);
    free(buf);
}

static void put32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static void put64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

/* Each damage refused with ERRCODE_FORMAT, the histogram decoded into left as it was. */
Test(nativehist, snapshot_refuses_damage)
{
    struct nativehist_cfg cfg = cfg_of(3, ldexp(1, -128), 160);
    struct nativehist h, back;
    unsigned char *buf, *bad;
    size_t len, nneg, last;

    buf = sample_encoding(&cfg, &h, &len);
    nneg = nativehist_buckets(&h, NATIVEHIST_NEGATIVE);
    last = 40 + 12 * (nneg + nativehist_buckets(&h, NATIVEHIST_POSITIVE) - 1);
    bad = malloc(len + 1);
    nativehist_init(&back, &cfg);
    nativehist_observe(&back, &cfg, 7, 3);

#define REFUSED(what)                                                                 \
    do {                                                                              \
        cr_assert_eq(nativehist_decode(&back, &cfg, bad, len), ERRCODE_FORMAT, what); \
        cr_assert_eq(nativehist_count(&back), 3, what ": changed");                   \
        memcpy(bad, buf, len);                                                        \
    } while (0)

    memcpy(bad, buf, len);
    for (size_t n = 0; n < len; n++) /* every truncation, from a copy of its own size */
    {
        unsigned char *cut = malloc(n + 1);

        memcpy(cut, buf, n);
        cr_assert_eq(nativehist_decode(&back, &cfg, cut, n), ERRCODE_FORMAT, "%zu bytes", n);
        free(cut);
    }
    bad[len] = 0;
    cr_assert_eq(nativehist_decode(&back, &cfg, bad, len + 1), ERRCODE_FORMAT, "a byte more");
    bad[0] = 2;
    REFUSED("version");
    bad[1] = 9;
    REFUSED("schema 9");
    bad[1] = (unsigned char)-5;
    REFUSED("schema -5");
    bad[6] = 1;
    REFUSED("reserved");
    bad[2] = (unsigned char)(nneg + 1);
    REFUSED("more negative buckets than there are");
    bad[2] = 0xff, bad[3] = 0xff;
    REFUSED("65535 buckets");
    put64(bad + 8, 0xbff0000000000000ull); /* -1.0 */
    REFUSED("negative zero threshold");
    put64(bad + 8, 0x7ff8000000000000ull);
    REFUSED("NaN zero threshold");
    put64(bad + 8, 0x7ff0000000000000ull);
    REFUSED("infinite zero threshold");
    put64(bad + 16, nativehist_count(&h) - 1);
    REFUSED("count below the buckets");
    put64(bad + 32, UINT64_MAX);
    REFUSED("zero count above the count");
    /* Two keys of the positive side swapped: not ascending. */
    memcpy(bad + 40 + 12 * nneg, buf + 40 + 12 * (nneg + 1), 4);
    memcpy(bad + 40 + 12 * (nneg + 1), buf + 40 + 12 * nneg, 4);
    REFUSED("unsorted keys");
    memcpy(bad + 40 + 12 * (nneg + 1), buf + 40 + 12 * nneg, 4);
    REFUSED("a key twice");
    put32(bad + last, 8194); /* the last bucket, +Inf's 8193, above it */
    REFUSED("a key above the schema's");
    put32(bad + 40, (uint32_t)-8593); /* the first: below 2^-1074's -8592 */
    REFUSED("a key below the schema's");
    put32(bad + 40, (uint32_t)-1024); /* ends at 2^-128, the zero threshold */
    REFUSED("a key inside the zero bucket");
    put64(bad + 44, 0);
    REFUSED("a bucket of count 0");
    put64(bad + 44, UINT64_MAX);
    REFUSED("a bucket above the count");
#undef REFUSED

    /* Random damage: refused, or read as a histogram whose counts add up. */
    for (int i = 0; i < 20000; i++) {
        memcpy(bad, buf, len);
        for (int j = 0; j < 1 + (int)(rng() % 3); j++)
            bad[rng() % len] ^= (unsigned char)(1u << (rng() % 8));
        if (nativehist_decode(&back, &cfg, bad, len) == 0) {
            cr_assert_leq(nativehist_zero_count(&back), nativehist_count(&back));
            nativehist_observe(&back, &cfg, 1, 1);
        }
    }
    nativehist_free(&h);
    nativehist_free(&back);
    free(buf);
    free(bad);
}
