/*
 * site: what the daemon serves, as its route handlers read it.
 *
 * An I/O module. One struct site per daemon, embedded in the lifecycle's struct app
 * (daemon/app.c), which fills it at start-up and on every reload; the handlers
 * (metrics.h, inspect.h, snapshot.h, health.h) take it, or one of its endpoints, as
 * their route's arg and read or count into it, on the loop thread. It holds the running
 * config and its generation, the stores, the sockets, the listeners and endpoints, and
 * the daemon's bookkeeping that the views show; the lifecycle's own handles (signals,
 * timers, the reload in flight) stay in struct app.
 *
 * It is also where the reading is taken: site_read() fills the daemon's self-metrics
 * (selfmetrics.h) from it, for /metrics and /debug alike.
 */
#ifndef USTATSD_SITE_H
#define USTATSD_SITE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/bgwork.h"
#include "base/log.h"
#include "config/config.h"
#include "expose/rwstats.h"
#include "expose/selfmetrics.h"
#include "expose/statuspage.h"
#include "expose/svcproc.h"
#include "expose/timings.h"
#include "http/basicauth.h"
#include "http/httpd.h"
#include "http/tlsmem.h"
#include "ingest/ingest.h"
#include "ingest/intake.h"
#include "ingest/learnsum.h"
#include "ingest/rejects.h"
#include "ingest/senders.h"
#include "pg/sqlpool.h"
#include "state/persist.h"
#include "store/jobs.h"
#include "store/registry.h"

/*
 * Listeners: the default endpoint's, one per configured endpoint address, the debug
 * view's. An endpoint answers 503 beyond SITE_MAX_SCRAPES scrapes in flight, as promhttp
 * does beyond its MaxRequestsInFlight: each holds a cursor and a response buffer.
 */
#define SITE_MAX_LISTENERS (CONFIG_MAX_ENDPOINTS + 2)
#define SITE_MAX_ENDPOINTS (CONFIG_MAX_ENDPOINTS + 1)
#define SITE_MAX_SCRAPES   16
/* The status codes an endpoint counts its scrapes by: 200, 500 and 503 (metrics.c). */
#define SITE_NCODES 3

struct site;

/* A sender's executable, read once per pid for /debug/learn (learnview.c). */
#define SITE_LEARN_EXES 64
struct site_exe {
    pid_t pid; /* 0: unused */
    int ok;    /* path holds it; 0: it could not be read */
    char path[256];
};

/* One HTTP listener: an address that one or more endpoints share. */
struct site_listener {
    struct httpd_server srv;
    struct site *site;  /* the status page's (home.h) */
    const char *listen; /* as configured; borrowed from the start-up config */
    const char *label;  /* the listener label of ustatsd_http_limit_violations_total */
    char addr[160];     /* as bound */
};

/* One scrape endpoint: the default one (index -1) or cfg->endpoints[index]. */
struct site_endpoint {
    struct site *site;
    long index;
    const char *name; /* the handler label; borrowed from the start-up config */
    const char *path;
    struct site_listener *l;
    uint64_t scrapes[SITE_NCODES]; /* finished, by code */
    unsigned in_flight;
    struct svcproc svc; /* the service's processes, when the endpoint stands for one */
};

/*
 * A configuration loaded by a reload. The one the daemon started with belongs to main and
 * lives for the whole run (the PostgreSQL collectors and the listeners keep pointing into
 * it: what they read cannot change without a restart). A reloaded one is freed once it
 * is neither the running config nor borrowed by a render still in flight.
 */
struct site_config {
    struct config c;
    unsigned refs;
};

struct site {
    uv_loop_t *loop;
    struct bgwork *remote_bg; /* the background thread of remote write's snappy */
    const struct config *cfg; /* the running config: gen's, or the start-up one */
    struct site_config *gen;  /* NULL while the start-up config runs */
    const char *config_path;
    struct log *log;
    const struct basicauth_pool *basic_pool; /* its counters, for the views */

    uint64_t reloads_ok;
    uint64_t reloads_failed;
    char reload_error[1024];   /* why the last reload failed; "" before any, or after a success */
    double config_loaded_unix; /* start-up, or the last reload that succeeded */
    double start_unix;
    uint64_t start_ms;

    struct registry reg;
    struct jobs jobs;
    struct timings stats;
    struct rejects rejects;
    struct intake intake;
    struct senders senders; /* the Unix socket's senders, while a service is named */
    struct learnsum learn;  /* learn mode's summary (GET /debug/learn) */
    struct site_exe learn_exes[SITE_LEARN_EXES];
    size_t learn_exe_next;
    struct persist state;     /* the state file: restored at start-up, snapshots */
    unsigned debug_in_flight; /* /debug renders being written (inspect.c) */
    int freeing; /* the expiry gives memory back: a sweep not done, malloc_trim() (daemon/app.c) */
    /* The huge pages' counts, owned by the lifecycle (daemon/hugepages.h); NULL: none. */
    const struct selfmetrics_hugepages *huge;

    struct ingest in;
    int ingest_started;
    struct ingest udp; /* the UDP socket, when udp_listen is set */
    int udp_started;
    struct site_listener listeners[SITE_MAX_LISTENERS];
    size_t nlisteners;
    struct site_endpoint endpoints[SITE_MAX_ENDPOINTS];
    size_t nendpoints;
    struct selfmetrics_endpoint ep_view[SITE_MAX_ENDPOINTS]; /* what readings point to */
    struct site_listener *metrics_l;                         /* the default endpoint's, or NULL */
    struct site_listener *debug_l;                           /* where /debug is served, or NULL */
    /* From the web config in force (daemon/security.c): NULL without TLS, or without a file. */
    const struct tlsmem_ctx *tls;
    const char *web_config_file;

    struct sqlpool pg;
    int has_pg;

    /* The remote write targets' counts (remote/ counts, the head renders). */
    struct rwstats rwstats;

    struct statuspage_rate page_rate; /* the status page's last reading of the rates */

    int stopping; /* the daemon is stopping: /-/ready says so, no more snapshots */

    /* Event-loop utilisation between two scrapes (uv_metrics_idle_time): metrics.c's. */
    uint64_t util_prev_idle_ns;
    uint64_t util_prev_hrtime;
    double util_last;
};

/*
 * The running config generation, with one more reference, for a render that borrows from
 * the config it started under; NULL for the start-up config, which lives for the whole
 * run. Drop it with site_config_unref().
 */
struct site_config *site_config_ref(struct site *s);

/* Drop a reference; the last one releases the config. NULL does nothing. */
void site_config_unref(struct site_config *gen);

/* The endpoint's entry of the running config, or NULL for the default endpoint. */
const struct config_endpoint *site_endpoint_cfg(const struct site_endpoint *ep);

/*
 * Note the senders of the Unix socket only while an endpoint of the running config
 * stands for a service: it costs the hot path. At start-up and after each reload.
 */
void site_track_senders(struct site *s);

/*
 * Learn mode as the running config says (learn.enabled, learn.max_bytes): the summary
 * configured and the intake told. At start-up, once learnsum_init() ran, and after each
 * reload.
 */
void site_track_learn(struct site *s);

/*
 * Whether the loop is in the middle of a big task that reads the whole store a piece a
 * turn: a scrape being written on any endpoint, a /debug render, or a snapshot. The huge
 * pages' collapses wait for none to be under way (daemon/hugepages.h): the kernel's copy
 * beside them slows their pieces (docs/cardinality.md, "What the huge pages' collapses
 * add").
 */
int site_rendering(const struct site *s);

/*
 * Whether a huge pages' collapse must not start now (daemon/hugepages.h): site_rendering(),
 * or memory being given back: a reload's drain (registry_draining()), a sweep with more to
 * do or a malloc_trim() under way (freeing). The kernel holds the process's address space
 * while it copies a range into a huge page, and madvise() and munmap() of the freed pages
 * wait for it (the loop's own, or malloc_trim() holding the allocator's lock): beside a
 * drain, turns of 5 to 7 ms (docs/cardinality.md). Nor once the daemon is stopping: a
 * range under way would keep the loop alive until its last page.
 */
int site_holds_collapses(const struct site *s);

/*
 * Deliver what the ingest sockets took from the kernel and hold for a later turn
 * (ingest_deliver_held), so that what runs next sees every datagram received before it:
 * each HTTP request (the listeners' hook, httpd_server_set_before) and a reload.
 */
void site_catch_up(struct site *s);

/* site_catch_up() as an httpd_server_set_before() hook: arg is the site. */
void site_before_request(void *arg);

/*
 * Take the reading: what /metrics and /debug both show of the daemon itself, into *r
 * (overwritten). Its strings and pointers borrow from s and from s->cfg: a render that
 * outlives the turn of the loop holds the config generation (site_config_ref()).
 * Loop thread only.
 */
void site_read(struct site *s, struct selfmetrics *r);

#endif
