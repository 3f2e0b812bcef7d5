/*
 * snapshot: the /debug/snapshot route, POST only: write a state snapshot now.
 *
 * An I/O module. The request waits for a snapshot that starts after it (persist.h) and
 * is answered with its figures as JSON, or with why it failed (500). Without a state
 * file, or while the daemon stops, it is refused with 409.
 */
#ifndef USTATSD_SNAPSHOT_H
#define USTATSD_SNAPSHOT_H

#include "http/httpd.h"

/*
 * httpd_handler_cb for /debug/snapshot: arg is the daemon's struct site (site.h), which
 * must outlive the route. Loop thread only.
 */
void snapshot_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

#endif
