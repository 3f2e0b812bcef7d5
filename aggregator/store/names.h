/*
 * names: the family names a statsd line may use, by hash, to the family's index: each
 * family's name and, for a counter, the same name with "_total" (statsd clients send
 * either). Open addressing with linear probing, at most a quarter full, rebuilt whole
 * (names_reset) when the set of families changes: a reload, never a line.
 *
 * A domain module. Names are borrowed: each must stay valid and unchanged until the next
 * names_reset() or names_release(). Memory is counted (counted.h).
 */
#ifndef USTATSD_NAMES_H
#define USTATSD_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct names_entry {
    uint64_t hash;
    const char *name; /* the family's name, without "_total" */
    uint32_t len;     /* strlen(name) */
    uint32_t fam1;    /* family index + 1; 0: empty */
    uint32_t total;   /* this entry matches name + "_total" */
};

/* Zeroed is an empty index; names_find() finds nothing until a names_reset(). */
struct names {
    struct names_entry *slots;
    size_t mask;
};

/* Empty the index and size it for nfamilies families. */
void names_reset(struct names *n, size_t nfamilies, size_t *bytes);

/*
 * Add family fam under name (len bytes, at most STATSD_MAX_NAME) and, when total is set,
 * under name + "_total" too. At most nfamilies families since the last names_reset().
 */
void names_add(struct names *n, const char *name, size_t len, uint32_t fam, int total);

/* The index of the family that name[0..len) names, or ERRCODE_UNKNOWN. */
long names_find(const struct names *n, const char *name, size_t len);

/* Free the index and leave it zeroed. */
void names_release(struct names *n, size_t *bytes);

#endif
