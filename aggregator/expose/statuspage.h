/*
 * statuspage: the HTML page every listener serves at "/", as Prometheus exporters serve
 * a landing page.
 *
 * A domain module. The page is rendered whole at request time, with its data in it, so
 * that it reads without JavaScript: the landing part (the build, every listener with its
 * paths) for anyone, and, where the request may see /debug, the live part from the same
 * reading the debug view renders (selfmetrics.h), the registry, the jobs and the rejects:
 * series against each cap as bars (global, per family, per label), ingest and reject
 * rates, the recent rejects with their senders, the jobs' breakers, and the learn
 * proposal (each family proposed, the labels left out and why, and the fragment), which a
 * small inline script refreshes from /debug/learn.
 * Every value from traffic passes through htmlstr. No external asset: the CSS and the
 * script are inline.
 *
 * Bounded: at most STATUSPAGE_MAX_FAMILIES families (the most series first), their
 * labels, STATUSPAGE_MAX_REJECTS rejects of at most REJECTS_LINE_MAX bytes each and
 * STATUSPAGE_MAX_JOBS jobs, each list ending with a link to /debug for the rest.
 */
#ifndef USTATSD_STATUSPAGE_H
#define USTATSD_STATUSPAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "ingest/rejects.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "expose/selfmetrics.h"

#define STATUSPAGE_MAX_FAMILIES 50
#define STATUSPAGE_MAX_REJECTS  20
#define STATUSPAGE_MAX_JOBS     50
#define STATUSPAGE_REFRESH_S    5    /* the script's refresh; the no-script one is twice that */
#define STATUSPAGE_RATE_MIN_MS  1000 /* a rate's shortest window */
#define STATUSPAGE_WARN_PERCENT 80   /* a bar this full is drawn as a warning */

/*
 * The ingest rates, per second, over the window between two readings at least
 * STATUSPAGE_RATE_MIN_MS apart (the first, since start-up). Kept by the page's owner
 * between requests; zero it to start.
 */
struct statuspage_rate {
    int have;           /* a reading was taken */
    uint64_t ms;        /* when: monotonic ms */
    uint64_t accepted;  /* lines accepted then */
    uint64_t rejected;  /* lines rejected then */
    uint64_t datagrams; /* datagrams received then */
    double accepted_per_s, rejected_per_s, datagrams_per_s;
    double window_s; /* what the rates were measured over */
};

/*
 * Take a reading at now_ms (monotonic) of self's counters into r: the rates over the time
 * since the previous one, when that is at least STATUSPAGE_RATE_MIN_MS ago (else the rates
 * stay those of the last window); the first, over the time since self->start_ms.
 */
void statuspage_rate_update(struct statuspage_rate *r, const struct selfmetrics *self);

/* What one page shows. Every pointer is borrowed for the call. */
struct statuspage_view {
    const struct selfmetrics *self; /* the reading: version, listeners, counters, times */
    const char *here;               /* the address of the listener serving the page */
    /*
     * 1: show the live part. The owner decides: /debug is served on this listener and the
     * request passed the credentials /debug takes. reg, jobs, rejects and rate are read
     * only then (may be NULL otherwise).
     */
    int live;
    /* Not live, /debug is here, and the request came without credentials: say how. */
    int sign_in;
    struct registry *reg;
    struct jobs *jobs;
    const struct rejects *rejects;
    const struct statuspage_rate *rate;
    /* Live: learn mode's proposals (learnprop_all()), or NULL when learn mode is off. */
    const json_t *learn;
};

/* Append the page, a complete HTML document, to out. */
void statuspage_render(struct buf *out, const struct statuspage_view *v);

/*
 * A bar of used against cap: a box filled to the share (cut to 100%), with the figures
 * and the percentage; "no cap" and no bar when cap is 0. Marked as a warning from
 * STATUSPAGE_WARN_PERCENT, and full at 100%.
 */
void statuspage_bar(struct buf *out, uint64_t used, uint64_t cap);

#endif
