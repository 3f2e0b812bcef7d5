/*
 * rwpush: the daemon's remote write targets (config "remote_write"), as a whole. Started
 * after the listeners and the SQL pool, told of every reload, closed at a stop.
 *
 * A reload keeps a target whose name and URL it still has (its queue, its counts, its
 * clock), with the new settings; it closes those that are gone, dropping their queues,
 * and starts the new ones. The newest interval each target has sent is in the state
 * file's snapshots (records.h 'R'), so that a restart never sends a timestamp twice. What
 * a stop or a crash loses: the bodies still in the queue (at most queue_config.max_bytes);
 * a crash also the marks of what was sent after the last snapshot.
 * I/O module, loop thread only.
 */
#ifndef USTATSD_RWPUSH_H
#define USTATSD_RWPUSH_H

#include <stddef.h>

#include "base/log.h"
#include "config/config.h"
#include "handler/site.h"
#include "remote/rwhttp.h"
#include "remote/rwtarget.h"
#include "state/records.h"

struct rwpush {
    struct site *site;
    struct log *log;
    struct rwhttp *http; /* made with the first target */
    struct rwtarget *t[RECORDS_MAX_MARKS];
    size_t n;
    size_t closing; /* targets and the HTTP client still closing */
    void (*closed)(void *arg);
    void *closed_arg;
    /* The targets' newest intervals sent, for the snapshots (s->state.marks points here). */
    struct records_marks marks;
};

/*
 * Set up and start the targets of s->cfg. restored: the marks of the state file (NULL:
 * none). Returns 0, or a negative errcode with a message in err.
 */
int rwpush_start(struct rwpush *p, struct site *s, struct log *log,
                 const struct records_marks *restored, char *err, size_t errlen);

/* The running config is now c: targets kept, closed and started as above. */
void rwpush_apply(struct rwpush *p, const struct config *c);

/* Close everything; closed(arg) when the last handle has closed (at once if none). */
void rwpush_close(struct rwpush *p, void (*closed)(void *arg), void *arg);

/* The marks, refreshed from the targets (before a snapshot reads them). */
void rwpush_marks(struct rwpush *p);

#endif
