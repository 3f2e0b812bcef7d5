#include "handler/home.h"
#include "expose/learnprop.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/query.h"
#include "expose/statuspage.h"
#include "handler/site.h"

/* The query asks to sign in: login=1. */
static int wants_login(const char *query)
{
    const char *p = query;
    char name[16], value[16];

    while (query_next(&p, name, sizeof(name), value, sizeof(value)) > 0)
        if (strcmp(name, "login") == 0 && strcmp(value, "1") == 0)
            return 1;
    return 0;
}

void home_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct site_listener *l = arg;
    struct site *s = l->site;
    struct buf body = BUF_INIT;
    struct selfmetrics *r = mem_alloc(sizeof(*r));
    struct statuspage_view v = { 0 };
    int debug_here = s->debug_l == l;

    if (debug_here && !req->authenticated && wants_login(req->query)) {
        free(r);
        httpd_respond_unauthorized(conn);
        return;
    }
    site_read(s, r);
    v.self = r;
    v.here = l->addr;
    v.live = debug_here && req->authenticated;
    v.sign_in = debug_here && !req->authenticated;
    if (v.live) {
        /* A HEAD takes no reading of the rates: only a view moves their window. */
        if (!req->head)
            statuspage_rate_update(&s->page_rate, r);
        v.reg = &s->reg;
        v.jobs = &s->jobs;
        v.rejects = &s->rejects;
        v.rate = &s->page_rate;
        if (s->cfg->learn_enabled)
            v.learn = learnprop_all(&s->learn, s->cfg);
    }
    statuspage_render(&body, &v);
    json_decref((json_t *)v.learn);
    httpd_respond(conn, 200, "text/html; charset=utf-8", body.ptr, body.len, HTTPD_GZIP,
                  "Cache-Control: no-store\r\n");
    buf_release(&body);
    free(r);
}
