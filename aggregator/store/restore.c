/*
 * restore: registry_restore(), a series of the state file put back into the registry
 * (registry.h), with the checks a line would meet and those of its values. Runs at
 * start-up only, a series at a time.
 */
#include <math.h>
#include <string.h>

#include "store/internal.h"
#include "store/labelset.h"

/* Whether s holds values a series of f can: what registry_apply() would never refuse. */
static int saved_values_ok(const struct registry__family *f, const struct registry_saved *s)
{
    const struct config_family *cf = f->cfg;
    uint64_t sum = 0;
    size_t i;

    if (!isfinite(s->value) || (cf->type == FAMILY_COUNTER && s->value < 0))
        return 0;
    if (cf->type == FAMILY_SUMMARY)
        return s->summary == NULL || summary_valid(s->summary, f->spec);
    if (cf->type != FAMILY_HISTOGRAM)
        return 1;
    if (s->buckets == NULL || s->carries == NULL)
        return 0;
    for (i = 0; i <= cf->nbuckets; i++) {
        if (!(s->carries[i] >= 0 && s->carries[i] < 1) || sum + s->buckets[i] < sum)
            return 0;
        sum += s->buckets[i];
    }
    return sum == s->count;
}

int registry_restore(struct registry *r, size_t fam, const struct registry_saved *s,
                     uint64_t now_ms)
{
    struct registry__family *f = &r->fams[fam];
    const struct config_family *cf = f->cfg;
    struct statsd_line line;
    struct labelset_match m;
    struct registry__series *se = NULL;
    struct nativehist nh;
    size_t j, n = f->labels.n;
    int rc;

    if (s->nlabels > STATSD_MAX_TAGS)
        return STATSD_TOO_MANY_TAGS;
    memset(&line, 0, sizeof line);
    memset(&m, 0, sizeof m);
    line.ntags = s->nlabels;
    memcpy(line.tags, s->labels, s->nlabels * sizeof *s->labels);
    rc = labelset_check(&f->labels, &line, r->cfg, &m, 0);
    if (rc != STATSD_OK)
        return rc;
    for (j = 0; j < n; j++)
        if (m.folded[j] != CONFIG_FOLD_NONE)
            return STATSD_LABEL_VALUES_CAP;
    if (m.dropped != 0)
        return STATSD_LABEL_NOT_ALLOWED;
    if (m.fresh == 0)
        se = series_find(r, series_hash_match((uint32_t)fam, &m, n), (uint32_t)fam, m.ids, n);
    if (se != NULL && (se->flags & SERIES_RESTORED))
        return REGISTRY_DUPLICATE;
    if (s->updated && f->ttl_ms != 0 && s->idle_ms > f->ttl_ms &&
        (se == NULL || !series_pinned(f, se)))
        return REGISTRY_EXPIRED;
    if (se == NULL &&
        (f->nseries >= r->cfg->max_series_per_family || r->nseries >= r->cfg->max_series))
        return STATSD_SERIES_CAP;
    if (!saved_values_ok(f, s))
        return REGISTRY_BAD_VALUE;
    if (f->noff != 0) { /* checked before the series is made, as the values above */
        nativehist_init(&nh, &f->ncfg);
        if (s->native != NULL && nativehist_decode(&nh, &f->ncfg, s->native, s->native_len) != 0)
            return REGISTRY_BAD_VALUE;           /* h unchanged: nothing allocated */
        if (nativehist_count(&nh) != s->count) { /* both kinds count each observation once */
            nativehist_free(&nh);
            return REGISTRY_BAD_VALUE;
        }
    }
    if (se == NULL)
        se = series_create(r, (uint32_t)fam, &m, NULL);
    se->flags |= SERIES_RESTORED;
    se->value = s->value;
    se->last_ms = !s->updated ? 0 : now_ms > s->idle_ms ? now_ms - s->idle_ms : 1;
    expiry_note(r, f, se->last_ms);
    if (s->created_ms != 0)
        se->created_ms = s->created_ms;
    if (cf->type == FAMILY_HISTOGRAM) {
        struct histogram *h = series_hist(f, se);

        h->count = s->count;
        memcpy(h->b, s->buckets, (cf->nbuckets + 1) * sizeof *h->b);
        for (size_t k = 0; k <= cf->nbuckets && h->carry == NULL; k++)
            if (s->carries[k] != 0)
                h->carry = counted_alloc(&r->mem, f->carries);
        if (h->carry != NULL)
            memcpy(h->carry, s->carries, f->carries);
        if (f->noff != 0) {
            struct registry__native *nat = series_native(f, se);

            r->mem -= nativehist_bytes(&nat->h);
            nativehist_free(&nat->h);
            nat->h = nh;
            r->mem += nativehist_bytes(&nat->h);
        }
    } else if (cf->type == FAMILY_SUMMARY) {
        struct summary **sm = series_summary(f, se);

        /* A zero series made at start-up holds none yet; one restored twice is refused. */
        summary_free(*sm, &r->mem);
        *sm = s->summary;
        if (*sm != NULL)
            r->mem += summary_bytes(*sm);
    }
    return STATSD_OK;
}
