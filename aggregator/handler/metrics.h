/*
 * metrics: the scrape endpoints' handler, GET and HEAD of /metrics and of each
 * configured endpoint's path.
 *
 * An I/O module. It renders the endpoint's head up front, in the format the request
 * negotiated: the daemon's own families (a reading, site.h) with its process metrics, or
 * the service's process metrics when the endpoint stands for one, promhttp's families,
 * then target_info with the resource attributes, which the endpoint also copies onto its
 * series. It hands that and what the endpoint serves to a scrape (scrape.h), which
 * streams the rest. It counts the endpoint's scrapes in flight and finished, and logs
 * each SQL collector's change of state once.
 */
#ifndef USTATSD_METRICS_H
#define USTATSD_METRICS_H

#include "handler/site.h"
#include "http/httpd.h"

/*
 * httpd_handler_cb for an endpoint's route: arg is its struct site_endpoint, which must
 * outlive the route and every scrape it starts. Answers 503 (and closes) beyond
 * SITE_MAX_SCRAPES scrapes in flight on the endpoint. Loop thread only.
 */
void metrics_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

#endif
