/*
 * bench_attack: are health checks answered while the HTTP side is under attack?
 *
 *   bench_attack [USTATSD_BIN] [--seconds N] [--conns N] [--series N] [--attack NAME]...
 *                [--plain | --tls] [--unix]
 *   bench_attack --handshake [USTATSD_BIN] [--baseline OLD_BIN] [--seconds N] [--conns N]
 *
 * The second form floods TLS handshakes instead (bench_attack_handshake.c).
 *
 * The real daemon with its default connection limits, holding --series series (20,000 by
 * default, so that /metrics is megabytes), listening on 127.0.0.1 (--unix: a Unix socket),
 * first in plain HTTP, then serving TLS (an EC P-256 key made by the openssl tool). For
 * --seconds each (5 by default), first with no attack (the baseline), then under each
 * attack in turn, a prober opens a fresh connection every 20 ms and asks GET /-/healthy
 * (over TLS with a full handshake), as a kubelet or a load balancer does; a check
 * succeeds when it is answered 200 within 100 ms (target: 99% of them). The attacks,
 * --conns connections each (1,000 by default), every one reconnecting as soon as the
 * daemon drops it (bench_attack_flood.c):
 *
 *   unfinished  sends the start of a request and nothing more;
 *   slowloris   sends a request line, then one more header byte every 200 ms;
 *   slow-reader sends 8 pipelined GET /metrics, then reads 4 KiB every 500 ms (8 KiB/s:
 *               steady enough that no write ever waits 30 s, below 16 KiB/s);
 *   trickle-reader the same, reading 16 bytes a second;
 *   idle        connects and sends nothing;
 *   tls-stall   (TLS) sends the first 3 bytes of a TLS record and nothing more;
 *   tls-idle    (TLS) completes a handshake and sends nothing.
 * Over TLS the first four complete a handshake first.
 *
 * Per run: the share answered 200 within 100 ms, the latency percentiles of the checks
 * answered, the other outcomes (other status, connection refused or reset, timeout at
 * 1 s), the attackers' connections and reconnections, what the daemon counted over the
 * run (evictions by reason, clients cut by limit kind) and where the CPU went. At the
 * end, a table of the share, attack by attack, plain and TLS.
 *
 * --attack NAME runs the baseline and that attack alone (repeatable); --plain or --tls
 * runs one side only.
 *
 * Loops are bounded by the run's time. RLIMIT_NOFILE is raised to fit the attackers.
 * Prints figures; exits 1 only when it cannot run.
 */
#include <poll.h>
#include <sys/resource.h>

#include "bench_attack.h"
#include "http/httpd.h"
#include "tlsclient.h"

struct bench_http B;
static int use_tls; /* the daemon serves TLS: scrapes take tlsclient */

/* GET /metrics (text), over TLS when the daemon serves it; NULL when it fails. */
static char *scrape(void)
{
    struct tlsclient_opts o = { .timeout_ms = 10000 };
    struct buf body = BUF_INIT;
    char err[512];

    if (!use_tls) {
        char *text = NULL;

        if (daemon_get(&B.d, "/metrics", NULL, &text) == 200)
            return text;
        free(text);
        return NULL;
    }
    if (tlsclient_get(B.d.http, &o, "/metrics", NULL, &body, err) != 200) {
        buf_release(&body);
        return NULL;
    }
    buf_addch(&body, '\0');
    return body.ptr;
}

/* ---- what the daemon counted ---- */

struct counted {
    double evicted[HTTPD_EVICT_COUNT], limits[3]; /* by enum httpd_evict */
    int found;
};

static const char *const limit_kinds[] = { "read_timeout", "write_timeout", "send_rate" };

static void counted_get(struct counted *c)
{
    char *body = NULL;
    char series[160];

    /* Right after an attack the cap may still be full: the reserve answers 503 then. */
    for (int i = 0; i < 100 && (body = scrape()) == NULL; i++)
        usleep(100000);
    memset(c, 0, sizeof(*c));
    if (body == NULL)
        bench_http_die(&B, 0, "scrape after the run failed");
    /* Every reason the daemon counts, by the names it exports them under. */
    for (int k = 0; k < HTTPD_EVICT_COUNT; k++) {
        snprintf(series, sizeof(series),
                 "ustatsd_http_connections_evicted_total{listener=\"metrics\",reason=\"%s\"}",
                 httpd_evict_name((enum httpd_evict)k));
        c->evicted[k] = expo_value(body, series);
        c->found |= c->evicted[k] == c->evicted[k]; /* not NaN */
    }
    for (int k = 0; k < 3; k++) {
        snprintf(series, sizeof(series),
                 "ustatsd_http_limit_violations_total{listener=\"metrics\",kind=\"%s\"}",
                 limit_kinds[k]);
        c->limits[k] = expo_value(body, series);
    }
    free(body);
}

static double pct(const struct probe *pr, double q)
{
    size_t i = (size_t)(q * (double)pr->nlat);

    if (pr->nlat == 0)
        return 0;
    return bench_http_ms(pr->lat[i < pr->nlat ? i : pr->nlat - 1]);
}

static void report(enum attack kind, struct probe *pr, const struct attacker *a,
                   const struct counted *before, const struct counted *after)
{
    qsort(pr->lat, pr->nlat, sizeof(pr->lat[0]), benchutil_cmp_u64);
    printf("%-36s %6.2f%% of %llu checks answered 200 within 100 ms; latency p50 %.2f ms, "
           "p90 %.2f, p99 %.2f, max %.2f\n",
           attack_names[kind], 100.0 * (double)pr->count[OK_FAST] / (double)pr->checks,
           (unsigned long long)pr->checks, pct(pr, 0.5), pct(pr, 0.9), pct(pr, 0.99), pct(pr, 1.0));
    printf("    outcomes:");
    for (int o = 0; o < NOUTCOMES; o++)
        printf(" %s %llu%s", outcome_names[o], (unsigned long long)pr->count[o],
               o + 1 < NOUTCOMES ? "," : "\n");
    if (a != NULL)
        printf("    attackers: %d connections, %llu connects, %llu dropped by the daemon, %llu "
               "connect() refused, %llu handshakes, at most %d open at once\n",
               a->n, (unsigned long long)a->connects, (unsigned long long)a->drops,
               (unsigned long long)a->refused, (unsigned long long)a->handshakes, a->max_open);
    if (after->found) {
        printf("    daemon: evicted");
        for (int k = 0; k < HTTPD_EVICT_COUNT; k++)
            if (after->evicted[k] == after->evicted[k]) /* not NaN: an older daemon's lacks some */
                printf(" %s %.0f", httpd_evict_name((enum httpd_evict)k),
                       after->evicted[k] - before->evicted[k]);
        printf("; cut");
        for (int k = 0; k < 3; k++)
            printf(" %s %.0f", limit_kinds[k], after->limits[k] - before->limits[k]);
        printf("\n");
    } else {
        printf("    daemon: cut read_timeout %.0f, write_timeout %.0f (no eviction counters)\n",
               after->limits[0] - before->limits[0], after->limits[1] - before->limits[1]);
    }
    fflush(stdout);
}

/* The bit of the attack --attack names; dies on a name it does not know. */
static unsigned attack_bit(const char *name)
{
    for (int k = NONE + 1; k < NATTACKS; k++)
        if (strcmp(name, attack_args[k]) == 0)
            return 1u << k;
    bench_http_die(&B, 0, "--attack: unknown attack %s", name);
}

/*
 * Where the CPU went over a run: the two CPUs are shared, and a probe waits in the
 * backlog for as long as the daemon takes to churn the attackers ahead of it, so a run
 * that misses says here whether the daemon was short of CPU. Clock ticks of the whole
 * machine (/proc/stat), of this process (the attackers and the prober) and of the
 * daemon; and the daemon's loop thread's time waiting on a run queue (schedstat).
 */
struct cpu_use {
    unsigned long long machine_busy, machine_all, self, daemon;
    double loop_wait_ms;
};

static unsigned long long proc_ticks(const char *path)
{
    char buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 (utime, stime), after the ")" that ends the command name. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

static void cpu_use_get(struct cpu_use *u)
{
    char path[64];
    unsigned long long v[8] = { 0 }, run = 0, wait = 0;
    FILE *f = fopen("/proc/stat", "r");

    memset(u, 0, sizeof(*u));
    if (f != NULL) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) == 8) {
            u->machine_all = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
            u->machine_busy = u->machine_all - v[3] - v[4];
        }
        fclose(f);
    }
    u->self = proc_ticks("/proc/self/stat");
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)B.d.pid);
    u->daemon = proc_ticks(path);
    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)B.d.pid);
    if ((f = fopen(path, "r")) != NULL) {
        if (fscanf(f, "%llu %llu", &run, &wait) == 2)
            u->loop_wait_ms = (double)wait / 1e6;
        fclose(f);
    }
}

static void cpu_use_report(const struct cpu_use *a, const struct cpu_use *b, unsigned seconds)
{
    double all = (double)(b->machine_all - a->machine_all),
           ncpu = all / (double)seconds / (double)sysconf(_SC_CLK_TCK);
    double busy = (double)(b->machine_busy - a->machine_busy);
    double self = (double)(b->self - a->self), daemon = (double)(b->daemon - a->daemon);

    if (all <= 0)
        return;
    printf("    cpu (of %.1f CPUs): daemon %.0f%%, attackers and prober %.0f%%, other processes "
           "%.0f%%, idle %.0f%%; daemon's loop waited for a CPU %.0f ms\n",
           ncpu, 100 * daemon / all * ncpu, 100 * self / all * ncpu,
           100 * (busy - daemon - self) / all * ncpu, 100 * (all - busy) / all * ncpu,
           b->loop_wait_ms - a->loop_wait_ms);
    fflush(stdout);
}

static void raise_nofile(int conns)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)conns + 256;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        bench_http_die(&B, errno, "getrlimit");
    if (rl.rlim_cur >= want)
        return;
    if (rl.rlim_max < want)
        bench_http_die(&B, 0, "RLIMIT_NOFILE's hard limit %llu is under the %llu needed",
                       (unsigned long long)rl.rlim_max, (unsigned long long)want);
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        bench_http_die(&B, errno, "setrlimit");
}

/*
 * The daemon bin on 127.0.0.1 (unix_sock: on the Unix socket the test library gives it),
 * serving TLS with dir's web.yml when use_tls, holding series series of the mix.
 */
static void daemon_up(const char *bin, const char *dir, int unix_sock, size_t series)
{
    static char web[256], listen[64];
    const char *args[5];
    struct daemon_options opts = { .args = args, .no_wait = 1 };
    struct tlsclient_opts o = { .timeout_ms = 2000 };
    char err[512] = "", *body = NULL;
    double got = 0;
    int i, n = 0;

    if (!unix_sock) {
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", daemon_free_port());
        args[n++] = "--metrics-listen";
        args[n++] = listen;
    }
    if (use_tls) {
        snprintf(web, sizeof(web), "%s/web.yml", dir);
        args[n++] = "--web.config.file";
        args[n++] = web;
    }
    args[n] = NULL;
    setenv("USTATSD_BIN", bin, 1);
    memset(&B.d, 0, sizeof(B.d));
    B.have = 0;
    if (daemon_start_with(&B.d, bench_http_plain_config(), &opts) != 0)
        bench_http_die(&B, 0, "%s did not start", bin);
    if (!unix_sock)
        snprintf(B.d.http, sizeof(B.d.http), "%s", listen);
    for (i = 0; i < 500; i++) {
        int st = use_tls ? tlsclient_get(B.d.http, &o, "/-/ready", NULL, NULL, err)
                         : daemon_get(&B.d, "/-/ready", NULL, NULL);
        if (st == 200)
            break;
        usleep(20000);
    }
    if (i == 500 || daemon_connect(&B.d) != 0)
        bench_http_die(&B, 0, "%s is not ready: %s", bin, err);
    bench_http_send_series(&B, 0, series, 0);
    B.have = series;
    for (i = 0; i < 600 && !(got >= (double)series); i++) {
        free(body);
        if ((body = scrape()) != NULL)
            got = expo_value(body, "ustatsd_lines_accepted_total");
        if (!(got >= (double)series))
            usleep(100000);
    }
    if (!(got >= (double)series))
        bench_http_die(&B, 0, "accepted %.0f lines of %zu", got, series);
    printf("%s daemon on %s: /metrics is %.2f MB (%zu series)\n", use_tls ? "TLS" : "plain HTTP",
           B.d.http, body ? bench_http_mb(strlen(body)) : 0.0, series);
    free(body);
    fflush(stdout);
}

/* Each chosen attack against the running daemon; the share of fast checks into share. */
static void run_attacks(struct probe *pr, unsigned chosen, int conns, unsigned seconds,
                        SSL_CTX *ctx, double share[NATTACKS])
{
    for (int k = NONE; k < NATTACKS; k++) {
        struct attacker a;
        struct counted before, after;
        struct cpu_use c0, c1;

        share[k] = -1;
        if (k != NONE && chosen != 0 && !(chosen & 1u << k))
            continue;
        if (!use_tls && (k == TLS_STALL || k == TLS_IDLE))
            continue;
        counted_get(&before);
        if (k != NONE) {
            attacker_start(&a, (enum attack)k, conns, B.d.http, use_tls ? ctx : NULL);
            usleep(WARMUP_MS * 1000); /* the attackers are connected */
        }
        cpu_use_get(&c0);
        probe_run(pr, B.d.http, use_tls, seconds);
        cpu_use_get(&c1);
        if (k != NONE)
            attacker_stop(&a);
        usleep(200 * 1000); /* the daemon sees the attackers leave */
        counted_get(&after);
        share[k] = pr->checks ? 100.0 * (double)pr->count[OK_FAST] / (double)pr->checks : 0;
        report((enum attack)k, pr, k != NONE ? &a : NULL, &before, &after);
        cpu_use_report(&c0, &c1, seconds);
    }
}

/* The share of checks answered 200 within 100 ms, attack by attack, as a Markdown table. */
static void print_table(double share[2][NATTACKS], int conns)
{
    printf("\n| attack (%d connections, reconnecting when dropped) | plain HTTP | TLS (EC "
           "P-256) |\n|---|---|---|\n",
           conns);
    for (int k = NONE; k < NATTACKS; k++) {
        if (share[0][k] < 0 && share[1][k] < 0)
            continue;
        printf("| %s |", attack_names[k]);
        for (int t = 0; t < 2; t++)
            if (share[t][k] < 0)
                printf(" |");
            else
                printf(" %.1f%% |", share[t][k]);
        printf("\n");
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    unsigned seconds = 5;
    int conns = -1; /* 1,000, or 64 with --handshake */
    size_t series = 20000;
    struct probe *pr = malloc(sizeof(*pr));
    int handshake = 0, unix_sock = 0, sides = 3; /* bit 0: plain, bit 1: TLS */
    const char *bin = NULL, *baseline = NULL;
    unsigned chosen = 0; /* bits by enum attack; 0: every one */
    double share[2][NATTACKS];
    char dir[] = "/tmp/bench_attackXXXXXX", cmd[128];
    SSL_CTX *ctx;

    B.name = "bench_attack";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
            conns = atoi(argv[++i]);
        else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc)
            series = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--handshake") == 0)
            handshake = 1;
        else if (strcmp(argv[i], "--baseline") == 0 && i + 1 < argc)
            baseline = argv[++i];
        else if (strcmp(argv[i], "--attack") == 0 && i + 1 < argc)
            chosen |= attack_bit(argv[++i]);
        else if (strcmp(argv[i], "--plain") == 0)
            sides = 1;
        else if (strcmp(argv[i], "--tls") == 0)
            sides = 2;
        else if (strcmp(argv[i], "--unix") == 0)
            unix_sock = 1;
        else if (argv[i][0] != '-' && bin == NULL)
            bin = argv[i];
        else
            bench_http_die(
                &B, 0,
                "usage: bench_attack [--handshake] [USTATSD_BIN] [--baseline "
                "OLD_BIN] [--seconds N] [--conns N] [--series N] [--attack "
                "unfinished|slowloris|slow-reader|trickle-reader|idle|tls-stall|tls-idle]... "
                "[--plain|--tls] [--unix]");
    }
    if (bin == NULL)
        bin = getenv("USTATSD_BIN");
    if (pr == NULL)
        bench_http_die(&B, ENOMEM, "malloc");
    if (conns < 0)
        conns = handshake ? 64 : 1000;
    if (seconds < 1 || seconds > 600 || conns < 1 || conns > 100000 || series > 200000)
        bench_http_die(&B, 0, "--seconds 1..600, --conns 1..100000, --series up to 200000");
    if (bin == NULL || access(bin, X_OK) != 0 || (baseline && access(baseline, X_OK) != 0))
        bench_http_die(&B, 0, "pass the ustatsd binary (or set USTATSD_BIN)");
    raise_nofile(conns);
    signal(SIGPIPE, SIG_IGN);
    if (handshake) {
        run_handshake(bin, baseline, seconds, conns);
        free(pr);
        return 0;
    }
    if (mkdtemp(dir) == NULL)
        bench_http_die(&B, errno, "mkdtemp");
    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
        bench_http_die(&B, ENOMEM, "SSL_CTX_new");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    attack_make_key(dir, "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
    printf("bench_attack: %d attacking connections per attack, %u s a run after %d ms of "
           "warm-up, a fresh-connection GET /-/healthy every %llu ms\n",
           conns, seconds, WARMUP_MS, PROBE_PERIOD_NS / 1000000ull);
    for (int t = 0; t < 2; t++) {
        for (int k = 0; k < NATTACKS; k++)
            share[t][k] = -1;
        if (!(sides & 1 << t))
            continue;
        use_tls = t;
        daemon_up(bin, dir, unix_sock, series);
        run_attacks(pr, chosen, conns, seconds, ctx, share[t]);
        bench_http_stop(&B);
    }
    print_table(share, conns);
    SSL_CTX_free(ctx);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_attack: could not remove %s\n", dir);
    free(pr);
    return 0;
}
