/*
 * nearname: the declared names nearest to a name that the allowlist does not know, for
 * `ustatsd explain`'s "did you mean". A domain module.
 *
 * Names are compared as the daemon compares them, normalised ('.' and '-' read as '_'),
 * and also without case and without a trailing "_total": the distance is Levenshtein's
 * (insertions, deletions, substitutions) on the lower-cased forms. A candidate is near
 * when its distance is at most a third of the longer name (at least 2), or when one name
 * holds the other whole (a prefix or a unit left out: "latency" and
 * "http_latency_seconds").
 */
#ifndef USTATSD_NEARNAME_H
#define USTATSD_NEARNAME_H

#include <stddef.h>

#include "config/config.h"

#define NEARNAME_MAX 3 /* names returned at most */

struct nearname {
    const char *name; /* borrowed from the config */
    const char *what; /* "family", "job" */
    size_t distance;
};

/*
 * The names of c nearest to name (len bytes, as sent), best first, at most NEARNAME_MAX:
 * families by their stored names (a family whose alias is near counts, by its name) and
 * jobs. Returns how many.
 */
size_t nearname_find(const struct config *c, const char *name, size_t len,
                     struct nearname out[NEARNAME_MAX]);

/* Levenshtein's distance between a and b, lower-cased, '.' and '-' read as '_'. */
size_t nearname_distance(const char *a, size_t alen, const char *b, size_t blen);

#endif
