/*
 * evict: which connection the HTTP server closes to make room at its cap, and why.
 *
 * A domain module: no I/O and no clock. The server (httpd) describes each connection
 * with a struct evict_conn, on its own clock, and passes the time; this module decides.
 *
 * The policy. When a new connection comes and the cap is reached, a connection that is
 * not making progress is closed to make room (counted by reason in httpd_stats), the
 * first found of, in this order:
 *   1. idle: it sent nothing for fresh_ms after its accept; a kept-alive connection
 *      waiting for its next request (over TLS, a tenth of fresh_ms after the
 *      handshake's last step, see below); least
 *      recently active first: nothing is lost, a client retries on a new connection;
 *   2. lingering after its response;
 *   3. an unfinished request (slowloris included: request bytes are not progress), or a
 *      TLS handshake waiting on its client for fresh_ms (bytes of a handshake are
 *      progress, a record begun and left is not), the oldest first: only its own bytes
 *      are lost;
 *   4. a response whose client has had bytes waiting on it and made no progress for
 *      stall_ms, the longest stalled first: the work done for it is lost;
 *   5. a request the server works on without progress for work_ms, nothing waiting on
 *      the client: a deferred answer (httpd_defer(), a basic auth check) or a stream
 *      whose producer returned HTTPD_WAIT (a scrape waiting on Postgres), the longest
 *      waiting first: the work and the client's answer are lost. A producer that waits
 *      on something with its own timeout should give up before work_ms;
 *   6. fresh: accepted less than fresh_ms ago and silent so far (its request, or its
 *      ClientHello, may be on the way: a probe's is), the oldest first;
 *   7. in the probe reserve only, a TLS handshake whose client's answer is due (see
 *      below) and has not come within a tenth of fresh_ms, the oldest step first: the
 *      reserve's few slots turn over at the pace of the handshakes, and a client slow
 *      to answer would hold one for fresh_ms while newcomers, the probes among them,
 *      wait behind it in the listen backlog.
 * Within a reason, the connection with the oldest progress goes first; of two with the
 * same, the older connection.
 *
 * So a connection is shielded for fresh_ms after its accept from everything that is
 * stalled or idle: under a flood of connections that reconnect as soon as they are
 * dropped, a newcomer whose request (or ClientHello) lands a moment after its accept is
 * not the first one evicted. A TLS connection is spared while its handshake step is out,
 * for fresh_ms after it while its client's answer is due (a round trip and the client's
 * own crypto away), and for a tenth of that once the handshake is done while its first
 * request is due (it comes with the client's last flight, or right behind it); in the
 * reserve, a tenth of fresh_ms in both cases.
 *
 * Never evicted: a connection that is making progress, or on which the server is working
 * (a handler, rendering, a TLS handshake step queued or running; a deferred answer or a
 * waiting producer for less than work_ms); and one accepted so recently that the loop
 * has not polled it once (its request may already be in the socket), unless its whole
 * request was read as it was accepted. While a handshake step is out, a newcomer waits
 * in the listen backlog rather than being refused.
 *
 * Polls. The server counts the polls of its loop. A connection accepted before the poll
 * that is running now may have its request among that poll's events, not yet read: it
 * may be evicted only after the poll. evict_verdict() says which.
 */
#ifndef USTATSD_EVICT_H
#define USTATSD_EVICT_H

#include <stddef.h>
#include <stdint.h>

/* Why a connection was evicted, in the order of the policy (httpd.h's HTTPD_EVICT_MAP). */
#define EVICT_MAP(XX)        \
    XX(IDLE, "idle")         \
    XX(LINGER, "linger")     \
    XX(REQUEST, "request")   \
    XX(RESPONSE, "response") \
    XX(WORK, "work")         \
    XX(FRESH, "fresh")       \
    XX(HANDSHAKE, "handshake")

enum evict_reason {
#define XX(kind, name) EVICT_##kind,
    EVICT_MAP(XX)
#undef XX
        EVICT_COUNT
};

/* evict_classify(): this one may not be evicted. A verdict past the reasons, not an error. */
/* In the probe reserve, a TLS client's answer is awaited fresh_ms / this (see 7 above). */
#define EVICT_RESERVE_DUE_SHARE 10
#define EVICT_SPARED            EVICT_COUNT

/* "idle", "linger", "request", "response", "work", "fresh", "handshake"; "unknown" out of
 * range. */
const char *evict_name(int reason);

/* What a connection is doing, as the policy sees it. */
enum evict_state {
    EVICT_STATE_IDLE,    /* waiting for a request that has not begun */
    EVICT_STATE_LINGER,  /* its last response is wholly in the socket; closing after it */
    EVICT_STATE_REQUEST, /* a request has begun and is not complete */
    EVICT_STATE_WAITING, /* the response waits on something: a deferred answer, HTTPD_WAIT */
    EVICT_STATE_WORKING, /* any other part of a response: handling, producing, writing */
    EVICT_STATE_CLOSING,
};

/* The facts about one connection. Times are on the server's clock, in milliseconds. */
struct evict_conn {
    enum evict_state state;
    uint64_t progress_ms; /* its last progress: accept, request read, write, piece,
                           * handshake bytes read, handshake step done */
    uint64_t accepted_ms; /* its accept */
    uint64_t polls;       /* polls of the loop begun since it was accepted */
    int read_early;       /* its whole request was read as it was accepted */
    int client_owes;      /* bytes handed to the socket wait on the client */
    int sent;             /* the client sent a byte since its accept */
    int asked;            /* a whole request was read on it */
    int tls;              /* a TLS connection ... */
    int tls_hs;           /* ... whose handshake is not done */
    int tls_begun;        /* TLS: a step was queued (a whole record came) */
    int reserved;         /* in the probe reserve (httpd.h) */
    int tls_step;         /* TLS: a handshake step is queued or running */
};

struct evict_limits {
    uint64_t stall_ms; /* a response stalled this long is evictable */
    uint64_t work_ms;  /* work waiting this long is evictable */
    uint64_t fresh_ms; /* a new connection, a handshake step: ranked last for this long */
};

/* Whether c was accepted since the current poll began and is not read: never evicted. */
int evict_too_new(const struct evict_conn *c);

/*
 * Whether c is a TLS connection spared for now: its handshake step is out, or its
 * client's answer to the last step (or its first request after the handshake) is due,
 * within fresh_ms of that step. It frees its slot or becomes evictable by itself, so a
 * newcomer waits in the listen backlog rather than being refused.
 */
int evict_shielded(const struct evict_conn *c, const struct evict_limits *lim, uint64_t now_ms);

/* What evicting c at now_ms would cost, an enum evict_reason, or EVICT_SPARED. */
int evict_classify(const struct evict_conn *c, const struct evict_limits *lim, uint64_t now_ms);

/*
 * How c, evicted for reason, leaves (httppark.c): EVICT_CLOSE (a stalled response, old
 * work: what the server holds for them is freed), or parked: EVICT_PARK (what comes is
 * dropped: an unfinished request, a handshake stalled or left mid-record, a connection
 * lingering after its last response) or EVICT_PARK_UNTIL_SPOKEN (closed as soon as its
 * client sends a byte: one silent since its accept, an idle one). A client that
 * reconnects as soon as it is dropped is what floods a server; parked, it stays away. A
 * real client that speaks to a silent or idle parked connection sees it closed before
 * any answer, as when its request crosses an idle connection's close, and retries on a
 * new one; one whose request or handshake was cut short is left to its own timeout, as
 * a flood's clients are, which would otherwise be back at once for another handshake.
 */
enum evict_exit { EVICT_CLOSE, EVICT_PARK, EVICT_PARK_UNTIL_SPOKEN };

enum evict_exit evict_exit_of(const struct evict_conn *c, int reason);

/*
 * The choice among a server's connections. Offer each, newest first (the server's list
 * order); the pick is the first reason in the policy's order and, within it, the oldest
 * progress, ties going to the one offered later (the older connection). Caller-owned,
 * no allocation.
 */
struct evict_pick {
    int reason;           /* EVICT_SPARED until a connection is picked */
    enum evict_exit exit; /* evict_exit_of() the pick */
    uint64_t progress_ms; /* the picked one's */
    uint64_t polls;
    int read_early;
};

void evict_pick_init(struct evict_pick *p);

/* Offer c; returns 1 when c is now the pick (the caller remembers which one it is). */
int evict_pick_offer(struct evict_pick *p, const struct evict_conn *c,
                     const struct evict_limits *lim, uint64_t now_ms);

enum evict_verdict {
    EVICT_NONE,       /* nothing may be evicted */
    EVICT_AFTER_POLL, /* the pick may be closed only once the current poll is over */
    EVICT_NOW,        /* close the pick */
};

/*
 * What to do with the pick. in_poll: the decision is taken inside the loop's poll (a
 * connection callback), where a pick accepted before the previous poll began may still
 * have unread input among this poll's events; after the poll (the check phase) it has
 * been read.
 */
enum evict_verdict evict_verdict(const struct evict_pick *p, int in_poll);

#endif
