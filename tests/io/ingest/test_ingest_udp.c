/*
 * The UDP kind of ingest: the same drain as the Unix socket (test_ingest.c), with a
 * source address in place of credentials, and the kernel's drop count.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "ingest/ingest.h"
#include "base/netaddr.h"

struct udpctx {
    uv_loop_t loop;
    struct ingest in;
    size_t count;
    size_t had_cred;
    char last[256];
    char src[NETADDR_TEXT_MAX];
    int closed;
};

static void on_dgram(struct ingest *in, const char *data, size_t len, const struct ucred *cred,
                     const struct sockaddr *src, void *arg)
{
    struct udpctx *c = arg;

    (void)in;
    c->count++;
    c->had_cred += cred != NULL;
    snprintf(c->last, sizeof(c->last), "%.*s", (int)len, data);
    if (src != NULL)
        netaddr_format(src, c->src, sizeof(c->src));
    else
        snprintf(c->src, sizeof(c->src), "none");
}

static void on_closed(struct ingest *in)
{
    struct udpctx *c = in->arg;

    c->closed = 1;
}

static int start(struct udpctx *c, const struct ingest_config *cfg, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    cr_assert_eq(uv_loop_init(&c->loop), 0);
    ingest_init(&c->in, &c->loop, cfg, on_dgram, c);
    return ingest_start(&c->in, err, errlen);
}

/* Turn the loop until want datagrams arrived or 2 s passed. */
static void drain(struct udpctx *c, size_t want)
{
    uint64_t until = uv_hrtime() + 2000000000ull;

    while (c->count < want && uv_hrtime() < until)
        uv_run(&c->loop, UV_RUN_NOWAIT);
}

static void stop(struct udpctx *c)
{
    ingest_close(&c->in, on_closed);
    cr_assert_eq(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
    cr_assert(c->closed);
    cr_assert_eq(uv_loop_close(&c->loop), 0);
}

/* A client socket bound to a port of its own, so that the source address is known. */
static int client(int family, char *self, size_t len)
{
    union netaddr a;
    socklen_t alen = sizeof(a);
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    cr_assert_eq(netaddr_parse(family == AF_INET6 ? "[::1]:0" : "127.0.0.1:0", &a), 0);
    cr_assert_eq(bind(fd, &a.sa, netaddr_len(&a)), 0, "%s", strerror(errno));
    cr_assert_eq(getsockname(fd, &a.sa, &alen), 0);
    netaddr_format(&a.sa, self, len);
    return fd;
}

static void send_to(int fd, const struct ingest *in, const void *data, size_t len)
{
    ssize_t n = sendto(fd, data, len, 0, &in->bound.sa, netaddr_len(&in->bound));

    cr_assert_eq(n, (ssize_t)len, "sendto: %s", strerror(errno));
}

static void delivers_with_source(const char *listen, int family)
{
    struct ingest_config cfg = { .kind = INGEST_UDP, .path = listen };
    struct udpctx c;
    char err[256], self[NETADDR_TEXT_MAX];
    int fd;

    cr_assert_eq(start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_neq(c.in.bound.in4.sin_port, 0, "port 0 binds a port the kernel picks");
    cr_assert_gt(c.in.rcvbuf, 0);
    cr_assert_eq(c.in.max_dgram_qlen, -1, "no Unix queue on UDP");
    fd = client(family, self, sizeof(self));
    send_to(fd, &c.in, "up:1|c", 6);
    drain(&c, 1);
    cr_assert_eq(c.count, 1);
    cr_assert_str_eq(c.last, "up:1|c");
    cr_assert_str_eq(c.src, self, "source %s, sent from %s", c.src, self);
    cr_assert_eq(c.had_cred, 0, "UDP carries no credentials");
    cr_assert_eq(c.in.stats.datagrams, 1);
    cr_assert_eq(c.in.stats.bytes, 6);
    cr_assert_eq(ingest_kernel_drops(&c.in), 0);
    close(fd);
    stop(&c);
}

Test(ingest_udp, delivers_datagrams_with_their_source_address_v4)
{
    delivers_with_source("127.0.0.1:0", AF_INET);
}

Test(ingest_udp, delivers_datagrams_with_their_source_address_v6)
{
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    union netaddr a;

    netaddr_parse("[::1]:0", &a);
    /* Tests never skip: a machine without ::1 fails here, saying so. */
    cr_assert_geq(probe, 0, "no IPv6 socket: %s", strerror(errno));
    cr_assert_eq(bind(probe, &a.sa, netaddr_len(&a)), 0, "no IPv6 loopback (::1): %s",
                 strerror(errno));
    close(probe);
    delivers_with_source("[::1]:0", AF_INET6);
}

Test(ingest_udp, an_address_beyond_loopback_needs_allow_remote)
{
    struct ingest_config cfg = { .kind = INGEST_UDP, .path = "0.0.0.0:0" };
    struct udpctx c;
    char err[256];

    cr_assert_eq(start(&c, &cfg, err, sizeof(err)), -EACCES);
    cr_assert_neq(strstr(err, "0.0.0.0:0"), NULL, "%s", err);
    cr_assert_neq(strstr(err, "loopback"), NULL, "%s", err);
    cr_assert_eq(c.in.fd, -1);
    cr_assert_eq(uv_loop_close(&c.loop), 0);

    cfg.allow_remote = 1;
    cr_assert_eq(start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strncmp(c.in.addr_text, "0.0.0.0:", 8), 0, "%s", c.in.addr_text);
    stop(&c);
}

Test(ingest_udp, a_malformed_address_is_refused)
{
    struct ingest_config cfg = { .kind = INGEST_UDP, .path = "localhost" };
    struct udpctx c;
    char err[256];

    cr_assert_eq(start(&c, &cfg, err, sizeof(err)), -EINVAL);
    cr_assert_neq(strstr(err, "\"localhost\""), NULL, "%s", err);
    cr_assert_eq(uv_loop_close(&c.loop), 0);
}

Test(ingest_udp, a_datagram_over_the_limit_is_counted_as_truncated)
{
    struct ingest_config cfg = { .kind = INGEST_UDP, .path = "127.0.0.1:0", .max_datagram = 100 };
    struct udpctx c;
    char err[256], self[NETADDR_TEXT_MAX], big[101];
    int fd;

    cr_assert_eq(start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    fd = client(AF_INET, self, sizeof(self));
    memset(big, 'x', sizeof(big));
    send_to(fd, &c.in, big, sizeof(big));
    send_to(fd, &c.in, big, 100);
    drain(&c, 1);
    uv_run(&c.loop, UV_RUN_NOWAIT);
    cr_assert_eq(c.count, 1, "the datagram of 100 bytes fits");
    cr_assert_eq(c.in.stats.truncated, 1);
    cr_assert_eq(c.in.stats.datagrams, 1);
    close(fd);
    stop(&c);
}

Test(ingest_udp, the_budget_bounds_each_wakeup_and_everything_arrives)
{
    struct ingest_config cfg = {
        .kind = INGEST_UDP, .path = "127.0.0.1:0", .budget = 16, .batch = 8
    };
    struct udpctx c;
    char err[256], self[NETADDR_TEXT_MAX], line[32];
    int fd, i;

    cr_assert_eq(start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    fd = client(AF_INET, self, sizeof(self));
    for (i = 0; i < 100; i++) {
        int n = snprintf(line, sizeof(line), "%d", i);
        send_to(fd, &c.in, line, (size_t)n);
    }
    drain(&c, 100);
    cr_assert_eq(c.count, 100);
    cr_assert_str_eq(c.last, "99", "in order, the last one last");
    cr_assert_leq(c.in.stats.max_wakeup, 16);
    cr_assert_geq(c.in.stats.budget_hits, 100 / 16 - 1);
    cr_assert_geq(c.in.stats.wakeups, 7);
    close(fd);
    stop(&c);
}

/*
 * A small receive buffer, filled while nobody drains it: what the kernel did not queue
 * it dropped, and ingest_kernel_drops() says exactly how many, before the drain and after.
 */
Test(ingest_udp, kernel_drops_are_exactly_what_was_sent_and_not_received)
{
    struct ingest_config cfg = { .kind = INGEST_UDP, .path = "127.0.0.1:0", .rcvbuf = 4096 };
    struct udpctx c;
    char err[256], self[NETADDR_TEXT_MAX], dgram[200];
    const size_t sent = 2000;
    int64_t before, after;
    int fd;

    cr_assert_eq(start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_lt(c.in.rcvbuf, 65536, "granted %d", c.in.rcvbuf);
    fd = client(AF_INET, self, sizeof(self));
    memset(dgram, 'x', sizeof(dgram));
    for (size_t i = 0; i < sent; i++)
        send_to(fd, &c.in, dgram, sizeof(dgram));
    before = ingest_kernel_drops(&c.in);
    cr_assert_gt(before, 0, "a full buffer drops");
    drain(&c, sent - (size_t)before);
    uv_run(&c.loop, UV_RUN_NOWAIT);
    after = ingest_kernel_drops(&c.in);
    cr_assert_eq(before, after, "nothing sent meanwhile, nothing dropped");
    cr_assert_eq((uint64_t)c.count + (uint64_t)after, sent, "received %zu, dropped %lld of %zu",
                 c.count, (long long)after, sent);
    cr_assert_eq(c.in.stats.datagrams, c.count);
    close(fd);
    stop(&c);
}

Test(ingest_udp, the_unix_socket_reports_no_kernel_drops)
{
    struct ingest in;
    struct ingest_config cfg = { .path = "/nonexistent/x.sock" };

    ingest_init(&in, uv_default_loop(), &cfg, on_dgram, NULL);
    cr_assert_eq(ingest_kernel_drops(&in), -EOPNOTSUPP);
}
