/*
 * bench_stall: does scraping a large /metrics stall ingestion?
 *
 *   bench_stall [USTATSD_BIN] [--capacity LINES_PER_SEC] [--seconds N]
 *               [--lines-per-datagram N | --bytes-per-datagram B]
 *
 * The daemon gets 100,000 series (10 families of 10,000, pre-populated with blocking
 * sends). Then, for each datagram shape, its capacity is measured with a blocking burst
 * of 1,000,000 lines (or taken from --capacity), and a sender that never blocks
 * (MSG_DONTWAIT, EAGAIN counted as a drop, exactly as the DogStatsD client does) sends a
 * steady load at half that capacity while /metrics is scraped once a second for 30 s.
 * With max_dgram_qlen at 512 (a private network namespace, as root) the queue absorbs
 * 512 datagrams: a scrape that holds the loop for longer than they take to arrive shows
 * up as drops.
 *
 * The shapes, both by default:
 *   - DogStatsD's: lines packed into datagrams of up to 8,192 bytes, the payload size
 *     datadog-go uses on a Unix socket (about 270 lines of this load);
 *   - 20 lines per datagram (about 600 bytes), as in bench_ingest. At half capacity that
 *     is over 150,000 datagrams a second, and 512 of them last about 3 ms.
 *
 * With two CPUs or more, the sender and the scraper run on CPU 0 and the daemon (or the
 * sink) on CPU 1, as in bench_ingest.
 *
 * Prints drops (the target is 0), scrape latencies (min/p50/max), the daemon's counters
 * against what was sent, and the turns of its event loop that ran for longer than 2.5, 5
 * and 10 ms (ustatsd_event_loop_iteration_seconds), then two runs of the same load
 * without scrapes: into a raw recvmmsg sink (the machine's own drops) and into the daemon
 * (its drops when nothing is scraped). Exit status: 0 with no drops and matching
 * counters, 2 with drops, 1 when the counters disagree or the run failed.
 */
#include <stdatomic.h>

#include "benchutil.h"

#define FAMILIES        10
#define PER_FAMILY      10000
#define SERIES          (FAMILIES * PER_FAMILY)
#define CAPACITY_LINES  1000000
#define DEFAULT_SECONDS 30
#define DEFAULT_PER     20
#define DOGSTATSD_BYTES 8192 /* datadog-go's payload size on a Unix socket */
#define MAX_SHAPES      2
#define MAX_SCRAPES     3600

/*
 * Series s is label k="v<s % 10000>" of family stall.f<s / 10000>; even families are
 * counters, odd ones gauges:
 *
 *   stall.f0:1|c|#k:v42
 *   stall.f1:7|g|#k:v42
 */
static size_t line_of(uint64_t i, char *buf, size_t cap)
{
    unsigned s = (unsigned)(i % SERIES), f = s / PER_FAMILY, k = s % PER_FAMILY;
    int n;

    if (f % 2 == 0)
        n = snprintf(buf, cap, "stall.f%u:1|c|#k:v%u", f, k);
    else
        n = snprintf(buf, cap, "stall.f%u:%u|g|#k:v%u", f, (unsigned)(i % 89), k);
    return (size_t)n;
}

/* The config: FAMILIES families of PER_FAMILY series. Returns it, malloc'd. */
static char *config_text(void)
{
    struct benchutil_load text = { 0 }; /* used as a plain growable buffer */
    char part[512];
    int n;

    n = snprintf(part, sizeof(part),
                 "{\n  \"limits\": {\"max_series\": %d, \"max_series_per_family\": %d},\n"
                 "  \"families\": [\n",
                 2 * SERIES, 2 * PER_FAMILY);
    benchutil_load_add(&text, part, (size_t)n, 0);
    for (int f = 0; f < FAMILIES; f++) {
        n = snprintf(part, sizeof(part),
                     "    {\"name\": \"stall.f%d\", \"type\": \"%s\", \"help\": \"Stall %d.\", "
                     "\"labels\": [{\"name\": \"k\", \"max_values\": %d}]}%s\n",
                     f, f % 2 == 0 ? "counter" : "gauge", f, PER_FAMILY,
                     f + 1 < FAMILIES ? "," : "");
        benchutil_load_add(&text, part, (size_t)n, 0);
    }
    benchutil_load_add(&text, "  ]\n}\n\0", 7, 0);
    free(text.off);
    return text.data;
}

/* Poll the daemon's counters until accepted reaches want (absolute), or timeout. */
static double wait_accepted(struct daemon *d, double want, unsigned timeout_s, double *rejected,
                            double *dgrams)
{
    uint64_t deadline = benchutil_now_ns() + (uint64_t)timeout_s * 1000000000ull;
    double acc;

    for (;;) {
        acc = benchutil_daemon_counters(d, rejected, dgrams);
        if (acc >= want || benchutil_now_ns() > deadline)
            return acc;
        waitfor_sleep_ms(100);
    }
}

static double percentile(const uint64_t *sorted, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)sorted[i] / 1e6;
}

/* A datagram shape: per lines each, or (per 0) filled up to bytes. */
struct shape {
    unsigned per;
    size_t bytes;
};

/* The daemon's event-loop turns so far: all of them, and those longer than 2.5, 5, 10 ms. */
struct turns {
    double all, over[3];
};

static const char *const turn_bounds[3] = { "0.0025", "0.005", "0.01" };

static void daemon_turns(struct daemon *d, struct turns *t)
{
    char name[96], *body = daemon_scrape(d, NULL);
    int found;

    t->all = expo_sum(body, "ustatsd_event_loop_iteration_seconds_count", &found);
    if (!found)
        benchutil_die("no ustatsd_event_loop_iteration_seconds in the scrape");
    for (int i = 0; i < 3; i++) {
        benchutil_fmt(name, sizeof(name), "ustatsd_event_loop_iteration_seconds_bucket{le=\"%s\"}",
                      turn_bounds[i]);
        t->over[i] = t->all - expo_sum(body, name, &found);
    }
    free(body);
}

static void turns_since(struct turns *t, const struct turns *before)
{
    t->all -= before->all;
    for (int i = 0; i < 3; i++)
        t->over[i] -= before->over[i];
}

static void print_turns(const char *what, const struct turns *t)
{
    printf("  %s: %.0f event-loop turns, longer than 2.5 ms: %.0f, 5 ms: %.0f, 10 ms: %.0f\n", what,
           t->all, t->over[0], t->over[1], t->over[2]);
}

/* What one shape's runs found. */
struct outcome {
    char shape[48];
    double lines_per_dgram, rate, dgrams_per_s;
    uint64_t drops, drops_in_scrapes, sink_drops, control_drops;
    struct turns scraped, control;
    double scrape_max_ms;
    int status; /* 0, 1 (counters disagree) or 2 (drops) */
};

static void build(struct benchutil_load *l, uint64_t nlines, const struct shape *sh)
{
    if (sh->per != 0)
        benchutil_load_build(l, nlines, sh->per, line_of);
    else
        benchutil_load_build_filled(l, nlines, sh->bytes, line_of);
}

/*
 * Capacity: the rate of a blocking burst, taken at the sender. With blocking sends the
 * sender can be at most max_dgram_qlen datagrams ahead of the daemon, which is under 1%
 * of the burst; scraping 100,000 series to time the end would cost more.
 */
static double measure_capacity(struct daemon *d, const struct shape *sh, struct outcome *o)
{
    struct benchutil_load burst;
    double capacity, acc0, acc;
    uint64_t t1, t2;
    int fd;

    build(&burst, CAPACITY_LINES, sh);
    fd = benchutil_connect_dgram(d->sock);
    acc0 = benchutil_daemon_counters(d, NULL, NULL);
    t1 = benchutil_now_ns();
    benchutil_send_blocking(fd, &burst);
    t2 = benchutil_now_ns();
    close(fd);
    capacity = (double)burst.lines * 1e9 / (double)(t2 - t1);
    acc = wait_accepted(d, acc0 + (double)burst.lines, 60, NULL, NULL);
    if (acc - acc0 != (double)burst.lines) {
        fprintf(stderr, "bench: burst: %.0f of %llu lines accepted\n", acc - acc0,
                (unsigned long long)burst.lines);
        benchutil_daemon_print_rejects(d);
        o->status = 1;
    }
    benchutil_load_free(&burst);
    printf("  capacity: %.0f lines/s (blocking burst of %d lines)\n", capacity, CAPACITY_LINES);
    return capacity;
}

/*
 * Scrape once a second for seconds while p's thread sends; lat gets each scrape's time.
 * Returns the number of scrapes; *bytes is the last body's size.
 */
static size_t scrape_each_second(struct daemon *d, struct benchutil_pacer *p, unsigned seconds,
                                 uint64_t *lat, uint64_t *bytes, struct outcome *o)
{
    uint64_t start = benchutil_now_ns(), t1, t2, drops_before;
    size_t nscrapes = 0;

    for (unsigned s = 1; s <= seconds; s++) {
        struct httpc_response r;
        uint64_t at = start + (uint64_t)s * 1000000000ull, now = benchutil_now_ns();
        int rc;

        if (at > now)
            waitfor_sleep_ms((int)((at - now) / 1000000));
        drops_before = atomic_load(&p->drops);
        t1 = benchutil_now_ns();
        rc = httpc_get(d->http, "/metrics", NULL, &r);
        t2 = benchutil_now_ns();
        o->drops_in_scrapes += atomic_load(&p->drops) - drops_before;
        if (rc < 0 || r.status != 200) {
            benchutil_pace_stop(p);
            benchutil_die("scrape %u failed: %s", s, rc < 0 ? strerror(-rc) : "HTTP error");
        }
        *bytes = r.body_len;
        httpc_response_release(&r);
        lat[nscrapes++] = t2 - t1;
    }
    return nscrapes;
}

/*
 * The baseline, in the same run: the same never-blocking sender at the same rate
 * against the raw recvmmsg sink, which does nothing else and is never scraped. Its
 * drops are the machine's own (a thread descheduled for longer than the queue lasts, as
 * happens on a small VM); the daemon's drops are to be read against them.
 */
static void run_sink(const char *dir, const struct benchutil_load *steady, double dgrams_per_s,
                     unsigned seconds, struct outcome *o)
{
    struct benchutil_sink sink;
    struct benchutil_pacer b;
    char sinkpath[300];
    int fd;

    benchutil_fmt(sinkpath, sizeof(sinkpath), "%s/sink.sock", dir);
    benchutil_sink_start(&sink, sinkpath, UINT64_MAX, NULL, NULL);
    fd = benchutil_connect_dgram(sinkpath);
    benchutil_pace_for(&b, fd, steady, dgrams_per_s, seconds);
    /* The sink has read every datagram once none is charged to the sender any more. */
    if (waitfor_sent(fd, 10000) != 0)
        fprintf(stderr, "bench: the sink did not drain within 10 s\n");
    close(fd);
    benchutil_sink_stop(&sink);
    o->sink_drops = atomic_load(&b.drops);
    printf("  baseline, raw recvmmsg sink at the same rate, no scrapes: drops %llu of %llu "
           "datagrams (received %llu); skipped %llu\n",
           (unsigned long long)o->sink_drops, (unsigned long long)(b.sent + o->sink_drops),
           (unsigned long long)sink.datagrams, (unsigned long long)b.skipped);
}

/*
 * The control, in the same run: the same load into the daemon for as long, without
 * scrapes. What it drops is not the scrapes' doing.
 */
static void run_control(struct daemon *d, const struct benchutil_load *steady, double dgrams_per_s,
                        unsigned seconds, struct outcome *o)
{
    struct benchutil_pacer c;
    struct turns t0;
    double acc1 = benchutil_daemon_counters(d, NULL, NULL);
    int fd;

    daemon_turns(d, &t0);
    fd = benchutil_connect_dgram(d->sock);
    benchutil_pace_for(&c, fd, steady, dgrams_per_s, seconds);
    close(fd);
    if (wait_accepted(d, acc1 + (double)c.sent_lines, 60, NULL, NULL) !=
        acc1 + (double)c.sent_lines)
        o->status = 1;
    daemon_turns(d, &o->control);
    turns_since(&o->control, &t0);
    o->control_drops = atomic_load(&c.drops);
    printf("  control, the daemon at the same rate, no scrapes: drops %llu of %llu "
           "datagrams; skipped %llu\n",
           (unsigned long long)o->control_drops, (unsigned long long)(c.sent + o->control_drops),
           (unsigned long long)c.skipped);
    print_turns("daemon, control", &o->control);
}

/* The scraped run's load and scrapes; lat sorted. */
static void print_scraped(const struct benchutil_pacer *p, const struct outcome *o,
                          unsigned seconds, const uint64_t *lat, size_t nscrapes, uint64_t bytes)
{
    printf("  steady load: %.0f lines/s (%.0f datagrams/s) for %u s\n", o->rate, p->dgrams_per_s,
           seconds);
    printf("  sent: %llu datagrams (%llu lines), drops (EAGAIN): %llu, other send errors: "
           "%llu%s%s\n",
           (unsigned long long)p->sent, (unsigned long long)p->sent_lines,
           (unsigned long long)o->drops, (unsigned long long)p->errors, p->errors ? ", last: " : "",
           p->errors ? strerror(p->last_error) : "");
    printf("  scrapes: %zu of %llu bytes, latency ms min %.1f p50 %.1f max %.1f\n", nscrapes,
           (unsigned long long)bytes, percentile(lat, nscrapes, 0), percentile(lat, nscrapes, 0.5),
           o->scrape_max_ms);
}

/*
 * Half the capacity, never blocking, while scraping once a second; then every datagram
 * the kernel took must reach the daemon's counters.
 */
static void run_scraped(struct daemon *d, const struct benchutil_load *steady, unsigned seconds,
                        struct outcome *o)
{
    static uint64_t lat[MAX_SCRAPES];
    struct benchutil_pacer p = { 0 };
    struct turns t0;
    double acc0, rej0, dg0, acc, rej, dg, want;
    uint64_t bytes = 0;
    size_t nscrapes;

    daemon_turns(d, &t0);
    acc0 = benchutil_daemon_counters(d, &rej0, &dg0);
    benchutil_pace_start(&p, benchutil_connect_dgram(d->sock), steady, o->dgrams_per_s);
    nscrapes = scrape_each_second(d, &p, seconds, lat, &bytes, o);
    benchutil_pace_stop(&p);
    close(p.fd);
    o->drops = atomic_load(&p.drops);

    want = acc0 + (double)p.sent_lines;
    acc = wait_accepted(d, want, 60, &rej, &dg);
    daemon_turns(d, &o->scraped);
    turns_since(&o->scraped, &t0);
    qsort(lat, nscrapes, sizeof(lat[0]), benchutil_cmp_u64);
    o->scrape_max_ms = percentile(lat, nscrapes, 1);
    print_scraped(&p, o, seconds, lat, nscrapes, bytes);
    printf("  daemon: accepted %.0f lines (sent %llu), rejected %.0f, datagrams %.0f (sent %llu)\n",
           acc - acc0, (unsigned long long)p.sent_lines, rej - rej0, dg - dg0,
           (unsigned long long)p.sent);
    print_turns("daemon, scraped", &o->scraped);
    printf("  drops: %llu (target 0)  %s\n", (unsigned long long)o->drops,
           o->drops == 0 ? "ok" : "DROPS");
    printf("  drops while a scrape was in flight: %llu; datagrams the sender skipped because "
           "it was descheduled (not sent, not drops): %llu\n",
           (unsigned long long)o->drops_in_scrapes, (unsigned long long)p.skipped);
    if (acc != want || rej != rej0 || dg - dg0 != (double)p.sent || p.errors != 0) {
        benchutil_daemon_print_rejects(d);
        o->status = 1;
    }
}

/* Capacity, then the scraped run, the raw sink and the unscraped control, for one shape. */
static void run_shape(struct daemon *d, const char *dir, const struct shape *sh, double capacity,
                      unsigned seconds, struct outcome *o)
{
    struct benchutil_load steady;

    memset(o, 0, sizeof(*o));
    build(&steady, SERIES, sh);
    o->lines_per_dgram = (double)steady.lines / (double)steady.n;
    if (sh->per != 0)
        benchutil_fmt(o->shape, sizeof(o->shape), "%u lines per datagram", sh->per);
    else
        benchutil_fmt(o->shape, sizeof(o->shape), "up to %zu bytes (%.0f lines)", sh->bytes,
                      o->lines_per_dgram);
    printf("\n datagrams of %s, %.0f bytes on average:\n", o->shape,
           (double)steady.len / (double)steady.n);

    if (capacity == 0)
        capacity = measure_capacity(d, sh, o);
    else
        printf("  capacity: %.0f lines/s (from --capacity)\n", capacity);
    o->rate = capacity / 2;
    o->dgrams_per_s = o->rate / o->lines_per_dgram;

    run_scraped(d, &steady, seconds, o);
    run_sink(dir, &steady, o->dgrams_per_s, seconds, o);
    run_control(d, &steady, o->dgrams_per_s, seconds, o);
    if (o->status == 0 && o->drops != 0)
        o->status = 2;
    benchutil_load_free(&steady);
}

/* The command line. */
struct args {
    struct shape shapes[MAX_SHAPES];
    size_t nshapes;
    double capacity; /* 0: measure it */
    unsigned seconds;
};

static void parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){
        { { 0, DOGSTATSD_BYTES }, { DEFAULT_PER, 0 } }, MAX_SHAPES, 0, DEFAULT_SECONDS
    };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--capacity") == 0 && i + 1 < argc) {
            a->capacity = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            a->seconds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--lines-per-datagram") == 0 && i + 1 < argc) {
            a->shapes[0] = (struct shape){ (unsigned)strtoul(argv[++i], NULL, 10), 0 };
            a->nshapes = 1;
            if (a->shapes[0].per == 0 || a->shapes[0].per > 100)
                benchutil_die("--lines-per-datagram must be 1..100");
        } else if (strcmp(argv[i], "--bytes-per-datagram") == 0 && i + 1 < argc) {
            a->shapes[0] = (struct shape){ 0, (size_t)strtoul(argv[++i], NULL, 10) };
            a->nshapes = 1;
            if (a->shapes[0].bytes < 64 || a->shapes[0].bytes > BENCHUTIL_MAX_DGRAM)
                benchutil_die("--bytes-per-datagram must be 64..%d", BENCHUTIL_MAX_DGRAM);
        } else if (argv[i][0] == '-' || i != 1) {
            benchutil_die("usage: bench_stall [USTATSD_BIN] [--capacity LINES_PER_SEC] "
                          "[--seconds N] [--lines-per-datagram N | --bytes-per-datagram B]");
        }
    }
    if (a->seconds == 0 || a->seconds > MAX_SCRAPES)
        benchutil_die("--seconds must be 1..%d", MAX_SCRAPES);
}

/* Every series exists before the first scrape. Returns 0, or -1 after printing why. */
static int populate(struct daemon *d)
{
    struct benchutil_load load;
    double acc0, rej0, dg0, acc, rej, dg;
    int fd;

    benchutil_load_build(&load, SERIES, 20, line_of);
    acc0 = benchutil_daemon_counters(d, &rej0, &dg0);
    fd = benchutil_connect_dgram(d->sock);
    benchutil_send_blocking(fd, &load);
    close(fd);
    benchutil_load_free(&load);
    acc = wait_accepted(d, acc0 + SERIES, 60, &rej, &dg);
    if (acc - acc0 != SERIES) {
        fprintf(stderr, "bench: populating: %.0f of %d lines accepted\n", acc - acc0, SERIES);
        benchutil_daemon_print_rejects(d);
        return -1;
    }
    printf("  populated %d series\n", SERIES);
    return 0;
}

static void print_summary(const struct outcome *out, size_t n, unsigned seconds)
{
    printf("\n summary: drops at half capacity, %u s each (target 0)\n", seconds);
    printf("  %-30s %10s %12s %8s %8s %8s %8s %10s\n", "datagrams", "lines/s", "datagrams/s",
           "scraped", "in scr.", "sink", "control", "turns>5ms");
    for (size_t i = 0; i < n; i++)
        printf("  %-30s %10.0f %12.0f %8llu %8llu %8llu %8llu %5.0f/%.0f\n", out[i].shape,
               out[i].rate, out[i].dgrams_per_s, (unsigned long long)out[i].drops,
               (unsigned long long)out[i].drops_in_scrapes, (unsigned long long)out[i].sink_drops,
               (unsigned long long)out[i].control_drops, out[i].scraped.over[1],
               out[i].control.over[1]);
    printf("  (turns>5ms: event-loop turns longer than 5 ms, scraped/control)\n");
}

int main(int argc, char **argv)
{
    struct daemon d;
    struct args a;
    struct outcome out[MAX_SHAPES];
    char dir[256], *config;
    long qlen;
    int status = 0;

    parse_args(argc, argv, &a);
    benchutil_find_daemon(argc, argv);
    qlen = benchutil_private_netns();
    /* The sender and the scraper on CPU 0, the daemon (and the sink) on CPU 1. */
    benchutil_pin(BENCHUTIL_CPU_SENDER);
    benchutil_tmpdir(dir, sizeof(dir), "bench_stall");
    config = config_text();
    benchutil_daemon_start(&d, config);
    free(config);
    printf("ustatsd stall benchmark: %d series, max_dgram_qlen %ld\n", SERIES, qlen);
    if (populate(&d) != 0) {
        benchutil_daemon_stop(&d);
        return 1;
    }
    for (size_t i = 0; i < a.nshapes; i++) {
        run_shape(&d, dir, &a.shapes[i], a.capacity, a.seconds, &out[i]);
        if (out[i].status == 1 || (out[i].status == 2 && status == 0))
            status = out[i].status;
    }
    print_summary(out, a.nshapes, a.seconds);
    benchutil_daemon_stop(&d);
    benchutil_rmtree(dir);
    return status;
}
