/*
 * labelset: the label keys of one family: which tags a line of the family may carry, and
 * the interned values of each key (intern.h). A series names its labels by one id per
 * key, in config order; 0 means the label is absent.
 *
 * A domain module. The keys borrow their config (struct config_label): it must outlive
 * them, or until labelset_configure() points them at a new one. Memory is counted: the
 * calls that allocate or free take the byte counter they adjust (counted.h).
 */
#ifndef USTATSD_LABELSET_H
#define USTATSD_LABELSET_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/intern.h"
#include "statsd.h"

/*
 * How far a cap (of series, or of a key's values) may be passed while it may still hold
 * series past their ttl that reclaim has not reached: a 1,024th of it plus one, the lines
 * that a walk over the whole cap takes at 1,024 series a line (expiry.c).
 */
static inline size_t labelset_slack(size_t cap)
{
    return cap / 1024 + 1;
}

struct labelset_key {
    const struct config_label *cfg;
    size_t name_len;      /* strlen(cfg->name) */
    uint32_t overflow_id; /* cfg->overflow's id, or 0; a capped key holds a reference on it */
    struct intern in;
};

/* Read-only outside labelset.c. */
struct labelset {
    size_t n; /* keys in use */
    enum config_undeclared undeclared;
    struct labelset_key keys[CONFIG_MAX_LABELS];
};

/*
 * What labelset_check() found out about a line's tags, before anything is interned. The
 * last three say what the line's tags cost it (for the owner to count once the line is
 * accepted); a line with the same bytes always costs the same under the same config.
 */
struct labelset_match {
    uint32_t ids[CONFIG_MAX_LABELS]; /* config order; 0: absent, or a value still pending */
    const struct statsd_view *pending[CONFIG_MAX_LABELS]; /* values to intern on accept */
    uint64_t phash[CONFIG_MAX_LABELS]; /* the value's intern_hash() where ids[j] != 0 */
    unsigned fresh;                    /* bit j: key j's value is pending */
    unsigned stripped;                 /* bit i: a tag of key config.strip_tags[i] was removed */
    unsigned dropped;                  /* tags of undeclared keys dropped (undeclared: drop) */
    uint8_t folded[CONFIG_MAX_LABELS]; /* key j: enum config_fold */
};

/*
 * Set up ls, which must be zeroed, for the keys of cf (how many, and which are
 * enumerated), with no value; labelset_configure() next. Key j's values are allocated
 * from slab (NULL: malloc) and stamped owner + j (intern.owner).
 */
void labelset_init(struct labelset *ls, const struct config_family *cf, struct slab *slab,
                   uint32_t owner);

/*
 * Point the keys at cf's labels, whose layout is the set's (labelset_compatible), take
 * their caps, and intern enumerated values that are new. Interned values keep their ids.
 */
void labelset_configure(struct labelset *ls, const struct config_family *cf, size_t *bytes);

/*
 * 1 when the values of ls can carry over to cf's labels: the same names, in order, each
 * enumerated or not as before, every enumerated value interned still allowed (series
 * may hold it; a key may gain values, not lose one), and, where a capped key's pattern
 * changes, every value in use matching the new one (or being its overflow value). cf has
 * ls->n labels.
 */
int labelset_compatible(const struct labelset *ls, const struct config_family *cf, size_t *bytes);

/*
 * Match a line's tags against the keys without interning anything, so that a line
 * rejected by this or a later check leaves the values (and the caps they count)
 * untouched. *m must be zeroed. In order, for each tag:
 *   - its key, normalised like names, is one of the family's: its label;
 *   - or one of c->strip_tags: removed (m->stripped);
 *   - or undeclared: LABEL_NOT_ALLOWED, or dropped (m->dropped) when the family says
 *     "undeclared_labels": "drop";
 *   - a second tag of one label is DUPLICATE_TAG; a bare tag or an empty value leaves
 *     the label absent;
 *   - a value not yet interned is checked in this order: longer than
 *     c->max_label_value_len (LABEL_VALUE_TOO_LONG), outside an enumeration
 *     (LABEL_VALUE_NOT_ALLOWED), not matching the key's pattern (LABEL_VALUE_PATTERN),
 *     beyond the key's cap (LABEL_VALUES_CAP; with expiring set, while values of
 *     expired series may remain, beyond the cap and its labelset_slack() of max_values).
 *     Where the key has an overflow value, the value folds into it instead (m->folded),
 *     and the line goes on. So an interned value pays for none of these checks.
 * Returns STATSD_OK, or the reason of the first tag that has one. *m borrows the line's
 * views.
 */
int labelset_check(const struct labelset *ls, const struct statsd_line *line,
                   const struct config *c, struct labelset_match *m, int expiring);

/* The line is accepted: intern m's pending values, setting their ids. */
void labelset_intern(struct labelset *ls, struct labelset_match *m, size_t *bytes);

/* Take a reference on each present value of ids (ls->n of them): a series now uses them. */
void labelset_ref(struct labelset *ls, const uint32_t *ids);

/* Drop the references labelset_ref() took (intern_unref). */
void labelset_unref(struct labelset *ls, const uint32_t *ids, size_t *bytes);

/* Whether ids a and b (one per key) name the same values, whichever epoch each id is of. */
int labelset_same(const struct labelset *ls, const uint32_t *a, const uint32_t *b);

/*
 * Key j's values have all moved in a renumbering (intern_renumber_step): the ids the key
 * keeps itself (its overflow value's) take the new ones.
 */
void labelset_renumbered(struct labelset *ls, size_t j);

/*
 * Shrink the keys' tables once many values are gone, budget slots moved per key
 * (intern_compact). Returns 1 while a key's move remains.
 */
int labelset_compact(struct labelset *ls, size_t budget, size_t *bytes);

/* Free every key's values; ls is zeroed. */
void labelset_release(struct labelset *ls, size_t *bytes);

/*
 * labelset_release() a step a call (intern_release_step), for the keys of a family with
 * millions of series. Returns 1 while some is left; ls is zeroed once done.
 */
int labelset_release_step(struct labelset *ls, size_t *bytes);

#endif
