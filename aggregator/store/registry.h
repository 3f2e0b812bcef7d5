/*
 * registry: the series store. It validates parsed statsd lines against the allowlist
 * (struct config), aggregates them into series, expires idle series, and lets renderers
 * and the debug view walk the series with cursors that survive concurrent changes.
 *
 * A domain module: no libuv, no clock (every call that needs time takes now_ms), no
 * logging (rejects are returned as reasons; the caller counts them). Loop thread only.
 *
 * Shape:
 *   - one runtime family per config family, in config order (a reload appends new ones,
 *     see registry_reconfigure);
 *   - per family and label key, label values are interned: each distinct value gets a
 *     small id (1-based; 0 means "label absent") and a series stores ids, not strings;
 *   - one open-addressing table (table.h) maps XXH3(family id, label ids) to the series;
 *     each series is one heap block (header + label ids + histogram buckets, or a pointer
 *     to a summary's state, store/summary.h) and sits on its family's list in creation
 *     order, which is the exposition order;
 *   - a front cache (hotcache.h) maps the bytes of an accepted line but its values to the
 *     series. The daemon looks each datagram's lines up there first
 *     (registry_find_parts, registry_apply_found) and parses in full, for
 *     registry_apply(), only the lines it misses.
 *
 * Memory: an accepted line for an existing series allocates nothing, on either path (the
 * full path builds the name and the canonical series key in stack buffers; one XXH3 over
 * family id + label ids finds the series), but for a summary's, whose first observation
 * makes its state and whose streams grow and shrink by a batch of observations at a time
 * (within their cap). Tables grow by half and shrink once mostly empty, when the
 * sweep is done (registry_compact); series blocks, summary states and interned strings
 * are freed on expiry. Series blocks and interned strings lie in slabs (base/slab.h)
 * whose emptiest pages registry_compact() moves out, so that memory goes back to the
 * system after a mass expiry rather than staying held by the few survivors of each page. The first series of a
 * never-seen label set allocates its block (and an interned string per new label value),
 * and its first cached line its identity in the front cache.
 *
 * Label values of capped keys are reference-counted by the series that use them and are
 * freed (their id recycled) when the last such series expires, so a key's cap counts the
 * distinct values *currently in use*. Enumerated values are interned once at init and
 * never freed; for them "in use" counts the enumerated values with at least one series.
 */
#ifndef USTATSD_REGISTRY_H
#define USTATSD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/expo.h"
#include "store/hotcache.h"
#include "store/labelset.h"
#include "store/names.h"
#include "statsd.h"
#include "statsd_scanner.h"
#include "base/slab.h"
#include "base/table.h"

struct registry__family;
struct registry__series;
struct summary;
struct summary_spec;

/*
 * The wall clock in Unix milliseconds, which dates each series at its creation (its
 * OpenMetrics _created sample). Called only when a series is created, never per line.
 */
typedef uint64_t (*registry_clock_cb)(void *arg);

/*
 * A line found in the front cache by registry_find_parts(), for registry_apply_found().
 * Opaque: callers hold pointers to it and never look inside.
 */
struct registry_hit;

/*
 * A position in the walk over all series: families in config order, then series in
 * creation order. Every cursor is registered with its registry, and removing a series
 * moves any cursor standing on it to the series' successor, so a cursor never visits
 * a freed series and never visits a series twice. Series created after the cursor has
 * passed their position are not visited (they are appended to their family's list).
 * Fields are private.
 */
/* Whether a cursor visits the series of a family (registry_cursor_filter()). */
typedef int (*registry_want_cb)(const struct config_family *f, void *arg);

struct registry_cursor {
    struct registry *reg;
    size_t next_fam;              /* family entered when pos runs out */
    struct registry__series *pos; /* next series to visit; NULL: entering next_fam */
    registry_want_cb want;        /* NULL: every family */
    void *want_arg;
    struct registry_cursor *link; /* the registry's list of cursors */
};

/* A label key's renumbering (store/renumber.c), one at a time. Private. */
enum registry__renum_phase {
    RENUM_NONE,   /* none runs */
    RENUM_IDS,    /* the key's values take new ids (intern_renumber_step) */
    RENUM_SERIES, /* the family's series take them (walk) */
    RENUM_FREE    /* the key's old list goes (intern_renumber_end) */
};

struct registry__renum {
    enum registry__renum_phase phase;
    uint32_t fam, key;
    struct registry_cursor walk; /* pos: the next series of fam to renumber */
};

/* Caller-owned, but not movable once initialised (cursors point into it). */
struct registry {
    /* private */
    const struct config *cfg;
    struct registry__family *fams; /* slots, see enum fam_state in internal.h */
    size_t nfams;                  /* slots in use: live, retired or free */
    size_t fams_cap;
    struct names names;              /* name -> family */
    struct table series;             /* every series, by series_hash() */
    size_t nseries;                  /* in live families */
    size_t retired;                  /* in families a reload retired, not yet freed */
    size_t releasing;                /* retired families not yet freed (registry_draining) */
    size_t mem;                      /* bytes requested from malloc and still held */
    struct registry_cursor *cursors; /* every registered cursor */
    struct registry_cursor expiry;   /* registry_sweep()'s position */
    struct registry_cursor reclaim;  /* expiry_reclaim()'s (next_fam: its family) */
    uint64_t sweep_least;            /* least last update seen by the sweep's walk */
    int sweep_walked;                /* the sweep's lap walked a family */
    uint64_t reclaim_least;          /* ... and by reclaim's */
    uint64_t due_ms;                 /* no series can expire before (expiry.c) */
    uint64_t reclaimed;              /* reclaims that freed series, registry_reclaims() */
    uint64_t expired[2];             /* series freed past their ttl: by the sweep, by reclaim */
    size_t compact_fam;              /* the family registry_compact() shrinks next */
    struct registry__renum renum;    /* the label key being renumbered, if any */
    struct hotcache hot;             /* the front cache: accepted lines' identities */
    uint32_t stamps;                 /* the last family stamp given (internal.h) */
    struct slab blocks;              /* the series' blocks */
    struct slab values;              /* the label values of every key (intern_value) */
    const void *huge_hot;            /* the front cache's table registry_ripe() gave last */
    const void *huge_series;         /* the series table it gave last */
    uint64_t stripped[CONFIG_MAX_STRIP_TAGS]; /* accepted lines, by cfg->strip_tags key */
    registry_clock_cb clock;                  /* NULL: series are left undated */
    void *clock_arg;
};

/*
 * One series as seen by a cursor. Pointers stay valid until the next call that mutates
 * the registry (registry_apply, registry_expire, registry_release).
 */
struct nativehist;

struct registry_sample {
    size_t family; /* index, see registry_nfamilies() */
    const struct config_family *cfg;
    struct expo_label labels[CONFIG_MAX_LABELS]; /* present labels, in config order */
    size_t nlabels;
    double value;            /* counter or gauge value; histogram, summary: _sum */
    uint64_t count;          /* histogram, summary: _count; 0 otherwise */
    const uint64_t *buckets; /* histogram: cfg->nbuckets + 1 per-bucket (NOT cumulative)
                               counts, the last one for +Inf; NULL otherwise */
    const double *carries;   /* histogram: cfg->nbuckets + 1 carries of sampled observations
                               (histogram.h), for the state file; NULL otherwise */
    /*
     * Summary: its state (summary.h), NULL until its first observation, and the family's
     * spec (NULL for other types). A reader passes the time to summary_read() or
     * summary_settle(), which rotate its windows and merge its batch but allocate nothing:
     * the walk stays valid.
     */
    struct summary *summary;
    const struct summary_spec *summary_spec;
    /* A histogram with a "native" block: its native buckets (nativehist.h); else NULL. */
    const struct nativehist *native;
    uint64_t last_update_ms; /* 0: never updated (a zero series created at start-up) */
    uint64_t created_ms;     /* Unix ms the series was created at; 0: undated (no clock) */
};

/*
 * Build the runtime families from c, which must outlive the registry (names, help and
 * label strings are borrowed). Families without labels of type counter, histogram or
 * summary (and not excluded by groups) get their single series now, at zero, and so does every
 * combination of a precreated family's label values (config_family.precreate); such
 * series never expire (they would come back at zero anyway) and count against the caps
 * even beyond them. Returns 0 (out of memory aborts).
 */
int registry_init(struct registry *r, const struct config *c);

/*
 * Date series with cb(arg) from now on: each series created later takes the
 * clock's time once, and every series still undated (the zero series registry_init()
 * created) takes its time now. Without a clock series stay undated (created_ms 0), which
 * renderers show as no creation time. The daemon sets one right after registry_init();
 * a registry for tests or tools may run without. A series keeps its time for its life:
 * across reloads that keep its family, not across one that resets it.
 */
void registry_set_clock(struct registry *r, registry_clock_cb cb, void *arg);

/* Free everything. No cursor may still be registered. */
void registry_release(struct registry *r);

/*
 * Empty r into the state registry_init() and registry_set_clock() left it in, for the
 * same config and clock: no series but the fixed ones (dated now by the clock, if one is
 * set), no counts of stripped tags, dropped labels or folded values, an empty front
 * cache, and label values handed out the ids a fresh registry gives. Families, names and
 * tables are kept, with their memory (registry_memory() may stay above a fresh
 * registry's). For a caller that runs many short independent sessions on one config, such
 * as a fuzz target: far cheaper than registry_release() and registry_init(). No cursor
 * may be registered but the registry's own.
 */
void registry_reset(struct registry *r);

/* What registry_reconfigure() did with the families, by name. */
struct registry_reload {
    size_t kept;    /* in both configs with the same layout: series carried over */
    size_t added;   /* new names */
    size_t reset;   /* in both, but the layout changed: old series dropped */
    size_t removed; /* gone from the new config: series dropped */
    size_t retired; /* reset + removed */
};

/*
 * Take c, which must outlive the registry from now on, in place of the running config;
 * the old one may be freed once this returns. Families are matched by name. One whose
 * layout is unchanged (type, label names in order and whether each is enumerated, buckets,
 * quantiles, max_age and age_buckets, ms handling, group verdict; an enumerated key may gain values, not lose one) keeps its
 * series and values and takes the new help, unit, ttl and caps. Every other running family
 * is retired: its series vanish from cursors at once and registry_drain() frees them a
 * budget at a time; until then they count in registry_series_retired(), not against the
 * caps. New families start empty (label-less
 * counters and histograms at zero, precreated families with every combination), and a
 * kept precreated family gets the combinations it lacks (a value added), in slots after the running
 * ones or in retired ones already freed: family indexes are stable, so a cursor in flight neither
 * repeats nor skips a family that stayed. The front cache is emptied, so every cached line is
 * checked against c again on its next arrival. The work is proportional to the families, their
 * enumerated values and precreated combinations, not to the series.
 */
void registry_reconfigure(struct registry *r, const struct config *c, struct registry_reload *out);

/*
 * Free up to budget series of the families reloads retired, and each family once it is
 * empty: its label values' tables are given back a step a call (labelset_release_step),
 * then its slot is free. Returns the series freed; 0 once registry_series_retired() is 0,
 * while registry_draining() may still have a family's tables to give back.
 */
size_t registry_drain(struct registry *r, size_t budget);

/* Whether registry_drain() has work left: series, or a retired family's tables. */
int registry_draining(const struct registry *r);

/*
 * Validate and aggregate one parsed line. Returns STATSD_OK or a daemon reason; a
 * rejected line changes nothing but the expired series it freed (below; all checks run
 * before any mutation, label values are interned only once the line is known to be
 * accepted). Checks, in order:
 *   UNKNOWN_FAMILY (normalised name; counters with or without "_total"; a family's alias,
 *   config_family.alias), GROUP_EXCLUDED, TYPE_MISMATCH (c: counter or up-down gauge, g:
 *   gauge, ms/h/d: histogram or summary; j and service checks are always a mismatch, the
 *   caller dispatches them elsewhere), then per tag: LABEL_NOT_ALLOWED (key
 *   normalised like names), DUPLICATE_TAG (two keys equal once normalised, e.g. "a.b" and
 *   "a_b"), LABEL_VALUE_TOO_LONG, LABEL_VALUE_NOT_ALLOWED (enumerated), LABEL_VALUES_CAP
 *   (a new value beyond the key's cap); then NEGATIVE_COUNTER, then SERIES_CAP (a new
 *   series beyond the family's or the total cap), then NON_FINITE (the new value or
 *   _sum would overflow to infinity: a value near DBL_MAX, or a tiny rate). A bare tag or
 *   an empty value means the label is absent. The line's timestamp and container fields
 *   are ignored.
 * Caps count live series only: a line that finds a cap (or a key's value cap) full first
 * frees series past their ttl (expiry_reclaim, store/internal.h: a bounded walk that
 * resumes where the last one stopped), so an expired series does not cost a line; the
 * sweep frees the rest.
 * Aggregation: counters add value / rate; gauges set, or add a signed value when the family
 * is up-down (config_family.updown), which also adds a counter line's value / rate; histograms
 * take each packed value as one observation (ms lines divided by 1000 unless the family's
 * unit is ms; h and d as is), weighted by 1 / rate with a carry per bucket (histogram.h);
 * summaries take them the same way into their windows, with one carry (summary.h).
 * Rates below 1e-9 count as 1e-9. Gauges ignore the rate.
 */
int registry_apply(struct registry *r, const struct statsd_line *line, uint64_t now_ms);

/*
 * The daemon's path for the lines of a datagram, as statsd_scanner_fill() splits them.
 * registry_find_parts() looks lines lp[0..n) up in the front cache all at once, so that
 * their cache misses overlap, and sets found[i] to line i's hit or NULL (a miss; also for
 * every line past the first REGISTRY_FIND_MAX). It changes nothing.
 *
 * registry_apply_found() applies a hit: its name and everything after its values are byte
 * for byte those of a line registry_apply() accepted, so only the values are parsed (with
 * the parser's rules) and applied. Returns STATSD_OK or a value reason (NEGATIVE_COUNTER,
 * NON_FINITE) as registry_apply() would, or REGISTRY_MISS when the values do not parse:
 * then, as for a miss, parse the line and call registry_apply(), which names every other
 * reason. Allocates nothing.
 *
 * Hits stay valid until a call other than registry_apply_found(), or a registry_apply()
 * that changed registry_reclaims(): registry_apply() creates series and frees one only to
 * make room at a cap (expired series), so a datagram's lines can be applied in their
 * order after one lookup, looking the rest up again when registry_reclaims() changed.
 */
#define REGISTRY_FIND_MAX HOTCACHE_FIND_MAX

/*
 * The registry's own verdicts, beside STATSD_OK and the statsd reasons (enum
 * statsd_reason): non-negative like them and past all of them, so one int holds either.
 * None is an error of the daemon.
 */
enum registry_verdict {
    REGISTRY_MISS = STATSD_REASON_MAX, /* registry_apply_found(): not in the front cache */
    REGISTRY_DUPLICATE,                /* registry_restore(): that series was restored already */
    REGISTRY_BAD_VALUE,                /* registry_restore(): values no series can hold */
    REGISTRY_EXPIRED,                  /* registry_restore(): idle past its family's ttl */
};
void registry_find_parts(const struct registry *r, const struct statsd_parts *lp, size_t n,
                         const struct registry_hit **found);
int registry_apply_found(struct registry *r, const struct registry_hit *hit,
                         const struct statsd_parts *lp, uint64_t now_ms);
/*
 * registry_find_parts() in steps, for lines lp[0..n) (n at most REGISTRY_FIND_MAX) whose
 * lookup the caller starts early and finishes later (hotcache.h: hotcache_tag,
 * hotcache_fetch, hotcache_find_tagged): their tags, a prefetch of what they will read,
 * then the lookup. The tags stay right whatever the registry does meanwhile.
 */
void registry_tag_parts(const struct registry *r, const struct statsd_parts *lp, size_t n,
                        uint32_t *tag);
void registry_fetch_parts(const struct registry *r, const struct statsd_parts *lp,
                          const uint32_t *tag, size_t n);
void registry_find_tagged(const struct registry *r, const struct statsd_parts *lp,
                          const uint32_t *tag, size_t n, const struct registry_hit **found);
/* Whether starting lookups early pays now: the front cache is big (hotcache_fetch_pays). */
int registry_stage_pays(const struct registry *r);

/*
 * The family a line would be applied to, for a check that comes first (the writer policy,
 * intake.c): registry_hit_family() for a hit of registry_find_parts() (valid as the hit
 * is), registry_line_family() for a parsed line (NULL when no live family takes it:
 * registry_apply() would say STATSD_UNKNOWN_FAMILY or, for a job line, TYPE_MISMATCH). The
 * second costs a name lookup; neither changes anything.
 */
const struct config_family *registry_hit_family(const struct registry *r,
                                                const struct registry_hit *hit);
const struct config_family *registry_line_family(const struct registry *r,
                                                 const struct statsd_line *line);

/* The running config: the one registry_init() or the last registry_reconfigure() took. */
const struct config *registry_config(const struct registry *r);

/*
 * The same for one line, for tests and tools (the daemon does not call them):
 * registry_apply_parts() takes a line statsd_scanner_next() split, registry_apply_raw() a
 * raw line (no '\n') that it splits itself. Each returns registry_apply_found()'s result,
 * or REGISTRY_MISS when the line is not in the front cache.
 */
int registry_apply_parts(struct registry *r, const struct statsd_parts *lp, uint64_t now_ms);
int registry_apply_raw(struct registry *r, const char *p, size_t len, uint64_t now_ms);

/*
 * Expire series idle longer than their family's ttl_seconds (0: never; zero series and
 * the combinations of a family that says precreate never expire), looking at no
 * more than budget series (or families, each counted as one) per call and resuming where
 * the last call stopped. Only families that may hold an expired series are walked: each
 * keeps a lower bound of its series' last updates, which a walk over the whole family
 * refreshes. Returns the number of series freed and sets *more to 0 once nothing is left
 * to do at now_ms: every family that could hold an expired series walked, and the
 * memory given back (registry_compact); call again at once while *more is 1. Cursors
 * standing on a freed series move on (see struct registry_cursor), so renders in flight
 * stay valid.
 */
size_t registry_sweep(struct registry *r, uint64_t now_ms, size_t budget, int *more);

/* registry_sweep() without *more, for tests and tools. */
size_t registry_expire(struct registry *r, uint64_t now_ms, size_t budget);

/*
 * Give memory back once many series have gone: the series table and each label key's
 * table shrink (a move of budget slots per call, base/table.h) when at most a quarter
 * full, the front cache moves into a smaller table when its series take less than a
 * quarter of its ways (hotcache_fit), and the slabs of series blocks and of label values
 * move up to budget blocks a call out of their emptiest pages (slab_compact); once that is
 * done, the pages the slabs hold for a run of them go back, a few runs a call
 * (slab_flush_step). Returns 1 while any of it remains. registry_sweep() calls it once
 * its walk is done.
 */
int registry_compact(struct registry *r, size_t budget);

/*
 * How many times a line's registry_apply() freed expired series to make room (a new
 * series at a cap, or a new value at a key's cap): when it changes, hits of
 * registry_find_parts() or registry_find_tagged() taken before may be gone and must be
 * looked up again.
 */
static inline uint64_t registry_reclaims(const struct registry *r)
{
    return r->reclaimed;
}

/* Series freed past their family's ttl so far: by the sweep (0), or by reclaim (1). */
static inline uint64_t registry_expired(const struct registry *r, int by_reclaim)
{
    return r->expired[by_reclaim != 0];
}

/*
 * A series as the state file holds it (records.h), for registry_restore(). Every pointer is
 * borrowed for the call.
 */
struct registry_saved {
    const struct statsd_tag *labels; /* present labels, any order: key = a label's name */
    size_t nlabels;
    double value;   /* counter, gauge; histogram, summary: _sum */
    uint64_t count; /* histogram: == the sum of buckets */
    /*
     * Summary: its state, made by the caller (summary_new() with a spec of the family's
     * config, its own counter), or NULL for one never observed. registry_restore() takes
     * it over on STATSD_OK, counting its bytes; on a refusal the caller frees it.
     */
    struct summary *summary;
    const uint64_t *buckets; /* histogram: nbuckets + 1 per-bucket counts; else NULL */
    const double *carries;   /* histogram: nbuckets + 1 carries, each in [0, 1); else NULL */
    /*
     * A histogram with a "native" block: its buckets as nativehist_encode() wrote them
     * (decoded and checked against the family's block: REGISTRY_BAD_VALUE when they do not
     * decode, or count other than count); NULL: empty buckets.
     */
    const void *native;
    size_t native_len;
    uint64_t created_ms; /* Unix ms; 0: the registry's clock dates it now */
    int updated;         /* 0: never updated since created (a zero series) */
    uint64_t idle_ms;    /* updated: ms since its last update, the time away included */
};

/*
 * Put a saved series back into family fam, before any line arrives (at start-up, after
 * registry_init()): the labels are checked as a line's tags are (labelset_check(), but a
 * value that would fold into an overflow value is LABEL_VALUES_CAP: it stood for itself),
 * then the caps (SERIES_CAP), then the values (REGISTRY_BAD_VALUE: non-finite, a negative
 * counter, a count that is not the buckets' sum, a carry outside [0, 1), a summary state
 * that summary_valid() refuses). A series that
 * expiry would have taken by now (idle_ms past the family's ttl, and neither a zero nor a
 * precreated series) is REGISTRY_EXPIRED. A series registry_init() created (zero and
 * precreated ones) takes the saved state in its place; one already restored gives
 * REGISTRY_DUPLICATE. The last update is dated idle_ms before now_ms (at 1 when now_ms
 * is younger, after a reboot). The caller matched fam's layout with the saved one (type,
 * labels in order, buckets, a summary's quantiles and windows). Returns STATSD_OK or the reason, changing nothing on a
 * refusal.
 */
int registry_restore(struct registry *r, size_t fam, const struct registry_saved *s,
                     uint64_t now_ms);

/* Accessors for self-metrics and the debug view. */
/*
 * Family indexes run from 0 to registry_nfamilies() - 1, in config order until a reload
 * (see registry_reconfigure); registry_family_config() is NULL for an index that holds no
 * family of the running config: skip it.
 */
size_t registry_nfamilies(const struct registry *r);
const struct config_family *registry_family_config(const struct registry *r, size_t fam);
/* The index of the family a line's name (normalised; counters with or without "_total")
 * names, or ERRCODE_UNKNOWN. */
long registry_find_family(const struct registry *r, const char *name, size_t len);
/* Series of retired families not yet freed. */
size_t registry_series_retired(const struct registry *r);
size_t registry_family_series(const struct registry *r, size_t fam);
size_t registry_family_cap(const struct registry *r, size_t fam);
size_t registry_series_total(const struct registry *r);
size_t registry_series_cap(const struct registry *r);
/* Heap bytes held (tables, series, interned strings), without allocator overhead. */
size_t registry_memory(const struct registry *r);
/*
 * Memory to put in huge pages off the loop (slab_collapse), each range handed out once:
 * a full region of the series' blocks or of the label values (slab_ripe), or the front
 * cache's or the series table's whole 2 MiB pages once it has settled (no move under way)
 * and holds two or more. Returns 1 and the range, or 0 when none waits.
 */
int registry_ripe(struct registry *r, void **base, size_t *len);
/*
 * Whether [base, base + len) still lies in the front cache's or the series table's table
 * in use with no move under way: what was left of a table's range registry_ripe() handed
 * out, checked before each further page (a table moved or freed since is not collapsed).
 */
int registry_range_live(const struct registry *r, const void *base, size_t len);
/* Distinct values of label key `label` (index into cfg->labels) currently in use. */
size_t registry_label_values(const struct registry *r, size_t fam, size_t label);
/* The interned values of that key, read-only (intern.h): its ids, epoch and lists. */
struct intern;
const struct intern *registry_label_key(const struct registry *r, size_t fam, size_t label);

/*
 * What accepted lines' tags cost (labelset_check), counted on both paths, the cached one
 * included: lines from which cfg->strip_tags[i] was removed (its count follows the key
 * across reloads); undeclared tags that family fam dropped; values of its key label that
 * folded into the key's overflow value, by why. A family that a reload resets starts
 * again from 0.
 */
uint64_t registry_tags_stripped(const struct registry *r, size_t i);
/*
 * Unix ms at which family fam was set up (start-up, or the reload that added or reset
 * it), by the registry's clock; 0 when undated. Its per-family counts start from then.
 */
uint64_t registry_family_created(const struct registry *r, size_t fam);
/* Lines family fam accepted, on the cached path and the full one alike. */
uint64_t registry_family_lines(const struct registry *r, size_t fam);
uint64_t registry_labels_dropped(const struct registry *r, size_t fam);
uint64_t registry_values_folded(const struct registry *r, size_t fam, size_t label,
                                enum config_fold why);
/*
 * Iterate over the values counted by registry_label_values: start with *it = 0; returns
 * 1 and sets *value, *len (borrowed, valid until the registry mutates) while one remains.
 */
int registry_label_value_next(const struct registry *r, size_t fam, size_t label, size_t *it,
                              const char **value, size_t *len);

/* Register a cursor at the start of the walk. Pair with registry_cursor_release. */
void registry_cursor_init(struct registry_cursor *c, struct registry *r);
/* Fill *out with the next series and return 1, or return 0 at the end. */
int registry_cursor_next(struct registry_cursor *c, struct registry_sample *out);
/* 1 when registry_cursor_next would return a series. */
int registry_cursor_more(struct registry_cursor *c);
/*
 * Visit only the families for which want(cfg, arg) returns 1, asked as the walk enters
 * each family (so a reload's new config is asked about its own families). Call it right
 * after registry_cursor_init(); arg must outlive the cursor.
 */
void registry_cursor_filter(struct registry_cursor *c, registry_want_cb want, void *arg);
/* Unregister the cursor. */
void registry_cursor_release(struct registry_cursor *c);

#endif
