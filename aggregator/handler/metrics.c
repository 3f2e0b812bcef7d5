#include "handler/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/mem.h"
#include "config/cfgendpoint.h"
#include "config/resattr.h"
#include "expose/procfs.h"
#include "handler/scrape.h"

/* The status codes promhttp_metric_handler_requests_total shows from the start. */
static const unsigned promhttp_codes[] = { 200, 500, 503 };
_Static_assert(ARRAY_SIZE(promhttp_codes) == SITE_NCODES, "a count per promhttp code");
_Static_assert(sizeof(((struct selfmetrics_endpoint *)0)->scrapes) == SITE_NCODES * 8,
               "the debug view shows a count per promhttp code");

/* Handlers: metrics, debug, healthy, ready, other and one per endpoint. */
_Static_assert(SELFMETRICS_MAX_REQUESTS >= (5 + CONFIG_MAX_ENDPOINTS) * ROUTES_MAX_CODES,
               "routes x codes of every listener");
_Static_assert(SELFMETRICS_MAX_VIOLATIONS >= SITE_MAX_LISTENERS * HTTPD_LIMIT_COUNT,
               "limits of every listener");
_Static_assert(SELFMETRICS_MAX_EVICTIONS >= SITE_MAX_LISTENERS * HTTPD_EVICT_COUNT,
               "eviction reasons of every listener");

/*
 * One scrape in flight: its endpoint, and the config generation it holds, since the
 * render borrows family names from the config it started under until it moves on.
 */
struct metrics_scrape {
    struct site_endpoint *ep;
    struct site_config *gen; /* a reference, or NULL for the start-up config */
};

static void add_requests(const char *handler, unsigned code, uint64_t count, void *arg)
{
    selfmetrics_add_requests(arg, handler, code, count);
}

/* The scrape's part of the reading: the HTTP listeners, the loop's utilisation since the
 * last scrape (window: move the window to now; else the last scrape's figure). */
static void read_scrape(struct site *s, struct selfmetrics *r, int window)
{
    uint64_t idle_ns = uv_metrics_idle_time(s->loop), hr = uv_hrtime();
    size_t i, k;

    for (i = 0; i < s->nlisteners; i++)
        httpd_server_foreach_requests(&s->listeners[i].srv, add_requests, r);
    for (i = 0; i < s->nlisteners; i++)
        for (k = 0; k < HTTPD_LIMIT_COUNT; k++)
            selfmetrics_add_violations(r, s->listeners[i].label,
                                       httpd_limit_name((enum httpd_limit)k),
                                       httpd_server_stats(&s->listeners[i].srv)->limits[k]);
    for (i = 0; i < s->nlisteners; i++)
        for (k = 0; k < HTTPD_EVICT_COUNT; k++)
            selfmetrics_add_evictions(r, s->listeners[i].label,
                                      httpd_evict_name((enum httpd_evict)k),
                                      httpd_server_stats(&s->listeners[i].srv)->evictions[k]);
    for (i = 0; i < s->nlisteners; i++) {
        const struct httpd_stats *st = httpd_server_stats(&s->listeners[i].srv);

        selfmetrics_add_parked(r, s->listeners[i].label, st->parked_open, st->parked_closed);
    }
    /* Utilisation since the previous scrape: 1 - idle time / wall time. */
    if (window && hr > s->util_prev_hrtime && idle_ns >= s->util_prev_idle_ns) {
        double busy =
            1.0 - (double)(idle_ns - s->util_prev_idle_ns) / (double)(hr - s->util_prev_hrtime);
        s->util_last = busy < 0 ? 0 : busy > 1 ? 1 : busy;
    }
    if (window) {
        s->util_prev_idle_ns = idle_ns;
        s->util_prev_hrtime = hr;
    }
    r->loop_utilization = s->util_last;
    r->loop_idle_seconds = (double)idle_ns / 1e9;
}

static void write_daemon(struct site *s, struct expo *e, int process, int window)
{
    struct selfmetrics r;
    struct procfs ps;

    site_read(s, &r);
    read_scrape(s, &r, window);
    selfmetrics_render(&r, e);
    rwstats_render(&s->rwstats, e);
    if (process && procfs_read(&ps) == 0)
        procfs_render(&ps, e);
}

/*
 * promhttp's own families, as client_golang's promhttp.Handler() writes them: the scrape
 * in progress is in flight and not yet counted. The endpoints are made at start-up and
 * kept by reloads, so their counts date from the daemon's start.
 */
static void write_promhttp(const struct site_endpoint *ep, struct expo *e)
{
    char code[8];
    struct expo_label l = { "code", code, 0 };
    double was = e->created;

    expo_scalar(e, "promhttp_metric_handler_requests_in_flight", EXPO_GAUGE,
                "Current number of scrapes being served.", "", (double)ep->in_flight);
    expo_family(e, "promhttp_metric_handler_requests", EXPO_COUNTER,
                "Total number of scrapes by HTTP status code.", "");
    e->created = ep->site->start_unix;
    for (size_t i = 0; i < SITE_NCODES; i++) {
        l.value_len = (size_t)snprintf(code, sizeof(code), "%u", promhttp_codes[i]);
        expo_sample(e, "_total", &l, 1, (double)ep->scrapes[i]);
    }
    e->created = was;
}

/* The endpoint's head, to e (window: a scrape's, see read_scrape()). */
static void head_to(struct site_endpoint *ep, const struct config_endpoint *ce,
                    const struct config_resource_attr *attrs, size_t n, struct expo *e, int window)
{
    struct site *s = ep->site;

    if (ce == NULL || ce->self_metrics)
        write_daemon(s, e, ce == NULL || !ce->has_service, window);
    /* A service's process_* are absent until one of its processes has sent a line. */
    if (ce != NULL && ce->has_service)
        svcproc_render(&ep->svc, &s->senders, &ce->service, uv_now(s->loop), e);
    if (ce != NULL && ce->promhttp)
        write_promhttp(ep, e);
    selfmetrics_target_info(attrs, n, e);
    expo_flush(e);
}

/* The endpoint's head, into src->head in the negotiated format. */
static void write_head(struct site_endpoint *ep, const struct config_endpoint *ce,
                       const struct config_resource_attr *attrs, size_t n,
                       struct scrape_source *src)
{
    struct expo e;

    expo_init(&e, &src->head, src->neg.fmt);
    e.esc = src->neg.esc;
    head_to(ep, ce, attrs, n, &e, 1);
}

static void count_scrape(struct site_endpoint *ep, unsigned status)
{
    for (size_t i = 0; i < SITE_NCODES; i++)
        if (promhttp_codes[i] == status)
            ep->scrapes[i]++;
}

/* scrape_done_cb. */
static void on_scrape_done(void *arg, unsigned status)
{
    struct metrics_scrape *sc = arg;

    sc->ep->in_flight--;
    count_scrape(sc->ep, status);
    site_config_unref(sc->gen);
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

/* The resource attributes the endpoint copies onto its series (scrape_start copies). */
static void const_labels(const struct config *c, const struct config_endpoint *ce,
                         const struct config_resource_attr *attrs, size_t n,
                         struct expo_label *labels, char names[][CONFIG_MAX_RESOURCE_KEY + 1],
                         struct scrape_source *src)
{
    for (size_t i = 0; i < n && src->nconst < SCRAPE_MAX_CONST_LABELS; i++) {
        if (!cfgendpoint_copies(c, ce, attrs[i].key))
            continue;
        resattr_label(attrs[i].key, names[src->nconst]);
        labels[src->nconst] =
            (struct expo_label){ names[src->nconst], attrs[i].value, strlen(attrs[i].value) };
        src->nconst++;
    }
    src->const_labels = labels;
}

/* What the endpoint serves, and from where. */
static void select_source(struct site_endpoint *ep, const struct config_endpoint *ce,
                          struct scrape_source *src)
{
    struct site *s = ep->site;

    *src = (struct scrape_source){ .loop = s->loop,
                                   .cfg = s->cfg,
                                   .running = &s->cfg,
                                   .reg = &s->reg,
                                   .jobs = &s->jobs,
                                   .stats = &s->stats,
                                   .head = BUF_INIT,
                                   .t0_ns = uv_hrtime(),
                                   .done = on_scrape_done };
    src->bit = ce ? (uint32_t)1 << ep->index : 0;
    src->self = ce == NULL || ce->self_metrics;
    src->serve_jobs = ce == NULL || ce->jobs;
    src->sql = s->has_pg && serves_sql(s->cfg, src->bit);
    src->pg = s->has_pg && (src->sql || src->self) ? &s->pg : NULL;
}

void metrics_endpoint_head(struct site_endpoint *ep, struct expo *e)
{
    const struct config_endpoint *ce = site_endpoint_cfg(ep);
    struct config_resource_attr *attrs;
    size_t n;

    attrs = cfgendpoint_resource(ep->site->cfg, ce, &n);
    head_to(ep, ce, attrs, n, e, 0);
    resattr_free(attrs, n);
}

char *metrics_endpoint_view(struct site_endpoint *ep, struct scrape_source *src,
                            struct expo_label labels[SCRAPE_MAX_CONST_LABELS])
{
    const struct config_endpoint *ce = site_endpoint_cfg(ep);
    struct expo_label l[SCRAPE_MAX_CONST_LABELS];
    char names[SCRAPE_MAX_CONST_LABELS][CONFIG_MAX_RESOURCE_KEY + 1];
    struct config_resource_attr *attrs;
    size_t n;
    char *text;

    select_source(ep, ce, src);
    src->done = NULL;
    attrs = cfgendpoint_resource(ep->site->cfg, ce, &n);
    const_labels(ep->site->cfg, ce, attrs, n, l, names, src);
    text = expo_labels_dup(l, src->nconst, labels);
    src->const_labels = labels;
    resattr_free(attrs, n);
    return text;
}

void metrics_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    static const char busy[] = "too many scrapes in flight\n";
    struct site_endpoint *ep = arg;
    struct site *s = ep->site;
    const struct config_endpoint *ce = site_endpoint_cfg(ep);
    struct expo_label labels[SCRAPE_MAX_CONST_LABELS];
    char names[SCRAPE_MAX_CONST_LABELS][CONFIG_MAX_RESOURCE_KEY + 1];
    struct config_resource_attr *attrs;
    struct metrics_scrape *sc;
    struct scrape_source src;
    size_t n;

    if (ep->in_flight >= SITE_MAX_SCRAPES) {
        count_scrape(ep, 503);
        /* And close: requests the client pipelined behind this one would only earn
         * more of the same, and a slow reader of pipelined scrapes would hold its slot. */
        httpd_respond(conn, 503, "text/plain; charset=utf-8", busy, sizeof(busy) - 1, HTTPD_CLOSE,
                      NULL);
        return;
    }
    select_source(ep, ce, &src);
    src.neg = negotiate_accept(req->accept);
    /* Built once: target_info in the head, and the labels copied onto the series. */
    attrs = cfgendpoint_resource(s->cfg, ce, &n);
    const_labels(s->cfg, ce, attrs, n, labels, names, &src);
    ep->in_flight++;
    /* HEAD gets GET's headers only: no head to render, and no utilisation window spent. */
    if (!req->head)
        write_head(ep, ce, attrs, n, &src);
    sc = mem_calloc(1, sizeof(*sc));
    sc->ep = ep;
    sc->gen = site_config_ref(s);
    src.arg = sc;
    scrape_start(conn, req, &src);
    resattr_free(attrs, n);
}
