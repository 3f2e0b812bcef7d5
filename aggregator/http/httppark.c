/*
 * Parking: what eviction does with a connection that stalled or finished, instead of
 * closing it. See internal.h.
 *
 * Why. Evicting by closing frees the slot, but a client that reconnects as soon as it is
 * dropped is back at once, at the head of nothing: it queues in the listen backlog ahead
 * of every newcomer, a health probe included, and over TLS each return costs a full
 * handshake. A flood of such clients keeps the backlog full and the handshake pool busy
 * however fast eviction is. A parked connection is no longer served and holds no buffer
 * and no TLS state, but its socket stays open: a client that waits for the server to
 * close waits, and does not come back.
 *
 * Parked (evict_exit_of() says which): a connection evicted with an unfinished request,
 * or lingering after its last response, and the reserve's refusals once their 503 is
 * out: what comes on them is read and dropped. Also one idle, silent since its accept,
 * or stalled in a handshake: it is closed as soon as it speaks, as a kept-alive
 * connection may be closed just as its client sends the next request, and a real client
 * retries at once on a new one. A parked connection never answers again, and is closed
 * when its client closes, after idle_timeout_ms, or when the lot is full and it is the
 * oldest there. The lot is bounded by max_parked, which the server fits to the
 * descriptors it may open. One with more than 64 KiB of ours still unread in its socket
 * is closed instead: parked, they would hold kernel memory for a client that does not
 * read.
 */
#include "http/internal.h"
#include "base/common.h"

/*
 * Whether more than HTTPD_PARK_UNSENT_MAX bytes of ours wait on the client in the kernel.
 * A refusal just written is far less; a slow reader's scrape may be megabytes.
 */
static int unsent(struct httpd_conn *c)
{
    return httpsend_unread(c) > HTTPD_PARK_UNSENT_MAX;
}

void httppark_unlink(struct httpd_conn *c)
{
    struct httpd_server *srv = c->srv;

    if (c->prev)
        c->prev->next = c->next;
    else
        srv->parked = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        srv->parked_tail = c->prev;
    c->prev = c->next = NULL;
    srv->nparked--;
    srv->stats.parked_open = srv->nparked;
}

static void park_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct httpd_conn *c = container_of(s, struct httpd_conn, h.stream);

    (void)b;
    if (nread < 0 || (nread > 0 && c->park_until_spoken)) /* gone, or a late speaker */
        httpconn_close(c);
}

static void park_timer_cb(uv_timer_t *t)
{
    httpconn_close(container_of(t, struct httpd_conn, timer));
}

int httppark_park(struct httpd_conn *c, int until_spoken)
{
    struct httpd_server *srv = c->srv;

    if (srv->max_parked == 0 || httpconn_streaming(c) || c->state == CONN_DEFERRED ||
        c->state == CONN_CLOSING || c->state == CONN_PARKED ||
        (c->tls != NULL && tlspool_job_busy(&c->hs)) || unsent(c)) {
        httpconn_close(c);
        return 0;
    }
    if (srv->nparked >= srv->max_parked) {
        srv->stats.parked_closed++;
        httpconn_close(srv->parked_tail); /* the oldest */
    }
    uv_read_stop(&c->h.stream);
    uv_idle_stop(&c->idle);
    httpconn_leave(c);
    c->state = CONN_PARKED;
    c->park_until_spoken = until_spoken;
    c->next = srv->parked;
    if (c->next)
        c->next->prev = c;
    else
        srv->parked_tail = c;
    srv->parked = c;
    srv->nparked++;
    srv->stats.connections_parked++;
    srv->stats.parked_open = srv->nparked;
    httpconn_release(c); /* nothing more is said on it */
    uv_timer_start(&c->timer, park_timer_cb, srv->cfg.idle_timeout_ms, 0);
    if (uv_read_start(&c->h.stream, httpconn_alloc_cb, park_read_cb) != 0)
        httpconn_close(c);
    return 1;
}
