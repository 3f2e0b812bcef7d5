/*
 * httpc: a tiny blocking HTTP/1.1 client for tests.
 *
 * Not for the daemon: it blocks, and it trusts the server enough to be simple. Every
 * socket operation has a timeout (SO_RCVTIMEO/SO_SNDTIMEO, and poll for connect), so a
 * test that waits on a broken server fails instead of hanging.
 *
 * A connection keeps the bytes it read past one response, so keep-alive and pipelining
 * work: send several requests, then call httpc_read() once per response, in order.
 *
 *     struct httpc_response r;
 *     if (httpc_get("127.0.0.1:9464", "/metrics", "Accept-Encoding: gzip\r\n", &r) == 0) {
 *         cr_assert_eq(r.status, 200);
 *         ... r.body, r.body_len (de-chunked and gunzipped), httpc_header(&r, "content-type")
 *         httpc_response_release(&r);
 *     }
 *
 * Thread-safe in the sense that separate connections share nothing.
 */
#ifndef USTATSD_TESTS_HTTPC_H
#define USTATSD_TESTS_HTTPC_H

#include <stddef.h>

#include "base/buf.h"

#define HTTPC_TIMEOUT_MS 5000 /* the default for httpc_open() with timeout_ms 0 */

struct httpc {
    int fd;         /* -1 when closed */
    int timeout_ms; /* per blocking call */
    struct buf in;  /* bytes read and not yet parsed */
};

struct httpc_response {
    int status;         /* e.g. 200 */
    int http_minor;     /* 1 for "HTTP/1.1" */
    struct buf headers; /* raw header block, "Name: value\r\n" lines, without the status line */
    char *body;         /* NUL-terminated (the NUL is not counted); never NULL */
    size_t body_len;    /* after chunked and gzip decoding */
    size_t wire_len;    /* body bytes on the wire (after de-chunking, before gunzip) */
    int chunked;        /* Transfer-Encoding: chunked */
    int gzip;           /* Content-Encoding: gzip, decoded */
    int until_close;    /* the body was delimited by the server closing */
    struct buf value;   /* httpc_header()'s result */
};

/*
 * Connect to "host:port" (numeric IPv4), "[v6]:port" or "unix:/path". timeout_ms 0 means
 * HTTPC_TIMEOUT_MS. Returns 0 or a negative errno (-ETIMEDOUT, -ECONNREFUSED, -EINVAL).
 */
int httpc_open(struct httpc *h, const char *addr, int timeout_ms);

/* Close the socket (if open) and release the buffer. Safe to call twice. */
void httpc_close(struct httpc *h);

/* Send len raw bytes, all of them. Returns 0 or a negative errno (-EPIPE, -ETIMEDOUT). */
int httpc_send(struct httpc *h, const void *data, size_t len);

/*
 * Send "<method> <target> HTTP/1.1\r\nHost: test\r\n<headers>\r\n" (headers: complete
 * "Name: value\r\n" lines, or NULL). Returns as httpc_send().
 */
int httpc_request(struct httpc *h, const char *method, const char *target, const char *headers);

/*
 * Read one response. head: the request was HEAD (no body follows, whatever the headers
 * say). On success fills *r (release it with httpc_response_release()) and returns 0.
 * Returns -ECONNRESET if the server closed before a complete response (even a partial
 * one), -ETIMEDOUT, or -EPROTO for a response this client cannot parse or decode; *r
 * needs no release then.
 */
int httpc_read(struct httpc *h, int head, struct httpc_response *r);

/*
 * Read up to len raw bytes (those already buffered first), waiting up to the
 * connection's timeout. Returns the count, 0 when the server closed, or a negative errno.
 */
long httpc_recv(struct httpc *h, void *buf, size_t len);

/*
 * Wait until the server closes the connection (EOF or reset), discarding what arrives.
 * Returns 0, or -ETIMEDOUT when it is still open after timeout_ms.
 */
int httpc_wait_closed(struct httpc *h, int timeout_ms);

/*
 * The value of the first header named name (case-insensitive), without surrounding
 * blanks, copied into a buffer owned by r: valid until the next httpc_header() call on r
 * or httpc_response_release(). NULL when absent.
 */
const char *httpc_header(struct httpc_response *r, const char *name);

void httpc_response_release(struct httpc_response *r);

/*
 * One request on a fresh connection: GET target with "Connection: close" and the extra
 * headers (or NULL). Returns as httpc_open() and httpc_read().
 */
int httpc_get(const char *addr, const char *target, const char *headers, struct httpc_response *r);

#endif
