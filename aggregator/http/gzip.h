/*
 * gzip: a gzip member written piece by piece into a struct buf, on zlib's deflate.
 *
 * A domain module. One struct gzip compresses one body at a time:
 *     gzip_begin(&g);
 *     gzip_feed(&g, piece, n, 0, &out);   ... as pieces come
 *     gzip_feed(&g, last, n, 1, &out);    ends the member
 *     gzip_end(&g);                       also to abandon a body half-way
 * Out of memory in zlib aborts (mem_oom). A zeroed struct gzip is not active.
 */
#ifndef USTATSD_GZIP_H
#define USTATSD_GZIP_H

#include <stddef.h>

#include <zlib.h>

#include "base/buf.h"

struct gzip {
    /* Private. */
    z_stream z;
    int active;
};

/* Start a member at level 1. g must not be active. */
void gzip_begin(struct gzip *g);

/*
 * Compress n bytes of in (borrowed for the call) and append what deflate gives to out.
 * finish ends the member: out then holds all of it. g must be active.
 */
void gzip_feed(struct gzip *g, const char *in, size_t n, int finish, struct buf *out);

/* Release zlib's state. Harmless when not active; g may begin again. */
void gzip_end(struct gzip *g);

#endif
