/*
 * bench_ingest: how many DogStatsD lines per second the daemon takes in, against a raw
 * recvmmsg sink on the same machine, over the same Unix datagram transport.
 *
 *   bench_ingest [USTATSD_BIN] [--lines N] [--rounds N] [--per 20|1] [--sink-only]
 *
 * The load is 2,000,000 lines over 1,000 series (counters, gauges and histograms, each
 * line with two tags), sent once with 20 lines per datagram and once with 1 (--per: only
 * one of them). Sends block,
 * so the benchmark measures throughput, not drops, and nothing may be lost: the daemon's
 * own counters (scraped from its /metrics on a Unix socket) must account for every line
 * and datagram. The daemon's rate runs from the first send to the scrape that shows the
 * last line accepted, after an untimed warm-up of one line per series.
 *
 * Each shape runs in rounds (5 by default), each round the sink and then the daemon on
 * the same load, and the figures printed last are medians: the rates' and, for the
 * verdict, the per-round ratios'. Pairing the two sides in time keeps a slow patch of a
 * shared machine from landing on one side only. With two CPUs or more, the sender runs
 * on CPU 0 and the receiver (the sink's thread, or the daemon) on CPU 1.
 *
 * As root the benchmark moves into a private network namespace and sets
 * net.unix.max_dgram_qlen to 512 there, so that the host's setting does not matter.
 *
 * Exit status: 0 when nothing was lost and both ratios meet their targets (>= 0.6 with
 * 20-line datagrams, >= 0.8 with 1-line datagrams; medians), 2 when a target is missed, 1 when
 * lines were lost or the run failed.
 */
#include "benchutil.h"

#define SERIES        1000
#define DEFAULT_LINES 2000000

/*
 * Line i goes to series i % 1000; a third of the series are in each family:
 *
 *   bench.requests:1|c|#k:s0,env:prod
 *   bench.inflight:17|g|#k:s1,env:prod
 *   bench.latency_seconds:0.042|h|#k:s2,env:prod
 */
static size_t line_of(uint64_t i, char *buf, size_t cap)
{
    unsigned s = (unsigned)(i % SERIES);
    int n;

    switch (s % 3) {
    case 0:
        n = snprintf(buf, cap, "bench.requests:1|c|#k:s%u,env:prod", s);
        break;
    case 1:
        n = snprintf(buf, cap, "bench.inflight:%u|g|#k:s%u,env:prod", (unsigned)(i % 97), s);
        break;
    default:
        n = snprintf(buf, cap, "bench.latency_seconds:0.%03u|h|#k:s%u,env:prod",
                     (unsigned)(i % 1000), s);
        break;
    }
    return (size_t)n;
}

static const char config_text[] =
    "{\n"
    "  \"families\": [\n"
    "    {\"name\": \"bench.requests\", \"type\": \"counter\", \"help\": \"Bench requests.\",\n"
    "     \"labels\": [{\"name\": \"k\", \"max_values\": 1000},\n"
    "                {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},\n"
    "    {\"name\": \"bench.inflight\", \"type\": \"gauge\", \"help\": \"Bench in flight.\",\n"
    "     \"labels\": [{\"name\": \"k\", \"max_values\": 1000},\n"
    "                {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},\n"
    "    {\"name\": \"bench.latency_seconds\", \"type\": \"histogram\", \"help\": \"Bench.\",\n"
    "     \"buckets\": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],\n"
    "     \"labels\": [{\"name\": \"k\", \"max_values\": 1000},\n"
    "                {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]}\n"
    "  ]\n"
    "}\n";

#define DEFAULT_ROUNDS 5
#define MAX_ROUNDS     99

struct shape {
    unsigned per;
    double target;
    struct benchutil_load load;
    double sink[MAX_ROUNDS];   /* lines/s, per round */
    double daemon[MAX_ROUNDS]; /* lines/s, per round */
    double ratio[MAX_ROUNDS];  /* daemon / sink, per round */
    int lost;
};

static double run_sink(const char *dir, const struct benchutil_load *l)
{
    struct benchutil_sink s;
    char path[256];
    uint64_t t0;
    int fd;

    benchutil_fmt(path, sizeof(path), "%s/sink.sock", dir);
    benchutil_sink_start(&s, path, l->lines);
    fd = benchutil_connect_dgram(path);
    t0 = benchutil_now_ns();
    benchutil_send_blocking(fd, l);
    benchutil_sink_join(&s);
    close(fd);
    if (s.error != 0 || s.lines != l->lines || s.datagrams != l->n)
        benchutil_die("sink counted %llu lines in %llu datagrams of %llu in %zu (%s)",
                      (unsigned long long)s.lines, (unsigned long long)s.datagrams,
                      (unsigned long long)l->lines, l->n, s.error ? strerror(s.error) : "no error");
    return (double)l->lines * 1e9 / (double)(s.done_ns - t0);
}

/* Returns the rate, or -1 when the daemon's counters do not account for the load. */
static double run_daemon(struct daemon *d, const struct benchutil_load *l)
{
    double rej0, dg0, base, acc, rej, dg;
    uint64_t t0, t1, deadline;
    int fd;

    /*
     * Warm-up, not timed: one line per series first, so that the timed load measures the
     * steady state (every series and cache entry exists) rather than the first 0.1 s of
     * a daemon's life. The timed load is then the whole of l, checked line for line.
     */
    fd = benchutil_connect_dgram(d->sock);
    base = benchutil_daemon_counters(d, NULL, NULL);
    {
        size_t i, lines = 0;
        for (i = 0; i < l->n && lines < SERIES; i++) {
            const char *c = l->data + l->off[i], *e = l->data + l->off[i + 1];
            if (send(fd, c, (size_t)(e - c), 0) < 0)
                benchutil_die("warm-up send: %s", strerror(errno));
            lines++;
            while ((c = memchr(c, '\n', (size_t)(e - c))) != NULL) {
                lines++;
                c++;
            }
        }
        deadline = benchutil_now_ns() + 30000000000ull;
        while (benchutil_daemon_counters(d, NULL, NULL) - base < (double)lines &&
               benchutil_now_ns() < deadline)
            waitfor_sleep_ms(1);
    }
    base = benchutil_daemon_counters(d, &rej0, &dg0);
    t0 = benchutil_now_ns();
    benchutil_send_blocking(fd, l);
    close(fd);
    deadline = benchutil_now_ns() + 30000000000ull;
    for (;;) {
        acc = benchutil_daemon_counters(d, &rej, &dg);
        t1 = benchutil_now_ns();
        if (acc - base >= (double)l->lines || t1 > deadline)
            break;
        waitfor_sleep_ms(1);
    }
    if (acc - base != (double)l->lines || dg - dg0 != (double)l->n || rej != rej0) {
        fprintf(stderr,
                "bench: sent %llu lines in %zu datagrams; the daemon accepted %.0f lines, "
                "rejected %.0f, received %.0f datagrams\n",
                (unsigned long long)l->lines, l->n, acc - base, rej - rej0, dg - dg0);
        benchutil_daemon_print_rejects(d);
        return -1;
    }
    return (double)l->lines * 1e9 / (double)(t1 - t0);
}

/* One round: the sink, then the daemon, on the same load, so that a slow patch of the
 * machine hits both sides of a ratio rather than one. */
static void run_round(struct shape *sh, unsigned round, const char *dir, struct daemon *d)
{
    sh->sink[round] = run_sink(dir, &sh->load);
    if (d == NULL) {
        printf("  round %u, %2u lines/datagram: sink %12.0f lines/s\n", round + 1, sh->per,
               sh->sink[round]);
        return;
    }
    sh->daemon[round] = run_daemon(d, &sh->load);
    if (sh->daemon[round] < 0) {
        sh->lost = 1;
        sh->daemon[round] = 0;
    }
    sh->ratio[round] = sh->daemon[round] / sh->sink[round];
    printf("  round %u, %2u lines/datagram: sink %12.0f  ustatsd %12.0f lines/s  ratio %.2f\n",
           round + 1, sh->per, sh->sink[round], sh->daemon[round], sh->ratio[round]);
    fflush(stdout);
}

/* The medians of every shape run, and the verdict: 0, 1 (lines lost) or 2 (below target). */
static int print_summary(const struct shape *shapes, unsigned rounds, unsigned only)
{
    int status = 0;

    printf("\nmedians of %u rounds; the ratio is the median of each round's ratio\n", rounds);
    printf("%-16s %14s %14s %7s %8s\n", "lines/datagram", "sink lines/s", "ustatsd lines/s",
           "ratio", "target");
    for (int i = 0; i < 2; i++) {
        struct shape s = shapes[i];
        if (only != 0 && s.per != only)
            continue;
        double sink = benchutil_median(s.sink, rounds);
        double daemon = benchutil_median(s.daemon, rounds);
        double ratio = benchutil_median(s.ratio, rounds);
        const char *verdict = "ok";

        if (s.lost) {
            verdict = "LINES LOST";
            status = 1;
        } else if (ratio < s.target) {
            verdict = "BELOW TARGET";
            if (status == 0)
                status = 2;
        }
        printf("%-16u %14.0f %14.0f %7.2f %5s%.1f  %s\n", s.per, sink, daemon, ratio,
               ">= ", s.target, verdict);
    }
    return status;
}

int main(int argc, char **argv)
{
    struct shape shapes[2] = { { .per = 20, .target = 0.6 }, { .per = 1, .target = 0.8 } };
    struct daemon d;
    char dir[256];
    uint64_t nlines = DEFAULT_LINES;
    unsigned rounds = DEFAULT_ROUNDS, only = 0;
    int sink_only = 0, status = 0, pinned;
    long qlen;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sink-only") == 0)
            sink_only = 1;
        else if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc)
            nlines = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--per") == 0 && i + 1 < argc)
            only = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] == '-' || i != 1)
            benchutil_die("usage: bench_ingest [USTATSD_BIN] [--lines N] [--rounds N] "
                          "[--per 20|1] [--sink-only]");
    }
    if (nlines == 0 || rounds == 0 || rounds > MAX_ROUNDS || (only != 0 && only != 20 && only != 1))
        benchutil_die("--lines must be > 0, --rounds in 1..%d, --per 20 or 1", MAX_ROUNDS);
    if (!sink_only)
        benchutil_find_daemon(argc, argv);
    qlen = benchutil_private_netns();
    pinned = benchutil_pin(BENCHUTIL_CPU_SENDER) == 0;
    benchutil_tmpdir(dir, sizeof(dir), "bench_ingest");

    printf("ustatsd ingest benchmark: %llu lines over %d series, max_dgram_qlen %ld, %u rounds, "
           "%s\n",
           (unsigned long long)nlines, SERIES, qlen, rounds,
           pinned ? "sender on CPU 0, receiver on CPU 1" : "not pinned (one CPU)");
    if (!sink_only)
        benchutil_daemon_start(&d, config_text);
    for (int i = 0; i < 2; i++) {
        if (only != 0 && shapes[i].per != only)
            continue;
        benchutil_load_build(&shapes[i].load, nlines, shapes[i].per, line_of);
        for (unsigned k = 0; k < rounds; k++)
            run_round(&shapes[i], k, dir, sink_only ? NULL : &d);
    }
    if (!sink_only) {
        benchutil_daemon_stop(&d);
        status = print_summary(shapes, rounds, only);
    }
    for (int i = 0; i < 2; i++)
        benchutil_load_free(&shapes[i].load);
    benchutil_rmtree(dir);
    return status;
}
