/*
 * The delimited protobuf exposition (EXPO_PROTOBUF), read back with the decoder protoc-c
 * generates from metrics.proto: each message's length, each family's name, help and type
 * as client_golang writes them, every kind of series, the constant labels, created
 * timestamps, native spans and deltas on both sides, and a family cut by a flush.
 */
#include <criterion/criterion.h>

#include <io/prometheus/client/metrics.pb-c.h>
#include <math.h>
#include <string.h>

#include "base/expo.h"

typedef Io__Prometheus__Client__MetricFamily family;

#define MAX_FAMILIES 16

/* Split body into its delimited messages, each unpacked into out; returns how many. */
static size_t read_all(const struct buf *body, family **out)
{
    size_t pos = 0, n = 0;

    while (pos < body->len) {
        uint64_t len = 0;
        int shift = 0;
        uint8_t c;

        do {
            cr_assert_lt(pos, body->len, "a length cut short");
            c = (uint8_t)body->ptr[pos++];
            len |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
        } while (c & 0x80);
        cr_assert_leq(pos + len, body->len, "a message cut short");
        cr_assert_lt(n, MAX_FAMILIES);
        out[n] = io__prometheus__client__metric_family__unpack(NULL, len,
                                                               (const uint8_t *)body->ptr + pos);
        cr_assert_not_null(out[n], "message %zu does not decode", n);
        pos += len;
        n++;
    }
    return n;
}

static void free_all(family **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        io__prometheus__client__metric_family__free_unpacked(f[i], NULL);
}

Test(expopb, every_kind_of_family_reads_back)
{
    static const double les[2] = { 0.1, 1 };
    static const char bounds[2][32] = { "0.1", "1" };
    static const unsigned char lens[2] = { 3, 1 };
    static const uint64_t counts[3] = { 1, 2, 3 };
    static const double qs[2] = { 0.5, 0.99 }, qv[2] = { 0.2, NAN };
    const struct expo_label l = { "method", "GET", 3 }, c = { "host", "a", 1 };
    struct buf b = BUF_INIT;
    family *f[MAX_FAMILIES];
    struct expo e;
    size_t n;

    expo_init(&e, &b, EXPO_PROTOBUF);
    expo_family(&e, "requests_total", EXPO_COUNTER, "Requests.", "");
    e.created = 1520430000.5;
    e.const_labels = &c;
    e.nconst = 1;
    expo_sample(&e, "_total", &l, 1, 3);
    e.const_labels = NULL;
    e.nconst = 0;
    expo_scalar(&e, "depth", EXPO_GAUGE, NULL, NULL, -2);
    expo_family(&e, "rpc_seconds", EXPO_HISTOGRAM, "Latency.", "seconds");
    e.created = 0;
    expo_histogram(&e, &l, 1, les, bounds, lens, 2, counts, 4.5, 6);
    expo_family(&e, "rpc_q_seconds", EXPO_SUMMARY, NULL, NULL);
    expo_summary(&e, NULL, 0, qs, bounds, lens, 2, qv, 1, 2);
    expo_family(&e, "build", EXPO_INFO, NULL, NULL);
    expo_sample(&e, "_info", &l, 1, 1);
    expo_family(&e, "breaker", EXPO_STATESET, NULL, NULL);
    expo_state(&e, NULL, 0, "open", 4, 1);
    expo_family(&e, "never", EXPO_GAUGE, NULL, NULL); /* no series: no message */
    expo_eof(&e);
    n = read_all(&b, f);
    cr_assert_eq(n, 6);

    cr_assert_str_eq(f[0]->name, "requests_total");
    cr_assert_str_eq(f[0]->help, "Requests.");
    cr_assert_eq(f[0]->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER);
    cr_assert_eq(f[0]->n_metric, 1);
    cr_assert_eq(f[0]->metric[0]->n_label, 2);
    cr_assert_str_eq(f[0]->metric[0]->label[0]->name, "method");
    cr_assert_str_eq(f[0]->metric[0]->label[0]->value, "GET");
    cr_assert_str_eq(f[0]->metric[0]->label[1]->name, "host");
    cr_assert_eq(f[0]->metric[0]->counter->value, 3);
    cr_assert_eq(f[0]->metric[0]->counter->created_timestamp->seconds, 1520430000);
    cr_assert_eq(f[0]->metric[0]->counter->created_timestamp->nanos, 500000000);

    cr_assert_str_eq(f[1]->name, "depth");
    cr_assert_eq(f[1]->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE);
    cr_assert_eq(f[1]->metric[0]->gauge->value, -2);

    cr_assert_str_eq(f[2]->name, "rpc_seconds");
    cr_assert_str_eq(f[2]->unit, "seconds");
    cr_assert_eq(f[2]->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM);
    {
        const Io__Prometheus__Client__Histogram *h = f[2]->metric[0]->histogram;

        cr_assert_eq(h->sample_count, 6);
        cr_assert_eq(h->sample_sum, 4.5);
        cr_assert_eq(h->n_bucket, 2, "the finite buckets; +Inf is the count");
        cr_assert_eq(h->bucket[0]->upper_bound, 0.1);
        cr_assert_eq(h->bucket[0]->cumulative_count, 1);
        cr_assert_eq(h->bucket[1]->cumulative_count, 3);
        cr_assert_not(h->has_schema, "no native buckets: a classic histogram");
        cr_assert_null(h->created_timestamp);
    }

    cr_assert_eq(f[3]->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY);
    cr_assert_eq(f[3]->metric[0]->summary->n_quantile, 2);
    cr_assert_eq(f[3]->metric[0]->summary->quantile[1]->quantile, 0.99);
    cr_assert(isnan(f[3]->metric[0]->summary->quantile[1]->value));

    cr_assert_str_eq(f[4]->name, "build_info");
    cr_assert_eq(f[4]->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE);

    cr_assert_str_eq(f[5]->name, "breaker");
    cr_assert_str_eq(f[5]->metric[0]->label[0]->name, "breaker");
    cr_assert_str_eq(f[5]->metric[0]->label[0]->value, "open");
    free_all(f, n);
    buf_release(&b);
}

Test(expopb, native_spans_and_deltas_on_both_sides)
{
    static const struct expo_span neg[1] = { { -2, 1 } }, pos[2] = { { 0, 2 }, { 3, 1 } };
    static const int64_t dneg[1] = { 4 }, dpos[3] = { 1, 1, -1 };
    static const uint64_t counts[1] = { 9 };
    const struct expo_native x = { .count = 9,
                                   .sum = 3.5,
                                   .schema = 3,
                                   .zero_threshold = 0x1p-128,
                                   .zero_count = 1,
                                   .spans = { neg, pos },
                                   .nspans = { 1, 2 },
                                   .deltas = { dneg, dpos },
                                   .ndeltas = { 1, 3 } };
    struct buf b = BUF_INIT;
    family *f[MAX_FAMILIES];
    const Io__Prometheus__Client__Histogram *h;
    struct expo e;

    expo_init(&e, &b, EXPO_PROTOBUF);
    expo_family(&e, "h_seconds", EXPO_HISTOGRAM, NULL, NULL);
    e.native = &x;
    expo_histogram(&e, NULL, 0, NULL, NULL, NULL, 0, counts, 2.5, 8); /* a classic count apart */
    e.native = NULL;
    expo_flush(&e);
    cr_assert_eq(read_all(&b, f), 1);
    h = f[0]->metric[0]->histogram;
    cr_assert_eq(h->n_bucket, 0, "native only");
    cr_assert_eq(h->schema, 3);
    cr_assert_eq(h->zero_threshold, 0x1p-128);
    cr_assert_eq(h->zero_count, 1);
    cr_assert_eq(h->n_negative_span, 1);
    cr_assert_eq(h->negative_span[0]->offset, -2);
    cr_assert_eq(h->negative_delta[0], 4);
    cr_assert_eq(h->n_positive_span, 2);
    cr_assert_eq(h->positive_span[1]->offset, 3);
    cr_assert_eq(h->positive_span[1]->length, 1);
    cr_assert_eq(h->n_positive_delta, 3);
    cr_assert_eq(h->positive_delta[2], -1);
    cr_assert_eq(h->sample_count, 9, "the native count: 4 + 1 + 4, what the buckets add up to");
    cr_assert_eq(h->sample_sum, 3.5);
    free_all(f, 1);
    buf_release(&b);
}

Test(expopb, a_flush_ends_the_message_and_the_family)
{
    struct buf b = BUF_INIT;
    family *f[MAX_FAMILIES];
    struct expo e;

    expo_init(&e, &b, EXPO_PROTOBUF);
    expo_family(&e, "g", EXPO_GAUGE, "G.", NULL);
    expo_sample1(&e, "", "k", "a", 1);
    expo_sample1(&e, "", "k", "b", 2);
    expo_flush(&e);
    expo_sample1(&e, "", "k", "c", 3); /* no family: dropped, as expo.h says */
    expo_family(&e, "g", EXPO_GAUGE, "G.", NULL);
    expo_sample1(&e, "", "k", "d", 4);
    expo_eof(&e);
    cr_assert_eq(read_all(&b, f), 2);
    cr_assert_eq(f[0]->n_metric, 2);
    cr_assert_eq(f[1]->n_metric, 1);
    cr_assert_str_eq(f[1]->name, "g");
    cr_assert_str_eq(f[1]->metric[0]->label[0]->value, "d");
    free_all(f, 2);
    buf_release(&b);
}
