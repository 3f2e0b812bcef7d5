#include "expose/render.h"

#include <math.h>
#include <stdint.h>

#include <stdlib.h>

#include "base/mem.h"
#include "store/nativehist.h"
#include "store/summary.h"

_Static_assert(CONFIG_MAX_QUANTILES <= CONFIG_MAX_BUCKETS, "a family's quantiles fit the bounds");
_Static_assert(CONFIG_MAX_BUCKETS <= EXPO_MAX_BUCKETS, "a family's buckets fit expo's");
_Static_assert(CONFIG_MAX_LABELS + CONFIG_MAX_RESOURCE_ATTRS + 1 <= EXPO_MAX_LABELS,
               "a series' labels, the resource ones and le or quantile fit expo's");

void render_init(struct render *rd, struct registry *reg, enum expo_format fmt)
{
    registry_cursor_init(&rd->cur, reg);
    expo_init(&rd->expo, NULL, fmt);
    rd->last_fam = SIZE_MAX;
    rd->bit = 0;
    rd->self = 1;
    rd->labels = NULL;
    rd->nlabels = 0;
}

static int wanted(const struct config_family *f, void *arg)
{
    const struct render *rd = arg;

    if (f->client_telemetry)
        return rd->self;
    return config_serves(f->endpoints, rd->bit);
}

void render_labels(struct render *rd, const struct expo_label *labels, size_t n)
{
    rd->labels = labels;
    rd->nlabels = n;
}

void render_select(struct render *rd, uint32_t bit, int self)
{
    rd->bit = bit;
    rd->self = self;
    registry_cursor_filter(&rd->cur, wanted, rd);
}

void render_remote(struct render *rd, int64_t timestamp_ms, const struct expo_label *ext, size_t n,
                   int native)
{
    rd->expo.timestamp_ms = timestamp_ms;
    rd->expo.extern_labels = ext;
    rd->expo.nextern = n;
    rd->expo.rw_native = native;
}

void render_remote_counts(const struct render *rd, uint64_t *samples, uint64_t *histograms)
{
    *samples = rd->expo.rw_samples;
    *histograms = rd->expo.rw_histograms;
}

void render_set_escaping(struct render *rd, enum expo_escaping esc)
{
    rd->expo.esc = esc;
}

static enum expo_type type_of(enum family_type t)
{
    switch (t) {
    case FAMILY_COUNTER:
        return EXPO_COUNTER;
    case FAMILY_GAUGE:
        return EXPO_GAUGE;
    case FAMILY_HISTOGRAM:
        return EXPO_HISTOGRAM;
    case FAMILY_SUMMARY:
        return EXPO_SUMMARY;
    }
    return EXPO_UNKNOWN;
}

/*
 * A histogram with native buckets, in protobuf: its classic buckets (if any) and the
 * native ones, as spans and deltas (nativehist_spans(), Go's makeBuckets).
 */
static void put_native(struct render *rd, const struct registry_sample *s)
{
    const struct nativehist *h = s->native;
    /* The classic count, which the native buckets count too (registry.c, commit), and sum. */
    struct expo_native x = { .count = s->count,
                             .sum = s->value,
                             .schema = nativehist_schema(h),
                             .zero_threshold = nativehist_zero_threshold(h),
                             .zero_count = nativehist_zero_count(h) };
    struct expo_span *spans[2];
    int64_t *deltas[2];
    static const struct expo_span noop = { 0, 0 };

    for (int side = 0; side < 2; side++) {
        size_t n = nativehist_buckets(h, (enum nativehist_side)side);

        spans[side] = mem_alloc((n + 1) * sizeof **spans);
        deltas[side] = mem_alloc((3 * n + 1) * sizeof **deltas);
        nativehist_spans(h, (enum nativehist_side)side, spans[side], n + 1, deltas[side], 3 * n + 1,
                         &x.nspans[side], &x.ndeltas[side]);
        x.spans[side] = spans[side];
        x.deltas[side] = deltas[side];
    }
    /* Go's Write: a histogram with nothing in it but a zero threshold of 0 needs one. */
    if (nativehist_needs_noop_span(h)) {
        x.spans[NATIVEHIST_POSITIVE] = &noop;
        x.nspans[NATIVEHIST_POSITIVE] = 1;
    }
    rd->expo.native = &x;
    expo_histogram(&rd->expo, s->labels, s->nlabels, s->cfg->buckets, (const char(*)[32])rd->bounds,
                   rd->bound_lens, s->cfg->nbuckets, s->buckets, s->value, s->count);
    rd->expo.native = NULL;
    for (int side = 0; side < 2; side++) {
        free(spans[side]);
        free(deltas[side]);
    }
}

static void put_series(struct render *rd, const struct registry_sample *s, uint64_t now_ms)
{
    const struct config_family *cf = s->cfg;
    struct expo *e = &rd->expo;

    /* OpenMetrics _created: the series' creation, ms precision (0: undated, none). */
    e->created = (double)s->created_ms / 1000.0;
    switch (cf->type) {
    case FAMILY_COUNTER: /* an unknown family of its own name, see render_step() */
        expo_sample(e, e->type == EXPO_COUNTER ? "_total" : "", s->labels, s->nlabels, s->value);
        break;
    case FAMILY_GAUGE:
        expo_sample(e, "", s->labels, s->nlabels, s->value);
        break;
    case FAMILY_HISTOGRAM:
        if (s->native != NULL && (e->fmt == EXPO_PROTOBUF || e->fmt == EXPO_REMOTE_WRITE)) {
            put_native(rd, s);
            break;
        }
        expo_histogram(e, s->labels, s->nlabels, cf->buckets, (const char(*)[32])rd->bounds,
                       rd->bound_lens, cf->nbuckets, s->buckets, s->value, s->count);
        break;
    case FAMILY_SUMMARY: {
        double q[CONFIG_MAX_QUANTILES];

        summary_read(s->summary, s->summary_spec, now_ms, q, NULL);
        expo_summary(e, s->labels, s->nlabels, rd->qs, (const char(*)[32])rd->bounds,
                     rd->bound_lens, cf->nquantiles, q, s->value, s->count);
        break;
    }
    }
}

int render_step(struct render *rd, struct buf *out, size_t max_series, uint64_t now_ms)
{
    struct registry_sample s;
    size_t n;

    /* out may differ from one step to the next; the family state in expo stays. */
    rd->expo.out = out;
    /* In protobuf each step's series are whole messages: a family goes on in a new one. */
    if (rd->expo.fmt == EXPO_PROTOBUF)
        rd->last_fam = SIZE_MAX;
    if (max_series == 0)
        max_series = 1;
    for (n = 0; n < max_series && registry_cursor_next(&rd->cur, &s); n++) {
        /*
         * The cursor only moves forward through families, so a family seen again is
         * the current one, and a new one has never been started.
         */
        if (s.family != rd->last_fam) {
            enum expo_type t = type_of(s.cfg->type);
            size_t i;

            /*
             * A counter "x_total" beside a gauge "x": OpenMetrics would name its family "x",
             * the gauge's, so there it is the unknown family "x_total" (docs/exposition.md).
             */
            if (s.cfg->total_in_name && rd->expo.fmt == EXPO_OPENMETRICS)
                t = EXPO_UNKNOWN;
            expo_family(&rd->expo, s.cfg->name, t, s.cfg->help, s.cfg->unit);
            rd->expo.const_labels = s.cfg->client_telemetry ? NULL : rd->labels;
            rd->expo.nconst = s.cfg->client_telemetry ? 0 : rd->nlabels;
            rd->last_fam = s.family;
            for (i = 0; i < s.cfg->nbuckets; i++)
                rd->bound_lens[i] = (unsigned char)expo_bucket_bound(rd->expo.fmt, rd->bounds[i],
                                                                     s.cfg->buckets[i]);
            /* client_golang formats a quantile as a bound: "0.99", "1" ("1.0" in OpenMetrics). */
            for (i = 0; i < s.cfg->nquantiles; i++) {
                rd->bound_lens[i] = (unsigned char)expo_bucket_bound(rd->expo.fmt, rd->bounds[i],
                                                                     s.cfg->quantiles[i].q);
                rd->qs[i] = s.cfg->quantiles[i].q;
            }
        }
        put_series(rd, &s, now_ms);
    }
    expo_flush(&rd->expo);
    return registry_cursor_more(&rd->cur);
}

void render_release(struct render *rd)
{
    registry_cursor_release(&rd->cur);
}
