#include "httpc.h"

#include "http/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <zlib.h>

#define MAX_BODY (256u << 20) /* a test response larger than this is a bug */

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
    int rc;

    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    return rc == 0 ? -ETIMEDOUT : 0;
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen)
{
    memset(ss, 0, sizeof(*ss));
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)ss;

        if (strlen(addr + 5) >= sizeof(sun->sun_path))
            return -EINVAL;
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, addr + 5);
        *sslen = sizeof(*sun);
        return 0;
    }
    if (listener_parse_inet(addr, ss) != 0)
        return -EINVAL;
    *sslen = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    return 0;
}

int httpc_open(struct httpc *h, const char *addr, int timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int rc, err = 0;
    socklen_t errlen = sizeof(err);

    h->fd = -1;
    h->timeout_ms = timeout_ms > 0 ? timeout_ms : HTTPC_TIMEOUT_MS;
    buf_init(&h->in);
    rc = parse_addr(addr, &ss, &sslen);
    if (rc < 0)
        return rc;
    h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0)
        return -errno;
    if (connect(h->fd, (struct sockaddr *)&ss, sslen) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            rc = -errno;
            goto fail;
        }
        rc = wait_fd(h->fd, POLLOUT, h->timeout_ms);
        if (rc < 0)
            goto fail;
        if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0) {
            rc = err ? -err : -errno;
            goto fail;
        }
    }
    return 0;

fail:
    close(h->fd);
    h->fd = -1;
    return rc;
}

void httpc_close(struct httpc *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    buf_release(&h->in);
}

int httpc_send(struct httpc *h, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(h->fd, p, len, MSG_NOSIGNAL);

        if (n < 0) {
            int rc;

            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -errno;
            rc = wait_fd(h->fd, POLLOUT, h->timeout_ms);
            if (rc < 0)
                return rc;
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int httpc_request(struct httpc *h, const char *method, const char *target, const char *headers)
{
    struct buf b = BUF_INIT;
    int rc;

    buf_addf(&b, "%s %s HTTP/1.1\r\nHost: test\r\n%s\r\n", method, target, headers ? headers : "");
    rc = httpc_send(h, b.ptr, b.len);
    buf_release(&b);
    return rc;
}

/* Read more into h->in. Returns the byte count, 0 at EOF, or a negative errno. */
static ssize_t fill(struct httpc *h)
{
    for (;;) {
        ssize_t n;
        int rc;

        buf_grow(&h->in, 65536);
        n = recv(h->fd, h->in.ptr + h->in.len, h->in.cap - h->in.len - 1, 0);
        if (n > 0) {
            h->in.len += (size_t)n;
            h->in.ptr[h->in.len] = '\0';
            return n;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return 0;
        if (errno != EAGAIN)
            return -errno;
        rc = wait_fd(h->fd, POLLIN, h->timeout_ms);
        if (rc < 0)
            return rc;
    }
}

/* Make sure at least n bytes are buffered. */
static int need(struct httpc *h, size_t n)
{
    while (h->in.len < n) {
        ssize_t rc = fill(h);

        if (rc == 0)
            return -ECONNRESET;
        if (rc < 0)
            return (int)rc;
    }
    return 0;
}

/* Position of "\r\n" at or after from, reading more as needed. */
static int find_crlf(struct httpc *h, size_t from, size_t *at)
{
    for (;;) {
        if (h->in.len >= 2) {
            for (size_t i = from; i + 1 < h->in.len; i++) {
                if (h->in.ptr[i] == '\r' && h->in.ptr[i + 1] == '\n') {
                    *at = i;
                    return 0;
                }
            }
        }
        if (h->in.len > MAX_BODY)
            return -EPROTO;
        int rc = need(h, h->in.len + 1);
        if (rc < 0)
            return rc;
    }
}

const char *httpc_header(struct httpc_response *r, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = r->headers.ptr;
    const char *end = p + r->headers.len;

    while (p && p < end) {
        const char *eol = strstr(p, "\r\n");
        const char *v, *ve;

        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            v = p + nlen + 1;
            ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            buf_reset(&r->value);
            buf_add(&r->value, v, (size_t)(ve - v));
            buf_addch(&r->value, '\0');
            return r->value.ptr;
        }
        p = eol + 2;
    }
    return NULL;
}

static int gunzip(const char *in, size_t n, struct buf *out)
{
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return -EPROTO;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    do {
        buf_grow(out, 65536);
        z.next_out = (Bytef *)out->ptr + out->len;
        z.avail_out = (uInt)(out->cap - out->len - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        out->len = (size_t)((char *)z.next_out - out->ptr);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            return -EPROTO;
        }
        if (out->len > MAX_BODY) {
            inflateEnd(&z);
            return -EPROTO;
        }
    } while (rc != Z_STREAM_END);
    /* Nothing may follow the gzip member. */
    rc = z.avail_in == 0 ? 0 : -EPROTO;
    inflateEnd(&z);
    return rc;
}

static int read_chunked(struct httpc *h, size_t *off, struct buf *body)
{
    for (;;) {
        size_t at;
        char *end;
        unsigned long size;
        int rc = find_crlf(h, *off, &at);

        if (rc < 0)
            return rc;
        size = strtoul(h->in.ptr + *off, &end, 16);
        if (end == h->in.ptr + *off || size > MAX_BODY)
            return -EPROTO;
        *off = at + 2;
        if (size == 0) {
            /* Trailers, then an empty line. */
            for (;;) {
                rc = find_crlf(h, *off, &at);
                if (rc < 0)
                    return rc;
                if (at == *off) {
                    *off = at + 2;
                    return 0;
                }
                *off = at + 2;
            }
        }
        rc = need(h, *off + size + 2);
        if (rc < 0)
            return rc;
        if (h->in.ptr[*off + size] != '\r' || h->in.ptr[*off + size + 1] != '\n')
            return -EPROTO;
        buf_add(body, h->in.ptr + *off, size);
        *off += size + 2;
        if (body->len > MAX_BODY)
            return -EPROTO;
    }
}

/* Wait for the blank line ending the head; *hdr_end is where its "\r\n\r\n" starts. */
static int read_head(struct httpc *h, size_t *hdr_end)
{
    for (;;) {
        char *p = h->in.ptr ? strstr(h->in.ptr, "\r\n\r\n") : NULL;
        int rc;

        if (p) {
            *hdr_end = (size_t)(p - h->in.ptr);
            return 0;
        }
        if (h->in.len > 1 << 20)
            return -EPROTO;
        rc = need(h, h->in.len + 1);
        if (rc < 0)
            return rc;
    }
}

/* Parse the status line ("HTTP/1.1 200 OK") and copy the header lines into r. */
static int parse_head(const struct httpc *h, size_t hdr_end, struct httpc_response *r)
{
    const char *eol;
    char *end;
    size_t start;
    int minor, status;

    if (hdr_end < 12 || strncmp(h->in.ptr, "HTTP/1.", 7) != 0 || h->in.ptr[8] != ' ')
        return -EPROTO;
    minor = h->in.ptr[7] - '0';
    status = (int)strtol(h->in.ptr + 9, &end, 10);
    if (minor < 0 || minor > 9 || end != h->in.ptr + 12 || status < 100 || status > 999)
        return -EPROTO;
    r->status = status;
    r->http_minor = minor;
    eol = strstr(h->in.ptr, "\r\n");
    start = (size_t)(eol - h->in.ptr) + 2;
    if (start < hdr_end + 2)
        buf_add(&r->headers, h->in.ptr + start, hdr_end + 2 - start);
    return 0;
}

/* A body of Content-Length cl bytes at *off. */
static int read_sized(struct httpc *h, const char *cl, size_t *off, struct buf *body)
{
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    int rc;

    if (*end != '\0' || n > MAX_BODY)
        return -EPROTO;
    rc = need(h, *off + (size_t)n);
    if (rc < 0)
        return rc;
    buf_add(body, h->in.ptr + *off, (size_t)n);
    *off += (size_t)n;
    return 0;
}

/* A body delimited by the server closing the connection. */
static int read_until_close(struct httpc *h, size_t *off, struct buf *body)
{
    ssize_t n;

    while ((n = fill(h)) > 0)
        if (h->in.len > MAX_BODY)
            return -EPROTO;
    if (n < 0)
        return (int)n;
    buf_add(body, h->in.ptr + *off, h->in.len - *off);
    *off = h->in.len;
    return 0;
}

/* Read the body that r's head announces, from *off, into body (still encoded). */
static int read_body(struct httpc *h, int head, struct httpc_response *r, size_t *off,
                     struct buf *body)
{
    const char *te = httpc_header(r, "Transfer-Encoding");
    const char *cl;

    r->chunked = te && strcasecmp(te, "chunked") == 0;
    if (head || r->status == 204 || r->status == 304 || r->status / 100 == 1)
        return 0;
    if (r->chunked)
        return read_chunked(h, off, body);
    cl = httpc_header(r, "Content-Length");
    if (cl)
        return read_sized(h, cl, off, body);
    r->until_close = 1;
    return read_until_close(h, off, body);
}

/* Gunzip *body in place when r says it is gzip-encoded. */
static int decode_body(int head, struct httpc_response *r, struct buf *body)
{
    const char *ce = httpc_header(r, "Content-Encoding");
    struct buf plain = BUF_INIT;
    int rc;

    if (head || ce == NULL || strcasecmp(ce, "gzip") != 0)
        return 0;
    rc = gunzip(body->ptr ? body->ptr : "", body->len, &plain);
    buf_release(body);
    if (rc < 0) {
        buf_release(&plain);
        return rc;
    }
    *body = plain;
    r->gzip = 1;
    return 0;
}

int httpc_read(struct httpc *h, int head, struct httpc_response *r)
{
    struct buf body = BUF_INIT;
    size_t hdr_end = 0, off;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = read_head(h, &hdr_end);
    if (rc < 0)
        return rc;
    rc = parse_head(h, hdr_end, r);
    if (rc < 0)
        goto fail;
    off = hdr_end + 4;
    rc = read_body(h, head, r, &off, &body);
    if (rc < 0)
        goto fail;
    buf_consume(&h->in, off);
    r->wire_len = body.len;
    rc = decode_body(head, r, &body);
    if (rc < 0)
        goto fail;
    r->body = buf_detach(&body, &r->body_len);
    return 0;

fail:
    buf_release(&body);
    buf_release(&r->headers);
    buf_release(&r->value);
    memset(r, 0, sizeof(*r));
    return rc;
}

long httpc_recv(struct httpc *h, void *buf, size_t len)
{
    ssize_t n;

    if (h->in.len == 0) {
        n = fill(h);
        if (n <= 0)
            return (long)n;
    }
    n = (ssize_t)(h->in.len < len ? h->in.len : len);
    memcpy(buf, h->in.ptr, (size_t)n);
    buf_consume(&h->in, (size_t)n);
    return (long)n;
}

int httpc_wait_closed(struct httpc *h, int timeout_ms)
{
    int saved = h->timeout_ms;
    ssize_t n;

    h->timeout_ms = timeout_ms;
    while ((n = fill(h)) > 0)
        buf_reset(&h->in);
    h->timeout_ms = saved;
    return n == 0 ? 0 : (int)n;
}

void httpc_response_release(struct httpc_response *r)
{
    buf_release(&r->headers);
    buf_release(&r->value);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int httpc_get(const char *addr, const char *target, const char *headers, struct httpc_response *r)
{
    struct httpc h;
    struct buf hdr = BUF_INIT;
    int rc = httpc_open(&h, addr, 0);

    if (rc < 0) {
        httpc_close(&h);
        return rc;
    }
    buf_addf(&hdr, "Connection: close\r\n%s", headers ? headers : "");
    rc = httpc_request(&h, "GET", target, hdr.ptr);
    if (rc == 0)
        rc = httpc_read(&h, 0, r);
    buf_release(&hdr);
    httpc_close(&h);
    return rc;
}
