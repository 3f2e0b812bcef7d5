#include "expose/internal.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonstr.h"
#include "store/breaker.h"
#include "store/nativehist.h"
#include "store/summary.h"

static double mono_to_unix(const struct debug_render *dr, uint64_t ms)
{
    return dr->self.start_unix + ((double)ms - (double)dr->self.start_ms) / 1000.0;
}

/* A label's value policy: its pattern, its overflow value and what folded into it. */
static void label_policy(struct debug_render *dr, struct debugjson *w, size_t f, size_t l,
                         const struct config_label *cl)
{
    int why;

    debugjson_kv_str(w, "pattern", cl->pattern);
    debugjson_kv_str(w, "overflow", cl->overflow);
    if (cl->overflow == NULL)
        return;
    debugjson_kv_open(w, "folded", '{');
    for (why = CONFIG_FOLD_NONE + 1; why < CONFIG_FOLD_MAX; why++)
        debugjson_kv_u64(w, config_fold_name((enum config_fold)why),
                         registry_values_folded(dr->reg, f, l, (enum config_fold)why));
    debugjson_close(w, '}');
}

/*
 * "writers": the rule that guards a family or job, by its place in the file, with the ids
 * its names resolved to; null when anyone may write.
 */
static void kv_ids(struct debugjson *w, const char *key, const uint32_t *ids, size_t n)
{
    debugjson_kv_open(w, key, '[');
    for (size_t i = 0; i < n; i++) {
        debugjson_item(w);
        debugjson_num(w->out, ids[i]);
    }
    debugjson_close(w, ']');
}

static void writers_entry(struct debugjson *w, const struct config *c,
                          const struct config_writers *rw)
{
    char rule[48];

    if (rw == NULL) {
        debugjson_kv_str(w, "writers", NULL);
        return;
    }
    debugjson_kv_open(w, "writers", '{');
    snprintf(rule, sizeof(rule), "$.writers[%zu]", (size_t)(rw - c->writers));
    debugjson_kv_str(w, "rule", rule);
    kv_ids(w, "uids", rw->uids, rw->nuids);
    kv_ids(w, "gids", rw->gids, rw->ngids);
    debugjson_kv_bool(w, "unauthenticated", rw->unauthenticated);
    debugjson_close(w, '}');
}

static void family_entry(struct debug_render *dr, struct debugjson *w, size_t f)
{
    const struct config_family *cf = registry_family_config(dr->reg, f);
    size_t l;

    debugjson_open(w, '{');
    debugjson_kv_str(w, "name", cf->name);
    debugjson_kv_str(w, "type", config_family_type_name(cf->type));
    debugjson_kv_str(w, "help", cf->help);
    debugjson_kv_str(w, "unit", cf->unit);
    debugjson_kv_str(w, "group", cf->group);
    debugjson_kv_bool(w, "excluded", cf->excluded);
    debugjson_kv_num(w, "ttl_seconds", cf->ttl_seconds);
    if (cf->type == FAMILY_GAUGE)
        debugjson_kv_bool(w, "updown", cf->updown);
    debugjson_kv_str(w, "undeclared_labels",
                     cf->undeclared == CONFIG_UNDECLARED_DROP ? "drop" : "reject");
    if (cf->undeclared == CONFIG_UNDECLARED_DROP)
        debugjson_kv_u64(w, "labels_dropped", registry_labels_dropped(dr->reg, f));
    debugjson_kv_u64(w, "lines", registry_family_lines(dr->reg, f));
    debugjson_kv_u64(w, "series", registry_family_series(dr->reg, f));
    debugjson_kv_u64(w, "series_cap", registry_family_cap(dr->reg, f));
    writers_entry(w, registry_config(dr->reg), cf->writers);
    if (cf->type == FAMILY_HISTOGRAM) {
        debugjson_kv_open(w, "buckets", '[');
        for (l = 0; l < cf->nbuckets; l++) {
            debugjson_item(w);
            debugjson_num(w->out, cf->buckets[l]);
        }
        debugjson_close(w, ']');
        if (cf->native.on) {
            debugjson_kv_open(w, "native", '{');
            debugjson_kv_num(w, "schema", cf->native.schema);
            debugjson_kv_num(w, "zero_threshold", cf->native.zero_threshold);
            debugjson_kv_u64(w, "max_buckets", cf->native.max_buckets);
            debugjson_close(w, '}');
        } else {
            debugjson_kv_str(w, "native", NULL);
        }
    }
    if (cf->type == FAMILY_SUMMARY) {
        debugjson_kv_open(w, "quantiles", '[');
        for (l = 0; l < cf->nquantiles; l++) {
            debugjson_open(w, '{');
            debugjson_kv_num(w, "quantile", cf->quantiles[l].q);
            debugjson_kv_num(w, "error", cf->quantiles[l].err);
            debugjson_close(w, '}');
        }
        debugjson_close(w, ']');
        debugjson_kv_num(w, "max_age_seconds", cf->max_age);
        debugjson_kv_u64(w, "age_buckets", cf->age_buckets);
    }
    debugjson_kv_open(w, "labels", '[');
    for (l = 0; l < cf->nlabels; l++) {
        const struct config_label *cl = &cf->labels[l];
        size_t it = 0, k, len;
        const char *v;

        debugjson_open(w, '{');
        debugjson_kv_str(w, "name", cl->name);
        debugjson_kv_u64(w, "distinct_values", registry_label_values(dr->reg, f, l));
        if (cl->values) {
            debugjson_kv_u64(w, "cap", cl->nvalues);
            debugjson_kv_open(w, "allowed", '[');
            for (k = 0; k < cl->nvalues; k++)
                debugjson_val_str(w, cl->values[k], strlen(cl->values[k]));
            debugjson_close(w, ']');
        } else {
            debugjson_kv_u64(w, "cap", cl->max_values);
        }
        label_policy(dr, w, f, l, cl);
        if (dr->q.seen) {
            debugjson_kv_open(w, "seen", '[');
            while (registry_label_value_next(dr->reg, f, l, &it, &v, &len))
                debugjson_val_str(w, v, len);
            debugjson_close(w, ']');
        }
        debugjson_close(w, '}');
    }
    debugjson_close(w, ']');
    debugjson_close(w, '}');
}

/*
 * A family lists every label value it has seen, so the section can be megabytes (100
 * families x 8 labels x 1000 values) and is written a piece at a time like the series.
 */
int debugstore_families(struct debug_render *dr, struct debugjson *w)
{
    size_t n = registry_nfamilies(dr->reg);

    if (!dr->families_open) {
        debugjson_kv_open(w, "families", '[');
        dr->families_open = 1;
    }
    while (dr->fam_next < n) {
        size_t f = dr->fam_next++;
        if (registry_family_config(dr->reg, f) == NULL ||
            (dr->q.family_index >= 0 && (size_t)dr->q.family_index != f))
            continue;
        family_entry(dr, w, f);
        dr->fam_written++;
        if (w->out->len >= DEBUG_PIECE_BYTES && dr->fam_next < n)
            return 1;
    }
    debugjson_close(w, ']');
    dr->families_open = 0;
    return 0;
}

/*
 * A summary's quantiles over its window at the view's time (null for an empty window), each
 * with the error it holds to (the declared one, unless the stream's cap widened it), and
 * the observations in the window.
 */
static void summary_entry(struct debug_render *dr, struct debugjson *w,
                          const struct registry_sample *s)
{
    double v[CONFIG_MAX_QUANTILES], err[CONFIG_MAX_QUANTILES];
    uint64_t n = summary_read(s->summary, s->summary_spec, dr->self.now_ms, v, err);

    debugjson_kv_open(w, "quantiles", '[');
    for (size_t i = 0; i < s->cfg->nquantiles; i++) {
        debugjson_open(w, '{');
        debugjson_kv_num(w, "quantile", s->cfg->quantiles[i].q);
        debugjson_kv_num(w, "value", v[i]);
        debugjson_kv_num(w, "error", err[i]);
        debugjson_close(w, '}');
    }
    debugjson_close(w, ']');
    debugjson_kv_u64(w, "window_count", n);
    debugjson_kv_num(w, "sum", s->value);
    debugjson_kv_u64(w, "count", s->count);
}

/*
 * A series' native buckets: the current schema and zero bucket, then each populated
 * bucket, negative ones first, with its bounds (|v| in (lower, upper] on the positive side,
 * mirrored on the negative one) and count.
 */
static void native_entry(struct debugjson *w, const struct nativehist *h)
{
    int schema = nativehist_schema(h);

    debugjson_kv_open(w, "native", '{');
    debugjson_kv_num(w, "schema", schema);
    debugjson_kv_num(w, "zero_threshold", nativehist_zero_threshold(h));
    debugjson_kv_u64(w, "zero_count", nativehist_zero_count(h));
    debugjson_kv_u64(w, "count", nativehist_count(h));
    debugjson_kv_num(w, "sum", nativehist_sum(h));
    debugjson_kv_open(w, "buckets", '[');
    for (int side = NATIVEHIST_NEGATIVE; side <= NATIVEHIST_POSITIVE; side++) {
        size_t n = nativehist_buckets(h, (enum nativehist_side)side);

        for (size_t i = 0; i < n; i++) {
            size_t at = side == NATIVEHIST_NEGATIVE ? n - 1 - i : i; /* ascending values */
            double lo, hi;
            uint64_t count;
            int32_t key;

            nativehist_bucket(h, (enum nativehist_side)side, at, &key, &count);
            lo = nativehist_upper_bound(schema, key - 1);
            hi = nativehist_upper_bound(schema, key);
            debugjson_open(w, '{');
            debugjson_kv_num(w, "lower", side == NATIVEHIST_NEGATIVE ? -hi : lo);
            debugjson_kv_num(w, "upper", side == NATIVEHIST_NEGATIVE ? -lo : hi);
            debugjson_kv_u64(w, "count", count);
            debugjson_close(w, '}');
        }
    }
    debugjson_close(w, ']');
    debugjson_close(w, '}');
}

static void series_entry(struct debug_render *dr, struct debugjson *w,
                         const struct registry_sample *s)
{
    size_t i;

    debugjson_open(w, '{');
    debugjson_kv_str(w, "family", s->cfg->name);
    debugjson_kv_open(w, "labels", '{');
    for (i = 0; i < s->nlabels; i++) {
        debugjson_key(w, s->labels[i].name);
        jsonstr_add_quoted(w->out, s->labels[i].value, s->labels[i].value_len);
        w->need_comma = 1;
    }
    debugjson_close(w, '}');
    if (s->buckets) {
        uint64_t cumulative = 0;
        debugjson_kv_open(w, "buckets", '[');
        for (i = 0; i <= s->cfg->nbuckets; i++) {
            cumulative += s->buckets[i];
            debugjson_open(w, '{');
            debugjson_key(w, "le");
            if (i < s->cfg->nbuckets)
                debugjson_num(w->out, s->cfg->buckets[i]);
            else
                buf_adds(w->out, "\"+Inf\"");
            w->need_comma = 1;
            debugjson_kv_u64(w, "count", cumulative);
            debugjson_close(w, '}');
        }
        debugjson_close(w, ']');
        debugjson_kv_num(w, "sum", s->value);
        debugjson_kv_u64(w, "count", s->count);
        if (s->native != NULL)
            native_entry(w, s->native);
    } else if (s->cfg->type == FAMILY_SUMMARY) {
        summary_entry(dr, w, s);
    } else {
        debugjson_kv_num(w, "value", s->value);
    }
    if (s->last_update_ms)
        debugjson_kv_num(w, "last_update", mono_to_unix(dr, s->last_update_ms));
    else
        debugjson_kv_str(w, "last_update", NULL);
    /* The series' OpenMetrics _created, as the wall clock read it (null: undated). */
    if (s->created_ms)
        debugjson_kv_num(w, "created", (double)s->created_ms / 1000.0);
    else
        debugjson_kv_str(w, "created", NULL);
    debugjson_close(w, '}');
}

int debugstore_series(struct debug_render *dr, struct debugjson *w)
{
    struct registry_sample s;
    size_t n = 0;

    if (!dr->cursor_live) {
        registry_cursor_init(&dr->cur, dr->reg);
        dr->cursor_live = 1;
        debugjson_kv_open(w, "series", '[');
    }
    /* Series skipped by family= count too: the walk is what costs. */
    while (n < DEBUG_STEP_SERIES && w->out->len < DEBUG_PIECE_BYTES &&
           dr->series_written < dr->q.limit && registry_cursor_next(&dr->cur, &s)) {
        n++;
        if (dr->q.family_index >= 0 && s.family != (size_t)dr->q.family_index)
            continue;
        series_entry(dr, w, &s);
        dr->series_written++;
    }
    if (dr->series_written < dr->q.limit && registry_cursor_more(&dr->cur))
        return 1;
    debugjson_close(w, ']');
    debugjson_kv_bool(w, "series_truncated",
                      dr->series_written >= dr->q.limit && registry_cursor_more(&dr->cur));
    registry_cursor_release(&dr->cur);
    dr->cursor_live = 0;
    return 0;
}

void debugstore_jobs(struct debug_render *dr, struct debugjson *w)
{
    static const char *const outcomes[] = { "worked", "idle", "error" };
    size_t i, k;

    debugjson_kv_open(w, "jobs", '[');
    for (i = 0; i < dr->jobs->n; i++) {
        const struct config_job *cj = &dr->jobs->cfg->jobs[i];
        const struct breaker *b = jobs_get(dr->jobs, i, dr->self.now_ms);

        debugjson_open(w, '{');
        debugjson_kv_str(w, "job", cj->name);
        debugjson_kv_str(w, "state", breaker_state_name(b->state));
        debugjson_kv_num(w, "state_seconds",
                         (double)breaker_time_in_state(b, dr->self.now_ms) / 1000.0);
        debugjson_kv_u64(w, "consecutive_failures", b->consecutive_failures);
        debugjson_kv_u64(w, "failure_threshold", b->threshold);
        debugjson_kv_num(w, "open_seconds", cj->open_seconds);
        debugjson_kv_open(w, "attempts", '{');
        for (k = 0; k < BREAKER_NOUTCOMES; k++)
            debugjson_kv_u64(w, outcomes[k], b->attempts[k]);
        debugjson_close(w, '}');
        debugjson_kv_u64(w, "errors", b->errors);
        debugjson_kv_u64(w, "circuit_openings", b->openings);
        writers_entry(w, dr->jobs->cfg, cj->writers);
        if (b->has_success)
            debugjson_kv_num(w, "last_success", b->last_success_unix);
        else
            debugjson_kv_str(w, "last_success", NULL);
        if (b->has_error)
            debugjson_kv_num(w, "last_error", b->last_error_unix);
        else
            debugjson_kv_str(w, "last_error", NULL);
        debugjson_close(w, '}');
    }
    debugjson_close(w, ']');
}
