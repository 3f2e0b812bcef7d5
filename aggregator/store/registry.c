#include "store/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/counted.h"
#include "config/cfgclient.h"
#include "store/histogram.h"
#include "store/internal.h"
#include "store/labelset.h"

_Static_assert(CONFIG_MAX_BUCKETS <= HISTOGRAM_MAX_BOUNDS, "a family's buckets fit a histogram");
_Static_assert(STATSD_MAX_VALUES <= HISTOGRAM_MAX_VALUES, "a line's values fit one plan");

/*
 * What an accepted line's tags cost besides its value (struct labelset_match), packed
 * into a cached identity's notes so that a cache hit counts it too without its tags:
 *   bits  0..15  the strip_tags removed (one bit each)
 *   bits 16..20  undeclared tags dropped (at most STATSD_MAX_TAGS)
 *   bits 24..55  per key, 4 bits: enum config_fold
 */
#define NOTES_DROPPED_SHIFT 16
#define NOTES_FOLD_SHIFT    24

_Static_assert(CONFIG_MAX_STRIP_TAGS <= 16, "stripped keys fit the notes");
_Static_assert(STATSD_MAX_TAGS < 32, "a count of dropped tags fits 5 bits");
_Static_assert(NOTES_FOLD_SHIFT + 4 * CONFIG_MAX_LABELS <= 64 && CONFIG_FOLD_MAX <= 16,
               "the folds fit the notes");

static uint64_t notes_of(const struct labelset_match *m, size_t nlabels)
{
    uint64_t notes = m->stripped | (uint64_t)m->dropped << NOTES_DROPPED_SHIFT;
    size_t j;

    for (j = 0; j < nlabels; j++)
        notes |= (uint64_t)m->folded[j] << (NOTES_FOLD_SHIFT + 4 * j);
    return notes;
}

/* Count an accepted line's notes: rare, so kept out of the hot path's way. */
static __attribute__((noinline)) void count_notes(struct registry *r, struct registry__family *f,
                                                  uint64_t notes)
{
    size_t i;

    for (i = 0; i < CONFIG_MAX_STRIP_TAGS; i++)
        r->stripped[i] += (notes >> i) & 1;
    f->dropped += (notes >> NOTES_DROPPED_SHIFT) & 31;
    for (i = 0; i < f->labels.n; i++) {
        unsigned why = (notes >> (NOTES_FOLD_SHIFT + 4 * i)) & 15;

        if (why != CONFIG_FOLD_NONE)
            f->folded[i][why]++;
    }
}

/* ---- lifecycle ---- */

void registry_set_clock(struct registry *r, registry_clock_cb cb, void *arg)
{
    uint64_t now = cb(arg);
    size_t i;

    r->clock = cb;
    r->clock_arg = arg;
    for (i = 0; i < r->nfams; i++) {
        struct registry__series *s;

        if (r->fams[i].state == FAM_LIVE && r->fams[i].created_ms == 0)
            r->fams[i].created_ms = now;
        for (s = r->fams[i].head; s != NULL; s = s->next)
            if (s->created_ms == 0)
                s->created_ms = now;
    }
}

int registry_init(struct registry *r, const struct config *c)
{
    size_t i;

    memset(r, 0, sizeof *r);
    r->cfg = c;
    r->nfams = c->nfamilies;
    r->fams_cap = r->nfams ? r->nfams : 1;
    r->fams = counted_calloc(&r->mem, r->fams_cap, sizeof *r->fams);
    for (i = 0; i < r->nfams; i++) {
        families_setup(r, i, &c->families[i]);
        families_configure(r, i, &c->families[i]);
    }
    families_build_names(r);
    families_create_fixed(r);
    registry_cursor_init(&r->expiry, r);
    registry_cursor_init(&r->reclaim, r);
    registry_cursor_init(&r->renum.walk, r);
    return 0;
}

/* ---- reload ---- */

size_t registry_drain(struct registry *r, size_t budget)
{
    size_t i, freed = 0;

    for (i = 0; i < r->nfams && r->retired > 0 && freed < budget; i++) {
        struct registry__family *f = &r->fams[i];

        while (f->state == FAM_RETIRED && f->head != NULL && freed < budget) {
            series_free(r, f->head);
            freed++;
        }
    }
    /*
     * Then the tables of an emptied family, one step a call: a key that held millions of
     * values gives back 2 MB a step (counted.h), whose unmapping costs as much as a budget
     * of series.
     */
    for (i = 0; i < r->nfams && r->releasing > 0 && freed < budget; i++) {
        struct registry__family *f = &r->fams[i];

        if (f->state == FAM_RETIRED && f->head == NULL) {
            if (!families_free_step(r, f))
                r->releasing--;
            break;
        }
    }
    return freed;
}

int registry_draining(const struct registry *r)
{
    return r->releasing > 0;
}

/* The strip_tags counts follow their keys, by name, into c's list. */
static void carry_stripped(struct registry *r, const struct config *c)
{
    uint64_t was[CONFIG_MAX_STRIP_TAGS];
    size_t i, j;

    memcpy(was, r->stripped, sizeof was);
    memset(r->stripped, 0, sizeof r->stripped);
    for (i = 0; i < c->nstrip_tags; i++)
        for (j = 0; j < r->cfg->nstrip_tags; j++)
            if (strcmp(c->strip_tags[i], r->cfg->strip_tags[j]) == 0)
                r->stripped[i] = was[j];
}

void registry_reconfigure(struct registry *r, const struct config *c, struct registry_reload *out)
{
    size_t *slot = counted_calloc(&r->mem, c->nfamilies ? c->nfamilies : 1, sizeof *slot);
    unsigned char *keep = counted_calloc(&r->mem, r->nfams ? r->nfams : 1, 1);
    size_t nfams = r->nfams, i;
    int alike = config_judges_alike(r->cfg, c);

    memset(out, 0, sizeof *out);
    /* Match by name against the running families, before any of them changes. */
    for (i = 0; i < c->nfamilies; i++) {
        const struct config_family *cf = &c->families[i];
        long fi = names_find(&r->names, cf->name, strlen(cf->name));

        slot[i] = SIZE_MAX;
        if (fi >= 0 && !keep[fi] && strcmp(r->fams[fi].cfg->name, cf->name) == 0) {
            if (families_compatible(r, &r->fams[fi], cf)) {
                keep[fi] = 1;
                slot[i] = (size_t)fi;
                out->kept++;
            } else {
                out->reset++;
            }
        } else {
            out->added++;
        }
    }
    for (i = 0; i < nfams; i++) {
        if (r->fams[i].state != FAM_LIVE || keep[i])
            continue;
        families_retire(r, i);
        out->retired++;
    }
    out->removed = out->retired - out->reset;
    for (i = 0; i < c->nfamilies; i++) {
        if (slot[i] == SIZE_MAX) {
            slot[i] = families_slot(r);
            families_setup(r, slot[i], &c->families[i]);
        } else if (!alike || !config_family_judged_alike(r->fams[slot[i]].cfg, &c->families[i])) {
            families_restamp(r, slot[i]); /* its lines are checked against c on their next */
        }
        families_configure(r, slot[i], &c->families[i]);
    }
    carry_stripped(r, c);
    r->cfg = c;
    /*
     * Ttls and precreate may have changed: each family's bound was reset (families_configure),
     * and walks under way may not set one from what they saw before.
     */
    r->sweep_least = 0;
    r->reclaim_least = 0;
    r->due_ms = 0;
    families_build_names(r);
    families_create_fixed(r);
    counted_free(&r->mem, keep, nfams ? nfams : 1);
    counted_free(&r->mem, slot, (c->nfamilies ? c->nfamilies : 1) * sizeof *slot);
}

void registry_release(struct registry *r)
{
    size_t i;

    registry_cursor_release(&r->expiry);
    registry_cursor_release(&r->reclaim);
    registry_cursor_release(&r->renum.walk);
    hotcache_release(&r->hot, &r->mem); /* first: identities are then only freed */
    for (i = 0; i < r->nfams; i++) {
        struct registry__family *f = &r->fams[i];
        struct registry__series *s, *next;

        for (s = f->head; s != NULL; s = next) {
            next = s->next;
            series_release(r, f, s);
        }
        families_free(r, f);
    }
    counted_free(&r->mem, r->fams, r->fams_cap * sizeof *r->fams);
    table_release(&r->series, &r->mem);
    names_release(&r->names, &r->mem);
    slab_release(&r->blocks);
    slab_release(&r->values);
    memset(r, 0, sizeof *r);
}

/* Every series goes (retired families drained, live ones emptied); the fixed ones come back. */
void registry_reset(struct registry *r)
{
    size_t i, j;

    while (registry_draining(r))
        registry_drain(r, SIZE_MAX);
    registry_renumber_finish(r); /* the keys are rewound below: one list each */
    for (i = 0; i < r->nfams; i++) {
        struct registry__family *f = &r->fams[i];

        while (f->head != NULL)
            series_free(r, f->head);
        f->dropped = 0;
        f->lines = 0;
        memset(f->folded, 0, sizeof f->folded);
        f->oldest_ms = 0; /* expiry's bounds, as families_configure() leaves them */
        memset(f->marks, 0, sizeof f->marks);
        for (j = 0; j < f->labels.n; j++)
            intern_rewind(&f->labels.keys[j].in);
    }
    hotcache_release(&r->hot, &r->mem);
    r->huge_hot = NULL; /* a new table at the same address is new to registry_ripe() */
    memset(r->stripped, 0, sizeof r->stripped);
    registry_cursor_release(&r->expiry);
    registry_cursor_init(&r->expiry, r);
    registry_cursor_release(&r->reclaim);
    registry_cursor_init(&r->reclaim, r);
    r->sweep_least = 0;
    r->sweep_walked = 0;
    r->reclaim_least = 0;
    r->due_ms = 0;
    r->reclaimed = 0;
    r->expired[0] = r->expired[1] = 0;
    r->compact_fam = 0;
    families_create_fixed(r);
}

/* ---- the hot path ---- */

/* An up-down gauge takes counter lines too, as signed deltas (Count(..., -1), Decr). */
static int type_matches(const struct config_family *cf, enum statsd_type lt)
{
    switch (lt) {
    case STATSD_COUNTER:
        return cf->type == FAMILY_COUNTER || (cf->type == FAMILY_GAUGE && cf->updown);
    case STATSD_GAUGE:
        return cf->type == FAMILY_GAUGE;
    case STATSD_TIMER:
    case STATSD_HISTOGRAM:
    case STATSD_DISTRIBUTION:
        return cf->type == FAMILY_HISTOGRAM || cf->type == FAMILY_SUMMARY;
    case STATSD_JOB:
    case STATSD_SERVICE_CHECK:
        break;
    }
    return 0;
}

/*
 * The series' new state for an accepted line, computed without touching s (NULL for a
 * series yet to be created), so that a rejected line changes nothing. Returns STATSD_OK,
 * STATSD_NEGATIVE_COUNTER, or STATSD_NON_FINITE when the value would overflow to
 * infinity (a huge value or a tiny rate; the parser only rejects non-finite inputs, and
 * no exposition may show one).
 */
int registry__compute(const struct registry__family *f, struct registry__series *s,
                      const struct statsd_line *line, double *value, struct histogram_update *u)
{
    const struct config_family *cf = f->cfg;
    double rate = line->rate < MIN_RATE ? MIN_RATE : line->rate;
    double div = series_div(cf, line->type);

    if (cf->type == FAMILY_COUNTER && line->values[0] < 0)
        return STATSD_NEGATIVE_COUNTER;
    *value = s != NULL ? s->value : 0;
    switch (cf->type) {
    case FAMILY_COUNTER:
        *value += line->values[0] / rate;
        break;
    case FAMILY_GAUGE:
        /*
         * A sign moves an up-down gauge, and so does a counter line (scaled as a counter's
         * increment); any other gauge takes the value, as DogStatsD.
         */
        if (line->type == STATSD_COUNTER)
            *value += line->values[0] / rate;
        else
            *value = line->relative && cf->updown ? *value + line->values[0] : line->values[0];
        break;
    case FAMILY_HISTOGRAM:
        /* _sum adds each v / rate; the buckets count weighted, with carries. */
        histogram_plan(s != NULL ? series_hist(f, s) : NULL, cf->buckets, cf->nbuckets,
                       line->values, line->nvalues, div, rate, value, u);
        break;
    case FAMILY_SUMMARY: /* _sum as a histogram's; the streams take the values at commit */
        for (size_t i = 0; i < line->nvalues; i++)
            *value += line->values[i] / div / rate;
        break;
    }
    return isfinite(*value) ? STATSD_OK : STATSD_NON_FINITE;
}

static void commit(struct registry *r, const struct registry__family *f, struct registry__series *s,
                   const struct statsd_line *line, uint64_t now_ms, double value,
                   const struct histogram_update *u)
{
    s->value = value;
    s->last_ms = now_ms;
    if (f->cfg->type == FAMILY_HISTOGRAM) {
        struct histogram *h = series_hist(f, s);

        /* The first sampled observation that leaves a fraction: the carries' own block. */
        if (u->carries && h->carry == NULL)
            h->carry = counted_calloc(&r->mem, 1, f->carries);
        histogram_commit(h, f->cfg->nbuckets, u, line->nvalues, line->rate);
        for (size_t i = 0; f->noff != 0 && i < line->nvalues; i++)
            series_native_observe(r, f, s, line->values[i] / series_div(f->cfg, line->type),
                                  u->incs[i]);
    } else if (f->cfg->type == FAMILY_SUMMARY)
        series_summarize(r, f, s, line, now_ms);
}

/* The family a line names, or a reason: UNKNOWN_FAMILY, GROUP_EXCLUDED, TYPE_MISMATCH. */
/* The live family a line names, or -1 (STATSD_UNKNOWN_FAMILY). */
static long line_family(const struct registry *r, const struct statsd_line *line)
{
    char name[STATSD_MAX_NAME];
    long fi;
    size_t n;

    n = statsd_normalize_name(line->name.ptr, line->name.len, name, sizeof name);
    fi = n ? names_find(&r->names, name, n) : -1;
    /*
     * DogStatsD client telemetry, datadog.dogstatsd.client.X, counts in the family
     * ustatsd_client_X (cfgclient.h): looked up only once the name is no family's, so
     * other lines pay nothing. A line may not name that family itself.
     */
    if (fi < 0) {
        n = r->cfg->dogstatsd_telemetry ? cfgclient_family_name(name, n) : 0;
        fi = n ? names_find(&r->names, name, n) : -1;
        if (fi < 0 || !r->fams[fi].cfg->client_telemetry)
            return -1;
    } else if (r->fams[fi].cfg->client_telemetry) {
        return -1;
    }
    return fi;
}

int registry__check_family(const struct registry *r, const struct statsd_line *line, long *fi)
{
    const struct config_family *cf;

    if (line->type == STATSD_JOB || line->type == STATSD_SERVICE_CHECK)
        return STATSD_TYPE_MISMATCH;
    *fi = line_family(r, line);
    if (*fi < 0)
        return STATSD_UNKNOWN_FAMILY;
    cf = r->fams[*fi].cfg;
    if (cf->excluded)
        return STATSD_GROUP_EXCLUDED;
    if (!type_matches(cf, line->type))
        return STATSD_TYPE_MISMATCH;
    return STATSD_OK;
}

/* Whether a key's value cap refused the line (rc) or folded one of its values (lb). */
static int at_value_cap(int rc, const struct labelset_match *lb, size_t nl)
{
    size_t j;

    for (j = 0; rc == STATSD_OK && j < nl; j++)
        if (lb->folded[j] == CONFIG_FOLD_CAP)
            return 1;
    return rc == STATSD_LABEL_VALUES_CAP;
}

int registry_apply(struct registry *r, const struct statsd_line *line, uint64_t now_ms)
{
    struct labelset_match lb;
    struct histogram_update u;
    struct registry__family *f;
    struct registry__series *s = NULL;
    double value = 0;
    size_t nl;
    long fi;
    int rc;

    uint64_t notes;

    memset(&lb, 0, sizeof lb);
    /* Cache hits are registry_apply_found()'s; here the identity is only cached at the end. */
    rc = registry__check_family(r, line, &fi);
    if (rc != STATSD_OK)
        return rc;
    f = &r->fams[fi];
    nl = f->labels.n;
    /* At a cap, series past their ttl make room first (O(1) when none can be). */
    if (f->nseries >= r->cfg->max_series_per_family || r->nseries >= r->cfg->max_series)
        expiry_reclaim(r, (size_t)fi, now_ms, 0);
    rc = labelset_check(&f->labels, line, r->cfg, &lb, 0);
    if (at_value_cap(rc, &lb, nl) && expiry_due(f, now_ms)) {
        expiry_reclaim(r, (size_t)fi, now_ms, 1);
        memset(&lb, 0, sizeof lb);
        /* Values of expired series that the look has not reached may remain: the slack. */
        rc = labelset_check(&f->labels, line, r->cfg, &lb, expiry_due(f, now_ms));
    }
    if (rc != STATSD_OK)
        return rc;
    if (f->cfg->type == FAMILY_COUNTER && line->values[0] < 0)
        return STATSD_NEGATIVE_COUNTER;

    /* A line with a never-seen value cannot match an existing series. */
    if (lb.fresh == 0)
        s = series_find(r, series_hash_match((uint32_t)fi, &lb, nl), (uint32_t)fi, lb.ids, nl);
    if (s == NULL && expiry_cap_full(r, f, now_ms))
        return STATSD_SERIES_CAP;
    rc = registry__compute(f, s, line, &value, &u);
    if (rc != STATSD_OK)
        return rc;
    if (s == NULL) {
        expiry_mark(f, now_ms);
        s = series_create(r, (uint32_t)fi, &lb, line);
        expiry_note(r, f, now_ms);
    }
    commit(r, f, s, line, now_ms, value, &u);
    f->lines++;
    notes = notes_of(&lb, nl);
    if (notes != 0)
        count_notes(r, f, notes);
    series_cache(r, s, line, notes);
    return STATSD_OK;
}

/* The carries of a histogram never sampled (struct histogram.carry NULL): all zero. */
static const double no_carries[CONFIG_MAX_BUCKETS + 1];

/* The public name of a cached identity (registry.h), and back. */
static const struct registry_hit *hit_of(const struct hotcache_id *id)
{
    return (const struct registry_hit *)(const void *)id;
}

static const struct hotcache_id *id_of(const struct registry_hit *hit)
{
    return (const struct hotcache_id *)(const void *)hit;
}

/*
 * The first m of n lines' identities handed over as hits, the rest NULL (not looked up),
 * and NULL for one whose stamp is no longer its family's (a reload changed or retired
 * the family: the line goes the full way). Its series is read a little earlier than the
 * hit would read it; the cache asked for it (hotcache_find_tagged).
 */
static void hand_over(const struct registry *r, const struct hotcache_id *const *ids, size_t m,
                      size_t n, const struct registry_hit **found)
{
    for (size_t i = 0; i < n; i++) {
        const struct hotcache_id *id = i < m ? ids[i] : NULL;

        if (id != NULL &&
            id->stamp != r->fams[((const struct registry__series *)hotcache_series(id))->fam].stamp)
            id = NULL;
        found[i] = hit_of(id);
    }
}

void registry_find_parts(const struct registry *r, const struct statsd_parts *lp, size_t n,
                         const struct registry_hit **found)
{
    const struct hotcache_id *ids[REGISTRY_FIND_MAX];
    size_t m = n < REGISTRY_FIND_MAX ? n : REGISTRY_FIND_MAX;

    hotcache_find(&r->hot, lp, m, ids);
    hand_over(r, ids, m, n, found);
}

void registry_tag_parts(const struct registry *r, const struct statsd_parts *lp, size_t n,
                        uint32_t *tag)
{
    hotcache_tag(&r->hot, lp, n, tag);
}

void registry_fetch_parts(const struct registry *r, const struct statsd_parts *lp,
                          const uint32_t *tag, size_t n)
{
    hotcache_fetch(&r->hot, lp, tag, n);
}

int registry_stage_pays(const struct registry *r)
{
    return hotcache_fetch_pays(&r->hot);
}

void registry_find_tagged(const struct registry *r, const struct statsd_parts *lp,
                          const uint32_t *tag, size_t n, const struct registry_hit **found)
{
    const struct hotcache_id *ids[REGISTRY_FIND_MAX];
    size_t m = n < REGISTRY_FIND_MAX ? n : REGISTRY_FIND_MAX;

    hotcache_find_tagged(&r->hot, lp, tag, m, ids);
    hand_over(r, ids, m, n, found);
}

/*
 * compute() and commit() for the usual line: one unsigned value, no sample rate. The
 * same arithmetic (v / 1 is v, and the one observation counts 1 in its bucket), without
 * the update record that a packed or sampled line needs.
 */
static inline int apply_plain(struct registry *r, const struct registry__family *f,
                              struct registry__series *s, enum statsd_type type, double v,
                              uint64_t now_ms)
{
    const struct config_family *cf = f->cfg;
    double value;

    switch (cf->type) {
    case FAMILY_COUNTER:
        value = s->value + v;
        break;
    case FAMILY_GAUGE:
        value = type == STATSD_COUNTER ? s->value + v : v; /* a counter line: up-down */
        break;
    default: /* FAMILY_HISTOGRAM, FAMILY_SUMMARY */
        if (type == STATSD_TIMER && !cf->unit_ms)
            v /= 1000.0;
        value = s->value + v;
        break;
    }
    if (!isfinite(value))
        return STATSD_NON_FINITE;
    if (cf->type == FAMILY_HISTOGRAM) {
        struct histogram *h = series_hist(f, s);

        h->b[histogram_bucket(cf->buckets, cf->nbuckets, v)]++;
        h->count++;
        if (f->noff != 0)
            series_native_observe(r, f, s, v, 1);
    } else if (cf->type == FAMILY_SUMMARY) {
        series_observe(r, f, s, v, 1, now_ms);
    }
    s->value = value;
    s->last_ms = now_ms;
    return STATSD_OK;
}

int registry_apply_found(struct registry *r, const struct registry_hit *hit,
                         const struct statsd_parts *lp, uint64_t now_ms)
{
    const struct hotcache_id *id = id_of(hit);
    struct statsd_line line;
    struct registry__series *s = hotcache_series(id);
    struct registry__family *f = &r->fams[s->fam];
    struct histogram_update u;
    double value;
    int rc;

    /*
     * Same name, same suffix as a line parsed and accepted in full: only the values can
     * differ. An invalid value goes back to the full parse, which names the reason.
     */
    if (id->rate == 1.0 && statsd_plain_value(lp->values.ptr, lp->values.len, &value)) {
        rc = apply_plain(r, f, s, (enum statsd_type)id->type, value, now_ms);
    } else {
        line.name = lp->name;
        line.type = (enum statsd_type)id->type;
        line.rate = id->rate;
        if (statsd_parse_values(lp->values.ptr, lp->values.len, &line) != STATSD_OK)
            return REGISTRY_MISS;
        rc = registry__compute(f, s, &line, &value, &u);
        if (rc == STATSD_OK)
            commit(r, f, s, &line, now_ms, value, &u);
    }
    if (rc != STATSD_OK)
        return rc;
    f->lines++;
    if (id->notes != 0)
        count_notes(r, f, id->notes);
    return rc;
}

const struct config_family *registry_hit_family(const struct registry *r,
                                                const struct registry_hit *hit)
{
    const struct registry__series *s = hotcache_series(id_of(hit));

    return r->fams[s->fam].cfg;
}

const struct config_family *registry_line_family(const struct registry *r,
                                                 const struct statsd_line *line)
{
    long fi =
        line->type == STATSD_JOB || line->type == STATSD_SERVICE_CHECK ? -1 : line_family(r, line);

    return fi < 0 ? NULL : r->fams[fi].cfg;
}

const struct config *registry_config(const struct registry *r)
{
    return r->cfg;
}

int registry_apply_parts(struct registry *r, const struct statsd_parts *lp, uint64_t now_ms)
{
    const struct registry_hit *hit;

    registry_find_parts(r, lp, 1, &hit);
    return hit != NULL ? registry_apply_found(r, hit, lp, now_ms) : REGISTRY_MISS;
}

int registry_apply_raw(struct registry *r, const char *p, size_t len, uint64_t now_ms)
{
    struct statsd_parts lp = { .line = { p, len } };

    lp.split = statsd_split(p, len, &lp.name, &lp.values, &lp.suffix);
    return registry_apply_parts(r, &lp, now_ms);
}

/* ---- accessors ---- */

size_t registry_nfamilies(const struct registry *r)
{
    return r->nfams;
}

const struct config_family *registry_family_config(const struct registry *r, size_t fam)
{
    return r->fams[fam].state == FAM_LIVE ? r->fams[fam].cfg : NULL;
}

long registry_find_family(const struct registry *r, const char *name, size_t len)
{
    return names_find(&r->names, name, len);
}

size_t registry_series_retired(const struct registry *r)
{
    return r->retired;
}

size_t registry_family_series(const struct registry *r, size_t fam)
{
    return r->fams[fam].nseries;
}

size_t registry_family_cap(const struct registry *r, size_t fam)
{
    (void)fam;
    return r->cfg->max_series_per_family;
}

size_t registry_series_total(const struct registry *r)
{
    return r->nseries;
}

size_t registry_series_cap(const struct registry *r)
{
    return r->cfg->max_series;
}

size_t registry_memory(const struct registry *r)
{
    return r->mem;
}

/*
 * The whole 2 MiB pages within the table of n bytes at p, unless it was handed out
 * (*last), has a move under way into it (moving), or holds fewer than two such pages.
 */
static int table_ripe(const void **last, const void *p, size_t n, int moving, void **base,
                      size_t *len)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + n) & ~(huge - 1);

    if (p == NULL || p == *last || moving || hi < lo + 2 * huge)
        return 0;
    *last = p;
    *base = (void *)lo;
    *len = hi - lo;
    return 1;
}

int registry_ripe(struct registry *r, void **base, size_t *len)
{
    return slab_ripe(&r->blocks, base, len) || slab_ripe(&r->values, base, len) ||
           table_ripe(&r->huge_hot, r->hot.sets, r->hot.n * sizeof *r->hot.sets,
                      r->hot.old != NULL || r->hot.next != NULL, base, len) ||
           table_ripe(&r->huge_series, r->series.slots, r->series.n * sizeof *r->series.slots,
                      r->series.old != NULL, base, len);
}

/* [b, b + len) within the table at p of n bytes, which is not moving. */
static int within(const char *b, size_t len, const void *p, size_t n, int moving)
{
    const char *lo = p;

    return p != NULL && !moving && b >= lo && len <= n && b - lo <= (ptrdiff_t)(n - len);
}

int registry_range_live(const struct registry *r, const void *base, size_t len)
{
    return within(base, len, r->hot.sets, r->hot.n * sizeof *r->hot.sets,
                  r->hot.old != NULL || r->hot.next != NULL) ||
           within(base, len, r->series.slots, r->series.n * sizeof *r->series.slots,
                  r->series.old != NULL);
}

uint64_t registry_tags_stripped(const struct registry *r, size_t i)
{
    return r->stripped[i];
}

uint64_t registry_family_created(const struct registry *r, size_t fam)
{
    return r->fams[fam].created_ms;
}

uint64_t registry_family_lines(const struct registry *r, size_t fam)
{
    return r->fams[fam].lines;
}

uint64_t registry_labels_dropped(const struct registry *r, size_t fam)
{
    return r->fams[fam].dropped;
}

uint64_t registry_values_folded(const struct registry *r, size_t fam, size_t label,
                                enum config_fold why)
{
    return r->fams[fam].folded[label][why];
}

size_t registry_label_values(const struct registry *r, size_t fam, size_t label)
{
    return r->fams[fam].labels.keys[label].in.live;
}

const struct intern *registry_label_key(const struct registry *r, size_t fam, size_t label)
{
    return &r->fams[fam].labels.keys[label].in;
}

int registry_label_value_next(const struct registry *r, size_t fam, size_t label, size_t *it,
                              const char **value, size_t *len)
{
    return intern_next(&r->fams[fam].labels.keys[label].in, it, value, len);
}

/* ---- cursors ---- */

void registry_cursor_init(struct registry_cursor *c, struct registry *r)
{
    c->reg = r;
    c->next_fam = 0;
    c->pos = NULL;
    c->want = NULL;
    c->want_arg = NULL;
    c->link = r->cursors;
    r->cursors = c;
}

void registry_cursor_filter(struct registry_cursor *c, registry_want_cb want, void *arg)
{
    c->want = want;
    c->want_arg = arg;
}

void registry_cursor_release(struct registry_cursor *c)
{
    struct registry_cursor **p;

    for (p = &c->reg->cursors; *p != NULL; p = &(*p)->link) {
        if (*p == c) {
            *p = c->link;
            break;
        }
    }
    c->reg = NULL;
    c->pos = NULL;
}

/* Enter the next non-empty family when the current one is done. */
static void cursor_settle(struct registry_cursor *c)
{
    const struct registry *r = c->reg;

    while (c->pos == NULL && c->next_fam < r->nfams) {
        const struct registry__family *f = &r->fams[c->next_fam++];

        if (f->state == FAM_LIVE && (c->want == NULL || c->want(f->cfg, c->want_arg)))
            c->pos = f->head;
    }
}

int registry_cursor_more(struct registry_cursor *c)
{
    cursor_settle(c);
    return c->pos != NULL;
}

int registry_cursor_next(struct registry_cursor *c, struct registry_sample *out)
{
    struct registry__series *s;
    struct registry__family *f;
    size_t i;

    cursor_settle(c);
    s = c->pos;
    if (s == NULL)
        return 0;
    c->pos = s->next;
    f = &c->reg->fams[s->fam];
    out->family = s->fam;
    out->cfg = f->cfg;
    out->nlabels = 0;
    for (i = 0; i < f->cfg->nlabels; i++) {
        const struct intern_value *v;

        if (s->ids[i] == 0)
            continue;
        v = intern_value(&f->labels.keys[i].in, s->ids[i]);
        out->labels[out->nlabels].name = f->cfg->labels[i].name;
        out->labels[out->nlabels].value = v->s;
        out->labels[out->nlabels].value_len = v->len;
        out->nlabels++;
    }
    out->value = s->value;
    out->last_update_ms = s->last_ms;
    out->created_ms = s->created_ms;
    out->count = 0;
    out->buckets = NULL;
    out->carries = NULL;
    out->summary = f->spec != NULL ? *series_summary(f, s) : NULL;
    out->summary_spec = f->spec;
    out->native = f->noff != 0 ? &series_native(f, s)->h : NULL;
    if (f->cfg->type == FAMILY_HISTOGRAM) {
        const struct histogram *h = series_hist(f, s);

        out->count = h->count;
        out->buckets = h->b;
        out->carries = h->carry != NULL ? h->carry : no_carries;
    } else if (out->summary != NULL) {
        out->count = out->summary->count;
    }
    return 1;
}
