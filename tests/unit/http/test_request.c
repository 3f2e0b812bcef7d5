#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "http/request.h"

/* Limits small enough that a test request crosses them. */
#define MAX_HEADER 256
#define MAX_BODY   32

static enum request_verdict feed_all(struct request *r, const char *s, size_t *used)
{
    enum request_verdict v;

    *used = request_feed(r, s, strlen(s), &v);
    return v;
}

struct verdict_case {
    char raw[512];
    enum request_verdict verdict;
    int status;
};

ParameterizedTestParameters(request, verdicts_follow_the_limits)
{
    static struct verdict_case cases[] = {
        { "GET / HTTP/1.1\r\nHost: a\r\n\r\n", REQUEST_DONE, 0 },
        { "GET / HTTP/1.1\r\nHost: a\r\n", REQUEST_MORE, 0 },
        { "BREW / HTTP/1.1\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET / HTTP/1.1\r\nBad Header\r\n\r\n", REQUEST_REFUSED, 400 },
        /* What http-parser lets through and RFC 9110/9112 forbid. */
        { "GET / HTTP/1.1\r\nHost : a\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET / HTTP/1.1\r\nHo st: a\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET / HTTP/1.1\r\n Host: a\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET / HTTP/1.1\nHost: a\n b\n\n", REQUEST_REFUSED, 400 },
        { "GET /a\tb HTTP/1.1\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET /a\fb HTTP/1.1\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET /debug?family=a%00b HTTP/1.1\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET /debug?family=a%1fb HTTP/1.1\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET /debug?family=a%7Fb HTTP/1.1\r\n\r\n", REQUEST_REFUSED, 400 },
        { "GET /m%0a HTTP/1.1\r\n\r\n", REQUEST_REFUSED, 400 },
        /* What stays allowed: a tab in a value, OWS, bare LF ends (RFC 9112 2.2), the
         * token characters, %20 and a body line that starts with a space. */
        { "GET /debug?family=a%20b&x=%zz HTTP/1.1\r\nX-A: a\tb  \r\n\r\n", REQUEST_DONE, 0 },
        { "GET / HTTP/1.1\nHost: a\n\n", REQUEST_DONE, 0 },
        { "GET / HTTP/1.1\r\nX!#$%&'*+-.^_`|~9: a\r\n\r\n", REQUEST_DONE, 0 },
        { "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", REQUEST_DONE, 0 },
        { "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n a\r\n", REQUEST_DONE, 0 },
        { "POST / HTTP/1.1\r\nContent-Length: 33\r\n\r\n", REQUEST_REFUSED, 413 },
        { "POST / HTTP/1.1\r\nContent-Length: 32\r\n\r\n0123456789012345678901234567890!",
          REQUEST_DONE, 0 },
        { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
          "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n",
          REQUEST_REFUSED, 413 },
        { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
          REQUEST_DONE, 0 },
        { "GET / HTTP/1.1\r\nX-Big: "
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789\r\n\r\n",
          REQUEST_REFUSED, 431 },
    };

    return cr_make_param_array(struct verdict_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct verdict_case *c, request, verdicts_follow_the_limits)
{
    struct request r;
    size_t used;
    enum request_verdict v;

    request_init(&r, MAX_HEADER, MAX_BODY);
    v = feed_all(&r, c->raw, &used);
    cr_assert_eq(v, c->verdict, "%s: verdict %d", c->raw, v);
    if (v == REQUEST_REFUSED)
        cr_assert_eq(r.status, c->status, "%s: status %d", c->raw, r.status);
    if (v == REQUEST_MORE || v == REQUEST_DONE)
        cr_assert_eq(used, strlen(c->raw));
    request_release(&r);
}

Test(request, fields_of_a_complete_request)
{
    static const char raw[] = "HEAD /metrics?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n"
                              "accept: text/plain\r\nACCEPT: */*;q=0.1\r\n"
                              "Accept-Encoding: gzip\r\nAuthorization: Bearer t\r\n"
                              "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
    struct request r;
    size_t used;

    request_init(&r, 1024, MAX_BODY);
    cr_assert_eq(feed_all(&r, raw, &used), REQUEST_DONE);
    cr_assert_eq(r.method, HTTP_HEAD);
    cr_assert_eq(r.http_major, 1);
    cr_assert_eq(r.http_minor, 1);
    cr_assert_eq(r.keep_alive, 1);
    cr_assert_str_eq(r.path, "/metrics");
    cr_assert_str_eq(r.query, "x=1&y=%20");
    cr_assert_str_eq(r.accept, "text/plain, */*;q=0.1");
    cr_assert_str_eq(r.accept_encoding, "gzip");
    cr_assert_str_eq(r.authorization, "Bearer t");
    cr_assert_str_eq(r.scrape_timeout, "10");
    request_release(&r);
}

Test(request, long_header_values_are_truncated)
{
    char raw[1024];
    struct request r;
    size_t used;

    memset(raw, 0, sizeof(raw));
    strcpy(raw, "GET / HTTP/1.1\r\nAccept-Encoding: ");
    memset(raw + strlen(raw), 'g', 300);
    strcat(raw, "\r\n\r\n");
    request_init(&r, sizeof(raw), MAX_BODY);
    cr_assert_eq(feed_all(&r, raw, &used), REQUEST_DONE);
    cr_assert_eq(strlen(r.accept_encoding), REQUEST_ACCEPT_ENCODING_MAX - 1);
    cr_assert_str_eq(r.query, "");
    request_release(&r);
}

/* Credentials are never cut short: the longest that fits is kept whole, one more is 431. */
Test(request, an_authorization_too_long_to_keep_is_refused)
{
    char raw[2048], *p;
    struct request r;
    size_t used;

    for (size_t len = REQUEST_AUTHORIZATION_MAX - 2; len <= REQUEST_AUTHORIZATION_MAX; len++) {
        strcpy(raw, "GET / HTTP/1.1\r\nAuthorization: Basic ");
        p = raw + strlen(raw);
        memset(p, 'A', len - 6);
        strcpy(p + len - 6, "\r\n\r\n");
        request_init(&r, sizeof(raw), MAX_BODY);
        if (len < REQUEST_AUTHORIZATION_MAX) {
            cr_assert_eq(feed_all(&r, raw, &used), REQUEST_DONE, "len %zu", len);
            cr_assert_eq(strlen(r.authorization), len);
        } else {
            cr_assert_eq(feed_all(&r, raw, &used), REQUEST_REFUSED);
            cr_assert_eq(r.status, 431);
        }
        request_release(&r);
    }
    /* Two that fit alone but not joined. */
    memset(raw, 0, sizeof(raw));
    strcpy(raw, "GET / HTTP/1.1\r\nAuthorization: Bearer ");
    memset(raw + strlen(raw), 't', 600);
    strcat(raw, "\r\nAuthorization: Bearer ");
    memset(raw + strlen(raw), 'u', 600);
    strcat(raw, "\r\n\r\n");
    request_init(&r, sizeof(raw), MAX_BODY);
    cr_assert_eq(feed_all(&r, raw, &used), REQUEST_REFUSED);
    cr_assert_eq(r.status, 431);
    request_release(&r);
}

Test(request, pipelined_requests_come_one_at_a_time)
{
    static const char raw[] = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
    struct request r;
    size_t used, more;

    request_init(&r, MAX_HEADER, MAX_BODY);
    cr_assert_eq(feed_all(&r, raw, &used), REQUEST_DONE);
    cr_assert_eq(used, strlen("GET /a HTTP/1.1\r\n\r\n"));
    cr_assert_str_eq(r.path, "/a");
    request_next(&r);
    cr_assert_eq(r.phase, REQUEST_EMPTY);
    cr_assert_eq(feed_all(&r, raw + used, &more), REQUEST_DONE);
    cr_assert_eq(used + more, strlen(raw));
    cr_assert_str_eq(r.path, "/b");
    cr_assert_eq(r.keep_alive, 0);
    request_release(&r);
}

Test(request, byte_by_byte_reads_the_same)
{
    static const char raw[] = "GET /x?q HTTP/1.0\r\nConnection: keep-alive\r\nAccept: a/b\r\n\r\n";
    struct request r;
    enum request_verdict v = REQUEST_MORE;
    size_t i;

    request_init(&r, MAX_HEADER, MAX_BODY);
    for (i = 0; i < strlen(raw); i++) {
        cr_assert_eq(v, REQUEST_MORE);
        cr_assert_eq(request_feed(&r, raw + i, 1, &v), 1);
        cr_assert_eq(r.phase == REQUEST_EMPTY, 0);
    }
    cr_assert_eq(v, REQUEST_DONE);
    cr_assert_str_eq(r.path, "/x");
    cr_assert_str_eq(r.query, "q");
    cr_assert_str_eq(r.accept, "a/b");
    cr_assert_eq(r.http_minor, 0);
    cr_assert_eq(r.keep_alive, 1);
    request_release(&r);
}

Test(request, header_cap_counts_the_request_line)
{
    char raw[MAX_HEADER + 64];
    struct request r;
    size_t used;

    memset(raw, 0, sizeof(raw));
    strcpy(raw, "GET /");
    memset(raw + 5, 'p', MAX_HEADER);
    request_init(&r, MAX_HEADER, MAX_BODY);
    cr_assert_eq(feed_all(&r, raw, &used), REQUEST_REFUSED);
    cr_assert_eq(r.status, 431);
    cr_assert_eq(used, MAX_HEADER);
    cr_assert_eq(r.phase, REQUEST_FAILED);
    request_release(&r);
}

/*
 * http-parser refuses a NUL inside a value but passes one that starts it (found by
 * fuzz_request): refused, wherever the bytes were split.
 */
Test(request, a_nul_in_a_header_value_is_refused_however_it_arrives)
{
    static const char raw[] = "GET / HTTP/1.1\r\nAuthorization: \0Bearer tok\r\n\r\n";
    struct request r;
    enum request_verdict v = REQUEST_MORE;

    for (size_t step = 1; step <= sizeof(raw) - 1; step++) {
        size_t off = 0;

        request_init(&r, MAX_HEADER, MAX_BODY);
        while (off < sizeof(raw) - 1 && v != REQUEST_REFUSED) {
            size_t len = sizeof(raw) - 1 - off < step ? sizeof(raw) - 1 - off : step;

            off += request_feed(&r, raw + off, len, &v);
        }
        cr_assert_eq(v, REQUEST_REFUSED, "step %zu", step);
        cr_assert_eq(r.status, 400, "step %zu", step);
        request_release(&r);
        v = REQUEST_MORE;
    }
}

/* A bare CR, where a line starts or within one, is refused, whole or however it is split. */
Test(request, a_bare_cr_is_refused_however_it_arrives)
{
    static const char *const raws[] = {
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r?5\r\nhello\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost:\rH\na\r\n EAD / HTTP/1.1\r\n\r\n",
        "GET /\r HTTP/1.1\r\n\r\n",
    };

    for (size_t k = 0; k < sizeof(raws) / sizeof(raws[0]); k++) {
        size_t n = strlen(raws[k]);

        for (size_t step = 1; step <= n; step++) {
            struct request r;
            enum request_verdict v = REQUEST_MORE;
            size_t off = 0;

            request_init(&r, MAX_HEADER, MAX_BODY);
            while (off < n && v == REQUEST_MORE) {
                size_t len = n - off < step ? n - off : step;

                off += request_feed(&r, raws[k] + off, len, &v);
            }
            cr_assert_eq(v, REQUEST_REFUSED, "raw %zu step %zu", k, step);
            cr_assert_eq(r.status, 400, "raw %zu step %zu", k, step);
            request_release(&r);
        }
    }
}

/* The line-start scan carries its state across reads: a fold split from its line. */
Test(request, obs_fold_is_refused_byte_by_byte)
{
    static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n";
    struct request r;
    enum request_verdict v = REQUEST_MORE;
    size_t off = 0;

    request_init(&r, MAX_HEADER, MAX_BODY);
    while (off < sizeof(raw) - 1 && v == REQUEST_MORE)
        off += request_feed(&r, raw + off, 1, &v);
    cr_assert_eq(v, REQUEST_REFUSED);
    cr_assert_eq(r.status, 400);
    request_release(&r);
}
