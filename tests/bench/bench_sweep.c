/*
 * bench_sweep: half the series expire in the real daemon; how long its loop turns are
 * while it sweeps them, against a window of the same traffic without expiry.
 *
 *     bench_sweep [path/to/ustatsd] [--series N] [--cold] [--no-touch]   (1,000,000 by default)
 *
 * bench_expiry measures the sweep in process; this is the daemon that runs it. The daemon
 * (bench_http.h: on CPU 1, the mix of counters, gauges and histograms) has a ttl of
 * 20 s + 3 s per 100,000 series on every family (20 s + 1 s per 100,000 with --cold, which
 * does not wait for the huge pages), and is filled with N series, one line each. Half of
 * them, in blocks of ten so that every kind is in both halves, are sent again at once
 * and then every third of the ttl, as live traffic keeps a series; the other half expire
 * ttl after they were made, which is after the population and the daemon's settling.
 * Two windows, each between two readings of the daemon's loop turns
 * (ustatsd_event_loop_iteration_seconds and its CPU time, the self endpoint):
 *   - the baseline: from the first refresh to one second before the first series can
 *     expire, the refreshes alone;
 *   - the sweep: from there until the daemon has expired exactly the other half
 *     (ustatsd_series_expired), the refreshes going on.
 * Then, once the daemon is idle, its resident memory and its registry's against what they
 * were before.
 *
 * And the machine's own figure in the same run (benchtouch.h): right after the population
 * this process writes a mapping as big as the registry, leaves it alone through the
 * baseline (as the expiring half of the store is), and as the sweep window opens writes
 * random lines of it as the sweep's slices would: pieces of SWEEP_STEP series of
 * BENCHTOUCH_SERIES lines, in slices that end after 1 ms of this thread's CPU, as many
 * pieces as the expiring half needs. Its longest slice is set beside the daemon's longest
 * turn: where a hypervisor stalls the first writes to memory left alone for minutes (its
 * own faults, which a thread's CPU clock counts), both show it. --no-touch: none. It dies when a kept series expires (the refresh fell behind) or the sweep
 * expires more or fewer than half.
 *
 * Printed: each window's length, longest turn and its CPU, and turns over 5 ms (issue
 * 30's target at 1M; 10 ms at 10M), the sweep's length from the first expiry to the last,
 * and the memory. Result lines (benchresult.h): sweep_worst_turn_ms,
 * sweep_worst_turn_cpu_ms, sweep_turns_over_5ms, baseline_worst_turn_ms,
 * baseline_worst_turn_cpu_ms, baseline_turns_over_5ms, sweep_seconds, rss_before_mb,
 * rss_after_mb, touch_worst_slice_cpu_ms, touch_slices_over_5ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_http.h"
#include "benchtouch.h"

#define DEFAULT_SERIES 1000000
#define OVER_MS        5.0
#define TOUCH_STEP     32      /* series a piece stands for: daemon/app.c's SWEEP_STEP */
#define TOUCH_SLICE_NS 1000000 /* a slice: daemon/app.c's EXPIRE_SLICE_NS */

/* The kept half: blocks of ten series (one of each kind of the mix) of even number. */
static size_t refresh(struct bench_http *b, size_t n, unsigned round)
{
    size_t i, kept = 0;

    for (i = 0; i < n; i += 20) {
        size_t end = i + 10 < n ? i + 10 : n;
        kept += bench_http_send_series(b, i, end, round);
    }
    return kept;
}

struct window {
    double seconds, worst_ms, worst_cpu_ms, over;
};

static void window_end(const struct benchresult_turns *before,
                       const struct benchresult_turns *after, uint64_t t0, struct window *w)
{
    double total;

    w->seconds = (double)(benchutil_now_ns() - t0) / 1e9;
    w->worst_ms = benchresult_turns_worst_ms(before, after);
    w->worst_cpu_ms = benchresult_turns_worst_cpu_ms(before, after);
    w->over = benchresult_hist_over(&before->wall, &after->wall, OVER_MS, &total);
}

/* A daemon without the CPU histogram (an older build) has a worst CPU turn of -1. */
static void print_window(const char *label, const struct window *w)
{
    char cpu[48] = "no CPU figure";

    if (w->worst_cpu_ms >= 0)
        snprintf(cpu, sizeof(cpu), "CPU <= %g ms", w->worst_cpu_ms);
    printf("  %-9s %6.1f s: longest loop turn <= %g ms (%s), %.0f turns over %g ms\n", label,
           w->seconds, w->worst_ms, cpu, w->over, OVER_MS);
}

int main(int argc, char **argv)
{
    struct bench_http b;
    struct benchresult_turns t0, t1, t2;
    struct window base, sweep;
    struct benchtouch touch = { 0 };
    struct benchtouch_figures tf = { 0 };
    int touching;
    size_t n, kept;
    double ttl, expired0, expired, rss0, rss1, mem0, mem1, first = 0;
    uint64_t made, start, next, deadline, now;
    unsigned round = 1;

    bench_http_args(&b, "bench_sweep", argc, argv);
    n = b.series ? b.series : DEFAULT_SERIES;
    b.series = n;
    /* Settling (huge pages, bench_http_settle) took 45 s at 10M, after a 60 s population. */
    ttl = 20.0 + (double)(n / 100000) * (bench_http_opt(&b, "--cold") ? 1 : 3);
    bench_http_launch(&b, n, ttl);
    printf("bench_sweep: %s, %zu series, ttl %g s, half of them kept by traffic\n",
           getenv("USTATSD_BIN"), n, ttl);
    made = benchutil_now_ns();
    bench_http_populate(&b, n);
    if ((double)(benchutil_now_ns() - made) / 1e9 > ttl / 2)
        bench_http_die(&b, 0, "the population and settling took over half the ttl");
    kept = refresh(&b, n, round++);
    expired0 = bench_http_self_value(&b, "ustatsd_series_expired_total");
    rss0 = bench_http_self_value(&b, "process_resident_memory_bytes");
    mem0 = bench_http_self_value(&b, "ustatsd_series_memory_bytes");
    touching = !bench_http_opt(&b, "--no-touch") && benchtouch_setup(&touch, (size_t)mem0) == 0;
    next = benchutil_now_ns() + (uint64_t)(ttl / 3 * 1e9);

    /* The baseline: up to a second before the first series made can expire. */
    bench_http_turns(&b, &t0);
    start = benchutil_now_ns();
    while ((now = benchutil_now_ns()) < made + (uint64_t)((ttl - 1) * 1e9)) {
        if (now >= next) {
            refresh(&b, n, round++);
            next = now + (uint64_t)(ttl / 3 * 1e9);
        }
        usleep(20000);
    }
    bench_http_turns(&b, &t1);
    window_end(&t0, &t1, start, &base);

    /* The sweep: until the other half has expired; the machine's figure first. */
    start = benchutil_now_ns();
    if (touching) {
        benchtouch_slices(&touch, (n - kept + TOUCH_STEP - 1) / TOUCH_STEP,
                          (size_t)TOUCH_STEP * BENCHTOUCH_SERIES, TOUCH_SLICE_NS, OVER_MS, &tf);
        benchtouch_release(&touch);
    }
    deadline = start + (uint64_t)((ttl + 60) * 1e9);
    for (;;) {
        now = benchutil_now_ns();
        if (now >= next) {
            refresh(&b, n, round++);
            next = now + (uint64_t)(ttl / 3 * 1e9);
        }
        expired = bench_http_self_value(&b, "ustatsd_series_expired_total") - expired0;
        if (expired > 0 && first == 0)
            first = (double)(now - start) / 1e9;
        if (expired > (double)(n - kept))
            bench_http_die(&b, 0, "%.0f series expired, more than the %zu not kept", expired,
                           n - kept);
        if (expired == (double)(n - kept))
            break;
        if (now > deadline)
            bench_http_die(&b, 0, "%.0f of %zu series expired in time", expired, n - kept);
        usleep(20000);
    }
    bench_http_turns(&b, &t2);
    window_end(&t1, &t2, start, &sweep);
    bench_http_settle(&b, n);
    rss1 = bench_http_self_value(&b, "process_resident_memory_bytes");
    mem1 = bench_http_self_value(&b, "ustatsd_series_memory_bytes");

    print_window("baseline", &base);
    print_window("sweep", &sweep);
    if (touching)
        printf("  the machine: %zu slices of random writes over %.1f MB left alone since the "
               "population: longest <= %.2f ms of CPU, %zu over %g ms\n",
               tf.slices, mem0 / 1e6, tf.worst_ms, tf.over, OVER_MS);
    printf("  %zu of %zu series expired, from %.1f s into the window to its end; resident "
           "%.1f -> %.1f MB, the registry's %.1f -> %.1f MB\n",
           n - kept, n, first, rss0 / 1e6, rss1 / 1e6, mem0 / 1e6, mem1 / 1e6);
    benchresult("sweep", n, "sweep_worst_turn_ms", sweep.worst_ms);
    benchresult("sweep", n, "sweep_worst_turn_cpu_ms", sweep.worst_cpu_ms);
    benchresult("sweep", n, "sweep_turns_over_5ms", sweep.over);
    benchresult("sweep", n, "baseline_worst_turn_ms", base.worst_ms);
    benchresult("sweep", n, "baseline_worst_turn_cpu_ms", base.worst_cpu_ms);
    benchresult("sweep", n, "baseline_turns_over_5ms", base.over);
    benchresult("sweep", n, "sweep_seconds", sweep.seconds - first);
    benchresult("sweep", n, "rss_before_mb", rss0 / 1e6);
    benchresult("sweep", n, "rss_after_mb", rss1 / 1e6);
    if (touching) {
        benchresult("sweep", n, "touch_worst_slice_cpu_ms", tf.worst_ms);
        benchresult("sweep", n, "touch_slices_over_5ms", (double)tf.over);
    }
    bench_http_stop(&b);
    return 0;
}
