/*
 * bench_scrape: how long GET /metrics takes through the real daemon, and how long a big
 * scrape holds the daemon's loop.
 *
 *     bench_scrape [path/to/ustatsd]        (else $USTATSD_BIN)
 *     BENCH_RUNS=n                          timed runs per case (default 9)
 *
 * The daemon runs in a temporary directory with its HTTP listener on a Unix socket. It is
 * filled with 10,000 and then 100,000 series (60% counters with two labels, 30% gauges,
 * 10% histograms with 12 buckets) by blocking sends, so that nothing is dropped; the run
 * waits until ustatsd_lines_accepted_total counts every line. Each case is timed from
 * connect() to the last byte (Connection: close, so the end of the body is the server's
 * close), and its body is checked once, outside the timing: the sample lines of the bench
 * families must be exactly the expected count.
 *
 * The loop-hold probe: during a text scrape of 100,000 series one thread keeps sending
 * datagrams and another asks GET /-/healthy on a keep-alive connection about every 1 ms.
 * The scrape is rendered in pieces with the loop yielding in between, so the worst health
 * check during the scrape should be a few milliseconds, not the whole render. The same
 * probe without a scrape gives the baseline. Target: 100,000 series in text, without
 * gzip, in under 100 ms (median).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"

#define SMALL           10000
#define LARGE           100000
#define TARGET_MS       100.0
#define BUCKETS         12
#define DGRAM_MAX       8000
#define IO_TIMEOUT_MS   60000
#define PROBE_PERIOD_NS 1000000ull

static const char config[] =
    "{\n"
    "  \"limits\": {\"max_series\": 200000, \"max_series_per_family\": 100000,\n"
    "             \"max_label_values\": 100000},\n"
    "  \"families\": [\n"
    "    {\"name\": \"bench_requests_total\", \"type\": \"counter\",\n"
    "     \"help\": \"Requests by method and route.\",\n"
    "     \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\", \"PUT\", "
    "\"DELETE\"]},\n"
    "                {\"name\": \"route\", \"max_values\": 100000}]},\n"
    "    {\"name\": \"bench_queue_depth\", \"type\": \"gauge\", \"help\": \"Queue depth.\",\n"
    "     \"labels\": [{\"name\": \"queue\", \"max_values\": 100000}]},\n"
    "    {\"name\": \"bench_latency_seconds\", \"type\": \"histogram\", \"help\": \"Latency.\",\n"
    "     \"labels\": [{\"name\": \"endpoint\", \"max_values\": 100000}],\n"
    "     \"buckets\": [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]}\n"
    "  ]\n"
    "}\n";

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_scrape: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
    exit(1);
}

/*
 * Series i of the mix: i % 10 picks the kind (0-5 counter, 6-8 gauge, 9 histogram) and
 * the kind's own index k keeps every label set distinct, so lines [0, n) make n series.
 */
static int series_line(size_t i, unsigned round, char *out, size_t cap)
{
    size_t kind = i % 10, k;

    if (kind < 6) {
        k = i / 10 * 6 + kind;
        return snprintf(out, cap, "bench_requests:%u|c|#method:%s,route:/api/v1/items/%zu\n",
                        round + 1, methods[k % 4], k / 4);
    }
    if (kind < 9) {
        k = i / 10 * 3 + kind - 6;
        return snprintf(out, cap, "bench_queue_depth:%zu|g|#queue:q%zu\n", (k + round) % 997, k);
    }
    k = i / 10;
    return snprintf(out, cap, "bench_latency_seconds:%zu|ms|#endpoint:/e/%zu\n",
                    (k * 7 + round) % 6000, k);
}

/* Sample lines that series [0, n) render: counters and gauges 1, histograms 13 + 2. */
static size_t expected_samples(size_t n)
{
    size_t i, s = 0;

    for (i = 0; i < n; i++)
        s += i % 10 == 9 ? BUCKETS + 1 + 2 : 1;
    return s;
}

/* Send the lines of series [from, to) in datagrams of up to DGRAM_MAX bytes. */
static size_t send_series(struct daemon *d, size_t from, size_t to, unsigned round)
{
    char dgram[DGRAM_MAX + 256];
    size_t len = 0, i, lines = 0;
    int rc;

    for (i = from; i < to; i++) {
        char line[160];
        int n = series_line(i, round, line, sizeof(line));
        if (len + (size_t)n > DGRAM_MAX) {
            if ((rc = daemon_send(d, dgram, len)) != 0)
                die("send", -rc);
            len = 0;
        }
        memcpy(dgram + len, line, (size_t)n);
        len += (size_t)n;
        lines++;
    }
    if (len > 0 && (rc = daemon_send(d, dgram, len)) != 0)
        die("send", -rc);
    return lines;
}

static void wait_accepted(struct daemon *d, double want)
{
    double got = daemon_wait_value(d, "ustatsd_lines_accepted_total", want, 60000);

    if (!(got >= want)) {
        fprintf(stderr, "bench_scrape: accepted %.0f lines of %.0f\n", got, want);
        exit(1);
    }
}

struct timed {
    uint64_t ns;
    size_t wire; /* bytes received: status line, headers and body as sent */
};

/*
 * One timed request: connect, send, read until the server closes. Only the status is
 * looked at; the body was checked by check_body().
 */
static struct timed timed_get(const char *addr, const char *target, const char *headers)
{
    static char sink[1 << 18];
    struct httpc h;
    struct timed t = { 0, 0 };
    char req_headers[256];
    uint64_t t0 = now_ns();
    long n;
    int rc;

    snprintf(req_headers, sizeof(req_headers), "Connection: close\r\n%s", headers);
    if ((rc = httpc_open(&h, addr, IO_TIMEOUT_MS)) != 0)
        die("connect", -rc);
    if ((rc = httpc_request(&h, "GET", target, req_headers)) != 0)
        die("send request", -rc);
    while ((n = httpc_recv(&h, sink, sizeof(sink))) > 0) {
        if (t.wire == 0 && (n < 12 || memcmp(sink + 9, "200", 3) != 0))
            die("a timed request did not answer 200", 0);
        t.wire += (size_t)n;
    }
    if (n < 0)
        die("read response", (int)-n);
    t.ns = now_ns() - t0;
    httpc_close(&h);
    return t;
}

/* Sample lines of the bench families in an exposition (OpenMetrics and text alike). */
static size_t count_samples(const char *body)
{
    const char *p = body;
    size_t n = 0;

    while (*p) {
        const char *eol = strchr(p, '\n');
        if (strncmp(p, "bench_", 6) == 0)
            n++;
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return n;
}

/* Fetch once, decoded, and check the format and the sample count. Returns the body size. */
static size_t check_body(const char *addr, const char *headers, int om, size_t nseries)
{
    struct httpc_response r;
    size_t got, want = expected_samples(nseries), len;
    const char *ctype;
    int rc = httpc_get(addr, "/metrics", headers, &r);

    if (rc != 0)
        die("GET /metrics", -rc);
    if (r.status != 200)
        die("GET /metrics: status is not 200", 0);
    ctype = httpc_header(&r, "content-type");
    if (ctype == NULL || strstr(ctype, om ? "openmetrics" : "text/plain") == NULL)
        die("GET /metrics: unexpected Content-Type", 0);
    if (strstr(headers, "gzip") && !r.gzip)
        die("GET /metrics with Accept-Encoding: gzip was not gzipped", 0);
    if (om && (r.body_len < 6 || strcmp(r.body + r.body_len - 6, "# EOF\n") != 0))
        die("OpenMetrics body does not end with # EOF", 0);
    got = count_samples(r.body);
    if (got != want) {
        fprintf(stderr, "bench_scrape: %zu bench samples in the body, want %zu\n", got, want);
        exit(1);
    }
    len = r.body_len;
    httpc_response_release(&r);
    return len;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double mb(size_t bytes)
{
    return (double)bytes / 1e6;
}

struct result {
    double median_ms, best_ms;
};

static struct result run_case(struct daemon *d, const char *name, const char *headers, int om,
                              size_t nseries, int runs)
{
    uint64_t *t = calloc((size_t)runs, sizeof(*t));
    size_t body = check_body(d->http, headers, om, nseries), wire = 0;
    struct result res;
    int i;

    if (t == NULL)
        die("calloc", ENOMEM);
    (void)timed_get(d->http, "/metrics", headers); /* warm-up: page cache, allocator */
    for (i = 0; i < runs; i++) {
        struct timed x = timed_get(d->http, "/metrics", headers);
        t[i] = x.ns;
        wire = x.wire;
    }
    qsort(t, (size_t)runs, sizeof(*t), cmp_u64);
    res.median_ms = ms(t[runs / 2]);
    res.best_ms = ms(t[0]);
    printf("scrape %-12s %6zu series: median %7.1f ms, best %7.1f ms, body %5.2f MB, "
           "wire %5.2f MB (%d runs)\n",
           name, nseries, res.median_ms, res.best_ms, mb(body), mb(wire), runs);
    fflush(stdout);
    free(t);
    return res;
}

/* --- the loop-hold probe ---------------------------------------------------------- */

#define PROBE_MAX_CHECKS 100000

struct probe {
    struct daemon *d;
    volatile int stop;              /* set by the main thread; threads poll it */
    volatile int armed;             /* health checks count only while set */
    uint64_t lat[PROBE_MAX_CHECKS]; /* latencies of the checks inside the window */
    size_t checks;
    uint64_t sent;
    int error;
};

static void *sender_main(void *arg)
{
    struct probe *p = arg;
    unsigned round = 1;

    /*
     * Updates to existing series, 100 lines every 0.5 ms (200,000 lines/s): steady
     * ingestion that the render must interleave with, paced so that the sender does not
     * take a CPU of its own away from the daemon.
     */
    while (!p->stop) {
        struct timespec ts = { 0, 500000 };
        size_t from = (size_t)(round % 1000) * 100;
        p->sent += send_series(p->d, from, from + 100, round);
        round++;
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void *health_main(void *arg)
{
    struct probe *p = arg;
    struct httpc h;
    uint64_t next = now_ns();
    int rc;

    if ((rc = httpc_open(&h, p->d->http, IO_TIMEOUT_MS)) != 0) {
        p->error = -rc;
        return NULL;
    }
    while (!p->stop) {
        struct httpc_response r;
        uint64_t t0 = now_ns(), dt;
        int armed = p->armed;

        if ((rc = httpc_request(&h, "GET", "/-/healthy", NULL)) != 0 ||
            (rc = httpc_read(&h, 0, &r)) != 0) {
            p->error = -rc;
            break;
        }
        dt = now_ns() - t0;
        if (r.status != 200)
            p->error = EPROTO;
        httpc_response_release(&r);
        /* Only checks that started and ended inside the window count. */
        if (armed && p->armed && p->checks < PROBE_MAX_CHECKS)
            p->lat[p->checks++] = dt;
        next += PROBE_PERIOD_NS;
        t0 = now_ns();
        if (next > t0) {
            struct timespec ts = { 0, (long)(next - t0) };
            nanosleep(&ts, NULL);
        } else {
            next = t0;
        }
    }
    httpc_close(&h);
    return NULL;
}

struct window {
    uint64_t scrape_ns; /* 0 for a baseline window */
    uint64_t p50_ns, p99_ns, max_ns;
    size_t checks;
};

/*
 * Run the probe threads around one text scrape of /metrics, or (scrape 0) around a pause
 * of pause_ms, and summarise the health checks inside that window.
 */
static struct window probe_window(struct daemon *d, int scrape, unsigned pause_ms)
{
    struct probe *p = calloc(1, sizeof(*p));
    struct window w = { 0, 0, 0, 0, 0 };
    pthread_t ts, th;

    if (p == NULL)
        die("calloc", ENOMEM);
    p->d = d;
    if (pthread_create(&ts, NULL, sender_main, p) != 0 ||
        pthread_create(&th, NULL, health_main, p) != 0)
        die("pthread_create", EAGAIN);
    usleep(50000); /* both threads running */
    p->armed = 1;
    if (scrape)
        w.scrape_ns = timed_get(d->http, "/metrics", "").ns;
    else
        usleep(pause_ms * 1000u);
    p->armed = 0;
    p->stop = 1;
    pthread_join(ts, NULL);
    pthread_join(th, NULL);
    if (p->error)
        die("health probe", p->error);
    if (p->checks == 0)
        die("no health check completed inside the window", 0);
    qsort(p->lat, p->checks, sizeof(p->lat[0]), cmp_u64);
    w.checks = p->checks;
    w.p50_ns = p->lat[p->checks / 2];
    w.p99_ns = p->lat[p->checks * 99 / 100];
    w.max_ns = p->lat[p->checks - 1];
    free(p);
    return w;
}

static void print_windows(const char *what, const struct window *w, int n)
{
    uint64_t maxes[16], p50s[16], worst_p99 = 0, scrape = 0;
    size_t checks = 0;
    int i;

    for (i = 0; i < n; i++) {
        maxes[i] = w[i].max_ns;
        p50s[i] = w[i].p50_ns;
        checks += w[i].checks;
        scrape += w[i].scrape_ns;
        if (w[i].p99_ns > worst_p99)
            worst_p99 = w[i].p99_ns;
    }
    qsort(maxes, (size_t)n, sizeof(maxes[0]), cmp_u64);
    qsort(p50s, (size_t)n, sizeof(p50s[0]), cmp_u64);
    printf("  %-20s max %6.2f ms (median of %d windows' maxima %.2f ms), p99 %.2f ms, "
           "p50 %.2f ms, %zu checks",
           what, ms(maxes[n - 1]), n, ms(maxes[n / 2]), ms(worst_p99), ms(p50s[n / 2]), checks);
    if (scrape)
        printf(", scrape %.1f ms on average", ms(scrape) / n);
    printf("\n");
}

static void run_probe(struct daemon *d, int runs)
{
    struct window during[16], base[16];
    int i;

    if (runs > 16)
        runs = 16;
    for (i = 0; i < runs; i++) {
        during[i] = probe_window(d, 1, 0);
        /* The same length of time with the same sender and no scrape: the baseline. */
        base[i] = probe_window(d, 0, (unsigned)(during[i].scrape_ns / 1000000u) + 1);
    }
    printf("loop hold at %d series: GET /-/healthy every 1 ms (keep-alive) while a sender "
           "updates series:\n",
           LARGE);
    print_windows("during text scrape:", during, runs);
    print_windows("baseline, no scrape:", base, runs);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const char *const cases[3][2] = {
        { "text", "" },
        { "openmetrics", "Accept: " DAEMON_OPENMETRICS "\r\n" },
        { "text+gzip", "Accept-Encoding: gzip\r\n" },
    };
    const size_t sizes[2] = { SMALL, LARGE };
    const char *env = getenv("BENCH_RUNS");
    int runs = env ? atoi(env) : 9;
    struct result large_text = { 0, 0 };
    struct daemon d;
    size_t have = 0, s, c;

    if (argc > 1)
        setenv("USTATSD_BIN", argv[1], 1);
    if (getenv("USTATSD_BIN") == NULL || access(getenv("USTATSD_BIN"), X_OK) != 0)
        die("set USTATSD_BIN or pass the ustatsd binary as the first argument", 0);
    if (runs < 1)
        runs = 1;
    if (daemon_start(&d, config, NULL) != 0)
        die("the daemon did not start", 0);
    printf("bench_scrape: %s, %d runs per case, times from connect to the last byte\n",
           getenv("USTATSD_BIN"), runs);
    for (s = 0; s < 2; s++) {
        uint64_t t0 = now_ns();
        send_series(&d, have, sizes[s], 0);
        have = sizes[s];
        wait_accepted(&d, (double)have);
        printf("populated %zu series (%.1f s)\n", have, (double)(now_ns() - t0) / 1e9);
        for (c = 0; c < 3; c++) {
            struct result r = run_case(&d, cases[c][0], cases[c][1], c == 1, have, runs);
            if (have == LARGE && c == 0)
                large_text = r;
        }
    }
    run_probe(&d, runs < 5 ? runs : 5);
    printf("target: %d series in text without gzip under %.0f ms: %s (median %.1f ms)\n", LARGE,
           TARGET_MS, large_text.median_ms < TARGET_MS ? "met" : "MISSED", large_text.median_ms);
    if (daemon_stop(&d) != 0)
        die("the daemon did not stop cleanly", 0);
    return 0;
}
