#include "http/httpd.h"
#include "http/basicauth.h"
#include "base/common.h"
#include "base/mem.h"
#include "http/negotiate.h"
#include "http/request.h"
#include "http/response.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF_SIZE 16384 /* srv->rbuf */
#define LINGER_MS     2000  /* draining a client's unread input after our last byte */
/* Bytes reaching the socket that count as progress even before a write completes: a
 * large one-shot response is one write, and a client taking it steadily is progressing. */
#define PROGRESS_BYTES 65536
/*
 * Connections accepted per loop iteration at most. A connection answered at its accept
 * (read_now()) frees its slot in the same iteration, so under a reconnecting flood one
 * iteration could otherwise take the whole listen backlog while ingestion waits: 128 is
 * about 2 ms of the loop (accept, read, answer, close: some 17 us of CPU each here, the
 * kernel's part included), and still empties a backlog of 1,000 in 8 iterations.
 */
#define ACCEPTS_PER_TURN 128

/* The handler of the route of the same index in srv->routes. */
struct httpd_route {
    httpd_handler_cb handler;
    void *arg;
    int own_bearer; /* httpd_server_route_bearer() was called: bearer replaces the server's */
    int post;       /* httpd_server_route_post(): POST only, GET and HEAD refused */
    char *bearer;   /* NULL: open */
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
enum conn_state {
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
    enum conn_state state;
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

    struct tlsmem_conn *tls; /* NULL: plain HTTP */
    struct buf plain;        /* TLS: plaintext decrypted from one read */
    int tls_counted;         /* the handshake's outcome is counted */
    struct tlspool_job hs;   /* TLS: a handshake step on the threadpool */
    int hs_begun;            /* a handshake step was queued before */

    /*
     * Progress and the send rate. progress_ms: the last accept, request read, write
     * completed, piece produced, or PROGRESS_BYTES reaching the socket (sent_mark: the
     * bytes sent then). A run of responses (busy) begins when a request is read while
     * none was being answered, and ends when the connection waits for its client again;
     * over it, rate_bytes were handed to the socket and the client kept bytes waiting
     * for owed_ms (plus now - owed_since while unacked > 0).
     */
    uint64_t pass;  /* srv->pass at the accept: evictable once the loop polled it */
    int read_early; /* read_now() read a whole request: evictable without a poll */
    int reserved;   /* accepted into the probe reserve */
    int busy;
    uint64_t progress_ms;
    uint64_t handed, sent_mark;
    uint64_t rate_bytes, owed_ms, owed_since;
};

struct wreq {
    uv_write_t req;
    struct httpd_conn *c;
    char *data;
    size_t len;
};

static const char *const limit_names[] = {
#define XX(kind, name) name,
    HTTPD_LIMIT_MAP(XX)
#undef XX
};

static const char *name_in(const char *const *names, unsigned n, unsigned i)
{
    return i < n ? names[i] : "unknown";
}

const char *httpd_limit_name(enum httpd_limit kind)
{
    return name_in(limit_names, HTTPD_LIMIT_COUNT, (unsigned)kind);
}

static const char *const evict_names[] = {
#define XX(kind, name) name,
    HTTPD_EVICT_MAP(XX)
#undef XX
};

const char *httpd_evict_name(enum httpd_evict reason)
{
    return name_in(evict_names, HTTPD_EVICT_COUNT, (unsigned)reason);
}

static int streaming(const struct httpd_conn *c)
{
    return c->state >= CONN_READY && c->state <= CONN_BLOCKED;
}

static int responding(const struct httpd_conn *c)
{
    return c->state >= CONN_HANDLING && c->state <= CONN_FLUSHING;
}

void httpd_server_init(struct httpd_server *srv, uv_loop_t *loop, const struct httpd_config *cfg)
{
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->rbuf = mem_alloc(READ_BUF_SIZE);
    listener_init(&srv->listener, loop);
    if (cfg)
        srv->cfg = *cfg;
    if (srv->cfg.max_header_bytes == 0)
        srv->cfg.max_header_bytes = HTTPD_DEFAULT_MAX_HEADER_BYTES;
    if (srv->cfg.max_body_bytes == 0)
        srv->cfg.max_body_bytes = HTTPD_DEFAULT_MAX_BODY_BYTES;
    if (srv->cfg.read_timeout_ms == 0)
        srv->cfg.read_timeout_ms = HTTPD_DEFAULT_READ_TIMEOUT_MS;
    if (srv->cfg.idle_timeout_ms == 0)
        srv->cfg.idle_timeout_ms = HTTPD_DEFAULT_IDLE_TIMEOUT_MS;
    if (srv->cfg.write_timeout_ms == 0)
        srv->cfg.write_timeout_ms = HTTPD_DEFAULT_WRITE_TIMEOUT_MS;
    if (srv->cfg.max_connections == 0)
        srv->cfg.max_connections = HTTPD_DEFAULT_MAX_CONNECTIONS;
    if (srv->cfg.max_unacked_bytes == 0)
        srv->cfg.max_unacked_bytes = HTTPD_DEFAULT_MAX_UNACKED_BYTES;
    if (srv->cfg.min_send_rate == 0)
        srv->cfg.min_send_rate = HTTPD_DEFAULT_MIN_SEND_RATE;
    if (srv->cfg.send_grace_ms == 0)
        srv->cfg.send_grace_ms = HTTPD_DEFAULT_SEND_GRACE_MS;
    if (srv->cfg.evict_stall_ms == 0)
        srv->cfg.evict_stall_ms = HTTPD_DEFAULT_EVICT_STALL_MS;
    if (srv->cfg.evict_work_ms == 0)
        srv->cfg.evict_work_ms = HTTPD_DEFAULT_EVICT_WORK_MS;
    if (srv->cfg.probe_reserve == 0)
        srv->cfg.probe_reserve = HTTPD_DEFAULT_PROBE_RESERVE;
    uv_prepare_init(loop, &srv->pacer);
    uv_check_init(loop, &srv->retry);
    uv_idle_init(loop, &srv->spin);
    srv->pacer.data = srv;
    srv->retry.data = srv;
    srv->spin.data = srv;
    routes_init(&srv->routes);
    tlspool_init(&srv->own_hs, loop, 0, 0);
    srv->hs = &srv->own_hs;
}

int httpd_server_route(struct httpd_server *srv, const char *path, const char *name,
                       httpd_handler_cb handler, void *arg)
{
    int i = handler ? routes_add(&srv->routes, path, name) : -EINVAL;

    if (i < 0)
        return i;
    srv->handlers = mem_realloc(srv->handlers, ((size_t)i + 1) * sizeof(*srv->handlers));
    srv->handlers[i] = (struct httpd_route){ .handler = handler, .arg = arg };
    return 0;
}

static int token_ok(const char *token, size_t n)
{
    if (n > HTTPD_MAX_TOKEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (token[i] <= ' ' || token[i] > '~')
            return 0;
    return 1;
}

int httpd_server_set_bearer(struct httpd_server *srv, const char *token)
{
    size_t n = token ? strlen(token) : 0;

    if (!token_ok(token, n))
        return -EINVAL;
    free(srv->bearer);
    srv->bearer = n ? mem_strdup(token) : NULL;
    srv->bearer_len = n;
    return 0;
}

int httpd_server_route_bearer(struct httpd_server *srv, const char *path, const char *token)
{
    int i = routes_find(&srv->routes, path);
    size_t n = token ? strlen(token) : 0;
    struct httpd_route *rt;

    if (i == ROUTES_NONE)
        return -ENOENT;
    if (!token_ok(token, n))
        return -EINVAL;
    rt = &srv->handlers[i];
    free(rt->bearer);
    rt->own_bearer = 1;
    rt->bearer = n ? mem_strdup(token) : NULL;
    rt->bearer_len = n;
    return 0;
}

void httpd_server_set_tls_pool(struct httpd_server *srv, struct tlspool *pool)
{
    srv->hs = pool ? pool : &srv->own_hs;
}

void httpd_server_set_tls(struct httpd_server *srv, struct tlsmem_ctx *ctx)
{
    struct tlsmem_ctx *old = srv->tls;

    srv->tls = ctx ? tlsmem_ctx_ref(ctx) : NULL;
    tlsmem_ctx_unref(old);
}

int httpd_server_route_post(struct httpd_server *srv, const char *path)
{
    int i = routes_find(&srv->routes, path);

    if (i == ROUTES_NONE)
        return -ENOENT;
    srv->handlers[i].post = 1;
    return 0;
}

void httpd_server_set_basic_auth(struct httpd_server *srv, struct basicauth *ba)
{
    if (ba != NULL)
        basicauth_ref(ba);
    basicauth_unref(srv->basic);
    srv->basic = ba;
}

/* The server writes these itself; a second copy from the web config would contradict it. */
static const char *const own_headers[] = {
    "Content-Type", "Content-Length", "Transfer-Encoding", "Content-Encoding", "Connection",
    "Vary",         "Allow",          "WWW-Authenticate",  "Retry-After",
};

static int header_ok(const struct webcfg_header *h)
{
    if (!request_is_token(h->name, strlen(h->name)))
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(own_headers); i++)
        if (strcasecmp(h->name, own_headers[i]) == 0)
            return 0;
    /* No CR or LF: a value must not start another header (response splitting). */
    for (const unsigned char *v = (const unsigned char *)h->value; *v; v++)
        if ((*v < 0x20 && *v != '\t') || *v == 0x7f)
            return 0;
    return 1;
}

int httpd_server_set_headers(struct httpd_server *srv, const struct webcfg_header *h, size_t n)
{
    struct buf lines;

    for (size_t i = 0; i < n; i++)
        if (!header_ok(&h[i]))
            return -EINVAL;
    buf_init(&lines);
    for (size_t i = 0; i < n; i++)
        buf_addf(&lines, "%s: %s\r\n", h[i].name, h[i].value);
    free(srv->headers);
    srv->headers = n > 0 ? buf_detach(&lines, NULL) : NULL;
    buf_release(&lines);
    return 0;
}

const struct httpd_stats *httpd_server_stats(const struct httpd_server *srv)
{
    return &srv->stats;
}

unsigned httpd_server_idle_connections(const struct httpd_server *srv)
{
    unsigned n = 0;

    for (const struct httpd_conn *c = srv->conns; c != NULL; c = c->next)
        n += c->state == CONN_IDLE;
    return n;
}

void httpd_server_foreach_requests(const struct httpd_server *srv, httpd_requests_cb cb, void *arg)
{
    routes_foreach(&srv->routes, cb, arg);
}

/* ---- connection teardown ---- */

static void server_maybe_done(struct httpd_server *srv)
{
    if (!srv->closing || srv->pending_closes > 0 || srv->conns != NULL || srv->closed != NULL)
        return;
    for (size_t i = 0; i < srv->routes.n; i++)
        free(srv->handlers[i].bearer);
    routes_release(&srv->routes);
    free(srv->handlers);
    srv->handlers = NULL;
    free(srv->bearer);
    srv->bearer = NULL;
    tlsmem_ctx_unref(srv->tls);
    srv->tls = NULL;
    basicauth_unref(srv->basic);
    srv->basic = NULL;
    free(srv->headers);
    srv->headers = NULL;
    tlspool_release(&srv->own_hs);
    free(srv->rbuf);
    srv->rbuf = NULL;
    if (srv->close_cb)
        srv->close_cb(srv);
}

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

static void conn_free(struct httpd_conn *c)
{
    struct httpd_server *srv = c->srv;

    conn_unlink(c, &srv->closed);
    srv->nconns--;
    srv->stats.connections_open = srv->nconns;
    response_release(&c->rs);
    request_release(&c->req);
    buf_release(&c->pending);
    buf_release(&c->wire);
    buf_release(&c->piece);
    if (c->tls != NULL && !c->tls_counted)
        srv->stats.tls_failures[TLSMEM_FAIL_INCOMPLETE]++;
    tlspool_job_release(&c->hs);
    tlsmem_conn_free(c->tls);
    buf_release(&c->plain);
    free(c);
    server_maybe_done(srv);
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
static void conn_close(struct httpd_conn *c)
{
    int was_streaming = streaming(c);

    if (c->state == CONN_CLOSING)
        return;
    if (was_streaming || c->state == CONN_DEFERRED)
        c->cancel(c->arg);
    c->state = CONN_CLOSING;
    /* Out of the list eviction walks: under a flood, a loop iteration closes as many
     * connections as it accepts, and their handles are freed only at its end. */
    conn_unlink(c, &c->srv->conns);
    c->next = c->srv->closed;
    if (c->next)
        c->next->prev = c;
    c->srv->closed = c;
    if (c->reserved)
        c->srv->nreserve--;
    else
        c->srv->nserving--;
    /* A handshake step on the threadpool holds c->tls: c is freed after it returns. */
    if (c->tls != NULL && tlspool_cancel(&c->hs) == 0)
        c->open_handles++;
    uv_close(&c->h.handle, stream_closed_cb);
    uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
    uv_close((uv_handle_t *)&c->idle, idle_closed_cb);
}

static void limit_hit(struct httpd_conn *c, enum httpd_limit kind)
{
    c->srv->stats.limits[kind]++;
}

static void timer_start(struct httpd_conn *c, uint64_t ms);
static void conn_flush(struct httpd_conn *c);

static void linger_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct httpd_conn *c = container_of(s, struct httpd_conn, h.stream);

    (void)b;
    if (nread < 0)
        conn_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct httpd_conn *c = container_of(h, struct httpd_conn, h.handle);

    (void)suggested;
    *b = uv_buf_init(c->srv->rbuf, READ_BUF_SIZE);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct httpd_conn *c = container_of(req, struct httpd_conn, shutdown);

    if (status < 0)
        conn_close(c);
}

/*
 * Closing with unread input in the socket makes the kernel send RST, and a client that
 * is still sending (a 431 for a huge header, a 413 body) may then lose our response
 * before reading it. So send FIN after the last byte and drain until the client closes
 * too, for a short while (nginx's lingering_close).
 */
static void conn_linger(struct httpd_conn *c)
{
    if (c->state == CONN_CLOSING || c->state == CONN_LINGERING)
        return;
    if (c->tls != NULL) { /* close_notify, so that the client knows the body is whole */
        tlsmem_conn_close_notify(c->tls);
        conn_flush(c);
        if (c->state == CONN_CLOSING)
            return;
    }
    c->state = CONN_LINGERING;
    uv_idle_stop(&c->idle);
    if (uv_shutdown(&c->shutdown, &c->h.stream, shutdown_cb) != 0) {
        conn_close(c);
        return;
    }
    uv_read_stop(&c->h.stream);
    if (uv_read_start(&c->h.stream, alloc_cb, linger_read_cb) != 0) {
        conn_close(c);
        return;
    }
    timer_start(c,
                c->srv->cfg.read_timeout_ms < LINGER_MS ? c->srv->cfg.read_timeout_ms : LINGER_MS);
}

/* ---- progress, the send rate, timers ---- */

static uint64_t now_ms(const struct httpd_conn *c)
{
    return uv_now(c->srv->loop);
}

static void progress(struct httpd_conn *c)
{
    c->progress_ms = now_ms(c);
    c->sent_mark = c->handed - uv_stream_get_write_queue_size(&c->h.stream);
}

/* Bytes reach the socket between write completions: count a steady flow as progress. */
static void sample_progress(struct httpd_conn *c)
{
    if (c->handed - uv_stream_get_write_queue_size(&c->h.stream) - c->sent_mark >= PROGRESS_BYTES)
        progress(c);
}

/* A run of responses begins: the rate clock starts from nothing. */
static void busy_begin(struct httpd_conn *c)
{
    if (c->busy)
        return;
    c->busy = 1;
    c->rate_bytes = 0;
    c->owed_ms = 0;
    c->owed_since = now_ms(c);
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
    return c->owed_ms + (c->unacked > 0 ? now_ms(c) - c->owed_since : 0);
}

static void timer_cb(uv_timer_t *t);

static void timer_start(struct httpd_conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, timer_cb, ms, 0);
}

/* While responding: the earlier of the write timeout and the send rate's deadline. */
static void respond_timer(struct httpd_conn *c)
{
    uint64_t now = now_ms(c), due = c->progress_ms + c->srv->cfg.write_timeout_ms;

    if (c->unacked > 0) {
        uint64_t allowed = owed_allowed(c), rate_due = now;

        if (allowed > c->owed_ms)
            rate_due = c->owed_since + (allowed - c->owed_ms);
        if (rate_due < due)
            due = rate_due;
    }
    timer_start(c, due > now ? due - now : 0);
}

static void respond_plain(struct httpd_conn *c, int status, const char *extra);

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
    progress(c); /* the 503 gets a write timeout of its own */
    respond_plain(c, 503, NULL);
}

static void timer_cb(uv_timer_t *t)
{
    struct httpd_conn *c = container_of(t, struct httpd_conn, timer);

    if (c->state == CONN_READING || (c->state == CONN_IDLE && c->nrequests == 0)) {
        limit_hit(c, HTTPD_LIMIT_READ_TIMEOUT);
    } else if (c->state == CONN_IDLE) {
        c->srv->stats.connections_idle_closed++;
    } else if (responding(c)) {
        sample_progress(c);
        if (now_ms(c) >= c->progress_ms + c->srv->cfg.write_timeout_ms) {
            limit_hit(c, HTTPD_LIMIT_WRITE_TIMEOUT);
            if (c->state == CONN_DEFERRED) {
                deferred_expired(c);
                return;
            }
        } else if (c->unacked > 0 && owed_now(c) >= owed_allowed(c)) {
            limit_hit(c, HTTPD_LIMIT_SEND_RATE);
        } else {
            respond_timer(c);
            return;
        }
    }
    conn_close(c);
}

/* Bytes were handed to uv_write: the rate's account, and the clock if they wait. */
static void handed(struct httpd_conn *c, size_t len)
{
    if (c->unacked == len)
        c->owed_since = now_ms(c);
    c->handed += len;
    c->rate_bytes += len;
    if (responding(c) && c->unacked == len)
        respond_timer(c);
}

/* ---- writing ---- */

static void end_response(struct httpd_conn *c);
static void idle_cb(uv_idle_t *h);

static void write_cb(uv_write_t *req, int status)
{
    struct wreq *w = container_of(req, struct wreq, req);
    struct httpd_conn *c = w->c;

    assert(c->unacked >= w->len);
    c->unacked -= w->len;
    free(w->data);
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->unacked == 0)
        c->owed_ms += now_ms(c) - c->owed_since;
    progress(c);
    if (!responding(c))
        return;
    respond_timer(c);
    if (c->state == CONN_FLUSHING) {
        if (c->unacked == 0)
            end_response(c);
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

/* Hand c->wire to the socket. The connection may be closing when this returns. */
static void conn_flush(struct httpd_conn *c)
{
    struct wreq *w;
    uv_buf_t b;

    if (c->state == CONN_CLOSING)
        return;
    if (c->tls != NULL && tls_wire(c) != 0) {
        conn_close(c);
        return;
    }
    if (c->wire.len == 0)
        return;
    w = mem_calloc(1, sizeof(*w));
    w->c = c;
    w->data = buf_detach(&c->wire, &w->len);
    assert(w->len <= UINT32_MAX);
    b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, &c->h.stream, &b, 1, write_cb) != 0) {
        free(w->data);
        free(w);
        conn_close(c);
        return;
    }
    c->unacked += w->len;
    handed(c, w->len);
}

/* ---- responses ---- */

/* A response starts: count it by route and status, and write its head. */
static void begin_response(struct httpd_conn *c, int status, const char *ctype, unsigned flags,
                           long long length, const char *extra)
{
    int gzip = (flags & HTTPD_GZIP) && negotiate_gzip(c->req.accept_encoding);

    if (flags & HTTPD_CLOSE)
        c->rs.keep_alive = 0;
    routes_count(&c->srv->routes, c->route, (unsigned)status);
    c->rs.headers = c->srv->headers;
    response_head(&c->rs, &c->wire, status, ctype, (flags & HTTPD_GZIP) != 0, gzip, length, extra);
}

int httpd_respond(struct httpd_conn *c, int status, const char *ctype, const void *body, size_t len,
                  unsigned flags, const char *extra)
{
    int gzip = (flags & HTTPD_GZIP) && negotiate_gzip(c->req.accept_encoding);

    if (c->state != CONN_HANDLING && c->state != CONN_DEFERRED)
        return -EALREADY;
    if (flags & HTTPD_CLOSE)
        c->rs.keep_alive = 0;
    routes_count(&c->srv->routes, c->route, (unsigned)status);
    c->rs.headers = c->srv->headers;
    response_whole(&c->rs, &c->wire, status, ctype, (flags & HTTPD_GZIP) != 0, gzip, body, len,
                   extra);
    c->state = CONN_FLUSHING;
    conn_flush(c);
    return 0;
}

int httpd_stream(struct httpd_conn *c, int status, const char *ctype, unsigned flags,
                 httpd_produce_cb produce, httpd_cancel_cb cancel, void *arg)
{
    if (produce == NULL || cancel == NULL)
        return -EINVAL;
    if (c->state != CONN_HANDLING)
        return -EALREADY;
    begin_response(c, status, ctype, flags, -1, NULL);
    c->produce = produce;
    c->cancel = cancel;
    c->arg = arg;
    c->state = CONN_READY;
    /* The headers go out with the first piece, from the idle callback: nothing here
     * may fail in a way that would call cancel from inside httpd_stream(). */
    uv_idle_start(&c->idle, idle_cb);
    return 0;
}

int httpd_defer(struct httpd_conn *c, httpd_cancel_cb cancel, void *arg)
{
    if (cancel == NULL)
        return -EINVAL;
    if (c->state != CONN_HANDLING)
        return -EALREADY;
    c->cancel = cancel;
    c->arg = arg;
    c->state = CONN_DEFERRED;
    return 0;
}

void httpd_resume(struct httpd_conn *c)
{
    if (c->state == CONN_PRODUCING) {
        c->state = CONN_WOKEN;
    } else if (c->state == CONN_WAITING) {
        c->state = CONN_READY;
        uv_idle_start(&c->idle, idle_cb);
    }
}

/* A HEAD request's stream: the headers alone, and the producer is released unused. */
static void stream_head(struct httpd_conn *c)
{
    c->state = CONN_FLUSHING;
    c->cancel(c->arg);
    conn_flush(c);
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
    buf_reset(&c->piece);
    c->state = CONN_PRODUCING;
    rc = c->produce(c, &c->piece, c->arg);
    if (c->state == CONN_CLOSING) /* cancel has run */
        return;
    woken = c->state == CONN_WOKEN;
    c->state = CONN_READY;
    progress(c);
    respond_timer(c);
    response_piece(&c->rs, &c->wire, c->piece.ptr, c->piece.len, rc == HTTPD_DONE);
    if (rc == HTTPD_DONE)
        c->state = CONN_FLUSHING;
    conn_flush(c);
    if (c->state == CONN_CLOSING)
        return;
    if (rc == HTTPD_DONE) {
        if (c->unacked == 0)
            end_response(c);
    } else if (rc == HTTPD_WAIT && !woken) {
        c->state = CONN_WAITING;
    } else if (c->unacked > c->srv->cfg.max_unacked_bytes) {
        c->state = CONN_BLOCKED;
    } else {
        uv_idle_start(&c->idle, idle_cb);
    }
}

/* ---- dispatch ---- */

/* The server's own answers: errors, 401/404/405, and 500 for a silent handler. */
static void respond_plain(struct httpd_conn *c, int status, const char *extra)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, response_reason(status));

    httpd_respond(c, status, "text/plain; charset=utf-8", body, (size_t)n, 0, extra);
}

static int bearer_ok(const struct httpd_conn *c, const char *bearer, size_t bearer_len)
{
    const char *a = c->req.authorization;
    size_t n;
    unsigned char diff;

    if (strncasecmp(a, "Bearer ", 7) != 0)
        return 0;
    a += 7;
    while (*a == ' ')
        a++;
    n = strlen(a);
    /* Constant time in the token's length: every byte of the token is compared. */
    diff = n != bearer_len;
    for (size_t i = 0; i < bearer_len; i++)
        diff |= (unsigned char)(bearer[i] ^ (i < n ? a[i] : 0));
    return diff == 0;
}

/* Stop reading: one request at a time. Its response must start before the timeout. */
static void begin_handling(struct httpd_conn *c)
{
    c->rs.http10 = c->req.http_major == 1 && c->req.http_minor == 0;
    c->state = CONN_HANDLING;
    c->nrequests++;
    uv_read_stop(&c->h.stream);
    busy_begin(c);
    progress(c);
    respond_timer(c);
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
    limit_hit(c, HTTPD_LIMIT_CONNECTIONS);
    respond_plain(c, 503, NULL);
    return 1;
}

/* After the credentials, if any were needed: 404, 405, or the route's handler. */
static void serve(struct httpd_conn *c)
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
    if (reserve_refuses(c, req.path))
        return;

    if (c->route == ROUTES_NONE) {
        respond_plain(c, 404, NULL);
        return;
    }
    if (srv->handlers[c->route].post ? r->method != HTTP_POST
                                     : r->method != HTTP_GET && r->method != HTTP_HEAD) {
        respond_plain(c, 405,
                      srv->handlers[c->route].post ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n");
        return;
    }
    srv->handlers[c->route].handler(c, &req, srv->handlers[c->route].arg);
    if (c->state == CONN_HANDLING)
        respond_plain(c, 500, NULL);
}

/* 401 with a challenge for each credential the path takes (RFC 9110 11.6.1). */
static void unauthorized(struct httpd_conn *c, int basic, int bearer)
{
    respond_plain(c, 401,
                  basic && bearer
                      ? "WWW-Authenticate: Basic realm=\"ustatsd\", charset=\"UTF-8\"\r\n"
                        "WWW-Authenticate: Bearer\r\n"
                  : basic ? "WWW-Authenticate: Basic realm=\"ustatsd\", charset=\"UTF-8\"\r\n"
                          : "WWW-Authenticate: Bearer\r\n");
}

/* The bcrypt work came back: the request goes on where dispatch() left it. */
static void basic_done(int allowed, void *arg)
{
    struct httpd_conn *c = arg;

    assert(c->state == CONN_DEFERRED);
    c->auth_work = NULL;
    c->cancel = NULL;
    c->arg = NULL;
    c->state = CONN_HANDLING;
    if (allowed)
        serve(c);
    else
        unauthorized(c, 1, c->auth_bearer);
}

/* The connection died while its check was in flight. */
static void basic_cancel(void *arg)
{
    struct httpd_conn *c = arg;

    basicauth_abandon(c->auth_work);
    c->auth_work = NULL;
}

/*
 * Credentials: the path's bearer token, or basic auth of the server's users, either one
 * when both are set. A basic check that has to run bcrypt defers the request (CONN_DEFERRED,
 * as httpd_defer(), so that a dying connection abandons the check) and serve() runs from
 * basic_done().
 */
static void dispatch(struct httpd_conn *c)
{
    struct httpd_server *srv = c->srv;
    const struct request *r = &c->req;
    const char *bearer = srv->bearer;
    size_t bearer_len = srv->bearer_len;
    struct basicauth *basic = srv->basic;

    begin_handling(c);
    c->rs.head = r->method == HTTP_HEAD;
    c->rs.keep_alive = r->keep_alive;
    c->route = routes_find(&srv->routes, r->path);

    if (c->route != ROUTES_NONE && srv->handlers[c->route].own_bearer) {
        bearer = srv->handlers[c->route].bearer;
        bearer_len = srv->handlers[c->route].bearer_len;
    }
    if (strcmp(r->path, "/-/healthy") == 0 || strcmp(r->path, "/-/ready") == 0) {
        bearer = NULL; /* probes never need credentials */
        basic = NULL;
    }
    if ((bearer == NULL && basic == NULL) || (bearer != NULL && bearer_ok(c, bearer, bearer_len))) {
        serve(c);
        return;
    }
    if (basic == NULL) {
        unauthorized(c, 0, 1);
        return;
    }
    c->auth_bearer = bearer != NULL;
    switch (basicauth_check(basic, r->authorization, basic_done, c, &c->auth_work)) {
    case BASICAUTH_ALLOW:
        serve(c);
        break;
    case BASICAUTH_PENDING:
        c->cancel = basic_cancel;
        c->arg = c;
        c->state = CONN_DEFERRED;
        break;
    case BASICAUTH_BUSY:
        respond_plain(c, 503, "Retry-After: 1\r\n");
        break;
    case BASICAUTH_DENY:
    case BASICAUTH_ABSENT:
        unauthorized(c, 1, c->auth_bearer);
        break;
    }
}

/* A request the server refuses by itself: answer, then close. */
static void reject(struct httpd_conn *c, int status)
{
    limit_hit(c, status == 413   ? HTTPD_LIMIT_BODY_SIZE
                 : status == 431 ? HTTPD_LIMIT_HEADER_SIZE
                                 : HTTPD_LIMIT_BAD_REQUEST);
    begin_handling(c);
    c->rs.keep_alive = 0;
    respond_plain(c, status, NULL);
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
            timer_start(c, c->srv->cfg.read_timeout_ms);
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
        conn_close(c);
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

/*
 * TLS: what the engine made of the bytes read: its own messages (handshake, tickets, an
 * alert) go out at once, and plaintext goes on as if read in clear. A failed handshake
 * sends its alert before FIN, and ends this connection only.
 */
static void tls_then(struct httpd_conn *c, enum tlsmem_status st, struct buf *plain)
{
    if (tlsmem_conn_established(c->tls))
        tls_count(c, TLSMEM_FAIL_NONE);
    else if (tlsmem_conn_failure(c->tls) != TLSMEM_FAIL_NONE)
        tls_count(c, tlsmem_conn_failure(c->tls));
    conn_flush(c);
    if (c->state == CONN_CLOSING)
        return;
    if (st == TLSMEM_FAILED) {
        buf_reset(plain);
        conn_linger(c);
        return;
    }
    if (plain->len > 0)
        consume(c, plain->ptr, plain->len, 0);
    buf_reset(plain);
    if (st == TLSMEM_CLOSED && (c->state == CONN_IDLE || c->state == CONN_READING))
        conn_close(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

/*
 * A handshake step came back from the threadpool (tlspool.h): the connection reads
 * again, unless it died meanwhile (conn_close() counted the step as an open handle), or
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
        conn_close(c);
        return;
    }
    progress(c); /* the step's work is done: evicted last among idle connections */
    tls_then(c, job->st, &job->plain);
    if ((c->state == CONN_IDLE || c->state == CONN_READING) &&
        uv_read_start(&c->h.stream, alloc_cb, read_cb) != 0)
        conn_close(c);
}

/*
 * TLS: an established connection decrypts on the loop (cheap: a record is symmetric
 * crypto); a handshake step signs and derives keys, which a 4096-bit RSA key makes
 * milliseconds, so it goes to the threadpool and the connection stops reading until
 * it is back.
 */
static void tls_read(struct httpd_conn *c, const char *data, size_t len)
{
    if (!tlsmem_conn_established(c->tls)) {
        uv_read_stop(&c->h.stream);
        tlspool_feed(c->srv->hs, &c->hs, c->tls, data, len, c->hs_begun, hs_done);
        c->hs_begun = 1;
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
        conn_close(c);
        return;
    }
    if (nread == 0 || (c->state != CONN_IDLE && c->state != CONN_READING))
        return;
    if (c->tls != NULL) {
        tls_read(c, b->base, (size_t)nread);
        return;
    }
    consume(c, b->base, (size_t)nread, 0);
}

static void end_response(struct httpd_conn *c)
{
    assert(c->state == CONN_FLUSHING && c->unacked == 0);
    if (!c->rs.keep_alive) {
        conn_linger(c);
        return;
    }
    c->state = CONN_IDLE;
    request_next(&c->req);
    c->route = ROUTES_NONE;
    response_reset(&c->rs);
    c->produce = NULL;
    c->cancel = NULL;
    c->arg = NULL;
    progress(c);
    timer_start(c, c->srv->cfg.idle_timeout_ms);
    if (c->pending.len > 0)
        consume(c, c->pending.ptr, c->pending.len, 1);
    /* Waiting for the client again: the next request begins a new run (send rate). */
    if (c->state == CONN_IDLE || c->state == CONN_READING)
        c->busy = 0;
    if ((c->state == CONN_IDLE || c->state == CONN_READING) &&
        uv_read_start(&c->h.stream, alloc_cb, read_cb) != 0)
        conn_close(c);
}

/* ---- accepting ---- */

static void refused_closed_cb(uv_handle_t *h)
{
    struct httpd_server *srv = h->data;

    free(h);
    srv->pending_closes--;
    server_maybe_done(srv);
}

/*
 * Accepting is paced by the loop's polls (srv->pass counts them as they begin). A
 * connection accepted before the poll that is running now may have its first request
 * among that poll's events, not yet read: it may be evicted only after the poll (from
 * the check phase, retry_cb), once those reads ran. One accepted before an earlier poll
 * has been read if it had anything to read. One accepted since the poll began is never
 * evicted.
 */
enum accept_phase { IN_POLL, AFTER_POLL };

/*
 * TLS: an idle connection (no request begun) that eviction spares for now. One whose
 * handshake step is queued or running is being worked on, and ends within the pool's
 * wait and a step. Any other that made progress (a handshake step, a request served)
 * within evict_stall_ms is spared too: replacing it costs a handshake, and between
 * steps its client's answer is a round trip away. Without this a newcomer under a
 * handshake flood would push out the handshake next in line or a kept-alive client;
 * with it, newcomers wait their turn (accept_one()). A client that never answers, or
 * idles, is evictable after evict_stall_ms, as before.
 */
static int tls_shielded(const struct httpd_conn *c)
{
    if (c->tls == NULL || c->state != CONN_IDLE)
        return 0;
    if (tlspool_job_busy(&c->hs))
        return 1;
    return (c->hs_begun || c->tls_counted) &&
           now_ms(c) - c->progress_ms < c->srv->cfg.evict_stall_ms;
}

/*
 * What evicting c at the cap would cost, as an enum httpd_evict, or -1 when c may not
 * be evicted: it is making progress, the server is working on it, or it is too new.
 */
static int evict_reason(struct httpd_conn *c)
{
    struct httpd_server *srv = c->srv;

    if (srv->pass == c->pass && !c->read_early)
        return -1;
    switch (c->state) {
    case CONN_IDLE:
        if (tls_shielded(c))
            return -1;
        return HTTPD_EVICT_IDLE;
    case CONN_LINGERING:
        return HTTPD_EVICT_LINGER;
    case CONN_READING:
        return HTTPD_EVICT_REQUEST;
    case CONN_CLOSING:
        return -1;
    case CONN_FLUSHING:
        /* A last response wholly in the socket: lingering, but for the callback. */
        if (!c->rs.keep_alive && uv_stream_get_write_queue_size(&c->h.stream) == 0)
            return HTTPD_EVICT_LINGER;
        break;
    case CONN_DEFERRED:
    case CONN_WAITING:
        if (c->unacked > 0) /* the client's turn: below */
            break;
        /* Waiting on something (bcrypt, Postgres, a snapshot) that should have come. */
        if (now_ms(c) - c->progress_ms < srv->cfg.evict_work_ms)
            return -1;
        return HTTPD_EVICT_WORK;
    default:
        break;
    }
    if (c->unacked == 0) /* nothing waits on the client: the server is working */
        return -1;
    sample_progress(c);
    if (now_ms(c) - c->progress_ms < srv->cfg.evict_stall_ms)
        return -1;
    return HTTPD_EVICT_RESPONSE;
}

/*
 * Close the connection of the pool (reserve or not) that is cheapest to lose: the first
 * reason in the order of enum httpd_evict (idle, lingering, unfinished request, stalled
 * response, stalled work), and in it the one with the oldest progress. Returns 1 when
 * one was closed, 0 when none may be, or -1 when that one may only be closed after the
 * poll.
 */
static int evict(struct httpd_server *srv, int reserved, enum accept_phase phase)
{
    struct httpd_conn *c, *victim = NULL;
    int best = HTTPD_EVICT_COUNT;

    /* The list is newest first: ties go to the older. */
    for (c = srv->conns; c != NULL; c = c->next) {
        int why;

        if (c->reserved != reserved || (why = evict_reason(c)) < 0 || why > best)
            continue;
        if (why < best || c->progress_ms <= victim->progress_ms) {
            victim = c;
            best = why;
        }
    }
    if (victim == NULL)
        return 0;
    if (phase == IN_POLL && !victim->read_early && srv->pass - victim->pass < 2)
        return -1;
    srv->stats.evictions[best]++;
    srv->stats.connections_evicted++;
    conn_close(victim);
    return 1;
}

/* Whether a connection was accepted since the poll began (evictable after the next). */
static int any_new(const struct httpd_server *srv)
{
    for (const struct httpd_conn *c = srv->conns; c != NULL; c = c->next)
        if (c->state != CONN_CLOSING && c->pass == srv->pass && !c->read_early)
            return 1;
    return 0;
}

/*
 * Whether a TLS connection is spared by tls_shielded() only for a while: it frees its
 * slot or becomes evictable soon (a step's return, its client's answer, a request or
 * a deadline wakes the loop), so a newcomer waits in the listen backlog (FIFO) rather
 * than being refused, and under a handshake flood every client gets its turn in
 * arrival order instead of the quickest to reconnect winning the freed slots.
 */
static int handshakes_out(const struct httpd_server *srv)
{
    for (const struct httpd_conn *c = srv->conns; c != NULL; c = c->next)
        if (tls_shielded(c))
            return 1;
    return 0;
}

static void retry_cb(uv_check_t *h);

static struct httpd_conn *conn_new(struct httpd_server *srv, int reserved)
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
    c->progress_ms = uv_now(srv->loop);
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
    uv_buf_t b = uv_buf_init(c->srv->rbuf, READ_BUF_SIZE);
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

static void spin_cb(uv_idle_t *h)
{
    (void)h;
}

/*
 * Leave the connection in libuv's accept slot (libuv stops polling the listener until
 * it is taken) for retry_cb, after this poll; with spin, the next poll does not block
 * either, in case what stands in the way sends nothing that would wake the loop.
 */
static void pause_accepting(struct httpd_server *srv, int spin)
{
    if (!srv->paused)
        srv->stats.accept_pauses++;
    srv->paused = 1;
    uv_check_start(&srv->retry, retry_cb);
    if (spin)
        uv_idle_start(&srv->spin, spin_cb);
}

static void resume_accepting(struct httpd_server *srv)
{
    srv->paused = 0;
    uv_check_stop(&srv->retry);
    uv_idle_stop(&srv->spin);
}

/*
 * Take the connection waiting in libuv's accept slot: into the cap (evicting if
 * needed), else into the probe reserve (evicting there if needed), else, when some
 * connection will be evictable later in this iteration or after the next poll, leave
 * it waiting; else refuse it with "503".
 */
static void accept_one(struct httpd_server *srv, enum accept_phase phase)
{
    struct httpd_conn *c;
    int reserved = 0, rc = 1;

    if (srv->turn_accepts >= ACCEPTS_PER_TURN) { /* the rest on the next iteration */
        pause_accepting(srv, 1);
        return;
    }
    if (srv->nserving >= srv->cfg.max_connections && (rc = evict(srv, 0, phase)) == 0) {
        reserved = 1;
        rc = srv->nreserve < srv->cfg.probe_reserve ? 1 : evict(srv, 1, phase);
    }
    if (rc < 0 || (rc == 0 && phase == IN_POLL)) {
        pause_accepting(srv, 0);
        return;
    }
    if (rc == 0 && any_new(srv)) {
        pause_accepting(srv, 1);
        return;
    }
    if (rc == 0 && handshakes_out(srv)) {
        pause_accepting(srv, 0); /* a step's return wakes the loop: the backlog waits */
        return;
    }
    resume_accepting(srv);
    if (rc == 0) {
        if (listener_refuse(&srv->listener, srv, refused_closed_cb) == 0) {
            srv->pending_closes++;
            srv->stats.connections_rejected++;
            srv->stats.limits[HTTPD_LIMIT_CONNECTIONS]++;
        }
        return;
    }
    c = conn_new(srv, reserved);
    if (c == NULL)
        return;
    if (listener_accept(&srv->listener, &c->h.stream) != 0) {
        conn_close(c);
        return;
    }
    srv->stats.connections_accepted++;
    srv->stats.reserve_accepted += (uint64_t)reserved;
    srv->turn_accepts++;
    timer_start(c, srv->cfg.read_timeout_ms);
    if (uv_read_start(&c->h.stream, alloc_cb, read_cb) != 0)
        conn_close(c);
    else
        read_now(c);
}

static void connection_cb(uv_stream_t *server, int status)
{
    struct httpd_server *srv = container_of(server, struct httpd_server, listener.h.stream);

    if (status < 0 || srv->closing)
        return;
    accept_one(srv, IN_POLL);
}

static void retry_cb(uv_check_t *h)
{
    struct httpd_server *srv = h->data;

    if (srv->paused && !srv->closing)
        accept_one(srv, AFTER_POLL);
}

static void pacer_cb(uv_prepare_t *h)
{
    struct httpd_server *srv = h->data;

    srv->pass++;
    srv->turn_accepts = 0;
}

static int pacer_start(struct httpd_server *srv, int rc)
{
    if (rc == 0) {
        uv_prepare_start(&srv->pacer, pacer_cb);
        uv_unref((uv_handle_t *)&srv->pacer);
    }
    return rc;
}

/* ---- listening and closing ---- */

int httpd_server_listen(struct httpd_server *srv, const char *addr, char *err, size_t errlen)
{
    if (srv->closing) {
        if (err && errlen > 0)
            snprintf(err, errlen, "listen %s: server already listening", addr);
        return -EALREADY;
    }
    return pacer_start(srv, listener_start(&srv->listener, addr, connection_cb, err, errlen));
}

int httpd_server_adopt(struct httpd_server *srv, const char *addr, int fd, char *err, size_t errlen)
{
    if (srv->closing) {
        if (err && errlen > 0)
            snprintf(err, errlen, "listen %s: server already listening", addr);
        close(fd);
        return -EALREADY;
    }
    return pacer_start(srv, listener_adopt(&srv->listener, addr, fd, connection_cb, err, errlen));
}

int httpd_server_address(const struct httpd_server *srv, char *out, size_t len)
{
    return listener_address(&srv->listener, out, len);
}

static void closed_cb(uv_handle_t *h)
{
    struct httpd_server *srv = h->data;

    srv->pending_closes--;
    server_maybe_done(srv);
}

void httpd_server_close(struct httpd_server *srv, httpd_server_close_cb cb)
{
    struct httpd_conn *c, *next;

    assert(!srv->closing);
    srv->closing = 1;
    srv->close_cb = cb;
    /* A handle closed here guarantees that cb runs on a later iteration even when
     * there is nothing else to close. */
    uv_idle_init(srv->loop, &srv->closer);
    srv->closer.data = srv;
    srv->pending_closes++;
    uv_close((uv_handle_t *)&srv->closer, closed_cb);
    uv_close((uv_handle_t *)&srv->pacer, closed_cb);
    uv_close((uv_handle_t *)&srv->retry, closed_cb);
    uv_close((uv_handle_t *)&srv->spin, closed_cb);
    srv->pending_closes += 3;
    if (listener_close(&srv->listener, srv, closed_cb))
        srv->pending_closes++;
    for (c = srv->conns; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}
