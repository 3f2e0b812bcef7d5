/*
 * bench_attack_flood.c: the attackers and the fresh-connection prober of bench_attack,
 * over plain HTTP or TLS, on TCP (127.0.0.1, as an orchestrator probes) or a Unix socket.
 *
 * The attackers: one thread, every connection non-blocking, each reconnecting as soon as
 * the daemon drops it. Over TCP each connects from a source address of its own among
 * 127.0.0.2 .. 127.0.0.251, so that a flood of reconnections never runs out of ports.
 * Over TLS every attack but idle and tls-stall first completes a handshake (TLS 1.3, no
 * resumption) and then does what it does over plain HTTP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench_attack.h"
#include "tlsclient.h"

#define SLOW_READ_BYTES 4096
#define SLOW_READ_NS    500000000ull /* 8 KiB/s: under the send-rate cut (16 KiB/s) */
#define TRICKLE_BYTES   16
#define TRICKLE_NS      1000000000ull /* 16 B/s, as the attacker read */
#define LORIS_NS        200000000ull
#define PIPELINED       8
#define RETRY_NS        10000000ull /* a refused connect() is tried again after this */
#define SOURCES         250         /* 127.0.0.2 and up */

const char *const attack_names[NATTACKS] = {
    "none (baseline)",
    "unfinished requests",
    "slowloris",
    "slow readers of pipelined /metrics",
    "16 B/s readers of pipelined /metrics",
    "idle connections",
    "3 bytes of a TLS record, then nothing",
    "handshake done, then idle",
};
const char *const attack_args[NATTACKS] = { "none",        "unfinished",     "slowloris",
                                            "slow-reader", "trickle-reader", "idle",
                                            "tls-stall",   "tls-idle" };

/* ---- connecting ---- */

/*
 * A non-blocking connection to addr ("unix:/path" or "host:port", numeric IPv4), from
 * 127.0.0.<2 + source % SOURCES> over TCP when source >= 0. Returns the fd, with
 * *pending set when the connect is still in progress, or -errno.
 */
int attack_connect(const char *addr, int source, int *pending)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    char host[64];
    const char *colon;
    int fd, fam;

    *pending = 0;
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un *su = (struct sockaddr_un *)&ss;

        if (strlen(addr + 5) >= sizeof(su->sun_path))
            bench_http_die(&B, 0, "address too long: %s", addr);
        su->sun_family = AF_UNIX;
        strcpy(su->sun_path, addr + 5);
        len = sizeof(*su);
        fam = AF_UNIX;
    } else {
        struct sockaddr_in *si = (struct sockaddr_in *)&ss;

        colon = strrchr(addr, ':');
        if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
            bench_http_die(&B, 0, "not host:port: %s", addr);
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        si->sin_family = AF_INET;
        si->sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &si->sin_addr) != 1)
            bench_http_die(&B, 0, "not a numeric IPv4 address: %s", addr);
        len = sizeof(*si);
        fam = AF_INET;
    }
    fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        bench_http_die(&B, errno, "socket");
    if (fam == AF_INET && source >= 0) {
        struct sockaddr_in src = { .sin_family = AF_INET };
        int one = 1;

        src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(source % SOURCES));
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            close(fd);
            return -errno;
        }
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        if (errno == EINPROGRESS) {
            *pending = 1;
            return fd;
        }
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* ---- the attackers ---- */

enum phase { CLOSED, CONNECTING, HANDSHAKE, ACTIVE };

struct conn {
    int fd;
    SSL *ssl; /* TLS, once the handshake began */
    enum phase ph;
    short want;    /* what poll() waits for */
    uint64_t next; /* when it acts next (ACTIVE), or reconnects (CLOSED) */
    unsigned step;
};

static void a_write(struct conn *c, const char *s, size_t n)
{
    if (c->ssl != NULL) {
        ERR_clear_error();
        (void)SSL_write(c->ssl, s, (int)n); /* a full socket or a drop shows in poll */
    } else {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        (void)w;
    }
}

/* Read what is there: 1 while the connection stands, 0 once it is closed or broken. */
static int a_read(struct conn *c, size_t max)
{
    static char sink[SLOW_READ_BYTES];
    size_t n = max < sizeof(sink) ? max : sizeof(sink);

    if (c->ssl != NULL) {
        int r, e;

        ERR_clear_error();
        r = SSL_read(c->ssl, sink, (int)n);
        if (r > 0)
            return 1;
        e = SSL_get_error(c->ssl, r);
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
    }
    ssize_t r = recv(c->fd, sink, n, MSG_DONTWAIT);
    return r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static void a_drop(struct attacker *a, struct conn *c, uint64_t now)
{
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    c->ph = CLOSED;
    c->next = now; /* reconnect at once */
    a->open--;
    a->drops++;
}

/* The connection is up (and its handshake done, over TLS): what the attack sends first. */
static void a_begin(struct attacker *a, struct conn *c, uint64_t now)
{
    static const char start[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n";
    static const char line[] = "GET /metrics HTTP/1.1\r\n";
    static const char full[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char record[] = "\x16\x03\x01"; /* a handshake record's first 3 bytes */

    c->ph = ACTIVE;
    c->step = 0;
    c->want = a->kind == SLOW_READER || a->kind == TRICKLE_READER ? POLLRDHUP : POLLIN | POLLRDHUP;
    c->next = UINT64_MAX;
    switch (a->kind) {
    case UNFINISHED:
        a_write(c, start, sizeof(start) - 1);
        break;
    case SLOWLORIS:
        a_write(c, line, sizeof(line) - 1);
        c->next = now + LORIS_NS;
        break;
    case SLOW_READER:
    case TRICKLE_READER:
        for (int k = 0; k < PIPELINED; k++)
            a_write(c, full, sizeof(full) - 1);
        c->next = now + (a->kind == TRICKLE_READER ? TRICKLE_NS : SLOW_READ_NS);
        break;
    case TLS_STALL: {
        ssize_t w = send(c->fd, record, 3, MSG_NOSIGNAL);
        (void)w;
        break;
    }
    default: /* IDLE, TLS_IDLE: nothing */
        break;
    }
}

/* Connected: a handshake first over TLS (but for the attacks that never make one). */
static void a_connected(struct attacker *a, struct conn *c, uint64_t now)
{
    a->connects++;
    if (a->ctx == NULL || a->kind == IDLE || a->kind == TLS_STALL) {
        a_begin(a, c, now);
        return;
    }
    c->ssl = SSL_new(a->ctx);
    if (c->ssl == NULL)
        bench_http_die(&B, ENOMEM, "SSL_new");
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    c->ph = HANDSHAKE;
    c->want = 0;
}

static void a_open(struct attacker *a, struct conn *c, int i, uint64_t now)
{
    int pending, fd = attack_connect(a->addr, i, &pending);

    if (fd < 0) {
        a->refused++;
        c->next = now + RETRY_NS;
        return;
    }
    c->fd = fd;
    a->open++;
    if (a->open > a->max_open)
        a->max_open = a->open;
    if (pending) {
        c->ph = CONNECTING;
        c->want = POLLOUT;
        return;
    }
    a_connected(a, c, now);
}

/* A handshake step: on to the attack when done. */
static void a_handshake(struct attacker *a, struct conn *c, uint64_t now)
{
    int rc, e;

    ERR_clear_error();
    rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        a->handshakes++;
        a_begin(a, c, now);
        return;
    }
    e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return;
    }
    a_drop(a, c, now);
}

/* The scheduled action: another header byte, or another slow read. */
static void a_act(struct attacker *a, struct conn *c, uint64_t now)
{
    static const char header[] = "X-Slowloris: 1\r\n";

    if (a->kind == SLOWLORIS) {
        a_write(c, &header[c->step++ % (sizeof(header) - 1)], 1);
        c->next = now + LORIS_NS;
    } else if (a->kind == SLOW_READER || a->kind == TRICKLE_READER) {
        int trickle = a->kind == TRICKLE_READER;

        if (!a_read(c, trickle ? TRICKLE_BYTES : SLOW_READ_BYTES)) {
            a_drop(a, c, now);
            return;
        }
        c->next = now + (trickle ? TRICKLE_NS : SLOW_READ_NS);
    }
}

/* What poll() said about c. */
static void a_event(struct attacker *a, struct conn *c, short revents, uint64_t now)
{
    switch (c->ph) {
    case CONNECTING: {
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            a->refused++;
            a_drop(a, c, now);
            a->drops--; /* not the daemon's doing */
            c->next = now + RETRY_NS;
            return;
        }
        a_connected(a, c, now);
        if (c->ph == HANDSHAKE)
            a_handshake(a, c, now);
        return;
    }
    case HANDSHAKE:
        if (revents & (POLLHUP | POLLERR | POLLRDHUP)) {
            a_drop(a, c, now);
            return;
        }
        a_handshake(a, c, now);
        return;
    case ACTIVE:
        if (revents & (POLLRDHUP | POLLHUP | POLLERR))
            a_drop(a, c, now);
        else if ((revents & POLLIN) && !a_read(c, SLOW_READ_BYTES)) /* a 503: drain, EOF */
            a_drop(a, c, now);
        return;
    case CLOSED:
        return;
    }
}

static void *attacker_main(void *arg)
{
    struct attacker *a = arg;
    struct conn *cs = calloc((size_t)a->n, sizeof(*cs));
    struct pollfd *p = calloc((size_t)a->n, sizeof(*p));
    int *idx = calloc((size_t)a->n, sizeof(*idx));

    if (cs == NULL || p == NULL || idx == NULL)
        bench_http_die(&B, ENOMEM, "calloc");
    for (int i = 0; i < a->n; i++)
        cs[i].fd = -1;
    while (!atomic_load(&a->stop)) {
        uint64_t now = benchutil_now_ns();
        int np = 0;

        for (int i = 0; i < a->n; i++) {
            struct conn *c = &cs[i];

            if (c->ph == CLOSED && c->next <= now)
                a_open(a, c, i, now);
            else if (c->ph == ACTIVE && c->next <= now)
                a_act(a, c, now);
            if (c->ph == HANDSHAKE && c->want == 0)
                a_handshake(a, c, now);
            if (c->ph == CLOSED)
                continue;
            p[np].fd = c->fd;
            p[np].events = c->want;
            p[np].revents = 0;
            idx[np++] = i;
        }
        if (poll(p, (nfds_t)np, 10) < 0 && errno != EINTR)
            bench_http_die(&B, errno, "poll");
        now = benchutil_now_ns();
        for (int k = 0; k < np; k++)
            if (p[k].revents != 0)
                a_event(a, &cs[idx[k]], p[k].revents, now);
    }
    for (int i = 0; i < a->n; i++)
        if (cs[i].ph != CLOSED) {
            if (cs[i].ssl != NULL)
                SSL_free(cs[i].ssl);
            close(cs[i].fd);
        }
    free(cs);
    free(p);
    free(idx);
    return NULL;
}

void attacker_start(struct attacker *a, enum attack kind, int n, const char *addr, SSL_CTX *ctx)
{
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->n = n;
    a->addr = addr;
    a->ctx = ctx;
    atomic_init(&a->stop, 0);
    if (pthread_create(&a->thread, NULL, attacker_main, a) != 0)
        bench_http_die(&B, EAGAIN, "pthread_create");
}

void attacker_stop(struct attacker *a)
{
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
}

/* ---- the prober ---- */

const char *const outcome_names[NOUTCOMES] = { "200 within 100 ms",
                                               "200 later",
                                               "other status",
                                               "connect refused",
                                               "closed or reset",
                                               "no answer in 1 s",
                                               "missed (the previous check still waiting)" };

/* Wait for events on fd until the deadline: 1 when they came, 0 when it passed. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = benchutil_now_ns();
        struct pollfd p = { .fd = fd, .events = events };

        if (now >= deadline)
            return 0;
        if (poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1) > 0)
            return 1;
    }
}

/* One plain check on a fresh connection: time to the answer's status line. */
static enum outcome probe_plain(const char *addr, uint64_t *ns)
{
    static const char req[] = "GET /-/healthy HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n";
    uint64_t t0 = benchutil_now_ns(), deadline = t0 + PROBE_TIMEOUT_MS * 1000000ull;
    char head[64];
    size_t got = 0;
    int pending, fd = attack_connect(addr, -1, &pending);
    enum outcome o = TIMEOUT;

    if (fd < 0)
        return REFUSED;
    if (pending) {
        int err = 0;
        socklen_t len = sizeof(err);

        if (!wait_fd(fd, POLLOUT, deadline)) {
            close(fd);
            *ns = benchutil_now_ns() - t0;
            return TIMEOUT;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            return REFUSED;
        }
    }
    if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
        close(fd);
        return RESET;
    }
    while (got < 12 && wait_fd(fd, POLLIN, deadline)) {
        ssize_t r = recv(fd, head + got, sizeof(head) - got, MSG_DONTWAIT);

        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            o = RESET;
            break;
        }
        if (r > 0)
            got += (size_t)r;
    }
    *ns = benchutil_now_ns() - t0;
    close(fd);
    if (got < 12)
        return o;
    if (memcmp(head + 9, "200", 3) != 0)
        return OTHER_STATUS;
    return *ns <= PROBE_OK_NS ? OK_FAST : OK_SLOW;
}

/* One TLS check on a fresh connection: connect, a full handshake, the whole answer. */
static enum outcome probe_tls(const char *addr, uint64_t *ns)
{
    struct tlsclient_opts o = { .timeout_ms = PROBE_TIMEOUT_MS };
    uint64_t t0 = benchutil_now_ns();
    char err[512] = "";
    int st = tlsclient_get(addr, &o, "/-/healthy", NULL, NULL, err);

    *ns = benchutil_now_ns() - t0;
    if (getenv("BENCH_ATTACK_DEBUG") && (st != 200 || *ns > PROBE_OK_NS))
        fprintf(stderr, "probe: %d after %.1f ms: %s\n", st, (double)*ns / 1e6, err);
    if (st == 200)
        return *ns <= PROBE_OK_NS ? OK_FAST : OK_SLOW;
    if (st > 0)
        return OTHER_STATUS;
    if (strstr(err, "onnect") != NULL)
        return REFUSED;
    return *ns >= PROBE_TIMEOUT_MS * 1000000ull ? TIMEOUT : RESET;
}

void probe_run(struct probe *pr, const char *addr, int tls, unsigned seconds)
{
    uint64_t next = benchutil_now_ns(), end = next + (uint64_t)seconds * 1000000000ull;

    memset(pr, 0, sizeof(*pr));
    while (next < end && pr->checks < MAX_CHECKS) {
        uint64_t now = benchutil_now_ns(), ns = 0;
        enum outcome o;

        if (now < next) {
            struct timespec ts = { 0, (long)(next - now) };
            nanosleep(&ts, NULL);
        }
        o = tls ? probe_tls(addr, &ns) : probe_plain(addr, &ns);
        pr->count[o]++;
        pr->checks++;
        if (o == OK_FAST || o == OK_SLOW)
            pr->lat[pr->nlat++] = ns;
        next += PROBE_PERIOD_NS;
        now = benchutil_now_ns();
        if (next < now) { /* a check outlasted its period: the ones it kept from starting
                           * count as missed, and the next starts now, no burst */
            uint64_t missed = (now - next) / PROBE_PERIOD_NS;

            pr->count[MISSED] += missed;
            pr->checks += missed;
            next = now;
        }
    }
}
