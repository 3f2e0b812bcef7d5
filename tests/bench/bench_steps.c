/*
 * bench_steps: the longest piece of work each of the loop's long tasks does in one turn, at
 * N series, in process: no socket, no HTTP, no other process.
 *
 *   bench_steps [--series N[,N...]] [--passes P] [--cold]
 *
 * The daemon never renders, saves or frees all its series in one turn: each task does a
 * bounded piece and yields the loop. The loop's turn is then the socket's drain (at most
 * its budget, 3 ms) plus at most one piece of each task under way. Through the real daemon
 * (bench_scrape, bench_reload, bench_debug, bench_snapshot) a turn also holds whatever the
 * machine did to the thread; here each piece is timed alone, as the daemon runs it:
 *
 *   - text, openmetrics, protobuf: a scrape's piece (handler/scrape.c, series_piece): render_step()
 *     of SCRAPE_SUBSTEP series until SCRAPE_STEP series or SCRAPE_PIECE_BYTES;
 *   - gzip: the text piece and its compression (http/gzip.h, level 1), as httpd does it;
 *   - debug: one debug_render_step() of /debug?section=series&limit=N (at most 1M);
 *   - snapshot: one records_step() of 1024 series (state/persist.c's unit between two
 *     looks at the clock);
 *   - reload drain: after a reload that renames the gauge family (30% of the series
 *     retired, as bench_reload does), one registry_drain() of 256 series (daemon/app.c's
 *     step);
 *   - baseline_pages, the machine's own figure: pages_walk(), 2 MB of fresh memory mapped,
 *     written and unmapped a piece, with no ustatsd code, as many pieces as the text scrape;
 *   - baseline_touch, the machine's own figure for the drain (benchtouch.h): a piece of
 *     DRAIN_STEP * BENCHTOUCH_SERIES writes to random cache lines of a mapping as big as
 *     the store (registry_memory()), with no ustatsd code, written with the store and left
 *     alone as long, one piece after each drain piece. A drained series touches about that
 *     many lines far apart: its table slot (and the old table's while one moves), its block,
 *     each label value's count, the front cache's two sets, its page's header.
 *
 * The series are the mix of bench_http.h (60% counters, 30% gauges, 10% histograms of 12
 * buckets), created through intake_datagram() in datagrams of about 8 KB. The scrapes and
 * /debug write into buffers kept between responses, as the daemon's server keeps them
 * (base/bufpool.h), after one response of each kind that is not counted (it grows them).
 * Then (unless --cold) every range the store hands out for huge pages is collapsed into them
 * (benchhuge.h), as the daemon's state thread does within seconds (daemon/hugepages.h):
 * at 10,000,000 series a text render walking 4 KiB pages cost 265 ns a series on a
 * machine whose page walks are dear, 85 once collapsed, against 73 at 1,000,000. Each task runs
 * P times (2 by default) over every series. Times are the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID) per piece, with the wall time beside it: printed are the
 * CPU per series (the pieces' sum over the series each pass walked; the drain's over the
 * retired 30%), the median, the 99th percentile and the longest piece, and as result lines
 * (benchresult.h) <task>_ns_per_series, <task>_piece_p99_cpu_ms and <task>_piece_max_cpu_ms. No target is checked here; exit
 * status 1 when the series are not all created or a render is cut short.
 */
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/bufpool.h"
#include "base/mem.h"
#include "base/wallclock.h"
#include "bench_http.h"
#include "benchhuge.h"
#include "benchresult.h"
#include "benchtouch.h"
#include "config/cfgload.h"
#include "config/config.h"
#include "expose/debug.h"
#include "expose/render.h"
#include "handler/scrape.h"
#include "http/gzip.h"
#include "ingest/intake.h"
#include "ingest/rejects.h"
#include "state/records.h"
#include "store/jobs.h"
#include "store/registry.h"

#define MAX_SIZES    8
#define DGRAM_BYTES  8000
#define RECORDS_STEP 1024 /* state/persist.c, SLICE_SERIES */
#define DRAIN_STEP   256  /* daemon/app.c, EXPIRE_STEP */
#define DEBUG_LIMIT  1000000
#define NOW_MS       1000000
#define PAGES_BYTES  ((size_t)2 << 20) /* the baseline's piece: COUNTED_RELEASE_STEP */

enum task { T_TEXT, T_OM, T_PB, T_GZIP, T_DEBUG, T_RECORDS, T_DRAIN, T_PAGES, T_TOUCH, T_MAX };

static const char *const task_names[T_MAX] = { "text",         "openmetrics",    "protobuf",
                                               "gzip",         "debug",          "snapshot",
                                               "reload_drain", "baseline_pages", "baseline_touch" };

/* The pieces of one task: CPU and wall ns, grown as they come. */
struct pieces {
    uint64_t *cpu, *wall;
    size_t n, cap;
};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timer {
    uint64_t cpu, wall;
};

static struct timer timer_start(void)
{
    struct timer t = { clock_ns(CLOCK_THREAD_CPUTIME_ID), clock_ns(CLOCK_MONOTONIC) };
    return t;
}

static void timer_stop(const struct timer *t, struct pieces *p)
{
    uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t->cpu,
             wall = clock_ns(CLOCK_MONOTONIC) - t->wall;

    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->cpu = mem_realloc(p->cpu, p->cap * sizeof *p->cpu);
        p->wall = mem_realloc(p->wall, p->cap * sizeof *p->wall);
    }
    p->cpu[p->n] = cpu;
    p->wall[p->n] = wall;
    p->n++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sort v (n > 0) and give its median, 99th percentile and maximum in ms. */
static void stats(uint64_t *v, size_t n, double out[3])
{
    qsort(v, n, sizeof *v, cmp_u64);
    out[0] = (double)v[n / 2] / 1e6;
    out[1] = (double)v[n - 1 - n / 100] / 1e6;
    out[2] = (double)v[n - 1] / 1e6;
}

/* --cold: the series' memory stays in the pages it was made in (benchhuge.h). */
static int cold;

static double clock_unix(void *arg)
{
    (void)arg;
    return (double)wallclock_ms() / 1e3;
}

/* Every series of the mix, [0, n), through the intake, as datagrams of about 8 KB. */
static void populate(struct intake *in, size_t n)
{
    char dgram[DGRAM_BYTES + 256], line[160];
    size_t len = 0;

    for (size_t i = 0; i < n; i++) {
        int m = bench_http__series_line(i, 0, line, sizeof line);

        if (len + (size_t)m > DGRAM_BYTES) {
            intake_datagram(in, dgram, len, NULL, NOW_MS - 1000);
            len = 0;
        }
        memcpy(dgram + len, line, (size_t)m);
        len += (size_t)m;
    }
    if (len > 0)
        intake_datagram(in, dgram, len, NULL, NOW_MS - 1000);
}

/*
 * The buffers the pieces are written into, kept from one response to the next as the
 * daemon's server keeps them (base/bufpool.h, http/httpsend.c): the piece's, and the
 * compressed one's.
 */
static struct bufpool pool;

/* One scrape, its pieces timed as scrape.c cuts them. gz: compressed too. */
static void scrape(struct registry *reg, enum expo_format fmt, int gz, struct pieces *p)
{
    struct render rd;
    struct gzip g = { 0 };
    struct buf out = BUF_INIT, zout = BUF_INIT;
    int more = 1;

    bufpool_get_buf(&pool, &out);
    if (gz)
        bufpool_get_buf(&pool, &zout);
    render_init(&rd, reg, fmt);
    if (gz)
        gzip_begin(&g);
    while (more) {
        struct timer t = timer_start();
        size_t done = 0;

        out.len = 0;
        while (more && done < SCRAPE_STEP && out.len < SCRAPE_PIECE_BYTES) {
            more = render_step(&rd, &out, SCRAPE_SUBSTEP, NOW_MS);
            done += SCRAPE_SUBSTEP;
        }
        if (gz) {
            zout.len = 0;
            gzip_feed(&g, out.ptr, out.len, !more, &zout);
        }
        timer_stop(&t, p);
    }
    gzip_end(&g);
    render_release(&rd);
    bufpool_put_buf(&pool, &out);
    bufpool_put_buf(&pool, &zout);
}

static int debug_walk(struct registry *reg, struct jobs *jobs, const struct config *cfg,
                      const struct rejects *rejects, size_t n, struct pieces *p)
{
    char query[64], err[256];
    struct debug_query q;
    struct debug_render dr;
    struct selfmetrics self;
    struct buf out = BUF_INIT;
    int more = 1;

    memset(&self, 0, sizeof self);
    self.cfg = cfg;
    snprintf(query, sizeof query, "section=series&limit=%zu", n < DEBUG_LIMIT ? n : DEBUG_LIMIT);
    if (debug_query_parse(&q, cfg, query, err, sizeof err) != 0) {
        fprintf(stderr, "bench_steps: %s\n", err);
        return -1;
    }
    bufpool_get_buf(&pool, &out);
    debug_render_init(&dr, &q, &self, reg, jobs, rejects);
    while (more) {
        struct timer t = timer_start();

        out.len = 0;
        more = debug_render_step(&dr, &out);
        timer_stop(&t, p);
    }
    debug_render_release(&dr);
    bufpool_put_buf(&pool, &out);
    return 0;
}

static size_t records_walk(struct registry *reg, struct jobs *jobs, struct pieces *p)
{
    struct records_writer w;
    struct buf out = BUF_INIT;
    size_t n;
    int more = 1;

    records_begin(&w, reg, jobs, (uint64_t)wallclock_ms(), &out);
    while (more) {
        struct timer t = timer_start();

        out.len = 0;
        more = records_step(&w, &out, RECORDS_STEP, NOW_MS);
        timer_stop(&t, p);
    }
    n = records_series(&w);
    records_end(&w);
    buf_release(&out);
    return n;
}

/*
 * The baseline: no ustatsd code at all, only what the machine's kernel charges for memory.
 * Each piece maps PAGES_BYTES of fresh anonymous memory, writes every page of it (a page
 * fault each) and unmaps it (the pages freed, the TLB flushed): what a piece of any task
 * pays when it allocates or frees that much. As many pieces as the text scrape had, with
 * the series resident, so that the slowest of them is compared over the same count.
 */
static int pages_walk(size_t npieces, struct pieces *p)
{
    for (size_t i = 0; i < npieces; i++) {
        struct timer t = timer_start();
        char *m =
            mmap(NULL, PAGES_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (m == MAP_FAILED) {
            perror("bench_steps: mmap");
            return -1;
        }
        for (size_t off = 0; off < PAGES_BYTES; off += 4096)
            m[off] = (char)off;
        munmap(m, PAGES_BYTES);
        timer_stop(&t, p);
    }
    return 0;
}

static void touch_piece(struct benchtouch *w, struct pieces *p)
{
    struct timer t = timer_start();

    benchtouch_piece(w, (size_t)DRAIN_STEP * BENCHTOUCH_SERIES);
    timer_stop(&t, p);
}

static int run(size_t nseries, unsigned passes)
{
    char err[512];
    char *text = bench_http_config_text(nseries, NULL, "bench_queue_depth"),
         *renamed = bench_http_config_text(nseries, NULL, "bench_queue_depth_renamed");
    struct config cfg, next;
    struct registry reg;
    struct jobs jobs;
    struct rejects *rejects = mem_calloc(1, sizeof *rejects);
    struct intake in;
    struct registry_reload rr;
    struct pieces p[T_MAX];
    struct benchtouch touch;
    struct timer t;
    size_t saved = 0;

    memset(p, 0, sizeof p);
    bufpool_init(&pool, HTTPD_POOL_MIN_BYTES, HTTPD_POOL_MAX_BYTES);
    if (text == NULL || renamed == NULL ||
        cfgload_text(&cfg, text, strlen(text), "bench", err, sizeof err) < 0 ||
        cfgload_text(&next, renamed, strlen(renamed), "bench", err, sizeof err) < 0) {
        fprintf(stderr, "bench_steps: config: %s\n", err);
        return -1;
    }
    registry_init(&reg, &cfg);
    rejects_init(rejects);
    jobs_init(&jobs, &cfg, 1);
    intake_init(&in, &reg, &jobs, rejects, clock_unix, NULL);
    populate(&in, nseries);
    if (registry_series_total(&reg) != nseries) {
        fprintf(stderr, "bench_steps: %zu series made of %zu\n", registry_series_total(&reg),
                nseries);
        return -1;
    }
    benchhuge_collapse(&reg, cold);
    /*
     * The drain's baseline is written now, with the store, so that its memory sits idle as
     * long as the store's tables do (the passes below read the series, not the tables): a
     * page this machine has left alone for a while may take 20 to 300 µs on its next touch,
     * with no page fault in the guest (bench_idle). Written right before the drain, the
     * baseline's pages were fresh and the tables' were not.
     */
    if (benchtouch_setup(&touch, registry_memory(&reg)) != 0)
        return -1;
    /*
     * Pass 0, not counted: a first response of each kind grows the pool's buffers, which the
     * daemon then keeps (at 10,000 series that first growth's page faults made the text
     * render 2.3 times as dear a series as at 100,000 over two passes).
     */
    for (unsigned k = 0; k <= passes; k++) {
        struct pieces warm[T_MAX], *q = k == 0 ? warm : p;

        memset(warm, 0, sizeof warm);
        scrape(&reg, EXPO_TEXT, 0, &q[T_TEXT]);
        scrape(&reg, EXPO_OPENMETRICS, 0, &q[T_OM]);
        scrape(&reg, EXPO_PROTOBUF, 0, &q[T_PB]);
        scrape(&reg, EXPO_TEXT, 1, &q[T_GZIP]);
        if (debug_walk(&reg, &jobs, &cfg, rejects, nseries, &q[T_DEBUG]) != 0)
            return -1;
        if (k > 0)
            saved = records_walk(&reg, &jobs, &p[T_RECORDS]);
        for (size_t j = 0; j < T_MAX; j++) {
            free(warm[j].cpu);
            free(warm[j].wall);
        }
    }
    if (saved != nseries) {
        fprintf(stderr, "bench_steps: the snapshot wrote %zu series of %zu\n", saved, nseries);
        return -1;
    }
    if (pages_walk(p[T_TEXT].n, &p[T_PAGES]) != 0)
        return -1;
    /*
     * The reload last: it retires the gauges, whose series are then drained in steps, a
     * piece of the touch baseline after each.
     */
    t = timer_start();
    registry_reconfigure(&reg, &next, &rr);
    timer_stop(&t, &p[T_DRAIN]);
    while (registry_draining(&reg)) {
        t = timer_start();
        registry_drain(&reg, DRAIN_STEP);
        timer_stop(&t, &p[T_DRAIN]);
        touch_piece(&touch, &p[T_TOUCH]);
    }
    benchtouch_release(&touch);
    printf("%10zu series\n", nseries);
    for (int k = 0; k < T_MAX; k++) {
        double cpu[3], wall[3], sum = 0;
        char key[64];

        if (p[k].n == 0) /* nothing to drain: no gauge series at so few */
            continue;
        for (size_t j = 0; j < p[k].n; j++)
            sum += (double)p[k].cpu[j];
        stats(p[k].cpu, p[k].n, cpu);
        stats(p[k].wall, p[k].n, wall);
        /* Over the series walked: /debug shows at most DEBUG_LIMIT, the drain the 30%. */
        sum /= k == T_DRAIN                   ? (double)nseries * 0.3
               : k == T_PAGES || k == T_TOUCH ? (double)p[k].n
               : k == T_DEBUG ? (double)(nseries < DEBUG_LIMIT ? nseries : DEBUG_LIMIT) * passes
                              : (double)nseries * passes;
        printf("  %-14s %8zu pieces %7.0f ns/%-6s  CPU ms: median %6.3f  p99 %6.3f"
               "  max %6.3f   wall ms: median %6.3f  p99 %6.3f  max %6.3f\n",
               task_names[k], p[k].n, sum, k == T_PAGES || k == T_TOUCH ? "piece" : "series",
               cpu[0], cpu[1], cpu[2], wall[0], wall[1], wall[2]);
        snprintf(key, sizeof key,
                 k == T_PAGES || k == T_TOUCH ? "%s_ns_per_piece" : "%s_ns_per_series",
                 task_names[k]);
        benchresult("steps", nseries, key, sum);
        snprintf(key, sizeof key, "%s_piece_p99_cpu_ms", task_names[k]);
        benchresult("steps", nseries, key, cpu[1]);
        snprintf(key, sizeof key, "%s_piece_max_cpu_ms", task_names[k]);
        benchresult("steps", nseries, key, cpu[2]);
        free(p[k].cpu);
        free(p[k].wall);
    }
    bufpool_release(&pool);
    registry_release(&reg);
    jobs_release(&jobs);
    cfgload_release(&next);
    cfgload_release(&cfg);
    free(rejects);
    free(text);
    free(renamed);
    return 0;
}

int main(int argc, char **argv)
{
    size_t sizes[MAX_SIZES] = { 100000, 1000000 }, nsizes = 2;
    unsigned passes = 2;

    mem_setup();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
            nsizes = benchresult_series_list(argv[++i], sizes, MAX_SIZES);
        } else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
            passes = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--cold") == 0) {
            cold = 1;
        } else {
            fprintf(stderr, "usage: bench_steps [--series N[,N...]] [--passes P] [--cold]\n");
            return 2;
        }
    }
    if (nsizes == 0 || passes == 0) {
        fprintf(stderr, "bench_steps: nothing to measure\n");
        return 2;
    }
    printf("the longest piece of each task the loop runs in pieces, in process, %u passes\n",
           passes);
    for (size_t k = 0; k < nsizes; k++)
        if (run(sizes[k], passes) != 0)
            return 1;
    return 0;
}
