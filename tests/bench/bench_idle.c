/*
 * bench_idle: what this machine charges for touching a page it has not touched for a while,
 * with no ustatsd code at all. The figure beside a long piece of work that walks a big
 * store it had left alone (bench_steps' reload drain, bench_reload's, the sweep's).
 *
 *   bench_idle [--mb M] [--fresh-mb F] [--idle-s S] [--rounds R]
 *
 * A round writes every page of a mapping of M MiB (256 by default), then writes a second,
 * fresh mapping of F MiB (3072 by default, the order of a 10M-series store) and unmaps it,
 * leaves the first alone for S seconds (60 by default; bench_steps' tables at 10M sit idle
 * for about a minute between the population and the reload's drain), and then reads one
 * word of each page of the first mapping, timing each read alone (CLOCK_MONOTONIC): the
 * first touch after a while. Right after, the same pages are read again the same way: the
 * baseline, warm, in the same run. Printed per round and as result lines (benchresult.h,
 * series=0): the pages read, how many took over 20 µs and over 100 µs, the longest, and
 * the sum of those over 20 µs, for the first touch and the second. The thread's page
 * faults are read around each pass: a slow read with no fault is not a page fault of the
 * guest's.
 *
 * Pinned to CPU 1, as the daemon is in the other benchmarks. Exit status 1 when a mapping
 * fails; no target is checked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "benchresult.h"
#include "benchutil.h"

#define PAGE 4096u

struct pass {
    size_t pages, over20, over100;
    double max_us, slow_ms;
    long faults;
};

static long thread_faults(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_minflt + ru.ru_majflt;
}

/* Read one word of each page of mem (len bytes), each read timed alone. */
static void read_pages(const volatile uint64_t *mem, size_t len, struct pass *p, uint64_t *sum)
{
    long f0 = thread_faults();

    memset(p, 0, sizeof *p);
    for (size_t o = 0; o < len; o += PAGE) {
        uint64_t t0 = benchutil_now_ns();
        double us;

        *sum += mem[o / sizeof *mem];
        us = (double)(benchutil_now_ns() - t0) / 1e3;
        p->pages++;
        if (us > 20) {
            p->over20++;
            p->slow_ms += us / 1e3;
        }
        p->over100 += us > 100;
        p->max_us = us > p->max_us ? us : p->max_us;
    }
    p->faults = thread_faults() - f0;
}

static void *map_written(size_t len)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (m == MAP_FAILED) {
        perror("bench_idle: mmap");
        exit(1);
    }
    madvise(m, len, MADV_HUGEPAGE); /* as the store's full regions are */
    memset(m, 1, len);
    return m;
}

static void report(const char *what, unsigned round, const struct pass *p)
{
    char key[64];

    printf("  round %u %-6s %8zu pages  over 20 us %6zu (%7.3f ms)  over 100 us %6zu  "
           "longest %8.1f us  faults %ld\n",
           round, what, p->pages, p->over20, p->slow_ms, p->over100, p->max_us, p->faults);
    snprintf(key, sizeof key, "%s_pages_over_20us", what);
    benchresult("idle", 0, key, (double)p->over20);
    snprintf(key, sizeof key, "%s_pages_over_100us", what);
    benchresult("idle", 0, key, (double)p->over100);
    snprintf(key, sizeof key, "%s_slow_ms", what);
    benchresult("idle", 0, key, p->slow_ms);
    snprintf(key, sizeof key, "%s_longest_us", what);
    benchresult("idle", 0, key, p->max_us);
}

int main(int argc, char **argv)
{
    size_t mb = 256, fresh_mb = 3072, idle_s = 60;
    unsigned rounds = 1;
    uint64_t sum = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc)
            mb = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--fresh-mb") == 0 && i + 1 < argc)
            fresh_mb = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--idle-s") == 0 && i + 1 < argc)
            idle_s = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (unsigned)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: bench_idle [--mb M] [--fresh-mb F] [--idle-s S] [--rounds R]\n");
            return 2;
        }
    }
    if (mb == 0 || rounds == 0) {
        fprintf(stderr, "bench_idle: --mb and --rounds must be over 0\n");
        return 2;
    }
    benchutil_pin(BENCHUTIL_CPU_RECEIVER);
    printf("bench_idle: %zu MiB read a page at a time after %zu MiB of fresh memory and %zu s "
           "idle, then again\n",
           mb, fresh_mb, idle_s);
    for (unsigned r = 1; r <= rounds; r++) {
        size_t len = mb << 20, flen = fresh_mb << 20;
        uint64_t *mem = map_written(len);
        struct pass first, again;

        if (flen > 0)
            munmap(map_written(flen), flen);
        if (idle_s > 0) {
            struct timespec ts = { (time_t)idle_s, 0 };

            nanosleep(&ts, NULL);
        }
        read_pages(mem, len, &first, &sum);
        read_pages(mem, len, &again, &sum);
        report("first", r, &first);
        report("again", r, &again);
        munmap(mem, len);
    }
    return sum == 42 ? 3 : 0; /* keeps the reads */
}
