/*
 * bench_snapshot's daemon under test: the series mix and the config for it, starting and
 * stopping the daemon, filling it, the steady load; and what the daemon reports: a
 * snapshot's answer, memory, the loop-turn histogram, its threads' CPU and run-queue wait.
 */
#include <dirent.h>
#include <math.h>

#include "bench_snapshot.h"

#define SERVICES_PER_FAM 1000
#define ROUTES           25
#define DGRAM_BYTES      8192
#define LOAD_SERIES      100000

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
uint64_t inst_start(struct inst *in, const char *dir, size_t n, const char *state, int pin)
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
    /* A restore of 10M series takes tens of seconds: 10 s and 20 s a million series. */
    o.ready_timeout_ms = (unsigned)(10000 + n / 50);
    t0 = benchutil_now_ns();
    if (daemon_start_with(&in->d, config, &o) != 0)
        benchutil_die("the daemon did not start");
    benchutil_daemon_watch(&in->d);
    t0 = benchutil_now_ns() - t0;
    free(config);
    return t0;
}

/* SIGTERM (a final snapshot when the state file is set); returns the time it took. */
uint64_t inst_stop(struct inst *in)
{
    uint64_t t0 = benchutil_now_ns();

    benchutil_daemon_stop(&in->d);
    return benchutil_now_ns() - t0;
}

/* The daemon's own metrics, from the self endpoint. Malloc'd. */
static char *self_scrape(struct inst *in)
{
    return benchutil_get_metrics(in->self);
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
void populate(struct inst *in, size_t n)
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

/* The steady load over series of n: LOAD_PER lines a datagram, values of another round. */
void steady_load(struct benchutil_load *load, size_t n)
{
    g_round = 1;
    benchutil_load_build(load, n < LOAD_SERIES ? n : LOAD_SERIES, LOAD_PER, line_of);
}

/* ---- figures from the daemon -------------------------------------------------------- */

/* The number after "key": in a JSON text (searched from p), or NAN. */
double json_num(const char *p, const char *key)
{
    char pat[96];
    const char *at;

    if (p == NULL)
        return NAN;
    benchutil_fmt(pat, sizeof(pat), "\"%s\":", key);
    at = strstr(p, pat);
    return at != NULL ? strtod(at + strlen(pat), NULL) : NAN;
}

void snapshot_now(struct inst *in, struct snap *s)
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
void proc_mem(pid_t pid, double *rss_kb, double *hwm_kb)
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
int reset_hwm(pid_t pid)
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

/* The histogram <name> out of body into t (nb 0 when it is not there). */
static void parse_turns(const char *body, const char *name, struct turns *t)
{
    char prefix[128], count[128];
    const char *p = body;
    int found;

    benchutil_fmt(prefix, sizeof(prefix), "\n%s_bucket{le=\"", name);
    benchutil_fmt(count, sizeof(count), "%s_count", name);
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
    t->count = expo_sum(body, count, &found);
    if (!found)
        t->nb = 0;
}

void read_turns(struct inst *in, struct turns *t, struct turns *tc)
{
    char *body = self_scrape(in);

    parse_turns(body, "ustatsd_event_loop_iteration_seconds", t);
    parse_turns(body, "ustatsd_event_loop_iteration_cpu_seconds", tc);
    free(body);
    if (t->nb == 0)
        benchutil_die("no ustatsd_event_loop_iteration_seconds in the daemon's own metrics");
}

/* t = after - before. */
void turns_diff(struct turns *t, const struct turns *before, const struct turns *after)
{
    *t = *after;
    t->count -= before->count;
    for (size_t i = 0; i < t->nb; i++)
        t->cum[i] -= before->cum[i];
}

/* Turns longer than the bound s (one of the histogram's bounds). */
double turns_over(const struct turns *t, double s)
{
    for (size_t i = 0; i < t->nb; i++)
        if (fabs(t->le[i] - s) < s * 1e-6)
            return t->count - t->cum[i];
    return NAN;
}

/* The bounds of the longest turn: (lo, hi] in ms, from the highest bucket that has any. */
void turns_longest(const struct turns *t, double *lo_ms, double *hi_ms)
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

void read_cputime(pid_t pid, struct cputime *c)
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
