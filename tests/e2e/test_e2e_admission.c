/*
 * Fair admission through the real binary, with its default connection limits (64 served,
 * 8 for probes): clients that hold unfinished requests and reconnect as soon as they are
 * dropped. Each one the daemon evicts is parked, its socket held open, so it does not come
 * back; once the flood is parked, health checks on fresh connections are answered. The
 * outcome is what the daemon counts and what the checks get, never how long they took.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "waitfor.h"

#define ATTACKERS 300
#define SERVED    (64 + 8) /* the default cap and probe reserve */

static struct daemon d;

DAEMON_FIXTURE(d, "{}")

struct flood {
    const char *path; /* the HTTP listener's socket */
    atomic_int stop;
    atomic_int connects;
    pthread_t thread;
};

static int open_unfinished(const char *path)
{
    static const char start[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n";
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, start, sizeof(start) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(start) - 1) {
        close(fd);
        return -1; /* the backlog is full: tried again on the next round */
    }
    return fd;
}

/* ATTACKERS connections, each reopened as soon as the daemon closes it. */
static void *flood_main(void *arg)
{
    struct flood *f = arg;
    struct pollfd p[ATTACKERS];

    for (int i = 0; i < ATTACKERS; i++)
        p[i] = (struct pollfd){ .fd = -1, .events = POLLIN | POLLRDHUP };
    while (!atomic_load(&f->stop)) {
        for (int i = 0; i < ATTACKERS; i++)
            if (p[i].fd < 0 && (p[i].fd = open_unfinished(f->path)) >= 0)
                atomic_fetch_add(&f->connects, 1);
        if (poll(p, ATTACKERS, 10) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < ATTACKERS; i++) {
            char buf[512];

            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
                continue;
            if (recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 &&
                !(p[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
                continue; /* an answer: kept, as an attacker would */
            close(p[i].fd);
            p[i].fd = -1;
        }
    }
    for (int i = 0; i < ATTACKERS; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    return NULL;
}

struct want {
    double parked;
};

/*
 * While the flood is not yet parked its connects may fill the listen backlog, so that a
 * scrape's connect is refused: tried again, as a probe would be.
 */
static int parked_at_least(void *arg)
{
    const struct want *w = arg;
    char *body = NULL;
    int ok = daemon_get(&d, "/metrics", NULL, &body) == 200 &&
             expo_value(body, "ustatsd_http_connections_parked{listener=\"metrics\"}") >= w->parked;

    free(body);
    return ok;
}

Test(e2e_admission, a_reconnecting_flood_is_parked_and_fresh_probes_are_answered, .init = start,
     .fini = stop, .timeout = 120)
{
    struct flood f = { .path = d.http + strlen("unix:") };
    struct want w = { .parked = ATTACKERS - SERVED };
    char *body;
    int connects;

    atomic_init(&f.stop, 0);
    atomic_init(&f.connects, 0);
    cr_assert_eq(pthread_create(&f.thread, NULL, flood_main, &f), 0);
    /* Every attacker beyond what the daemon serves ends up parked, and stays there. */
    cr_assert_eq(waitfor_cond(parked_at_least, &w, 30000), 0, "the flood was not parked");
    connects = atomic_load(&f.connects);
    for (int i = 0; i < 50; i++) {
        char *text = NULL;

        cr_assert_eq(daemon_get(&d, "/-/healthy", NULL, &text), 200, "check %d", i);
        free(text);
    }
    /* A parked attacker was never dropped: it did not come back for another slot. */
    cr_assert_leq(atomic_load(&f.connects), connects + SERVED,
                  "parked attackers reconnected: %d connects, then %d", connects,
                  atomic_load(&f.connects));
    atomic_store(&f.stop, 1);
    pthread_join(f.thread, NULL);
    body = daemon_scrape(&d, NULL);
    cr_assert_geq(expo_value(body, "ustatsd_http_connections_evicted_total{listener=\"metrics\","
                                   "reason=\"request\"}"),
                  ATTACKERS - SERVED);
    cr_assert_eq(expo_value(body, "ustatsd_http_parked_connections_closed_total{listener="
                                  "\"metrics\"}"),
                 0);
    free(body);
}
