/*
 * bufpool: big buffers kept for the next user, instead of given back to the allocator.
 *
 * A response is written in pieces (http/httpsend.c): each piece's bytes go to the socket
 * in a buffer of their own, freed once written, and the producer renders into a buffer of
 * the connection's. A piece of a scrape is about 128 KiB (one of histograms runs past
 * it), and its buffers grow past it, so glibc maps each of them apart, or takes it from
 * the top of its heap and gives that back (past its trim threshold, 128 KiB until it has
 * freed a block it mapped apart): their pages come from the system with a page fault each,
 * on every piece of every scrape. An OpenMetrics scrape of 10,000 series took 4.0 ms
 * instead of 1.4 (bench_scrape), with a fault for about every two pages of the body. Kept
 * here, a buffer's pages stay the process's and are written again.
 *
 * The pool is bounded: at most BUFPOOL_SLOTS buffers and max_bytes of capacity in all,
 * each at least min_cap (a smaller one costs the allocator nothing to make again). A
 * buffer that does not fit is freed, as it would have been. The biggest goes out first:
 * a piece's buffer then seldom grows (a growth copies it), and its users give it back at
 * the end of each response, so no small response keeps it. Not thread-safe: one owner.
 */
#ifndef USTATSD_BUFPOOL_H
#define USTATSD_BUFPOOL_H

#include <stddef.h>

#include "base/buf.h"

#define BUFPOOL_SLOTS 8

struct bufpool {
    char *ptr[BUFPOOL_SLOTS];
    size_t cap[BUFPOOL_SLOTS];
    size_t n;     /* buffers held */
    size_t bytes; /* their capacity, in all */
    size_t min_cap, max_bytes;
    size_t reused; /* buffers handed out again, since the start */
};

/* An empty pool of buffers of at least min_cap bytes, at most max_bytes in all. */
void bufpool_init(struct bufpool *p, size_t min_cap, size_t max_bytes);

/*
 * Keep ptr, a block of cap bytes from malloc (a struct buf's storage), or free it: too
 * small, or no room left. The pool owns it either way. ptr may be NULL (nothing).
 */
void bufpool_put(struct bufpool *p, char *ptr, size_t cap);

/* bufpool_put() b's storage and leave b empty, as buf_release() does. */
void bufpool_put_buf(struct bufpool *p, struct buf *b);

/*
 * Give b, which holds no storage (b->ptr NULL), the pool's biggest buffer, empty; b stays
 * as it is when the pool is empty or b has storage already.
 */
void bufpool_get_buf(struct bufpool *p, struct buf *b);

/* Free every buffer held; the pool is empty (and usable) after. */
void bufpool_release(struct bufpool *p);

#endif
