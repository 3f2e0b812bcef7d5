/*
 * benchhuge: the store's memory put in huge pages in process, as a running daemon has it
 * within seconds of making it (daemon/hugepages.h: its state thread takes each range
 * registry_ripe() hands out and has the kernel collapse it). A benchmark of the store in
 * process that skipped it would measure series in 4 KiB pages, a state a host sees in its
 * daemon's first minute only: at 10,000,000 series a text render cost 265 ns a series
 * that way against 85 collapsed, on a machine whose page walks are dear. Honours the
 * kernel's mode and size as the daemon does. For the benchmarks only.
 */
#ifndef USTATSD_BENCHHUGE_H
#define USTATSD_BENCHHUGE_H

#include <stdio.h>

#include "base/slab.h"
#include "daemon/hugepages.h"
#include "store/registry.h"

/* Collapse every range reg hands out, unless cold; says what it did on stdout. */
static inline void benchhuge_collapse(struct registry *reg, int cold)
{
    size_t done = 0, refused = 0, len;
    void *base;

    if (cold) {
        printf("  --cold: the series' memory left in the pages it was made in\n");
        return;
    }
    if (!hugepages_allowed(HUGEPAGES_MODE_FILE) || !hugepages_size_fits(HUGEPAGES_SIZE_FILE)) {
        printf("  no huge pages here (the kernel's mode or size): none collapsed\n");
        return;
    }
    while (registry_ripe(reg, &base, &len)) {
        if (slab_collapse(base, len) != 0)
            refused++;
        else
            done += len;
    }
    printf("  %.0f MiB of the series' memory put in huge pages (%zu ranges refused)\n",
           (double)done / (1024.0 * 1024.0), refused);
}

#endif
