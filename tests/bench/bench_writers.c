/*
 * bench_writers: what the writer policy costs the intake, per line.
 *
 *   bench_writers [datagrams] [runs]
 *
 * The same datagrams (20 lines each, over bench_ingest's three families and 60 of their
 * series, every line a front-cache hit after the first pass) go through
 * intake_datagram() against a config without "writers" (the baseline, in the same run),
 * one whose rules guard every family and let the sender in (its uid is one of eight, so
 * each line pays a rule lookup and a binary search), and the same rules against a sender
 * they refuse (each line rejected as sender_not_allowed and kept in the reject ring).
 * Then the same with one-line datagrams, where the per-datagram work weighs more. Runs
 * are interleaved; each figure is the best of them, in nanoseconds per line.
 * bench_ingest --writers measures the same through the real daemon and its socket.
 */
#include "benchutil.h"

#include "config/config.h"
#include "config/cfgload.h"
#include "ingest/intake.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "ingest/rejects.h"

#define FAMILIES                                                                 \
    "\"families\": ["                                                            \
    "  {\"name\": \"bench.requests\", \"type\": \"counter\","                    \
    "   \"labels\": [{\"name\": \"k\", \"max_values\": 1000},"                   \
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},"  \
    "  {\"name\": \"bench.inflight\", \"type\": \"gauge\","                      \
    "   \"labels\": [{\"name\": \"k\", \"max_values\": 1000},"                   \
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},"  \
    "  {\"name\": \"bench.latency_seconds\", \"type\": \"histogram\","           \
    "   \"buckets\": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]," \
    "   \"labels\": [{\"name\": \"k\", \"max_values\": 1000},"                   \
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]}]"

#define RULE(fam)                                                                         \
    "{\"family\": \"" fam "\", \"users\": [0, 1000, 1001, 1002, 1003, 1004, 1005, 1006]," \
    " \"groups\": [100, 101, 102]}"

static const char config_off[] = "{" FAMILIES "}";
static const char config_on[] = "{" FAMILIES ", \"writers\": [" RULE("bench.requests") ", " RULE(
    "bench.inflight") ", " RULE("bench.latency_seconds") "]}";

enum mode { OFF, ALLOWED, REFUSED, NMODES };

static const char *const mode_names[NMODES] = {
    "no writers rules (baseline)",
    "rules on every family, sender allowed",
    "rules on every family, sender refused",
};

struct side {
    struct config cfg;
    struct registry reg;
    struct jobs jobs;
    struct rejects rejects;
    struct intake in;
};

static double fake_clock(void *arg)
{
    (void)arg;
    return 1.7e9;
}

static void side_init(struct side *s, const char *json)
{
    char err[256];

    memset(s, 0, sizeof(*s));
    if (cfgload_text(&s->cfg, json, strlen(json), "bench", err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_writers: config: %s\n", err);
        exit(1);
    }
    registry_init(&s->reg, &s->cfg);
    jobs_init(&s->jobs, &s->cfg, 0);
    rejects_init(&s->rejects);
    intake_init(&s->in, &s->reg, &s->jobs, &s->rejects, fake_clock, NULL);
}

static void side_release(struct side *s)
{
    jobs_release(&s->jobs);
    registry_release(&s->reg);
    cfgload_release(&s->cfg);
}

/* 20 lines of bench_ingest's shape, series base..base+19. */
static size_t datagram(char *buf, size_t cap, unsigned base, unsigned per)
{
    size_t len = 0;

    for (unsigned i = 0; i < per; i++) {
        unsigned s = (base + i) % 60;
        int w;

        if (s % 3 == 0)
            w = snprintf(buf + len, cap - len, "bench.requests:1|c|#k:s%u,env:prod\n", s);
        else if (s % 3 == 1)
            w = snprintf(buf + len, cap - len, "bench.inflight:17|g|#k:s%u,env:prod\n", s);
        else
            w = snprintf(buf + len, cap - len, "bench.latency_seconds:0.042|h|#k:s%u,env:prod\n",
                         s);
        len += (size_t)w;
    }
    return len;
}

static double run(struct side *s, const struct intake_sender *from, const char *const *d,
                  const size_t *len, size_t nd, size_t n, unsigned per)
{
    uint64_t t0 = benchutil_now_ns();

    for (size_t i = 0; i < n; i++)
        intake_datagram(&s->in, d[i % nd], len[i % nd], from, 1000 + i);
    return (double)(benchutil_now_ns() - t0) / (double)(n * per);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    static const struct intake_sender allowed = { 4242, 1003, 1003, NULL };
    static const struct intake_sender refused = { 4243, 2000, 2000, NULL };
    static const unsigned pers[] = { 20, 1 };
    struct side off, on;
    char *d[60];
    size_t len[60];

    side_init(&off, config_off);
    side_init(&on, config_on);
    for (size_t p = 0; p < sizeof(pers) / sizeof(pers[0]); p++) {
        unsigned per = pers[p];
        size_t nd = 60 / per, ndg = n / per;
        double best[NMODES];

        for (size_t i = 0; i < nd; i++) {
            d[i] = malloc(2048);
            len[i] = datagram(d[i], 2048, (unsigned)i * per, per);
        }
        for (int m = 0; m < NMODES; m++)
            best[m] = 1e30;
        /* Interleaved, so that a slow phase of the machine hits every mode alike. */
        for (int r = 0; r < runs; r++)
            for (int m = 0; m < NMODES; m++) {
                struct side *sd = m == OFF ? &off : &on;
                double ns = run(sd, m == REFUSED ? &refused : &allowed, (const char *const *)d, len,
                                nd, ndg, per);

                if (ns < best[m])
                    best[m] = ns;
            }
        printf("intake_datagram, %u lines per datagram, best of %d runs of %zu lines:\n", per, runs,
               ndg * per);
        for (int m = 0; m < NMODES; m++)
            printf("  %-40s %6.1f ns/line  (%+.1f ns, %+.1f%%)\n", mode_names[m], best[m],
                   best[m] - best[OFF], 100 * (best[m] - best[OFF]) / best[OFF]);
        for (size_t i = 0; i < nd; i++)
            free(d[i]);
    }
    printf("  accepted %llu lines without rules, %llu with; %llu refused\n",
           (unsigned long long)off.in.count.accepted, (unsigned long long)on.in.count.accepted,
           (unsigned long long)on.in.count.rejected[STATSD_SENDER_NOT_ALLOWED]);
    side_release(&off);
    side_release(&on);
    return 0;
}
