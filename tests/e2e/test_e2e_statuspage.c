/*
 * End to end through the real binary: the status page at "/" of every listener. Fed
 * known traffic, the page where /debug is shows the families, their counts and the
 * rejects, a hostile rejected line as text; HEAD answers GET's headers; with a bearer
 * token or basic auth, a request without credentials gets the landing part only, wrong
 * credentials 401, "/?login=1" the challenge; a listener without /debug shows the
 * landing part and where /debug is; an endpoint whose path is "/" keeps it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "statuspage_fixture.h"

static struct daemon d;
static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/ustatsd-page-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void cleanup(void)
{
    char cmd[128];

    if (d.pid != 0)
        cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
    }
}

/* GET (or HEAD) target on addr with extra headers; the response in *r. */
static void fetch(const char *addr, const char *method, const char *target, const char *headers,
                  struct httpc_response *r)
{
    struct httpc h;

    cr_assert_eq(httpc_open(&h, addr, 0), 0);
    cr_assert_eq(httpc_request(&h, method, target, headers), 0);
    cr_assert_eq(httpc_read(&h, strcmp(method, "HEAD") == 0, r), 0);
    httpc_close(&h);
}

static void assert_landing_only(const char *body)
{
    cr_assert_not_null(strstr(body, "<h1>ustatsd</h1>"), "%s", body);
    cr_assert_not_null(strstr(body, "id=\"endpoints\""), "%s", body);
    cr_assert_null(strstr(body, "checkout_orders"), "no /debug data\n%s", body);
    cr_assert_null(strstr(body, "nope:1"), "no /debug data\n%s", body);
    cr_assert_null(strstr(body, "id=\"live\""), "%s", body);
}

Test(e2e_statuspage, the_page_shows_families_counts_and_rejects_escaped, .fini = cleanup)
{
    char config[1024];
    struct httpc_response r, h;

    snprintf(config, sizeof(config), "{%s}", STATUSPAGE_FAMILIES);
    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    statuspage_feed(&d);
    fetch(d.http, "GET", "/", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(httpc_header(&r, "content-type"), "text/html; charset=utf-8");
    cr_assert_str_eq(httpc_header(&r, "cache-control"), "no-store");
    assert_live(r.body);
    cr_assert_not_null(strstr(r.body, "(this listener)"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "<a href=\"/metrics\">/metrics</a>"), "%s", r.body);
    /* The page is gzipped when asked, as /metrics is. */
    httpc_response_release(&r);
    fetch(d.http, "GET", "/", "Accept-Encoding: gzip\r\n", &r);
    cr_assert(r.gzip);
    assert_live(r.body);

    fetch(d.http, "HEAD", "/", NULL, &h);
    cr_assert_eq(h.status, 200);
    cr_assert_eq(h.body_len, 0);
    cr_assert_str_eq(httpc_header(&h, "content-type"), "text/html; charset=utf-8");
    cr_assert_not_null(httpc_header(&h, "content-length"));
    cr_assert_gt(atol(httpc_header(&h, "content-length")), 1000);
    httpc_response_release(&h);
    httpc_response_release(&r);
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

/*
 * A daemon whose /debug needs credentials: without them, "/" is the landing part (with a
 * way to sign in) and "/?login=1" the challenge; wrong ones get 401, as on /debug; right
 * ones (the header right) the live part, at either.
 */
static void guarded(const char *wrong, const char *right, const char *challenge)
{
    struct httpc_response r;

    fetch(d.http, "GET", "/", NULL, &r);
    cr_assert_eq(r.status, 200, "no Authorization: the landing part");
    assert_landing_only(r.body);
    cr_assert_not_null(strstr(r.body, "href=\"/?login=1\""), "%s", r.body);
    httpc_response_release(&r);

    fetch(d.http, "GET", "/?login=1", NULL, &r);
    cr_assert_eq(r.status, 401, "what makes a browser ask for credentials");
    cr_assert_str_eq(httpc_header(&r, "www-authenticate"), challenge);
    httpc_response_release(&r);

    fetch(d.http, "GET", "/debug?section=rejects", NULL, &r);
    cr_assert_eq(r.status, 401, "the page's guard is /debug's");
    httpc_response_release(&r);

    fetch(d.http, "GET", "/", wrong, &r);
    cr_assert_eq(r.status, 401, "wrong credentials are refused, as on /debug");
    httpc_response_release(&r);

    for (int login = 0; login < 2; login++) {
        fetch(d.http, "GET", login ? "/?login=1" : "/", right, &r);
        cr_assert_eq(r.status, 200);
        assert_live(r.body);
        httpc_response_release(&r);
    }
}

Test(e2e_statuspage, with_a_bearer_token_the_landing_part_without_it, .fini = cleanup)
{
    char config[2048];

    make_dir();
    write_file("token", "s3cret\n");
    snprintf(config, sizeof(config), "{\"daemon\": {\"bearer_token_file\": \"%s/token\"}, %s}", dir,
             STATUSPAGE_FAMILIES);
    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    statuspage_feed(&d);
    guarded("Authorization: Bearer wrong\r\n", "Authorization: Bearer s3cret\r\n", "Bearer");
}

/* alice's bcrypt hash (cost 4) of "open sesame"; alice:wrong and alice:open sesame. */
static const char alice_hash[] = "$2b$04$E9jSjqbR.XcpX1i7xQY7M.adxBDO5VUdtZxNH8LkY.aR8dUKTBeeu";

Test(e2e_statuspage, with_basic_auth_a_browser_signs_in_at_login, .fini = cleanup)
{
    char config[1024], web[128], users[160];
    const char *const args[] = { "--web.config.file", web, NULL };

    make_dir();
    snprintf(users, sizeof(users), "basic_auth_users:\n  alice: '%s'\n", alice_hash);
    write_file("web.yml", users);
    snprintf(web, sizeof(web), "%s/web.yml", dir);
    snprintf(config, sizeof(config), "{%s}", STATUSPAGE_FAMILIES);
    cr_assert_eq(daemon_start(&d, config, args), 0);
    statuspage_feed(&d);
    guarded("Authorization: Basic YWxpY2U6d3Jvbmc=\r\n",
            "Authorization: Basic YWxpY2U6b3BlbiBzZXNhbWU=\r\n",
            "Basic realm=\"ustatsd\", charset=\"UTF-8\"");
}

Test(e2e_statuspage, a_listener_without_debug_shows_the_landing_part, .fini = cleanup)
{
    char config[2048], api[128], other[128];
    struct httpc_response r;

    make_dir();
    snprintf(api, sizeof(api), "unix:%s/api.sock", dir);
    snprintf(other, sizeof(other), "unix:%s/root.sock", dir);
    snprintf(config, sizeof(config),
             "{\"endpoints\": [{\"name\": \"api\", \"listen\": \"%s\", \"path\": \"/api/metrics\"},"
             " {\"name\": \"root\", \"listen\": \"%s\", \"path\": \"/\"}], %s}",
             api, other, STATUSPAGE_FAMILIES);
    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    statuspage_feed(&d);
    fetch(api, "GET", "/", NULL, &r);
    cr_assert_eq(r.status, 200);
    assert_landing_only(r.body);
    cr_assert_not_null(strstr(r.body, "/api/metrics"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "metrics: endpoint root"), "every listener\n%s", r.body);
    cr_assert_not_null(strstr(r.body, "The live view is served with /debug, on unix:"), "%s",
                       r.body);
    httpc_response_release(&r);

    /* An endpoint whose path is "/" keeps it. */
    fetch(other, "GET", "/", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "checkout_orders_total{payment=\"card\"} 1"), "%s", r.body);
    httpc_response_release(&r);
}
