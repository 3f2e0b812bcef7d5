/*
 * query: URL query strings ("section=series&family=x%2Ey"), for the HTTP server and the
 * debug view.
 *
 * A domain module: plain string work, shared so that every query parameter in the
 * daemon is decoded by the same code.
 */
#ifndef USTATSD_QUERY_H
#define USTATSD_QUERY_H

#include <stddef.h>

/*
 * %-decode s[0..n) into out (size bytes, NUL-terminated); '+' is a space. out may be NULL
 * to only validate and measure. Returns the decoded length, -EINVAL for a malformed
 * %-escape, or -ENOSPC when out is too small.
 */
int query_decode(const char *s, size_t n, char *out, size_t size);

/*
 * Iterate over the parameters of a raw query (without '?'). Start with *pos = query;
 * each call decodes the next non-empty parameter into name and value (a parameter
 * without '=' has the value "") and returns 1; returns 0 at the end, or a negative code
 * from query_decode() for the parameter at hand.
 */
int query_next(const char **pos, char *name, size_t nsize, char *value, size_t vsize);

#endif
