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

#include "config.h"
#include "intern.h"
#include "statsd.h"

struct labelset_key {
    const struct config_label *cfg;
    size_t name_len; /* strlen(cfg->name) */
    struct intern in;
};

/* Read-only outside labelset.c. */
struct labelset {
    size_t n; /* keys in use */
    struct labelset_key keys[CONFIG_MAX_LABELS];
};

/* What labelset_check() found out about a line's tags, before anything is interned. */
struct labelset_match {
    uint32_t ids[CONFIG_MAX_LABELS]; /* config order; 0: absent, or a value still pending */
    const struct statsd_view *pending[CONFIG_MAX_LABELS]; /* values to intern on accept */
    uint64_t phash[CONFIG_MAX_LABELS];
    unsigned fresh; /* bit j: key j's value is pending */
};

/*
 * Set up ls, which must be zeroed, for the keys of cf (how many, and which are
 * enumerated), with no value; labelset_configure() next.
 */
void labelset_init(struct labelset *ls, const struct config_family *cf);

/*
 * Point the keys at cf's labels, whose layout is the set's (labelset_compatible), take
 * their caps, and intern enumerated values that are new. Interned values keep their ids.
 */
void labelset_configure(struct labelset *ls, const struct config_family *cf, size_t *bytes);

/*
 * 1 when the values of ls can carry over to cf's labels: the same names, in order, each
 * enumerated or not as before, and every enumerated value interned still allowed (series
 * may hold it; a key may gain values, not lose one). cf has ls->n labels.
 */
int labelset_compatible(const struct labelset *ls, const struct config_family *cf, size_t *bytes);

/*
 * Match a line's tags against the keys without interning anything, so that a line
 * rejected by this or a later check leaves the values (and the caps they count)
 * untouched. Returns STATSD_OK and fills *m (whose ids must be zeroed and fresh 0), or
 * LABEL_NOT_ALLOWED, DUPLICATE_TAG, LABEL_VALUE_TOO_LONG (beyond max_value_len),
 * LABEL_VALUE_NOT_ALLOWED or LABEL_VALUES_CAP, for the first tag that has one. Tag keys
 * match normalised like names; a bare tag or an empty value leaves its label absent.
 * *m borrows the line's views.
 */
int labelset_check(const struct labelset *ls, const struct statsd_line *line, size_t max_value_len,
                   struct labelset_match *m);

/* The line is accepted: intern m's pending values, setting their ids. */
void labelset_intern(struct labelset *ls, struct labelset_match *m, size_t *bytes);

/* Take a reference on each present value of ids (ls->n of them): a series now uses them. */
void labelset_ref(struct labelset *ls, const uint32_t *ids);

/* Drop the references labelset_ref() took (intern_unref). */
void labelset_unref(struct labelset *ls, const uint32_t *ids, size_t *bytes);

/* Free every key's values; ls is zeroed. */
void labelset_release(struct labelset *ls, size_t *bytes);

#endif
