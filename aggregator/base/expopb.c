#include "base/expopb.h"

#include <io/prometheus/client/metrics.pb-c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/exponame.h"
#include "base/mem.h"
#include "base/pbpack.h"

typedef Io__Prometheus__Client__MetricFamily pb_family;
typedef Io__Prometheus__Client__Metric pb_metric;
typedef Io__Prometheus__Client__LabelPair pb_label;

#define MAX_PAIRS EXPO_MAX_LABELS
/* The bytes of a family's series kept before they go out as a message of their own. */
#define FLUSH_BYTES (256 * 1024)

/* A series' labels as protobuf-c wants them, NUL-terminated: copied into one block. */
struct pairs {
    pb_label pair[MAX_PAIRS];
    pb_label *ptr[MAX_PAIRS];
    size_t n;
    char *text; /* the names and values, each NUL-terminated: small, or allocated */
    size_t used, cap;
    char small[1024];
};

static char *keep_text(struct pairs *p, const char *s, size_t len)
{
    char *t = p->text + p->used;

    memcpy(t, s, len);
    t[len] = '\0';
    p->used += len + 1;
    return t;
}

static void add_pair(struct pairs *p, const char *name, size_t name_len, const char *value,
                     size_t value_len)
{
    pb_label *l;

    if (p->n == MAX_PAIRS)
        return; /* never: render.c asserts the config's bounds fit */
    l = &p->pair[p->n];
    io__prometheus__client__label_pair__init(l);
    l->name = keep_text(p, name, name_len);
    l->value = keep_text(p, value, value_len);
    p->ptr[p->n++] = l;
}

/* The labels given, the constant ones, then xname="xval" when xname is not NULL. */
static void pairs_make(struct pairs *p, const struct expo *e, const struct expo_label *labels,
                       size_t n, const char *xname, size_t xname_len, const char *xval, size_t xlen)
{
    size_t i;

    p->cap = xname_len + xlen + 2;
    for (i = 0; i < n; i++)
        p->cap += strlen(labels[i].name) + labels[i].value_len + 2;
    for (i = 0; i < e->nconst; i++)
        p->cap += strlen(e->const_labels[i].name) + e->const_labels[i].value_len + 2;
    p->text = p->cap <= sizeof p->small ? p->small : mem_alloc(p->cap);
    p->used = 0;
    p->n = 0;
    for (i = 0; i < n; i++)
        add_pair(p, labels[i].name, strlen(labels[i].name), labels[i].value, labels[i].value_len);
    for (i = 0; i < e->nconst; i++)
        add_pair(p, e->const_labels[i].name, strlen(e->const_labels[i].name),
                 e->const_labels[i].value, e->const_labels[i].value_len);
    if (xname != NULL)
        add_pair(p, xname, xname_len, xval, xlen);
}

static void write_out(struct expo *e);

/*
 * m, its labels set here, as one more series of the current family: packed as a
 * MetricFamily holding only m, which is m's record of the repeated field "metric" and
 * nothing else (no name, help or type set), so that e->pbhead followed by these records is
 * the family's message.
 */
static void keep_metric(struct expo *e, pb_metric *m, struct pairs *p)
{
    pb_family one = IO__PROMETHEUS__CLIENT__METRIC_FAMILY__INIT;

    m->n_label = p->n;
    m->label = p->ptr;
    one.n_metric = 1;
    one.metric = &m;
    pbpack_append(&e->pb, &one.base);
    if (p->text != p->small)
        free(p->text);
    if (e->pb.len >= FLUSH_BYTES)
        write_out(e);
}

static void set_created(const struct expo *e, Google__Protobuf__Timestamp *ts,
                        Google__Protobuf__Timestamp **field)
{
    double ms;

    if (!(e->created > 0))
        return;
    ms = round(e->created * 1000.0);
    google__protobuf__timestamp__init(ts);
    ts->seconds = (int64_t)floor(ms / 1000.0);
    ts->nanos = (int32_t)((ms - (double)ts->seconds * 1000.0) * 1e6);
    *field = ts;
}

static Io__Prometheus__Client__MetricType type_of(enum expo_type t)
{
    switch (t) {
    case EXPO_COUNTER:
        return IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER;
    case EXPO_HISTOGRAM:
        return IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM;
    case EXPO_SUMMARY:
        return IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY;
    case EXPO_UNKNOWN:
        return IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED;
    case EXPO_GAUGE:
    case EXPO_STATESET:
    case EXPO_INFO:
        break;
    }
    return IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
}

void expopb_family(struct expo *e, const char *name, size_t len, enum expo_type type,
                   const char *help, const char *unit)
{
    pb_family f = IO__PROMETHEUS__CLIENT__METRIC_FAMILY__INIT;
    const char *suffix = type == EXPO_COUNTER ? "_total" : type == EXPO_INFO ? "_info" : "";
    size_t sl = strlen(suffix);
    char *full;

    expopb_flush(e);
    if (e->esc != EXPO_ESCAPE_ALLOW_UTF8 && !expo_legacy_name(name, len)) {
        len = expo_escape_name(e->esc_name, sizeof(e->esc_name), name, len, e->esc);
        name = e->esc_name;
    }
    e->type = type;
    e->name = name;
    e->name_len = len;
    full = mem_alloc(len + sl + 1);
    memcpy(full, name, len);
    memcpy(full + len, suffix, sl + 1);
    f.name = full;
    if (help != NULL && help[0] != '\0')
        f.help = (char *)help;
    f.has_type = 1;
    f.type = type_of(type);
    /* As OpenMetrics writes # UNIT: only for a name that ends in "_<unit>". */
    if (unit != NULL && unit[0] != '\0' && len > strlen(unit) + 1 &&
        memcmp(name + len - strlen(unit), unit, strlen(unit)) == 0 &&
        name[len - strlen(unit) - 1] == '_')
        f.unit = (char *)unit;
    e->pbhead.len = 0; /* empty already: expopb_flush() above */
    pbpack_append(&e->pbhead, &f.base);
    free(full);
}

void expopb_sample(struct expo *e, const char *suffix, const struct expo_label *labels, size_t n,
                   const char *xname, size_t xname_len, const char *xval, size_t xlen, double value)
{
    pb_metric m = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    Io__Prometheus__Client__Counter c = IO__PROMETHEUS__CLIENT__COUNTER__INIT;
    Io__Prometheus__Client__Gauge g = IO__PROMETHEUS__CLIENT__GAUGE__INIT;
    Io__Prometheus__Client__Untyped u = IO__PROMETHEUS__CLIENT__UNTYPED__INIT;
    Google__Protobuf__Timestamp ts;
    struct pairs p;

    (void)suffix;
    if (e->pbhead.len == 0 || e->type == EXPO_HISTOGRAM || e->type == EXPO_SUMMARY)
        return; /* no family started; a histogram's or summary's parts (expopb.h) */
    pairs_make(&p, e, labels, n, xname, xname_len, xval, xlen);
    if (e->type == EXPO_COUNTER) {
        c.has_value = 1;
        c.value = value;
        set_created(e, &ts, &c.created_timestamp);
        m.counter = &c;
    } else if (e->type == EXPO_UNKNOWN) {
        u.has_value = 1;
        u.value = value;
        m.untyped = &u;
    } else {
        g.has_value = 1;
        g.value = value;
        m.gauge = &g;
    }
    keep_metric(e, &m, &p);
}

/* One side's spans as BucketSpan messages, into spans (n of them) and ptrs. */
static void make_spans(const struct expo_span *in, size_t n,
                       Io__Prometheus__Client__BucketSpan *spans,
                       Io__Prometheus__Client__BucketSpan **ptrs)
{
    for (size_t i = 0; i < n; i++) {
        io__prometheus__client__bucket_span__init(&spans[i]);
        spans[i].has_offset = spans[i].has_length = 1;
        spans[i].offset = in[i].offset;
        spans[i].length = in[i].length;
        ptrs[i] = &spans[i];
    }
}

void expopb_histogram(struct expo *e, const struct expo_label *labels, size_t n, const double *les,
                      size_t nb, const uint64_t *counts, double sum, uint64_t count)
{
    pb_metric m = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    Io__Prometheus__Client__Histogram h = IO__PROMETHEUS__CLIENT__HISTOGRAM__INIT;
    Io__Prometheus__Client__Bucket b[EXPO_MAX_BUCKETS];
    Io__Prometheus__Client__Bucket *bp[EXPO_MAX_BUCKETS];
    Io__Prometheus__Client__BucketSpan *spans = NULL, **sptr = NULL;
    const struct expo_native *nh = e->native;
    Google__Protobuf__Timestamp ts;
    uint64_t cum = 0;
    struct pairs p;

    if (e->pbhead.len == 0)
        return;
    pairs_make(&p, e, labels, n, NULL, 0, NULL, 0);
    h.has_sample_count = h.has_sample_sum = 1;
    h.sample_count = count;
    h.sample_sum = sum;
    if (nb > EXPO_MAX_BUCKETS)
        nb = EXPO_MAX_BUCKETS;
    for (size_t i = 0; i < nb; i++) { /* the finite ones: +Inf is the count */
        cum += counts[i];
        io__prometheus__client__bucket__init(&b[i]);
        b[i].has_cumulative_count = b[i].has_upper_bound = 1;
        b[i].cumulative_count = cum;
        b[i].upper_bound = les[i];
        bp[i] = &b[i];
    }
    h.n_bucket = nb;
    h.bucket = bp;
    set_created(e, &ts, &h.created_timestamp);
    if (nh != NULL) {
        size_t all = nh->nspans[0] + nh->nspans[1];

        /* One count and sum for both kinds, as in Go: the native buckets add up to it. */
        h.sample_count = nh->count;
        h.sample_sum = nh->sum;
        h.has_schema = h.has_zero_threshold = h.has_zero_count = 1;
        h.schema = nh->schema;
        h.zero_threshold = nh->zero_threshold;
        h.zero_count = nh->zero_count;
        if (all > 0) {
            spans = mem_calloc(all, sizeof *spans);
            sptr = mem_calloc(all, sizeof *sptr);
            make_spans(nh->spans[0], nh->nspans[0], spans, sptr);
            make_spans(nh->spans[1], nh->nspans[1], spans + nh->nspans[0], sptr + nh->nspans[0]);
        }
        h.n_negative_span = nh->nspans[0];
        h.negative_span = sptr;
        h.n_negative_delta = nh->ndeltas[0];
        h.negative_delta = (int64_t *)nh->deltas[0];
        h.n_positive_span = nh->nspans[1];
        h.positive_span = sptr != NULL ? sptr + nh->nspans[0] : NULL;
        h.n_positive_delta = nh->ndeltas[1];
        h.positive_delta = (int64_t *)nh->deltas[1];
    }
    m.histogram = &h;
    keep_metric(e, &m, &p);
    free(spans);
    free(sptr);
}

void expopb_summary(struct expo *e, const struct expo_label *labels, size_t n, const double *qs,
                    size_t nq, const double *values, double sum, uint64_t count)
{
    pb_metric m = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    Io__Prometheus__Client__Summary s = IO__PROMETHEUS__CLIENT__SUMMARY__INIT;
    Io__Prometheus__Client__Quantile q[EXPO_MAX_BUCKETS];
    Io__Prometheus__Client__Quantile *qp[EXPO_MAX_BUCKETS];
    Google__Protobuf__Timestamp ts;
    struct pairs p;

    if (e->pbhead.len == 0)
        return;
    pairs_make(&p, e, labels, n, NULL, 0, NULL, 0);
    s.has_sample_count = s.has_sample_sum = 1;
    s.sample_count = count;
    s.sample_sum = sum;
    if (nq > EXPO_MAX_BUCKETS)
        nq = EXPO_MAX_BUCKETS;
    for (size_t i = 0; i < nq; i++) {
        io__prometheus__client__quantile__init(&q[i]);
        q[i].has_quantile = q[i].has_value = 1;
        q[i].quantile = qs[i];
        q[i].value = values[i];
        qp[i] = &q[i];
    }
    s.n_quantile = nq;
    s.quantile = qp;
    set_created(e, &ts, &s.created_timestamp);
    m.summary = &s;
    keep_metric(e, &m, &p);
}

/* The family's series kept so far as one message; the family goes on. */
static void write_out(struct expo *e)
{
    uint8_t len[10];
    size_t total = e->pbhead.len + e->pb.len, k = 0;

    if (e->pb.len > 0) {
        /* The delimited framing: the message's length as a base-128 varint, then it. */
        do {
            len[k] = (uint8_t)(total & 0x7f);
            total >>= 7;
            if (total != 0)
                len[k] |= 0x80;
            k++;
        } while (total != 0);
        buf_add(e->out, len, k);
        buf_add(e->out, e->pbhead.ptr, e->pbhead.len);
        buf_add(e->out, e->pb.ptr, e->pb.len);
    }
    e->pb.len = 0;
}

void expopb_flush(struct expo *e)
{
    write_out(e);
    buf_release(&e->pb);
    buf_release(&e->pbhead);
    e->type = EXPO_UNKNOWN;
}
