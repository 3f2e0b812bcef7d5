/*
 * intern: the label values of one label key, each interned once and named by a small id
 * (1-based; 0 is left to callers for "no value"), with a reference count and a cap.
 *
 * Two kinds of key:
 *   - enumerated: the allowed values are interned up front and never freed; "live"
 *     counts the values with at least one reference;
 *   - capped: values are interned as they first arrive and freed when their last
 *     reference goes (their id is recycled), so the cap counts the distinct values
 *     *currently in use*.
 *
 * Renumbering: after a mass expiry a capped key may hold a few values among millions of
 * ids, and its list of ids (8 bytes an id) stays as long as the most it ever held. A
 * renumbering gives the values in use new ids, dense from 1, in a list of their size.
 * Ids carry an epoch in their top bit (INTERN_EPOCH): ids of the other epoch than the
 * key's stay valid while a renumbering runs, each slot of the old list forwarding to the
 * value's new slot once it has moved, so that holders (series) move to the new ids at
 * their own pace (intern_current) before the old list goes (intern_renumber_end).
 *
 * A domain module. Memory is counted: the calls that allocate or free take the byte
 * counter they adjust (counted.h). Values are copied; the caller keeps its strings.
 */
#ifndef USTATSD_INTERN_H
#define USTATSD_INTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* The hash runs on the ingest path: let the compiler inline xxhash's own code. */
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "base/slab.h"
#include "base/table.h"

/* The top bit of an id: its epoch. The rest is the 1-based slot in that epoch's list. */
#define INTERN_EPOCH 0x80000000u

/* A key renumbers (intern_renumber_wanted) from this many ids, when half are free. */
#define INTERN_RENUMBER_MIN 4096

/* An interned value; the string follows the header, NUL-terminated. */
struct intern_value {
    uint64_t hash;
    uint32_t id;
    uint32_t refs; /* references taken with intern_ref() */
    uint32_t len;
    uint32_t owner; /* the key's intern.owner: who to tell when the value moves */
    char s[];
};

/*
 * Zeroed, then enumerated and cap set, is an empty key. Fields are read-only outside
 * intern.c but for enumerated and cap, which the owner may change between calls (a
 * reload takes a new cap).
 */
struct intern {
    int enumerated; /* values are never freed */
    uint32_t cap;   /* the most values in use (intern_full) */
    /*
     * By id - 1. A recycled id's slot holds the next recycled id instead, shifted and
     * tagged with a low bit of 1 (no value is that aligned), so the free ids cost no list
     * of their own: after a mass expiry, 4 bytes a freed value.
     */
    struct intern_value **vals;
    uint32_t nvals; /* ids handed out so far (in this epoch) */
    uint32_t valcap;
    uint32_t live;      /* values with refs > 0 */
    uint32_t free_head; /* the recycled slot (1-based, no epoch) handed out next, 0: none */
    uint32_t nfree;     /* recycled ids */
    uint32_t epoch;     /* 0 or INTERN_EPOCH: the epoch of the ids handed out now */
    /*
     * While a renumbering runs: the list of the other epoch, by id - 1. Slots [0, moved)
     * were looked at: a moved value's slot holds its new slot shifted and tagged with
     * low bits 10; a value not moved yet is still there; a free slot is tagged with 1.
     */
    struct intern_value **prev;
    uint32_t nprev, prevcap, moved;
    struct table tab; /* struct intern_value by hash */
    /*
     * Where values are allocated (NULL: malloc), and what they are stamped with, so that
     * the slab's owner finds the key of a value it moves (intern_moved). Set by the owner
     * before the first value.
     */
    struct slab *slab;
    uint32_t owner;
    struct counted_dead dead; /* the list of ids, given back by intern_release_step() */
};

/* The hash intern_find() and intern_add() take for s[0..len). */
static inline uint64_t intern_hash(const char *s, size_t len)
{
    return XXH3_64bits(s, len);
}

/* The id of s[0..len), whose intern_hash() is h, or 0 when it is not interned. */
static inline uint32_t intern_find(const struct intern *in, const char *s, size_t len, uint64_t h)
{
    struct table_probe pr;
    const struct intern_value *v;

    for (v = table_first(&in->tab, h, &pr); v != NULL; v = table_next(&pr))
        if (v->len == len && memcmp(v->s, s, len) == 0)
            return v->id;
    return 0;
}

/*
 * Intern s[0..len) (hash h), which must not be interned yet, with no reference, and
 * return its id: a recycled one if any. The cap is the caller's to check (intern_full)
 * before. Adds what it allocates to *bytes.
 */
uint32_t intern_add(struct intern *in, const char *s, size_t len, uint64_t h, size_t *bytes);

/*
 * After values were freed: forget the ids past the last one in use, and hand out the
 * free ones lowest first, as a key that never held the freed values would. Allocates
 * nothing. No renumbering may run.
 */
void intern_rewind(struct intern *in);

/* 1 when no value can be added: as many in use as the cap allows. */
static inline int intern_full(const struct intern *in)
{
    return in->live >= in->cap;
}

/* The value of id, of either epoch (the old one only while a renumbering runs). */
static inline struct intern_value *intern__at(const struct intern *in, uint32_t id)
{
    uint32_t i = (id & ~INTERN_EPOCH) - 1;
    uintptr_t p;

    if ((id & INTERN_EPOCH) == in->epoch)
        return in->vals[i];
    p = (uintptr_t)in->prev[i];
    return (p & 3) == 2 ? in->vals[p >> 2] : (struct intern_value *)p;
}

/*
 * Ask for the table slot intern_unref(in, id) writes when it drops the last reference,
 * to overlap several unrefs' misses (the value itself is read here).
 */
__attribute__((always_inline)) static inline void intern_prefetch_unref(const struct intern *in,
                                                                        uint32_t id)
{
    if (!in->enumerated)
        table_prefetch(&in->tab, intern__at(in, id)->hash);
}

/* Take a reference on id. */
static inline void intern_ref(struct intern *in, uint32_t id)
{
    if (intern__at(in, id)->refs++ == 0)
        in->live++;
}

/*
 * Drop a reference on id. A capped key frees the value with its last reference and
 * recycles the id (subtracting from *bytes).
 */
void intern_unref(struct intern *in, uint32_t id, size_t *bytes);

/* The value of id, which must be interned; valid until it is freed. */
static inline const struct intern_value *intern_value(const struct intern *in, uint32_t id)
{
    return intern__at(in, id);
}

/* The id the value of id has now: id itself, unless it moved in a renumbering. */
static inline uint32_t intern_current(const struct intern *in, uint32_t id)
{
    return (id & INTERN_EPOCH) == in->epoch ? id : intern__at(in, id)->id;
}

/* Whether a renumbering runs: ids of two epochs may be in use. */
static inline int intern_renumbering(const struct intern *in)
{
    return in->prev != NULL;
}

/*
 * Whether a renumbering would give memory back: a capped key, none running, at least
 * INTERN_RENUMBER_MIN ids handed out and at most half of them in use.
 */
int intern_renumber_wanted(const struct intern *in);

/*
 * Start a renumbering: a new list sized for the values in use, the other epoch's ids
 * handed out from now on. Every id stays valid.
 */
void intern_renumber_begin(struct intern *in, size_t *bytes);

/*
 * Move up to budget slots of the old list: each value there takes a slot of the new list,
 * and its id (intern_value(...)->id, what intern_find returns) is the new one. Returns 1
 * while slots remain.
 */
int intern_renumber_step(struct intern *in, size_t budget, size_t *bytes);

/*
 * Once every value moved and every holder of an old id took intern_current() instead: the
 * old list goes, COUNTED_RELEASE_STEP bytes a call. Returns 1 while some is left.
 */
int intern_renumber_end(struct intern *in, size_t *bytes);

/*
 * Iterate over the values in use (refs > 0): start with *it = 0; returns 1 and sets
 * *s, *len (borrowed, valid until the key changes) while one remains, in id order (while
 * a renumbering runs: the values not moved yet, then the current list's).
 */
int intern_next(const struct intern *in, size_t *it, const char **s, size_t *len);

/*
 * Give memory back after many values were freed: shrink the key's table step by step
 * (table_compact), budget slots moved per call. Returns 1 while a move remains. The list
 * of ids keeps its length (ids are recycled, and series hold them).
 */
int intern_compact(struct intern *in, size_t budget, size_t *bytes);

/*
 * The value at from (of this key) has been copied to to, by the key's slab's compaction:
 * the key's list of ids and its table point to to.
 */
void intern_moved(struct intern *in, const struct intern_value *from, struct intern_value *to);

/* Free every value and the key's tables, and leave the key zeroed. */
void intern_release(struct intern *in, size_t *bytes);

/*
 * intern_release() a step a call, for a key with millions of ids: its values at once (a
 * key whose series are all gone has none left, unless enumerated, and those are few),
 * then its list of ids and its table, COUNTED_RELEASE_STEP bytes a call (counted.h).
 * Returns 1 while some is left; then in must not be used but to go on. Zeroed once done.
 */
int intern_release_step(struct intern *in, size_t *bytes);

#endif
