/*
 * benchtouch: the machine's own figure for work that touches memory across a store. A
 * piece is writes to random cache lines of a mapping as big as the store (in huge pages
 * where the kernel gives them, as the store's full regions are), with no ustatsd code.
 * Where a machine stalls a thread that touches much memory (a hypervisor's own faults,
 * which the thread's CPU clock counts and no page-fault counter of the guest sees), a
 * benchmark sets its longest pieces beside this one's, run in turns with its own so that
 * both meet the same machine (bench_steps: the reload's drain in process; bench_reload: the
 * same in the daemon; bench_expiry and bench_sweep: the sweep, in process and in the daemon).
 *
 * A header of static inline functions for the benchmarks only.
 */
#ifndef USTATSD_BENCHTOUCH_H
#define USTATSD_BENCHTOUCH_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "benchutil.h"

#define BENCHTOUCH_HUGE   ((size_t)2 << 20)
#define BENCHTOUCH_SERIES 8 /* random lines a freed series touches, about */

struct benchtouch {
    uint64_t *mem;
    size_t words, len;
    uint64_t x; /* xorshift64 */
};

/* A mapping of bytes (rounded up to 2 MiB), written whole. 0, or -1 (said on stderr). */
static inline int benchtouch_setup(struct benchtouch *w, size_t bytes)
{
    w->len = (bytes + BENCHTOUCH_HUGE - 1) / BENCHTOUCH_HUGE * BENCHTOUCH_HUGE;
    if (w->len == 0)
        w->len = BENCHTOUCH_HUGE;
    w->mem = mmap(NULL, w->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (w->mem == MAP_FAILED) {
        perror("benchtouch: mmap");
        return -1;
    }
    madvise(w->mem, w->len, MADV_HUGEPAGE);
    memset(w->mem, 1, w->len); /* resident before the first piece */
    w->words = w->len / sizeof *w->mem;
    w->x = 88172645463325252ull;
    return 0;
}

/* One piece: lines writes, each to a random word of the mapping. */
static inline void benchtouch_piece(struct benchtouch *w, size_t lines)
{
    for (size_t i = 0; i < lines; i++) {
        w->x ^= w->x << 13;
        w->x ^= w->x >> 7;
        w->x ^= w->x << 17;
        w->mem[(w->x >> 8) % w->words]++;
    }
}

/* Slices of pieces (benchtouch_slices): the longest, in the thread's CPU time, and counts. */
struct benchtouch_figures {
    double worst_ms;
    size_t slices, over;
};

/*
 * pieces pieces of lines writes each, in slices that end once slice_ns of this thread's
 * CPU time has passed, as a daemon's slices of a sweep or drain; the figures added to f
 * (slices over over_ms counted).
 */
static inline void benchtouch_slices(struct benchtouch *w, size_t pieces, size_t lines,
                                     uint64_t slice_ns, double over_ms,
                                     struct benchtouch_figures *f)
{
    while (pieces > 0) {
        uint64_t t0 = benchutil_thread_ns();
        double ms;

        do
            benchtouch_piece(w, lines);
        while (--pieces > 0 && benchutil_thread_ns() - t0 < slice_ns);
        ms = (double)(benchutil_thread_ns() - t0) / 1e6;
        f->worst_ms = ms > f->worst_ms ? ms : f->worst_ms;
        f->over += ms > over_ms;
        f->slices++;
    }
}

static inline void benchtouch_release(struct benchtouch *w)
{
    munmap(w->mem, w->len);
    w->mem = NULL;
}

#endif
