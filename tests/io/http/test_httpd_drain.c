/*
 * A client that pipelines and does not read: its next request waits until it has taken
 * all but HTTPD_HOLD_UNREAD bytes of the answer before (httpsend_hold()), so it never
 * has more than one answer in the kernel's buffers, and a refusal of the next one (a
 * scrape over the in-flight bound) is not written behind megabytes it will not read.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "httpdfix.h"
#include "waitfor.h"

static struct httpdfix F;

#define KB 96 /* over HTTPD_HOLD_UNREAD, under a Unix socket's default send buffer */

static int held_once(void *arg)
{
    return atomic_load(&((struct httpdfix *)arg)->held) >= 1;
}

static int second_asked(void *arg)
{
    return atomic_load(&((struct httpdfix *)arg)->bigs) >= 2;
}

static void read_big(struct httpc *h)
{
    struct httpc_response r;

    cr_assert_eq(httpc_read(h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, (size_t)KB * 1024);
    httpc_response_release(&r);
}

Test(httpd_drain, a_pipelined_request_waits_until_the_answer_before_it_is_taken)
{
    char dir[64], addr[128], path[128], req[64];
    struct buf reqs = BUF_INIT;
    struct httpc h;

    snprintf(dir, sizeof(dir), "/tmp/ustatsd-drain-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(addr, sizeof(addr), "unix:%s/http.sock", dir);
    httpdfix_setup(&F, NULL);
    httpdfix_run(&F, addr);
    httpdfix_open(&h, &F);
    snprintf(req, sizeof(req), "GET /big?kb=%d HTTP/1.1\r\nHost: a\r\n\r\n", KB);
    buf_adds(&reqs, req);
    buf_adds(&reqs, req);
    cr_assert_eq(httpc_send(&h, reqs.ptr, reqs.len), 0);

    /* The first answer is whole in the socket, unread: the second request waits. */
    cr_assert_eq(waitfor_cond(held_once, &F, 10000), 0, "the next request was not held");
    cr_assert_eq(atomic_load(&F.bigs), 1, "the next request was answered behind an unread one");

    /* Taken: the second is answered. */
    read_big(&h);
    cr_assert_eq(waitfor_cond(second_asked, &F, 10000), 0, "the next request was never answered");
    read_big(&h);

    httpc_close(&h);
    buf_release(&reqs);
    httpdfix_stop(&F);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_SEND_RATE], 0);
    cr_assert_eq(F.srv.stats.limits[HTTPD_LIMIT_WRITE_TIMEOUT], 0);
    snprintf(path, sizeof(path), "%s/http.sock", dir);
    unlink(path);
    rmdir(dir);
}
