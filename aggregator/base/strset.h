/*
 * strset: a set of byte strings that it does not own (open addressing, FNV-1a).
 *
 * A domain module. The set keeps pointers: every string added must outlive the set (or
 * the next strset_release). Lengths are explicit, so strings need no NUL and may hold
 * one. Grown at half load; never shrinks. A zeroed struct is an empty set.
 */
#ifndef USTATSD_STRSET_H
#define USTATSD_STRSET_H

#include <stddef.h>
#include <stdint.h>

struct strset {
    const char **s;
    uint32_t *len;
    size_t cap, n; /* cap is 0 or a power of two */
};

/* 1 if (s, len) is in the set. */
int strset_has(const struct strset *set, const char *s, uint32_t len);

/* Add (s, len) unless present; the set keeps the pointer. Aborts when out of memory. */
void strset_add(struct strset *set, const char *s, uint32_t len);

/* Free the table (not the strings) and leave an empty set. */
void strset_release(struct strset *set);

#endif
