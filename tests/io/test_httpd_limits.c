/*
 * The HTTP server's limits: header and body sizes, malformed requests, the read, idle
 * and write timeouts, the connection cap and its eviction, backpressure, and the bearer
 * token. The server runs on its own loop thread (tests/lib/httpdfix).
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

static struct httpdfix F;

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
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 431);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    httpc_close(&h);

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
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    dt = httpdfix_now_ms() - t0;
    cr_assert_geq(dt, 150.0);
    cr_assert_lt(dt, 1500.0);
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

    httpdfix_start(&F, &cfg);
    httpdfix_open(&h, &F);
    t0 = httpdfix_now_ms();
    cr_assert_eq(httpc_send(&h, half, sizeof(half) - 1), 0);
    /* Dribbling bytes does not extend the deadline of the whole request. */
    for (int i = 0; i < 4; i++) {
        usleep(50 * 1000);
        if (httpc_send(&h, "x", 1) != 0)
            break;
    }
    /* Meanwhile another client is served. */
    httpdfix_open(&ok, &F);
    cr_assert_eq(httpc_request(&ok, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&ok, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpc_close(&ok);
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0);
    dt = httpdfix_now_ms() - t0;
    cr_assert_geq(dt, 250.0);
    cr_assert_lt(dt, 1500.0);
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_READ_TIMEOUT], 1);
}

Test(httpd_limits, at_the_cap_the_oldest_idle_connection_makes_room)
{
    struct httpd_config cfg = { .max_connections = 2 };
    struct httpc a, b, c;
    struct httpc_response r;

    httpdfix_start(&F, &cfg);
    httpdfix_open(&a, &F); /* never sends a byte */
    cr_assert_eq(httpdfix_wait_conns(&F, 1, 1, 2000), 0, "a was not accepted");
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
    cr_assert_eq(httpc_wait_closed(&a, 2000), 0, "the oldest idle connection stayed open");
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
    cr_assert_eq(F.srv.stats.connections_rejected, 0);
}

Test(httpd_limits, connections_over_the_limit_are_refused)
{
    struct httpd_config cfg = { .max_connections = 2 };
    struct httpc a, b, c;
    struct httpc_response r;
    int ok = 0;

    httpdfix_start(&F, &cfg);
    httpdfix_open(&a, &F);
    httpdfix_open(&b, &F);
    /* A response on each proves both were accepted. */
    cr_assert_eq(httpc_request(&a, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&a, 0, &r), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_request(&b, "GET", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&b, 0, &r), 0);
    httpc_response_release(&r);
    /* Both in the middle of their next request: neither is idle, so none makes room. */
    cr_assert_eq(httpc_send(&a, "GET /hello HTTP/1.1\r\n", 21), 0);
    cr_assert_eq(httpc_send(&b, "GET /hello HTTP/1.1\r\n", 21), 0);
    cr_assert_eq(httpdfix_wait_conns(&F, 2, 0, 2000), 0, "a and b are not both mid-request");

    httpdfix_open(&c, &F);
    if (httpc_read(&c, 0, &r) == 0) {
        cr_assert_eq(r.status, 503);
        httpc_response_release(&r);
    }
    cr_assert_eq(httpc_wait_closed(&c, 2000), 0);
    httpc_close(&c);

    /* A slot frees when a client leaves; the server notices asynchronously. */
    httpc_close(&a);
    for (int i = 0; i < 50 && !ok; i++) {
        if (httpc_get(F.addr, "/hello", NULL, &r) == 0) {
            ok = r.status == 200;
            httpc_response_release(&r);
        }
        if (!ok)
            usleep(20 * 1000);
    }
    cr_assert(ok);
    httpc_close(&b);
    httpdfix_stop(&F);
    cr_assert_geq(F.srv.stats.connections_rejected, 1);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_CONNECTIONS], F.srv.stats.connections_rejected);
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
    for (int i = 0; i < 300 && atomic_load(&F.early_cancels) == 0; i++)
        usleep(10 * 1000);
    cr_assert_eq(atomic_load(&F.early_cancels), 1);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(atomic_load(&F.dones), 0);
}

Test(httpd_limits, stalled_reader_is_held_by_backpressure_then_cut)
{
    struct httpd_config cfg = { .write_timeout_ms = 600 };
    struct httpc h;

    httpdfix_start(&F, &cfg);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/slow", NULL), 0);
    usleep(300 * 1000);
    /* Unbounded, 64 KiB per loop iteration would be gigabytes by now; bounded, it is
     * the socket buffers plus max_unacked_bytes. */
    cr_assert_gt(atomic_load(&F.produced), 0);
    cr_assert_lt(atomic_load(&F.produced), 32LL << 20);
    for (int i = 0; i < 300 && atomic_load(&F.early_cancels) == 0; i++)
        usleep(10 * 1000);
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
