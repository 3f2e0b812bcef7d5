/*
 * bench_intake: the intake's own CPU per line at N series, in process: no socket, no
 * kernel, no other process, so that the user-space cost of a line can be compared from
 * 1,000 series to 1,000,000 on a machine whose receive path is noisy.
 *
 *   bench_intake [--series N[,N...]] [--mix uniform|zipf] [--rounds R] [--lines L]
 *                [--per P] [--shape http|ingest] [--no-collapse]
 *
 * For each N (1k, 100k and 1M by default), a fresh registry of one counter family
 * (--shape ingest: bench_ingest's three, a counter, a gauge and a 12-bucket histogram, a
 * third of the series each, with its lines) gets one line for each of its N series,
 * then L lines (2,000,000 by default) spread over them (uniform: each line's series drawn
 * at random; zipf: series k with a probability proportional to 1 / (k + 1)), 20 lines a
 * datagram as bench_ingest sends them, in batches of 64 datagrams copied into separate
 * buffers, as recvmmsg leaves them, each taken by intake_datagram() as the daemon takes
 * it. After the untimed warm-up, the
 * registry's full regions and settled tables go into huge pages (registry_ripe,
 * slab_collapse), as the daemon's state thread puts them while it runs
 * (daemon/hugepages.h); --no-collapse leaves them in small pages, to see what that is
 * worth.
 * The figure is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) over the load, per line,
 * the median of the rounds, beside its ratio to the smallest N's (the first given), the
 * baseline of the same run: whatever the machine's speed at the time, the ratio says
 * what the number of series costs. Also printed: the share of the lines the front cache
 * found, and the process's memory in huge pages after the rounds (mem.h, slab.h). Every
 * line must be accepted (exit 1 otherwise); the figures have no target here
 * (bench_ingest and cardinality.sh hold the issue's, with the kernel's part).
 *
 * Beside it, the floor of an exact aggregator (benchfloor.h, bench_ingest's second
 * baseline) takes the same load the same way, each round right after the intake: its CPU
 * per line at N series (floor_ns_per_line) is what the least an aggregator must do costs
 * on this machine, and the intake's ratio to it what ustatsd's own work costs on top. So
 * does the floor of a statsd aggregator (statsd_floor_ns_per_line): the same, and what the
 * statsd format asks of each line (benchfloor.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "base/slab.h"
#include "base/wallclock.h"
#include "benchfloor.h"
#include "benchresult.h"
#include "config/cfgload.h"
#include "config/config.h"
#include "ingest/ingest.h"
#include "ingest/intake.h"
#include "ingest/rejects.h"
#include "statsd_scanner.h"
#include "store/jobs.h"
#include "store/registry.h"

#define BATCH     64
#define SLOT      8192 /* bytes of a datagram's buffer, as the daemon's batch has them */
#define MAX_SIZES 8

static const char config_text[] =
    "{\"limits\": {\"max_series\": %zu, \"max_series_per_family\": %zu},"
    " \"families\": ["
    "  {\"name\": \"http_requests\", \"type\": \"counter\", \"help\": \"Requests.\","
    "   \"labels\": [{\"name\": \"route\", \"max_values\": %zu},"
    "              {\"name\": \"code\", \"max_values\": 1000}]}"
    " ]}";

/* --shape ingest: bench_ingest's load, a counter, a gauge and a 12-bucket histogram family. */
static const char ingest_config_text[] =
    "{\"limits\": {\"max_series\": %zu, \"max_series_per_family\": %zu},"
    " \"families\": ["
    "  {\"name\": \"bench.requests\", \"type\": \"counter\", \"help\": \"R.\","
    "   \"labels\": [{\"name\": \"k\", \"max_values\": %zu},"
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},"
    "  {\"name\": \"bench.inflight\", \"type\": \"gauge\", \"help\": \"I.\","
    "   \"labels\": [{\"name\": \"k\", \"max_values\": %zu},"
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},"
    "  {\"name\": \"bench.latency_seconds\", \"type\": \"histogram\", \"help\": \"L.\","
    "   \"buckets\": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],"
    "   \"labels\": [{\"name\": \"k\", \"max_values\": %zu},"
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]}"
    " ]}";

static double clock_unix(void *arg)
{
    (void)arg;
    return (double)wallclock_ms() / 1e3;
}

static uint64_t thread_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned per = 20; /* lines a datagram (--per) */
static int collapse = 1;  /* --no-collapse: 0 */
static int shape_ingest;  /* --shape ingest: bench_ingest's lines */

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Series k of n by Zipf's law (exponent 1), by inverting the harmonic sum's estimate. */
static size_t zipf(size_t n)
{
    double h = log((double)n) + 0.5772156649;
    double u = (double)(rng() >> 11) / 9007199254740992.0 * h;
    double k = exp(u - 0.5772156649);

    return k < 1 ? 0 : (size_t)k - 1 < n ? (size_t)k - 1 : n - 1;
}

/* Line i of the load, to series. */
static int line_of(char *out, size_t cap, size_t series, size_t i)
{
    if (shape_ingest) {
        switch (series % 3) {
        case 0:
            return snprintf(out, cap, "bench.requests:1|c|#k:s%zu,env:prod\n", series);
        case 1:
            return snprintf(out, cap, "bench.inflight:%u|g|#k:s%zu,env:prod\n", (unsigned)(i % 97),
                            series);
        default:
            return snprintf(out, cap, "bench.latency_seconds:0.%03u|h|#k:s%zu,env:prod\n",
                            (unsigned)(i % 1000), series);
        }
    }
    return snprintf(out, cap, "http_requests:1|c|#route:/api/v1/r%zu,code:%zu\n", series / 100,
                    200 + series % 100);
}

/* The load: datagrams of per lines, back to back, with their lengths. */
struct load {
    char *bytes;
    size_t *len;
    size_t ndgrams, nlines;
};

static void load_make(struct load *l, size_t nseries, size_t nlines, int zipf_mix, int warm)
{
    size_t cap = (nlines / per + 1) * per * 64, at = 0, i;

    l->bytes = mem_alloc(cap);
    l->len = mem_alloc((nlines / per + 1) * sizeof *l->len);
    l->ndgrams = 0;
    l->nlines = nlines;
    for (i = 0; i < nlines; i++) {
        size_t s = warm ? i : zipf_mix ? zipf(nseries) : (size_t)(rng() % nseries);

        if (i % per == 0)
            l->len[l->ndgrams++] = 0;
        int n = line_of(l->bytes + at, cap - at, s, i);
        at += (size_t)n;
        l->len[l->ndgrams - 1] += (size_t)n;
    }
}

static void load_free(struct load *l)
{
    free(l->bytes);
    free(l->len);
}

/*
 * What recvmmsg does: the n datagrams of l from d, whose bytes start at *p, copied into
 * the receive buffers. Returns how many.
 */
static size_t receive(const struct load *l, size_t d, const char **p, char *slots)
{
    size_t n = l->ndgrams - d < BATCH ? l->ndgrams - d : BATCH;

    for (size_t i = 0; i < n; i++) {
        memcpy(slots + i * SLOT, *p, l->len[d + i]);
        slots[i * SLOT + l->len[d + i]] = '\0';
        *p += l->len[d + i];
    }
    return n;
}

/* Datagram i of the batch of n (at slots) staged at step, as ingest/ingestrecv.c does. */
static void hint(struct intake *in, const struct load *l, size_t d, size_t i, size_t n,
                 const char *slots, enum intake_stage_step step)
{
    if (i < n)
        intake_stage(in, slots + i * SLOT, l->len[d + i], step);
}

/* Take the whole load (hints: as the daemon hints a batch); returns the CPU ns over it. */
static uint64_t take(struct intake *in, const struct load *l, char *slots, int hints)
{
    const char *p = l->bytes;
    uint64_t spent = 0;

    for (size_t d = 0; d < l->ndgrams; d += BATCH) {
        size_t n = receive(l, d, &p, slots), i;
        uint64_t t = thread_ns();

        if (hints) {
            for (i = 0; i < INGEST_HINT_SCAN_AHEAD; i++)
                hint(in, l, d, i, n, slots, INTAKE_SCAN);
            for (i = 0; i < INGEST_HINT_FETCH_AHEAD; i++)
                hint(in, l, d, i, n, slots, INTAKE_FETCH);
        }
        for (i = 0; i < n; i++) {
            if (hints) {
                hint(in, l, d, i + INGEST_HINT_SCAN_AHEAD, n, slots, INTAKE_SCAN);
                hint(in, l, d, i + INGEST_HINT_FETCH_AHEAD, n, slots, INTAKE_FETCH);
            }
            intake_datagram(in, slots + i * SLOT, l->len[d + i], NULL, 1);
        }
        if (hints)
            intake_stage(in, NULL, 0, INTAKE_FORGET);
        spent += thread_ns() - t;
    }
    return spent;
}

/*
 * The same load into the floor, f, or the statsd floor, sf (benchfloor.h; the other NULL),
 * the lines of a batch's datagrams added together; returns the thread's CPU ns, or 0 if a
 * line went missing.
 */
static uint64_t take_floor(struct benchfloor *f, struct benchfloor_statsd *sf, const struct load *l,
                           char *slots)
{
    const char *p = l->bytes;
    uint64_t spent = 0, lines = 0;

    for (size_t d = 0; d < l->ndgrams; d += BATCH) {
        size_t n = receive(l, d, &p, slots), i;
        uint64_t t = thread_ns();

        for (i = 0; i < n; i++)
            lines += benchfloor_take_into(f, sf, slots + i * SLOT, l->len[d + i]);
        benchfloor_flush_into(f, sf);
        spent += thread_ns() - t;
    }
    return lines == l->nlines ? spent : 0;
}

/* The share of the load's lines the front cache finds (the rest take the full parse). */
static double hit_share(const struct registry *reg, const struct load *l)
{
    const struct registry_hit *found[REGISTRY_FIND_MAX];
    struct statsd_parts lp[REGISTRY_FIND_MAX];
    const char *p = l->bytes;
    size_t hits = 0, lines = 0;

    for (size_t d = 0; d < l->ndgrams; p += l->len[d], d++) {
        struct statsd_scanner scan;
        size_t n;

        statsd_scanner_init(&scan, p, l->len[d]);
        do {
            n = statsd_scanner_fill(&scan, lp, REGISTRY_FIND_MAX);
            registry_find_parts(reg, lp, n, found);
            for (size_t i = 0; i < n; i++) {
                lines += lp[i].line.len > 0;
                hits += found[i] != NULL;
            }
        } while (n == REGISTRY_FIND_MAX);
    }
    return lines != 0 ? (double)hits / (double)lines : 0;
}

/* The process's anonymous memory in huge pages now, in MiB (-1: not known). */
static double huge_mib(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    double kb = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "AnonHugePages: %lf", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The full regions of series put in huge pages, as the daemon's state thread does
 * (daemon/hugepages.h) while the load runs: here before it, untimed.
 */
static void collapse_full(struct registry *reg)
{
    void *base;
    size_t len;

    while (registry_ripe(reg, &base, &len))
        slab_collapse(base, len);
}

/* One size: the median of ns per line, and the share of lines cached. Returns 0 or -1. */
static int run(size_t nseries, size_t nlines, int zipf_mix, unsigned rounds, double *ns,
               double *hinted_ns, double *floor_ns, double *sfloor_ns, double *hits, double *huge)
{
    double hv[64];
    struct benchfloor floor;
    struct benchfloor_statsd sfloor;
    double fv[64], sv[64];
    char text[2048], err[512];
    struct config cfg;
    struct registry reg;
    struct jobs jobs;
    struct rejects *rejects = mem_calloc(1, sizeof *rejects);
    struct intake in;
    struct load warm, load;
    char *slots = mem_alloc((size_t)BATCH * SLOT);
    double v[64];
    uint64_t want;

    if (shape_ingest)
        snprintf(text, sizeof text, ingest_config_text, nseries, nseries, nseries, nseries,
                 nseries);
    else
        snprintf(text, sizeof text, config_text, nseries, nseries, nseries / 100 + 1);
    if (cfgload_text(&cfg, text, strlen(text), "bench", err, sizeof err) < 0) {
        fprintf(stderr, "bench_intake: config: %s\n", err);
        return -1;
    }
    registry_init(&reg, &cfg);
    rejects_init(rejects);
    jobs_init(&jobs, &cfg, 1);
    intake_init(&in, &reg, &jobs, rejects, clock_unix, NULL);
    load_make(&warm, nseries, nseries, 0, 1);
    load_make(&load, nseries, nlines, zipf_mix, 0);
    /* Every series created, then a pass that caches each line as steady traffic does. */
    take(&in, &warm, slots, 0);
    take(&in, &warm, slots, 0);
    if (collapse)
        collapse_full(&reg);
    want = 2 * warm.nlines;
    if (benchfloor_init(&floor, nseries) < 0 || benchfloor_statsd_init(&sfloor, nseries) < 0) {
        fprintf(stderr, "bench_intake: the floor's table: out of memory\n");
        return -1;
    }
    take_floor(&floor, NULL, &warm, slots);
    take_floor(NULL, &sfloor, &warm, slots);
    *hits = hit_share(&reg, &load);
    if (rounds > 64)
        rounds = 64;
    for (unsigned r = 0; r < rounds; r++) {
        /* Without hints and with them, in turn first, so that neither always follows. */
        for (int k = 0; k < 2; k++) {
            int hints = (k + (int)r) % 2;
            double t = (double)take(&in, &load, slots, hints) / (double)load.nlines;

            *(hints ? &hv[r] : &v[r]) = t;
        }
        want += 2 * load.nlines;
        fv[r] = (double)take_floor(&floor, NULL, &load, slots) / (double)load.nlines;
        sv[r] = (double)take_floor(NULL, &sfloor, &load, slots) / (double)load.nlines;
        if (fv[r] == 0 || sv[r] == 0 || sfloor.dropped != 0) {
            fprintf(stderr, "bench_intake: the floor lost lines\n");
            return -1;
        }
    }
    *ns = median(v, rounds);
    *hinted_ns = median(hv, rounds);
    *floor_ns = median(fv, rounds);
    *sfloor_ns = median(sv, rounds);
    benchfloor_free(&floor);
    benchfloor_statsd_free(&sfloor);
    *huge = huge_mib();
    if (in.count.accepted != want || intake_rejected_total(&in.count) != 0) {
        fprintf(stderr, "bench_intake: %zu series: %llu lines accepted of %llu, %llu rejected\n",
                nseries, (unsigned long long)in.count.accepted, (unsigned long long)want,
                (unsigned long long)intake_rejected_total(&in.count));
        return -1;
    }
    load_free(&warm);
    load_free(&load);
    registry_release(&reg);
    jobs_release(&jobs);
    cfgload_release(&cfg);
    free(slots);
    free(rejects);
    return 0;
}

int main(int argc, char **argv)
{
    size_t sizes[MAX_SIZES] = { 1000, 100000, 1000000 }, nsizes = 3, nlines = 2000000;
    double ns[MAX_SIZES], hinted[MAX_SIZES], floor_ns[MAX_SIZES], sfloor_ns[MAX_SIZES];
    double hits[MAX_SIZES], huge;
    unsigned rounds = 5;
    int zipf_mix = 0;

    mem_setup();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
            nsizes = benchresult_series_list(argv[++i], sizes, MAX_SIZES);
        } else if (strcmp(argv[i], "--mix") == 0 && i + 1 < argc) {
            zipf_mix = strcmp(argv[++i], "zipf") == 0;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc) {
            nlines = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--per") == 0 && i + 1 < argc) {
            per = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "ingest") != 0 && strcmp(argv[i], "http") != 0) {
                fprintf(stderr, "bench_intake: --shape http or ingest, not %s\n", argv[i]);
                return 2;
            }
            shape_ingest = strcmp(argv[i], "ingest") == 0;
        } else if (strcmp(argv[i], "--no-collapse") == 0) {
            collapse = 0;
        } else {
            fprintf(stderr,
                    "usage: bench_intake [--series N[,N...]] [--mix uniform|zipf] [--rounds R]"
                    " [--lines L] [--per P] [--shape http|ingest] [--no-collapse]\n");
            return 2;
        }
    }
    if (per == 0 || per > 100) {
        fprintf(stderr, "bench_intake: --per must be in 1..100\n");
        return 2;
    }
    nlines -= nlines % per;
    if (nsizes == 0 || rounds == 0 || nlines == 0) {
        fprintf(stderr, "bench_intake: nothing to measure\n");
        return 2;
    }
    printf("intake CPU per line, in process, %s mix, %zu lines, %u a datagram, median of %u "
           "rounds\n",
           zipf_mix ? "zipf" : "uniform", nlines, per, rounds);
    printf("%10s %8s %12s %12s %10s %10s %12s %9s %16s\n", "series", "cached", "ns per line",
           "× smallest", "hinted ns", "floor ns", "statsd floor", "× floor", "huge pages MiB");
    for (size_t k = 0; k < nsizes; k++) {
        if (run(sizes[k], nlines, zipf_mix, rounds, &ns[k], &hinted[k], &floor_ns[k], &sfloor_ns[k],
                &hits[k], &huge) != 0)
            return 1;
        printf("%10zu %7.2f%% %12.1f %12.2f %10.1f %10.1f %12.1f %9.2f %16.0f\n", sizes[k],
               hits[k] * 100, ns[k], ns[k] / ns[0], hinted[k], floor_ns[k], sfloor_ns[k],
               ns[k] / floor_ns[k], huge);
        benchresult("intake", sizes[k], "ns_per_line", ns[k]);
        benchresult("intake", sizes[k], "hinted_ns_per_line", hinted[k]);
        benchresult("intake", sizes[k], "floor_ns_per_line", floor_ns[k]);
        benchresult("intake", sizes[k], "statsd_floor_ns_per_line", sfloor_ns[k]);
    }
    return 0;
}
