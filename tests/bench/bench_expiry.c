/*
 * bench_expiry: how fast expiry frees series, how long it holds the loop, what memory
 * comes back, and what a refill at the cap costs, on the registry itself (no daemon).
 *
 *   bench_expiry [N | --series N] [--keep K] [--quick] [--cold] [--no-baseline]
 *   (N series, 1,000,000 by default)
 *
 * N gauge series (one capped label) with a ttl of 5 s are created at t = 1 s; one in K of
 * them (a tenth by default; --keep 2: half) are updated at t = 4 s, and the sweep runs at
 * t = 6.001 s, when the rest has
 * expired (issue 30's case). The sweep runs as the daemon runs it (daemon/app.c): registry_sweep() in steps
 * of 32 series (256 before 2026-11-28), in slices that end after 1 ms, until it says it is done (the tables
 * shrunk too); times are this thread's CPU time. Printed: the series looked at and freed per second of sweep, the worst
 * slice and the worst step, registry memory and resident memory before and after, the
 * time malloc_trim(0) takes, and the same memory figures of a process that only ever
 * held the surviving tenth (a child, in the same run).
 *
 * Baselines in the same run: the schedule before this one (2000 series per 50 ms tick,
 * the old EXPIRE_BUDGET: 40,000 a second, however fast a tick), with the time of one
 * 2000-series call measured here; a plain scan of N last-update times in an array,
 * the least a walk can cost; and the machine's own figure for work that touches memory
 * across the store (benchtouch.h): after each slice, a piece of STEP * BENCHTOUCH_SERIES
 * random writes over as much memory as the registry holds for each of its steps, with no
 * ustatsd code, whose longest piece is printed beside the longest step (the mapping is
 * given back before the RSS is read; --no-baseline: none, so that no slice starts after
 * the baseline's writes went through the caches, for the sweep's rate). Before the sweep
 * the registry's full ranges are put in huge pages, as the daemon's state thread does
 * within seconds (benchhuge.h; the survivors' process's too); --cold: not.
 *
 * Then the refill: the clock moves past the ttl of every survivor and N new series
 * arrive with no sweep at all, each at the family's cap, twice: the lines lost (must be
 * 0) and the lines per second. Last, all but 3 series expire (issue 28's end): the sweep,
 * memory and malloc_trim again (--quick: neither the refill nor this). The allocator is
 * set up as the daemon's (mem_setup). Result lines (benchresult.h): expired_percent,
 * sweep_series_per_s, worst_slice_ms, worst_step_ms, baseline_touch_step_ms,
 * rss_before_bytes, rss_after_trim_bytes, survivors_only_rss_bytes, refill_lines_lost.
 *
 * Exit status 1 when the sweep is below 1,000,000 series a second, a slice holds the
 * loop more than 5 ms, registry memory stays above twice the survivors' (a shrunk table
 * may hold up to four times its entries' slots where a grown one holds two to four;
 * plus the ids a label key keeps, 12 B a value it held), or a refill line is lost.
 */
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfgload.h"
#include "config/config.h"
#include "statsd.h"
#include "benchhuge.h"
#include "benchresult.h"
#include "benchtouch.h"
#include "benchutil.h"
#include "store/registry.h"
#include "base/mem.h"

#define STEP     32 /* daemon/app.c's SWEEP_STEP */
#define SLICE_NS 1000000ull

static int put(struct registry *r, const char *prefix, size_t i, uint64_t now)
{
    char text[64];
    struct statsd_line l;
    int n = snprintf(text, sizeof text, "jobs_running:1|g|#id:%s%zu", prefix, i);

    if (statsd_parse_line(text, (size_t)n, &l) != STATSD_OK) {
        fprintf(stderr, "bench_expiry: \"%s\" does not parse\n", text);
        exit(2);
    }
    return registry_apply(r, &l, now);
}

static void fill(struct registry *r, const char *prefix, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        if (put(r, prefix, i, now) != STATSD_OK) {
            fprintf(stderr, "bench_expiry: series %zu rejected\n", i);
            exit(2);
        }
    }
}

static void load(struct config *c, struct registry *r, size_t n)
{
    char json[512], err[256];

    snprintf(json, sizeof json,
             "{\"limits\": {\"max_series\": %zu, \"max_series_per_family\": %zu},"
             " \"families\": [{\"name\": \"jobs_running\", \"type\": \"gauge\","
             " \"ttl_seconds\": 5, \"labels\": [{\"name\": \"id\", \"max_values\": %zu}]}]}",
             n + 100, n, 2 * n);
    memset(c, 0, sizeof *c);
    if (cfgload_text(c, json, strlen(json), "bench", err, sizeof err) != 0) {
        fprintf(stderr, "bench_expiry: %s\n", err);
        exit(2);
    }
    registry_init(r, c);
}

/* The least a walk can cost: N last-update times in an array, compared with the ttl. */
static double array_scan_rate(size_t n)
{
    uint64_t *last = malloc(n * sizeof *last), t0, ns;
    size_t i, expired = 0;

    for (i = 0; i < n; i++)
        last[i] = i & 1 ? 4000 : 1000;
    t0 = benchutil_now_ns();
    for (i = 0; i < n; i++)
        expired += 6001 - last[i] > 5000;
    ns = benchutil_now_ns() - t0;
    if (expired != n / 2 + (n & 1)) /* keeps the loop */
        fprintf(stderr, "bench_expiry: array scan miscounted\n");
    free(last);
    return (double)n / ((double)(ns ? ns : 1) / 1e9);
}

/*
 * Sweep at now as the daemon does, slices of steps until done (a slice ends after 1 ms
 * of wall time); adds to the figures, which count CPU time (on a shared machine the wall
 * time of a step counts the other processes' time slices too). Returns the series freed.
 */
struct sweep_figures {
    uint64_t ns, worst_slice, worst_step;
    uint64_t touch_step; /* the baseline's longest piece (with touch) */
    size_t steps;
};

/*
 * With touch, after each slice as many pieces of the baseline (benchtouch.h) as the slice
 * had steps, of STEP * BENCHTOUCH_SERIES random writes each, timed the same way: their
 * longest piece is the machine's figure beside the longest step. A piece writes about as
 * many lines as a step of STEP series that all expire touches, and more than a step that
 * only looks at series: no more than that is compared.
 */
static void touch_slice(struct benchtouch *touch, size_t steps, struct sweep_figures *fig)
{
    for (size_t k = 0; k < steps; k++) {
        uint64_t t0 = benchutil_thread_ns(), d;

        benchtouch_piece(touch, (size_t)STEP * BENCHTOUCH_SERIES);
        d = benchutil_thread_ns() - t0;
        fig->touch_step = d > fig->touch_step ? d : fig->touch_step;
    }
}

static size_t sweep(struct registry *r, uint64_t now, struct sweep_figures *fig,
                    struct benchtouch *touch)
{
    size_t freed = 0;
    int more = 1;

    while (more) {
        uint64_t slice0 = benchutil_now_ns(), cpu0 = benchutil_thread_ns(), slice;
        size_t steps = fig->steps;

        do {
            uint64_t s0 = benchutil_thread_ns(), step;

            freed += registry_sweep(r, now, STEP, &more);
            step = benchutil_thread_ns() - s0;
            fig->worst_step = step > fig->worst_step ? step : fig->worst_step;
            fig->steps++;
        } while (more && benchutil_now_ns() - slice0 < SLICE_NS);
        slice = benchutil_thread_ns() - cpu0;
        fig->ns += slice;
        fig->worst_slice = slice > fig->worst_slice ? slice : fig->worst_slice;
        if (touch != NULL)
            touch_slice(touch, fig->steps - steps, fig);
    }
    return freed;
}

/* malloc_trim(0), timed; returns the ns it took. */
static uint64_t trim(void)
{
    uint64_t t0 = benchutil_now_ns();

    mem_trim();
    return benchutil_now_ns() - t0;
}

/*
 * A process that only ever held the survivors: n / keep series, its registry memory and
 * its RSS, in a child so that the parent's heap does not count. Its ranges are collapsed
 * too, unless cold, as the parent's are.
 */
static void survivors_only(size_t n, size_t keep, int cold, size_t *mem, size_t *rss)
{
    int fds[2];
    size_t out[2] = { 0, 0 };
    pid_t pid;

    fflush(stdout); /* nothing buffered for the child to write again */
    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        perror("bench_expiry: pipe/fork");
        exit(2);
    }
    if (pid == 0) {
        struct config cfg;
        struct registry reg;

        load(&cfg, &reg, n);
        fill(&reg, "live", (n + keep - 1) / keep, 1000);
        if (freopen("/dev/null", "w", stdout) == NULL) /* the parent says what it collapses */
            _exit(2);
        benchhuge_collapse(&reg, cold);
        out[0] = registry_memory(&reg);
        out[1] = bench_rss_bytes();
        if (write(fds[1], out, sizeof out) != (ssize_t)sizeof out)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], out, sizeof out) != (ssize_t)sizeof out) {
        fprintf(stderr, "bench_expiry: the survivors' child failed\n");
        exit(2);
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    *mem = out[0];
    *rss = out[1];
}

int main(int argc, char **argv)
{
    size_t n = 1000000, keep = 10, i, lost = 0, freed;
    size_t mem_full, mem_after, rss_full, rss_after, rss_trimmed, base_mem, base_rss;
    size_t rss3, rss3_trimmed;
    uint64_t t0, old_call_ns, trim_ns, trim3_ns, refill_ns;
    struct sweep_figures fig = { 0 }, fig3 = { 0 };
    struct config cfg;
    struct registry reg;
    struct benchtouch touch = { 0 };
    double rate, array_rate;
    int fail = 0, quick = 0, cold = 0, baseline = 1;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--series") == 0 && a + 1 < argc)
            n = benchresult_series(argv[++a]);
        else if (strcmp(argv[a], "--keep") == 0 && a + 1 < argc)
            keep = strtoul(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[a], "--cold") == 0)
            cold = 1;
        else if (strcmp(argv[a], "--no-baseline") == 0)
            baseline = 0;
        else if (argv[a][0] != '-')
            n = benchresult_series(argv[a]);
        else
            n = 0;
        if (n < 10 || keep < 1) {
            fprintf(stderr, "usage: bench_expiry [N | --series N] [--keep K] [--quick] [--cold] "
                            "[--no-baseline]\n");
            return 2;
        }
    }
    mem_setup(); /* as the daemon does */
    survivors_only(n, keep, cold, &base_mem, &base_rss);
    load(&cfg, &reg, n);
    fill(&reg, "old", n, 1000);
    for (i = 0; i < n; i += keep) /* one in keep survives */
        put(&reg, "old", i, 4000);
    mem_full = registry_memory(&reg);
    benchhuge_collapse(&reg, cold); /* as the daemon has them within seconds */
    rss_full = bench_rss_bytes();
    if (baseline && benchtouch_setup(&touch, mem_full) != 0)
        return 1;

    /* The old schedule's tick: one call of 2000 series, timed (part of the sweep). */
    t0 = benchutil_now_ns();
    freed = registry_expire(&reg, 6001, 2000);
    old_call_ns = benchutil_now_ns() - t0;
    freed += sweep(&reg, 6001, &fig, baseline ? &touch : NULL);
    if (baseline)
        benchtouch_release(&touch); /* before the RSS is read */
    mem_after = registry_memory(&reg);
    rss_after = bench_rss_bytes();
    trim_ns = trim();
    rss_trimmed = bench_rss_bytes();
    rate = (double)n / ((double)fig.ns / 1e9);
    array_rate = array_scan_rate(n);

    printf("bench_expiry: %zu series, ttl 5 s, %.0f%% of them expired\n", n,
           100.0 - 100.0 / (double)keep);
    printf("  sweep: %zu freed in %.1f ms of sweep (%zu steps of %d): %.2f M series/s looked "
           "at, %.2f M/s freed\n",
           freed, (double)fig.ns / 1e6, fig.steps, STEP, rate / 1e6,
           (double)freed / ((double)fig.ns / 1e9) / 1e6);
    printf("  worst slice %.2f ms (a slice ends after %.1f ms), worst step %.3f ms\n",
           (double)fig.worst_slice / 1e6, (double)SLICE_NS / 1e6, (double)fig.worst_step / 1e6);
    if (baseline)
        printf("  baseline, %d x %d random writes over %.1f MB a piece, after each slice one "
               "for each of its steps, no ustatsd code: longest piece %.3f ms\n",
               STEP, BENCHTOUCH_SERIES, (double)mem_full / 1e6, (double)fig.touch_step / 1e6);
    printf("  baseline, old schedule: 2000 per 50 ms tick = 0.04 M series/s (a tick took "
           "%.2f ms here)\n",
           (double)old_call_ns / 1e6);
    printf("  baseline, plain array scan of the last updates: %.1f M series/s\n", array_rate / 1e6);
    printf("  registry memory %.1f MB -> %.1f MB (a registry that only held the survivors: "
           "%.1f MB)\n",
           (double)mem_full / 1e6, (double)mem_after / 1e6, (double)base_mem / 1e6);
    printf("  RSS %.1f MB -> %.1f MB, after malloc_trim %.1f MB (took %.2f ms); a process "
           "that only held the survivors: %.1f MB\n",
           (double)rss_full / 1e6, (double)rss_after / 1e6, (double)rss_trimmed / 1e6,
           (double)trim_ns / 1e6, (double)base_rss / 1e6);
    benchresult("expiry", n, "expired_percent", 100.0 - 100.0 / (double)keep);
    benchresult("expiry", n, "sweep_series_per_s", rate);
    benchresult("expiry", n, "worst_slice_ms", (double)fig.worst_slice / 1e6);
    benchresult("expiry", n, "worst_step_ms", (double)fig.worst_step / 1e6);
    if (baseline)
        benchresult("expiry", n, "baseline_touch_step_ms", (double)fig.touch_step / 1e6);
    benchresult("expiry", n, "rss_before_bytes", (double)rss_full);
    benchresult("expiry", n, "rss_after_trim_bytes", (double)rss_trimmed);
    benchresult("expiry", n, "survivors_only_rss_bytes", (double)base_rss);
    if (quick)
        goto verdict;

    /* The refill: every survivor expired, N new series at the cap, no sweep; twice. */
    t0 = benchutil_now_ns();
    for (i = 0; i < n; i++)
        lost += put(&reg, "new", i, 20000) != STATSD_OK;
    for (i = 0; i < n; i++)
        lost += put(&reg, "again", i, 30000) != STATSD_OK;
    refill_ns = benchutil_now_ns() - t0;
    printf("  refill: 2 x %zu new series at the cap with no sweep: %zu lines lost, %.2f M "
           "lines/s\n",
           n, lost, 2.0 * (double)n / ((double)refill_ns / 1e9) / 1e6);

    /* The end: all but 3 series expire. */
    for (i = 0; i < 3; i++)
        put(&reg, "again", i, 34000);
    sweep(&reg, 36001, &fig3, NULL);
    rss3 = bench_rss_bytes();
    trim3_ns = trim();
    rss3_trimmed = bench_rss_bytes();
    printf("  all but 3 expire: %.1f ms of sweep, worst slice %.2f ms; registry memory %.2f MB, "
           "RSS %.1f MB, after malloc_trim %.1f MB (took %.2f ms)\n",
           (double)fig3.ns / 1e6, (double)fig3.worst_slice / 1e6,
           (double)registry_memory(&reg) / 1e6, (double)rss3 / 1e6, (double)rss3_trimmed / 1e6,
           (double)trim3_ns / 1e6);
    benchresult("expiry", n, "refill_lines_lost", (double)lost);
verdict:
    if (rate < 1e6) {
        printf("FAIL: sweep below 1 M series/s\n");
        fail = 1;
    }
    if (fig.worst_slice > 5000000 || (!quick && fig3.worst_slice > 5000000)) {
        printf("FAIL: a slice held the loop more than 5 ms\n");
        fail = 1;
    }
    if (mem_after > base_mem * 2 + (n * 12)) {
        printf("FAIL: registry memory above twice the survivors' (+ 12 B of ids a value)\n");
        fail = 1;
    }
    if (lost != 0) {
        printf("FAIL: refill lost lines\n");
        fail = 1;
    }
    registry_release(&reg);
    cfgload_release(&cfg);
    return fail;
}
