/*
 * slab: small blocks in pages of one size class each, for a store whose blocks are freed
 * in masses (expiry) and whose owner can move a block to another place (compaction).
 *
 * Why not malloc: after 90% of a million series expired, glibc's heap kept all but 2% of
 * its pages resident, since nearly every page still held a survivor, and nothing could
 * move one; a 150-byte block also cost 8 bytes of header and 8 of rounding. Here a block
 * costs its size rounded up to SLAB_GRAIN, a page that empties goes back to the system
 * (madvise, in runs: below), and slab_compact() moves the blocks of the emptiest pages
 * into the fullest, through the owner's callback, until each size class holds at most two
 * pages of free room.
 *
 * Pages are SLAB_PAGE bytes, aligned to their size, carved from regions of
 * SLAB_REGION bytes mapped from the system; a block's page is its address rounded down.
 * A region holds the pages of one size class, so that the pages a sweep or a compaction
 * empties one after the other lie side by side.
 *
 * Giving pages back in runs: each madvise(MADV_DONTNEED) flushes the TLB of every CPU the
 * process ran on (an interprocessor interrupt, 0.3 ms on a paravirtualized guest), and a
 * sweep that empties a page at a time paid one for each 64 KiB. So an emptied page is held
 * (still resident, and a new page of its class may take it) until SLAB_HOLD pages are
 * held or the owner calls slab_flush_step(), which gives each run of them back in one
 * call; a region left with no page in use is unmapped whole at once.
 * A page hands out blocks it never used last (a bump), so a page's untouched tail costs
 * no resident memory. Blocks over SLAB_MAX bytes come from malloc (mem.h) and are never
 * moved. Every block is 8-byte aligned, and block 0 of a page starts on a 64-byte cache
 * line, so that a block whose size is a multiple of 64 spans no more lines than it must.
 *
 * A domain module: no loop, no clock. Memory is counted as counted.h counts it, what was
 * asked for: the calls take the byte counter they adjust. In an ASan build, free blocks
 * and untouched memory are poisoned, so a use after free or an overrun is still reported.
 * Loop thread only.
 */
#ifndef USTATSD_SLAB_H
#define USTATSD_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SLAB_PAGE       ((size_t)64 << 10)
#define SLAB_REGION     ((size_t)2 << 20) /* 32 pages */
#define SLAB_GRAIN      8
#define SLAB_MAX        1024 /* bigger blocks: malloc */
#define SLAB_CLASSES    (SLAB_MAX / SLAB_GRAIN)
#define SLAB_SORT_MAX   512 /* pages with room put in order at once (slab_compact) */
#define SLAB_HOLD       64  /* emptied pages held for a run of them (4 MiB) */
#define SLAB_FLUSH_RUNS 4   /* runs a release past SLAB_HOLD gives back (a madvise each) */

struct slab__page;
struct slab__region;

struct slab_class {
    struct slab__page *room; /* pages with a free block; the first is allocated from */
    struct slab__page *room_tail;
    size_t sorted;           /* pages at room's tail in order, the emptiest last (slab_compact) */
    struct slab__page *idle; /* an empty page kept for the next one (no madvise churn) */
    struct slab__region *spare; /* the class's regions with a page to hand out */
    size_t pages;               /* pages holding a block */
    size_t used;                /* blocks in use */
};

/* Zeroed (= {0}) is an empty slab that has mapped nothing. */
struct slab {
    struct slab_class cls[SLAB_CLASSES];
    struct slab__region *all;     /* every region */
    struct slab__region *holding; /* the regions with a page held (slab_flush_step) */
    size_t held;                  /* pages emptied, not given back yet: at most SLAB_HOLD */
    struct slab__region *ripe;    /* full regions not yet handed out by slab_ripe() */
    size_t regions;               /* mapped */
    size_t pages;                 /* in use or idle: resident at most this many pages */
    size_t compact_cls;           /* the class a compaction goes on with */
    struct slab__page *draining;  /* the page whose blocks a compaction moves out */
};

/*
 * The owner's move: the block at from (n bytes as allocated, rounded up to SLAB_GRAIN)
 * has been copied to to; every pointer to from must now point to to. from is freed after
 * the call.
 */
typedef void (*slab_move_cb)(void *arg, void *from, void *to);

/* A block of n bytes (n > 0), not zeroed; adds n to *bytes. Out of memory aborts. */
void *slab_alloc(struct slab *s, size_t *bytes, size_t n) __attribute__((malloc));

/* Free p, a block of n bytes from slab_alloc(s, .., n); subtracts n. NULL: nothing. */
void slab_free(struct slab *s, size_t *bytes, void *p, size_t n);

/*
 * Move blocks out of the emptiest pages of a size class that has two pages of free room
 * or more, at most budget blocks a call, calling move for each. A page emptied goes back.
 * Returns 1 while some class may still need it (call again), 0 when none does. The
 * blocks must all be movable by move (one owner a slab).
 */
int slab_compact(struct slab *s, size_t budget, slab_move_cb move, void *arg);

/*
 * Give back up to runs runs of the pages held (see above), one madvise a run, the
 * region held in last first. Returns 1 while pages are still held. The
 * owner calls it once its frees are done for now (a sweep's end), a few runs a step: a
 * madvise takes 0.1 to 0.4 ms on a paravirtualized guest, and a sweep of 100,000 series
 * that gave back every page held at its end had a step of 3.5 ms (bench_expiry).
 * A release past SLAB_HOLD pages gives back SLAB_FLUSH_RUNS runs.
 */
int slab_flush_step(struct slab *s, size_t runs);

/* Every page held, at once (tests, tools). */
void slab_flush(struct slab *s);

/* Bytes of the pages the slab holds (in use, or one idle page a class); not those held. */
static inline size_t slab_footprint(const struct slab *s)
{
    return s->pages * SLAB_PAGE;
}

/*
 * Huge pages. Regions are aligned to their 2 MiB, and a region whose pages are all in use
 * is marked MADV_HUGEPAGE: where transparent huge pages are in "madvise" or "always" mode,
 * the kernel's khugepaged may back it with one huge page, one TLB entry instead of 512 for
 * the series a lookup jumps between. Until then, and again once it gives a page back, a
 * region is marked MADV_NOHUGEPAGE: a huge page is resident whole, and a region half used
 * would cost up to 2 MiB (20 bytes a series at 100,000).
 *
 * khugepaged takes its time (16 MiB every 10 s by default). An owner with a thread to
 * spare collapses full regions itself: slab_ripe() hands out each full region once (loop
 * thread), and slab_collapse() asks the kernel to back it with a huge page now (any
 * thread; the kernel copies the 2 MiB, 0.7 to 4 ms, so not on the loop). A region that
 * gave a page back before its collapse ran is left as it is (the kernel refuses it).
 */

/* A full region not handed out before: 1 and its range, or 0 when none is waiting. */
int slab_ripe(struct slab *s, void **base, size_t *len);

/*
 * Ask the kernel to back the range (base aligned to 2 MiB: a region, or a table's whole
 * pages) with huge pages now (MADV_COLLAPSE, Linux 6.1), one 2 MiB page at a time. Any
 * thread, and the slab need not exist any more: the call never changes what the memory
 * holds. Returns 0, or the first errno (EINVAL: not supported, or the range gave a page
 * back); every page of the range is tried.
 */
int slab_collapse(void *base, size_t len);

/*
 * Fault in one huge page of a scratch mapping and unmap it, just before a collapse: the
 * kernel clears the page where it may be preempted, never holding the address space for
 * writing, and the page it frees is the one the collapse's allocation finds first (it
 * waits in the free pages of the CPU the warming ran on: on a daemon held to one CPU, the
 * collapse's too, where it was measured). Without it, the collapse's copy is the first
 * touch of that memory, which under a hypervisor that takes back freed memory cost 3 to
 * 7 ms here, all of it holding the address space for writing and not preemptible
 * (docs/cardinality.md, "Collapses into memory the machine took back"). Elsewhere it
 * costs a clear of 2 MiB, 0.1 ms. Any thread.
 */
void slab_warm_huge_page(void);

/*
 * Unmap every page, and leave the slab zeroed: its blocks are gone without slab_free(),
 * the counter left as it is. Blocks over SLAB_MAX (malloc's) must be freed before.
 */
void slab_release(struct slab *s);

#endif
