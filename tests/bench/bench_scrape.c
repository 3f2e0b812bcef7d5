/*
 * bench_scrape: how long GET /metrics takes through the real daemon, and how long a big
 * scrape holds the daemon's loop.
 *
 *     bench_scrape [path/to/ustatsd]        (else $USTATSD_BIN)
 *     BENCH_RUNS=n                          timed runs per case (default 9)
 *
 * The set-up, the timing and the probe are bench_http.h's: the daemon is filled with
 * 10,000 and then 100,000 series of the mix, and each case (text, OpenMetrics, text with
 * gzip) is timed from connect() to the last byte. Its body is checked once, outside the
 * timing: the sample lines of the bench families must be exactly the expected count.
 *
 * The loop-hold probe runs around a text scrape of 100,000 series. The scrape is rendered
 * in pieces with the loop yielding in between, so the worst health check during the
 * scrape should be a few milliseconds, not the whole render. Target: 100,000 series in
 * text, without gzip, in under 100 ms (median).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_http.h"

#define TARGET_MS 100.0

/* Sample lines that series [0, n) render: counters and gauges 1, histograms 13 + 2. */
static size_t expected_samples(size_t n)
{
    size_t i, s = 0;

    for (i = 0; i < n; i++)
        s += i % 10 == 9 ? BENCH_HTTP_BUCKETS + 1 + 2 : 1;
    return s;
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

int main(int argc, char **argv)
{
    static const char *const cases[3][2] = {
        { "text", "" },
        { "openmetrics", "Accept: " DAEMON_OPENMETRICS "\r\n" },
        { "text+gzip", "Accept-Encoding: gzip\r\n" },
    };
    const size_t sizes[2] = { BENCH_HTTP_SMALL, BENCH_HTTP_LARGE };
    struct bench_http_result large_text = { 0, 0 };
    struct bench_http b;
    size_t s, c;

    bench_http_start(&b, "bench_scrape", argc, argv);
    printf("bench_scrape: %s, %d runs per case, times from connect to the last byte\n",
           getenv("USTATSD_BIN"), b.runs);
    for (s = 0; s < 2; s++) {
        bench_http_populate(&b, sizes[s]);
        for (c = 0; c < 3; c++) {
            char label[32];
            size_t body = check_body(&b, cases[c][1], c == 1);
            struct bench_http_result r;

            snprintf(label, sizeof(label), "scrape %-12s", cases[c][0]);
            r = bench_http_run_case(&b, label, "/metrics", cases[c][1], body);
            if (b.have == BENCH_HTTP_LARGE && c == 0)
                large_text = r;
        }
    }
    bench_http_run_probe(&b, "/metrics", "scrape", "during text scrape:", "baseline, no scrape:");
    printf("target: %d series in text without gzip under %.0f ms: %s (median %.1f ms)\n",
           BENCH_HTTP_LARGE, TARGET_MS, large_text.median_ms < TARGET_MS ? "met" : "MISSED",
           large_text.median_ms);
    bench_http_stop(&b);
    return 0;
}
