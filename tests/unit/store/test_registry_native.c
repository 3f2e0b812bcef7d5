/*
 * Native histogram families in the registry: each observation of both ingest paths in the
 * sparse buckets (ms in seconds as the classic buckets take them, packed values, a sampled
 * line counted as many times as in the classic buckets), beside the classic buckets when
 * both are declared, the buckets' memory counted and given back.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "registry_fixture.h"
#include "store/nativehist.h"

static const char native_config[] =
    "{\"families\": ["
    "  {\"name\": \"rpc_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 1],"
    "   \"native\": {\"schema\": 0, \"max_buckets\": 4},"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},"
    "  {\"name\": \"bare_seconds\", \"type\": \"histogram\", \"native\": {}},"
    "  {\"name\": \"classic_seconds\", \"type\": \"histogram\", \"buckets\": [1]}"
    " ]}";

enum { N_RPC, N_BARE, N_CLASSIC };

static void setup_native(void)
{
    load(native_config);
}

static const struct nativehist *native_of(size_t fam, const char *labels, struct registry_sample *s)
{
    cr_assert(find(fam, labels, s), "no series %zu{%s}", fam, labels);
    return s->native;
}

/* Side's buckets are exactly keys[i] with counts[i]. */
static void assert_side(const struct nativehist *h, enum nativehist_side side, const int32_t *keys,
                        const uint64_t *counts, size_t n)
{
    size_t i;

    cr_assert_eq(nativehist_buckets(h, side), n, "%zu buckets, want %zu",
                 nativehist_buckets(h, side), n);
    for (i = 0; i < n; i++) {
        int32_t key;
        uint64_t count;

        nativehist_bucket(h, side, i, &key, &count);
        cr_assert_eq(key, keys[i], "bucket %zu: key %d, want %d", i, key, keys[i]);
        cr_assert_eq(count, counts[i], "bucket %zu: count %llu, want %llu", i,
                     (unsigned long long)count, (unsigned long long)counts[i]);
    }
}

Test(registry_native, both_paths_count_in_the_sparse_and_the_classic_buckets, .init = setup_native,
     .fini = teardown)
{
    static const int32_t keys[] = { -1, 1, 2 };
    static const uint64_t counts[] = { 1, 2, 1 };
    static const uint64_t classic[] = { 0, 1, 3 };
    struct registry_sample s;
    const struct nativehist *h;

    /* Schema 0: (0.25, 0.5] is key -1, (1, 2] key 1, (2, 4] key 2; ms are seconds. */
    cr_assert_eq(ingest_at("rpc_seconds:0.5|h|#method:GET", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("rpc_seconds:1500:2000|ms|#method:GET", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("rpc_seconds:3|h|#method:GET", 1000), STATSD_OK);
    h = native_of(N_RPC, "method=GET", &s);
    cr_assert_not_null(h);
    assert_side(h, NATIVEHIST_POSITIVE, keys, counts, 3);
    cr_assert_eq(nativehist_buckets(h, NATIVEHIST_NEGATIVE), 0);
    cr_assert_eq(nativehist_count(h), 4);
    cr_assert_float_eq(nativehist_sum(h), 7, 1e-12);
    assert_hist(N_RPC, "method=GET", classic, 3, 7);
}

Test(registry_native, a_sampled_line_weighs_its_rate, .init = setup_native, .fini = teardown)
{
    struct registry_sample s;
    const struct nativehist *h;

    /* @0.4 weighs 2.5: two whole observations, then three (2.5 + 2.5 = 5 in all). */
    cr_assert_eq(ingest_at("bare_seconds:1|h|@0.4", 1000), STATSD_OK);
    h = native_of(N_BARE, "", &s);
    cr_assert_eq(nativehist_count(h), 2);
    cr_assert_eq(ingest_at("bare_seconds:1|h|@0.4", 1000), STATSD_OK);
    h = native_of(N_BARE, "", &s);
    cr_assert_eq(nativehist_count(h), 5);
    cr_assert_float_eq(nativehist_sum(h), 5, 1e-12);
    /* A negative value and a zero: the other side and the zero bucket. */
    cr_assert_eq(ingest_at("bare_seconds:-3:0|h", 1000), STATSD_OK);
    h = native_of(N_BARE, "", &s);
    cr_assert_eq(nativehist_buckets(h, NATIVEHIST_NEGATIVE), 1);
    cr_assert_eq(nativehist_zero_count(h), 1);
    cr_assert_eq(nativehist_count(h), 7);
    cr_assert_eq(s.count, 7, "the classic count agrees");
}

/* Sampled lines into two classic buckets: each bucket carries its own fraction, and the
 * native buckets count what the classic ones count, so both kinds have one count. */
Test(registry_native, sampled_lines_count_alike_in_both_kinds, .init = setup_native,
     .fini = teardown)
{
    struct registry_sample s;
    const struct nativehist *h;
    uint64_t total = 0, count;
    int32_t key;

    cr_assert_eq(ingest_at("rpc_seconds:0.05|h|@0.4|#method:GET", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("rpc_seconds:0.5|h|@0.4|#method:GET", 1000), STATSD_OK);
    h = native_of(N_RPC, "method=GET", &s);
    cr_assert_eq(s.count, 4, "2.5 + 2.5, the halves carried in two buckets");
    cr_assert_eq(nativehist_count(h), s.count);
    for (size_t i = 0; i < nativehist_buckets(h, NATIVEHIST_POSITIVE); i++) {
        nativehist_bucket(h, NATIVEHIST_POSITIVE, i, &key, &count);
        total += count;
    }
    cr_assert_eq(total + nativehist_zero_count(h), s.count);
}

Test(registry_native, past_max_buckets_the_resolution_halves, .init = setup_native,
     .fini = teardown)
{
    struct registry_sample s;
    const struct nativehist *h;

    cr_assert_eq(ingest_at("rpc_seconds:1:2:4:8:16:32|h|#method:POST", 1000), STATSD_OK);
    h = native_of(N_RPC, "method=POST", &s);
    cr_assert_leq(nativehist_buckets(h, NATIVEHIST_POSITIVE), 4);
    cr_assert_lt(nativehist_schema(h), 0, "halved at least once");
    cr_assert_eq(nativehist_count(h), 6);
}

Test(registry_native, a_classic_family_has_none_and_the_buckets_memory_goes_back,
     .init = setup_native, .fini = teardown)
{
    struct registry_sample s;
    size_t before;

    cr_assert_eq(feed("classic_seconds:1|h"), STATSD_OK);
    cr_assert(find(N_CLASSIC, "", &s));
    cr_assert_null(s.native);
    cr_assert(find(N_BARE, "", &s));
    before = registry_memory(&reg);
    for (int i = 0; i < 100; i++) {
        char line[64];

        snprintf(line, sizeof line, "bare_seconds:%llu|h", 1ull << (i % 40));
        cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    }
    cr_assert_gt(registry_memory(&reg), before, "the buckets are counted");
    registry_reset(&reg);
    cr_assert_leq(registry_memory(&reg), before, "and given back");
}
