/*
 * httpd: a small HTTP/1.1 server on libuv and http-parser, for /metrics, /debug,
 * /-/healthy and /-/ready.
 *
 * An I/O module. Loop thread only: every function here, and every callback it makes,
 * runs on the thread that runs the server's uv_loop_t. libuv's loop is not thread-safe.
 * The process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN) at startup): libuv writes
 * with writev(2), and a client that left mid-response would otherwise kill the daemon.
 *
 * One struct httpd_server is one listener with its own route table; an application that
 * wants /debug on a separate address runs two servers. The struct is embedded by its
 * owner; its fields are private to the server's files (internal.h). The parts below
 * it: request (parsing and size limits), response (the bytes of a response, with gzip),
 * negotiate (Accept-Encoding), routes (the table and its counters), listener (the
 * socket) and evict (whom to close at the cap).
 *
 * Lifecycle:
 *     httpd_server_init(&srv, loop, NULL);                     no handle yet
 *     httpd_server_route(&srv, "/metrics", "/metrics", metrics_handler, app);
 *     httpd_server_listen(&srv, "127.0.0.1:9464", err, sizeof err);
 *     ... uv_run ...
 *     httpd_server_close(&srv, closed_cb);   closes the listener and every connection
 * Once httpd_server_init() has returned, httpd_server_close() must be called (even if
 * listen failed) and its callback awaited before the memory of srv is reused.
 *
 * Requests. Routes match the path exactly (the query string is split off and passed raw).
 * Unknown path: 404. Known path and a method other than GET or HEAD: 405 with
 * "Allow: GET, HEAD" (a route made POST-only by httpd_server_route_post() the reverse).
 * With a bearer token set, every path except /-/healthy and /-/ready needs
 * "Authorization: Bearer <token>", else 401 with "WWW-Authenticate: Bearer". With
 * basic auth users (httpd_server_set_basic_auth()), every path except the probes needs
 * "Authorization: Basic ..." of one of them, or the path's bearer token if it has one:
 * either is accepted, and the 401 carries a challenge for each ("WWW-Authenticate: Basic
 * realm="ustatsd", charset="UTF-8"", then "WWW-Authenticate: Bearer"). A basic check that
 * misses the cache is answered after the bcrypt work (the request waits, not the loop);
 * one beyond the bound of work in flight gets 503 with "Retry-After: 1".
 * Request bodies are read and ignored; more than max_body_bytes gives 413 and close.
 * More than max_header_bytes before the end of the headers gives 431 and close. A
 * malformed request gives 400 and close. Keep-alive is HTTP/1.1's default and works
 * for HTTP/1.0 with "Connection: keep-alive" (one-shot responses only); pipelined
 * requests are answered in order, one at a time (the server does not read while a
 * response is in progress, and a response is in progress until the client has taken
 * all but HTTPD_HOLD_UNREAD bytes of it from the socket: a client that pipelines and
 * does not read gets its next answer when it has read this one, and holds no more than
 * one answer in the kernel's buffers).
 *
 * Deadlines (per connection): a request must arrive completely within read_timeout_ms of
 * its first byte (of the accept, for a connection's first request); bytes that trickle
 * in never extend it. A keep-alive connection waiting for its next request is closed
 * after idle_timeout_ms. A response that makes no progress (no write completes, no piece
 * is produced, under 64 KiB reach the socket) for write_timeout_ms is abandoned: a
 * deferred answer that has not come by then is cancelled and answered 503 (close), a
 * stream is cut. And a client must take a response at min_send_rate bytes/s at least: while bytes
 * wait on it (handed to the socket, not yet taken), its clock runs, and it may not exceed
 * send_grace_ms plus the bytes handed divided by the rate. The clock covers the whole run of
 * pipelined responses answered back to back, so a slow reader cannot renew its grace with each
 * response; time the server spends producing is not counted. A client breaking a limit is
 * disconnected and counted; nothing else is affected.
 *
 * The cap. At most max_connections are served at once. When a new connection comes and
 * the cap is reached, a connection that is not making progress is closed to make room,
 * counted by reason in httpd_stats.evictions; evict.h is the policy: which one, and
 * which are never evicted (rather than evict one of those, the server stops accepting
 * until the next loop iteration). A plaintext connection is read once as it is
 * accepted: one whose whole request was there is answered at once. At most 128
 * connections are accepted per loop iteration; the rest wait in the backlog for the
 * next. Beyond the cap, probe_reserve more connections may be accepted that serve only
 * /-/healthy and /-/ready (then close); anything else there gets 503 and close, and the
 * reserve evicts as the cap does. Only when the cap and the reserve are full of
 * connections that are all making progress is a new one answered "503" without reading,
 * and closed.
 */
#ifndef USTATSD_HTTPD_H
#define USTATSD_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/buf.h"
#include "base/bufpool.h"
#include "http/evict.h"
#include "http/listener.h"
#include "http/routes.h"
#include "http/tlsmem.h"
#include "http/tlspool.h"
#include "config/webcfg.h"

/* Zero in any field of struct httpd_config means its default. */
#define HTTPD_DEFAULT_MAX_HEADER_BYTES  8192
#define HTTPD_DEFAULT_MAX_BODY_BYTES    65536
#define HTTPD_DEFAULT_READ_TIMEOUT_MS   10000
#define HTTPD_DEFAULT_IDLE_TIMEOUT_MS   30000
#define HTTPD_DEFAULT_WRITE_TIMEOUT_MS  30000
#define HTTPD_DEFAULT_MAX_CONNECTIONS   64
#define HTTPD_DEFAULT_MAX_UNACKED_BYTES ((size_t)256 * 1024)
#define HTTPD_DEFAULT_MIN_SEND_RATE     16384 /* bytes/s */
#define HTTPD_DEFAULT_SEND_GRACE_MS     5000
#define HTTPD_DEFAULT_EVICT_STALL_MS    1000
#define HTTPD_DEFAULT_EVICT_WORK_MS     10000
#define HTTPD_DEFAULT_EVICT_FRESH_MS    100
#define HTTPD_DEFAULT_PROBE_RESERVE     8
#define HTTPD_DEFAULT_MAX_PARKED        4096  /* at most; fewer when descriptors are short */
#define HTTPD_PARK_UNSENT_MAX           65536 /* bytes unread in a socket: closed, not parked */
#define HTTPD_HOLD_UNREAD               65536 /* ... the next request waits until under this */
/*
 * Response buffers of HTTPD_POOL_MIN_BYTES or more, freed once written or at the end of
 * a response, are kept for the next pieces, HTTPD_POOL_MAX_BYTES in all for each server
 * (each listener has its own; bufpool.h): a scrape's piece buffer and those of its pieces
 * in flight.
 */
#define HTTPD_POOL_MIN_BYTES ((size_t)64 * 1024)
#define HTTPD_POOL_MAX_BYTES ((size_t)2 * 1024 * 1024)

#define HTTPD_MAX_TOKEN   256          /* bytes in a bearer token */
#define HTTPD_OTHER_ROUTE ROUTES_OTHER /* handler name counting requests that match no route */

struct httpd_config {
    size_t max_header_bytes;   /* request line + headers; 431 beyond */
    size_t max_body_bytes;     /* request body (ignored); 413 beyond */
    uint64_t read_timeout_ms;  /* a whole request, from its first byte */
    uint64_t idle_timeout_ms;  /* keep-alive wait for the next request */
    uint64_t write_timeout_ms; /* a response without progress */
    unsigned max_connections;  /* open at once, per server */
    size_t max_unacked_bytes;  /* streams: written but not yet acknowledged by libuv */
    uint64_t min_send_rate;    /* bytes/s a client must take a response at, on average */
    uint64_t send_grace_ms;    /* ... after this grace, once per run of responses */
    uint64_t evict_stall_ms;   /* at the cap, a response stalled this long is evictable */
    uint64_t evict_work_ms;    /* ... and work waiting this long (deferred, producer waits) */
    uint64_t evict_fresh_ms;   /* a new connection, a handshake step: ranked last this long */
    unsigned probe_reserve;    /* connections beyond the cap for /-/healthy and /-/ready */
    unsigned max_parked;       /* evicted connections parked at once (httppark.c); 0: fit
                                * to the descriptors, at most HTTPD_DEFAULT_MAX_PARKED */
};

/* Client limit violations, counted by kind in struct httpd_stats. */
#define HTTPD_LIMIT_MAP(XX)            \
    XX(HEADER_SIZE, "header_size")     \
    XX(BODY_SIZE, "body_size")         \
    XX(BAD_REQUEST, "bad_request")     \
    XX(READ_TIMEOUT, "read_timeout")   \
    XX(WRITE_TIMEOUT, "write_timeout") \
    XX(CONNECTIONS, "connections")     \
    XX(SEND_RATE, "send_rate")

enum httpd_limit {
#define XX(kind, name) HTTPD_LIMIT_##kind,
    HTTPD_LIMIT_MAP(XX)
#undef XX
        HTTPD_LIMIT_COUNT
};

/* "header_size", "body_size", ...: a label value for the kind. */
const char *httpd_limit_name(enum httpd_limit kind);

/* Why a connection was evicted at the cap (evict.h), counted in struct httpd_stats. */
#define HTTPD_EVICT_MAP(XX) EVICT_MAP(XX)

enum httpd_evict {
#define XX(kind, name) HTTPD_EVICT_##kind,
    HTTPD_EVICT_MAP(XX)
#undef XX
        HTTPD_EVICT_COUNT
};

/* "idle", "linger", "request", "response", "work": a label value for the reason. */
const char *httpd_evict_name(enum httpd_evict reason);

struct httpd_stats {
    uint64_t connections_accepted;    /* served (rejected ones excluded) */
    uint64_t connections_rejected;    /* over max_connections; also limits[CONNECTIONS] */
    uint64_t connections_idle_closed; /* keep-alive idle timeout: normal, not a violation */
    uint64_t connections_evicted;     /* closed to make room at the cap: sum of evictions */
    uint64_t connections_open;        /* a gauge */
    uint64_t limits[HTTPD_LIMIT_COUNT];
    uint64_t tls_handshakes;                  /* completed, the client's checks passed */
    uint64_t tls_failures[TLSMEM_FAIL_COUNT]; /* failed handshakes, by reason (tlsmem.h) */
    uint64_t evictions[HTTPD_EVICT_COUNT];
    uint64_t reserve_accepted;   /* connections accepted into the probe reserve */
    uint64_t accept_pauses;      /* times accepting waited a loop iteration (see above) */
    uint64_t connections_parked; /* evictions that parked rather than closed (httppark.c) */
    uint64_t parked_closed;      /* parked ones closed to make room in the lot */
    uint64_t parked_open;        /* a gauge: parked now */
    uint64_t responses_held;     /* answers not taken when whole: the next request waited */
};

/* What a handler learns about a request. Every string is NUL-terminated. */
struct httpd_request {
    int head; /* 1 for HEAD, 0 for GET or, on a POST route, POST (no other method reaches one) */
    unsigned short http_major, http_minor;
    const char *path;  /* without the query */
    const char *query; /* raw, without '?'; "" when absent; see query_next() */
    /* Header values, "" when absent; repeated headers are joined with ", ". */
    const char *accept;
    const char *accept_encoding;
    const char *authorization;
    const char *scrape_timeout; /* X-Prometheus-Scrape-Timeout-Seconds */
    /* 1: the request passed the path's credentials check, or the path needs none; 0: a
     * request without an Authorization header on a route httpd_server_route_anonymous()
     * opened to it. */
    int authenticated;
};

struct httpd_conn; /* one client connection; private */
struct basicauth;
struct httpd_route;

struct httpd_server;

/*
 * A route's handler. conn and req are valid only during the call (req entirely; conn as
 * described at httpd_respond() and httpd_stream()). The handler must call exactly one of
 * httpd_respond() or httpd_stream() before it returns; if it does not, the server answers
 * 500 itself.
 */
typedef void (*httpd_handler_cb)(struct httpd_conn *conn, const struct httpd_request *req,
                                 void *arg);

enum httpd_produce { HTTPD_MORE, HTTPD_DONE, HTTPD_WAIT };

/*
 * A stream's producer: append the next piece of the body to out (empty on entry; keep
 * a piece bounded, say 64 KiB or less) and return HTTPD_MORE (call me again), HTTPD_DONE
 * (that was the end; out may hold a last piece) or HTTPD_WAIT (nothing now: I will call
 * httpd_resume(conn) when I have more). The server owns out.
 */
typedef int (*httpd_produce_cb)(struct httpd_conn *conn, struct buf *out, void *arg);
/* Release the producer's state: the response will not be completed. */
typedef void (*httpd_cancel_cb)(void *arg);
typedef void (*httpd_server_close_cb)(struct httpd_server *srv);

/*
 * Response flags. HTTPD_GZIP: gzip the body if Accept-Encoding accepts it (negotiate_gzip()).
 * HTTPD_CLOSE: say "Connection: close" and close once the response is out, whatever the
 * client asked; requests it pipelined behind this one are never read (a refusal such as
 * "too many scrapes in flight", which a client should retry on a new connection later).
 * A whole response (httpd_respond()) so flagged is followed by no FIN: the connection is
 * parked (httppark.c), so that a client that closes as told is gone, and one that waits
 * (a flood's) gets nothing more and does not come back for another slot.
 */
#define HTTPD_GZIP  1u
#define HTTPD_CLOSE 2u

struct httpd_server {
    /* Private. */
    uv_loop_t *loop;
    struct httpd_config cfg;
    struct listener listener;
    uv_idle_t closer; /* closed in httpd_server_close() so that its callback is deferred */
    int closing;
    unsigned pending_closes;
    struct routes routes;
    struct httpd_route *handlers; /* by route index */
    char *bearer;
    size_t bearer_len;
    struct basicauth *basic;   /* a reference, or NULL */
    char *headers;             /* "Name: value\r\n" lines for every response, or NULL */
    struct httpd_conn *conns;  /* doubly linked */
    struct httpd_conn *closed; /* closing, their handles not yet freed */
    struct httpd_conn *parked, *parked_tail; /* evicted and parked: newest first */
    unsigned nparked, max_parked;
    unsigned nconns;
    unsigned nserving, nreserve; /* not closing: in the cap, in the probe reserve */
    uv_prepare_t pacer;          /* counts polls */
    uv_check_t retry;            /* after the poll: takes a connection left waiting */
    uv_idle_t spin;              /* keeps the next poll from blocking while one waits */
    uv_timer_t wake;             /* ... or wakes it when a spared handshake is due */
    uint64_t pass;               /* polls begun, as counted by pacer */
    int paused;                  /* a connection waits in libuv's accept slot */
    char *rbuf;            /* every connection's reads: each is consumed before the next one */
    struct bufpool pool;   /* big response buffers between responses, for the next pieces */
    unsigned turn_accepts; /* accepted since pacer last ran: at most ACCEPTS_PER_TURN */
    httpd_server_close_cb close_cb;
    struct httpd_stats stats;
    struct tlsmem_ctx *tls; /* a reference; NULL: plain HTTP */
    struct tlspool *hs;     /* where handshakes run: own_hs, or a shared one */
    struct tlspool own_hs;
    int fake_time;             /* httpd_server_set_time() was called: the clock is fake_now */
    uint64_t fake_now;         /* milliseconds */
    void (*before)(void *arg); /* httpd_server_set_before() */
    void *before_arg;
};

/*
 * Initialise srv for loop. cfg is copied; NULL or a zero field means the default.
 * Starts nothing. Loop thread only.
 */
void httpd_server_init(struct httpd_server *srv, uv_loop_t *loop, const struct httpd_config *cfg);

/*
 * Add a route: GET and HEAD requests for exactly path go to handler(conn, req, arg).
 * name is the handler label for ustatsd_http_requests_total (often the path itself).
 * path and name are copied. Returns 0, -EEXIST for a duplicate path, or -EINVAL for a
 * path not starting with '/'. Call before or after listen.
 */
int httpd_server_route(struct httpd_server *srv, const char *path, const char *name,
                       httpd_handler_cb handler, void *arg);

/*
 * Require "Authorization: Bearer <token>" on every path except /-/healthy and /-/ready.
 * token is copied (at most HTTPD_MAX_TOKEN bytes, printable ASCII); NULL or "" removes the
 * requirement. Returns 0 or -EINVAL.
 */
int httpd_server_set_bearer(struct httpd_server *srv, const char *token);

/*
 * Give the route at path its own bearer token, which replaces the server's for it: token
 * (same rules), or NULL or "" for none, so that the route is open. Returns 0, -ENOENT when
 * no route has path, or -EINVAL.
 */
int httpd_server_route_bearer(struct httpd_server *srv, const char *path, const char *token);

/*
 * Serve TLS with ctx (a reference is taken; the caller keeps its own), or plain HTTP
 * with NULL. A connection uses the context current when it was accepted, for its whole
 * life: replacing the context (a reload rotating the certificate) affects new
 * connections only. The handshake must complete, and the first request arrive, within
 * read_timeout_ms of the accept; a failed handshake is counted by reason in
 * stats.tls_failures and closes that connection only. A response ends with close_notify
 * before FIN. Call before or after listen.
 */
void httpd_server_set_tls(struct httpd_server *srv, struct tlsmem_ctx *ctx);

/*
 * Run this server's TLS handshakes on pool (tlspool.h), shared with other servers so
 * that their bound is the process's, or on a pool of the server's own with NULL (the
 * default: TLSPOOL_DEFAULT_IN_FLIGHT steps at once, TLSPOOL_DEFAULT_WAIT_MS in the
 * queue). pool must outlive the server's close. Handshake steps never run on the loop:
 * a connection stops reading while its step is queued or running, and one whose step
 * waits past the pool's max_wait_ms is closed and counted as
 * tls_failures[TLSMEM_FAIL_QUEUE_TIMEOUT]. Call before listen.
 */
void httpd_server_set_tls_pool(struct httpd_server *srv, struct tlspool *pool);

/*
 * Call before(arg) right before each request's handler runs (not for a request refused
 * first: no route, a wrong method, no credentials). The owner brings its state up to date
 * there, so that a request sees everything that came before it: ustatsd delivers the
 * datagrams its ingest took from the kernel and holds for a later turn. NULL: none.
 */
void httpd_server_set_before(struct httpd_server *srv, void (*before)(void *arg), void *arg);

/*
 * The route at path does without the before hook (a health check, which reads nothing the
 * hook brings up to date, and must not pay for it). Returns 0 or -ENOENT.
 */
int httpd_server_route_skip_before(struct httpd_server *srv, const char *path);

/*
 * Require basic auth of ba's users on every path except /-/healthy and /-/ready (a path
 * with a bearer token takes either), or none with ba NULL. srv takes a reference to ba
 * and drops the one it held: a swap on reload. Checks in flight keep the users they
 * started with and finish on them. Loop thread only.
 */
void httpd_server_set_basic_auth(struct httpd_server *srv, struct basicauth *ba);

/*
 * Add these headers to every response from now on, the server's own (errors, 401, 503)
 * included; n 0 removes them. Copied. A name must be a token and a value printable
 * (HTAB allowed), and neither a header the server writes itself (Content-Type,
 * Content-Length, Transfer-Encoding, Content-Encoding, Connection, Vary, Allow,
 * WWW-Authenticate, Retry-After): else -EINVAL and nothing changes. Returns 0 or -EINVAL.
 */
int httpd_server_set_headers(struct httpd_server *srv, const struct webcfg_header *h, size_t n);

/*
 * Make the route at path take POST, and only POST (it acts: GET and HEAD get 405 with
 * "Allow: POST"); a handler sees req->head 0. Returns 0 or -ENOENT.
 */
int httpd_server_route_post(struct httpd_server *srv, const char *path);

/*
 * Serve the route at path to a request without an Authorization header too, with
 * req->authenticated 0, so that the handler shows it less; a request with the header is
 * checked as on any route (401 when it fails) and has req->authenticated 1. Returns 0 or
 * -ENOENT.
 */
int httpd_server_route_anonymous(struct httpd_server *srv, const char *path);

/*
 * Answer 401 with the challenges the request's path takes (a bearer token, basic auth or
 * both), as the server answers a request that lacks them: for a handler of an anonymous
 * route whose visitor asks to sign in (a browser asks for basic auth only after one).
 * conn must not be used after this call.
 */
void httpd_respond_unauthorized(struct httpd_conn *conn);

/*
 * Start listening on addr: "host:port" with a numeric IPv4 host ("" or "*" for all,
 * "localhost" for 127.0.0.1: no name is ever resolved, which would block), "[v6]:port",
 * or "unix:/path". Port 0 picks a free port (see httpd_server_address()). A unix: path
 * holding a stale socket (nobody accepting) is replaced; one in use gives -EADDRINUSE;
 * a non-socket file gives -EEXIST. Once per server. Returns 0 or a negative code with
 * a message in err (NUL-terminated, at most errlen bytes; err may be NULL).
 */
int httpd_server_listen(struct httpd_server *srv, const char *addr, char *err, size_t errlen);

/*
 * httpd_server_listen() on a socket already bound and listening at addr (fd, passed by
 * systemd's ListenStream=): listener_adopt(). srv owns fd from the call on.
 */
int httpd_server_adopt(struct httpd_server *srv, const char *addr, int fd, char *err,
                       size_t errlen);

/*
 * Write the bound address ("127.0.0.1:9464", "[::1]:9464", "unix:/path") to out.
 * Returns 0, -ENOTCONN before listen, or -ENOSPC.
 */
int httpd_server_address(const struct httpd_server *srv, char *out, size_t len);

/*
 * Close the listener and every connection (running the cancel callbacks of unfinished
 * streams), unlink a unix: socket file, and release everything srv holds. cb (may be
 * NULL) runs once, on a later loop iteration, when every handle is closed. Call once.
 */
void httpd_server_close(struct httpd_server *srv, httpd_server_close_cb cb);

/* The server's connection and limit counters; valid until close completes. */
const struct httpd_stats *httpd_server_stats(const struct httpd_server *srv);

/*
 * How many connections wait for a request that has not begun (new ones that sent no
 * byte yet, and keep-alive ones between requests): those that eviction may close.
 */
unsigned httpd_server_idle_connections(const struct httpd_server *srv);

/*
 * Call cb(handler, code, count, arg) for each (route name, status code) pair counted
 * so far, routes in the order added, then HTTPD_OTHER_ROUTE (404s, 401s and client
 * errors on unknown paths). A request is counted when its response starts.
 */
typedef void (*httpd_requests_cb)(const char *handler, unsigned code, uint64_t count, void *arg);
void httpd_server_foreach_requests(const struct httpd_server *srv, httpd_requests_cb cb, void *arg);

/*
 * One-shot response with Content-Length. body (len bytes) is copied before return; with
 * HTTPD_GZIP in flags and a request accepting gzip it is compressed and sent with
 * Content-Encoding: gzip; HTTPD_GZIP always adds Vary: Accept-Encoding. content_type may
 * be NULL (no header). extra_headers, if not NULL, is inserted verbatim and must be
 * complete "Name: value\r\n" lines. For HEAD only the headers are sent (Content-Length
 * is the one GET would get). conn must not be used after this call. Returns 0, or
 * -EALREADY if a response was already started (nothing is sent).
 */
int httpd_respond(struct httpd_conn *conn, int status, const char *content_type, const void *body,
                  size_t len, unsigned flags, const char *extra_headers);

/*
 * Streamed response: chunked for HTTP/1.1, sent until close (Connection: close) for
 * HTTP/1.0; gzip as for httpd_respond(). The server calls produce(conn, out, arg) on
 * later loop iterations, never from inside httpd_stream(), each time only after the
 * previous piece was handed to the socket, a loop iteration passed, and fewer than
 * max_unacked_bytes are waiting for the socket.
 *
 * Exactly one of these ends the stream: produce returns HTTPD_DONE (cancel is then never
 * called), or cancel(arg) runs once because the connection died first (client gone,
 * timeout, server closing) or the request was HEAD (produce is then never called).
 * conn stays valid for produce and httpd_resume() until one of these happened.
 * Returns 0, -EINVAL (a NULL callback) or -EALREADY; on error no callback ever runs.
 */
int httpd_stream(struct httpd_conn *conn, int status, const char *content_type, unsigned flags,
                 httpd_produce_cb produce, httpd_cancel_cb cancel, void *arg);

/*
 * Answer later: the handler returns without a response, and calls httpd_respond(conn,
 * ...) once it has one (from any later callback on the loop). Until then conn is valid,
 * unless cancel(arg) runs first because the connection died (server closing, client
 * gone): then conn must not be used. Returns 0, -EINVAL (a NULL callback) or -EALREADY;
 * on error cancel never runs.
 */
int httpd_defer(struct httpd_conn *conn, httpd_cancel_cb cancel, void *arg);

/*
 * Wake a stream whose producer returned HTTPD_WAIT: produce is called again on a later
 * loop iteration. Harmless when not waiting. Never calls back synchronously. Must not
 * be called after the stream ended (HTTPD_DONE returned or cancel called).
 */
void httpd_resume(struct httpd_conn *conn);

/*
 * Testing only: from now on the server's clock reads now_ms (milliseconds, on
 * uv_now()'s scale) instead of uv_now(), until the next call; each call re-arms every
 * response's deadline from the new time (a deadline already passed fires on the next
 * loop iteration). The clock times progress, the write timeout, the send rate and
 * eviction; the read, idle and linger timeouts run on the loop's timers regardless.
 * Call before listen or on the loop thread.
 */
void httpd_server_set_time(struct httpd_server *srv, uint64_t now_ms);

#endif
