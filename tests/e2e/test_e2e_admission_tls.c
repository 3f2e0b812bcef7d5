/*
 * Fair admission over TLS through the real binary, with its default connection limits (64
 * served, 8 for probes) and the test certificates (tests/lib/tlscerts.sh): three floods
 * at once, each reconnecting as soon as the daemon drops one of its connections,
 *   - 3 bytes of a TLS record, then nothing (a handshake that never gets its ClientHello);
 *   - a completed handshake, then nothing (idle);
 *   - a completed handshake and an unfinished request.
 * Each connection the daemon evicts is parked, its socket held open, so it does not come
 * back; once the floods are parked, health probes on fresh connections (a full handshake
 * each) are answered. The outcome is what the daemon counts and what the probes get,
 * never how long they took.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "tlsclient.h"
#include "waitfor.h"

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    tlscerts_share();
}

#define PER_KIND 200
#define SERVED   (64 + 8) /* the default cap and probe reserve */
#define PROBES   30

enum kind { RECORD_START, IDLE, UNFINISHED, NKINDS };

static struct daemon d;
static char wdir[64]; /* web.yml */
static char web[128];
static struct tlsclient_opts opts; /* verifies the daemon against the test CA */
static char ca[256];

struct flood {
    enum kind kind;
    atomic_int stop;
    atomic_int connects;
    pthread_t thread;
    int fd[PER_KIND];             /* RECORD_START's sockets; -1: to open */
    struct tlsclient t[PER_KIND]; /* the others'; t.fd -1: to open */
};

static struct flood floods[NKINDS];

/* 3 bytes of a handshake record's 5-byte header, on a socket of its own; -1 when the
 * connect fails (the backlog is full: tried again on the next round). */
static int open_record_start(void)
{
    static const char start[] = "\x16\x03\x01";
    const char *path = d.http + strlen("unix:");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    cr_assert_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, start, 3, MSG_NOSIGNAL) != 3) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A handshake, and for UNFINISHED a request without its last line; 0, or -1 to retry. */
static int open_tls(struct tlsclient *t, enum kind kind)
{
    static const char part[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n";
    size_t done;

    if (tlsclient_open(t, d.http, &opts) != 0 ||
        (kind == UNFINISHED &&
         (SSL_write_ex(t->ssl, part, sizeof(part) - 1, &done) != 1 || done != sizeof(part) - 1))) {
        tlsclient_close(t);
        t->fd = -1;
        return -1;
    }
    return 0;
}

static int *fd_of(struct flood *f, int i)
{
    return f->kind == RECORD_START ? &f->fd[i] : &f->t[i].fd;
}

static void drop(struct flood *f, int i)
{
    if (f->kind == RECORD_START)
        close(f->fd[i]);
    else
        tlsclient_close(&f->t[i]);
    *fd_of(f, i) = -1;
}

/* PER_KIND connections of one kind, each reopened as soon as the daemon closes it. */
static void *flood_main(void *arg)
{
    struct flood *f = arg;
    struct pollfd p[PER_KIND];

    for (int i = 0; i < PER_KIND; i++)
        *fd_of(f, i) = -1;
    while (!atomic_load(&f->stop)) {
        for (int i = 0; i < PER_KIND && !atomic_load(&f->stop); i++) {
            if (*fd_of(f, i) >= 0)
                continue;
            if (f->kind == RECORD_START)
                f->fd[i] = open_record_start();
            else
                open_tls(&f->t[i], f->kind);
            if (*fd_of(f, i) >= 0)
                atomic_fetch_add(&f->connects, 1);
        }
        for (int i = 0; i < PER_KIND; i++)
            p[i] = (struct pollfd){ .fd = *fd_of(f, i), .events = POLLIN | POLLRDHUP };
        if (poll(p, PER_KIND, 10) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < PER_KIND; i++) {
            char buf[512];

            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
                continue;
            /* What the daemon sends after the handshake (session tickets) is read raw:
             * the attacker never reads through TLS again. */
            if (recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 &&
                !(p[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
                continue;
            drop(f, i);
        }
    }
    for (int i = 0; i < PER_KIND; i++)
        if (*fd_of(f, i) >= 0)
            drop(f, i);
    return NULL;
}

/* GET path on a fresh TLS connection: the status, the body in *body when 200. */
static int get(const char *path, struct buf *body)
{
    char err[512];

    return tlsclient_get(d.http, &opts, path, NULL, body, err);
}

static double scraped(const char *series)
{
    struct buf body = BUF_INIT;
    double v;

    cr_assert_eq(get("/metrics", &body), 200);
    v = expo_value(body.ptr, series);
    buf_release(&body);
    return v;
}

static int is_ready(void *arg)
{
    (void)arg;
    return get("/-/ready", NULL) == 200;
}

struct want {
    double parked;
};

/* A scrape may meet a full cap of connections still in their handshakes: tried again. */
static int parked_at_least(void *arg)
{
    const struct want *w = arg;
    struct buf body = BUF_INIT;
    int ok =
        get("/metrics", &body) == 200 &&
        expo_value(body.ptr, "ustatsd_http_connections_parked{listener=\"metrics\"}") >= w->parked;

    buf_release(&body);
    return ok;
}

static void start(void)
{
    const char *args[] = { "--web.config.file", web, NULL };
    struct daemon_options o = { .args = args, .no_wait = 1 };
    const char *certs = tlscerts_dir();
    char crt[256], key[256];

    cr_assert_not_null(certs, "no test certificates");
    signal(SIGPIPE, SIG_IGN); /* a dropped attacker's close_notify */
    snprintf(wdir, sizeof(wdir), "/tmp/ustatsd-e2e-admtls-XXXXXX");
    cr_assert_not_null(mkdtemp(wdir));
    snprintf(web, sizeof(web), "%s/web.yml", wdir);
    /* tlscerts_path() is one static buffer: copied before the next call. */
    snprintf(crt, sizeof(crt), "%s", tlscerts_path(certs, "server.crt"));
    snprintf(key, sizeof(key), "%s", tlscerts_path(certs, "server.key"));
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", crt, key);
    snprintf(ca, sizeof(ca), "%s", tlscerts_path(certs, "ca.crt"));
    opts = (struct tlsclient_opts){ .ca_file = ca, .timeout_ms = 10000 };
    cr_assert_eq(daemon_start_with(&d, "{}", &o), 0);
    cr_assert_eq(waitfor_cond(is_ready, NULL, 10000), 0, "no TLS /-/ready within 10 s");
}

static void stop(void)
{
    if (d.pid > 0)
        daemon_stop(&d);
    tlscerts_remove(wdir);
}

static double evicted(const char *reason)
{
    char series[160];

    snprintf(series, sizeof(series),
             "ustatsd_http_connections_evicted_total{listener=\"metrics\",reason=\"%s\"}", reason);
    return scraped(series);
}

Test(e2e_admission_tls, floods_of_stalled_tls_connections_are_parked_and_probes_answered,
     .init = start, .fini = stop, .timeout = 300)
{
    struct want w = { .parked = NKINDS * PER_KIND - SERVED };
    int connects = 0, after = 0, ok = 0;

    for (int k = 0; k < NKINDS; k++) {
        floods[k].kind = (enum kind)k;
        atomic_init(&floods[k].stop, 0);
        atomic_init(&floods[k].connects, 0);
        cr_assert_eq(pthread_create(&floods[k].thread, NULL, flood_main, &floods[k]), 0);
    }
    /* Every attacker beyond what the daemon serves ends up parked, and stays there. */
    cr_assert_eq(waitfor_cond(parked_at_least, &w, 120000), 0, "the floods were not parked");
    for (int k = 0; k < NKINDS; k++)
        connects += atomic_load(&floods[k].connects);
    for (int i = 0; i < PROBES; i++)
        ok += get("/-/healthy", NULL) == 200;
    for (int k = 0; k < NKINDS; k++)
        after += atomic_load(&floods[k].connects);
    cr_assert_eq(ok, PROBES, "%d of %d probes answered 200", ok, PROBES);
    /* A parked attacker was never dropped: it did not come back for another slot. */
    cr_assert_leq(after, connects + SERVED, "parked attackers reconnected: %d connects, then %d",
                  connects, after);
    for (int k = 0; k < NKINDS; k++) {
        atomic_store(&floods[k].stop, 1);
        pthread_join(floods[k].thread, NULL);
    }
    /*
     * Of each kind, all but what the cap and the reserve still hold were evicted: idle
     * connections as idle, unfinished requests as unfinished requests, and half a record
     * as an unfinished request, or as a connection that has sent nothing yet when it is
     * evicted before its bytes were read (a handshake not begun ranks with those).
     */
    cr_assert_geq(evicted("idle"), PER_KIND - SERVED);
    cr_assert_geq(evicted("request"), PER_KIND - SERVED);
    cr_assert_geq(evicted("request") + evicted("fresh"), 2 * PER_KIND - SERVED);
    cr_assert_eq(scraped("ustatsd_http_parked_connections_closed_total{listener=\"metrics\"}"), 0);
}
