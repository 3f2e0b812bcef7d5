#include "base/exporw.h"

#include <prompb/remote.pb-c.h>
#include <prompb/types.pb-c.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/pbpack.h"

/* "__name__", then at most EXPO_MAX_LABELS (render.c asserts the config's bounds fit). */
#define MAX_LABELS (EXPO_MAX_LABELS + 1)

/* One series' labels as protobuf-c wants them, NUL-terminated, then sorted by name. */
struct series {
    Prometheus__Label label[MAX_LABELS];
    Prometheus__Label *ptr[MAX_LABELS];
    size_t n;
    char *text;
    size_t used, cap;
    char small[1024];
};

static void add(struct series *s, const char *name, size_t name_len, const char *value,
                size_t value_len)
{
    Prometheus__Label *l;

    /* An empty value is no label at all, as Prometheus reads one in a scrape. */
    if (value_len == 0 || s->n == MAX_LABELS)
        return;
    l = &s->label[s->n];
    prometheus__label__init(l);
    l->name = s->text + s->used;
    memcpy(l->name, name, name_len);
    l->name[name_len] = '\0';
    s->used += name_len + 1;
    l->value = s->text + s->used;
    memcpy(l->value, value, value_len);
    l->value[value_len] = '\0';
    s->used += value_len + 1;
    s->ptr[s->n++] = l;
}

/*
 * The series named e's family then suffix, with the labels given, the constant ones and
 * xname="xval" (xname NULL: none), sorted by name.
 */
static void series_make(struct series *s, const struct expo *e, const char *suffix,
                        const struct expo_label *labels, size_t n, const char *xname,
                        size_t xname_len, const char *xval, size_t xlen)
{
    size_t sl = strlen(suffix), i;
    Prometheus__Label *l;

    s->cap = e->name_len + sl + 1 + xname_len + xlen + 2;
    for (i = 0; i < n; i++)
        s->cap += strlen(labels[i].name) + labels[i].value_len + 2;
    for (i = 0; i < e->nconst; i++)
        s->cap += strlen(e->const_labels[i].name) + e->const_labels[i].value_len + 2;
    for (i = 0; i < e->nextern; i++)
        s->cap += strlen(e->extern_labels[i].name) + e->extern_labels[i].value_len + 2;
    s->text = s->cap <= sizeof s->small ? s->small : mem_alloc(s->cap);
    s->used = 0;
    s->n = 0;
    l = &s->label[s->n];
    prometheus__label__init(l);
    l->name = (char *)"__name__";
    l->value = s->text;
    memcpy(l->value, e->name, e->name_len);
    memcpy(l->value + e->name_len, suffix, sl + 1);
    s->used = e->name_len + sl + 1;
    s->ptr[s->n++] = l;
    for (i = 0; i < n; i++)
        add(s, labels[i].name, strlen(labels[i].name), labels[i].value, labels[i].value_len);
    for (i = 0; i < e->nconst; i++)
        add(s, e->const_labels[i].name, strlen(e->const_labels[i].name), e->const_labels[i].value,
            e->const_labels[i].value_len);
    if (xname != NULL)
        add(s, xname, xname_len, xval, xlen);
    /* External labels, where the series has none of the name (Prometheus's rule). */
    for (i = 0; i < e->nextern; i++) {
        const char *name = e->extern_labels[i].name;
        size_t k = 0;

        while (k < s->n && strcmp(s->ptr[k]->name, name) != 0)
            k++;
        if (k == s->n)
            add(s, name, strlen(name), e->extern_labels[i].value, e->extern_labels[i].value_len);
    }
    /* Remote write 1.0: "Label names MUST be sorted in lexicographical order." */
    for (i = 1; i < s->n; i++) {
        Prometheus__Label *x = s->ptr[i];
        size_t j = i;

        for (; j > 0 && strcmp(s->ptr[j - 1]->name, x->name) > 0; j--)
            s->ptr[j] = s->ptr[j - 1];
        s->ptr[j] = x;
    }
}

static void series_done(struct series *s)
{
    if (s->text != s->small)
        free(s->text);
}

/* t, its labels set here, as the next record of the WriteRequest in e->out. */
static void put(struct expo *e, Prometheus__TimeSeries *t, struct series *s)
{
    Prometheus__WriteRequest one = PROMETHEUS__WRITE_REQUEST__INIT;

    t->n_labels = s->n;
    t->labels = s->ptr;
    one.n_timeseries = 1;
    one.timeseries = &t;
    pbpack_append(e->out, &one.base);
    series_done(s);
}

static void put_value(struct expo *e, const char *suffix, const struct expo_label *labels, size_t n,
                      const char *xname, size_t xname_len, const char *xval, size_t xlen,
                      double value)
{
    Prometheus__TimeSeries t = PROMETHEUS__TIME_SERIES__INIT;
    Prometheus__Sample sample = PROMETHEUS__SAMPLE__INIT, *sp = &sample;
    struct series s;

    series_make(&s, e, suffix, labels, n, xname, xname_len, xval, xlen);
    sample.value = value;
    sample.timestamp = e->timestamp_ms;
    t.n_samples = 1;
    t.samples = &sp;
    put(e, &t, &s);
    e->rw_samples++;
}

void exporw_sample(struct expo *e, const char *suffix, const struct expo_label *labels, size_t n,
                   const char *xname, size_t xname_len, const char *xval, size_t xlen, double value)
{
    if (e->name_len == 0)
        return; /* no family started */
    put_value(e, suffix, labels, n, xname, xname_len, xval, xlen, value);
}

static void make_spans(const struct expo_span *in, size_t n, Prometheus__BucketSpan *spans,
                       Prometheus__BucketSpan **ptrs)
{
    for (size_t i = 0; i < n; i++) {
        prometheus__bucket_span__init(&spans[i]);
        spans[i].offset = in[i].offset;
        spans[i].length = in[i].length;
        ptrs[i] = &spans[i];
    }
}

/* The native histogram, one series named as the family. */
static void put_native(struct expo *e, const struct expo_label *labels, size_t n)
{
    const struct expo_native *nh = e->native;
    Prometheus__TimeSeries t = PROMETHEUS__TIME_SERIES__INIT;
    Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT, *hp = &h;
    size_t all = nh->nspans[0] + nh->nspans[1];
    Prometheus__BucketSpan *spans = mem_calloc(all ? all : 1, sizeof *spans);
    Prometheus__BucketSpan **sptr = mem_calloc(all ? all : 1, sizeof *sptr);
    struct series s;

    series_make(&s, e, "", labels, n, NULL, 0, NULL, 0);
    h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
    h.count_int = nh->count;
    h.sum = nh->sum;
    h.schema = nh->schema;
    h.zero_threshold = nh->zero_threshold;
    h.zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT;
    h.zero_count_int = nh->zero_count;
    make_spans(nh->spans[0], nh->nspans[0], spans, sptr);
    make_spans(nh->spans[1], nh->nspans[1], spans + nh->nspans[0], sptr + nh->nspans[0]);
    h.n_negative_spans = nh->nspans[0];
    h.negative_spans = sptr;
    h.n_negative_deltas = nh->ndeltas[0];
    h.negative_deltas = (int64_t *)nh->deltas[0];
    h.n_positive_spans = nh->nspans[1];
    h.positive_spans = sptr + nh->nspans[0];
    h.n_positive_deltas = nh->ndeltas[1];
    h.positive_deltas = (int64_t *)nh->deltas[1];
    h.timestamp = e->timestamp_ms;
    t.n_histograms = 1;
    t.histograms = &hp;
    put(e, &t, &s);
    e->rw_histograms++;
    free(spans);
    free(sptr);
}

void exporw_histogram(struct expo *e, const struct expo_label *labels, size_t n,
                      const char (*bounds)[32], const unsigned char *bound_lens, size_t nb,
                      const uint64_t *counts, double sum, uint64_t count)
{
    uint64_t cum = 0;

    if (e->name_len == 0)
        return;
    if (e->native != NULL && e->rw_native && nb == 0) {
        put_native(e, labels, n); /* what a scrape of native buckets alone stores */
        return;
    }
    for (size_t i = 0; i <= nb; i++) {
        cum += counts[i];
        put_value(e, "_bucket", labels, n, "le", 2, i < nb ? bounds[i] : "+Inf",
                  i < nb ? bound_lens[i] : 4, (double)cum);
    }
    put_value(e, "_sum", labels, n, NULL, 0, NULL, 0, sum);
    put_value(e, "_count", labels, n, NULL, 0, NULL, 0, (double)count);
    if (e->native != NULL && e->rw_native)
        put_native(e, labels, n);
}

void exporw_summary(struct expo *e, const struct expo_label *labels, size_t n,
                    const char (*quantiles)[32], const unsigned char *quantile_lens, size_t nq,
                    const double *values, double sum, uint64_t count)
{
    if (e->name_len == 0)
        return;
    for (size_t i = 0; i < nq; i++)
        put_value(e, "", labels, n, "quantile", 8, quantiles[i], quantile_lens[i], values[i]);
    put_value(e, "_sum", labels, n, NULL, 0, NULL, 0, sum);
    put_value(e, "_count", labels, n, NULL, 0, NULL, 0, (double)count);
}
