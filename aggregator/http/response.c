#include "http/response.h"

#include <string.h>

#include <http_parser.h>

void response_init(struct response *rs)
{
    memset(rs, 0, sizeof(*rs));
    buf_init(&rs->zout);
}

void response_reset(struct response *rs)
{
    gzip_end(&rs->gz);
    buf_reset(&rs->zout);
    rs->head = rs->keep_alive = rs->http10 = rs->chunked = rs->gzip = 0;
    rs->headers = NULL;
}

void response_release(struct response *rs)
{
    gzip_end(&rs->gz);
    buf_release(&rs->zout);
}

const char *response_reason(int status)
{
    const char *s = http_status_str((enum http_status)status);

    return strcmp(s, "<unknown>") == 0 ? "Status" : s;
}

void response_head(struct response *rs, struct buf *wire, int status, const char *ctype, int vary,
                   int gzip, long long length, const char *extra)
{
    rs->gzip = gzip;
    rs->chunked = length < 0 && !rs->http10;
    if (length < 0 && rs->http10)
        rs->keep_alive = 0;
    buf_addf(wire, "HTTP/1.1 %d %s\r\n", status, response_reason(status));
    if (ctype)
        buf_addf(wire, "Content-Type: %s\r\n", ctype);
    if (length >= 0)
        buf_addf(wire, "Content-Length: %lld\r\n", length);
    if (rs->chunked)
        buf_adds(wire, "Transfer-Encoding: chunked\r\n");
    if (rs->gzip)
        buf_adds(wire, "Content-Encoding: gzip\r\n");
    if (vary)
        buf_adds(wire, "Vary: Accept-Encoding\r\n");
    if (extra)
        buf_adds(wire, extra);
    if (rs->headers)
        buf_adds(wire, rs->headers);
    if (!rs->keep_alive)
        buf_adds(wire, "Connection: close\r\n");
    else if (rs->http10)
        buf_adds(wire, "Connection: keep-alive\r\n");
    buf_adds(wire, "\r\n");
    if (length < 0 && rs->gzip && !rs->head)
        gzip_begin(&rs->gz);
}

void response_whole(struct response *rs, struct buf *wire, int status, const char *ctype, int vary,
                    int gzip, const void *body, size_t len, const char *extra)
{
    /* Content-Length is the compressed size, so the body is compressed first. */
    if (gzip) {
        gzip_begin(&rs->gz);
        buf_reset(&rs->zout);
        gzip_feed(&rs->gz, body, len, 1, &rs->zout);
        gzip_end(&rs->gz);
        body = rs->zout.ptr;
        len = rs->zout.len;
    }
    response_head(rs, wire, status, ctype, vary, gzip, (long long)len, extra);
    if (!rs->head)
        buf_add(wire, body, len);
    buf_reset(&rs->zout);
}

static void frame(struct response *rs, struct buf *wire, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (rs->chunked)
        buf_addf(wire, "%zx\r\n", n);
    buf_add(wire, p, n);
    if (rs->chunked)
        buf_adds(wire, "\r\n");
}

void response_piece(struct response *rs, struct buf *wire, const char *p, size_t n, int last)
{
    if (rs->gzip) {
        buf_reset(&rs->zout);
        gzip_feed(&rs->gz, p, n, last, &rs->zout);
        frame(rs, wire, rs->zout.ptr, rs->zout.len);
    } else {
        frame(rs, wire, p, n);
    }
    if (last) {
        gzip_end(&rs->gz);
        if (rs->chunked)
            buf_adds(wire, "0\r\n\r\n");
    }
}
