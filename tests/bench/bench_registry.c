/*
 * bench_registry: memory per series and the cost of ingest and exposition.
 *
 *   bench_registry [N | --series N] [--memory-only] [--quick]
 *                           (N series per measurement, 100000 by default; 100k, 10M)
 *
 * Memory is resident bytes from /proc/self/statm before and after creating N series in
 * a fresh registry, so it counts everything: series blocks, tables, interned strings,
 * the front cache and the allocator's overhead. The lines go the daemon's way: 20 to a
 * datagram through the intake (ingest/intake.c: the front cache first, the full parse for
 * the lines it misses), the allocator set up as the daemon's (mem_setup), and every series
 * gets a second line after all are created, as steady traffic gives it, which refills the
 * front-cache entries the cache's growths emptied: the registry holds its front cache as
 * the daemon's does. Targets, issue 30's, at 100,000 series and more (below, the tables'
 * and caches' fixed part weighs on each series, and there is none): <= 200 B per counter
 * or gauge series with two labels, <= 400 B per histogram series with 12 buckets; the exit
 * status is 1 when one is missed.
 * Summary series (the default objectives, 5 streams) are measured after 1,000 and after
 * 100,000 observations each (of a lognormal latency, in one window; 32 more in the second
 * line), on N / 10 (at most 100,000; --quick: 10,000) and N / 1000 (at most 100) series:
 * their figures have no target. Each figure is also a result line (benchresult.h):
 * counter_rss_bytes, gauge_..., histogram_..., summary_... and summary_100k_obs_..., with
 * their _accounted_bytes (what the registry counts) and the summaries' _series.
 * Then (not with --memory-only), in process, without the intake: ns per line creating
 * and updating series and per summary observation; rendering timed for 10k and N series,
 * in both formats, raw and through zlib deflate at level 1 with a gzip header (as the
 * HTTP layer would stream it, one chunk per step).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "base/expo.h"
#include "base/mem.h"
#include "base/slab.h"
#include "store/registry.h"
#include "expose/render.h"
#include "statsd.h"
#include "benchutil.h"
#include "base/wallclock.h"
#include "ingest/intake.h"
#include "ingest/rejects.h"
#include "store/jobs.h"
#include "benchresult.h"

#define STEP_SERIES     1000
#define DGRAM_LINES     20     /* lines a datagram through the intake, as bench_ingest sends */
#define SUMMARY_MAX     100000 /* summary series measured at most (1,000 observations each) */
#define SUMMARY_BIG_MAX 100    /* ... and at most with 100,000 each */
#define MIN(a, b)       ((a) < (b) ? (a) : (b))

/* The daemon's clock (app.c): series are dated at creation, for their _created sample. */
static uint64_t wall_clock_ms(void *arg)
{
    (void)arg;
    return wallclock_ms();
}

/* The config, with room for n series of each kind (route: n / 100 values). */
static const char bench_config[] =
    "{\"limits\": {\"max_series\": %zu, \"max_series_per_family\": %zu},"
    " \"families\": ["
    "  {\"name\": \"http_requests\", \"type\": \"counter\", \"help\": \"Requests.\","
    "   \"labels\": [{\"name\": \"route\", \"max_values\": %zu},"
    "              {\"name\": \"code\", \"max_values\": 1000}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"help\": \"Depth.\","
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": %zu},"
    "              {\"name\": \"shard\", \"max_values\": 1000}]},"
    "  {\"name\": \"http_request_duration_seconds\", \"type\": \"histogram\","
    "   \"help\": \"Latency.\", \"buckets\": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,"
    "   2.5, 5, 10, 30],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": %zu},"
    "              {\"name\": \"method\", \"max_values\": 1000}]},"
    "  {\"name\": \"rpc_duration_seconds\", \"type\": \"summary\", \"help\": \"Latency.\","
    "   \"labels\": [{\"name\": \"route\", \"max_values\": %zu},"
    "              {\"name\": \"method\", \"max_values\": 1000}]}"
    " ]}";

/* The kinds of series measured; the summaries' with the observations each gets. */
enum { COUNTER, GAUGE, HISTOGRAM, SUMMARY_1K, SUMMARY_100K, NKINDS };

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void apply(struct registry *r, const char *text)
{
    struct statsd_line l;
    int rc = statsd_parse_line(text, strlen(text), &l);

    if (rc == STATSD_OK)
        rc = registry_apply(r, &l, 1);
    if (rc != STATSD_OK) {
        fprintf(stderr, "bench_registry: \"%s\" rejected: %s\n", text, statsd_reason_name(rc));
        exit(2);
    }
}

/*
 * The daemon's path (ingest/intake.c): lines packed DGRAM_LINES to a datagram and taken by
 * intake_datagram(), which looks them up in the registry's front cache first and parses in
 * full only the lines it misses, and caches each line a full parse accepted: the registry
 * ends up with its front cache as the daemon's has it.
 */
struct feed {
    struct intake in;
    struct jobs jobs;
    struct rejects *rejects;
    char dgram[DGRAM_LINES * 1100];
    size_t len, lines;
};

static double feed_clock(void *arg)
{
    (void)arg;
    return (double)wallclock_ms() / 1e3;
}

static struct feed *feed_new(struct registry *r, const struct config *cfg)
{
    struct feed *f = mem_calloc(1, sizeof(*f));

    f->rejects = mem_calloc(1, sizeof(*f->rejects));
    rejects_init(f->rejects);
    jobs_init(&f->jobs, cfg, 1);
    intake_init(&f->in, r, &f->jobs, f->rejects, feed_clock, NULL);
    return f;
}

static void feed_flush(struct feed *f)
{
    if (f->lines > 0)
        intake_datagram(&f->in, f->dgram, f->len, NULL, 1);
    f->len = f->lines = 0;
    if (intake_rejected_total(&f->in.count) != 0) {
        fprintf(stderr, "bench_registry: the intake rejected %llu lines, exiting\n",
                (unsigned long long)intake_rejected_total(&f->in.count));
        exit(2);
    }
}

static void feed_line(struct feed *f, const char *text)
{
    size_t len = strlen(text);

    if (f->len + len + 1 > sizeof(f->dgram))
        feed_flush(f);
    memcpy(f->dgram + f->len, text, len);
    f->dgram[f->len + len] = '\n';
    f->len += len + 1;
    if (++f->lines == DGRAM_LINES)
        feed_flush(f);
}

static void feed_free(struct feed *f)
{
    feed_flush(f);
    jobs_release(&f->jobs);
    free(f->rejects);
    free(f);
}

/* A line into the registry: through the intake (f), or parsed and applied (f NULL). */
static void put(struct registry *r, struct feed *f, const char *text)
{
    if (f != NULL)
        feed_line(f, text);
    else
        apply(r, text);
}

/* The i-th line of kind k: 100 codes/shards/methods per route, so labels repeat. */
static void line_for(char *out, size_t cap, int kind, size_t i)
{
    switch (kind) {
    case 0:
        snprintf(out, cap, "http_requests:1|c|#route:/api/v1/resource/%zu,code:%zu", i / 100,
                 i % 100);
        break;
    case 1:
        snprintf(out, cap, "queue_depth:3|g|#queue:queue-%zu,shard:%zu", i / 100, i % 100);
        break;
    default:
        snprintf(out, cap,
                 "http_request_duration_seconds:0.042|h|#route:/api/v1/resource/%zu,method:M%zu",
                 i / 100, i % 100);
        break;
    }
}

/*
 * n summary series of obs observations each, 32 to a line: a lognormal latency around
 * 50 ms (a fixed sequence), so that each stream holds what a real one would.
 */
static void fill_summaries(struct registry *r, struct feed *f, size_t n, size_t obs)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char line[1024];

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < obs; j += 32) {
            int len = snprintf(line, sizeof line, "rpc_duration_seconds");

            for (size_t k = j; k < obs && k < j + 32; k++) {
                double u, v;

                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                u = ((double)(x >> 11) + 0.5) / 9007199254740992.0;
                v = ((double)((x * 0x2545f4914f6cdd1dull) >> 11) + 0.5) / 9007199254740992.0;
                len += snprintf(line + len, sizeof line - (size_t)len, ":%.6g",
                                0.05 * exp(0.8 * sqrt(-2 * log(u)) * cos(6.283185307179586 * v)));
            }
            snprintf(line + len, sizeof line - (size_t)len,
                     "|h|#route:/api/v1/resource/%zu,method:M%zu", i / 100, i % 100);
            put(r, f, line);
        }
    }
}

static void fill(struct registry *r, struct feed *f, int kind, size_t n)
{
    char line[256];
    size_t i;

    if (kind == SUMMARY_1K || kind == SUMMARY_100K) {
        fill_summaries(r, f, n, kind == SUMMARY_1K ? 1000 : 100000);
        return;
    }
    for (i = 0; i < n; i++) {
        line_for(line, sizeof line, kind, i);
        put(r, f, line);
    }
}

/* Render everything, optionally deflating each step's output; returns the output size. */
static size_t render_once(struct registry *r, enum expo_format fmt, int gzip, double *ms)
{
    struct buf out = BUF_INIT;
    unsigned char zbuf[65536];
    size_t total = 0;
    struct render rd;
    z_stream z;
    double t0 = now_ms();
    int more = 1;

    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip header and trailer, as Content-Encoding: gzip wants. */
    if (gzip && deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        fprintf(stderr, "bench_registry: deflateInit2 failed, exiting\n");
        exit(2);
    }
    render_init(&rd, r, fmt);
    while (more) {
        more = render_step(&rd, &out, STEP_SERIES, 0);
        if (!more) {
            struct expo e;

            expo_init(&e, &out, fmt);
            expo_eof(&e);
        }
        if (!gzip) {
            total += out.len;
        } else {
            z.next_in = (unsigned char *)out.ptr;
            z.avail_in = (uInt)out.len;
            do {
                z.next_out = zbuf;
                z.avail_out = sizeof zbuf;
                deflate(&z, more ? Z_NO_FLUSH : Z_FINISH);
                total += sizeof zbuf - z.avail_out;
            } while (z.avail_out == 0);
        }
        buf_reset(&out);
    }
    render_release(&rd);
    if (gzip)
        deflateEnd(&z);
    buf_release(&out);
    *ms = now_ms() - t0;
    return total;
}

static void bench_render(struct registry *r, const char *what)
{
    static const char *const fmt_name[] = { "text", "openmetrics" };
    int f, gz;

    for (f = 0; f < 2; f++) {
        for (gz = 0; gz < 2; gz++) {
            double ms, best = 1e99;
            size_t bytes = 0;
            int rep;

            for (rep = 0; rep < 3; rep++) {
                bytes = render_once(r, (enum expo_format)f, gz, &ms);
                if (ms < best)
                    best = ms;
            }
            printf("render %-28s %-11s %-4s %9.2f ms %11zu bytes\n", what, fmt_name[f],
                   gz ? "gzip" : "raw", best, bytes);
        }
    }
}

/*
 * Resident bytes per series of kind, measured in a child process so that memory freed
 * by an earlier measurement cannot be reused and hide the cost.
 */
static double memory_per_series(const struct config *cfg, int kind, size_t n, double *accounted)
{
    int fds[2];
    double res[2] = { 0, 0 };
    pid_t pid;

    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        perror("bench_registry: pipe/fork");
        exit(2);
    }
    if (pid == 0) {
        struct registry r;
        struct feed *f;
        size_t rss0, huge_len;
        void *huge_base;

        mem_setup(); /* as the daemon does */
        f = feed_new(&r, cfg);
        rss0 = bench_rss_bytes();
        registry_init(&r, cfg);
        registry_set_clock(&r, wall_clock_ms, NULL);
        fill(&r, f, kind, n);
        /* The next line of every series: each refills its front-cache entry, which the
         * cache's growths emptied, as the daemon's steady traffic does. */
        if (kind == SUMMARY_1K || kind == SUMMARY_100K)
            fill_summaries(&r, f, n, 32);
        else
            fill(&r, f, kind, n);
        feed_flush(f);
        /*
         * The daemon's idle expiry ticks (every 50 ms, registry_sweep) finish a table's
         * move under way: a growth just before the last series leaves the old table
         * beside the new one until then (21 B a series at 100k).
         */
        for (int more = 1; more;)
            registry_sweep(&r, wall_clock_ms(NULL), 256, &more);
        /* Full regions and settled tables in huge pages, as the daemon's state thread puts
         * them (daemon/hugepages.h): what a collapse backs whole counts too. */
        while (registry_ripe(&r, &huge_base, &huge_len))
            (void)slab_collapse(huge_base, huge_len);
        res[0] = (double)(bench_rss_bytes() - rss0) / (double)n;
        res[1] = (double)registry_memory(&r) / (double)n;
        feed_free(f);
        if (write(fds[1], res, sizeof res) != (ssize_t)sizeof res)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], res, sizeof res) != (ssize_t)sizeof res || waitpid(pid, NULL, 0) < 0) {
        fprintf(stderr, "bench_registry: memory measurement failed, exiting\n");
        exit(2);
    }
    close(fds[0]);
    *accounted = res[1];
    return res[0];
}

/* ns per line: parse + apply of existing series in a scattered order, and parse alone. */
static void bench_ingest(struct registry *r, int kind, size_t n, const char *name)
{
    char *lines = mem_alloc(n * 96);
    struct statsd_line l;
    double t0, t1, t2;
    size_t i;

    for (i = 0; i < n; i++)
        line_for(lines + i * 96, 96, kind, (i * 7919) % n);
    t0 = now_ms();
    for (i = 0; i < n; i++)
        apply(r, lines + i * 96);
    t1 = now_ms();
    for (i = 0; i < n; i++) {
        const char *p = lines + i * 96;

        if (statsd_parse_line(p, strlen(p), &l) != STATSD_OK)
            exit(2);
    }
    t2 = now_ms();
    printf("ingest %-34s %8.1f ns/line parse+apply, %.1f ns parse alone (existing series)\n", name,
           (t1 - t0) * 1e6 / (double)n, (t2 - t1) * 1e6 / (double)n);
    free(lines);
}

#define TARGET_FROM 100000 /* series: the memory targets hold from here */

int main(int argc, char **argv)
{
    static const char *const kind_name[] = { "counter (2 labels)", "gauge (2 labels)",
                                             "histogram (12 buckets, 2 labels)",
                                             "summary (1,000 observations)",
                                             "summary (100,000 observations)" };
    static const double issue_target[] = { 200, 200, 400, 0, 0 };
    static const char *const key[] = { "counter", "gauge", "histogram", "summary",
                                       "summary_100k_obs" };
    size_t n = 100000, summary_max = SUMMARY_MAX, cap, values;
    int memory_only = 0;
    struct config cfg;
    char err[512], text[sizeof bench_config + 128], rkey[64];
    int kind, failed = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--series") == 0 && i + 1 < argc)
            n = benchresult_series(argv[++i]);
        else if (strcmp(argv[i], "--memory-only") == 0)
            memory_only = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            summary_max = SUMMARY_MAX / 10;
        else if (argv[i][0] != '-')
            n = benchresult_series(argv[i]);
        else
            n = 0;
        if (n == 0) {
            fprintf(stderr, "usage: bench_registry [N | --series N] [--memory-only] [--quick]\n");
            return 2;
        }
    }
    cap = 2 * n + 1000;
    values = n / 100 + 1000;
    snprintf(text, sizeof text, bench_config, cap, cap, values, values, values, values);
    memset(&cfg, 0, sizeof cfg);
    if (cfgload_text(&cfg, text, strlen(text), "bench", err, sizeof err) < 0) {
        fprintf(stderr, "bench_registry: %s\n", err);
        return 2;
    }
    for (kind = 0; kind < NKINDS; kind++) {
        size_t m = kind == SUMMARY_1K     ? MIN(n / 10, summary_max)
                   : kind == SUMMARY_100K ? MIN(n / 1000, SUMMARY_BIG_MAX)
                                          : n;
        double accounted, per = memory_per_series(&cfg, kind, m ? m : 1, &accounted);
        double target = n >= TARGET_FROM ? issue_target[kind] : 0;

        printf("memory %-34s %8.1f B/series resident, %.1f B/series accounted (%zu series) %s\n",
               kind_name[kind], per, accounted, m ? m : 1,
               target == 0     ? ""
               : per <= target ? "ok"
                               : "OVER TARGET");
        failed |= target > 0 && per > target;
        snprintf(rkey, sizeof rkey, "%s_rss_bytes", key[kind]);
        benchresult("registry", n, rkey, per);
        snprintf(rkey, sizeof rkey, "%s_accounted_bytes", key[kind]);
        benchresult("registry", n, rkey, accounted);
        if (kind >= SUMMARY_1K) {
            snprintf(rkey, sizeof rkey, "%s_series", key[kind]);
            benchresult("registry", n, rkey, (double)(m ? m : 1));
        }
    }
    if (memory_only) {
        cfgload_release(&cfg);
        return failed;
    }
    for (kind = SUMMARY_1K; kind <= SUMMARY_100K; kind++) {
        size_t m = kind == SUMMARY_1K ? MIN(n / 100, summary_max) : MIN(n / 1000, SUMMARY_BIG_MAX),
               obs = kind == SUMMARY_1K ? 1000 : 100000;
        struct registry r;
        double t0;

        registry_init(&r, &cfg);
        registry_set_clock(&r, wall_clock_ms, NULL);
        t0 = now_ms();
        fill(&r, NULL, kind, m ? m : 1);
        printf("ingest %-34s %8.1f ns/observation, 32 to a line (parse included)\n",
               kind_name[kind], (now_ms() - t0) * 1e6 / (double)((m ? m : 1) * obs));
        registry_release(&r);
    }
    for (kind = 0; kind <= HISTOGRAM; kind++) {
        struct registry r;
        double t0;

        registry_init(&r, &cfg);

        registry_set_clock(&r, wall_clock_ms, NULL);
        t0 = now_ms();
        fill(&r, NULL, kind, n);
        printf("ingest %-34s %8.1f ns/line creating series (incl. snprintf)\n", kind_name[kind],
               (now_ms() - t0) * 1e6 / (double)n);
        bench_ingest(&r, kind, n, kind_name[kind]);
        if (kind == 0) {
            struct registry small;
            char what[64];

            registry_init(&small, &cfg);

            registry_set_clock(&small, wall_clock_ms, NULL);
            fill(&small, NULL, kind, n < 10000 ? n : 10000);
            bench_render(&small, "10k counters");
            registry_release(&small);
            snprintf(what, sizeof what, "%zuk counters", n / 1000);
            bench_render(&r, what);
        } else if (kind == 2) {
            struct registry small;
            char what[64];

            registry_init(&small, &cfg);

            registry_set_clock(&small, wall_clock_ms, NULL);
            fill(&small, NULL, kind, n < 10000 ? n : 10000);
            bench_render(&small, "10k histograms");
            registry_release(&small);
            snprintf(what, sizeof what, "%zuk histograms", n / 1000);
            bench_render(&r, what);
        }
        registry_release(&r);
    }
    cfgload_release(&cfg);
    return failed;
}
