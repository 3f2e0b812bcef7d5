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

/*
 * Replacing an idle TLS connection costs a handshake, and between steps its client's
 * answer is a round trip away. Without this a newcomer under a handshake flood would
 * push out the handshake next in line or a kept-alive client; with it, newcomers wait
 * their turn in the backlog. A client that never answers, or idles, is evictable after
 * stall_ms, as any other.
 */
int evict_shielded(const struct evict_conn *c, const struct evict_limits *lim, uint64_t now_ms)
{
    if (c->state != EVICT_STATE_IDLE)
        return 0;
    if (c->tls_step)
        return 1;
    return c->tls_stepped && now_ms - c->progress_ms < lim->stall_ms;
}

int evict_classify(const struct evict_conn *c, const struct evict_limits *lim, uint64_t now_ms)
{
    if (evict_too_new(c))
        return EVICT_SPARED;
    switch (c->state) {
    case EVICT_STATE_IDLE:
        return evict_shielded(c, lim, now_ms) ? EVICT_SPARED : EVICT_IDLE;
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
