/*
 * The HTTP server's limits: header and body sizes, malformed requests, the read, idle
 * and write timeouts, the minimum send rate, the connection cap, its eviction order, the
 * probe reserve and accept pacing, backpressure, and the bearer token. The server runs on
 * its own loop thread (tests/lib/httpdfix). Where the outcome depends on elapsed time
 * the server runs on a fake clock that the test moves; the policy itself (whom to evict,
 * in which order) is tested in tests/unit/http/test_evict.c.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "httpc.h"
#include "httpdfix.h"
#include "waitfor.h"

static struct httpdfix F;

static void start_fake(const struct httpd_config *cfg);

/* Read a 503 with "Connection: close"; the client closes, as told to. */
static void read_refused(struct httpc *h)
{
    struct httpc_response r;

    cr_assert_eq(httpc_read(h, 0, &r), 0);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    httpc_close(h);
}

/* The same, then nothing: no other answer, no close (the connection is parked). */
static void read_refused_kept(struct httpc *h)
{
    struct httpc_response r;

    cr_assert_eq(httpc_read(h, 0, &r), 0);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(h, 100), -ETIMEDOUT, "answered again or closed");
    httpc_close(h);
}

/* Read one response of status with "Connection: close"; the server then closes h. */
static void read_last(struct httpc *h, int status)
{
    struct httpc_response r;

    cr_assert_eq(httpc_read(h, 0, &r), 0);
    cr_assert_eq(r.status, status);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(h, 3000), 0);
    httpc_close(h);
}

Test(httpd_limits, header_too_large_gets_431_and_others_are_served)
{
    struct httpc h;
    struct httpc_response r;
    struct buf big = BUF_INIT;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    buf_adds(&big, "GET /hello HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 400; i++)
        buf_addf(&big, "X-Filler-%03d: %040d\r\n", i, i);
    buf_adds(&big, "\r\n");
    cr_assert_gt(big.len, 16384);
    cr_assert_eq(httpc_send(&h, big.ptr, big.len), 0);
    read_last(&h, 431);

    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    buf_release(&big);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_HEADER_SIZE], 1);
    cr_assert_eq(httpdfix_requests(&F, HTTPD_OTHER_ROUTE, 431), 1);
}

Test(httpd_limits, body_too_large_gets_413)
{
    struct httpc h;
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "POST", "/hello", "Content-Length: 100000\r\n"), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 413);
    httpc_response_release(&r);
    httpc_close(&h);

    /* Chunked, so the size is only known while reading. */
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "POST", "/hello", "Transfer-Encoding: chunked\r\n"), 0);
    for (int i = 0; i < 20; i++) {
        char chunk[8192 + 16];
        int n = snprintf(chunk, sizeof(chunk), "2000\r\n");

        memset(chunk + n, 'z', 8192);
        memcpy(chunk + n + 8192, "\r\n", 2);
        if (httpc_send(&h, chunk, (size_t)n + 8194) != 0)
            break;
    }
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 413);
    httpc_response_release(&r);
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_BODY_SIZE], 2);
}

Test(httpd_limits, malformed_request_gets_400)
{
    struct httpc h;
    struct httpc_response r;
    const char bad[] = "GARBAGE\x01 / HTTP/1.1\r\n\r\n";

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);

    cr_assert_eq(httpc_send(&h, bad, sizeof(bad) - 1), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 400);
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    httpc_close(&h);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_BAD_REQUEST], 1);
}

Test(httpd_limits, idle_keep_alive_connection_is_closed)
{
    struct httpd_config cfg = { .idle_timeout_ms = 200 };
    struct httpc h;
    struct httpc_response r;
    double t0, dt;

    httpdfix_start(&F, &cfg);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    httpc_response_release(&r);
    t0 = httpdfix_now_ms();
    cr_assert_eq(httpc_wait_closed(&h, 10000), 0, "the idle connection was never closed");
    dt = httpdfix_now_ms() - t0;
    cr_assert_geq(dt, 150.0);
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.connections_idle_closed, 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_READ_TIMEOUT], 0);
}

Test(httpd_limits, slow_request_is_cut_at_the_read_timeout)
{
    struct httpd_config cfg = { .read_timeout_ms = 300 };
    struct httpc h, ok;
    struct httpc_response r;
    const char half[] = "GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ";
    double t0, dt;

    int rc = -ETIMEDOUT;

    httpdfix_start(&F, &cfg);
    httpdfix_open(&h, &F);
    t0 = httpdfix_now_ms();
    cr_assert_eq(httpc_send(&h, half, sizeof(half) - 1), 0);
    /* Meanwhile another client is served. */
    httpdfix_open(&ok, &F);
    cr_assert_eq(httpc_request(&ok, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&ok, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpc_close(&ok);
    /* A byte at least every 50 ms, until the server closes: dribbling bytes does not
     * extend the deadline of the whole request, or this would never end. */
    for (int i = 0; i < 200 && rc == -ETIMEDOUT; i++)
        if (httpc_send(&h, "x", 1) != 0 || (rc = httpc_wait_closed(&h, 50)) == 0)
            rc = 0;
    cr_assert_eq(rc, 0, "a request dribbling bytes was never cut");
    dt = httpdfix_now_ms() - t0;
    cr_assert_geq(dt, 250.0);
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_READ_TIMEOUT], 1);
}

/*
 * An evicted connection parked until its client speaks: still open, it is closed, with
 * no answer, at the first byte its client sends.
 */
static void assert_parked_until_spoken(struct httpc *h)
{
    cr_assert_eq(httpc_wait_closed(h, 100), -ETIMEDOUT, "closed, not parked");
    cr_assert_eq(httpc_send(h, "G", 1), 0);
    cr_assert_eq(httpc_wait_closed(h, 2000), 0, "parked, and not closed when it spoke");
}

Test(httpd_limits, at_the_cap_the_oldest_idle_connection_makes_room)
{
    struct httpd_config cfg = { .max_connections = 2 };
    struct httpc a, b, c;
    struct httpc_response r;

    start_fake(&cfg);
    httpdfix_open(&a, &F); /* never sends a byte */
    cr_assert_eq(httpdfix_wait_conns(&F, 1, 1, 2000), 0, "a was not accepted");
    httpdfix_advance(&F, HTTPD_DEFAULT_EVICT_FRESH_MS); /* silent past its first moments */
    httpdfix_open(&b, &F);
    cr_assert_eq(httpc_request(&b, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&b, 0, &r), 0); /* b is now idle too, but younger */
    httpc_response_release(&r);
    cr_assert_eq(httpdfix_wait_conns(&F, 2, 2, 2000), 0, "b is not back to idle");

    httpdfix_open(&c, &F);
    cr_assert_eq(httpc_request(&c, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&c, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    assert_parked_until_spoken(&a); /* the oldest idle one */
    /* b, younger, still serves. */
    cr_assert_eq(httpc_request(&b, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&b, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpc_close(&a);
    httpc_close(&b);
    httpc_close(&c);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.connections_evicted, 1);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_IDLE], 1);
    cr_assert_eq(F.srv.stats.connections_parked, 1);
    cr_assert_eq(F.srv.stats.connections_rejected, 0);
}

/* GET /hello on h, answered 200. */
static void hello_ok(struct httpc *h)
{
    struct httpc_response r;

    cr_assert_eq(httpc_request(h, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
}

/* After httpdfix_stop(): one eviction, for why, and no refusal. */
static void assert_one_eviction(enum httpd_evict why)
{
    cr_assert_eq(F.srv.stats.evictions[why], 1);
    cr_assert_eq(F.srv.stats.connections_evicted, 1);
    cr_assert_eq(F.srv.stats.connections_rejected, 0);
}

/*
 * Read /wait?forever=1 until its second piece: the producer has then returned HTTPD_WAIT
 * for good, and the connection's last progress is behind it.
 */
static void read_until_waiting(struct httpc *h)
{
    char got[1024];
    size_t n = 0;

    while (n < sizeof(got) - 1) {
        long k = httpc_recv(h, got + n, sizeof(got) - 1 - n);

        cr_assert_gt(k, 0, "the stream ended before its second piece");
        n += (size_t)k;
        got[n] = '\0';
        if (strstr(got, "piece 1\n") != NULL)
            return;
    }
    cr_assert_fail("no second piece");
}

/* Start a request whose response the server keeps waiting on: the server is working. */
static void start_waiting_stream(struct httpc *h)
{
    httpdfix_open(h, &F);
    cr_assert_eq(httpc_request(h, "GET", "/wait?n=1000&forever=1", NULL), 0);
    read_until_waiting(h);
}

Test(httpd_limits, probes_use_the_reserve_when_every_slot_is_making_progress)
{
    struct httpd_config cfg = { .max_connections = 2, .probe_reserve = 1 };
    struct httpc a, b, c, p;
    struct httpc_response r;

    httpdfix_start(&F, &cfg);
    /* Each was read as it was accepted, so none is too new to be judged. */
    start_waiting_stream(&a);
    start_waiting_stream(&b);

    /* Not a probe: the reserve answers 503 (whole, Connection: close) and parks it, its
     * slot free: a client that closes, as told, is gone; one that waits is not answered
     * again, and does not come back. */
    httpdfix_open(&c, &F);
    cr_assert_eq(httpc_request(&c, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&c, 0, &r), 0);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&c, 100), -ETIMEDOUT, "the refusal was closed, not parked");
    cr_assert_eq(httpc_request(&c, "GET", "/-/healthy", NULL), 0);
    cr_assert_eq(httpc_wait_closed(&c, 100), -ETIMEDOUT, "a parked refusal answered or closed");
    httpc_close(&c);

    /* A probe is answered, on keep-alive, and the reserve slot is given back. */
    for (int i = 0; i < 3; i++) {
        httpdfix_open(&p, &F);
        cr_assert_eq(httpc_request(&p, "GET", i == 1 ? "/-/ready" : "/-/healthy", NULL), 0);
        cr_assert_eq(httpc_read(&p, 0, &r), 0);
        cr_assert_eq(r.status, i == 1 ? 404 : 200); /* httpdfix has no /-/ready route */
        cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
        httpc_response_release(&r);
        cr_assert_eq(httpc_wait_closed(&p, 2000), 0);
        httpc_close(&p);
    }

    httpc_close(&a);
    httpc_close(&b);
    httpdfix_stop(&F);
    /* The streams were never evicted: they ended with the server. The reserve may have
     * made room by closing a connection lingering after its answer, whose client had
     * read it. */
    cr_assert_eq(atomic_load(&F.early_cancels), 0);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_RESPONSE], 0);
    cr_assert_eq(F.srv.stats.connections_evicted, F.srv.stats.evictions[HTTPD_EVICT_LINGER]);
    cr_assert_geq(F.srv.stats.connections_parked, 1);
    cr_assert_eq(F.srv.stats.connections_rejected, 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_CONNECTIONS], 1);
    cr_assert_geq(F.srv.stats.reserve_accepted, 4);
    cr_assert_eq(httpdfix_requests(&F, "healthy", 200), 2);
}

Test(httpd_limits, at_the_cap_an_unfinished_request_is_evicted_for_a_scraper)
{
    struct httpd_config cfg = { .max_connections = 2 };
    struct httpc a, b, c;
    struct httpc_response r;

    httpdfix_setup(&F, &cfg);
    httpdfix_fake_clock(&F);
    httpdfix_run(&F, "127.0.0.1:0");
    httpdfix_open(&a, &F);
    cr_assert_eq(httpc_send(&a, "GET /hello HTTP/1.1\r\n", 21), 0);
    cr_assert_eq(httpdfix_wait_conns(&F, 1, 0, 2000), 0, "a is not mid-request");
    httpdfix_advance(&F, 20); /* a's request began before b's */
    httpdfix_open(&b, &F);
    cr_assert_eq(httpc_send(&b, "GET /hello HTTP/1.1\r\nHost: x\r\n", 30), 0);
    cr_assert_eq(httpdfix_wait_conns(&F, 2, 0, 2000), 0, "a and b are not both mid-request");

    httpdfix_open(&c, &F);
    hello_ok(&c);
    /* a, the oldest unfinished request, is parked: the rest of its request is dropped. */
    cr_assert_eq(httpc_send(&a, "Host: x\r\n\r\n", 11), 0);
    cr_assert_eq(httpc_wait_closed(&a, 100), -ETIMEDOUT, "a was closed or answered, not parked");
    /* b, younger, finishes its request and is served. */
    cr_assert_eq(httpc_send(&b, "\r\n", 2), 0);
    cr_assert_eq(httpc_read(&b, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpc_close(&a);
    httpc_close(&b);
    httpc_close(&c);
    httpdfix_stop(&F);
    assert_one_eviction(HTTPD_EVICT_REQUEST);
    cr_assert_eq(F.srv.stats.connections_parked, 1);
}

/* A server on a fake clock (httpdfix_fake_clock()), on 127.0.0.1 and a free port. */
static void start_fake(const struct httpd_config *cfg)
{
    httpdfix_setup(&F, cfg);
    httpdfix_fake_clock(&F);
    httpdfix_run(&F, "127.0.0.1:0");
}

/* Ask for /slow and read nothing: the response stalls once the buffers are full. */
static void start_stalled_reader(struct httpc *h)
{
    httpdfix_open(h, &F);
    cr_assert_eq(httpc_request(h, "GET", "/slow", NULL), 0);
}

Test(httpd_limits, at_the_cap_a_stalled_response_is_evicted_not_a_working_one)
{
    struct httpd_config cfg = { .max_connections = 2, .evict_stall_ms = 200 };
    struct httpc a, b, c;

    start_fake(&cfg);
    start_stalled_reader(&a);
    start_waiting_stream(&b);
    cr_assert_eq(httpdfix_wait_quiet(&F, 5000), 0, "a's buffers never filled");
    httpdfix_advance(&F, 200); /* a makes no progress for 200 ms; b is worked on */

    httpdfix_open(&c, &F);
    hello_ok(&c);
    cr_assert_eq(httpc_wait_closed(&a, 2000), 0, "the stalled response was not evicted");
    cr_assert_eq(httpdfix_wait_cancels(&F, 1, 3000), 0);
    cr_assert_eq(atomic_load(&F.early_cancels), 1, "only a's stream ended early");
    httpc_close(&a);
    httpc_close(&b);
    httpc_close(&c);
    httpdfix_stop(&F);
    assert_one_eviction(HTTPD_EVICT_RESPONSE);
}

Test(httpd_limits, eviction_order_is_idle_then_unfinished_request_then_stalled_response)
{
    struct httpd_config cfg = { .max_connections = 3, .evict_stall_ms = 200 };
    struct httpc s, q, i, n[3];
    struct httpc *order[3] = { &i, &q, &s };

    start_fake(&cfg);
    /* Oldest first, so that age alone would pick the reverse order. */
    start_stalled_reader(&s);
    httpdfix_advance(&F, 20);
    httpdfix_open(&q, &F);
    cr_assert_eq(httpc_send(&q, "GET /hello HTTP/1.1\r\n", 21), 0);
    httpdfix_advance(&F, 20);
    httpdfix_open(&i, &F);
    cr_assert_eq(httpdfix_wait_conns(&F, 3, 1, 2000), 0, "i was not accepted");
    cr_assert_eq(httpdfix_wait_quiet(&F, 5000), 0, "s's buffers never filled");
    httpdfix_advance(&F, 200); /* s makes no progress for 200 ms */

    /* Each newcomer is served and stays, the server working on it: the cap stays full.
     * i is parked until it speaks, q parked (what it sends is dropped), s closed. */
    for (int k = 0; k < 3; k++) {
        start_waiting_stream(&n[k]);
        cr_assert_eq(httpdfix_wait_evicted(&F, (unsigned)k + 1, 2000), 0, "eviction %d", k);
        cr_assert_eq(atomic_load(&F.early_cancels), k == 2, "eviction %d: s", k);
    }
    assert_parked_until_spoken(&i);
    cr_assert_eq(httpc_send(&q, "Host: x\r\n\r\n", 11), 0);
    cr_assert_eq(httpc_wait_closed(&q, 100), -ETIMEDOUT, "q was closed or answered, not parked");
    cr_assert_eq(httpc_wait_closed(&s, 2000), 0, "the stalled response was not closed");
    for (int k = 0; k < 3; k++) {
        httpc_close(order[k]);
        httpc_close(&n[k]);
    }
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_IDLE], 1);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_REQUEST], 1);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_RESPONSE], 1);
    cr_assert_eq(F.srv.stats.connections_parked, 2);
    cr_assert_eq(F.srv.stats.connections_rejected, 0);
}

/*
 * The parking lot is bounded: when it is full, its oldest is closed for the newcomer; and
 * a parked connection is closed after idle_timeout_ms (the loop's own clock).
 */
Test(httpd_limits, the_lot_closes_its_oldest_when_full_and_parked_ones_time_out)
{
    struct httpd_config cfg = { .max_connections = 1, .max_parked = 1, .idle_timeout_ms = 300 };
    struct httpc a, b, c;

    start_fake(&cfg);
    httpdfix_open(&a, &F);
    cr_assert_eq(httpc_send(&a, "GET /hello HTTP/1.1\r\n", 21), 0);
    cr_assert_eq(httpdfix_wait_conns(&F, 1, 0, 2000), 0, "a is not mid-request");
    httpdfix_open(&b, &F);
    hello_ok(&b); /* a, unfinished, parked for b; b idle after its answer */
    cr_assert_eq(httpdfix_wait_evicted(&F, 1, 2000), 0);
    httpdfix_open(&c, &F);
    hello_ok(&c); /* b parked for c: the lot is full, a is closed */
    cr_assert_eq(httpc_wait_closed(&a, 2000), 0, "the lot's oldest was not closed");
    cr_assert_eq(httpc_wait_closed(&b, 100), -ETIMEDOUT, "b was closed, not parked");
    cr_assert_eq(httpc_wait_closed(&b, 3000), 0, "b was not closed at the idle timeout");
    httpc_close(&a);
    httpc_close(&b);
    httpc_close(&c);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.connections_parked, 2);
    cr_assert_eq(F.srv.stats.parked_closed, 1);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_REQUEST], 1);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_IDLE], 1);
}

Test(httpd_limits, a_request_already_in_the_socket_is_read_before_newer_accepts_evict_it)
{
    enum { IDLE = 3, ATTACKERS = 30 };
    struct httpd_config cfg = { .max_connections = IDLE + 1 };
    struct httpc idle[IDLE], blocker, p, att[ATTACKERS];
    struct httpc_response r;

    httpdfix_start(&F, &cfg);
    for (int k = 0; k < IDLE; k++)
        httpdfix_open(&idle[k], &F);
    cr_assert_eq(httpdfix_wait_conns(&F, IDLE, IDLE, 2000), 0);
    httpdfix_open(&blocker, &F);
    cr_assert_eq(httpc_request(&blocker, "GET", "/block", NULL), 0);
    cr_assert_eq(httpdfix_wait_blocked(&F, 2000), 0, "the loop is not held");
    /* While it is held, a client and then many more connect and send: they all wait in
     * the backlog, to be accepted in one go. */
    httpdfix_open(&p, &F);
    cr_assert_eq(httpc_request(&p, "GET", "/hello", NULL), 0);
    for (int k = 0; k < ATTACKERS; k++) {
        httpdfix_open(&att[k], &F);
        cr_assert_eq(httpc_send(&att[k], "G", 1), 0);
    }
    httpdfix_unblock(&F); /* they are all in the backlog, their bytes in their sockets */
    cr_assert_eq(httpc_read(&p, 0, &r), 0, "the first client was evicted before being read");
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    cr_assert_eq(httpc_read(&blocker, 0, &r), 0);
    httpc_response_release(&r);
    for (int k = 0; k < ATTACKERS; k++)
        httpc_close(&att[k]);
    for (int k = 0; k < IDLE; k++)
        httpc_close(&idle[k]);
    httpc_close(&p);
    httpc_close(&blocker);
    httpdfix_stop(&F);
    cr_assert_geq(F.srv.stats.accept_pauses, 1);
    /* The silent ones went, idle or fresh as the real clock had it. */
    cr_assert_geq(
        F.srv.stats.evictions[HTTPD_EVICT_IDLE] + F.srv.stats.evictions[HTTPD_EVICT_FRESH], IDLE);
}

Test(httpd_limits, a_close_refusal_leaves_pipelined_requests_unanswered)
{
    struct httpc h;
    const char reqs[] = "GET /busy HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /busy HTTP/1.1\r\nHost: a\r\n\r\n";

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_send(&h, reqs, sizeof(reqs) - 1), 0);
    /* And nothing more: the requests behind it are never read, and the connection is
     * parked, not shut: a client that waits is not answered again. */
    read_refused_kept(&h);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.handled), 0);
    cr_assert_eq(httpdfix_requests(&F, "busy", 503), 1);
    cr_assert_eq(F.srv.stats.connections_parked, 1);
}

Test(httpd_limits, requests_waiting_at_the_accept_are_answered_without_a_poll_each)
{
    /*
     * One slot beside the blocker. While the loop is held, clients connect and send
     * whole requests; each is read and answered as it is accepted, and its slot is free
     * for the next in the same iteration: nobody waits for a poll (no accept pause), and
     * nobody is refused.
     */
    enum { N = 20 };
    struct httpd_config cfg = { .max_connections = 2 };
    struct httpc blocker, c[N];
    struct httpc_response r;

    httpdfix_start(&F, &cfg);
    httpdfix_open(&blocker, &F);
    cr_assert_eq(httpc_request(&blocker, "GET", "/block", NULL), 0);
    cr_assert_eq(httpdfix_wait_blocked(&F, 2000), 0, "the loop is not held");
    for (int k = 0; k < N; k++) {
        httpdfix_open(&c[k], &F);
        cr_assert_eq(httpc_request(&c[k], "GET", k == N - 1 ? "/-/healthy" : "/busy", NULL), 0);
    }
    httpdfix_unblock(&F);
    for (int k = 0; k < N; k++) {
        cr_assert_eq(httpc_read(&c[k], 0, &r), 0, "client %d got no answer", k);
        cr_assert_eq(r.status, k == N - 1 ? 200 : 503);
        httpc_response_release(&r);
        httpc_close(&c[k]);
    }
    cr_assert_eq(httpc_read(&blocker, 0, &r), 0);
    httpc_response_release(&r);
    httpc_close(&blocker);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.accept_pauses, 0);
    cr_assert_eq(F.srv.stats.connections_rejected, 0);
    cr_assert_eq(F.srv.stats.reserve_accepted, 0);
    cr_assert_geq(F.srv.stats.evictions[HTTPD_EVICT_LINGER], N - 2);
}

static int deferred(void *arg)
{
    return atomic_load(&((struct httpdfix *)arg)->deferred) > 0;
}

Test(httpd_limits, a_deferred_answer_that_never_comes_gets_503_at_the_write_timeout)
{
    struct httpd_config cfg = { .write_timeout_ms = 300 };
    struct httpc h;

    start_fake(&cfg);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/defer", NULL), 0);
    cr_assert_eq(waitfor_cond(deferred, &F, 5000), 0, "the request was never deferred");
    /* Short of the timeout, the answer is still awaited. */
    httpdfix_advance(&F, 299);
    cr_assert_eq(atomic_load(&F.early_cancels), 0, "cancelled before the write timeout");
    httpdfix_advance(&F, 1);
    read_last(&h, 503);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.early_cancels), 1, "the deferred work was not cancelled");
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_WRITE_TIMEOUT], 1);
    cr_assert_eq(httpdfix_requests(&F, "defer", 503), 1);
}

/* GET target on a new connection: the server works on it (a deferred answer, a stream). */
static void start_work(struct httpc *h, const char *target)
{
    httpdfix_open(h, &F);
    cr_assert_eq(httpc_request(h, "GET", target, NULL), 0);
}

Test(httpd_limits, at_the_cap_work_without_progress_is_evicted_after_its_deadline)
{
    struct httpd_config cfg = { .max_connections = 2, .evict_work_ms = 400 };
    struct httpc w, d, c, n;

    start_fake(&cfg);
    /* w: a stream whose producer waits forever; d, younger: an answer deferred forever. */
    start_work(&w, "/wait?n=1000&forever=1");
    read_until_waiting(&w);
    httpdfix_advance(&F, 150);
    start_work(&d, "/defer");
    cr_assert_eq(httpdfix_wait_open(&F, 2, 2000), 0);

    /* Within the deadline, work is never evicted: a newcomer gets the reserve's 503. */
    httpdfix_open(&n, &F);
    cr_assert_eq(httpc_request(&n, "GET", "/hello", NULL), 0);
    read_refused(&n);
    cr_assert_eq(atomic_load(&F.early_cancels), 0);

    /* Past it, the one waiting longest makes room: w, not d. */
    httpdfix_advance(&F, 400);
    httpdfix_open(&c, &F);
    hello_ok(&c);
    cr_assert_eq(httpc_wait_closed(&w, 2000), 0, "the waiting stream was not evicted");
    cr_assert_eq(httpc_wait_closed(&d, 50), -ETIMEDOUT, "the deferred answer went too");
    cr_assert_eq(atomic_load(&F.early_cancels), 1);
    httpc_close(&w);
    httpc_close(&d);
    httpc_close(&c);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.evictions[HTTPD_EVICT_WORK], 1);
    cr_assert_eq(F.srv.stats.connections_evicted, 1);
}

/* A unix: address in a fresh directory, for small socket buffers (no TCP autotuning). */
static void start_unix(const struct httpd_config *cfg, char *dir, size_t len)
{
    char addr[128];

    snprintf(dir, len, "/tmp/ustatsd-limits-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(addr, sizeof(addr), "unix:%s/http.sock", dir);
    httpdfix_setup(&F, cfg);
    httpdfix_fake_clock(&F);
    httpdfix_run(&F, addr);
}

static void stop_unix(const char *dir)
{
    char path[128];

    httpdfix_stop(&F);
    snprintf(path, sizeof(path), "%s/http.sock", dir);
    unlink(path);
    rmdir(dir);
}

/*
 * Read at rate bytes/s of the server's fake clock until the server closes or limit_ms
 * pass on it: a step of reading, then the clock moves by the time the bytes read so far
 * take at rate. Returns the bytes read.
 */
static size_t read_paced(struct httpc *h, size_t rate, uint64_t limit_ms, int *closed)
{
    static char buf[1 << 16];
    size_t got = 0, step = rate / 16;
    uint64_t elapsed = 0;

    *closed = 0;
    while (elapsed < limit_ms) {
        long n = httpc_recv(h, buf, step < sizeof(buf) ? step : sizeof(buf));
        uint64_t due;

        if (n <= 0) {
            *closed = 1;
            break;
        }
        got += (size_t)n;
        due = (uint64_t)got * 1000 / rate;
        if (due > elapsed) {
            httpdfix_advance(&F, due - elapsed);
            elapsed = due;
        }
    }
    return got;
}

/* A server on a unix: socket whose clients must read at 1 MiB/s after grace_ms. */
static void start_rate_limited(uint64_t grace_ms, char *dir, size_t len, struct httpc *h)
{
    struct httpd_config cfg = { .write_timeout_ms = 20000,
                                .min_send_rate = 1 << 20,
                                .send_grace_ms = grace_ms };

    start_unix(&cfg, dir, len);
    httpdfix_open(h, &F);
}

/* Stop it, and check that the client was cut by the rate, not the write timeout. */
static void stop_rate_limited(const char *dir)
{
    stop_unix(dir);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_SEND_RATE], 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_WRITE_TIMEOUT], 0);
}

Test(httpd_limits, a_reader_below_the_minimum_rate_is_cut_though_it_reads)
{
    char dir[64];
    struct httpc h;
    int closed;
    size_t got;

    start_rate_limited(200, dir, sizeof(dir), &h);
    cr_assert_eq(httpc_request(&h, "GET", "/slow", NULL), 0);
    /* 64 KiB/s: steady progress, so the write timeout alone would never cut it. */
    got = read_paced(&h, 64 * 1024, 8000, &closed);
    cr_assert(closed, "a reader at 64 KiB/s was not cut at a minimum of 1 MiB/s");
    cr_assert_gt(got, 0);
    httpc_close(&h);
    stop_rate_limited(dir);
    cr_assert_eq(atomic_load(&F.cancels), 1);
}

Test(httpd_limits, pipelined_responses_do_not_renew_the_grace)
{
    /*
     * Each 512 KiB response alone is within its budget (grace 400 ms + 512 KiB at 1 MiB/s
     * = 900 ms of bytes waiting on the client; a reader at 768 KiB/s keeps them waiting
     * under 700 ms), but 8 back to back are not (8 x 700 > 400 + 8 x 500). A clock reset
     * with each response would let the reader hold the connection through all of them.
     */
    char dir[64];
    struct httpc h;
    struct buf reqs = BUF_INIT;
    int closed;
    size_t got;

    start_rate_limited(400, dir, sizeof(dir), &h);
    for (int k = 0; k < 8; k++)
        buf_adds(&reqs, "GET /big?kb=512 HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(httpc_send(&h, reqs.ptr, reqs.len), 0);
    got = read_paced(&h, 768 * 1024, 10000, &closed);
    cr_assert(closed, "a reader took all 8 responses at 768 KiB/s");
    cr_assert_lt(got, 8u * 512 * 1024);
    cr_assert_gt(got, 512u * 1024, "cut in the first response, which was within its budget");
    httpc_close(&h);
    buf_release(&reqs);
    stop_rate_limited(dir);
}

Test(httpd_limits, client_gone_mid_stream_cancels_once)
{
    struct httpc h;
    char buf[65536];
    size_t got = 0;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/slow", NULL), 0);
    while (got < 1 << 20) {
        long n = httpc_recv(&h, buf, sizeof(buf));

        if (n <= 0)
            break;
        got += (size_t)n;
    }
    cr_assert_geq(got, 1 << 20);
    httpc_close(&h);
    cr_assert_eq(httpdfix_wait_cancels(&F, 1, 3000), 0);
    cr_assert_eq(atomic_load(&F.early_cancels), 1);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(atomic_load(&F.dones), 0);
}

Test(httpd_limits, stalled_reader_is_held_by_backpressure_then_cut)
{
    struct httpd_config cfg = { .write_timeout_ms = 600 };
    struct httpc h;

    start_fake(&cfg);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/slow", NULL), 0);
    /* Unbounded, 64 KiB per loop iteration would never stop; bounded, it stops at the
     * socket buffers plus max_unacked_bytes. */
    cr_assert_eq(httpdfix_wait_quiet(&F, 5000), 0, "the producer was never held");
    cr_assert_gt(atomic_load(&F.produced), 0);
    cr_assert_lt(atomic_load(&F.produced), 32LL << 20);
    cr_assert_eq(atomic_load(&F.early_cancels), 0);
    httpdfix_advance(&F, 600); /* no progress for the write timeout */
    cr_assert_eq(httpdfix_wait_cancels(&F, 1, 3000), 0);
    cr_assert_eq(atomic_load(&F.early_cancels), 1);
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_WRITE_TIMEOUT], 1);
}

Test(httpd_limits, bearer_token_guards_all_but_health)
{
    struct httpc_response r;

    httpdfix_setup(&F, NULL);
    cr_assert_eq(httpd_server_set_bearer(&F.srv, "s3cret-token"), 0);
    cr_assert_eq(httpd_server_set_bearer(&F.srv, "bad token"), -EINVAL);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 401);
    cr_assert_str_eq(httpc_header(&r, "WWW-Authenticate"), "Bearer");
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: Bearer s3cret-tokeN\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: Bearer s3cret-token2\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: Bearer s3cret\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Authorization: bearer s3cret-token\r\n", &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/-/healthy", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(httpdfix_requests(&F, "hello", 401), 4);
    cr_assert_eq(httpdfix_requests(&F, "hello", 200), 1);
    cr_assert_eq(httpdfix_requests(&F, "healthy", 200), 1);
}
