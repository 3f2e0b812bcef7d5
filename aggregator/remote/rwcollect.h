/*
 * rwcollect: one interval of a remote write target, collected: what its endpoints serve,
 * as a scrape of each would (metrics.h: the head, the jobs, the registry's series, the SQL
 * gauges once their collectors have answered), written as the records of one WriteRequest
 * (EXPO_REMOTE_WRITE) at the interval's timestamp, with the target's external labels.
 *
 * An I/O module. The registry is rendered in the scrape's pieces (SCRAPE_STEP series or
 * SCRAPE_PIECE_BYTES), one per turn of the loop (a uv_idle_t), so a collection of 1M
 * series never holds the loop longer than a scrape's piece does. It holds the config
 * generation it started under, as a scrape does. Loop thread only.
 */
#ifndef USTATSD_RWCOLLECT_H
#define USTATSD_RWCOLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/expo.h"
#include "handler/site.h"

struct rwcollect;

#define RWCOLLECT_MAX_EXT 32

/*
 * The collection is over: body holds the WriteRequest (the callee takes its memory, or
 * releases it), with samples samples and histograms native histograms.
 */
typedef void (*rwcollect_done_cb)(void *arg, struct buf *body, uint64_t samples,
                                  uint64_t histograms);

struct rwcollect_req {
    struct site *site;
    const char *const *endpoints; /* names: "metrics" or an endpoint's; copied */
    size_t nendpoints;
    int64_t timestamp_ms;
    const struct expo_label *ext; /* external labels, sorted; copied */
    size_t next;                  /* <= RWCOLLECT_MAX_EXT */
    int native;                   /* native histograms as such */
    rwcollect_done_cb done;
    void *arg;
};

/* Start; done is called later, on the loop, never from here. NULL: an endpoint is unknown. */
struct rwcollect *rwcollect_start(const struct rwcollect_req *req);

/* Stop a collection; done is not called. Its memory goes when its handle has closed. */
void rwcollect_cancel(struct rwcollect *c);

#endif
