/*
 * bench_reload: what a configuration reload (SIGHUP) costs the loop at 100,000 series.
 *
 *     bench_reload [path/to/ustatsd]      (or $USTATSD_BIN; BENCH_RUNS windows, at most 5)
 *
 * The daemon holds bench_http's mix: 60,000 counters, 30,000 gauges, 10,000 histograms.
 * Each reload renames the gauge family (bench_queue_depth <-> bench_queue_depth_v2): the
 * counters and histograms carry over, and the 30,000 gauge series are retired, which the
 * daemon frees a slice at a time on its expiry ticks, while the renamed family starts
 * empty. The file is read and checked on a worker thread; the loop only swaps it in.
 *
 * Around each reload runs bench_http's loop-hold probe (GET /-/healthy every 1 ms on a
 * keep-alive connection while a sender updates series) for as long as the reload and the
 * drain take; then a baseline window as long with no reload, measured in the same run.
 * Printed: the time from SIGHUP until the debug view counts the reload, the time the swap
 * held the loop (as the daemon logs it), and the health checks in both windows.
 */
#include <signal.h>

#include "bench_http.h"

#define DRAIN_MS 1500 /* 30,000 series at 2,000 per 50 ms expiry tick, and a margin */

struct reloads {
    int done;
    char renamed[sizeof(bench_http_config) + 16];
};

static void write_config(struct bench_http *b, const char *text)
{
    FILE *f = fopen(b->d.config, "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        bench_http_die(b, errno, "write %s", b->d.config);
}

/* Reloads the daemon has applied, from the debug view. */
static int reloads_applied(struct bench_http *b)
{
    char *body = NULL;
    const char *p;
    int n = -1;

    if (daemon_get(&b->d, "/debug?section=daemon", NULL, &body) == 200 && body &&
        (p = strstr(body, "\"succeeded\":")) != NULL)
        n = atoi(p + strlen("\"succeeded\":"));
    free(body);
    return n;
}

/* bench_http_action: one reload, timed from SIGHUP until applied; then the drain. */
static uint64_t reload_once(struct bench_http *b, void *arg)
{
    struct reloads *r = arg;
    uint64_t t0, dt;

    r->done++;
    write_config(b, r->done % 2 ? r->renamed : bench_http_config);
    t0 = benchutil_now_ns();
    if (kill(b->d.pid, SIGHUP) != 0)
        bench_http_die(b, errno, "kill");
    while (reloads_applied(b) < r->done) {
        if (benchutil_now_ns() - t0 > 10000000000ull)
            bench_http_die(b, 0, "reload %d was not applied within 10 s", r->done);
        usleep(1000);
    }
    dt = benchutil_now_ns() - t0;
    usleep(DRAIN_MS * 1000);
    return dt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The swap times the daemon logged: "configuration reloaded from F in X ms". */
static void print_swaps(struct bench_http *b)
{
    char *log = daemon_read_file(b->d.log);
    double ms[BENCH_HTTP_PROBE_WINDOWS];
    const char *p = log;
    int n = 0;

    while (p && n < BENCH_HTTP_PROBE_WINDOWS && (p = strstr(p, "configuration reloaded")) &&
           (p = strstr(p, " in ")) != NULL)
        ms[n++] = strtod(p + 4, NULL);
    free(log);
    if (n == 0)
        bench_http_die(b, 0, "no reload in the daemon's log");
    qsort(ms, (size_t)n, sizeof(ms[0]), cmp_double);
    printf("  swap on the loop (the daemon's log): median %.2f ms, max %.2f ms over %d "
           "reloads\n",
           ms[n / 2], ms[n - 1], n);
}

int main(int argc, char **argv)
{
    struct bench_http_window in[BENCH_HTTP_PROBE_WINDOWS], base[BENCH_HTTP_PROBE_WINDOWS];
    struct reloads r = { 0, "" };
    const char *gauge = "\"bench_queue_depth\"";
    const char *at = strstr(bench_http_config, gauge);
    struct bench_http b;
    int n, i;

    snprintf(r.renamed, sizeof(r.renamed), "%.*s\"bench_queue_depth_v2\"%s",
             (int)(at - bench_http_config), bench_http_config, at + strlen(gauge));
    bench_http_start(&b, "bench_reload", argc, argv);
    printf("bench_reload: %s, each reload retires 30,000 gauge series and keeps 70,000\n",
           getenv("USTATSD_BIN"));
    bench_http_populate(&b, BENCH_HTTP_LARGE);
    n = b.runs < BENCH_HTTP_PROBE_WINDOWS ? b.runs : BENCH_HTTP_PROBE_WINDOWS;
    for (i = 0; i < n; i++) {
        in[i] = bench_http_probe_action(&b, NULL, reload_once, &r, 0);
        base[i] =
            bench_http_probe_window(&b, NULL, (unsigned)(in[i].request_ns / 1000000u) + DRAIN_MS);
    }
    printf("loop hold at %zu series: GET /-/healthy every 1 ms (keep-alive) while a sender "
           "updates series:\n",
           b.have);
    bench_http_print_windows("reload and drain:", "SIGHUP to applied", in, n);
    bench_http_print_windows("baseline, none:", "SIGHUP to applied", base, n);
    print_swaps(&b);
    fflush(stdout);
    bench_http_stop(&b);
    return 0;
}
