/*
 * A connection's life: accepted, read (in clear or through TLS), dispatched, answered
 * (httpsend.c), then kept alive for the next request, or lingered over and closed.
 * See internal.h for the states.
 */
#include "http/internal.h"
#include "base/common.h"
#include "base/mem.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LINGER_MS 2000 /* draining a client's unread input after our last byte */

/* TLS records (RFC 8446 5.1): content types 20..24, a 5-byte header, at most 2^14 + 2048
 * bytes of ciphertext (TLS 1.2's bound; 1.3's is 2^14 + 256). */
#define TLS_RECORD_TYPE_MIN 20
#define TLS_RECORD_TYPE_MAX 24
#define TLS_RECORD_HEADER   5
#define TLS_RECORD_MAX      (16384 + 2048)

/* ---- connection teardown ---- */

/* Take c out of its list: srv->conns, or srv->closed once it is closing. */
static void conn_unlink(struct httpd_conn *c, struct httpd_conn **head)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

void httpconn_release(struct httpd_conn *c)
{
    response_release(&c->rs);
    request_release(&c->req);
    buf_release(&c->pending);
    bufpool_put_buf(&c->srv->pool, &c->wire);
    bufpool_put_buf(&c->srv->pool, &c->piece);
    if (c->tls != NULL && !c->tls_counted)
        c->srv->stats.tls_failures[TLSMEM_FAIL_INCOMPLETE]++;
    c->tls_counted = 1;
    tlspool_job_release(&c->hs);
    tlsmem_conn_free(c->tls);
    c->tls = NULL;
    buf_release(&c->plain);
    buf_release(&c->hs_in);
}

static void conn_free(struct httpd_conn *c)
{
    struct httpd_server *srv = c->srv;

    conn_unlink(c, &srv->closed);
    srv->nconns--;
    srv->stats.connections_open = srv->nconns;
    httpconn_release(c);
    free(c);
    httpd__maybe_done(srv);
}

static void conn_handle_closed(struct httpd_conn *c)
{
    assert(c->open_handles > 0);
    if (--c->open_handles == 0)
        conn_free(c);
}

static void stream_closed_cb(uv_handle_t *h)
{
    conn_handle_closed(container_of(h, struct httpd_conn, h.handle));
}

static void timer_closed_cb(uv_handle_t *h)
{
    conn_handle_closed(container_of(h, struct httpd_conn, timer));
}

static void idle_closed_cb(uv_handle_t *h)
{
    conn_handle_closed(container_of(h, struct httpd_conn, idle));
}

/*
 * Close now. Pending writes and the shutdown request complete with UV_ECANCELED before
 * the close callbacks run, so c outlives them. The producer learns of it through cancel,
 * which this is the only place to call for a dead connection.
 */
void httpconn_leave(struct httpd_conn *c)
{
    conn_unlink(c, &c->srv->conns);
    if (c->reserved)
        c->srv->nreserve--;
    else
        c->srv->nserving--;
}

void httpconn_close(struct httpd_conn *c)
{
    int was_streaming = httpconn_streaming(c);

    if (c->state == CONN_CLOSING)
        return;
    if (was_streaming || c->state == CONN_DEFERRED)
        c->cancel(c->arg);
    /* Out of the list eviction walks: under a flood, a loop iteration closes as many
     * connections as it accepts, and their handles are freed only at its end. */
    if (c->state == CONN_PARKED)
        httppark_unlink(c);
    else
        httpconn_leave(c);
    c->state = CONN_CLOSING;
    c->next = c->srv->closed;
    if (c->next)
        c->next->prev = c;
    c->srv->closed = c;
    /* A handshake step on the threadpool holds c->tls: c is freed after it returns. */
    if (c->tls != NULL && tlspool_cancel(&c->hs) == 0)
        c->open_handles++;
    uv_close(&c->h.handle, stream_closed_cb);
    uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
    uv_close((uv_handle_t *)&c->idle, idle_closed_cb);
}

void httpconn_limit_hit(struct httpd_conn *c, enum httpd_limit kind)
{
    c->srv->stats.limits[kind]++;
}

static void linger_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct httpd_conn *c = container_of(s, struct httpd_conn, h.stream);

    (void)b;
    if (nread < 0)
        httpconn_close(c);
}

void httpconn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct httpd_conn *c = container_of(h, struct httpd_conn, h.handle);

    (void)suggested;
    *b = uv_buf_init(c->srv->rbuf, HTTPD_RBUF_SIZE);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct httpd_conn *c = container_of(req, struct httpd_conn, shutdown);

    if (status < 0)
        httpconn_close(c);
}

/*
 * Closing with unread input in the socket makes the kernel send RST, and a client that
 * is still sending (a 431 for a huge header, a 413 body) may then lose our response
 * before reading it. So send FIN after the last byte and drain until the client closes
 * too, for a short while (nginx's lingering_close).
 */
void httpconn_linger(struct httpd_conn *c)
{
    if (c->state == CONN_CLOSING || c->state == CONN_LINGERING)
        return;
    if (c->tls != NULL) { /* close_notify, so that the client knows the body is whole */
        tlsmem_conn_close_notify(c->tls);
        httpsend_flush(c);
        if (c->state == CONN_CLOSING)
            return;
    }
    c->state = CONN_LINGERING;
    uv_idle_stop(&c->idle);
    if (uv_shutdown(&c->shutdown, &c->h.stream, shutdown_cb) != 0) {
        httpconn_close(c);
        return;
    }
    uv_read_stop(&c->h.stream);
    if (uv_read_start(&c->h.stream, httpconn_alloc_cb, linger_read_cb) != 0) {
        httpconn_close(c);
        return;
    }
    httpsend_timer(c, c->srv->cfg.read_timeout_ms < LINGER_MS ? c->srv->cfg.read_timeout_ms
                                                              : LINGER_MS);
}

/* ---- dispatch ---- */

void httpconn_respond_plain(struct httpd_conn *c, int status, const char *extra)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, response_reason(status));

    httpd_respond(c, status, "text/plain; charset=utf-8", body, (size_t)n, 0, extra);
}

/* Stop reading: one request at a time. Its response must start before the timeout. */
static void begin_handling(struct httpd_conn *c)
{
    c->rs.http10 = c->req.http_major == 1 && c->req.http_minor == 0;
    c->state = CONN_HANDLING;
    c->nrequests++;
    uv_read_stop(&c->h.stream);
    httpsend_busy_begin(c);
    httpsend_progress(c);
    httpsend_respond_timer(c);
}

/*
 * A connection in the probe reserve serves /-/healthy and /-/ready once, then closes;
 * anything else there is refused as over the cap. Returns whether it was refused.
 */
static int reserve_refuses(struct httpd_conn *c, const char *path)
{
    if (!c->reserved)
        return 0;
    c->rs.keep_alive = 0;
    if (strcmp(path, "/-/healthy") == 0 || strcmp(path, "/-/ready") == 0)
        return 0;
    c->srv->stats.connections_rejected++;
    httpconn_limit_hit(c, HTTPD_LIMIT_CONNECTIONS);
    c->park_after = 1;
    httpconn_respond_plain(c, 503, NULL);
    return 1;
}

void httpconn_serve(struct httpd_conn *c)
{
    struct httpd_server *srv = c->srv;
    const struct request *r = &c->req;
    struct httpd_request req;

    req.head = c->rs.head;
    req.http_major = r->http_major;
    req.http_minor = r->http_minor;
    req.path = r->path;
    req.query = r->query;
    req.accept = r->accept;
    req.accept_encoding = r->accept_encoding;
    req.authorization = r->authorization;
    req.scrape_timeout = r->scrape_timeout;
    req.authenticated = c->authenticated;
    if (reserve_refuses(c, req.path))
        return;

    if (c->route == ROUTES_NONE) {
        httpconn_respond_plain(c, 404, NULL);
        return;
    }
    if (srv->handlers[c->route].post ? r->method != HTTP_POST
                                     : r->method != HTTP_GET && r->method != HTTP_HEAD) {
        httpconn_respond_plain(
            c, 405, srv->handlers[c->route].post ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n");
        return;
    }
    if (srv->before != NULL && !srv->handlers[c->route].skip_before)
        srv->before(srv->before_arg);
    srv->handlers[c->route].handler(c, &req, srv->handlers[c->route].arg);
    if (c->state == CONN_HANDLING)
        httpconn_respond_plain(c, 500, NULL);
}

/* A whole request: handle it, the credentials first. */
static void dispatch(struct httpd_conn *c)
{
    const struct request *r = &c->req;

    begin_handling(c);
    c->rs.head = r->method == HTTP_HEAD;
    c->rs.keep_alive = r->keep_alive;
    c->route = routes_find(&c->srv->routes, r->path);
    httpauth_check(c);
}

/* A request the server refuses by itself: answer, then close. */
static void reject(struct httpd_conn *c, int status)
{
    httpconn_limit_hit(c, status == 413   ? HTTPD_LIMIT_BODY_SIZE
                          : status == 431 ? HTTPD_LIMIT_HEADER_SIZE
                                          : HTTPD_LIMIT_BAD_REQUEST);
    begin_handling(c);
    c->rs.keep_alive = 0;
    httpconn_respond_plain(c, status, NULL);
}

/* ---- reading ---- */

/* Feed bytes and, if they completed a request, keep the rest for later and dispatch. */
static void consume(struct httpd_conn *c, const char *data, size_t len, int from_pending)
{
    enum request_verdict v;
    size_t n;

    if (len > 0 && c->state == CONN_IDLE) {
        c->state = CONN_READING;
        if (c->nrequests > 0)
            httpsend_timer(c, c->srv->cfg.read_timeout_ms);
    }
    n = request_feed(&c->req, data, len, &v);
    if (from_pending)
        buf_consume(&c->pending, n);
    else if (v == REQUEST_MORE || v == REQUEST_DONE)
        buf_add(&c->pending, data + n, len - n);
    if (v == REQUEST_DONE)
        dispatch(c);
    else if (v == REQUEST_REFUSED)
        reject(c, c->req.status);
    else if (v == REQUEST_EOF)
        httpconn_close(c);
}

/* The handshake's outcome, once: done, or failed for why. */
static void tls_count(struct httpd_conn *c, enum tlsmem_fail why)
{
    if (c->tls_counted)
        return;
    c->tls_counted = 1;
    if (why == TLSMEM_FAIL_NONE)
        c->srv->stats.tls_handshakes++;
    else
        c->srv->stats.tls_failures[why]++;
}

/* Go's answer to plain HTTP on a TLS port, in clear, word for word. */
#define PLAIN_HTTP_400 \
    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

/*
 * TLS: what the engine made of the bytes read: its own messages (handshake, tickets, an
 * alert) go out at once, and plaintext goes on as if read in clear. A failed handshake
 * sends its alert before FIN, and ends this connection only; one that failed as the
 * client spoke plain HTTP gets Go's 400 in clear instead (OpenSSL sends no alert then).
 */
static void tls_then(struct httpd_conn *c, enum tlsmem_status st, struct buf *plain)
{
    if (tlsmem_conn_established(c->tls))
        tls_count(c, TLSMEM_FAIL_NONE);
    else if (tlsmem_conn_failure(c->tls) != TLSMEM_FAIL_NONE)
        tls_count(c, tlsmem_conn_failure(c->tls));
    httpsend_flush(c);
    if (c->state == CONN_CLOSING)
        return;
    if (st == TLSMEM_FAILED) {
        buf_reset(plain);
        if (tlsmem_conn_failure(c->tls) == TLSMEM_FAIL_PLAIN_HTTP)
            httpsend_clear(c, PLAIN_HTTP_400, sizeof(PLAIN_HTTP_400) - 1);
        httpconn_linger(c);
        return;
    }
    if (plain->len > 0)
        consume(c, plain->ptr, plain->len, 0);
    buf_reset(plain);
    if (st == TLSMEM_CLOSED && (c->state == CONN_IDLE || c->state == CONN_READING))
        httpconn_close(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

/*
 * A handshake step came back from the threadpool (tlspool.h): the connection reads
 * again, unless it died meanwhile (httpconn_close() counted the step as an open handle), or
 * the step waited too long for its turn and is shed.
 */
static void hs_done(struct tlspool_job *job, enum tlspool_result result)
{
    struct httpd_conn *c = job->data;

    if (c->state == CONN_CLOSING) {
        buf_reset(&job->plain);
        conn_handle_closed(c);
        return;
    }
    if (result != TLSPOOL_DONE) {
        tls_count(c, TLSMEM_FAIL_QUEUE_TIMEOUT);
        httpconn_close(c);
        return;
    }
    httpsend_progress(c); /* the step's work is done: evicted last among idle connections */
    tls_then(c, job->st, &job->plain);
    if ((c->state == CONN_IDLE || c->state == CONN_READING) &&
        uv_read_start(&c->h.stream, httpconn_alloc_cb, read_cb) != 0)
        httpconn_close(c);
}

/*
 * Whether the handshake bytes in b are worth a step: a whole TLS record (a 5-byte header
 * giving its length, then that many bytes), or bytes that are no TLS record (plain HTTP
 * sent to a TLS port, garbage, a length past any record's), which the step refuses.
 */
static int hs_record_whole(const struct buf *b)
{
    const unsigned char *p = (const unsigned char *)b->ptr;
    size_t n;

    if (b->len == 0)
        return 0;
    if (p[0] < TLS_RECORD_TYPE_MIN || p[0] > TLS_RECORD_TYPE_MAX)
        return 1;
    if (b->len < TLS_RECORD_HEADER)
        return 0;
    n = (size_t)p[3] << 8 | p[4];
    return n > TLS_RECORD_MAX || b->len >= TLS_RECORD_HEADER + n;
}

/*
 * TLS: an established connection decrypts on the loop (cheap: a record is symmetric
 * crypto); a handshake step signs and derives keys, which a 4096-bit RSA key makes
 * milliseconds, so it goes to the threadpool and the connection stops reading until
 * it is back. Handshake bytes wait on the loop until they make a whole record: a client
 * that sends 3 bytes of one and stalls costs no step, and is a stalled handshake to
 * eviction (evict.h), not one the server works on. A step is progress.
 */
static void tls_read(struct httpd_conn *c, const char *data, size_t len)
{
    if (!tlsmem_conn_established(c->tls)) {
        buf_add(&c->hs_in, data, len);
        if (!hs_record_whole(&c->hs_in))
            return;
        c->progress_ms = httpd__now(c->srv);
        uv_read_stop(&c->h.stream);
        tlspool_feed(c->srv->hs, &c->hs, c->tls, c->hs_in.ptr, c->hs_in.len, c->hs_begun, hs_done);
        c->hs_begun = 1;
        buf_reset(&c->hs_in);
        return;
    }
    tls_then(c, tlsmem_conn_feed(c->tls, data, len, &c->plain), &c->plain);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct httpd_conn *c = container_of(s, struct httpd_conn, h.stream);

    (void)b;
    if (nread < 0) {
        if (c->tls != NULL && !tlsmem_conn_established(c->tls))
            tls_count(c, TLSMEM_FAIL_EARLY_EOF);
        httpconn_close(c);
        return;
    }
    if (nread == 0 || (c->state != CONN_IDLE && c->state != CONN_READING))
        return;
    c->sent = 1;
    if (c->tls != NULL) {
        tls_read(c, b->base, (size_t)nread);
        return;
    }
    consume(c, b->base, (size_t)nread, 0);
}

void httpconn_end_response(struct httpd_conn *c)
{
    assert(c->state == CONN_FLUSHING && c->unacked == 0);
    /*
     * A kept-alive or lingering connection holds no pooled buffer between responses. The
     * wire is empty here: each way here comes right after write_wire() handed it over.
     */
    assert(c->wire.len == 0);
    bufpool_put_buf(&c->srv->pool, &c->piece);
    bufpool_put_buf(&c->srv->pool, &c->wire);
    if (c->park_after) { /* a whole refusal (Content-Length): parked, not shut */
        httppark_park(c, 0);
        return;
    }
    if (!c->rs.keep_alive) {
        httpconn_linger(c);
        return;
    }
    if (httpsend_hold(c)) /* the next request waits until the client has taken this */
        return;
    c->state = CONN_IDLE;
    request_next(&c->req);
    c->route = ROUTES_NONE;
    response_reset(&c->rs);
    c->produce = NULL;
    c->cancel = NULL;
    c->arg = NULL;
    httpsend_progress(c);
    httpsend_timer(c, c->srv->cfg.idle_timeout_ms);
    if (c->pending.len > 0)
        consume(c, c->pending.ptr, c->pending.len, 1);
    /* Waiting for the client again: the next request begins a new run (send rate). */
    if (c->state == CONN_IDLE || c->state == CONN_READING)
        c->busy = 0;
    if ((c->state == CONN_IDLE || c->state == CONN_READING) &&
        uv_read_start(&c->h.stream, httpconn_alloc_cb, read_cb) != 0)
        httpconn_close(c);
}

struct httpd_conn *httpconn_new(struct httpd_server *srv, int reserved)
{
    struct httpd_conn *c = mem_calloc(1, sizeof(*c));

    c->srv = srv;
    if (listener_stream_init(&srv->listener, &c->h.stream) != 0) {
        free(c);
        return NULL;
    }
    uv_timer_init(srv->loop, &c->timer);
    uv_idle_init(srv->loop, &c->idle);
    c->open_handles = 3;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    c->reserved = reserved;
    if (reserved)
        srv->nreserve++;
    else
        srv->nserving++;
    c->pass = srv->pass;
    c->progress_ms = httpd__now(srv);
    c->accepted_ms = c->progress_ms;
    srv->stats.connections_open = srv->nconns;
    request_init(&c->req, srv->cfg.max_header_bytes, srv->cfg.max_body_bytes);
    response_init(&c->rs);
    c->tls = srv->tls ? tlsmem_conn_new(srv->tls) : NULL;
    tlspool_job_init(&c->hs, c);
    c->route = ROUTES_NONE;
    c->state = CONN_IDLE;
    return c;
}

/*
 * Read what a new plaintext connection has already sent, without waiting for the poll:
 * a client usually sends its request with the connect, and one answered here (a probe,
 * or a refusal that closes) leaves its slot free in this same iteration instead of
 * holding it until the loop has polled it. A connection whose request this completed
 * has been read as a poll would read it, so it is evictable from now on (read_early);
 * one that sent nothing or part of a request keeps its turn, as if not read yet. TLS
 * connections wait for the poll: their first bytes are a handshake.
 */
static void read_now(struct httpd_conn *c)
{
    uv_buf_t b = uv_buf_init(c->srv->rbuf, HTTPD_RBUF_SIZE);
    uv_os_fd_t fd;
    ssize_t n;

    if (c->tls != NULL || uv_fileno(&c->h.handle, &fd) != 0)
        return;
    n = recv(fd, b.base, b.len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    read_cb(&c->h.stream, n > 0 ? n : n == 0 ? UV_EOF : -errno, &b);
    c->read_early = c->state != CONN_IDLE && c->state != CONN_READING;
}

void httpconn_start(struct httpd_conn *c)
{
    httpsend_timer(c, c->srv->cfg.read_timeout_ms);
    if (uv_read_start(&c->h.stream, httpconn_alloc_cb, read_cb) != 0)
        httpconn_close(c);
    else
        read_now(c);
}

static enum evict_state policy_state(struct httpd_conn *c)
{
    switch (c->state) {
    case CONN_IDLE:
        return EVICT_STATE_IDLE;
    case CONN_LINGERING:
        return EVICT_STATE_LINGER;
    case CONN_READING:
        return EVICT_STATE_REQUEST;
    case CONN_CLOSING:
        return EVICT_STATE_CLOSING;
    case CONN_DEFERRED:
    case CONN_WAITING:
        return EVICT_STATE_WAITING;
    case CONN_FLUSHING:
        /* A last response wholly in the socket: lingering, but for the callback. */
        if (!c->rs.keep_alive && uv_stream_get_write_queue_size(&c->h.stream) == 0)
            return EVICT_STATE_LINGER;
        return EVICT_STATE_WORKING;
    default:
        return EVICT_STATE_WORKING;
    }
}

void httpconn_facts(struct httpd_conn *c, struct evict_conn *out)
{
    out->state = policy_state(c);
    out->polls = c->srv->pass - c->pass;
    out->read_early = c->read_early;
    out->client_owes = httpsend_owed(c);
    out->accepted_ms = c->accepted_ms;
    out->sent = c->sent;
    out->asked = c->nrequests > 0;
    out->tls = c->tls != NULL;
    out->tls_hs = c->tls != NULL && !tlsmem_conn_established(c->tls);
    out->tls_step = c->tls != NULL && tlspool_job_busy(&c->hs);
    out->tls_begun = c->hs_begun;
    out->reserved = c->reserved;
    /* Bytes the client took since the last write completed count as its progress. */
    if (out->client_owes && !evict_too_new(out) &&
        (out->state == EVICT_STATE_WAITING || out->state == EVICT_STATE_WORKING))
        httpsend_sample(c);
    out->progress_ms = c->progress_ms;
}
