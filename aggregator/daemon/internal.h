/*
 * The daemon folder's private declarations: struct app, which app.c (the lifecycle),
 * reload.c and web.c share. Loop thread only, unless a function says otherwise.
 */
#ifndef USTATSD_DAEMON_INTERNAL_H
#define USTATSD_DAEMON_INTERNAL_H

#include <stdint.h>

#include <uv.h>

#include "base/bgwork.h"
#include "base/log.h"
#include "daemon/app.h"
#include "daemon/expiresched.h"
#include "daemon/hugepages.h"
#include "daemon/loopturn.h"
#include "daemon/reload.h"
#include "daemon/sysd.h"
#include "daemon/security.h"
#include "handler/site.h"
#include "http/basicauth.h"
#include "http/tlspool.h"
#include "ingest/credwant.h"
#include "remote/rwpush.h"

/* SIGTERM, SIGINT, SIGHUP. */
#define APP_NSIGNALS 3

struct reload;

struct app {
    uv_loop_t loop;
    struct site site; /* what the route handlers serve from */
    struct log log;
    app_override_cb override; /* for a reload, on its worker */
    void *override_arg;
    struct basicauth_pool basic_pool; /* bcrypt work and counters, for every web config */
    struct tlspool tls_pool;          /* TLS handshakes of every listener, bounded together */
    struct bgwork state_bg;           /* the snapshots' writes (persist), the collapses */
    struct bgwork remote_bg;          /* remote write's snappy (site.remote_bg) */
    struct bgwork huge_bg;            /* a huge page warmed before each collapse, SCHED_IDLE */
    struct hugepages huge;            /* full regions of series collapsed on state_bg */
    struct security web;              /* in force on every listener */
    struct reload_tokens tokens;      /* in force on the routes */
    struct reload *reload;            /* in flight, or NULL */
    int reload_again;                 /* a SIGHUP came during it, or during a drain */
    struct sysd sysd;                 /* sockets passed by systemd, and its notifications */

    uv_signal_t signals[APP_NSIGNALS];
    size_t nsignals; /* initialised: app_stop() closes these */
    uv_timer_t expire_timer;
    uv_idle_t expire_more;           /* runs while a sweep has more to do: a slice per loop turn */
    struct expiresched expire_sched; /* which turns run the sweep's slices (expiresched.h) */
    size_t expire_peak;              /* most registry memory since the last malloc_trim() */
    uv_work_t trim;                  /* malloc_trim() on a worker thread */
    int trimming;                    /* trim queued and not yet done */
    struct loopturn turn;            /* times each turn of the loop (loopturn.h) */
    int handles;                     /* expire_timer, expire_more and turn initialised */
    struct rejectlog rejectlog;      /* the summary of rejects the log gets once an interval */
    struct credwant creds;           /* whether the Unix socket asks for senders (credwant.h) */
    struct rwpush push;              /* the remote write targets (remote/rwpush.h) */
    int push_started;

    int serving; /* app_start() succeeded: a stop writes the final snapshot */
    int exit_code;
};

/*
 * A reload took effect: the Unix socket asks for senders' credentials for the linger from
 * now (app.c; credwant.h), so that the new config's refusals name their senders.
 */
void app_credentials_poke(struct app *a);

#endif
