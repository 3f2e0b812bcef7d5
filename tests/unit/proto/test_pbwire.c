/*
 * Prometheus's protobuf wire formats, through the C that protoc-c generates at build time
 * from the upstream .proto files (proto/upstream, the ustatsd_pb library) and snappy:
 *
 * - the protobuf exposition (encoding=delimited): a histogram MetricFamily holding a
 *   native histogram and classic buckets, each family a varint length then the message;
 * - remote write 1.0: a WriteRequest of a float series and a native-histogram series with
 *   their metadata, packed, snappy-compressed in the block format and back;
 * - input cut short is refused (NULL), never read past (the cut copies are exact-size heap
 *   buffers, so AddressSanitizer sees any read past their end).
 *
 * Every field set is checked after the round trip, and so is the repacked message: the
 * same bytes.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <io/prometheus/client/metrics.pb-c.h>
#include <prompb/remote.pb-c.h>
#include <protobuf-c/protobuf-c.h>
#include <snappy-c.h>

/* The length prefix of encoding=delimited (protobuf's writeDelimitedTo): the message's size
 * as a base-128 varint, low 7 bits first, the high bit set on every byte but the last.
 * protobuf-c exports no varint helper; this is framing around the generated pack, not an
 * encoder. Writes at most 10 bytes; returns how many. */
static size_t varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Reads the varint at in[0..len): its length in bytes, or 0 when it is cut short or longer
 * than 10 bytes. */
static size_t varint_get(const uint8_t *in, size_t len, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        r |= (uint64_t)(in[i] & 0x7f) << (7 * i);
        if (!(in[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

/* One native histogram, the same in both formats: schema 3 (buckets 2^(1/8) apart), the
 * zero bucket 2^-128 wide (the Go client's default) holding 2 observations; below zero one
 * span of 2 buckets, above zero two spans (the second after a gap), the counts as deltas
 * (3 and 7 observations). 12 observations, summing to 17.5. Offsets are negative and
 * positive, deltas too: zigzag (sint32, sint64) both ways. */
#define SCHEMA         3
#define ZERO_THRESHOLD 0x1p-128
#define ZERO_COUNT     2
#define COUNT          12
#define SUM            17.5
static const struct {
    int32_t offset;
    uint32_t length;
} NEG_SPANS[] = { { 1, 2 } }, POS_SPANS[] = { { -3, 2 }, { 4, 1 } };
static const int64_t NEG_DELTAS[] = { 1, 1 };
static const int64_t POS_DELTAS[] = { 2, -1, 3 };
#define N_NEG_SPANS  (sizeof NEG_SPANS / sizeof NEG_SPANS[0])
#define N_POS_SPANS  (sizeof POS_SPANS / sizeof POS_SPANS[0])
#define N_NEG_DELTAS (sizeof NEG_DELTAS / sizeof NEG_DELTAS[0])
#define N_POS_DELTAS (sizeof POS_DELTAS / sizeof POS_DELTAS[0])

/* The classic buckets beside it: cumulative counts by inclusive upper bound, no +Inf. */
static const struct {
    double le;
    uint64_t count;
} BUCKETS[] = { { 0.25, 4 }, { 1, 7 }, { 4, 11 } };
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

#define T_MS       1700000000456LL
#define CREATED_S  1700000000LL
#define CREATED_NS 123000000

/* ---- the protobuf exposition: io.prometheus.client.MetricFamily ---- */

struct expo {
    Io__Prometheus__Client__MetricFamily family;
    Io__Prometheus__Client__Metric metric, *metrics[1];
    Io__Prometheus__Client__LabelPair labels[2], *label_ptrs[2];
    Io__Prometheus__Client__Histogram hist;
    Google__Protobuf__Timestamp created;
    Io__Prometheus__Client__Bucket buckets[N_BUCKETS], *bucket_ptrs[N_BUCKETS];
    Io__Prometheus__Client__BucketSpan neg[N_NEG_SPANS], *neg_ptrs[N_NEG_SPANS];
    Io__Prometheus__Client__BucketSpan pos[N_POS_SPANS], *pos_ptrs[N_POS_SPANS];
    int64_t neg_deltas[N_NEG_DELTAS], pos_deltas[N_POS_DELTAS];

    /* a second family, a counter, for the second frame of the stream */
    Io__Prometheus__Client__MetricFamily counter_family;
    Io__Prometheus__Client__Metric counter_metric, *counter_metrics[1];
    Io__Prometheus__Client__Counter counter;
};

static const char *const LABELS[2][2] = { { "method", "GET" }, { "route", "/v1/images" } };

static void expo_build(struct expo *e)
{
    io__prometheus__client__metric_family__init(&e->family);
    e->family.name = "http_request_duration_seconds";
    e->family.help = "Duration of HTTP requests.";
    e->family.has_type = 1;
    e->family.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM;
    e->family.n_metric = 1;
    e->family.metric = e->metrics;
    e->metrics[0] = &e->metric;

    io__prometheus__client__metric__init(&e->metric);
    for (size_t i = 0; i < 2; i++) {
        io__prometheus__client__label_pair__init(&e->labels[i]);
        e->labels[i].name = (char *)LABELS[i][0];
        e->labels[i].value = (char *)LABELS[i][1];
        e->label_ptrs[i] = &e->labels[i];
    }
    e->metric.n_label = 2;
    e->metric.label = e->label_ptrs;
    e->metric.has_timestamp_ms = 1;
    e->metric.timestamp_ms = T_MS;
    e->metric.histogram = &e->hist;

    io__prometheus__client__histogram__init(&e->hist);
    e->hist.has_sample_count = 1;
    e->hist.sample_count = COUNT;
    e->hist.has_sample_sum = 1;
    e->hist.sample_sum = SUM;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        io__prometheus__client__bucket__init(&e->buckets[i]);
        e->buckets[i].has_cumulative_count = 1;
        e->buckets[i].cumulative_count = BUCKETS[i].count;
        e->buckets[i].has_upper_bound = 1;
        e->buckets[i].upper_bound = BUCKETS[i].le;
        e->bucket_ptrs[i] = &e->buckets[i];
    }
    e->hist.n_bucket = N_BUCKETS;
    e->hist.bucket = e->bucket_ptrs;
    google__protobuf__timestamp__init(&e->created);
    e->created.seconds = CREATED_S;
    e->created.nanos = CREATED_NS;
    e->hist.created_timestamp = &e->created;

    e->hist.has_schema = 1;
    e->hist.schema = SCHEMA;
    e->hist.has_zero_threshold = 1;
    e->hist.zero_threshold = ZERO_THRESHOLD;
    e->hist.has_zero_count = 1;
    e->hist.zero_count = ZERO_COUNT;
    for (size_t i = 0; i < N_NEG_SPANS; i++) {
        io__prometheus__client__bucket_span__init(&e->neg[i]);
        e->neg[i].has_offset = 1;
        e->neg[i].offset = NEG_SPANS[i].offset;
        e->neg[i].has_length = 1;
        e->neg[i].length = NEG_SPANS[i].length;
        e->neg_ptrs[i] = &e->neg[i];
    }
    for (size_t i = 0; i < N_POS_SPANS; i++) {
        io__prometheus__client__bucket_span__init(&e->pos[i]);
        e->pos[i].has_offset = 1;
        e->pos[i].offset = POS_SPANS[i].offset;
        e->pos[i].has_length = 1;
        e->pos[i].length = POS_SPANS[i].length;
        e->pos_ptrs[i] = &e->pos[i];
    }
    memcpy(e->neg_deltas, NEG_DELTAS, sizeof NEG_DELTAS);
    memcpy(e->pos_deltas, POS_DELTAS, sizeof POS_DELTAS);
    e->hist.n_negative_span = N_NEG_SPANS;
    e->hist.negative_span = e->neg_ptrs;
    e->hist.n_negative_delta = N_NEG_DELTAS;
    e->hist.negative_delta = e->neg_deltas;
    e->hist.n_positive_span = N_POS_SPANS;
    e->hist.positive_span = e->pos_ptrs;
    e->hist.n_positive_delta = N_POS_DELTAS;
    e->hist.positive_delta = e->pos_deltas;

    io__prometheus__client__metric_family__init(&e->counter_family);
    e->counter_family.name = "ustatsd_lines_received_total";
    e->counter_family.has_type = 1;
    e->counter_family.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER;
    e->counter_family.n_metric = 1;
    e->counter_family.metric = e->counter_metrics;
    e->counter_metrics[0] = &e->counter_metric;
    io__prometheus__client__metric__init(&e->counter_metric);
    io__prometheus__client__counter__init(&e->counter);
    e->counter.has_value = 1;
    e->counter.value = 42;
    e->counter_metric.counter = &e->counter;
}

static void check_expo_spans(size_t n, Io__Prometheus__Client__BucketSpan **got, size_t want_n,
                             int negative)
{
    cr_assert_eq(n, want_n);
    for (size_t i = 0; i < n; i++) {
        int32_t offset = negative ? NEG_SPANS[i].offset : POS_SPANS[i].offset;
        uint32_t length = negative ? NEG_SPANS[i].length : POS_SPANS[i].length;
        cr_assert(got[i]->has_offset && got[i]->has_length);
        cr_assert_eq(got[i]->offset, offset, "span %zu", i);
        cr_assert_eq(got[i]->length, length, "span %zu", i);
    }
}

static void check_expo_family(const Io__Prometheus__Client__MetricFamily *f)
{
    cr_assert_str_eq(f->name, "http_request_duration_seconds");
    cr_assert_str_eq(f->help, "Duration of HTTP requests.");
    cr_assert(f->has_type);
    cr_assert_eq(f->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM);
    cr_assert_null(f->unit);
    cr_assert_eq(f->n_metric, 1);

    const Io__Prometheus__Client__Metric *m = f->metric[0];
    cr_assert_eq(m->n_label, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_str_eq(m->label[i]->name, LABELS[i][0]);
        cr_assert_str_eq(m->label[i]->value, LABELS[i][1]);
    }
    cr_assert(m->has_timestamp_ms);
    cr_assert_eq(m->timestamp_ms, T_MS);
    cr_assert(!m->gauge && !m->counter && !m->summary && !m->untyped);
    cr_assert_not_null(m->histogram);

    const Io__Prometheus__Client__Histogram *h = m->histogram;
    cr_assert(h->has_sample_count && !h->has_sample_count_float);
    cr_assert_eq(h->sample_count, COUNT);
    cr_assert(h->has_sample_sum);
    cr_assert_eq(h->sample_sum, SUM);
    cr_assert_eq(h->n_bucket, N_BUCKETS);
    for (size_t i = 0; i < N_BUCKETS; i++) {
        const Io__Prometheus__Client__Bucket *b = h->bucket[i];
        cr_assert(b->has_cumulative_count && b->has_upper_bound && !b->has_cumulative_count_float);
        cr_assert_eq(b->cumulative_count, BUCKETS[i].count, "bucket %zu", i);
        cr_assert_eq(b->upper_bound, BUCKETS[i].le, "bucket %zu", i);
        cr_assert_null(b->exemplar);
    }
    cr_assert_not_null(h->created_timestamp);
    cr_assert_eq(h->created_timestamp->seconds, CREATED_S);
    cr_assert_eq(h->created_timestamp->nanos, CREATED_NS);

    cr_assert(h->has_schema);
    cr_assert_eq(h->schema, SCHEMA);
    cr_assert(h->has_zero_threshold);
    cr_assert_eq(h->zero_threshold, ZERO_THRESHOLD, "zero_threshold %a", h->zero_threshold);
    cr_assert(h->has_zero_count && !h->has_zero_count_float);
    cr_assert_eq(h->zero_count, ZERO_COUNT);
    check_expo_spans(h->n_negative_span, h->negative_span, N_NEG_SPANS, 1);
    check_expo_spans(h->n_positive_span, h->positive_span, N_POS_SPANS, 0);
    cr_assert_eq(h->n_negative_delta, N_NEG_DELTAS);
    for (size_t i = 0; i < N_NEG_DELTAS; i++)
        cr_assert_eq(h->negative_delta[i], NEG_DELTAS[i], "negative delta %zu", i);
    cr_assert_eq(h->n_positive_delta, N_POS_DELTAS);
    for (size_t i = 0; i < N_POS_DELTAS; i++)
        cr_assert_eq(h->positive_delta[i], POS_DELTAS[i], "positive delta %zu", i);
    cr_assert_eq(h->n_negative_count, 0);
    cr_assert_eq(h->n_positive_count, 0);
    cr_assert_eq(h->n_exemplars, 0);
}

static void check_counter_family(const Io__Prometheus__Client__MetricFamily *f)
{
    cr_assert_str_eq(f->name, "ustatsd_lines_received_total");
    cr_assert_null(f->help);
    cr_assert(f->has_type);
    cr_assert_eq(f->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER);
    cr_assert_eq(f->n_metric, 1);
    cr_assert_eq(f->metric[0]->n_label, 0);
    cr_assert(!f->metric[0]->has_timestamp_ms && !f->metric[0]->histogram);
    cr_assert_not_null(f->metric[0]->counter);
    cr_assert(f->metric[0]->counter->has_value);
    cr_assert_eq(f->metric[0]->counter->value, 42);
    cr_assert_null(f->metric[0]->counter->exemplar);
}

/* Appends one frame of encoding=delimited to out at *used: the varint size, the message. */
static void put_frame(uint8_t *out, size_t *used, const Io__Prometheus__Client__MetricFamily *f)
{
    size_t size = io__prometheus__client__metric_family__get_packed_size(f);
    *used += varint_put(out + *used, size);
    cr_assert_eq(io__prometheus__client__metric_family__pack(f, out + *used), size);
    *used += size;
}

/* Unpacks the frame at in[*at..len) and moves *at past it; NULL when the frame is cut
 * short or does not unpack. */
static Io__Prometheus__Client__MetricFamily *get_frame(const uint8_t *in, size_t len, size_t *at)
{
    uint64_t size = 0;
    size_t pre = varint_get(in + *at, len - *at, &size);
    if (pre == 0 || size > len - *at - pre)
        return NULL;
    Io__Prometheus__Client__MetricFamily *f =
        io__prometheus__client__metric_family__unpack(NULL, (size_t)size, in + *at + pre);
    if (f)
        *at += pre + (size_t)size;
    return f;
}

Test(pbwire, exposition_native_histogram_delimited_round_trip)
{
    struct expo e;
    expo_build(&e);
    size_t cap = 20 + io__prometheus__client__metric_family__get_packed_size(&e.family) +
                 io__prometheus__client__metric_family__get_packed_size(&e.counter_family);
    uint8_t *stream = malloc(cap);
    cr_assert_not_null(stream);
    size_t len = 0;
    put_frame(stream, &len, &e.family);
    put_frame(stream, &len, &e.counter_family);
    cr_assert_leq(len, cap);

    size_t at = 0;
    Io__Prometheus__Client__MetricFamily *hist = get_frame(stream, len, &at);
    cr_assert_not_null(hist, "the histogram family does not unpack");
    check_expo_family(hist);
    Io__Prometheus__Client__MetricFamily *counter = get_frame(stream, len, &at);
    cr_assert_not_null(counter, "the counter family does not unpack");
    check_counter_family(counter);
    cr_assert_eq(at, len, "the stream ends after its two frames");

    /* Repacked, the unpacked family is the same bytes as the first frame. */
    uint64_t size = 0;
    size_t pre = varint_get(stream, len, &size);
    cr_assert_gt(pre, 0);
    cr_assert_eq(io__prometheus__client__metric_family__get_packed_size(hist), size);
    uint8_t *again = malloc((size_t)size);
    cr_assert_not_null(again);
    io__prometheus__client__metric_family__pack(hist, again);
    cr_assert(memcmp(again, stream + pre, (size_t)size) == 0, "repacked bytes differ");

    /* A frame whose size runs past the end of the stream, and a cut size, are not frames. */
    at = 0;
    cr_assert_null(get_frame(stream, pre + (size_t)size - 1, &at));
    cr_assert_eq(at, 0);
    const uint8_t cut_varint[] = { 0x80 };
    cr_assert_null(get_frame(cut_varint, sizeof cut_varint, &at));

    free(again);
    io__prometheus__client__metric_family__free_unpacked(counter, NULL);
    io__prometheus__client__metric_family__free_unpacked(hist, NULL);
    free(stream);
}

/* ---- remote write 1.0: prometheus.WriteRequest ---- */

struct rw {
    Prometheus__WriteRequest req;
    Prometheus__TimeSeries series[2], *series_ptrs[2];
    Prometheus__Label labels[5], *float_labels[3], *hist_labels[2];
    Prometheus__Sample sample, *samples[1];
    Prometheus__Histogram hist, *hists[1];
    Prometheus__BucketSpan neg[N_NEG_SPANS], *neg_ptrs[N_NEG_SPANS];
    Prometheus__BucketSpan pos[N_POS_SPANS], *pos_ptrs[N_POS_SPANS];
    int64_t neg_deltas[N_NEG_DELTAS], pos_deltas[N_POS_DELTAS];
    Prometheus__MetricMetadata meta, *metas[1];
};

/* The labels of both series, sorted by name as remote write wants them: the float series'
 * three, then the histogram series' two. */
static const char *const RW_LABELS[5][2] = {
    { "__name__", "ustatsd_lines_received_total" },
    { "instance", "localhost:9464" },
    { "job", "ustatsd" },
    { "__name__", "http_request_duration_seconds" },
    { "job", "imgsrv" },
};
#define SAMPLE_VALUE 42.5
#define SAMPLE_T_MS  1700000000123LL

static void rw_build(struct rw *w)
{
    for (size_t i = 0; i < 5; i++) {
        prometheus__label__init(&w->labels[i]);
        w->labels[i].name = (char *)RW_LABELS[i][0];
        w->labels[i].value = (char *)RW_LABELS[i][1];
    }
    for (size_t i = 0; i < 3; i++)
        w->float_labels[i] = &w->labels[i];
    for (size_t i = 0; i < 2; i++)
        w->hist_labels[i] = &w->labels[3 + i];

    prometheus__sample__init(&w->sample);
    w->sample.value = SAMPLE_VALUE;
    w->sample.timestamp = SAMPLE_T_MS;
    w->samples[0] = &w->sample;

    prometheus__histogram__init(&w->hist);
    w->hist.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
    w->hist.count_int = COUNT;
    w->hist.sum = SUM;
    w->hist.schema = SCHEMA;
    w->hist.zero_threshold = ZERO_THRESHOLD;
    w->hist.zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT;
    w->hist.zero_count_int = ZERO_COUNT;
    for (size_t i = 0; i < N_NEG_SPANS; i++) {
        prometheus__bucket_span__init(&w->neg[i]);
        w->neg[i].offset = NEG_SPANS[i].offset;
        w->neg[i].length = NEG_SPANS[i].length;
        w->neg_ptrs[i] = &w->neg[i];
    }
    for (size_t i = 0; i < N_POS_SPANS; i++) {
        prometheus__bucket_span__init(&w->pos[i]);
        w->pos[i].offset = POS_SPANS[i].offset;
        w->pos[i].length = POS_SPANS[i].length;
        w->pos_ptrs[i] = &w->pos[i];
    }
    memcpy(w->neg_deltas, NEG_DELTAS, sizeof NEG_DELTAS);
    memcpy(w->pos_deltas, POS_DELTAS, sizeof POS_DELTAS);
    w->hist.n_negative_spans = N_NEG_SPANS;
    w->hist.negative_spans = w->neg_ptrs;
    w->hist.n_negative_deltas = N_NEG_DELTAS;
    w->hist.negative_deltas = w->neg_deltas;
    w->hist.n_positive_spans = N_POS_SPANS;
    w->hist.positive_spans = w->pos_ptrs;
    w->hist.n_positive_deltas = N_POS_DELTAS;
    w->hist.positive_deltas = w->pos_deltas;
    w->hist.reset_hint = PROMETHEUS__HISTOGRAM__RESET_HINT__NO;
    w->hist.timestamp = T_MS;
    w->hists[0] = &w->hist;

    for (size_t i = 0; i < 2; i++) {
        prometheus__time_series__init(&w->series[i]);
        w->series_ptrs[i] = &w->series[i];
    }
    w->series[0].n_labels = 3;
    w->series[0].labels = w->float_labels;
    w->series[0].n_samples = 1;
    w->series[0].samples = w->samples;
    w->series[1].n_labels = 2;
    w->series[1].labels = w->hist_labels;
    w->series[1].n_histograms = 1;
    w->series[1].histograms = w->hists;

    prometheus__metric_metadata__init(&w->meta);
    w->meta.type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM;
    w->meta.metric_family_name = "http_request_duration_seconds";
    w->meta.help = "Duration of HTTP requests.";
    w->meta.unit = "seconds";
    w->metas[0] = &w->meta;

    prometheus__write_request__init(&w->req);
    w->req.n_timeseries = 2;
    w->req.timeseries = w->series_ptrs;
    w->req.n_metadata = 1;
    w->req.metadata = w->metas;
}

static void check_rw_spans(size_t n, Prometheus__BucketSpan **got, size_t want_n, int negative)
{
    cr_assert_eq(n, want_n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i]->offset, negative ? NEG_SPANS[i].offset : POS_SPANS[i].offset);
        cr_assert_eq(got[i]->length, negative ? NEG_SPANS[i].length : POS_SPANS[i].length);
    }
}

static void check_rw(const Prometheus__WriteRequest *r)
{
    cr_assert_eq(r->n_timeseries, 2);
    const Prometheus__TimeSeries *f = r->timeseries[0], *h = r->timeseries[1];

    cr_assert_eq(f->n_labels, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_str_eq(f->labels[i]->name, RW_LABELS[i][0]);
        cr_assert_str_eq(f->labels[i]->value, RW_LABELS[i][1]);
    }
    cr_assert_eq(f->n_samples, 1);
    cr_assert_eq(f->samples[0]->value, SAMPLE_VALUE);
    cr_assert_eq(f->samples[0]->timestamp, SAMPLE_T_MS);
    cr_assert_eq(f->n_histograms, 0);
    cr_assert_eq(f->n_exemplars, 0);

    cr_assert_eq(h->n_labels, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_str_eq(h->labels[i]->name, RW_LABELS[3 + i][0]);
        cr_assert_str_eq(h->labels[i]->value, RW_LABELS[3 + i][1]);
    }
    cr_assert_eq(h->n_samples, 0);
    cr_assert_eq(h->n_exemplars, 0);
    cr_assert_eq(h->n_histograms, 1);
    const Prometheus__Histogram *g = h->histograms[0];
    cr_assert_eq(g->count_case, PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT);
    cr_assert_eq(g->count_int, COUNT);
    cr_assert_eq(g->sum, SUM);
    cr_assert_eq(g->schema, SCHEMA);
    cr_assert_eq(g->zero_threshold, ZERO_THRESHOLD, "zero_threshold %a", g->zero_threshold);
    cr_assert_eq(g->zero_count_case, PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT);
    cr_assert_eq(g->zero_count_int, ZERO_COUNT);
    check_rw_spans(g->n_negative_spans, g->negative_spans, N_NEG_SPANS, 1);
    check_rw_spans(g->n_positive_spans, g->positive_spans, N_POS_SPANS, 0);
    cr_assert_eq(g->n_negative_deltas, N_NEG_DELTAS);
    for (size_t i = 0; i < N_NEG_DELTAS; i++)
        cr_assert_eq(g->negative_deltas[i], NEG_DELTAS[i], "negative delta %zu", i);
    cr_assert_eq(g->n_positive_deltas, N_POS_DELTAS);
    for (size_t i = 0; i < N_POS_DELTAS; i++)
        cr_assert_eq(g->positive_deltas[i], POS_DELTAS[i], "positive delta %zu", i);
    cr_assert_eq(g->n_negative_counts, 0);
    cr_assert_eq(g->n_positive_counts, 0);
    cr_assert_eq(g->reset_hint, PROMETHEUS__HISTOGRAM__RESET_HINT__NO);
    cr_assert_eq(g->timestamp, T_MS);

    cr_assert_eq(r->n_metadata, 1);
    const Prometheus__MetricMetadata *m = r->metadata[0];
    cr_assert_eq(m->type, PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM);
    cr_assert_str_eq(m->metric_family_name, "http_request_duration_seconds");
    cr_assert_str_eq(m->help, "Duration of HTTP requests.");
    cr_assert_str_eq(m->unit, "seconds");
}

Test(pbwire, remote_write_snappy_round_trip)
{
    struct rw w;
    rw_build(&w);
    size_t len = prometheus__write_request__get_packed_size(&w.req);
    uint8_t *packed = malloc(len);
    cr_assert_not_null(packed);
    cr_assert_eq(prometheus__write_request__pack(&w.req, packed), len);

    /* The body as sent: snappy's block format, which starts with the uncompressed length
     * as a varint (the framed format would start with its stream identifier, 0xff). */
    size_t zcap = snappy_max_compressed_length(len), zlen = zcap;
    char *z = malloc(zcap);
    cr_assert_not_null(z);
    cr_assert_eq(snappy_compress((const char *)packed, len, z, &zlen), SNAPPY_OK);
    cr_assert_eq(snappy_validate_compressed_buffer(z, zlen), SNAPPY_OK);
    uint64_t prefix = 0;
    cr_assert_gt(varint_get((const uint8_t *)z, zlen, &prefix), 0);
    cr_assert_eq(prefix, len);

    size_t ulen;
    cr_assert_eq(snappy_uncompressed_length(z, zlen, &ulen), SNAPPY_OK);
    cr_assert_eq(ulen, len);
    char *u = malloc(ulen);
    cr_assert_not_null(u);
    cr_assert_eq(snappy_uncompress(z, zlen, u, &ulen), SNAPPY_OK);
    cr_assert_eq(ulen, len);
    cr_assert(memcmp(u, packed, len) == 0);
    /* A compressed body cut short does not decompress. */
    size_t cut_len = len;
    cr_assert_neq(snappy_uncompress(z, zlen - 1, u, &cut_len), SNAPPY_OK);

    Prometheus__WriteRequest *r = prometheus__write_request__unpack(NULL, ulen, (const uint8_t *)u);
    cr_assert_not_null(r, "the write request does not unpack");
    check_rw(r);

    cr_assert_eq(prometheus__write_request__get_packed_size(r), len);
    uint8_t *again = malloc(len);
    cr_assert_not_null(again);
    prometheus__write_request__pack(r, again);
    cr_assert(memcmp(again, packed, len) == 0, "repacked bytes differ");

    free(again);
    prometheus__write_request__free_unpacked(r, NULL);
    free(u);
    free(z);
    free(packed);
}

/* ---- input cut short ---- */

/* The first cut bytes of packed, unpacked from a heap copy of exactly that size. */
static ProtobufCMessage *unpack_cut(const ProtobufCMessageDescriptor *d, const uint8_t *packed,
                                    size_t cut)
{
    uint8_t *copy = malloc(cut ? cut : 1);
    cr_assert_not_null(copy);
    memcpy(copy, packed, cut);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, cut, copy);
    free(copy);
    return m;
}

/* Every cut of packed[0..len) unpacks or is refused without a bad read (ASan watches),
 * and every cut strictly inside [from, len) is refused: a field there is cut short. */
static void check_cuts(const ProtobufCMessageDescriptor *d, const uint8_t *packed, size_t len,
                       size_t from)
{
    size_t refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        ProtobufCMessage *m = unpack_cut(d, packed, cut);
        if (cut > from)
            cr_assert_null(m, "%s cut to %zu of %zu bytes unpacks", d->name, cut, len);
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        else
            refused++;
    }
    cr_assert_geq(refused, len - from - 1);
}

/* The size of a length-delimited field of one message of size bytes: tag, length, bytes. */
static size_t field_size(size_t size)
{
    uint8_t scratch[10];
    return 1 + varint_put(scratch, size) + size;
}

Test(pbwire, truncated_messages_are_refused)
{
    /* The exposition's family: the metric (field 4) is its last field; any cut inside it,
     * native histogram included, is refused; cut before it, the family has no metric. */
    struct expo e;
    expo_build(&e);
    size_t len = io__prometheus__client__metric_family__get_packed_size(&e.family);
    uint8_t *packed = malloc(len);
    cr_assert_not_null(packed);
    io__prometheus__client__metric_family__pack(&e.family, packed);
    size_t metric_at = len - field_size(io__prometheus__client__metric__get_packed_size(&e.metric));
    check_cuts(&io__prometheus__client__metric_family__descriptor, packed, len, metric_at);
    cr_assert_null(io__prometheus__client__metric_family__unpack(NULL, len - 1, packed));
    Io__Prometheus__Client__MetricFamily *f =
        io__prometheus__client__metric_family__unpack(NULL, metric_at, packed);
    cr_assert_not_null(f);
    cr_assert_str_eq(f->name, "http_request_duration_seconds");
    cr_assert_eq(f->n_metric, 0);
    io__prometheus__client__metric_family__free_unpacked(f, NULL);
    free(packed);

    /* The write request: the metadata (field 3) comes last, after the histogram series;
     * cut inside either, it is refused; cut between them, it holds the two series. */
    struct rw w;
    rw_build(&w);
    len = prometheus__write_request__get_packed_size(&w.req);
    packed = malloc(len);
    cr_assert_not_null(packed);
    prometheus__write_request__pack(&w.req, packed);
    size_t meta_at = len - field_size(prometheus__metric_metadata__get_packed_size(&w.meta));
    size_t hist_at = meta_at - field_size(prometheus__time_series__get_packed_size(&w.series[1]));
    check_cuts(&prometheus__write_request__descriptor, packed, meta_at, hist_at);
    check_cuts(&prometheus__write_request__descriptor, packed, len, meta_at);
    cr_assert_null(prometheus__write_request__unpack(NULL, len - 1, packed));
    Prometheus__WriteRequest *r = prometheus__write_request__unpack(NULL, meta_at, packed);
    cr_assert_not_null(r);
    cr_assert_eq(r->n_timeseries, 2);
    cr_assert_eq(r->n_metadata, 0);
    prometheus__write_request__free_unpacked(r, NULL);
    r = prometheus__write_request__unpack(NULL, hist_at, packed);
    cr_assert_not_null(r);
    cr_assert_eq(r->n_timeseries, 1);
    cr_assert_eq(r->timeseries[0]->n_samples, 1);
    prometheus__write_request__free_unpacked(r, NULL);
    free(packed);
}
