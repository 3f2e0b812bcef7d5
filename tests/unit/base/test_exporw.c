/*
 * The remote write body (EXPO_REMOTE_WRITE), read back with the decoder protoc-c generates
 * from prompb: one TimeSeries a sample, named and labelled as Prometheus stores a scrape
 * of the text format, labels sorted by name, empty values left out, every sample at the
 * interval's timestamp, and a native histogram as a Histogram of its own series.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <prompb/remote.pb-c.h>
#include <stdio.h>
#include <string.h>

#include "base/expo.h"

typedef Prometheus__TimeSeries series;

static Prometheus__WriteRequest *decode(const struct buf *b)
{
    Prometheus__WriteRequest *w =
        prometheus__write_request__unpack(NULL, b->len, (const uint8_t *)b->ptr);

    cr_assert_not_null(w, "the body does not decode");
    return w;
}

/* "k=v,k=v" of t's labels, in the order sent. */
static void labels_of(const series *t, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < t->n_labels && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s=%s", i ? "," : "", t->labels[i]->name,
                              t->labels[i]->value);
}

static void assert_series(const series *t, const char *labels, double value)
{
    char got[512];

    labels_of(t, got, sizeof got);
    cr_assert_str_eq(got, labels);
    cr_assert_eq(t->n_samples, 1, "%s", labels);
    cr_assert_eq(t->samples[0]->timestamp, 1700000000123, "%s", labels);
    cr_assert_eq(t->samples[0]->value, value, "%s: %g, want %g", labels, t->samples[0]->value,
                 value);
}

Test(exporw, every_kind_of_sample_is_a_series_as_prometheus_stores_it)
{
    static const double les[2] = { 0.1, 1 };
    static const char bounds[2][32] = { "0.1", "1" };
    static const unsigned char lens[2] = { 3, 1 };
    static const uint64_t counts[3] = { 1, 2, 3 };
    static const double qs[1] = { 0.5 }, qv[1] = { 0.2 };
    const struct expo_label l[2] = { { "method", "GET", 3 }, { "Zone", "", 0 } };
    const struct expo_label c = { "host", "a", 1 };
    struct buf b = BUF_INIT;
    Prometheus__WriteRequest *w;
    struct expo e;

    expo_init(&e, &b, EXPO_REMOTE_WRITE);
    e.timestamp_ms = 1700000000123;
    e.const_labels = &c;
    e.nconst = 1;
    expo_family(&e, "requests_total", EXPO_COUNTER, "Requests.", "");
    e.created = 1520430000.5; /* not sent */
    expo_sample(&e, "_total", l, 2, 3);
    expo_family(&e, "rpc_seconds", EXPO_HISTOGRAM, NULL, NULL);
    expo_histogram(&e, l, 1, les, bounds, lens, 2, counts, 4.5, 6);
    expo_family(&e, "q_seconds", EXPO_SUMMARY, NULL, NULL);
    expo_summary(&e, NULL, 0, qs, bounds, lens, 1, qv, 1, 2);
    expo_family(&e, "breaker", EXPO_STATESET, NULL, NULL);
    expo_state(&e, NULL, 0, "open", 4, 1);
    expo_eof(&e);
    w = decode(&b);
    cr_assert_eq(w->n_timeseries, 1 + 5 + 3 + 1);
    assert_series(w->timeseries[0], "__name__=requests_total,host=a,method=GET", 3);
    assert_series(w->timeseries[1], "__name__=rpc_seconds_bucket,host=a,le=0.1,method=GET", 1);
    assert_series(w->timeseries[2], "__name__=rpc_seconds_bucket,host=a,le=1,method=GET", 3);
    assert_series(w->timeseries[3], "__name__=rpc_seconds_bucket,host=a,le=+Inf,method=GET", 6);
    assert_series(w->timeseries[4], "__name__=rpc_seconds_sum,host=a,method=GET", 4.5);
    assert_series(w->timeseries[5], "__name__=rpc_seconds_count,host=a,method=GET", 6);
    assert_series(w->timeseries[6], "__name__=q_seconds,host=a,quantile=0.1", 0.2);
    assert_series(w->timeseries[7], "__name__=q_seconds_sum,host=a", 1);
    assert_series(w->timeseries[9], "__name__=breaker,breaker=open,host=a", 1);
    prometheus__write_request__free_unpacked(w, NULL);
    buf_release(&b);
}

static const struct expo_span one_pos[1] = { { 1, 2 } };
static const int64_t one_dpos[2] = { 2, -1 };
static const struct expo_native one_native = { .count = 4,
                                               .sum = 3.5,
                                               .schema = 0,
                                               .zero_threshold = 0x1p-128,
                                               .zero_count = 1,
                                               .spans = { NULL, one_pos },
                                               .nspans = { 0, 1 },
                                               .deltas = { NULL, one_dpos },
                                               .ndeltas = { 0, 2 } };

/* A histogram with native buckets written with rw_native as given; classic: 1 bound. */
static Prometheus__WriteRequest *write_native(struct buf *b, int rw_native, size_t nb)
{
    static const double les[1] = { 1 };
    static const char bounds[1][32] = { "1" };
    static const unsigned char lens[1] = { 1 };
    static const uint64_t counts[2] = { 3, 1 };
    struct expo e;

    expo_init(&e, b, EXPO_REMOTE_WRITE);
    e.timestamp_ms = 1700000000123;
    e.rw_native = rw_native;
    expo_family(&e, "h_seconds", EXPO_HISTOGRAM, NULL, NULL);
    e.native = &one_native;
    expo_histogram(&e, NULL, 0, les, bounds, lens, nb, nb ? counts : counts + 1, 3.5, 4);
    e.native = NULL;
    cr_assert_eq(e.rw_histograms, rw_native ? 1 : 0);
    cr_assert_eq(e.rw_samples, rw_native && nb == 0 ? 0 : nb + 3);
    return decode(b);
}

Test(exporw, native_buckets_go_only_to_a_target_that_sends_them)
{
    struct buf b = BUF_INIT;
    Prometheus__WriteRequest *w;

    w = write_native(&b, 0, 0);
    cr_assert_eq(w->n_timeseries, 3, "+Inf, _sum, _count: the text exposition's view");
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(w->timeseries[i]->n_histograms, 0);
    prometheus__write_request__free_unpacked(w, NULL);
    buf_reset(&b);
    w = write_native(&b, 1, 0);
    cr_assert_eq(w->n_timeseries, 1, "native buckets alone: what a native scrape stores");
    cr_assert_eq(w->timeseries[0]->n_histograms, 1);
    prometheus__write_request__free_unpacked(w, NULL);
    buf_reset(&b);
    w = write_native(&b, 1, 1);
    cr_assert_eq(w->n_timeseries, 4 + 1, "both kinds: the classic series and the native one");
    cr_assert_eq(w->timeseries[4]->n_histograms, 1);
    prometheus__write_request__free_unpacked(w, NULL);
    buf_release(&b);
}

Test(exporw, external_labels_go_where_the_series_has_none_of_the_name)
{
    const struct expo_label ext[2] = { { "env", "prod", 4 }, { "host", "edge-1", 6 } };
    const struct expo_label l = { "host", "web", 3 };
    struct buf b = BUF_INIT;
    Prometheus__WriteRequest *w;
    struct expo e;

    expo_init(&e, &b, EXPO_REMOTE_WRITE);
    e.timestamp_ms = 1700000000123;
    e.extern_labels = ext;
    e.nextern = 2;
    expo_family(&e, "up", EXPO_GAUGE, NULL, NULL);
    expo_sample(&e, "", &l, 1, 1);
    expo_sample(&e, "", NULL, 0, 2);
    w = decode(&b);
    cr_assert_eq(w->n_timeseries, 2);
    assert_series(w->timeseries[0], "__name__=up,env=prod,host=web", 1);
    assert_series(w->timeseries[1], "__name__=up,env=prod,host=edge-1", 2);
    prometheus__write_request__free_unpacked(w, NULL);
    buf_release(&b);
}

Test(exporw, a_native_histogram_is_one_more_series_holding_a_histogram)
{
    static const struct expo_span pos[1] = { { 1, 2 } };
    static const int64_t dpos[2] = { 2, -1 };
    const struct expo_native x = { .count = 4,
                                   .sum = 3.5,
                                   .schema = 0,
                                   .zero_threshold = 0x1p-128,
                                   .zero_count = 1,
                                   .spans = { NULL, pos },
                                   .nspans = { 0, 1 },
                                   .deltas = { NULL, dpos },
                                   .ndeltas = { 0, 2 } };
    struct buf b = BUF_INIT;
    Prometheus__WriteRequest *w;
    const Prometheus__Histogram *h;
    struct expo e;
    char got[128];

    expo_init(&e, &b, EXPO_REMOTE_WRITE);
    e.timestamp_ms = 1700000000123;
    e.rw_native = 1;
    expo_family(&e, "h_seconds", EXPO_HISTOGRAM, NULL, NULL);
    e.native = &x;
    expo_histogram(&e, NULL, 0, (const double[]){ 1 }, (const char[][32]){ "1" },
                   (const unsigned char[]){ 1 }, 1, (const uint64_t[]){ 3, 1 }, 3.5, 4);
    e.native = NULL;
    w = decode(&b);
    cr_assert_eq(w->n_timeseries, 4 + 1, "1, +Inf, _sum, _count, then the native one");
    labels_of(w->timeseries[4], got, sizeof got);
    cr_assert_str_eq(got, "__name__=h_seconds");
    cr_assert_eq(w->timeseries[4]->n_samples, 0);
    cr_assert_eq(w->timeseries[4]->n_histograms, 1);
    h = w->timeseries[4]->histograms[0];
    cr_assert_eq(h->count_case, PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT);
    cr_assert_eq(h->count_int, 4);
    cr_assert_eq(h->zero_count_int, 1);
    cr_assert_eq(h->sum, 3.5);
    cr_assert_eq(h->schema, 0);
    cr_assert_eq(h->n_positive_spans, 1);
    cr_assert_eq(h->positive_spans[0]->offset, 1);
    cr_assert_eq(h->positive_spans[0]->length, 2);
    cr_assert_eq(h->n_positive_deltas, 2);
    cr_assert_eq(h->positive_deltas[1], -1);
    cr_assert_eq(h->n_negative_spans, 0);
    cr_assert_eq(h->timestamp, 1700000000123);
    prometheus__write_request__free_unpacked(w, NULL);
    buf_release(&b);
}
