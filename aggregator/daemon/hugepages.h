/*
 * hugepages: *I/O*. The series' memory in huge pages without holding the loop. The store
 * marks each full 2 MiB region of series blocks for huge pages (slab.h, "Huge pages"),
 * which the kernel's khugepaged gets to in its own time; this module collapses them at
 * once instead, one at a time on the state thread (bgwork, below the loop's priority),
 * since the kernel's copy of a region takes 0.7 to 4 ms. A lookup that jumps between
 * series then misses the TLB far less: 15% of a cached line's CPU at 1,000,000 series
 * (docs/cardinality.md).
 *
 * Where the kernel has no MADV_COLLAPSE (before Linux 6.1) or transparent huge pages are
 * off ("never"), each collapse is refused and counted, and nothing else changes.
 */
#ifndef USTATSD_DAEMON_HUGEPAGES_H
#define USTATSD_DAEMON_HUGEPAGES_H

#include <stddef.h>
#include <stdint.h>

#include "base/bgwork.h"
#include "store/registry.h"

struct hugepages {
    struct bgwork_req req;
    struct bgwork *bg;
    struct registry *reg;
    void *base; /* the region being collapsed */
    size_t len;
    int busy; /* req queued and not yet done */
    int rc;   /* the work's: 0 or an errno */
    uint64_t collapsed, refused;
};

/* Set up, on the loop thread; nothing runs until hugepages_poke(). */
void hugepages_init(struct hugepages *h, struct bgwork *bg, struct registry *reg);

/* Loop thread: start collapsing the full regions that wait, unless a collapse runs. */
void hugepages_poke(struct hugepages *h);

#endif
