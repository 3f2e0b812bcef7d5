/*
 * httpdfix: the HTTP server on a private loop run by a background thread that owns it,
 * with test routes, for the tests of httpd; the test thread is the client
 * (tests/lib/httpc, blocking with timeouts). Producer state and counters live on the
 * loop thread; the test thread reads them after httpdfix_stop(), or through atomics
 * while it runs.
 *
 * Routes: /hello (one-shot, gzip allowed), /echo?x= (the request as the handler saw
 * it), /stream?n= (n lines, chunked), /slow (64 KiB pieces forever), /wait?n=&forever=
 * (a producer that waits and is resumed by a timer), /silent (never answers),
 * /block (holds the loop until httpdfix_unblock(), then answers), /big?kb= (a one-shot
 * body of kb KiB),
 * /busy (503 and close: HTTPD_CLOSE), /defer (httpd_defer(), never answered; its
 * cancel counts as a stream's), /signin (httpd_respond_unauthorized()), /-/healthy.
 */
#ifndef USTATSD_TESTS_HTTPDFIX_H
#define USTATSD_TESTS_HTTPDFIX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"
#include "httpc.h"
#include "http/httpd.h"

struct httpdfix {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t thread;
    struct httpd_server srv;
    char addr[128];
    int server_closed;
    atomic_int cancels;       /* every cancel */
    atomic_int early_cancels; /* cancels before the server began closing */
    atomic_int dones;
    atomic_int handled;    /* /hello requests */
    atomic_int bigs;       /* /big requests */
    atomic_ullong held;    /* stats.responses_held, published with the three below */
    atomic_int deferred;   /* /defer requests: each has called httpd_defer() */
    atomic_llong produced; /* bytes produced by /slow */
    uv_check_t watch;      /* publishes the three below after every loop iteration */
    atomic_uint accepted;  /* connections_accepted */
    atomic_uint idle;      /* httpd_server_idle_connections() */
    atomic_uint open;      /* connections_open */
    atomic_uint evicted;   /* connections_evicted */
    atomic_uint turns;     /* loop iterations, counted by watch */
    uv_async_t tick;       /* wakes the loop; applies the fake clock */
    int fake;              /* httpdfix_fake_clock() */
    atomic_ullong fake_ms, fake_applied;
    uv_sem_t gate; /* /block waits on it */
    atomic_int blocked;
    struct counts {
        struct count {
            char handler[32];
            unsigned code;
            uint64_t count;
        } v[32];
        size_t n;
    } counts; /* taken on the loop thread just before the server closes */
};

/* Initialise the server and routes on this thread, without listening. */
void httpdfix_setup(struct httpdfix *fx, const struct httpd_config *cfg);

/* Listen on addr and start the loop thread. */
void httpdfix_run(struct httpdfix *fx, const char *addr);

/* httpdfix_setup(), then httpdfix_run() on 127.0.0.1 and a free port. */
void httpdfix_start(struct httpdfix *fx, const struct httpd_config *cfg);

/* Close the server on its thread, join it, and close the loop. */
void httpdfix_stop(struct httpdfix *fx);

/*
 * Between setup and run: the server's clock (httpd_server_set_time()) stands still
 * until httpdfix_advance() moves it, so that what depends on elapsed time (progress,
 * the write timeout, the send rate, eviction) is ordered by the test, not by the load.
 */
void httpdfix_fake_clock(struct httpdfix *fx);

/* Move the fake clock ms forward, on the loop thread; returns once the server has it. */
void httpdfix_advance(struct httpdfix *fx, uint64_t ms);

/*
 * Wait until the loop has run two whole iterations in which no /slow producer made a
 * piece: every /slow stream is held by backpressure (its client is not reading).
 * Returns 0, or -1 after timeout_ms.
 */
int httpdfix_wait_quiet(struct httpdfix *fx, int timeout_ms);

/* Wait until a /block request holds the loop. Returns 0, or -1 after timeout_ms. */
int httpdfix_wait_blocked(struct httpdfix *fx, int timeout_ms);

/* Let the /block request go: it answers, and the loop runs again. */
void httpdfix_unblock(struct httpdfix *fx);

/* Wait until early_cancels reaches n. Returns 0, or -1 after timeout_ms. */
int httpdfix_wait_cancels(struct httpdfix *fx, int n, int timeout_ms);

/* CLOCK_MONOTONIC in milliseconds. */
double httpdfix_now_ms(void);

/* Connect h to the server. */
void httpdfix_open(struct httpc *h, const struct httpdfix *fx);

/*
 * Wait until the server, as of its last loop iteration, has accepted accepted
 * connections in all and has idle of them waiting for a request that has not begun.
 * Returns 0, or -1 after timeout_ms.
 */
int httpdfix_wait_conns(struct httpdfix *fx, unsigned accepted, unsigned idle, int timeout_ms);

/* Wait until the server, as of its last loop iteration, has evicted n connections in all. */
int httpdfix_wait_evicted(struct httpdfix *fx, unsigned n, int timeout_ms);

/* Wait until the server has open connections open (closing ones count until freed). */
int httpdfix_wait_open(struct httpdfix *fx, unsigned open, int timeout_ms);

/* How many requests of handler were answered with code (after httpdfix_stop()). */
uint64_t httpdfix_requests(const struct httpdfix *fx, const char *handler, unsigned code);

/* The expected body of /stream?n=N. */
void httpdfix_expected_lines(struct buf *b, long n);

#endif
