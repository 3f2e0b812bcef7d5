/*
 * An anonymous route (httpd_server_route_anonymous()): a request without an
 * Authorization header is served, marked unauthenticated; one with the right token is
 * served authenticated, one with a wrong token refused as on any route; other routes
 * keep refusing a request without credentials. httpd_respond_unauthorized() gives the
 * path's challenges, and a plain 401 where the path takes none.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "httpc.h"
#include "httpdfix.h"

static struct httpdfix F;

static int get(const char *target, const char *headers, const char *want_body)
{
    struct httpc_response r;
    int status;

    cr_assert_eq(httpc_get(F.addr, target, headers, &r), 0);
    status = r.status;
    if (want_body != NULL)
        cr_assert_not_null(strstr(r.body, want_body), "%s: %s", target, r.body);
    httpc_response_release(&r);
    return status;
}

Test(httpd_anonymous, a_request_without_credentials_is_served_unauthenticated)
{
    httpdfix_setup(&F, NULL);
    cr_assert_eq(httpd_server_set_bearer(&F.srv, "tok3n"), 0);
    cr_assert_eq(httpd_server_route_anonymous(&F.srv, "/echo"), 0);
    cr_assert_eq(httpd_server_route_anonymous(&F.srv, "/nope"), -ENOENT);
    httpdfix_run(&F, "127.0.0.1:0");

    cr_assert_eq(get("/echo", NULL, "\nauthenticated=0\n"), 200);
    cr_assert_eq(get("/echo", "Authorization: Bearer tok3n\r\n", "\nauthenticated=1\n"), 200);
    cr_assert_eq(get("/echo", "Authorization: Bearer wrong\r\n", NULL), 401);
    cr_assert_eq(get("/hello", NULL, NULL), 401, "other routes still need the token");
    cr_assert_eq(get("/hello", "Authorization: Bearer tok3n\r\n", NULL), 200);
    httpdfix_stop(&F);
    cr_assert_eq(httpdfix_requests(&F, "echo", 200), 2);
    cr_assert_eq(httpdfix_requests(&F, "echo", 401), 1);
}

Test(httpd_anonymous, a_route_that_takes_no_credentials_is_authenticated)
{
    httpdfix_setup(&F, NULL);
    cr_assert_eq(httpd_server_route_anonymous(&F.srv, "/echo"), 0);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(get("/echo", NULL, "\nauthenticated=1\n"), 200);
    httpdfix_stop(&F);
}

Test(httpd_anonymous, sign_in_answers_the_paths_challenges)
{
    struct httpc_response r;

    httpdfix_setup(&F, NULL);
    cr_assert_eq(httpd_server_route_anonymous(&F.srv, "/signin"), 0);
    cr_assert_eq(httpd_server_route_bearer(&F.srv, "/signin", "tok3n"), 0);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(httpc_get(F.addr, "/signin", NULL, &r), 0);
    cr_assert_eq(r.status, 401);
    cr_assert_str_eq(httpc_header(&r, "WWW-Authenticate"), "Bearer");
    httpc_response_release(&r);
    httpdfix_stop(&F);
}

Test(httpd_anonymous, sign_in_where_nothing_is_asked_is_a_plain_401)
{
    struct httpc_response r;

    httpdfix_start(&F, NULL);
    cr_assert_eq(httpc_get(F.addr, "/signin", NULL, &r), 0);
    cr_assert_eq(r.status, 401);
    cr_assert_null(httpc_header(&r, "WWW-Authenticate"));
    httpc_response_release(&r);
    httpdfix_stop(&F);
}
