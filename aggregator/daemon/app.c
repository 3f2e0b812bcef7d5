#include "daemon/app.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "http/basicauth.h"
#include "base/buf.h"
#include "config/cfgendpoint.h"
#include "config/cfglint.h"
#include "base/path.h"
#include "base/common.h"
#include "expose/debug.h"
#include "state/records.h"
#include "base/errcode.h"
#include "base/expo.h"
#include "http/httpd.h"
#include "ingest/ingest.h"
#include "base/jsonstr.h"
#include "ingest/intake.h"
#include "store/jobs.h"
#include "base/log.h"
#include "base/mem.h"
#include "expose/procfs.h"
#include "store/registry.h"
#include "ingest/rejects.h"
#include "config/resattr.h"
#include "handler/scrape.h"
#include "expose/selfmetrics.h"
#include "ingest/senders.h"
#include "pg/sqlpool.h"
#include "expose/timings.h"
#include "expose/svcproc.h"
#include "config/tokenfile.h"
#include "state/persist.h"
#include "statsd.h"
#include "daemon/sysd.h"
#include "http/tlsmem.h"
#include "base/wallclock.h"
#include "config/webcfg.h"

/*
 * Work per loop iteration. A scrape renders a piece of series and then yields the loop
 * (scrape.h), so that ingestion runs between pieces. Expiry looks at EXPIRE_BUDGET series
 * per tick.
 */
#define EXPIRE_EVERY_MS 50
/*
 * Ingestion is what empties the kernel queue, so it gets the larger share: a wake-up
 * drains until the socket is empty or for at most INGEST_BUDGET_NS. At 512 datagrams
 * (net.unix.max_dgram_qlen) a sender at a few M lines/s fills the queue in a few ms, so
 * the other work between two drains (a render piece, an HTTP write) must stay short.
 */
#define INGEST_BUDGET    8192
#define INGEST_BUDGET_NS 3000000
/*
 * An expiry tick looks at EXPIRE_BUDGET series, or frees as many of the families a reload
 * retired. Freeing a series costs most, about 0.7 us (it is out of cache): 2000 hold the
 * loop about 1.4 ms, and 40,000 a second are looked at or freed.
 */
#define EXPIRE_BUDGET 2000

/*
 * Listeners: the default endpoint's, one per configured endpoint address, the debug
 * view's. An endpoint answers 503 beyond APP_MAX_SCRAPES scrapes in flight, as promhttp
 * does beyond its MaxRequestsInFlight: each holds a cursor and a response buffer.
 */
#define APP_MAX_LISTENERS (CONFIG_MAX_ENDPOINTS + 2)
#define APP_MAX_ENDPOINTS (CONFIG_MAX_ENDPOINTS + 1)
#define APP_MAX_SCRAPES   16

/* The status codes promhttp_metric_handler_requests_total shows from the start. */
static const unsigned promhttp_codes[] = { 200, 500, 503 };
#define PROMHTTP_NCODES (sizeof(promhttp_codes) / sizeof(promhttp_codes[0]))
_Static_assert(sizeof(((struct selfmetrics_endpoint *)0)->scrapes) == PROMHTTP_NCODES * 8,
               "the debug view shows a count per promhttp code");

struct app;

/* One HTTP listener: an address that one or more endpoints share. */
struct app_listener {
    struct httpd_server srv;
    const char *listen; /* as configured; borrowed from the start-up config */
    const char *label;  /* the listener label of ustatsd_http_limit_violations_total */
    char addr[160];     /* as bound */
};

/* One scrape endpoint: the default one (index -1) or cfg->endpoints[index]. */
struct app_endpoint {
    struct app *a;
    long index;
    const char *name; /* the handler label; borrowed from the start-up config */
    const char *path;
    struct app_listener *l;
    uint64_t scrapes[PROMHTTP_NCODES]; /* finished, by promhttp_codes */
    unsigned in_flight;
    struct svcproc svc; /* the service's processes, when the endpoint stands for one */
};

/*
 * A configuration loaded by a reload. The one the daemon started with belongs to main and
 * lives for the whole run (the PostgreSQL collectors and the listeners keep pointing into
 * it: what they read cannot change without a restart). A reloaded one is freed once it
 * is neither the running config nor borrowed by a /debug render still in flight.
 */
struct app_config {
    struct config c;
    unsigned refs;
};

/*
 * The web config file (daemon.web_config_file) as loaded, and what the listeners serve
 * with that derives from it: one of these is in force, and web_apply() is the one step
 * that hands it to every listener. Built off the loop on a reload (the TLS context
 * parses certificates and keys).
 */
struct app_web {
    struct webcfg w;         /* all zero without a file */
    struct tlsmem_ctx *tls;  /* from w.tls; NULL: plain HTTP */
    struct basicauth *basic; /* from w.users; NULL: no basic auth */
};

/*
 * The bearer tokens a config names, read from their files (tokenfile.h): at start-up on
 * the loop, and on SIGHUP with the config on the reload's worker, so that a rotated token
 * takes effect with the reload that reports success, and a bad file refuses the reload.
 */
struct app_tokens {
    char daemon[TOKENFILE_MAX + 1];                         /* "": none */
    char endpoint[CONFIG_MAX_ENDPOINTS][TOKENFILE_MAX + 1]; /* "": the endpoint is open */
};

_Static_assert(TOKENFILE_MAX == HTTPD_MAX_TOKEN, "one bound for a bearer token");

/* A reload in flight: the file is read and checked on a worker thread. */
struct reload {
    uv_work_t req;
    struct app *a;
    struct app_config *next;
    struct app_web web; /* loaded along with next */
    struct app_tokens tokens;
    int rc;
    char err[1024];
};

struct app {
    uv_loop_t loop;
    const struct config *cfg; /* the running config: gen's, or the start-up one */
    struct app_config *gen;   /* NULL while the start-up config runs */
    const char *config_path;
    app_load_cb load;
    void *load_arg;
    struct basicauth_pool basic_pool; /* bcrypt work and counters, for every web config */
    struct tlspool tls_pool;          /* TLS handshakes of every listener, bounded together */
    struct reload *reload;            /* in flight, or NULL */
    int reload_again;                 /* a SIGHUP came during it, or during a drain */
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
    struct log log;
    struct persist state; /* the state file: restored at start-up, snapshots */
    int serving;          /* app_start() succeeded: a stop writes the final snapshot */

    struct ingest in;
    int ingest_started;
    struct ingest udp; /* the UDP socket, when udp_listen is set */
    int udp_started;
    struct sysd sysd; /* sockets passed by systemd, and its notifications */
    struct app_listener listeners[APP_MAX_LISTENERS];
    size_t nlisteners;
    struct app_endpoint endpoints[APP_MAX_ENDPOINTS];
    size_t nendpoints;
    struct selfmetrics_endpoint ep_view[APP_MAX_ENDPOINTS]; /* what snapshots point to */
    struct senders senders;         /* the Unix socket's senders, while a service is named */
    struct app_listener *metrics_l; /* the default endpoint's, or NULL */
    struct app_listener *debug_l;   /* where /debug is served, or NULL */
    struct app_web web;             /* in force on every listener */
    struct sqlpool pg;
    int has_pg;
    uint64_t *pg_down_seen; /* per collector: down_events already logged */
    int *pg_up_seen;        /* per collector: up as last logged */

    uv_signal_t sig_term;
    uv_signal_t sig_int;
    uv_signal_t sig_hup;
    uv_timer_t expire_timer;
    uv_prepare_t turn; /* times each turn of the loop: ustatsd_event_loop_iteration_seconds */
    uint64_t turn_prev_hrtime;
    uint64_t turn_prev_idle_ns;

    int stopping;
    int exit_code;

    /* Event-loop utilisation between two scrapes (uv_metrics_idle_time). */
    uint64_t util_prev_idle_ns;
    uint64_t util_prev_hrtime;
    double util_last;
};

static double wall_clock(void *arg)
{
    (void)arg;
    return wallclock_unix();
}

/* Dates each series at its creation, for its OpenMetrics _created sample. */
static uint64_t wall_clock_ms(void *arg)
{
    (void)arg;
    return wallclock_ms();
}

/*
 * The hot path: every datagram, from the Unix socket and from UDP, goes straight to the
 * one intake (intake.c).
 */
static void on_datagram(struct ingest *in, const char *data, size_t len, const struct ucred *cred,
                        const struct sockaddr *src, void *arg)
{
    struct app *a = arg;
    struct intake_sender from = { 0 };

    (void)in;
    if (cred != NULL)
        from = (struct intake_sender){ cred->pid, cred->uid, cred->gid, NULL };
    from.addr = src;
    intake_datagram(&a->intake, data, len, cred != NULL || src != NULL ? &from : NULL,
                    uv_now(&a->loop));
}

/* --- /metrics ------------------------------------------------------------------------ */

/*
 * Log each collector's change of state once: down with the reason (the metrics only say
 * "query" or "connect"; the log says "relation does not exist"), and back up.
 */
static void log_pg_changes(struct app *a)
{
    size_t i;

    for (i = 0; i < sqlpool_ncollectors(&a->pg); i++) {
        struct sqlpool_collector_info ci;
        sqlpool_collector_info(&a->pg, i, &ci);
        if (ci.down_events != a->pg_down_seen[i]) {
            a->pg_down_seen[i] = ci.down_events;
            a->pg_up_seen[i] = 0;
            log_msg(&a->log, LOG_WARN, "pg", "SQL collector %s is down: %s; its gauges are absent",
                    ci.name, ci.last_error);
        } else if (ci.up && !a->pg_up_seen[i]) {
            a->pg_up_seen[i] = 1;
            log_msg(&a->log, LOG_INFO, "pg", "SQL collector %s is up", ci.name);
        }
    }
}

/* The state file's figures, for the snapshot below. */
static void fill_state(const struct persist *st, struct selfmetrics_state *v)
{
    v->on = st->path != NULL;
    v->path = st->path;
    v->interval = (double)st->interval_ms / 1000.0;
    v->ok = st->ok;
    v->failed = st->failed;
    v->last_error = st->last_error[0] ? st->last_error : NULL;
    v->last_ok_unix = st->last_ok_unix;
    v->last_seconds = st->last_seconds;
    v->last_longest_slice = st->last_longest_slice;
    v->last_bytes = st->last_bytes;
    v->last_series = st->last_series;
    v->restore = persist_restore_name(st->restore);
    v->restore_error = st->restore_error[0] ? st->restore_error : NULL;
    v->restore_seconds = st->restore_seconds;
    v->restored_series = st->restored.series;
    v->restored_jobs = st->restored.jobs;
    memcpy(v->restore_dropped, st->restored.dropped, sizeof(v->restore_dropped));
}

/* What /metrics and /debug both show of the daemon itself (selfmetrics.h). */
static void snapshot(struct app *a, struct selfmetrics *s)
{
    const struct config *c = a->cfg;

    memset(s, 0, sizeof(*s));
    s->version = USTATSD_VERSION;
    s->config_path = a->config_path;
    s->cfg = c;
    s->reg = &a->reg;
    s->start_unix = a->start_unix;
    s->now_unix = wallclock_unix();
    s->config_loaded_unix = a->config_loaded_unix;
    s->start_ms = a->start_ms;
    s->now_ms = uv_now(&a->loop);
    s->reloads_ok = a->reloads_ok;
    s->reloads_failed = a->reloads_failed;
    s->reload_error = a->reload_error[0] ? a->reload_error : NULL;
    memcpy(s->basic_auth, a->basic_pool.checks, sizeof(s->basic_auth));
    s->metrics_listen = a->metrics_l ? a->metrics_l->addr : "";
    s->metrics_path = c->metrics_path;
    s->debug_listen = a->debug_l ? a->debug_l->addr : "";
    for (size_t i = 0; i < a->nendpoints; i++) {
        const struct app_endpoint *ep = &a->endpoints[i];
        struct selfmetrics_endpoint *v = &a->ep_view[i];

        *v = (struct selfmetrics_endpoint){ ep->name, ep->l->addr, ep->path, ep->in_flight, { 0 } };
        memcpy(v->scrapes, ep->scrapes, sizeof(v->scrapes));
    }
    s->endpoints = a->ep_view;
    s->nendpoints = a->nendpoints;
    fill_state(&a->state, &s->state);
    s->socket_path = c->socket_path;
    s->socket_mode = c->socket_mode;
    s->max_dgram_qlen = a->in.max_dgram_qlen;
    s->rcvbuf = a->in.rcvbuf;
#define COPY_SOCKET(field, metric, key, help) s->field = a->in.stats.field;
    SELFMETRICS_SOCKET_MAP(COPY_SOCKET)
#undef COPY_SOCKET
    if (a->udp_started) {
        int64_t drops = ingest_kernel_drops(&a->udp);

        s->udp_on = 1;
        s->udp_listen = c->udp_listen;
        s->udp_address = a->udp.addr_text;
        s->udp_allow_remote = c->udp_allow_remote;
        s->udp_rcvbuf = a->udp.rcvbuf;
        s->udp.datagrams = a->udp.stats.datagrams;
        s->udp.bytes = a->udp.stats.bytes;
        s->udp.truncated = a->udp.stats.truncated;
        s->udp.recv_errors = a->udp.stats.recv_errors;
        s->udp.budget_hits = a->udp.stats.budget_hits;
        s->udp.kernel_drops = drops > 0 ? (uint64_t)drops : 0;
    }
    if (a->web.tls != NULL) {
        s->tls.on = 1;
        s->tls.web_config_file = a->web.w.path;
        tlsmem_ctx_fingerprint(a->web.tls, s->tls.cert_sha256);
        for (size_t i = 0; i < a->nlisteners; i++) {
            const struct httpd_stats *hs = httpd_server_stats(&a->listeners[i].srv);

            s->tls.handshakes += hs->tls_handshakes;
            for (size_t k = 0; k < TLSMEM_FAIL_COUNT; k++)
                s->tls.failures[k] += hs->tls_failures[k];
        }
    }
    s->lines = a->intake.count;
    s->stats = a->stats;
}

static void add_requests(const char *handler, unsigned code, uint64_t count, void *arg)
{
    selfmetrics_add_requests(arg, handler, code, count);
}

/* Handlers: metrics, debug, healthy, ready, other and one per endpoint. */
_Static_assert(SELFMETRICS_MAX_REQUESTS >= (5 + CONFIG_MAX_ENDPOINTS) * ROUTES_MAX_CODES,
               "routes x codes of every listener");
_Static_assert(SELFMETRICS_MAX_VIOLATIONS >= APP_MAX_LISTENERS * HTTPD_LIMIT_COUNT,
               "limits of every listener");
_Static_assert(SELFMETRICS_MAX_EVICTIONS >= APP_MAX_LISTENERS * HTTPD_EVICT_COUNT,
               "eviction reasons of every listener");

/* The scrape's part: the HTTP listeners, and the loop's utilisation since the last one. */
static void snapshot_scrape(struct app *a, struct selfmetrics *s)
{
    uint64_t idle_ns = uv_metrics_idle_time(&a->loop), hr = uv_hrtime();
    size_t i, k;

    for (i = 0; i < a->nlisteners; i++)
        httpd_server_foreach_requests(&a->listeners[i].srv, add_requests, s);
    for (i = 0; i < a->nlisteners; i++)
        for (k = 0; k < HTTPD_LIMIT_COUNT; k++)
            selfmetrics_add_violations(s, a->listeners[i].label,
                                       httpd_limit_name((enum httpd_limit)k),
                                       httpd_server_stats(&a->listeners[i].srv)->limits[k]);
    for (i = 0; i < a->nlisteners; i++)
        for (k = 0; k < HTTPD_EVICT_COUNT; k++)
            selfmetrics_add_evictions(s, a->listeners[i].label,
                                      httpd_evict_name((enum httpd_evict)k),
                                      httpd_server_stats(&a->listeners[i].srv)->evictions[k]);
    /* Utilisation since the previous scrape: 1 - idle time / wall time. */
    if (hr > a->util_prev_hrtime && idle_ns >= a->util_prev_idle_ns) {
        double busy =
            1.0 - (double)(idle_ns - a->util_prev_idle_ns) / (double)(hr - a->util_prev_hrtime);
        a->util_last = busy < 0 ? 0 : busy > 1 ? 1 : busy;
    }
    a->util_prev_idle_ns = idle_ns;
    a->util_prev_hrtime = hr;
    s->loop_utilization = a->util_last;
    s->loop_idle_seconds = (double)idle_ns / 1e9;
}

static void write_daemon(struct app *a, struct expo *e, int process)
{
    struct selfmetrics s;
    struct procfs ps;

    snapshot(a, &s);
    snapshot_scrape(a, &s);
    selfmetrics_render(&s, e);
    if (process && procfs_read(&ps) == 0)
        procfs_render(&ps, e);
}

/* The endpoint's entry of the running config, or NULL for the default endpoint. */
static const struct config_endpoint *endpoint_cfg(const struct app_endpoint *ep)
{
    return ep->index >= 0 ? &ep->a->cfg->endpoints[ep->index] : NULL;
}

/*
 * promhttp's own families, as client_golang's promhttp.Handler() writes them: the scrape
 * in progress is in flight and not yet counted.
 */
static void write_promhttp(const struct app_endpoint *ep, struct expo *e)
{
    char code[8];
    struct expo_label l = { "code", code, 0 };

    expo_scalar(e, "promhttp_metric_handler_requests_in_flight", EXPO_GAUGE,
                "Current number of scrapes being served.", "", (double)ep->in_flight);
    expo_family(e, "promhttp_metric_handler_requests", EXPO_COUNTER,
                "Total number of scrapes by HTTP status code.", "");
    for (size_t i = 0; i < PROMHTTP_NCODES; i++) {
        l.value_len = (size_t)snprintf(code, sizeof(code), "%u", promhttp_codes[i]);
        expo_sample(e, "_total", &l, 1, (double)ep->scrapes[i]);
    }
}

/*
 * One scrape in flight: its endpoint, and the config generation it holds, since the
 * render borrows family names from the config it started under until it moves on.
 */
struct app_scrape {
    struct app_endpoint *ep;
    struct app_config *gen; /* a reference, or NULL for the start-up config */
};

static void app_config_unref(struct app_config *gen);

static void write_head(struct expo *e, void *arg)
{
    struct app_endpoint *ep = ((struct app_scrape *)arg)->ep;
    const struct config_endpoint *ce = endpoint_cfg(ep);
    struct config_resource_attr *attrs;
    size_t n;

    if (ce == NULL || ce->self_metrics)
        write_daemon(ep->a, e, ce == NULL || !ce->has_service);
    /* A service's process_* are absent until one of its processes has sent a line. */
    if (ce != NULL && ce->has_service)
        svcproc_render(&ep->svc, &ep->a->senders, &ce->service, uv_now(&ep->a->loop), e);
    if (ce != NULL && ce->promhttp)
        write_promhttp(ep, e);
    attrs = cfgendpoint_resource(ep->a->cfg, ce, &n);
    selfmetrics_target_info(attrs, n, e);
    resattr_free(attrs, n);
}

/* Senders are noted only while an endpoint stands for a service: it costs the hot path. */
static void track_senders(struct app *a)
{
    int any = 0;

    for (size_t i = 0; i < a->cfg->nendpoints; i++)
        any |= a->cfg->endpoints[i].has_service;
    a->intake.senders = any ? &a->senders : NULL;
}

static void on_pg_collected(void *arg)
{
    log_pg_changes(((struct app_scrape *)arg)->ep->a);
}

static void count_scrape(struct app_endpoint *ep, unsigned status)
{
    for (size_t i = 0; i < PROMHTTP_NCODES; i++)
        if (promhttp_codes[i] == status)
            ep->scrapes[i]++;
}

static void on_scrape_done(void *arg, unsigned status)
{
    struct app_scrape *sc = arg;

    sc->ep->in_flight--;
    count_scrape(sc->ep, status);
    app_config_unref(sc->gen);
    free(sc);
}

/* Whether the endpoint serves an SQL metric that is queried. */
static int serves_sql(const struct config *c, uint32_t bit)
{
    for (size_t i = 0; i < c->nsql_metrics; i++)
        if (!c->sql_metrics[i].excluded && config_serves(c->sql_metrics[i].endpoints, bit))
            return 1;
    return 0;
}

static void on_metrics(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    static const char busy[] = "too many scrapes in flight\n";
    struct app_endpoint *ep = arg;
    struct app *a = ep->a;
    const struct config_endpoint *ce = endpoint_cfg(ep);
    struct scrape_source src = { .loop = &a->loop,
                                 .cfg = a->cfg,
                                 .running = &a->cfg,
                                 .reg = &a->reg,
                                 .jobs = &a->jobs,
                                 .stats = &a->stats,
                                 .head = write_head,
                                 .collected = on_pg_collected,
                                 .done = on_scrape_done };
    struct expo_label labels[SCRAPE_MAX_CONST_LABELS];
    char names[SCRAPE_MAX_CONST_LABELS][CONFIG_MAX_RESOURCE_KEY + 1];
    struct config_resource_attr *attrs;
    struct app_scrape *sc;
    size_t n;

    if (ep->in_flight >= APP_MAX_SCRAPES) {
        count_scrape(ep, 503);
        /* And close: requests the client pipelined behind this one would only earn
         * more of the same, and a slow reader of pipelined scrapes would hold its slot. */
        httpd_respond(conn, 503, "text/plain; charset=utf-8", busy, sizeof(busy) - 1, HTTPD_CLOSE,
                      NULL);
        return;
    }
    src.bit = ce ? (uint32_t)1 << ep->index : 0;
    src.self = ce == NULL || ce->self_metrics;
    src.serve_jobs = ce == NULL || ce->jobs;
    src.sql = a->has_pg && serves_sql(a->cfg, src.bit);
    src.pg = a->has_pg && (src.sql || src.self) ? &a->pg : NULL;
    /* The resource attributes the endpoint copies onto its series (scrape_start copies). */
    attrs = cfgendpoint_resource(a->cfg, ce, &n);
    for (size_t i = 0; i < n && src.nconst < SCRAPE_MAX_CONST_LABELS; i++) {
        if (!cfgendpoint_copies(a->cfg, ce, attrs[i].key))
            continue;
        resattr_label(attrs[i].key, names[src.nconst]);
        labels[src.nconst] =
            (struct expo_label){ names[src.nconst], attrs[i].value, strlen(attrs[i].value) };
        src.nconst++;
    }
    src.const_labels = labels;
    ep->in_flight++;
    sc = mem_calloc(1, sizeof(*sc));
    sc->ep = ep;
    sc->gen = a->gen;
    if (sc->gen != NULL)
        sc->gen->refs++;
    src.arg = sc;
    scrape_start(conn, req, &src);
    resattr_free(attrs, n);
}

/* --- /debug -------------------------------------------------------------------------- */

struct debug_response {
    struct app *a;
    struct app_config *gen; /* the config the render borrows, when a reload loaded it */
    struct debug_render dr;
};

static void app_config_unref(struct app_config *gen)
{
    /* The start-up config (NULL here) belongs to main and lives for the whole run. */
    if (gen == NULL || --gen->refs > 0)
        return;
    config_release(&gen->c);
    free(gen);
}

static int produce_debug(struct httpd_conn *conn, struct buf *out, void *arg)
{
    struct debug_response *d = arg;

    (void)conn;
    if (debug_render_step(&d->dr, out))
        return HTTPD_MORE;
    debug_render_release(&d->dr);
    app_config_unref(d->gen);
    free(d);
    return HTTPD_DONE;
}

static void on_debug_cancel(void *arg)
{
    struct debug_response *d = arg;

    debug_render_release(&d->dr);
    app_config_unref(d->gen);
    free(d);
}

static void on_debug(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct app *a = arg;
    const struct config *c = a->cfg;
    struct debug_query q;
    struct selfmetrics self;
    struct debug_response *d;
    char err[512];

    if (debug_query_parse(&q, c, req->query, err, sizeof(err)) != 0) {
        struct buf body = BUF_INIT;
        debug_error_json(&body, err);
        httpd_respond(conn, 400, "application/json", body.ptr, body.len, 0, NULL);
        buf_release(&body);
        return;
    }
    snapshot(a, &self);

    d = mem_calloc(1, sizeof(*d));
    d->a = a;
    d->gen = a->gen;
    if (d->gen != NULL)
        d->gen->refs++;
    debug_render_init(&d->dr, &q, &self, &a->reg, &a->jobs, &a->rejects);
    if (httpd_stream(conn, 200, "application/json", HTTPD_GZIP, produce_debug, on_debug_cancel,
                     d) != 0) {
        on_debug_cancel(d);
        httpd_respond(conn, 500, "application/json", "{\"error\":\"internal\"}\n", 20, 0, NULL);
    }
}

/* --- /debug/snapshot: a state snapshot on demand -------------------------------------- */

struct snapshot_request {
    struct app *a;
    struct httpd_conn *conn;
    struct persist_waiter w;
};

static void on_snapshot_cancel(void *arg)
{
    struct snapshot_request *r = arg;

    persist_cancel(&r->a->state, &r->w);
    free(r);
}

/* The snapshot the request waited for ended: its figures, or why it failed (500). */
static void on_snapshot_done(struct persist *st, int ok, void *arg)
{
    struct snapshot_request *r = arg;
    struct buf body = BUF_INIT;

    if (ok) {
        buf_adds(&body, "{\"file\":");
        jsonstr_add_quoted(&body, st->path, strlen(st->path));
        buf_addf(&body,
                 ",\"series\":%llu,\"bytes\":%llu,\"records_bytes\":%llu,"
                 "\"seconds\":%.6f,\"longest_slice_seconds\":%.6f,\"time\":%.3f}\n",
                 (unsigned long long)st->last_series, (unsigned long long)st->last_bytes,
                 (unsigned long long)st->last_body_bytes, st->last_seconds, st->last_longest_slice,
                 st->last_ok_unix);
    } else {
        debug_error_json(&body, st->last_error);
    }
    httpd_respond(r->conn, ok ? 200 : 500, "application/json", body.ptr, body.len, 0, NULL);
    buf_release(&body);
    free(r);
}

static void on_snapshot(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct app *a = arg;
    struct snapshot_request *r;
    struct buf body = BUF_INIT;

    (void)req;
    if (a->state.path == NULL || a->stopping) {
        debug_error_json(&body,
                         a->state.path == NULL
                             ? "snapshots are off: daemon.state_file (--state-file) is not set"
                             : "the daemon is stopping");
        httpd_respond(conn, 409, "application/json", body.ptr, body.len, 0, NULL);
        buf_release(&body);
        return;
    }
    r = mem_calloc(1, sizeof(*r));
    *r = (struct snapshot_request){ a, conn, { on_snapshot_done, r, NULL } };
    if (httpd_defer(conn, on_snapshot_cancel, r) != 0) {
        free(r);
        httpd_respond(conn, 500, "application/json", "{\"error\":\"internal\"}\n", 20, 0, NULL);
        return;
    }
    persist_request(&a->state, &r->w);
}

/* --- health, readiness ---------------------------------------------------------------- */

static void on_healthy(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    static const char body[] = "ustatsd is Healthy.\n";

    (void)req;
    (void)arg;
    httpd_respond(conn, 200, "text/plain; charset=utf-8", body, sizeof(body) - 1, 0, NULL);
}

static void on_ready(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    static const char ready[] = "ustatsd is Ready.\n";
    static const char stopping[] = "ustatsd is shutting down.\n";
    struct app *a = arg;

    (void)req;
    if (a->stopping || !a->ingest_started)
        httpd_respond(conn, 503, "text/plain; charset=utf-8", stopping, sizeof(stopping) - 1, 0,
                      NULL);
    else
        httpd_respond(conn, 200, "text/plain; charset=utf-8", ready, sizeof(ready) - 1, 0, NULL);
}

/* --- lifecycle ------------------------------------------------------------------------ */

static void app_reload(struct app *a);

/* The reload a SIGHUP asked for while app_reload() had to defer it, if any. */
static void reload_pending(struct app *a)
{
    if (!a->reload_again)
        return;
    a->reload_again = 0;
    app_reload(a);
}

static void on_expire_timer(uv_timer_t *t)
{
    struct app *a = container_of(t, struct app, expire_timer);

    /* What a reload retired goes first: it is out of sight already, and counts in memory. */
    if (registry_series_retired(&a->reg) == 0) {
        registry_expire(&a->reg, uv_now(&a->loop), EXPIRE_BUDGET);
        return;
    }
    registry_drain(&a->reg, EXPIRE_BUDGET);
    if (registry_series_retired(&a->reg) == 0)
        reload_pending(a);
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/*
 * Runs just before the loop waits for events. The time since the previous call, less the
 * time spent waiting, is what the loop's callbacks ran in between: the longest any event
 * that became ready meanwhile, a datagram included, had to wait.
 */
static void on_turn(uv_prepare_t *p)
{
    struct app *a = container_of(p, struct app, turn);
    uint64_t hr = uv_hrtime(), idle_ns = uv_metrics_idle_time(&a->loop);
    uint64_t wall = hr - a->turn_prev_hrtime, waited = idle_ns - a->turn_prev_idle_ns;

    if (a->turn_prev_hrtime != 0)
        timings_loop_iteration(&a->stats, wall > waited ? wall - waited : 0);
    a->turn_prev_hrtime = hr;
    a->turn_prev_idle_ns = idle_ns;
}

static void on_ingest_closed(struct ingest *in)
{
    (void)in;
}

static void on_http_closed(struct httpd_server *srv)
{
    (void)srv;
}

static void on_pg_closed(struct sqlpool *pg)
{
    (void)pg;
}

/* The final snapshot is written (or failed): the signals take their default action again. */
static void on_state_closed(uv_handle_t *h)
{
    struct app *a = h->data;

    uv_close((uv_handle_t *)&a->sig_term, on_handle_closed);
    uv_close((uv_handle_t *)&a->sig_int, on_handle_closed);
    uv_close((uv_handle_t *)&a->sig_hup, on_handle_closed);
}

static void app_stop(struct app *a, const char *why)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    log_msg(&a->log, LOG_INFO, "app", "%s: stopping", why);
    sysd_stop(&a->sysd);
    if (a->ingest_started)
        ingest_close(&a->in, on_ingest_closed);
    if (a->udp_started)
        ingest_close(&a->udp, on_ingest_closed);
    for (size_t i = 0; i < a->nlisteners; i++)
        httpd_server_close(&a->listeners[i].srv, on_http_closed);
    if (a->has_pg)
        sqlpool_close(&a->pg, on_pg_closed);
    /*
     * After the ingest's close: the final snapshot holds every line applied. The signal
     * handlers stay until it is written, so that a second SIGTERM cannot cut it short.
     */
    persist_stop(&a->state, a->serving, on_state_closed, a);
    uv_close((uv_handle_t *)&a->expire_timer, on_handle_closed);
    uv_close((uv_handle_t *)&a->turn, on_handle_closed);
}

/* --- the web config file ----------------------------------------------------------------- */

/*
 * Load the web config file at path (NULL or "": none) and build what derives from it.
 * Any thread: it touches nothing of the daemon's. Returns 0, or -1 with a message naming
 * the file, the key and the problem in err (web left zeroed).
 */
static int web_load(struct app_web *web, const char *path, struct basicauth_pool *pool, char *err,
                    size_t errlen)
{
    memset(web, 0, sizeof(*web));
    if (path == NULL || path[0] == '\0')
        return 0;
    if (webcfg_load(&web->w, path, err, errlen) != 0)
        return -1;
    if (web->w.tls.enabled && tlsmem_ctx_new(&web->tls, &web->w.tls, path, err, errlen) != 0) {
        webcfg_release(&web->w);
        return -1;
    }
    if (pool != NULL && web->w.nusers > 0)
        web->basic = basicauth_new(pool, web->w.users, web->w.nusers);
    return 0;
}

static void web_release(struct app_web *web)
{
    tlsmem_ctx_unref(web->tls);
    basicauth_unref(web->basic);
    webcfg_release(&web->w);
    memset(web, 0, sizeof(*web));
}

/* What a listener serves with, from a->web. Before it listens, and on every reload. */
static void web_serve(struct app *a, struct app_listener *l)
{
    int rc;

    httpd_server_set_tls(&l->srv, a->web.tls);
    httpd_server_set_basic_auth(&l->srv, a->web.basic);
    rc = httpd_server_set_headers(&l->srv, a->web.w.headers, a->web.w.nheaders);
    assert(rc == 0); /* webcfg allows only headers that httpd takes */
    (void)rc;
}

static void web_log(struct app *a)
{
    char fp[65] = "";

    if (a->web.w.path == NULL)
        return;
    if (a->web.tls != NULL)
        tlsmem_ctx_fingerprint(a->web.tls, fp);
    log_msg(&a->log, LOG_INFO, "http",
            "web config %s: %s%s on every listener, %zu basic auth users, %zu extra headers",
            a->web.w.path, a->web.tls ? "TLS with certificate sha256 " : "plain HTTP", fp,
            a->web.w.nusers, a->web.w.nheaders);
}

/*
 * Put next in force (taking what it holds; next is left zeroed): every listener serves
 * new connections with it, while those already open keep what they began with.
 */
static void web_apply(struct app *a, struct app_web *next)
{
    /* A reload that drops TLS or basic auth downgrades every listener: never silently. */
    if (a->web.tls != NULL && next->tls == NULL)
        log_msg(&a->log, LOG_WARN, "http",
                "the reloaded configuration has no TLS (web config %s): new connections on "
                "every listener are plain HTTP",
                next->w.path ? next->w.path : "none");
    if (a->web.basic != NULL && next->basic == NULL)
        log_msg(&a->log, LOG_WARN, "http",
                "the reloaded configuration has no basic auth users (web config %s): basic "
                "auth is off on every listener",
                next->w.path ? next->w.path : "none");
    /* Unchanged users keep their cached logins: a SIGHUP is no reason to run bcrypt. */
    if (a->web.basic != NULL && next->basic != NULL)
        basicauth_carry(next->basic, a->web.basic);
    web_release(&a->web);
    a->web = *next;
    memset(next, 0, sizeof(*next));
    for (size_t i = 0; i < a->nlisteners; i++)
        web_serve(a, &a->listeners[i]);
    web_log(a);
}

/* --- reload ---------------------------------------------------------------------------- */

static int tokens_read(struct app_tokens *t, const struct config *c, char *err, size_t errlen)
{
    char why[512];

    memset(t, 0, sizeof(*t));
    if (c->bearer_token_file != NULL &&
        tokenfile_read(c->bearer_token_file, t->daemon, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: $.daemon.bearer_token_file: bearer token file %s", c->path, why);
        return -1;
    }
    for (size_t i = 0; i < c->nendpoints; i++) {
        const char *file = c->endpoints[i].bearer_token_file;

        if (file != NULL && tokenfile_read(file, t->endpoint[i], why, sizeof(why)) != 0) {
            snprintf(err, errlen,
                     "%s: $.endpoints[%zu].bearer_token_file (endpoint %s): bearer token file %s",
                     c->path, i, c->endpoints[i].name, why);
            return -1;
        }
    }
    return 0;
}

/*
 * Every route's token at once, on the loop: the default endpoint and /debug take the
 * daemon's, which also guards the unknown paths of their listeners; each other endpoint
 * its own. The tokens were checked when read, so nothing here can fail halfway.
 */
static void tokens_apply(struct app *a, const struct app_tokens *t)
{
    for (size_t i = 0; i < a->nendpoints; i++) {
        const struct app_endpoint *ep = &a->endpoints[i];
        int rc = httpd_server_route_bearer(&ep->l->srv, ep->path,
                                           ep->index < 0 ? t->daemon : t->endpoint[ep->index]);

        assert(rc == 0);
        (void)rc;
    }
    if (a->debug_l != NULL) {
        httpd_server_route_bearer(&a->debug_l->srv, "/debug", t->daemon);
        httpd_server_route_bearer(&a->debug_l->srv, "/debug/snapshot", t->daemon);
    }
    for (size_t i = 0; i < a->nlisteners; i++) {
        struct app_listener *l = &a->listeners[i];

        if (l == a->metrics_l || l == a->debug_l)
            httpd_server_set_bearer(&l->srv, t->daemon);
    }
}

static void reload_work(uv_work_t *req)
{
    struct reload *r = container_of(req, struct reload, req);

    r->rc = r->a->load(&r->next->c, r->a->load_arg, r->err, sizeof(r->err));
    if (r->rc == 0)
        r->rc = web_load(&r->web, r->next->c.web_config_file, &r->a->basic_pool, r->err,
                         sizeof(r->err));
    if (r->rc == 0 && tokens_read(&r->tokens, &r->next->c, r->err, sizeof(r->err)) != 0)
        r->rc = -1; /* reload_done() releases what was loaded */
}

static void reload_failed(struct app *a, const char *why)
{
    a->reloads_failed++;
    snprintf(a->reload_error, sizeof(a->reload_error), "%s", why);
    log_msg(&a->log, LOG_ERROR, "app", "reload refused, the running configuration stays: %s", why);
}

/* Swap next in: every module that holds the config moves to it, then the old one goes. */
static void reload_apply(struct app *a, struct app_config *next)
{
    uint64_t t0 = uv_hrtime();
    struct registry_reload rr;
    struct app_config *old = a->gen;
    int fmt = log_format_parse(next->c.log_format), level = log_level_parse(next->c.log_level);

    /* A service that changed starts its sums again: they were another's. */
    for (size_t i = 0; i < a->nendpoints; i++) {
        struct app_endpoint *ep = &a->endpoints[i];
        const struct config_endpoint *was = endpoint_cfg(ep), *now;

        if (was == NULL)
            continue;
        now = &next->c.endpoints[ep->index];
        if (was->has_service != now->has_service || was->service.uid != now->service.uid ||
            !path_same_str(was->service.exe, now->service.exe) ||
            !path_same_str(was->service.cgroup, now->service.cgroup)) {
            svcproc_release(&ep->svc);
            svcproc_init(&ep->svc);
        }
    }
    registry_reconfigure(&a->reg, &next->c, &rr);
    jobs_reconfigure(&a->jobs, &next->c, uv_now(&a->loop));
    jobs_date(&a->jobs, wallclock_unix());
    persist_configure(&a->state, next->c.state_interval);
    next->refs = 1;
    a->gen = next;
    a->cfg = &next->c;
    app_config_unref(old);
    track_senders(a);
    if (fmt >= 0)
        a->log.fmt = (enum log_format)fmt;
    if (level >= 0)
        a->log.min = (enum log_level)level;
    a->reloads_ok++;
    a->reload_error[0] = '\0';
    a->config_loaded_unix = wallclock_unix();
    log_msg(&a->log, LOG_INFO, "app",
            "configuration reloaded from %s in %.3f ms: %zu families kept, %zu added, %zu "
            "changed layout (series dropped), %zu removed; %zu jobs",
            a->config_path, (double)(uv_hrtime() - t0) / 1e6, rr.kept, rr.added, rr.reset,
            rr.removed, a->cfg->njobs);
}

static void reload_done(uv_work_t *req, int status)
{
    struct reload *r = container_of(req, struct reload, req);
    struct app *a = r->a;
    char keybuf[128], why[sizeof(r->err) + 256];
    const char *key;

    a->reload = NULL;
    if (status == 0 && !a->stopping) {
        if (r->rc != 0) {
            reload_failed(a, r->err);
        } else if ((key = config_restart_key(a->cfg, &r->next->c, keybuf, sizeof(keybuf))) !=
                   NULL) {
            snprintf(why, sizeof(why),
                     "%s: %s: differs from the running configuration, and only a restart can "
                     "change it",
                     a->config_path, key);
            reload_failed(a, why);
        } else {
            tokens_apply(a, &r->tokens);
            reload_apply(a, r->next);
            r->next = NULL;
            web_apply(a, &r->web);
        }
    }
    web_release(&r->web);  /* not applied, or already taken */
    if (r->next != NULL) { /* not swapped in; a failed load left it zeroed */
        config_release(&r->next->c);
        free(r->next);
    }
    free(r);
    reload_pending(a);
    if (a->reload == NULL && !a->reload_again && !a->stopping)
        sysd_reloaded(&a->sysd, a->cfg, a->reload_error[0] ? a->reload_error : NULL);
}

/*
 * Read the config file again, off the loop. SIGHUPs during a reload make one more after
 * it, and so does one while the series an earlier reload retired are being freed: then
 * at most one generation of retired series is ever held, however fast SIGHUPs come.
 */
static void app_reload(struct app *a)
{
    struct reload *r;

    if (a->stopping)
        return;
    if (a->reload != NULL || registry_series_retired(&a->reg) > 0) {
        if (!a->reload_again && a->reload == NULL)
            log_msg(&a->log, LOG_INFO, "app",
                    "SIGHUP: reload deferred until the %zu series the last one dropped are "
                    "freed",
                    registry_series_retired(&a->reg));
        a->reload_again = 1;
        return;
    }
    log_msg(&a->log, LOG_INFO, "app", "SIGHUP: reloading the configuration from %s",
            a->config_path);
    r = mem_calloc(1, sizeof(*r));
    r->next = mem_calloc(1, sizeof(*r->next));
    r->a = a;
    if (uv_queue_work(&a->loop, &r->req, reload_work, reload_done) != 0) {
        free(r->next);
        free(r);
        reload_failed(a, "could not start the reload");
        sysd_reloaded(&a->sysd, a->cfg, a->reload_error);
        return;
    }
    a->reload = r;
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct app *a = s->data;

    if (signum == SIGHUP) {
        if (!a->stopping)
            sysd_reloading(&a->sysd);
        app_reload(a);
        return;
    }
    if (a->stopping) {
        log_msg(&a->log, LOG_WARN, "app",
                "%s: already stopping, writing the final state snapshot; SIGKILL stops at once "
                "and loses what it holds",
                signum == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
    app_stop(a, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* The listener of this address, made (with /-/healthy and /-/ready) on first use. */
static struct app_listener *listener_for(struct app *a, const char *listen, const char *label)
{
    struct app_listener *l;

    for (size_t i = 0; i < a->nlisteners; i++)
        if (strcmp(a->listeners[i].listen, listen) == 0)
            return &a->listeners[i];
    l = &a->listeners[a->nlisteners++];
    l->listen = listen;
    l->label = label;
    httpd_server_init(&l->srv, &a->loop, NULL);
    httpd_server_set_tls_pool(&l->srv, &a->tls_pool);
    httpd_server_route(&l->srv, "/-/healthy", "healthy", on_healthy, a);
    httpd_server_route(&l->srv, "/-/ready", "ready", on_ready, a);
    return l;
}

/* A route; its bearer token comes with the others, from tokens_apply(). */
static int add_route(struct app_listener *l, const char *path, const char *name,
                     httpd_handler_cb handler, void *arg, char *err, size_t errlen)
{
    int rc = httpd_server_route(&l->srv, path, name, handler, arg);

    if (rc == -EEXIST)
        snprintf(err, errlen, "%s%s: two endpoints on one path", l->listen, path);
    else if (rc != 0)
        snprintf(err, errlen, "%s%s: %s", l->listen, path, strerror(-rc));
    return rc != 0 ? -1 : 0;
}

/*
 * Where /debug goes without debug_listen when the default endpoint is off: with the
 * daemon's own metrics, on the first endpoint that serves them (an endpoint that stands
 * for a service may face the network); none such, nowhere.
 */
static struct app_listener *self_listener(struct app *a)
{
    for (size_t i = 0; i < a->nendpoints; i++) {
        const struct config_endpoint *ce = endpoint_cfg(&a->endpoints[i]);

        if (ce != NULL && ce->self_metrics)
            return a->endpoints[i].l;
    }
    return NULL;
}

/* Every endpoint's route on its listener, and /debug where it goes. */
static int add_routes(struct app *a, char *err, size_t errlen)
{
    const struct config *c = a->cfg;
    char why[512];

    if (c->metrics_listen != NULL && c->metrics_listen[0] != '\0') {
        struct app_endpoint *ep = &a->endpoints[a->nendpoints++];

        a->metrics_l = listener_for(a, c->metrics_listen, "metrics");
        *ep = (struct app_endpoint){
            .a = a, .index = -1, .name = "metrics", .path = c->metrics_path, .l = a->metrics_l
        };
        svcproc_init(&ep->svc);
        if (add_route(ep->l, ep->path, ep->name, on_metrics, ep, err, errlen) != 0)
            return -1;
    }
    for (size_t i = 0; i < c->nendpoints; i++) {
        const struct config_endpoint *ce = &c->endpoints[i];
        struct app_endpoint *ep = &a->endpoints[a->nendpoints++];

        *ep = (struct app_endpoint){ .a = a, .index = (long)i, .name = ce->name, .path = ce->path };
        svcproc_init(&ep->svc);
        ep->l = listener_for(a, ce->listen, ce->name);
        if (add_route(ep->l, ep->path, ep->name, on_metrics, ep, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "endpoint %s: %s", ce->name, why);
            return -1;
        }
    }
    if (c->debug_listen != NULL && c->debug_listen[0] != '\0')
        a->debug_l = listener_for(a, c->debug_listen, "debug");
    else if (c->debug_listen == NULL)
        a->debug_l = a->metrics_l ? a->metrics_l : self_listener(a);
    if (a->debug_l != NULL &&
        (add_route(a->debug_l, "/debug", "debug", on_debug, a, err, errlen) != 0 ||
         add_route(a->debug_l, "/debug/snapshot", "debug_snapshot", on_snapshot, a, err, errlen) !=
             0 ||
         httpd_server_route_post(&a->debug_l->srv, "/debug/snapshot") != 0))
        return -1;
    return 0;
}

/* The routes, their bearer tokens (tokens_apply()), then bind every listener. */
static int start_http(struct app *a, char *err, size_t errlen)
{
    struct app_tokens *tokens = mem_alloc(sizeof(*tokens));
    char why[512];

    if (tokens_read(tokens, a->cfg, err, errlen) != 0 || add_routes(a, err, errlen) != 0) {
        free(tokens);
        return -1;
    }
    tokens_apply(a, tokens);
    free(tokens);
    for (size_t i = 0; i < a->nlisteners; i++) {
        struct app_listener *l = &a->listeners[i];

        int fd = sysd_take(&a->sysd, SOCKMATCH_STREAM, l->listen);

        web_serve(a, l);

        if ((fd >= 0 ? httpd_server_adopt(&l->srv, l->listen, fd, why, sizeof(why))
                     : httpd_server_listen(&l->srv, l->listen, why, sizeof(why))) != 0) {
            snprintf(err, errlen, "listener %s (%s): %s", l->listen, l->label, why);
            return -1;
        }
        httpd_server_address(&l->srv, l->addr, sizeof(l->addr));
    }
    return 0;
}

/*
 * The optional UDP socket: its own struct ingest, with the Unix socket's budget, so that
 * libuv's one call per ready handle and loop iteration shares the loop between the two.
 */
static int start_udp(struct app *a, char *err, size_t errlen)
{
    const struct config *c = a->cfg;
    struct ingest_config ucfg = { 0 };
    int64_t drops;
    size_t i;

    ucfg.kind = INGEST_UDP;
    ucfg.path = c->udp_listen;
    ucfg.allow_remote = c->udp_allow_remote;
    ucfg.budget = INGEST_BUDGET;
    ucfg.budget_ns = INGEST_BUDGET_NS;
    ucfg.rcvbuf = c->udp_rcvbuf > INT_MAX ? INT_MAX : (int)c->udp_rcvbuf;
    ucfg.fd = sysd_take(&a->sysd, SOCKMATCH_UDP, c->udp_listen);
    ingest_init(&a->udp, &a->loop, &ucfg, on_datagram, a);
    if (ingest_start(&a->udp, err, errlen) != 0)
        return -1;
    a->udp_started = 1;
    for (i = 0; i < a->udp.nwarnings; i++)
        log_msg(&a->log, LOG_WARN, "udp", "%s", a->udp.warnings[i]);
    drops = ingest_kernel_drops(&a->udp);
    log_msg(&a->log, LOG_INFO, "udp",
            "receiving on udp %s (configured %s%s); SO_RCVBUF %d bytes granted; kernel drops "
            "%s",
            a->udp.addr_text, c->udp_listen, c->udp_allow_remote ? ", remote senders allowed" : "",
            a->udp.rcvbuf, drops >= 0 ? "counted" : "unknown (SO_MEMINFO unsupported)");
    return 0;
}

static int app_start(struct app *a, char *err, size_t errlen)
{
    const struct config *c = a->cfg;
    struct ingest_config icfg = { 0 };
    size_t i;

    /* Initialised before anything can fail, so that app_stop() can always close them. */
    uv_timer_init(&a->loop, &a->expire_timer);
    uv_prepare_init(&a->loop, &a->turn);
    uv_signal_init(&a->loop, &a->sig_term);
    uv_signal_init(&a->loop, &a->sig_int);
    uv_signal_init(&a->loop, &a->sig_hup);
    a->sig_term.data = a->sig_int.data = a->sig_hup.data = a;

    /* Before any socket: a bad web config file leaves nothing behind. */
    if (web_load(&a->web, c->web_config_file, &a->basic_pool, err, errlen) != 0)
        return -1;
    if (sysd_activate(&a->sysd, c, err, errlen) != 0)
        return -1;
    icfg.path = c->socket_path;
    icfg.mode = c->socket_mode;
    icfg.group = c->socket_group;
    icfg.budget = INGEST_BUDGET;
    icfg.budget_ns = INGEST_BUDGET_NS;
    icfg.fd = sysd_take(&a->sysd, SOCKMATCH_UNIX_DGRAM, c->socket_path);
    ingest_init(&a->in, &a->loop, &icfg, on_datagram, a);
    if (ingest_start(&a->in, err, errlen) != 0)
        return -1;
    a->ingest_started = 1;
    for (i = 0; i < a->in.nwarnings; i++)
        log_msg(&a->log, LOG_WARN, "ingest", "%s", a->in.warnings[i]);
    if (c->udp_listen[0] != '\0' && start_udp(a, err, errlen) != 0)
        return -1;

    if (start_http(a, err, errlen) != 0)
        return -1;

    if (c->has_postgres) {
        if (sqlpool_init(&a->pg, &a->loop, c, err, errlen) != 0)
            return -1;
        a->has_pg = 1;
        a->pg_down_seen = mem_calloc(sqlpool_ncollectors(&a->pg) + 1, sizeof(*a->pg_down_seen));
        a->pg_up_seen = mem_calloc(sqlpool_ncollectors(&a->pg) + 1, sizeof(*a->pg_up_seen));
        sqlpool_start(&a->pg);
    }

    uv_timer_start(&a->expire_timer, on_expire_timer, EXPIRE_EVERY_MS, EXPIRE_EVERY_MS);
    uv_prepare_start(&a->turn, on_turn);
    uv_signal_start(&a->sig_term, on_signal, SIGTERM);
    uv_signal_start(&a->sig_int, on_signal, SIGINT);
    uv_signal_start(&a->sig_hup, on_signal, SIGHUP);
    return 0;
}

/* cfglint_cb: a name Prometheus's conventions flag, once at start-up. */
static void log_lint(void *arg, const char *where, const char *msg)
{
    struct app *a = arg;

    log_msg(&a->log, LOG_WARN, "config", "%s: %s: %s", a->config_path, where, msg);
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int app_run(const struct config *cfg, const char *config_path, app_load_cb load, void *load_arg)
{
    struct app *a;
    char err[1024];
    int rc;

    a = mem_calloc(1, sizeof(*a));
    log_init(&a->log, (enum log_format)log_format_parse(cfg->log_format),
             (enum log_level)log_level_parse(cfg->log_level), stderr);
    a->cfg = cfg;
    a->config_path = config_path;
    a->load = load;
    a->load_arg = load_arg;
    a->config_loaded_unix = wallclock_unix();
    a->start_unix = a->config_loaded_unix;
    uv_loop_init(&a->loop);
    uv_loop_configure(&a->loop, UV_METRICS_IDLE_TIME);
    basicauth_pool_init(&a->basic_pool, &a->loop, 0);
    tlspool_init(&a->tls_pool, &a->loop, 0, 0);
    sysd_init(&a->sysd, &a->loop);
    a->start_ms = uv_now(&a->loop);
    a->util_prev_hrtime = uv_hrtime();
    registry_init(&a->reg, cfg);
    registry_set_clock(&a->reg, wall_clock_ms, NULL);
    jobs_init(&a->jobs, cfg, a->start_ms);
    jobs_date(&a->jobs, a->start_unix);
    persist_init(&a->state, &a->loop, &a->reg, &a->jobs, &a->log, cfg->state_file,
                 cfg->state_interval);
    persist_restore(&a->state, records_max_body(cfg), a->start_ms);
    rejects_init(&a->rejects);
    intake_init(&a->intake, &a->reg, &a->jobs, &a->rejects, wall_clock, NULL);
    senders_init(&a->senders);
    track_senders(a);

    /* What --check-config warns of, said once: the config serves these names anyway. */
    cfglint_run(cfg, log_lint, a);
    err[0] = '\0';
    if (app_start(a, err, sizeof(err)) != 0) {
        log_msg(&a->log, LOG_ERROR, "app", "start-up failed: %s", err);
        a->exit_code = 1;
        app_stop(a, "start-up failure");
    } else {
        a->serving = 1;
        persist_start(&a->state);
        if (a->state.path != NULL)
            log_msg(&a->log, LOG_INFO, "state", "snapshots to %s every %.3g s, and on a clean stop",
                    a->state.path, (double)a->state.interval_ms / 1000.0);
        log_msg(&a->log, LOG_INFO, "app",
                "ustatsd %s: receiving on unix datagram socket %s (mode %04o); config %s "
                "(%zu families, %zu jobs, %zu sql metrics; DogStatsD client telemetry %s)",
                USTATSD_VERSION, cfg->socket_path, (unsigned)cfg->socket_mode, config_path,
                config_file_families(cfg), cfg->njobs, cfg->nsql_metrics,
                cfg->dogstatsd_telemetry ? "on" : "off");
        /* A short queue was already reported among the ingest warnings. */
        if (a->in.max_dgram_qlen >= INGEST_MIN_DGRAM_QLEN)
            log_msg(&a->log, LOG_INFO, "ingest", "net.unix.max_dgram_qlen is %ld",
                    a->in.max_dgram_qlen);
        for (size_t i = 0; i < a->nendpoints; i++)
            log_msg(&a->log, LOG_INFO, "http", "endpoint %s: scrape %s://%s%s",
                    a->endpoints[i].name, a->web.tls ? "https" : "http", a->endpoints[i].l->addr,
                    a->endpoints[i].path);
        if (a->metrics_l == NULL)
            log_msg(&a->log, LOG_INFO, "http", "default metrics endpoint disabled");
        web_log(a);
        if (a->debug_l != NULL)
            log_msg(&a->log, LOG_INFO, "http", "debug view on %s://%s/debug",
                    a->web.tls ? "https" : "http", a->debug_l->addr);
        if (a->in.adopted)
            log_msg(&a->log, LOG_INFO, "ingest",
                    "socket %s passed by systemd: its mode and group are the .socket unit's, "
                    "and it stays (with its queue) when the daemon stops",
                    cfg->socket_path);
        sysd_ready(&a->sysd, cfg);
    }

    uv_run(&a->loop, UV_RUN_DEFAULT);
    /* Anything still open after a failed start-up. */
    uv_walk(&a->loop, close_walk_cb, NULL);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&a->loop);
    sysd_release(&a->sysd);
    tlspool_release(&a->tls_pool);
    if (rc != 0)
        log_msg(&a->log, LOG_ERROR, "app", "uv_loop_close: %s", uv_strerror(rc));
    jobs_release(&a->jobs);
    registry_release(&a->reg);
    for (size_t i = 0; i < a->nendpoints; i++)
        svcproc_release(&a->endpoints[i].svc);
    senders_release(&a->senders);
    web_release(&a->web);
    app_config_unref(a->gen);
    /* What this process read: with a passed socket, the rest waits for the next one. */
    if (a->exit_code == 0)
        log_msg(&a->log, LOG_INFO, "app", "stopped; %llu datagrams received on the unix socket",
                (unsigned long long)a->in.stats.datagrams);
    rc = a->exit_code;
    free(a->pg_down_seen);
    free(a->pg_up_seen);
    log_release(&a->log);
    free(a);
    return rc;
}

int app_check_web(const struct config *c, char *err, size_t errlen)
{
    struct app_web web;

    if (web_load(&web, c->web_config_file, NULL, err, errlen) != 0)
        return ERRCODE_CONFIG;
    web_release(&web);
    return 0;
}

int app_check_tokens(const struct config *c, char *err, size_t errlen)
{
    struct app_tokens *t = mem_alloc(sizeof(*t));
    int rc = tokens_read(t, c, err, errlen);

    /* Secrets do not outlive the check. */
    explicit_bzero(t, sizeof(*t));
    free(t);
    return rc != 0 ? ERRCODE_CONFIG : 0;
}
