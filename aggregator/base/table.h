/*
 * table: a set of pointers by 64-bit hash, with open addressing and linear probing, at
 * most four fifths full. The registry keeps its series in one and each label key's interned
 * values in another. The table stores the hash beside each pointer and never looks at
 * what a pointer points to: the caller compares keys while it walks the entries of a hash
 * (table_first, table_next), so several entries may share a hash.
 *
 * Growing rehashes incrementally: the old table stays beside the new one and moves over
 * TABLE_MIGRATE_STEP slots on each insert (and more on each table_migrate() the caller
 * adds, e.g. on a timer), so no single call holds the loop for a full rehash.
 *
 * Shrinking uses the same move: table_shrink() (the owner calls it when many entries
 * have gone, e.g. after expiry) moves the entries into a table half full, a slice at a
 * time, and frees the big one once the move is done.
 *
 * A domain module. Memory is counted: the calls that allocate or free take the byte
 * counter they adjust (counted.h). Tables grow by a quarter (1.25 times the slots) and
 * shrink only when asked.
 *
 * Any number of slots, not only powers of two: an entry's home is its hash's high 32 bits
 * scaled to the size (table_home), so a table holds between 64% and 80% of its slots,
 * 20 to 25 bytes an entry. Doubling at half full held a quarter to a half: at a million
 * series, 2^21 slots of 16 bytes, 33.5 bytes a series. Linear probing at four fifths
 * full looks at 3 slots to find an entry and 13 to miss, on average: a cache line or four,
 * read in order; lookups are on the path of a line the front cache missed, not of all.
 */
#ifndef USTATSD_TABLE_H
#define USTATSD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/counted.h"

#define TABLE_MIGRATE_STEP 16 /* old slots moved on each insert while a move is under way */
#define TABLE_MIN_SLOTS    8

struct table_slot {
    uint64_t hash;
    void *p; /* NULL: empty; &table__tomb: removed from a table being moved */
};

/* Zeroed (= {0}) is an empty table that allocates nothing until its first insert. */
struct table {
    struct table_slot *slots; /* NULL until the first insert */
    size_t n;                 /* slots */
    size_t used;
    struct table_slot *old; /* the table being moved into slots, or NULL */
    size_t old_n;
    size_t old_next; /* old slots below this one have been moved */
    /* A big old table once its move is done, given back a step per table_migrate(). */
    struct counted_dead dead;
};

/* The walk over the entries whose hash is h: the new table, then the old one. */
struct table_probe {
    const struct table *t;
    const struct table_slot *slots;
    size_t n, i;
    uint64_t h;
};

/* The slot where an entry of hash h starts its probe in a table of n slots (n < 2^32). */
static inline size_t table_home(uint64_t h, size_t n)
{
    return (size_t)(((h >> 32) * (uint64_t)n) >> 32);
}

/*
 * Ask for the cache line where the entries of hash h begin, in both tables, to be written
 * soon: a caller with several removals to make starts their misses together.
 *
 * Always inlined, and so must be any helper that only prefetches: GCC counts
 * __builtin_prefetch as no effect, finds such a function pure, and deletes the calls to it
 * that it did not inline (the sweep's prefetches were gone from the binary that way).
 */
__attribute__((always_inline)) static inline void table_prefetch(const struct table *t, uint64_t h)
{
    if (t->slots != NULL)
        __builtin_prefetch(&t->slots[table_home(h, t->n)], 1);
    if (t->old != NULL)
        __builtin_prefetch(&t->old[table_home(h, t->old_n)], 1);
}

extern char table__tomb; /* marks a removed slot of the old table */

/*
 * Insert p (not NULL) under hash h; p must not be in the table already. May start or
 * advance a move; adds what it allocates to *bytes.
 */
void table_insert(struct table *t, uint64_t h, void *p, size_t *bytes);

/* Remove p, inserted under hash h, from the table; p must be in it. Allocates nothing. */
void table_remove(struct table *t, uint64_t h, const void *p);

/* The entry p, inserted under hash h, is now to (p must be in the table). */
void table_replace(struct table *t, uint64_t h, const void *p, void *to);

/*
 * Move up to budget slots of a move under way; once all are moved the old table is freed,
 * a big one COUNTED_RELEASE_STEP bytes per call (realloc shrinks it in place).
 */
void table_migrate(struct table *t, size_t budget, size_t *bytes);

/*
 * When no move is under way (nor an old table left to free) and at most a quarter of the
 * slots are in use, start a move into a table half full (twice the entries' slots, never
 * below TABLE_MIN_SLOTS); returns 1 when it started one. Allocates the small table only:
 * the move goes on with table_migrate() and the inserts, and it ends before the small
 * table could need to grow (an insert moves TABLE_MIGRATE_STEP old slots, and a quarter
 * of its slots must fill first).
 */
int table_shrink(struct table *t, size_t *bytes);

/*
 * Shrink step by step: table_shrink() when it can, up to budget slots of the move, and
 * the next step as soon as a move is done. Returns 1 while a move is under way.
 */
int table_compact(struct table *t, size_t budget, size_t *bytes);

/* Whether a move (a growth or a shrink) is under way, or its old table not yet freed. */
static inline int table_moving(const struct table *t)
{
    return t->old != NULL || t->dead.p != NULL;
}

/* Free the slots (not what the entries point to) and leave an empty table. */
void table_release(struct table *t, size_t *bytes);

/*
 * table_release() a step a call: at most COUNTED_RELEASE_STEP bytes of slots given back
 * (counted.h). Returns 1 while some are left; then t must not be used but to go on.
 */
int table_release_step(struct table *t, size_t *bytes);

/*
 * The next entry of the probe whose stored hash is pr->h, or NULL once none is left. The
 * table must not change between table_first() and the last table_next() of a walk.
 * Inline: every lookup of the ingest path runs it.
 */
static inline void *table_next(struct table_probe *pr)
{
    for (;;) {
        const struct table_slot *sl = &pr->slots[pr->i];

        if (sl->p == NULL) {
            if (pr->slots != pr->t->slots || pr->t->old == NULL)
                return NULL;
            pr->slots = pr->t->old;
            pr->n = pr->t->old_n;
            pr->i = table_home(pr->h, pr->n);
            continue;
        }
        if (++pr->i == pr->n)
            pr->i = 0;
        if (sl->hash == pr->h && sl->p != &table__tomb)
            return sl->p;
    }
}

/* Start a walk over the entries of hash h in *pr; returns the first, or NULL. */
static inline void *table_first(const struct table *t, uint64_t h, struct table_probe *pr)
{
    if (t->slots == NULL)
        return NULL;
    pr->t = t;
    pr->slots = t->slots;
    pr->n = t->n;
    pr->i = table_home(h, t->n);
    pr->h = h;
    return table_next(pr);
}

#endif
