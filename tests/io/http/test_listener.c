/*
 * The HTTP server's listeners: unix sockets (a stale one replaced, a regular file
 * refused) and IPv6. The server runs on its own loop thread (tests/lib/httpdfix).
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

Test(listener, unix_listener_replaces_a_stale_socket)
{
    char path[108], addr[128];
    struct sockaddr_un sun;
    struct httpc_response r;
    int fd;

    snprintf(path, sizeof(path), "/tmp/ustatsd-test-http-%d.sock", (int)getpid());
    unlink(path);
    /* A stale socket file: bound, then its owner went away without unlinking. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    snprintf(addr, sizeof(addr), "unix:%s", path);

    httpdfix_setup(&F, NULL);
    httpdfix_run(&F, addr);
    cr_assert_str_eq(F.addr, addr);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello\n");
    httpc_response_release(&r);
    {
        /* A live socket is not taken over. */
        struct httpd_server other;
        uv_loop_t l2;
        char err[256] = "";

        cr_assert_eq(uv_loop_init(&l2), 0);
        httpd_server_init(&other, &l2, NULL);
        cr_assert_eq(httpd_server_listen(&other, addr, err, sizeof(err)), -EADDRINUSE);
        cr_assert_neq(strstr(err, "in use"), NULL, "%s", err);
        httpd_server_close(&other, NULL);
        cr_assert_eq(uv_run(&l2, UV_RUN_DEFAULT), 0);
        cr_assert_eq(uv_loop_close(&l2), 0);
    }
    httpdfix_stop(&F);
    cr_assert_eq(access(path, F_OK), -1, "the socket file is removed on close");
}

Test(listener, unix_listener_refuses_a_regular_file)
{
    char path[108], addr[128], err[256] = "";
    struct httpd_server srv;
    uv_loop_t loop;
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/ustatsd-test-http-file-%d", (int)getpid());
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(addr, sizeof(addr), "unix:%s", path);
    cr_assert_eq(uv_loop_init(&loop), 0);
    httpd_server_init(&srv, &loop, NULL);
    cr_assert_eq(httpd_server_listen(&srv, addr, err, sizeof(err)), -EEXIST);
    cr_assert_neq(strstr(err, "not a socket"), NULL, "%s", err);
    cr_assert_eq(access(path, F_OK), 0);
    cr_assert_eq(httpd_server_listen(&srv, "300.1.1.1:80", err, sizeof(err)), -EINVAL);
    cr_assert_eq(httpd_server_listen(&srv, "127.0.0.1", err, sizeof(err)), -EINVAL);
    httpd_server_close(&srv, NULL);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    unlink(path);
}

Test(listener, ipv6_listener_serves)
{
    struct httpc_response r;

    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a));

    if (fd >= 0)
        close(fd);
    if (rc != 0)
        cr_skip_test("no IPv6 loopback");
    httpdfix_setup(&F, NULL);
    httpdfix_run(&F, "[::1]:0");
    cr_assert_eq(strncmp(F.addr, "[::1]:", 6), 0);
    cr_assert_eq(httpc_get(F.addr, "/hello", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    httpdfix_stop(&F);
}
