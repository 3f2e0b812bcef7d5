#include "http.h"
#include "common.h"
#include "mem.h"
#include "query.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <http_parser.h>
#include <zlib.h>

#define READ_BUF_SIZE  16384
#define FIELD_MAX      64   /* longer header names cannot be one we keep */
#define LINGER_MS      2000 /* draining a client's unread input after our last byte */
#define LISTEN_BACKLOG 128

struct http_route {
    char *path;
    char *name;
    http_handler_cb handler;
    void *arg;
    struct {
        unsigned code;
        uint64_t count;
    } codes[HTTP_MAX_CODES];
    size_t ncodes;
};

enum conn_state {
    CONN_READING,    /* parsing a request */
    CONN_RESPONDING, /* a request was dispatched; not reading */
    CONN_LINGERING,  /* our last byte is out: shut down, drain input until EOF */
    CONN_CLOSING,
};

enum header_slot { SLOT_NONE, SLOT_ACCEPT, SLOT_ACCEPT_ENCODING, SLOT_AUTHORIZATION, SLOT_SCRAPE };

struct http_conn {
    struct http_server *srv;
    struct http_conn *prev, *next;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    uv_timer_t timer;
    uv_idle_t idle;
    uv_shutdown_t shutdown;
    unsigned open_handles;
    enum conn_state state;
    unsigned nrequests;

    /* The request being read. */
    http_parser parser;
    int started; /* a byte of this request arrived */
    int headers_done;
    int message_done;
    int keep_alive;
    int err_status; /* 413 or 431, set by a parser callback that fails */
    size_t header_bytes;
    uint64_t body_bytes;
    struct buf url;
    char field[FIELD_MAX];
    size_t field_len;
    int in_value;
    enum header_slot slot;
    char accept[HTTP_ACCEPT_MAX];
    char accept_encoding[HTTP_ACCEPT_ENCODING_MAX];
    char authorization[HTTP_AUTHORIZATION_MAX];
    char scrape_timeout[HTTP_SCRAPE_TIMEOUT_MAX];
    struct buf pending; /* bytes read past the request being answered (pipelining) */

    /* The response. */
    int route; /* index into srv->routes, or -1 for srv->other */
    int head;
    int responded;
    int finished; /* the last byte was handed to uv_write */
    int chunked;
    int gzip;
    int zinit;
    z_stream z;
    size_t unacked;
    struct buf wire;  /* bytes for the next uv_write */
    struct buf piece; /* the producer's output */
    struct buf zout;
    http_produce_cb produce;
    http_cancel_cb cancel;
    void *arg;
    int streaming; /* produce/cancel still owed a call */
    int in_produce;
    int waiting; /* HTTP_WAIT returned, no http_resume yet */
    int woken;   /* http_resume called during produce */
    int blocked; /* over max_unacked_bytes */

    char rbuf[READ_BUF_SIZE];
};

struct wreq {
    uv_write_t req;
    struct http_conn *c;
    char *data;
    size_t len;
};

static const char *const limit_names[] = {
#define XX(kind, name) name,
    HTTP_LIMIT_MAP(XX)
#undef XX
};

const char *http_limit_name(enum http_limit kind)
{
    if ((unsigned)kind >= HTTP_LIMIT_COUNT)
        return "unknown";
    return limit_names[kind];
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void http_server_init(struct http_server *srv, uv_loop_t *loop, const struct http_config *cfg)
{
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    if (cfg)
        srv->cfg = *cfg;
    if (srv->cfg.max_header_bytes == 0)
        srv->cfg.max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
    if (srv->cfg.max_body_bytes == 0)
        srv->cfg.max_body_bytes = HTTP_DEFAULT_MAX_BODY_BYTES;
    if (srv->cfg.read_timeout_ms == 0)
        srv->cfg.read_timeout_ms = HTTP_DEFAULT_READ_TIMEOUT_MS;
    if (srv->cfg.idle_timeout_ms == 0)
        srv->cfg.idle_timeout_ms = HTTP_DEFAULT_IDLE_TIMEOUT_MS;
    if (srv->cfg.write_timeout_ms == 0)
        srv->cfg.write_timeout_ms = HTTP_DEFAULT_WRITE_TIMEOUT_MS;
    if (srv->cfg.max_connections == 0)
        srv->cfg.max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
    if (srv->cfg.max_unacked_bytes == 0)
        srv->cfg.max_unacked_bytes = HTTP_DEFAULT_MAX_UNACKED_BYTES;
    srv->other = mem_calloc(1, sizeof(*srv->other));
    srv->other->path = mem_strdup("");
    srv->other->name = mem_strdup(HTTP_OTHER_ROUTE);
}

int http_server_route(struct http_server *srv, const char *path, const char *name,
                      http_handler_cb handler, void *arg)
{
    struct http_route *r;

    if (path == NULL || path[0] != '/' || name == NULL || handler == NULL)
        return -EINVAL;
    for (size_t i = 0; i < srv->nroutes; i++)
        if (strcmp(srv->routes[i].path, path) == 0)
            return -EEXIST;
    r = mem_realloc(srv->routes, (srv->nroutes + 1) * sizeof(*r));
    srv->routes = r;
    r = &srv->routes[srv->nroutes++];
    memset(r, 0, sizeof(*r));
    r->path = mem_strdup(path);
    r->name = mem_strdup(name);
    r->handler = handler;
    r->arg = arg;
    return 0;
}

int http_server_set_bearer(struct http_server *srv, const char *token)
{
    size_t n = token ? strlen(token) : 0;

    if (n > HTTP_MAX_TOKEN)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (token[i] <= ' ' || token[i] > '~')
            return -EINVAL;
    free(srv->bearer);
    srv->bearer = n ? mem_strdup(token) : NULL;
    srv->bearer_len = n;
    return 0;
}

const struct http_stats *http_server_stats(const struct http_server *srv)
{
    return &srv->stats;
}

void http_server_foreach_requests(const struct http_server *srv, http_requests_cb cb, void *arg)
{
    for (size_t i = 0; i <= srv->nroutes; i++) {
        const struct http_route *r = i < srv->nroutes ? &srv->routes[i] : srv->other;

        if (r == NULL)
            continue;
        for (size_t j = 0; j < r->ncodes; j++)
            cb(r->name, r->codes[j].code, r->codes[j].count, arg);
    }
}

static struct http_route *conn_route(struct http_conn *c)
{
    return c->route >= 0 ? &c->srv->routes[c->route] : c->srv->other;
}

static void count_request(struct http_conn *c, int status)
{
    struct http_route *r = conn_route(c);
    size_t i;

    for (i = 0; i < r->ncodes; i++)
        if (r->codes[i].code == (unsigned)status)
            break;
    if (i == r->ncodes) {
        /* Handlers choose status codes, clients do not: the cap is never reached in
         * practice, and the last slot absorbs anything beyond it. */
        if (r->ncodes == HTTP_MAX_CODES)
            i = HTTP_MAX_CODES - 1;
        else
            r->codes[r->ncodes++].code = (unsigned)status;
    }
    r->codes[i].count++;
}

/* ---- connection teardown ---- */

static void server_maybe_done(struct http_server *srv)
{
    if (!srv->closing || srv->pending_closes > 0 || srv->conns != NULL)
        return;
    for (size_t i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i].path);
        free(srv->routes[i].name);
    }
    free(srv->routes);
    srv->routes = NULL;
    srv->nroutes = 0;
    free(srv->other->path);
    free(srv->other->name);
    free(srv->other);
    srv->other = NULL;
    free(srv->bearer);
    srv->bearer = NULL;
    free(srv->unix_path);
    srv->unix_path = NULL;
    if (srv->close_cb)
        srv->close_cb(srv);
}

static void conn_free(struct http_conn *c)
{
    struct http_server *srv = c->srv;

    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    srv->stats.connections_open = srv->nconns;
    if (c->zinit)
        deflateEnd(&c->z);
    buf_release(&c->url);
    buf_release(&c->pending);
    buf_release(&c->wire);
    buf_release(&c->piece);
    buf_release(&c->zout);
    free(c);
    server_maybe_done(srv);
}

static void conn_handle_closed(struct http_conn *c)
{
    assert(c->open_handles > 0);
    if (--c->open_handles == 0)
        conn_free(c);
}

static void stream_closed_cb(uv_handle_t *h)
{
    conn_handle_closed(container_of(h, struct http_conn, h.handle));
}

static void timer_closed_cb(uv_handle_t *h)
{
    conn_handle_closed(container_of(h, struct http_conn, timer));
}

static void idle_closed_cb(uv_handle_t *h)
{
    conn_handle_closed(container_of(h, struct http_conn, idle));
}

/*
 * Close now. Pending writes and the shutdown request complete with UV_ECANCELED before
 * the close callbacks run, so c outlives them. The producer learns of it through cancel,
 * which this is the only place to call for a dead connection.
 */
static void conn_close(struct http_conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    c->state = CONN_CLOSING;
    if (c->streaming) {
        c->streaming = 0;
        c->cancel(c->arg);
    }
    uv_close(&c->h.handle, stream_closed_cb);
    uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
    uv_close((uv_handle_t *)&c->idle, idle_closed_cb);
}

static void limit_hit(struct http_conn *c, enum http_limit kind)
{
    c->srv->stats.limits[kind]++;
}

static void timer_start(struct http_conn *c, uint64_t ms);

static void linger_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct http_conn *c = container_of(s, struct http_conn, h.stream);

    (void)b;
    if (nread < 0)
        conn_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct http_conn *c = container_of(h, struct http_conn, h.handle);

    (void)suggested;
    *b = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct http_conn *c = container_of(req, struct http_conn, shutdown);

    if (status < 0)
        conn_close(c);
}

/*
 * Closing with unread input in the socket makes the kernel send RST, and a client that
 * is still sending (a 431 for a huge header, a 413 body) may then lose our response
 * before reading it. So send FIN after the last byte and drain until the client closes
 * too, for a short while (nginx's lingering_close).
 */
static void conn_linger(struct http_conn *c)
{
    if (c->state == CONN_CLOSING || c->state == CONN_LINGERING)
        return;
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

/* ---- timers ---- */

static void timer_cb(uv_timer_t *t)
{
    struct http_conn *c = container_of(t, struct http_conn, timer);

    switch (c->state) {
    case CONN_READING:
        if (c->started || c->nrequests == 0)
            limit_hit(c, HTTP_LIMIT_READ_TIMEOUT);
        else
            c->srv->stats.connections_idle_closed++;
        break;
    case CONN_RESPONDING:
        limit_hit(c, HTTP_LIMIT_WRITE_TIMEOUT);
        break;
    case CONN_LINGERING:
    case CONN_CLOSING:
        break;
    }
    conn_close(c);
}

static void timer_start(struct http_conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, timer_cb, ms, 0);
}

/* ---- writing ---- */

static void response_done(struct http_conn *c);
static void idle_cb(uv_idle_t *h);

static void write_cb(uv_write_t *req, int status)
{
    struct wreq *w = container_of(req, struct wreq, req);
    struct http_conn *c = w->c;

    assert(c->unacked >= w->len);
    c->unacked -= w->len;
    free(w->data);
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->state != CONN_RESPONDING)
        return;
    timer_start(c, c->srv->cfg.write_timeout_ms);
    if (c->finished) {
        if (c->unacked == 0)
            response_done(c);
    } else if (c->blocked && c->unacked <= c->srv->cfg.max_unacked_bytes) {
        c->blocked = 0;
        uv_idle_start(&c->idle, idle_cb);
    }
}

/* Hand c->wire to the socket. The connection may be closing when this returns. */
static void conn_flush(struct http_conn *c)
{
    struct wreq *w;
    uv_buf_t b;

    if (c->wire.len == 0 || c->state == CONN_CLOSING)
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
}

/* ---- gzip ---- */

static void gz_begin(struct http_conn *c)
{
    memset(&c->z, 0, sizeof(c->z));
    /* windowBits 15 + 16 writes a gzip wrapper; level 1: scrapes are frequent and the
     * text compresses well even at the fastest level. */
    if (deflateInit2(&c->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        mem_oom(sizeof(c->z));
    c->zinit = 1;
}

static void gz_end(struct http_conn *c)
{
    if (c->zinit)
        deflateEnd(&c->z);
    c->zinit = 0;
}

/* Deflate n bytes into c->zout; finish ends the gzip member. */
static void gz_feed(struct http_conn *c, const char *in, size_t n, int finish)
{
    int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    int rc;

    assert(n <= UINT32_MAX);
    c->z.next_in = (Bytef *)in; /* zlib does not write through next_in */
    c->z.avail_in = (uInt)n;
    for (;;) {
        size_t room;

        buf_grow(&c->zout, 16384);
        room = c->zout.cap - c->zout.len - 1;
        c->z.next_out = (Bytef *)c->zout.ptr + c->zout.len;
        c->z.avail_out = (uInt)room;
        rc = deflate(&c->z, flush);
        assert(rc != Z_STREAM_ERROR);
        c->zout.len += room - c->z.avail_out;
        if (finish ? rc == Z_STREAM_END : (c->z.avail_in == 0 && c->z.avail_out > 0))
            break;
    }
}

/* ---- responses ---- */

static const char *reason(int status)
{
    const char *s = http_status_str((enum http_status)status);

    return strcmp(s, "<unknown>") == 0 ? "Status" : s;
}

/*
 * Decide gzip and write the status line and headers into c->wire. length < 0 means a
 * streamed body: chunked for HTTP/1.1, ended by close for HTTP/1.0.
 */
static void begin_response(struct http_conn *c, int status, const char *ctype, unsigned flags,
                           int gzip, long long length, const char *extra)
{
    int http10 = c->parser.http_major == 1 && c->parser.http_minor == 0;

    c->responded = 1;
    count_request(c, status);
    c->gzip = gzip;
    c->chunked = length < 0 && !http10;
    if (length < 0 && http10)
        c->keep_alive = 0;
    buf_addf(&c->wire, "HTTP/1.1 %d %s\r\n", status, reason(status));
    if (ctype)
        buf_addf(&c->wire, "Content-Type: %s\r\n", ctype);
    if (length >= 0)
        buf_addf(&c->wire, "Content-Length: %lld\r\n", length);
    if (c->chunked)
        buf_adds(&c->wire, "Transfer-Encoding: chunked\r\n");
    if (c->gzip)
        buf_adds(&c->wire, "Content-Encoding: gzip\r\n");
    if (flags & HTTP_GZIP)
        buf_adds(&c->wire, "Vary: Accept-Encoding\r\n");
    if (extra)
        buf_adds(&c->wire, extra);
    if (!c->keep_alive)
        buf_adds(&c->wire, "Connection: close\r\n");
    else if (http10)
        buf_adds(&c->wire, "Connection: keep-alive\r\n");
    buf_adds(&c->wire, "\r\n");
}

int http_respond(struct http_conn *c, int status, const char *ctype, const void *body, size_t len,
                 unsigned flags, const char *extra)
{
    int gzip = (flags & HTTP_GZIP) && http_accepts_gzip(c->accept_encoding);

    if (c->responded)
        return -EALREADY;
    if (gzip) {
        gz_begin(c);
        buf_reset(&c->zout);
        gz_feed(c, body, len, 1);
        gz_end(c);
        body = c->zout.ptr;
        len = c->zout.len;
    }
    begin_response(c, status, ctype, flags, gzip, (long long)len, extra);
    if (!c->head)
        buf_add(&c->wire, body, len);
    buf_reset(&c->zout);
    c->finished = 1;
    conn_flush(c);
    return 0;
}

int http_stream(struct http_conn *c, int status, const char *ctype, unsigned flags,
                http_produce_cb produce, http_cancel_cb cancel, void *arg)
{
    if (produce == NULL || cancel == NULL)
        return -EINVAL;
    if (c->responded)
        return -EALREADY;
    begin_response(c, status, ctype, flags,
                   (flags & HTTP_GZIP) && http_accepts_gzip(c->accept_encoding), -1, NULL);
    c->produce = produce;
    c->cancel = cancel;
    c->arg = arg;
    c->streaming = 1;
    if (c->gzip && !c->head)
        gz_begin(c);
    /* The headers go out with the first piece, from the idle callback: nothing here
     * may fail in a way that would call cancel from inside http_stream(). */
    uv_idle_start(&c->idle, idle_cb);
    return 0;
}

void http_resume(struct http_conn *c)
{
    if (!c->streaming)
        return;
    if (c->in_produce) {
        c->woken = 1;
        return;
    }
    if (c->waiting) {
        c->waiting = 0;
        uv_idle_start(&c->idle, idle_cb);
    }
}

static void frame(struct http_conn *c, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (c->chunked)
        buf_addf(&c->wire, "%zx\r\n", n);
    buf_add(&c->wire, p, n);
    if (c->chunked)
        buf_adds(&c->wire, "\r\n");
}

/*
 * One step of a stream, one per loop iteration at most, so that a large body never
 * holds the loop (ingestion runs between pieces). An active idle handle also makes
 * that iteration's poll non-blocking.
 */
static void idle_cb(uv_idle_t *h)
{
    struct http_conn *c = container_of(h, struct http_conn, idle);
    int rc;

    uv_idle_stop(h);
    if (c->state != CONN_RESPONDING || !c->streaming)
        return;
    if (c->head) {
        c->streaming = 0;
        c->finished = 1;
        c->cancel(c->arg);
        conn_flush(c);
        return;
    }
    if (c->unacked > c->srv->cfg.max_unacked_bytes) {
        c->blocked = 1;
        return;
    }
    buf_reset(&c->piece);
    c->in_produce = 1;
    c->woken = 0;
    rc = c->produce(c, &c->piece, c->arg);
    c->in_produce = 0;
    timer_start(c, c->srv->cfg.write_timeout_ms);
    if (c->gzip) {
        buf_reset(&c->zout);
        gz_feed(c, c->piece.ptr, c->piece.len, rc == HTTP_DONE);
        frame(c, c->zout.ptr, c->zout.len);
    } else {
        frame(c, c->piece.ptr, c->piece.len);
    }
    if (rc == HTTP_DONE) {
        c->streaming = 0;
        c->finished = 1;
        gz_end(c);
        if (c->chunked)
            buf_adds(&c->wire, "0\r\n\r\n");
    }
    conn_flush(c);
    if (c->state != CONN_RESPONDING)
        return;
    if (rc == HTTP_DONE) {
        if (c->unacked == 0)
            response_done(c);
    } else if (rc == HTTP_WAIT && !c->woken) {
        c->waiting = 1;
    } else if (c->unacked > c->srv->cfg.max_unacked_bytes) {
        c->blocked = 1;
    } else {
        uv_idle_start(&c->idle, idle_cb);
    }
}

/* ---- reading and dispatch ---- */

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t n);
static int on_header_field(http_parser *p, const char *at, size_t n);
static int on_header_value(http_parser *p, const char *at, size_t n);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t n);
static int on_message_complete(http_parser *p);

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void request_reset(struct http_conn *c)
{
    c->started = 0;
    c->headers_done = 0;
    c->message_done = 0;
    c->err_status = 0;
    c->header_bytes = 0;
    c->body_bytes = 0;
    buf_reset(&c->url);
    c->field_len = 0;
    c->in_value = 0;
    c->slot = SLOT_NONE;
    c->accept[0] = c->accept_encoding[0] = c->authorization[0] = c->scrape_timeout[0] = '\0';
    c->route = -1;
    c->head = 0;
    c->responded = 0;
    c->finished = 0;
    c->chunked = 0;
    c->gzip = 0;
    c->produce = NULL;
    c->cancel = NULL;
    c->arg = NULL;
    c->waiting = c->woken = c->blocked = 0;
}

static struct http_conn *parser_conn(http_parser *p)
{
    return container_of(p, struct http_conn, parser);
}

static int on_message_begin(http_parser *p)
{
    (void)p;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    buf_add(&parser_conn(p)->url, at, n);
    return 0;
}

static char *slot_buf(struct http_conn *c, size_t *size)
{
    switch (c->slot) {
    case SLOT_ACCEPT:
        *size = sizeof(c->accept);
        return c->accept;
    case SLOT_ACCEPT_ENCODING:
        *size = sizeof(c->accept_encoding);
        return c->accept_encoding;
    case SLOT_AUTHORIZATION:
        *size = sizeof(c->authorization);
        return c->authorization;
    case SLOT_SCRAPE:
        *size = sizeof(c->scrape_timeout);
        return c->scrape_timeout;
    case SLOT_NONE:
        break;
    }
    *size = 0;
    return NULL;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = parser_conn(p);

    /* http-parser may split a name across reads: collect it until the value starts. */
    if (c->in_value) {
        c->in_value = 0;
        c->field_len = 0;
    }
    if (c->field_len + n >= sizeof(c->field)) {
        c->field_len = sizeof(c->field); /* too long to be one we keep */
        return 0;
    }
    memcpy(c->field + c->field_len, at, n);
    c->field_len += n;
    return 0;
}

static void append_bounded(char *dst, size_t size, const char *s, size_t n)
{
    size_t len = strlen(dst);

    if (len + 1 >= size)
        return;
    if (n > size - 1 - len)
        n = size - 1 - len;
    memcpy(dst + len, s, n);
    dst[len + n] = '\0';
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = parser_conn(p);
    size_t size;
    char *dst;

    if (!c->in_value) {
        c->in_value = 1;
        c->slot = SLOT_NONE;
        if (c->field_len < sizeof(c->field)) {
            c->field[c->field_len] = '\0';
            if (strcasecmp(c->field, "Accept") == 0)
                c->slot = SLOT_ACCEPT;
            else if (strcasecmp(c->field, "Accept-Encoding") == 0)
                c->slot = SLOT_ACCEPT_ENCODING;
            else if (strcasecmp(c->field, "Authorization") == 0)
                c->slot = SLOT_AUTHORIZATION;
            else if (strcasecmp(c->field, "X-Prometheus-Scrape-Timeout-Seconds") == 0)
                c->slot = SLOT_SCRAPE;
        }
        dst = slot_buf(c, &size);
        if (dst && dst[0] != '\0')
            append_bounded(dst, size, ", ", 2); /* RFC 9110 5.3: repeated = joined */
    }
    dst = slot_buf(c, &size);
    if (dst)
        append_bounded(dst, size, at, n);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = parser_conn(p);

    c->headers_done = 1;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->cfg.max_body_bytes) {
        c->err_status = 413;
        return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = parser_conn(p);

    (void)at;
    c->body_bytes += n;
    if (c->body_bytes > c->srv->cfg.max_body_bytes) {
        c->err_status = 413;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = parser_conn(p);

    c->message_done = 1;
    c->keep_alive = http_should_keep_alive(p);
    /* Stop at the message boundary: the next pipelined request waits for this response. */
    http_parser_pause(p, 1);
    return 0;
}

/* The server's own answers: errors, 401/404/405, and 500 for a silent handler. */
static void respond_plain(struct http_conn *c, int status, const char *extra)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));

    http_respond(c, status, "text/plain; charset=utf-8", body, (size_t)n, 0, extra);
}

static int bearer_ok(const struct http_conn *c)
{
    const struct http_server *srv = c->srv;
    const char *a = c->authorization;
    size_t n;
    unsigned char diff;

    if (strncasecmp(a, "Bearer ", 7) != 0)
        return 0;
    a += 7;
    while (*a == ' ')
        a++;
    n = strlen(a);
    /* Constant time in the token's length: every byte of the token is compared. */
    diff = n != srv->bearer_len;
    for (size_t i = 0; i < srv->bearer_len; i++)
        diff |= (unsigned char)(srv->bearer[i] ^ (i < n ? a[i] : 0));
    return diff == 0;
}

static void dispatch(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    struct http_request req;
    char *q;
    int method = c->parser.method;

    c->state = CONN_RESPONDING;
    c->nrequests++;
    uv_read_stop(&c->h.stream);
    timer_start(c, srv->cfg.write_timeout_ms);
    c->head = method == HTTP_HEAD;

    buf_addch(&c->url, '\0'); /* a path and a query, both NUL-terminated */
    q = memchr(c->url.ptr, '?', c->url.len);
    if (q)
        *q++ = '\0';
    req.head = c->head;
    req.http_major = c->parser.http_major;
    req.http_minor = c->parser.http_minor;
    req.path = c->url.ptr;
    req.query = q ? q : "";
    req.accept = c->accept;
    req.accept_encoding = c->accept_encoding;
    req.authorization = c->authorization;
    req.scrape_timeout = c->scrape_timeout;

    c->route = -1;
    for (size_t i = 0; i < srv->nroutes; i++)
        if (strcmp(srv->routes[i].path, req.path) == 0)
            c->route = (int)i;

    if (srv->bearer && strcmp(req.path, "/-/healthy") != 0 && strcmp(req.path, "/-/ready") != 0 &&
        !bearer_ok(c)) {
        respond_plain(c, 401, "WWW-Authenticate: Bearer\r\n");
        return;
    }
    if (c->route < 0) {
        respond_plain(c, 404, NULL);
        return;
    }
    if (method != HTTP_GET && method != HTTP_HEAD) {
        respond_plain(c, 405, "Allow: GET, HEAD\r\n");
        return;
    }
    srv->routes[c->route].handler(c, &req, srv->routes[c->route].arg);
    if (!c->responded)
        respond_plain(c, 500, NULL);
}

/* A request the server refuses by itself: answer, then close. */
static void reject(struct http_conn *c, int status, enum http_limit kind)
{
    limit_hit(c, kind);
    c->state = CONN_RESPONDING;
    c->keep_alive = 0;
    c->nrequests++;
    uv_read_stop(&c->h.stream);
    timer_start(c, c->srv->cfg.write_timeout_ms);
    respond_plain(c, status, NULL);
}

/*
 * Parse bytes of the current request. Returns how many were consumed; the connection
 * has moved on from CONN_READING when a request is complete or was refused.
 * Until the headers are complete, at most max_header_bytes are fed to the parser: the
 * cap is the server's, per connection, unlike http_parser_set_max_header_size().
 */
static size_t feed(struct http_conn *c, const char *data, size_t len)
{
    size_t off = 0;

    while (off < len && c->state == CONN_READING) {
        size_t chunk = len - off, n;
        enum http_errno e;

        if (!c->started) {
            c->started = 1;
            if (c->nrequests > 0)
                timer_start(c, c->srv->cfg.read_timeout_ms);
        }
        if (!c->headers_done) {
            size_t budget = c->srv->cfg.max_header_bytes - c->header_bytes;

            if (budget == 0) {
                reject(c, 431, HTTP_LIMIT_HEADER_SIZE);
                break;
            }
            if (chunk > budget)
                chunk = budget;
        }
        n = http_parser_execute(&c->parser, &parser_settings, data + off, chunk);
        if (!c->headers_done)
            c->header_bytes += n;
        off += n;
        e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            assert(c->message_done);
            break;
        }
        if (e != HPE_OK) {
            if (c->err_status == 413)
                reject(c, 413, HTTP_LIMIT_BODY_SIZE);
            else if (e == HPE_CLOSED_CONNECTION)
                conn_close(c);
            else if (e == HPE_HEADER_OVERFLOW)
                reject(c, 431, HTTP_LIMIT_HEADER_SIZE);
            else
                reject(c, 400, HTTP_LIMIT_BAD_REQUEST);
            break;
        }
    }
    return off;
}

/* Feed bytes and, if they completed a request, keep the rest for later and dispatch. */
static void consume(struct http_conn *c, const char *data, size_t len, int from_pending)
{
    size_t n = feed(c, data, len);

    if (from_pending)
        buf_consume(&c->pending, n);
    else if (c->state == CONN_READING || c->message_done)
        buf_add(&c->pending, data + n, len - n);
    if (c->message_done && c->state == CONN_READING)
        dispatch(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct http_conn *c = container_of(s, struct http_conn, h.stream);

    (void)b;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0 || c->state != CONN_READING)
        return;
    consume(c, c->rbuf, (size_t)nread, 0);
}

static void response_done(struct http_conn *c)
{
    assert(c->state == CONN_RESPONDING && c->unacked == 0 && !c->streaming);
    gz_end(c);
    if (!c->keep_alive) {
        conn_linger(c);
        return;
    }
    c->state = CONN_READING;
    request_reset(c);
    http_parser_pause(&c->parser, 0);
    timer_start(c, c->srv->cfg.idle_timeout_ms);
    if (c->pending.len > 0)
        consume(c, c->pending.ptr, c->pending.len, 1);
    if (c->state == CONN_READING && uv_read_start(&c->h.stream, alloc_cb, read_cb) != 0)
        conn_close(c);
}

/* ---- accepting ---- */

static void reject_closed_cb(uv_handle_t *h)
{
    struct http_server *srv = h->data;

    free(h);
    srv->pending_closes--;
    server_maybe_done(srv);
}

static int stream_init(struct http_server *srv, uv_stream_t *s)
{
    if (srv->listener.handle.type == UV_NAMED_PIPE)
        return uv_pipe_init(srv->loop, (uv_pipe_t *)s, 0);
    return uv_tcp_init(srv->loop, (uv_tcp_t *)s);
}

/*
 * Over the connection cap: accept (libuv stops accepting until we do), say 503 if the
 * socket takes it at once, and close. Nothing is read, so nothing can be held.
 */
static void reject_connection(struct http_server *srv)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n";
    size_t size = srv->listener.handle.type == UV_NAMED_PIPE ? sizeof(uv_pipe_t) : sizeof(uv_tcp_t);
    uv_stream_t *s = mem_calloc(1, size);
    uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);

    if (stream_init(srv, s) != 0) {
        free(s);
        return;
    }
    s->data = srv;
    srv->pending_closes++;
    srv->stats.connections_rejected++;
    srv->stats.limits[HTTP_LIMIT_CONNECTIONS]++;
    if (uv_accept(&srv->listener.stream, s) == 0)
        (void)uv_try_write(s, &b, 1);
    uv_close((uv_handle_t *)s, reject_closed_cb);
}

/* The oldest connection waiting for a request that has not begun, or NULL. */
static struct http_conn *oldest_idle(struct http_server *srv)
{
    struct http_conn *c, *found = NULL;

    /* The list is newest first. */
    for (c = srv->conns; c != NULL; c = c->next)
        if (c->state == CONN_READING && !c->started)
            found = c;
    return found;
}

static void connection_cb(uv_stream_t *server, int status)
{
    struct http_server *srv = container_of(server, struct http_server, listener.stream);
    struct http_conn *c;

    if (status < 0 || srv->closing)
        return;
    if (srv->nconns >= srv->cfg.max_connections) {
        /*
         * At the cap, an idle connection makes room: otherwise max_connections idle
         * clients would lock every scraper out until their timeouts ran out. Only a cap
         * of connections all in the middle of a request is refused.
         */
        struct http_conn *victim = oldest_idle(srv);
        if (victim == NULL) {
            reject_connection(srv);
            return;
        }
        srv->stats.connections_evicted++;
        conn_close(victim);
    }
    c = mem_calloc(1, sizeof(*c));
    c->srv = srv;
    if (stream_init(srv, &c->h.stream) != 0) {
        free(c);
        return;
    }
    uv_timer_init(srv->loop, &c->timer);
    uv_idle_init(srv->loop, &c->idle);
    c->open_handles = 3;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    srv->stats.connections_open = srv->nconns;
    http_parser_init(&c->parser, HTTP_REQUEST);
    request_reset(c);
    c->state = CONN_READING;
    if (uv_accept(server, &c->h.stream) != 0) {
        conn_close(c);
        return;
    }
    srv->stats.connections_accepted++;
    if (c->h.handle.type == UV_TCP)
        uv_tcp_nodelay(&c->h.tcp, 1);
    timer_start(c, srv->cfg.read_timeout_ms);
    if (uv_read_start(&c->h.stream, alloc_cb, read_cb) != 0)
        conn_close(c);
}

/* ---- listening ---- */

/* Replace a stale unix socket file; refuse a live one or a non-socket. */
static int unix_prepare(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd, rc;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        seterr(err, errlen, "unix:%s: path too long", path);
        return -ENAMETOOLONG;
    }
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        seterr(err, errlen, "unix:%s: exists and is not a socket, refusing to replace it", path);
        return -EEXIST;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    rc = rc == 0 ? 0 : -errno;
    close(fd);
    if (rc != -ECONNREFUSED) {
        seterr(err, errlen, "unix:%s: socket in use by another process", path);
        return -EADDRINUSE;
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int http_parse_inet(const char *addr, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon, *h;
    size_t hlen;
    char *end;
    long port;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');

        if (close == NULL || close[1] != ':')
            return -EINVAL;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return -EINVAL;
        h = addr;
        hlen = (size_t)(colon - addr);
    }
    if (hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535)
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (addr[0] == '[')
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss);
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        return uv_ip4_addr("0.0.0.0", (int)port, (struct sockaddr_in *)ss);
    if (strcmp(host, "localhost") == 0)
        return uv_ip4_addr("127.0.0.1", (int)port, (struct sockaddr_in *)ss);
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss);
}

static void listener_closed_cb(uv_handle_t *h)
{
    struct http_server *srv = container_of(h, struct http_server, listener.handle);

    srv->pending_closes--;
    server_maybe_done(srv);
}

int http_server_listen(struct http_server *srv, const char *addr, char *err, size_t errlen)
{
    int rc;

    if (srv->listening || srv->closing) {
        seterr(err, errlen, "listen %s: server already listening", addr);
        return -EALREADY;
    }
    if (strncmp(addr, "unix:", 5) == 0) {
        const char *path = addr + 5;

        if (path[0] == '\0') {
            seterr(err, errlen, "listen %s: empty path", addr);
            return -EINVAL;
        }
        rc = unix_prepare(path, err, errlen);
        if (rc < 0) {
            if (err && err[0] == '\0')
                seterr(err, errlen, "listen %s: %s", addr, uv_strerror(rc));
            return rc;
        }
        rc = uv_pipe_init(srv->loop, &srv->listener.pipe, 0);
        if (rc < 0)
            goto fail;
        srv->listening = 1;
        rc = uv_pipe_bind(&srv->listener.pipe, path);
        if (rc < 0)
            goto fail;
        srv->unix_path = mem_strdup(path);
    } else {
        struct sockaddr_storage ss;

        rc = http_parse_inet(addr, &ss);
        if (rc < 0) {
            seterr(err, errlen,
                   "listen %s: expected host:port with a numeric IPv4 host, [v6]:port "
                   "or unix:/path",
                   addr);
            return -EINVAL;
        }
        rc = uv_tcp_init(srv->loop, &srv->listener.tcp);
        if (rc < 0)
            goto fail;
        srv->listening = 1;
        rc = uv_tcp_bind(&srv->listener.tcp, (const struct sockaddr *)&ss, 0);
        if (rc < 0)
            goto fail;
    }
    rc = uv_listen(&srv->listener.stream, LISTEN_BACKLOG, connection_cb);
    if (rc < 0)
        goto fail;
    return 0;

fail:
    seterr(err, errlen, "listen %s: %s", addr, uv_strerror(rc));
    if (srv->listening) {
        /* The handle is closed by http_server_close(), like any other. */
        if (srv->unix_path) {
            unlink(srv->unix_path);
            free(srv->unix_path);
            srv->unix_path = NULL;
        }
    }
    return rc;
}

int http_server_address(const struct http_server *srv, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = (int)sizeof(ss);
    char ip[64];
    int w;

    if (!srv->listening)
        return -ENOTCONN;
    if (srv->unix_path) {
        w = snprintf(out, len, "unix:%s", srv->unix_path);
    } else {
        if (uv_tcp_getsockname(&srv->listener.tcp, (struct sockaddr *)&ss, &n) != 0)
            return -ENOTCONN;
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

            uv_ip6_name(s6, ip, sizeof(ip));
            w = snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(s6->sin6_port));
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

            uv_ip4_name(s4, ip, sizeof(ip));
            w = snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(s4->sin_port));
        }
    }
    return w < 0 || (size_t)w >= len ? -ENOSPC : 0;
}

static void closer_closed_cb(uv_handle_t *h)
{
    struct http_server *srv = container_of(h, struct http_server, closer);

    srv->pending_closes--;
    server_maybe_done(srv);
}

void http_server_close(struct http_server *srv, http_server_close_cb cb)
{
    struct http_conn *c, *next;

    assert(!srv->closing);
    srv->closing = 1;
    srv->close_cb = cb;
    /* A handle closed here guarantees that cb runs on a later iteration even when
     * there is nothing else to close. */
    uv_idle_init(srv->loop, &srv->closer);
    srv->pending_closes++;
    uv_close((uv_handle_t *)&srv->closer, closer_closed_cb);
    if (srv->listening) {
        srv->pending_closes++;
        uv_close(&srv->listener.handle, listener_closed_cb);
        if (srv->unix_path)
            unlink(srv->unix_path);
    }
    for (c = srv->conns; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}

/* ---- helpers for handlers ---- */

int http_query_get(const char *query, const char *name, char *buf, size_t len)
{
    const char *p = query;
    size_t namelen = strlen(name);

    while (p && *p) {
        const char *end = strchr(p, '&');
        const char *eq;
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        size_t klen;
        char key[128];

        eq = memchr(p, '=', plen);
        klen = eq ? (size_t)(eq - p) : plen;
        if (klen < sizeof(key) && query_decode(p, klen, key, sizeof(key)) == (int)namelen &&
            memcmp(key, name, namelen) == 0) {
            if (len == 0)
                return -ENOSPC;
            if (eq == NULL) {
                buf[0] = '\0';
                return 0;
            }
            return query_decode(eq + 1, plen - klen - 1, buf, len);
        }
        p = end ? end + 1 : NULL;
    }
    return -ENOENT;
}

/*
 * RFC 9110 12.5.3: "gzip;q=0" refuses gzip even when "*" would accept it; only the
 * first q parameter counts, and q is positive when any of its digits is.
 */
static int qvalue_positive(const char *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((params[i] == 'q' || params[i] == 'Q') && i + 1 < n && params[i + 1] == '=') {
            for (size_t j = i + 2; j < n && params[j] != ';'; j++)
                if (params[j] >= '1' && params[j] <= '9')
                    return 1;
            return 0;
        }
    }
    return 1;
}

int http_accepts_gzip(const char *ae)
{
    int gzip_q = -1, star_q = -1;
    const char *p = ae;

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *semi;
        size_t tlen;
        const char *t = p;

        while (n > 0 && (*t == ' ' || *t == '\t')) {
            t++;
            n--;
        }
        semi = memchr(t, ';', n);
        tlen = semi ? (size_t)(semi - t) : n;
        while (tlen > 0 && (t[tlen - 1] == ' ' || t[tlen - 1] == '\t'))
            tlen--;
        if ((tlen == 4 && strncasecmp(t, "gzip", 4) == 0) ||
            (tlen == 6 && strncasecmp(t, "x-gzip", 6) == 0))
            gzip_q = qvalue_positive(t + tlen, n - tlen);
        else if (tlen == 1 && t[0] == '*')
            star_q = qvalue_positive(t + tlen, n - tlen);
        p = end ? end + 1 : NULL;
    }
    if (gzip_q >= 0)
        return gzip_q;
    return star_q > 0;
}
