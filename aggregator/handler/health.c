#include "handler/health.h"

#include "handler/site.h"

void health_on_healthy(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    static const char body[] = "ustatsd is Healthy.\n";

    (void)req;
    (void)arg;
    httpd_respond(conn, 200, "text/plain; charset=utf-8", body, sizeof(body) - 1, 0, NULL);
}

void health_on_ready(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    static const char ready[] = "ustatsd is Ready.\n";
    static const char stopping[] = "ustatsd is shutting down.\n";
    const struct site *s = arg;

    (void)req;
    if (s->stopping || !s->ingest_started)
        httpd_respond(conn, 503, "text/plain; charset=utf-8", stopping, sizeof(stopping) - 1, 0,
                      NULL);
    else
        httpd_respond(conn, 200, "text/plain; charset=utf-8", ready, sizeof(ready) - 1, 0, NULL);
}
