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
 * %-escape, -EILSEQ for a control byte (0x00-0x1F, 0x7F), raw or %-encoded, which would
 * shorten or garble the value, or -ENOSPC when out is too small.
 */
int query_decode(const char *s, size_t n, char *out, size_t size);

/* The same, with '+' kept as '+' (RFC 3986 percent-decoding, as Go's url.PathUnescape),
 * and control bytes passed through: the caller judges the value. */
int query_unescape(const char *s, size_t n, char *out, size_t size);

/* Whether s[0..n) holds a control byte (0x00-0x1F, 0x7F), raw or %-encoded ("%00", "%7f"). */
int query_has_ctl(const char *s, size_t n);

/*
 * Iterate over the parameters of a raw query (without '?'). Start with *pos = query;
 * each call decodes the next non-empty parameter into name and value (a parameter
 * without '=' has the value "") and returns 1; returns 0 at the end, or a negative code
 * from query_decode() for the parameter at hand.
 */
int query_next(const char **pos, char *name, size_t nsize, char *value, size_t vsize);

/*
 * The first parameter called name, with query_next(): its decoded value goes to value
 * (vsize bytes, NUL-terminated). Returns the value's length, -ENOENT when absent, or
 * the negative code of a malformed or oversized parameter met first (a name is
 * oversized beyond QUERY_NAME_MAX - 1 bytes): the walk stops there, as a handler's does.
 */
#define QUERY_NAME_MAX 128
int query_find(const char *query, const char *name, char *value, size_t vsize);

#endif
