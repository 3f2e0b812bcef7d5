/*
 * dryrun: registry_apply()'s checks without its effects (dryrun.h). Every check is the
 * registry's own (registry__check_family, labelset_check, registry__compute); what is
 * added here only finds which tag a label reason is about and spells the labels out.
 */
#include "store/dryrun.h"

#include <string.h>

#include "store/internal.h"

/* The caps a new series meets: the family's, or the total. */
static int at_series_cap(const struct registry *r, const struct registry__family *f)
{
    return f->nseries >= r->cfg->max_series_per_family || r->nseries >= r->cfg->max_series;
}

/* The family's label a tag names (keys normalised like names), or -1. */
static long label_of(const struct config_family *cf, const struct statsd_view *key)
{
    char k[STATSD_MAX_NAME];
    size_t n = statsd_normalize_name(key->ptr, key->len, k, sizeof k);

    for (size_t j = 0; j < cf->nlabels; j++)
        if (n != 0 && strlen(cf->labels[j].name) == n && memcmp(cf->labels[j].name, k, n) == 0)
            return (long)j;
    return -1;
}

/*
 * The tag labelset_check() stopped at: the shortest run of the line's tags that it
 * refuses ends with it (the check goes tag by tag, and stops at the first refusal).
 */
static long tag_at_fault(const struct registry__family *f, const struct statsd_line *line,
                         const struct config *c)
{
    struct statsd_line part = *line;
    struct labelset_match m;

    for (size_t k = 1; k <= line->ntags; k++) {
        part.ntags = k;
        memset(&m, 0, sizeof m);
        if (labelset_check(&f->labels, &part, c, &m, 0) != STATSD_OK)
            return (long)k - 1;
    }
    return -1;
}

/* The series' labels as exposed: an interned value, a new one, or the overflow value. */
static void spell_labels(const struct registry__family *f, const struct labelset_match *m,
                         struct registry_dryrun *out)
{
    for (size_t j = 0; j < f->labels.n; j++) {
        struct expo_label *l = &out->labels[out->nlabels];

        l->name = f->cfg->labels[j].name;
        if (m->fresh & (1u << j)) {
            l->value = m->pending[j]->ptr;
            l->value_len = m->pending[j]->len;
        } else if (m->ids[j] != 0) {
            const struct intern_value *v = intern_value(&f->labels.keys[j].in, m->ids[j]);

            l->value = v->s;
            l->value_len = v->len;
        } else {
            continue;
        }
        out->nlabels++;
    }
}

int registry_dry_run(const struct registry *r, const struct statsd_line *line, uint64_t now_ms,
                     struct registry_dryrun *out)
{
    struct labelset_match lb;
    struct histogram_update u;
    const struct registry__family *f;
    struct registry__series *s = NULL;
    double value = 0;
    long fi = -1;
    int rc;

    memset(out, 0, sizeof *out);
    out->family = out->tag = out->label = -1;
    memset(&lb, 0, sizeof lb);
    rc = registry__check_family(r, line, &fi);
    out->family = rc == STATSD_UNKNOWN_FAMILY ? -1 : fi;
    if (rc != STATSD_OK)
        return out->reason = rc;
    f = &r->fams[fi];
    rc = labelset_check(&f->labels, line, r->cfg, &lb, 0);
    if (rc != STATSD_OK) {
        out->tag = tag_at_fault(f, line, r->cfg);
        if (out->tag >= 0)
            out->label = label_of(f->cfg, &line->tags[out->tag].key);
        out->reclaim = rc == STATSD_LABEL_VALUES_CAP && expiry_due(f, now_ms);
        return out->reason = rc;
    }
    out->fresh = lb.fresh;
    out->stripped = lb.stripped;
    out->dropped = lb.dropped;
    memcpy(out->folded, lb.folded, sizeof out->folded);
    if (f->cfg->type == FAMILY_COUNTER && line->values[0] < 0)
        return out->reason = STATSD_NEGATIVE_COUNTER;
    if (lb.fresh == 0)
        s = series_find(r, series_hash_match((uint32_t)fi, &lb, f->labels.n), (uint32_t)fi, lb.ids,
                        f->labels.n);
    out->new_series = s == NULL;
    if (s == NULL && at_series_cap(r, f)) {
        out->reclaim = expiry_due(f, now_ms);
        /* At the total cap, reclaim frees expired series of any family. */
        for (size_t i = 0; i < r->nfams && r->nseries >= r->cfg->max_series; i++)
            out->reclaim |= expiry_due(&r->fams[i], now_ms);
        return out->reason = STATSD_SERIES_CAP;
    }
    rc = registry__compute(f, s, line, &value, &u);
    if (rc == STATSD_OK)
        spell_labels(f, &lb, out);
    return out->reason = rc;
}
