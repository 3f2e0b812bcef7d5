/*
 * libFuzzer target for the HTTP request parser (request.c), the daemon's one parser of
 * TCP input. The input is the byte stream of one connection; it is read twice:
 *
 *   - whole, as the server reads a large segment: feed everything, and after each
 *     complete request, request_next() and feed the rest (pipelining);
 *   - in pieces of 1 to 7 bytes, as a slow client sends it.
 *
 * Checked: a feed never consumes more than it was given, MORE consumes everything, the
 * fields of a complete request are NUL-terminated within their bounds, the header
 * budget holds, and both readings give the same transcript (verdict, status, method,
 * version, keep-alive, path, query and the four kept headers of each request).
 * Seeds: tests/fuzz/seeds/fuzz_request/.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "base/buf.h"
#include "http/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADER   1024
#define MAX_BODY     4096
#define MAX_REQUESTS 64

static void check_fields(const struct request *r)
{
    assert(memchr(r->accept, '\0', sizeof(r->accept)) != NULL);
    assert(memchr(r->accept_encoding, '\0', sizeof(r->accept_encoding)) != NULL);
    assert(memchr(r->authorization, '\0', sizeof(r->authorization)) != NULL);
    assert(memchr(r->scrape_timeout, '\0', sizeof(r->scrape_timeout)) != NULL);
    assert(r->header_bytes <= MAX_HEADER);
}

/* One verdict into the transcript; returns whether the connection reads on. */
static int note(struct buf *t, struct request *r, enum request_verdict v)
{
    check_fields(r);
    buf_addf(t, "verdict %d\n", (int)v);
    if (v == REQUEST_REFUSED) {
        assert(r->status == 400 || r->status == 413 || r->status == 431);
        assert(r->phase == REQUEST_FAILED);
        buf_addf(t, "status %d\n", r->status);
        return 0;
    }
    if (v != REQUEST_DONE)
        return 0;
    assert(r->phase == REQUEST_COMPLETE && r->path != NULL && r->query != NULL);
    assert(strlen(r->path) + strlen(r->query) <= MAX_HEADER);
    buf_addf(t, "%d %u.%u ka=%d\n", r->method, r->http_major, r->http_minor, r->keep_alive);
    buf_addf(t, "path %s\nquery %s\n", r->path, r->query);
    buf_addf(t, "accept %s\nae %s\nauth %s\nsto %s\n", r->accept, r->accept_encoding,
             r->authorization, r->scrape_timeout);
    request_next(r);
    return 1;
}

/* Read the stream in pieces of at most step bytes (0: whole) into transcript t. */
static void read_stream(const char *p, size_t n, size_t step, struct buf *t)
{
    struct request r;
    size_t off = 0, piece = 1;
    int nreq = 0;

    request_init(&r, MAX_HEADER, MAX_BODY);
    while (off < n && nreq < MAX_REQUESTS) {
        size_t len = step == 0 || n - off < piece ? n - off : piece;
        enum request_verdict v;
        size_t used = request_feed(&r, p + off, len, &v);

        assert(used <= len);
        assert(v != REQUEST_MORE || used == len);
        off += used;
        if (step != 0)
            piece = piece % step + 1;
        if (v == REQUEST_MORE)
            continue;
        nreq++;
        if (!note(t, &r, v))
            break;
    }
    buf_addf(t, "end %d\n", nreq);
    request_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf whole = BUF_INIT, pieces = BUF_INIT;

    read_stream((const char *)data, size, 0, &whole);
    read_stream((const char *)data, size, 7, &pieces);
    if (whole.len != pieces.len || memcmp(whole.ptr, pieces.ptr, whole.len) != 0) {
        fprintf(stderr, "read whole:\n%.*s\nread in pieces:\n%.*s", (int)whole.len, whole.ptr,
                (int)pieces.len, pieces.ptr);
        abort();
    }
    buf_release(&whole);
    buf_release(&pieces);
    return 0;
}
