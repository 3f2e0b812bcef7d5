#include "daemon/security.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/errcode.h"
#include "base/log.h"
#include "base/wallclock.h"
#include "daemon/internal.h"

int security_load(struct security *web, const char *path, struct basicauth_pool *pool, char *err,
                  size_t errlen)
{
    int rc;

    memset(web, 0, sizeof(*web));
    if (path == NULL || path[0] == '\0')
        return 0;
    if ((rc = webcfg_load(&web->w, path, err, errlen)) != 0)
        return rc;
    if (web->w.tls.enabled &&
        (rc = tlsmem_ctx_new(&web->tls, &web->w.tls, path, err, errlen)) != 0) {
        webcfg_release(&web->w);
        return rc;
    }
    if (pool != NULL && web->w.nusers > 0)
        web->basic = basicauth_new(pool, web->w.users, web->w.nusers);
    return 0;
}

void security_release(struct security *web)
{
    tlsmem_ctx_unref(web->tls);
    basicauth_unref(web->basic);
    webcfg_release(&web->w);
    memset(web, 0, sizeof(*web));
}

/*
 * A certificate expired, or within 14 days of it at now: the warning, naming the web
 * config, the certificate and the date, in buf. 1 with a warning, 0 without.
 */
static int expiry_warning(const struct security *web, int64_t now, char *buf, size_t len)
{
    int64_t not_after = web->tls != NULL ? tlsmem_ctx_not_after(web->tls) : 0;
    enum tlsmem_expiry e = tlsmem_expiry_check(not_after, now);
    time_t t = (time_t)not_after;
    struct tm tm;
    char date[32] = "?";

    if (not_after == 0 || e == TLSMEM_VALID)
        return 0;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(buf, len, "web config %s: the TLS certificate %s %s on %s%s", web->w.path,
             tlsmem_ctx_cert_origin(web->tls), e == TLSMEM_EXPIRED ? "expired" : "expires", date,
             e == TLSMEM_EXPIRED ? ": clients that verify it refuse every connection"
                                 : ", within 14 days: renew it and reload");
    return 1;
}

int security_check(const struct config *c, char *err, size_t errlen, char *warn, size_t warnlen)
{
    struct security web;

    if (warnlen > 0)
        warn[0] = '\0';
    if (security_load(&web, c->web_config_file, NULL, err, errlen) != 0)
        return ERRCODE_CONFIG;
    expiry_warning(&web, (int64_t)wallclock_unix(), warn, warnlen);
    security_release(&web);
    return 0;
}

/* What the views show of the web config in force. */
static void show(struct app *a)
{
    a->site.tls = a->web.tls;
    a->site.web_config_file = a->web.w.path;
}

int security_start(struct app *a, char *err, size_t errlen)
{
    int rc = security_load(&a->web, a->site.cfg->web_config_file, &a->basic_pool, err, errlen);

    if (rc != 0)
        return rc;
    show(a);
    return 0;
}

int security_serve(struct app *a, struct site_listener *l, char *err, size_t errlen)
{
    int rc;

    httpd_server_set_tls(&l->srv, a->web.tls);
    httpd_server_set_basic_auth(&l->srv, a->web.basic);
    rc = httpd_server_set_headers(&l->srv, a->web.w.headers, a->web.w.nheaders);
    if (rc != 0)
        snprintf(err, errlen, "listener %s (%s): httpd_server_set_headers(%zu headers of %s): %s",
                 l->listen, l->label, a->web.w.nheaders, a->web.w.path, errcode_str(rc));
    return rc;
}

void security_log(struct app *a)
{
    char fp[65] = "", warning[1024];

    if (a->web.w.path == NULL)
        return;
    if (a->web.tls != NULL)
        tlsmem_ctx_fingerprint(a->web.tls, fp);
    log_msg(&a->log, LOG_INFO, "http",
            "web config %s: %s%s on every listener, %zu basic auth users, %zu extra headers",
            a->web.w.path, a->web.tls ? "TLS with certificate sha256 " : "plain HTTP", fp,
            a->web.w.nusers, a->web.w.nheaders);
    if (expiry_warning(&a->web, (int64_t)wallclock_unix(), warning, sizeof(warning)))
        log_msg(&a->log, LOG_WARN, "http", "%s", warning);
}

void security_apply(struct app *a, struct security *next)
{
    char err[512];

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
    security_release(&a->web);
    a->web = *next;
    memset(next, 0, sizeof(*next));
    show(a);
    for (size_t i = 0; i < a->site.nlisteners; i++) {
        int rc = security_serve(a, &a->site.listeners[i], err, sizeof(err));

        assert(rc == 0); /* webcfg allows only headers that httpd takes */
        (void)rc;
    }
    security_log(a);
}
