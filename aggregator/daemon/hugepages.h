/*
 * hugepages: *I/O*. The series' memory in huge pages. The store marks each full 2 MiB
 * region of series blocks for huge pages (slab.h, "Huge pages"), which the kernel's
 * khugepaged gets to in its own time (16 MiB every 10 s by default); this module collapses
 * them sooner, a range at a time (taken at a tick of the expiry timer) and a 2 MiB page of
 * it at a time, on the state thread (bgwork, below the loop's priority). Before each page
 * a thread at SCHED_IDLE (the daemon's ustatsd-huge, bgwork_idle) has the kernel clear a
 * huge page and give it back (slab_warm_huge_page), taking only a CPU the loop leaves idle
 * and never holding the address space for writing, so that the collapse's copy goes to
 * memory in use: 0.3 to 0.9 ms, where it took 3 to 7 ms as the first touch of memory the
 * hypervisor had taken back. The kernel holds the process's address space while it
 * copies, not preemptible, and the loop's madvise() and munmap() wait for it, as do its
 * reads of that page: none starts while the loop renders or gives memory back
 * (site_holds_collapses). The collapse itself stays at the state thread's nice: at
 * SCHED_IDLE, a copy preempted while it holds the address space (a fully preemptible
 * kernel) would hold the loop for as long as other processes keep the CPU busy. A lookup
 * that jumps between series then misses the TLB less: about 9% of a cached line's CPU in
 * process at 1,000,000 series (docs/cardinality.md).
 *
 * MADV_COLLAPSE ignores the system's transparent huge page mode, so the daemon honours it
 * itself: where /sys/kernel/mm/transparent_hugepage/enabled says "never", or does not
 * exist, nothing is collapsed (hugepages_allowed), nor where the kernel's huge page is not
 * the store's 2 MiB region (hugepages_size_fits). Where the kernel refuses a collapse
 * (before Linux 6.1, no huge page free), the refusal is counted and nothing else changes.
 */
#ifndef USTATSD_DAEMON_HUGEPAGES_H
#define USTATSD_DAEMON_HUGEPAGES_H

#include <stddef.h>
#include <stdint.h>

#include "base/bgwork.h"
#include "expose/selfmetrics.h"
#include "store/registry.h"

#define HUGEPAGES_MODE_FILE "/sys/kernel/mm/transparent_hugepage/enabled"
#define HUGEPAGES_SIZE_FILE "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"

struct hugepages {
    struct bgwork_req req;
    struct bgwork *bg;   /* the collapses; NULL: they are off */
    struct bgwork *warm; /* a huge page warmed before each (slab_warm_huge_page); NULL: none */
    int warmed;          /* the page under way was warmed: its collapse comes next */
    int table;           /* the range is a table's (registry_range_live), not a region's */
    struct registry *reg;
    int (*held)(void *arg); /* 1: the loop would rather none start now; NULL: never */
    void *held_arg;
    char *base; /* the range being collapsed, one 2 MiB page a request */
    size_t len;
    size_t done;                        /* bytes of it collapsed or refused so far */
    size_t chunk;                       /* bytes the request under way asks for */
    int failed;                         /* a page of the range was refused */
    int busy;                           /* req queued and not yet done */
    int rc;                             /* the work's: 0 or an errno */
    struct selfmetrics_hugepages count; /* what the views show (on: collapses allowed) */
};

/*
 * Whether the transparent huge page mode in the file at path (HUGEPAGES_MODE_FILE) lets
 * the daemon collapse: "always" or "madvise" chosen ("[madvise]"), not "[never]" and not
 * a file that is missing or unreadable.
 */
int hugepages_allowed(const char *path);

/*
 * Whether the kernel's huge page, as the file at path (HUGEPAGES_SIZE_FILE) gives its
 * bytes, is the store's 2 MiB region (SLAB_REGION): elsewhere (512 MiB with 64 KiB base
 * pages, on some arm64 kernels) no region could ever be collapsed, and none is tried. A
 * missing file (an older kernel, whose collapses are refused anyway) is taken as 2 MiB; an
 * unreadable or other one, not.
 */
int hugepages_size_fits(const char *path);

/*
 * Set up, on the loop thread; bg NULL or allowed 0: nothing is ever collapsed. warm (NULL:
 * none) clears a huge page before each page's collapse. held (NULL: never) says whether
 * the loop would rather no collapse start now: asked before each page a poke or the last
 * page's end would start, and again before the collapse of a page just warmed.
 */
void hugepages_init(struct hugepages *h, struct bgwork *bg, struct bgwork *warm,
                    struct registry *reg, int allowed, int (*held)(void *arg), void *held_arg);

/*
 * Loop thread: go on with the range under way, else take the next one the registry hands
 * out, unless a request is under way or held() says no. A range is collapsed one 2 MiB
 * page a request, each page right after the last while held() says nothing holds it
 * back, so that a scrape or a drain that starts meanwhile waits for one page's copy at
 * most (a table at 10,000,000 series is 300 MB). What is left of a table's range is given
 * up (counted as refused) once the table moved or was freed (registry_range_live). The
 * lifecycle pokes it each expiry tick, and its held() is site_holds_collapses(): no
 * scrape, /debug render or snapshot running and no memory being given back. The kernel's
 * copy beside one made its turns longer (the loop's worst CPU in a turn went from at most
 * 2.5 ms to at most 5 beside a snapshot, its wall time to 5 to 7 ms beside a reload's
 * drain, docs/cardinality.md).
 */
void hugepages_poke(struct hugepages *h);

#endif
