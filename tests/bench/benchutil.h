/*
 * benchutil: what bench_ingest and bench_stall share, on top of tests/lib (the daemon
 * launcher, the HTTP client and the exposition lookups are daemon.h's and httpc.h's):
 *
 *   - a private network namespace with net.unix.max_dgram_qlen = 512, so that results do
 *     not depend on the host's setting (10 by default), and its loopback up; CPU pinning;
 *   - finding the daemon binary, and starting it pinned, quiet, with its metrics on a
 *     Unix socket; the daemon's line counters;
 *   - pre-built datagram loads and a blocking sender, on a Unix socket or over UDP;
 *   - a raw recvmmsg sink that only counts datagrams and lines, on either transport;
 *   - one timed GET /-/healthy on a keep-alive connection (bench_http.h's probe and
 *     bench_snapshot's prober);
 *   - the median.
 *
 * Nothing here is for tests, so it stays out of ustatsd_testlib, which every test links:
 * a header of static inline functions that only the benchmarks include.
 *
 * Benchmarks are single programs: failures print a message and exit.
 */
#ifndef USTATSD_BENCHUTIL_H
#define USTATSD_BENCHUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sock_diag.h>

#include "daemon.h"
#include "httpc.h"
#include "waitfor.h"

#define BENCHUTIL_QLEN       512
#define BENCHUTIL_SINK_BATCH 64
#define BENCHUTIL_MAX_DGRAM  8192

/*
 * The daemons started through benchutil_daemon_start_udp() or bench_http.h, or given to
 * benchutil_daemon_watch(), and not stopped yet: benchutil_die() kills them, so that a
 * benchmark that fails leaves no daemon running beside the next one. One array for the
 * whole program (weak), though each file that includes this header has its own copy of
 * the functions.
 */
#define BENCHUTIL_WATCHED 8
__attribute__((weak)) struct daemon *benchutil_watched[BENCHUTIL_WATCHED];

/* d, started, is killed if the benchmark dies before benchutil_daemon_stop(d). */
static inline void benchutil_daemon_watch(struct daemon *d)
{
    for (size_t i = 0; i < BENCHUTIL_WATCHED; i++)
        if (benchutil_watched[i] == NULL || benchutil_watched[i] == d) {
            benchutil_watched[i] = d;
            return;
        }
}

/* d is stopped: no longer killed by benchutil_die(). */
static inline void benchutil_daemon_unwatch(struct daemon *d)
{
    for (size_t i = 0; i < BENCHUTIL_WATCHED; i++)
        if (benchutil_watched[i] == d)
            benchutil_watched[i] = NULL;
}

/* SIGKILL every watched daemon still running. Any thread (kill() is). */
static inline void benchutil_kill_watched(void)
{
    for (size_t i = 0; i < BENCHUTIL_WATCHED; i++)
        if (benchutil_watched[i] != NULL && benchutil_watched[i]->pid > 0)
            kill(benchutil_watched[i]->pid, SIGKILL);
}

/*
 * Print "bench: " and the message, SIGKILL every watched daemon still running, exit 1. Any
 * thread (the daemons are reaped by whoever adopts them).
 */
__attribute__((noreturn, format(printf, 1, 2))) static inline void benchutil_die(const char *fmt,
                                                                                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    benchutil_kill_watched();
    exit(1);
}

/* snprintf that dies instead of truncating (paths, commands). */
__attribute__((format(printf, 3, 4))) static inline void benchutil_fmt(char *out, size_t cap,
                                                                       const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        benchutil_die("string too long for %zu bytes: %s", cap, out);
}

static inline void *benchutil_xrealloc(void *p, size_t size)
{
    p = realloc(p, size == 0 ? 1 : size);
    if (p == NULL)
        benchutil_die("out of memory (%zu bytes)", size);
    return p;
}

static inline uint64_t benchutil_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The calling thread's CPU time, in ns: its own work, whatever else runs on the machine. */
static inline uint64_t benchutil_thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The steal time of CPU cpu since boot, in ms: the time the host did not run that virtual
 * CPU while the guest wanted it to, from the eighth column of its line in /proc/stat (in
 * ticks of 1/sysconf(_SC_CLK_TCK) s, so a change is at least 10 ms at 100 Hz); -1 when
 * /proc/stat has no such line. 0 on a kernel that does not account steal
 * (CONFIG_PARAVIRT_TIME_ACCOUNTING) or on a host that does not give it.
 */
static inline double benchutil_steal_ms(int cpu)
{
    char buf[16384], key[16];
    unsigned long long v[8];
    long hz = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/stat", "r");
    size_t n;
    const char *p;

    if (f == NULL || hz <= 0) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    snprintf(key, sizeof key, "\ncpu%d ", cpu);
    if ((p = strstr(buf, key)) == NULL ||
        sscanf(p + strlen(key), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
        return -1;
    return (double)v[7] * 1000.0 / (double)hz;
}

static inline long benchutil_read_qlen(void)
{
    FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
    long v = -1;
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/*
 * On a machine with two or more CPUs the load generator runs on CPU 0 and the receiver
 * (the sink's thread or the daemon) on CPU 1, so that both runs of a comparison get the
 * same placement instead of whatever the scheduler picks at the time. Returns 0 when
 * pinned, -1 when there are not two CPUs to pin to (nothing changes).
 */
#define BENCHUTIL_CPU_SENDER   0
#define BENCHUTIL_CPU_RECEIVER 1

static inline int benchutil_pin(int cpu)
{
    cpu_set_t set;

    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return -1;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -1;
}

/* A new network namespace has its loopback down: bring it up, for the UDP benchmarks. */
static inline void benchutil_loopback_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        benchutil_die("reading the loopback's flags: %s", strerror(errno));
    ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        benchutil_die("bringing the loopback up: %s", strerror(errno));
    close(fd);
}

/*
 * Move this process into a new network namespace (root only) and set its
 * max_dgram_qlen to BENCHUTIL_QLEN there: the sysctl is per namespace and the daemon,
 * started afterwards, inherits it. Unix sockets bound to paths still work across
 * namespaces; the namespace's loopback is brought up for UDP. Call before starting
 * threads. Returns the queue length in effect.
 */
static inline long benchutil_private_netns(void)
{
    FILE *f;

    if (unshare(CLONE_NEWNET) < 0) {
        long q = benchutil_read_qlen();
        fprintf(stderr,
                "bench: unshare(CLONE_NEWNET) failed: %s; staying in the host namespace with "
                "max_dgram_qlen %ld\n",
                strerror(errno), q);
        return q;
    }
    f = fopen("/proc/sys/net/unix/max_dgram_qlen", "w");
    if (f == NULL || fprintf(f, "%d\n", BENCHUTIL_QLEN) < 0 || fclose(f) != 0)
        benchutil_die("cannot set net.unix.max_dgram_qlen in the new namespace: %s",
                      strerror(errno));
    benchutil_loopback_up();
    return benchutil_read_qlen();
}

static inline void benchutil_tmpdir(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    benchutil_fmt(out, cap, "%s/%s-XXXXXX", base != NULL && *base ? base : "/tmp", tag);
    if (mkdtemp(out) == NULL)
        benchutil_die("mkdtemp(%s): %s", out, strerror(errno));
}

static inline int benchutil_rm_one(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static inline void benchutil_rmtree(const char *dir)
{
    nftw(dir, benchutil_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- the daemon (tests/lib/daemon.h) -------------------------------------------- */

/*
 * argv[1] when it is not an option, else $USTATSD_BIN, else "ustatsd" next to this
 * program or at the build root. Sets $USTATSD_BIN to it, which tests/lib/daemon.c
 * starts, so a benchmark given an old build's binary measures that build.
 */
static inline const char *benchutil_find_daemon(int argc, char **argv)
{
    static char path[PATH_MAX];
    static const char *const rel[] = { "", "/..", "/../.." };
    char self[PATH_MAX];
    const char *found = getenv("USTATSD_BIN");
    ssize_t n;
    char *slash;

    if (argc > 1 && argv[1][0] != '-')
        found = argv[1];
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    if ((slash = strrchr(self, '/')) != NULL)
        *slash = '\0';
    /* next to it, or at the build root (build/tests/bench_x, build/ustatsd) */
    for (size_t i = 0; (found == NULL || !*found) && n > 0 && i < 3; i++) {
        benchutil_fmt(path, sizeof(path), "%.4000s%s/ustatsd", self, rel[i]);
        if (access(path, X_OK) == 0)
            found = path;
    }
    if (found == NULL || !*found)
        found = "./ustatsd";
    if (access(found, X_OK) != 0)
        benchutil_die("daemon binary %s: %s (pass its path as argv[1] or USTATSD_BIN)", found,
                      strerror(errno));
    setenv("USTATSD_BIN", found, 1);
    return found;
}

/*
 * Start the daemon with config_json, quiet (--log-level warn), on BENCHUTIL_CPU_RECEIVER
 * when there are two CPUs; with udp nonzero, also on UDP at a free loopback port
 * (benchutil_daemon_udp_port() says which). Dies (after the daemon's log) when it does
 * not become ready.
 */
static inline void benchutil_daemon_start_udp(struct daemon *d, const char *config_json, int udp)
{
    static const char *const args[] = { "--log-level", "warn", NULL };
    static const char *const udp_args[] = { "--log-level", "warn", "--udp-listen", "127.0.0.1:0",
                                            NULL };
    struct daemon_options o;

    memset(&o, 0, sizeof(o));
    o.args = udp ? udp_args : args;
    o.pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
    o.cpu = BENCHUTIL_CPU_RECEIVER;
    if (daemon_start_with(d, config_json, &o) != 0)
        benchutil_die("the daemon did not start");
    benchutil_daemon_watch(d);
}

static inline void benchutil_daemon_start(struct daemon *d, const char *config_json)
{
    benchutil_daemon_start_udp(d, config_json, 0);
}

/* The daemon's UDP port (started with benchutil_daemon_start_udp); dies when there is none. */
static inline int benchutil_daemon_udp_port(struct daemon *d)
{
    int port = daemon_udp_port(d);
    if (port <= 0)
        benchutil_die("the daemon reports no UDP port in /debug");
    return port;
}

static inline void benchutil_daemon_stop(struct daemon *d)
{
    if (daemon_stop(d) != 0)
        fprintf(stderr, "bench: the daemon did not stop cleanly\n");
    benchutil_daemon_unwatch(d);
}

/* GET /metrics at url (an endpoint, "unix:PATH" or "HOST:PORT"): its body, malloc'd; dies unless 200. */
static inline char *benchutil_get_metrics(const char *url)
{
    struct httpc_response r;
    char *body;
    int rc = httpc_get(url, "/metrics", NULL, &r);

    if (rc != 0 || r.status != 200)
        benchutil_die("GET /metrics on %s: %s", url, rc != 0 ? strerror(-rc) : "status is not 200");
    body = strdup(r.body);
    httpc_response_release(&r);
    if (body == NULL)
        benchutil_die("out of memory");
    return body;
}

#define BENCHUTIL_HUGE_QUIET_MS \
    500 /* ten of the daemon's expiry ticks, each a chance to start one */
#define BENCHUTIL_HUGE_MAX_MS 120000 /* a daemon still collapsing then is measured as it is */

/* benchutil_get_metrics() of the endpoint url (a const char *), for benchutil_settle_huge(). */
static inline char *benchutil_metrics_at(const void *url)
{
    return benchutil_get_metrics(url);
}

/*
 * Wait, idle, until the daemon whose own metrics self(arg) returns (malloc'd; it dies on a
 * failure, as the bench dies) has put its series' memory into huge pages
 * (daemon/hugepages.h), as on a host where it has run for a minute: its state thread
 * collapses each full 2 MiB region of series blocks, in the CPU time the loop leaves.
 * Settled: no byte collapsed and no range done for BENCHUTIL_HUGE_QUIET_MS (a state thread
 * kept from its CPU that long passes for settled: nothing counts the ranges still to
 * come). A daemon that collapses nothing (an older build without the metrics, or huge
 * pages off) is not waited for. Prints what was collapsed and how long the wait took.
 */
static inline void benchutil_settle_huge(char *(*self)(const void *arg), const void *arg)
{
    double bytes = -1, ranges = -1, b, n;
    uint64_t t0 = benchutil_now_ns(), quiet = t0, now;
    int found, found2, on;

    for (;;) {
        char *body = self(arg);

        on = expo_sum(body, "ustatsd_hugepage_collapse_enabled", &found) > 0 && found;
        b = expo_sum(body, "ustatsd_hugepage_collapsed_bytes_total", &found);
        n = expo_sum(body, "ustatsd_hugepage_collapses_total", &found2);
        free(body);
        if (!on || !found || !found2)
            return;
        now = benchutil_now_ns();
        if (b != bytes || n != ranges) {
            bytes = b;
            ranges = n;
            quiet = now;
        } else if (now - quiet >= BENCHUTIL_HUGE_QUIET_MS * 1000000ull) {
            printf("  settled: %.0f MiB of the series' memory in huge pages, after %.1f s\n",
                   bytes / (1024.0 * 1024.0), (double)(now - t0) / 1e9);
            return;
        }
        if (now - t0 >= BENCHUTIL_HUGE_MAX_MS * 1000000ull) {
            printf("  the daemon was still collapsing after %d s: measured as it is\n",
                   BENCHUTIL_HUGE_MAX_MS / 1000);
            return;
        }
        waitfor_sleep_ms(10);
    }
}

/*
 * benchutil_counters_of() reads them from a scrape's body (and frees it).
 * Scrape the daemon's /metrics and return ustatsd_lines_accepted_total; rejected (when
 * not NULL) gets the sum of ustatsd_lines_rejected_total, dgrams (when not NULL) gets
 * ustatsd_datagrams_received_total. Dies when the scrape fails or the sample is missing.
 */
static inline double benchutil_counters_of(char *body, double *rejected, double *dgrams)
{
    double accepted;
    int found;

    accepted = expo_sum(body, "ustatsd_lines_accepted_total", &found);
    if (!found)
        benchutil_die("no ustatsd_lines_accepted_total in the scrape");
    if (rejected != NULL)
        *rejected = expo_sum(body, "ustatsd_lines_rejected_total", &found);
    if (dgrams != NULL)
        *dgrams = expo_sum(body, "ustatsd_datagrams_received_total", &found);
    free(body);
    return accepted;
}

static inline double benchutil_daemon_counters(struct daemon *d, double *rejected, double *dgrams)
{
    return benchutil_counters_of(daemon_scrape(d, NULL), rejected, dgrams);
}

/*
 * Scrape the daemon's UDP socket counters: ustatsd_udp_datagrams_received_total into
 * *dgrams and ustatsd_udp_datagrams_dropped_total (the kernel's drops) into *drops. Dies
 * when the scrape fails or UDP is off.
 */
static inline void benchutil_daemon_udp_counters(struct daemon *d, double *dgrams, double *drops)
{
    char *body = daemon_scrape(d, NULL);
    int found, found2;

    *dgrams = expo_sum(body, "ustatsd_udp_datagrams_received_total", &found);
    *drops = expo_sum(body, "ustatsd_udp_datagrams_dropped_total", &found2);
    free(body);
    if (!found || !found2)
        benchutil_die("no ustatsd_udp_datagrams_{received,dropped}_total in the scrape");
}

/* Print the non-zero ustatsd_lines_rejected_total samples (why lines went missing). */
static inline void benchutil_daemon_print_rejects(struct daemon *d)
{
    char *body = daemon_scrape(d, NULL);
    const char *p;

    for (p = body; (p = strstr(p, "\nustatsd_lines_rejected_total{")) != NULL; p++) {
        const char *eol = strchr(p + 1, '\n');
        int n = eol ? (int)(eol - p - 1) : (int)strlen(p + 1);
        const char *sp = memrchr(p + 1, ' ', (size_t)n);
        if (sp != NULL && strtod(sp + 1, NULL) != 0)
            fprintf(stderr, "  %.*s\n", n, p + 1);
    }
    free(body);
}

/* ---- loads --------------------------------------------------------------------- */

/* Datagrams laid end to end in one buffer: datagram i is data[off[i] .. off[i+1]). */
struct benchutil_load {
    char *data;
    size_t len, cap;
    size_t *off;
    size_t n, ncap;
    uint64_t lines;
};

static inline void benchutil_load_add(struct benchutil_load *l, const char *dgram, size_t len,
                                      unsigned lines)
{
    if (l->len + len > l->cap) {
        l->cap = (l->len + len) * 2;
        l->data = benchutil_xrealloc(l->data, l->cap);
    }
    if (l->n + 2 > l->ncap) {
        l->ncap = l->ncap ? l->ncap * 2 : 1024;
        l->off = benchutil_xrealloc(l->off, l->ncap * sizeof(*l->off));
    }
    if (l->n == 0)
        l->off[0] = 0;
    memcpy(l->data + l->len, dgram, len);
    l->len += len;
    l->off[++l->n] = l->len;
    l->lines += lines;
}

static inline void benchutil_load_free(struct benchutil_load *l)
{
    free(l->data);
    free(l->off);
    memset(l, 0, sizeof(*l));
}

/*
 * Group lines (produced by line(i, buf, cap) for i in [0, nlines)) into datagrams of
 * per lines joined by '\n', without a trailing '\n': a datagram has count('\n') + 1
 * lines, which is what the sink counts.
 */
static inline void benchutil_load_build(struct benchutil_load *l, uint64_t nlines, unsigned per,
                                        size_t (*line)(uint64_t i, char *buf, size_t cap))
{
    char dgram[BENCHUTIL_MAX_DGRAM];
    size_t len = 0;
    unsigned in = 0;

    memset(l, 0, sizeof(*l));
    for (uint64_t i = 0; i < nlines; i++) {
        if (in > 0)
            dgram[len++] = '\n';
        len += line(i, dgram + len, sizeof(dgram) - len);
        if (len >= sizeof(dgram) - 512)
            benchutil_die("datagram of %u lines does not fit %d bytes", per, BENCHUTIL_MAX_DGRAM);
        if (++in == per || i + 1 == nlines) {
            benchutil_load_add(l, dgram, len, in);
            len = 0;
            in = 0;
        }
    }
}

/*
 * Pack lines (as benchutil_load_build) into datagrams of at most max_bytes, as a DogStatsD
 * client fills its buffer before it sends: each datagram takes lines while the next one
 * still fits.
 */
static inline void benchutil_load_build_filled(struct benchutil_load *l, uint64_t nlines,
                                               size_t max_bytes,
                                               size_t (*line)(uint64_t i, char *buf, size_t cap))
{
    char dgram[BENCHUTIL_MAX_DGRAM], one[512];
    size_t len = 0, n;
    unsigned in = 0;

    if (max_bytes > sizeof(dgram))
        benchutil_die("datagrams of %zu bytes: at most %d", max_bytes, BENCHUTIL_MAX_DGRAM);
    memset(l, 0, sizeof(*l));
    for (uint64_t i = 0; i < nlines; i++) {
        n = line(i, one, sizeof(one));
        if (in > 0 && len + 1 + n > max_bytes) {
            benchutil_load_add(l, dgram, len, in);
            len = 0;
            in = 0;
        }
        if (in > 0)
            dgram[len++] = '\n';
        memcpy(dgram + len, one, n);
        len += n;
        in++;
    }
    if (in > 0)
        benchutil_load_add(l, dgram, len, in);
}

static inline int benchutil_connect_dgram(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        benchutil_die("socket: %s", strerror(errno));
    {
        int sz = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    }
    benchutil_fmt(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        benchutil_die("connect(%s): %s", path, strerror(errno));
    return fd;
}

/* Send every datagram of the load with blocking sends: nothing is dropped, only delayed. */
static inline void benchutil_send_blocking(int fd, const struct benchutil_load *l)
{
    for (size_t i = 0; i < l->n; i++) {
        size_t len = l->off[i + 1] - l->off[i];
        ssize_t n = send(fd, l->data + l->off[i], len, 0);
        if (n < 0 && errno == EINTR) {
            i--;
            continue;
        }
        if (n != (ssize_t)len)
            benchutil_die("send datagram %zu: %s", i, n < 0 ? strerror(errno) : "short");
    }
}

/* ---- UDP --------------------------------------------------------------------- */

/* A UDP socket connected to 127.0.0.1:port, with a 4 MiB send buffer asked for. */
static inline int benchutil_connect_udp(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), sz = 4 << 20;

    if (fd < 0)
        benchutil_die("udp socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        benchutil_die("connect(udp 127.0.0.1:%d): %s", port, strerror(errno));
    return fd;
}

/*
 * Send count datagrams of the load, from datagram first on and round it (modulo l->n),
 * over a connected UDP socket as fast as they go: sendmmsg in batches of 64, blocking.
 * A UDP sender is never held back by the receiver: what its receive buffer cannot take,
 * the kernel drops there, and counts on that socket. *sent (when not NULL) gets how many
 * were sent. Returns 0, or a negative errno when a send failed.
 */
static inline int benchutil_send_udp(int fd, const struct benchutil_load *l, size_t first,
                                     size_t count, size_t *sent)
{
    struct mmsghdr msgs[64];
    struct iovec iov[64];
    size_t done = 0, k = first % l->n;

    while (done < count) {
        unsigned batch = count - done < 64 ? (unsigned)(count - done) : 64;
        int n;

        for (unsigned i = 0; i < batch; i++) {
            iov[i].iov_base = l->data + l->off[k];
            iov[i].iov_len = l->off[k + 1] - l->off[k];
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            k = k + 1 == l->n ? 0 : k + 1;
        }
        n = sendmmsg(fd, msgs, batch, 0);
        if (n < 0 && errno == EINTR)
            n = 0;
        if (n < 0) {
            if (sent != NULL)
                *sent = done;
            return -errno;
        }
        done += (unsigned)n;
        /* A partial batch: resend the rest. */
        for (unsigned i = (unsigned)n; i < batch; i++)
            k = k == 0 ? l->n - 1 : k - 1;
    }
    if (sent != NULL)
        *sent = done;
    return 0;
}

/*
 * The bytes queued on the UDP socket bound to 127.0.0.1:port in this network namespace,
 * from /proc/net/udp (rx_queue), or -1 when there is no such socket. It reads 0 once the
 * receiver has taken every datagram out of the kernel.
 */
static inline long benchutil_udp_rx_queue(int port)
{
    FILE *f = fopen("/proc/net/udp", "r");
    char line[512];
    long found = -1;

    if (f == NULL)
        return -1;
    while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
        unsigned addr, lport;
        unsigned long rxq;
        if (sscanf(line, " %*u: %8x:%x %*x:%*x %*x %*x:%lx", &addr, &lport, &rxq) == 3 &&
            lport == (unsigned)port && addr == 0x0100007Fu)
            found = (long)rxq;
    }
    fclose(f);
    return found;
}

/* ---- a paced, never-blocking sender --------------------------------------------- */

/* Lines in a datagram of the load: count('\n') + 1. */
static inline uint64_t benchutil_dgram_lines(const char *c, size_t len)
{
    const char *end = c + len;
    uint64_t lines = 1;

    while ((c = memchr(c, '\n', (size_t)(end - c))) != NULL) {
        lines++;
        c++;
    }
    return lines;
}

struct benchutil_pacer {
    int fd;
    const struct benchutil_load *load;
    double dgrams_per_s;
    pthread_t thread; /* benchutil_pace_start() */
    atomic_int stop;
    atomic_uint_least64_t drops; /* EAGAIN; read by the scraping thread */
    uint64_t scheduled, sent, sent_lines, drop_lines, skipped, errors;
    int last_error;
};

/*
 * Every millisecond, send the datagrams that are due by now at the configured rate,
 * never blocking: a full queue is a drop, as in the DogStatsD client. When this thread
 * itself was descheduled for more than 5 ms (two CPUs shared with the daemon and the
 * scraper), it does not fire the backlog in one burst, which would overflow the queue
 * for reasons of its own: the datagrams beyond 5 ms are skipped and reported apart.
 * Over UDP a send never finds the receiver's queue full: the receiver's kernel drops.
 */
static inline void *benchutil_pace(void *arg)
{
    struct benchutil_pacer *p = arg;
    uint64_t start = benchutil_now_ns(), tick = start;
    uint64_t lag_cap = (uint64_t)(p->dgrams_per_s * 0.005) + 1;
    size_t next = 0;

    while (!atomic_load(&p->stop)) {
        struct timespec ts;
        uint64_t due;

        tick += 1000000;
        ts.tv_sec = (time_t)(tick / 1000000000u);
        ts.tv_nsec = (long)(tick % 1000000000u);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        due = (uint64_t)((double)(benchutil_now_ns() - start) * p->dgrams_per_s / 1e9);
        if (due > p->scheduled + lag_cap) {
            p->skipped += due - p->scheduled - lag_cap;
            p->scheduled = due - lag_cap;
        }
        while (p->scheduled < due) {
            const struct benchutil_load *l = p->load;
            size_t len = l->off[next + 1] - l->off[next];
            ssize_t n = send(p->fd, l->data + l->off[next], len, MSG_DONTWAIT);

            p->scheduled++;
            if (n == (ssize_t)len) {
                p->sent++;
                p->sent_lines += benchutil_dgram_lines(l->data + l->off[next], len);
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                atomic_fetch_add_explicit(&p->drops, 1, memory_order_relaxed);
                p->drop_lines += benchutil_dgram_lines(l->data + l->off[next], len);
            } else {
                p->errors++;
                p->last_error = errno;
            }
            next = (next + 1) % l->n;
        }
    }
    return NULL;
}

/* Start sending load to fd at dgrams_per_s on a thread of its own; p is zeroed first. */
static inline void benchutil_pace_start(struct benchutil_pacer *p, int fd,
                                        const struct benchutil_load *load, double dgrams_per_s)
{
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->load = load;
    p->dgrams_per_s = dgrams_per_s;
    atomic_init(&p->stop, 0);
    atomic_init(&p->drops, 0);
    if (pthread_create(&p->thread, NULL, benchutil_pace, p) != 0)
        benchutil_die("pthread_create failed");
}

static inline void benchutil_pace_stop(struct benchutil_pacer *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
}

/* Send p's load at its rate to fd for seconds, nothing else going on; p is zeroed first. */
static inline void benchutil_pace_for(struct benchutil_pacer *p, int fd,
                                      const struct benchutil_load *load, double dgrams_per_s,
                                      unsigned seconds)
{
    benchutil_pace_start(p, fd, load, dgrams_per_s);
    waitfor_sleep_ms((int)seconds * 1000);
    benchutil_pace_stop(p);
}

/* ---- health checks ----------------------------------------------------------- */

/*
 * One GET /-/healthy on h, a keep-alive connection (httpc_open), timed from the request
 * to the end of the answer into *ns. Returns 0, EPROTO when the status is not 200, or
 * the errno of an I/O failure (the connection is then unusable).
 */
static inline int benchutil_health_check(struct httpc *h, uint64_t *ns)
{
    struct httpc_response r;
    uint64_t t0 = benchutil_now_ns();
    int rc, status;

    if ((rc = httpc_request(h, "GET", "/-/healthy", NULL)) != 0 || (rc = httpc_read(h, 0, &r)) != 0)
        return -rc;
    *ns = benchutil_now_ns() - t0;
    status = r.status;
    httpc_response_release(&r);
    return status == 200 ? 0 : EPROTO;
}

#include "benchsink.h" /* ---- the raw sink: its own file */

/* ---- statistics ---------------------------------------------------------------- */

static inline int benchutil_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline int benchutil_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (n > 0), sorting v in place. */
static inline double benchutil_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), benchutil_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* This process's resident bytes, from /proc/self/statm; exits when it cannot be read. */
static inline size_t bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;

    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2) {
        fprintf(stderr, "cannot read /proc/self/statm, exiting\n");
        exit(2);
    }
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

#endif
