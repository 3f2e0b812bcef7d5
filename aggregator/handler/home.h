/*
 * home: the "/" route of every listener, the status page (expose/statuspage.h).
 *
 * An I/O module. Anyone who reaches the listener gets the landing part: the build and
 * every listener with its paths. The live part (series against the caps, rates, rejects,
 * jobs) is /debug's data, so it goes only where /debug is served, to a request that
 * passed the credentials /debug takes: the route has /debug's bearer token and the
 * listener's basic auth, and is anonymous (http/httpd.h), so that a request without an
 * Authorization header gets the landing part rather than 401, and one with wrong
 * credentials gets 401. "/?login=1" without credentials answers 401 with the challenges,
 * for a browser to ask for basic auth.
 */
#ifndef USTATSD_HOME_H
#define USTATSD_HOME_H

#include "http/httpd.h"

/*
 * httpd_handler_cb for "/": arg is the listener's struct site_listener (site.h), which
 * must outlive the route. GET and HEAD. Loop thread only.
 */
void home_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

#endif
