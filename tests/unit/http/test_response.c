#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/buf.h"
#include "http/response.h"

static struct response rs;
static struct buf wire;

static void setup(void)
{
    response_init(&rs);
    buf_init(&wire);
}

static void teardown(void)
{
    response_release(&rs);
    buf_release(&wire);
}

TestSuite(response, .init = setup, .fini = teardown);

/* wire holds exactly want, byte for byte. */
static void expect_wire(const char *want)
{
    size_t n = strlen(want);

    cr_assert_eq(wire.len, n, "wire has %zu bytes, want %zu:\n%.*s", wire.len, n, (int)wire.len,
                 wire.ptr ? wire.ptr : "");
    cr_assert_eq(memcmp(wire.ptr, want, n), 0, "wire:\n%.*s\nwant:\n%s", (int)wire.len, wire.ptr,
                 want);
}

/* The offset of the body in wire, just past the blank line that ends the head. */
static size_t body_offset(void)
{
    for (size_t i = 0; i + 4 <= wire.len; i++)
        if (memcmp(wire.ptr + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    cr_assert_fail("no end of head in:\n%.*s", (int)wire.len, wire.ptr ? wire.ptr : "");
    return 0;
}

/* Inflate the gzip member of n bytes at p into out, which must be empty. */
static void gunzip(const char *p, size_t n, struct buf *out)
{
    z_stream z;
    char chunk[256];
    int rc;

    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    do {
        z.next_out = (Bytef *)chunk;
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        cr_assert(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
        buf_add(out, chunk, sizeof chunk - z.avail_out);
    } while (rc != Z_STREAM_END);
    cr_assert_eq(z.avail_in, 0, "%u bytes after the gzip member", z.avail_in);
    inflateEnd(&z);
}

/* The head in wire, up to and with the blank line, is exactly want. */
static void expect_head(const char *want)
{
    size_t off = body_offset();

    cr_assert_eq(off, strlen(want), "head:\n%.*s", (int)off, wire.ptr);
    cr_assert_eq(memcmp(wire.ptr, want, off), 0, "head:\n%.*s", (int)off, wire.ptr);
}

/* The body in wire, after the head, is one gzip member that inflates to want. */
static void expect_gzip_body(const char *want)
{
    struct buf plain = BUF_INIT;
    size_t off = body_offset();

    gunzip(wire.ptr + off, wire.len - off, &plain);
    cr_assert_eq(plain.len, strlen(want), "inflated %zu bytes, want %zu", plain.len, strlen(want));
    cr_assert(plain.len == 0 || memcmp(plain.ptr, want, plain.len) == 0, "inflated:\n%.*s",
              (int)plain.len, plain.ptr);
    buf_release(&plain);
}

/* Undo chunked framing of the n bytes at p into out; the last chunk must end them. */
static void dechunk(const char *p, size_t n, struct buf *out)
{
    const char *end = p + n;

    for (;;) {
        char *eol;
        unsigned long size = strtoul(p, &eol, 16);

        cr_assert(eol > p && eol + 2 <= end && memcmp(eol, "\r\n", 2) == 0, "bad chunk size");
        p = eol + 2;
        if (size == 0)
            break;
        cr_assert_leq(size, (unsigned long)(end - p - 2), "chunk runs past the wire");
        buf_add(out, p, size);
        p += size;
        cr_assert_eq(memcmp(p, "\r\n", 2), 0, "chunk not followed by CRLF");
        p += 2;
    }
    cr_assert_eq(end - p, 2, "bytes after the last chunk");
    cr_assert_eq(memcmp(p, "\r\n", 2), 0);
}

Test(response, reason_phrases_for_known_codes_and_status_for_others)
{
    static const struct {
        int status;
        const char *reason;
    } cases[] = {
        { 200, "OK" },
        { 204, "No Content" },
        { 304, "Not Modified" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 413, "Payload Too Large" },
        { 429, "Too Many Requests" },
        { 500, "Internal Server Error" },
        { 503, "Service Unavailable" },
        { 0, "Status" },
        { 299, "Status" },
        { 599, "Status" },
        { 999, "Status" },
        { -1, "Status" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_str_eq(response_reason(cases[i].status), cases[i].reason, "status %d",
                         cases[i].status);
}

/*
 * One-shot responses without gzip. Connection: close unless keep_alive; keep-alive is said
 * only to an HTTP/1.0 client; vary and extra lines come after the framing headers.
 */
Test(response, whole_responses_byte_for_byte)
{
    static const struct {
        int keep_alive, http10, status;
        const char *ctype;
        int vary;
        const char *body, *extra, *want;
    } cases[] = {
        { 1, 0, 200, "text/plain", 0, "hello\n", NULL,
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/plain\r\n"
          "Content-Length: 6\r\n"
          "\r\n"
          "hello\n" },
        { 0, 0, 404, "text/plain", 0, "404 Not Found\n", NULL,
          "HTTP/1.1 404 Not Found\r\n"
          "Content-Type: text/plain\r\n"
          "Content-Length: 14\r\n"
          "Connection: close\r\n"
          "\r\n"
          "404 Not Found\n" },
        { 1, 1, 200, NULL, 0, "x", NULL,
          "HTTP/1.1 200 OK\r\n"
          "Content-Length: 1\r\n"
          "Connection: keep-alive\r\n"
          "\r\n"
          "x" },
        { 0, 1, 200, NULL, 0, "x", NULL,
          "HTTP/1.1 200 OK\r\n"
          "Content-Length: 1\r\n"
          "Connection: close\r\n"
          "\r\n"
          "x" },
        { 1, 0, 204, NULL, 0, "", NULL,
          "HTTP/1.1 204 No Content\r\n"
          "Content-Length: 0\r\n"
          "\r\n" },
        { 1, 0, 299, NULL, 0, "", NULL,
          "HTTP/1.1 299 Status\r\n"
          "Content-Length: 0\r\n"
          "\r\n" },
        { 1, 0, 200, "text/plain", 1, "ok", NULL,
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/plain\r\n"
          "Content-Length: 2\r\n"
          "Vary: Accept-Encoding\r\n"
          "\r\n"
          "ok" },
        { 0, 0, 401, "text/plain", 1, "no\n",
          "WWW-Authenticate: Basic realm=\"ustatsd\"\r\nX-Test: 1\r\n",
          "HTTP/1.1 401 Unauthorized\r\n"
          "Content-Type: text/plain\r\n"
          "Content-Length: 3\r\n"
          "Vary: Accept-Encoding\r\n"
          "WWW-Authenticate: Basic realm=\"ustatsd\"\r\n"
          "X-Test: 1\r\n"
          "Connection: close\r\n"
          "\r\n"
          "no\n" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        response_reset(&rs);
        buf_reset(&wire);
        rs.keep_alive = cases[i].keep_alive;
        rs.http10 = cases[i].http10;
        response_whole(&rs, &wire, cases[i].status, cases[i].ctype, cases[i].vary, 0, cases[i].body,
                       strlen(cases[i].body), cases[i].extra);
        cr_assert_eq(rs.keep_alive, cases[i].keep_alive, "case %zu", i);
        cr_assert_eq(rs.chunked, 0, "case %zu", i);
        cr_assert_eq(rs.gzip, 0, "case %zu", i);
        expect_wire(cases[i].want);
    }
}

Test(response, whole_empty_body_may_be_null)
{
    rs.keep_alive = 1;
    response_whole(&rs, &wire, 204, NULL, 0, 0, NULL, 0, NULL);
    expect_wire("HTTP/1.1 204 No Content\r\n"
                "Content-Length: 0\r\n"
                "\r\n");
}

Test(response, head_writes_the_headers_and_content_length_but_no_body)
{
    struct buf get = BUF_INIT;

    rs.keep_alive = 1;
    response_whole(&rs, &get, 200, "text/plain", 0, 0, "hello\n", 6, NULL);
    response_reset(&rs);

    rs.keep_alive = 1;
    rs.head = 1;
    response_whole(&rs, &wire, 200, "text/plain", 0, 0, "hello\n", 6, NULL);
    expect_wire("HTTP/1.1 200 OK\r\n"
                "Content-Type: text/plain\r\n"
                "Content-Length: 6\r\n"
                "\r\n");
    cr_assert_eq(get.len, wire.len + 6);
    cr_assert_eq(memcmp(get.ptr, wire.ptr, wire.len), 0, "HEAD and GET heads differ");
    buf_release(&get);
}

Test(response, head_of_gzip_has_the_compressed_content_length)
{
    static const char body[] = "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc";
    struct buf get = BUF_INIT;

    rs.keep_alive = 1;
    response_whole(&rs, &get, 200, "text/plain", 1, 1, body, sizeof body - 1, NULL);
    response_reset(&rs);

    rs.keep_alive = 1;
    rs.head = 1;
    response_whole(&rs, &wire, 200, "text/plain", 1, 1, body, sizeof body - 1, NULL);
    cr_assert_eq(body_offset(), wire.len, "HEAD wrote body bytes");
    cr_assert_lt(wire.len, get.len);
    cr_assert_eq(memcmp(get.ptr, wire.ptr, wire.len), 0, "HEAD and GET heads differ");
    buf_release(&get);
}

Test(response, whole_gzip_adds_content_encoding_and_inflates_to_the_body)
{
    static const char body[] = "# TYPE a counter\na_total 1\na_total 1\na_total 1\na_total 1\n";
    char head[256];
    size_t off;

    rs.keep_alive = 1;
    response_whole(&rs, &wire, 200, "text/plain", 1, 1, body, sizeof body - 1, NULL);
    off = body_offset();
    cr_assert_eq(rs.gzip, 1);
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\n"
             "Content-Type: text/plain\r\n"
             "Content-Length: %zu\r\n"
             "Content-Encoding: gzip\r\n"
             "Vary: Accept-Encoding\r\n"
             "\r\n",
             wire.len - off);
    expect_head(head);
    expect_gzip_body(body);
}

Test(response, whole_gzip_of_an_empty_body_is_an_empty_member)
{
    rs.keep_alive = 1;
    response_whole(&rs, &wire, 200, NULL, 0, 1, NULL, 0, NULL);
    cr_assert_gt(wire.len, body_offset(), "an empty gzip member still has a header and trailer");
    expect_gzip_body("");
}

/*
 * Streamed bodies without gzip: an HTTP/1.1 stream is chunked (an empty piece writes no
 * chunk, which would end the body) and ends with the zero chunk; an HTTP/1.0 stream is
 * the bare bytes, ended by close.
 */
Test(response, streams_are_chunked_for_http11_and_close_delimited_for_http10)
{
    static const struct {
        int keep_alive, http10;
        const char *ctype;
        const char *pieces[4]; /* up to a NULL; the last one ends the body */
        int want_keep_alive, want_chunked;
        const char *want;
    } cases[] = {
        { 1,
          0,
          "text/plain",
          { "hello\n", "", "abcdefghijklmnopqrstuvwxyz", "!" },
          1,
          1,
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/plain\r\n"
          "Transfer-Encoding: chunked\r\n"
          "\r\n"
          "6\r\nhello\n\r\n"
          "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
          "1\r\n!\r\n"
          "0\r\n\r\n" },
        { 0,
          0,
          NULL,
          { "ab", "" },
          0,
          1,
          "HTTP/1.1 200 OK\r\n"
          "Transfer-Encoding: chunked\r\n"
          "Connection: close\r\n"
          "\r\n"
          "2\r\nab\r\n"
          "0\r\n\r\n" },
        { 1,
          1,
          "text/plain",
          { "hello\n", "bye\n" },
          0,
          0,
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/plain\r\n"
          "Connection: close\r\n"
          "\r\n"
          "hello\n"
          "bye\n" },
        { 0,
          1,
          NULL,
          { "" },
          0,
          0,
          "HTTP/1.1 200 OK\r\n"
          "Connection: close\r\n"
          "\r\n" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *pieces = cases[i].pieces;

        response_reset(&rs);
        buf_reset(&wire);
        rs.keep_alive = cases[i].keep_alive;
        rs.http10 = cases[i].http10;
        response_head(&rs, &wire, 200, cases[i].ctype, 0, 0, -1, NULL);
        cr_assert_eq(rs.keep_alive, cases[i].want_keep_alive, "case %zu", i);
        cr_assert_eq(rs.chunked, cases[i].want_chunked, "case %zu", i);
        for (size_t j = 0; j < 4 && pieces[j]; j++)
            response_piece(&rs, &wire, pieces[j], strlen(pieces[j]), j == 3 || !pieces[j + 1]);
        expect_wire(cases[i].want);
    }
}

Test(response, head_with_a_known_length_keeps_http10_keep_alive)
{
    rs.keep_alive = 1;
    rs.http10 = 1;
    response_head(&rs, &wire, 200, NULL, 0, 0, 1234, NULL);
    cr_assert_eq(rs.keep_alive, 1);
    cr_assert_eq(rs.chunked, 0);
    expect_wire("HTTP/1.1 200 OK\r\n"
                "Content-Length: 1234\r\n"
                "Connection: keep-alive\r\n"
                "\r\n");
}

Test(response, http11_gzip_stream_is_chunked_and_inflates_to_the_pieces)
{
    static const char *pieces[] = { "# TYPE a counter\n", "", "a_total 1\n", "a_total 2\n" };
    size_t np = sizeof pieces / sizeof pieces[0], off;
    struct buf zipped = BUF_INIT, plain = BUF_INIT;

    rs.keep_alive = 1;
    response_head(&rs, &wire, 200, "text/plain", 1, 1, -1, NULL);
    cr_assert_eq(rs.gzip, 1);
    cr_assert_eq(rs.chunked, 1);
    for (size_t i = 0; i < np; i++)
        response_piece(&rs, &wire, pieces[i], strlen(pieces[i]), i == np - 1);
    expect_head("HTTP/1.1 200 OK\r\n"
                "Content-Type: text/plain\r\n"
                "Transfer-Encoding: chunked\r\n"
                "Content-Encoding: gzip\r\n"
                "Vary: Accept-Encoding\r\n"
                "\r\n");
    off = body_offset();
    dechunk(wire.ptr + off, wire.len - off, &zipped);
    gunzip(zipped.ptr, zipped.len, &plain);
    cr_assert_eq(plain.len, strlen("# TYPE a counter\na_total 1\na_total 2\n"));
    cr_assert_eq(memcmp(plain.ptr, "# TYPE a counter\na_total 1\na_total 2\n", plain.len), 0);
    buf_release(&zipped);
    buf_release(&plain);
}

Test(response, http10_gzip_stream_is_one_member_up_to_the_close)
{
    rs.keep_alive = 1;
    rs.http10 = 1;
    response_head(&rs, &wire, 200, NULL, 0, 1, -1, NULL);
    response_piece(&rs, &wire, "one\n", 4, 0);
    response_piece(&rs, &wire, "two\n", 4, 1);
    expect_head("HTTP/1.1 200 OK\r\n"
                "Content-Encoding: gzip\r\n"
                "Connection: close\r\n"
                "\r\n");
    expect_gzip_body("one\ntwo\n");
}

Test(response, head_of_a_stream_writes_only_the_headers)
{
    rs.keep_alive = 1;
    rs.head = 1;
    response_head(&rs, &wire, 200, "text/plain", 1, 1, -1, NULL);
    expect_wire("HTTP/1.1 200 OK\r\n"
                "Content-Type: text/plain\r\n"
                "Transfer-Encoding: chunked\r\n"
                "Content-Encoding: gzip\r\n"
                "Vary: Accept-Encoding\r\n"
                "\r\n");
}

Test(response, reset_clears_the_fields_between_two_responses)
{
    rs.keep_alive = 1;
    rs.http10 = 1;
    rs.head = 1;
    response_head(&rs, &wire, 200, NULL, 0, 1, -1, NULL);
    response_reset(&rs);
    cr_assert_eq(rs.head, 0);
    cr_assert_eq(rs.keep_alive, 0);
    cr_assert_eq(rs.http10, 0);
    cr_assert_eq(rs.chunked, 0);
    cr_assert_eq(rs.gzip, 0);

    buf_reset(&wire);
    rs.keep_alive = 1;
    response_whole(&rs, &wire, 200, NULL, 0, 0, "ok", 2, NULL);
    expect_wire("HTTP/1.1 200 OK\r\n"
                "Content-Length: 2\r\n"
                "\r\n"
                "ok");
}

Test(response, reset_abandons_a_gzip_stream_half_way)
{
    rs.keep_alive = 1;
    response_head(&rs, &wire, 200, NULL, 0, 1, -1, NULL);
    response_piece(&rs, &wire, "half of a body", 14, 0);
    response_reset(&rs);

    /* A second gzip stream on the same struct starts a fresh member. */
    buf_reset(&wire);
    rs.http10 = 1;
    response_head(&rs, &wire, 200, NULL, 0, 1, -1, NULL);
    response_piece(&rs, &wire, "second", 6, 1);
    expect_gzip_body("second");
}

Test(response, reset_after_a_whole_response_with_gzip)
{
    rs.keep_alive = 1;
    response_whole(&rs, &wire, 200, NULL, 0, 1, "first", 5, NULL);
    response_reset(&rs);

    buf_reset(&wire);
    rs.keep_alive = 1;
    response_whole(&rs, &wire, 200, NULL, 0, 1, "second", 6, NULL);
    expect_gzip_body("second");
}

Test(response, head_appends_to_what_wire_already_holds)
{
    buf_adds(&wire, "previous");
    rs.keep_alive = 1;
    response_whole(&rs, &wire, 200, NULL, 0, 0, "ok", 2, NULL);
    expect_wire("previous"
                "HTTP/1.1 200 OK\r\n"
                "Content-Length: 2\r\n"
                "\r\n"
                "ok");
}
