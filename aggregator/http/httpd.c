/*
 * The server: its configuration, routes and credentials, listening and closing, and the
 * API a handler answers with. The rest of it is in the files internal.h lists.
 */
#include "http/internal.h"
#include "base/common.h"
#include "base/mem.h"
#include "http/negotiate.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/resource.h>

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

const char *httpd_evict_name(enum httpd_evict reason)
{
    return evict_name((int)reason);
}

/*
 * The parking lot's size (httppark.c): HTTPD_DEFAULT_MAX_PARKED, or an eighth of the
 * descriptors the process may open when that is fewer, so that the lots of every
 * listener together leave room for everything else (an accept that fails for want of a
 * descriptor would drop a newcomer, not a parked client).
 */
static unsigned max_parked(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur / 8 >= HTTPD_DEFAULT_MAX_PARKED)
        return HTTPD_DEFAULT_MAX_PARKED;
    return (unsigned)(rl.rlim_cur / 8);
}

void httpd_server_init(struct httpd_server *srv, uv_loop_t *loop, const struct httpd_config *cfg)
{
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->rbuf = mem_alloc(HTTPD_RBUF_SIZE);
    bufpool_init(&srv->pool, HTTPD_POOL_MIN_BYTES, HTTPD_POOL_MAX_BYTES);
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
    if (srv->cfg.evict_fresh_ms == 0)
        srv->cfg.evict_fresh_ms = HTTPD_DEFAULT_EVICT_FRESH_MS;
    if (srv->cfg.probe_reserve == 0)
        srv->cfg.probe_reserve = HTTPD_DEFAULT_PROBE_RESERVE;
    srv->max_parked = srv->cfg.max_parked ? srv->cfg.max_parked : max_parked();
    httpaccept_init(srv);
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

int httpd_server_set_bearer(struct httpd_server *srv, const char *token)
{
    size_t n = token ? strlen(token) : 0;

    if (!httpauth_token_ok(token, n))
        return -EINVAL;
    free(srv->bearer);
    srv->bearer = n ? mem_strdup(token) : NULL;
    srv->bearer_len = n;
    return 0;
}

/* The route at exactly path, or NULL. */
static struct httpd_route *route_at(struct httpd_server *srv, const char *path)
{
    int i = routes_find(&srv->routes, path);

    return i == ROUTES_NONE ? NULL : &srv->handlers[i];
}

int httpd_server_route_bearer(struct httpd_server *srv, const char *path, const char *token)
{
    struct httpd_route *rt = route_at(srv, path);
    size_t n = token ? strlen(token) : 0;

    if (rt == NULL)
        return -ENOENT;
    if (!httpauth_token_ok(token, n))
        return -EINVAL;
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

void httpd_server_set_before(struct httpd_server *srv, void (*before)(void *arg), void *arg)
{
    srv->before = before;
    srv->before_arg = arg;
}

void httpd_server_set_tls(struct httpd_server *srv, struct tlsmem_ctx *ctx)
{
    struct tlsmem_ctx *old = srv->tls;

    srv->tls = ctx ? tlsmem_ctx_ref(ctx) : NULL;
    tlsmem_ctx_unref(old);
}

int httpd_server_route_skip_before(struct httpd_server *srv, const char *path)
{
    struct httpd_route *rt = route_at(srv, path);

    if (rt == NULL)
        return -ENOENT;
    rt->skip_before = 1;
    return 0;
}

int httpd_server_route_post(struct httpd_server *srv, const char *path)
{
    struct httpd_route *rt = route_at(srv, path);

    if (rt == NULL)
        return -ENOENT;
    rt->post = 1;
    return 0;
}

int httpd_server_route_anonymous(struct httpd_server *srv, const char *path)
{
    struct httpd_route *rt = route_at(srv, path);

    if (rt == NULL)
        return -ENOENT;
    rt->anonymous = 1;
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

void httpd__maybe_done(struct httpd_server *srv)
{
    if (!srv->closing || srv->pending_closes > 0 || srv->conns != NULL || srv->closed != NULL ||
        srv->parked != NULL)
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
    bufpool_release(&srv->pool);
    if (srv->close_cb)
        srv->close_cb(srv);
}

/* ---- responses: the API of handlers ---- */

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
    if (flags & HTTPD_CLOSE) { /* a whole answer: parked once it is out (httppark.c) */
        c->rs.keep_alive = 0;
        c->park_after = 1;
    }
    routes_count(&c->srv->routes, c->route, (unsigned)status);
    c->rs.headers = c->srv->headers;
    response_whole(&c->rs, &c->wire, status, ctype, (flags & HTTPD_GZIP) != 0, gzip, body, len,
                   extra);
    c->state = CONN_FLUSHING;
    httpsend_flush(c);
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
    httpsend_pump_soon(c);
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
        httpsend_pump_soon(c);
    }
}

/* ---- listening and closing ---- */

int httpd_server_listen(struct httpd_server *srv, const char *addr, char *err, size_t errlen)
{
    if (srv->closing) {
        if (err && errlen > 0)
            snprintf(err, errlen, "listen %s: server already listening", addr);
        return -EALREADY;
    }
    return httpaccept_start(
        srv, listener_start(&srv->listener, addr, httpaccept_connection_cb, err, errlen));
}

int httpd_server_adopt(struct httpd_server *srv, const char *addr, int fd, char *err, size_t errlen)
{
    if (srv->closing) {
        if (err && errlen > 0)
            snprintf(err, errlen, "listen %s: server already listening", addr);
        close(fd);
        return -EALREADY;
    }
    return httpaccept_start(
        srv, listener_adopt(&srv->listener, addr, fd, httpaccept_connection_cb, err, errlen));
}

int httpd_server_address(const struct httpd_server *srv, char *out, size_t len)
{
    return listener_address(&srv->listener, out, len);
}

static void closed_cb(uv_handle_t *h)
{
    struct httpd_server *srv = h->data;

    srv->pending_closes--;
    httpd__maybe_done(srv);
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
    uv_close((uv_handle_t *)&srv->wake, closed_cb);
    srv->pending_closes += 4;
    if (listener_close(&srv->listener, srv, closed_cb))
        srv->pending_closes++;
    for (c = srv->conns; c; c = next) {
        next = c->next;
        httpconn_close(c);
    }
    while (srv->parked != NULL)
        httpconn_close(srv->parked);
}

uint64_t httpd__now(const struct httpd_server *srv)
{
    return srv->fake_time ? srv->fake_now : uv_now(srv->loop);
}

void httpd_server_set_time(struct httpd_server *srv, uint64_t now_ms)
{
    srv->fake_time = 1;
    srv->fake_now = now_ms;
    for (struct httpd_conn *c = srv->conns; c != NULL; c = c->next)
        if (httpconn_responding(c))
            httpsend_respond_timer(c);
}
