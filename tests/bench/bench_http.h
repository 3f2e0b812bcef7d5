/*
 * bench_http: what bench_scrape, bench_debug and bench_reload share, on top of tests/lib
 * (daemon.h starts the daemon, httpc.h speaks HTTP) and benchutil.h (its clock and its
 * qsort comparator serve here too). Nothing here is for tests, so it stays out of
 * ustatsd_testlib, which every test links: a header of static inline functions that only
 * the benchmarks include.
 *
 *   - start-up: the binary from the command line or $USTATSD_BIN, --series N, --runs N or
 *     BENCH_RUNS, and the real daemon (on CPU 1, the bench on CPU 0) in a temporary
 *     directory with its HTTP listener on a Unix socket (tests/lib/daemon.h), its config
 *     sized for N, and a second endpoint that serves only its own metrics, where the
 *     benches read its counters and its loop turns without rendering N series;
 *   - population: the series mix (60% counters with two labels, 30% gauges, 10% histograms
 *     with BENCH_HTTP_BUCKETS buckets), one line a series, sent by blocking sends, so that
 *     nothing is dropped, then a wait until ustatsd_lines_accepted_total counts every line,
 *     until the daemon has put its series' memory into huge pages (unless --cold), and
 *     until it is idle (its tables' moves done);
 *   - timing of full responses: connect() to the last byte, Connection: close, so the end
 *     of the body is the server's close; a warm-up, then median and best of the runs;
 *   - the loop-hold probe: while one request is timed, one thread keeps sending datagrams
 *     and another asks GET /-/healthy on a keep-alive connection about every 1 ms; the
 *     same probe around a pause of the same length gives the baseline.
 *
 * Benchmarks are single programs: a failure prints "<bench name>: what[: strerror]" and
 * exits 1, from whichever thread it happens on. Everything here runs on the main thread
 * except the probe's two threads, which only read the struct bench_http.
 */
#ifndef USTATSD_BENCH_HTTP_H
#define USTATSD_BENCH_HTTP_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchresult.h"
#include "benchutil.h"
#include "daemon.h"
#include "expose/procfs.h"
#include "httpc.h"

#define BENCH_HTTP_SMALL            10000
#define BENCH_HTTP_LARGE            100000
#define BENCH_HTTP_BUCKETS          12
#define BENCH_HTTP_DGRAM_MAX        8000
#define BENCH_HTTP_IO_TIMEOUT_MS    60000
#define BENCH_HTTP_PROBE_PERIOD_NS  1000000ull
#define BENCH_HTTP_PROBE_MAX_CHECKS 100000
#define BENCH_HTTP_PROBE_WINDOWS    5
#define BENCH_HTTP_QUIET_MS         50 /* a window this long without a check: no answer */

#define BENCH_HTTP_MAX_OPTS 8

struct bench_http {
    const char *name; /* the program's name, first on every error line; static storage */
    struct daemon d;
    int runs;       /* timed runs per case: --runs, else BENCH_RUNS, default 9, at least 1 */
    size_t have;    /* series [0, have) of the mix are in the daemon */
    size_t series;  /* --series N, else 0: the bench's own sizes */
    size_t cap;     /* the series the config has room for */
    char dir[256];  /* the self endpoint's socket lies here */
    char self[300]; /* "unix:<dir>/self.sock": self metrics only */
    char *config;   /* the config the daemon started with, malloc'd */
    const char *opts[BENCH_HTTP_MAX_OPTS]; /* the bench's own options ("--no-tls") */
    int nopts;
};

static inline double bench_http_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static inline double bench_http_mb(size_t bytes)
{
    return (double)bytes / 1e6;
}

/* Print "<b->name>: <fmt...>", then ": strerror(err)" when err is not 0, and exit(1). */
__attribute__((format(printf, 3, 4))) static inline _Noreturn void
bench_http_die(const struct bench_http *b, int err, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", b->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (err)
        fprintf(stderr, ": %s", strerror(err));
    fputc('\n', stderr);
    /*
     * The daemons go with the bench: left running, a daemon of 10M series went on
     * expiring them on the CPU the next benchmarks measured: b's own (watched once
     * bench_http_launch() started it, but not when a bench started it itself) and every
     * watched one (bench_scrape's TLS daemon). kill() is safe from any thread; their
     * directories stay, named in their command lines.
     */
    if (b->d.pid > 0)
        kill(b->d.pid, SIGKILL);
    benchutil_kill_watched();
    exit(1);
}

/* --- start-up and population ------------------------------------------------------ */

/*
 * Series i of the mix: i % 10 picks the kind (0-5 counter, 6-8 gauge, 9 histogram) and
 * the kind's own index k keeps every label set distinct, so lines [0, n) make n series.
 */
static inline int bench_http__series_line(size_t i, unsigned round, char *out, size_t cap)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };
    size_t kind = i % 10, k;

    if (kind < 6) {
        k = i / 10 * 6 + kind;
        return snprintf(out, cap, "bench_requests:%u|c|#method:%s,route:/api/v1/items/%zu\n",
                        round + 1, methods[k % 4], k / 4);
    }
    if (kind < 9) {
        k = i / 10 * 3 + kind - 6;
        return snprintf(out, cap, "bench_queue_depth:%zu|g|#queue:q%zu\n", (k + round) % 997, k);
    }
    k = i / 10;
    return snprintf(out, cap, "bench_latency_seconds:%zu|ms|#endpoint:/e/%zu\n",
                    (k * 7 + round) % 6000, k);
}

/*
 * Send the lines of series [from, to) of the mix, values varied by round, in datagrams of
 * up to BENCH_HTTP_DGRAM_MAX bytes. Blocking. Returns the number of lines sent.
 */
static inline size_t bench_http_send_series(struct bench_http *b, size_t from, size_t to,
                                            unsigned round)
{
    char dgram[BENCH_HTTP_DGRAM_MAX + 256];
    size_t len = 0, i, lines = 0;
    int rc;

    for (i = from; i < to; i++) {
        char line[160];
        int n = bench_http__series_line(i, round, line, sizeof(line));
        if (len + (size_t)n > BENCH_HTTP_DGRAM_MAX) {
            if ((rc = daemon_send(&b->d, dgram, len)) != 0)
                bench_http_die(b, -rc, "send");
            len = 0;
        }
        memcpy(dgram + len, line, (size_t)n);
        len += (size_t)n;
        lines++;
    }
    if (len > 0 && (rc = daemon_send(&b->d, dgram, len)) != 0)
        bench_http_die(b, -rc, "send");
    return lines;
}

/*
 * The families of the mix with room for cap series, the gauge family named gauge
 * (bench_reload renames it), each series expiring after ttl seconds idle (0: never), and an
 * endpoint at self (NULL: none) that serves only the daemon's own metrics, so that reading
 * them renders none of the series. Malloc'd.
 */
static inline char *bench_http_config_text_ttl(size_t cap, const char *self, const char *gauge,
                                               double ttl)
{
    static const char fmt[] =
        "{\n"
        "  \"limits\": {\"max_series\": %zu, \"max_series_per_family\": %zu,\n"
        "             \"max_label_values\": %zu},\n"
        "%s%s%s"
        "  \"families\": [\n"
        "    {\"name\": \"bench_requests_total\", \"type\": \"counter\",%s\n"
        "     \"help\": \"Requests by method and route.\",\n"
        "     \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\", \"PUT\", "
        "\"DELETE\"]},\n"
        "                {\"name\": \"route\", \"max_values\": %zu}]},\n"
        "    {\"name\": \"%s\", \"type\": \"gauge\",%s \"help\": \"Queue depth.\",\n"
        "     \"labels\": [{\"name\": \"queue\", \"max_values\": %zu}]},\n"
        "    {\"name\": \"bench_latency_seconds\", \"type\": \"histogram\",%s \"help\": "
        "\"Latency.\",\n"
        "     \"labels\": [{\"name\": \"endpoint\", \"max_values\": %zu}],\n"
        "     \"buckets\": [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]}\n"
        "  ]\n"
        "}\n";
    static const char ep[] = "  \"endpoints\": [{\"name\": \"self\", \"listen\": \"",
                      ep_end[] = "\", \"families\": [],\n"
                                 "                 \"self_metrics\": true}],\n";
    char t[48] = "";
    size_t len = sizeof(fmt) + sizeof(ep) + sizeof(ep_end) + (self ? strlen(self) : 0) +
                 strlen(gauge) + 7 * 24 + 3 * sizeof(t);
    char *text = malloc(len);

    if (text == NULL)
        return NULL;
    if (ttl > 0)
        snprintf(t, sizeof(t), " \"ttl_seconds\": %g,", ttl);
    snprintf(text, len, fmt, 2 * cap, cap, cap, self ? ep : "", self ? self : "",
             self ? ep_end : "", t, cap, gauge, t, cap, t, cap);
    return text;
}

/* The same, without expiry. */
static inline char *bench_http_config_text(size_t cap, const char *self, const char *gauge)
{
    return bench_http_config_text_ttl(cap, self, gauge, 0);
}

/* The mix for BENCH_HTTP_LARGE series without a self endpoint (bench_attack). Static. */
static inline const char *bench_http_plain_config(void)
{
    static char *text;

    if (text == NULL &&
        (text = bench_http_config_text(BENCH_HTTP_LARGE, NULL, "bench_queue_depth")) == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return text;
}

/*
 * Read the command line: the binary (the first argument that is not an option; it
 * overrides $USTATSD_BIN), --series N, --runs N (else BENCH_RUNS), --quick (3 runs); any
 * other "--name" is kept in b->opts for the bench (bench_http_opt(); --cold: every bench's,
 * bench_http_settle() does not wait for huge pages). name must outlive b.
 * Dies on a bad argument. bench_http_launch() then starts the daemon.
 */
static inline void bench_http_args(struct bench_http *b, const char *name, int argc, char **argv)
{
    const char *env = getenv("BENCH_RUNS");
    int given = 0;

    memset(b, 0, sizeof(*b));
    b->name = name;
    b->runs = env ? atoi(env) : 9;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
            if ((b->series = benchresult_series(argv[++i])) < 10)
                bench_http_die(b, 0, "--series %s: expected a number of series, at least 10",
                               argv[i]);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            b->runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--quick") == 0) {
            b->runs = 3;
        } else if (strncmp(argv[i], "--", 2) == 0 && b->nopts < BENCH_HTTP_MAX_OPTS) {
            b->opts[b->nopts++] = argv[i];
        } else if (argv[i][0] != '-' && !given) {
            setenv("USTATSD_BIN", argv[i], 1);
            given = 1;
        } else {
            bench_http_die(b, 0, "%s: unknown argument", argv[i]);
        }
    }
    if (getenv("USTATSD_BIN") == NULL || access(getenv("USTATSD_BIN"), X_OK) != 0)
        bench_http_die(b, 0, "set USTATSD_BIN or pass the ustatsd binary as the first argument");
    if (b->runs < 1)
        b->runs = 1;
}

/*
 * Start the daemon, empty, with the mix's config and room for b->series series (default_cap
 * when not given), every family's series expiring after ttl seconds idle (0: never), and a
 * self-metrics endpoint. Dies on failure; on return b->d is running and bench_http_stop()
 * must end it.
 */
static inline void bench_http_launch(struct bench_http *b, size_t default_cap, double ttl)
{
    struct daemon_options o = { 0 };

    b->cap = (b->series ? b->series : default_cap) + 1000;
    benchutil_tmpdir(b->dir, sizeof(b->dir), b->name);
    snprintf(b->self, sizeof(b->self), "unix:%s/self.sock", b->dir);
    if ((b->config = bench_http_config_text_ttl(b->cap, b->self, "bench_queue_depth", ttl)) == NULL)
        bench_http_die(b, ENOMEM, "config");
    /* The daemon on CPU 1 and the bench on CPU 0, as the other benchmarks place them. */
    o.pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
    o.cpu = BENCHUTIL_CPU_RECEIVER;
    if (o.pin)
        benchutil_pin(BENCHUTIL_CPU_SENDER);
    if (daemon_start_with(&b->d, b->config, &o) != 0)
        bench_http_die(b, 0, "the daemon did not start");
    benchutil_daemon_watch(&b->d); /* a benchutil_die() on the way kills it too */
}

/* bench_http_args(), then bench_http_launch() without expiry. */
static inline void bench_http_start(struct bench_http *b, const char *name, int argc, char **argv,
                                    size_t default_cap)
{
    bench_http_args(b, name, argc, argv);
    bench_http_launch(b, default_cap, 0);
}

/* Whether the bench's own option opt ("--no-tls") was given. */
static inline int bench_http_opt(const struct bench_http *b, const char *opt)
{
    for (int i = 0; i < b->nopts; i++)
        if (strcmp(b->opts[i], opt) == 0)
            return 1;
    return 0;
}

/* The daemon's own metrics, from the self endpoint (no series rendered). Malloc'd. */
static inline char *bench_http_self(const struct bench_http *b, const char *self)
{
    struct httpc_response r;
    char *body;
    int rc = httpc_get(self != NULL ? self : b->self, "/metrics", NULL, &r);

    if (rc != 0 || r.status != 200)
        bench_http_die(b, rc != 0 ? -rc : 0, "GET /metrics on the self endpoint");
    body = strdup(r.body);
    httpc_response_release(&r);
    if (body == NULL)
        bench_http_die(b, ENOMEM, "strdup");
    return body;
}

/* bench_http_self() of arg (a struct bench_http), for benchutil_settle_huge(). */
static inline char *bench_http__self_of(const void *arg)
{
    return bench_http_self(arg, NULL);
}

/* One of the daemon's own metrics, summed over its labels; dies when it is not there. */
static inline double bench_http_self_value(const struct bench_http *b, const char *name)
{
    char *body = bench_http_self(b, NULL);
    int found;
    double v = expo_sum(body, name, &found);

    free(body);
    if (!found)
        bench_http_die(b, 0, "no %s in the daemon's own metrics", name);
    return v;
}

/* The daemon's loop-turn histogram now (benchresult.h). */
static inline void bench_http_turns(const struct bench_http *b, struct benchresult_turns *t)
{
    char *body = bench_http_self(b, NULL);

    if (benchresult_turns_parse(body, t) != 0)
        bench_http_die(b, 0, "no ustatsd_event_loop_iteration_seconds in the daemon's metrics");
    free(body);
}

/* The daemon's /proc/<pid>/stat into buf (NUL-terminated); its length. */
static inline size_t bench_http__daemon_stat(const struct bench_http *b, char *buf, size_t size)
{
    char path[64];
    size_t len;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)b->d.pid);
    if ((f = fopen(path, "r")) == NULL)
        bench_http_die(b, errno, "read %s", path);
    len = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[len] = '\0';
    return len;
}

/* The daemon's minor page faults so far: field 10 (minflt) of its /proc/<pid>/stat. */
static inline uint64_t bench_http_daemon_faults(const struct bench_http *b)
{
    char buf[1024];
    unsigned long long minflt;
    const char *p;

    (void)bench_http__daemon_stat(b, buf, sizeof(buf));
    /* After the command's ")": state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %llu", &minflt) != 1)
        bench_http_die(b, 0, "parse the daemon's /proc stat");
    return minflt;
}

/* The daemon's CPU time so far, in seconds: its /proc/<pid>/stat, read by expose/procfs. */
static inline double bench_http_daemon_cpu(const struct bench_http *b)
{
    char buf[1024];
    struct procfs p;
    size_t len = bench_http__daemon_stat(b, buf, sizeof(buf));

    memset(&p, 0, sizeof(p));
    if (procfs_parse_stat(buf, len, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), &p) != 0)
        bench_http_die(b, 0, "parse the daemon's /proc stat");
    return p.cpu_seconds;
}

/*
 * Wait until the daemon is idle after a population: what it still does in the background
 * would otherwise fall on the first measurement. First (unless --cold) until it has put
 * its series' memory into huge pages (benchutil_settle_huge), as a daemon on a host does
 * within seconds: at 10,000,000 series, a text render that walks blocks in 4 KiB pages
 * cost 265 ns a series in process on a machine whose page walks are dear, 85 once they were
 * collapsed (bench_steps). Then until its tables' incremental moves after they grew are done
 * (a slice a loop turn). Idle: at most one clock tick of CPU (10 ms) in 200 ms. The second
 * wait gives up after 30 s and 1 s per 100,000 series (the first after 120 s); each prints
 * how long it waited.
 */
static inline void bench_http_settle(const struct bench_http *b, size_t n)
{
    uint64_t t0, limit = (30 + n / 100000) * 1000000000ull;
    double tick = 1.5 / (double)sysconf(_SC_CLK_TCK); /* one tick, and not two */
    double before, after;

    if (!bench_http_opt(b, "--cold"))
        benchutil_settle_huge(bench_http__self_of, b);
    t0 = benchutil_now_ns();
    before = bench_http_daemon_cpu(b);
    for (;;) {
        usleep(200000);
        after = bench_http_daemon_cpu(b);
        if (after - before <= tick || benchutil_now_ns() - t0 > limit)
            break;
        before = after;
    }
    printf("settled: the daemon idle after %.1f s%s\n", (double)(benchutil_now_ns() - t0) / 1e9,
           after - before <= tick ? "" : " (not idle yet: gave up)");
}

/*
 * Grow the daemon to series [0, n) of the mix (n >= b->have), wait until it has accepted
 * every line, print "populated <n> series (<s> s)", and wait until it is idle
 * (bench_http_settle).
 */
static inline void bench_http_populate(struct bench_http *b, size_t n)
{
    uint64_t t0 = benchutil_now_ns(), deadline = t0 + (60 + n / 50000) * 1000000000ull;
    double got;

    bench_http_send_series(b, b->have, n, 0);
    b->have = n;
    while ((got = bench_http_self_value(b, "ustatsd_lines_accepted_total")) < (double)n &&
           benchutil_now_ns() < deadline)
        usleep(20000);
    if (!(got >= (double)n))
        bench_http_die(b, 0, "accepted %.0f lines of %.0f", got, (double)n);
    printf("populated %zu series (%.1f s)\n", n, (double)(benchutil_now_ns() - t0) / 1e9);
    bench_http_settle(b, n);
}

/* SIGTERM the daemon and remove its directory; dies unless it exits cleanly. */
static inline void bench_http_stop(struct bench_http *b)
{
    if (daemon_stop(&b->d) != 0)
        bench_http_die(b, 0, "the daemon did not stop cleanly");
    benchutil_daemon_unwatch(&b->d);
    benchutil_rmtree(b->dir);
    free(b->config);
}

/* --- timing of full responses ----------------------------------------------------- */

struct bench_http_timed {
    uint64_t ns;
    size_t wire; /* bytes received: status line, headers and body as sent */
};

struct bench_http_result {
    double median_ms, best_ms;
    double cpu_ms; /* the daemon's CPU a run (/proc), the mean of the timed runs */
    double faults; /* the daemon's minor page faults a run, the mean of the timed runs */
};

/*
 * Print a case's line:
 *
 *     <label> <b->have> series: median, best, body <body_len>, wire (last run), runs
 *
 * label is the case's name as the bench wants it padded ("scrape text        ").
 * body_len is the decoded body's size, measured by the bench's own check (0: not checked).
 */
static inline void bench_http_print_case(const struct bench_http *b, const char *label,
                                         const struct bench_http_result *res, size_t body_len,
                                         size_t wire)
{
    printf("%s %6zu series: median %7.1f ms, best %7.1f ms, ", label, b->have, res->median_ms,
           res->best_ms);
    if (body_len > 0)
        printf("body %5.2f MB, ", bench_http_mb(body_len));
    else
        printf("body not checked, ");
    printf("wire %5.2f MB (%d runs)\n", bench_http_mb(wire), b->runs);
    fflush(stdout);
}

/* Print the longest loop turn of a case's runs under its line (label as printed there). */
static inline void bench_http_print_turns(const char *label, double worst_ms, double worst_cpu_ms)
{
    printf("%*s longest loop turn <= %g ms (ustatsd_event_loop_iteration_seconds), "
           "<= %g ms of CPU (ustatsd_event_loop_iteration_cpu_seconds)\n",
           (int)strlen(label), "", worst_ms, worst_cpu_ms);
}

/*
 * One timed GET target at addr with "Connection: close" plus headers (each line ending in CRLF,
 * "" for none): connect, send, read until the server closes. Only the status is looked
 * at, so a bench checks the body once with httpc_get(), outside the timing. Dies on an
 * I/O error or a status other than 200. Main thread only (the sink is static).
 */
static inline struct bench_http_timed bench_http_timed_get_at(const struct bench_http *b,
                                                              const char *addr, const char *target,
                                                              const char *headers)
{
    static char sink[1 << 18];
    struct httpc h;
    struct bench_http_timed t = { 0, 0 };
    char req_headers[256];
    uint64_t t0 = benchutil_now_ns();
    long n;
    int rc;

    snprintf(req_headers, sizeof(req_headers), "Connection: close\r\n%s", headers);
    if ((rc = httpc_open(&h, addr, BENCH_HTTP_IO_TIMEOUT_MS)) != 0)
        bench_http_die(b, -rc, "connect");
    if ((rc = httpc_request(&h, "GET", target, req_headers)) != 0)
        bench_http_die(b, -rc, "send request");
    while ((n = httpc_recv(&h, sink, sizeof(sink))) > 0) {
        if (t.wire == 0 && (n < 12 || memcmp(sink + 9, "200", 3) != 0))
            bench_http_die(b, 0, "a timed request did not answer 200");
        t.wire += (size_t)n;
    }
    if (n < 0)
        bench_http_die(b, (int)-n, "read response");
    t.ns = benchutil_now_ns() - t0;
    httpc_close(&h);
    return t;
}

/* bench_http_timed_get_at() the daemon's main endpoint. */
static inline struct bench_http_timed bench_http_timed_get(const struct bench_http *b,
                                                           const char *target, const char *headers)
{
    return bench_http_timed_get_at(b, b->d.http, target, headers);
}

/*
 * Time GET target b->runs times after one warm-up request, and print its line
 * (bench_http_print_case()). The result's cpu_ms is the daemon's CPU time a run (utime +
 * stime in /proc, ticks of 10 ms: the mean of all the timed runs), which the client's
 * scheduling and the connection's transport do not change; its faults, the daemon's minor page faults a run
 * (pages the allocator gave back and took again show there).
 */
static inline struct bench_http_result bench_http_run_case(const struct bench_http *b,
                                                           const char *label, const char *target,
                                                           const char *headers, size_t body_len)
{
    uint64_t *t = calloc((size_t)b->runs, sizeof(*t));
    struct bench_http_result res;
    size_t wire = 0;
    uint64_t faults;
    double cpu;
    int i;

    if (t == NULL)
        bench_http_die(b, ENOMEM, "calloc");
    (void)bench_http_timed_get(b, target, headers); /* warm-up: page cache, allocator */
    cpu = bench_http_daemon_cpu(b);
    faults = bench_http_daemon_faults(b);
    for (i = 0; i < b->runs; i++) {
        struct bench_http_timed x = bench_http_timed_get(b, target, headers);
        t[i] = x.ns;
        wire = x.wire;
    }
    res.cpu_ms = (bench_http_daemon_cpu(b) - cpu) * 1e3 / b->runs;
    res.faults = (double)(bench_http_daemon_faults(b) - faults) / b->runs;
    qsort(t, (size_t)b->runs, sizeof(*t), benchutil_cmp_u64);
    res.median_ms = bench_http_ms(t[b->runs / 2]);
    res.best_ms = bench_http_ms(t[0]);
    bench_http_print_case(b, label, &res, body_len, wire);
    free(t);
    return res;
}

/*
 * bench_http_run_case() between two readings of the daemon's loop turns: *worst_ms is
 * the longest turn of the warm-up and the runs (benchresult_turns_worst_ms()), and
 * *worst_cpu_ms the longest in CPU time (benchresult_turns_worst_cpu_ms()).
 */
static inline struct bench_http_result
bench_http_run_case_turns(const struct bench_http *b, const char *label, const char *target,
                          const char *headers, size_t body_len, double *worst_ms,
                          double *worst_cpu_ms)
{
    struct benchresult_turns before, after;
    struct bench_http_result res;

    bench_http_turns(b, &before);
    res = bench_http_run_case(b, label, target, headers, body_len);
    bench_http_turns(b, &after);
    *worst_ms = benchresult_turns_worst_ms(&before, &after);
    *worst_cpu_ms = benchresult_turns_worst_cpu_ms(&before, &after);
    bench_http_print_turns(label, *worst_ms, *worst_cpu_ms);
    return res;
}

/* --- the loop-hold probe ---------------------------------------------------------- */

struct bench_http__probe {
    struct bench_http *b;
    atomic_int stop;                           /* set by the main thread; threads poll it */
    atomic_int armed;                          /* health checks count only while set */
    uint64_t lat[BENCH_HTTP_PROBE_MAX_CHECKS]; /* latencies of the checks inside the window */
    size_t checks;
    uint64_t sent;
    int error;
};

static inline void *bench_http__sender_main(void *arg)
{
    struct bench_http__probe *p = arg;
    unsigned round = 1;

    /*
     * Updates to existing series (the first 100,000 at most), 100 lines every 0.5 ms
     * (200,000 lines/s): steady
     * ingestion that the render must interleave with, paced so that the sender does not
     * take a CPU of its own away from the daemon.
     */
    while (!atomic_load(&p->stop)) {
        struct timespec ts = { 0, 500000 };
        size_t blocks = p->b->have / 100 ? p->b->have / 100 : 1;
        size_t from = (size_t)(round % (blocks < 1000 ? blocks : 1000)) * 100;
        p->sent += bench_http_send_series(p->b, from, from + 100, round);
        round++;
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static inline void *bench_http__health_main(void *arg)
{
    struct bench_http__probe *p = arg;
    struct httpc h;
    uint64_t next = benchutil_now_ns();
    int rc;

    if ((rc = httpc_open(&h, p->b->d.http, BENCH_HTTP_IO_TIMEOUT_MS)) != 0) {
        p->error = -rc;
        return NULL;
    }
    while (!atomic_load(&p->stop)) {
        uint64_t t0, dt;
        int armed = atomic_load(&p->armed);

        if ((rc = benchutil_health_check(&h, &dt)) != 0) {
            p->error = rc;
            break;
        }
        /* Only checks that started and ended inside the window count. */
        if (armed && atomic_load(&p->armed) && p->checks < BENCH_HTTP_PROBE_MAX_CHECKS)
            p->lat[p->checks++] = dt;
        next += BENCH_HTTP_PROBE_PERIOD_NS;
        t0 = benchutil_now_ns();
        if (next > t0) {
            struct timespec ts = { 0, (long)(next - t0) };
            nanosleep(&ts, NULL);
        } else {
            next = t0;
        }
    }
    httpc_close(&h);
    return NULL;
}

struct bench_http_window {
    uint64_t request_ns; /* the timed request's time; 0 for a baseline window */
    uint64_t p50_ns, p99_ns, max_ns;
    size_t checks;
};

/* What a probe window times: it returns the ns it took. */
typedef uint64_t (*bench_http_action)(struct bench_http *b, void *arg);

/*
 * Run the probe threads around one timed GET target, or (target NULL) around action(arg)
 * when action is not NULL, else around a pause of pause_ms, and summarise the health
 * checks inside that window.
 */
static inline struct bench_http_window bench_http_probe_action(struct bench_http *b,
                                                               const char *target,
                                                               bench_http_action action, void *arg,
                                                               unsigned pause_ms)
{
    struct bench_http__probe *p = calloc(1, sizeof(*p));
    struct bench_http_window w = { 0, 0, 0, 0, 0 };
    pthread_t ts, th;
    uint64_t t0, t1;

    if (p == NULL)
        bench_http_die(b, ENOMEM, "calloc");
    p->b = b;
    atomic_init(&p->stop, 0);
    atomic_init(&p->armed, 0);
    if (pthread_create(&ts, NULL, bench_http__sender_main, p) != 0 ||
        pthread_create(&th, NULL, bench_http__health_main, p) != 0)
        bench_http_die(b, EAGAIN, "pthread_create");
    usleep(50000); /* both threads running */
    atomic_store(&p->armed, 1);
    t0 = benchutil_now_ns();
    if (target)
        w.request_ns = bench_http_timed_get(b, target, "").ns;
    else if (action)
        w.request_ns = action(b, arg);
    else
        usleep(pause_ms * 1000u);
    atomic_store(&p->armed, 0);
    t1 = benchutil_now_ns();
    atomic_store(&p->stop, 1);
    pthread_join(ts, NULL);
    pthread_join(th, NULL);
    if (p->error)
        bench_http_die(b, p->error, "health probe");
    /*
     * A window shorter than a few checks' interval (a scrape of 1,000 series takes 0.4
     * ms, a check goes every 1 ms) may hold none: it has no figures, and counts 0 checks.
     * One of BENCH_HTTP_QUIET_MS or more without a check is a daemon that did not answer.
     */
    if (p->checks == 0) {
        if (t1 - t0 >= BENCH_HTTP_QUIET_MS * 1000000ull)
            bench_http_die(b, 0, "no health check completed inside a window of %.1f ms",
                           (double)(t1 - t0) / 1e6);
        free(p);
        return w;
    }
    qsort(p->lat, p->checks, sizeof(p->lat[0]), benchutil_cmp_u64);
    w.checks = p->checks;
    w.p50_ns = p->lat[p->checks / 2];
    w.p99_ns = p->lat[p->checks * 99 / 100];
    w.max_ns = p->lat[p->checks - 1];
    free(p);
    return w;
}

static inline struct bench_http_window
bench_http_probe_window(struct bench_http *b, const char *target, unsigned pause_ms)
{
    return bench_http_probe_action(b, target, NULL, NULL, pause_ms);
}

static inline void bench_http_print_windows(const char *what, const char *request,
                                            const struct bench_http_window *w, int n)
{
    uint64_t maxes[BENCH_HTTP_PROBE_WINDOWS], p50s[BENCH_HTTP_PROBE_WINDOWS];
    uint64_t worst_p99 = 0, total = 0;
    size_t checks = 0;
    int i;

    for (i = 0; i < n; i++) {
        maxes[i] = w[i].max_ns;
        p50s[i] = w[i].p50_ns;
        checks += w[i].checks;
        total += w[i].request_ns;
        if (w[i].p99_ns > worst_p99)
            worst_p99 = w[i].p99_ns;
    }
    qsort(maxes, (size_t)n, sizeof(maxes[0]), benchutil_cmp_u64);
    qsort(p50s, (size_t)n, sizeof(p50s[0]), benchutil_cmp_u64);
    printf("  %-20s max %6.2f ms (median of %d windows' maxima %.2f ms), p99 %.2f ms, "
           "p50 %.2f ms, %zu checks",
           what, bench_http_ms(maxes[n - 1]), n, bench_http_ms(maxes[n / 2]),
           bench_http_ms(worst_p99), bench_http_ms(p50s[n / 2]), checks);
    if (total)
        printf(", %s %.1f ms on average", request, bench_http_ms(total) / n);
    printf("\n");
}

/*
 * The loop-hold probe: min(b->runs, BENCH_HTTP_PROBE_WINDOWS) windows around GET target,
 * each followed by a baseline window as long as that request took, with the same sender
 * and no request. Prints a heading and two rows, labelled during and baseline; the first
 * row ends with the request's mean time, named request ("scrape", "/debug"). Returns the
 * longest health check during the requests, in ns.
 */
static inline uint64_t bench_http_run_probe(struct bench_http *b, const char *target,
                                            const char *request, const char *during,
                                            const char *baseline)
{
    uint64_t worst = 0;
    struct bench_http_window in[BENCH_HTTP_PROBE_WINDOWS] = { { 0 } },
                             base[BENCH_HTTP_PROBE_WINDOWS] = { { 0 } };
    int n = b->runs < BENCH_HTTP_PROBE_WINDOWS ? b->runs : BENCH_HTTP_PROBE_WINDOWS, i;

    for (i = 0; i < n; i++) {
        in[i] = bench_http_probe_window(b, target, 0);
        base[i] = bench_http_probe_window(b, NULL, (unsigned)(in[i].request_ns / 1000000u) + 1);
        worst = in[i].max_ns > worst ? in[i].max_ns : worst;
    }
    printf("loop hold at %zu series: GET /-/healthy every 1 ms (keep-alive) while a sender "
           "updates series:\n",
           b->have);
    bench_http_print_windows(during, request, in, n);
    bench_http_print_windows(baseline, request, base, n);
    fflush(stdout);
    return worst;
}

#endif
