/*
 * The HTTP server answering: one-shot and streamed responses, HEAD, keep-alive and
 * pipelining, gzip, waiting producers, HTTP/1.0, and the request counters. The server
 * runs on its own loop thread (tests/lib/httpdfix); this thread is the client.
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

Test(httpd, get_one_shot_has_content_length_and_body)
{
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 6);
    cr_assert_str_eq(r.body, "hello\n");
    cr_assert_str_eq(httpc_header(&r, "Content-Length"), "6");
    cr_assert_str_eq(httpc_header(&r, "content-type"), "text/plain; charset=utf-8");
    cr_assert_str_eq(httpc_header(&r, "Vary"), "Accept-Encoding");
    cr_assert_null(httpc_header(&r, "Content-Encoding"));
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.connections_accepted, 1);
}

Test(httpd, head_sends_headers_without_body)
{
    struct httpc h;
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "HEAD", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&h, 1, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(httpc_header(&r, "Content-Length"), "6");
    httpc_response_release(&r);
    /* Had a body been sent, it would now be read as the next status line. */
    cr_assert_eq(httpc_request(&h, "HEAD", "/stream?n=3", NULL), 0);
    cr_assert_eq(httpc_read(&h, 1, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(httpc_header(&r, "Transfer-Encoding"), "chunked");
    httpc_response_release(&r);
    cr_assert_eq(httpc_request(&h, "GET", "/echo?x=after", NULL), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(strncmp(r.body, "x=after\n", 8), 0);
    httpc_response_release(&r);
    httpc_close(&h);
    httpdfix_stop(&F);
    /* HEAD on a stream: produce never runs, cancel releases the producer. */
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(atomic_load(&F.dones), 0);
}

static atomic_int befores, handled_at_before;

/* The server's before-request hook: counts, and notes how many /hello ran before it. */
static void count_before(void *arg)
{
    struct httpdfix *fx = arg;

    atomic_store(&handled_at_before, atomic_load(&fx->handled));
    atomic_fetch_add(&befores, 1);
}

/*
 * httpd_server_set_before(): the hook runs right before each handler (ustatsd delivers
 * the datagrams it holds there), and not for a request refused before any handler.
 */
Test(httpd, the_before_hook_runs_before_each_handler_only)
{
    struct httpc_response r;

    atomic_store(&handled_at_before, -1);
    atomic_store(&befores, 0);
    httpdfix_setup(&F, NULL);
    httpd_server_set_before(&F.srv, count_before, &F);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/nope", NULL, &r), 0);
    cr_assert_eq(r.status, 404);
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&befores), 1);
    cr_assert_eq(atomic_load(&handled_at_before), 0, "the hook ran after the handler");
    cr_assert_eq(atomic_load(&F.handled), 1);
}

/* A route marked httpd_server_route_skip_before() is served without the hook. */
Test(httpd, a_route_can_skip_the_before_hook)
{
    struct httpc_response r;

    atomic_store(&befores, 0);
    httpdfix_setup(&F, NULL);
    httpd_server_set_before(&F.srv, count_before, &F);
    cr_assert_eq(httpd_server_route_skip_before(&F.srv, "/hello"), 0);
    cr_assert_eq(httpd_server_route_skip_before(&F.srv, "/none"), -ENOENT);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&befores), 0);
    cr_assert_eq(atomic_load(&F.handled), 1);
}

Test(httpd, unknown_path_is_404)
{
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/nope?x=1", NULL, &r), 0);
    cr_assert_eq(r.status, 404);
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(httpdfix_requests(&F, HTTPD_OTHER_ROUTE, 404), 1);
}

Test(httpd, other_method_on_known_path_is_405_with_allow)
{
    struct httpc h;
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "POST", "/hello", "Content-Length: 5\r\n"), 0);
    cr_assert_eq(httpc_send(&h, "abcde", 5), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 405);
    cr_assert_str_eq(httpc_header(&r, "Allow"), "GET, HEAD");
    httpc_response_release(&r);
    /* The body was skipped: the connection still works. */
    cr_assert_eq(httpc_request(&h, "DELETE", "/hello", NULL), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 405);
    httpc_response_release(&r);
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.handled), 0);
    cr_assert_eq(httpdfix_requests(&F, "hello", 405), 2);
}

Test(httpd, keep_alive_serves_several_requests_on_one_connection)
{
    struct httpc h;
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(httpc_request(&h, "GET", "/hello", NULL), 0);
        cr_assert_eq(httpc_read(&h, 0, &r), 0);
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.body, "hello\n");
        cr_assert_null(httpc_header(&r, "Connection"));
        httpc_response_release(&r);
    }
    httpc_close(&h);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.connections_accepted, 1);
    cr_assert_eq(httpdfix_requests(&F, "hello", 200), 5);
}

Test(httpd, pipelined_requests_are_answered_in_order)
{
    struct httpc h;
    struct httpc_response r;
    const char reqs[] = "GET /echo?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /stream?n=100 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /echo?x=2 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /echo?x=3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    struct buf want = BUF_INIT;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_send(&h, reqs, sizeof(reqs) - 1), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(strncmp(r.body, "x=1\n", 4), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    httpdfix_expected_lines(&want, 100);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(strncmp(r.body, "x=2\n", 4), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(strncmp(r.body, "x=3\n", 4), 0);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 2000), 0);
    httpc_close(&h);
    buf_release(&want);
    httpdfix_stop(&F);
}

Test(httpd, stream_of_many_pieces_is_chunked)
{
    struct httpc_response r;
    struct buf want = BUF_INIT;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/stream?n=10000", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert(r.chunked);
    cr_assert_not(r.gzip);
    httpdfix_expected_lines(&want, 10000);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    httpc_response_release(&r);
    buf_release(&want);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
    cr_assert_eq(atomic_load(&F.cancels), 0);
}

Test(httpd, stream_is_gzipped_when_accepted)
{
    struct httpc_response r;
    struct buf want = BUF_INIT;

    httpdfix_start(&F, NULL);
    cr_assert_eq(
        httpc_get(F.addr, "/stream?n=10000", "Accept-Encoding: deflate, gzip;q=0.5\r\n", &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert(r.chunked);
    cr_assert(r.gzip);
    cr_assert_str_eq(httpc_header(&r, "Vary"), "Accept-Encoding");
    httpdfix_expected_lines(&want, 10000);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    cr_assert_lt(r.wire_len, want.len / 3);
    httpc_response_release(&r);
    buf_release(&want);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
}

Test(httpd, gzip_refused_with_q_zero)
{
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/stream?n=50", "Accept-Encoding: gzip;q=0, *\r\n", &r), 0);
    cr_assert_not(r.gzip);
    cr_assert_null(httpc_header(&r, "Content-Encoding"));
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/hello", "Accept-Encoding: gzip\r\n", &r), 0);
    cr_assert(r.gzip);
    cr_assert_str_eq(r.body, "hello\n");
    httpc_response_release(&r);
    httpdfix_stop(&F);
}

Test(httpd, waiting_producer_is_resumed)
{
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/wait?n=4", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "piece 0\npiece 1\npiece 2\npiece 3\n");
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
}

Test(httpd, server_close_cancels_a_waiting_stream)
{
    struct httpc h;
    char buf[64];

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_request(&h, "GET", "/wait?forever=1", NULL), 0);
    /* The headers and the first piece arrive, then the producer waits forever. */
    cr_assert_gt(httpc_recv(&h, buf, sizeof(buf)), 0);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.cancels), 1);
    cr_assert_eq(atomic_load(&F.early_cancels), 0);
    cr_assert_eq(atomic_load(&F.dones), 0);
    httpc_close(&h);
}

Test(httpd, handler_that_does_not_respond_gets_500)
{
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/silent", NULL, &r), 0);
    cr_assert_eq(r.status, 500);
    httpc_response_release(&r);
    httpdfix_stop(&F);
    cr_assert_eq(httpdfix_requests(&F, "silent", 500), 1);
}

Test(httpd, request_headers_reach_the_handler)
{
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/echo?y=2&x=a%20b+c",
                           "ACCEPT: text/plain\r\naccept-encoding: br\r\nAccept-Encoding: zstd\r\n"
                           "Authorization: Basic Zm9v\r\n"
                           "X-Prometheus-Scrape-Timeout-Seconds: 9.5\r\nX-Other: 1\r\n",
                           &r),
                 0);
    cr_assert_str_eq(r.body, "x=a b c\naccept=text/plain\nae=br, zstd\nauth=Basic Zm9v\n"
                             "sto=9.5\nhead=0\nver=1.1\nauthenticated=1\n");
    cr_assert_str_eq(httpc_header(&r, "X-Echo"), "1");
    httpc_response_release(&r);
    httpdfix_stop(&F);
}

Test(httpd, http10_closes_or_keeps_alive_on_request)
{
    struct httpc h;
    struct httpc_response r;
    struct buf want = BUF_INIT;

    httpdfix_start(&F, NULL);
    httpdfix_open(&h, &F);
    cr_assert_eq(httpc_send(&h, "GET /hello HTTP/1.0\r\n\r\n", 23), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello\n");
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 2000), 0);
    httpc_close(&h);

    httpdfix_open(&h, &F);
    for (int i = 0; i < 2; i++) {
        const char req[] = "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

        cr_assert_eq(httpc_send(&h, req, sizeof(req) - 1), 0);
        cr_assert_eq(httpc_read(&h, 0, &r), 0);
        cr_assert_str_eq(httpc_header(&r, "Connection"), "keep-alive");
        httpc_response_release(&r);
    }
    /* A stream to an HTTP/1.0 client: no chunking, the close ends the body. */
    {
        const char req[] = "GET /stream?n=1000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

        cr_assert_eq(httpc_send(&h, req, sizeof(req) - 1), 0);
    }
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_not(r.chunked);
    cr_assert(r.until_close);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    httpdfix_expected_lines(&want, 1000);
    cr_assert_eq(r.body_len, want.len);
    cr_assert_eq(memcmp(r.body, want.ptr, want.len), 0);
    httpc_response_release(&r);
    httpc_close(&h);
    buf_release(&want);
    httpdfix_stop(&F);
    cr_assert_eq(atomic_load(&F.dones), 1);
}

Test(httpd, requests_are_counted_by_handler_and_code)
{
    struct httpc_response r;
    const struct httpd_stats *st;

    httpdfix_start(&F, NULL);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
        httpc_response_release(&r);
    }
    cr_assert_eq(httpc_get(F.addr, "/echo", NULL, &r), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/missing", NULL, &r), 0);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(F.addr, "/stream?n=5", NULL, &r), 0);
    httpc_response_release(&r);
    httpdfix_stop(&F);
    st = httpd_server_stats(&F.srv);
    cr_assert_eq(st->connections_accepted, 6);
    cr_assert_eq(st->connections_open, 0);
    cr_assert_eq(httpdfix_requests(&F, "hello", 200), 3);
    cr_assert_eq(httpdfix_requests(&F, "echo", 200), 1);
    cr_assert_eq(httpdfix_requests(&F, "stream", 200), 1);
    cr_assert_eq(httpdfix_requests(&F, HTTPD_OTHER_ROUTE, 404), 1);
    cr_assert_eq(httpdfix_requests(&F, "hello", 404), 0);
}

Test(httpd, limit_names_are_label_values)
{
    cr_assert_str_eq(httpd_limit_name(HTTPD_LIMIT_HEADER_SIZE), "header_size");
    cr_assert_str_eq(httpd_limit_name(HTTPD_LIMIT_CONNECTIONS), "connections");
    cr_assert_str_eq(httpd_limit_name(HTTPD_LIMIT_COUNT), "unknown");
}
