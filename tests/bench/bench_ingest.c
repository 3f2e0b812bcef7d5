/*
 * bench_ingest: how many DogStatsD lines per second the daemon takes in, against a raw
 * recvmmsg sink on the same machine over the same transport: the Unix datagram socket,
 * and the UDP socket (daemon.udp_listen) on loopback.
 *
 *   bench_ingest [USTATSD_BIN] [--lines N] [--rounds N] [--per 20|1]
 *                [--transport unix|udp|both] [--sink-only] [--writers]
 *                [--series N] [--mix rr|uniform|zipf] [--credentials on|off] [--cold]
 *
 * The load is 2,000,000 lines over 1,000 series (counters, gauges and histograms, each
 * line with two tags). --series N spreads it over N series instead (and the load is then
 * at least 4 N lines, unless --lines says otherwise); --mix says how: rr, line i to
 * series i mod N (the default: each series in turn, as before); uniform, each line to a
 * series drawn at random; zipf, drawn with the probability of series k proportional to
 * 1 / (k + 1) (Zipf's law with exponent 1, the head of a real host's traffic: the most
 * used series of 1,000,000 takes 7% of the lines), its ranks scattered over the series in
 * creation order. With --series, each Unix round also runs the floor of an aggregator
 * (benchfloor.h: the sink plus a hash and an add into a table of N series for each line)
 * and the floor of a statsd aggregator (the same, and what the statsd format asks of each
 * line: its type, its value checked, a histogram's bucket, the time for expiry), and
 * prints their ratios to the sink: the nearest to 1 any aggregator of N series, and any
 * aggregator of the statsd format, can come on this machine. The raw sink asks for the
 * senders' credentials (SO_PASSCRED), as issue 30's sink did; each floor asks as the
 * daemon does (--credentials), since a floor bounds what the daemon can reach, and a
 * daemon that asks for none saves the kernel about a tenth of a 1-line datagram's cost
 * (so its ratio, and a floor's, can pass 1 at few series). The warm-up sends one line to
 * every series first, 20 a datagram, so that the timed load finds them all, and then
 * (unless --cold) waits, idle, until the daemon has put its series' memory into huge
 * pages (settle()): a daemon on a host collapses its full regions within seconds, in CPU
 * time its loop leaves, but one kept busy from its first second by the benchmark's
 * rounds took a minute of them, and its first rounds measured a daemon a host never
 * sees for long (at 1,000,000 series, 1 line, 0.75 in the first round, 0.88 in the
 * fifth; docs/cardinality.md). --cold measures from right after the warm-up. The daemon's
 * counters are read from an endpoint of its own metrics only (so that reading them renders
 * none of the N series), and its CPU time (every thread's, from
 * /proc/PID/task/TID/schedstat) over the timed load gives the CPU ns per line. The last lines printed are machine-readable:
 *
 *   result ingest series=N mix=M per=20 ratio=0.74 ns_per_line=89.1
 * On the Unix socket it is sent once with 20 lines per datagram and
 * once with 1 (--per: only one of them); over UDP with 20 lines per datagram (the issue's
 * shape; --per 1 skips it). --transport picks the runs, both by default.
 *
 * Each Unix round also prints what each receiver took in a receive: the sink's and the
 * floors' datagrams per recvmmsg call, the daemon's per wake-up (its
 * ustatsd_ingest_wakeups_total). Near 1, a receiver empties its queue and sleeps between
 * datagrams, and the sender pays to wake it. A sink's or a floor's can reach its batch
 * (64) when it falls behind; the daemon's runs into the hundreds while datagrams keep
 * coming, since a drain goes on until its budget.
 *
 * Unix: sends block, so the benchmark measures throughput, not drops, and nothing may
 * be lost: the daemon's own counters (scraped from its /metrics on a Unix socket) must
 * account for every line and datagram. The daemon's rate runs from the first send to the
 * scrape that shows the last line accepted, after an untimed warm-up of one line per
 * series.
 *
 * UDP: a sender is never held back by its receiver; what the receive buffer cannot take
 * the kernel drops at the receiving socket. So the UDP run measures what a receiver
 * takes in from a saturating sender: one thread sends the whole load with sendmmsg, as
 * fast as the loopback goes, to a receive buffer of UDP_RCVBUF asked for (the daemon's
 * udp_rcvbuf default, and the same SO_RCVBUF request for the sink: both get what
 * net.core.rmem_max grants, printed). The rate is the lines the receiver took in (the
 * sink's count; the daemon's ustatsd_lines_accepted_total) over the time from the first
 * send until the socket's queue in the kernel (/proc/net/udp rx_queue) is empty and the
 * receiver has accounted for every datagram, received or dropped. While the sender
 * outruns a receiver, its queue never empties and it works flat out: the rate is its
 * capacity, and the excess shows as drops, reported apart (the sender's own rate, the
 * "offered" figure, bounds both sides). Every datagram is accounted for: received plus
 * the kernel's drops on the socket (ustatsd_udp_datagrams_dropped_total for the daemon,
 * SO_MEMINFO for the sink) must equal sent, and the daemon must accept every line of
 * each datagram it received. Drops are not a failure; a datagram unaccounted for is.
 * On a 2-core machine the sender, not the raw sink, is the bound: the sink keeps its
 * queue empty and sleeps, so the sender pays to wake it for nearly every datagram, while
 * a busy daemon is rarely asleep. The UDP ratio therefore says whether the daemon keeps
 * pace with one saturating client core (about 1, or above, with no drops) or falls
 * behind (below 1, with the kernel's drops at its socket showing by how much); the
 * target is 0.8.
 *
 * --writers starts a second daemon whose "writers" rules guard every family (docs/configuration.md,
 * "writers"), and runs it on the same load right after the first in each round: the
 * on/off ratio of each round is the writer policy's cost (its median is printed apart;
 * it has no target).
 *
 * Each shape runs in rounds (5 by default), each round the sink and then the daemon on
 * the same load, and the figures printed last are medians: the rates' and, for the
 * verdict, the per-round ratios'. Pairing the two sides in time keeps a slow patch of a
 * shared machine from landing on one side only. With two CPUs or more, the sender runs
 * on CPU 0 and the receiver (the sink's thread, or the daemon) on CPU 1. On loopback the
 * kernel's UDP receive path (the socket lookup and the enqueue) runs on the sender's CPU;
 * the receiver's CPU only dequeues and copies, as with Unix sockets.
 *
 * As root the benchmark moves into a private network namespace, sets
 * net.unix.max_dgram_qlen to 512 there, so that the host's setting does not matter, and
 * brings its loopback up. The daemon listens on UDP only when a UDP run is asked for.
 *
 * Exit status: 0 when nothing was lost (Unix) or unaccounted for (UDP) and every ratio
 * meets its target (Unix: >= 0.6 with 20-line datagrams, >= 0.8 with 1-line datagrams,
 * from --series 100000 issue 30's: 0.75 and 0.9, at 1M 0.6 and 0.85, none past 1M (the
 * ratios are printed, with no verdict); UDP: >= 0.8 with
 * 20-line datagrams; medians), 2 when a target is missed, 1 when lines
 * were lost or the run failed. With --series, a target the floor of a statsd aggregator
 * misses too on the Unix socket is the machine's bound, not the daemon's: reported as
 * such, with the daemon's ratio to that floor, and not a miss.
 */
#include <dirent.h>

#include "bench_ingest.h"
#include "benchutil.h"

#define SERIES        1000
#define DEFAULT_LINES 2000000
#define UDP_RCVBUF    (8 << 20) /* the daemon's udp_rcvbuf default */

size_t nseries = SERIES;
enum mix mix = MIX_RR;
const char *const mix_names[] = { "rr", "uniform", "zipf" };
static int floor_on; /* --series: the floors of an aggregator run too */

#define FAMILIES_JSON                                                                            \
    "  \"families\": [\n"                                                                        \
    "    {\"name\": \"bench.requests\", \"type\": \"counter\", \"help\": \"Bench requests.\",\n" \
    "     \"labels\": [{\"name\": \"k\", \"max_values\": %zu},\n"                                \
    "                {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},\n"              \
    "    {\"name\": \"bench.inflight\", \"type\": \"gauge\", \"help\": \"Bench in flight.\",\n"  \
    "     \"labels\": [{\"name\": \"k\", \"max_values\": %zu},\n"                                \
    "                {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},\n"              \
    "    {\"name\": \"bench.latency_seconds\", \"type\": \"histogram\", \"help\": \"Bench.\",\n" \
    "     \"buckets\": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],\n"             \
    "     \"labels\": [{\"name\": \"k\", \"max_values\": %zu},\n"                                \
    "                {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]}\n"               \
    "  ]"

/*
 * The caps fit the series (limits, then k's max_values in each family), and an endpoint
 * of the daemon's own metrics only (%s) serves the counters the benchmark reads. Unless
 * --credentials on, the leading %s is daemon.credentials_linger_seconds 0: the daemon
 * asks for no senders' credentials, as one whose lines are all accepted does ten minutes
 * after its start (--writers asks, for its rules). --credentials on leaves the key out:
 * the default linger, credentials asked for throughout the run, as before the policy
 * (and a binary from before it reads the config).
 */
#define PREFIX_JSON                                                                 \
    "  \"limits\": {\"max_series\": %zu, \"max_series_per_family\": %zu},\n"        \
    "  \"endpoints\": [{\"name\": \"self\", \"listen\": \"%s\", \"families\": [], " \
    "\"self_metrics\": true}],\n"

static const char config_format[] = "{\n%s" PREFIX_JSON FAMILIES_JSON "\n}\n";

/*
 * --writers: the same families, each guarded by a rule of its own
 * (docs/configuration.md, "writers")
 * that lets the benchmark's uid in among others, so that every line pays the check: the
 * hot path's binary searches over a rule's sorted uids and gids. UDP lines carry no
 * credentials: the rules let them in with unauthenticated.
 */
#define WRITERS_RULE(fam)                                                                \
    "    {\"family\": \"" fam "\", \"users\": [%u, 4000000001, 4000000002, 4000000003, " \
    "4000000004, 4000000005, 4000000006, 4000000007],"                                   \
    " \"groups\": [100, 101, 102], \"unauthenticated\": true}"

static const char writers_format[] =
    "{\n%s" PREFIX_JSON FAMILIES_JSON
    ",\n  \"writers\": [\n" WRITERS_RULE("bench.requests") ",\n" WRITERS_RULE(
        "bench.inflight") ",\n" WRITERS_RULE("bench.latency_seconds") "\n  ]\n}\n";

#define DEFAULT_ROUNDS 5
#define MAX_ROUNDS     99
#define NSHAPES        3

struct shape {
    int udp; /* 0: the Unix socket */
    unsigned per;
    double target;
    struct benchutil_load load;
    double sink[MAX_ROUNDS];   /* lines/s, per round */
    double daemon[MAX_ROUNDS]; /* lines/s, per round */
    double ratio[MAX_ROUNDS];  /* daemon / sink, per round */
    double floor[MAX_ROUNDS];  /* the floor of an aggregator / sink, per round (Unix) */
    double sfloor[MAX_ROUNDS]; /* the floor of a statsd aggregator / sink, per round (Unix) */
    double cpu[MAX_ROUNDS];    /* the daemon's CPU ns per line, per round */
    /* UDP only, per round: the sender's rate (lines/s) and the share of datagrams dropped. */
    double sink_offered[MAX_ROUNDS], daemon_offered[MAX_ROUNDS];
    double sink_dropped[MAX_ROUNDS], daemon_dropped[MAX_ROUNDS];
    /* --writers: the daemon with the writer policy on, right after the one without. */
    double guarded[MAX_ROUNDS]; /* lines/s, per round */
    double on_off[MAX_ROUNDS];  /* guarded / daemon, per round */
    int lost;
};

/* What one UDP run found. */
struct udp_run {
    double rate, offered; /* lines/s taken in; lines/s sent */
    double received, dropped;
    double ns_per_line; /* the daemon's CPU (every thread) per line taken in */
    int rcvbuf;
};

enum floor { NO_FLOOR, FLOOR, STATSD_FLOOR };

/* Datagrams a receive took in, in each receiver's last run (see the top); 0: not known. */
static double last_batch[3], daemon_batch;

/* --credentials on: the daemon's default linger (credentials asked for); else none. */
static int credentials;

/*
 * The raw sink's rate on load l, or the floor's (FLOOR) or the statsd floor's
 * (STATSD_FLOOR; benchfloor.h) at nseries.
 */
static double run_sink(const char *dir, const struct benchutil_load *l, enum floor floor)
{
    struct benchutil_sink s;
    struct benchfloor f;
    struct benchfloor_statsd sf;
    char path[256];
    uint64_t t0;
    int fd;

    if ((floor == FLOOR && benchfloor_init(&f, nseries) < 0) ||
        (floor == STATSD_FLOOR && benchfloor_statsd_init(&sf, nseries) < 0))
        benchutil_die("the floor's table of %zu series: out of memory", nseries);
    benchutil_fmt(path, sizeof(path), "%s/sink.sock", dir);
    /* The raw sink asks for credentials (issue 30's); a floor as the daemon does. */
    benchutil_sink_start_as(&s, path, l->lines, floor == FLOOR ? &f : NULL,
                            floor == STATSD_FLOOR ? &sf : NULL, floor == NO_FLOOR || credentials);
    fd = benchutil_connect_dgram(path);
    t0 = benchutil_now_ns();
    benchutil_send_blocking(fd, l);
    benchutil_sink_join(&s);
    close(fd);
    if (s.error != 0 || s.lines != l->lines || s.datagrams != l->n)
        benchutil_die("sink counted %llu lines in %llu datagrams of %llu in %zu (%s)",
                      (unsigned long long)s.lines, (unsigned long long)s.datagrams,
                      (unsigned long long)l->lines, l->n, s.error ? strerror(s.error) : "no error");
    last_batch[floor] = s.calls != 0 ? (double)s.datagrams / (double)s.calls : 0;
    if (floor == FLOOR)
        benchfloor_free(&f);
    if (floor == STATSD_FLOOR) {
        if (sf.dropped != 0)
            benchutil_die("the statsd floor dropped %llu lines", (unsigned long long)sf.dropped);
        benchfloor_statsd_free(&sf);
    }
    return (double)l->lines * 1e9 / (double)(s.done_ns - t0);
}

/* Datagrams a UDP receiver has accounted for so far: received, and dropped by the kernel. */
typedef void (*udp_count_cb)(void *arg, double *received, double *dropped);

/*
 * After the last send: wait until the socket's queue in the kernel is empty and the
 * receiver has accounted for all sent datagrams. Returns when that was first seen, or 0
 * after 30 s; *received and *dropped get the last counts.
 */
static uint64_t udp_drained(int port, size_t sent, udp_count_cb count, void *arg, double *received,
                            double *dropped)
{
    uint64_t deadline = benchutil_now_ns() + 30000000000ull, t;
    struct timespec pause = { 0, 200000 };

    for (;;) {
        long queued = benchutil_udp_rx_queue(port);
        t = benchutil_now_ns();
        if (queued == 0) {
            count(arg, received, dropped);
            if (*received + *dropped >= (double)sent)
                return t;
        }
        if (t > deadline) {
            count(arg, received, dropped);
            return 0;
        }
        nanosleep(&pause, NULL);
    }
}

static void sink_count(void *arg, double *received, double *dropped)
{
    struct benchutil_sink *s = arg;
    int64_t drops = benchutil_sink_drops(s);

    *received = (double)atomic_load_explicit(&s->seen, memory_order_acquire);
    *dropped = drops < 0 ? 0 : (double)drops;
}

/* The whole load from one saturating sender to a fresh UDP sink. */
static void run_udp_sink(const struct benchutil_load *l, unsigned per, struct udp_run *r)
{
    struct benchutil_sink s;
    uint64_t t0, t_sent, t1;
    size_t sent;
    int fd, rc;

    benchutil_udp_sink_start(&s, UINT64_MAX, UDP_RCVBUF);
    r->rcvbuf = benchutil_sink_rcvbuf(&s);
    fd = benchutil_connect_udp(s.port);
    t0 = benchutil_now_ns();
    rc = benchutil_send_udp(fd, l, 0, l->n, &sent);
    t_sent = benchutil_now_ns();
    if (rc < 0)
        benchutil_die("udp send to the sink, datagram %zu: %s", sent, strerror(-rc));
    t1 = udp_drained(s.port, l->n, sink_count, &s, &r->received, &r->dropped);
    close(fd);
    benchutil_sink_stop(&s);
    if (t1 == 0 || r->received + r->dropped != (double)l->n || s.error != 0 ||
        s.lines != (uint64_t)r->received * per)
        benchutil_die("udp sink: sent %zu datagrams; received %.0f (%llu lines), the kernel "
                      "dropped %.0f (%s)",
                      l->n, r->received, (unsigned long long)s.lines, r->dropped,
                      s.error   ? strerror(s.error)
                      : t1 == 0 ? "timed out"
                                : "miscounted");
    r->rate = (double)s.lines * 1e9 / (double)(t1 - t0);
    r->offered = (double)l->lines * 1e9 / (double)(t_sent - t0);
}

#define NO_CREDENTIALS "  \"daemon\": {\"credentials_linger_seconds\": 0},\n"

/* The daemons' endpoints of their own metrics (PREFIX_JSON), for counters(). */
#define MAX_DAEMONS 2
static struct daemon *self_daemon[MAX_DAEMONS];
static char self_url[MAX_DAEMONS][256];

/* Start d with config_format or writers_format (uid: the writers' rules'). */
static void start_daemon(struct daemon *d, const char *dir, int udp, int writers, unsigned uid)
{
    static unsigned seq;
    size_t cap = nseries + 1000, n = sizeof(writers_format) + 1024;
    char *text = benchutil_xrealloc(NULL, n);
    const char *daemon_json = credentials ? "" : NO_CREDENTIALS;

    if (seq >= MAX_DAEMONS)
        benchutil_die("too many daemons");
    benchutil_fmt(self_url[seq], sizeof(self_url[seq]), "unix:%s/self-%u.sock", dir, seq);
    if (writers)
        snprintf(text, n, writers_format, daemon_json, cap, cap, self_url[seq], cap, cap, cap, uid,
                 uid, uid);
    else
        snprintf(text, n, config_format, daemon_json, cap, cap, self_url[seq], cap, cap, cap);
    benchutil_daemon_start_udp(d, text, udp);
    self_daemon[seq++] = d;
    free(text);
}

/* The URL of d's self endpoint. */
static const char *self_url_of(struct daemon *d)
{
    for (unsigned k = 0; k < MAX_DAEMONS; k++)
        if (self_daemon[k] == d)
            return self_url[k];
    benchutil_die("no self endpoint for the daemon");
}

/* d's own metrics, from its self endpoint. Malloc'd. */
static char *self_scrape(struct daemon *d)
{
    return benchutil_get_metrics(self_url_of(d));
}

/* As benchutil_daemon_counters(), from the self endpoint. */
/* wake (not NULL): ustatsd_ingest_wakeups_total, -1 when it has none (an older binary). */
static double counters(struct daemon *d, double *rejected, double *dgrams, double *wake)
{
    char *body = self_scrape(d);
    int found;

    if (wake != NULL) {
        *wake = expo_sum(body, "ustatsd_ingest_wakeups_total", &found);
        if (!found)
            *wake = -1;
    }
    return benchutil_counters_of(body, rejected, dgrams);
}

/* As benchutil_daemon_udp_counters(), from the self endpoint. */
static void udp_counters(struct daemon *d, double *dgrams, double *drops)
{
    char *body = self_scrape(d);
    int found, found2;

    *dgrams = expo_sum(body, "ustatsd_udp_datagrams_received_total", &found);
    *drops = expo_sum(body, "ustatsd_udp_datagrams_dropped_total", &found2);
    free(body);
    if (!found || !found2)
        benchutil_die("no UDP counters in the daemon's own metrics");
}

/* CPU time of every thread of pid so far, ns (/proc/PID/task/TID/schedstat). */
static double cpu_ns(pid_t pid)
{
    char path[128];
    double sum = 0;
    DIR *dir;
    struct dirent *e;

    benchutil_fmt(path, sizeof(path), "/proc/%d/task", (int)pid);
    if ((dir = opendir(path)) == NULL)
        benchutil_die("%s: %s", path, strerror(errno));
    while ((e = readdir(dir)) != NULL) {
        unsigned long long run;
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        benchutil_fmt(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue; /* the thread ended */
        if (fscanf(f, "%llu", &run) == 1)
            sum += (double)run;
        fclose(f);
    }
    closedir(dir);
    return sum;
}

/* One line to every series, 20 a datagram: the warm-up's load. */
static struct benchutil_load warm;

/*
 * Warm-up, not timed: one line per series first, so that the timed load measures the
 * steady state (every series and cache entry exists) rather than the first 0.1 s of a
 * daemon's life. fd is connected to the daemon's Unix or UDP socket. Over UDP, which
 * drops what the receiver cannot take, 64 datagrams at a time, each taken in before the
 * next.
 */
static void warm_up(struct daemon *d, int fd, int udp)
{
    double base = counters(d, NULL, NULL, NULL);
    size_t i = 0, step = udp ? 64 : warm.n;
    uint64_t lines = 0, deadline;

    while (i < warm.n) {
        size_t end = i + step < warm.n ? i + step : warm.n;

        for (; i < end; i++) {
            const char *c = warm.data + warm.off[i], *e = warm.data + warm.off[i + 1];
            if (send(fd, c, (size_t)(e - c), 0) < 0)
                benchutil_die("warm-up send: %s", strerror(errno));
            lines++;
            while ((c = memchr(c, '\n', (size_t)(e - c))) != NULL) {
                lines++;
                c++;
            }
        }
        deadline = benchutil_now_ns() + 30000000000ull;
        while (counters(d, NULL, NULL, NULL) - base < (double)lines) {
            if (benchutil_now_ns() > deadline)
                benchutil_die("warm-up: the daemon took fewer than %llu lines in 30 s",
                              (unsigned long long)lines);
            waitfor_sleep_ms(1);
        }
    }
}

/* --cold: each timed load starts right after the warm-up, huge pages or not (settle()). */
static int cold;

/*
 * Before a timed load (nothing with --cold): the daemon idle until its series' memory is in
 * huge pages (benchutil_settle_huge). The state thread collapses the full regions in the CPU
 * time the loop leaves, and a benchmark that keeps the receiver's CPU busy from the first
 * round on leaves it almost none: at 1,000,000 series the collapses then take about a
 * minute of rounds, and the ratio rose from 0.75 in the first round to 0.88 in the fifth.
 */
static void settle(struct daemon *d)
{
    if (!cold)
        benchutil_settle_huge(benchutil_metrics_at, self_url_of(d));
}

/* Returns the rate, or -1 when the daemon's counters do not account for the load. */
static double run_daemon(struct daemon *d, const struct benchutil_load *l, double *ns_per_line)
{
    double rej0, dg0, base, acc, rej, dg, cpu0, wake0, wake1;
    uint64_t t0, t1, deadline;
    int fd;

    fd = benchutil_connect_dgram(d->sock);
    warm_up(d, fd, 0);
    settle(d);
    base = counters(d, &rej0, &dg0, &wake0);
    cpu0 = cpu_ns(d->pid);
    t0 = benchutil_now_ns();
    benchutil_send_blocking(fd, l);
    close(fd);
    deadline = benchutil_now_ns() + 30000000000ull;
    for (;;) {
        acc = counters(d, &rej, &dg, &wake1);
        t1 = benchutil_now_ns();
        if (acc - base >= (double)l->lines || t1 > deadline)
            break;
        waitfor_sleep_ms(1);
    }
    if (ns_per_line != NULL)
        *ns_per_line = (cpu_ns(d->pid) - cpu0) / (double)l->lines;
    /* The scrapes between the two readings wake no drain: they come over HTTP. */
    daemon_batch = wake0 >= 0 && wake1 > wake0 ? (dg - dg0) / (wake1 - wake0) : 0;
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

/* The daemon's UDP counters since base (received, dropped). */
struct udp_base {
    struct daemon *d;
    double dgrams, drops;
};

static void udp_counts(void *arg, double *received, double *dropped)
{
    struct udp_base *b = arg;

    udp_counters(b->d, received, dropped);
    *received -= b->dgrams;
    *dropped -= b->drops;
}

/*
 * The whole load from one saturating sender to the daemon's UDP socket. Returns 0, or -1
 * when its counters do not account for every datagram and line.
 */
static int run_udp_daemon(struct daemon *d, int port, const struct benchutil_load *l, unsigned per,
                          struct udp_run *r)
{
    struct udp_base b = { .d = d };
    double acc0, rej0, acc, rej, cpu0;
    uint64_t t0, t_sent, t1;
    size_t sent;
    int fd, rc;

    fd = benchutil_connect_udp(port);
    warm_up(d, fd, 1);
    settle(d);
    acc0 = counters(d, &rej0, NULL, NULL);
    udp_counters(d, &b.dgrams, &b.drops);
    cpu0 = cpu_ns(d->pid);
    t0 = benchutil_now_ns();
    rc = benchutil_send_udp(fd, l, 0, l->n, &sent);
    t_sent = benchutil_now_ns();
    close(fd);
    if (rc < 0)
        benchutil_die("udp send to the daemon, datagram %zu: %s", sent, strerror(-rc));
    t1 = udp_drained(port, l->n, udp_counts, &b, &r->received, &r->dropped);
    acc = counters(d, &rej, NULL, NULL) - acc0;
    r->ns_per_line = acc > 0 ? (cpu_ns(d->pid) - cpu0) / acc : 0;
    if (t1 == 0 || r->received + r->dropped != (double)l->n || acc != r->received * per ||
        rej != rej0) {
        fprintf(stderr,
                "bench: sent %zu datagrams of %u lines over UDP; the daemon received %.0f, "
                "the kernel dropped %.0f, %.0f lines accepted, %.0f rejected%s\n",
                l->n, per, r->received, r->dropped, acc, rej - rej0, t1 == 0 ? " (timed out)" : "");
        benchutil_daemon_print_rejects(d);
        return -1;
    }
    r->rate = acc * 1e9 / (double)(t1 - t0);
    r->offered = (double)l->lines * 1e9 / (double)(t_sent - t0);
    return 0;
}

/* The daemon with the writer policy on (--writers), and its UDP port; NULL when off. */
static struct daemon *guarded_daemon;
static int guarded_port = -1;

/* The same load to the daemon with the writer policy on. */
static void run_guarded(struct shape *sh, unsigned round)
{
    struct udp_run u = { 0 };
    double rate;

    if (sh->udp) {
        if (run_udp_daemon(guarded_daemon, guarded_port, &sh->load, sh->per, &u) < 0)
            sh->lost = 1;
        rate = u.rate;
    } else {
        rate = run_daemon(guarded_daemon, &sh->load, NULL);
        if (rate < 0) {
            sh->lost = 1;
            rate = 0;
        }
    }
    sh->guarded[round] = rate;
}

/* One UDP round: the sink, then the daemon. */
static void run_udp_round(struct shape *sh, unsigned round, struct daemon *d, int port)
{
    struct udp_run s, u = { 0 };
    double n = (double)sh->load.n;

    run_udp_sink(&sh->load, sh->per, &s);
    sh->sink[round] = s.rate;
    sh->sink_offered[round] = s.offered;
    sh->sink_dropped[round] = s.dropped / n;
    if (round == 0)
        printf("  udp sink: SO_RCVBUF %d bytes granted\n", s.rcvbuf);
    if (d == NULL) {
        printf("  round %u, %2u lines/datagram, udp:  sink %12.0f lines/s  (sent at %.0f, "
               "%.1f%% dropped; SO_RCVBUF %d)\n",
               round + 1, sh->per, s.rate, s.offered, 100 * s.dropped / n, s.rcvbuf);
        return;
    }
    if (run_udp_daemon(d, port, &sh->load, sh->per, &u) < 0)
        sh->lost = 1;
    sh->daemon[round] = u.rate;
    sh->cpu[round] = u.ns_per_line;
    sh->daemon_offered[round] = u.offered;
    sh->daemon_dropped[round] = u.dropped / n;
    sh->ratio[round] = u.rate / s.rate;
    printf("  round %u, %2u lines/datagram, udp:  sink %12.0f  ustatsd %12.0f lines/s  ratio "
           "%.2f  (sent at %.0f / %.0f; dropped %.1f%% / %.1f%%)\n",
           round + 1, sh->per, s.rate, u.rate, sh->ratio[round], s.offered, u.offered,
           100 * s.dropped / n, 100 * u.dropped / n);
    fflush(stdout);
}

/* The Unix socket: the sink, then the daemon, on the same load. */
static void run_unix_round(struct shape *sh, unsigned round, const char *dir, struct daemon *d)
{
    sh->sink[round] = run_sink(dir, &sh->load, NO_FLOOR);
    if (floor_on) {
        sh->floor[round] = run_sink(dir, &sh->load, FLOOR) / sh->sink[round];
        sh->sfloor[round] = run_sink(dir, &sh->load, STATSD_FLOOR) / sh->sink[round];
        printf("  round %u, %2u lines/datagram, unix: the floor of an aggregator: ratio %.2f; "
               "of a statsd aggregator: %.2f\n",
               round + 1, sh->per, sh->floor[round], sh->sfloor[round]);
    }
    if (d == NULL) {
        printf("  round %u, %2u lines/datagram, unix: sink %12.0f lines/s\n", round + 1, sh->per,
               sh->sink[round]);
        return;
    }
    sh->daemon[round] = run_daemon(d, &sh->load, &sh->cpu[round]);
    if (sh->daemon[round] < 0) {
        sh->lost = 1;
        sh->daemon[round] = 0;
    }
    sh->ratio[round] = sh->daemon[round] / sh->sink[round];
    printf("  round %u, %2u lines/datagram, unix: sink %12.0f  ustatsd %12.0f lines/s  ratio "
           "%.2f  (%.1f CPU ns/line)\n",
           round + 1, sh->per, sh->sink[round], sh->daemon[round], sh->ratio[round],
           sh->cpu[round]);
    printf("  round %u, %2u lines/datagram, unix: datagrams a receive: sink %.1f", round + 1,
           sh->per, last_batch[NO_FLOOR]);
    if (floor_on)
        printf(", floor %.1f, statsd floor %.1f", last_batch[FLOOR], last_batch[STATSD_FLOOR]);
    if (daemon_batch > 0)
        printf(", ustatsd %.1f a wake-up", daemon_batch);
    printf("\n");
    fflush(stdout);
}

/* One round: the sink, then the daemon, on the same load, so that a slow patch of the
 * machine hits both sides of a ratio rather than one. */
static void run_round(struct shape *sh, unsigned round, const char *dir, struct daemon *d, int port)
{
    /* --writers: odd rounds run the guarded daemon first, so that neither side always
     * follows the other (a cache warmed, a neighbour's build starting). */
    int guarded = d != NULL && guarded_daemon != NULL, first = guarded && round % 2 == 1;

    if (first)
        run_guarded(sh, round);
    if (sh->udp)
        run_udp_round(sh, round, d, port);
    else
        run_unix_round(sh, round, dir, d);
    if (!guarded)
        return;
    if (!first)
        run_guarded(sh, round);
    sh->on_off[round] = sh->daemon[round] > 0 ? sh->guarded[round] / sh->daemon[round] : 0;
    printf("  round %u, %2u lines/datagram, %s: writers on %12.0f lines/s  on/off %.3f%s\n",
           round + 1, sh->per, sh->udp ? "udp " : "unix", sh->guarded[round], sh->on_off[round],
           first ? "  (ran first)" : "");
    fflush(stdout);
}

/* The medians of every shape run, and the verdict: 0, 1 (lines lost) or 2 (below target). */
static int print_summary(struct shape *shapes, const int *ran, unsigned rounds)
{
    int status = 0;

    printf("\nmedians of %u rounds; the ratio is the median of each round's ratio\n", rounds);
    printf("%-9s %-14s %14s %15s %7s %11s %8s\n", "transport", "lines/datagram", "sink lines/s",
           "ustatsd lines/s", "ratio", "CPU ns/line", "target");
    for (int i = 0; i < NSHAPES; i++) {
        struct shape *s = &shapes[i];
        if (!ran[i])
            continue;
        double sink = benchutil_median(s->sink, rounds);
        double daemon = benchutil_median(s->daemon, rounds);
        double ratio = benchutil_median(s->ratio, rounds);
        const char *verdict = "ok";
        char why[96];

        if (s->lost) {
            verdict = s->udp ? "DATAGRAMS UNACCOUNTED FOR" : "LINES LOST";
            status = 1;
        } else if (s->target == 0) {
            verdict = "no target at this size";
        } else if (ratio < s->target && floor_on && !s->udp &&
                   benchutil_median(s->sfloor, rounds) < s->target) {
            snprintf(why, sizeof why,
                     "below, as the statsd floor (%.2f: the machine's bound); %.2f of it",
                     benchutil_median(s->sfloor, rounds),
                     ratio / benchutil_median(s->sfloor, rounds));
            verdict = why;
        } else if (ratio < s->target) {
            verdict = "BELOW TARGET";
            if (status == 0)
                status = 2;
        }
        char target[16] = "none";

        if (s->target > 0)
            snprintf(target, sizeof target, ">= %.2f", s->target);
        printf("%-9s %-14u %14.0f %15.0f %7.2f %11.1f %9s  %s\n", s->udp ? "udp" : "unix", s->per,
               sink, daemon, ratio, benchutil_median(s->cpu, rounds), target, verdict);
    }
    for (int i = 0; i < NSHAPES; i++) {
        struct shape *s = &shapes[i];
        if (!ran[i])
            continue;
        printf("result ingest series=%zu mix=%s transport=%s credentials=%s per=%u "
               "ratio=%.3f ns_per_line=%.1f lines_per_s=%.0f sink_lines_per_s=%.0f\n",
               nseries, mix_names[mix], s->udp ? "udp" : "unix", credentials ? "on" : "off", s->per,
               benchutil_median(s->ratio, rounds), benchutil_median(s->cpu, rounds),
               benchutil_median(s->daemon, rounds), benchutil_median(s->sink, rounds));
        if (floor_on && !s->udp)
            printf("result ingest series=%zu mix=%s transport=unix per=%u floor_ratio=%.3f "
                   "statsd_floor_ratio=%.3f\n",
                   nseries, mix_names[mix], s->per, benchutil_median(s->floor, rounds),
                   benchutil_median(s->sfloor, rounds));
    }
    if (guarded_daemon != NULL) {
        printf("\nwriters on (--writers), the same load right after each run without; the "
               "ratio is the median of each round's on/off\n");
        printf("%-9s %-14s %15s %15s %7s\n", "transport", "lines/datagram", "off lines/s",
               "on lines/s", "on/off");
        for (int i = 0; i < NSHAPES; i++) {
            struct shape *s = &shapes[i];
            if (!ran[i])
                continue;
            printf("%-9s %-14u %15.0f %15.0f %7.3f\n", s->udp ? "udp" : "unix", s->per,
                   benchutil_median(s->daemon, rounds), benchutil_median(s->guarded, rounds),
                   benchutil_median(s->on_off, rounds));
        }
    }
    for (int i = 0; i < NSHAPES; i++) {
        struct shape *s = &shapes[i];
        if (!ran[i] || !s->udp)
            continue;
        printf("udp, %u lines/datagram: the sender ran at %.0f lines/s to the sink, %.0f to "
               "ustatsd; the kernel dropped %.1f%% of the datagrams at the sink, %.1f%% at "
               "ustatsd (medians; every datagram received or dropped)\n",
               s->per, benchutil_median(s->sink_offered, rounds),
               benchutil_median(s->daemon_offered, rounds),
               100 * benchutil_median(s->sink_dropped, rounds),
               100 * benchutil_median(s->daemon_dropped, rounds));
    }
    return status;
}

int main(int argc, char **argv)
{
    struct shape shapes[NSHAPES] = { { .per = 20, .target = 0.6 },
                                     { .per = 1, .target = 0.8 },
                                     { .udp = 1, .per = 20, .target = 0.8 } };
    int ran[NSHAPES] = { 0 };
    struct daemon d;
    char dir[256];
    uint64_t nlines = DEFAULT_LINES;
    unsigned rounds = DEFAULT_ROUNDS, only = 0;
    int sink_only = 0, status = 0, pinned, unix_on = 1, udp_on = 1, port = -1, writers = 0;
    int lines_given = 0;
    struct daemon dw;
    long qlen;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sink-only") == 0) {
            sink_only = 1;
        } else if (strcmp(argv[i], "--writers") == 0) {
            writers = 1;
        } else if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc) {
            nlines = strtoull(argv[++i], NULL, 10);
            lines_given = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--per") == 0 && i + 1 < argc) {
            only = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--cold") == 0) {
            cold = 1;
        } else if (strcmp(argv[i], "--credentials") == 0 && i + 1 < argc) {
            credentials = strcmp(argv[++i], "on") == 0;
        } else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
            nseries = (size_t)strtoull(argv[++i], NULL, 10);
            floor_on = 1;
        } else if (strcmp(argv[i], "--mix") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            for (mix = MIX_RR; mix <= MIX_ZIPF && strcmp(m, mix_names[mix]) != 0; mix++)
                ;
            if (mix > MIX_ZIPF)
                benchutil_die("--mix must be rr, uniform or zipf");
        } else if (strcmp(argv[i], "--transport") == 0 && i + 1 < argc) {
            const char *t = argv[++i];
            unix_on = strcmp(t, "unix") == 0 || strcmp(t, "both") == 0;
            udp_on = strcmp(t, "udp") == 0 || strcmp(t, "both") == 0;
            if (!unix_on && !udp_on)
                benchutil_die("--transport must be unix, udp or both");
        } else if (argv[i][0] == '-' || i != 1) {
            benchutil_die("usage: bench_ingest [USTATSD_BIN] [--lines N] [--rounds N] "
                          "[--per 20|1] [--transport unix|udp|both] [--sink-only] [--writers] "
                          "[--series N] [--mix rr|uniform|zipf] [--credentials on|off] [--cold]");
        }
    }
    if (nseries < 3 || nseries > 100000000)
        benchutil_die("--series must be in 3..100000000");
    if (!lines_given && nlines < 4 * (uint64_t)nseries)
        nlines = 4 * (uint64_t)nseries;
    if (mix == MIX_ZIPF)
        zipf_setup();
    if (nseries > 1000000) { /* issue 30 sets none past 1M series: a ratio, no verdict */
        shapes[0].target = 0;
        shapes[1].target = 0;
    } else if (nseries >= 100000) { /* issue 30's targets at 100k and 1M (cardinality.md) */
        shapes[0].target = nseries >= 1000000 ? 0.6 : 0.75;
        shapes[1].target = nseries >= 1000000 ? 0.85 : 0.9;
    }
    if (nlines == 0 || rounds == 0 || rounds > MAX_ROUNDS || (only != 0 && only != 20 && only != 1))
        benchutil_die("--lines must be > 0, --rounds in 1..%d, --per 20 or 1", MAX_ROUNDS);
    for (int i = 0; i < NSHAPES; i++)
        ran[i] = (only == 0 || shapes[i].per == only) && (shapes[i].udp ? udp_on : unix_on);
    udp_on = ran[2];
    if (udp_on && nlines % shapes[2].per != 0)
        benchutil_die("--lines must be a multiple of %u for the UDP run", shapes[2].per);
    if (!ran[0] && !ran[1] && !ran[2])
        benchutil_die("nothing to run: UDP runs 20 lines per datagram only");
    if (!sink_only)
        benchutil_find_daemon(argc, argv);
    qlen = benchutil_private_netns();
    pinned = benchutil_pin(BENCHUTIL_CPU_SENDER) == 0;
    benchutil_tmpdir(dir, sizeof(dir), "bench_ingest");

    printf("ustatsd ingest benchmark: %llu lines over %zu series (%s), max_dgram_qlen %ld, %u "
           "rounds, %s\n",
           (unsigned long long)nlines, nseries, mix_names[mix], qlen, rounds,
           pinned ? "sender on CPU 0, receiver on CPU 1" : "not pinned (one CPU)");
    if (!sink_only) {
        benchutil_load_build(&warm, nseries, 20, warm_line_of);
        start_daemon(&d, dir, udp_on, 0, 0);
        if (udp_on) {
            char *body = daemon_scrape(&d, NULL);
            int found;
            port = benchutil_daemon_udp_port(&d);
            printf("udp: 127.0.0.1:%d, SO_RCVBUF %d bytes asked for, the daemon's granted %.0f\n",
                   port, UDP_RCVBUF, expo_sum(body, "ustatsd_udp_receive_buffer_bytes", &found));
            free(body);
        }
        if (writers) {
            unsigned uid = (unsigned)getuid();

            start_daemon(&dw, dir, udp_on, 1, uid);
            guarded_daemon = &dw;
            if (udp_on)
                guarded_port = benchutil_daemon_udp_port(&dw);
            printf("writers on: a second daemon whose rules guard every family (uid %u "
                   "allowed)\n",
                   uid);
        }
    }
    for (int i = 0; i < NSHAPES; i++) {
        if (!ran[i])
            continue;
        benchutil_load_build(&shapes[i].load, nlines, shapes[i].per, line_of);
        for (unsigned k = 0; k < rounds; k++)
            run_round(&shapes[i], k, dir, sink_only ? NULL : &d, port);
    }
    if (!sink_only) {
        benchutil_daemon_stop(&d);
        if (guarded_daemon != NULL)
            benchutil_daemon_stop(&dw);
        status = print_summary(shapes, ran, rounds);
    }
    for (int i = 0; i < NSHAPES; i++)
        benchutil_load_free(&shapes[i].load);
    benchutil_load_free(&warm);
    zipf_release();
    benchutil_rmtree(dir);
    return status;
}
