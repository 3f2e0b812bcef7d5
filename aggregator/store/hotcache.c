#include "store/hotcache.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* The hash runs once per line: let the compiler inline xxhash's own code. */
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "base/counted.h"

/*
 * The table is set-associative: a set is one cache line of HOTCACHE_WAYS entries, each a
 * 32-bit tag (the hash's low bits) and the identity, which points at its series. A tag
 * may live in two sets, both chosen by the tag (set1, set2), and an entry that finds both
 * full moves another one to its own other set (put), so collisions do not evict. A lookup
 * reads one line of the table, rarely two, then the identity, whose series can be fetched
 * while the key is compared. There are at least 4/3 ways per series: the table grows with
 * the series, and its entries move to the bigger one a few sets at a time (move_to,
 * hotcache_migrate), found in the old one until they have. A series removes its own
 * entry when it is freed.
 */

/* The hash of a line's identity, read where its two pieces lie. */
static uint64_t hash(struct statsd_view name, struct statsd_view suffix)
{
    return XXH3_64bits_withSeed(suffix.ptr, suffix.len, XXH3_64bits(name.ptr, name.len));
}

/* The 8 (or 4) bytes at p, as an integer. */
static inline uint64_t load8(const char *p)
{
    uint64_t x;

    memcpy(&x, p, 8);
    return x;
}

static inline uint32_t load4(const char *p)
{
    uint32_t x;

    memcpy(&x, p, 4);
    return x;
}

#ifdef __SSE2__
/* Whether the 16 bytes at a and b are equal, as a mask of equal bytes. */
static inline __m128i same16(const char *a, const char *b)
{
    return _mm_cmpeq_epi8(_mm_loadu_si128((const void *)a), _mm_loadu_si128((const void *)b));
}
#endif

/*
 * n bytes at a and b are equal. Keys are short (HOTCACHE_KEY_MAX) and compared on every
 * line, so inline rather than a memcmp call: 16 bytes a compare from 16 up (8 without
 * SSE2, from 17), the last load overlapping the ones before; two overlapping loads of 8 or
 * 4 bytes a side below that, and three bytes any length up to 3. Nothing outside the n
 * bytes is read.
 */
static inline int bytes_equal(const char *a, const char *b, size_t n)
{
#ifdef __SSE2__
    if (n >= 16) {
        __m128i same = same16(a + n - 16, b + n - 16);

        for (size_t i = 0; i + 16 < n; i += 16)
            same = _mm_and_si128(same, same16(a + i, b + i));
        return _mm_movemask_epi8(same) == 0xffff;
    }
#else
    if (n > 16) {
        uint64_t diff = 0;
        size_t i;

        for (i = 0; i + 8 < n; i += 8)
            diff |= load8(a + i) ^ load8(b + i);
        return (diff | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
    }
#endif
    if (n >= 8)
        return ((load8(a) ^ load8(b)) | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
    if (n >= 4)
        return ((load4(a) ^ load4(b)) | (load4(a + n - 4) ^ load4(b + n - 4))) == 0;
    return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

static inline int same_key(const struct hotcache_id *id, struct statsd_view name,
                           struct statsd_view suffix)
{
    return id->nlen == name.len && id->slen == suffix.len &&
           bytes_equal(id->key, name.ptr, name.len) &&
           bytes_equal(id->key + name.len, suffix.ptr, suffix.len);
}

/*
 * Each tag has two sets: its own and, when that one is full, another that the tag also
 * chooses. Both come from the tag alone, so the table can grow without the keys, and both
 * scale the tag to the table (a multiply and a shift), so the table has any number of
 * sets: it grows by half, not by doubling.
 */
static size_t set1(uint32_t tag, size_t n)
{
    return (size_t)(((uint64_t)tag * n) >> 32);
}

static size_t set2(uint32_t tag, size_t n)
{
    return (size_t)(((uint64_t)((tag >> 16 | tag << 16) * UINT32_C(0x9e3779b1)) * n) >> 32);
}

/* The identity for this line in set, or NULL. */
static const struct hotcache_id *find_in(const struct hotcache_set *set, struct statsd_view name,
                                         struct statsd_view suffix, uint32_t tag)
{
    for (unsigned w = 0; w < HOTCACHE_WAYS; w++)
        if (set->tag[w] == tag && set->id[w] != NULL && same_key(set->id[w], name, suffix))
            return set->id[w];
    return NULL;
}

/* The identity cached for this line in table (of n sets), or NULL. */
static const struct hotcache_id *find_table(const struct hotcache_set *table, size_t n,
                                            struct statsd_view name, struct statsd_view suffix,
                                            uint32_t tag)
{
    const struct hotcache_id *id = find_in(&table[set1(tag, n)], name, suffix, tag);

    return id != NULL ? id : find_in(&table[set2(tag, n)], name, suffix, tag);
}

/*
 * The identity cached for this line, or NULL: the table, then the one being moved. A key
 * has one identity in the tables at most (hotcache_add); whether it still stands is the
 * owner's to say (its stamp).
 */
static const struct hotcache_id *find_one(const struct hotcache *c, struct statsd_view name,
                                          struct statsd_view suffix, uint32_t tag)
{
    const struct hotcache_id *id = find_table(c->sets, c->n, name, suffix, tag);

    if (id == NULL && c->old != NULL)
        id = find_table(c->old, c->old_n, name, suffix, tag);
    return id;
}

/* The way holding id (NULL: an empty way), or -1. */
static int way_of(const struct hotcache_set *set, const struct hotcache_id *id)
{
    for (unsigned w = 0; w < HOTCACHE_WAYS; w++)
        if (set->id[w] == id)
            return (int)w;
    return -1;
}

static size_t nsets(const struct hotcache *c)
{
    return c->sets != NULL ? c->n : 0;
}

static void set_way(struct hotcache_set *set, int w, struct hotcache_id *id, uint32_t tag,
                    uint16_t back)
{
    set->tag[w] = tag;
    set->id[w] = id;
    set->back[w] = back;
}

/* What a set keeps of id's back: 0 where it does not fit. */
static uint16_t back_of(const struct hotcache_id *id)
{
    return id->back <= UINT16_MAX ? (uint16_t)id->back : 0;
}

/*
 * Place id, whose tag is tag, in its first set, else its second: most entries lie in the
 * first, the set a lookup prefetches. When both are full, an entry of either moves to its
 * own other set if that one has room (one step of cuckoo hashing), and id takes its way;
 * when none can, a walk of cuckoo kicks (HOTCACHE_KICKS at most) displaces an entry of
 * the first set to its other set, and that set's next one in turn, until one finds room.
 * Only an entry whose walk ends without room is left out (its next line takes the full
 * path and caches it again): never seen at three quarters full. The entries' tags are
 * read from the table, not from their identities.
 */
#define HOTCACHE_KICKS 32

/* Put id (tag) in set, full, displacing its entries along their other sets (put). */
static void kick(struct hotcache_set *table, size_t n, struct hotcache_set *set,
                 struct hotcache_id *id, uint32_t tag, uint16_t back)
{
    for (unsigned k = 0; k < HOTCACHE_KICKS; k++) {
        size_t here = (size_t)(set - table), one;
        int w = (int)set->next;
        struct hotcache_id *out = set->id[w];
        uint32_t otag = set->tag[w];
        uint16_t oback = set->back[w];

        set->next = (set->next + 1) % HOTCACHE_WAYS;
        set_way(set, w, id, tag, back);
        id = out;
        tag = otag;
        back = oback;
        one = set1(tag, n);
        set = &table[one != here ? one : set2(tag, n)];
        if (set == &table[here])
            return; /* both its sets are this one: it is left out */
        if ((w = way_of(set, NULL)) >= 0) {
            set_way(set, w, id, tag, back);
            return;
        }
    }
}

static void put(struct hotcache_set *table, size_t n, struct hotcache_id *id, uint32_t tag,
                uint16_t back)
{
    struct hotcache_set *sets[2] = { &table[set1(tag, n)], &table[set2(tag, n)] };
    int w;

    if (way_of(sets[0], id) >= 0 || way_of(sets[1], id) >= 0)
        return;
    for (unsigned k = 0; k < 2; k++) {
        if ((w = way_of(sets[k], NULL)) >= 0) {
            set_way(sets[k], w, id, tag, back);
            return;
        }
    }
    for (unsigned k = 0; k < 2; k++) {
        size_t here = (size_t)(sets[k] - table);

        for (w = 0; w < HOTCACHE_WAYS; w++) {
            uint32_t etag = sets[k]->tag[w];
            size_t one = set1(etag, n);
            struct hotcache_set *alt = &table[one != here ? one : set2(etag, n)];
            int aw = alt != sets[k] ? way_of(alt, NULL) : -1;

            if (aw >= 0) {
                set_way(alt, aw, sets[k]->id[w], etag, sets[k]->back[w]);
                set_way(sets[k], w, id, tag, back);
                return;
            }
        }
    }
    kick(table, n, sets[0], id, tag, back);
}

/* The old table's entries have all moved (now: free it at once, else a step a call). */
static void free_old(struct hotcache *c, size_t *bytes, int now)
{
    counted_dead_take(bytes, &c->dead, c->old_base, (c->old_n) * sizeof *c->old + 64);
    c->old = NULL;
    c->old_base = NULL;
    c->old_n = 0;
    c->old_next = 0;
    counted_release_step(bytes, &c->dead, now);
}

/* No table is being written for a move (its memory freed or in use). */
static void forget_next(struct hotcache *c)
{
    c->next = NULL;
    c->next_base = NULL;
    c->next_n = 0;
    c->next_done = 0;
}

/* Free the table being written for a move, if any. */
static void drop_next(struct hotcache *c, size_t *bytes)
{
    if (c->next == NULL)
        return;
    counted_free(bytes, c->next_base, c->next_n * sizeof *c->next + 64);
    forget_next(c);
}

/* Replace the table by an empty one of n sets (a move under way ends: its entries too). */
static void fresh(struct hotcache *c, size_t n, size_t *bytes)
{
    drop_next(c, bytes);
    if (c->old != NULL)
        free_old(c, bytes, 1);
    counted_release_step(bytes, &c->dead, 1);
    if (c->sets != NULL)
        counted_free(bytes, c->base, nsets(c) * sizeof *c->sets + 64);
    c->sets = counted_calloc_lines(bytes, n, sizeof *c->sets, &c->base);
    c->n = n;
}

/* Move up to budget sets of the move under way; returns 1 while some are left. */
static int move_some(struct hotcache *c, size_t budget, size_t *bytes)
{
    size_t end = c->old_n - c->old_next > budget ? c->old_next + budget : c->old_n;

    for (; c->old_next < end; c->old_next++) {
        struct hotcache_set *set = &c->old[c->old_next];

        for (unsigned w = 0; w < HOTCACHE_WAYS; w++)
            if (set->id[w] != NULL)
                put(c->sets, c->n, set->id[w], set->tag[w], set->back[w]);
        memset(set, 0, sizeof *set);
    }
    if (c->old_next < c->old_n)
        return 1;
    free_old(c, bytes, 0);
    return 0;
}

/*
 * Start moving the entries into table (n sets, allocated at base): the old one stays
 * beside it and is looked in until they have all moved (a move still under way is
 * finished first). Re-placing every entry at once would hold the loop for milliseconds
 * at 100,000 series; starting empty would send each series' next line down the full path.
 */
static void switch_to(struct hotcache *c, struct hotcache_set *table, size_t n, void *base,
                      size_t *bytes)
{
    if (c->old != NULL)
        move_some(c, SIZE_MAX, bytes);
    c->old = c->sets;
    c->old_n = c->n;
    c->old_base = c->base;
    c->old_next = 0;
    c->sets = table;
    c->base = base;
    c->n = n;
}

/*
 * Write up to pages more pages of the table being made ready (a zero each, which the
 * kernel backs with a page of its own); once all are, the move to it starts.
 */
static void populate(struct hotcache *c, size_t pages, size_t *bytes)
{
    const uintptr_t page = 4096, start = (uintptr_t)c->next;
    const size_t len = c->next_n * sizeof *c->next;
    volatile char *p = (volatile char *)c->next;

    /* From each page's first byte in the table to the next page's: every page it spans. */
    for (; pages > 0 && c->next_done < len; pages--) {
        p[c->next_done] = 0;
        c->next_done = (size_t)(((start + c->next_done) / page + 1) * page - start);
    }
    if (c->next_done < len)
        return;
    switch_to(c, c->next, c->next_n, c->next_base, bytes);
    forget_next(c);
}

/*
 * One step: up to sets sets of a move under way, else up to pages pages of a table being
 * made ready, and a step of a dead table's release. Returns 1 while any is left.
 */
static int advance(struct hotcache *c, size_t sets, size_t pages, size_t *bytes)
{
    counted_release_step(bytes, &c->dead, 0);
    if (c->old != NULL)
        move_some(c, sets, bytes);
    else if (c->next != NULL)
        populate(c, pages, bytes);
    return c->old != NULL || c->next != NULL || c->dead.p != NULL;
}

int hotcache_migrate(struct hotcache *c, size_t budget, size_t *bytes)
{
    return advance(c, budget, budget / 8 ? budget / 8 : 1, bytes);
}

/*
 * Start moving the entries into a new table of n sets. A big one is written a page at a
 * time first (populate, HOTCACHE_POPULATE_STEP pages an add), the current table in use
 * meanwhile: the kernel's faults for its pages come a few at a time, not all in the first
 * adds of the move, whose entries land on pages all over it.
 */
static void move_to(struct hotcache *c, size_t n, size_t *bytes)
{
    struct hotcache_set *table;
    void *base;

    if (c->sets == NULL) {
        fresh(c, n, bytes);
        return;
    }
    if (c->next != NULL && c->next_n == n)
        return; /* being written */
    drop_next(c, bytes);
    table = counted_calloc_lines(bytes, n, sizeof *c->sets, &base);
    if (n * sizeof *c->sets <= HOTCACHE_POPULATE_MIN) {
        switch_to(c, table, n, base, bytes);
        return;
    }
    c->next = table;
    c->next_n = n;
    c->next_base = base;
    c->next_done = 0;
}

/*
 * Ways per series: the table grows by half once its ways are three quarters taken, so it
 * holds between 4/3 and 2 ways a series (21 to 32 bytes). A tag has two sets of four ways
 * and an entry in a full pair moves to its other set (put): at three quarters full almost
 * none is ever replaced, where doubling at half full kept 2 to 4 ways a series.
 */
static int crowded(size_t nseries, size_t sets)
{
    return nseries * 4 > sets * HOTCACHE_WAYS * 3;
}

/* Room for the series: grow by half until they take at most three quarters of the ways. */
static void reserve(struct hotcache *c, size_t nseries, size_t *bytes)
{
    size_t sets = nsets(c), n = sets > HOTCACHE_MIN_SETS ? sets : HOTCACHE_MIN_SETS;

    if (!crowded(nseries, sets))
        return;
    while (crowded(nseries, n))
        n += n / 2;
    move_to(c, n, bytes);
}

int hotcache_fit(struct hotcache *c, size_t nseries, size_t *bytes)
{
    size_t sets = nsets(c);

    if (c->old != NULL || c->dead.p != NULL || c->next != NULL)
        return 1;
    if (sets <= HOTCACHE_MIN_SETS || nseries * 4 >= sets * HOTCACHE_WAYS)
        return 0;
    /* Two ways a series: half full, as a growth leaves it. */
    sets = (nseries * 2 + HOTCACHE_WAYS - 1) / HOTCACHE_WAYS;
    move_to(c, sets > HOTCACHE_MIN_SETS ? sets : HOTCACHE_MIN_SETS, bytes);
    return 1;
}

/* A line whose identity can be cached: split, and no longer than a line may be. */
static int taggable(const struct statsd_parts *lp)
{
    return lp->split && lp->line.len <= STATSD_MAX_LINE;
}

static int eligible(const struct hotcache *c, const struct statsd_parts *lp)
{
    return c->sets != NULL && taggable(lp);
}

/* The ways of set whose tag is tag, as bits: compares without a branch on the data. */
static inline unsigned tag_ways(const struct hotcache_set *set, uint32_t tag)
{
    _Static_assert(HOTCACHE_WAYS == 4, "one compare a way");
    return (unsigned)(set->tag[0] == tag) | (unsigned)(set->tag[1] == tag) << 1 |
           (unsigned)(set->tag[2] == tag) << 2 | (unsigned)(set->tag[3] == tag) << 3;
}

/*
 * The first way of set whose tag is tag: a likely match, to prefetch. The way a tag lies
 * in is random, and a branch a way mispredicted on nearly every line (a fifth of the
 * lookup's samples at 1,000 series): the ways are compared together, and only "none" and
 * "an empty way" branch, which are rare.
 */
static int candidate_way(const struct hotcache_set *set, uint32_t tag)
{
    for (unsigned m = tag_ways(set, tag); m != 0; m &= m - 1) {
        int w = __builtin_ctz(m);

        if (set->id[w] != NULL)
            return w;
    }
    return -1;
}

static const struct hotcache_id *candidate(const struct hotcache_set *set, uint32_t tag)
{
    int w = candidate_way(set, tag);

    return w >= 0 ? set->id[w] : NULL;
}

/* A likely match in the table being moved (cold: only while a move is under way). */
static __attribute__((noinline)) const struct hotcache_id *old_candidate(const struct hotcache *c,
                                                                         uint32_t tag)
{
    const struct hotcache_id *id = candidate(&c->old[set1(tag, c->old_n)], tag);

    return id != NULL ? id : candidate(&c->old[set2(tag, c->old_n)], tag);
}

/*
 * Ask for a likely identity (its key may run into the next cache line) and the line
 * before it, where its series ends: the owner keeps the identity at the end of the
 * series' block (hotcache.h), and a counter's series is shorter than a cache line.
 * Prefetches only, of an identity in the table, which is always live (a series drops its
 * entry before it is freed, and one that moves takes its way along).
 */
static inline void prefetch_id(const struct hotcache_id *id)
{
    __builtin_prefetch(id);
    __builtin_prefetch((const char *)id + 64);
    __builtin_prefetch((const char *)id - 64);
}

/*
 * Ask for the series whose identity id is, back bytes before it (0: unknown), from its
 * first cache line to the one before the identity's, which prefetch_id() asks for:
 * HOTCACHE_FETCH_LINES lines at most. Its header and, for a histogram, its buckets, which
 * the update reads right after the lookup.
 */
static inline void prefetch_block(const struct hotcache_id *id, unsigned back)
{
    const char *p = (const char *)id - back, *last = (const char *)id - 64;

    for (unsigned k = 0; k < HOTCACHE_FETCH_LINES && p < last; k++, p += 64)
        __builtin_prefetch(p);
}

void hotcache_tag(const struct hotcache *c, const struct statsd_parts *lp, size_t n, uint32_t *tag)
{
    for (size_t i = 0; i < n; i++) {
        tag[i] = 0;
        if (!taggable(&lp[i]))
            continue;
        tag[i] = (uint32_t)hash(lp[i].name, lp[i].suffix);
        if (c->sets != NULL)
            __builtin_prefetch(&c->sets[set1(tag[i], c->n)]);
    }
}

void hotcache_fetch(const struct hotcache *c, const struct statsd_parts *lp, const uint32_t *tag,
                    size_t n)
{
    const struct hotcache_id *id;

    if (!hotcache_fetch_pays(c))
        return;
    for (size_t i = 0; i < n; i++) {
        const struct hotcache_set *set;
        int w;

        if (!taggable(&lp[i]))
            continue;
        set = &c->sets[set1(tag[i], c->n)];
        if ((w = candidate_way(set, tag[i])) < 0)
            continue;
        id = set->id[w];
        prefetch_id(id);
        prefetch_block(id, set->back[w]);
    }
    /* Prefetches only: keep GCC from counting the call as one without effect. */
    __asm__ volatile("");
}

/*
 * Two passes over the lines whose hashes hotcache_tag() took (and whose sets it asked
 * for), each loading what the next one reads, so that the cache misses of different lines
 * overlap instead of following one another: the likely identities, then the compare (and
 * the series). The likely identity is the one whose tag matches; only when its key does
 * not is the lookup done in full.
 */
void hotcache_find_tagged(const struct hotcache *c, const struct statsd_parts *lp,
                          const uint32_t *tag, size_t n, const struct hotcache_id **found)
{
    const struct hotcache_id *cand[HOTCACHE_FIND_MAX];
    size_t i;

    if (n > HOTCACHE_FIND_MAX) {
        for (i = HOTCACHE_FIND_MAX; i < n; i++)
            found[i] = NULL;
        n = HOTCACHE_FIND_MAX;
    }
    for (i = 0; i < n; i++) {
        found[i] = NULL;
        cand[i] = NULL;
        if (!eligible(c, &lp[i]))
            continue;
        cand[i] = candidate(&c->sets[set1(tag[i], c->n)], tag[i]);
        if (cand[i] == NULL)
            cand[i] = candidate(&c->sets[set2(tag[i], c->n)], tag[i]);
        if (cand[i] == NULL && c->old != NULL)
            cand[i] = old_candidate(c, tag[i]);
        /* Asked for now, its series arrives with it instead of after the compare. */
        if (cand[i] != NULL)
            prefetch_id(cand[i]);
    }
    for (i = 0; i < n; i++) {
        if (cand[i] == NULL)
            continue; /* no tag matched: not cached */
        found[i] = same_key(cand[i], lp[i].name, lp[i].suffix)
                       ? cand[i]
                       : find_one(c, lp[i].name, lp[i].suffix, tag[i]);
        if (found[i] != NULL)
            __builtin_prefetch(hotcache_series(found[i]));
    }
}

void hotcache_find(const struct hotcache *c, const struct statsd_parts *lp, size_t n,
                   const struct hotcache_id **found)
{
    uint32_t tag[HOTCACHE_FIND_MAX];

    hotcache_tag(c, lp, n < HOTCACHE_FIND_MAX ? n : HOTCACHE_FIND_MAX, tag);
    hotcache_find_tagged(c, lp, tag, n, found);
}

size_t hotcache_id_bytes(const struct statsd_line *line)
{
    if (line->suffix.ptr == NULL || line->name.len + line->suffix.len > HOTCACHE_KEY_MAX)
        return 0;
    return HOTCACHE_ID_HEAD + line->name.len + line->suffix.len;
}

void hotcache_id_set(struct hotcache_id *id, const void *series, const struct statsd_line *line)
{
    struct statsd_view name = line->name, suffix = line->suffix;

    memset(id, 0, HOTCACHE_ID_HEAD);
    id->back = (uint32_t)((const char *)id - (const char *)series);
    id->rate = line->rate;
    id->tag = (uint32_t)hash(name, suffix);
    id->nlen = (uint16_t)name.len;
    id->slen = (uint16_t)suffix.len;
    id->type = (uint8_t)line->type;
    memcpy(id->key, name.ptr, name.len);
    memcpy(id->key + name.len, suffix.ptr, suffix.len);
}

/* Empty the ways of table (of n sets; NULL: none) that hold another identity of id's key. */
static void drop_others(struct hotcache_set *table, size_t n, const struct hotcache_id *id)
{
    struct statsd_view name = { id->key, id->nlen }, suffix = { id->key + id->nlen, id->slen };

    for (unsigned k = 0; table != NULL && k < 2; k++) {
        struct hotcache_set *set = &table[k == 0 ? set1(id->tag, n) : set2(id->tag, n)];

        for (unsigned w = 0; w < HOTCACHE_WAYS; w++)
            if (set->tag[w] == id->tag && set->id[w] != NULL && set->id[w] != id &&
                same_key(set->id[w], name, suffix))
                set->id[w] = NULL;
    }
}

void hotcache_add(struct hotcache *c, struct hotcache_id *id, const struct statsd_line *line,
                  uint64_t notes, uint32_t stamp, size_t nseries, size_t *bytes)
{
    if (line->suffix.ptr == NULL || !same_key(id, line->name, line->suffix))
        return;
    /* A reload may have changed what the same bytes do (a key stripped, a value folded). */
    id->notes = notes;
    id->stamp = stamp;
    reserve(c, nseries, bytes);
    advance(c, HOTCACHE_MIGRATE_STEP, HOTCACHE_POPULATE_STEP, bytes);
    /* An identity the owner no longer stands by may hold the key: this one replaces it. */
    drop_others(c->sets, c->n, id);
    drop_others(c->old, c->old_n, id);
    put(c->sets, c->n, id, id->tag, back_of(id));
}

/* Take id out of table (of n sets; NULL: none). */
static void drop_from(struct hotcache_set *table, size_t n, const struct hotcache_id *id)
{
    for (unsigned k = 0; table != NULL && k < 2; k++) {
        struct hotcache_set *set = &table[k == 0 ? set1(id->tag, n) : set2(id->tag, n)];

        for (unsigned w = 0; w < HOTCACHE_WAYS; w++)
            if (set->id[w] == id)
                set->id[w] = NULL;
    }
}

/* Point the way of from in table (of n sets; NULL: none) at to. */
static void rehome_in(struct hotcache_set *table, size_t n, const struct hotcache_id *from,
                      struct hotcache_id *to)
{
    for (unsigned k = 0; table != NULL && k < 2; k++) {
        struct hotcache_set *set = &table[k == 0 ? set1(to->tag, n) : set2(to->tag, n)];
        int w = way_of(set, from);

        if (w >= 0)
            set_way(set, w, to, set->tag[w], back_of(to));
    }
}

void hotcache_rehome(struct hotcache *c, const struct hotcache_id *from, struct hotcache_id *to)
{
    rehome_in(c->sets, c->n, from, to);
    rehome_in(c->old, c->old_n, from, to);
}

void hotcache_drop(struct hotcache *c, const struct hotcache_id *id)
{
    drop_from(c->sets, c->n, id);
    drop_from(c->old, c->old_n, id);
}

void hotcache_prefetch_drop(const struct hotcache *c, const struct hotcache_id *id)
{
    if (c->sets != NULL) {
        __builtin_prefetch(&c->sets[set1(id->tag, c->n)], 1);
        __builtin_prefetch(&c->sets[set2(id->tag, c->n)], 1);
    }
    if (c->old != NULL) {
        __builtin_prefetch(&c->old[set1(id->tag, c->old_n)], 1);
        __builtin_prefetch(&c->old[set2(id->tag, c->old_n)], 1);
    }
}

void hotcache_release(struct hotcache *c, size_t *bytes)
{
    drop_next(c, bytes);
    if (c->old != NULL)
        free_old(c, bytes, 1);
    counted_release_step(bytes, &c->dead, 1);
    if (c->sets != NULL)
        counted_free(bytes, c->base, nsets(c) * sizeof *c->sets + 64);
    memset(c, 0, sizeof *c);
}
