/*
 * A response's way out: bytes handed to the socket, the stream pump, and the clocks
 * that judge a connection by them: progress (the write timeout, eviction) and the send
 * rate. See internal.h.
 */
#include "http/internal.h"
#include "base/common.h"
#include "base/mem.h"

#include <assert.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

/* Bytes reaching the socket that count as progress even before a write completes: a
 * large one-shot response is one write, and a client taking it steadily is progressing. */
#define PROGRESS_BYTES 65536

/* Draining: how often the socket is looked at, from the first look to the longest wait
 * between two looks that find nothing taken (doubling in between). */
#define DRAIN_POLL_MIN_MS 10
#define DRAIN_POLL_MAX_MS 320

struct wreq {
    uv_write_t req;
    struct httpd_conn *c;
    char *data;
    size_t len;
    size_t cap; /* data's storage, kept for the next piece once written (bufpool.h) */
};

/* ---- progress, the send rate, timers ---- */

void httpsend_progress(struct httpd_conn *c)
{
    c->progress_ms = httpd__now(c->srv);
    c->sent_mark = c->handed - uv_stream_get_write_queue_size(&c->h.stream);
}

size_t httpsend_unread(struct httpd_conn *c)
{
    uv_os_fd_t fd;
    int n = 0;

    if (uv_fileno(&c->h.handle, &fd) != 0 || ioctl(fd, SIOCOUTQ, &n) != 0 || n < 0)
        return 0;
    return (size_t)n;
}

/*
 * Draining: what the client took from the socket since the last look is progress.
 * Returns whether all but HTTPD_HOLD_UNREAD bytes are taken.
 */
static int drain_sample(struct httpd_conn *c)
{
    size_t n = httpsend_unread(c);

    if (n < c->drain_left) {
        c->drain_left = n;
        c->drain_poll = DRAIN_POLL_MIN_MS;
        httpsend_progress(c);
    }
    return n <= HTTPD_HOLD_UNREAD;
}

/* Bytes reach the socket between write completions: a steady flow is progress. */
void httpsend_sample(struct httpd_conn *c)
{
    if (c->draining)
        (void)drain_sample(c);
    else if (c->handed - uv_stream_get_write_queue_size(&c->h.stream) - c->sent_mark >=
             PROGRESS_BYTES)
        httpsend_progress(c);
}

void httpsend_busy_begin(struct httpd_conn *c)
{
    if (c->busy)
        return;
    c->busy = 1;
    c->rate_bytes = 0;
    c->owed_ms = 0;
    c->owed_since = httpd__now(c->srv);
}

/*
 * The time this run may keep bytes waiting on its client: the grace, plus what the
 * bytes handed so far take at the minimum rate. Kestrel's MinResponseDataRate, except
 * that the grace is given once per run rather than per write, so that pipelined
 * responses answered back to back cannot each bring a fresh one.
 */
static uint64_t owed_allowed(const struct httpd_conn *c)
{
    const struct httpd_config *cfg = &c->srv->cfg;

    return cfg->send_grace_ms + c->rate_bytes * 1000 / cfg->min_send_rate;
}

static uint64_t owed_now(const struct httpd_conn *c)
{
    return c->owed_ms + (httpsend_owed(c) ? httpd__now(c->srv) - c->owed_since : 0);
}

static void timer_cb(uv_timer_t *t);

void httpsend_timer(struct httpd_conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, timer_cb, ms, 0);
}

void httpsend_respond_timer(struct httpd_conn *c)
{
    uint64_t now = httpd__now(c->srv), due = c->progress_ms + c->srv->cfg.write_timeout_ms;

    if (httpsend_owed(c)) {
        uint64_t allowed = owed_allowed(c), rate_due = now;

        if (allowed > c->owed_ms)
            rate_due = c->owed_since + (allowed - c->owed_ms);
        if (rate_due < due)
            due = rate_due;
    }
    if (c->draining && now + c->drain_poll < due)
        due = now + c->drain_poll;
    httpsend_timer(c, due > now ? due - now : 0);
}

int httpsend_hold(struct httpd_conn *c)
{
    size_t n = httpsend_unread(c);

    if (n <= HTTPD_HOLD_UNREAD)
        return 0;
    c->draining = 1;
    c->srv->stats.responses_held++;
    c->drain_left = n;
    c->drain_poll = DRAIN_POLL_MIN_MS;
    c->owed_since = httpd__now(c->srv); /* nothing is unacked: the clock starts again */
    httpsend_respond_timer(c);
    return 1;
}

/* Draining, and the client has taken its answer: the rate clock stops, on to the next. */
static void drain_done(struct httpd_conn *c)
{
    c->owed_ms += httpd__now(c->srv) - c->owed_since;
    c->draining = 0;
    httpconn_end_response(c);
}

/*
 * A deferred answer that has not come within the write timeout: the work is abandoned
 * (its cancel runs, as for a dead connection) and the client, which has had nothing
 * yet, is told so with a 503 before the close rather than left with a bare FIN.
 */
static void deferred_expired(struct httpd_conn *c)
{
    c->cancel(c->arg);
    c->cancel = NULL;
    c->arg = NULL;
    c->state = CONN_HANDLING;
    c->rs.keep_alive = 0;
    httpsend_progress(c); /* the 503 gets a write timeout of its own */
    httpconn_respond_plain(c, 503, NULL);
}

static void timer_cb(uv_timer_t *t)
{
    struct httpd_conn *c = container_of(t, struct httpd_conn, timer);

    if (c->state == CONN_READING || (c->state == CONN_IDLE && c->nrequests == 0)) {
        httpconn_limit_hit(c, HTTPD_LIMIT_READ_TIMEOUT);
    } else if (c->state == CONN_IDLE) {
        c->srv->stats.connections_idle_closed++;
    } else if (httpconn_responding(c)) {
        if (c->draining && drain_sample(c)) {
            drain_done(c);
            return;
        }
        if (c->draining && c->drain_poll < DRAIN_POLL_MAX_MS)
            c->drain_poll *= 2;
        httpsend_sample(c);
        if (httpd__now(c->srv) >= c->progress_ms + c->srv->cfg.write_timeout_ms) {
            httpconn_limit_hit(c, HTTPD_LIMIT_WRITE_TIMEOUT);
            if (c->state == CONN_DEFERRED) {
                deferred_expired(c);
                return;
            }
        } else if (httpsend_owed(c) && owed_now(c) >= owed_allowed(c)) {
            httpconn_limit_hit(c, HTTPD_LIMIT_SEND_RATE);
        } else {
            httpsend_respond_timer(c);
            return;
        }
    }
    httpconn_close(c);
}

/* Bytes were handed to uv_write: the rate's account, and the clock if they wait. */
static void handed(struct httpd_conn *c, size_t len)
{
    if (c->unacked == len)
        c->owed_since = httpd__now(c->srv);
    c->handed += len;
    c->rate_bytes += len;
    if (httpconn_responding(c) && c->unacked == len)
        httpsend_respond_timer(c);
}

/* ---- writing ---- */

static void idle_cb(uv_idle_t *h);

static void write_cb(uv_write_t *req, int status)
{
    struct wreq *w = container_of(req, struct wreq, req);
    struct httpd_conn *c = w->c;

    assert(c->unacked >= w->len);
    c->unacked -= w->len;
    bufpool_put(&c->srv->pool, w->data, w->cap);
    free(w);
    if (status < 0) {
        httpconn_close(c);
        return;
    }
    if (c->unacked == 0)
        c->owed_ms += httpd__now(c->srv) - c->owed_since;
    httpsend_progress(c);
    if (!httpconn_responding(c))
        return;
    httpsend_respond_timer(c);
    if (c->state == CONN_FLUSHING) {
        if (c->unacked == 0)
            httpconn_end_response(c);
    } else if (c->state == CONN_BLOCKED && c->unacked <= c->srv->cfg.max_unacked_bytes) {
        c->state = CONN_READY;
        uv_idle_start(&c->idle, idle_cb);
    }
}

/*
 * TLS: c->wire becomes ciphertext, behind whatever the engine had queued (handshake
 * messages, alerts, close_notify). Returns 0, or -1 when the engine cannot encrypt.
 */
static int tls_wire(struct httpd_conn *c)
{
    if (c->wire.len > 0 && tlsmem_conn_seal(c->tls, c->wire.ptr, c->wire.len) != 0)
        return -1;
    buf_reset(&c->wire);
    tlsmem_conn_take(c->tls, &c->wire);
    return 0;
}

/* Hand c->wire, as it is, to the socket. */
static void write_wire(struct httpd_conn *c)
{
    struct wreq *w;
    uv_buf_t b;

    if (c->wire.len == 0) { /* nothing to send: the storage goes back (a piece that waits) */
        bufpool_put_buf(&c->srv->pool, &c->wire);
        return;
    }
    w = mem_calloc(1, sizeof(*w));
    w->c = c;
    w->cap = c->wire.cap;
    w->data = buf_detach(&c->wire, &w->len);
    assert(w->len <= UINT32_MAX);
    b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, &c->h.stream, &b, 1, write_cb) != 0) {
        free(w->data);
        free(w);
        httpconn_close(c);
        return;
    }
    c->unacked += w->len;
    handed(c, w->len);
}

void httpsend_flush(struct httpd_conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    if (c->tls != NULL && tls_wire(c) != 0) {
        httpconn_close(c);
        return;
    }
    write_wire(c);
}

void httpsend_clear(struct httpd_conn *c, const char *data, size_t len)
{
    if (c->state == CONN_CLOSING)
        return;
    buf_reset(&c->wire);
    buf_add(&c->wire, data, len);
    write_wire(c);
}

/* ---- streams ---- */

/* A HEAD request's stream: the headers alone, and the producer is released unused. */
static void stream_head(struct httpd_conn *c)
{
    c->state = CONN_FLUSHING;
    c->cancel(c->arg);
    httpsend_flush(c);
}

/*
 * One step of a stream, one per loop iteration at most, so that a large body never
 * holds the loop (ingestion runs between pieces). An active idle handle also makes
 * that iteration's poll non-blocking.
 */
static void idle_cb(uv_idle_t *h)
{
    struct httpd_conn *c = container_of(h, struct httpd_conn, idle);
    int rc, woken;

    uv_idle_stop(h);
    if (c->state != CONN_READY)
        return;
    if (c->rs.head) {
        stream_head(c);
        return;
    }
    if (c->unacked > c->srv->cfg.max_unacked_bytes) {
        c->state = CONN_BLOCKED;
        return;
    }
    bufpool_get_buf(&c->srv->pool, &c->piece);
    buf_reset(&c->piece);
    c->state = CONN_PRODUCING;
    rc = c->produce(c, &c->piece, c->arg);
    if (c->state == CONN_CLOSING) /* cancel has run */
        return;
    woken = c->state == CONN_WOKEN;
    c->state = CONN_READY;
    httpsend_progress(c);
    httpsend_respond_timer(c);
    bufpool_get_buf(&c->srv->pool, &c->wire); /* the last piece's went with its write */
    response_piece(&c->rs, &c->wire, c->piece.ptr, c->piece.len, rc == HTTPD_DONE);
    if (rc == HTTPD_DONE)
        c->state = CONN_FLUSHING;
    httpsend_flush(c);
    if (c->state == CONN_CLOSING)
        return;
    if (rc == HTTPD_DONE) {
        if (c->unacked == 0)
            httpconn_end_response(c);
    } else if (rc == HTTPD_WAIT && !woken) {
        c->state = CONN_WAITING;
    } else if (c->unacked > c->srv->cfg.max_unacked_bytes) {
        c->state = CONN_BLOCKED;
    } else {
        uv_idle_start(&c->idle, idle_cb);
    }
}

void httpsend_pump_soon(struct httpd_conn *c)
{
    uv_idle_start(&c->idle, idle_cb);
}
