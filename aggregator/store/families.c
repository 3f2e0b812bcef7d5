/*
 * families: the registry's family slots (store/internal.h). A slot is set up for a
 * family's layout, configured for its current config, retired by a reload that drops or
 * changes it, and freed once its series are gone; slots never move, since a series hashes
 * its family's index and cursors hold one. Only start-up and reloads come here.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "base/counted.h"
#include "store/internal.h"

void families_setup(struct registry *r, size_t fi, const struct config_family *cf)
{
    struct registry__family *f = &r->fams[fi];
    size_t idend = offsetof(struct registry__series, ids) + cf->nlabels * sizeof(uint32_t);

    memset(f, 0, sizeof *f);
    f->cfg = cf;
    f->state = FAM_LIVE;
    families_restamp(r, fi);
    f->created_ms = r->clock != NULL ? r->clock(r->clock_arg) : 0;
    f->name_len = strlen(cf->name);
    f->hoff = (idend + 7) & ~(size_t)7;
    f->block = f->hoff;
    if (cf->type == FAMILY_HISTOGRAM) {
        f->block += histogram_size(cf->nbuckets);
        f->carries = histogram_carries_size(cf->nbuckets);
    }
    if (cf->type == FAMILY_HISTOGRAM && cf->native.on) {
        f->noff = (f->block + 7) & ~(size_t)7;
        f->block = f->noff + sizeof(struct registry__native);
    }
    if (cf->type == FAMILY_SUMMARY) {
        f->block += sizeof(struct summary *);
        f->spec = counted_alloc(&r->mem, sizeof *f->spec);
    }
    labelset_init(&f->labels, cf, &r->values, (uint32_t)(fi * CONFIG_MAX_LABELS));
}

void families_configure(struct registry *r, size_t fi, const struct config_family *cf)
{
    struct registry__family *f = &r->fams[fi];

    f->cfg = cf;
    f->ttl_ms = cf->ttl_seconds > 0 ? (uint64_t)ceil(cf->ttl_seconds * 1000.0) : 0;
    f->oldest_ms = 0; /* unknown: the next walk finds it (expiry.c) */
    if (f->noff != 0) /* the same block (families_compatible) */
        f->ncfg = (struct nativehist_cfg){ .schema = (int8_t)cf->native.schema,
                                           .zero_threshold = cf->native.zero_threshold,
                                           .max_buckets = cf->native.max_buckets };
    if (f->spec != NULL) /* the same quantiles and windows (families_compatible) */
        summary_spec_init(f->spec, cf);
    labelset_configure(&f->labels, cf, &r->mem);
}

void families_build_names(struct registry *r)
{
    size_t i, live = 0;

    for (i = 0; i < r->nfams; i++)
        if (r->fams[i].state == FAM_LIVE)
            live += 1 + (r->fams[i].cfg->alias != NULL);
    names_reset(&r->names, live, &r->mem);
    for (i = 0; i < r->nfams; i++) {
        const struct config_family *cf = r->fams[i].cfg;

        if (r->fams[i].state != FAM_LIVE)
            continue;
        names_add(&r->names, cf->name, r->fams[i].name_len, (uint32_t)i, config_takes_total(cf));
        /* The OpenTelemetry name (cfgalias.h): no other family's, never with "_total". */
        if (cf->alias != NULL)
            names_add(&r->names, cf->alias, strlen(cf->alias), (uint32_t)i, 0);
    }
}

/*
 * A label-less counter, histogram or summary exists from start-up, at zero (unless
 * excluded).
 */
static void pin_zero_series(struct registry *r)
{
    uint32_t none[1] = { 0 }; /* the ids of a label-less series: memcpy wants a pointer */
    size_t i;

    for (i = 0; i < r->nfams; i++) {
        const struct registry__family *f = &r->fams[i];

        if (f->state == FAM_LIVE && f->nseries == 0 && f->labels.n == 0 &&
            f->cfg->type != FAMILY_GAUGE && !f->cfg->excluded)
            series_new(r, (uint32_t)i, none, series_hash(r, (uint32_t)i, none, 0), NULL)->flags |=
                SERIES_PINNED;
    }
}

/*
 * Family fi's precreated series (config_family.precreate): every combination of its keys'
 * enumerated values, the overflow value among them, in config order with the last key
 * varying fastest. Combinations a series holds already are left alone, so a reload that
 * adds a value creates only the new ones. cfgfamily checked that the combinations fit the
 * caps; like the zero series they are created even when other series fill the caps.
 */
static void precreate(struct registry *r, size_t fi)
{
    struct registry__family *f = &r->fams[fi];
    const struct config_family *cf = f->cfg;
    uint32_t *vals[CONFIG_MAX_LABELS], ids[CONFIG_MAX_LABELS] = { 0 };
    size_t nv[CONFIG_MAX_LABELS], pos[CONFIG_MAX_LABELS], j, n = f->labels.n;

    for (j = 0; j < n; j++) {
        const struct config_label *cl = &cf->labels[j];
        const struct intern *in = &f->labels.keys[j].in;
        size_t v;

        vals[j] = counted_alloc(&r->mem, (cl->nvalues + 1) * sizeof **vals);
        nv[j] = 0;
        for (v = 0; v <= cl->nvalues; v++) {
            const char *s = v < cl->nvalues ? cl->values[v] : cl->overflow;
            size_t len = s != NULL ? strlen(s) : 0, k;
            uint32_t id = s != NULL ? intern_find(in, s, len, intern_hash(s, len)) : 0;

            for (k = 0; k < nv[j] && vals[j][k] != id; k++)
                ;
            if (id != 0 && k == nv[j])
                vals[j][nv[j]++] = id;
        }
        /* An enumerated key has a value (cfgfamily): the odometer needs one per key. */
        assert(nv[j] > 0);
        pos[j] = 0;
        ids[j] = vals[j][0];
    }
    for (;;) {
        uint64_t h = series_hash(r, (uint32_t)fi, ids, n);

        if (series_find(r, h, (uint32_t)fi, ids, n) == NULL)
            series_new(r, (uint32_t)fi, ids, h, NULL);
        for (j = n; j > 0 && ++pos[j - 1] == nv[j - 1]; j--) {
            pos[j - 1] = 0;
            ids[j - 1] = vals[j - 1][0];
        }
        if (j == 0)
            break;
        ids[j - 1] = vals[j - 1][pos[j - 1]];
    }
    for (j = 0; j < n; j++)
        counted_free(&r->mem, vals[j], (cf->labels[j].nvalues + 1) * sizeof **vals);
}

void families_create_fixed(struct registry *r)
{
    size_t i;

    pin_zero_series(r);
    for (i = 0; i < r->nfams; i++)
        if (r->fams[i].state == FAM_LIVE && r->fams[i].cfg->precreate && !r->fams[i].cfg->excluded)
            precreate(r, i);
}

void families_free(struct registry *r, struct registry__family *f)
{
    if (f->spec != NULL)
        counted_free(&r->mem, f->spec, sizeof *f->spec);
    labelset_release(&f->labels, &r->mem);
    memset(f, 0, sizeof *f);
    f->state = FAM_FREE;
}

int families_free_step(struct registry *r, struct registry__family *f)
{
    if (labelset_release_step(&f->labels, &r->mem))
        return 1;
    families_free(r, f);
    return 0;
}

void families_retire(struct registry *r, size_t fi)
{
    struct registry__family *f = &r->fams[fi];
    struct registry_cursor *c;

    /* A cursor inside the family goes on with the next one: next_fam is past it. */
    for (c = r->cursors; c != NULL; c = c->link)
        if (c->pos != NULL && c->pos->fam == fi)
            c->pos = NULL;
    f->cfg = NULL;
    f->state = FAM_RETIRED;
    families_restamp(r, fi); /* its lines miss, and go where the new config says */
    r->nseries -= f->nseries;
    r->retired += f->nseries;
    if (f->head == NULL)
        families_free(r, f);
    else
        r->releasing++;
}

void families_restamp(struct registry *r, size_t fi)
{
    r->fams[fi].stamp = ++r->stamps;
}

/* The same native buckets, or none on both sides: a change resets, as buckets do. */
static int native_same(const struct config_native *a, const struct config_native *b)
{
    if (!a->on || !b->on)
        return a->on == b->on;
    return a->schema == b->schema && a->max_buckets == b->max_buckets &&
           memcmp(&a->zero_threshold, &b->zero_threshold, sizeof a->zero_threshold) == 0;
}

int families_compatible(struct registry *r, const struct registry__family *f,
                        const struct config_family *cf)
{
    const struct config_family *old = f->cfg;

    if (old->type != cf->type || old->excluded != cf->excluded || old->nlabels != cf->nlabels)
        return 0;
    if (cf->type == FAMILY_HISTOGRAM &&
        (old->unit_ms != cf->unit_ms || old->nbuckets != cf->nbuckets ||
         (cf->nbuckets > 0 &&
          memcmp(old->buckets, cf->buckets, cf->nbuckets * sizeof *cf->buckets) != 0) ||
         !native_same(&old->native, &cf->native)))
        return 0;
    if (cf->type == FAMILY_SUMMARY &&
        (old->unit_ms != cf->unit_ms || !summary_same_layout(old, cf)))
        return 0;
    return labelset_compatible(&f->labels, cf, &r->mem);
}

size_t families_slot(struct registry *r)
{
    size_t i;

    for (i = 0; i < r->nfams; i++)
        if (r->fams[i].state == FAM_FREE)
            return i;
    if (r->nfams == r->fams_cap) {
        size_t n = r->fams_cap * 2;

        r->fams =
            counted_realloc(&r->mem, r->fams, r->fams_cap * sizeof *r->fams, n * sizeof *r->fams);
        memset(r->fams + r->fams_cap, 0, (n - r->fams_cap) * sizeof *r->fams);
        r->fams_cap = n;
    }
    return r->nfams++;
}
