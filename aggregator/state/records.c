#include "state/records.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "state/recwire.h"
#include "store/breaker.h"
#include "store/ckms.h"
#include "store/nativehist.h"
#include "store/summary.h"
#include "base/common.h"
#include "base/errcode.h"
#include "config/config.h"

#define FLAG_EXCLUDED 1
#define FLAG_UNIT_MS  2
#define FLAG_NATIVE   4 /* a histogram with a "native" block: the block, and each series' */
#define JOB_SUCCESS   1
#define JOB_ERROR     2

/* Bounds a reader holds a file to, beyond what the records' fields can say. */
#define MAX_TUPLE  38 /* bytes of a CKMS tuple at most: f v, u g, u delta, u run */
#define MIN_TUPLE  11 /* and at least */
#define MAX_NAME   1024
#define MAX_VALUE  65536
#define MAX_VALUES 65536

static const char *const drop_names[] = {
#define RECORDS_DROP_NAME(code, name) name,
    RECORDS_DROP_MAP(RECORDS_DROP_NAME)
#undef RECORDS_DROP_NAME
};

const char *records_drop_name(enum records_drop d)
{
    return (unsigned)d < RECORDS_DROP_MAX ? drop_names[d] : "unknown";
}

/* ---- writing ---- */

static int native_on(const struct config_family *cf)
{
    return cf->type == FAMILY_HISTOGRAM && cf->native.on;
}

static void put_family(struct buf *b, const struct config_family *cf)
{
    size_t j, v;

    rec_put_byte(b, 'F');
    rec_put_s(b, cf->name, strlen(cf->name));
    rec_put_byte(b, (unsigned)cf->type);
    rec_put_byte(b, (cf->excluded ? FLAG_EXCLUDED : 0u) | (cf->unit_ms ? FLAG_UNIT_MS : 0u) |
                        (native_on(cf) ? FLAG_NATIVE : 0u));
    rec_put_byte(b, (unsigned)cf->nlabels);
    for (j = 0; j < cf->nlabels; j++) {
        const struct config_label *cl = &cf->labels[j];

        rec_put_s(b, cl->name, strlen(cl->name));
        rec_put_byte(b, cl->values != NULL);
        if (cl->values == NULL)
            continue;
        rec_put_u(b, cl->nvalues);
        for (v = 0; v < cl->nvalues; v++)
            rec_put_s(b, cl->values[v], strlen(cl->values[v]));
    }
    rec_put_byte(b, (unsigned)cf->nbuckets);
    for (j = 0; j < cf->nbuckets; j++)
        rec_put_f(b, cf->buckets[j]);
    if (native_on(cf)) { /* schema + 4 (0..12), the zero threshold, max_buckets */
        rec_put_byte(b, (unsigned)(cf->native.schema - NATIVEHIST_SCHEMA_MIN));
        rec_put_f(b, cf->native.zero_threshold);
        rec_put_u(b, cf->native.max_buckets);
    }
    if (cf->type != FAMILY_SUMMARY)
        return;
    rec_put_byte(b, (unsigned)cf->nquantiles);
    for (j = 0; j < cf->nquantiles; j++) {
        rec_put_f(b, cf->quantiles[j].q);
        rec_put_f(b, cf->quantiles[j].err);
    }
    rec_put_f(b, cf->max_age);
    rec_put_byte(b, cf->age_buckets);
}

/* A summary's state, its windows settled at now_ms: the streams from the oldest. */
static void put_summary(struct buf *b, const struct registry_sample *s, uint64_t now_ms)
{
    struct summary *sm = s->summary;

    rec_put_byte(b, sm != NULL);
    if (sm == NULL)
        return;
    summary_settle(sm, s->summary_spec, now_ms);
    rec_put_u(b, sm->count);
    rec_put_f(b, sm->carry);
    rec_put_byte(b, sm->nstreams);
    if (sm->nstreams == 0)
        return;
    rec_put_u(b, summary_elapsed(sm, s->summary_spec, now_ms));
    for (uint32_t i = 0; i < sm->nstreams; i++) {
        const struct ckms *st = summary_stream(sm, i);

        rec_put_u(b, st->n);
        rec_put_f(b, st->min);
        rec_put_f(b, st->max);
        rec_put_f(b, st->slack);
        rec_put_u(b, st->len);
        for (uint32_t k = 0; k < st->len; k++) {
            rec_put_f(b, st->t[k].v);
            rec_put_u(b, st->t[k].g);
            rec_put_u(b, st->t[k].delta);
            rec_put_u(b, st->t[k].run);
        }
    }
}

/* A native histogram's state: its buckets' encoding. */
static void put_native(struct buf *b, const struct registry_sample *s)
{
    unsigned char enc[NATIVEHIST_ENCODED_MAX];
    int n = nativehist_encode(s->native, enc, sizeof enc);

    rec_put_s(b, (const char *)enc, n > 0 ? (size_t)n : 0);
}

static void put_series(struct buf *b, const struct registry_sample *s, uint64_t now_ms)
{
    const struct config_family *cf = s->cfg;
    size_t j, k;

    rec_put_byte(b, 'S');
    rec_put_u(b, s->created_ms);
    rec_put_u(b, s->last_update_ms == 0
                     ? 0
                     : (now_ms > s->last_update_ms ? now_ms - s->last_update_ms : 0) + 1);
    rec_put_f(b, s->value);
    if (cf->type == FAMILY_HISTOGRAM) {
        rec_put_u(b, s->count);
        for (j = 0; j <= cf->nbuckets; j++)
            rec_put_u(b, s->buckets[j]);
        for (j = 0; j <= cf->nbuckets; j++)
            rec_put_f(b, s->carries[j]);
        if (s->native != NULL)
            put_native(b, s);
    }
    if (cf->type == FAMILY_SUMMARY)
        put_summary(b, s, now_ms);
    rec_put_byte(b, (unsigned)s->nlabels);
    /* The sample's labels are the present ones, in config order: find each key's index. */
    for (j = 0, k = 0; k < s->nlabels; j++) {
        if (cf->labels[j].name != s->labels[k].name)
            continue;
        rec_put_byte(b, (unsigned)j);
        rec_put_s(b, s->labels[k].value, s->labels[k].value_len);
        k++;
    }
}

static void put_jobs(struct records_writer *w, struct buf *b, uint64_t now_ms)
{
    const struct config *c = w->jobs->cfg;
    size_t i, o;

    for (i = 0; i < w->jobs->n; i++) {
        const struct breaker *br = jobs_get(w->jobs, i, now_ms);

        rec_put_byte(b, 'J');
        rec_put_s(b, c->jobs[i].name, strlen(c->jobs[i].name));
        rec_put_byte(b, (unsigned)br->state);
        rec_put_u(b, breaker_time_in_state(br, now_ms));
        rec_put_u(b, br->consecutive_failures);
        for (o = 0; o < BREAKER_NOUTCOMES; o++)
            rec_put_u(b, br->attempts[o]);
        rec_put_u(b, br->errors);
        rec_put_u(b, br->openings);
        rec_put_byte(b, (br->has_success ? JOB_SUCCESS : 0u) | (br->has_error ? JOB_ERROR : 0u));
        rec_put_f(b, br->last_success_unix);
        rec_put_f(b, br->last_error_unix);
        rec_put_f(b, w->jobs->created[i]);
        w->njobs++;
    }
}

void records_begin(struct records_writer *w, struct registry *reg, struct jobs *jobs,
                   uint64_t saved_unix_ms, struct buf *out)
{
    memset(w, 0, sizeof *w);
    w->reg = reg;
    w->jobs = jobs;
    w->fam = -1;
    registry_cursor_init(&w->cur, reg);
    rec_put_byte(out, 'M');
    rec_put_u(out, saved_unix_ms);
}

void records_set_marks(struct records_writer *w, const struct records_marks *m)
{
    w->marks = m;
}

int records_step(struct records_writer *w, struct buf *out, size_t max_series, uint64_t now_ms)
{
    struct registry_sample s;
    size_t n;

    if (w->done)
        return 0;
    for (n = 0; n < max_series && registry_cursor_next(&w->cur, &s); n++) {
        if ((long)s.family != w->fam) {
            w->fam = (long)s.family;
            put_family(out, s.cfg);
            w->nfams++;
        }
        put_series(out, &s, now_ms);
        w->nseries++;
    }
    if (n == max_series && registry_cursor_more(&w->cur))
        return 1;
    for (size_t i = 0; w->marks != NULL && i < w->marks->n; i++) {
        rec_put_byte(out, 'R');
        rec_put_s(out, w->marks->m[i].name, strlen(w->marks->m[i].name));
        rec_put_u(out, (uint64_t)w->marks->m[i].ms);
    }
    put_jobs(w, out, now_ms);
    rec_put_byte(out, 'E');
    rec_put_u(out, w->nfams);
    rec_put_u(out, w->nseries);
    rec_put_u(out, w->njobs);
    w->done = 1;
    return 0;
}

size_t records_max_body(const struct config *c)
{
    /* An 'S' record: tag, two times, value, count, buckets and carries, labels. */
    size_t series = 1 + 10 + 10 + 8 + 10 + (CONFIG_MAX_BUCKETS + 1) * (10 + 8) + 1 +
                    CONFIG_MAX_LABELS * (1 + 10 + c->max_label_value_len);
    size_t fams = 0, i, j, v, hist = series;

    for (i = 0; i < c->nfamilies; i++) {
        const struct config_family *cf = &c->families[i];
        /* A native histogram's: its buckets' encoding after the classic state. */
        size_t nat = hist + 10 + NATIVEHIST_ENCODED_MAX;
        /* A summary's: the state, then each stream's head and its tuples at the cap. */
        size_t sum = 1 + 10 + 10 + 8 + 1 + 1 + 10 +
                     cf->age_buckets * (10 + 8 + 8 + 8 + 10 + CKMS_MAX_TUPLES * MAX_TUPLE) + 1 +
                     CONFIG_MAX_LABELS * (1 + 10 + c->max_label_value_len);

        if (cf->type == FAMILY_SUMMARY && sum > series)
            series = sum;
        if (native_on(cf) && nat > series)
            series = nat;
    }
    for (i = 0; i < c->nfamilies; i++) {
        const struct config_family *cf = &c->families[i];

        fams += 16 + strlen(cf->name) + cf->nbuckets * 8 + cf->nquantiles * 16 + 9;
        for (j = 0; j < cf->nlabels; j++) {
            fams += 16 + strlen(cf->labels[j].name);
            for (v = 0; v < cf->labels[j].nvalues; v++)
                fams += 10 + strlen(cf->labels[j].values[v]);
        }
    }
    /* A family can be written once per slice of a dump that a reload interrupted. */
    fams = 64 + 2 * fams + c->njobs * (10 + STATSD_MAX_NAME + 13 * 10 + 24);
    if (c->max_series > (SIZE_MAX - fams) / series)
        return SIZE_MAX;
    return fams + c->max_series * series;
}

size_t records_series(const struct records_writer *w)
{
    return w->nseries;
}

void records_end(struct records_writer *w)
{
    if (w->reg != NULL)
        registry_cursor_release(&w->cur);
    w->reg = NULL;
}

/* ---- reading ---- */

static int view_is(struct statsd_view v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

/* A family record as read, and the running family it matched. */
struct fam {
    int seen;
    enum family_type type;
    size_t nlabels;
    size_t nbuckets;
    unsigned nstreams;     /* summaries: the streams of each series' state */
    int native;            /* histograms: FLAG_NATIVE, each series has its native state */
    long fi;               /* the running family, or -1 */
    enum records_drop why; /* when fi < 0 */
    const struct config_family *cf;
    struct summary_spec spec; /* summaries, when fi >= 0 */
};

struct restore {
    struct registry *reg;
    struct jobs *jobs;
    uint64_t now_ms;
    uint64_t away_ms;
    uint64_t saved_unix_ms;
    int apply;
    struct records_restored *out;
};

static int enum_has(const struct config_label *cl, struct statsd_view v)
{
    for (size_t i = 0; i < cl->nvalues; i++)
        if (view_is(v, cl->values[i]))
            return 1;
    return 0;
}

/* A native block, after the buckets. Returns whether it is cf's (0 when cf is NULL). */
static int read_native_family(struct rd *r, const struct config_family *cf)
{
    unsigned schema = rec_get_byte(r);
    double zero = rec_get_f(r);
    uint64_t max = rec_get_u(r);

    if (!r->bad && (schema > NATIVEHIST_SCHEMA_MAX - NATIVEHIST_SCHEMA_MIN || !(zero >= 0) ||
                    !isfinite(zero) || max > NATIVEHIST_HARD_MAX))
        rec_rd_fail(r, "a native block of schema %d, zero threshold %g, %llu buckets",
                    (int)schema + NATIVEHIST_SCHEMA_MIN, zero, (unsigned long long)max);
    return cf != NULL && !r->bad && (int)schema + NATIVEHIST_SCHEMA_MIN == cf->native.schema &&
           memcmp(&zero, &cf->native.zero_threshold, sizeof zero) == 0 &&
           max == cf->native.max_buckets;
}

/*
 * A summary family's quantiles and windows, after its buckets (none); sets f->nstreams.
 * Returns whether they are cf's (0 when cf is NULL).
 */
static int read_summary_family(struct rd *r, struct statsd_view name,
                               const struct config_family *cf, struct fam *f)
{
    struct config_family saved = { 0 };
    struct config_quantile q[CONFIG_MAX_QUANTILES];
    size_t j;

    saved.nquantiles = rec_get_byte(r);
    if (!r->bad && saved.nquantiles > CONFIG_MAX_QUANTILES) {
        rec_rd_fail(r, "family %.*s: %zu quantiles", (int)name.len, name.ptr, saved.nquantiles);
        return 0;
    }
    for (j = 0; j < saved.nquantiles && !r->bad; j++) {
        q[j].q = rec_get_f(r);
        q[j].err = rec_get_f(r);
    }
    saved.quantiles = q;
    saved.max_age = rec_get_f(r);
    saved.age_buckets = rec_get_byte(r);
    if (r->bad)
        return 0;
    if (saved.age_buckets > CONFIG_MAX_AGE_BUCKETS) {
        rec_rd_fail(r, "family %.*s: %u age buckets", (int)name.len, name.ptr, saved.age_buckets);
        return 0;
    }
    f->nstreams = saved.nquantiles > 0 ? saved.age_buckets : 0;
    return cf != NULL && summary_same_layout(cf, &saved);
}

static void read_family(struct rd *r, struct restore *x, struct fam *f)
{
    struct statsd_view name = rec_get_s(r, MAX_NAME, "a family name");
    unsigned type = rec_get_byte(r), flags = rec_get_byte(r), nlabels = rec_get_byte(r);
    const struct config_family *cf = NULL;
    int same;
    size_t j, v;
    long fi;

    if (r->bad)
        return;
    if (type > FAMILY_SUMMARY || nlabels > CONFIG_MAX_LABELS) {
        rec_rd_fail(r, "family %.*s: type %u or %u labels out of range", (int)name.len, name.ptr,
                    type, nlabels);
        return;
    }
    fi = registry_find_family(x->reg, name.ptr, name.len);
    if (fi >= 0)
        cf = registry_family_config(x->reg, (size_t)fi);
    if (cf != NULL && !view_is(name, cf->name)) /* "x_total" found counter x */
        cf = NULL;
    same = cf != NULL && cf->type == (enum family_type)type && cf->nlabels == nlabels &&
           !!cf->excluded == !!(flags & FLAG_EXCLUDED);
    for (j = 0; j < nlabels && !r->bad; j++) {
        struct statsd_view ln = rec_get_s(r, MAX_NAME, "a label name");
        unsigned enumerated = rec_get_byte(r);
        const struct config_label *cl = same ? &cf->labels[j] : NULL;
        uint64_t nv;

        if (cl != NULL && (!view_is(ln, cl->name) || !!enumerated != (cl->values != NULL)))
            same = 0, cl = NULL;
        if (!enumerated)
            continue;
        nv = rec_get_u(r);

        if (nv > MAX_VALUES) {
            rec_rd_fail(r, "family %.*s: %llu enumerated values", (int)name.len, name.ptr,
                        (unsigned long long)nv);
            return;
        }
        for (v = 0; v < nv && !r->bad; v++) {
            struct statsd_view val = rec_get_s(r, MAX_VALUE, "a label value");

            /* A key may gain values, not lose one: series may hold it. */
            if (cl != NULL && !r->bad && !enum_has(cl, val))
                same = 0, cl = NULL;
        }
    }
    f->nbuckets = rec_get_byte(r);
    if (!r->bad && f->nbuckets > CONFIG_MAX_BUCKETS)
        rec_rd_fail(r, "family %.*s: %zu buckets", (int)name.len, name.ptr, f->nbuckets);
    if (same && (type == FAMILY_HISTOGRAM || type == FAMILY_SUMMARY) &&
        (cf->nbuckets != f->nbuckets || !!cf->unit_ms != !!(flags & FLAG_UNIT_MS)))
        same = 0;
    for (j = 0; j < f->nbuckets && !r->bad; j++) {
        double b = rec_get_f(r);

        if (same && type == FAMILY_HISTOGRAM && memcmp(&b, &cf->buckets[j], sizeof b) != 0)
            same = 0;
    }
    f->native = (flags & FLAG_NATIVE) != 0;
    if (f->native && type != FAMILY_HISTOGRAM)
        rec_rd_fail(r, "family %.*s: a native block on a family not a histogram", (int)name.len,
                    name.ptr);
    if (same && !!native_on(cf) != f->native)
        same = 0;
    if (f->native && !read_native_family(r, same ? cf : NULL))
        same = 0;
    f->nstreams = 0;
    if (type == FAMILY_SUMMARY && !read_summary_family(r, name, same ? cf : NULL, f))
        same = 0;
    if (same && type == FAMILY_SUMMARY)
        summary_spec_init(&f->spec, cf);
    f->seen = 1;
    f->type = (enum family_type)type;
    f->nlabels = nlabels;
    f->cf = same ? cf : NULL;
    f->fi = same ? fi : -1;
    f->why = cf == NULL ? RECORDS_DROP_UNKNOWN_FAMILY : RECORDS_DROP_LAYOUT_CHANGED;
    if (x->apply && same)
        x->out->families++;
}

static enum records_drop drop_of(int rc)
{
    switch (rc) {
    case STATSD_LABEL_NOT_ALLOWED:
    case STATSD_DUPLICATE_TAG:
    case STATSD_TOO_MANY_TAGS:
        return RECORDS_DROP_LABEL_NOT_ALLOWED;
    case STATSD_LABEL_VALUE_NOT_ALLOWED:
    case STATSD_LABEL_VALUE_TOO_LONG:
    case STATSD_LABEL_VALUES_CAP:
    case STATSD_LABEL_VALUE_PATTERN:
        return RECORDS_DROP_LABEL_VALUE;
    case STATSD_SERIES_CAP:
        return RECORDS_DROP_SERIES_CAP;
    case REGISTRY_EXPIRED:
        return RECORDS_DROP_EXPIRED;
    case REGISTRY_DUPLICATE:
        return RECORDS_DROP_DUPLICATE;
    default:
        return RECORDS_DROP_BAD_VALUE;
    }
}

/*
 * One stream of a summary's state into st (NULL: read and dropped). The tuple count is
 * checked against the cap and the bytes left before anything is allocated.
 */
static void read_stream(struct rd *r, struct ckms *st, size_t *mem)
{
    uint64_t n = rec_get_u(r), len;
    double min = rec_get_f(r), max = rec_get_f(r), slack = rec_get_f(r);

    len = rec_get_u(r);
    if (r->bad)
        return;
    if (len > CKMS_MAX_TUPLES || len * MIN_TUPLE > (uint64_t)(r->end - r->p)) {
        rec_rd_fail(r, "a summary stream of %llu tuples (at most %d)", (unsigned long long)len,
                    CKMS_MAX_TUPLES);
        return;
    }
    if (st != NULL)
        ckms_reserve(st, (size_t)len, mem);
    for (uint64_t k = 0; k < len && !r->bad; k++) {
        struct ckms_tuple t;

        t.v = rec_get_f(r);
        t.g = rec_get_u(r);
        t.delta = rec_get_u(r);
        t.run = rec_get_u(r);
        if (st != NULL)
            st->t[k] = t;
    }
    if (st == NULL || r->bad)
        return;
    st->len = (uint32_t)len;
    st->n = n;
    st->min = min;
    st->max = max;
    st->slack = slack;
}

/*
 * A summary series' state, built (with its own counter: the registry counts it once it
 * takes it) when the family matched and the records are applied; NULL otherwise, or for a
 * series never observed. Its clock resumes across the time away.
 */
static struct summary *read_summary(struct rd *r, struct restore *x, const struct fam *f,
                                    size_t *mem)
{
    struct summary *sm = NULL;
    uint64_t count, elapsed = 0;
    unsigned ns;
    double carry;

    if (!rec_get_byte(r))
        return NULL;
    count = rec_get_u(r);
    carry = rec_get_f(r);
    ns = rec_get_byte(r);
    if (!r->bad && ns != f->nstreams)
        rec_rd_fail(r, "a summary series of %u streams in a family of %u", ns, f->nstreams);
    if (ns > 0)
        elapsed = rec_get_u(r);
    if (r->bad)
        return NULL;
    if (x->apply && f->fi >= 0) {
        sm = summary_new(&f->spec, x->now_ms, mem);
        sm->count = count;
        sm->carry = carry;
    }
    for (unsigned i = 0; i < ns && !r->bad; i++)
        read_stream(r, sm != NULL ? summary_stream(sm, i) : NULL, mem);
    if (sm != NULL && r->bad) {
        summary_free(sm, mem);
        return NULL;
    }
    if (sm != NULL)
        summary_resume(sm, &f->spec,
                       elapsed + x->away_ms < elapsed ? UINT64_MAX : elapsed + x->away_ms,
                       x->now_ms);
    return sm;
}

static void read_series(struct rd *r, struct restore *x, const struct fam *f)
{
    uint64_t buckets[CONFIG_MAX_BUCKETS + 1];
    double carries[CONFIG_MAX_BUCKETS + 1];
    struct statsd_tag tags[CONFIG_MAX_LABELS];
    struct registry_saved s;
    uint64_t idle;
    size_t j, n, mem = 0;
    int rc;

    memset(&s, 0, sizeof s);
    s.created_ms = rec_get_u(r);
    idle = rec_get_u(r);
    s.value = rec_get_f(r);
    if (f->type == FAMILY_HISTOGRAM) {
        s.count = rec_get_u(r);
        for (j = 0; j <= f->nbuckets; j++)
            buckets[j] = rec_get_u(r);
        for (j = 0; j <= f->nbuckets; j++)
            carries[j] = rec_get_f(r);
        s.buckets = buckets;
        s.carries = carries;
        if (f->native) {
            struct statsd_view enc;

            enc = rec_get_s(r, NATIVEHIST_ENCODED_MAX, "a native histogram");
            s.native = enc.ptr;
            s.native_len = enc.len;
        }
    }
    if (f->type == FAMILY_SUMMARY)
        s.summary = read_summary(r, x, f, &mem);
    n = rec_get_byte(r);
    if (!r->bad && n > f->nlabels)
        rec_rd_fail(r, "a series with %zu labels in a family of %zu", n, f->nlabels);
    for (j = 0; j < n && !r->bad; j++) {
        unsigned key = rec_get_byte(r);

        tags[j].value = rec_get_s(r, MAX_VALUE, "a label value");
        if (!r->bad && key >= f->nlabels)
            rec_rd_fail(r, "label key %u in a family of %zu labels", key, f->nlabels);
        if (r->bad)
            break;
        if (f->cf != NULL) {
            tags[j].key.ptr = f->cf->labels[key].name;
            tags[j].key.len = strlen(f->cf->labels[key].name);
        }
    }
    if (r->bad || !x->apply || f->fi < 0) {
        summary_free(s.summary, &mem);
        if (!r->bad && x->apply)
            x->out->dropped[f->why]++;
        return;
    }
    s.labels = tags;
    s.nlabels = n;
    s.updated = idle != 0;
    s.idle_ms = idle != 0 ? idle - 1 + x->away_ms : 0;
    if (s.idle_ms < x->away_ms) /* overflow */
        s.idle_ms = UINT64_MAX;
    rc = registry_restore(x->reg, (size_t)f->fi, &s, x->now_ms);
    if (rc == STATSD_OK) {
        x->out->series++;
    } else {
        summary_free(s.summary, &mem);
        x->out->dropped[drop_of(rc)]++;
    }
}

static void read_mark(struct rd *r, struct restore *x)
{
    struct statsd_view name = rec_get_s(r, RECORDS_MARK_NAME - 1, "a remote write target's name");
    uint64_t ms = rec_get_u(r);
    struct records_marks *m = &x->out->marks;

    if (r->bad || !x->apply || m->n == RECORDS_MAX_MARKS || ms > INT64_MAX)
        return;
    memcpy(m->m[m->n].name, name.ptr, name.len);
    m->m[m->n].name[name.len] = '\0';
    m->m[m->n].ms = (int64_t)ms;
    m->n++;
}

static void read_job(struct rd *r, struct restore *x)
{
    struct statsd_view name = rec_get_s(r, MAX_NAME, "a job name");
    struct breaker b;
    uint64_t in_state;
    unsigned flags, state;
    double created;
    size_t o;

    memset(&b, 0, sizeof b);
    state = rec_get_byte(r);
    in_state = rec_get_u(r);
    b.consecutive_failures = rec_get_u(r);
    for (o = 0; o < BREAKER_NOUTCOMES; o++)
        b.attempts[o] = rec_get_u(r);
    b.errors = rec_get_u(r);
    b.openings = rec_get_u(r);
    flags = rec_get_byte(r);
    b.last_success_unix = rec_get_f(r);
    b.last_error_unix = rec_get_f(r);
    created = rec_get_f(r);
    if (!r->bad && state >= BREAKER_NSTATES)
        rec_rd_fail(r, "job %.*s: state %u", (int)name.len, name.ptr, state);
    if (r->bad || !x->apply)
        return;
    if (!(b.last_success_unix >= 0 && b.last_success_unix < 1e12) ||
        !(b.last_error_unix >= 0 && b.last_error_unix < 1e12)) {
        x->out->dropped[RECORDS_DROP_BAD_VALUE]++;
        return;
    }
    b.state = (enum breaker_state)state;
    b.has_success = (flags & JOB_SUCCESS) != 0;
    b.has_error = (flags & JOB_ERROR) != 0;
    if (jobs_restore(x->jobs, name.ptr, name.len, &b, in_state, x->away_ms,
                     created > 0 && created < 1e12 ? created : 0, x->now_ms) == 0)
        x->out->jobs++;
    else
        x->out->dropped[RECORDS_DROP_UNKNOWN_JOB]++;
}

/* One pass over the records: checking only, or applying them too. */
static int run(struct restore *x, const void *body, size_t len, char *err, size_t errlen)
{
    struct rd r = { body, body, (const unsigned char *)body + len, err, errlen, 0 };
    struct fam f = { 0 };
    size_t nfams = 0, nseries = 0, njobs = 0;

    if (rec_get_byte(&r) != 'M' && !r.bad)
        rec_rd_fail(&r, "the body does not start with its 'M' record");
    x->saved_unix_ms = rec_get_u(&r);
    while (!r.bad) {
        unsigned tag = rec_get_byte(&r);

        if (r.bad)
            break;
        switch (tag) {
        case 'F':
            read_family(&r, x, &f);
            nfams++;
            break;
        case 'S':
            if (!f.seen) {
                rec_rd_fail(&r, "a series before any family");
                break;
            }
            read_series(&r, x, &f);
            nseries++;
            break;
        case 'J':
            read_job(&r, x);
            njobs++;
            break;
        case 'R':
            read_mark(&r, x);
            break;
        case 'E': {
            uint64_t ef = rec_get_u(&r), es = rec_get_u(&r), ej = rec_get_u(&r);

            if (r.bad)
                break;
            if (ef != nfams || es != nseries || ej != njobs)
                rec_rd_fail(&r,
                            "the end record counts %llu families, %llu series, %llu jobs; the file "
                            "holds %zu, %zu, %zu",
                            (unsigned long long)ef, (unsigned long long)es, (unsigned long long)ej,
                            nfams, nseries, njobs);
            else if (r.p != r.end)
                rec_rd_fail(&r, "%zu bytes after the end record", (size_t)(r.end - r.p));
            return r.bad ? ERRCODE_FORMAT : 0;
        }
        default:
            r.p--;
            rec_rd_fail(&r, "unknown record 0x%02x", tag);
            break;
        }
    }
    return ERRCODE_FORMAT;
}

int records_restore(struct registry *reg, struct jobs *jobs, const void *body, size_t len,
                    uint64_t now_ms, uint64_t now_unix_ms, struct records_restored *out, char *err,
                    size_t errlen)
{
    struct restore x = { reg, jobs, now_ms, 0, 0, 0, out };
    int rc;

    memset(out, 0, sizeof *out);
    rc = run(&x, body, len, err, errlen);
    if (rc != 0)
        return rc;
    out->saved_unix_ms = x.saved_unix_ms;
    x.away_ms = now_unix_ms > x.saved_unix_ms ? now_unix_ms - x.saved_unix_ms : 0;
    x.apply = 1;
    return run(&x, body, len, err, errlen); /* 0: the first pass read it all */
}
