#include "daemon/reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/errcode.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/wallclock.h"
#include "base/path.h"
#include "config/cfgload.h"
#include "config/cfgread.h"
#include "daemon/internal.h"
#include "pg/conninfo.h"

_Static_assert(TOKENFILE_MAX == HTTPD_MAX_TOKEN, "one bound for a bearer token");

/* A reload in flight: the file is read and checked on a worker thread. */
struct reload {
    uv_work_t req;
    struct app *a;
    struct site_config *next;
    struct security web; /* loaded along with next */
    struct reload_tokens tokens;
    int rc;
    char err[1024];
};

int reload_tokens_read(struct reload_tokens *t, const struct config *c, char *err, size_t errlen)
{
    char why[512];

    memset(t, 0, sizeof(*t));
    if (c->bearer_token_file != NULL &&
        tokenfile_read(c->bearer_token_file, t->daemon, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: $.daemon.bearer_token_file: bearer token file %s", c->path, why);
        return ERRCODE_CONFIG;
    }
    for (size_t i = 0; i < c->nendpoints; i++) {
        const char *file = c->endpoints[i].bearer_token_file;

        if (file != NULL && tokenfile_read(file, t->endpoint[i], why, sizeof(why)) != 0) {
            snprintf(err, errlen,
                     "%s: $.endpoints[%zu].bearer_token_file (endpoint %s): bearer token file %s",
                     c->path, i, c->endpoints[i].name, why);
            return ERRCODE_CONFIG;
        }
    }
    return 0;
}

static int route_bearer(struct site_listener *l, const char *path, const char *token, char *err,
                        size_t errlen)
{
    int rc = httpd_server_route_bearer(&l->srv, path, token);

    if (rc != 0)
        snprintf(err, errlen, "listener %s (%s): httpd_server_route_bearer(%s): %s", l->listen,
                 l->label, path, errcode_str(rc));
    return rc;
}

/* The debug listener's "/" is the status page, unless an endpoint has that path there. */
static int page_on_debug(const struct site *s)
{
    for (size_t i = 0; i < s->nendpoints; i++)
        if (s->endpoints[i].l == s->debug_l && strcmp(s->endpoints[i].path, "/") == 0)
            return 0;
    return 1;
}

int reload_tokens_apply(struct app *a, const struct reload_tokens *t, char *err, size_t errlen)
{
    struct site *s = &a->site;
    int rc;

    for (size_t i = 0; i < s->nendpoints; i++) {
        const struct site_endpoint *ep = &s->endpoints[i];

        rc = route_bearer(ep->l, ep->path, ep->index < 0 ? t->daemon : t->endpoint[ep->index], err,
                          errlen);
        if (rc != 0)
            return rc;
    }
    if (s->debug_l != NULL &&
        ((rc = route_bearer(s->debug_l, "/debug", t->daemon, err, errlen)) != 0 ||
         (rc = route_bearer(s->debug_l, "/debug/snapshot", t->daemon, err, errlen)) != 0 ||
         (page_on_debug(s) && (rc = route_bearer(s->debug_l, "/", t->daemon, err, errlen)) != 0)))
        return rc;
    for (size_t i = 0; i < s->nlisteners; i++) {
        struct site_listener *l = &s->listeners[i];

        if (l != s->metrics_l && l != s->debug_l)
            continue;
        if ((rc = httpd_server_set_bearer(&l->srv, t->daemon)) != 0) {
            snprintf(err, errlen, "listener %s (%s): httpd_server_set_bearer: %s", l->listen,
                     l->label, errcode_str(rc));
            return rc;
        }
    }
    return 0;
}

int reload_check_tokens(const struct config *c, char *err, size_t errlen)
{
    struct reload_tokens *t = mem_alloc(sizeof(*t));
    int rc = reload_tokens_read(t, c, err, errlen);

    /* Secrets do not outlive the check. */
    explicit_bzero(t, sizeof(*t));
    free(t);
    return rc != 0 ? ERRCODE_CONFIG : 0;
}

/*
 * On a worker thread: the file, the flags and environment on top, the checks sqlpool_init
 * would make, then what derives from it. Touches nothing of the daemon's but what it only
 * reads and never changes while the daemon runs (the path, the callback, the pool's
 * address).
 */
static void reload_work(uv_work_t *req)
{
    struct reload *r = container_of(req, struct reload, req);
    struct app *a = r->a;
    struct config *c = &r->next->c;

    r->rc = cfgload_file(c, a->site.config_path, r->err, sizeof(r->err));
    if (r->rc != 0)
        return; /* cfgload_file() left c zeroed */
    r->rc = a->override(c, a->override_arg, r->err, sizeof(r->err));
    if (r->rc == 0)
        r->rc = conninfo_check(c, r->err, sizeof(r->err));
    if (r->rc == 0)
        r->rc = security_load(&r->web, c->web_config_file, &a->basic_pool, r->err, sizeof(r->err));
    if (r->rc == 0 && reload_tokens_read(&r->tokens, c, r->err, sizeof(r->err)) != 0)
        r->rc = ERRCODE_CONFIG; /* reload_done() releases what was loaded */
}

static void reload_failed(struct app *a, const char *why)
{
    a->site.reloads_failed++;
    snprintf(a->site.reload_error, sizeof(a->site.reload_error), "%s", why);
    log_msg(&a->log, LOG_ERROR, "app", "reload refused, the running configuration stays: %s", why);
}

/* A service that changed starts its sums again: they were another's. */
static void reset_services(struct site *s, const struct config *next)
{
    for (size_t i = 0; i < s->nendpoints; i++) {
        struct site_endpoint *ep = &s->endpoints[i];
        const struct config_endpoint *was = site_endpoint_cfg(ep), *now;

        if (was == NULL)
            continue;
        now = &next->endpoints[ep->index];
        if (was->has_service != now->has_service || was->service.uid != now->service.uid ||
            !path_same_str(was->service.exe, now->service.exe) ||
            !path_same_str(was->service.cgroup, now->service.cgroup)) {
            svcproc_release(&ep->svc);
            svcproc_init(&ep->svc);
        }
    }
}

/* Swap next in: every module that holds the config moves to it, then the old one goes. */
static void reload_apply(struct app *a, struct site_config *next)
{
    struct site *s = &a->site;
    uint64_t t0 = uv_hrtime();
    struct registry_reload rr;
    struct site_config *old = s->gen;
    int fmt = log_format_parse(next->c.log_format), level = log_level_parse(next->c.log_level);

    /* What the sockets took in before the reload is judged by the config it came under. */
    site_catch_up(s);
    reset_services(s, &next->c);
    registry_reconfigure(&s->reg, &next->c, &rr);
    jobs_reconfigure(&s->jobs, &next->c, uv_now(&a->loop));
    jobs_date(&s->jobs, wallclock_unix());
    persist_configure(&s->state, next->c.state_interval);
    next->refs = 1;
    s->gen = next;
    s->cfg = &next->c;
    /* Before the old config goes: the targets match theirs by its names. */
    if (a->push_started)
        rwpush_apply(&a->push, s->cfg);
    site_config_unref(old);
    site_track_senders(s);
    site_track_learn(s);
    app_credentials_poke(a);
    if (fmt >= 0)
        a->log.fmt = (enum log_format)fmt;
    if (level >= 0)
        a->log.min = (enum log_level)level;
    s->reloads_ok++;
    s->reload_error[0] = '\0';
    s->config_loaded_unix = wallclock_unix();
    log_msg(&a->log, LOG_INFO, "app",
            "configuration reloaded from %s in %.3f ms: %zu families kept, %zu added, %zu "
            "changed layout (series dropped), %zu removed; %zu jobs",
            s->config_path, (double)(uv_hrtime() - t0) / 1e6, rr.kept, rr.added, rr.reset,
            rr.removed, s->cfg->njobs);
}

/* Back on the loop with a loaded config: refused, or put in force. */
static void reload_finish(struct app *a, struct reload *r)
{
    char keybuf[128], why[sizeof(r->err) + 256];
    const char *key;

    if (r->rc != 0) {
        reload_failed(a, r->err);
        return;
    }
    key = cfgload_restart_key(a->site.cfg, &r->next->c, keybuf, sizeof(keybuf));
    if (key != NULL) {
        snprintf(why, sizeof(why),
                 "%s: %s: differs from the running configuration, and only a restart can "
                 "change it",
                 a->site.config_path, key);
        reload_failed(a, why);
        return;
    }
    if (reload_tokens_apply(a, &r->tokens, why, sizeof(why)) != 0) {
        /* The running tokens went on before: they go on again. */
        if (reload_tokens_apply(a, &a->tokens, keybuf, sizeof(keybuf)) != 0)
            log_msg(&a->log, LOG_ERROR, "app", "bearer tokens: %s, not restored", keybuf);
        reload_failed(a, why);
        return;
    }
    memcpy(&a->tokens, &r->tokens, sizeof(a->tokens));
    reload_apply(a, r->next);
    r->next = NULL;
    security_apply(a, &r->web);
}

static void reload_done(uv_work_t *req, int status)
{
    struct reload *r = container_of(req, struct reload, req);
    struct app *a = r->a;

    a->reload = NULL;
    if (status == 0 && !a->site.stopping)
        reload_finish(a, r);
    security_release(&r->web); /* not applied, or already taken */
    if (r->next != NULL) {     /* not swapped in; a failed load left it zeroed */
        cfgload_release(&r->next->c);
        free(r->next);
    }
    explicit_bzero(&r->tokens, sizeof(r->tokens));
    free(r);
    reload_pending(a);
    if (a->reload == NULL && !a->reload_again && !a->site.stopping)
        sysd_reloaded(&a->sysd, a->site.cfg, a->site.reload_error[0] ? a->site.reload_error : NULL);
}

void reload_pending(struct app *a)
{
    if (!a->reload_again)
        return;
    a->reload_again = 0;
    reload_start(a);
}

void reload_start(struct app *a)
{
    struct registry *reg = &a->site.reg;
    struct reload *r;
    int rc;

    if (a->site.stopping)
        return;
    if (a->reload != NULL || registry_draining(reg)) {
        if (!a->reload_again && a->reload == NULL)
            log_msg(&a->log, LOG_INFO, "app",
                    "SIGHUP: reload deferred until the %zu series the last one dropped are "
                    "freed",
                    registry_series_retired(reg));
        a->reload_again = 1;
        return;
    }
    log_msg(&a->log, LOG_INFO, "app", "SIGHUP: reloading the configuration from %s",
            a->site.config_path);
    r = mem_calloc(1, sizeof(*r));
    r->next = mem_calloc(1, sizeof(*r->next));
    r->a = a;
    if ((rc = uv_queue_work(&a->loop, &r->req, reload_work, reload_done)) != 0) {
        char why[128];

        free(r->next);
        free(r);
        snprintf(why, sizeof(why), "could not start the reload: uv_queue_work: %s",
                 uv_strerror(rc));
        reload_failed(a, why);
        sysd_reloaded(&a->sysd, a->site.cfg, a->site.reload_error);
        return;
    }
    a->reload = r;
}
