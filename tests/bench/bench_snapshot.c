/*
 * bench_snapshot: what a state snapshot (daemon.state_file) costs the daemon, and what
 * the restore costs its start-up, at 100,000 and 1,000,000 series.
 *
 *   bench_snapshot [USTATSD_BIN] [--series N] [--runs N] [--quick] [--no-pin]
 *
 * The series are HTTP-server metrics: 90% counters http_requests_total{service, method,
 * route, status} and 10% histograms http_request_duration{service, method, route} in
 * milliseconds, 12 buckets, over 1,000 services (checkout-api-17, ...), 25 route templates,
 * 4 methods and 9 status codes: few values per label, many combinations, as in real
 * fleets. They are filled with blocking sends of datagrams packed up to 8 KiB.
 *
 * For each size, the real daemon (pinned to CPU 1 with its worker threads, which deflate
 * and write the file; the prober and the sender on CPU 0) is asked for snapshots with
 * POST /debug/snapshot, which answers once the file is on disk, and reports:
 *
 *   1. the longest event-loop turn while a snapshot is written, two ways, against a
 *      window of the same length without one, measured right after in the same run:
 *      (a) the daemon's own ustatsd_event_loop_iteration_seconds buckets (read on an
 *          endpoint that serves only the daemon's own metrics, so that reading them does
 *          not render a million series), and the snapshot's longest_slice_seconds;
 *      (b) from outside: GET /-/healthy back to back on a keep-alive connection, max and
 *          p99 latency.
 *      Both with the daemon otherwise idle, and with a steady load (100,000 lines/s in
 *      datagrams of 20 lines, never blocking: EAGAIN is a drop, counted). A window
 *      repeats snapshots back to back for a second (one of 100,000 series takes about
 *      40 ms). Also the daemon's threads' CPU time and the loop thread's run-queue wait
 *      (schedstat): a loop busy with slices takes any preemption inside a turn, by the
 *      snapshot's own worker when the two share one CPU, or by other processes.
 *      Target (issue 16): no loop turn over 5 ms at 100,000 series;
 *   2. the file's size per series, and its records' size per series before deflate;
 *   3. the snapshot's wall time; the restore at start-up (daemon.state.restore.seconds in
 *      /debug) and the start-up time to /-/ready on the file, against a start-up without
 *      a state file in the same run (readiness is polled with a back-off of up to 20 ms);
 *   4. memory: VmHWM around a snapshot, reset to the current RSS before it
 *      (/proc/PID/clear_refs, root), against VmRSS before it: what a snapshot adds at
 *      its peak (deflate's state and output buffer; the chunk of records stays allocated
 *      from one snapshot to the next), the RSS after many, and the peak of a start-up
 *      that restores (the records inflated whole).
 *
 * Exit status: 0 when the target is met (or not applicable) and every restore put back
 * every series; 2 when the target is missed; 1 when the run failed.
 */
#include <dirent.h>
#include <math.h>

#include "benchutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_RUNS     3
#define MAX_RUNS         9
#define SERVICES_PER_FAM 1000
#define ROUTES           25
#define BUCKETS          12
#define DGRAM_BYTES      8192
#define LOAD_PER         20
#define LOAD_LINES_PER_S 100000.0
#define LOAD_SERIES      100000
#define TARGET_SERIES    100000
#define TARGET_MS        5.0
#define MAX_CHECKS       (1u << 22)
#define MAX_BOUNDS       16
#define WINDOW_MS        1000.0 /* a snapshot window repeats snapshots for at least this */

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };
static const char *const statuses[] = { "200", "201", "204", "400", "404",
                                        "409", "429", "500", "503" };
static const char *const services[] = {
    "checkout", "cart",    "payments", "search",    "catalog",
    "auth",     "profile", "orders",   "inventory", "shipping"
};
static const char *const routes[ROUTES] = {
    "/api/v1/orders",
    "/api/v1/orders/:id",
    "/api/v1/orders/:id/items",
    "/api/v1/carts/:id",
    "/api/v1/carts/:id/items",
    "/api/v1/users/:id",
    "/api/v1/users/:id/prefs",
    "/api/v1/products",
    "/api/v1/products/:sku",
    "/api/v1/search",
    "/api/v1/payments",
    "/api/v1/payments/:id",
    "/api/v1/refunds",
    "/api/v1/shipments/:id",
    "/api/v1/stock/:sku",
    "/api/v2/orders",
    "/api/v2/orders/:id",
    "/api/v2/checkout",
    "/api/v2/recommendations",
    "/api/v2/reviews/:sku",
    "/auth/login",
    "/auth/token",
    "/auth/logout",
    "/healthz",
    "/graphql",
};

/* The value round of the lines line_of() writes: the fill and the load differ. */
static unsigned g_round;

/* The service's label value: "checkout-api-17". */
static int service_name(char *out, size_t cap, size_t s)
{
    return snprintf(out, cap, "%s-api-%zu", services[s % ARRAY_SIZE(services)],
                    s / ARRAY_SIZE(services));
}

/*
 * Series i of the mix: every tenth a histogram, the others counters; each kind's index
 * walks status, method, route, then service, so lines [0, n) make n distinct series:
 *
 *   http_requests:1|c|#service:checkout-api-0,method:GET,route:/api/v1/orders,status:200
 *   http_request_duration:23|ms|#service:checkout-api-0,method:GET,route:/api/v1/orders
 */
static size_t line_of(uint64_t i, char *buf, size_t cap)
{
    char svc[48];
    size_t k;
    int n;

    if (i % 10 == 9) {
        k = (size_t)(i / 10);
        service_name(svc, sizeof(svc), k / (ARRAY_SIZE(methods) * ROUTES));
        n = snprintf(buf, cap, "http_request_duration:%u|ms|#service:%s,method:%s,route:%s",
                     (unsigned)((k * 7919 + g_round * 13) % 900), svc,
                     methods[k % ARRAY_SIZE(methods)], routes[k / ARRAY_SIZE(methods) % ROUTES]);
    } else {
        k = (size_t)(i - i / 10);
        service_name(svc, sizeof(svc), k / (ARRAY_SIZE(statuses) * ARRAY_SIZE(methods) * ROUTES));
        n = snprintf(buf, cap, "http_requests:%u|c|#service:%s,method:%s,route:%s,status:%s",
                     (unsigned)((k * 2654435761u + g_round) % 5000 + 1), svc,
                     methods[k / ARRAY_SIZE(statuses) % ARRAY_SIZE(methods)],
                     routes[k / (ARRAY_SIZE(statuses) * ARRAY_SIZE(methods)) % ROUTES],
                     statuses[k % ARRAY_SIZE(statuses)]);
    }
    if (n < 0 || (size_t)n >= cap)
        benchutil_die("line %llu does not fit", (unsigned long long)i);
    return (size_t)n;
}

/* ---- the daemon --------------------------------------------------------------------- */

/* One daemon and the Unix socket of its endpoint that serves only its own metrics. */
struct inst {
    struct daemon d;
    char self[300]; /* "unix:<dir>/self-<tag>.sock" */
};

static void quoted_list(struct benchutil_load *t, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        benchutil_load_add(t, "\"", 1, 0);
        benchutil_load_add(t, v[i], strlen(v[i]), 0);
        benchutil_load_add(t, i + 1 < n ? "\", " : "\"", i + 1 < n ? 3 : 1, 0);
    }
}

/* The config for n series, with an endpoint of self metrics at self. Malloc'd. */
static char *config_text(size_t n, const char *self)
{
    struct benchutil_load t = { 0 }; /* a growable buffer */
    char part[1024];
    size_t cap = n + n / 2 + 1000, svc = n / 100 + 100;

    benchutil_fmt(part, sizeof(part),
                  "{\n  \"daemon\": {\"state_interval_seconds\": 86400},\n"
                  "  \"limits\": {\"max_series\": %zu, \"max_series_per_family\": %zu},\n"
                  "  \"endpoints\": [{\"name\": \"self\", \"listen\": \"%s\", "
                  "\"families\": [], \"self_metrics\": true}],\n"
                  "  \"families\": [\n"
                  "    {\"name\": \"http_requests_total\", \"type\": \"counter\", "
                  "\"help\": \"HTTP requests.\", \"labels\": [\n"
                  "      {\"name\": \"service\", \"max_values\": %zu},\n"
                  "      {\"name\": \"method\", \"values\": [",
                  cap, cap, self, svc);
    benchutil_load_add(&t, part, strlen(part), 0);
    quoted_list(&t, methods, ARRAY_SIZE(methods));
    benchutil_fmt(part, sizeof(part),
                  "]},\n      {\"name\": \"route\", \"max_values\": %d},\n"
                  "      {\"name\": \"status\", \"values\": [",
                  ROUTES * 2);
    benchutil_load_add(&t, part, strlen(part), 0);
    quoted_list(&t, statuses, ARRAY_SIZE(statuses));
    benchutil_fmt(part, sizeof(part),
                  "]}]},\n"
                  "    {\"name\": \"http_request_duration\", \"type\": \"histogram\", "
                  "\"unit\": \"milliseconds\", \"help\": \"HTTP request latency.\",\n"
                  "     \"buckets\": [5, 10, 25, 50, 75, 100, 150, 250, 400, 600, 800, 1000],\n"
                  "     \"labels\": [\n"
                  "      {\"name\": \"service\", \"max_values\": %zu},\n"
                  "      {\"name\": \"method\", \"values\": [",
                  svc);
    benchutil_load_add(&t, part, strlen(part), 0);
    quoted_list(&t, methods, ARRAY_SIZE(methods));
    benchutil_fmt(part, sizeof(part),
                  "]},\n      {\"name\": \"route\", \"max_values\": %d}]}\n  ]\n}\n", ROUTES * 2);
    benchutil_load_add(&t, part, strlen(part) + 1, 0);
    free(t.off);
    return t.data;
}

/*
 * Start a daemon for n series, with the state file at state (NULL: none), its self
 * endpoint in dir. Returns the time from the start to /-/ready answering 200, in ns.
 */
static uint64_t inst_start(struct inst *in, const char *dir, size_t n, const char *state, int pin)
{
    static unsigned seq;
    const char *args[] = { "--log-level", "warn", "--state-file", state, NULL };
    struct daemon_options o;
    uint64_t t0;
    char *config;

    benchutil_fmt(in->self, sizeof(in->self), "unix:%s/self-%u.sock", dir, seq++);
    config = config_text(n, in->self);
    memset(&o, 0, sizeof(o));
    if (state == NULL)
        args[2] = NULL;
    o.args = args;
    o.pin = pin && sysconf(_SC_NPROCESSORS_ONLN) >= 2;
    o.cpu = BENCHUTIL_CPU_RECEIVER;
    t0 = benchutil_now_ns();
    if (daemon_start_with(&in->d, config, &o) != 0)
        benchutil_die("the daemon did not start");
    t0 = benchutil_now_ns() - t0;
    free(config);
    return t0;
}

/* SIGTERM (a final snapshot when the state file is set); returns the time it took. */
static uint64_t inst_stop(struct inst *in)
{
    uint64_t t0 = benchutil_now_ns();

    benchutil_daemon_stop(&in->d);
    return benchutil_now_ns() - t0;
}

/* The daemon's own metrics, from the self endpoint. Malloc'd. */
static char *self_scrape(struct inst *in)
{
    struct httpc_response r;
    char *body;
    int rc = httpc_get(in->self, "/metrics", NULL, &r);

    if (rc != 0 || r.status != 200)
        benchutil_die("GET /metrics on the self endpoint: %s",
                      rc != 0 ? strerror(-rc) : "status is not 200");
    body = strdup(r.body);
    httpc_response_release(&r);
    if (body == NULL)
        benchutil_die("out of memory");
    return body;
}

static double self_value(struct inst *in, const char *name)
{
    char *body = self_scrape(in);
    int found;
    double v = expo_sum(body, name, &found);

    free(body);
    if (!found)
        benchutil_die("no %s in the daemon's own metrics", name);
    return v;
}

/* Poll ustatsd_lines_accepted_total until it reaches want, or timeout_s passes. */
static double wait_accepted(struct inst *in, double want, unsigned timeout_s)
{
    uint64_t deadline = benchutil_now_ns() + (uint64_t)timeout_s * 1000000000ull;
    double acc;

    for (;;) {
        acc = self_value(in, "ustatsd_lines_accepted_total");
        if (acc >= want || benchutil_now_ns() > deadline)
            return acc;
        waitfor_sleep_ms(20);
    }
}

/* Fill series [0, n) with blocking sends. Prints the time it took. */
static void populate(struct inst *in, size_t n)
{
    struct benchutil_load load;
    uint64_t t0;
    double acc0 = self_value(in, "ustatsd_lines_accepted_total"), acc;
    int fd;

    g_round = 0;
    benchutil_load_build_filled(&load, n, DGRAM_BYTES, line_of);
    fd = benchutil_connect_dgram(in->d.sock);
    t0 = benchutil_now_ns();
    benchutil_send_blocking(fd, &load);
    close(fd);
    acc = wait_accepted(in, acc0 + (double)n, 120);
    if (acc - acc0 != (double)n) {
        char *body = self_scrape(in);
        fprintf(stderr, "bench: populating: %.0f of %zu lines accepted\n", acc - acc0, n);
        fputs(body, stderr);
        free(body);
        exit(1);
    }
    printf("  filled %zu series in %.2f s (%zu datagrams of %.0f bytes on average)\n", n,
           (double)(benchutil_now_ns() - t0) / 1e9, load.n, (double)load.len / (double)load.n);
    benchutil_load_free(&load);
}

/* ---- figures from the daemon -------------------------------------------------------- */

/* The number after "key": in a JSON text (searched from p), or NAN. */
static double json_num(const char *p, const char *key)
{
    char pat[96];
    const char *at;

    if (p == NULL)
        return NAN;
    benchutil_fmt(pat, sizeof(pat), "\"%s\":", key);
    at = strstr(p, pat);
    return at != NULL ? strtod(at + strlen(pat), NULL) : NAN;
}

/* What POST /debug/snapshot answered. */
struct snap {
    double series, bytes, records_bytes, seconds, longest_slice;
};

static void snapshot_now(struct inst *in, struct snap *s)
{
    char *body = NULL;
    int st = daemon_post(&in->d, "/debug/snapshot", &body);

    if (st != 200)
        benchutil_die("POST /debug/snapshot: status %d: %s", st, body ? body : "");
    s->series = json_num(body, "series");
    s->bytes = json_num(body, "bytes");
    s->records_bytes = json_num(body, "records_bytes");
    s->seconds = json_num(body, "seconds");
    s->longest_slice = json_num(body, "longest_slice_seconds");
    free(body);
    if (isnan(s->series) || isnan(s->seconds) || isnan(s->longest_slice))
        benchutil_die("POST /debug/snapshot: unexpected answer");
}

/* VmRSS and VmHWM of pid, KiB. */
static void proc_mem(pid_t pid, double *rss_kb, double *hwm_kb)
{
    char path[64], line[256];
    FILE *f;

    benchutil_fmt(path, sizeof(path), "/proc/%d/status", (int)pid);
    *rss_kb = *hwm_kb = NAN;
    if ((f = fopen(path, "r")) == NULL)
        benchutil_die("%s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtod(line + 6, NULL);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm_kb = strtod(line + 6, NULL);
    }
    fclose(f);
}

/* Reset pid's VmHWM to its current RSS (proc(5), clear_refs "5"). Returns 0, or -1. */
static int reset_hwm(pid_t pid)
{
    char path[64];
    FILE *f;

    benchutil_fmt(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    if (fputs("5", f) < 0) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* The loop-turn histogram: cumulative counts per upper bound, and the count. */
struct turns {
    size_t nb;
    double le[MAX_BOUNDS], cum[MAX_BOUNDS];
    double count;
};

static void read_turns(struct inst *in, struct turns *t)
{
    static const char prefix[] = "\nustatsd_event_loop_iteration_seconds_bucket{le=\"";
    char *body = self_scrape(in);
    const char *p = body;
    int found;

    memset(t, 0, sizeof(*t));
    while ((p = strstr(p, prefix)) != NULL && t->nb < MAX_BOUNDS) {
        const char *q = p + strlen(prefix), *sp;
        t->le[t->nb] = strncmp(q, "+Inf", 4) == 0 ? INFINITY : strtod(q, NULL);
        sp = strchr(q, ' ');
        if (sp == NULL)
            break;
        t->cum[t->nb++] = strtod(sp + 1, NULL);
        p = sp;
    }
    t->count = expo_sum(body, "ustatsd_event_loop_iteration_seconds_count", &found);
    free(body);
    if (t->nb == 0 || !found)
        benchutil_die("no ustatsd_event_loop_iteration_seconds in the daemon's own metrics");
}

/* t = after - before. */
static void turns_diff(struct turns *t, const struct turns *before, const struct turns *after)
{
    *t = *after;
    t->count -= before->count;
    for (size_t i = 0; i < t->nb; i++)
        t->cum[i] -= before->cum[i];
}

/* Turns longer than the bound s (one of the histogram's bounds). */
static double turns_over(const struct turns *t, double s)
{
    for (size_t i = 0; i < t->nb; i++)
        if (fabs(t->le[i] - s) < s * 1e-6)
            return t->count - t->cum[i];
    return NAN;
}

/* The bounds of the longest turn: (lo, hi] in ms, from the highest bucket that has any. */
static void turns_longest(const struct turns *t, double *lo_ms, double *hi_ms)
{
    *lo_ms = *hi_ms = 0;
    for (size_t i = 0; i < t->nb; i++) {
        double below = i == 0 ? 0 : t->cum[i - 1];
        if (t->cum[i] > below) {
            *lo_ms = i == 0 ? 0 : t->le[i - 1] * 1e3;
            *hi_ms = t->le[i] * 1e3;
        }
    }
}

/*
 * The daemon's threads' times from /proc/PID/task/TID/schedstat, ms: the loop thread's
 * (the main one) time on the CPU and waiting for it on a run queue, and the other
 * threads' time on the CPU (libuv's workers: a snapshot's deflate and writes).
 */
struct cputime {
    double loop_run, loop_wait, others_run;
};

static void read_cputime(pid_t pid, struct cputime *c)
{
    char path[128];
    DIR *dir;
    struct dirent *e;

    memset(c, 0, sizeof(*c));
    benchutil_fmt(path, sizeof(path), "/proc/%d/task", (int)pid);
    if ((dir = opendir(path)) == NULL)
        benchutil_die("%s: %s", path, strerror(errno));
    while ((e = readdir(dir)) != NULL) {
        unsigned long long run, wait;
        FILE *f;
        int ok;

        if (e->d_name[0] == '.')
            continue;
        benchutil_fmt(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue; /* the thread ended */
        ok = fscanf(f, "%llu %llu", &run, &wait) == 2;
        fclose(f);
        if (!ok)
            continue;
        if (atoi(e->d_name) == (int)pid) {
            c->loop_run = (double)run / 1e6;
            c->loop_wait = (double)wait / 1e6;
        } else {
            c->others_run += (double)run / 1e6;
        }
    }
    closedir(dir);
}

/* ---- the prober ---------------------------------------------------------------------- */

/* GET /-/healthy back to back on one keep-alive connection; latencies while armed. */
struct prober {
    const char *addr;
    pthread_t thread;
    atomic_int stop, armed;
    uint64_t *lat;
    size_t n;
    int error;
};

static void *prober_main(void *arg)
{
    struct prober *p = arg;
    struct httpc h;
    int rc;

    if ((rc = httpc_open(&h, p->addr, 60000)) != 0) {
        p->error = -rc;
        return NULL;
    }
    while (!atomic_load(&p->stop)) {
        int armed = atomic_load(&p->armed);
        uint64_t dt;

        if ((rc = benchutil_health_check(&h, &dt)) != 0) {
            p->error = rc;
            break;
        }
        if (armed && atomic_load(&p->armed) && p->n < MAX_CHECKS)
            p->lat[p->n++] = dt;
    }
    httpc_close(&h);
    return NULL;
}

static void prober_start(struct prober *p, const char *addr)
{
    memset(p, 0, sizeof(*p));
    p->addr = addr;
    atomic_init(&p->stop, 0);
    atomic_init(&p->armed, 0);
    p->lat = benchutil_xrealloc(NULL, MAX_CHECKS * sizeof(*p->lat));
    if (pthread_create(&p->thread, NULL, prober_main, p) != 0)
        benchutil_die("pthread_create failed");
    waitfor_sleep_ms(20);
}

/* What one window found. */
struct window {
    double ms;      /* its length */
    struct turns t; /* the daemon's loop turns in it */
    size_t checks;  /* health checks */
    double p50_ms, p99_ms, max_ms;
    uint64_t drops;     /* the load's EAGAIN */
    struct snap s;      /* a snapshot window: what its last snapshot answered */
    struct cputime cpu; /* the daemon's threads in it */
    unsigned snaps;     /* snapshots written back to back in it */
    double slice_ms;    /* the longest slice any of them took */
};

/* Stop the prober's window and summarise it into w. */
static void prober_collect(struct prober *p, struct window *w)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    if (p->error)
        benchutil_die("health probe: %s", strerror(p->error));
    if (p->n == 0)
        benchutil_die("no health check completed inside the window");
    qsort(p->lat, p->n, sizeof(p->lat[0]), benchutil_cmp_u64);
    w->checks = p->n;
    w->p50_ms = (double)p->lat[p->n / 2] / 1e6;
    w->p99_ms = (double)p->lat[p->n * 99 / 100] / 1e6;
    w->max_ms = (double)p->lat[p->n - 1] / 1e6;
    free(p->lat);
}

/*
 * One window: the prober (and with load, the paced sender) around a snapshot (snapshot
 * nonzero) or a pause of pause_ms. The loop-turn counts are read just inside its ends.
 */
static void run_window(struct inst *in, const struct benchutil_load *load, int snapshot,
                       double pause_ms, struct window *w)
{
    struct benchutil_pacer pacer;
    struct prober p;
    struct turns t0, t1;
    struct cputime c0, c1;
    uint64_t start;
    int fd = -1;

    memset(w, 0, sizeof(*w));
    if (load != NULL) {
        fd = benchutil_connect_dgram(in->d.sock);
        benchutil_pace_start(&pacer, fd, load, LOAD_LINES_PER_S / LOAD_PER);
    }
    prober_start(&p, in->d.http);
    read_turns(in, &t0);
    atomic_store(&p.armed, 1);
    read_cputime(in->d.pid, &c0);
    start = benchutil_now_ns();
    if (snapshot) {
        do {
            snapshot_now(in, &w->s);
            w->snaps++;
            if (w->s.longest_slice * 1e3 > w->slice_ms)
                w->slice_ms = w->s.longest_slice * 1e3;
        } while ((double)(benchutil_now_ns() - start) / 1e6 < WINDOW_MS);
    } else
        waitfor_sleep_ms((int)(pause_ms + 0.5));
    w->ms = (double)(benchutil_now_ns() - start) / 1e6;
    read_cputime(in->d.pid, &c1);
    w->cpu.loop_run = c1.loop_run - c0.loop_run;
    w->cpu.loop_wait = c1.loop_wait - c0.loop_wait;
    w->cpu.others_run = c1.others_run - c0.others_run;
    atomic_store(&p.armed, 0);
    read_turns(in, &t1);
    prober_collect(&p, w);
    if (load != NULL) {
        benchutil_pace_stop(&pacer);
        w->drops = atomic_load(&pacer.drops);
        close(fd);
    }
    turns_diff(&w->t, &t0, &t1);
}

/* ---- reporting ----------------------------------------------------------------------- */

static void print_window(const char *what, const struct window *w)
{
    double lo, hi;

    turns_longest(&w->t, &lo, &hi);
    printf("    %s, %.0f ms", what, w->ms);
    if (w->snaps > 0)
        printf(": %u snapshots, longest slice %.3f ms", w->snaps, w->slice_ms);
    printf("\n      loop turns %.0f: >1 ms %.0f, >2.5 ms %.0f, >5 ms %.0f, >10 ms %.0f; the "
           "longest in (%g, %g] ms\n",
           w->t.count, turns_over(&w->t, 0.001), turns_over(&w->t, 0.0025),
           turns_over(&w->t, 0.005), turns_over(&w->t, 0.01), lo, hi);
    printf("      /-/healthy back to back: %zu checks, p50 %.3f ms, p99 %.3f ms, max %.3f ms; "
           "the load's drops %llu\n",
           w->checks, w->p50_ms, w->p99_ms, w->max_ms, (unsigned long long)w->drops);
    printf("      the loop thread ran %.0f ms and waited %.1f ms for its CPU; the other "
           "threads ran %.0f ms\n",
           w->cpu.loop_run, w->cpu.loop_wait, w->cpu.others_run);
    if (w->snaps > 0)
        printf("      per snapshot: the loop thread %.1f ms (with the checks it served), the "
               "other threads %.1f ms (deflate, write, fsync)\n",
               w->cpu.loop_run / w->snaps, w->cpu.others_run / w->snaps);
}

/* The worst of a set of windows. */
struct worst {
    double over5, over10, hi_ms, max_ms, p99_ms, slice_ms;
    double total5, wait_ms, ms; /* sums over the windows */
    uint64_t drops;
};

static void worst_add(struct worst *x, const struct window *w)
{
    double lo, hi;

    turns_longest(&w->t, &lo, &hi);
    x->total5 += turns_over(&w->t, 0.005);
    x->wait_ms += w->cpu.loop_wait;
    x->ms += w->ms;
    if (turns_over(&w->t, 0.005) > x->over5)
        x->over5 = turns_over(&w->t, 0.005);
    if (turns_over(&w->t, 0.01) > x->over10)
        x->over10 = turns_over(&w->t, 0.01);
    if (hi > x->hi_ms)
        x->hi_ms = hi;
    if (w->max_ms > x->max_ms)
        x->max_ms = w->max_ms;
    if (w->p99_ms > x->p99_ms)
        x->p99_ms = w->p99_ms;
    if (w->slice_ms > x->slice_ms)
        x->slice_ms = w->slice_ms;
    x->drops += w->drops;
}

/* What one size found, for the summary. */
struct result {
    size_t n;
    struct snap s; /* the last snapshot */
    double snap_seconds[MAX_RUNS * 2];
    size_t nsnaps;
    struct worst in[2], base[2]; /* idle, loaded */
    unsigned snaps;              /* written in the windows */
    double rss_kb, hwm_first_kb, hwm_next_kb, rss_after_kb, rss_end_kb;
    int hwm_reset;
    double restore_s, start_state_ms, start_plain_ms, restore_hwm_kb, stop_s;
    int restored_all;
};

/* ---- one size ------------------------------------------------------------------------ */

static void measure_memory(struct inst *in, struct result *r)
{
    struct snap s;
    double rss, hwm;

    r->hwm_reset = reset_hwm(in->d.pid) == 0;
    proc_mem(in->d.pid, &r->rss_kb, &hwm);
    snapshot_now(in, &s); /* the first: starts libuv's worker threads */
    proc_mem(in->d.pid, &rss, &r->hwm_first_kb);
    reset_hwm(in->d.pid);
    proc_mem(in->d.pid, &rss, &hwm);
    snapshot_now(in, &s);
    proc_mem(in->d.pid, &r->rss_after_kb, &r->hwm_next_kb);
    r->hwm_next_kb -= rss;
    r->hwm_first_kb -= r->rss_kb;
    r->s = s;
    printf("  memory: VmRSS %.1f MiB (%.0f bytes per series) before the first snapshot\n",
           r->rss_kb / 1024, r->rss_kb * 1024 / (double)r->n);
    if (r->hwm_reset)
        printf("  memory: a snapshot's peak over the RSS before it (VmHWM reset by clear_refs): "
               "first %+.0f KiB (worker threads start), next %+.0f KiB; VmRSS after %+.0f KiB\n",
               r->hwm_first_kb, r->hwm_next_kb, r->rss_after_kb - r->rss_kb);
    else
        printf("  memory: cannot reset VmHWM (/proc/PID/clear_refs needs root): peaks not "
               "measured; VmRSS after two snapshots %+.0f KiB\n",
               r->rss_after_kb - r->rss_kb);
}

static void measure_loop(struct inst *in, size_t n, int runs, struct result *r)
{
    struct benchutil_load load;

    g_round = 1;
    benchutil_load_build(&load, n < LOAD_SERIES ? n : LOAD_SERIES, LOAD_PER, line_of);
    memset(r->in, 0, sizeof(r->in));
    memset(r->base, 0, sizeof(r->base));
    for (int loaded = 0; loaded < 2; loaded++) {
        printf("  %s: snapshots back to back for %.0f ms, then as long without (the baseline), %d "
               "times\n",
               loaded ? "loaded (100,000 lines/s, 20 per datagram, never blocking)"
                      : "idle (only the prober)",
               WINDOW_MS, runs);
        for (int i = 0; i < runs; i++) {
            struct window s, b;
            run_window(in, loaded ? &load : NULL, 1, 0, &s);
            run_window(in, loaded ? &load : NULL, 0, s.ms, &b);
            print_window("snapshot", &s);
            print_window("baseline", &b);
            worst_add(&r->in[loaded], &s);
            worst_add(&r->base[loaded], &b);
            r->s = s.s;
            if (r->nsnaps < ARRAY_SIZE(r->snap_seconds))
                r->snap_seconds[r->nsnaps++] = s.s.seconds;
            r->snaps += s.snaps;
        }
    }
    benchutil_load_free(&load);
}

/* The restore section of /debug: its result, seconds and series. */
static void read_restore(struct inst *in, char *result, size_t cap, double *seconds, double *series)
{
    char *body = NULL;
    const char *p = NULL, *q;

    if (daemon_get(&in->d, "/debug?section=daemon", NULL, &body) == 200 && body != NULL)
        p = strstr(body, "\"restore\":");
    if (p == NULL)
        benchutil_die("no daemon.state.restore in /debug");
    *seconds = json_num(p, "seconds");
    *series = json_num(p, "series");
    q = strstr(p, "\"result\":\"");
    benchutil_fmt(result, cap, "%.*s", q ? (int)strcspn(q + 10, "\"") : 1, q ? q + 10 : "?");
    free(body);
}

/*
 * Start-up on the state file against start-up without one, runs times each, alternately;
 * every restore must put back n series.
 */
static void measure_restart(const char *dir, const char *state, size_t n, int runs, int pin,
                            struct result *r)
{
    double restore[MAX_RUNS], with[MAX_RUNS], without[MAX_RUNS], hwm = 0, rss_at = 0;
    double stop[MAX_RUNS];
    char result[32];

    r->restored_all = 1;
    for (int i = 0; i < runs; i++) {
        struct inst in;
        double series, rss, h;

        with[i] = (double)inst_start(&in, dir, n, state, pin) / 1e6;
        read_restore(&in, result, sizeof(result), &restore[i], &series);
        proc_mem(in.d.pid, &rss, &h);
        if (h > hwm) {
            hwm = h;
            rss_at = rss;
        }
        if (strcmp(result, "restored") != 0 || series != (double)n) {
            fprintf(stderr, "bench: restore %d: %s, %.0f series of %zu\n", i + 1, result, series,
                    n);
            r->restored_all = 0;
        }
        stop[i] = (double)inst_stop(&in) / 1e9;
        without[i] = (double)inst_start(&in, dir, n, NULL, pin) / 1e6;
        inst_stop(&in);
    }
    r->restore_s = benchutil_median(restore, (size_t)runs);
    r->start_state_ms = benchutil_median(with, (size_t)runs);
    r->start_plain_ms = benchutil_median(without, (size_t)runs);
    r->stop_s = benchutil_median(stop, (size_t)runs);
    r->restore_hwm_kb = hwm;
    printf("  restore at start-up (median of %d): %.3f s in the daemon "
           "(daemon.state.restore.seconds), %.0f ms to /-/ready; without a state file %.0f ms; "
           "every restore put back %zu series: %s\n",
           runs, r->restore_s, r->start_state_ms, r->start_plain_ms, n,
           r->restored_all ? "yes" : "NO");
    printf("  memory of a start-up that restores: VmHWM %.1f MiB, VmRSS once ready %.1f MiB (the "
           "records are inflated whole, then freed: %.1f bytes per series at the peak)\n",
           hwm / 1024, rss_at / 1024, (hwm - rss_at) * 1024 / (double)n);
    printf("  a stop, with its final snapshot: %.2f s (median)\n", r->stop_s);
}

static void run_size(const char *dir, size_t n, int runs, int pin, struct result *r)
{
    struct inst in;
    char state[400];
    uint64_t ms;

    memset(r, 0, sizeof(*r));
    r->n = n;
    benchutil_fmt(state, sizeof(state), "%s/state-%zu", dir, n);
    printf("\n %zu series (%zu counters with 4 labels, %zu histograms of %d buckets with 3):\n", n,
           n - n / 10, n / 10, BUCKETS);
    ms = inst_start(&in, dir, n, state, pin) / 1000000u;
    printf("  started in %llu ms with no state file yet\n", (unsigned long long)ms);
    populate(&in, n);
    measure_memory(&in, r);
    measure_loop(&in, n, runs, r);
    {
        double hwm;
        proc_mem(in.d.pid, &r->rss_end_kb, &hwm);
        printf("  memory: VmRSS after %u more snapshots %+.0f KiB over the RSS before the "
               "first\n",
               r->snaps, r->rss_end_kb - r->rss_kb);
    }
    printf("  file: %.0f bytes, %.1f bytes per series; records %.0f bytes, %.1f per series "
           "(deflate ratio %.2f); snapshot wall time median %.3f s (the last of each window)\n",
           r->s.bytes, r->s.bytes / (double)n, r->s.records_bytes, r->s.records_bytes / (double)n,
           r->s.records_bytes / r->s.bytes, benchutil_median(r->snap_seconds, r->nsnaps));
    if (r->s.series != (double)n) {
        fprintf(stderr, "bench: the snapshot holds %.0f series, not %zu\n", r->s.series, n);
        r->restored_all = 0;
    }
    inst_stop(&in);
    measure_restart(dir, state, n, runs, pin, r);
}

/* ---- the command line and the summary ------------------------------------------------ */

struct args {
    size_t series[2];
    size_t nseries;
    int runs;
    int pin;
};

static void parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){ { 100000, 1000000 }, 2, DEFAULT_RUNS, 1 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
            a->series[0] = (size_t)strtoull(argv[++i], NULL, 10);
            a->nseries = 1;
            if (a->series[0] < 10 || a->series[0] > 10000000)
                benchutil_die("--series must be 10..10000000");
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            a->runs = atoi(argv[++i]);
            if (a->runs < 1 || a->runs > MAX_RUNS)
                benchutil_die("--runs must be 1..%d", MAX_RUNS);
        } else if (strcmp(argv[i], "--quick") == 0) {
            a->runs = 1;
        } else if (strcmp(argv[i], "--no-pin") == 0) {
            a->pin = 0;
        } else if (argv[i][0] == '-' || i != 1) {
            benchutil_die("usage: bench_snapshot [USTATSD_BIN] [--series N] [--runs N] "
                          "[--quick] [--no-pin]");
        }
    }
}

static int print_summary(const struct result *res, size_t nres)
{
    int status = 0;

    printf("\n summary (worst window of each kind; loop turns from the daemon's histogram, "
           "checks from outside):\n");
    printf("  %9s %6s %7s %7s %9s %9s %12s %12s %9s %9s %8s %9s\n", "series", "load", "turns>5",
           "base>5", "longest", "slice", "healthy max", "base max", "B/series", "rec/srs", "snap s",
           "restore");
    for (size_t i = 0; i < nres; i++) {
        const struct result *r = &res[i];
        for (int l = 0; l < 2; l++) {
            char longest[24];
            benchutil_fmt(longest, sizeof(longest), "<=%gms", r->in[l].hi_ms);
            printf("  %9zu %6s %7.0f %7.0f %9s %7.2fms %10.2fms %10.2fms %9.1f %9.1f %8.3f "
                   "%8.3fs\n",
                   r->n, l ? "loaded" : "idle", r->in[l].over5, r->base[l].over5, longest,
                   r->in[l].slice_ms, r->in[l].max_ms, r->base[l].max_ms, r->s.bytes / (double)r->n,
                   r->s.records_bytes / (double)r->n,
                   benchutil_median((double *)r->snap_seconds, r->nsnaps), r->restore_s);
        }
        if (!r->restored_all)
            status = 1;
        if (r->n == TARGET_SERIES) {
            int met = r->in[0].total5 == 0 && r->in[1].total5 == 0;
            printf("  target: no loop turn over %.0f ms while a snapshot of %d series is "
                   "written: %s (turns over 5 ms in all the windows: %.0f idle, %.0f loaded; "
                   "baselines %.0f, %.0f)\n",
                   TARGET_MS, TARGET_SERIES, met ? "met" : "MISSED", r->in[0].total5,
                   r->in[1].total5, r->base[0].total5, r->base[1].total5);
            if (!met)
                printf("  the loop thread waited for its CPU %.0f ms a second during the "
                       "snapshots, %.0f in the baselines: a busy loop takes the CPU time other "
                       "threads get inside its turns, the snapshot's own worker (when they share "
                       "one CPU) and other processes alike\n",
                       (r->in[0].wait_ms + r->in[1].wait_ms) * 1e3 / (r->in[0].ms + r->in[1].ms),
                       (r->base[0].wait_ms + r->base[1].wait_ms) * 1e3 /
                           (r->base[0].ms + r->base[1].ms));
            if (!met && status == 0)
                status = 2;
        }
    }
    return status;
}

int main(int argc, char **argv)
{
    struct result res[2];
    struct args a;
    char dir[256];
    long qlen;
    int status;

    parse_args(argc, argv, &a);
    benchutil_find_daemon(argc, argv);
    qlen = benchutil_private_netns();
    /* The prober, the sender and this thread on CPU 0, the daemon on CPU 1. */
    if (a.pin)
        benchutil_pin(BENCHUTIL_CPU_SENDER);
    benchutil_tmpdir(dir, sizeof(dir), "bench_snapshot");
    printf("ustatsd state snapshot benchmark: %s, max_dgram_qlen %ld, %d run%s per case, "
           "daemon %s\n",
           getenv("USTATSD_BIN"), qlen, a.runs, a.runs > 1 ? "s" : "",
           a.pin ? "and its worker threads pinned to CPU 1" : "not pinned");
    for (size_t i = 0; i < a.nseries; i++)
        run_size(dir, a.series[i], a.runs, a.pin, &res[i]);
    status = print_summary(res, a.nseries);
    benchutil_rmtree(dir);
    return status;
}
