/*
 * Accepting: at most ACCEPTS_PER_TURN a loop iteration, within the cap and the probe
 * reserve, evicting (evict.h decides whom) or waiting in the backlog when the policy
 * says so, refusing with "503" only when everything is making progress. See internal.h.
 */
#include "http/internal.h"
#include "base/common.h"

#include <stdlib.h>

/*
 * Connections accepted per loop iteration at most. A connection answered at its accept
 * (httpconn_start()) frees its slot in the same iteration, so under a reconnecting flood one
 * iteration could otherwise take the whole listen backlog while ingestion waits: 128 is
 * about 2 ms of the loop (accept, read, answer, close: some 17 us of CPU each here, the
 * kernel's part included), and still empties a backlog of 1,000 in 8 iterations.
 */
#define ACCEPTS_PER_TURN 128

/* ---- accepting ---- */

static void refused_closed_cb(uv_handle_t *h)
{
    struct httpd_server *srv = h->data;

    free(h);
    srv->pending_closes--;
    httpd__maybe_done(srv);
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

/* The policy's limits, from the server's configuration. */
static struct evict_limits limits_of(const struct httpd_server *srv)
{
    return (struct evict_limits){ srv->cfg.evict_stall_ms, srv->cfg.evict_work_ms,
                                  srv->cfg.evict_fresh_ms };
}

/* Whether a connection was accepted since the poll began (evictable after the next). */
static int any_new(const struct httpd_server *srv)
{
    for (const struct httpd_conn *c = srv->conns; c != NULL; c = c->next) {
        struct evict_conn f = { .polls = srv->pass - c->pass, .read_early = c->read_early };

        if (c->state != CONN_CLOSING && evict_too_new(&f))
            return 1;
    }
    return 0;
}

/*
 * Evict the connection of the pool (reserve or not) that the policy (evict.h) picks:
 * park it or close it (evict_exit_of()). Returns 1 when one was evicted, 0 when none
 * may be, or -1 when that one may only be evicted after the poll.
 */
static int evict(struct httpd_server *srv, int reserved, enum accept_phase phase)
{
    struct evict_limits lim = limits_of(srv);
    uint64_t now = httpd__now(srv);
    struct httpd_conn *victim = NULL;
    struct evict_pick pick;
    struct evict_conn f;

    evict_pick_init(&pick);
    for (struct httpd_conn *c = srv->conns; c != NULL; c = c->next) { /* newest first */
        if (c->reserved != reserved)
            continue;
        httpconn_facts(c, &f);
        if (evict_pick_offer(&pick, &f, &lim, now))
            victim = c;
    }
    switch (evict_verdict(&pick, phase == IN_POLL)) {
    case EVICT_NONE:
        return 0;
    case EVICT_AFTER_POLL:
        return -1;
    case EVICT_NOW:
        break;
    }
    srv->stats.evictions[pick.reason]++;
    srv->stats.connections_evicted++;
    if (pick.exit == EVICT_CLOSE)
        httpconn_close(victim);
    else
        httppark_park(victim, pick.exit == EVICT_PARK_UNTIL_SPOKEN);
    return 1;
}

/*
 * Whether a TLS connection is spared only for a while (evict_shielded()): its step's
 * return wakes the loop, and srv->wake does within the reserve's shorter wait, so a
 * newcomer waits in the listen backlog (FIFO) rather than being refused.
 */
static int handshakes_out(struct httpd_server *srv)
{
    struct evict_limits lim = limits_of(srv);
    struct evict_conn f;

    for (struct httpd_conn *c = srv->conns; c != NULL; c = c->next) {
        httpconn_facts(c, &f);
        if (evict_shielded(&f, &lim, httpd__now(srv)))
            return 1;
    }
    return 0;
}

static void wake_cb(uv_timer_t *h)
{
    (void)h; /* the loop turns: retry_cb looks again */
}

static void retry_cb(uv_check_t *h);

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
        pause_accepting(srv, rc < 0 && phase == AFTER_POLL); /* after: a poll must come */
        return;
    }
    if (rc == 0 && any_new(srv)) {
        pause_accepting(srv, 1);
        return;
    }
    if (rc == 0 && handshakes_out(srv)) {
        pause_accepting(srv, 0); /* a step's return, or srv->wake, wakes the loop */
        if (!uv_is_active((uv_handle_t *)&srv->wake))
            uv_timer_start(&srv->wake, wake_cb,
                           srv->cfg.evict_fresh_ms / EVICT_RESERVE_DUE_SHARE + 1, 0);
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
    c = httpconn_new(srv, reserved);
    if (c == NULL)
        return;
    if (listener_accept(&srv->listener, &c->h.stream) != 0) {
        httpconn_close(c);
        return;
    }
    srv->stats.connections_accepted++;
    srv->stats.reserve_accepted += (uint64_t)reserved;
    srv->turn_accepts++;
    httpconn_start(c);
}

void httpaccept_connection_cb(uv_stream_t *server, int status)
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

int httpaccept_start(struct httpd_server *srv, int rc)
{
    if (rc == 0) {
        uv_prepare_start(&srv->pacer, pacer_cb);
        uv_unref((uv_handle_t *)&srv->pacer);
    }
    return rc;
}

void httpaccept_init(struct httpd_server *srv)
{
    uv_prepare_init(srv->loop, &srv->pacer);
    uv_check_init(srv->loop, &srv->retry);
    uv_idle_init(srv->loop, &srv->spin);
    uv_timer_init(srv->loop, &srv->wake);
    uv_unref((uv_handle_t *)&srv->wake);
    srv->wake.data = srv;
    srv->pacer.data = srv;
    srv->retry.data = srv;
    srv->spin.data = srv;
}
