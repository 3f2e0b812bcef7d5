/*
 * bench_attack: are health checks answered while the HTTP side is under attack?
 *
 *   bench_attack [USTATSD_BIN] [--seconds N] [--conns N] [--series N] [--attack NAME]
 *   bench_attack --handshake [USTATSD_BIN] [--baseline OLD_BIN] [--seconds N] [--conns N]
 *
 * The second form floods TLS handshakes instead (bench_attack_handshake.c).
 *
 * The real daemon, holding --series series (20,000 by default, so that /metrics is
 * megabytes), with its HTTP listener on a Unix socket. For --seconds each (10 by
 * default), first with no attack (the baseline), then under each attack in turn, a
 * prober opens a fresh connection every 10 ms and asks GET /-/healthy, as an
 * orchestrator's liveness probe does; a check succeeds when it is answered 200 within
 * 100 ms (target: 99% of them). The attacks, --conns connections each (1,000 by
 * default), every one reconnecting as soon as the daemon drops it:
 *
 *   unfinished  sends the start of a request and nothing more;
 *   slowloris   sends a request line, then one more header byte every 200 ms;
 *   slow-reader sends 8 pipelined GET /metrics, then reads 4 KiB every 500 ms (8 KiB/s:
 *               steady enough that no write ever waits 30 s, below 16 KiB/s).
 *
 * Per run: the share answered 200 within 100 ms, the latency percentiles of the checks
 * answered, the other outcomes (other status, connection refused or reset, timeout at
 * 1 s), the attackers' connections and reconnections, and what the daemon counted over
 * the run (evictions by reason, clients cut by limit kind; absent from a daemon too old
 * to have them).
 *
 * --attack unfinished|slowloris|slow-reader runs the baseline and that attack alone
 * (repeatable: several name several).
 *
 * Loops are bounded by the run's time. RLIMIT_NOFILE is raised to fit the attackers.
 * Prints figures; exits 1 only when it cannot run.
 */
#include <poll.h>
#include <sys/resource.h>

#include "bench_attack.h"
#include "http/httpd.h"

#define PROBE_PERIOD_NS  10000000ull /* 100 checks a second */
#define PROBE_TIMEOUT_MS 1000
#define SLOW_READ_BYTES  4096
#define SLOW_READ_NS     500000000ull
#define LORIS_NS         200000000ull
#define PIPELINED        8

enum attack { NONE, UNFINISHED, SLOWLORIS, SLOW_READER, NATTACKS };

static const char *const attack_names[] = { "none (baseline)", "unfinished requests", "slowloris",
                                            "slow readers of pipelined /metrics" };
/* The names --attack takes, by enum attack. */
static const char *const attack_args[] = { "none", "unfinished", "slowloris", "slow-reader" };

struct bench_http B;

int unix_connect(const char *addr)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strncmp(addr, "unix:", 5) != 0 || strlen(addr + 5) >= sizeof(sa.sun_path))
        bench_http_die(&B, 0, "not a unix: address: %s", addr);
    strcpy(sa.sun_path, addr + 5);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        bench_http_die(&B, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -errno;
    }
    return fd;
}

/* ---- the attackers: one thread, every connection non-blocking ---- */

struct attacker {
    enum attack kind;
    int n;
    int *fd;
    uint64_t *next; /* when the connection acts next */
    unsigned *step;
    atomic_int stop;
    pthread_t thread;
    uint64_t connects, drops, refused; /* refused: connect() failed (backlog full) */
    int open, max_open;
};

static void send_some(int fd, const char *s, size_t n)
{
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

    (void)w; /* a full socket or a dropped connection shows in poll */
}

static void attacker_open(struct attacker *a, int i, uint64_t now)
{
    static const char start[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n";
    static const char line[] = "GET /metrics HTTP/1.1\r\n";
    static const char full[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
    int fd = unix_connect(B.d.http);

    if (fd < 0) {
        a->refused++;
        a->next[i] = now + 10000000ull; /* try again in 10 ms */
        return;
    }
    a->fd[i] = fd;
    a->step[i] = 0;
    a->connects++;
    a->open++;
    if (a->open > a->max_open)
        a->max_open = a->open;
    if (a->kind == UNFINISHED) {
        send_some(fd, start, sizeof(start) - 1);
        a->next[i] = UINT64_MAX;
    } else if (a->kind == SLOWLORIS) {
        send_some(fd, line, sizeof(line) - 1);
        a->next[i] = now + LORIS_NS;
    } else {
        for (int k = 0; k < PIPELINED; k++)
            send_some(fd, full, sizeof(full) - 1);
        a->next[i] = now + SLOW_READ_NS;
    }
}

static void attacker_drop(struct attacker *a, int i, uint64_t now)
{
    close(a->fd[i]);
    a->fd[i] = -1;
    a->open--;
    a->drops++;
    a->next[i] = now; /* reconnect at once */
}

/* The connection's scheduled action: another header byte, or another slow read. */
static void attacker_act(struct attacker *a, int i, uint64_t now)
{
    static const char header[] = "X-Slowloris: 1\r\n";
    static char sink[SLOW_READ_BYTES];

    if (a->kind == SLOWLORIS) {
        send_some(a->fd[i], &header[a->step[i]++ % (sizeof(header) - 1)], 1);
        a->next[i] = now + LORIS_NS;
    } else if (a->kind == SLOW_READER) {
        ssize_t r = recv(a->fd[i], sink, sizeof(sink), MSG_DONTWAIT);

        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            attacker_drop(a, i, now);
            return;
        }
        a->next[i] = now + SLOW_READ_NS;
    }
}

static void *attacker_main(void *arg)
{
    struct attacker *a = arg;
    struct pollfd *p = calloc((size_t)a->n, sizeof(*p));
    int *idx = calloc((size_t)a->n, sizeof(*idx));
    char buf[4096];

    if (p == NULL || idx == NULL)
        bench_http_die(&B, ENOMEM, "calloc");
    while (!atomic_load(&a->stop)) {
        uint64_t now = benchutil_now_ns();
        int np = 0;

        for (int i = 0; i < a->n; i++) {
            if (a->fd[i] < 0 && a->next[i] <= now)
                attacker_open(a, i, now);
            else if (a->fd[i] >= 0 && a->next[i] <= now)
                attacker_act(a, i, now);
            if (a->fd[i] < 0)
                continue;
            /* A slow reader only notices the close (POLLRDHUP) without reading. */
            p[np].fd = a->fd[i];
            p[np].events = a->kind == SLOW_READER ? POLLRDHUP : POLLIN | POLLRDHUP;
            p[np].revents = 0;
            idx[np++] = i;
        }
        if (poll(p, (nfds_t)np, 10) < 0 && errno != EINTR)
            bench_http_die(&B, errno, "poll");
        now = benchutil_now_ns();
        for (int k = 0; k < np; k++) {
            int i = idx[k];

            if (p[k].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
                attacker_drop(a, i, now);
            } else if (p[k].revents & POLLIN) {
                /* A 503, or the start of an answer: drain it, and drop on EOF. */
                ssize_t r = recv(a->fd[i], buf, sizeof(buf), MSG_DONTWAIT);

                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                    attacker_drop(a, i, now);
            }
        }
    }
    for (int i = 0; i < a->n; i++)
        if (a->fd[i] >= 0)
            close(a->fd[i]);
    free(p);
    free(idx);
    return NULL;
}

static void attacker_start(struct attacker *a, enum attack kind, int n)
{
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->n = n;
    a->fd = malloc((size_t)n * sizeof(*a->fd));
    a->next = calloc((size_t)n, sizeof(*a->next));
    a->step = calloc((size_t)n, sizeof(*a->step));
    if (a->fd == NULL || a->next == NULL || a->step == NULL)
        bench_http_die(&B, ENOMEM, "calloc");
    for (int i = 0; i < n; i++)
        a->fd[i] = -1;
    atomic_init(&a->stop, 0);
    if (pthread_create(&a->thread, NULL, attacker_main, a) != 0)
        bench_http_die(&B, EAGAIN, "pthread_create");
}

static void attacker_stop(struct attacker *a)
{
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    free(a->fd);
    free(a->next);
    free(a->step);
}

/* ---- the prober ---- */

enum outcome { OK_FAST, OK_SLOW, OTHER_STATUS, REFUSED, RESET, TIMEOUT, NOUTCOMES };

static const char *const outcome_names[] = { "200 within 100 ms", "200 later",
                                             "other status",      "connect refused",
                                             "closed or reset",   "no answer in 1 s" };

struct probe {
    uint64_t lat[MAX_CHECKS]; /* of the checks answered 200 */
    size_t nlat;
    uint64_t count[NOUTCOMES];
    uint64_t checks;
};

/* One check on a fresh connection: time to the status line of the answer. */
static enum outcome probe_once(uint64_t *ns)
{
    static const char req[] = "GET /-/healthy HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n";
    uint64_t t0 = benchutil_now_ns(), deadline = t0 + PROBE_TIMEOUT_MS * 1000000ull;
    char head[64];
    size_t got = 0;
    int fd = unix_connect(B.d.http);
    enum outcome o = TIMEOUT;

    if (fd < 0)
        return REFUSED;
    if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
        close(fd);
        return RESET;
    }
    while (got < 12) {
        uint64_t now = benchutil_now_ns();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t r;

        if (now >= deadline)
            break;
        if (poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1) <= 0)
            continue;
        r = recv(fd, head + got, sizeof(head) - got, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            o = RESET;
            break;
        }
        if (r > 0)
            got += (size_t)r;
    }
    *ns = benchutil_now_ns() - t0;
    close(fd);
    if (got < 12)
        return o;
    if (memcmp(head + 9, "200", 3) != 0)
        return OTHER_STATUS;
    return *ns <= PROBE_OK_NS ? OK_FAST : OK_SLOW;
}

static void probe_run(struct probe *pr, unsigned seconds)
{
    uint64_t next = benchutil_now_ns(), end = next + (uint64_t)seconds * 1000000000ull;

    memset(pr, 0, sizeof(*pr));
    while (next < end && pr->checks < MAX_CHECKS) {
        uint64_t now = benchutil_now_ns(), ns = 0;
        enum outcome o;

        if (now < next) {
            struct timespec ts = { 0, (long)(next - now) };
            nanosleep(&ts, NULL);
        }
        o = probe_once(&ns);
        pr->count[o]++;
        pr->checks++;
        if (o == OK_FAST || o == OK_SLOW)
            pr->lat[pr->nlat++] = ns;
        next += PROBE_PERIOD_NS;
        now = benchutil_now_ns();
        if (next < now) /* a check outlasted its period: the next starts now, no burst */
            next = now;
    }
}

/* ---- what the daemon counted ---- */

struct counted {
    double evicted[HTTPD_EVICT_COUNT], limits[3]; /* by enum httpd_evict */
    int found;
};

static const char *const limit_kinds[] = { "read_timeout", "write_timeout", "send_rate" };

static void counted_get(struct counted *c)
{
    char *body = daemon_scrape(&B.d, NULL);
    char series[160];

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
               "connect() refused, at most %d open at once\n",
               a->n, (unsigned long long)a->connects, (unsigned long long)a->drops,
               (unsigned long long)a->refused, a->max_open);
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

int main(int argc, char **argv)
{
    unsigned seconds = 10;
    int conns = -1; /* 1,000, or 64 with --handshake */
    size_t series = 20000;
    char *body;
    struct probe *pr = malloc(sizeof(*pr));
    int nargs = 1, handshake = 0;
    char *args[2] = { argv[0], NULL };
    const char *baseline = NULL;
    unsigned chosen = 0; /* bits by enum attack; 0: every one */

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
        else if (argv[i][0] != '-' && nargs == 1)
            args[nargs++] = argv[i];
        else
            bench_http_die(&B, 0,
                           "usage: bench_attack [--handshake] [USTATSD_BIN] [--baseline "
                           "OLD_BIN] [--seconds N] [--conns N] [--series N] [--attack "
                           "unfinished|slowloris|slow-reader]");
    }
    if (pr == NULL)
        bench_http_die(&B, ENOMEM, "malloc");
    if (conns < 0)
        conns = handshake ? 64 : 1000;
    if (seconds < 1 || seconds > 600 || conns < 1 || conns > 100000 || series > 200000)
        bench_http_die(&B, 0, "--seconds 1..600, --conns 1..100000, --series up to 200000");
    raise_nofile(conns);
    signal(SIGPIPE, SIG_IGN);
    if (handshake) {
        const char *bin = nargs > 1 ? args[1] : getenv("USTATSD_BIN");

        if (bin == NULL || access(bin, X_OK) != 0 || (baseline && access(baseline, X_OK) != 0))
            bench_http_die(&B, 0, "--handshake: pass the ustatsd binary (and --baseline's)");
        run_handshake(bin, baseline, seconds, conns);
        free(pr);
        return 0;
    }
    bench_http_start(&B, "bench_attack", nargs, args);
    bench_http_populate(&B, series);
    body = daemon_scrape(&B.d, NULL);
    printf("bench_attack: /metrics is %.2f MB; %d attacking connections per attack, %u s a "
           "run, a fresh-connection GET /-/healthy every 10 ms\n",
           body ? bench_http_mb(strlen(body)) : 0.0, conns, seconds);
    free(body);
    fflush(stdout);

    for (int k = NONE; k < NATTACKS; k++) {
        struct attacker a;
        struct counted before, after;
        struct cpu_use c0, c1;

        if (k != NONE && chosen != 0 && !(chosen & 1u << k))
            continue;
        counted_get(&before);
        if (k != NONE) {
            attacker_start(&a, (enum attack)k, conns);
            usleep(WARMUP_MS * 1000); /* the attackers are connected */
        }
        cpu_use_get(&c0);
        probe_run(pr, seconds);
        cpu_use_get(&c1);
        if (k != NONE)
            attacker_stop(&a);
        usleep(200 * 1000); /* the daemon sees the attackers leave */
        counted_get(&after);
        report((enum attack)k, pr, k != NONE ? &a : NULL, &before, &after);
        cpu_use_report(&c0, &c1, seconds);
    }
    free(pr);
    bench_http_stop(&B);
    return 0;
}
