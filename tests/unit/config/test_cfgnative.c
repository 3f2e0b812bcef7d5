/*
 * A histogram's "native" block (cfgnative): client_golang's defaults, the classic buckets
 * it keeps or leaves out, and every refusal with its path and message.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cfgtest.h"
#include "config/cfgload.h"
#include "config/config.h"

Test(cfgnative, an_empty_block_takes_client_golangs_defaults_and_no_classic_buckets)
{
    struct config c;
    const struct config_family *f;

    must_parse(&c, "{'families': [{'name': 'a_seconds', 'type': 'histogram', 'native': {}},"
                   "              {'name': 'b_seconds', 'type': 'histogram'}]}");
    f = &c.families[0];
    cr_assert_eq(f->native.on, 1);
    cr_assert_eq(f->native.schema, 3, "NativeHistogramBucketFactor 1.1");
    cr_assert_eq(f->native.zero_threshold, 0x1p-128, "DefNativeHistogramZeroThreshold");
    cr_assert_eq(f->native.max_buckets, 160);
    cr_assert_eq(f->nbuckets, 0, "a native histogram has classic buckets only when declared");
    cr_assert_null(f->buckets);
    f = &c.families[1];
    cr_assert_eq(f->native.on, 0);
    cr_assert_eq(f->nbuckets, 11, "a classic histogram keeps the default buckets");
    cfgload_release(&c);
}

Test(cfgnative, both_kinds_of_buckets_are_kept_when_both_are_declared)
{
    struct config c;
    const struct config_family *f;

    must_parse(&c, "{'families': [{'name': 'a_ms', 'type': 'histogram', 'unit': 'ms',"
                   " 'buckets': [5, 50, 500],"
                   " 'native': {'schema': -4, 'zero_threshold': 0, 'max_buckets': 4096}}]}");
    f = &c.families[0];
    cr_assert_eq(f->native.on, 1);
    cr_assert_eq(f->native.schema, -4);
    cr_assert_eq(f->native.zero_threshold, 0);
    cr_assert_eq(f->native.max_buckets, 4096);
    cr_assert_eq(f->nbuckets, 3);
    cr_assert_eq(f->buckets[2], 500);
    cfgload_release(&c);
}

struct bad {
    char json[400];
    char path[64];
    char msg[120];
};

ParameterizedTestParameters(cfgnative, refuses_what_a_native_histogram_cannot_mean)
{
    static struct bad cases[] = {
        { "{'families': [{'name': 'a', 'type': 'summary', 'native': {}}]}", "$.families[0].native",
          "only histograms have a native block" },
        { "{'families': [{'name': 'a', 'type': 'counter', 'native': {'schema': 3}}]}",
          "$.families[0].native", "only histograms have a native block" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': true}]}",
          "$.families[0].native", "expected an object such as" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'schema': 9}}]}",
          "$.families[0].native.schema", "schema 9 is outside -4..8" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'schema': -5}}]}",
          "$.families[0].native.schema", "schema -5 is outside -4..8" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'schema': 2.5}}]}",
          "$.families[0].native.schema", "expected an integer from -4 to 8" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'schema': '3'}}]}",
          "$.families[0].native.schema", "expected an integer from -4 to 8, got a string" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'zero_threshold': -1}}]}",
          "$.families[0].native.zero_threshold", "expected a finite number >= 0" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'zero_threshold': 'x'}}]}",
          "$.families[0].native.zero_threshold", "got a string" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'max_buckets': 0}}]}",
          "$.families[0].native.max_buckets", "from 1 to 4096" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'max_buckets': 4097}}]}",
          "$.families[0].native.max_buckets", "from 1 to 4096" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'native': {'factor': 1.1}}]}",
          "$.families[0].native.factor", "unknown key" },
    };

    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *b, cfgnative, refuses_what_a_native_histogram_cannot_mean)
{
    must_refuse(b->json, b->path, b->msg);
}
