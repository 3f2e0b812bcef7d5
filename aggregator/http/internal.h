/*
 * The HTTP server's private declarations, shared by the files it is made of:
 *   httpd.c      the server: configuration, routes, listening, closing, the response API
 *   httpaccept.c accepting: the pace of accepts per loop turn, the cap, eviction's I/O side
 *   httpconn.c   a connection's life: reading, TLS, dispatch, keep-alive, lingering, close
 *   httpsend.c   a response's way out: writes, the stream pump, progress and deadlines
 *   httpauth.c   the credentials a request needs: bearer tokens and basic auth
 * and evict.c, the eviction policy, which knows nothing of these.
 *
 * Loop thread only, as httpd.h.
 */
#ifndef USTATSD_HTTP_INTERNAL_H
#define USTATSD_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/buf.h"
#include "http/basicauth.h"
#include "http/evict.h"
#include "http/httpd.h"
#include "http/request.h"
#include "http/response.h"
#include "http/tlsmem.h"
#include "http/tlspool.h"

#define HTTPD_RBUF_SIZE 16384 /* srv->rbuf */

/* The handler of the route of the same index in srv->routes. */
struct httpd_route {
    httpd_handler_cb handler;
    void *arg;
    int own_bearer;  /* httpd_server_route_bearer() was called: bearer replaces the server's */
    int post;        /* httpd_server_route_post(): POST only, GET and HEAD refused */
    int anonymous;   /* httpd_server_route_anonymous(): served without credentials too */
    int skip_before; /* httpd_server_route_skip_before(): the before hook is not called */
    char *bearer;    /* NULL: open */
    size_t bearer_len;
};

/*
 * One connection is in exactly one state. A request is read (IDLE, READING), handled,
 * answered in one piece (FLUSHING) or streamed (READY, PRODUCING, WOKEN, WAITING,
 * BLOCKED, then FLUSHING), and the connection either goes back to IDLE (keep-alive) or
 * lingers and closes:
 *
 *   IDLE -> READING -> HANDLING -> FLUSHING -> IDLE | LINGERING -> CLOSING
 *                                  ^
 *             HANDLING -> READY <-> PRODUCING/WOKEN, WAITING, BLOCKED -> FLUSHING
 *
 * Any state may go to CLOSING (client gone, timeout, server closing).
 */
enum httpconn_state {
    CONN_IDLE,      /* waiting for the first byte of a request */
    CONN_READING,   /* a request has begun */
    CONN_HANDLING,  /* dispatched, no response started yet; not reading */
    CONN_DEFERRED,  /* httpd_defer(): the response comes later; not reading */
    CONN_READY,     /* streaming: the idle handle will call produce */
    CONN_PRODUCING, /* streaming: inside produce */
    CONN_WOKEN,     /* streaming: inside produce, and httpd_resume() was called */
    CONN_WAITING,   /* streaming: produce returned HTTPD_WAIT */
    CONN_BLOCKED,   /* streaming: over max_unacked_bytes until writes complete */
    CONN_FLUSHING,  /* the last byte was handed to uv_write */
    CONN_LINGERING, /* our last byte is out: shut down, drain input until EOF */
    CONN_PARKED,    /* evicted, not closed: in srv->parked, reads dropped (httppark.c) */
    CONN_CLOSING,
};

struct httpd_conn {
    struct httpd_server *srv;
    struct httpd_conn *prev, *next;
    union listener_stream h;
    uv_timer_t timer;
    uv_idle_t idle;
    uv_shutdown_t shutdown;
    unsigned open_handles;
    enum httpconn_state state;
    unsigned nrequests;

    struct request req;
    struct buf pending; /* bytes read past the request being answered (pipelining) */

    /* The response, set when it starts. */
    int route; /* index into srv->routes, or ROUTES_NONE */
    struct response rs;
    size_t unacked;
    struct buf wire;  /* bytes for the next uv_write */
    struct buf piece; /* the producer's output */
    httpd_produce_cb produce;
    httpd_cancel_cb cancel;
    void *arg;
    struct basicauth_work *auth_work; /* a basic auth check in flight (CONN_DEFERRED) */
    int auth_bearer;                  /* the path also takes a bearer token: 401 says so */
    int authenticated;                /* passed the path's credentials check (or it needs none) */

    struct tlsmem_conn *tls; /* NULL: plain HTTP */
    struct buf plain;        /* TLS: plaintext decrypted from one read */
    int tls_counted;         /* the handshake's outcome is counted */
    struct tlspool_job hs;   /* TLS: a handshake step on the threadpool */
    int hs_begun;            /* a handshake step was queued before */
    struct buf hs_in;        /* handshake bytes read, short of a whole record */

    /*
     * Progress and the send rate. progress_ms: the last accept, request read, write
     * completed, piece produced, or 64 KiB reaching the socket (sent_mark: the bytes
     * sent then). A run of responses (busy) begins when a request is read while none was
     * being answered, and ends when the connection waits for its client again; over it,
     * rate_bytes were handed to the socket and the client kept bytes waiting for owed_ms
     * (plus now - owed_since while unacked > 0).
     */
    uint64_t pass;         /* srv->pass at the accept: evictable once the loop polled it */
    uint64_t accepted_ms;  /* the server's clock at the accept */
    int sent;              /* a byte was read from the client */
    int read_early;        /* read_now() (httpconn.c) read a whole request: evictable now */
    int reserved;          /* accepted into the probe reserve */
    int park_after;        /* refused there, or answered with HTTPD_CLOSE: parked once it is out */
    int park_until_spoken; /* CONN_PARKED: closed when its client sends a byte */
    int busy;
    int draining;        /* a whole answer written, over HTTPD_HOLD_UNREAD of it unread */
    size_t drain_left;   /* ... bytes of ours in the socket at the last look */
    uint64_t drain_poll; /* ... ms until the next look */
    uint64_t progress_ms;
    uint64_t handed, sent_mark;
    uint64_t rate_bytes, owed_ms, owed_since;
};

/* ---- httpd.c ---- */

/* The server's clock: uv_now(), or the time httpd_server_set_time() gave. */
uint64_t httpd__now(const struct httpd_server *srv);

/* Once closing and the last handle is closed: release everything, run close_cb. */
void httpd__maybe_done(struct httpd_server *srv);

/* ---- httpaccept.c ---- */

/* Set up the pacer, retry and spin handles (closed by httpd_server_close()). */
void httpaccept_init(struct httpd_server *srv);

/* The listener's connection callback. */
void httpaccept_connection_cb(uv_stream_t *server, int status);

/* The listener started (rc 0): start counting polls. Returns rc. */
int httpaccept_start(struct httpd_server *srv, int rc);

/* ---- httpconn.c ---- */

/* A connection in srv's list, its handles initialised, not accepted yet; NULL on error. */
struct httpd_conn *httpconn_new(struct httpd_server *srv, int reserved);

/* Accepted: arm the read deadline, read, and read at once what is already there. */
void httpconn_start(struct httpd_conn *c);

/* Close now (cancel runs for a stream or a deferred answer); freed when handles close. */
void httpconn_close(struct httpd_conn *c);

/* Our last byte is out: FIN, then drain the client's input for a while, then close. */
void httpconn_linger(struct httpd_conn *c);

/* The response is wholly written: keep-alive (the next request) or linger. */
void httpconn_end_response(struct httpd_conn *c);

/* The server's own answers: errors, 401/404/405, and 500 for a silent handler. */
void httpconn_respond_plain(struct httpd_conn *c, int status, const char *extra);

/* After the credentials, if any were needed: 404, 405, or the route's handler. */
void httpconn_serve(struct httpd_conn *c);

void httpconn_limit_hit(struct httpd_conn *c, enum httpd_limit kind);

/* What eviction needs to know of c at the server's now (may note bytes sent as progress). */
void httpconn_facts(struct httpd_conn *c, struct evict_conn *out);

/*
 * Free c's buffers and TLS state (a handshake left unfinished is counted as at a close):
 * at its end, or when it is parked. c may be released again.
 */
void httpconn_release(struct httpd_conn *c);

/* libuv's allocation callback for every read: the server's one read buffer. */
void httpconn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b);

/* Out of the cap (or the reserve) and of srv->conns, for httppark_park(). */
void httpconn_leave(struct httpd_conn *c);

/* ---- httppark.c ---- */

/*
 * Evict c by parking it (see httppark.c): out of the cap, its buffers and TLS state
 * freed, its socket kept open, read and dropped (until_spoken: closed at its first
 * byte), until its client closes, idle_timeout_ms passes, or the lot needs room. A connection that cannot be parked (a stream, a
 * deferred answer, a handshake step out, the lot disabled) is closed. Returns 1 when
 * parked, 0 when closed.
 */
int httppark_park(struct httpd_conn *c, int until_spoken);

/* Take a parked c out of the lot (httpconn_close()). */
void httppark_unlink(struct httpd_conn *c);

/* ---- httpsend.c ---- */

/* Progress now: the write timeout and eviction count from here. */
void httpsend_progress(struct httpd_conn *c);

/* If 64 KiB reached the socket since the last progress, that is progress too; while
 * draining, so is any byte the client took from the socket. */
void httpsend_sample(struct httpd_conn *c);

/* Bytes of ours in c's socket that its client has not taken: over TCP, sent and not
 * acknowledged or not sent yet; on a Unix socket, not read yet. */
size_t httpsend_unread(struct httpd_conn *c);

/*
 * A whole answer is written: if more than HTTPD_HOLD_UNREAD bytes of it still wait in the
 * socket, hold the connection (draining) until its client has taken all but that, and
 * return 1; the rate clock runs meanwhile. Return 0 when the client has taken it.
 */
int httpsend_hold(struct httpd_conn *c);

/* Whether c is owed: bytes handed to libuv wait, or it is draining. */
static inline int httpsend_owed(const struct httpd_conn *c)
{
    return c->unacked > 0 || c->draining;
}

/* A run of responses begins: the rate clock starts from nothing (no-op while busy). */
void httpsend_busy_begin(struct httpd_conn *c);

/* Arm c's one timer for ms from now. */
void httpsend_timer(struct httpd_conn *c, uint64_t ms);

/* While responding: the timer for the earlier of the write timeout and the send rate. */
void httpsend_respond_timer(struct httpd_conn *c);

/* Hand c->wire to the socket. The connection may be closing when this returns. */
void httpsend_flush(struct httpd_conn *c);

/*
 * Hand len bytes to the socket as they are, in clear even on a TLS connection: the 400
 * for a client that sent plain HTTP to a TLS port. The connection may be closing when
 * this returns.
 */
void httpsend_clear(struct httpd_conn *c, const char *data, size_t len);

/* Call the stream's producer on the next loop iteration. */
void httpsend_pump_soon(struct httpd_conn *c);

/* ---- httpauth.c ---- */

/* Whether token (n bytes) may be a bearer token: at most HTTPD_MAX_TOKEN, printable. */
int httpauth_token_ok(const char *token, size_t n);

/*
 * The request on c is dispatched (CONN_HANDLING, its route found): check what its path
 * needs and serve it (httpconn_serve()), answer 401 or 503, or defer while a basic
 * auth check runs.
 */
void httpauth_check(struct httpd_conn *c);

static inline int httpconn_streaming(const struct httpd_conn *c)
{
    return c->state >= CONN_READY && c->state <= CONN_BLOCKED;
}

static inline int httpconn_responding(const struct httpd_conn *c)
{
    return c->state >= CONN_HANDLING && c->state <= CONN_FLUSHING;
}

#endif
