/*
 * bench_reload: what a configuration reload (SIGHUP) costs the loop at 100,000 series.
 *
 *     bench_reload [path/to/ustatsd] [--series N] [--runs N | --quick] [--cold] [--no-touch]
 *                                         (or $USTATSD_BIN; BENCH_RUNS windows, at most 5)
 *
 * The daemon holds bench_http's mix, N series (100,000 by default): 60% counters, 30%
 * gauges, 10% histograms. Each reload renames the gauge family (bench_queue_depth <->
 * bench_queue_depth_v2): the counters and histograms carry over, and the gauge series are
 * retired, which the daemon frees a slice at a time on its expiry ticks, while the
 * renamed family starts empty. The file is read and checked on a worker thread; the loop
 * only swaps it in. A window lasts until the retired series are freed (the daemon's
 * ustatsd_series_memory_bytes holds still).
 *
 * Around each reload runs bench_http's loop-hold probe (GET /-/healthy every 1 ms on a
 * keep-alive connection while a sender updates series) for as long as the reload and the
 * drain take; then a baseline window as long with no reload, measured in the same run.
 * Printed: the time from SIGHUP until the debug view counts the reload, the time the swap
 * held the loop (as the daemon logs it), the health checks in both windows and the
 * daemon's longest loop turn in each (its ustatsd_event_loop_iteration_seconds, read on an
 * endpoint of its own metrics); and result lines (benchresult.h): swap_max_ms,
 * worst_turn_ms, baseline_worst_turn_ms, the same two in the loop thread's CPU time
 * (worst_turn_cpu_ms, baseline_worst_turn_cpu_ms: ustatsd_event_loop_iteration_cpu_seconds,
 * the daemon's own part of a turn), how many turns took over 5 ms in either (turns_over_5ms,
 * baseline_turns_over_5ms, cpu_turns_over_5ms, baseline_cpu_turns_over_5ms: a longest turn
 * is one event, which a stall of the machine's own makes), healthy_max_ms, applied_ms.
 *
 * And the machine's own figure in the same run (benchtouch.h), as bench_sweep has for the
 * sweep: right after the population this process writes a mapping as big as the
 * registry and leaves it alone (as the daemon's series are, but for the sender's updates
 * in the windows); right before each reload (not within its window, where it would hold
 * back the probe's threads on the same CPU) it writes random lines of it as the drain's
 * slices would: a piece for each TOUCH_STEP series the reload retires, of TOUCH_STEP *
 * BENCHTOUCH_SERIES lines, in slices that end after 1 ms of this thread's CPU. Result
 * lines touch_worst_slice_cpu_ms and touch_slices_over_5ms, over all the reloads, beside
 * the daemon's turns: where a hypervisor stalls the first writes to memory left alone (its
 * own faults, which a thread's CPU clock counts), both show it. --no-touch: none.
 *
 * Last, what the lines after a reload cost: a pass of one line to each series (after one
 * to warm them all), a SIGHUP with the same file, and the same pass again, each timed in
 * the daemon's CPU (/proc, in clock ticks) until it has accepted every line: ns a line
 * before and after (pass_before_ns, pass_after_ns). A family the file leaves alike keeps
 * its lines in the front cache, so the two should match; a daemon that forgets the cache
 * on a reload takes every series' next line through the full parse.
 */
#include <signal.h>

#include "bench_http.h"
#include "benchtouch.h"

#define TOUCH_STEP     256     /* series a piece stands for: daemon/app.c's EXPIRE_STEP */
#define TOUCH_SLICE_NS 1000000 /* a slice: daemon/app.c's EXPIRE_SLICE_NS */

#define TARGET_MS    5.0 /* issue 30's bound at 1M series (10 ms at 10M) */
#define SETTLE_POLLS 3   /* the drain is over when the memory holds still this many polls */
#define SETTLE_MS    100 /* apart (two expiry ticks) */

struct reloads {
    int done;
    uint64_t applied_ns; /* SIGHUP to applied, summed over the reloads */
    char *renamed;       /* the config with the gauge family renamed */
    size_t retired;      /* gauge series a reload retires */
    int touching;        /* the machine's figure (header) */
    struct benchtouch touch;
    struct benchtouch_figures tf;
};

static void write_config(struct bench_http *b, const char *text)
{
    FILE *f = fopen(b->d.config, "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        bench_http_die(b, errno, "write %s", b->d.config);
}

/* Reloads the daemon has applied, from the debug view. */
static int reloads_applied(struct bench_http *b)
{
    char *body = NULL;
    const char *p;
    int n = -1;

    if (daemon_get(&b->d, "/debug?section=daemon", NULL, &body) == 200 && body &&
        (p = strstr(body, "\"succeeded\":")) != NULL)
        n = atoi(p + strlen("\"succeeded\":"));
    free(body);
    return n;
}

/*
 * Wait until the retired series are freed: ustatsd_series_memory_bytes, which counts
 * them, holds still for SETTLE_POLLS polls (the sender only updates live series).
 */
static void wait_drained(struct bench_http *b)
{
    uint64_t deadline = benchutil_now_ns() + (30 + b->have / 20000) * 1000000000ull;
    double last = -1;
    int still = 0;

    while (still < SETTLE_POLLS) {
        double mem = bench_http_self_value(b, "ustatsd_series_memory_bytes");

        still = mem == last ? still + 1 : 0;
        last = mem;
        if (benchutil_now_ns() > deadline)
            bench_http_die(b, 0, "the retired series were not freed in time");
        usleep(SETTLE_MS * 1000);
    }
}

/*
 * Write text as the config, SIGHUP, and wait until applied; then until drained, if drain.
 * Returns the ns from SIGHUP to applied.
 */
static uint64_t sighup(struct bench_http *b, struct reloads *r, const char *text, int drain)
{
    uint64_t t0, applied;

    write_config(b, text);
    t0 = benchutil_now_ns();
    r->done++;
    if (kill(b->d.pid, SIGHUP) != 0)
        bench_http_die(b, errno, "kill");
    while (reloads_applied(b) < r->done) {
        if (benchutil_now_ns() - t0 > 60000000000ull)
            bench_http_die(b, 0, "reload %d was not applied within 60 s", r->done);
        usleep(1000);
    }
    applied = benchutil_now_ns() - t0;
    if (drain)
        wait_drained(b);
    return applied;
}

/*
 * One line to each series, and the daemon's CPU seconds until it has accepted them all
 * (the sender blocks: nothing is lost).
 */
static double pass_cpu(struct bench_http *b, size_t n, unsigned round)
{
    double want = bench_http_self_value(b, "ustatsd_lines_accepted_total") + (double)n;
    double cpu = bench_http_daemon_cpu(b);
    uint64_t deadline = benchutil_now_ns() + (30 + n / 50000) * 1000000000ull;

    bench_http_send_series(b, 0, n, round);
    while (bench_http_self_value(b, "ustatsd_lines_accepted_total") < want) {
        if (benchutil_now_ns() > deadline)
            bench_http_die(b, 0, "a pass of %zu lines was not accepted in time", n);
        usleep(2000);
    }
    return bench_http_daemon_cpu(b) - cpu;
}

/*
 * bench_http_action: one reload and its drain, timed from SIGHUP until the retired
 * series are freed; the time until applied is added to r->applied_ns.
 */
static uint64_t reload_once(struct bench_http *b, void *arg)
{
    struct reloads *r = arg;
    uint64_t t0 = benchutil_now_ns();

    r->applied_ns += sighup(b, r, (r->done + 1) % 2 ? r->renamed : b->config, 1);
    return benchutil_now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The swap times the daemon logged: "configuration reloaded from F in X ms"; the max. */
static double print_swaps(struct bench_http *b)
{
    char *log = daemon_read_file(b->d.log);
    double ms[BENCH_HTTP_PROBE_WINDOWS];
    const char *p = log;
    int n = 0;

    while (p && n < BENCH_HTTP_PROBE_WINDOWS && (p = strstr(p, "configuration reloaded")) &&
           (p = strstr(p, " in ")) != NULL)
        ms[n++] = strtod(p + 4, NULL);
    free(log);
    if (n == 0)
        bench_http_die(b, 0, "no reload in the daemon's log");
    qsort(ms, (size_t)n, sizeof(ms[0]), cmp_double);
    printf("  swap on the loop (the daemon's log): median %.2f ms, max %.2f ms over %d "
           "reloads\n",
           ms[n / 2], ms[n - 1], n);
    return ms[n - 1];
}

/*
 * Turns over TARGET_MS, a bound of the daemon's histograms, added up over the windows of
 * one kind: in wall time and in CPU time, and all the turns counted.
 */
struct over {
    double wall, cpu, turns; /* wall or cpu -1: a histogram without the bound */
};

static void count_over(struct over *o, const struct benchresult_turns *before,
                       const struct benchresult_turns *after)
{
    double total, n;

    n = benchresult_hist_over(&before->wall, &after->wall, TARGET_MS, &total);
    o->wall = n < 0 || o->wall < 0 ? -1 : o->wall + n;
    o->turns += total;
    n = benchresult_hist_over(&before->cpu, &after->cpu, TARGET_MS, &total);
    o->cpu = n < 0 || o->cpu < 0 ? -1 : o->cpu + n;
}

/*
 * A probe window (reload, or none) between two readings of the loop turns: the longest,
 * and the turns over TARGET_MS added to *o.
 */
static struct bench_http_window window(struct bench_http *b, struct reloads *r, unsigned pause_ms,
                                       double *worst_ms, double *worst_cpu_ms, struct over *o)
{
    struct benchresult_turns before, after;
    struct bench_http_window w;
    double ms;

    if (r != NULL && r->touching)
        benchtouch_slices(&r->touch, (r->retired + TOUCH_STEP - 1) / TOUCH_STEP,
                          (size_t)TOUCH_STEP * BENCHTOUCH_SERIES, TOUCH_SLICE_NS, TARGET_MS,
                          &r->tf);
    bench_http_turns(b, &before);
    w = r != NULL ? bench_http_probe_action(b, NULL, reload_once, r, 0)
                  : bench_http_probe_window(b, NULL, pause_ms);
    bench_http_turns(b, &after);
    ms = benchresult_turns_worst_ms(&before, &after);
    if (ms > *worst_ms)
        *worst_ms = ms;
    ms = benchresult_turns_worst_cpu_ms(&before, &after);
    if (ms > *worst_cpu_ms || ms < 0)
        *worst_cpu_ms = ms;
    count_over(o, &before, &after);
    return w;
}

int main(int argc, char **argv)
{
    struct bench_http_window in[BENCH_HTTP_PROBE_WINDOWS], base[BENCH_HTTP_PROBE_WINDOWS];
    struct reloads r = { 0 };
    struct over over_in = { 0, 0, 0 }, over_base = { 0, 0, 0 };
    struct bench_http b;
    double worst = 0, worst_base = 0, worst_cpu = 0, worst_base_cpu = 0, healthy = 0;
    double before, after;
    size_t n_series;
    int n, i;

    bench_http_start(&b, "bench_reload", argc, argv, BENCH_HTTP_LARGE);
    n_series = b.series ? b.series : BENCH_HTTP_LARGE;
    if ((r.renamed = bench_http_config_text(b.cap, b.self, "bench_queue_depth_v2")) == NULL)
        bench_http_die(&b, ENOMEM, "config");
    printf("bench_reload: %s, each reload retires %zu gauge series and keeps %zu\n",
           getenv("USTATSD_BIN"), n_series * 3 / 10, n_series - n_series * 3 / 10);
    bench_http_populate(&b, n_series);
    r.retired = n_series * 3 / 10;
    r.touching =
        !bench_http_opt(&b, "--no-touch") &&
        benchtouch_setup(&r.touch,
                         (size_t)bench_http_self_value(&b, "ustatsd_series_memory_bytes")) == 0;
    n = b.runs < BENCH_HTTP_PROBE_WINDOWS ? b.runs : BENCH_HTTP_PROBE_WINDOWS;
    for (i = 0; i < n; i++) {
        unsigned ms;

        in[i] = window(&b, &r, 0, &worst, &worst_cpu, &over_in);
        ms = (unsigned)(in[i].request_ns / 1000000u);
        base[i] = window(&b, NULL, ms, &worst_base, &worst_base_cpu, &over_base);
        healthy = bench_http_ms(in[i].max_ns) > healthy ? bench_http_ms(in[i].max_ns) : healthy;
    }
    /*
     * The pass after a reload that changes nothing (header), with the first file in force
     * (the passes send its gauge family's name), once the drains are over.
     */
    if (r.done % 2)
        sighup(&b, &r, b.config, 1);
    pass_cpu(&b, n_series, 1000001);
    before = pass_cpu(&b, n_series, 1000002);
    sighup(&b, &r, b.config, 0);
    after = pass_cpu(&b, n_series, 1000003);
    printf("loop hold at %zu series: GET /-/healthy every 1 ms (keep-alive) while a sender "
           "updates series:\n",
           b.have);
    bench_http_print_windows("reload and drain:", "SIGHUP to drained", in, n);
    bench_http_print_windows("baseline, none:", "SIGHUP to drained", base, n);
    printf("  SIGHUP to applied (the debug view counts it): %.1f ms on average\n",
           bench_http_ms(r.applied_ns) / n);
    printf("  longest loop turn (ustatsd_event_loop_iteration_seconds): <= %g ms during the "
           "reloads and drains, <= %g ms in the baselines\n",
           worst, worst_base);
    printf("  in CPU time (ustatsd_event_loop_iteration_cpu_seconds): <= %g ms during the "
           "reloads and drains, <= %g ms in the baselines\n",
           worst_cpu, worst_base_cpu);
    printf("  turns over %g ms: %.0f of %.0f during the reloads and drains (%.0f in CPU time), "
           "%.0f of %.0f in the baselines (%.0f in CPU time)\n",
           TARGET_MS, over_in.wall, over_in.turns, over_in.cpu, over_base.wall, over_base.turns,
           over_base.cpu);
    if (r.touching)
        printf("  the machine: %zu slices of random writes over %.1f MB left alone since the "
               "population, before each reload: longest <= %.2f ms of CPU, %zu over %g ms\n",
               r.tf.slices, (double)r.touch.len / 1e6, r.tf.worst_ms, r.tf.over, TARGET_MS);
    printf("  a line to each series before and after a reload that changes nothing (the daemon's "
           "CPU): %.0f and %.0f ns a line\n",
           before * 1e9 / (double)n_series, after * 1e9 / (double)n_series);
    benchresult("reload", b.have, "swap_max_ms", print_swaps(&b));
    benchresult("reload", b.have, "turns_over_5ms", over_in.wall);
    benchresult("reload", b.have, "baseline_turns_over_5ms", over_base.wall);
    benchresult("reload", b.have, "cpu_turns_over_5ms", over_in.cpu);
    benchresult("reload", b.have, "baseline_cpu_turns_over_5ms", over_base.cpu);
    benchresult("reload", b.have, "worst_turn_ms", worst);
    benchresult("reload", b.have, "baseline_worst_turn_ms", worst_base);
    benchresult("reload", b.have, "worst_turn_cpu_ms", worst_cpu);
    benchresult("reload", b.have, "baseline_worst_turn_cpu_ms", worst_base_cpu);
    benchresult("reload", b.have, "healthy_max_ms", healthy);
    benchresult("reload", b.have, "applied_ms", bench_http_ms(r.applied_ns) / n);
    benchresult("reload", b.have, "pass_before_ns", before * 1e9 / (double)n_series);
    benchresult("reload", b.have, "pass_after_ns", after * 1e9 / (double)n_series);
    if (r.touching) {
        benchresult("reload", b.have, "touch_worst_slice_cpu_ms", r.tf.worst_ms);
        benchresult("reload", b.have, "touch_slices_over_5ms", (double)r.tf.over);
        benchtouch_release(&r.touch);
    }
    fflush(stdout);
    bench_http_stop(&b);
    free(r.renamed);
    return 0;
}
