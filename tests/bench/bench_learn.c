/*
 * bench_learn: what learn mode costs the daemon, against the same binary with learning
 * off, in the same run.
 *
 *   bench_learn [ustatsd] [--rounds N] [--lines N]
 *
 * Two daemons of the same binary and config but for "learn": {"enabled": true | false}.
 * The config has bench_ingest's three families, one of them with undeclared_labels
 * "drop", so that the intake's one extra test on an accepted line (learn_drops) is the
 * one it pays. Per round, in turns (off, then on, so that a slow patch of the machine
 * hits both sides): 2,000,000 accepted lines (1,000 series, 20 lines a datagram, blocking
 * sends, after a warm-up that creates every series), timed until the daemon's counters
 * account for every line. Then 200,000 refused lines, each of a name never seen, with two
 * labels of distinct values (the reject path, which learning feeds). Prints each round
 * and the medians, lines a second and the on/off ratio. Exit 0; 1 when the counters do
 * not account for the load.
 */
#include "benchutil.h"

#define SERIES         1000
#define DEFAULT_LINES  2000000
#define REFUSED_LINES  200000
#define DEFAULT_ROUNDS 5
#define MAX_ROUNDS     99

static size_t accepted_line(uint64_t i, char *buf, size_t cap)
{
    unsigned s = (unsigned)(i % SERIES);

    switch (s % 3) {
    case 0:
        return (size_t)snprintf(buf, cap, "bench.requests:1|c|#k:s%u,env:prod", s);
    case 1:
        return (size_t)snprintf(buf, cap, "bench.inflight:%u|g|#k:s%u,env:prod", (unsigned)(i % 97),
                                s);
    default:
        return (size_t)snprintf(buf, cap, "bench.latency_seconds:0.%03u|h|#k:s%u,env:prod",
                                (unsigned)(i % 1000), s);
    }
}

static uint64_t refused_base;

static size_t refused_line(uint64_t i, char *buf, size_t cap)
{
    uint64_t n = refused_base + i;

    return (size_t)snprintf(buf, cap, "unknown.n%llu.requests:1|c|#route:/r%llu,code:%llu",
                            (unsigned long long)n, (unsigned long long)(n % 50),
                            (unsigned long long)(n % 7));
}

#define FAMILIES_JSON                                                                   \
    "\"families\": ["                                                                   \
    " {\"name\": \"bench.requests\", \"type\": \"counter\", \"help\": \"R.\","          \
    "  \"labels\": [{\"name\": \"k\", \"max_values\": 1000},"                           \
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},"         \
    " {\"name\": \"bench.inflight\", \"type\": \"gauge\", \"help\": \"I.\","            \
    "  \"undeclared_labels\": \"drop\","                                                \
    "  \"labels\": [{\"name\": \"k\", \"max_values\": 1000},"                           \
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]},"         \
    " {\"name\": \"bench.latency_seconds\", \"type\": \"histogram\", \"help\": \"L.\"," \
    "  \"buckets\": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],"         \
    "  \"labels\": [{\"name\": \"k\", \"max_values\": 1000},"                           \
    "              {\"name\": \"env\", \"values\": [\"prod\", \"staging\"]}]}]"

static const char config_off[] = "{" FAMILIES_JSON ", \"learn\": {\"enabled\": false}}";
static const char config_on[] = "{" FAMILIES_JSON ", \"learn\": {\"enabled\": true}}";

/* Wait until the daemon's accepted (or rejected) lines reach want; the time, or 0. */
static uint64_t drained(struct daemon *d, int rejected, double want)
{
    uint64_t deadline = benchutil_now_ns() + 60000000000ull;

    for (;;) {
        double rej, acc = benchutil_daemon_counters(d, &rej, NULL);
        uint64_t t = benchutil_now_ns();

        if ((rejected ? rej : acc) >= want)
            return t;
        if (t > deadline)
            return 0;
        waitfor_sleep_ms(1);
    }
}

/* Send l to d and time it until counted; lines a second, or -1 when not all counted. */
static double run(struct daemon *d, const struct benchutil_load *l, int rejected)
{
    double rej0, acc0 = benchutil_daemon_counters(d, &rej0, NULL);
    int fd = benchutil_connect_dgram(d->sock);
    uint64_t t0 = benchutil_now_ns(), t1;

    benchutil_send_blocking(fd, l);
    close(fd);
    t1 = drained(d, rejected, (rejected ? rej0 : acc0) + (double)l->lines);
    if (t1 == 0) {
        fprintf(stderr, "bench: the daemon did not count %llu lines\n",
                (unsigned long long)l->lines);
        return -1;
    }
    return (double)l->lines * 1e9 / (double)(t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    const char *bin = benchutil_find_daemon(argc, argv);
    unsigned rounds = DEFAULT_ROUNDS;
    uint64_t lines = DEFAULT_LINES;
    struct daemon off, on;
    struct benchutil_load acc, warm;
    double a_off[MAX_ROUNDS], a_on[MAX_ROUNDS], a_ratio[MAX_ROUNDS];
    double r_off[MAX_ROUNDS], r_on[MAX_ROUNDS], r_ratio[MAX_ROUNDS];
    int fd, failed = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc)
            lines = strtoull(argv[++i], NULL, 10);
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        benchutil_die("--rounds: 1 to %d", MAX_ROUNDS);
    if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
        benchutil_pin(BENCHUTIL_CPU_SENDER);
    printf("bench_learn: %s, %u rounds; accepted: %llu lines, 20 a datagram, over %d series; "
           "refused: %d lines of new names\n",
           bin, rounds, (unsigned long long)lines, SERIES, REFUSED_LINES);
    benchutil_daemon_start(&off, config_off);
    benchutil_daemon_start(&on, config_on);
    benchutil_load_build(&acc, lines, 20, accepted_line);
    benchutil_load_build(&warm, SERIES, 20, accepted_line);
    /* Every series and front-cache entry made before anything is timed. */
    for (int k = 0; k < 2; k++) {
        struct daemon *d = k ? &on : &off;

        fd = benchutil_connect_dgram(d->sock);
        benchutil_send_blocking(fd, &warm);
        close(fd);
        if (drained(d, 0, (double)SERIES) == 0)
            benchutil_die("warm-up not counted");
    }
    for (unsigned r = 0; r < rounds; r++) {
        struct benchutil_load ref;

        a_off[r] = run(&off, &acc, 0);
        a_on[r] = run(&on, &acc, 0);
        refused_base = (uint64_t)r * REFUSED_LINES;
        benchutil_load_build(&ref, REFUSED_LINES, 20, refused_line);
        r_off[r] = run(&off, &ref, 1);
        r_on[r] = run(&on, &ref, 1);
        benchutil_load_free(&ref);
        if (a_off[r] < 0 || a_on[r] < 0 || r_off[r] < 0 || r_on[r] < 0) {
            failed = 1;
            break;
        }
        a_ratio[r] = a_on[r] / a_off[r];
        r_ratio[r] = r_on[r] / r_off[r];
        printf("  round %u: accepted  off %11.0f  on %11.0f lines/s  ratio %.3f\n"
               "           refused   off %11.0f  on %11.0f lines/s  ratio %.3f\n",
               r + 1, a_off[r], a_on[r], a_ratio[r], r_off[r], r_on[r], r_ratio[r]);
        fflush(stdout);
    }
    if (!failed) {
        char *body = daemon_scrape(&on, NULL);
        int found;

        printf("medians: accepted lines, learning on/off %.3f (off %.0f, on %.0f lines/s); "
               "refused lines %.3f (off %.0f, on %.0f lines/s)\n",
               median(a_ratio, rounds), median(a_off, rounds), median(a_on, rounds),
               median(r_ratio, rounds), median(r_off, rounds), median(r_on, rounds));
        printf("learning daemon: ustatsd_learn_entries %.0f, ustatsd_learn_bytes %.0f, "
               "ustatsd_learn_evictions_total %.0f\n",
               expo_sum(body, "ustatsd_learn_entries", &found),
               expo_sum(body, "ustatsd_learn_bytes", &found),
               expo_sum(body, "ustatsd_learn_evictions_total", &found));
        free(body);
    }
    benchutil_load_free(&acc);
    benchutil_load_free(&warm);
    benchutil_daemon_stop(&off);
    benchutil_daemon_stop(&on);
    return failed;
}
