/*
 * End to end: /metrics of the real binary asked with the exact Accept headers that
 * Prometheus 2.42, 2.55 and 3.x send (test_negotiate.c has them all, and their sources),
 * answered with the exact Content-Type client_golang would send, a body that promtool or
 * the strict OpenMetrics parser accepts, and bytes equal to a golden file.
 *
 * Golden files: tests/golden/negotiate_text.txt and negotiate_openmetrics.txt. Text 0.0.4
 * and 1.0.0 share one, as do OpenMetrics 0.0.1 and 1.0.0, and every escaping scheme
 * gives the same bytes: expfmt writes text 1.0.0's legacy-valid names as 0.0.4 does and
 * has one OpenMetrics encoder, and model.EscapeMetricFamily leaves legacy-valid names
 * (all we write) alone under every scheme. The test proves that sharing. What varies
 * from run to run or machine to machine is masked (mask() below): the values of the
 * daemon's own samples, and the process_* families, which depend on /proc and limits.
 * Set USTATSD_UPDATE_GOLDEN=1 to rewrite the files after a deliberate change (the first
 * case of each file writes it), then review the diff.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "daemon.h"
#include "httpc.h"

static const char config[] =
    "{\n"
    "  \"resource\": {\"service.name\": \"negotiate\"},\n"
    "  \"families\": [\n"
    "    {\"name\": \"neg_requests_total\", \"type\": \"counter\", \"help\": \"Requests "
    "\\\"served\\\" "
    "\\\\ by method.\",\n"
    "     \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},\n"
    "                {\"name\": \"path\", \"max_values\": 10}]},\n"
    "    {\"name\": \"neg_queue_depth\", \"type\": \"gauge\", \"help\": \"Queue depth.\"},\n"
    "    {\"name\": \"neg_latency_seconds\", \"type\": \"histogram\", \"help\": \"Latency.\",\n"
    "     \"unit\": \"seconds\", \"buckets\": [0.01, 0.1, 1]},\n"
    "    {\"name\": \"neg_payload_bytes\", \"type\": \"gauge\", \"help\": \"Payload.\",\n"
    "     \"unit\": \"bytes\"}\n"
    "  ],\n"
    "  \"jobs\": {\"prefix\": \"neg_job\", \"list\": [\"mailer\"]}\n"
    "}\n";

#define TEXT "negotiate_text.txt"
#define OM   "negotiate_openmetrics.txt"

#define CT_T004 "text/plain; version=0.0.4; charset=utf-8; escaping="
#define CT_T100 "text/plain; version=1.0.0; charset=utf-8; escaping="
#define CT_O001 "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping="
#define CT_O100 "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping="

/*
 * The 3.x rows' Content-Types, and the text 1.0.0 ones, fail against the negotiation
 * that answered "version=1.0.0; charset=utf-8" with no scheme and never served text 1.0.0.
 */
static const struct {
    const char *what;
    const char *accept; /* NULL: no Accept header, as curl */
    const char *content_type;
    const char *golden;
} cases[] = {
    /* Those that put protobuf first get it: test_e2e_native.c, test_negotiate.c. */
    { "Prometheus 2.42 default",
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      CT_O100 "underscores", OM },
    { "curl", NULL, CT_T004 "underscores", TEXT },
    { "Prometheus 3.4+ default",
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/"
      "openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
      "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      CT_O100 "allow-utf-8", OM },
    { "Prometheus 3.4+ default, values",
      "application/openmetrics-text;version=1.0.0;escaping=values;q=0.6,application/"
      "openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=values;q=0.4,"
      "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      CT_O100 "values", OM },
    { "Prometheus 3.4+ scrape_protocols: [PrometheusText1.0.0]",
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5", CT_T100 "allow-utf-8",
      TEXT },
    { "Prometheus 3.4+ [PrometheusText1.0.0], underscores",
      "text/plain;version=1.0.0;escaping=underscores;q=0.6,*/*;q=0.5", CT_T100 "underscores",
      TEXT },
    { "Prometheus 3.4+ [PrometheusText1.0.0], dots",
      "text/plain;version=1.0.0;escaping=dots;q=0.6,*/*;q=0.5", CT_T100 "dots", TEXT },
    { "Prometheus 3.x [PrometheusText0.0.4]", "text/plain;version=0.0.4;q=0.6,*/*;q=0.5",
      CT_T004 "underscores", TEXT },
    { "Prometheus 3.x [OpenMetricsText0.0.1]",
      "application/openmetrics-text;version=0.0.1;q=0.6,*/*;q=0.5", CT_O001 "underscores", OM },
    { "Prometheus 3.0 default",
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/"
      "openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;"
      "escaping=allow-utf-8;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-"
      "utf-8;q=0.3,*/*;q=0.2",
      CT_O100 "allow-utf-8", OM },
};

static struct daemon d;

static void start(void)
{
    cr_assert_eq(daemon_start(&d, config, NULL), 0, "daemon did not start");
}

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

/* The metric name a sample or metadata line is about, [*name, *name + return). */
static size_t line_name(const char *line, size_t len, const char **name)
{
    size_t i = 0, n = 0;

    if (len > 7 && line[0] == '#' && line[1] == ' ') {
        i = 2;
        while (i < len && line[i] != ' ')
            i++;
        i++;
    }
    *name = line + (i < len ? i : len);
    while (i + n < len && line[i + n] != ' ' && line[i + n] != '{')
        n++;
    return n;
}

static int starts(const char *s, size_t n, const char *prefix)
{
    return n >= strlen(prefix) && memcmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Whether a sample's value is the same on every run: the families this test feeds
 * (neg_*) but the job gauges that hold times (neg_job_*_seconds) and the start times
 * (*_created), and info samples (1).
 */
static int keep_value(const char *name, size_t n)
{
    if (n >= 5 && memcmp(name + n - 5, "_info", 5) == 0)
        return 1;
    if (starts(name, n, "neg_job_") && n >= 8 && memcmp(name + n - 8, "_seconds", 8) == 0)
        return 0;
    if (n >= 8 && memcmp(name + n - 8, "_created", 8) == 0) /* start times */
        return 0;
    return starts(name, n, "neg_");
}

/*
 * The body with what varies masked: process_* lines dropped, and every other sample
 * whose value is not kept (keep_value()) has its value replaced by "<masked>". Values
 * never hold spaces and we write no timestamps, so the value follows the last space.
 */
static char *mask(const char *body)
{
    struct buf out = BUF_INIT;
    const char *p = body;

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *name, *sp;
        size_t nlen = line_name(p, len, &name);

        if (starts(name, nlen, "process_")) {
            /* dropped: present or not by machine */
        } else if (p[0] == '#' || keep_value(name, nlen)) {
            buf_add(&out, p, len);
            buf_addch(&out, '\n');
        } else {
            sp = p + len;
            while (sp > p && sp[-1] != ' ')
                sp--;
            buf_add(&out, p, (size_t)(sp - p));
            buf_adds(&out, "<masked>\n");
        }
        p = nl ? nl + 1 : p + len;
    }
    return buf_detach(&out, NULL);
}

static char *golden_path(const char *name)
{
    struct buf p = BUF_INIT;

    buf_addf(&p, "%s/tests/golden/%s", USTATSD_SOURCE_DIR, name);
    return buf_detach(&p, NULL);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(s, 1, strlen(s), f), strlen(s));
    cr_assert_eq(fclose(f), 0);
}

static void feed(void)
{
    cr_assert_eq(daemon_sends(&d, "neg_requests:3|c|#method:GET,path:/a\"b\\c\n"
                                  "neg_requests:1|c|#method:POST,path:/caf\xc3\xa9\n"
                                  "neg_queue.depth:-2.5|g\n"
                                  "neg_latency_seconds:0.05|h\n"
                                  "neg_latency_seconds:2|h\n"
                                  "neg_payload_bytes:1e20|g\n"
                                  "mailer:worked|j"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 7, 5000), 7);
}

Test(e2e_negotiate, prometheus_accept_headers_get_exact_content_type_and_golden_body, .init = start,
     .fini = stop)
{
    int update = getenv("USTATSD_UPDATE_GOLDEN") != NULL;
    int written_text = 0, written_om = 0;

    feed();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct httpc_response r;
        struct buf hdr = BUF_INIT;
        int om = strcmp(cases[i].golden, OM) == 0;
        char *path = golden_path(cases[i].golden), *got, *want;
        const char *ct;

        if (cases[i].accept != NULL)
            buf_addf(&hdr, "Accept: %s\r\n", cases[i].accept);
        cr_assert_eq(httpc_get(d.http, "/metrics", hdr.ptr ? hdr.ptr : "", &r), 0, "%s",
                     cases[i].what);
        cr_assert_eq(r.status, 200, "%s", cases[i].what);
        ct = httpc_header(&r, "content-type");
        cr_assert_not_null(ct, "%s: no Content-Type", cases[i].what);
        cr_assert_str_eq(ct, cases[i].content_type, "%s", cases[i].what);
        cr_assert_eq(expo_check(r.body, om), 0, "%s: the body does not parse", cases[i].what);

        got = mask(r.body);
        if (update && !(om ? written_om : written_text)) {
            write_file(path, got);
            *(om ? &written_om : &written_text) = 1;
        }
        want = daemon_read_file(path);
        cr_assert_not_null(want, "cannot read %s", path);
        cr_assert_str_eq(got, want, "%s: the body differs from %s", cases[i].what, cases[i].golden);
        free(want);
        free(got);
        free(path);
        buf_release(&hdr);
        httpc_response_release(&r);
    }
}

/* HEAD answers with GET's Content-Type, escaping included. */
Test(e2e_negotiate, head_gets_the_negotiated_content_type, .init = start, .fini = stop)
{
    struct httpc h;
    struct httpc_response r;

    cr_assert_eq(httpc_open(&h, d.http, 0), 0);
    cr_assert_eq(
        httpc_request(&h, "HEAD", "/metrics",
                      "Accept: text/plain;version=1.0.0;escaping=values;q=0.6,*/*;q=0.5\r\n"),
        0);
    cr_assert_eq(httpc_read(&h, 1, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    cr_assert_str_eq(httpc_header(&r, "content-type"), CT_T100 "values");
    httpc_response_release(&r);
    httpc_close(&h);
}
