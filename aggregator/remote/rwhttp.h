/*
 * rwhttp: the POSTs of remote write bodies, through libcurl's multi interface driven by the
 * daemon's loop: a uv_poll_t per socket libcurl opens and one uv_timer_t for its timeouts
 * (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION, curl_multi_socket_action), so a
 * receiver that is slow, silent or far away never holds the loop: connecting, the TLS
 * handshake, sending and waiting all happen between the loop's other work.
 *
 * Each request carries the headers remote write 1.0 requires (Content-Encoding: snappy,
 * Content-Type: application/x-protobuf, X-Prometheus-Remote-Write-Version: 0.1.0,
 * User-Agent: ustatsd/<version>), the target's own, and its credentials as Prometheus's
 * remote_write spells them: a bearer token file or a basic auth password file, read at
 * each request (a rotated secret is used from the next one; white space trimmed; a token
 * with a control character inside, which would break the header, fails the request), and
 * TLS with a CA file, a client certificate, server_name (SNI and the name checked; the
 * Host header stays the URL's) and insecure_skip_verify. Proxies from the environment are
 * not used (Prometheus's default), nor are redirects followed: a 3xx is an answer. Only
 * http and https URLs are taken.
 *
 * An I/O module. One per loop; loop thread only.
 */
#ifndef USTATSD_RWHTTP_H
#define USTATSD_RWHTTP_H

#include <stddef.h>

#include <uv.h>

struct rwhttp;
struct rwhttp_xfer;

/* What a request needs; read only during rwhttp_post() (copied where kept). */
struct rwhttp_req {
    const char *url;
    double timeout_s;           /* the whole request; 0: none */
    const char *const *headers; /* "Name: value" */
    size_t nheaders;
    const char *bearer_token_file; /* NULL: none */
    const char *username;          /* basic auth when not NULL ... */
    const char *password;          /* ... with this password, or */
    const char *password_file;     /* ... this file's */
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *server_name; /* the name the certificate must have (and SNI); NULL: the URL's */
    int insecure_skip_verify;
};

struct rwhttp_result {
    long status;        /* the HTTP status; 0 when no whole answer came */
    long retry_after_s; /* the answer's Retry-After in seconds (either form); -1: none */
    double duration_s;  /* the request, from its start to its end */
    char error[256];    /* "" or what failed, naming the URL or the file */
    char body[256];     /* the start of the answer's body (a receiver's reason), or "" */
};

typedef void (*rwhttp_done_cb)(void *arg, const struct rwhttp_result *res);

/* A client on loop. Returns 0, or a negative errcode. */
int rwhttp_new(struct rwhttp **out, uv_loop_t *loop);

/*
 * POST body (len bytes, borrowed until cb or rwhttp_cancel()). cb is called exactly once,
 * on the loop, never from inside this call: with the answer, or with status 0 and the
 * error (a credentials file that cannot be read included). Returns the transfer, or
 * NULL when it could not even be set up (then cb is never called).
 */
struct rwhttp_xfer *rwhttp_post(struct rwhttp *h, const struct rwhttp_req *req, const void *body,
                                size_t len, rwhttp_done_cb cb, void *arg);

/* Stop a transfer; its cb is never called. */
void rwhttp_cancel(struct rwhttp_xfer *x);

/* Transfers whose cb has not been called yet. */
size_t rwhttp_in_flight(const struct rwhttp *h);

/* Cancel every transfer (no callbacks), and free h once its handles have closed, then
 * call closed(arg) (may be NULL). */
void rwhttp_close(struct rwhttp *h, void (*closed)(void *arg), void *arg);

#endif
