/*
 * bench_debug: how long GET /debug?section=series&limit=N takes through the real daemon,
 * and how long that render holds the daemon's loop.
 *
 *     bench_debug [path/to/ustatsd] [--series N] [--runs N | --quick] [--cold]
 *     BENCH_RUNS=n                          timed runs per case (default 9)
 *
 * Same set-up as bench_scrape (bench_http.h): the daemon filled with 10,000 and then
 * 100,000 series of the mix (--series N: N only). Each case asks for every series
 * (limit=N; at most 1,000,000, the most /debug shows), is timed from connect() to the last
 * byte, and is checked once outside the timing, up to 100,000 series: the body parses as
 * JSON and holds N series, not truncated. The debug view is written a bounded piece
 * (DEBUG_STEP_SERIES series) per loop iteration; the daemon's longest loop turn during
 * each case (from its own metrics) and the loop-hold probe show that, the probe against
 * a baseline window of the same length without the render. Result lines
 * (benchresult.h): json_ns_per_series and gzip_ns_per_series (the median, per series
 * shown), their _worst_turn_ms and _worst_turn_cpu_ms (in the loop thread's CPU time),
 * healthy_max_ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench_http.h"

#define DEBUG_LIMIT_MAX 1000000 /* the most series /debug shows (expose/debug.h) */
#define CHECK_MAX       100000  /* series up to which each document is parsed and checked */

static void target_for(char *out, size_t cap, size_t nseries)
{
    snprintf(out, cap, "/debug?section=series&limit=%zu", nseries);
}

/*
 * Fetch target once, decoded, and check that the document is JSON holding every series,
 * with each family of the mix present. Returns the body size.
 */
static size_t check_body(const struct bench_http *b, const char *target, const char *headers)
{
    struct httpc_response r;
    json_error_t jerr;
    json_t *doc, *series;
    size_t len, i, hist = 0;
    int rc;

    if ((rc = httpc_get(b->d.http, target, headers, &r)) != 0)
        bench_http_die(b, -rc, "GET /debug");
    if (r.status != 200)
        bench_http_die(b, 0, "GET /debug: status is not 200");
    if (strstr(headers, "gzip") && !r.gzip)
        bench_http_die(b, 0, "GET /debug with Accept-Encoding: gzip was not gzipped");
    doc = json_loadb(r.body, r.body_len, 0, &jerr);
    if (doc == NULL)
        bench_http_die(b, 0, "invalid JSON at %d:%d: %s", jerr.line, jerr.column, jerr.text);
    series = json_object_get(doc, "series");
    if (json_array_size(series) != b->have)
        bench_http_die(b, 0, "%zu series in the document, want %zu", json_array_size(series),
                       b->have);
    if (!json_is_false(json_object_get(doc, "series_truncated")))
        bench_http_die(b, 0, "series_truncated is not false");
    for (i = 0; i < b->have; i++) {
        json_t *fam = json_object_get(json_array_get(series, i), "family");
        if (json_is_string(fam) && strcmp(json_string_value(fam), "bench_latency_seconds") == 0)
            hist++;
    }
    if (hist != b->have / 10)
        bench_http_die(b, 0, "the histogram series are not all in the document");
    json_decref(doc);
    len = r.body_len;
    httpc_response_release(&r);
    return len;
}

int main(int argc, char **argv)
{
    static const char *const cases[2][3] = {
        { "json", "", "json" },
        { "json+gzip", "Accept-Encoding: gzip\r\n", "gzip" },
    };
    size_t sizes[2] = { BENCH_HTTP_SMALL, BENCH_HTTP_LARGE }, nsizes = 2;
    struct bench_http b;
    char target[96], key[64];
    size_t s, c, shown = 0;

    bench_http_start(&b, "bench_debug", argc, argv, BENCH_HTTP_LARGE);
    if (b.series != 0)
        sizes[0] = b.series, nsizes = 1;
    printf("bench_debug: %s, %d runs per case, GET /debug?section=series&limit=N, times from "
           "connect to the last byte\n",
           getenv("USTATSD_BIN"), b.runs);
    for (s = 0; s < nsizes; s++) {
        bench_http_populate(&b, sizes[s]);
        shown = b.have < DEBUG_LIMIT_MAX ? b.have : DEBUG_LIMIT_MAX;
        target_for(target, sizeof(target), shown);
        for (c = 0; c < 2; c++) {
            char label[32];
            size_t body = b.have <= CHECK_MAX ? check_body(&b, target, cases[c][1]) : 0;
            struct bench_http_result r;
            double worst, worst_cpu;

            snprintf(label, sizeof(label), "debug %-10s", cases[c][0]);
            r = bench_http_run_case_turns(&b, label, target, cases[c][1], body, &worst, &worst_cpu);
            snprintf(key, sizeof(key), "%s_ns_per_series", cases[c][2]);
            benchresult("debug", b.have, key, r.median_ms * 1e6 / (double)shown);
            snprintf(key, sizeof(key), "%s_worst_turn_ms", cases[c][2]);
            benchresult("debug", b.have, key, worst);
            snprintf(key, sizeof(key), "%s_worst_turn_cpu_ms", cases[c][2]);
            benchresult("debug", b.have, key, worst_cpu);
        }
    }
    benchresult("debug", b.have, "healthy_max_ms",
                bench_http_ms(bench_http_run_probe(&b, target, "/debug",
                                                   "during /debug:", "baseline, no render:")));
    bench_http_stop(&b);
    return 0;
}
