/*
 * inspect: the /debug route, the debug view as JSON (expose/debug.h renders it).
 *
 * An I/O module. A request takes a reading of the daemon (site.h) and streams the view
 * in pieces; the render holds the config generation it started under until it ends.
 */
#ifndef USTATSD_INSPECT_H
#define USTATSD_INSPECT_H

#include "http/httpd.h"

/*
 * httpd_handler_cb for /debug: arg is the daemon's struct site, which must outlive the
 * route. A query the view cannot answer gets 400 with the reason as JSON. Loop thread only.
 */
void inspect_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

#endif
