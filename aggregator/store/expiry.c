/*
 * expiry: series idle past their family's ttl are freed two ways (store/internal.h).
 *
 * The sweep, registry_sweep(), walks the families that may hold an expired series, a
 * budget of series per call, and frees what it finds; after the walk it gives memory
 * back (the series table, the label values' tables and the front cache shrink once
 * mostly empty). Reclaim, expiry_reclaim(), runs when a line would meet a cap: it frees
 * expired series of the line's family (or, at the total cap, of any family with a ttl)
 * first, so that a series past its ttl never stands in the way of a new one.
 *
 * Both know which families can hold nothing expired in O(1): each family keeps a lower
 * bound of its expirable series' last updates (oldest_ms). Updates only raise a series'
 * time and new series are created at now, so the bound holds until a walk over the whole
 * family replaces it with the least time it saw; a family is walked only once
 * now - oldest_ms passes its ttl. The registry keeps the same for all families
 * (due_ms: the earliest a series of any of them can expire), for the total cap. A flood
 * of new series at a cap that nothing expired holds therefore costs a comparison.
 */
#include <stdint.h>

#include "base/counted.h"
#include "store/internal.h"

/* What one reclaim may do: look at this many series, and stop once this many are freed. */
#define RECLAIM_VISITS 1024
#define RECLAIM_FREES  64

/* What a cap may be passed by while expired series may remain: a walk over it, in lines. */
_Static_assert(RECLAIM_VISITS == 1024, "labelset_slack() is a 1,024th of a cap plus one");

int expiry_cap_full(const struct registry *r, const struct registry__family *f, uint64_t now_ms)
{
    size_t fcap = r->cfg->max_series_per_family, gcap = r->cfg->max_series;

    if (f->nseries >= fcap && (!expiry_due(f, now_ms) || f->nseries >= fcap + labelset_slack(fcap)))
        return 1;
    return r->nseries >= gcap && (now_ms <= r->due_ms || r->nseries >= gcap + labelset_slack(gcap));
}

/* The earliest time a series of f can expire: its bound plus its ttl (saturating). */
static uint64_t deadline(const struct registry__family *f)
{
    if (f->state != FAM_LIVE || f->ttl_ms == 0)
        return UINT64_MAX;
    return f->oldest_ms > UINT64_MAX - f->ttl_ms ? UINT64_MAX : f->oldest_ms + f->ttl_ms;
}

/* The least deadline() of the live families: the registry's due_ms. */
static uint64_t earliest(const struct registry *r)
{
    uint64_t due = UINT64_MAX;
    size_t i;

    for (i = 0; i < r->nfams; i++) {
        uint64_t d = deadline(&r->fams[i]);

        if (d < due)
            due = d;
    }
    return due;
}

/* The sweep frees the expired series it finds this many at a time (flush). */
#define SWEEP_BATCH 16

/* Series the sweep found expired, not freed yet: their hashes, their misses under way. */
struct sweep_batch {
    struct registry__series *s[SWEEP_BATCH];
    uint64_t h[SWEEP_BATCH];
    size_t n;
};

/*
 * Free the batch's series, in the order found. Each free writes four cache lines that are
 * far apart in a big registry (the series table's slot, a label value's table slot, the
 * front cache's two sets): asked for as each series joined the batch, they arrive together
 * instead of one after the other. Returns the series freed.
 */
static size_t flush(struct registry *r, struct sweep_batch *b)
{
    size_t n = b->n;

    for (size_t i = 0; i < n; i++)
        series_free_hashed(r, b->s[i], b->h[i]);
    b->n = 0;
    return n;
}

/*
 * Look at s of family f, which the walk has already stepped past: add it to the batch
 * when it is expired, else lower *least to its last update (pinned series never expire
 * and do not count). Returns the series freed (a full batch is flushed).
 */
static size_t visit(struct registry *r, const struct registry__family *f,
                    struct registry__series *s, uint64_t now_ms, uint64_t *least,
                    struct sweep_batch *b)
{
    if (series_pinned(f, s))
        return 0;
    if (now_ms > s->last_ms && now_ms - s->last_ms > f->ttl_ms) {
        b->h[b->n] = series_prefetch_free(r, s);
        b->s[b->n++] = s;
        return b->n == SWEEP_BATCH ? flush(r, b) : 0;
    }
    if (s->last_ms < *least)
        *least = s->last_ms;
    return 0;
}

size_t registry_sweep(struct registry *r, uint64_t now_ms, size_t budget, int *more)
{
    struct registry_cursor *c = &r->expiry;
    struct sweep_batch b = { .n = 0 };
    size_t work = 0, freed = 0;

    *more = 1;
    /* A table move goes on without inserts too, a slice per call; the front cache's too. */
    table_migrate(&r->series, budget, &r->mem);
    hotcache_migrate(&r->hot, budget, &r->mem);
    while (work < budget) {
        struct registry__series *s;
        struct registry__family *f;

        if (c->pos == NULL) {
            if (c->next_fam >= r->nfams) {
                /* A lap over the families is done: nothing left when it walked none. */
                r->due_ms = earliest(r);
                c->next_fam = 0;
                if (!r->sweep_walked) {
                    *more = 0;
                    break;
                }
                r->sweep_walked = 0;
                continue;
            }
            f = &r->fams[c->next_fam++];
            work++;
            if (!expiry_due(f, now_ms))
                continue;
            r->sweep_walked = 1;
            c->pos = f->head;
            r->sweep_least = UINT64_MAX;
            if (f->head == NULL)
                f->oldest_ms = UINT64_MAX;
            continue;
        }
        s = c->pos;
        f = &r->fams[s->fam];
        c->pos = s->next;
        work++;
        freed += visit(r, f, s, now_ms, &r->sweep_least, &b);
        if (c->pos == NULL) { /* the walk saw the whole family: none of it stays pending */
            freed += flush(r, &b);
            f->oldest_ms = r->sweep_least;
        }
    }
    /* The walk stands past every series of the batch (c->pos is never one of them). */
    freed += flush(r, &b);
    if (!*more)
        *more = registry_compact(r, budget);
    r->expired[0] += freed;
    return freed;
}

size_t registry_expire(struct registry *r, uint64_t now_ms, size_t budget)
{
    int more;

    return registry_sweep(r, now_ms, budget, &more);
}

int registry_compact(struct registry *r, size_t budget)
{
    size_t i;

    /* One big free per call at most (a table's old slots, the front cache's sets). */
    if (table_compact(&r->series, budget, &r->mem))
        return 1;
    if (hotcache_fit(&r->hot, r->nseries, &r->mem))
        return 1;
    /*
     * The live families' label tables, from the one whose move is under way (a retired
     * family's go with it, registry_drain).
     */
    for (i = 0; i < r->nfams; i++) {
        size_t fi = (r->compact_fam + i) % r->nfams;

        if (r->fams[fi].state == FAM_LIVE &&
            labelset_compact(&r->fams[fi].labels, budget, &r->mem)) {
            r->compact_fam = fi;
            return 1;
        }
    }
    /* A key left with few of the ids it handed out takes new ones: its list shrinks. */
    if (registry_renumber(r, budget, 1))
        return 1;
    /* Then the blocks out of the emptiest pages: the tables they point from are small now. */
    if (slab_compact(&r->blocks, budget, series_slid, r))
        return 1;
    if (slab_compact(&r->values, budget, series_value_slid, r))
        return 1;
    /* Then the pages the slabs hold for a run (at most SLAB_HOLD each), a few runs a call. */
    if (slab_flush_step(&r->blocks, SLAB_FLUSH_RUNS))
        return 1;
    return slab_flush_step(&r->values, SLAB_FLUSH_RUNS);
}

/* The oldest mark of f that is younger than its ttl at now_ms, or NULL. */
static const struct registry__mark *young_mark(const struct registry__family *f, uint64_t now_ms)
{
    for (size_t k = 0; k < 2; k++)
        if (f->marks[k].set && now_ms - f->marks[k].ms <= f->ttl_ms)
            return &f->marks[k];
    return NULL;
}

/* A walk of reclaim is over: f's bound is the least it saw, and young_ms for the rest. */
static void reclaim_done(struct registry *r, struct registry__family *f, uint64_t young_ms)
{
    f->oldest_ms = r->reclaim_least < young_ms ? r->reclaim_least : young_ms;
    r->reclaim.pos = NULL;
}

/*
 * Free expired series of family fi with the reclaim cursor, which resumes its walk where
 * the last reclaim in the same family stopped; *visits is the series it may still look at.
 *
 * A walk starts at the head and ends at the tail, or at a mark whose time is within the
 * ttl (expiry_mark sets one every half ttl as series are created): the series after it
 * were created since, and so updated since, and none of them can have expired. So a
 * refill's new series, appended behind the mark, are never walked.
 */
static size_t reclaim_family(struct registry *r, size_t fi, uint64_t now_ms, size_t *visits)
{
    struct registry_cursor *c = &r->reclaim;
    struct registry__family *f = &r->fams[fi];
    const struct registry__mark *m = young_mark(f, now_ms);
    struct sweep_batch b = { .n = 0 };
    size_t freed = 0;

    if (c->next_fam != fi || c->pos == NULL) {
        c->next_fam = fi;
        c->pos = f->head;
        r->reclaim_least = UINT64_MAX;
    }
    while (*visits > 0 && freed + b.n < RECLAIM_FREES) {
        struct registry__series *s = c->pos;
        int last;

        if (s == NULL) { /* the whole family seen */
            reclaim_done(r, f, UINT64_MAX);
            break;
        }
        if (m != NULL && m->s == NULL) { /* every series left is younger than the mark */
            reclaim_done(r, f, m->ms);
            break;
        }
        last = m != NULL && s == m->s;
        c->pos = s->next;
        (*visits)--;
        freed += visit(r, f, s, now_ms, &r->reclaim_least, &b);
        if (last) {
            reclaim_done(r, f, m->ms);
            break;
        }
    }
    /* Before any other walk: the cursor stands past the batch, the marks on none of it. */
    return freed + flush(r, &b);
}

void expiry_reclaim(struct registry *r, size_t fi, uint64_t now_ms, int values)
{
    size_t visits = RECLAIM_VISITS, freed = 0, i;

    if ((values || r->fams[fi].nseries >= r->cfg->max_series_per_family) &&
        expiry_due(&r->fams[fi], now_ms))
        freed += reclaim_family(r, fi, now_ms, &visits);
    if (r->nseries >= r->cfg->max_series && now_ms > r->due_ms) {
        for (i = 0; i < r->nfams && visits > 0 && r->nseries >= r->cfg->max_series; i++)
            if (expiry_due(&r->fams[i], now_ms))
                freed += reclaim_family(r, i, now_ms, &visits);
        r->due_ms = earliest(r);
    }
    if (freed > 0)
        r->reclaimed++;
    r->expired[1] += freed;
}
