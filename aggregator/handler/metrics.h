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

#include "base/expo.h"
#include "handler/scrape.h"
#include "handler/site.h"
#include "http/httpd.h"

/*
 * httpd_handler_cb for an endpoint's route: arg is its struct site_endpoint, which must
 * outlive the route and every scrape it starts. Answers 503 (and closes) beyond
 * SITE_MAX_SCRAPES scrapes in flight on the endpoint. Loop thread only.
 */
void metrics_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

/*
 * For a remote write of the endpoint (remote/): what a scrape of it serves (src: the
 * selection, the stores, the SQL pool; no head, no callback, format unset) and the labels
 * it copies onto its series, in labels (src->const_labels points there). Returns the one
 * allocation that holds the labels' text, for the caller to free after the last use.
 */
char *metrics_endpoint_view(struct site_endpoint *ep, struct scrape_source *src,
                            struct expo_label labels[SCRAPE_MAX_CONST_LABELS]);

/*
 * The endpoint's head as a scrape writes it (the daemon's own families, process metrics,
 * promhttp's, target_info) to e, flushed; the loop's utilisation window is left to the
 * scrapes.
 */
void metrics_endpoint_head(struct site_endpoint *ep, struct expo *e);

#endif
