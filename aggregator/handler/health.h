/*
 * health: /-/healthy and /-/ready, which every listener serves, as Prometheus's own.
 *
 * An I/O module. Healthy while the process answers; ready while the ingest socket
 * receives and the daemon is not stopping.
 */
#ifndef USTATSD_HEALTH_H
#define USTATSD_HEALTH_H

#include "http/httpd.h"

/* httpd_handler_cb for /-/healthy: always 200. arg is unused. Loop thread only. */
void health_on_healthy(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

/*
 * httpd_handler_cb for /-/ready: arg is the daemon's struct site (site.h), which must
 * outlive the route. 200 while it receives, 503 before and once stopping. Loop thread only.
 */
void health_on_ready(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

#endif
