/*
 * learnview: the /debug/learn route, learn mode's summary and proposal
 * (expose/learnjson.h), served next to /debug with its protection.
 *
 * An I/O module: it reads the loop's clock and, once per sender pid, /proc/<pid>/exe
 * (cached in the site, never on the ingest path). GET /debug/learn answers the JSON
 * document; ?format=config the proposal as a configuration fragment; &pretty=1 indents.
 * Another parameter or value gets 400 with the reason as JSON. Loop thread only.
 */
#ifndef USTATSD_LEARNVIEW_H
#define USTATSD_LEARNVIEW_H

#include "http/httpd.h"

/* httpd_handler_cb for /debug/learn: arg is the daemon's struct site. */
void learnview_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg);

#endif
