/*
 * http: a small HTTP/1.1 server on libuv and http-parser, for /metrics, /debug,
 * /-/healthy and /-/ready.
 *
 * An I/O module. Loop thread only: every function here, and every callback it makes,
 * runs on the thread that runs the server's uv_loop_t. libuv's loop is not thread-safe.
 * The process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN) at startup): libuv writes
 * with writev(2), and a client that left mid-response would otherwise kill the daemon.
 *
 * One struct http_server is one listener with its own route table; an application that
 * wants /debug on a separate address runs two servers. The struct is embedded by its
 * owner; its fields are private to http.c.
 *
 * Lifecycle:
 *     http_server_init(&srv, loop, NULL);                     no handle yet
 *     http_server_route(&srv, "/metrics", "/metrics", metrics_handler, app);
 *     http_server_listen(&srv, "127.0.0.1:9464", err, sizeof err);
 *     ... uv_run ...
 *     http_server_close(&srv, closed_cb);   closes the listener and every connection
 * Once http_server_init() has returned, http_server_close() must be called (even if
 * listen failed) and its callback awaited before the memory of srv is reused.
 *
 * Requests. Routes match the path exactly (the query string is split off and passed raw).
 * Unknown path: 404. Known path and a method other than GET or HEAD: 405 with
 * "Allow: GET, HEAD". With a bearer token set, every path except /-/healthy and /-/ready
 * needs "Authorization: Bearer <token>", else 401 with "WWW-Authenticate: Bearer".
 * Request bodies are read and ignored; more than max_body_bytes gives 413 and close.
 * More than max_header_bytes before the end of the headers gives 431 and close. A
 * malformed request gives 400 and close. Keep-alive is HTTP/1.1's default and works
 * for HTTP/1.0 with "Connection: keep-alive" (one-shot responses only); pipelined
 * requests are answered in order, one at a time (the server does not read while a
 * response is in progress).
 *
 * Timeouts (per connection): a request must arrive completely within read_timeout_ms of
 * its first byte (of the accept, for a connection's first request); a keep-alive
 * connection waiting for its next request is closed after idle_timeout_ms; a response
 * that makes no progress (no write completes, no piece produced) for write_timeout_ms is
 * abandoned and the connection closed. A client breaking a limit is disconnected and
 * counted; nothing else is affected. Beyond max_connections, a new connection is
 * accepted, answered "503" without reading, and closed, unless a connection sits idle
 * (between requests, or never sent a byte): the oldest such one is closed to make room,
 * so idle clients cannot lock a scraper out until their timeouts.
 */
#ifndef USTATSD_HTTP_H
#define USTATSD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"

/* Zero in any field of struct http_config means its default. */
#define HTTP_DEFAULT_MAX_HEADER_BYTES  8192
#define HTTP_DEFAULT_MAX_BODY_BYTES    65536
#define HTTP_DEFAULT_READ_TIMEOUT_MS   10000
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS   30000
#define HTTP_DEFAULT_WRITE_TIMEOUT_MS  30000
#define HTTP_DEFAULT_MAX_CONNECTIONS   64
#define HTTP_DEFAULT_MAX_UNACKED_BYTES ((size_t)256 * 1024)

#define HTTP_MAX_CODES   16      /* distinct status codes counted per route */
#define HTTP_MAX_TOKEN   256     /* bytes in a bearer token */
#define HTTP_OTHER_ROUTE "other" /* handler name counting requests that match no route */

/* The copied request headers are truncated to these sizes (NUL included). */
#define HTTP_ACCEPT_MAX          512
#define HTTP_ACCEPT_ENCODING_MAX 128
#define HTTP_AUTHORIZATION_MAX   512
#define HTTP_SCRAPE_TIMEOUT_MAX  32

struct http_config {
    size_t max_header_bytes;   /* request line + headers; 431 beyond */
    size_t max_body_bytes;     /* request body (ignored); 413 beyond */
    uint64_t read_timeout_ms;  /* a whole request, from its first byte */
    uint64_t idle_timeout_ms;  /* keep-alive wait for the next request */
    uint64_t write_timeout_ms; /* a response without progress */
    unsigned max_connections;  /* open at once, per server */
    size_t max_unacked_bytes;  /* streams: written but not yet acknowledged by libuv */
};

/* Client limit violations, counted by kind in struct http_stats. */
#define HTTP_LIMIT_MAP(XX)             \
    XX(HEADER_SIZE, "header_size")     \
    XX(BODY_SIZE, "body_size")         \
    XX(BAD_REQUEST, "bad_request")     \
    XX(READ_TIMEOUT, "read_timeout")   \
    XX(WRITE_TIMEOUT, "write_timeout") \
    XX(CONNECTIONS, "connections")

enum http_limit {
#define XX(kind, name) HTTP_LIMIT_##kind,
    HTTP_LIMIT_MAP(XX)
#undef XX
        HTTP_LIMIT_COUNT
};

/* "header_size", "body_size", ...: a label value for the kind. */
const char *http_limit_name(enum http_limit kind);

struct http_stats {
    uint64_t connections_accepted;    /* served (rejected ones excluded) */
    uint64_t connections_rejected;    /* over max_connections; also limits[CONNECTIONS] */
    uint64_t connections_idle_closed; /* keep-alive idle timeout: normal, not a violation */
    uint64_t connections_evicted;     /* idle ones closed to make room at the cap */
    uint64_t connections_open;        /* a gauge */
    uint64_t limits[HTTP_LIMIT_COUNT];
};

/* What a handler learns about a request. Every string is NUL-terminated. */
struct http_request {
    int head; /* 1 for HEAD, 0 for GET (other methods never reach a handler) */
    unsigned short http_major, http_minor;
    const char *path;  /* without the query */
    const char *query; /* raw, without '?'; "" when absent; see http_query_get() */
    /* Header values, "" when absent; repeated headers are joined with ", ". */
    const char *accept;
    const char *accept_encoding;
    const char *authorization;
    const char *scrape_timeout; /* X-Prometheus-Scrape-Timeout-Seconds */
};

struct http_conn; /* one client connection; private */
struct http_route;

struct http_server;

/*
 * A route's handler. conn and req are valid only during the call (req entirely; conn as
 * described at http_respond() and http_stream()). The handler must call exactly one of
 * http_respond() or http_stream() before it returns; if it does not, the server answers
 * 500 itself.
 */
typedef void (*http_handler_cb)(struct http_conn *conn, const struct http_request *req, void *arg);

enum http_produce { HTTP_MORE, HTTP_DONE, HTTP_WAIT };

/*
 * A stream's producer: append the next piece of the body to out (empty on entry; keep
 * a piece bounded, say 64 KiB or less) and return HTTP_MORE (call me again), HTTP_DONE
 * (that was the end; out may hold a last piece) or HTTP_WAIT (nothing now: I will call
 * http_resume(conn) when I have more). The server owns out.
 */
typedef int (*http_produce_cb)(struct http_conn *conn, struct buf *out, void *arg);
/* Release the producer's state: the response will not be completed. */
typedef void (*http_cancel_cb)(void *arg);
typedef void (*http_server_close_cb)(struct http_server *srv);

/* Response flags. */
#define HTTP_GZIP 1u /* gzip the body if the request's Accept-Encoding accepts gzip */

struct http_server {
    /* Private. */
    uv_loop_t *loop;
    struct http_config cfg;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } listener;
    uv_idle_t closer; /* closed in http_server_close() so that its callback is deferred */
    int listening;
    int closing;
    unsigned pending_closes;
    char *unix_path; /* unlinked on close */
    struct http_route *routes;
    size_t nroutes;
    struct http_route *other;
    char *bearer;
    size_t bearer_len;
    struct http_conn *conns; /* doubly linked */
    unsigned nconns;
    http_server_close_cb close_cb;
    struct http_stats stats;
};

/*
 * Initialise srv for loop. cfg is copied; NULL or a zero field means the default.
 * Starts nothing. Loop thread only.
 */
void http_server_init(struct http_server *srv, uv_loop_t *loop, const struct http_config *cfg);

/*
 * Add a route: GET and HEAD requests for exactly path go to handler(conn, req, arg).
 * name is the handler label for ustatsd_http_requests_total (often the path itself).
 * path and name are copied. Returns 0, -EEXIST for a duplicate path, or -EINVAL for a
 * path not starting with '/'. Call before or after listen.
 */
int http_server_route(struct http_server *srv, const char *path, const char *name,
                      http_handler_cb handler, void *arg);

/*
 * Require "Authorization: Bearer <token>" on every path except /-/healthy and /-/ready.
 * token is copied (at most HTTP_MAX_TOKEN bytes, printable ASCII); NULL or "" removes the
 * requirement. Returns 0 or -EINVAL.
 */
int http_server_set_bearer(struct http_server *srv, const char *token);

/*
 * Start listening on addr: "host:port" with a numeric IPv4 host ("" or "*" for all,
 * "localhost" for 127.0.0.1: no name is ever resolved, which would block), "[v6]:port",
 * or "unix:/path". Port 0 picks a free port (see http_server_address()). A unix: path
 * holding a stale socket (nobody accepting) is replaced; one in use gives -EADDRINUSE;
 * a non-socket file gives -EEXIST. Once per server. Returns 0 or a negative code with
 * a message in err (NUL-terminated, at most errlen bytes; err may be NULL).
 */
int http_server_listen(struct http_server *srv, const char *addr, char *err, size_t errlen);

/*
 * Parse a TCP listen address, "host:port" (numeric IPv4; "" or "*" for all, "localhost"
 * for 127.0.0.1) or "[v6]:port", into ss without any name lookup. Returns 0 or a
 * negative code (-EINVAL, or libuv's for a malformed address). The test client connects
 * with it too, so both sides read an address the same way.
 */
int http_parse_inet(const char *addr, struct sockaddr_storage *ss);

/*
 * Write the bound address ("127.0.0.1:9464", "[::1]:9464", "unix:/path") to out.
 * Returns 0, -ENOTCONN before listen, or -ENOSPC.
 */
int http_server_address(const struct http_server *srv, char *out, size_t len);

/*
 * Close the listener and every connection (running the cancel callbacks of unfinished
 * streams), unlink a unix: socket file, and release everything srv holds. cb (may be
 * NULL) runs once, on a later loop iteration, when every handle is closed. Call once.
 */
void http_server_close(struct http_server *srv, http_server_close_cb cb);

/* The server's connection and limit counters; valid until close completes. */
const struct http_stats *http_server_stats(const struct http_server *srv);

/*
 * Call cb(handler, code, count, arg) for each (route name, status code) pair counted
 * so far, routes in the order added, then HTTP_OTHER_ROUTE (404s, 401s and client
 * errors on unknown paths). A request is counted when its response starts.
 */
typedef void (*http_requests_cb)(const char *handler, unsigned code, uint64_t count, void *arg);
void http_server_foreach_requests(const struct http_server *srv, http_requests_cb cb, void *arg);

/*
 * One-shot response with Content-Length. body (len bytes) is copied before return; with
 * HTTP_GZIP in flags and a request accepting gzip it is compressed and sent with
 * Content-Encoding: gzip; HTTP_GZIP always adds Vary: Accept-Encoding. content_type may
 * be NULL (no header). extra_headers, if not NULL, is inserted verbatim and must be
 * complete "Name: value\r\n" lines. For HEAD only the headers are sent (Content-Length
 * is the one GET would get). conn must not be used after this call. Returns 0, or
 * -EALREADY if a response was already started (nothing is sent).
 */
int http_respond(struct http_conn *conn, int status, const char *content_type, const void *body,
                 size_t len, unsigned flags, const char *extra_headers);

/*
 * Streamed response: chunked for HTTP/1.1, sent until close (Connection: close) for
 * HTTP/1.0; gzip as for http_respond(). The server calls produce(conn, out, arg) on
 * later loop iterations, never from inside http_stream(), each time only after the
 * previous piece was handed to the socket, a loop iteration passed, and fewer than
 * max_unacked_bytes are waiting for the socket.
 *
 * Exactly one of these ends the stream: produce returns HTTP_DONE (cancel is then never
 * called), or cancel(arg) runs once because the connection died first (client gone,
 * timeout, server closing) or the request was HEAD (produce is then never called).
 * conn stays valid for produce and http_resume() until one of these happened.
 * Returns 0, -EINVAL (a NULL callback) or -EALREADY; on error no callback ever runs.
 */
int http_stream(struct http_conn *conn, int status, const char *content_type, unsigned flags,
                http_produce_cb produce, http_cancel_cb cancel, void *arg);

/*
 * Wake a stream whose producer returned HTTP_WAIT: produce is called again on a later
 * loop iteration. Harmless when not waiting. Never calls back synchronously. Must not
 * be called after the stream ended (HTTP_DONE returned or cancel called).
 */
void http_resume(struct http_conn *conn);

/*
 * Find name in a raw query string ("a=1&b=x%20y") and write its %-decoded value
 * ('+' is a space) to buf, NUL-terminated. A name without '=' has the value "".
 * Returns the value's length, -ENOENT when absent, -ENOSPC when len is too small, or
 * -EINVAL for a malformed %-escape. The first occurrence wins.
 */
int http_query_get(const char *query, const char *name, char *buf, size_t len);

/*
 * Whether an Accept-Encoding value accepts gzip (or x-gzip, or * when gzip is not
 * listed) with a q value above zero. NULL or "" does not.
 */
int http_accepts_gzip(const char *accept_encoding);

#endif
