#include "remote/rwcollect.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/wallclock.h"
#include "expose/render.h"
#include "handler/metrics.h"
#include "handler/scrape.h"

enum phase { PH_START, PH_SERIES, PH_SQL_WAIT, PH_SQL, PH_NEXT };

struct rwcollect {
    uv_idle_t idle;
    struct rwcollect_req req;
    struct site_endpoint *eps[SITE_MAX_ENDPOINTS];
    size_t neps, at;
    /* "metrics" when the default endpoint has no listener (metrics_listen ""): what it
     * would serve, pushed only. */
    struct site_endpoint own_default;
    struct expo_label ext[RWCOLLECT_MAX_EXT]; /* the request's, copied into ext_text */
    char *ext_text;
    enum phase phase;
    struct site_config *gen;
    struct buf body;
    uint64_t samples, histograms;
    /* The endpoint being collected. */
    struct scrape_source src;
    struct expo_label labels[SCRAPE_MAX_CONST_LABELS];
    char *label_text;
    struct render rd;
    int rendering, pg_waiting, cancelled;
};

static struct site_endpoint *find_endpoint(struct site *s, const char *name)
{
    for (size_t i = 0; i < s->nendpoints; i++)
        if (strcmp(s->endpoints[i].name, name) == 0)
            return &s->endpoints[i];
    return NULL;
}

static void expo_for(struct rwcollect *c, struct expo *e, int consts)
{
    expo_init(e, &c->body, EXPO_REMOTE_WRITE);
    e->timestamp_ms = c->req.timestamp_ms;
    e->extern_labels = c->req.ext;
    e->nextern = c->req.next;
    e->rw_native = c->req.native;
    if (consts) {
        e->const_labels = c->labels;
        e->nconst = c->src.nconst;
    }
}

static void count(struct rwcollect *c, const struct expo *e)
{
    c->samples += e->rw_samples;
    c->histograms += e->rw_histograms;
}

static void endpoint_end(struct rwcollect *c)
{
    uint64_t s, h;

    if (c->rendering) {
        render_remote_counts(&c->rd, &s, &h);
        c->samples += s;
        c->histograms += h;
        render_release(&c->rd);
        c->rendering = 0;
    }
    free(c->label_text);
    c->label_text = NULL;
}

static void on_closed(uv_handle_t *h)
{
    struct rwcollect *c = h->data;

    endpoint_end(c);
    buf_release(&c->body);
    site_config_unref(c->gen);
    free(c->ext_text);
    free(c);
}

static void on_idle(uv_idle_t *h);

static void on_pg(struct sqlpool *pg, void *arg, int status)
{
    struct rwcollect *c = arg;

    (void)pg;
    (void)status; /* a late or failed collector shows in ustatsd_sql_collector_up */
    c->pg_waiting = 0;
    c->phase = PH_SQL;
    uv_idle_start(&c->idle, on_idle);
}

/* The endpoint's head and jobs, and its render set up. */
static void endpoint_start(struct rwcollect *c)
{
    struct site_endpoint *ep = c->eps[c->at];
    struct expo e;

    c->label_text = metrics_endpoint_view(ep, &c->src, c->labels);
    expo_for(c, &e, 0);
    metrics_endpoint_head(ep, &e);
    e.const_labels = c->labels;
    e.nconst = c->src.nconst;
    if (c->src.serve_jobs)
        jobs_render(c->src.jobs, &e, uv_now(c->src.loop));
    expo_flush(&e);
    count(c, &e);
    render_init(&c->rd, c->src.reg, EXPO_REMOTE_WRITE);
    render_select(&c->rd, c->src.bit, c->src.self);
    render_labels(&c->rd, c->labels, c->src.nconst);
    render_remote(&c->rd, c->req.timestamp_ms, c->req.ext, c->req.next, c->req.native);
    c->rendering = 1;
}

/* One piece of the registry; 1 while series remain. */
static int series_piece(struct rwcollect *c)
{
    size_t start = c->body.len, done = 0;
    int more = 1;

    while (more && done < SCRAPE_STEP && c->body.len - start < SCRAPE_PIECE_BYTES) {
        more = render_step(&c->rd, &c->body, SCRAPE_SUBSTEP, uv_now(c->src.loop));
        done += SCRAPE_SUBSTEP;
    }
    return more;
}

static void sql_render(struct rwcollect *c)
{
    struct expo e;

    if (c->src.pg == NULL)
        return;
    expo_for(c, &e, 1);
    {
        const struct sqlpool_select sel = { c->req.site->cfg, c->src.bit, c->src.self, c->labels,
                                            c->src.nconst };

        sqlpool_render(c->src.pg, &e, wallclock_unix(), &sel);
    }
    expo_flush(&e);
    count(c, &e);
}

static void finish(struct rwcollect *c)
{
    struct buf body = c->body;

    uv_idle_stop(&c->idle);
    buf_init(&c->body);
    c->cancelled = 1;
    uv_close((uv_handle_t *)&c->idle, on_closed);
    c->req.done(c->req.arg, &body, c->samples, c->histograms);
}

static void on_idle(uv_idle_t *h)
{
    struct rwcollect *c = h->data;

    switch (c->phase) {
    case PH_START:
        endpoint_start(c);
        c->phase = PH_SERIES;
        return;
    case PH_SERIES:
        if (series_piece(c))
            return;
        c->phase = PH_SQL;
        if (c->src.pg != NULL && c->src.sql &&
            sqlpool_collect(c->src.pg, scrape_deadline_ms(c->req.site->cfg, ""), on_pg, c) == 0) {
            c->pg_waiting = 1;
            c->phase = PH_SQL_WAIT;
            uv_idle_stop(&c->idle);
        }
        return;
    case PH_SQL_WAIT:
        uv_idle_stop(&c->idle);
        return;
    case PH_SQL:
        sql_render(c);
        endpoint_end(c);
        c->phase = PH_NEXT;
        /* fall through */
    case PH_NEXT:
        if (++c->at < c->neps) {
            c->phase = PH_START;
            return;
        }
        finish(c);
        return;
    }
}

static void copy_ext(struct rwcollect *c, const struct expo_label *l, size_t n)
{
    if (n > RWCOLLECT_MAX_EXT)
        n = RWCOLLECT_MAX_EXT;
    c->ext_text = expo_labels_dup(l, n, c->ext);
    c->req.ext = c->ext;
    c->req.next = n;
}

struct rwcollect *rwcollect_start(const struct rwcollect_req *req)
{
    struct rwcollect *c;
    size_t n = 0;

    if (req->nendpoints == 0)
        return NULL;
    c = mem_calloc(1, sizeof *c);
    c->own_default = (struct site_endpoint){ .site = req->site, .index = -1, .name = "metrics" };
    for (size_t i = 0; i < req->nendpoints && n < SITE_MAX_ENDPOINTS; i++) {
        c->eps[n] = find_endpoint(req->site, req->endpoints[i]);
        if (c->eps[n] == NULL && strcmp(req->endpoints[i], "metrics") == 0)
            c->eps[n] = &c->own_default;
        if (c->eps[n] == NULL) {
            free(c);
            return NULL;
        }
        n++;
    }
    c->req = *req;
    c->req.endpoints = NULL;
    c->neps = n;
    copy_ext(c, req->ext, req->next);
    c->phase = PH_START;
    buf_init(&c->body);
    c->gen = site_config_ref(req->site);
    uv_idle_init(req->site->loop, &c->idle);
    c->idle.data = c;
    uv_idle_start(&c->idle, on_idle);
    return c;
}

void rwcollect_cancel(struct rwcollect *c)
{
    if (c == NULL || c->cancelled)
        return;
    c->cancelled = 1;
    if (c->pg_waiting)
        sqlpool_collect_cancel(c->src.pg, on_pg, c);
    uv_idle_stop(&c->idle);
    uv_close((uv_handle_t *)&c->idle, on_closed);
}
