/*
 * bench_steal: when the host did not run a virtual CPU, as the guest's kernel accounts it.
 * No ustatsd code: a clock for the other benchmarks' long turns.
 *
 *   bench_steal [--cpu N] [--seconds S] [--every-us U]
 *
 * A guest whose kernel accounts steal time (CONFIG_PARAVIRT_TIME_ACCOUNTING, and a host
 * that gives it) counts in /proc/stat the time the host did not run each virtual CPU
 * while the guest wanted it to (benchutil_steal_ms()). This reads it for CPU N (1 by
 * default: where the benchmarks pin the daemon) every U µs (2,000) for S seconds (600;
 * SIGINT or SIGTERM end it sooner), from the other CPU, and prints each change with the
 * CLOCK_MONOTONIC time it was seen, the clock of `perf record -k CLOCK_MONOTONIC`:
 *
 *   steal 72319.473613 cpu1 +10 ms
 *
 * then, as result lines (benchresult.h, series=0), the steal seen in all and the number of
 * changes. tests/bench/stalls.sh takes such a log and marks each gap of a recording with
 * the first change from its start to 5 ms after its end. A tick is seen on the next read
 * after the guest's kernel adds it, which it does on the CPU's next tick after the host
 * runs it again: a change follows the stop by up to a tick and a read. The total is shown
 * in ticks of 10 ms (at 100 Hz), so a stop shorter than that shows only when the total
 * crosses a tick.
 *
 * Exit status 1 when /proc/stat has no line for CPU N.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchresult.h"
#include "benchutil.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    int cpu = 1;
    double seconds = 600;
    long every_us = 2000;
    double first, last, now;
    unsigned long changes = 0;
    uint64_t t0, t;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc)
            cpu = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--every-us") == 0 && i + 1 < argc)
            every_us = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_steal [--cpu N] [--seconds S] [--every-us U]\n");
            return 2;
        }
    }
    if (cpu < 0 || seconds <= 0 || every_us <= 0 || every_us >= 1000000) {
        fprintf(stderr, "bench_steal: --cpu, --seconds and --every-us must be over 0 "
                        "(--every-us under 1,000,000)\n");
        return 2;
    }
    if ((first = benchutil_steal_ms(cpu)) < 0) {
        fprintf(stderr, "bench_steal: /proc/stat has no line for cpu%d\n", cpu);
        return 1;
    }
    benchutil_pin(cpu == BENCHUTIL_CPU_SENDER ? BENCHUTIL_CPU_RECEIVER : BENCHUTIL_CPU_SENDER);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    t0 = benchutil_now_ns();
    last = first;
    for (;;) {
        struct timespec d = { 0, every_us * 1000 };

        nanosleep(&d, NULL);
        t = benchutil_now_ns();
        now = benchutil_steal_ms(cpu);
        if (now > last) {
            printf("steal %.6f cpu%d +%.0f ms\n", (double)t / 1e9, cpu, now - last);
            fflush(stdout);
            changes++;
            last = now;
        }
        if (stop || (double)(t - t0) / 1e9 >= seconds)
            break;
    }
    printf("bench_steal: cpu%d, %.0f ms of steal in %lu changes\n", cpu, last - first, changes);
    benchresult("steal", 0, "steal_ms", last - first);
    benchresult("steal", 0, "changes", (double)changes);
    return 0;
}
