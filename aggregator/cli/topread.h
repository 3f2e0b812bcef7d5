/*
 * topread: one reading of a running daemon for `ustatsd top`, and top's options.
 *
 * An I/O module: a reading is one GET of the JSON debug view with clifetch (the token,
 * basic auth or TLS that /debug needs), dated by the monotonic clock, which topmodel
 * turns into what top shows.
 */
#ifndef USTATSD_TOPREAD_H
#define USTATSD_TOPREAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "cli/clifetch.h"
#include "cli/topmodel.h"

/* The sections top reads, one request; the label values seen are left out (their counts
 * are all top shows). */
#define TOP_DEBUG_PATH "/debug?section=daemon,ingest,families,jobs,rejects&seen=0"

struct top_opts {
    struct clifetch_opts fetch;
    double interval; /* seconds between readings */
    int once, json;
    enum top_sort sort;
};

/*
 * One reading: GET TOP_DEBUG_PATH and parse it, dated by the monotonic clock. raw (when
 * not NULL) gets the body as it came. Returns 0, or an error code with a message in err
 * (unreachable, an HTTP status other than 200, not the debug view).
 */
int top_read(const struct clifetch_opts *o, struct top_reading *r, struct buf *raw, char *err,
             size_t errlen);

/* CLOCK_MONOTONIC in ms. */
uint64_t top_now_ms(void);

#endif
