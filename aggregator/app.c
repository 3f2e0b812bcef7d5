#include "app.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "buf.h"
#include "common.h"
#include "debug.h"
#include "expo.h"
#include "http.h"
#include "ingest.h"
#include "jobs.h"
#include "log.h"
#include "mem.h"
#include "pg.h"
#include "procstat.h"
#include "registry.h"
#include "rejects.h"
#include "render.h"
#include "stats.h"
#include "statsd.h"
#include "wallclock.h"

/*
 * Work per loop iteration. A scrape renders at most RENDER_STEP series or about
 * RENDER_PIECE_BYTES per piece and then yields the loop, so that ingestion runs between
 * pieces: a piece, gzip included, holds the loop about a millisecond. Expiry looks at
 * EXPIRE_BUDGET series per tick.
 */
#define RENDER_STEP        2000
#define RENDER_SUBSTEP     250
#define RENDER_PIECE_BYTES (128 * 1024)
#define EXPIRE_EVERY_MS    50
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
#define EXPIRE_BUDGET   2000
#define SCRAPE_MARGIN_S 0.25 /* kept from X-Prometheus-Scrape-Timeout-Seconds */

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

/* A reload in flight: the file is read and checked on a worker thread. */
struct reload {
    uv_work_t req;
    struct app *a;
    struct app_config *next;
    int rc;
    char err[1024];
};

struct app {
    uv_loop_t loop;
    const struct config *cfg; /* the running config: gen's, or the start-up one */
    struct app_config *gen;   /* NULL while the start-up config runs */
    const char *config_path;
    app_load_fn load;
    void *load_arg;
    struct reload *reload; /* in flight, or NULL */
    int reload_again;      /* a SIGHUP came during it, or during a drain */
    uint64_t reloads_ok;
    uint64_t reloads_failed;
    double last_reload_ok_unix; /* start-up, or the last reload that succeeded */
    char reload_error[1024];    /* why the last reload failed; "" before any, or after a success */
    double config_loaded_unix;
    double start_unix;
    uint64_t start_ms;

    struct registry reg;
    struct jobs jobs;
    struct stats stats;
    struct rejects rejects;
    struct log log;

    struct ingest in;
    int ingest_started;
    struct http_server metrics;
    struct http_server debug;
    int has_metrics;
    int has_debug; /* the separate debug listener */
    char metrics_addr[160];
    char debug_addr[160];
    struct pg pg;
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

/* One line of a datagram, whatever it holds; found: its cached identity, or NULL. */
static void take_line(struct app *a, const struct statsd_parts *lp,
                      const struct registry_hit *found, uint64_t now_ms, const struct ucred *cred)
{
    const struct statsd_view v = lp->line;
    struct statsd_line line;
    int r;

    if (v.len == 0)
        return;
    /* A line whose identity the registry has seen needs only its values parsed. */
    r = found != NULL ? registry_apply_found(&a->reg, found, lp, now_ms) : REGISTRY_MISS;
    if (r == REGISTRY_MISS) {
        r = statsd_parse_line(v.ptr, v.len, &line);
        if (r == STATSD_OK)
            r = line.type == STATSD_JOB ? jobs_report(&a->jobs, &line, now_ms, wallclock_unix())
                                        : registry_apply(&a->reg, &line, now_ms);
    }
    if (r == STATSD_OK) {
        a->stats.lines_accepted++;
        return;
    }
    a->stats.lines_rejected[r]++;
    rejects_add(&a->rejects, wallclock_unix(), r, v.ptr, v.len, cred != NULL, cred ? cred->pid : 0,
                cred ? cred->uid : 0);
}

/*
 * The hot path: every datagram, every line. Nothing here allocates. Lines are split and
 * looked up in the front cache up to REGISTRY_FIND_MAX at a time, then taken in order.
 */
static void on_datagram(struct ingest *in, const char *data, size_t len, const struct ucred *cred,
                        void *arg)
{
    struct app *a = arg;
    struct statsd_parts lp[REGISTRY_FIND_MAX];
    const struct registry_hit *found[REGISTRY_FIND_MAX];
    struct statsd_scanner scan;
    uint64_t now_ms = uv_now(&a->loop);
    size_t n, i;

    (void)in;
    statsd_scanner_init(&scan, data, len);
    do {
        n = statsd_scanner_fill(&scan, lp, REGISTRY_FIND_MAX);
        registry_find_parts(&a->reg, lp, n, found);
        for (i = 0; i < n; i++)
            take_line(a, &lp[i], found[i], now_ms, cred);
    } while (n == REGISTRY_FIND_MAX);
}

/* --- /metrics ------------------------------------------------------------------------ */

enum scrape_phase { SCRAPE_HEAD, SCRAPE_SERIES, SCRAPE_SQL, SCRAPE_DONE };

struct scrape {
    struct app *a;
    struct http_conn *conn;
    enum expo_format fmt;
    enum scrape_phase phase;
    struct render rd;
    uint64_t t0_ns;
    int pg_waiting;
};

/*
 * Log each collector's change of state once: down with the reason (the metrics only say
 * "query" or "connect"; the log says "relation does not exist"), and back up.
 */
static void log_pg_changes(struct app *a)
{
    size_t i;

    for (i = 0; i < pg_ncollectors(&a->pg); i++) {
        struct pg_collector_info ci;
        pg_collector_info(&a->pg, i, &ci);
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

static void on_pg_collected(struct pg *pg, void *arg, int status)
{
    struct scrape *sc = arg;

    (void)pg;
    (void)status; /* a failed or late collector shows in ustatsd_sql_collector_up */
    log_pg_changes(sc->a);
    sc->pg_waiting = 0;
    http_resume(sc->conn);
}

static void scrape_free(struct scrape *sc)
{
    render_release(&sc->rd);
    free(sc);
}

static void on_scrape_cancel(void *arg)
{
    struct scrape *sc = arg;

    if (sc->pg_waiting)
        pg_collect_cancel(&sc->a->pg, on_pg_collected, sc);
    scrape_free(sc);
}

static void render_requests(const char *handler, unsigned code, uint64_t count, void *arg)
{
    struct expo *e = arg;
    char codebuf[8];
    struct expo_label l[2] = {
        { "handler", handler, strlen(handler) },
        { "code", codebuf, 0 },
    };

    l[1].value_len = (size_t)snprintf(codebuf, sizeof(codebuf), "%u", code);
    expo_sample(e, "_total", l, 2, (double)count);
}

static void render_http(struct app *a, struct expo *e)
{
    const struct http_server *srv[2] = { a->has_metrics ? &a->metrics : NULL,
                                         a->has_debug ? &a->debug : NULL };
    const char *listener[2] = { "metrics", "debug" };
    size_t i, k;

    expo_family(e, "ustatsd_http_requests", EXPO_COUNTER,
                "HTTP requests by handler and status code.", "");
    for (i = 0; i < 2; i++)
        if (srv[i])
            http_server_foreach_requests(srv[i], render_requests, e);
    expo_family(e, "ustatsd_http_limit_violations", EXPO_COUNTER,
                "HTTP clients disconnected for breaking a limit, by listener and kind.", "");
    for (i = 0; i < 2; i++) {
        const struct http_stats *st;
        if (srv[i] == NULL)
            continue;
        st = http_server_stats(srv[i]);
        for (k = 0; k < HTTP_LIMIT_COUNT; k++) {
            const char *kind = http_limit_name((enum http_limit)k);
            struct expo_label l[2] = { { "listener", listener[i], strlen(listener[i]) },
                                       { "kind", kind, strlen(kind) } };
            expo_sample(e, "_total", l, 2, (double)st->limits[k]);
        }
    }
}

static void render_reloads(struct app *a, struct expo *e)
{
    static const struct expo_label ok = { "result", "success", 7 };
    static const struct expo_label failed = { "result", "failure", 7 };

    expo_family(e, "ustatsd_config_reloads", EXPO_COUNTER,
                "Configuration reloads (SIGHUP), by result.", "");
    expo_sample(e, "_total", &ok, 1, (double)a->reloads_ok);
    expo_sample(e, "_total", &failed, 1, (double)a->reloads_failed);
    expo_scalar(e, "ustatsd_config_last_reload_successful", EXPO_GAUGE,
                "Whether the last configuration reload succeeded (1 before any).", "",
                a->reload_error[0] == '\0');
    expo_scalar(e, "ustatsd_config_last_reload_success_timestamp_seconds", EXPO_GAUGE,
                "When the running configuration was loaded, at start-up or by a reload.", "seconds",
                a->last_reload_ok_unix);
}

static void render_target_info(struct app *a, struct expo *e)
{
    struct expo_label l[CONFIG_MAX_RESOURCE_ATTRS];
    char names[CONFIG_MAX_RESOURCE_ATTRS][CONFIG_MAX_RESOURCE_KEY + 1];
    size_t i, n = 0, k;

    if (a->cfg->nresource == 0)
        return;
    /* OpenTelemetry resource attributes: "service.name" becomes label service_name. */
    for (i = 0; i < a->cfg->nresource && n < CONFIG_MAX_RESOURCE_ATTRS; i++, n++) {
        snprintf(names[n], sizeof(names[n]), "%s", a->cfg->resource[i].key);
        for (k = 0; names[n][k]; k++)
            if (names[n][k] == '.' || names[n][k] == '-')
                names[n][k] = '_';
        l[n] = (struct expo_label){ names[n], a->cfg->resource[i].value,
                                    strlen(a->cfg->resource[i].value) };
    }
    expo_family(e, "target", EXPO_INFO, "Target metadata (OpenTelemetry resource attributes).", "");
    expo_sample(e, "_info", l, n, 1);
}

/* A gauge with one sample per family of the running config, valued by value_of. */
static void render_per_family(struct app *a, struct expo *e, const char *name, const char *help,
                              size_t (*value_of)(const struct registry *, size_t))
{
    size_t f;

    expo_family(e, name, EXPO_GAUGE, help, "");
    for (f = 0; f < registry_nfamilies(&a->reg); f++) {
        const struct config_family *cf = registry_family_config(&a->reg, f);
        struct expo_label fl;

        if (cf == NULL)
            continue;
        fl = (struct expo_label){ "family", cf->name, strlen(cf->name) };
        expo_sample(e, "", &fl, 1, (double)value_of(&a->reg, f));
    }
}

static void render_daemon(struct app *a, struct expo *e)
{
    const struct ingest_stats *is = &a->in.stats;
    struct expo_label l = { "version", USTATSD_VERSION, strlen(USTATSD_VERSION) };
    struct procstat ps;
    uint64_t idle_ns, hr;

    render_target_info(a, e);
    expo_family(e, "ustatsd_build", EXPO_INFO, "ustatsd build information.", "");
    expo_sample(e, "_info", &l, 1, 1);

    expo_scalar(e, "ustatsd_datagrams_received", EXPO_COUNTER,
                "Datagrams received on the ingest socket.", "", (double)is->datagrams);
    expo_scalar(e, "ustatsd_bytes_received", EXPO_COUNTER,
                "Bytes received in datagrams on the ingest socket.", "", (double)is->bytes);
    expo_scalar(e, "ustatsd_datagrams_truncated", EXPO_COUNTER,
                "Datagrams larger than the datagram limit, dropped whole.", "",
                (double)is->truncated);
    expo_scalar(e, "ustatsd_unix_max_dgram_qlen", EXPO_GAUGE,
                "net.unix.max_dgram_qlen when the ingest socket was created (-1: unknown).", "",
                (double)a->in.max_dgram_qlen);
    stats_render(&a->stats, e);

    render_per_family(a, e, "ustatsd_family_series", "Series held, by family.",
                      registry_family_series);
    render_per_family(a, e, "ustatsd_family_series_limit", "Series cap, by family.",
                      registry_family_cap);
    expo_scalar(e, "ustatsd_series", EXPO_GAUGE, "Series held in all families.", "",
                (double)registry_series_total(&a->reg));
    expo_scalar(e, "ustatsd_series_limit", EXPO_GAUGE, "Series cap over all families.", "",
                (double)registry_series_cap(&a->reg));

    render_http(a, e);
    render_reloads(a, e);

    /* Utilisation since the previous scrape: 1 - idle time / wall time. */
    idle_ns = uv_metrics_idle_time(&a->loop);
    hr = uv_hrtime();
    if (hr > a->util_prev_hrtime && idle_ns >= a->util_prev_idle_ns) {
        double busy =
            1.0 - (double)(idle_ns - a->util_prev_idle_ns) / (double)(hr - a->util_prev_hrtime);
        a->util_last = busy < 0 ? 0 : busy > 1 ? 1 : busy;
    }
    a->util_prev_idle_ns = idle_ns;
    a->util_prev_hrtime = hr;
    expo_scalar(e, "ustatsd_event_loop_utilization", EXPO_GAUGE,
                "Share of time the event loop was busy since the previous scrape (0 to 1).",
                "ratio", a->util_last);
    expo_scalar(e, "ustatsd_event_loop_idle_seconds", EXPO_COUNTER,
                "Time the event loop spent waiting for events.", "seconds", (double)idle_ns / 1e9);

    if (procstat_read(&ps) == 0)
        procstat_render(&ps, e);
}

static int produce_scrape(struct http_conn *conn, struct buf *out, void *arg)
{
    struct scrape *sc = arg;
    struct app *a = sc->a;
    struct expo e;

    (void)conn;
    expo_init(&e, out, sc->fmt);
    switch (sc->phase) {
    case SCRAPE_HEAD:
        render_daemon(a, &e);
        jobs_render(&a->jobs, &e, uv_now(&a->loop));
        sc->phase = SCRAPE_SERIES;
        return HTTP_MORE;
    case SCRAPE_SERIES: {
        /*
         * A piece ends at RENDER_STEP series or RENDER_PIECE_BYTES, whichever comes first:
         * 2000 counters are ~120 KB, but 2000 histograms with 12 buckets are ~2.7 MB,
         * whose gzip alone would hold the loop for ~10 ms.
         */
        size_t done = 0;
        int more = 1;
        while (more && done < RENDER_STEP && out->len < RENDER_PIECE_BYTES) {
            more = render_step(&sc->rd, out, RENDER_SUBSTEP);
            done += RENDER_SUBSTEP;
        }
        if (more)
            return HTTP_MORE;
        sc->phase = SCRAPE_SQL;
    }
        /* fall through */
    case SCRAPE_SQL:
        if (sc->pg_waiting)
            return HTTP_WAIT;
        if (a->has_pg)
            pg_render(&a->pg, &e, wallclock_unix());
        expo_eof(&e);
        sc->phase = SCRAPE_DONE;
        stats_scrape(&a->stats, (double)(uv_hrtime() - sc->t0_ns) / 1e9);
        scrape_free(sc);
        return HTTP_DONE;
    case SCRAPE_DONE:
        break;
    }
    return HTTP_DONE;
}

/* How long a scrape may wait for the SQL collectors, in ms. */
static uint64_t scrape_deadline_ms(const struct app *a, const struct http_request *req)
{
    double limit = 0, v;
    char *end;
    size_t i;

    for (i = 0; i < a->cfg->nsql_metrics; i++)
        if (a->cfg->sql_metrics[i].timeout_seconds > limit)
            limit = a->cfg->sql_metrics[i].timeout_seconds;
    if (limit <= 0)
        limit = CONFIG_DEFAULT_SQL_TIMEOUT;
    if (req->scrape_timeout[0]) {
        v = strtod(req->scrape_timeout, &end);
        if (end != req->scrape_timeout && isfinite(v) && v > 0) {
            v -= v > 4 * SCRAPE_MARGIN_S ? SCRAPE_MARGIN_S : v / 4;
            if (v < limit)
                limit = v;
        }
    }
    return (uint64_t)(limit * 1000.0);
}

static void on_metrics(struct http_conn *conn, const struct http_request *req, void *arg)
{
    struct app *a = arg;
    enum expo_format fmt = expo_negotiate(req->accept);
    struct scrape *sc;

    sc = mem_calloc(1, sizeof(*sc));
    sc->a = a;
    sc->conn = conn;
    sc->fmt = fmt;
    sc->phase = SCRAPE_HEAD;
    sc->t0_ns = uv_hrtime();
    render_init(&sc->rd, &a->reg, fmt);
    if (http_stream(conn, 200, expo_content_type(fmt), HTTP_GZIP, produce_scrape, on_scrape_cancel,
                    sc) != 0) {
        scrape_free(sc);
        http_respond(conn, 500, "text/plain; charset=utf-8", "internal error\n", 15, 0, NULL);
        return;
    }
    /* HEAD gets GET's headers from the stream, which is then cancelled: no SQL. */
    if (!req->head && a->has_pg &&
        pg_collect(&a->pg, scrape_deadline_ms(a, req), on_pg_collected, sc) == 0)
        sc->pg_waiting = 1;
}

/* --- /debug -------------------------------------------------------------------------- */

struct debug_req {
    struct app *a;
    struct app_config *gen; /* the config the render borrows, when a reload loaded it */
    struct debug_render dr;
};

static void app_config_unref(struct app_config *gen)
{
    if (gen == NULL || --gen->refs > 0)
        return;
    config_release(&gen->c);
    free(gen);
}

static int produce_debug(struct http_conn *conn, struct buf *out, void *arg)
{
    struct debug_req *d = arg;

    (void)conn;
    if (debug_render_step(&d->dr, out))
        return HTTP_MORE;
    debug_render_release(&d->dr);
    app_config_unref(d->gen);
    free(d);
    return HTTP_DONE;
}

static void on_debug_cancel(void *arg)
{
    struct debug_req *d = arg;

    debug_render_release(&d->dr);
    app_config_unref(d->gen);
    free(d);
}

static void on_debug(struct http_conn *conn, const struct http_request *req, void *arg)
{
    struct app *a = arg;
    const struct config *c = a->cfg;
    struct debug_query q;
    struct debug_daemon dd;
    struct debug_req *d;
    char err[512];

    if (debug_query_parse(&q, c, req->query, err, sizeof(err)) != 0) {
        struct buf body = BUF_INIT;
        debug_error_json(&body, err);
        http_respond(conn, 400, "application/json", body.ptr, body.len, 0, NULL);
        buf_release(&body);
        return;
    }
    memset(&dd, 0, sizeof(dd));
    dd.version = USTATSD_VERSION;
    dd.config_path = a->config_path;
    dd.config_loaded_unix = a->config_loaded_unix;
    dd.start_unix = a->start_unix;
    dd.now_unix = wallclock_unix();
    dd.start_ms = a->start_ms;
    dd.now_ms = uv_now(&a->loop);
    dd.socket_path = c->socket_path;
    dd.socket_mode = c->socket_mode;
    dd.max_dgram_qlen = a->in.max_dgram_qlen;
    dd.rcvbuf = a->in.rcvbuf;
    dd.metrics_listen = a->has_metrics ? a->metrics_addr : "";
    dd.metrics_path = c->metrics_path;
    dd.debug_listen = a->has_debug ? a->debug_addr : a->has_metrics ? a->metrics_addr : "";
    dd.datagrams = a->in.stats.datagrams;
    dd.bytes = a->in.stats.bytes;
    dd.truncated = a->in.stats.truncated;
    dd.recv_errors = a->in.stats.recv_errors;
    dd.reloads_ok = a->reloads_ok;
    dd.reloads_failed = a->reloads_failed;
    dd.reload_error = a->reload_error[0] ? a->reload_error : NULL;

    d = mem_calloc(1, sizeof(*d));
    d->a = a;
    d->gen = a->gen;
    if (d->gen != NULL)
        d->gen->refs++;
    debug_render_init(&d->dr, &q, &dd, c, &a->reg, &a->jobs, &a->stats, &a->rejects);
    if (http_stream(conn, 200, "application/json", HTTP_GZIP, produce_debug, on_debug_cancel, d) !=
        0) {
        on_debug_cancel(d);
        http_respond(conn, 500, "application/json", "{\"error\":\"internal\"}\n", 20, 0, NULL);
    }
}

static void debug_routes(struct app *a, struct http_server *srv)
{
    http_server_route(srv, "/debug", "debug", on_debug, a);
}

/* --- health, readiness ---------------------------------------------------------------- */

static void on_healthy(struct http_conn *conn, const struct http_request *req, void *arg)
{
    static const char body[] = "ustatsd is Healthy.\n";

    (void)req;
    (void)arg;
    http_respond(conn, 200, "text/plain; charset=utf-8", body, sizeof(body) - 1, 0, NULL);
}

static void on_ready(struct http_conn *conn, const struct http_request *req, void *arg)
{
    static const char ready[] = "ustatsd is Ready.\n";
    static const char stopping[] = "ustatsd is shutting down.\n";
    struct app *a = arg;

    (void)req;
    if (a->stopping || !a->ingest_started)
        http_respond(conn, 503, "text/plain; charset=utf-8", stopping, sizeof(stopping) - 1, 0,
                     NULL);
    else
        http_respond(conn, 200, "text/plain; charset=utf-8", ready, sizeof(ready) - 1, 0, NULL);
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
        stats_loop_iteration(&a->stats, wall > waited ? wall - waited : 0);
    a->turn_prev_hrtime = hr;
    a->turn_prev_idle_ns = idle_ns;
}

static void on_ingest_closed(struct ingest *in)
{
    (void)in;
}

static void on_http_closed(struct http_server *srv)
{
    (void)srv;
}

static void on_pg_closed(struct pg *pg)
{
    (void)pg;
}

static void app_stop(struct app *a, const char *why)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    log_msg(&a->log, LOG_INFO, "app", "%s: stopping", why);
    if (a->ingest_started)
        ingest_close(&a->in, on_ingest_closed);
    if (a->has_metrics)
        http_server_close(&a->metrics, on_http_closed);
    if (a->has_debug)
        http_server_close(&a->debug, on_http_closed);
    if (a->has_pg)
        pg_close(&a->pg, on_pg_closed);
    uv_close((uv_handle_t *)&a->expire_timer, on_handle_closed);
    uv_close((uv_handle_t *)&a->turn, on_handle_closed);
    uv_close((uv_handle_t *)&a->sig_term, on_handle_closed);
    uv_close((uv_handle_t *)&a->sig_int, on_handle_closed);
    uv_close((uv_handle_t *)&a->sig_hup, on_handle_closed);
}

/* --- reload ---------------------------------------------------------------------------- */

static void reload_work(uv_work_t *req)
{
    struct reload *r = container_of(req, struct reload, req);

    r->rc = r->a->load(&r->next->c, r->a->load_arg, r->err, sizeof(r->err));
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

    registry_reconfigure(&a->reg, &next->c, &rr);
    jobs_reconfigure(&a->jobs, &next->c, uv_now(&a->loop));
    next->refs = 1;
    a->gen = next;
    a->cfg = &next->c;
    app_config_unref(old);
    if (fmt >= 0)
        a->log.fmt = (enum log_format)fmt;
    if (level >= 0)
        a->log.min = (enum log_level)level;
    a->reloads_ok++;
    a->reload_error[0] = '\0';
    a->config_loaded_unix = a->last_reload_ok_unix = wallclock_unix();
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
            reload_apply(a, r->next);
            r->next = NULL;
        }
    }
    if (r->next != NULL) { /* not swapped in; a failed load left it zeroed */
        config_release(&r->next->c);
        free(r->next);
    }
    free(r);
    reload_pending(a);
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
        return;
    }
    a->reload = r;
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct app *a = s->data;

    if (signum == SIGHUP) {
        app_reload(a);
        return;
    }
    app_stop(a, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int read_token(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "bearer token file %s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "bearer token file %s: empty", path);
        return -1;
    }
    return 0;
}

/* Routes of a listener; the metrics one also carries /debug unless it has its own. */
static int start_listener(struct app *a, struct http_server *srv, const char *addr, int metrics,
                          int debug, const char *token, char *out_addr, size_t out_len, char *err,
                          size_t errlen)
{
    http_server_init(srv, &a->loop, NULL);
    if (metrics) {
        http_server_route(srv, a->cfg->metrics_path, "metrics", on_metrics, a);
        http_server_route(srv, "/-/healthy", "healthy", on_healthy, a);
        http_server_route(srv, "/-/ready", "ready", on_ready, a);
    }
    if (debug)
        debug_routes(a, srv);
    if (token && http_server_set_bearer(srv, token) != 0) {
        snprintf(err, errlen, "bearer token: must be printable ASCII, at most %d bytes",
                 HTTP_MAX_TOKEN);
        return -1;
    }
    if (http_server_listen(srv, addr, err, errlen) != 0)
        return -1;
    http_server_address(srv, out_addr, out_len);
    return 0;
}

static int app_start(struct app *a, char *err, size_t errlen)
{
    const struct config *c = a->cfg;
    struct ingest_config icfg = { 0 };
    char token[HTTP_MAX_TOKEN + 2];
    const char *tok = NULL;
    size_t i;

    /* Initialised before anything can fail, so that app_stop() can always close them. */
    uv_timer_init(&a->loop, &a->expire_timer);
    uv_prepare_init(&a->loop, &a->turn);
    uv_signal_init(&a->loop, &a->sig_term);
    uv_signal_init(&a->loop, &a->sig_int);
    uv_signal_init(&a->loop, &a->sig_hup);
    a->sig_term.data = a->sig_int.data = a->sig_hup.data = a;

    if (c->bearer_token_file) {
        if (read_token(c->bearer_token_file, token, sizeof(token), err, errlen) != 0)
            return -1;
        tok = token;
    }

    icfg.path = c->socket_path;
    icfg.mode = c->socket_mode;
    icfg.group = c->socket_group;
    icfg.budget = INGEST_BUDGET;
    icfg.budget_ns = INGEST_BUDGET_NS;
    ingest_init(&a->in, &a->loop, &icfg, on_datagram, a);
    if (ingest_start(&a->in, err, errlen) != 0)
        return -1;
    a->ingest_started = 1;
    for (i = 0; i < a->in.nwarnings; i++)
        log_msg(&a->log, LOG_WARN, "ingest", "%s", a->in.warnings[i]);

    if (c->metrics_listen && c->metrics_listen[0]) {
        int debug_here = c->debug_listen == NULL;
        a->has_metrics = 1;
        if (start_listener(a, &a->metrics, c->metrics_listen, 1, debug_here, tok, a->metrics_addr,
                           sizeof(a->metrics_addr), err, errlen) != 0)
            return -1;
    }
    if (c->debug_listen && c->debug_listen[0]) {
        a->has_debug = 1;
        if (start_listener(a, &a->debug, c->debug_listen, 0, 1, tok, a->debug_addr,
                           sizeof(a->debug_addr), err, errlen) != 0)
            return -1;
    }

    if (c->has_postgres) {
        if (pg_init(&a->pg, &a->loop, c, err, errlen) != 0)
            return -1;
        a->has_pg = 1;
        a->pg_down_seen = mem_calloc(pg_ncollectors(&a->pg) + 1, sizeof(*a->pg_down_seen));
        a->pg_up_seen = mem_calloc(pg_ncollectors(&a->pg) + 1, sizeof(*a->pg_up_seen));
        pg_start(&a->pg);
    }

    uv_timer_start(&a->expire_timer, on_expire_timer, EXPIRE_EVERY_MS, EXPIRE_EVERY_MS);
    uv_prepare_start(&a->turn, on_turn);
    uv_signal_start(&a->sig_term, on_signal, SIGTERM);
    uv_signal_start(&a->sig_int, on_signal, SIGINT);
    uv_signal_start(&a->sig_hup, on_signal, SIGHUP);
    return 0;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int app_run(const struct config *cfg, const char *config_path, app_load_fn load, void *load_arg)
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
    a->last_reload_ok_unix = a->config_loaded_unix;
    a->start_unix = a->config_loaded_unix;
    uv_loop_init(&a->loop);
    uv_loop_configure(&a->loop, UV_METRICS_IDLE_TIME);
    a->start_ms = uv_now(&a->loop);
    a->util_prev_hrtime = uv_hrtime();
    registry_init(&a->reg, cfg);
    jobs_init(&a->jobs, cfg, a->start_ms);
    rejects_init(&a->rejects);

    err[0] = '\0';
    if (app_start(a, err, sizeof(err)) != 0) {
        log_msg(&a->log, LOG_ERROR, "app", "start-up failed: %s", err);
        a->exit_code = 1;
        app_stop(a, "start-up failure");
    } else {
        log_msg(&a->log, LOG_INFO, "app",
                "ustatsd %s: receiving on unix datagram socket %s (mode %04o); config %s "
                "(%zu families, %zu jobs, %zu sql metrics)",
                USTATSD_VERSION, cfg->socket_path, (unsigned)cfg->socket_mode, config_path,
                cfg->nfamilies, cfg->njobs, cfg->nsql_metrics);
        /* A short queue was already reported among the ingest warnings. */
        if (a->in.max_dgram_qlen >= INGEST_MIN_DGRAM_QLEN)
            log_msg(&a->log, LOG_INFO, "ingest", "net.unix.max_dgram_qlen is %ld",
                    a->in.max_dgram_qlen);
        if (a->has_metrics)
            log_msg(&a->log, LOG_INFO, "http", "scrape http://%s%s (OpenMetrics or text 0.0.4)",
                    a->metrics_addr, cfg->metrics_path);
        else
            log_msg(&a->log, LOG_INFO, "http", "metrics listener disabled");
        if (a->has_debug)
            log_msg(&a->log, LOG_INFO, "http", "debug view on http://%s/debug", a->debug_addr);
    }

    uv_run(&a->loop, UV_RUN_DEFAULT);
    /* Anything still open after a failed start-up. */
    uv_walk(&a->loop, close_walk_cb, NULL);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&a->loop);
    if (rc != 0)
        log_msg(&a->log, LOG_ERROR, "app", "uv_loop_close: %s", uv_strerror(rc));
    jobs_release(&a->jobs);
    registry_release(&a->reg);
    app_config_unref(a->gen);
    if (a->exit_code == 0)
        log_msg(&a->log, LOG_INFO, "app", "stopped");
    rc = a->exit_code;
    free(a->pg_down_seen);
    free(a->pg_up_seen);
    log_release(&a->log);
    free(a);
    return rc;
}
