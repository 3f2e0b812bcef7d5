/*
 * End to end through the real binary, as systemd runs it: the test binds its own
 * NOTIFY_SOCKET and checks the sequence of notifications (READY=1 once the listeners
 * answer, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC then
 * READY=1 around a SIGHUP, good or bad, STOPPING=1 at SIGTERM), each sent by the daemon's
 * own pid (SCM_CREDENTIALS).
 *
 * Socket activation goes through Debian's systemd-socket-activate, which binds the
 * socket, waits for the first datagram or connection and then execs the daemon in its
 * place with LISTEN_FDS=1: a passed HTTP socket is served and left in place at exit,
 * while the ingest socket the daemon bound itself is removed; a passed socket that
 * matches nothing, or is of the wrong kind, refuses start-up by name. The restarts under
 * a sender that never stops are in test_e2e_sysd_restart.c.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "waitfor.h"

static struct daemon d;
static int nfd = -1;

static const char config[] = "{\"families\": [{\"name\": \"jobs\", \"type\": \"counter\", "
                             "\"help\": \"Jobs.\"}]}\n";

static int bind_notify(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

    cr_assert_geq(fd, 0);
    cr_assert_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", path,
                 strerror(errno));
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    return fd;
}

/*
 * The next notification within timeout_ms into buf (NUL-terminated), with the sender's
 * pid; -1 on timeout.
 */
static int recv_notify(char *buf, size_t cap, pid_t *pid, int timeout_ms)
{
    struct pollfd p = { .fd = nfd, .events = POLLIN };
    char ctrl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = { buf, cap - 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct cmsghdr *c;
    ssize_t n;

    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    m.msg_control = ctrl;
    m.msg_controllen = sizeof(ctrl);
    n = recvmsg(nfd, &m, 0);
    cr_assert_geq(n, 0);
    buf[n] = '\0';
    *pid = 0;
    for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred uc;

            memcpy(&uc, CMSG_DATA(c), sizeof(uc));
            *pid = uc.pid;
        }
    return (int)n;
}

/* The next notification other than WATCHDOG=1 (counted in *pings), from the daemon. */
static void expect(const char *prefix, char *buf, size_t cap, int *pings)
{
    pid_t pid;

    for (;;) {
        cr_assert_geq(recv_notify(buf, cap, &pid, 10000), 0, "no %s within 10 s", prefix);
        cr_assert_eq(pid, d.pid, "\"%s\" came from pid %d, not the daemon's %d", buf, (int)pid,
                     (int)d.pid);
        if (strcmp(buf, "WATCHDOG=1") == 0) {
            (*pings)++;
            continue;
        }
        cr_assert_eq(strncmp(buf, prefix, strlen(prefix)), 0, "expected %s, got \"%s\"", prefix,
                     buf);
        return;
    }
}

static long long monotonic_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_geq(fputs(json, f), 0);
    cr_assert_eq(fclose(f), 0);
}

/* After the one SIGTERM systemd sends: exit status 0, and clean up. */
static void stopped(void)
{
    int rc = waitfor_exit(d.pid, 10000);

    cr_assert_eq(rc, 0, "exit status %d after SIGTERM", rc);
    d.pid = 0;
    daemon_stop(&d);
}

Test(e2e_systemd, notifies_ready_watchdog_reloading_and_stopping)
{
    char path[256], env_notify[300], buf[2048];
    const char *env[] = { env_notify, "WATCHDOG_USEC=200000", "WATCHDOG_PID=$PID", NULL };
    struct daemon_options o = { .env = env, .no_wait = 1 };
    struct httpc_response r;
    long long t0, mono;
    int pings = 0, window = 0;
    pid_t pid;
    const char *p;

    snprintf(path, sizeof(path), "/tmp/ustatsd-notify-%d.sock", (int)getpid());
    unlink(path);
    nfd = bind_notify(path);
    snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", path);
    cr_assert_eq(daemon_start_with(&d, config, &o), 0);

    /* READY=1 comes once the listeners answer: /-/ready at once, no retry. */
    expect("READY=1\n", buf, sizeof(buf), &pings);
    cr_assert_not_null(strstr(buf, "STATUS=serving: 1 families"), "%s", buf);
    cr_assert_eq(httpc_get(d.http, "/-/ready", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    cr_assert_eq(daemon_connect(&d), 0);

    /* WATCHDOG=1 every 100 ms: about 10 in a second; 4 to 14 allow a loaded machine. */
    t0 = waitfor_now_ms();
    while (waitfor_now_ms() - t0 < 1000) {
        int n = recv_notify(buf, sizeof(buf), &pid, 200);

        if (n < 0)
            continue;
        cr_assert_eq(pid, d.pid);
        cr_assert_str_eq(buf, "WATCHDOG=1");
        window++;
    }
    cr_assert(window >= 4 && window <= 14, "%d WATCHDOG=1 in 1 s at WATCHDOG_USEC=200000", window);

    /* A reload that applies. */
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    expect("RELOADING=1\n", buf, sizeof(buf), &pings);
    mono = monotonic_usec();
    p = strstr(buf, "MONOTONIC_USEC=");
    cr_assert_not_null(p, "%s", buf);
    cr_assert(llabs(strtoll(p + 15, NULL, 10) - mono) < 5000000,
              "MONOTONIC_USEC %s is not CLOCK_MONOTONIC now (%lld)", p + 15, mono);
    expect("READY=1\n", buf, sizeof(buf), &pings);
    cr_assert_not_null(strstr(buf, "STATUS=reloaded; serving"), "%s", buf);

    /* A reload of a broken file is refused, and ends with READY=1 all the same. */
    write_config("{\"families\": [{\"name\": \"jobs\", \"type\": \"countr\"}]}\n");
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    expect("RELOADING=1\n", buf, sizeof(buf), &pings);
    expect("READY=1\n", buf, sizeof(buf), &pings);
    cr_assert_not_null(strstr(buf, "STATUS=reload refused, the running configuration stays: "),
                       "%s", buf);
    cr_assert_not_null(strstr(buf, d.config), "%s", buf);
    cr_assert_not_null(strstr(buf, "$.families[0].type"), "%s", buf);
    cr_assert_null(strchr(strstr(buf, "STATUS="), '\n'), "STATUS is one line: %s", buf);

    /* The daemon still serves after both. */
    cr_assert_eq(daemon_sends(&d, "jobs:2|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "jobs_total", 2, 5000), 2);

    cr_assert_eq(kill(d.pid, SIGTERM), 0);
    expect("STOPPING=1", buf, sizeof(buf), &pings);
    stopped();
    close(nfd);
    unlink(path);
}

Test(e2e_systemd, sends_nothing_without_watchdog_pid_of_its_own)
{
    char path[256], env_notify[300], buf[256];
    const char *env[] = { env_notify, "WATCHDOG_USEC=100000", "WATCHDOG_PID=1", NULL };
    struct daemon_options o = { .env = env, .no_wait = 1 };
    int pings = 0;
    pid_t pid;

    snprintf(path, sizeof(path), "/tmp/ustatsd-notify-%d.sock", (int)getpid());
    unlink(path);
    nfd = bind_notify(path);
    snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", path);
    cr_assert_eq(daemon_start_with(&d, config, &o), 0);
    expect("READY=1\n", buf, sizeof(buf), &pings);
    /* WATCHDOG_PID names another process: the watchdog is not ours, no ping in 500 ms. */
    cr_assert_eq(recv_notify(buf, sizeof(buf), &pid, 500), -1, "unexpected \"%s\"", buf);
    cr_assert_eq(pings, 0);
    cr_assert_eq(kill(d.pid, SIGTERM), 0);
    expect("STOPPING=1", buf, sizeof(buf), &pings);
    stopped();
    close(nfd);
    unlink(path);
}
