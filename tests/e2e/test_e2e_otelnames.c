/*
 * OpenTelemetry names end to end, on seed 000's shipped config
 * (packaging/seeds/000-imgsrv/ustatsd.json): its HTTP server histogram and its
 * object-store duration and byte families fed by the names a service bridging
 * OpenTelemetry sends, without the unit suffix (http.server.request.duration,
 * imgsrv.objectstore.operation.duration, imgsrv.objectstore), give the exposition their
 * exact names give. The seed's in-flight gauge is up-down: counter lines move it. The
 * config is the seed's, less what the host lacks (its socket, group and database).
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static struct daemon d;

/* The seed's config, with the test's socket and listener and without PostgreSQL. */
static void start(void)
{
    const char *src = getenv("USTATSD_SOURCE_DIR");
    char path[1024], *text;
    json_error_t err;
    json_t *root, *daemon;

    cr_assert_not_null(src, "USTATSD_SOURCE_DIR is not set: run the test through ctest");
    snprintf(path, sizeof(path), "%s/packaging/seeds/000-imgsrv/ustatsd.json", src);
    root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s: %s", path, err.text);
    daemon = json_object_get(root, "daemon");
    json_object_del(daemon, "socket");
    json_object_del(daemon, "socket_group");
    json_object_del(root, "postgres");
    json_object_del(root, "sql_metrics");
    text = json_dumps(root, 0);
    cr_assert_not_null(text);
    cr_assert_eq(daemon_start(&d, text, NULL), 0, "daemon did not start");
    free(text);
    json_decref(root);
}

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

/* Send lines (each "%s" in fmt becomes the name), and wait until all are accepted. */
static void send_as(const char *const *lines, size_t n, const char *name, double *accepted)
{
    char line[512];

    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "%s%s", name, lines[i]);
        cr_assert_eq(daemon_sends(&d, line), 0);
    }
    *accepted += (double)n;
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", *accepted, 10000), *accepted,
                 "%s: a line was refused", name);
}

/* The labels of a series: pre, the value that tells it from its twin, post. */
struct labels {
    const char *pre, *post;
};

/* The sample family + suffix + "{" + labels around v + more + "}". */
static double sample(const char *m, const char *family, const char *suffix, const struct labels *l,
                     const char *v, const char *more)
{
    char s[512];

    snprintf(s, sizeof(s), "%s%s{%s%s%s%s}", family, suffix, l->pre, v, l->post, more);
    return expo_value(m, s);
}

/* Every bucket, the count and the sum of histogram family, series a and b alike. */
static void same_histogram(const char *m, const char *family, const struct labels *labels,
                           const char *a, const char *b, const char *const *les, size_t nles,
                           double count, double sum)
{
    char more[64];

    for (size_t i = 0; i < nles; i++) {
        snprintf(more, sizeof(more), ",le=\"%s\"", les[i]);
        cr_expect_eq(sample(m, family, "_bucket", labels, a, more),
                     sample(m, family, "_bucket", labels, b, more), "%s le=%s", family, les[i]);
    }
    cr_expect_eq(sample(m, family, "_count", labels, a, ""), count, "%s_count", family);
    cr_expect_eq(sample(m, family, "_count", labels, b, ""), count, "%s_count", family);
    cr_expect_float_eq(sample(m, family, "_sum", labels, a, ""), sum, 1e-9, "%s_sum", family);
    cr_expect_float_eq(sample(m, family, "_sum", labels, b, ""), sum, 1e-9, "%s_sum", family);
}

Test(e2e_otelnames, seed_000_http_histogram_by_its_open_telemetry_name, .init = start, .fini = stop)
{
    static const char *const les[] = { "0.005", "0.01", "0.025", "0.05", "0.075",
                                       "0.1",   "0.25", "0.5",   "0.75", "1",
                                       "2.5",   "5",    "7.5",   "10",   "+Inf" };
    /* As an OpenTelemetry bridge sends them: seconds, and a timer in ms. */
    static const char *const otel[] = {
        ":0.02|h|#http.request.method:GET,http.response.status_code:200,http.route:/v1/images,"
        "url.scheme:https",
        ":0.3|h|#http.request.method:GET,http.response.status_code:200,http.route:/v1/images,"
        "url.scheme:https",
        ":4|h|#http.request.method:GET,http.response.status_code:200,http.route:/v1/images,"
        "url.scheme:https",
        ":20|ms|#http.request.method:GET,http.response.status_code:200,http.route:/v1/images,"
        "url.scheme:https,network.protocol.version:1.1",
    };
    static const char *const exact[] = {
        ":0.02|h|#http_request_method:GET,http_response_status_code:200,http_route:/v1/twin,"
        "url_scheme:https",
        ":0.3|h|#http_request_method:GET,http_response_status_code:200,http_route:/v1/twin,"
        "url_scheme:https",
        ":4|h|#http_request_method:GET,http_response_status_code:200,http_route:/v1/twin,"
        "url_scheme:https",
        ":0.02|h|#http_request_method:GET,http_response_status_code:200,http_route:/v1/twin,"
        "url_scheme:https",
    };
    static const struct labels labels = {
        "http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"",
        "\",url_scheme=\"https\",service_name=\"imgsrv\""
    };
    double accepted = 0;
    char *m, *om, *log;

    send_as(otel, 4, "http.server.request.duration", &accepted);
    send_as(otel, 4, "http-server.request.duration", &accepted); /* every spelling normalises */
    send_as(exact, 4, "http_server_request_duration_seconds", &accepted);
    send_as(exact, 4, "http.server.request.duration_seconds", &accepted);
    m = daemon_scrape(&d, NULL);
    same_histogram(m, "http_server_request_duration_seconds", &labels, "/v1/images", "/v1/twin",
                   les, sizeof(les) / sizeof(les[0]), 8, 2 * (0.02 + 0.3 + 4 + 0.02));
    cr_expect_eq(sample(m, "http_server_request_duration_seconds", "_bucket", &labels, "/v1/images",
                        ",le=\"0.025\""),
                 4);
    cr_expect_eq(expo_check(m, 0), 0, "promtool rejected the exposition");
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_expect_not_null(strstr(om, "# UNIT http_server_request_duration_seconds seconds\n"));
    cr_expect_eq(expo_check(om, 1), 0, "promtool rejected the OpenMetrics exposition");
    /* The seed's config gives every family with a unit its OpenTelemetry name. */
    log = daemon_read_file(d.log);
    cr_assert_not_null(log);
    cr_expect_null(strstr(log, "name without the unit"), "%s", log);
    free(log);
    free(om);
    free(m);
}

Test(e2e_otelnames, seed_000_object_store_families_by_their_open_telemetry_names, .init = start,
     .fini = stop)
{
    static const char *const les[] = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                       "0.5",   "1",    "2.5",   "5",    "10",  "+Inf" };
    static const char *const get[] = { ":0.004|h|#operation:get,outcome:success",
                                       ":0.04|h|#operation:get,outcome:success",
                                       ":3|h|#operation:get,outcome:success" };
    static const char *const put[] = { ":0.004|h|#operation:put,outcome:success",
                                       ":0.04|h|#operation:put,outcome:success",
                                       ":3|h|#operation:put,outcome:success" };
    static const char *const read_bytes[] = { ":512|c|#operation:get,direction:read",
                                              ":1024|c|#operation:get,direction:read" };
    static const char *const write_bytes[] = { ":512|c|#operation:put,direction:read",
                                               ":1024|c|#operation:put,direction:read" };
    static const char *const inflight[] = { ":1|c|#http.request.method:GET",
                                            ":1|c|#http.request.method:GET",
                                            ":-1|c|#http.request.method:GET" };
    double accepted = 0;
    char *m;

    send_as(get, 3, "imgsrv.objectstore.operation.duration", &accepted);
    send_as(put, 3, "imgsrv_objectstore_operation_duration_seconds", &accepted);
    send_as(read_bytes, 2, "imgsrv.objectstore", &accepted);
    send_as(write_bytes, 2, "imgsrv_objectstore_bytes_total", &accepted);
    send_as(inflight, 3, "http.server.active_requests", &accepted);
    m = daemon_scrape(&d, NULL);
    static const struct labels labels = { "operation=\"",
                                          "\",outcome=\"success\",service_name=\"imgsrv\"" };
    same_histogram(m, "imgsrv_objectstore_operation_duration_seconds", &labels, "get", "put", les,
                   sizeof(les) / sizeof(les[0]), 3, 0.004 + 0.04 + 3);
    cr_expect_eq(expo_value(m, "imgsrv_objectstore_bytes_total{operation=\"get\",direction="
                               "\"read\",service_name=\"imgsrv\"}"),
                 1536);
    cr_expect_eq(expo_value(m, "imgsrv_objectstore_bytes_total{operation=\"put\",direction="
                               "\"read\",service_name=\"imgsrv\"}"),
                 1536);
    cr_expect_eq(expo_value(m, "http_server_active_requests{http_request_method=\"GET\","
                               "service_name=\"imgsrv\"}"),
                 1);
    /* The name without "_total" too would be a counter's spelling: not the bytes family's. */
    cr_assert_eq(daemon_sends(&d, "imgsrv.objectstore_total:1|c|#operation:get,direction:read"), 0);
    cr_expect_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 1, 10000),
        1);
    cr_expect_eq(expo_check(m, 0), 0, "promtool rejected the exposition");
    free(m);
}
