#include "http/evict.h"

static const char *const names[] = {
#define XX(kind, name) name,
    EVICT_MAP(XX)
#undef XX
};

const char *evict_name(int reason)
{
    return reason >= 0 && reason < EVICT_COUNT ? names[reason] : "unknown";
}

int evict_too_new(const struct evict_conn *c)
{
    return c->polls == 0 && !c->read_early;
}

/* A TLS connection whose client's next bytes are a round trip away: for within ms. */
static int tls_due(const struct evict_conn *c, uint64_t within_ms, uint64_t now_ms)
{
    return c->tls && c->tls_begun && now_ms - c->progress_ms < within_ms &&
           (c->tls_hs || !c->asked);
}

int evict_shielded(const struct evict_conn *c, const struct evict_limits *lim, uint64_t now_ms)
{
    /* A client's answer to a step takes its own crypto; a request after the handshake
     * comes with the client's last flight (TLS 1.3) or right behind it. */
    uint64_t due_ms =
        c->reserved || !c->tls_hs ? lim->fresh_ms / EVICT_RESERVE_DUE_SHARE : lim->fresh_ms;

    return c->state == EVICT_STATE_IDLE && (c->tls_step || tls_due(c, due_ms, now_ms));
}

/* Waiting for the client's first bytes, the next ones of a handshake, or a request. */
static int classify_idle(const struct evict_conn *c, const struct evict_limits *lim,
                         uint64_t now_ms)
{
    if (evict_shielded(c, lim, now_ms))
        return EVICT_SPARED;
    if (c->tls_hs && tls_due(c, lim->fresh_ms, now_ms)) /* the reserve's, past its wait */
        return EVICT_HANDSHAKE;
    /* Silent since the accept, or a first record begun and not whole. */
    if (!c->sent || (c->tls_hs && !c->tls_begun)) {
        if (now_ms - c->accepted_ms < lim->fresh_ms)
            return EVICT_FRESH;
        return c->sent ? EVICT_REQUEST : EVICT_IDLE;
    }
    if (c->tls_hs) /* the client's turn in a handshake, fresh_ms past */
        return EVICT_REQUEST;
    return EVICT_IDLE;
}

int evict_classify(const struct evict_conn *c, const struct evict_limits *lim, uint64_t now_ms)
{
    if (evict_too_new(c))
        return EVICT_SPARED;
    switch (c->state) {
    case EVICT_STATE_IDLE:
        return classify_idle(c, lim, now_ms);
    case EVICT_STATE_LINGER:
        return EVICT_LINGER;
    case EVICT_STATE_REQUEST:
        return EVICT_REQUEST;
    case EVICT_STATE_CLOSING:
        return EVICT_SPARED;
    case EVICT_STATE_WAITING:
        if (c->client_owes) /* the client's turn, as for any response */
            break;
        /* Waiting on something (bcrypt, Postgres, a snapshot) that should have come. */
        return now_ms - c->progress_ms < lim->work_ms ? EVICT_SPARED : EVICT_WORK;
    case EVICT_STATE_WORKING:
        break;
    }
    if (!c->client_owes) /* nothing waits on the client: the server is working */
        return EVICT_SPARED;
    return now_ms - c->progress_ms < lim->stall_ms ? EVICT_SPARED : EVICT_RESPONSE;
}

enum evict_exit evict_exit_of(const struct evict_conn *c, int reason)
{
    switch (reason) {
    case EVICT_REQUEST:
    case EVICT_LINGER:
    case EVICT_HANDSHAKE:
        return EVICT_PARK;
    case EVICT_FRESH:
    case EVICT_IDLE:
        return c->tls_hs && c->sent ? EVICT_PARK : EVICT_PARK_UNTIL_SPOKEN;
    default:
        return EVICT_CLOSE;
    }
}

void evict_pick_init(struct evict_pick *p)
{
    *p = (struct evict_pick){ .reason = EVICT_SPARED };
}

int evict_pick_offer(struct evict_pick *p, const struct evict_conn *c,
                     const struct evict_limits *lim, uint64_t now_ms)
{
    int why = evict_classify(c, lim, now_ms);

    if (why == EVICT_SPARED)
        return 0;
    if (p->reason != EVICT_SPARED &&
        (why > p->reason || (why == p->reason && c->progress_ms > p->progress_ms)))
        return 0;
    p->reason = why;
    p->exit = evict_exit_of(c, why);
    p->progress_ms = c->progress_ms;
    p->polls = c->polls;
    p->read_early = c->read_early;
    return 1;
}

enum evict_verdict evict_verdict(const struct evict_pick *p, int in_poll)
{
    if (p->reason == EVICT_SPARED)
        return EVICT_NONE;
    if (in_poll && !p->read_early && p->polls < 2)
        return EVICT_AFTER_POLL;
    return EVICT_NOW;
}
