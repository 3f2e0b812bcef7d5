#include "handler/inspect.h"

#include <stdlib.h>

#include "base/buf.h"
#include "base/mem.h"
#include "expose/debug.h"
#include "handler/site.h"

struct inspect_response {
    struct site *site;       /* counts the render in flight (site_rendering) */
    struct site_config *gen; /* the config the render borrows, when a reload loaded it */
    struct debug_render dr;
};

static void inspect_free(struct inspect_response *d)
{
    debug_render_release(&d->dr);
    d->site->debug_in_flight--;
    site_config_unref(d->gen);
    free(d);
}

static int produce_debug(struct httpd_conn *conn, struct buf *out, void *arg)
{
    struct inspect_response *d = arg;

    (void)conn;
    if (debug_render_step(&d->dr, out))
        return HTTPD_MORE;
    inspect_free(d);
    return HTTPD_DONE;
}

static void on_debug_cancel(void *arg)
{
    inspect_free(arg);
}

void inspect_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct site *s = arg;
    struct debug_query q;
    struct selfmetrics reading;
    struct inspect_response *d;
    char err[512];

    if (debug_query_parse(&q, s->cfg, req->query, err, sizeof(err)) != 0) {
        struct buf body = BUF_INIT;

        debug_error_json(&body, err);
        httpd_respond(conn, 400, "application/json", body.ptr, body.len, 0, NULL);
        buf_release(&body);
        return;
    }
    site_read(s, &reading);
    d = mem_calloc(1, sizeof(*d));
    d->site = s;
    s->debug_in_flight++;
    d->gen = site_config_ref(s);
    debug_render_init(&d->dr, &q, &reading, &s->reg, &s->jobs, &s->rejects);
    if (httpd_stream(conn, 200, "application/json", HTTPD_GZIP, produce_debug, on_debug_cancel,
                     d) != 0) {
        inspect_free(d);
        httpd_respond(conn, 500, "application/json", "{\"error\":\"internal\"}\n", 20, 0, NULL);
    }
}
