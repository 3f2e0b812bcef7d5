#include "handler/site.h"

#include <stdlib.h>
#include <string.h>

#include "base/wallclock.h"
#include "config/cfgload.h"
#include "statsd.h"

struct site_config *site_config_ref(struct site *s)
{
    if (s->gen != NULL)
        s->gen->refs++;
    return s->gen;
}

void site_config_unref(struct site_config *gen)
{
    /* The start-up config (NULL here) belongs to main and lives for the whole run. */
    if (gen == NULL || --gen->refs > 0)
        return;
    cfgload_release(&gen->c);
    free(gen);
}

const struct config_endpoint *site_endpoint_cfg(const struct site_endpoint *ep)
{
    return ep->index >= 0 ? &ep->site->cfg->endpoints[ep->index] : NULL;
}

void site_track_senders(struct site *s)
{
    int any = 0;

    for (size_t i = 0; i < s->cfg->nendpoints; i++)
        any |= s->cfg->endpoints[i].has_service;
    s->intake.senders = any ? &s->senders : NULL;
}

void site_track_learn(struct site *s)
{
    learnsum_configure(&s->learn, s->cfg->learn_enabled, s->cfg->learn_max_bytes);
    intake_learn(&s->intake, &s->learn);
}

int site_rendering(const struct site *s)
{
    if (persist_running(&s->state) || s->debug_in_flight > 0)
        return 1;
    for (size_t i = 0; i < s->nendpoints; i++)
        if (s->endpoints[i].in_flight > 0)
            return 1;
    return 0;
}

int site_holds_collapses(const struct site *s)
{
    return site_rendering(s) || s->freeing || registry_draining(&s->reg) || s->stopping;
}

void site_catch_up(struct site *s)
{
    if (s->ingest_started)
        ingest_deliver_held(&s->in);
    if (s->udp_started)
        ingest_deliver_held(&s->udp);
}

void site_before_request(void *arg)
{
    site_catch_up(arg);
}

/* The state file's figures. */
static void read_state(const struct persist *st, struct selfmetrics_state *v)
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

/* The listeners: where each endpoint is, and how its scrapes went. */
static void read_listeners(struct site *s, struct selfmetrics *r)
{
    r->metrics_listen = s->metrics_l ? s->metrics_l->addr : "";
    r->metrics_path = s->cfg->metrics_path;
    r->debug_listen = s->debug_l ? s->debug_l->addr : "";
    for (size_t i = 0; i < s->nendpoints; i++) {
        const struct site_endpoint *ep = &s->endpoints[i];
        struct selfmetrics_endpoint *v = &s->ep_view[i];

        *v = (struct selfmetrics_endpoint){ ep->name, ep->l->addr, ep->path, ep->in_flight, { 0 } };
        memcpy(v->scrapes, ep->scrapes, sizeof(v->scrapes));
    }
    r->endpoints = s->ep_view;
    r->remote_write = &s->rwstats;
    r->nendpoints = s->nendpoints;
}

/* The sockets: the Unix one always, UDP when it is on. */
static void read_sockets(const struct site *s, struct selfmetrics *r)
{
    const struct config *c = s->cfg;

    r->socket_path = c->socket_path;
    r->socket_mode = c->socket_mode;
    r->max_dgram_qlen = s->in.max_dgram_qlen;
    r->passcred = s->in.passcred;
    r->rcvbuf = s->in.rcvbuf;
#define COPY_SOCKET(field, metric, key, help) r->field = s->in.stats.field;
    SELFMETRICS_SOCKET_MAP(COPY_SOCKET)
#undef COPY_SOCKET
    if (s->udp_started) {
        int64_t drops = ingest_kernel_drops(&s->udp);

        r->udp_on = 1;
        r->udp_listen = c->udp_listen;
        r->udp_address = s->udp.addr_text;
        r->udp_allow_remote = c->udp_allow_remote;
        r->udp_rcvbuf = s->udp.rcvbuf;
#define COPY_UDP(field, metric, key, help) r->udp.field = s->udp.stats.field;
        SELFMETRICS_UDP_INGEST_MAP(COPY_UDP)
#undef COPY_UDP
        r->udp.kernel_drops = drops > 0 ? (uint64_t)drops : 0;
    }
}

/* TLS, summed over the listeners; nothing of it without. */
static void read_tls(const struct site *s, struct selfmetrics *r)
{
    if (s->tls == NULL)
        return;
    r->tls.on = 1;
    r->tls.web_config_file = s->web_config_file;
    tlsmem_ctx_fingerprint(s->tls, r->tls.cert_sha256);
    r->tls.cert_file = tlsmem_ctx_cert_origin(s->tls);
    r->tls.cert_not_after = (double)tlsmem_ctx_not_after(s->tls);
    for (size_t i = 0; i < s->nlisteners; i++) {
        const struct httpd_stats *hs = httpd_server_stats(&s->listeners[i].srv);

        r->tls.handshakes += hs->tls_handshakes;
        for (size_t k = 0; k < TLSMEM_FAIL_COUNT; k++)
            r->tls.failures[k] += hs->tls_failures[k];
    }
}

void site_read(struct site *s, struct selfmetrics *r)
{
    memset(r, 0, sizeof(*r));
    r->version = USTATSD_VERSION;
    r->config_path = s->config_path;
    r->cfg = s->cfg;
    r->reg = &s->reg;
    r->start_unix = s->start_unix;
    r->now_unix = wallclock_unix();
    r->config_loaded_unix = s->config_loaded_unix;
    r->start_ms = s->start_ms;
    r->learn.on = s->learn.enabled;
    r->learn.entries = s->learn.entries;
    r->learn.bytes = s->learn.bytes;
    r->learn.max_bytes = s->learn.max_bytes;
    r->learn.evictions = s->learn.evictions;
    r->learn.lines = s->learn.lines;
    r->now_ms = uv_now(s->loop);
    r->reloads_ok = s->reloads_ok;
    r->reloads_failed = s->reloads_failed;
    r->reload_error = s->reload_error[0] ? s->reload_error : NULL;
    memcpy(r->basic_auth, s->basic_pool->checks, sizeof(r->basic_auth));
    read_listeners(s, r);
    read_state(&s->state, &r->state);
    if (s->huge != NULL)
        r->huge = *s->huge;
    read_sockets(s, r);
    read_tls(s, r);
    r->lines = s->intake.count;
    r->stats = s->stats;
}
