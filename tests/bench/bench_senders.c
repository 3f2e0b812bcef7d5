/*
 * bench_senders: what recording senders costs the intake, and what a scrape of a service
 * costs.
 *
 *   bench_senders [datagrams] [runs]
 *
 * The same datagrams (three accepted lines each, as a client batches them) go through
 * intake_datagram() with sender tracking off (the baseline, in the same run), on with
 * one sender (the common case: the fast path), on with 64 senders taking turns, and on
 * with a new pid for every datagram over a full table (an eviction each: the worst
 * case). Each is the best of several runs, in nanoseconds per datagram. Then
 * svcproc_collect() for a service of one live process (this one), per scrape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "config/cfgload.h"
#include "ingest/intake.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "ingest/rejects.h"
#include "ingest/senders.h"
#include "expose/svcproc.h"

static const char bench_config[] = "{\"families\": ["
                                   "  {\"name\": \"http_requests\", \"type\": \"counter\","
                                   "   \"labels\": [{\"name\": \"route\", \"max_values\": 100},"
                                   "              {\"name\": \"code\", \"max_values\": 10}]},"
                                   "  {\"name\": \"queue_depth\", \"type\": \"gauge\","
                                   "   \"labels\": [{\"name\": \"queue\", \"max_values\": 10}]}"
                                   " ]}";

static const char dgram[] = "http_requests:1|c|#route:/api/v1/images,code:200\n"
                            "queue_depth:7|g|#queue:mail\n"
                            "http_requests:1|c|#route:/healthz,code:200";

enum mode { OFF, ONE_SENDER, SENDERS_64, NEW_EACH, NMODES };

static const char *const mode_names[NMODES] = {
    "tracking off (baseline)",
    "tracking on, one sender",
    "tracking on, 64 senders in turn",
    "tracking on, a new pid each (evicting)",
};

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double fake_clock(void *arg)
{
    (void)arg;
    return 1.7e9;
}

static double run(struct intake *in, struct senders *tbl, enum mode m, size_t n)
{
    struct intake_sender from = { 4242, 1000, 1000, NULL };
    double t0;

    in->senders = m == OFF ? NULL : tbl;
    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        if (m == SENDERS_64)
            from.pid = (pid_t)(1000 + (i & 63));
        else if (m == NEW_EACH)
            from.pid = (pid_t)(100000 + (i % (4 * SENDERS_CAP)));
        intake_datagram(in, dgram, sizeof(dgram) - 1, &from, 1000 + i);
    }
    return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    struct config cfg;
    struct registry reg;
    struct jobs jobs;
    struct rejects rejects;
    struct intake in;
    struct senders tbl;
    struct svcproc st;
    struct config_service svc = { .uid = (uint32_t)geteuid() };
    struct procfs fig;
    double best[NMODES], t0, scrape = 1e30;
    char err[256];

    memset(&cfg, 0, sizeof(cfg));
    if (cfgload_text(&cfg, bench_config, strlen(bench_config), "bench", err, sizeof(err)) < 0 ||
        registry_init(&reg, &cfg) < 0) {
        fprintf(stderr, "bench_senders: config: %s\n", err);
        return 1;
    }
    jobs_init(&jobs, &cfg, 0);
    rejects_init(&rejects);
    intake_init(&in, &reg, &jobs, &rejects, fake_clock, NULL);
    senders_init(&tbl);
    for (int m = 0; m < NMODES; m++)
        best[m] = 1e30;
    /* Interleaved, so that a slow phase of the machine hits every mode alike. */
    for (int r = 0; r < runs; r++)
        for (int m = 0; m < NMODES; m++) {
            double ns = run(&in, &tbl, (enum mode)m, n);

            if (ns < best[m])
                best[m] = ns;
        }
    printf("intake_datagram, 3 lines per datagram, best of %d runs of %zu datagrams:\n", runs, n);
    for (int m = 0; m < NMODES; m++)
        printf("  %-40s %7.1f ns/datagram  (%+.1f ns)\n", mode_names[m], best[m],
               best[m] - best[OFF]);
    printf("  accepted %llu lines; senders: %zu held, %llu evicted\n",
           (unsigned long long)in.count.accepted, tbl.n, (unsigned long long)tbl.evictions);

    /* A scrape of a service of one process: this one, recorded as a sender. */
    senders_release(&tbl);
    senders_init(&tbl);
    svcproc_init(&st);
    for (int r = 0; r < 200; r++) {
        senders_note(&tbl, getpid(), geteuid(), getegid(), 0);
        t0 = now_ns();
        if (svcproc_collect(&st, &tbl, &svc, 0, &fig) != 1) {
            fprintf(stderr, "bench_senders: this process was not counted\n");
            return 1;
        }
        if (now_ns() - t0 < scrape)
            scrape = now_ns() - t0;
    }
    printf("svcproc_collect, one live process: %.1f us per scrape (best of 200)\n", scrape / 1e3);
    /* Its parts: the per-process reads, and the once-per-namespace network read. */
    {
        double per_pid = 1e30, per_net = 1e30, t;
        uint64_t btime = 0, rx, tx;

        procfs_btime(&btime);
        for (int r = 0; r < 200; r++) {
            t0 = now_ns();
            procfs_read_pid(getpid(), btime, &fig);
            t = now_ns();
            procfs_read_net(getpid(), &rx, &tx);
            per_pid = t - t0 < per_pid ? t - t0 : per_pid;
            per_net = now_ns() - t < per_net ? now_ns() - t : per_net;
        }
        printf("  of which procfs_read_pid %.1f us, procfs_read_net %.1f us\n", per_pid / 1e3,
               per_net / 1e3);
    }
    svcproc_release(&st);
    senders_release(&tbl);
    jobs_release(&jobs);
    registry_release(&reg);
    cfgload_release(&cfg);
    return 0;
}
