/*
 * The ingest tests' shared context (test_ingest.c, test_ingest_path.c): a loop, an ingest on
 * a socket in a fresh directory, and a callback that keeps what it was given.
 */
#ifndef USTATSD_TEST_INGESTCTX_H
#define USTATSD_TEST_INGESTCTX_H

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "ingest/ingest.h"

#define MAX_KEEP 8

struct ctx {
    uv_loop_t loop;
    uv_timer_t timer;
    struct ingest in;
    char dir[64];
    char path[128];
    size_t expect; /* close the ingest after this many datagrams; 0: never */
    size_t count;
    char data[MAX_KEEP][256];
    size_t len[MAX_KEEP];
    int nul_ok[MAX_KEEP];
    struct ucred cred[MAX_KEEP];
    int has_cred[MAX_KEEP];
    /* budget test: datagrams seen in the current wake-up and the next sequence number */
    uint64_t wakeup_seen;
    size_t in_wakeup;
    size_t max_in_wakeup;
    size_t max_in_later_wakeup; /* leaving out the first, before a datagram's cost is known */
    uint64_t spin_ns;           /* the callback's cost per datagram */
    long next_seq;
    int out_of_order;
    int timed_out;
    int closed;
    /* close the ingest from a timer in the turn after the close_later_at-th datagram */
    size_t close_later_at;
    uv_timer_t later;
    size_t count_at_close; /* datagrams delivered when ingest_close() returned */
    int later_deliver;     /* first ingest_deliver_held(): count_at_close is its count */
    size_t more_at;        /* after this many datagrams, send "more_at + 2" and the next */
    int more_fd;
    /* feed: each delivery sends feed_each more (to more_fd) until feed_total were sent */
    size_t feed_each, feed_total, fed;
};

static inline void send_to(int fd, const char *path, const void *data, size_t len, int flags);

static inline void on_closed(struct ingest *in)
{
    struct ctx *c = in->arg;
    c->closed = 1;
    uv_close((uv_handle_t *)&c->timer, NULL);
}

static inline void on_close_later(uv_timer_t *t)
{
    struct ctx *c = t->data;

    if (c->later_deliver) {
        ingest_deliver_held(&c->in);
        c->count_at_close = c->count;
        cr_assert_not(c->in.closing);
    }
    ingest_close(&c->in, on_closed);
    if (!c->later_deliver)
        c->count_at_close = c->count;
    uv_close((uv_handle_t *)t, NULL);
}

static inline void on_dgram(struct ingest *in, const char *data, size_t len,
                            const struct ucred *cred, const struct sockaddr *src, void *arg)
{
    struct ctx *c = arg;
    size_t i = c->count;
    char *end;
    long seq;

    cr_assert_null(src, "a Unix datagram has no source address");
    if (i < MAX_KEEP) {
        size_t n = len < sizeof(c->data[i]) - 1 ? len : sizeof(c->data[i]) - 1;
        memcpy(c->data[i], data, n);
        c->data[i][n] = '\0';
        c->len[i] = len;
        c->nul_ok[i] = data[len] == '\0';
        c->has_cred[i] = cred != NULL;
        if (cred != NULL)
            c->cred[i] = *cred;
    }
    if (in->stats.wakeups != c->wakeup_seen) {
        c->wakeup_seen = in->stats.wakeups;
        c->in_wakeup = 0;
    }
    if (++c->in_wakeup > c->max_in_wakeup)
        c->max_in_wakeup = c->in_wakeup;
    if (in->stats.wakeups > 1 && c->in_wakeup > c->max_in_later_wakeup)
        c->max_in_later_wakeup = c->in_wakeup;
    if (c->spin_ns != 0) {
        uint64_t until = uv_hrtime() + c->spin_ns;
        while (uv_hrtime() < until)
            ;
    }
    seq = strtol(data, &end, 10);
    if (end != data) {
        if (seq != c->next_seq)
            c->out_of_order = 1;
        c->next_seq = seq + 1;
    }
    c->count++;
    if (c->expect != 0 && c->count == c->expect)
        ingest_close(in, on_closed);
    if (c->more_at != 0 && c->count == c->more_at) {
        char text[32];

        for (size_t k = 0; k < 2; k++)
            send_to(c->more_fd, c->path, text,
                    (size_t)snprintf(text, sizeof(text), "%zu", c->more_at + 2 + k), MSG_DONTWAIT);
    }
    if (c->close_later_at != 0 && c->count == c->close_later_at)
        cr_assert_eq(uv_timer_start(&c->later, on_close_later, 0, 0), 0);
    for (size_t k = 0; k < c->feed_each && c->fed < c->feed_total; k++, c->fed++) {
        char text[32];

        send_to(c->more_fd, c->path, text, (size_t)snprintf(text, sizeof(text), "%zu", c->fed),
                MSG_DONTWAIT);
    }
}

static inline void on_timeout(uv_timer_t *t)
{
    struct ctx *c = t->data;
    c->timed_out = 1;
    if (!c->in.closing)
        ingest_close(&c->in, on_closed);
}

static inline void ctx_setup(struct ctx *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->dir, "/tmp/test_ingest-XXXXXX");
    cr_assert_not_null(mkdtemp(c->dir));
    snprintf(c->path, sizeof(c->path), "%s/ustatsd.sock", c->dir);
    cr_assert_eq(uv_loop_init(&c->loop), 0);
}

static inline void ctx_teardown(struct ctx *c)
{
    unlink(c->path);
    cr_assert_eq(rmdir(c->dir), 0, "rmdir(%s): %s", c->dir, strerror(errno));
    cr_assert_eq(uv_loop_close(&c->loop), 0);
}

static inline int ctx_start(struct ctx *c, const struct ingest_config *cfg, char *err,
                            size_t errlen)
{
    struct ingest_config def = { 0 };
    if (cfg == NULL) {
        def.path = c->path;
        cfg = &def;
    }
    ingest_init(&c->in, &c->loop, cfg, on_dgram, c);
    return ingest_start(&c->in, err, errlen);
}

/* Runs the loop until the ingest is closed (by the callback or after timeout_ms). */
static inline void ctx_run(struct ctx *c, uint64_t timeout_ms)
{
    cr_assert_eq(uv_timer_init(&c->loop, &c->timer), 0);
    c->timer.data = c;
    cr_assert_eq(uv_timer_start(&c->timer, on_timeout, timeout_ms, 0), 0);
    cr_assert_eq(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
    cr_assert(c->closed);
}

/* Runs the loop until n datagrams came (the callback closes), then closes fd: all in order. */
static inline void ctx_run_all(struct ctx *c, int fd, size_t n)
{
    c->expect = n;
    ctx_run(c, 20000);
    close(fd);
    cr_assert_not(c->timed_out, "only %zu of %zu arrived", c->count, n);
    cr_assert_eq(c->count, n);
    cr_assert_not(c->out_of_order);
}

static inline struct sockaddr_un addr_of(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(path);

    cr_assert_lt(n, sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, n + 1);
    return sa;
}

static inline int client_socket(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    return fd;
}

static inline void send_to(int fd, const char *path, const void *data, size_t len, int flags)
{
    struct sockaddr_un sa = addr_of(path);
    ssize_t n;

    n = sendto(fd, data, len, flags, (struct sockaddr *)&sa, sizeof(sa));
    cr_assert_eq(n, (ssize_t)len, "sendto %zu bytes: %s", len, strerror(errno));
}

/* Leaves a socket file behind, as a daemon that crashed does. */
static inline void make_stale_socket(const char *path)
{
    struct sockaddr_un sa = addr_of(path);
    int fd = client_socket();

    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
}

#endif
