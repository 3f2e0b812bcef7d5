#include "registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
/* The hash runs once or more per line: let the compiler inline xxhash's own code. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "buf.h"
#include "mem.h"

/*
 * A sample rate is in (0, 1] (the parser checks), but 1 / 1e-300 would overflow the
 * integer counts; rates below this floor are taken as the floor.
 */
#define MIN_RATE 1e-9

/* An interned label value; the string follows the header, NUL-terminated. */
struct lval {
    uint64_t hash;
    uint32_t id;
    uint32_t refs; /* series using it */
    uint32_t len;
    char s[];
};

/* The interned values of one label key of one family. */
struct lkey {
    const struct config_label *cfg;
    size_t name_len;
    int enumerated;
    uint32_t cap;       /* distinct values in use (capped keys) */
    struct lval **vals; /* by id - 1; NULL for a recycled id */
    uint32_t nvals;     /* ids handed out so far */
    uint32_t valcap;
    uint32_t live;     /* values with refs > 0 */
    uint32_t *freeids; /* recycled ids */
    uint32_t nfree;
    uint32_t freecap;
    struct registry__table tab; /* struct lval by hash */
};

/*
 * A family's place in r->fams. A reload retires the families it drops or whose layout
 * changed: their series are hidden at once and freed a slice at a time (registry_drain),
 * and then the slot is free for a family the config adds later. Slots never move, since
 * a series hashes its family's index and cursors hold one.
 */
enum fam_state { FAM_FREE, FAM_LIVE, FAM_RETIRED };

struct registry__family {
    const struct config_family *cfg; /* FAM_LIVE only */
    enum fam_state state;
    size_t nlabels;  /* cfg->nlabels, kept for the drain of a retired family */
    size_t name_len; /* strlen(cfg->name) */
    struct lkey keys[CONFIG_MAX_LABELS];
    struct registry__series *head; /* creation order: the exposition order */
    struct registry__series *tail;
    size_t nseries;
    size_t block; /* bytes in one series block */
    size_t hoff;  /* offset of struct hist in the block */
    uint64_t ttl_ms;
};

/*
 * One series, one block:
 *   [ header | ids[nlabels] | pad to 8 | struct hist + buckets (histograms only) ]
 */
struct registry__series {
    struct registry__series *next;
    struct registry__series *prev;
    uint64_t hash;
    uint64_t last_ms;
    double value; /* counter, gauge; histogram: _sum */
    uint32_t fam;
    uint32_t pinned;             /* a start-up zero series: never expires */
    struct registry__hotid *hot; /* the line identity of the front cache, or NULL */
    uint32_t ids[];
};

struct hist {
    uint64_t count; /* == sum of b[] */
    uint64_t b[];   /* per-bucket counts, nbuckets + 1 (the last is +Inf), then one double
                       per bucket: its weight not yet counted, in [0, 1) (carries()) */
};

/*
 * What a histogram line does to its series, worked out before anything changes: each
 * value's bucket and integer increment, and the carries of the buckets it touched.
 */
struct hupdate {
    uint64_t incs[STATSD_MAX_VALUES];
    uint16_t bucket[STATSD_MAX_VALUES];
    unsigned char touched[CONFIG_MAX_BUCKETS + 1];
    double carry[CONFIG_MAX_BUCKETS + 1];
};

struct registry__slot {
    uint64_t hash;
    void *p; /* NULL: empty; &table_tomb: removed from a table being moved */
};

struct registry__name {
    uint64_t hash;
    uint32_t fam1;  /* family index + 1; 0: empty */
    uint32_t total; /* this entry matches the family name + "_total" */
};

/*
 * The front cache. Most lines update a series that exists, and two lines whose bytes
 * differ only in their values have the same fate but for the value checks: the same
 * family, labels, allowlist checks, type, rate and series. So the cache maps a line's
 * identity, its name and everything after its values (statsd_split),
 *
 *   requests:1|c|@0.5|#method:GET   ->   "requests" + "|c|@0.5|#method:GET"
 *
 * to the series. registry_apply_raw() then needs neither the full parse nor any lookup:
 * one split, one hash of the two pieces where they lie, one compare, and the values
 * parsed by the parser's own function. Entries are created only after a line was parsed
 * and accepted in full, so an identity in the cache is one the parser and the allowlist
 * have passed.
 *
 * A series keeps the identity it was first cached under, with its line type and rate
 * (struct registry__hotid: one allocation when the series is first cached, none in steady state).
 * The table is set-associative: a set is one cache line of HOT_WAYS entries, each a
 * 32-bit tag (the hash's low bits) and the identity, which points at its series. A tag
 * may live in two sets, both chosen by the tag (hot_set1, hot_set2), and an entry that
 * finds both full moves another one to its own other set (hot_put), so collisions do not
 * evict. A lookup reads one line of the table, rarely two, then the identity, whose
 * series can be fetched while the key is compared. There are at least two ways per
 * series: the table grows with the series, and starts empty when it does (hot_reserve).
 * A series removes its own entry when it is freed. Identities longer than
 * HOT_KEY_MAX bytes are not cached, and a line that names a series another way (tags in
 * another order, a timestamp) takes the full path.
 */
#define HOT_WAYS     4
#define HOT_KEY_MAX  128
#define HOT_MIN_SETS 16

struct registry__hotid {
    struct registry__series *s;
    double rate;
    uint32_t tag;  /* the hash's low 32 bits: the set, and the tag within it */
    uint16_t nlen; /* name bytes at key */
    uint16_t slen; /* suffix bytes after them */
    uint8_t type;  /* enum statsd_type */
    char key[];
};

struct registry__hotset {
    uint32_t tag[HOT_WAYS];
    struct registry__hotid *id[HOT_WAYS]; /* NULL: empty */
    uint32_t next;                        /* the way to replace when the set is full */
} __attribute__((aligned(64)));

static void *xalloc(struct registry *r, size_t n)
{
    void *p = mem_alloc(n);

    r->mem += n;
    return p;
}

static void *xcalloc(struct registry *r, size_t n, size_t size)
{
    void *p = mem_calloc(n, size);

    r->mem += n * size;
    return p;
}

/*
 * Zeroed, and aligned to a cache line: calloc of 64 bytes more, rounded up. A large
 * calloc gets fresh pages from the kernel, already zero, so even a table of megabytes
 * costs no memset. *base is what to free.
 */
static void *xcalloc_lines(struct registry *r, size_t n, size_t size, void **base)
{
    *base = xcalloc(r, 1, n * size + 64);
    return (void *)(((uintptr_t)*base + 63) & ~(uintptr_t)63);
}

static void xfree(struct registry *r, void *p, size_t n)
{
    if (p == NULL)
        return;
    r->mem -= n;
    free(p);
}

static void *xgrow(struct registry *r, void *p, size_t old, size_t n)
{
    void *q = mem_realloc(p, n);

    r->mem += n - old;
    return q;
}

/* ---- tables ---- */

/*
 * Open addressing with linear probing, at most half full: the series table, and each
 * label key's table of values. Growing rehashes incrementally: a rehash of everything at
 * once held the loop for 12 ms at 131,072 series and 90 ms at 262,144, and 178 ms for a
 * label key's 524,288 values. The old table stays beside the new one while
 * TABLE_MIGRATE_STEP of its slots move over on each insert (and, for the series table,
 * more on each expiry tick), which ends the move long before the new table is half full;
 * meanwhile lookups try the new table, then the old. Old slots are not cleared once moved
 * (clearing would cut the probe chains of the slots after them): an entry may be in both,
 * and is removed from both. Removal from the old table leaves a tombstone instead of
 * shifting slots back, so that no unmoved slot slides behind the cursor.
 */
#define TABLE_MIGRATE_STEP 16
#define TABLE_MIN_SLOTS    8

static char table_tomb; /* a removed slot of the old table */

/* The entries whose hash is h, in the new table, then the old one. */
struct table_probe {
    const struct registry__table *t;
    const struct registry__slot *slots;
    size_t mask, i;
    uint64_t h;
};

static void *table_next(struct table_probe *pr)
{
    for (;;) {
        const struct registry__slot *sl = &pr->slots[pr->i];

        if (sl->p == NULL) {
            if (pr->slots != pr->t->slots || pr->t->old == NULL)
                return NULL;
            pr->slots = pr->t->old;
            pr->mask = pr->t->old_mask;
            pr->i = pr->h & pr->mask;
            continue;
        }
        pr->i = (pr->i + 1) & pr->mask;
        if (sl->hash == pr->h && sl->p != &table_tomb)
            return sl->p;
    }
}

static void *table_first(const struct registry__table *t, uint64_t h, struct table_probe *pr)
{
    if (t->slots == NULL)
        return NULL;
    pr->t = t;
    pr->slots = t->slots;
    pr->mask = t->mask;
    pr->i = h & t->mask;
    pr->h = h;
    return table_next(pr);
}

static void slots_put(struct registry__slot *slots, size_t mask, uint64_t h, void *p)
{
    size_t i = h & mask;

    while (slots[i].p != NULL)
        i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].p = p;
}

/* Move up to budget slots of the old table into the new one; free it once all are. */
static void table_migrate(struct registry *r, struct registry__table *t, size_t budget)
{
    size_t n = t->old_mask + 1;

    if (t->old == NULL)
        return;
    for (; t->old_next < n && budget > 0; t->old_next++, budget--) {
        const struct registry__slot *o = &t->old[t->old_next];

        if (o->p != NULL && o->p != &table_tomb)
            slots_put(t->slots, t->mask, o->hash, o->p);
    }
    if (t->old_next == n) {
        xfree(r, t->old, n * sizeof *t->old);
        t->old = NULL;
    }
}

static void table_insert(struct registry *r, struct registry__table *t, uint64_t h, void *p)
{
    if (t->slots == NULL) {
        t->slots = xcalloc(r, TABLE_MIN_SLOTS, sizeof *t->slots);
        t->mask = TABLE_MIN_SLOTS - 1;
    } else if ((t->used + 1) * 2 > t->mask + 1) {
        size_t n = (t->mask + 1) * 2;

        table_migrate(r, t, SIZE_MAX); /* a move still under way ends first (never seen) */
        t->old = t->slots;
        t->old_mask = t->mask;
        t->old_next = 0;
        t->slots = xcalloc(r, n, sizeof *t->slots);
        t->mask = n - 1;
    }
    table_migrate(r, t, TABLE_MIGRATE_STEP);
    slots_put(t->slots, t->mask, h, p);
    t->used++;
}

/* Remove p from slots if it is there: backward-shift deletion, or a tombstone. */
static void slots_remove(struct registry__slot *slots, size_t mask, uint64_t h, const void *p,
                         int tombstone)
{
    size_t i = h & mask;
    size_t j;

    while (slots[i].p != p) {
        if (slots[i].p == NULL)
            return;
        i = (i + 1) & mask;
    }
    if (tombstone) {
        slots[i].p = &table_tomb;
        return;
    }
    for (j = (i + 1) & mask; slots[j].p != NULL; j = (j + 1) & mask) {
        size_t home = slots[j].hash & mask;

        if (((j - home) & mask) >= ((j - i) & mask)) {
            slots[i] = slots[j];
            i = j;
        }
    }
    slots[i].p = NULL;
    slots[i].hash = 0;
}

static void table_remove(struct registry__table *t, uint64_t h, const void *p)
{
    slots_remove(t->slots, t->mask, h, p, 0);
    if (t->old != NULL)
        slots_remove(t->old, t->old_mask, h, p, 1);
    t->used--;
}

static void table_release(struct registry *r, struct registry__table *t)
{
    if (t->slots != NULL)
        xfree(r, t->slots, (t->mask + 1) * sizeof *t->slots);
    if (t->old != NULL)
        xfree(r, t->old, (t->old_mask + 1) * sizeof *t->old);
    memset(t, 0, sizeof *t);
}

/* ---- interned label values ---- */

static uint32_t lkey_find(const struct lkey *k, const char *s, size_t len, uint64_t h)
{
    struct table_probe pr;
    const struct lval *v;

    for (v = table_first(&k->tab, h, &pr); v != NULL; v = table_next(&pr))
        if (v->len == len && memcmp(v->s, s, len) == 0)
            return v->id;
    return 0;
}

static uint32_t lkey_add(struct registry *r, struct lkey *k, const char *s, size_t len, uint64_t h)
{
    struct lval *v;
    uint32_t id;

    if (k->nfree > 0) {
        id = k->freeids[--k->nfree];
    } else {
        if (k->nvals == k->valcap) {
            uint32_t n = k->valcap ? k->valcap * 2 : 8;

            k->vals = xgrow(r, k->vals, k->valcap * sizeof *k->vals, n * sizeof *k->vals);
            k->valcap = n;
        }
        id = ++k->nvals;
    }
    v = xalloc(r, sizeof *v + len + 1);
    v->hash = h;
    v->id = id;
    v->refs = 0;
    v->len = (uint32_t)len;
    memcpy(v->s, s, len);
    v->s[len] = '\0';
    k->vals[id - 1] = v;
    table_insert(r, &k->tab, h, v);
    return id;
}

static void lkey_ref(struct lkey *k, uint32_t id)
{
    if (k->vals[id - 1]->refs++ == 0)
        k->live++;
}

static void lkey_unref(struct registry *r, struct lkey *k, uint32_t id)
{
    struct lval *v = k->vals[id - 1];

    if (--v->refs > 0)
        return;
    k->live--;
    if (k->enumerated)
        return;
    /* A capped key's cap counts values in use: give the id back. */
    table_remove(&k->tab, v->hash, v);
    k->vals[id - 1] = NULL;
    xfree(r, v, sizeof *v + v->len + 1);
    if (k->nfree == k->freecap) {
        uint32_t n = k->freecap ? k->freecap * 2 : 8;

        k->freeids = xgrow(r, k->freeids, k->freecap * sizeof *k->freeids, n * sizeof(uint32_t));
        k->freecap = n;
    }
    k->freeids[k->nfree++] = id;
}

static void lkey_release(struct registry *r, struct lkey *k)
{
    uint32_t i;

    for (i = 0; i < k->nvals; i++)
        if (k->vals[i] != NULL)
            xfree(r, k->vals[i], sizeof *k->vals[i] + k->vals[i]->len + 1);
    xfree(r, k->vals, k->valcap * sizeof *k->vals);
    xfree(r, k->freeids, k->freecap * sizeof *k->freeids);
    table_release(r, &k->tab);
}

/* ---- the series table ---- */

static int series_key_eq(const struct registry__series *s, uint32_t fam, const uint32_t *ids,
                         size_t n)
{
    return s->fam == fam && memcmp(s->ids, ids, n * sizeof *ids) == 0;
}

static struct registry__series *series_find(const struct registry *r, uint64_t h, uint32_t fam,
                                            const uint32_t *ids, size_t n)
{
    struct table_probe pr;
    struct registry__series *s;

    for (s = table_first(&r->series, h, &pr); s != NULL; s = table_next(&pr))
        if (series_key_eq(s, fam, ids, n))
            return s;
    return NULL;
}

static uint64_t series_hash(uint32_t fam, const uint32_t *ids, size_t n)
{
    uint32_t key[1 + CONFIG_MAX_LABELS];

    key[0] = fam;
    memcpy(key + 1, ids, n * sizeof *ids);
    return XXH3_64bits(key, (1 + n) * sizeof *key);
}

static struct hist *hist_of(const struct registry__family *f, struct registry__series *s)
{
    return (struct hist *)(void *)((char *)s + f->hoff);
}

static double *carries(const struct registry__family *f, struct hist *h)
{
    return (double *)(void *)(h->b + f->cfg->nbuckets + 1);
}

/* Create a series for already interned ids (taking a reference on each). */
static struct registry__series *series_new(struct registry *r, uint32_t fam, const uint32_t *ids,
                                           uint64_t h)
{
    struct registry__family *f = &r->fams[fam];
    size_t n = f->cfg->nlabels;
    struct registry__series *s = xalloc(r, f->block);
    size_t i;

    memset(s, 0, f->block);
    s->hash = h;
    s->fam = fam;
    memcpy(s->ids, ids, n * sizeof *ids);
    for (i = 0; i < n; i++)
        if (ids[i] != 0)
            lkey_ref(&f->keys[i], ids[i]);
    s->prev = f->tail;
    if (f->tail)
        f->tail->next = s;
    else
        f->head = s;
    f->tail = s;
    f->nseries++;
    table_insert(r, &r->series, s->hash, s);
    r->nseries++;
    return s;
}

/* ---- the front cache (see struct registry__hotid) ---- */

static void hotid_free(struct registry *r, struct registry__hotid *id)
{
    xfree(r, id, sizeof(struct registry__hotid) + id->nlen + id->slen);
}

/* The hash of a line's identity, read where its two pieces lie. */
static uint64_t hot_hash(struct statsd_view name, struct statsd_view suffix)
{
    return XXH3_64bits_withSeed(suffix.ptr, suffix.len, XXH3_64bits(name.ptr, name.len));
}

/*
 * n bytes at a and b are equal. Keys are short (HOT_KEY_MAX) and compared on every line,
 * so eight bytes at a time, the last eight overlapping, inline rather than a memcmp call.
 */
static inline int bytes_equal(const char *a, const char *b, size_t n)
{
    uint64_t x, y, diff = 0;
    size_t i;

    if (n < 8)
        return memcmp(a, b, n) == 0;
    for (i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return (diff | (x ^ y)) == 0;
}

static inline int hot_matches(const struct registry__hotid *id, struct statsd_view name,
                              struct statsd_view suffix)
{
    return id->nlen == name.len && id->slen == suffix.len &&
           bytes_equal(id->key, name.ptr, name.len) &&
           bytes_equal(id->key + name.len, suffix.ptr, suffix.len);
}

/*
 * Each tag has two sets: its own (the tag's low bits) and, when that one is full, another
 * that the tag also chooses. Both come from the tag alone, so the table can grow without
 * the keys.
 */
static size_t hot_set1(uint32_t tag, size_t mask)
{
    return tag & mask;
}

static size_t hot_set2(uint32_t tag, size_t mask)
{
    return ((tag >> 16 | tag << 16) * UINT32_C(0x9e3779b1)) & mask;
}

static const struct registry__hotid *hot_find_in(const struct registry__hotset *set,
                                                 struct statsd_view name, struct statsd_view suffix,
                                                 uint32_t tag)
{
    for (unsigned w = 0; w < HOT_WAYS; w++)
        if (set->tag[w] == tag && set->id[w] != NULL && hot_matches(set->id[w], name, suffix))
            return set->id[w];
    return NULL;
}

/* The identity cached for this line, or NULL. */
static const struct registry__hotid *hot_find(const struct registry *r, struct statsd_view name,
                                              struct statsd_view suffix, uint32_t tag)
{
    const struct registry__hotid *id =
        hot_find_in(&r->hot[hot_set1(tag, r->hot_mask)], name, suffix, tag);

    return id != NULL ? id : hot_find_in(&r->hot[hot_set2(tag, r->hot_mask)], name, suffix, tag);
}

/* The way holding id (NULL: an empty way), or -1. */
static int hot_way(const struct registry__hotset *set, const struct registry__hotid *id)
{
    for (unsigned w = 0; w < HOT_WAYS; w++)
        if (set->id[w] == id)
            return (int)w;
    return -1;
}

static size_t hot_nsets(const struct registry *r)
{
    return r->hot != NULL ? r->hot_mask + 1 : 0;
}

static void hot_set_way(struct registry__hotset *set, int w, struct registry__hotid *id,
                        uint32_t tag)
{
    set->tag[w] = tag;
    set->id[w] = id;
}

/*
 * Place id, whose tag is tag, in its first set, else its second. When both are full, an
 * entry of either moves to its own other set if that one has room (one step of cuckoo
 * hashing), and id takes its way; only when none can move is an entry of the first set
 * replaced. The entries' tags are read from the table, not from their identities.
 */
static void hot_put(struct registry__hotset *table, size_t mask, struct registry__hotid *id,
                    uint32_t tag)
{
    struct registry__hotset *sets[2] = { &table[hot_set1(tag, mask)], &table[hot_set2(tag, mask)] };
    int w;

    if (hot_way(sets[0], id) >= 0 || hot_way(sets[1], id) >= 0)
        return;
    for (unsigned k = 0; k < 2; k++) {
        if ((w = hot_way(sets[k], NULL)) >= 0) {
            hot_set_way(sets[k], w, id, tag);
            return;
        }
    }
    for (unsigned k = 0; k < 2; k++) {
        size_t here = (size_t)(sets[k] - table);

        for (w = 0; w < HOT_WAYS; w++) {
            uint32_t etag = sets[k]->tag[w];
            size_t one = hot_set1(etag, mask);
            struct registry__hotset *alt = &table[one != here ? one : hot_set2(etag, mask)];
            int aw = alt != sets[k] ? hot_way(alt, NULL) : -1;

            if (aw >= 0) {
                hot_set_way(alt, aw, sets[k]->id[w], etag);
                hot_set_way(sets[k], w, id, tag);
                return;
            }
        }
    }
    w = (int)sets[0]->next;
    sets[0]->next = (sets[0]->next + 1) % HOT_WAYS;
    hot_set_way(sets[0], w, id, tag);
}

/* Replace the table by an empty one of n sets. */
static void hot_fresh(struct registry *r, size_t n)
{
    if (r->hot != NULL)
        xfree(r, r->hot_base, hot_nsets(r) * sizeof *r->hot + 64);
    r->hot = xcalloc_lines(r, n, sizeof *r->hot, &r->hot_base);
    r->hot_mask = n - 1;
}

/*
 * Room for at least two ways per series: double the sets. The new table starts empty:
 * re-placing every entry would hold the loop for milliseconds once there are 100,000
 * series, while each series' next line refills its entry through the full path, one at a
 * time.
 */
static void hot_reserve(struct registry *r)
{
    size_t sets = hot_nsets(r), n = sets > HOT_MIN_SETS ? sets : HOT_MIN_SETS;

    if (r->nseries * 2 <= sets * HOT_WAYS)
        return;
    while (r->nseries * 2 > n * HOT_WAYS)
        n *= 2;
    hot_fresh(r, n);
}

static void hot_remove(struct registry *r, const struct registry__hotid *id)
{
    if (r->hot == NULL)
        return;
    for (unsigned k = 0; k < 2; k++) {
        struct registry__hotset *set =
            &r->hot[k == 0 ? hot_set1(id->tag, r->hot_mask) : hot_set2(id->tag, r->hot_mask)];
        for (unsigned w = 0; w < HOT_WAYS; w++)
            if (set->id[w] == id)
                set->id[w] = NULL;
    }
}

/*
 * Cache the identity of a line just accepted for s. A series keeps the first identity it
 * was cached under; a line spelling it otherwise is not cached.
 */
static void hot_add(struct registry *r, struct registry__series *s, const struct statsd_line *line)
{
    struct statsd_view name = line->name, suffix = line->suffix;

    if (suffix.ptr == NULL || name.len + suffix.len > HOT_KEY_MAX)
        return;
    if (s->hot == NULL) {
        struct registry__hotid *id =
            xalloc(r, sizeof(struct registry__hotid) + name.len + suffix.len);

        id->s = s;
        id->rate = line->rate;
        id->tag = (uint32_t)hot_hash(name, suffix);
        id->nlen = (uint16_t)name.len;
        id->slen = (uint16_t)suffix.len;
        id->type = (uint8_t)line->type;
        memcpy(id->key, name.ptr, name.len);
        memcpy(id->key + name.len, suffix.ptr, suffix.len);
        s->hot = id;
    } else if (!hot_matches(s->hot, name, suffix)) {
        return;
    }
    hot_reserve(r);
    hot_put(r->hot, r->hot_mask, s->hot, s->hot->tag);
}

static void series_free(struct registry *r, struct registry__series *s)
{
    struct registry__family *f = &r->fams[s->fam];
    struct registry_cursor *c;
    size_t i;

    /* Cursors standing on s move to its successor: the walk tolerates removal. */
    for (c = r->cursors; c != NULL; c = c->link)
        if (c->pos == s)
            c->pos = s->next;
    table_remove(&r->series, s->hash, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        f->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        f->tail = s->prev;
    for (i = 0; i < f->nlabels; i++)
        if (s->ids[i] != 0)
            lkey_unref(r, &f->keys[i], s->ids[i]);
    f->nseries--;
    if (f->state == FAM_RETIRED)
        r->retired--;
    else
        r->nseries--;
    if (s->hot) {
        hot_remove(r, s->hot);
        hotid_free(r, s->hot);
    }
    xfree(r, s, f->block);
}

/* ---- family names ---- */

static void names_put(struct registry *r, const char *name, size_t len, uint32_t fam, int total)
{
    uint64_t h = XXH3_64bits(name, len);
    size_t i = h & r->names_mask;

    while (r->names[i].fam1 != 0)
        i = (i + 1) & r->names_mask;
    r->names[i].hash = h;
    r->names[i].fam1 = fam + 1;
    r->names[i].total = (uint32_t)total;
}

static long names_find(const struct registry *r, const char *name, size_t len)
{
    uint64_t h = XXH3_64bits(name, len);
    size_t i;

    for (i = h & r->names_mask; r->names[i].fam1 != 0; i = (i + 1) & r->names_mask) {
        const struct registry__name *e = &r->names[i];
        const char *fname;
        size_t flen;

        if (e->hash != h)
            continue;
        fname = r->fams[e->fam1 - 1].cfg->name;
        flen = r->fams[e->fam1 - 1].name_len;
        if (!e->total && flen == len && memcmp(fname, name, len) == 0)
            return (long)e->fam1 - 1;
        if (e->total && flen + 6 == len && memcmp(fname, name, flen) == 0 &&
            memcmp(name + flen, "_total", 6) == 0)
            return (long)e->fam1 - 1;
    }
    return -1;
}

/* ---- lifecycle ---- */

/* Set up slot fi, free or new, for the layout of cf, with no series; family_configure next. */
static void family_setup(struct registry *r, size_t fi, const struct config_family *cf)
{
    struct registry__family *f = &r->fams[fi];
    size_t idend = offsetof(struct registry__series, ids) + cf->nlabels * sizeof(uint32_t);
    size_t j;

    memset(f, 0, sizeof *f);
    f->cfg = cf;
    f->state = FAM_LIVE;
    f->nlabels = cf->nlabels;
    f->name_len = strlen(cf->name);
    f->hoff = (idend + 7) & ~(size_t)7;
    f->block = f->hoff;
    if (cf->type == FAMILY_HISTOGRAM)
        f->block += sizeof(struct hist) + (cf->nbuckets + 1) * (sizeof(uint64_t) + sizeof(double));
    for (j = 0; j < cf->nlabels; j++)
        f->keys[j].enumerated = cf->labels[j].values != NULL;
}

/*
 * Point family fi and its keys at cf, whose layout is the family's (family_compatible),
 * and intern enumerated values that are new. Interned values keep their ids.
 */
static void family_configure(struct registry *r, size_t fi, const struct config_family *cf)
{
    struct registry__family *f = &r->fams[fi];
    size_t j, v;

    f->cfg = cf;
    f->ttl_ms = cf->ttl_seconds > 0 ? (uint64_t)ceil(cf->ttl_seconds * 1000.0) : 0;
    for (j = 0; j < cf->nlabels; j++) {
        struct lkey *k = &f->keys[j];
        const struct config_label *cl = &cf->labels[j];

        k->cfg = cl;
        k->name_len = strlen(cl->name);
        k->cap = k->enumerated ? (uint32_t)cl->nvalues : cl->max_values;
        for (v = 0; k->enumerated && v < cl->nvalues; v++) {
            size_t len = strlen(cl->values[v]);
            uint64_t h = XXH3_64bits(cl->values[v], len);

            if (lkey_find(k, cl->values[v], len, h) == 0)
                lkey_add(r, k, cl->values[v], len, h);
        }
    }
}

/* Every name of the live families: "x", and "x_total" for a counter x. */
static void names_build(struct registry *r)
{
    size_t i, nnames, live = 0;

    for (i = 0; i < r->nfams; i++)
        live += r->fams[i].state == FAM_LIVE;
    for (nnames = 16; nnames < 4 * live; nnames *= 2)
        ;
    if (r->names != NULL)
        xfree(r, r->names, (r->names_mask + 1) * sizeof *r->names);
    r->names_mask = nnames - 1;
    r->names = xcalloc(r, nnames, sizeof *r->names);
    for (i = 0; i < r->nfams; i++) {
        const struct config_family *cf = r->fams[i].cfg;
        size_t len;

        if (r->fams[i].state != FAM_LIVE)
            continue;
        len = r->fams[i].name_len;
        names_put(r, cf->name, len, (uint32_t)i, 0);
        if (cf->type == FAMILY_COUNTER) {
            char tmp[STATSD_MAX_NAME + 8];

            if (len + 6 <= sizeof tmp) {
                memcpy(tmp, cf->name, len);
                memcpy(tmp + len, "_total", 6);
                names_put(r, tmp, len + 6, (uint32_t)i, 1);
            }
        }
    }
}

/* A label-less counter or histogram exists from start-up, at zero (unless excluded). */
static void pin_zero_series(struct registry *r)
{
    uint32_t none[1] = { 0 }; /* the ids of a label-less series: memcpy wants a pointer */
    size_t i;

    for (i = 0; i < r->nfams; i++) {
        const struct registry__family *f = &r->fams[i];

        if (f->state == FAM_LIVE && f->nseries == 0 && f->nlabels == 0 &&
            f->cfg->type != FAMILY_GAUGE && !f->cfg->excluded)
            series_new(r, (uint32_t)i, none, series_hash((uint32_t)i, none, 0))->pinned = 1;
    }
}

int registry_init(struct registry *r, const struct config *c)
{
    size_t i;

    memset(r, 0, sizeof *r);
    r->cfg = c;
    r->nfams = c->nfamilies;
    r->fams_cap = r->nfams ? r->nfams : 1;
    r->fams = xcalloc(r, r->fams_cap, sizeof *r->fams);
    for (i = 0; i < r->nfams; i++) {
        family_setup(r, i, &c->families[i]);
        family_configure(r, i, &c->families[i]);
    }
    names_build(r);
    pin_zero_series(r);
    registry_cursor_init(&r->expiry, r);
    return 0;
}

/* ---- reload ---- */

/* A retired family whose series are all gone: free its values, and the slot. */
static void family_free(struct registry *r, struct registry__family *f)
{
    size_t j;

    for (j = 0; j < f->nlabels; j++)
        lkey_release(r, &f->keys[j]);
    memset(f, 0, sizeof *f);
    f->state = FAM_FREE;
}

static void family_retire(struct registry *r, size_t fi)
{
    struct registry__family *f = &r->fams[fi];
    struct registry_cursor *c;

    /* A cursor inside the family goes on with the next one: next_fam is past it. */
    for (c = r->cursors; c != NULL; c = c->link)
        if (c->pos != NULL && c->pos->fam == fi)
            c->pos = NULL;
    f->cfg = NULL;
    f->state = FAM_RETIRED;
    r->nseries -= f->nseries;
    r->retired += f->nseries;
    if (f->head == NULL)
        family_free(r, f);
}

size_t registry_drain(struct registry *r, size_t budget)
{
    size_t i, freed = 0;

    for (i = 0; i < r->nfams && r->retired > 0 && freed < budget; i++) {
        struct registry__family *f = &r->fams[i];

        if (f->state != FAM_RETIRED)
            continue;
        while (f->head != NULL && freed < budget) {
            series_free(r, f->head);
            freed++;
        }
        if (f->head == NULL)
            family_free(r, f);
    }
    return freed;
}

/*
 * Whether the series of family f can carry over to cf: the same type, labels (names, in
 * order, and whether enumerated), buckets and ms handling, and the same group verdict.
 * An enumerated key may gain values but not lose one: series may hold it.
 */
static int family_compatible(struct registry *r, const struct registry__family *f,
                             const struct config_family *cf)
{
    const struct config_family *old = f->cfg;
    size_t j, v;

    if (old->type != cf->type || old->excluded != cf->excluded || old->nlabels != cf->nlabels)
        return 0;
    if (cf->type == FAMILY_HISTOGRAM &&
        (old->unit_ms != cf->unit_ms || old->nbuckets != cf->nbuckets ||
         memcmp(old->buckets, cf->buckets, cf->nbuckets * sizeof *cf->buckets) != 0))
        return 0;
    for (j = 0; j < cf->nlabels; j++) {
        const struct lkey *k = &f->keys[j];
        const struct config_label *cl = &cf->labels[j];
        unsigned char *seen;
        uint32_t found = 0;

        if (strcmp(old->labels[j].name, cl->name) != 0 || k->enumerated != (cl->values != NULL))
            return 0;
        if (!k->enumerated || k->nvals == 0)
            continue;
        /* Enumerated values are never freed: nvals distinct ones, each still allowed? */
        seen = xcalloc(r, k->nvals, 1);
        for (v = 0; v < cl->nvalues; v++) {
            size_t len = strlen(cl->values[v]);
            uint32_t id = lkey_find(k, cl->values[v], len, XXH3_64bits(cl->values[v], len));

            if (id != 0 && !seen[id - 1]) {
                seen[id - 1] = 1;
                found++;
            }
        }
        xfree(r, seen, k->nvals);
        if (found != k->nvals)
            return 0;
    }
    return 1;
}

/* Forget every cached identity: each is checked against the new config on its next line. */
static void hot_clear(struct registry *r)
{
    if (r->hot != NULL)
        hot_fresh(r, hot_nsets(r));
}

/* The slot for a new family: a free one, or one more. */
static size_t family_slot(struct registry *r)
{
    size_t i;

    for (i = 0; i < r->nfams; i++)
        if (r->fams[i].state == FAM_FREE)
            return i;
    if (r->nfams == r->fams_cap) {
        size_t n = r->fams_cap * 2;

        r->fams = xgrow(r, r->fams, r->fams_cap * sizeof *r->fams, n * sizeof *r->fams);
        memset(r->fams + r->fams_cap, 0, (n - r->fams_cap) * sizeof *r->fams);
        r->fams_cap = n;
    }
    return r->nfams++;
}

void registry_reconfigure(struct registry *r, const struct config *c, struct registry_reload *out)
{
    size_t *slot = xcalloc(r, c->nfamilies ? c->nfamilies : 1, sizeof *slot);
    unsigned char *keep = xcalloc(r, r->nfams ? r->nfams : 1, 1);
    size_t nfams = r->nfams, i;

    memset(out, 0, sizeof *out);
    /* Match by name against the running families, before any of them changes. */
    for (i = 0; i < c->nfamilies; i++) {
        const struct config_family *cf = &c->families[i];
        long fi = names_find(r, cf->name, strlen(cf->name));

        slot[i] = SIZE_MAX;
        if (fi >= 0 && !keep[fi] && strcmp(r->fams[fi].cfg->name, cf->name) == 0) {
            if (family_compatible(r, &r->fams[fi], cf)) {
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
        family_retire(r, i);
        out->retired++;
    }
    out->removed = out->retired - out->reset;
    for (i = 0; i < c->nfamilies; i++) {
        if (slot[i] == SIZE_MAX) {
            slot[i] = family_slot(r);
            family_setup(r, slot[i], &c->families[i]);
        }
        family_configure(r, slot[i], &c->families[i]);
    }
    r->cfg = c;
    names_build(r);
    pin_zero_series(r);
    hot_clear(r);
    xfree(r, keep, nfams ? nfams : 1);
    xfree(r, slot, (c->nfamilies ? c->nfamilies : 1) * sizeof *slot);
}

void registry_release(struct registry *r)
{
    size_t i, j;

    registry_cursor_release(&r->expiry);
    for (i = 0; i < r->nfams; i++) {
        struct registry__family *f = &r->fams[i];
        struct registry__series *s, *next;

        for (s = f->head; s != NULL; s = next) {
            next = s->next;
            if (s->hot)
                hotid_free(r, s->hot);
            xfree(r, s, f->block);
        }
        for (j = 0; j < f->nlabels; j++)
            lkey_release(r, &f->keys[j]);
    }
    xfree(r, r->fams, r->fams_cap * sizeof *r->fams);
    table_release(r, &r->series);
    xfree(r, r->names, (r->names_mask + 1) * sizeof *r->names);
    if (r->hot != NULL)
        xfree(r, r->hot_base, hot_nsets(r) * sizeof *r->hot + 64);
    memset(r, 0, sizeof *r);
}

/* ---- the hot path ---- */

static int type_matches(enum family_type ft, enum statsd_type lt)
{
    switch (lt) {
    case STATSD_COUNTER:
        return ft == FAMILY_COUNTER;
    case STATSD_GAUGE:
        return ft == FAMILY_GAUGE;
    case STATSD_TIMER:
    case STATSD_HISTOGRAM:
    case STATSD_DISTRIBUTION:
        return ft == FAMILY_HISTOGRAM;
    case STATSD_JOB:
        break;
    }
    return 0;
}

/* Tag keys are normalised like names: '.' and '-' become '_'. */
static int key_matches(const struct lkey *k, const char *key, size_t len)
{
    const char *name = k->cfg->name;
    size_t i;

    if (len != k->name_len)
        return 0;
    for (i = 0; i < len; i++) {
        char c = key[i];

        if (c == '.' || c == '-')
            c = '_';
        if (name[i] != c)
            return 0;
    }
    return 1;
}

/*
 * The first bound >= v: a value equal to a bound belongs to that bucket (le); nbuckets
 * for +Inf. Without branches on the data: values land in buckets at random, and a
 * mispredicted branch per halving cost more than the whole search. Up to 16 bounds (the
 * usual case) the bounds below v are counted, independent compares that pipeline; beyond,
 * a lower bound narrows with a select that compiles to a conditional move.
 */
static size_t bucket_index(const struct config_family *cf, double v)
{
    const double *base = cf->buckets;
    size_t n = cf->nbuckets, below = 0;

    if (n <= 16) {
        /* Two bounds a compare, in a vector of the compiler's (each true lane is -1). */
        typedef double pair __attribute__((vector_size(16)));
        typedef long long mask __attribute__((vector_size(16)));
        const pair vv = { v, v };
        mask acc = { 0, 0 };
        size_t i;

        for (i = 0; i + 2 <= n; i += 2) {
            pair b;
            memcpy(&b, base + i, sizeof b);
            acc += b < vv;
        }
        below = (size_t)(-(acc[0] + acc[1]));
        return i < n ? below + (base[i] < v) : below;
    }
    while (n > 1) {
        size_t half = n / 2;

        base = base[half] < v ? base + half : base;
        n -= half;
    }
    return (size_t)(base - cf->buckets) + (*base < v);
}

/*
 * The series' new state for an accepted line, computed without touching s (NULL for a
 * series yet to be created), so that a rejected line changes nothing. Returns STATSD_OK,
 * STATSD_NEGATIVE_COUNTER, or STATSD_NON_FINITE when the value would overflow to
 * infinity (a huge value or a tiny rate; the parser only rejects non-finite inputs, and
 * no exposition may show one).
 */
static int compute(const struct registry__family *f, struct registry__series *s,
                   const struct statsd_line *line, double *value, struct hupdate *u)
{
    const struct config_family *cf = f->cfg;
    double rate = line->rate < MIN_RATE ? MIN_RATE : line->rate;
    double w = 1.0 / rate;
    size_t i;

    if (cf->type == FAMILY_COUNTER && line->values[0] < 0)
        return STATSD_NEGATIVE_COUNTER;
    *value = s != NULL ? s->value : 0;
    switch (cf->type) {
    case FAMILY_COUNTER:
        *value += line->values[0] / rate;
        break;
    case FAMILY_GAUGE:
        *value = line->relative ? *value + line->values[0] : line->values[0];
        break;
    case FAMILY_HISTOGRAM:
        /*
         * A sampled observation weighs w = 1 / rate. Bucket counts must stay integers yet
         * be unbiased over time, so each bucket keeps the fraction of weight it has not
         * counted yet: an observation adds w to its bucket's carry and counts the whole
         * part. A bucket's count never drifts more than 1 from its exact weighted count,
         * whatever the mix of values (one carry per series would hand the fractions to
         * whichever bucket happened to come next). _sum adds v / rate exactly.
         */
        if (rate < 1.0)
            memset(u->touched, 0, cf->nbuckets + 1);
        for (i = 0; i < line->nvalues; i++) {
            double v = line->values[i];
            size_t b;

            if (line->type == STATSD_TIMER && !cf->unit_ms)
                v /= 1000.0;
            b = bucket_index(cf, v);
            u->bucket[i] = (uint16_t)b;
            *value += v / rate;
            if (rate >= 1.0) {
                u->incs[i] = 1;
                continue;
            }
            if (!u->touched[b]) {
                u->carry[b] = s != NULL ? carries(f, hist_of(f, s))[b] : 0;
                u->touched[b] = 1;
            }
            u->carry[b] += w;
            u->incs[i] = (uint64_t)floor(u->carry[b]);
            u->carry[b] -= (double)u->incs[i];
        }
        break;
    }
    return isfinite(*value) ? STATSD_OK : STATSD_NON_FINITE;
}

static void commit(const struct registry__family *f, struct registry__series *s,
                   const struct statsd_line *line, uint64_t now_ms, double value,
                   const struct hupdate *u)
{
    const struct config_family *cf = f->cfg;
    size_t i;

    s->value = value;
    s->last_ms = now_ms;
    if (cf->type == FAMILY_HISTOGRAM) {
        struct hist *h = hist_of(f, s);

        for (i = 0; i < line->nvalues; i++) {
            h->b[u->bucket[i]] += u->incs[i];
            h->count += u->incs[i];
        }
        if (line->rate < 1.0) {
            double *c = carries(f, h);
            for (i = 0; i <= cf->nbuckets; i++)
                if (u->touched[i])
                    c[i] = u->carry[i];
        }
    }
}

int registry_apply(struct registry *r, const struct statsd_line *line, uint64_t now_ms)
{
    char name[STATSD_MAX_NAME];
    uint32_t ids[CONFIG_MAX_LABELS] = { 0 };
    const struct statsd_view *pending[CONFIG_MAX_LABELS] = { NULL };
    uint64_t phash[CONFIG_MAX_LABELS];
    struct hupdate u;
    struct registry__family *f;
    const struct config_family *cf;
    struct registry__series *s = NULL;
    unsigned seen = 0, fresh = 0;
    double value = 0;
    size_t n, i, nl;
    long fi;
    int rc;

    if (line->type == STATSD_JOB)
        return STATSD_TYPE_MISMATCH;

    /* Cache hits are registry_apply_raw()'s; here the identity is only cached at the end. */
    n = statsd_normalize_name(line->name.ptr, line->name.len, name, sizeof name);
    fi = n ? names_find(r, name, n) : -1;
    if (fi < 0)
        return STATSD_UNKNOWN_FAMILY;
    f = &r->fams[fi];
    cf = f->cfg;
    nl = cf->nlabels;
    if (cf->excluded)
        return STATSD_GROUP_EXCLUDED;
    if (!type_matches(cf->type, line->type))
        return STATSD_TYPE_MISMATCH;

    /*
     * Labels: look every value up without interning anything, so that a line rejected
     * by a later check leaves the intern tables (and the caps they count) untouched.
     * ids[] ends up in config order whatever the order of the tags.
     */
    for (i = 0; i < line->ntags; i++) {
        const struct statsd_tag *t = &line->tags[i];
        struct lkey *k = NULL;
        size_t j;
        uint32_t id;

        for (j = 0; j < nl; j++) {
            if (key_matches(&f->keys[j], t->key.ptr, t->key.len)) {
                k = &f->keys[j];
                break;
            }
        }
        if (k == NULL)
            return STATSD_LABEL_NOT_ALLOWED;
        if (seen & (1u << j))
            return STATSD_DUPLICATE_TAG;
        seen |= 1u << j;
        if (t->value.len == 0)
            continue;
        if (t->value.len > r->cfg->max_label_value_len)
            return STATSD_LABEL_VALUE_TOO_LONG;
        phash[j] = XXH3_64bits(t->value.ptr, t->value.len);
        id = lkey_find(k, t->value.ptr, t->value.len, phash[j]);
        if (id != 0) {
            ids[j] = id;
            continue;
        }
        if (k->enumerated)
            return STATSD_LABEL_VALUE_NOT_ALLOWED;
        if (k->live >= k->cap)
            return STATSD_LABEL_VALUES_CAP;
        pending[j] = &t->value;
        fresh |= 1u << j;
    }
    if (cf->type == FAMILY_COUNTER && line->values[0] < 0)
        return STATSD_NEGATIVE_COUNTER;

    /* A line with a never-seen value cannot match an existing series. */
    if (fresh == 0)
        s = series_find(r, series_hash((uint32_t)fi, ids, nl), (uint32_t)fi, ids, nl);
    if (s == NULL &&
        (f->nseries >= r->cfg->max_series_per_family || r->nseries >= r->cfg->max_series))
        return STATSD_SERIES_CAP;
    rc = compute(f, s, line, &value, &u);
    if (rc != STATSD_OK)
        return rc;

    if (s == NULL) {
        /* Accepted: now intern the new values and create the series. */
        for (i = 0; i < nl; i++)
            if (fresh & (1u << i))
                ids[i] = lkey_add(r, &f->keys[i], pending[i]->ptr, pending[i]->len, phash[i]);
        s = series_new(r, (uint32_t)fi, ids, series_hash((uint32_t)fi, ids, nl));
    }
    commit(f, s, line, now_ms, value, &u);
    hot_add(r, s, line);
    return STATSD_OK;
}

static int hot_eligible(const struct registry *r, const struct statsd_parts *lp)
{
    return lp->split && r->hot != NULL && lp->line.len <= STATSD_MAX_LINE;
}

/* The first way of set whose tag is tag: a likely match, to prefetch. */
static const struct registry__hotid *hot_candidate(const struct registry__hotset *set, uint32_t tag)
{
    for (unsigned w = 0; w < HOT_WAYS; w++)
        if (set->tag[w] == tag && set->id[w] != NULL)
            return set->id[w];
    return NULL;
}

/*
 * Three passes over the lines, each loading what the next one reads, so that the cache
 * misses of different lines overlap instead of following one another: the hashes (and
 * the sets they choose), the likely identities, then the compare (and the series). The
 * likely identity is the one whose tag matches; only when its key does not is the
 * lookup done in full.
 */
void registry_find_parts(const struct registry *r, const struct statsd_parts *lp, size_t n,
                         const struct registry__hotid **found)
{
    const struct registry__hotid *cand[REGISTRY_FIND_MAX];
    uint32_t tag[REGISTRY_FIND_MAX];
    unsigned char elig[REGISTRY_FIND_MAX];
    size_t i;

    if (n > REGISTRY_FIND_MAX) {
        for (i = REGISTRY_FIND_MAX; i < n; i++)
            found[i] = NULL;
        n = REGISTRY_FIND_MAX;
    }
    for (i = 0; i < n; i++) {
        found[i] = NULL;
        cand[i] = NULL;
        elig[i] = (unsigned char)hot_eligible(r, &lp[i]);
        if (!elig[i])
            continue;
        tag[i] = (uint32_t)hot_hash(lp[i].name, lp[i].suffix);
        __builtin_prefetch(&r->hot[hot_set1(tag[i], r->hot_mask)]);
    }
    for (i = 0; i < n; i++) {
        if (!elig[i])
            continue;
        cand[i] = hot_candidate(&r->hot[hot_set1(tag[i], r->hot_mask)], tag[i]);
        if (cand[i] == NULL)
            cand[i] = hot_candidate(&r->hot[hot_set2(tag[i], r->hot_mask)], tag[i]);
        if (cand[i] != NULL) {
            /* Its key may run into the next cache line. */
            __builtin_prefetch(cand[i]);
            __builtin_prefetch((const char *)cand[i] + 64);
        }
    }
    for (i = 0; i < n; i++) {
        if (cand[i] == NULL)
            continue; /* no tag matched: not cached */
        found[i] = hot_matches(cand[i], lp[i].name, lp[i].suffix)
                       ? cand[i]
                       : hot_find(r, lp[i].name, lp[i].suffix, tag[i]);
        if (found[i] != NULL)
            __builtin_prefetch(found[i]->s);
    }
}

/*
 * compute() and commit() for the usual line: one unsigned value, no sample rate. The
 * same arithmetic (v / 1 is v, and the one observation counts 1 in its bucket), without
 * the update record that a packed or sampled line needs.
 */
static inline int apply_plain(const struct registry__family *f, struct registry__series *s,
                              enum statsd_type type, double v, uint64_t now_ms)
{
    const struct config_family *cf = f->cfg;
    double value;

    switch (cf->type) {
    case FAMILY_COUNTER:
        value = s->value + v;
        break;
    case FAMILY_GAUGE:
        value = v;
        break;
    default: /* FAMILY_HISTOGRAM */
        if (type == STATSD_TIMER && !cf->unit_ms)
            v /= 1000.0;
        value = s->value + v;
        break;
    }
    if (!isfinite(value))
        return STATSD_NON_FINITE;
    if (cf->type == FAMILY_HISTOGRAM) {
        struct hist *h = hist_of(f, s);

        h->b[bucket_index(cf, v)]++;
        h->count++;
    }
    s->value = value;
    s->last_ms = now_ms;
    return STATSD_OK;
}

int registry_apply_found(struct registry *r, const struct registry__hotid *id,
                         const struct statsd_parts *lp, uint64_t now_ms)
{
    struct statsd_line line;
    struct registry__series *s = id->s;
    struct registry__family *f = &r->fams[s->fam];
    struct hupdate u;
    double value;
    int rc;

    /*
     * Same name, same suffix as a line parsed and accepted in full: only the values can
     * differ. An invalid value goes back to the full parse, which names the reason.
     */
    if (id->rate == 1.0 && statsd_plain_value(lp->values.ptr, lp->values.len, &value))
        return apply_plain(f, s, (enum statsd_type)id->type, value, now_ms);
    line.name = lp->name;
    line.type = (enum statsd_type)id->type;
    line.rate = id->rate;
    if (statsd_parse_values(lp->values.ptr, lp->values.len, &line) != STATSD_OK)
        return REGISTRY_MISS;
    rc = compute(f, s, &line, &value, &u);
    if (rc == STATSD_OK)
        commit(f, s, &line, now_ms, value, &u);
    return rc;
}

int registry_apply_parts(struct registry *r, const struct statsd_parts *lp, uint64_t now_ms)
{
    const struct registry__hotid *id;

    registry_find_parts(r, lp, 1, &id);
    return id != NULL ? registry_apply_found(r, id, lp, now_ms) : REGISTRY_MISS;
}

int registry_apply_raw(struct registry *r, const char *p, size_t len, uint64_t now_ms)
{
    struct statsd_parts lp = { .line = { p, len } };

    lp.split = statsd_split(p, len, &lp.name, &lp.values, &lp.suffix);
    return registry_apply_parts(r, &lp, now_ms);
}

/* ---- expiry ---- */

size_t registry_expire(struct registry *r, uint64_t now_ms, size_t budget)
{
    struct registry_cursor *c = &r->expiry;
    size_t work = 0, freed = 0;
    int wrapped = 0;

    /* A table move goes on without inserts too, a slice per tick. */
    table_migrate(r, &r->series, budget);
    while (work < budget) {
        struct registry__series *s;
        const struct registry__family *f;

        if (c->pos == NULL) {
            if (c->next_fam >= r->nfams) {
                if (wrapped)
                    break;
                wrapped = 1;
                c->next_fam = 0;
                continue;
            }
            f = &r->fams[c->next_fam++];
            work++;
            if (f->ttl_ms != 0 && f->state == FAM_LIVE)
                c->pos = f->head;
            continue;
        }
        s = c->pos;
        c->pos = s->next;
        work++;
        f = &r->fams[s->fam];
        if (!s->pinned && now_ms > s->last_ms && now_ms - s->last_ms > f->ttl_ms) {
            series_free(r, s);
            freed++;
        }
    }
    return freed;
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
    return names_find(r, name, len);
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

size_t registry_label_values(const struct registry *r, size_t fam, size_t label)
{
    return r->fams[fam].keys[label].live;
}

int registry_label_value_next(const struct registry *r, size_t fam, size_t label, size_t *it,
                              const char **value, size_t *len)
{
    const struct lkey *k = &r->fams[fam].keys[label];

    while (*it < k->nvals) {
        const struct lval *v = k->vals[(*it)++];

        if (v != NULL && v->refs > 0) {
            *value = v->s;
            *len = v->len;
            return 1;
        }
    }
    return 0;
}

/* ---- cursors ---- */

void registry_cursor_init(struct registry_cursor *c, struct registry *r)
{
    c->reg = r;
    c->next_fam = 0;
    c->pos = NULL;
    c->link = r->cursors;
    r->cursors = c;
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

        if (f->state == FAM_LIVE)
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
        const struct lval *v;

        if (s->ids[i] == 0)
            continue;
        v = f->keys[i].vals[s->ids[i] - 1];
        out->labels[out->nlabels].name = f->cfg->labels[i].name;
        out->labels[out->nlabels].value = v->s;
        out->labels[out->nlabels].value_len = v->len;
        out->nlabels++;
    }
    out->value = s->value;
    out->last_update_ms = s->last_ms;
    if (f->cfg->type == FAMILY_HISTOGRAM) {
        const struct hist *h = hist_of(f, s);

        out->count = h->count;
        out->buckets = h->b;
    } else {
        out->count = 0;
        out->buckets = NULL;
    }
    return 1;
}
