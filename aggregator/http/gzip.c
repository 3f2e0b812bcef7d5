#include "http/gzip.h"
#include "base/mem.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

void gzip_begin(struct gzip *g)
{
    assert(!g->active);
    memset(&g->z, 0, sizeof(g->z));
    /* windowBits 15 + 16 writes a gzip wrapper; level 1: scrapes are frequent and the
     * text compresses well even at the fastest level. */
    if (deflateInit2(&g->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        mem_oom(sizeof(g->z));
    g->active = 1;
}

void gzip_end(struct gzip *g)
{
    if (g->active)
        deflateEnd(&g->z);
    g->active = 0;
}

void gzip_feed(struct gzip *g, const char *in, size_t n, int finish, struct buf *out)
{
    int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    int rc;

    assert(g->active && n <= UINT32_MAX);
    g->z.next_in = (Bytef *)in; /* zlib does not write through next_in */
    g->z.avail_in = (uInt)n;
    for (;;) {
        size_t room;

        buf_grow(out, 16384);
        room = out->cap - out->len - 1;
        g->z.next_out = (Bytef *)out->ptr + out->len;
        g->z.avail_out = (uInt)room;
        rc = deflate(&g->z, flush);
        assert(rc != Z_STREAM_ERROR);
        out->len += room - g->z.avail_out;
        if (finish ? rc == Z_STREAM_END : (g->z.avail_in == 0 && g->z.avail_out > 0))
            break;
    }
}
