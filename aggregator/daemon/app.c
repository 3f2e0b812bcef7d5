#include "daemon/app.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "base/common.h"
#include "base/counted.h"
#include "base/mem.h"
#include "base/wallclock.h"
#include "expose/procfs.h"
#include "config/cfglint.h"
#include "daemon/internal.h"
#include "handler/health.h"
#include "handler/home.h"
#include "handler/inspect.h"
#include "handler/learnview.h"
#include "handler/metrics.h"
#include "handler/snapshot.h"
#include "state/records.h"
#include "statsd.h"

/*
 * Work per loop iteration. A scrape renders a piece of series and then yields the loop
 * (scrape.h), so that ingestion runs between pieces. Expiry and the drain of what a
 * reload retired run in slices of at most EXPIRE_SLICE_NS.
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
 * An expiry tick frees series of the families a reload retired (registry_drain) for at
 * most EXPIRE_SLICE_NS, in steps of EXPIRE_STEP series.
 *
 * Otherwise it sweeps (registry_sweep) in steps of SWEEP_STEP series for at most
 * EXPIRE_SLICE_NS, and while the sweep has more to do (a mass expiry, tables to shrink)
 * an idle handle gives it a slice on every turn of the loop, between the drains of the
 * sockets: expiry keeps up with the rate at which series can be created, and no turn
 * holds it for more than a slice. A slice may give back dead tables a step each call (the
 * turn's allowance, loopturn.h, is for the drains): its clock bounds them. Once a sweep
 * that freed at least TRIM_BYTES is done, malloc_trim() gives the freed pages back to the
 * system (glibc keeps them otherwise).
 *
 * The slice looks at its clock after each step. At 10M series one call of 256 (126 of them
 * expired) took 17.3 ms, nearly all of it single loads from the tables, as the sweep first
 * touched memory the loop had left alone for minutes: a step of 32 bounds what such loads
 * add to a slice to an eighth (bench_sweep sets the machine's own writes beside it).
 */
#define EXPIRE_STEP     256
#define SWEEP_STEP      32
#define EXPIRE_SLICE_NS 1000000
#define TRIM_BYTES      ((size_t)16 << 20)

static const int app_signums[APP_NSIGNALS] = { SIGTERM, SIGINT, SIGHUP };

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
    intake_datagram(&a->site.intake, data, len, cred != NULL || src != NULL ? &from : NULL,
                    uv_now(&a->loop));
}

/* A datagram of the batch that on_datagram() will get soon (ingest_hint_cb). */
static void on_hint(const char *data, size_t len, enum ingest_hint_step step, void *arg)
{
    struct app *a = arg;

    /* A slot for the datagram delivered and each one scanned ahead of it. */
    _Static_assert(INTAKE_STAGED == INGEST_HINT_SCAN_AHEAD + 1, "a slot a scanned datagram");

    intake_stage(&a->site.intake, data, len,
                 step == INGEST_HINT_SCAN    ? INTAKE_SCAN
                 : step == INGEST_HINT_FETCH ? INTAKE_FETCH
                                             : INTAKE_FORGET);
}

/*
 * malloc_trim() walks the allocator's free chunks and returns their pages: 2 to 20 ms
 * after a million series expired, so it runs on a worker thread, not on the loop (the
 * loop's own allocations wait for it only if they need the main arena's lock meanwhile).
 * On libuv's pool, at the loop's priority, not on the background thread (base/bgwork.h):
 * a thread that holds an arena's lock must not be left waiting for its CPU.
 */
static void trim_work(uv_work_t *w)
{
    (void)w;
    mem_trim();
}

static void trim_done(uv_work_t *w, int status)
{
    struct app *a = container_of(w, struct app, trim);

    (void)status;
    a->trimming = 0;
    a->site.freeing = uv_is_active((uv_handle_t *)&a->expire_more);
}

/*
 * One slice of the sweep. Returns 1 while it has more to do; once done, gives memory back
 * to the system when the sweep freed a lot of it.
 */
static int expire_slice(void *arg)
{
    struct app *a = arg;
    struct registry *reg = &a->site.reg;
    uint64_t start = uv_hrtime();
    size_t mem, left = counted_release_allow(SIZE_MAX);
    int more;

    do
        registry_sweep(reg, uv_now(&a->loop), SWEEP_STEP, &more);
    while (more && uv_hrtime() - start < EXPIRE_SLICE_NS);
    counted_release_allow(left);
    mem = registry_memory(reg);
    if (mem > a->expire_peak)
        a->expire_peak = mem;
    a->site.freeing = more || a->trimming;
    if (more)
        return 1;
    if (a->expire_peak - mem >= TRIM_BYTES && !a->trimming &&
        uv_queue_work(&a->loop, &a->trim, trim_work, trim_done) == 0) {
        a->trimming = 1;
        a->site.freeing = 1;
        a->expire_peak = mem;
    }
    return 0;
}

/*
 * A tick's slice of the drain of what a reload retired: at most EXPIRE_SLICE_NS, about
 * as many series as the 2,000 a tick it freed before, whose 1.4 to 3 ms came on top of an
 * ingest drain's turn. Once none remains, a reload deferred meanwhile starts.
 */
static void drain_slice(struct app *a)
{
    struct registry *reg = &a->site.reg;
    uint64_t start = uv_hrtime();
    size_t left = counted_release_allow(SIZE_MAX); /* as a sweep's slice */

    do
        registry_drain(reg, EXPIRE_STEP);
    while (registry_draining(reg) && uv_hrtime() - start < EXPIRE_SLICE_NS);
    counted_release_allow(left);
    if (!registry_draining(reg))
        reload_pending(a);
}

/* A slice on each turn while the sweep has more, but the tick's turn (expiresched.h). */
static void on_expire_more(uv_idle_t *h)
{
    struct app *a = container_of(h, struct app, expire_more);

    if (!expiresched_idle(&a->expire_sched))
        uv_idle_stop(h);
}

/* /proc/<pid>/exe of a sender, for the summary of rejects. */
static const char *sender_exe(pid_t pid, char *buf, size_t cap, void *arg)
{
    (void)arg;
    return procfs_read_exe(pid, buf, cap) > 0 ? buf : NULL;
}

/* The summary of rejects, once due (rejectlog.h); its interval follows reloads. */
static void log_rejects(struct app *a)
{
    uint64_t now = uv_now(&a->loop);
    struct buf msg = BUF_INIT;

    rejectlog_set_interval(&a->rejectlog,
                           (uint64_t)(a->site.cfg->reject_log_interval * 1000.0 + 0.5));
    if (!rejectlog_due(&a->rejectlog, now))
        return;
    rejectlog_take(&a->rejectlog, now, sender_exe, NULL, &msg);
    log_msg(&a->log, LOG_WARN, "ingest", "%.*s", (int)msg.len, msg.ptr);
    buf_release(&msg);
}

/* The linger of daemon.credentials_linger_seconds, in ms. */
static uint64_t cred_linger_ms(const struct app *a)
{
    return (uint64_t)(a->site.cfg->credentials_linger * 1000.0 + 0.5);
}

/* Whether the Unix socket asks for senders' credentials, as credwant.h decides. */
static void ask_credentials(struct app *a)
{
    struct site *s = &a->site;
    int needed = s->cfg->nwriters != 0 || s->intake.senders != NULL, on, rc;

    on = credwant_decide(&a->creds, needed, intake_rejected_total(&s->intake.count),
                         uv_now(&a->loop), cred_linger_ms(a));
    if (!s->ingest_started || on == s->in.passcred)
        return;
    if ((rc = ingest_passcred(&s->in, on)) != 0) {
        log_msg(&a->log, LOG_WARN, "ingest", "setsockopt(SO_PASSCRED, %d) on %s: %s", on,
                s->in.path, strerror(-rc));
        return;
    }
    if (on)
        log_msg(&a->log, LOG_INFO, "ingest", "asking for the senders of datagrams on %s again%s",
                s->in.path, needed ? "" : ": a line was refused, or the config reloaded");
    else
        log_msg(&a->log, LOG_INFO, "ingest",
                "no longer asking for the senders of datagrams on %s: no writer rule or service "
                "endpoint needs them, and no line was refused for %g s "
                "(daemon.credentials_linger_seconds)",
                s->in.path, s->cfg->credentials_linger);
}

void app_credentials_poke(struct app *a)
{
    credwant_poke(&a->creds, uv_now(&a->loop), cred_linger_ms(a));
    ask_credentials(a);
}

/* hugepages' held(): what site_holds_collapses() says. */
static int collapses_held(void *arg)
{
    return site_holds_collapses(arg);
}

static void on_expire_timer(uv_timer_t *t)
{
    struct app *a = container_of(t, struct app, expire_timer);

    log_rejects(a);
    ask_credentials(a);
    /* What a reload retired goes first: it is out of sight already, and counts in memory. */
    if (registry_draining(&a->site.reg))
        drain_slice(a);
    else if (expiresched_tick(&a->expire_sched, uv_is_active((uv_handle_t *)&a->expire_more)))
        uv_idle_start(&a->expire_more, on_expire_more);
    /* After this tick's slice, so that a sweep or a drain it started holds it back. */
    hugepages_poke(&a->huge);
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
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

    for (size_t i = 0; i < a->nsignals; i++)
        uv_close((uv_handle_t *)&a->signals[i], on_handle_closed);
}

static void app_stop(struct app *a, const char *why)
{
    struct site *s = &a->site;

    if (s->stopping)
        return;
    s->stopping = 1;
    log_msg(&a->log, LOG_INFO, "app", "%s: stopping", why);
    sysd_stop(&a->sysd);
    if (s->ingest_started)
        ingest_close(&s->in, on_ingest_closed);
    if (s->udp_started)
        ingest_close(&s->udp, on_ingest_closed);
    for (size_t i = 0; i < s->nlisteners; i++)
        httpd_server_close(&s->listeners[i].srv, on_http_closed);
    /* Before the pool: a collection waiting on the SQL collectors is cancelled first. */
    if (a->push_started)
        rwpush_close(&a->push, NULL, NULL); /* its marks stay for the final snapshot */
    if (s->has_pg)
        sqlpool_close(&s->pg, on_pg_closed);
    /*
     * After the ingest's close: the final snapshot holds every line applied. The signal
     * handlers stay until it is written, so that a second SIGTERM cannot cut it short.
     */
    persist_stop(&s->state, a->serving, on_state_closed, a);
    if (a->handles) {
        uv_close((uv_handle_t *)&a->expire_timer, on_handle_closed);
        uv_close((uv_handle_t *)&a->expire_more, on_handle_closed);
        loopturn_close(&a->turn, on_handle_closed);
    }
}

static void on_signal(uv_signal_t *sig, int signum)
{
    struct app *a = sig->data;

    if (signum == SIGHUP) {
        if (!a->site.stopping)
            sysd_reloading(&a->sysd);
        reload_start(a);
        return;
    }
    if (a->site.stopping) {
        log_msg(&a->log, LOG_WARN, "app",
                "%s: already stopping, writing the final state snapshot; SIGKILL stops at once "
                "and loses what it holds",
                signum == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
    app_stop(a, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* A route; its bearer token comes with the others, from reload_tokens_apply(). */
static int add_route(struct site_listener *l, const char *path, const char *name,
                     httpd_handler_cb handler, void *arg, char *err, size_t errlen)
{
    int rc = httpd_server_route(&l->srv, path, name, handler, arg);

    if (rc == -EEXIST)
        snprintf(err, errlen, "%s%s: two endpoints on one path", l->listen, path);
    else if (rc != 0)
        snprintf(err, errlen, "%s%s: httpd_server_route: %s", l->listen, path, strerror(-rc));
    return rc != 0 ? -1 : 0;
}

/* The listener of this address, made (with /-/healthy and /-/ready) on first use. */
static struct site_listener *listener_for(struct app *a, const char *listen, const char *label,
                                          char *err, size_t errlen)
{
    struct site *s = &a->site;
    struct site_listener *l;

    for (size_t i = 0; i < s->nlisteners; i++)
        if (strcmp(s->listeners[i].listen, listen) == 0)
            return &s->listeners[i];
    l = &s->listeners[s->nlisteners++];
    l->listen = listen;
    l->label = label;
    l->site = s;
    httpd_server_init(&l->srv, &a->loop, NULL);
    httpd_server_set_tls_pool(&l->srv, &a->tls_pool);
    httpd_server_set_before(&l->srv, site_before_request, s);
    if (add_route(l, "/-/healthy", "healthy", health_on_healthy, s, err, errlen) != 0 ||
        add_route(l, "/-/ready", "ready", health_on_ready, s, err, errlen) != 0)
        return NULL;
    /* Health checks read no counts: they do not wait for held datagrams. */
    httpd_server_route_skip_before(&l->srv, "/-/healthy");
    httpd_server_route_skip_before(&l->srv, "/-/ready");
    return l;
}

/*
 * Where /debug goes without debug_listen when the default endpoint is off: with the
 * daemon's own metrics, on the first endpoint that serves them (an endpoint that stands
 * for a service may face the network); none such, nowhere.
 */
static struct site_listener *self_listener(struct site *s)
{
    for (size_t i = 0; i < s->nendpoints; i++) {
        const struct config_endpoint *ce = site_endpoint_cfg(&s->endpoints[i]);

        if (ce != NULL && ce->self_metrics)
            return s->endpoints[i].l;
    }
    return NULL;
}

/* An endpoint and its route: the default one (index -1), or c->endpoints[index]. */
static int add_endpoint(struct app *a, long index, char *err, size_t errlen)
{
    struct site *s = &a->site;
    const struct config *c = s->cfg;
    struct site_endpoint *ep = &s->endpoints[s->nendpoints++];
    char why[512];

    *ep = (struct site_endpoint){ .site = s, .index = index };
    svcproc_init(&ep->svc);
    if (index < 0) {
        ep->name = "metrics";
        ep->path = c->metrics_path;
        ep->l = s->metrics_l = listener_for(a, c->metrics_listen, "metrics", err, errlen);
        return ep->l == NULL
                   ? -1
                   : add_route(ep->l, ep->path, ep->name, metrics_on_request, ep, err, errlen);
    }
    ep->name = c->endpoints[index].name;
    ep->path = c->endpoints[index].path;
    ep->l = listener_for(a, c->endpoints[index].listen, ep->name, why, sizeof(why));
    if (ep->l == NULL ||
        add_route(ep->l, ep->path, ep->name, metrics_on_request, ep, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "endpoint %s: %s", ep->name, why);
        return -1;
    }
    return 0;
}

/*
 * The status page on every listener, anonymous (home.h), unless an endpoint has its path
 * there: the endpoint keeps it.
 */
static int add_home(struct site *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        struct site_listener *l = &s->listeners[i];
        int rc = httpd_server_route(&l->srv, "/", "/", home_on_request, l);

        if (rc == -EEXIST)
            continue;
        if (rc == 0)
            rc = httpd_server_route_anonymous(&l->srv, "/");
        if (rc != 0) {
            snprintf(err, errlen, "%s/: httpd_server_route: %s", l->listen, strerror(-rc));
            return -1;
        }
    }
    return 0;
}

/* Every endpoint's route on its listener, /debug where it goes, and the status pages. */
static int add_routes(struct app *a, char *err, size_t errlen)
{
    struct site *s = &a->site;
    const struct config *c = s->cfg;
    int rc;

    if (c->metrics_listen != NULL && c->metrics_listen[0] != '\0' &&
        add_endpoint(a, -1, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < c->nendpoints; i++)
        if (add_endpoint(a, (long)i, err, errlen) != 0)
            return -1;
    if (c->debug_listen != NULL && c->debug_listen[0] != '\0') {
        if ((s->debug_l = listener_for(a, c->debug_listen, "debug", err, errlen)) == NULL)
            return -1;
    } else if (c->debug_listen == NULL) {
        s->debug_l = s->metrics_l ? s->metrics_l : self_listener(s);
    }
    if (s->debug_l == NULL)
        return add_home(s, err, errlen);
    if (add_route(s->debug_l, "/debug", "debug", inspect_on_request, s, err, errlen) != 0 ||
        add_route(s->debug_l, "/debug/snapshot", "debug_snapshot", snapshot_on_request, s, err,
                  errlen) != 0 ||
        add_route(s->debug_l, "/debug/learn", "debug_learn", learnview_on_request, s, err,
                  errlen) != 0)
        return -1;
    if ((rc = httpd_server_route_post(&s->debug_l->srv, "/debug/snapshot")) != 0) {
        snprintf(err, errlen, "%s/debug/snapshot: httpd_server_route_post: %s", s->debug_l->listen,
                 strerror(-rc));
        return -1;
    }
    return add_home(s, err, errlen);
}

/* Bind (or adopt from systemd) every listener, each serving with the web config. */
static int start_listeners(struct app *a, char *err, size_t errlen)
{
    struct site *s = &a->site;
    char why[512];

    for (size_t i = 0; i < s->nlisteners; i++) {
        struct site_listener *l = &s->listeners[i];
        int fd = sysd_take(&a->sysd, SOCKMATCH_STREAM, l->listen), rc;

        if (security_serve(a, l, err, errlen) != 0)
            return -1;
        if ((fd >= 0 ? httpd_server_adopt(&l->srv, l->listen, fd, why, sizeof(why))
                     : httpd_server_listen(&l->srv, l->listen, why, sizeof(why))) != 0) {
            snprintf(err, errlen, "listener %s (%s): %s", l->listen, l->label, why);
            return -1;
        }
        if ((rc = httpd_server_address(&l->srv, l->addr, sizeof(l->addr))) != 0) {
            snprintf(err, errlen, "listener %s (%s): httpd_server_address: %s", l->listen, l->label,
                     strerror(-rc));
            return -1;
        }
    }
    return 0;
}

/* The routes, their bearer tokens, then every listener. */
static int start_http(struct app *a, char *err, size_t errlen)
{
    if (reload_tokens_read(&a->tokens, a->site.cfg, err, errlen) != 0 ||
        add_routes(a, err, errlen) != 0 || reload_tokens_apply(a, &a->tokens, err, errlen) != 0)
        return -1;
    return start_listeners(a, err, errlen);
}

/* An ingest socket: the Unix one, or UDP when udp_listen is set. */
static int start_ingest(struct app *a, struct ingest *in, const struct ingest_config *icfg,
                        const char *what, char *err, size_t errlen)
{
    ingest_init(in, &a->loop, icfg, on_datagram, a);
    in->hint = on_hint;
    if (ingest_start(in, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < in->nwarnings; i++)
        log_msg(&a->log, LOG_WARN, what, "%s", in->warnings[i]);
    return 0;
}

/*
 * The optional UDP socket: its own struct ingest, with the Unix socket's budget, so that
 * libuv's one call per ready handle and loop iteration shares the loop between the two.
 */
static int start_udp(struct app *a, char *err, size_t errlen)
{
    struct site *s = &a->site;
    const struct config *c = s->cfg;
    struct ingest_config ucfg = { 0 };
    int64_t drops;

    ucfg.kind = INGEST_UDP;
    ucfg.path = c->udp_listen;
    ucfg.allow_remote = c->udp_allow_remote;
    ucfg.budget = INGEST_BUDGET;
    ucfg.budget_ns = INGEST_BUDGET_NS;
    ucfg.rcvbuf = c->udp_rcvbuf > INT_MAX ? INT_MAX : (int)c->udp_rcvbuf;
    ucfg.fd = sysd_take(&a->sysd, SOCKMATCH_UDP, c->udp_listen);
    if (start_ingest(a, &s->udp, &ucfg, "udp", err, errlen) != 0)
        return -1;
    s->udp_started = 1;
    drops = ingest_kernel_drops(&s->udp);
    log_msg(&a->log, LOG_INFO, "udp",
            "receiving on udp %s (configured %s%s); SO_RCVBUF %d bytes granted; kernel drops "
            "%s",
            s->udp.addr_text, c->udp_listen, c->udp_allow_remote ? ", remote senders allowed" : "",
            s->udp.rcvbuf, drops >= 0 ? "counted" : "unknown (SO_MEMINFO unsupported)");
    return 0;
}

/*
 * The loop's own handles, before anything can fail that app_stop() cleans up: it closes
 * only those initialised here (a failed uv_signal_init() leaves its handle untouched).
 */
static int init_handles(struct app *a, char *err, size_t errlen)
{
    int rc;

    if ((rc = uv_timer_init(&a->loop, &a->expire_timer)) != 0) {
        snprintf(err, errlen, "uv_timer_init(expiry): %s", uv_strerror(rc));
        return -1;
    }
    expiresched_init(&a->expire_sched, expire_slice, a);
    if ((rc = uv_idle_init(&a->loop, &a->expire_more)) != 0) {
        uv_close((uv_handle_t *)&a->expire_timer, on_handle_closed);
        snprintf(err, errlen, "uv_idle_init(expiry): %s", uv_strerror(rc));
        return -1;
    }
    if ((rc = loopturn_init(&a->turn, &a->loop, &a->site.stats)) != 0) {
        uv_close((uv_handle_t *)&a->expire_timer, on_handle_closed);
        uv_close((uv_handle_t *)&a->expire_more, on_handle_closed);
        snprintf(err, errlen, "uv_prepare_init(loop timing): %s", uv_strerror(rc));
        return -1;
    }
    a->handles = 1;
    for (; a->nsignals < APP_NSIGNALS; a->nsignals++) {
        uv_signal_t *sig = &a->signals[a->nsignals];

        if ((rc = uv_signal_init(&a->loop, sig)) != 0) {
            snprintf(err, errlen, "uv_signal_init(%s): %s", strsignal(app_signums[a->nsignals]),
                     uv_strerror(rc));
            return -1;
        }
        sig->data = a;
    }
    return 0;
}

/* Once everything is up: the expiry, the loop's timing and the signals. */
static int start_handles(struct app *a, char *err, size_t errlen)
{
    int rc = uv_timer_start(&a->expire_timer, on_expire_timer, EXPIRE_EVERY_MS, EXPIRE_EVERY_MS);

    if (rc != 0) {
        snprintf(err, errlen, "uv_timer_start(expiry, %d ms): %s", EXPIRE_EVERY_MS,
                 uv_strerror(rc));
        return -1;
    }
    if ((rc = loopturn_start(&a->turn)) != 0) {
        snprintf(err, errlen, "uv_prepare_start(loop timing): %s", uv_strerror(rc));
        return -1;
    }
    for (size_t i = 0; i < APP_NSIGNALS; i++) {
        if ((rc = uv_signal_start(&a->signals[i], on_signal, app_signums[i])) != 0) {
            snprintf(err, errlen, "uv_signal_start(%s): %s", strsignal(app_signums[i]),
                     uv_strerror(rc));
            return -1;
        }
    }
    return 0;
}

/* The PostgreSQL pool, when the config queries one. */
static int start_pg(struct app *a, char *err, size_t errlen)
{
    struct site *s = &a->site;
    int rc;

    if (sqlpool_init(&s->pg, &a->loop, s->cfg, err, errlen) != 0)
        return -1;
    s->has_pg = 1;
    s->pg.created_unix = s->start_unix;
    s->pg.log = s->log;
    if ((rc = sqlpool_start(&s->pg)) != 0) {
        snprintf(err, errlen, "sqlpool_start: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static int app_start(struct app *a, char *err, size_t errlen)
{
    struct site *s = &a->site;
    const struct config *c = s->cfg;
    struct ingest_config icfg = { 0 };

    if (init_handles(a, err, errlen) != 0)
        return -1;
    /* Before any socket: a bad web config file leaves nothing behind. */
    if (security_start(a, err, errlen) != 0)
        return -1;
    if (sysd_activate(&a->sysd, c, err, errlen) != 0)
        return -1;
    icfg.path = c->socket_path;
    icfg.mode = c->socket_mode;
    icfg.group = c->socket_group;
    icfg.budget = INGEST_BUDGET;
    icfg.budget_ns = INGEST_BUDGET_NS;
    icfg.fd = sysd_take(&a->sysd, SOCKMATCH_UNIX_DGRAM, c->socket_path);
    if (start_ingest(a, &s->in, &icfg, "ingest", err, errlen) != 0)
        return -1;
    s->ingest_started = 1;
    credwant_init(&a->creds, uv_now(&a->loop), cred_linger_ms(a));
    if (c->udp_listen[0] != '\0' && start_udp(a, err, errlen) != 0)
        return -1;
    if (start_http(a, err, errlen) != 0)
        return -1;
    if (c->has_postgres && start_pg(a, err, errlen) != 0)
        return -1;
    if (rwpush_start(&a->push, s, &a->log, &s->state.restored.marks, err, errlen) != 0)
        return -1;
    a->push_started = 1;
    return start_handles(a, err, errlen);
}

/* cfglint_cb: a name Prometheus's conventions flag, once at start-up. */
static void log_lint(void *arg, const char *where, const char *msg)
{
    struct app *a = arg;

    log_msg(&a->log, LOG_WARN, "config", "%s: %s: %s", a->site.config_path, where, msg);
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/*
 * The loop, then the stores and the state restored from the state file: all before the
 * first socket. Returns 0, or -1 with the message in err when the loop cannot be had
 * (then nothing is left to release but the log).
 */
static int app_init(struct app *a, const struct config *cfg, char *err, size_t errlen)
{
    struct site *s = &a->site;
    int rc;

    if ((rc = uv_loop_init(&a->loop)) != 0) {
        snprintf(err, errlen, "uv_loop_init: %s", uv_strerror(rc));
        return -1;
    }
    if ((rc = uv_loop_configure(&a->loop, UV_METRICS_IDLE_TIME)) != 0) {
        snprintf(err, errlen, "uv_loop_configure(UV_METRICS_IDLE_TIME): %s", uv_strerror(rc));
        uv_loop_close(&a->loop);
        return -1;
    }
    s->loop = &a->loop;
    s->log = &a->log;
    if ((rc = bgwork_init(&a->state_bg, &a->loop, &a->log, "ustatsd-state")) != 0) {
        snprintf(err, errlen, "the state file's background thread: %s", uv_strerror(rc));
        uv_loop_close(&a->loop);
        return -1;
    }
    if ((rc = bgwork_init(&a->remote_bg, &a->loop, &a->log, "ustatsd-remote")) != 0) {
        snprintf(err, errlen, "remote write's background thread: %s", uv_strerror(rc));
        bgwork_close(&a->state_bg);
        uv_run(&a->loop, UV_RUN_DEFAULT);
        bgwork_release(&a->state_bg); /* started no thread */
        uv_loop_close(&a->loop);
        return -1;
    }
    if ((rc = bgwork_init(&a->huge_bg, &a->loop, &a->log, "ustatsd-huge")) != 0) {
        snprintf(err, errlen, "the huge pages' background thread: %s", uv_strerror(rc));
        bgwork_close(&a->state_bg);
        bgwork_close(&a->remote_bg);
        uv_run(&a->loop, UV_RUN_DEFAULT);
        bgwork_release(&a->state_bg); /* they started no thread */
        bgwork_release(&a->remote_bg);
        uv_loop_close(&a->loop);
        return -1;
    }
    bgwork_idle(&a->huge_bg);
    s->remote_bg = &a->remote_bg;
    basicauth_pool_init(&a->basic_pool, &a->loop, 0);
    s->basic_pool = &a->basic_pool;
    tlspool_init(&a->tls_pool, &a->loop, 0, 0);
    sysd_init(&a->sysd, &a->loop);
    s->start_ms = uv_now(&a->loop);
    s->util_prev_hrtime = uv_hrtime();
    registry_init(&s->reg, cfg); /* returns 0: out of memory aborts */
    registry_set_clock(&s->reg, wall_clock_ms, NULL);
    hugepages_init(&a->huge, &a->state_bg, &a->huge_bg, &s->reg,
                   hugepages_allowed(HUGEPAGES_MODE_FILE) &&
                       hugepages_size_fits(HUGEPAGES_SIZE_FILE),
                   collapses_held, s);
    s->huge = &a->huge.count;
    jobs_init(&s->jobs, cfg, s->start_ms);
    jobs_date(&s->jobs, s->start_unix);
    persist_init(&s->state, &a->loop, &a->state_bg, &s->reg, &s->jobs, &a->log, cfg->state_file,
                 cfg->state_interval);
    persist_restore(&s->state, records_max_body(cfg), s->start_ms);
    rejects_init(&s->rejects);
    intake_init(&s->intake, &s->reg, &s->jobs, &s->rejects, wall_clock, NULL);
    rejectlog_init(&a->rejectlog, (uint64_t)(cfg->reject_log_interval * 1000.0 + 0.5));
    s->intake.rejectlog = &a->rejectlog;
    senders_init(&s->senders);
    site_track_senders(s);
    learnsum_init(&s->learn, cfg->learn_enabled, cfg->learn_max_bytes);
    site_track_learn(s);
    return 0;
}

/* What start-up made of the config: where the daemon receives and serves. */
static void log_started(struct app *a)
{
    struct site *s = &a->site;
    const struct config *cfg = s->cfg;
    const char *scheme = a->web.tls ? "https" : "http";

    if (s->state.path != NULL)
        log_msg(&a->log, LOG_INFO, "state", "snapshots to %s every %.3g s, and on a clean stop",
                s->state.path, (double)s->state.interval_ms / 1000.0);
    log_msg(&a->log, LOG_INFO, "app",
            "ustatsd %s: receiving on unix datagram socket %s (mode %04o); config %s "
            "(%zu families, %zu jobs, %zu sql metrics; DogStatsD client telemetry %s)",
            USTATSD_VERSION, cfg->socket_path, (unsigned)cfg->socket_mode, s->config_path,
            config_file_families(cfg), cfg->njobs, cfg->nsql_metrics,
            cfg->dogstatsd_telemetry ? "on" : "off");
    /* A short queue was already reported among the ingest warnings. */
    if (s->in.max_dgram_qlen >= INGEST_MIN_DGRAM_QLEN)
        log_msg(&a->log, LOG_INFO, "ingest", "net.unix.max_dgram_qlen is %ld",
                s->in.max_dgram_qlen);
    for (size_t i = 0; i < s->nendpoints; i++)
        log_msg(&a->log, LOG_INFO, "http", "endpoint %s: scrape %s://%s%s", s->endpoints[i].name,
                scheme, s->endpoints[i].l->addr, s->endpoints[i].path);
    if (s->metrics_l == NULL)
        log_msg(&a->log, LOG_INFO, "http", "default metrics endpoint disabled");
    security_log(a);
    if (s->debug_l != NULL)
        log_msg(&a->log, LOG_INFO, "http", "debug view on %s://%s/debug", scheme, s->debug_l->addr);
    if (s->in.adopted)
        log_msg(&a->log, LOG_INFO, "ingest",
                "socket %s passed by systemd: its mode and group are the .socket unit's, "
                "and it stays (with its queue) when the daemon stops",
                cfg->socket_path);
}

/* After the loop: what is still open, then everything app_init() and app_start() made. */
static void app_release(struct app *a)
{
    struct site *s = &a->site;
    int rc;

    /* Anything still open after a failed start-up. */
    uv_walk(&a->loop, close_walk_cb, NULL);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&a->loop);
    /* Their handles closed by the walk, their requests all done. */
    bgwork_release(&a->state_bg);
    bgwork_release(&a->remote_bg);
    bgwork_release(&a->huge_bg);
    sysd_release(&a->sysd);
    tlspool_release(&a->tls_pool);
    if (rc != 0)
        log_msg(&a->log, LOG_ERROR, "app", "uv_loop_close: %s, ignored", uv_strerror(rc));
    jobs_release(&s->jobs);
    registry_release(&s->reg);
    for (size_t i = 0; i < s->nendpoints; i++)
        svcproc_release(&s->endpoints[i].svc);
    senders_release(&s->senders);
    learnsum_release(&s->learn);
    security_release(&a->web);
    explicit_bzero(&a->tokens, sizeof(a->tokens));
    site_config_unref(s->gen);
    /* What this process read: with a passed socket, the rest waits for the next one. */
    if (a->exit_code == 0)
        log_msg(&a->log, LOG_INFO, "app", "stopped; %llu datagrams received on the unix socket",
                (unsigned long long)s->in.stats.datagrams);
}

int app_run(const struct config *cfg, const char *config_path, app_override_cb override, void *arg)
{
    struct app *a = mem_calloc(1, sizeof(*a));
    char err[1024] = "";
    int rc;

    log_init(&a->log, (enum log_format)log_format_parse(cfg->log_format),
             (enum log_level)log_level_parse(cfg->log_level), stderr);
    a->site.cfg = cfg;
    a->site.config_path = config_path;
    a->override = override;
    a->override_arg = arg;
    a->site.config_loaded_unix = wallclock_unix();
    a->site.start_unix = a->site.config_loaded_unix;
    if (app_init(a, cfg, err, sizeof(err)) != 0) {
        log_msg(&a->log, LOG_ERROR, "app", "start-up failed: %s; exiting", err);
        log_release(&a->log);
        free(a);
        return 1;
    }
    /* What --check-config warns of, said once: the config serves these names anyway. */
    cfglint_run(cfg, log_lint, a);
    if (app_start(a, err, sizeof(err)) != 0) {
        log_msg(&a->log, LOG_ERROR, "app", "start-up failed: %s", err);
        a->exit_code = 1;
        app_stop(a, "start-up failure");
    } else {
        a->serving = 1;
        persist_start(&a->site.state);
        log_started(a);
        sysd_ready(&a->sysd, cfg);
    }
    uv_run(&a->loop, UV_RUN_DEFAULT);
    app_release(a);
    rc = a->exit_code;
    log_release(&a->log);
    free(a);
    return rc;
}
