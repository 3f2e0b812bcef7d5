/*
 * bench_scrape: how long GET /metrics takes through the real daemon, and how long a big
 * scrape holds the daemon's loop.
 *
 *     bench_scrape [path/to/ustatsd] [--series N] [--runs N | --quick] [--no-tls] [--cold]
 *     BENCH_RUNS=n                          timed runs per case (default 9)
 *
 * The set-up, the timing and the probe are bench_http.h's: the daemon is filled with
 * 10,000 and then 100,000 series of the mix (--series N: N only), and each case (text,
 * OpenMetrics, text with gzip) is timed from connect() to the last byte. Its body is
 * checked once, outside the timing, up to 1,000,000 series: the sample lines of the bench
 * families must be exactly the expected count. The three cases take their runs in turns,
 * one run of each after the other (run_cases()). Each case also prints the longest turn of
 * the daemon's loop in its runs (its ustatsd_event_loop_iteration_seconds, read on an
 * endpoint of its own metrics right before and after every run), and the figures as
 * result lines (benchresult.h): text_ns_per_series, openmetrics_..., gzip_... (the
 * median), their _worst_turn_ms and _worst_turn_cpu_ms (the longest turn in the loop
 * thread's CPU time, its ustatsd_event_loop_iteration_cpu_seconds: the daemon's own part
 * of the turn), and healthy_max_ms, the probe's worst health check. Beside the turns, the
 * host's steal of the daemon's CPU during the case's runs as the guest accounts it
 * (benchutil_steal_ms(), 0 where it is not accounted): <case>_steal_ms in all and
 * <case>_steal_max_ms in one run. A turn that the host stopped is long in wall time and
 * not in the loop's CPU time, and its run has steal. Beside each case, its fixed part: the
 * same request to the self endpoint, which serves the daemon's own metrics only (the
 * connection, the request, the process's and the daemon's metrics), timed alike in the
 * same run; less it, the cost of the series alone (<case>_series_ns_per_series). After
 * each timed run, the same number of bytes from a plain writer on the daemon's CPU
 * (benchwire.h): the kernel's and the client's part of the same scrape at the same
 * moment, the raw sink of a scrape (<case>_wire_ns_per_series, the median). A case
 * at a size where its runs would render fewer than ten million series in all runs more
 * often than asked, up to those ten million and at most 1001 times (1000 at 10,000
 * series; below 2,000,000 at --runs 5, as tests/bench/cardinality.sh runs it): a scrape
 * of 10,000 series is as short as the machine's own hiccups (see PER_CASE). Its worst
 * turns are then the worst of more scrapes than at the large sizes.
 *
 * The loop-hold probe runs around a text scrape of the largest size. The scrape is rendered
 * in pieces with the loop yielding in between, so the worst health check during the
 * scrape should be a few milliseconds, not the whole render. Target: 100,000 series in
 * text, without gzip, in under 100 ms (median).
 *
 * TLS against plain HTTP (not with --no-tls), in the same run, at the largest size in text
 * (100,000 series by default): a second daemon
 * with a web config file (TLS 1.3, an EC P-256 certificate made with the openssl tool,
 * no client certificate) holds the same series. Timed apart: the handshake alone
 * (connect() to an established session), a scrape on a kept-alive connection (request
 * to last byte) on each daemon, and a whole scrape on a new connection (connect() to
 * the last byte, the handshake included) on each, plain and TLS in turns; and the
 * median of the pairs' ratios.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_http.h"
#include "benchwire.h"
#include "tlsclient.h"

#define TARGET_MS 100.0
#define CHECK_MAX 1000000 /* series up to which each body is checked */

/*
 * A scrape of 10,000 series takes a few milliseconds, as long as one of the machine's own
 * hiccups (a kernel thread's run, another process's slice): a median of 5 such scrapes
 * moves with them. So at the smaller sizes a case runs more often, until it renders
 * PER_CASE series in all or runs MAX_RUNS times, and the per-series figures of the sizes
 * weigh nearly alike. A disturbance of a second, whatever its source, would still take a
 * case whole if its runs came one after the other (100 runs at 10k took a quarter of a
 * second): the three cases take their runs in turns (run_cases()), and a case renders
 * 10M series in all (10 s or so), so that it slows a share of each case's runs, and the
 * medians stand.
 */
#define PER_CASE 10000000
#define MAX_RUNS 1001
#define NCASES   3

/* The runs of a case at n series: at least asked, more while they render under PER_CASE. */
static int runs_at(int asked, size_t n)
{
    size_t want = (PER_CASE + n - 1) / n;

    if (want > MAX_RUNS)
        want = MAX_RUNS;
    return (size_t)asked >= want ? asked : (int)want;
}

/* Sample lines that series [0, n) render: counters and gauges 1, histograms 13 + 2. */
static size_t expected_samples(size_t n)
{
    size_t i, s = 0;

    for (i = 0; i < n; i++)
        s += i % 10 == 9 ? BENCH_HTTP_BUCKETS + 1 + 2 : 1;
    return s;
}

/*
 * Sample lines of the bench families in an exposition (OpenMetrics and text alike),
 * without the _created samples OpenMetrics adds to counters and histograms.
 */
static size_t count_samples(const char *body)
{
    const char *p = body;
    size_t n = 0;

    while (*p) {
        const char *eol = strchr(p, '\n');
        const char *name_end = p + strcspn(p, "{ \n");
        if (strncmp(p, "bench_", 6) == 0 &&
            !(name_end - p > 8 && memcmp(name_end - 8, "_created", 8) == 0))
            n++;
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return n;
}

/* Fetch once, decoded, and check the format and the sample count. Returns the body size. */
static size_t check_body(const struct bench_http *b, const char *headers, int om)
{
    struct httpc_response r;
    size_t got, want = expected_samples(b->have), len;
    const char *ctype;
    int rc = httpc_get(b->d.http, "/metrics", headers, &r);

    if (rc != 0)
        bench_http_die(b, -rc, "GET /metrics");
    if (r.status != 200)
        bench_http_die(b, 0, "GET /metrics: status is not 200");
    ctype = httpc_header(&r, "content-type");
    if (ctype == NULL || strstr(ctype, om ? "openmetrics" : "text/plain") == NULL)
        bench_http_die(b, 0, "GET /metrics: unexpected Content-Type");
    if (strstr(headers, "gzip") && !r.gzip)
        bench_http_die(b, 0, "GET /metrics with Accept-Encoding: gzip was not gzipped");
    if (om && (r.body_len < 6 || strcmp(r.body + r.body_len - 6, "# EOF\n") != 0))
        bench_http_die(b, 0, "OpenMetrics body does not end with # EOF");
    got = count_samples(r.body);
    if (got != want)
        bench_http_die(b, 0, "%zu bench samples in the body, want %zu", got, want);
    len = r.body_len;
    httpc_response_release(&r);
    return len;
}

/* --- TLS against plain HTTP ------------------------------------------------------------ */

#define HANDSHAKES 200

static double median_ms(uint64_t *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), benchutil_cmp_u64);
    return bench_http_ms(t[n / 2]);
}

/* The TLS daemon and how to reach it, for tls_self_metrics(). */
struct tls_self {
    const struct bench_http *t;
    const struct tlsclient_opts *o;
};

/* The TLS daemon's own metrics, from its self endpoint, which speaks TLS too. Malloc'd. */
static char *tls_self_metrics(const void *arg)
{
    const struct tls_self *ts = arg;
    struct buf body = BUF_INIT;
    char err[512];

    if (tlsclient_get(ts->t->self, ts->o, "/metrics", NULL, &body, err) != 200)
        bench_http_die(ts->t, 0, "GET /metrics on the TLS daemon's self endpoint: %s", err);
    buf_addch(&body, '\0');
    return body.ptr;
}

/*
 * The TLS daemon, started like b->d but with a web config; filled with b->have series and,
 * unless --cold, left until its series are in huge pages, as b->d was
 * (benchutil_settle_huge). Watched (benchutil_daemon_watch), so that a failure kills it
 * with b's.
 */
static void tls_start(struct bench_http *b, struct bench_http *t, const char *certs,
                      struct tlsclient_opts *o)
{
    static char web[256];
    static const char *args[] = { "--web.config.file", web, NULL };
    struct daemon_options opts = { .args = args, .no_wait = 1 };
    struct buf body = BUF_INIT;
    FILE *f;
    char err[512];
    double got = 0;
    int i;

    *t = *b;
    memset(&t->d, 0, sizeof(t->d));
    t->have = 0;
    snprintf(t->self, sizeof(t->self), "unix:%s/self-tls.sock", b->dir);
    if ((t->config = bench_http_config_text(b->cap, t->self, "bench_queue_depth")) == NULL)
        bench_http_die(b, ENOMEM, "config");
    snprintf(web, sizeof(web), "%s/web.yml", certs);
    f = fopen(web, "w");
    if (f == NULL)
        bench_http_die(b, errno, "%s", web);
    fprintf(f, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    fclose(f);
    if (daemon_start_with(&t->d, t->config, &opts) != 0)
        bench_http_die(b, 0, "the TLS daemon did not start");
    benchutil_daemon_watch(&t->d);
    for (i = 0; i < 1000 && tlsclient_get(t->d.http, o, "/-/ready", NULL, NULL, err) != 200; i++)
        usleep(10000);
    if (i == 1000 || daemon_connect(&t->d) != 0)
        bench_http_die(b, 0, "the TLS daemon is not ready: %s", err);
    bench_http_send_series(t, 0, b->have, 0);
    t->have = b->have;
    for (i = 0; i < 6000 && got < (double)t->have; i++) {
        buf_reset(&body);
        if (tlsclient_get(t->d.http, o, "/metrics", NULL, &body, err) == 200) {
            buf_addch(&body, '\0');
            got = expo_value(body.ptr, "ustatsd_lines_accepted_total");
        }
        if (got < (double)t->have)
            usleep(10000);
    }
    buf_release(&body);
    if (got < (double)t->have)
        bench_http_die(b, 0, "the TLS daemon accepted %.0f lines of %zu", got, t->have);
    if (!bench_http_opt(t, "--cold")) {
        struct tls_self ts = { t, o };

        benchutil_settle_huge(tls_self_metrics, &ts);
    }
}

/* A case's runs, and the turns of the daemon's loop while it ran. */
struct scrape_case {
    const char *headers;
    size_t body;             /* the decoded body's size from check_body(), 0: unchecked */
    uint64_t *t, *tw;        /* each run's time, and the same bytes' alone after it */
    size_t wire;             /* bytes received, the last run */
    double cpu_s;            /* the daemon's CPU over the case's runs */
    uint64_t faults;         /* its minor page faults over them */
    double worst, worst_cpu; /* the longest turn in the case's runs, wall and CPU, ms */
    double steal, steal_max; /* the host's steal of the daemon's CPU in them: all, one run's most */
    double wire_ms;          /* the median of tw */
    struct bench_http_result r;
};

static double max_turn(double have, double now)
{
    return now > have ? now : have;
}

/*
 * One run of case c: the scrape, with the daemon's CPU and faults read around it and its
 * loop's turns read right before and after it (so that no turn outside the scrape
 * counts: the wire's writer shares the daemon's CPU), then the same bytes alone from the
 * wire's writer.
 */
static void run_once(const struct bench_http *b, struct benchwire *w, struct scrape_case *c, int i)
{
    struct benchresult_turns before, after;
    struct bench_http_timed x;
    uint64_t faults;
    double cpu, steal;

    bench_http_turns(b, &before);
    steal = benchutil_steal_ms(BENCHUTIL_CPU_RECEIVER);
    cpu = bench_http_daemon_cpu(b);
    faults = bench_http_daemon_faults(b);
    x = bench_http_timed_get(b, "/metrics", c->headers);
    c->cpu_s += bench_http_daemon_cpu(b) - cpu;
    c->faults += bench_http_daemon_faults(b) - faults;
    steal = steal < 0 ? 0 : benchutil_steal_ms(BENCHUTIL_CPU_RECEIVER) - steal;
    bench_http_turns(b, &after);
    c->steal += steal;
    c->steal_max = max_turn(c->steal_max, steal);
    c->t[i] = x.ns;
    c->wire = x.wire;
    c->worst = max_turn(c->worst, benchresult_turns_worst_ms(&before, &after));
    c->worst_cpu = max_turn(c->worst_cpu, benchresult_turns_worst_cpu_ms(&before, &after));
    benchwire_set(w, x.wire);
    c->tw[i] = bench_http_timed_get_at(b, w->addr, "/metrics", c->headers).ns;
}

/*
 * The cases' b->runs runs each, in turns (text, OpenMetrics, gzip, text, ...), after a
 * warm-up request of each (page cache, allocator) and of the wire; then each case's
 * medians and means in c[k].r.
 */
static void run_cases(const struct bench_http *b, struct benchwire *w, struct scrape_case *c)
{
    int i, k;

    for (k = 0; k < NCASES; k++) {
        c[k].t = calloc((size_t)b->runs, sizeof(uint64_t));
        c[k].tw = calloc((size_t)b->runs, sizeof(uint64_t));
        if (c[k].t == NULL || c[k].tw == NULL)
            bench_http_die(b, ENOMEM, "calloc");
        c[k].worst = c[k].worst_cpu = -1; /* the rest starts at 0 */
        benchwire_set(w, bench_http_timed_get(b, "/metrics", c[k].headers).wire);
        (void)bench_http_timed_get_at(b, w->addr, "/metrics", c[k].headers);
    }
    for (i = 0; i < b->runs; i++)
        for (k = 0; k < NCASES; k++)
            run_once(b, w, &c[k], i);
    for (k = 0; k < NCASES; k++) {
        struct bench_http_result *r = &c[k].r;

        qsort(c[k].t, (size_t)b->runs, sizeof(uint64_t), benchutil_cmp_u64);
        qsort(c[k].tw, (size_t)b->runs, sizeof(uint64_t), benchutil_cmp_u64);
        r->median_ms = bench_http_ms(c[k].t[b->runs / 2]);
        r->best_ms = bench_http_ms(c[k].t[0]);
        c[k].wire_ms = bench_http_ms(c[k].tw[b->runs / 2]);
        r->cpu_ms = c[k].cpu_s * 1e3 / b->runs;
        r->faults = (double)c[k].faults / b->runs;
        free(c[k].t);
        free(c[k].tw);
    }
}

/*
 * The same request to the daemon's self endpoint, which serves its own metrics only: the
 * part of a scrape that does not grow with the series (the connection, the request, the
 * daemon's and the process's own metrics). The median of b->runs, in ms, after a warm-up;
 * *cpu_ms, the daemon's CPU a run (the mean).
 */
static double fixed_part_ms(const struct bench_http *b, const char *headers, double *cpu_ms)
{
    uint64_t *t = calloc((size_t)b->runs, sizeof(*t));
    double ms, cpu;

    if (t == NULL)
        bench_http_die(b, ENOMEM, "calloc");
    (void)bench_http_timed_get_at(b, b->self, "/metrics", headers);
    cpu = bench_http_daemon_cpu(b);
    for (int i = 0; i < b->runs; i++)
        t[i] = bench_http_timed_get_at(b, b->self, "/metrics", headers).ns;
    *cpu_ms = (bench_http_daemon_cpu(b) - cpu) * 1e3 / b->runs;
    ms = median_ms(t, b->runs);
    free(t);
    return ms;
}

/* One scrape on a kept-alive plain connection, from the request to the last byte. */
static uint64_t keepalive_plain(const struct bench_http *b, struct httpc *h, size_t *body)
{
    struct httpc_response r;
    uint64_t t0 = benchutil_now_ns(), ns;

    if (httpc_request(h, "GET", "/metrics", NULL) != 0 || httpc_read(h, 0, &r) != 0 ||
        r.status != 200)
        bench_http_die(b, 0, "keep-alive GET /metrics");
    ns = benchutil_now_ns() - t0;
    *body = r.body_len;
    httpc_response_release(&r);
    return ns;
}

/* The same over TLS; the first one's body is checked. */
static uint64_t keepalive_tls(const struct bench_http *b, struct tlsclient *c, size_t *body)
{
    struct tlsclient_response r;
    uint64_t t0 = benchutil_now_ns(), ns;

    if (tlsclient_request(c, "/metrics", NULL) != 0 || tlsclient_read(c, &r) != 0 ||
        r.status != 200)
        bench_http_die(b, 0, "keep-alive GET /metrics over TLS: %s", c->error);
    ns = benchutil_now_ns() - t0;
    if (*body == 0 && count_samples(r.body.ptr) != expected_samples(b->have))
        bench_http_die(b, 0, "over TLS, %zu bench samples in the body, want %zu",
                       count_samples(r.body.ptr), expected_samples(b->have));
    *body = r.body.len;
    tlsclient_response_release(&r);
    return ns;
}

/*
 * A whole scrape on a new TLS connection: connect(), handshake, request, until the
 * server closes, the bytes read and dropped unparsed, as bench_http_timed_get() does for
 * plain HTTP.
 */
static uint64_t fresh_tls(const struct bench_http *b, const struct bench_http *tb,
                          const struct tlsclient_opts *o)
{
    struct tlsclient c;
    uint64_t t0 = benchutil_now_ns(), ns;

    if (tlsclient_open(&c, tb->d.http, o) != 0 ||
        tlsclient_request(&c, "/metrics", "Connection: close\r\n") != 0 ||
        tlsclient_wait_closed(&c) != 0 || !c.close_notify)
        bench_http_die(b, 0, "GET /metrics over TLS: %s", c.error);
    ns = benchutil_now_ns() - t0;
    tlsclient_close(&c);
    return ns;
}

/* connect() to an established session, HANDSHAKES times: the median and the best. */
static void handshakes(const struct bench_http *b, const struct bench_http *tb,
                       const struct tlsclient_opts *o, double *median, double *best)
{
    static uint64_t t[HANDSHAKES];

    for (int i = 0; i < HANDSHAKES; i++) {
        struct tlsclient c;
        uint64_t t0 = benchutil_now_ns();

        if (tlsclient_open(&c, tb->d.http, o) != 0)
            bench_http_die(b, 0, "TLS handshake: %s", c.error);
        t[i] = benchutil_now_ns() - t0;
        tlsclient_close(&c);
    }
    *median = median_ms(t, HANDSHAKES);
    *best = bench_http_ms(t[0]);
}

/* The median of the per-run ratios tls[i] / plain[i]. */
static double median_ratio(const uint64_t *tls, const uint64_t *plain, int n)
{
    uint64_t *r = calloc((size_t)n, sizeof(*r));
    double m;

    for (int i = 0; i < n; i++)
        r[i] = plain[i] ? tls[i] * 1000 / plain[i] : 0;
    qsort(r, (size_t)n, sizeof(*r), benchutil_cmp_u64);
    m = (double)r[n / 2] / 1000.0;
    free(r);
    return m;
}

/*
 * Plain and TLS measured in turns, run by run, so that the machine's drift (a shared
 * VM's speed moves by a fifth from minute to minute) falls on both sides of each ratio.
 */
static void run_tls(struct bench_http *b)
{
    struct bench_http tb;
    struct tlsclient_opts o = { 0 };
    struct httpc h;
    struct tlsclient c;
    char certs[64], ca[256];
    double hs_med, hs_best;
    size_t body_plain = 0, body_tls = 0;
    int n = b->runs, rc;
    uint64_t *kp = calloc((size_t)n, 8), *kt = calloc((size_t)n, 8);
    uint64_t *fp = calloc((size_t)n, 8), *ft = calloc((size_t)n, 8);

    if (tlscerts_make(certs) != 0)
        bench_http_die(b, 0, "could not make the test certificates");
    snprintf(ca, sizeof(ca), "%s", tlscerts_path(certs, "ca.crt"));
    o.ca_file = ca;
    o.timeout_ms = BENCH_HTTP_IO_TIMEOUT_MS;
    tls_start(b, &tb, certs, &o);
    handshakes(b, &tb, &o, &hs_med, &hs_best);
    if ((rc = httpc_open(&h, b->d.http, BENCH_HTTP_IO_TIMEOUT_MS)) != 0)
        bench_http_die(b, -rc, "connect");
    if (tlsclient_open(&c, tb.d.http, &o) != 0)
        bench_http_die(b, 0, "TLS connect: %s", c.error);
    (void)keepalive_plain(b, &h, &body_plain); /* warm-up, and the TLS body's check */
    (void)keepalive_tls(b, &c, &body_tls);
    (void)bench_http_timed_get(b, "/metrics", "");
    (void)fresh_tls(b, &tb, &o);
    for (int i = 0; i < n; i++) {
        kp[i] = keepalive_plain(b, &h, &body_plain);
        kt[i] = keepalive_tls(b, &c, &body_tls);
        fp[i] = bench_http_timed_get(b, "/metrics", "").ns;
        ft[i] = fresh_tls(b, &tb, &o);
    }
    httpc_close(&h);
    tlsclient_close(&c);
    printf("tls: TLS 1.3, EC P-256 certificate, %zu series in text, body %.2f MB plain, "
           "%.2f MB over TLS (the self-metrics differ); plain and TLS in turns, %d runs each\n",
           b->have, bench_http_mb(body_plain), bench_http_mb(body_tls), n);
    printf("tls handshake alone (connect to session): median %7.2f ms, best %7.2f ms "
           "(%d handshakes)\n",
           hs_med, hs_best, HANDSHAKES);
    printf("keep-alive scrape (request to last byte, parsed): TLS/plain %.2fx (median of the "
           "pairs)",
           median_ratio(kt, kp, n));
    printf(", plain median %.1f ms, TLS median %.1f ms\n", median_ms(kp, n), median_ms(kt, n));
    printf("new-connection scrape (connect to close, handshake included): TLS/plain %.2fx "
           "(median of the pairs)",
           median_ratio(ft, fp, n));
    printf(", plain median %.1f ms, TLS median %.1f ms\n", median_ms(fp, n), median_ms(ft, n));
    free(kp);
    free(kt);
    free(fp);
    free(ft);
    if (daemon_stop(&tb.d) != 0)
        bench_http_die(b, 0, "the TLS daemon did not stop cleanly");
    benchutil_daemon_unwatch(&tb.d);
    free(tb.config);
    tlscerts_remove(certs);
}

int main(int argc, char **argv)
{
    static const char *const cases[NCASES][3] = {
        { "text", "", "text" },
        { "openmetrics", "Accept: " DAEMON_OPENMETRICS "\r\n", "openmetrics" },
        { "text+gzip", "Accept-Encoding: gzip\r\n", "gzip" },
    };
    size_t sizes[2] = { BENCH_HTTP_SMALL, BENCH_HTTP_LARGE }, nsizes = 2;
    struct bench_http_result large_text = { 0 };
    static struct benchwire wire;
    struct bench_http b;
    char key[64];
    size_t s, c;
    int asked;

    bench_http_start(&b, "bench_scrape", argc, argv, BENCH_HTTP_LARGE);
    if (b.series != 0)
        sizes[0] = b.series, nsizes = 1;
    printf("bench_scrape: %s, %d runs per case (more where those render fewer than %d "
           "series in all, up to %d runs), times from connect to the last byte\n",
           getenv("USTATSD_BIN"), b.runs, PER_CASE, MAX_RUNS);
    asked = b.runs;
    if (benchwire_start(&wire, b.dir) != 0)
        bench_http_die(&b, errno, "the wire's socket");
    for (s = 0; s < nsizes; s++) {
        struct scrape_case sc[NCASES] = { 0 };

        bench_http_populate(&b, sizes[s]);
        b.runs = runs_at(asked, b.have);
        for (c = 0; c < NCASES; c++) {
            sc[c].headers = cases[c][1];
            /* Over CHECK_MAX series the body is not held whole (gigabytes at 10M). */
            sc[c].body = b.have <= CHECK_MAX ? check_body(&b, cases[c][1], c == 1) : 0;
        }
        run_cases(&b, &wire, sc);
        for (c = 0; c < NCASES; c++) {
            char label[32];
            struct bench_http_result r = sc[c].r;
            double worst = sc[c].worst, worst_cpu = sc[c].worst_cpu, fixed, fixed_cpu;

            snprintf(label, sizeof(label), "scrape %-12s", cases[c][0]);
            bench_http_print_case(&b, label, &r, sc[c].body, sc[c].wire);
            bench_http_print_turns(label, worst, worst_cpu);
            printf("%*s the host's steal of the daemon's CPU (/proc/stat) in the runs: %.0f ms in "
                   "all, at most %.0f ms in a run\n",
                   (int)strlen(label), "", sc[c].steal, sc[c].steal_max);
            if (b.have == BENCH_HTTP_LARGE && c == 0)
                large_text = r;
            snprintf(key, sizeof(key), "%s_ns_per_series", cases[c][2]);
            benchresult("scrape", b.have, key, r.median_ms * 1e6 / (double)b.have);
            fixed = fixed_part_ms(&b, cases[c][1], &fixed_cpu);
            printf("                    less the fixed part (the self endpoint, the daemon's own "
                   "metrics only: median %.2f ms): %.0f ns per series\n",
                   fixed, (r.median_ms - fixed) * 1e6 / (double)b.have);
            snprintf(key, sizeof(key), "%s_series_ns_per_series", cases[c][2]);
            benchresult("scrape", b.have, key, (r.median_ms - fixed) * 1e6 / (double)b.have);
            printf("                    in the daemon's CPU: %.2f ms a scrape, %.0f ns per series; "
                   "less the fixed part's %.2f ms: %.0f ns per series; %.0f page faults a "
                   "scrape\n",
                   r.cpu_ms, r.cpu_ms * 1e6 / (double)b.have, fixed_cpu,
                   (r.cpu_ms - fixed_cpu) * 1e6 / (double)b.have, r.faults);
            printf("                    the same bytes alone (a plain writer on the daemon's "
                   "CPU, a run after each): median %.2f ms, %.0f ns per series; the scrape less "
                   "them: %.0f ns per series\n",
                   sc[c].wire_ms, sc[c].wire_ms * 1e6 / (double)b.have,
                   (r.median_ms - sc[c].wire_ms) * 1e6 / (double)b.have);
            snprintf(key, sizeof(key), "%s_wire_ns_per_series", cases[c][2]);
            benchresult("scrape", b.have, key, sc[c].wire_ms * 1e6 / (double)b.have);
            snprintf(key, sizeof(key), "%s_faults_per_scrape", cases[c][2]);
            benchresult("scrape", b.have, key, r.faults);
            snprintf(key, sizeof(key), "%s_cpu_ns_per_series", cases[c][2]);
            benchresult("scrape", b.have, key, r.cpu_ms * 1e6 / (double)b.have);
            snprintf(key, sizeof(key), "%s_series_cpu_ns_per_series", cases[c][2]);
            benchresult("scrape", b.have, key, (r.cpu_ms - fixed_cpu) * 1e6 / (double)b.have);
            snprintf(key, sizeof(key), "%s_worst_turn_ms", cases[c][2]);
            benchresult("scrape", b.have, key, worst);
            snprintf(key, sizeof(key), "%s_worst_turn_cpu_ms", cases[c][2]);
            benchresult("scrape", b.have, key, worst_cpu);
            snprintf(key, sizeof(key), "%s_steal_ms", cases[c][2]);
            benchresult("scrape", b.have, key, sc[c].steal);
            snprintf(key, sizeof(key), "%s_steal_max_ms", cases[c][2]);
            benchresult("scrape", b.have, key, sc[c].steal_max);
        }
    }
    b.runs = asked;
    benchwire_stop(&wire);
    benchresult("scrape", b.have, "healthy_max_ms",
                bench_http_ms(bench_http_run_probe(&b, "/metrics", "scrape",
                                                   "during text scrape:", "baseline, no scrape:")));
    if (!bench_http_opt(&b, "--no-tls"))
        run_tls(&b);
    if (b.have == BENCH_HTTP_LARGE)
        printf("target: %d series in text without gzip under %.0f ms: %s (median %.1f ms)\n",
               BENCH_HTTP_LARGE, TARGET_MS, large_text.median_ms < TARGET_MS ? "met" : "MISSED",
               large_text.median_ms);
    bench_http_stop(&b);
    return 0;
}
