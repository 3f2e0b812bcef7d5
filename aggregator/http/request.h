/*
 * request: one HTTP/1.x request read from a connection's bytes, on http-parser, with the
 * server's size limits.
 *
 * A domain module: no loop, no clock, no socket. The caller feeds the bytes it read and
 * learns whether a request is complete, needs more bytes, or must be refused. A parser
 * is for one connection: requests follow each other on it (keep-alive, pipelining), and
 * request_next() makes it ready for the one after a complete request.
 *
 *     request_init(&r, 8192, 65536);
 *     n = request_feed(&r, data, len, &v);   v: MORE, DONE, EOF or REFUSED
 *     ... DONE: answer r.path, r.query, r.accept, ...; data + n starts the next request
 *     request_next(&r);
 *     ...
 *     request_release(&r);
 *
 * Limits. Until the headers are complete, at most max_header_bytes (request line and
 * headers) are fed to http-parser: beyond, the request is refused with 431. A body
 * (read and dropped) over max_body_bytes, declared or sent, is refused with 413. Anything
 * http-parser rejects is refused with 400, and so is what it lets through but RFC 9110/9112
 * forbid: a header name that is not a token (a space before the colon), whitespace at the
 * start of a header line (obs-fold), a control byte in a header value (HTAB aside), and a
 * control byte in the target, raw or %-encoded (query_has_ctl()). The headers the server reads are
 * copied into fixed arrays and truncated to their size; repeated ones are joined with ", " (RFC
 * 9110 5.3). No other header is kept, so memory per request is bounded by max_header_bytes.
 */
#ifndef USTATSD_REQUEST_H
#define USTATSD_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "base/buf.h"

/*
 * The copied request headers are truncated to these sizes (NUL included), except
 * Authorization: a longer one is refused with 431. 1024 holds "Basic " and the base64 of
 * the longest user-id and password basic auth takes (basiccred.h), and any bearer token.
 */
#define REQUEST_ACCEPT_MAX          512
#define REQUEST_ACCEPT_ENCODING_MAX 128
#define REQUEST_AUTHORIZATION_MAX   1024
#define REQUEST_SCRAPE_TIMEOUT_MAX  32

#define REQUEST_FIELD_MAX 64 /* longer header names cannot be one we keep */

enum request_verdict {
    REQUEST_MORE,    /* every byte was consumed; the request is not complete yet */
    REQUEST_DONE,    /* a complete request; the bytes after it were not consumed */
    REQUEST_EOF,     /* the client ended the connection where no answer is due */
    REQUEST_REFUSED, /* answer status (400, 413 or 431) and close */
};

enum request_phase {
    REQUEST_EMPTY,   /* no byte of this request yet */
    REQUEST_HEADERS, /* request line and headers */
    REQUEST_BODY,
    REQUEST_COMPLETE, /* REQUEST_DONE was returned: the fields below are set */
    REQUEST_FAILED,   /* REQUEST_REFUSED or REQUEST_EOF was returned */
};

enum request_slot {
    REQUEST_SLOT_NONE,
    REQUEST_SLOT_ACCEPT,
    REQUEST_SLOT_ACCEPT_ENCODING,
    REQUEST_SLOT_AUTHORIZATION,
    REQUEST_SLOT_SCRAPE,
};

struct request {
    /* Read-only, set when request_feed() returns DONE (status: REFUSED). */
    enum request_phase phase;
    int method; /* enum http_method */
    unsigned short http_major, http_minor;
    int keep_alive;    /* what the request asks for (HTTP/1.1 default, or the header) */
    int status;        /* 400, 413 or 431 for a refused request */
    const char *path;  /* NUL-terminated, without the query */
    const char *query; /* raw, without '?'; "" when absent */
    /* Header values, "" when absent; valid from the first byte on. */
    char accept[REQUEST_ACCEPT_MAX];
    char accept_encoding[REQUEST_ACCEPT_ENCODING_MAX];
    char authorization[REQUEST_AUTHORIZATION_MAX];
    char scrape_timeout[REQUEST_SCRAPE_TIMEOUT_MAX]; /* X-Prometheus-Scrape-Timeout-Seconds */

    /* Private. */
    http_parser parser;
    size_t max_header_bytes;
    size_t max_body_bytes;
    size_t header_bytes;
    uint64_t body_bytes;
    struct buf url;
    char field[REQUEST_FIELD_MAX];
    size_t field_len;
    int in_value;
    int line; /* where the scan of the head's line starts is (request.c) */
    enum request_slot slot;
};

/* Whether s[0..n) is a token (RFC 9110 5.6.2: a header name): n > 0 and tchars only. */
int request_is_token(const char *s, size_t n);

/* Initialise r for a new connection's first request. Both limits must be above zero. */
void request_init(struct request *r, size_t max_header_bytes, size_t max_body_bytes);

/* Release what r holds; it may be initialised again. */
void request_release(struct request *r);

/* Forget a complete request and be ready for the next one on the same connection. */
void request_next(struct request *r);

/*
 * Parse len bytes of the current request (phase EMPTY, HEADERS or BODY). Returns how
 * many were consumed and sets *verdict. After DONE, data + the return value is the start
 * of the next (pipelined) request, to feed after request_next(). After REFUSED or EOF,
 * the connection is done with: feed nothing more.
 */
size_t request_feed(struct request *r, const char *data, size_t len, enum request_verdict *verdict);

#endif
