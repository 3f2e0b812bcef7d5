/*
 * supervise: systemd's part in the restart test of test_e2e_systemd.c, for a machine
 * where the test cannot run systemd itself.
 *
 *     systemd-socket-activate --datagram -l SOCK --fdname=NAME \
 *         supervise DIR INSTANCES RUN_MS USTATSD_BIN [ustatsd arguments...]
 *
 * systemd-socket-activate binds SOCK, waits for the first datagram and execs this program
 * with the socket as fd 3 (LISTEN_FDS=1). Like systemd with a .socket unit, it keeps the
 * socket for the whole run and starts the daemon INSTANCES times in turn: each time with
 * LISTEN_FDS=1, LISTEN_PID naming the daemon, LISTEN_FDNAMES and a NOTIFY_SOCKET of its
 * own; it waits for READY=1, lets the daemon run RUN_MS, and stops it with one SIGTERM,
 * as `systemctl restart` does, then waits for it to exit with status 0. The last instance
 * keeps running: DIR/supervise.ready then holds its pid, and a SIGTERM to this program is
 * passed on to it. The exit status is the last daemon's, or 1 (with a message on stderr)
 * when any step failed. Each daemon's stderr goes to DIR/daemon.N.log.
 *
 * Stdout gets one line per restart: how long the socket had no reader (from SIGTERM to
 * the next READY=1).
 */
#include <errno.h>
#include <fcntl.h>
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

static const char *dir;
static char notify_path[108];

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(const char *what)
{
    fprintf(stderr, "supervise: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static int bind_notify(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    snprintf(notify_path, sizeof(notify_path), "%s/notify.sock", dir);
    memcpy(sa.sun_path, notify_path, strlen(notify_path) + 1);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        fail("bind the notify socket");
    return fd;
}

/* Wait up to timeout_ms for a notification that starts with what. */
static int wait_notify(int nfd, const char *what, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    char buf[4096];

    for (;;) {
        struct pollfd p = { .fd = nfd, .events = POLLIN };
        long long left = end - now_ms();
        ssize_t n;

        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return -1;
        n = recv(nfd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            continue;
        buf[n] = '\0';
        if (strncmp(buf, what, strlen(what)) == 0)
            return 0;
    }
}

static pid_t start(char **argv, int n, const char *name)
{
    pid_t pid = fork();

    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        char log[256], v[32];
        sigset_t none;
        int fd;

        /* exec keeps the signal mask: the daemon must get the SIGTERM blocked here. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        snprintf(log, sizeof(log), "%s/daemon.%d.log", dir, n);
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(126);
        snprintf(v, sizeof(v), "%ld", (long)getpid());
        setenv("LISTEN_PID", v, 1);
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_FDNAMES", name, 1);
        setenv("NOTIFY_SOCKET", notify_path, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int st;

    while (now_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(2000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void write_ready(pid_t pid)
{
    char tmp[256], path[256];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s/supervise.ready.tmp", dir);
    snprintf(path, sizeof(path), "%s/supervise.ready", dir);
    f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%ld\n", (long)pid) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        fail("write supervise.ready");
}

int main(int argc, char **argv)
{
    const char *fds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
    const char *name = getenv("LISTEN_FDNAMES");
    int instances, run_ms, nfd, sig, rc;
    long long down_since;
    sigset_t set;
    pid_t pid;

    if (argc < 5) {
        fprintf(stderr, "usage: supervise DIR INSTANCES RUN_MS USTATSD_BIN [args...]\n");
        return 2;
    }
    dir = argv[1];
    instances = atoi(argv[2]);
    run_ms = atoi(argv[3]);
    if (fds == NULL || strcmp(fds, "1") != 0 || lpid == NULL || atol(lpid) != (long)getpid()) {
        fprintf(stderr, "supervise: expected one socket from systemd-socket-activate\n");
        return 1;
    }
    name = name != NULL ? name : "unknown";
    /* fd 3 stays open, without FD_CLOEXEC, for every daemon to inherit. */
    if (fcntl(3, F_SETFD, 0) != 0)
        fail("fd 3");
    nfd = bind_notify();
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);

    down_since = now_ms();
    for (int i = 0;; i++) {
        pid = start(argv + 4, i, name);
        if (wait_notify(nfd, "READY=1", 10000) != 0) {
            fprintf(stderr, "supervise: instance %d sent no READY=1 within 10 s\n", i);
            kill(pid, SIGKILL);
            return 1;
        }
        if (i > 0)
            printf("restart %d: no reader for %lld ms\n", i, now_ms() - down_since);
        if (i == instances - 1)
            break;
        usleep((useconds_t)run_ms * 1000);
        down_since = now_ms();
        kill(pid, SIGTERM);
        rc = wait_exit(pid, 10000);
        if (rc != 0) {
            fprintf(stderr, "supervise: instance %d exited with status %d after SIGTERM\n", i, rc);
            return 1;
        }
    }
    fflush(stdout);
    write_ready(pid);
    sigwait(&set, &sig);
    kill(pid, SIGTERM);
    rc = wait_exit(pid, 10000);
    close(nfd);
    unlink(notify_path);
    return rc < 0 ? 1 : rc;
}
