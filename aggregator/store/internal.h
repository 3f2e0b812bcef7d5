/*
 * store/internal.h: what the store's modules share and nobody else sees (libuv's
 * src/unix/internal.h is the model). The registry (registry.c: lines, reload, expiry,
 * cursors) keeps its series in blocks and tables that three modules of their own manage:
 *   series.c    a series block: created, freed, whether expiry may take it, and a
 *               summary series' observations;
 *   families.c  the family slots: set up, configured, retired, freed, and the names and
 *               fixed series (zero and precreated) of the live ones;
 *   restore.c   a series put back from the state file (registry_restore);
 *   expiry.c    the sweep (registry_sweep), reclaim at a cap (expiry_reclaim), and
 *               giving memory back once series have gone (registry_compact);
 *   renumber.c  a label key's values given new ids, dense again, after a mass expiry.
 * The lookups that every accepted line makes (series_hash, series_find) are static inline
 * here, so the hot path sees them exactly as it did in one file. Loop thread only.
 */
#ifndef USTATSD_STORE_INTERNAL_H
#define USTATSD_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* The hash runs once or more per line: let the compiler inline xxhash's own code. */
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "base/table.h"
#include "config/config.h"
#include "store/histogram.h"
#include "store/labelset.h"
#include "store/nativehist.h"
#include "store/registry.h"
#include "store/summary.h"

/*
 * A sample rate is in (0, 1] (the parser checks), but 1 / 1e-300 would overflow the
 * integer counts; rates below this floor are taken as the floor.
 */
#define MIN_RATE 1e-9

/*
 * A family's place in r->fams. A reload retires the families it drops or whose layout
 * changed: their series are hidden at once and freed a slice at a time (registry_drain),
 * and then the slot is free for a family the config adds later. Slots never move, since
 * a series hashes its family's index and cursors hold one.
 */
enum fam_state { FAM_FREE, FAM_LIVE, FAM_RETIRED };

/*
 * A mark in a family's list (expiry.c): every series after s was created at ms or later
 * (s NULL: every series of the family). Kept through frees: a freed s passes the mark to
 * its predecessor.
 */
struct registry__mark {
    struct registry__series *s;
    uint64_t ms;
    int set;
};

struct registry__family {
    const struct config_family *cfg; /* FAM_LIVE only */
    uint64_t lines;                  /* lines accepted (beside cfg: the hot path reads it) */
    enum fam_state state;
    /*
     * The cached identities of its series that stand (hotcache.h) bear this stamp: a new
     * one, from registry.stamps, when the slot is set up or retired, or when a reload may
     * judge its lines otherwise (families_restamp).
     */
    uint32_t stamp;
    size_t name_len;               /* strlen(cfg->name) */
    struct labelset labels;        /* kept for the drain of a retired family */
    struct registry__series *head; /* creation order: the exposition order */
    struct registry__series *tail;
    size_t nseries;
    size_t block;   /* bytes in one series block */
    size_t hoff;    /* offset of struct histogram, or of a summary's pointer, in the block */
    size_t carries; /* histograms: bytes of the carries' block (histogram.carry); else 0 */
    size_t noff;    /* native histograms: offset of struct registry__native; else 0 */
    struct nativehist_cfg ncfg; /* native histograms: the family's "native" block */
    struct summary_spec *spec;  /* summaries (until the slot is freed), else NULL */
    uint64_t ttl_ms;
    /*
     * A lower bound of the last updates of its series that can expire (expiry.c): 0 when
     * unknown (set up, reconfigured), UINT64_MAX when it has none.
     */
    uint64_t oldest_ms;
    struct registry__mark marks[2]; /* the older, the newer: reclaim's walks end there */
    uint64_t created_ms;            /* set up at (clock's ms), 0: undated */
    uint64_t dropped;               /* tags of undeclared keys */
    uint64_t folded[CONFIG_MAX_LABELS][CONFIG_FOLD_MAX]; /* values folded, by key, why */
};

/*
 * One series, one block, its line identity for the front cache at the end once it has
 * one (SERIES_HOT; hotcache.h):
 *   [ header | ids[nlabels] | pad to 8 | struct histogram (histograms only) | identity ]
 *     (a sampled histogram's carries in a block of their own, struct histogram.carry)
 *   [ header | ids[nlabels] | pad to 8 | struct summary * (summaries; NULL until the
 *     first observation) ]
 */
struct registry__series {
    struct registry__series *next;
    struct registry__series *prev;
    uint64_t created_ms; /* Unix ms (the clock's), 0: undated; the table keeps the hash */
    uint64_t last_ms;
    double value; /* counter, gauge; histogram: _sum */
    uint32_t fam;
    uint32_t flags; /* SERIES_PINNED, SERIES_RESTORED, SERIES_HOT */
    uint32_t ids[];
};

#define SERIES_PINNED   1u /* a start-up zero series: never expires */
#define SERIES_RESTORED 2u /* registry_restore() set it: a second restore is a duplicate */
#define SERIES_HOT      4u /* the block ends in a line identity (series_id) */

/* Where the line identity of s (family f) lies, or would: the end of its block. */
static inline struct hotcache_id *series_id_at(const struct registry__family *f,
                                               const struct registry__series *s)
{
    return (struct hotcache_id *)(uintptr_t)((const char *)s + f->block);
}

/* The line identity at the end of the block of s (family f), or NULL. */
static inline struct hotcache_id *series_id(const struct registry__family *f,
                                            const struct registry__series *s)
{
    return s->flags & SERIES_HOT ? series_id_at(f, s) : NULL;
}

/* Bytes of the block of s (family f), its identity included. */
static inline size_t series_bytes(const struct registry__family *f,
                                  const struct registry__series *s)
{
    const struct hotcache_id *id = series_id(f, s);

    return f->block + (id != NULL ? hotcache_id_size(id) : 0);
}

/* ---- the series table ---- */

/*
 * Whether series s is the one of family fam with label ids ids (n keys). Equal ids are;
 * while a key of the family is renumbered (renumber.c), one side may hold a key's old id
 * and the other its new one: the values themselves then decide.
 */
static inline int series_key_eq(const struct registry *r, const struct registry__series *s,
                                uint32_t fam, const uint32_t *ids, size_t n)
{
    if (s->fam != fam)
        return 0;
    if (memcmp(s->ids, ids, n * sizeof *ids) == 0)
        return 1;
    return r->renum.phase != RENUM_NONE && r->renum.fam == fam &&
           labelset_same(&r->fams[fam].labels, s->ids, ids);
}

static inline struct registry__series *series_find(const struct registry *r, uint64_t h,
                                                   uint32_t fam, const uint32_t *ids, size_t n)
{
    struct table_probe pr;
    struct registry__series *s;

    for (s = table_first(&r->series, h, &pr); s != NULL; s = table_next(&pr))
        if (series_key_eq(r, s, fam, ids, n))
            return s;
    return NULL;
}

/*
 * The table's hash of a series of family fam whose key j holds the value of hash vh[j]
 * (intern_hash; 0: the label is absent). Of the values, not of their ids, so that a
 * renumbering changes no series' place.
 */
static inline uint64_t series_hash_values(uint32_t fam, const uint64_t *vh, size_t n)
{
    uint64_t key[1 + CONFIG_MAX_LABELS];

    key[0] = fam;
    memcpy(key + 1, vh, n * sizeof *vh);
    return XXH3_64bits(key, (1 + n) * sizeof *key);
}

/* series_hash_values() of the values of ids (0: absent) in family fam. */
static inline uint64_t series_hash(const struct registry *r, uint32_t fam, const uint32_t *ids,
                                   size_t n)
{
    uint64_t vh[CONFIG_MAX_LABELS];

    for (size_t j = 0; j < n; j++)
        vh[j] = ids[j] != 0 ? intern_value(&r->fams[fam].labels.keys[j].in, ids[j])->hash : 0;
    return series_hash_values(fam, vh, n);
}

/*
 * series_hash() of a match (labelset_check): its hashes, computed as it looked the values
 * up, without reading the values again (the ingest path's: no load but the match's).
 */
static inline uint64_t series_hash_match(uint32_t fam, const struct labelset_match *m, size_t n)
{
    return series_hash_values(fam, m->phash, n);
}

static inline struct histogram *series_hist(const struct registry__family *f,
                                            struct registry__series *s)
{
    return (struct histogram *)(void *)((char *)s + f->hoff);
}

/*
 * A native histogram's state in its series block. A sampled line's observations count as
 * many times as the classic buckets count them (histogram_update.incs, whose fractions
 * carry per bucket), so that both kinds have one count.
 */
struct registry__native {
    struct nativehist h;
};

static inline struct registry__native *series_native(const struct registry__family *f,
                                                     struct registry__series *s)
{
    return (struct registry__native *)(void *)((char *)s + f->noff);
}

static inline struct summary **series_summary(const struct registry__family *f,
                                              struct registry__series *s)
{
    return (struct summary **)(void *)((char *)s + f->hoff);
}

/* What an ms, h or d value is divided by: 1000 for ms lines, unless the unit is ms. */
static inline double series_div(const struct config_family *cf, enum statsd_type type)
{
    return type == STATSD_TIMER && !cf->unit_ms ? 1000.0 : 1.0;
}

/*
 * Create a series of family fam for already interned ids (taking a reference on each),
 * with hash h (series_hash), at the tail of its family and in the table, dated by the
 * registry's clock. line (NULL: none) is the line that creates it: the block gets room
 * for its identity (series_cache). Out of memory aborts.
 */
struct registry__series *series_new(struct registry *r, uint32_t fam, const uint32_t *ids,
                                    uint64_t h, const struct statsd_line *line);

/* A line accepted: intern its new values and create its series (series_new). */
struct registry__series *series_create(struct registry *r, uint32_t fi, struct labelset_match *m,
                                       const struct statsd_line *line);

/*
 * line was accepted in full for s: put s in the front cache under line, with notes. A
 * series without an identity yet (restored, made at start-up, or created by a line that
 * could not be cached) moves to a block with room for one: returns where s now is.
 */
struct registry__series *series_cache(struct registry *r, struct registry__series *s,
                                      const struct statsd_line *line, uint64_t notes);

/*
 * Free s: out of the table, its family's list and the front cache, its label values
 * unreferenced; cursors standing on it move to its successor.
 */
void series_free(struct registry *r, struct registry__series *s);

/*
 * series_free() of s whose series_hash() is h. The table holds each series' hash beside
 * its pointer, so the series need not: it is computed again to free one, off the ingest
 * path, and the 8 bytes date the series instead.
 */
void series_free_hashed(struct registry *r, struct registry__series *s, uint64_t h);

/*
 * s's series_hash(), with the cache lines that freeing s writes asked for: its table
 * slot, its label values' table slots, its front-cache sets. A caller that frees many
 * (the sweep) asks for a batch's before it frees the first, so their misses overlap.
 */
uint64_t series_prefetch_free(const struct registry *r, const struct registry__series *s);

/*
 * The slabs' movers (slab_move_cb, arg the registry): a series block, every pointer to it
 * follows; a label value, its key's list and table follow.
 */
void series_slid(void *arg, void *from, void *to);
void series_value_slid(void *arg, void *from, void *to);

/* Free the block of s of family f, and its summary: nothing else (registry_release). */
void series_release(struct registry *r, const struct registry__family *f,
                    struct registry__series *s);

/*
 * A summary series observes v (divided already) at sample rate rate, its state made at the
 * first observation; series_summarize() observes each value of an accepted line.
 */
/* n observations of v into s's native buckets (f->noff != 0), the memory counted. */
void series_native_observe(struct registry *r, const struct registry__family *f,
                           struct registry__series *s, double v, uint64_t n);

void series_observe(struct registry *r, const struct registry__family *f,
                    struct registry__series *s, double v, double rate, uint64_t now_ms);
void series_summarize(struct registry *r, const struct registry__family *f,
                      struct registry__series *s, const struct statsd_line *line, uint64_t now_ms);

/*
 * A series expiry never takes: a zero series, or a precreated combination (every key
 * present) of a family that still says precreate. Judged now rather than stored, so a
 * reload that turns precreate off lets the family's series expire again.
 */
int series_pinned(const struct registry__family *f, const struct registry__series *s);

/* ---- the checks of a line (registry.c), shared with the dry run (dryrun.c) ---- */

/*
 * The live family a line names, in *fi, or a reason: TYPE_MISMATCH for a job line or a
 * service check, UNKNOWN_FAMILY (*fi -1), GROUP_EXCLUDED, TYPE_MISMATCH.
 */
int registry__check_family(const struct registry *r, const struct statsd_line *line, long *fi);

/*
 * The state series s (NULL: one yet to be created) of family f would take from line,
 * without touching s: STATSD_OK, NEGATIVE_COUNTER or NON_FINITE.
 */
int registry__compute(const struct registry__family *f, struct registry__series *s,
                      const struct statsd_line *line, double *value, struct histogram_update *u);

/* ---- expiry (expiry.c) ---- */

/* Whether family f may hold a series past its ttl at now_ms: O(1), see oldest_ms. */
static inline int expiry_due(const struct registry__family *f, uint64_t now_ms)
{
    return f->state == FAM_LIVE && f->ttl_ms != 0 && now_ms > f->oldest_ms &&
           now_ms - f->oldest_ms > f->ttl_ms;
}

/*
 * A line of family fi is about to meet a cap (or, values: a key's value cap): free
 * expired series first, of family fi when it is at its cap (or values is set), and of
 * any family with a ttl when the total is at its cap. Bounded work: at most a thousand
 * series looked at, and it stops once 64 are freed. Costs a comparison or two when
 * nothing can have expired. Bumps r->reclaimed when it freed a series.
 */
void expiry_reclaim(struct registry *r, size_t fi, uint64_t now_ms, int values);

/*
 * Whether a new series of family f would go past a cap at now_ms (after
 * expiry_reclaim()). While a cap may still hold series past their ttl that reclaim has
 * not reached (f's bound, or the registry's for the total, says some may be), a new
 * series goes past it by at most its slack, a 1,024th of it plus one: the lines that a
 * walk of the whole cap, 1,024 series a line, takes. So a series past its ttl never
 * stands in the way of a new one; at worst the cap is over by its slack, with live
 * series, until they expire (labelset_slack(); a key's value cap likewise, while
 * expiry_due(): labelset_check's expiring).
 */
int expiry_cap_full(const struct registry *r, const struct registry__family *f, uint64_t now_ms);

/*
 * A series of family f is about to be created at now_ms, at the tail: every half ttl a
 * new mark is set before it (the older mark is then the newer one before).
 */
static inline void expiry_mark(struct registry__family *f, uint64_t now_ms)
{
    if (f->ttl_ms == 0 || (f->marks[1].set && now_ms - f->marks[1].ms <= f->ttl_ms / 2))
        return;
    f->marks[0] = f->marks[1];
    f->marks[1] = (struct registry__mark){ f->tail, now_ms, 1 };
}

/* A series of family f was created, or restored, with last update at last_ms. */
static inline void expiry_note(struct registry *r, struct registry__family *f, uint64_t last_ms)
{
    if (last_ms < f->oldest_ms)
        f->oldest_ms = last_ms;
    if (f->ttl_ms != 0 && last_ms + f->ttl_ms < r->due_ms)
        r->due_ms = last_ms + f->ttl_ms;
}

/* ---- the family slots ---- */

/* Set up slot fi, free or new, for the layout of cf, with no series; families_configure next. */
void families_setup(struct registry *r, size_t fi, const struct config_family *cf);

/*
 * Point family fi and its keys at cf, whose layout is the family's (families_compatible),
 * and intern enumerated values that are new. Interned values keep their ids.
 */
void families_configure(struct registry *r, size_t fi, const struct config_family *cf);

/*
 * Index every name of the live families: "x", "x_total" for a counter x, and the alias
 * (config_family.alias) of a family that has one.
 */
void families_build_names(struct registry *r);

/*
 * Create the series the live families hold from the start: label-less counters and
 * histograms at zero (pinned), and every combination of a precreated family's values.
 */
void families_create_fixed(struct registry *r);

/*
 * Whether the series of family f can carry over to cf: the same type, labels (names, in
 * order, and whether enumerated), buckets or quantiles, max_age and age_buckets, ms
 * handling, and the same group verdict.
 * An enumerated key may gain values but not lose one: series may hold it.
 */
int families_compatible(struct registry *r, const struct registry__family *f,
                        const struct config_family *cf);

/* The slot for a new family: a free one, or one more (the slots grow by doubling). */
size_t families_slot(struct registry *r);

/*
 * Retire family fi: its series leave the live counts for r->retired and vanish from
 * cursors at once; an empty family is freed now, the others by families_free() once
 * registry_drain() has freed their series.
 */
void families_retire(struct registry *r, size_t fi);

/* A new stamp for slot fi: its series' cached identities no longer stand (hotcache.h). */
void families_restamp(struct registry *r, size_t fi);

/* A retired family whose series are all gone: free its values, and the slot. */
void families_free(struct registry *r, struct registry__family *f);

/* families_free() a step a call (labelset_release_step). Returns 1 while some is left. */
int families_free_step(struct registry *r, struct registry__family *f);

/* ---- renumber.c ---- */

/*
 * A step of the running renumbering, of budget slots or series, or (start) the start of
 * one for a key that wants it. Returns 1 while one runs or has just started.
 */
int registry_renumber(struct registry *r, size_t budget, int start);

/* The running renumbering to its end, at once, and none started. */
void registry_renumber_finish(struct registry *r);

#endif
