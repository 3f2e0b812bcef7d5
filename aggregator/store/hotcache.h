/*
 * hotcache: the registry's front cache. Most lines update a series that exists, and two
 * lines whose bytes differ only in their values have the same fate but for the value
 * checks: the same family, labels, allowlist checks, type, rate and series. So the cache
 * maps a line's identity, its name and everything after its values (statsd_split),
 *
 *   requests:1|c|@0.5|#method:GET   ->   "requests" + "|c|@0.5|#method:GET"
 *
 * to the series, with the line's type and rate. A cached line then needs neither the full
 * parse nor any lookup: one split, one hash of the two pieces where they lie, one
 * compare, and the values parsed by the parser's own function. The cache never judges a
 * line: its owner adds an identity only after a line was parsed and accepted in full.
 *
 * A series owns at most one identity (struct hotcache_id), the first it was cached under:
 * a line that names the series another way (tags in another order, a timestamp) is not
 * cached. Identities longer than HOTCACHE_KEY_MAX bytes are not cached either. The owner
 * keeps the identity in the series' own block, after the series (hotcache_id_bytes,
 * hotcache_id_set): one allocation and one cache miss fewer a series than a block of its
 * own, and the identity finds its series by the distance back to it.
 *
 * What the same bytes do can change with the configuration (a reload): the owner stamps
 * each identity as it adds it (hotcache_add) and stands by a found one only while the
 * stamp is still its series' own (the registry: its family's, which moves when a reload
 * may judge the family's lines otherwise). A key has one identity in the table at most:
 * the one added last replaces another one of the same key, which the owner no longer
 * stands by. So a reload that leaves a family alone leaves its lines in the cache.
 *
 * A domain module. Memory is counted: the calls that allocate or free the table take the
 * byte counter they adjust (counted.h). The cache stores series as opaque pointers.
 */
#ifndef USTATSD_HOTCACHE_H
#define USTATSD_HOTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/counted.h"
#include "statsd.h"
#include "statsd_scanner.h"

#define HOTCACHE_WAYS     4
#define HOTCACHE_KEY_MAX  128 /* name + suffix bytes of a cached identity */
#define HOTCACHE_MIN_SETS 16
#define HOTCACHE_FIND_MAX 32 /* lines one hotcache_find() looks up */

/* A cached line identity, in its series' block (the owner's), after the series. */
struct hotcache_id {
    double rate;    /* the line's sample rate */
    uint64_t notes; /* the owner's: what else the line does each time (0: nothing) */
    uint32_t tag;   /* the hash's low 32 bits: the set, and the tag within it */
    uint32_t stamp; /* the owner's, when the full path last accepted it (hotcache_add) */
    uint32_t back;  /* bytes from the series to the identity */
    uint16_t nlen;  /* name bytes at key */
    uint16_t slen;  /* suffix bytes after them */
    uint8_t type;   /* enum statsd_type */
    char key[];
};

/*
 * Bytes of an identity before its key: the key starts where the fields end, not at
 * sizeof (which pads the struct to 8 bytes, 7 bytes a series for nothing).
 */
#define HOTCACHE_ID_HEAD offsetof(struct hotcache_id, key)

/* Bytes of identity id, its key included. */
static inline size_t hotcache_id_size(const struct hotcache_id *id)
{
    return HOTCACHE_ID_HEAD + id->nlen + id->slen;
}

/* The series whose identity id is. */
static inline void *hotcache_series(const struct hotcache_id *id)
{
    return (char *)(uintptr_t)id - id->back;
}

/*
 * Bytes of the identity of line (struct and key), or 0 when line cannot be cached (no
 * suffix split, or a key over HOTCACHE_KEY_MAX). What the owner leaves room for.
 */
size_t hotcache_id_bytes(const struct statsd_line *line);

/*
 * Write the identity of line (hotcache_id_bytes() > 0) at id, which lies in series' block
 * after series (8-byte aligned). Not yet in the table: hotcache_add() puts it there.
 */
void hotcache_id_set(struct hotcache_id *id, const void *series, const struct statsd_line *line);

/*
 * One cache line of the table: HOTCACHE_WAYS tags, the identities they stand for, and
 * each identity's back (where its series starts), so that a lookup in steps can ask for
 * the series together with its identity instead of after it (hotcache_fetch).
 */
struct hotcache_set {
    uint32_t tag[HOTCACHE_WAYS];
    struct hotcache_id *id[HOTCACHE_WAYS]; /* NULL: empty */
    uint16_t back[HOTCACHE_WAYS];          /* the identity's back; 0: too far to say */
    uint32_t next;                         /* the way to replace when the set is full */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct hotcache_set) == 64, "a set is one cache line");

#define HOTCACHE_MIGRATE_STEP 8 /* old sets moved on each hotcache_add() during a move */
/*
 * A new table bigger than HOTCACHE_POPULATE_MIN bytes is written a page at a time before
 * it is used, HOTCACHE_POPULATE_STEP pages on each hotcache_add() (and budget / 8 on each
 * hotcache_migrate()): its first writes are the kernel's page faults, 3 to 5 us each, and
 * a move's random writes into a 17 MiB table took most of them in the few hundred adds
 * after a growth, one turn of the loop (20 ms at 800,000 series). Writing that table takes
 * about 2,200 adds, while the table in use takes them, that much fuller.
 */
#define HOTCACHE_POPULATE_MIN  ((size_t)256 << 10)
#define HOTCACHE_POPULATE_STEP 2

/*
 * Zeroed is an empty cache that allocates nothing and finds nothing. When it grows (or
 * shrinks, hotcache_fit), the new table is written a page at a time first (next: the
 * cache goes on in its table meanwhile, a little fuller), then the entries move to it a
 * few sets at a time, on each hotcache_add() and on each hotcache_migrate(): until then a
 * lookup that misses the new table looks in the old one, so the cache never goes cold.
 */
struct hotcache {
    struct hotcache_set *sets; /* NULL until the first hotcache_add() */
    size_t n;                  /* sets (sets != NULL) */
    void *base;                /* the allocation sets lie in (aligned within it) */
    struct hotcache_set *old;  /* the table being moved into sets, or NULL */
    size_t old_n;
    void *old_base;
    size_t old_next;           /* old sets below this one have been moved (and emptied) */
    struct counted_dead dead;  /* a big old table once moved, given back a step a call */
    struct hotcache_set *next; /* the table the next move goes to, being written, or NULL */
    size_t next_n;
    void *next_base;
    size_t next_done; /* bytes of next written so far */
};

/*
 * Look lines lp[0..n) up all at once, so that their cache misses overlap, and set
 * found[i] to line i's identity or NULL (a miss, also for every line past the first
 * HOTCACHE_FIND_MAX). The series of each found identity is prefetched. Changes nothing.
 * The same as hotcache_tag() then hotcache_find_tagged().
 */
void hotcache_find(const struct hotcache *c, const struct statsd_parts *lp, size_t n,
                   const struct hotcache_id **found);

/*
 * A lookup in steps, for a caller that can do other work between them while the memory
 * they ask for arrives (the intake, over the datagrams of a receive batch):
 *
 * - hotcache_tag(): the hash of each line lp[0..n) (n at most HOTCACHE_FIND_MAX) into
 *   tag[i], and a prefetch of the first set it chooses. A tag depends on the line's bytes
 *   alone, so it stays right whatever the cache does meanwhile.
 * - hotcache_fetch(), optional, later: for each line, a prefetch of the identity in that
 *   set whose tag matches, the cache line before it (where its series ends) and the rest
 *   of its series from where it starts (the set's back, HOTCACHE_FETCH_LINES lines at
 *   most: a histogram's header and buckets lie more than a line before its identity). Only
 *   for a table of HOTCACHE_FETCH_SETS sets or more (hotcache_fetch_pays: 2 MiB; the
 *   table reaches it past about 70,000 series, and shrinks below it once fewer than about
 *   35,000 are left): a smaller one and its series stay near the CPU, and the pass would
 *   cost a set's read a line for nothing.
 * - hotcache_find_tagged(), later: the lookup, as hotcache_find() with the tags given.
 *
 * None of them changes anything, and any of them may come after the cache has changed.
 */
#define HOTCACHE_FETCH_SETS  32768
#define HOTCACHE_FETCH_LINES 4
void hotcache_tag(const struct hotcache *c, const struct statsd_parts *lp, size_t n, uint32_t *tag);
void hotcache_fetch(const struct hotcache *c, const struct statsd_parts *lp, const uint32_t *tag,
                    size_t n);
void hotcache_find_tagged(const struct hotcache *c, const struct statsd_parts *lp,
                          const uint32_t *tag, size_t n, const struct hotcache_id **found);

/* Whether hotcache_fetch() does anything for c: a table of HOTCACHE_FETCH_SETS sets or more. */
static inline int hotcache_fetch_pays(const struct hotcache *c)
{
    return c->sets != NULL && c->n >= HOTCACHE_FETCH_SETS;
}

/*
 * Cache line, just accepted in full for the series whose identity is id
 * (hotcache_id_set): a line spelling the series other than its identity is not cached.
 * The identity's notes become notes: what the full check found for this line now; its
 * stamp, the owner's stamp. Another identity of the same key leaves the table. nseries
 * is how many series may now hold an identity: the table keeps at least 4/3 ways for
 * each (it grows by half when they take three quarters of its ways; a little fewer while
 * the new one is written), and when it grows its entries move over to the new one a
 * few sets a call (HOTCACHE_MIGRATE_STEP), found in the old table meanwhile.
 */
void hotcache_add(struct hotcache *c, struct hotcache_id *id, const struct statsd_line *line,
                  uint64_t notes, uint32_t stamp, size_t nseries, size_t *bytes);

/* The identity at from has moved to to (a copy, its series with it): its way follows. */
void hotcache_rehome(struct hotcache *c, const struct hotcache_id *from, struct hotcache_id *to);

/* Remove id from the table (its series is going away, and its block with it). */
void hotcache_drop(struct hotcache *c, const struct hotcache_id *id);

/*
 * Ask for the sets hotcache_drop(c, id) will write, to overlap several drops' misses. It
 * holds only prefetches, which GCC counts as no effect: LTO inlines it into the sweep's
 * series_prefetch_free(); a build that stopped inlining it could lose the call (table.h,
 * table_prefetch). objdump of that function shows whether its prefetches are there.
 */
void hotcache_prefetch_drop(const struct hotcache *c, const struct hotcache_id *id);

/*
 * Give memory back after many series went away: when nseries series take less than a
 * quarter of the table's ways, start moving it into one half full (two ways a series; at
 * least HOTCACHE_MIN_SETS sets), as a growth does. Returns 1 while it has work to do (a
 * new table being written, a move started or under way): call hotcache_migrate() until it
 * is done.
 */
int hotcache_fit(struct hotcache *c, size_t nseries, size_t *bytes);

/*
 * Write up to budget / 8 pages of a new table not yet in use (the move starts once all
 * are), or move up to budget sets of a move under way into the new table; the old one is
 * freed once the last has moved, a big one COUNTED_RELEASE_STEP bytes a call. Returns 1
 * while a table is being written, a move or a release is under way after the call.
 */
int hotcache_migrate(struct hotcache *c, size_t budget, size_t *bytes);

/* Free the table (identities go with their series) and leave the cache zeroed. */
void hotcache_release(struct hotcache *c, size_t *bytes);

#endif
