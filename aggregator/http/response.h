/*
 * response: the bytes of an HTTP/1.1 response (status line, headers, body framing and
 * gzip), written into a buffer that the connection then hands to its socket.
 *
 * A domain module. One struct response is one connection's response at a time:
 *     response_init(&rs);                          once per connection
 *     rs.head = ...; rs.keep_alive = ...; rs.http10 = ...;
 *     response_whole(&rs, &wire, 200, ...);        a one-shot response, or
 *     response_head(&rs, &wire, 200, ..., -1, ...); then response_piece() for each
 *                                                  piece of a streamed body
 *     response_reset(&rs);                         before the next request's response
 *     response_release(&rs);
 */
#ifndef USTATSD_RESPONSE_H
#define USTATSD_RESPONSE_H

#include <stddef.h>

#include "base/buf.h"
#include "http/gzip.h"

struct response {
    /* Set by the caller before the head. */
    int head;       /* a HEAD request: no body bytes are written */
    int keep_alive; /* else "Connection: close"; response_head() may clear it */
    int http10;     /* the request was HTTP/1.0 */
    /* The server's own "Name: value\r\n" lines for every response (the web config's
     * http_server_config.headers), after extra; NULL: none. Borrowed for the head. */
    const char *headers;
    /* Set by response_head(). */
    int chunked; /* the body goes in chunks (a stream for HTTP/1.1) */
    int gzip;    /* the body is gzipped */

    /* Private. */
    struct gzip gz;
    struct buf zout;
};

void response_init(struct response *rs);

/* Forget the response (and abandon a gzip member); the caller's fields go to 0. */
void response_reset(struct response *rs);

void response_release(struct response *rs);

/* The reason phrase for status ("OK", "Not Found"), "Status" for a code without one. */
const char *response_reason(int status);

/*
 * Append the status line and headers to wire. length < 0 means a streamed body: chunked
 * for HTTP/1.1, ended by close for HTTP/1.0 (keep_alive is cleared). gzip adds
 * Content-Encoding: gzip (and starts the compressor of a streamed body); vary adds
 * Vary: Accept-Encoding. ctype and extra (complete "Name: value\r\n" lines) may be NULL.
 */
void response_head(struct response *rs, struct buf *wire, int status, const char *ctype, int vary,
                   int gzip, long long length, const char *extra);

/*
 * A one-shot response: the head with Content-Length, then body (len bytes, gzipped when
 * gzip) unless head. body is borrowed for the call.
 */
void response_whole(struct response *rs, struct buf *wire, int status, const char *ctype, int vary,
                    int gzip, const void *body, size_t len, const char *extra);

/*
 * Append a piece of a streamed body (n bytes at p, borrowed for the call), compressed and
 * framed as the head said; last ends the body (and the gzip member, and the chunks).
 * Not after the head of a HEAD response, which has no body.
 */
void response_piece(struct response *rs, struct buf *wire, const char *p, size_t n, int last);

#endif
