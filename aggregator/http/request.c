#include "http/request.h"
#include "base/common.h"
#include "base/query.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

static int on_url(http_parser *p, const char *at, size_t n);
static int on_header_field(http_parser *p, const char *at, size_t n);
static int on_header_value(http_parser *p, const char *at, size_t n);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t n);
static int on_message_complete(http_parser *p);

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* The scan of line starts in the head, across reads (scan_lines()). */
enum line {
    LINE_FIRST,   /* before the request line: http-parser skips empty lines there */
    LINE_REQUEST, /* in the request line */
    LINE_START,   /* at the start of a header line */
    LINE_CR,      /* a CR at the start of a line: the head may be ending */
    LINE_IN,      /* in a header line */
    LINE_IN_CR,   /* a CR in a line: it must end the line */
    LINE_END,     /* past the empty line that ends the head */
};

static void clear(struct request *r)
{
    r->phase = REQUEST_EMPTY;
    r->status = 0;
    r->path = NULL;
    r->query = NULL;
    r->header_bytes = 0;
    r->body_bytes = 0;
    buf_reset(&r->url);
    r->field_len = 0;
    r->in_value = 0;
    r->line = LINE_FIRST;
    r->slot = REQUEST_SLOT_NONE;
    r->accept[0] = r->accept_encoding[0] = r->authorization[0] = r->scrape_timeout[0] = '\0';
}

void request_init(struct request *r, size_t max_header_bytes, size_t max_body_bytes)
{
    assert(max_header_bytes > 0 && max_body_bytes > 0);
    memset(r, 0, sizeof(*r));
    buf_init(&r->url);
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->max_header_bytes = max_header_bytes;
    r->max_body_bytes = max_body_bytes;
    clear(r);
}

void request_release(struct request *r)
{
    buf_release(&r->url);
}

void request_next(struct request *r)
{
    clear(r);
    http_parser_pause(&r->parser, 0);
}

static struct request *parser_request(http_parser *p)
{
    return container_of(p, struct request, parser);
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    buf_add(&parser_request(p)->url, at, n);
    return 0;
}

static char *slot_buf(struct request *r, size_t *size)
{
    switch (r->slot) {
    case REQUEST_SLOT_ACCEPT:
        *size = sizeof(r->accept);
        return r->accept;
    case REQUEST_SLOT_ACCEPT_ENCODING:
        *size = sizeof(r->accept_encoding);
        return r->accept_encoding;
    case REQUEST_SLOT_AUTHORIZATION:
        *size = sizeof(r->authorization);
        return r->authorization;
    case REQUEST_SLOT_SCRAPE:
        *size = sizeof(r->scrape_timeout);
        return r->scrape_timeout;
    case REQUEST_SLOT_NONE:
        break;
    }
    *size = 0;
    return NULL;
}

/* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. */
static int is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

int request_is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* A control byte: C0 and DEL. Header values may hold HTAB (RFC 9110 5.5), nothing else. */
static int is_ctl(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

static int refuse(struct request *r)
{
    r->status = 400;
    return -1;
}

/*
 * http-parser lets a space into a field name ("Host : x", "Ho st: x"): the name must be a
 * token (RFC 9112 5.1: no whitespace between the name and the colon; a server must answer
 * 400), so the parser's leniency stops here.
 */
static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct request *r = parser_request(p);

    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)at[i]))
            return refuse(r);
    /* http-parser may split a name across reads: collect it until the value starts. */
    if (r->in_value) {
        r->in_value = 0;
        r->field_len = 0;
    }
    if (r->field_len + n >= sizeof(r->field)) {
        r->field_len = sizeof(r->field); /* too long to be one we keep */
        return 0;
    }
    memcpy(r->field + r->field_len, at, n);
    r->field_len += n;
    return 0;
}

/* Append to a kept value, truncated to its array. Returns whether all of s fit. */
static int append_bounded(char *dst, size_t size, const char *s, size_t n)
{
    size_t len = strlen(dst);
    int fit = n <= size - 1 - len;

    if (!fit)
        n = size - 1 - len;
    memcpy(dst + len, s, n);
    dst[len + n] = '\0';
    return fit;
}

/*
 * A kept value did not fit. Accept and the others are read by their prefix, which is all
 * that matters of them; credentials cut short would be checked as some other credential,
 * so a request with a longer Authorization is refused whole: 431.
 */
static int credentials_too_long(struct request *r)
{
    if (r->slot != REQUEST_SLOT_AUTHORIZATION)
        return 0;
    r->status = 431;
    return -1;
}

static enum request_slot slot_of(const char *field)
{
    if (strcasecmp(field, "Accept") == 0)
        return REQUEST_SLOT_ACCEPT;
    if (strcasecmp(field, "Accept-Encoding") == 0)
        return REQUEST_SLOT_ACCEPT_ENCODING;
    if (strcasecmp(field, "Authorization") == 0)
        return REQUEST_SLOT_AUTHORIZATION;
    if (strcasecmp(field, "X-Prometheus-Scrape-Timeout-Seconds") == 0)
        return REQUEST_SLOT_SCRAPE;
    return REQUEST_SLOT_NONE;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct request *r = parser_request(p);
    size_t size;
    char *dst;

    /* http-parser refuses most control bytes in a value, but passes a NUL that starts one
     * ("Authorization: \0Bearer t", found by fuzz_request). */
    for (size_t i = 0; i < n; i++)
        if (is_ctl((unsigned char)at[i]) && at[i] != '\t')
            return refuse(r);
    if (!r->in_value) {
        r->in_value = 1;
        r->slot = REQUEST_SLOT_NONE;
        if (r->field_len < sizeof(r->field)) {
            r->field[r->field_len] = '\0';
            r->slot = slot_of(r->field);
        }
        dst = slot_buf(r, &size);
        if (dst && dst[0] != '\0' && !append_bounded(dst, size, ", ", 2)) /* RFC 9110 5.3 */
            return credentials_too_long(r);
    }
    dst = slot_buf(r, &size);
    if (dst && !append_bounded(dst, size, at, n))
        return credentials_too_long(r);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct request *r = parser_request(p);

    r->phase = REQUEST_BODY;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > r->max_body_bytes) {
        r->status = 413;
        return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct request *r = parser_request(p);

    (void)at;
    r->body_bytes += n;
    if (r->body_bytes > r->max_body_bytes) {
        r->status = 413;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct request *r = parser_request(p);

    r->phase = REQUEST_COMPLETE;
    r->keep_alive = http_should_keep_alive(p);
    /* Stop at the message boundary: the next pipelined request waits for this response. */
    http_parser_pause(p, 1);
    return 0;
}

/* The verdict's fields: the version as parsed so far, and for DONE the target split. */
static enum request_verdict finish(struct request *r, enum request_verdict v, int status)
{
    char *q;

    r->method = (int)r->parser.method;
    r->http_major = r->parser.http_major;
    r->http_minor = r->parser.http_minor;
    buf_addch(&r->url, '\0'); /* a path and a query, both NUL-terminated */
    /* http-parser passes a raw HTAB or FF in the target; %00 would shorten a parameter. */
    if (v == REQUEST_DONE && query_has_ctl(r->url.ptr, r->url.len - 1)) {
        v = REQUEST_REFUSED;
        status = 400;
    }
    if (v != REQUEST_DONE) {
        r->phase = REQUEST_FAILED;
        r->status = status;
        return v;
    }
    q = memchr(r->url.ptr, '?', r->url.len);
    if (q)
        *q++ = '\0';
    r->path = r->url.ptr;
    r->query = q ? q : "";
    return v;
}

/* What an http-parser error means for the client. */
static enum request_verdict failure(struct request *r, enum http_errno e)
{
    if (r->status == 413 || r->status == 431) /* a callback's own refusal */
        return finish(r, REQUEST_REFUSED, r->status);
    if (e == HPE_CLOSED_CONNECTION)
        return finish(r, REQUEST_EOF, 0);
    if (e == HPE_HEADER_OVERFLOW)
        return finish(r, REQUEST_REFUSED, 431);
    return finish(r, REQUEST_REFUSED, 400);
}

/*
 * Whitespace at the start of a header line is obs-fold (a value continued, RFC 9112 5.2)
 * or a name that starts with a space, and http-parser takes both. A server must refuse
 * obs-fold with 400 or unfold it: both are refused. So is a bare CR (RFC 9112 2.2: one
 * not followed by LF), where http-parser may end a line or the head while this scan would
 * not: then the two would disagree on where the head ends, and a read split differently
 * would be judged differently (found by fuzz_request). Returns -1 at such a byte.
 *
 *   GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n
 *                              ^
 */
static int scan_lines(struct request *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n && r->line != LINE_END; i++) {
        char ch = p[i];

        switch (r->line) {
        case LINE_FIRST:
            if (ch != '\r' && ch != '\n')
                r->line = LINE_REQUEST;
            break;
        case LINE_START:
            if (ch == ' ' || ch == '\t')
                return -1;
            r->line = ch == '\r' ? LINE_CR : ch == '\n' ? LINE_END : LINE_IN;
            break;
        case LINE_CR:
            /* A bare CR there is invalid (RFC 9112 2.2), and http-parser would end the
             * head at it while this scan went on into the body: refused, as a read split
             * after it would see it too (found by fuzz_request). */
            if (ch != '\n')
                return -1;
            r->line = LINE_END;
            break;
        case LINE_IN_CR:
            if (ch != '\n')
                return -1;
            r->line = LINE_START;
            break;
        default:
            if (ch == '\n')
                r->line = LINE_START;
            else if (ch == '\r')
                r->line = LINE_IN_CR;
            break;
        }
    }
    return 0;
}

/*
 * The header cap is ours, per server, rather than http_parser_set_max_header_size()'s,
 * which is process-wide: the parser never sees more than the budget left.
 */
size_t request_feed(struct request *r, const char *data, size_t len, enum request_verdict *verdict)
{
    size_t off = 0;

    assert(r->phase == REQUEST_EMPTY || r->phase == REQUEST_HEADERS || r->phase == REQUEST_BODY);
    if (len > 0 && r->phase == REQUEST_EMPTY)
        r->phase = REQUEST_HEADERS;
    while (off < len) {
        size_t chunk = len - off, n;
        int in_headers = r->phase == REQUEST_HEADERS;
        enum http_errno e;

        if (in_headers) {
            size_t budget = r->max_header_bytes - r->header_bytes;

            if (budget == 0) {
                *verdict = finish(r, REQUEST_REFUSED, 431);
                return off;
            }
            if (chunk > budget)
                chunk = budget;
            if (scan_lines(r, data + off, chunk) != 0) {
                *verdict = finish(r, REQUEST_REFUSED, 400);
                return off;
            }
        }
        n = http_parser_execute(&r->parser, &parser_settings, data + off, chunk);
        if (in_headers && r->phase == REQUEST_HEADERS)
            r->header_bytes += n;
        off += n;
        e = HTTP_PARSER_ERRNO(&r->parser);
        if (e == HPE_PAUSED) {
            assert(r->phase == REQUEST_COMPLETE);
            *verdict = finish(r, REQUEST_DONE, 0);
            return off;
        }
        if (e != HPE_OK) {
            *verdict = failure(r, e);
            return off;
        }
    }
    *verdict = REQUEST_MORE;
    return off;
}
