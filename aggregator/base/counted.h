/*
 * counted: allocation that keeps a running count of the bytes it holds, for structures
 * that report their memory exactly (registry_memory(): the series store and the tables,
 * interned values and front cache it is built from). Each call takes the counter it
 * adjusts, so several modules can charge one owner's total.
 *
 * The count is what was requested from malloc, without the allocator's overhead. Every
 * free must name the size that was allocated: the counter cannot check it. Running out of
 * memory aborts (mem.h).
 */
#ifndef USTATSD_COUNTED_H
#define USTATSD_COUNTED_H

#include <stddef.h>

/* mem_alloc(n); adds n to *bytes. */
void *counted_alloc(size_t *bytes, size_t n) __attribute__((malloc));
/* mem_calloc(n, size); adds n * size to *bytes. */
void *counted_calloc(size_t *bytes, size_t n, size_t size) __attribute__((malloc));
/*
 * Zeroed n * size bytes aligned to a 64-byte cache line. Adds n * size + 64 to *bytes;
 * *base is the allocation to free, with counted_free(bytes, *base, n * size + 64).
 */
void *counted_calloc_lines(size_t *bytes, size_t n, size_t size, void **base);
/* mem_realloc(p, n) of a block of old bytes; moves *bytes by n - old. */
void *counted_realloc(size_t *bytes, void *p, size_t old, size_t n);
/* free(p) of a block of n bytes and subtract n from *bytes; nothing when p is NULL. */
void counted_free(size_t *bytes, void *p, size_t n);

#define COUNTED_RELEASE_STEP ((size_t)2 << 20) /* bytes of a dead block given back a step */

/*
 * Big blocks no longer used, given back a step at a time: unmapping tens of megabytes
 * at once holds the caller's loop for milliseconds, while realloc shrinks a block in
 * place and hands its tail back. A block taken while another is still held waits behind
 * it (the first bytes of each name the one after). Zeroed: none.
 */
struct counted_dead {
    void *p; /* the block given back first */
    size_t n;
};

/*
 * Give COUNTED_RELEASE_STEP bytes of d back (its whole first block when a step would leave
 * less than the bytes that name the next), if this thread's allowance
 * (counted_release_allow) still has a step; or all of d when all is set, allowance or not.
 * Returns 1 while some is left.
 */
int counted_release_step(size_t *bytes, struct counted_dead *d, int all);

/*
 * Hand over p (n bytes) to be given back a step at a time; a small one is freed at once.
 * A block d still holds stays, and is given back first.
 */
void counted_dead_take(size_t *bytes, struct counted_dead *d, void *p, size_t n);

/*
 * How many bytes the calling thread's steps may give back until the next call, counted
 * over every dead block it steps; SIZE_MAX (a thread's start): a step each call. An event
 * loop sets it at each turn, so that a turn that steps dead tables thousands of times
 * (one for each insert of a drain) gives back that much, not all of them at once; work
 * bounded by its own clock (a slice of the sweep) may lift it meanwhile. Returns what was
 * left of the one before.
 */
size_t counted_release_allow(size_t n);

#endif
