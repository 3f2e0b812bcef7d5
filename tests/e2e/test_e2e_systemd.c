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
 * a sender that never stops are the last test here (with tests/e2e/supervise.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

/* Bind the test's NOTIFY_SOCKET (env_notify names it for o->env) and start the daemon. */
static void start_notified(char *path, size_t pathcap, char *env_notify, size_t envcap,
                           const struct daemon_options *o)
{
    snprintf(path, pathcap, "/tmp/ustatsd-notify-%d.sock", (int)getpid());
    unlink(path);
    nfd = bind_notify(path);
    snprintf(env_notify, envcap, "NOTIFY_SOCKET=%s", path);
    cr_assert_eq(daemon_start_with(&d, config, o), 0);
}

Test(e2e_systemd, notifies_ready_watchdog_reloading_and_stopping)
{
    char path[256], env_notify[300], buf[2048];
    const char *env[] = { env_notify, "WATCHDOG_USEC=200000", "WATCHDOG_PID=$PID", NULL };
    struct daemon_options o = { .env = env, .no_wait = 1 };
    struct httpc_response r;
    long long t0, mono, elapsed;
    int pings = 0, window = 0;
    pid_t pid;
    const char *p;

    start_notified(path, sizeof(path), env_notify, sizeof(env_notify), &o);

    /* READY=1 comes once the listeners answer: /-/ready at once, no retry. */
    expect("READY=1\n", buf, sizeof(buf), &pings);
    cr_assert_not_null(strstr(buf, "STATUS=serving: 1 families"), "%s", buf);
    cr_assert_eq(httpc_get(d.http, "/-/ready", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    cr_assert_eq(daemon_connect(&d), 0);

    /*
     * WATCHDOG=1 every 100 ms, half of WATCHDOG_USEC. What is queued is read first, so
     * that the count starts from now: five more must come, and no faster than one per
     * 50 ms on average. A loaded machine only spaces them out (or queues them while this
     * test waits, which the time it waits counts), so neither bound depends on the load.
     */
    while (recv_notify(buf, sizeof(buf), &pid, 0) >= 0)
        cr_assert_str_eq(buf, "WATCHDOG=1");
    t0 = waitfor_now_ms();
    while (window < 5 && waitfor_now_ms() - t0 < 10000) {
        int n = recv_notify(buf, sizeof(buf), &pid, 200);

        if (n < 0)
            continue;
        cr_assert_eq(pid, d.pid);
        cr_assert_str_eq(buf, "WATCHDOG=1");
        window++;
    }
    elapsed = waitfor_now_ms() - t0;
    cr_assert_eq(window, 5, "%d WATCHDOG=1 in %lld ms at WATCHDOG_USEC=200000", window, elapsed);
    cr_assert_leq(window, elapsed / 50 + 1, "%d WATCHDOG=1 in %lld ms: faster than WATCHDOG_USEC/4",
                  window, elapsed);

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

    start_notified(path, sizeof(path), env_notify, sizeof(env_notify), &o);
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

/* --- socket activation through systemd-socket-activate ------------------------------- */

struct activated {
    char dir[64];
    char config[96], sock[96], http[96], other[96], log[96];
    pid_t pid;
};

static void activated_prepare(struct activated *a)
{
    FILE *f;

    snprintf(a->dir, sizeof(a->dir), "/tmp/ustatsd-sd-XXXXXX");
    cr_assert_not_null(mkdtemp(a->dir));
    snprintf(a->config, sizeof(a->config), "%s/config.json", a->dir);
    snprintf(a->sock, sizeof(a->sock), "%s/ingest.sock", a->dir);
    snprintf(a->http, sizeof(a->http), "%s/http.sock", a->dir);
    snprintf(a->other, sizeof(a->other), "%s/other.sock", a->dir);
    snprintf(a->log, sizeof(a->log), "%s/daemon.log", a->dir);
    f = fopen(a->config, "w");
    cr_assert_not_null(f);
    fputs(config, f);
    cr_assert_eq(fclose(f), 0);
}

/*
 * systemd-socket-activate with opts (up to 4, NULL-terminated) runs the daemon with the
 * test's socket and a unix: metrics listener. It binds, waits for the first datagram or
 * connection, and execs the daemon in its own place: a->pid is the daemon's pid then.
 */
static void activated_start_with(struct activated *a, const char *const *opts, const char *flag,
                                 const char *value)
{
    char metrics[128];
    const char *argv[32];
    size_t n = 0;

    snprintf(metrics, sizeof(metrics), "unix:%s", a->http);
    argv[n++] = "systemd-socket-activate";
    for (; *opts != NULL; opts++)
        argv[n++] = *opts;
    argv[n++] = getenv("USTATSD_BIN");
    argv[n++] = "--config";
    argv[n++] = a->config;
    argv[n++] = "--socket";
    argv[n++] = a->sock;
    argv[n++] = "--metrics-listen";
    argv[n++] = metrics;
    cr_assert_not_null(argv[n - 7], "USTATSD_BIN is not set");
    if (flag != NULL) {
        argv[n++] = flag;
        argv[n++] = value;
    }
    argv[n] = NULL;
    a->pid = fork();
    cr_assert_geq(a->pid, 0);
    if (a->pid == 0) {
        int fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
}

static void activated_start(struct activated *a, const char *const *opts)
{
    activated_start_with(a, opts, NULL, NULL);
}

static int exists(void *arg)
{
    struct stat st;

    return lstat(arg, &st) == 0;
}

/*
 * systemd-socket-activate creates the path at bind() and listens after it, so the path
 * can exist a moment before a connection is accepted into the backlog. arg: struct
 * stream_connect; on success its fd is the connected socket.
 */
struct stream_connect {
    const char *path;
    int fd;
};

static int stream_connects(void *arg)
{
    struct stream_connect *c = arg;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return 0;
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return 1;
    close(c->fd);
    c->fd = -1;
    return 0;
}

/* The daemon's unix: metrics listener answers /-/ready. arg: struct activated. */
static int stream_connects_http(void *arg)
{
    struct activated *a = arg;
    struct httpc_response r;
    char addr[128];
    int ok;

    snprintf(addr, sizeof(addr), "unix:%s", a->http);
    if (httpc_get(addr, "/-/ready", NULL, &r) != 0)
        return 0;
    ok = r.status == 200;
    httpc_response_release(&r);
    return ok;
}

static void activated_release(struct activated *a)
{
    char cmd[128];

    if (a->pid > 0 && kill(a->pid, SIGKILL) == 0)
        waitpid(a->pid, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", a->dir);
    cr_assert_eq(system(cmd), 0);
}

static void send_to(const char *path, const char *text)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    memcpy(sa.sun_path, path, strlen(path) + 1);
    cr_assert_eq(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa, sizeof(sa)),
                 (ssize_t)strlen(text), "sendto %s: %s", path, strerror(errno));
    close(fd);
}

/* Wait for exit status want, and for its message in the log. */
static void expect_refusal(struct activated *a, const char *message)
{
    int rc = waitfor_exit(a->pid, 10000);
    char *log = daemon_read_file(a->log);

    a->pid = 0;
    cr_assert_eq(rc, 1, "exit status %d; log:\n%s", rc, log);
    cr_assert_not_null(strstr(log, message), "no \"%s\" in the log:\n%s", message, log);
    free(log);
}

Test(e2e_systemd, serves_http_on_a_passed_stream_socket_and_leaves_it_in_place)
{
    struct activated a;
    const char *opts[] = { "-l", a.http, "--fdname=ustatsd-http", NULL };
    struct stream_connect c;
    struct httpc_response r;
    char addr[128], *body;
    int rc;

    activated_prepare(&a);
    activated_start(&a, opts);
    cr_assert_eq(waitfor_cond(exists, a.http, 10000), 0, "systemd-socket-activate did not bind");
    /* The first connection accepted is what makes systemd-socket-activate exec the daemon. */
    c.path = a.http;
    cr_assert_eq(waitfor_cond(stream_connects, &c, 10000), 0, "%s never accepted", a.http);
    close(c.fd);
    snprintf(addr, sizeof(addr), "unix:%s", a.http);
    cr_assert_eq(httpc_get(addr, "/-/ready", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    httpc_response_release(&r);
    send_to(a.sock, "jobs:5|c");
    body = NULL;
    for (long long t0 = waitfor_now_ms(); waitfor_now_ms() - t0 < 5000; waitfor_sleep_ms(10)) {
        free(body);
        cr_assert_eq(httpc_get(addr, "/metrics", NULL, &r), 0);
        body = strdup(r.body);
        httpc_response_release(&r);
        if (expo_value(body, "jobs_total") == 5)
            break;
    }
    cr_assert_eq(expo_value(body, "jobs_total"), 5, "%s", body);
    free(body);

    cr_assert_eq(kill(a.pid, SIGTERM), 0);
    rc = waitfor_exit(a.pid, 10000);
    a.pid = 0;
    cr_assert_eq(rc, 0);
    /* The passed socket's file is systemd's; the ingest socket the daemon bound is gone. */
    cr_assert(exists(a.http), "the passed socket %s was unlinked", a.http);
    cr_assert_not(exists(a.sock), "the daemon's own socket %s was left behind", a.sock);
    activated_release(&a);
}

Test(e2e_systemd, refuses_a_passed_socket_that_matches_nothing)
{
    struct activated a;
    const char *opts[] = { "--datagram", "-l", a.other, "--fdname=bogus", NULL };
    char want[512];

    activated_prepare(&a);
    activated_start(&a, opts);
    cr_assert_eq(waitfor_cond(exists, a.other, 10000), 0, "systemd-socket-activate did not bind");
    send_to(a.other, "jobs:1|c");
    snprintf(want, sizeof(want),
             "socket activation: fd 3 (unix:%s, datagram, name \"bogus\") matches no configured "
             "socket; expected one of: daemon.socket %s (unix datagram socket), "
             "daemon.metrics_listen unix:%s (listening stream socket)",
             a.other, a.sock, a.http);
    expect_refusal(&a, want);
    /* Refused before anything was bound. */
    cr_assert_not(exists(a.sock));
    activated_release(&a);
}

Test(e2e_systemd, refuses_a_stream_socket_where_the_datagram_socket_goes)
{
    struct activated a;
    const char *opts[] = { "-l", a.sock, NULL };
    struct stream_connect c;
    char want[512];

    activated_prepare(&a);
    activated_start(&a, opts);
    cr_assert_eq(waitfor_cond(exists, a.sock, 10000), 0, "systemd-socket-activate did not bind");
    c.path = a.sock;
    cr_assert_eq(waitfor_cond(stream_connects, &c, 10000), 0, "%s never accepted", a.sock);
    snprintf(want, sizeof(want),
             "socket activation: fd 3 (unix:%s, stream, name \"unknown\") is at the address of "
             "daemon.socket (%s) but daemon.socket expects a unix datagram socket "
             "(ListenDatagram=)",
             a.sock, a.sock);
    expect_refusal(&a, want);
    close(c.fd);
    activated_release(&a);
}

/*
 * The log line holding want, which must be at warn level; NULL (and fails) when absent.
 * The caller frees log.
 */
static void expect_warning(const char *log, const char *want)
{
    const char *at = strstr(log, want), *start, *end;

    cr_assert_not_null(at, "no \"%s\" in the log:\n%s", want, log);
    for (start = at; start > log && start[-1] != '\n'; start--)
        ;
    end = strchr(at, '\n');
    cr_assert(end != NULL);
    cr_assert_not_null(memmem(start, (size_t)(end - start), "\"level\":\"warn\"", 14),
                       "not at warn level: %.*s", (int)(end - start), start);
}

/*
 * A passed datagram socket keeps the unit's mode and group; the daemon says at warn
 * level when they are not the config's socket_mode and socket_group, and is quiet when
 * they are. match: chmod/chown the socket to the config's before the daemon starts.
 */
static void passed_socket_mode_and_group(int match)
{
    struct activated a;
    const char *opts[] = { "--datagram", "-l", a.sock, NULL };
    struct group *g = getgrnam("nogroup");
    struct stat st;
    char want[512], *log;
    FILE *f;

    cr_assert_not_null(g, "no group nogroup on this machine");
    activated_prepare(&a);
    f = fopen(a.config, "w");
    cr_assert_not_null(f);
    fputs("{\"daemon\": {\"socket_mode\": \"0604\", \"socket_group\": \"nogroup\", "
          "\"log_format\": \"json\"},\n \"families\": [{\"name\": \"jobs\", \"type\": "
          "\"counter\", \"help\": \"Jobs.\"}]}\n",
          f);
    cr_assert_eq(fclose(f), 0);
    activated_start(&a, opts);
    cr_assert_eq(waitfor_cond(exists, a.sock, 10000), 0, "systemd-socket-activate did not bind");
    if (match) {
        cr_assert_eq(chmod(a.sock, 0604), 0);
        cr_assert_eq(chown(a.sock, (uid_t)-1, g->gr_gid), 0, "chown: %s", strerror(errno));
    }
    cr_assert_eq(stat(a.sock, &st), 0);
    send_to(a.sock, "jobs:1|c");
    cr_assert_eq(waitfor_cond(stream_connects_http, &a, 10000), 0, "the daemon never served");
    cr_assert_eq(kill(a.pid, SIGTERM), 0);
    cr_assert_eq(waitfor_exit(a.pid, 10000), 0);
    a.pid = 0;
    log = daemon_read_file(a.log);
    cr_assert_not_null(log);
    if (match) {
        cr_assert_null(strstr(log, "daemon.socket_mode is"), "%s", log);
        cr_assert_null(strstr(log, "daemon.socket_group is"), "%s", log);
    } else {
        struct group *have = getgrgid(st.st_gid);
        char gname[64];

        cr_assert_neq(st.st_mode & 07777, 0604, "the socket was made with the config's mode");
        cr_assert_neq(st.st_gid, g->gr_gid, "the socket was made with the config's group");
        snprintf(want, sizeof(want),
                 "daemon.socket_mode is 0604 but the passed socket %s has mode %04o (the "
                 ".socket unit's SocketMode=), which applies",
                 a.sock, (unsigned)(st.st_mode & 07777));
        expect_warning(log, want);
        if (have != NULL)
            snprintf(gname, sizeof(gname), "%s", have->gr_name);
        else
            snprintf(gname, sizeof(gname), "%lu", (unsigned long)st.st_gid);
        snprintf(want, sizeof(want),
                 "daemon.socket_group is \\\"nogroup\\\" but the passed socket %s has group "
                 "\\\"%s\\\" (the .socket unit's SocketGroup=), which applies",
                 a.sock, gname);
        expect_warning(log, want);
    }
    free(log);
    activated_release(&a);
}

Test(e2e_systemd, warns_when_a_passed_socket_has_another_mode_and_group)
{
    passed_socket_mode_and_group(0);
}

Test(e2e_systemd, is_quiet_when_a_passed_socket_has_the_configured_mode_and_group)
{
    passed_socket_mode_and_group(1);
}

/* --- restarts on a socket that outlives the daemon ----------------------------------- */

#define INSTANCES 11 /* the first start and 10 restarts */
#define RUN_MS    150

struct sender {
    int fd;
    volatile int stop;
    unsigned long long sent, errors, blocked;
    int last_errno;
};

/*
 * Blocking sends, as a client that must not lose a line: while no daemon reads, the
 * queue fills and send() waits. SO_SNDTIMEO only lets the loop look at stop; the line
 * that timed out is sent again, never counted twice.
 */
static void *send_forever(void *arg)
{
    struct sender *s = arg;
    static const char line[] = "sysd_lines:1|c";

    while (!s->stop) {
        if (send(s->fd, line, sizeof(line) - 1, 0) == (ssize_t)(sizeof(line) - 1)) {
            s->sent++;
        } else if (errno == EAGAIN || errno == EINTR) {
            s->blocked++;
        } else {
            s->errors++;
            s->last_errno = errno;
        }
    }
    return NULL;
}

struct supervised {
    const char *ready;
    pid_t pid;
    int status; /* the supervisor's exit status once it exited early, else -1 */
};

/* The restarts are done, or the supervisor gave up (with its reason in its log). */
static int restarts_done(void *arg)
{
    struct supervised *w = arg;
    int st;

    if (waitpid(w->pid, &st, WNOHANG) == w->pid) {
        w->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return 1;
    }
    return exists((void *)w->ready);
}

/* The count in "stopped; N datagrams received on the unix socket" of instance i's log. */
static unsigned long long stopped_count(const char *dir, int i)
{
    char path[160], *log, *p;
    unsigned long long n;

    snprintf(path, sizeof(path), "%s/daemon.%d.log", dir, i);
    log = daemon_read_file(path);
    cr_assert_not_null(log, "no %s", path);
    p = strstr(log, "stopped; ");
    cr_assert_not_null(p, "instance %d did not stop cleanly:\n%s", i, log);
    n = strtoull(p + 9, NULL, 10);
    cr_assert_not_null(strstr(log, "passed by systemd"), "instance %d bound its own:\n%s", i, log);
    free(log);
    return n;
}

static int has_state_file_flag(void)
{
    const char *args[] = { "--help", NULL };
    char *out = NULL;
    int yes;

    daemon_run_once(args, &out);
    yes = out != NULL && strstr(out, "--state-file") != NULL;
    free(out);
    return yes;
}

/*
 * 10 restarts under a sender that never stops, as systemd does them with a .socket unit:
 * the socket outlives each daemon, what is sent while none runs waits in the kernel
 * queue, and no line is lost. Each instance reports at stop what it read; with the state
 * file (--state-file) the counter itself carries on across restarts and ends equal to
 * the lines sent.
 */
Test(e2e_systemd, ten_restarts_on_a_passed_socket_lose_no_line, .timeout = 120)
{
    struct activated a;
    char dir_arg[64], inst[8], run[8], ready[128], state[128], addr[128], metrics[128], *log;
    const char *opts[16];
    struct sender s = { .fd = -1 };
    struct supervised w;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_usec = 100000 };
    struct httpc_response r;
    unsigned long long read_by_all = 0;
    int state_file = has_state_file_flag(), rc;
    long long t0;
    pthread_t th;
    double last;
    size_t n = 0;
    FILE *f;

    activated_prepare(&a);
    f = fopen(a.config, "w");
    fputs("{\"families\": [{\"name\": \"sysd_lines\", \"type\": \"counter\", \"help\": \"L.\"}]}\n",
          f);
    cr_assert_eq(fclose(f), 0);
    snprintf(dir_arg, sizeof(dir_arg), "%s", a.dir);
    snprintf(inst, sizeof(inst), "%d", INSTANCES);
    snprintf(run, sizeof(run), "%d", RUN_MS);
    snprintf(ready, sizeof(ready), "%s/supervise.ready", a.dir);
    snprintf(state, sizeof(state), "%s/state", a.dir);
    snprintf(metrics, sizeof(metrics), "unix:%s", a.http);
    cr_assert_not_null(getenv("USTATSD_SUPERVISE_BIN"));
    opts[n++] = "--datagram";
    opts[n++] = "-l";
    opts[n++] = a.sock;
    opts[n++] = "--fdname=ustatsd.socket";
    opts[n++] = getenv("USTATSD_SUPERVISE_BIN");
    opts[n++] = dir_arg;
    opts[n++] = inst;
    opts[n++] = run;
    opts[n] = NULL;
    /* activated_start() appends the daemon and its arguments; the state file goes last. */
    activated_start_with(&a, opts, state_file ? "--state-file" : NULL, state);
    cr_assert_eq(waitfor_cond(exists, a.sock, 10000), 0, "systemd-socket-activate did not bind");

    s.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memcpy(sa.sun_path, a.sock, strlen(a.sock) + 1);
    cr_assert_eq(connect(s.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    t0 = waitfor_now_ms();
    /* Its first datagram is what makes systemd-socket-activate exec the supervisor. */
    cr_assert_eq(pthread_create(&th, NULL, send_forever, &s), 0);
    w = (struct supervised){ ready, a.pid, -1 };
    rc = waitfor_cond(restarts_done, &w, 90000);
    s.stop = 1;
    pthread_join(th, NULL);
    if (rc != 0 || w.status >= 0) {
        char why[4096];

        log = daemon_read_file(a.log);
        snprintf(why, sizeof(why), "%s", log != NULL ? log : "");
        free(log);
        a.pid = w.status >= 0 ? 0 : a.pid;
        cr_assert_fail("the restarts did not finish (supervisor exit status %d):\n%s", w.status,
                       why);
    }
    cr_assert_eq(s.errors, 0, "%llu sends failed, the last with %s", s.errors,
                 strerror(s.last_errno));
    /* Every line sent has been read by some instance: the last one empties the queue. */
    cr_assert_eq(waitfor_sent(s.fd, 10000), 0, "the last instance did not read the queue");
    snprintf(addr, sizeof(addr), "unix:%s", a.http);
    cr_assert_eq(httpc_get(addr, "/metrics", NULL, &r), 0);
    last = expo_value(r.body, "sysd_lines_total");
    httpc_response_release(&r);

    cr_assert_eq(kill(a.pid, SIGTERM), 0);
    rc = waitfor_exit(a.pid, 15000);
    a.pid = 0;
    cr_assert_eq(rc, 0, "the supervisor or the last daemon failed (status %d)", rc);
    for (int i = 0; i < INSTANCES; i++)
        read_by_all += stopped_count(a.dir, i);
    fprintf(
        stderr,
        "restarts: %d in %.2f s; lines sent %llu (%llu sends waited over 100 ms on a full queue), "
        "read by the instances %llu, the last one's counter %.0f%s\n",
        INSTANCES - 1, (double)(waitfor_now_ms() - t0) / 1000, s.sent, s.blocked, read_by_all, last,
        state_file ? " (state file on)" : " (no state file: each instance from 0)");
    log = daemon_read_file(a.log);
    fprintf(stderr, "%s", log != NULL ? log : "");
    free(log);
    cr_assert_eq(read_by_all, s.sent, "lines sent %llu, read by the instances %llu", s.sent,
                 read_by_all);
    /*
     * Without the state file each instance counts from 0, so the last one's counter is
     * what it read; with it, the counter carries everything sent.
     */
    if (state_file)
        cr_assert_eq(last, (double)s.sent, "the counter %.0f after restarts, lines sent %llu", last,
                     s.sent);
    else
        cr_assert_eq(last, (double)stopped_count(a.dir, INSTANCES - 1),
                     "the last instance's counter %.0f is not what it read", last);
    /* The socket outlives every instance: systemd's, never unlinked by the daemon. */
    cr_assert(exists(a.sock), "an instance unlinked the passed socket");
    close(s.fd);
    activated_release(&a);
}
