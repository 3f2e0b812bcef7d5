/*
 * client/ustatsd.h, the transport: it never blocks or raises SIGPIPE when the daemon is
 * gone or full, counts what it drops, reconnects lazily and at most once per interval
 * (on a clock the test moves by hand, so nothing here sleeps), and ustatsd-send, built
 * on it, batches raw lines and reports drops.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rxsock.h"
#include "ustatsd.h"

/* ---------------------------------------------------------------- fixture */

static struct rxsock *const rx = &rxsock_rx;
static struct ustatsd *const st = &rxsock_client;
static long long fake_ms = 1000000; /* the client's clock: only the tests move it */

static long long fake_clock(void *arg)
{
    return *(const long long *)arg;
}

static const struct ustatsd_options fake = { .clock = fake_clock, .clock_arg = &fake_ms };

/* A daemon that is up, and a client connected to it. */
static void setup_up(void)
{
    rxsock_start(rx, st, &fake);
}

/* No daemon yet: the path does not exist. */
static void setup_down(void)
{
    rxsock_init(rx);
    cr_assert_eq(ustatsd_open_with(st, rx->path, &fake), 0);
    cr_assert_eq(st->connects, 0);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---------------------------------------------------------------- drops */

/*
 * How many datagrams the receiver's queue holds. The kernel refuses a datagram while more
 * than net.unix.max_dgram_qlen wait (as it was when the socket was made: 10 by default,
 * 512 where ustatsd's sysctl.d file is applied), and sooner when the sender's SO_SNDBUF
 * is full. A test that fills the queue sends more than this, whatever the host's setting.
 */
static long queue_holds(void)
{
    FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
    long qlen = -1;

    cr_assert_not_null(f, "/proc/sys/net/unix/max_dgram_qlen: %s", strerror(errno));
    cr_assert_eq(fscanf(f, "%ld", &qlen), 1);
    fclose(f);
    cr_assert_geq(qlen, 0);
    return qlen + 1;
}

/*
 * n calls, each answered with success or a drop. That no call blocks is not timed here:
 * a client that blocked on a full queue, with nothing reading it, would hang the test
 * until ctest's timeout fails it.
 */
static void counts(long n)
{
    for (long i = 0; i < n; i++) {
        int rc = ustatsd_count(st, "requests", 1, NULL, 0);
        cr_assert(rc == 0 || rc == -EAGAIN || rc == -ENOENT || rc == -ENOBUFS, "call %ld: %s", i,
                  ustatsd_strerror(rc));
    }
}

/* counts() unbatched: one datagram each, sent or dropped (one line) for err. */
static void datagrams(long n, int err)
{
    st->batching = 0;
    counts(n);
    cr_assert_eq(st->datagrams_sent + st->datagrams_dropped, (unsigned long long)n);
    cr_assert_eq(st->lines_dropped, st->datagrams_dropped);
    cr_assert_eq(st->last_errno, err);
}

Test(client_transport, missing_socket_drops_at_once_and_counts, .init = setup_down,
     .fini = rxsock_down)
{
    datagrams(10000, ENOENT);
    cr_assert_eq(st->datagrams_sent, 0);
    cr_assert_eq(ustatsd_count(st, "requests", 1, NULL, 0), -ENOENT);
}

Test(client_transport, full_queue_drops_at_once_and_keeps_the_connection, .init = setup_up,
     .fini = rxsock_down)
{
    long holds = queue_holds();

    /* Nothing reads: what the queue holds goes through, the rest is dropped. */
    datagrams(holds + 1, EAGAIN);
    cr_assert_gt(st->datagrams_sent, 0);
    cr_assert_leq(st->datagrams_sent, (unsigned long long)holds);
    cr_assert_eq(st->connects, 1, "EAGAIN must not reconnect");

    /* The daemon catches up: the next line goes through on the same connection. */
    char buf[64];
    while (rxsock_recv(rx, buf, sizeof(buf)) >= 0)
        ;
    cr_assert_eq(ustatsd_count(st, "after", 1, NULL, 0), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "after:1|c\n");
}

Test(client_transport, full_queue_with_batching_drops_whole_datagrams, .init = setup_up,
     .fini = rxsock_down)
{
    /* Enough full datagrams ("requests:1|c\n" is 13 bytes) to overflow the queue. */
    long lines = (queue_holds() + 1) * (USTATSD_DGRAM_MAX / 13 + 1);

    counts(lines);
    ustatsd_flush(st);
    cr_assert_gt(st->datagrams_dropped, 0);
    cr_assert_eq(st->lines_sent + st->lines_dropped, (unsigned long long)lines);
    cr_assert_eq(st->last_errno, EAGAIN);
}

Test(client_transport, reconnects_lazily_and_at_most_once_per_interval, .init = setup_down,
     .fini = rxsock_down)
{
    char buf[64];
    st->batching = 0;
    st->reconnect_interval_ms = 300;
    cr_assert_eq(ustatsd_count(st, "early", 1, NULL, 0), -ENOENT);
    rxsock_bind(rx);
    /* The daemon is back, but open() tried to connect 299 ms ago: still dropped. */
    fake_ms += 299;
    cr_assert_eq(ustatsd_count(st, "early", 1, NULL, 0), -ENOENT);
    cr_assert_eq(st->connects, 0);
    cr_assert_lt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    fake_ms += 1;
    cr_assert_eq(ustatsd_count(st, "late", 1, NULL, 0), 0);
    cr_assert_eq(st->connects, 1);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "late:1|c\n");
    cr_assert_eq(st->datagrams_dropped, 2);
}

Test(client_transport, follows_a_restarted_daemon_to_its_new_socket, .init = setup_up,
     .fini = rxsock_down)
{
    char buf[64];
    st->batching = 0;
    st->reconnect_interval_ms = 200;
    cr_assert_eq(ustatsd_count(st, "before", 1, NULL, 0), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    /* Restart: the old socket dies and a new one is bound at the same path. */
    rxsock_unbind(rx);
    rxsock_bind(rx);
    /* The connected socket still points at the dead inode, and open() was just now. */
    cr_assert_eq(ustatsd_count(st, "lost", 1, NULL, 0), -ECONNREFUSED);
    fake_ms += 199;
    cr_assert_eq(ustatsd_count(st, "lost", 1, NULL, 0), -ECONNREFUSED);
    fake_ms += 1;
    cr_assert_eq(ustatsd_count(st, "after", 1, NULL, 0), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "after:1|c\n");
    cr_assert_eq(st->connects, 2);
    cr_assert_eq(st->datagrams_dropped, 2);

    /* Past the interval, the send that finds the peer dead reconnects and retries. */
    fake_ms += 200;
    rxsock_unbind(rx);
    rxsock_bind(rx);
    cr_assert_eq(ustatsd_count(st, "retried", 1, NULL, 0), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "retried:1|c\n");
    cr_assert_eq(st->datagrams_dropped, 2);
    cr_assert_eq(st->connects, 3);
}

/* Without a clock of the caller's, the back-off is timed with CLOCK_MONOTONIC. */
Test(client_transport, the_default_clock_is_the_monotonic_clock)
{
    struct ustatsd c;
    long long t0 = now_ns() / 1000000, t1;
    cr_assert_eq(ustatsd_open(&c, "/nonexistent/ustatsd.sock"), 0);
    t1 = now_ns() / 1000000;
    cr_assert(c.clock == NULL);
    cr_assert(c.tried && c.last_connect_ms >= t0 && c.last_connect_ms <= t1,
              "open() tried at %lld, not in [%lld, %lld]", c.last_connect_ms, t0, t1);
    ustatsd_close(&c);
}

Test(client_transport, never_raises_sigpipe, .init = setup_up, .fini = rxsock_down)
{
    cr_assert_neq(signal(SIGPIPE, SIG_DFL), SIG_ERR);
    /* Control: with SIG_DFL, a plain send() on a broken stream does kill the sender. */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            _exit(3);
        close(sv[1]);
        (void)send(sv[0], "x", 1, 0);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);

    st->batching = 0;
    /* A peer that stopped reading: EPIPE. */
    cr_assert_eq(shutdown(rx->fd, SHUT_RD), 0);
    cr_assert_eq(ustatsd_count(st, "x", 1, NULL, 0), -EPIPE);
    /* A peer that is gone: ECONNREFUSED, then no peer at all. */
    rxsock_unbind(rx);
    for (int i = 0; i < 100; i++)
        cr_assert_lt(ustatsd_count(st, "x", 1, NULL, 0), 0);
    cr_assert_eq(ustatsd_close(st), 0);
    cr_assert_eq(st->datagrams_dropped, 101);
}

/* ---------------------------------------------------------------- ustatsd-send */

/*
 * Run ustatsd-send with args (NULL-terminated) and stdin from in; returns its exit status.
 * Its standard error goes to /dev/null, or, with err, into err (errlen bytes,
 * NUL-terminated) through a pipe, or a terminal when tty is set.
 */
static int run_send_err(const char *in, const char *const *args, int tty, char *err, size_t errlen)
{
    const char *bin = getenv("USTATSD_SEND_BIN");
    char *argv[16];
    int p[2], e[2] = { -1, -1 }, status, i = 0;
    size_t got = 0;
    ssize_t n;
    argv[i++] = (char *)bin;
    for (; args[i - 1] && i < 15; i++)
        argv[i] = (char *)args[i - 1];
    argv[i] = NULL;
    cr_assert_eq(pipe(p), 0);
    if (err != NULL && tty) {
        e[0] = posix_openpt(O_RDWR | O_NOCTTY);
        cr_assert_geq(e[0], 0);
        cr_assert_eq(grantpt(e[0]), 0);
        cr_assert_eq(unlockpt(e[0]), 0);
        e[1] = open(ptsname(e[0]), O_RDWR | O_NOCTTY);
        cr_assert_geq(e[1], 0);
    } else if (err != NULL) {
        cr_assert_eq(pipe(e), 0);
    }
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(err != NULL ? e[1] : null, 2);
        dup2(p[0], 0);
        close(p[0]);
        close(p[1]);
        execv(bin, argv);
        _exit(127);
    }
    close(p[0]);
    if (in)
        cr_assert_eq(write(p[1], in, strlen(in)), (ssize_t)strlen(in));
    close(p[1]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    if (err != NULL) {
        close(e[1]); /* the child is gone: what it wrote waits in the pipe or the terminal */
        while (got + 1 < errlen && (n = read(e[0], err + got, errlen - 1 - got)) > 0)
            got += (size_t)n;
        err[got] = '\0';
        close(e[0]);
    }
    return WEXITSTATUS(status);
}

static int run_send(const char *in, const char *const *args)
{
    return run_send_err(in, args, 0, NULL, 0);
}

Test(client_transport, ustatsd_send_batches_raw_lines_and_reports_drops, .init = setup_up,
     .fini = rxsock_down)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    if (!getenv("USTATSD_SEND_BIN"))
        cr_skip_test("USTATSD_SEND_BIN is not set (run through ctest)");
    const char *const args[] = { "-s", rx->path, "a:1|c", "not a valid line", NULL };
    cr_assert_eq(run_send(NULL, args), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "a:1|c\nnot a valid line\n");

    const char *const from_stdin[] = { "--socket", rx->path, NULL };
    cr_assert_eq(run_send("x:1|c\ny:2|g\n", from_stdin), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "x:1|c\ny:2|g\n");

    char missing[USTATSD_PATH_MAX];
    snprintf(missing, sizeof(missing), "%s/missing.sock", rx->dir);
    const char *const dropped[] = { "-s", missing, "a:1|c", NULL };
    cr_assert_eq(run_send(NULL, dropped), 1);
    const char *const usage[] = { "--bogus", NULL };
    cr_assert_eq(run_send(NULL, usage), 2);
    const char *const no_path[] = { "-s", NULL };
    cr_assert_eq(run_send(NULL, no_path), 2);
}

/* Sent is not accepted: -v, or a terminal, says where to look; a pipe or -q, nothing. */
Test(client_transport, ustatsd_send_says_how_to_see_what_was_accepted_when_asked, .init = setup_up,
     .fini = rxsock_down)
{
    char err[1024], want[512];
    if (!getenv("USTATSD_SEND_BIN"))
        cr_skip_test("USTATSD_SEND_BIN is not set (run through ctest)");
    const char *const plain[] = { "-s", rx->path, "a:1|c", "b:1|c", NULL };
    const char *const verbose[] = { "-v", "-s", rx->path, "a:1|c", "b:1|c", NULL };
    const char *const quiet[] = { "-q", "-s", rx->path, "a:1|c", NULL };

    snprintf(want, sizeof want,
             "ustatsd-send: 2 lines sent to %s; whether the daemon accepted them: ustatsd "
             "explain LINE, or its /debug?section=rejects (-q: quiet)",
             rx->path);
    cr_assert_eq(run_send_err(NULL, plain, 0, err, sizeof err), 0);
    cr_assert_str_eq(err, "", "quiet into a pipe");
    cr_assert_eq(run_send_err(NULL, verbose, 0, err, sizeof err), 0);
    cr_assert(strstr(err, want) != NULL, "%s", err);
    cr_assert_eq(run_send_err(NULL, plain, 1, err, sizeof err), 0);
    cr_assert(strstr(err, want) != NULL, "on a terminal: %s", err);
    cr_assert_eq(run_send_err(NULL, quiet, 1, err, sizeof err), 0);
    cr_assert_str_eq(err, "", "-q on a terminal");
}
