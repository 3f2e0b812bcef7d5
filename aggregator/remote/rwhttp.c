#include "remote/rwhttp.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
#include "base/path.h"

struct rwhttp {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer; /* libcurl's timeout */
    uv_timer_t fail;  /* delivers the transfers that failed before they started */
    struct rwhttp_xfer *xfers;
    struct rwhttp_sock *socks; /* polls open */
    size_t in_flight;
    size_t handles; /* open libuv handles: the two timers and a poll per socket */
    int closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

struct rwhttp_sock {
    uv_poll_t poll; /* first: the handle is the struct */
    curl_socket_t fd;
    int events;  /* what libcurl waits for: UV_READABLE, UV_WRITABLE */
    int removed; /* closing: libcurl is done with it, or h is closing */
    struct rwhttp *h;
    struct rwhttp_sock *prev, *next;
};

struct rwhttp_xfer {
    struct rwhttp *h;
    struct rwhttp_xfer *prev, *next;
    CURL *easy; /* NULL: failed before it started (result holds why) */
    int due;    /* failed before it started, and on_fail() is delivering it now */
    struct curl_slist *headers;
    struct curl_slist *connect_to; /* server_name's; libcurl reads it when it connects */
    rwhttp_done_cb cb;
    void *arg;
    struct rwhttp_result res;
    size_t body_len;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void handle_closed(uv_handle_t *hd)
{
    struct rwhttp *h = hd->data;

    if (hd->type == UV_POLL)
        free(hd);
    if (--h->handles == 0 && h->closing) {
        void (*closed)(void *) = h->closed;
        void *arg = h->closed_arg;

        free(h);
        if (closed != NULL)
            closed(arg);
    }
}

static void unlink_xfer(struct rwhttp_xfer *x)
{
    struct rwhttp *h = x->h;

    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        h->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    h->in_flight--;
}

static void free_xfer(struct rwhttp_xfer *x)
{
    if (x->easy != NULL) {
        curl_multi_remove_handle(x->h->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->connect_to);
    free(x);
}

static void finish(struct rwhttp_xfer *x)
{
    struct rwhttp_result res = x->res;
    rwhttp_done_cb cb = x->cb;
    void *arg = x->arg;

    unlink_xfer(x);
    free_xfer(x);
    cb(arg, &res);
}

/* The transfers libcurl has finished. */
static void check_done(struct rwhttp *h)
{
    CURLMsg *m;
    int left;

    /* A callback may close h (multi NULL then), or cancel a transfer whose message waits:
     * curl_multi_remove_handle() drops that message. */
    while (h->multi != NULL && (m = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct rwhttp_xfer *x = NULL;
        curl_off_t after = 0, us = 0;
        long status = 0;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &us);
        x->res.duration_s = (double)us / 1e6;
        if (m->data.result != CURLE_OK) {
            x->res.status = 0;
            snprintf(x->res.error, sizeof x->res.error, "%s",
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
        } else {
            x->res.status = status;
            /* 0: no Retry-After, or "Retry-After: 0"; both mean no wait of its own. */
            if (curl_easy_getinfo(m->easy_handle, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
                after > 0)
                x->res.retry_after_s = (long)after;
        }
        finish(x);
    }
}

/*
 * A socket is ready. An error on it (libuv reports POLLERR as a status, and stops the
 * poll) is handed to libcurl as readiness, not as CURL_CSELECT_ERR: libcurl then reads or
 * writes, gets the socket's own error, and says what it was; and a kept-alive connection
 * the receiver reset just as a request went out on it is retried on a fresh one, as
 * libcurl does for a reused connection that dies before an answer, rather than failed
 * with "select/poll returned error". The poll is started again when libcurl still
 * watches the socket (s is freed only on a later turn of the loop: see sock_close()).
 */
static void on_poll(uv_poll_t *p, int status, int events)
{
    struct rwhttp_sock *s = (struct rwhttp_sock *)(void *)p;
    struct rwhttp *h = s->h;
    int flags = 0, running;

    if (status < 0)
        events = s->events;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    if (status < 0 && !s->removed && s->events != 0)
        uv_poll_start(&s->poll, s->events, on_poll);
    check_done(h);
}

/* Stop watching a socket and close its poll (handle_closed frees it). */
static void sock_close(struct rwhttp *h, struct rwhttp_sock *s)
{
    s->removed = 1;
    uv_poll_stop(&s->poll);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        h->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    uv_close((uv_handle_t *)&s->poll, handle_closed);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct rwhttp *h = userp;
    struct rwhttp_sock *s = socketp;
    int ev = 0;

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(h->multi, fd, NULL);
            sock_close(h, s);
        }
        return 0;
    }
    if (s == NULL) {
        s = mem_calloc(1, sizeof *s);
        s->fd = fd;
        s->h = h;
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1; /* libcurl fails the transfer */
        }
        s->poll.data = h; /* handle_closed's */
        h->handles++;
        s->next = h->socks;
        if (h->socks != NULL)
            h->socks->prev = s;
        h->socks = s;
        curl_multi_assign(h->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    s->events = ev;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    struct rwhttp *h = t->data;
    int running;

    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct rwhttp *h = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else /* 0 too: on the loop's next turn, never from inside libcurl */
        uv_timer_start(&h->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/*
 * The transfers that failed before they started, delivered from the loop: those there when
 * the timer fired (one a callback posts, failing too, waits for the next turn, so that a
 * callback that posts again at once cannot keep the loop here). The list is walked again
 * from its head after each callback, which may have cancelled any transfer or closed h
 * (then the list is empty).
 */
static void on_fail(uv_timer_t *t)
{
    struct rwhttp *h = t->data;

    for (struct rwhttp_xfer *x = h->xfers; x != NULL; x = x->next)
        x->due = x->easy == NULL;
    for (;;) {
        struct rwhttp_xfer *x = h->xfers;

        while (x != NULL && !x->due)
            x = x->next;
        if (x == NULL)
            return;
        finish(x);
    }
}

int rwhttp_new(struct rwhttp **out, uv_loop_t *loop)
{
    struct rwhttp *h;

    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return ERRCODE_TLS;
    h = mem_calloc(1, sizeof *h);
    h->loop = loop;
    if ((h->multi = curl_multi_init()) == NULL) {
        free(h);
        return -ENOMEM;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    uv_timer_init(loop, &h->timer);
    uv_timer_init(loop, &h->fail);
    h->timer.data = h;
    h->fail.data = h;
    h->handles = 2;
    *out = h;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * The file, trimmed of white space as Prometheus trims it; 0 or a negative code. Read with
 * path_read_file(): a regular file only, opened without blocking (a FIFO never holds the
 * loop), at most cap - 1 bytes. A NUL inside is ERRCODE_FORMAT (libcurl takes C strings:
 * the secret would be cut short without a word); so is, in_header, a control character
 * other than a tab, which would end the header line early (a token of two lines).
 */
static int read_secret(const char *path, char *out, size_t cap, int in_header)
{
    size_t n, start = 0;
    char *text;
    int rc = path_read_file(path, cap - 1, &text, &n);

    if (rc != 0)
        return rc;
    while (n > 0 && is_space(text[n - 1]))
        n--;
    while (start < n && is_space(text[start]))
        start++;
    for (size_t i = start; i < n; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c == '\0' || (in_header && ((c < 0x20 && c != '\t') || c == 0x7f))) {
            explicit_bzero(text, n);
            free(text);
            return ERRCODE_FORMAT;
        }
    }
    memcpy(out, text + start, n - start);
    out[n - start] = '\0';
    explicit_bzero(text, n);
    free(text);
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct rwhttp_xfer *x = userdata;
    size_t n = size * nmemb, have = x->body_len, room = sizeof x->res.body - 1 - have;

    if (room > 0) {
        size_t k = n < room ? n : room;

        memcpy(x->res.body + have, ptr, k);
        x->body_len += k;
        x->res.body[x->body_len] = '\0';
    }
    return n;
}

/* what: "bearer_token_file /path" and the like. */
static void fail_early(struct rwhttp_xfer *x, const char *what, int err)
{
    snprintf(x->res.error, sizeof x->res.error, "%s: %s", what, errcode_str(err));
    if (x->easy != NULL) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    uv_timer_start(&x->h->fail, on_fail, 0, 0);
}

/*
 * server_name: libcurl has no option of its own for it (SNI and the certificate's check
 * use the URL's host), so the URL's host becomes server_name and libcurl is told to
 * connect to the URL's own host and port instead (CURLOPT_CONNECT_TO). The Host header
 * stays the URL's, as Prometheus sends it (Go's tls.Config.ServerName changes only SNI and
 * the check). Returns 1, or 0 when the URL or the name is not one libcurl takes.
 */
static int set_server_name(struct rwhttp_xfer *x, const struct rwhttp_req *req)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *given = NULL, *url = NULL, line[600];
    int ok = 0;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, req->url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_HOST, req->server_name, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK &&
        strlen(req->server_name) + strlen(host) < 500) {
        /* The port as the URL spells it (none: the scheme's), for the Host header. */
        if (curl_url_get(u, CURLUPART_PORT, &given, 0) != CURLUE_OK)
            given = NULL;
        snprintf(line, sizeof line, "Host: %s%s%s", host, given ? ":" : "", given ? given : "");
        x->headers = curl_slist_append(x->headers, line);
        snprintf(line, sizeof line, "%s:%s:%s:%s", req->server_name, port, host, port);
        x->connect_to = curl_slist_append(NULL, line);
        curl_easy_setopt(x->easy, CURLOPT_URL, url);
        curl_easy_setopt(x->easy, CURLOPT_CONNECT_TO, x->connect_to);
        ok = x->connect_to != NULL;
    }
    curl_free(host);
    curl_free(port);
    curl_free(given);
    curl_free(url);
    curl_url_cleanup(u);
    return ok;
}

struct rwhttp_xfer *rwhttp_post(struct rwhttp *h, const struct rwhttp_req *req, const void *body,
                                size_t len, rwhttp_done_cb cb, void *arg)
{
    static const char *const fixed[] = { "Content-Encoding: snappy",
                                         "Content-Type: application/x-protobuf",
                                         "X-Prometheus-Remote-Write-Version: 0.1.0", "Expect:" };
    struct rwhttp_xfer *x;
    char secret[4096];
    int rc;

    if (h->closing || (x = mem_calloc(1, sizeof *x)) == NULL)
        return NULL;
    x->h = h;
    x->cb = cb;
    x->arg = arg;
    x->res.retry_after_s = -1;
    x->next = h->xfers;
    if (h->xfers != NULL)
        h->xfers->prev = x;
    h->xfers = x;
    h->in_flight++;
    if ((x->easy = curl_easy_init()) == NULL) {
        unlink_xfer(x);
        free(x);
        return NULL;
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        x->headers = curl_slist_append(x->headers, fixed[i]);
    for (size_t i = 0; i < req->nheaders; i++)
        x->headers = curl_slist_append(x->headers, req->headers[i]);
    curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
    if (req->server_name != NULL && req->server_name[0] != '\0' && !set_server_name(x, req)) {
        snprintf(secret, sizeof secret, "server_name %s", req->server_name);
        fail_early(x, secret, -EINVAL);
        return x;
    }
    /* The credentials last: no failure comes between reading a secret and wiping it. */
    if (req->bearer_token_file != NULL) {
        char line[sizeof secret + 32];

        if ((rc = read_secret(req->bearer_token_file, secret, sizeof secret, 1)) != 0) {
            snprintf(secret, sizeof secret, "bearer_token_file %s", req->bearer_token_file);
            fail_early(x, secret, rc);
            return x;
        }
        snprintf(line, sizeof line, "Authorization: Bearer %s", secret);
        x->headers = curl_slist_append(x->headers, line);
        explicit_bzero(line, sizeof line);
    }
    if (req->username != NULL) {
        const char *pw = req->password != NULL ? req->password : "";

        if (req->password_file != NULL) {
            if ((rc = read_secret(req->password_file, secret, sizeof secret, 0)) != 0) {
                explicit_bzero(secret, sizeof secret); /* the token, if any */
                snprintf(secret, sizeof secret, "basic_auth.password_file %s", req->password_file);
                fail_early(x, secret, rc);
                return x;
            }
            pw = secret;
        }
        curl_easy_setopt(x->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(x->easy, CURLOPT_USERNAME, req->username);
        curl_easy_setopt(x->easy, CURLOPT_PASSWORD, pw);
    }
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "ustatsd/" USTATSD_VERSION);
    /* 0 (none given): libcurl's own, no limit; a day at most. */
    if (req->timeout_s > 0)
        curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
                         (long)((req->timeout_s < 86400 ? req->timeout_s : 86400) * 1000.0 + 0.5));
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    if (req->ca_file != NULL)
        curl_easy_setopt(x->easy, CURLOPT_CAINFO, req->ca_file);
    if (req->cert_file != NULL) {
        curl_easy_setopt(x->easy, CURLOPT_SSLCERT, req->cert_file);
        curl_easy_setopt(x->easy, CURLOPT_SSLKEY, req->key_file);
    }
    if (req->insecure_skip_verify) {
        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    explicit_bzero(secret, sizeof secret); /* libcurl keeps its own copy */
    if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
        fail_early(x, req->url, -ENOMEM);
    return x;
}

void rwhttp_cancel(struct rwhttp_xfer *x)
{
    if (x == NULL)
        return;
    unlink_xfer(x);
    free_xfer(x);
}

size_t rwhttp_in_flight(const struct rwhttp *h)
{
    return h->in_flight;
}

void rwhttp_close(struct rwhttp *h, void (*closed)(void *arg), void *arg)
{
    h->closing = 1;
    h->closed = closed;
    h->closed_arg = arg;
    while (h->xfers != NULL)
        rwhttp_cancel(h->xfers);
    /* Closes the cached connections; a poll libcurl did not remove is closed here. */
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    while (h->socks != NULL)
        sock_close(h, h->socks);
    uv_timer_stop(&h->timer);
    uv_timer_stop(&h->fail);
    uv_close((uv_handle_t *)&h->timer, handle_closed);
    uv_close((uv_handle_t *)&h->fail, handle_closed);
}
