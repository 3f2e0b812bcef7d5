#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "http/negotiate.h"

/*
 * Accept headers and the exact Content-Type each gets. The expected values follow
 * prometheus/common v0.70.1 expfmt.NegotiateIncludingOpenMetrics (what client_golang's
 * promhttp answers with EnableOpenMetrics), extended with text 1.0.0 as client_python
 * serves it; negotiate.c lists where we differ on purpose.
 */
struct neg_case {
    char accept[416]; /* the longest Prometheus sends is 405 bytes (3.0, proto first) */
    char content_type[128];
};

#define T004(esc)  "text/plain; version=0.0.4; charset=utf-8; escaping=" esc
#define T100(esc)  "text/plain; version=1.0.0; charset=utf-8; escaping=" esc
#define OM001(esc) "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=" esc
#define OM100(esc) "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=" esc

/*
 * Every Accept header Prometheus sends, by default and for each single scrape_protocols
 * choice, copied from prometheus/prometheus at the versions named (Prometheus builds the
 * 2.49+ ones in scrape/scrape.go acceptHeader() from config/config.go
 * ScrapeProtocolsHeaders, q counting down by 0.1 from (entries + 1) / 10, then *\/\*).
 * "native histograms" is the protobuf-first list (DefaultNativeHistogramScrapeProtocols,
 * later DefaultProtoFirstScrapeProtocols). Prometheus picks its parser from the
 * response's media type alone (model/textparse interface.go New / extractMediaType):
 * where the protobuf element comes first, the protobuf exposition is the answer, as from
 * any client_golang exporter, with the escaping its element names (none: underscores).
 */
static struct neg_case prometheus_cases[] = {
    /*
     * Prometheus 2.42 (Debian 12): scrape/scrape.go, scrapeAcceptHeader, and
     * scrapeAcceptHeaderWithProtobuf under --enable-feature=native-histograms.
     */
    { /* default */
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
      "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    { /* native histograms */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
      "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
      "*/*;q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    /*
     * Prometheus 2.49.0: scrape/scrape.go acceptHeader() with config.ScrapeProtocolsHeaders
     * (4 entries, so q counts down from 0.5) and its "*\/\*;q=%d" bug (q=2, q=4), fixed
     * in 2.49.1.
     */
    { /* default */
      "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
      "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    { /* native histograms */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,"
      "application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;"
      "q=1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* scrape_protocols: [PrometheusProto] */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.5,*/*;q=4",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* scrape_protocols: [PrometheusText0.0.4] */
      "text/plain;version=0.0.4;q=0.5,*/*;q=4",
      "text/plain; version=0.0.4; charset=utf-8; escaping=underscores" },
    { /* scrape_protocols: [OpenMetricsText0.0.1] */
      "application/openmetrics-text;version=0.0.1;q=0.5,*/*;q=4",
      "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores" },
    { /* scrape_protocols: [OpenMetricsText1.0.0] */
      "application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=4",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    /*
     * Prometheus 2.49.1 to 2.55 (2.55 with the default metric_name_validation_scheme,
     * legacy): acceptHeader(), "*\/\*;q=0.%d".
     */
    { /* default */
      "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
      "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    { /* native histograms */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,"
      "application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;"
      "q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* scrape_protocols: [PrometheusProto] */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.5,*/*;q=0.4",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* scrape_protocols: [PrometheusText0.0.4] */
      "text/plain;version=0.0.4;q=0.5,*/*;q=0.4",
      "text/plain; version=0.0.4; charset=utf-8; escaping=underscores" },
    { /* scrape_protocols: [OpenMetricsText0.0.1] */
      "application/openmetrics-text;version=0.0.1;q=0.5,*/*;q=0.4",
      "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores" },
    { /* scrape_protocols: [OpenMetricsText1.0.0] */
      "application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.4",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    /*
     * Prometheus 2.55 with metric_name_validation_scheme: utf8: acceptHeader() appends
     * config.UTF8NamesHeader (escaping=allow-utf-8) to every protocol.
     */
    { /* default */
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
      "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.4,text/plain;"
      "version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* native histograms */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;escaping=allow-utf-8;q=0.5,application/openmetrics-text;"
      "version=1.0.0;escaping=allow-utf-8;q=0.4,application/openmetrics-text;version=0.0.1;"
      "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;"
      "q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=allow-utf-8" },
    { /* scrape_protocols: [PrometheusProto] */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;escaping=allow-utf-8;q=0.5,*/*;q=0.4",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=allow-utf-8" },
    { /* scrape_protocols: [PrometheusText0.0.4] */
      "text/plain;version=0.0.4;escaping=allow-utf-8;q=0.5,*/*;q=0.4",
      "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8" },
    { /* scrape_protocols: [OpenMetricsText0.0.1] */
      "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,*/*;q=0.4",
      "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=allow-utf-8" },
    { /* scrape_protocols: [OpenMetricsText1.0.0] */
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,*/*;q=0.4",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    /*
     * Prometheus 3.0 to 3.2: ScrapeProtocolsHeaders has 5 entries (q from 0.6), its
     * PrometheusText1.0.0 is "text/plain;version=1.0.0;escaping=allow-utf-8", and the
     * default validation scheme, utf8, appends escaping=allow-utf-8 to every protocol.
     */
    { /* default */
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
      "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;"
      "version=1.0.0;escaping=allow-utf-8;escaping=allow-utf-8;q=0.4,text/plain;"
      "version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* native histograms */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;"
      "version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;"
      "escaping=allow-utf-8;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;"
      "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;"
      "q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=allow-utf-8" },
    { /* scrape_protocols: [PrometheusProto] */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=allow-utf-8" },
    { /* scrape_protocols: [PrometheusText0.0.4] */
      "text/plain;version=0.0.4;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8" },
    { /* scrape_protocols: [OpenMetricsText0.0.1] */
      "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=allow-utf-8" },
    { /* scrape_protocols: [OpenMetricsText1.0.0] */
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* scrape_protocols: [PrometheusText1.0.0] */
      "text/plain;version=1.0.0;escaping=allow-utf-8;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* metric_name_validation_scheme: legacy */
      "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;"
      "version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;"
      "version=0.0.4;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    { /* legacy, scrape_protocols: [PrometheusText1.0.0] */
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    /*
     * Prometheus 3.3: PrometheusText1.0.0 becomes "text/plain;version=1.0.0"; the other
     * headers are 3.0's.
     */
    { /* default */
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
      "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;"
      "version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;"
      "escaping=allow-utf-8;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* native histograms */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;"
      "version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;"
      "escaping=allow-utf-8;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,"
      "text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=allow-utf-8" },
    { /* scrape_protocols: [PrometheusText1.0.0] */
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    /*
     * Prometheus 3.4 and later (checked up to 3.14): acceptHeader(sps, escapingScheme)
     * puts escaping=<metric_name_escaping_scheme> on the 1.0.0 text formats only (default
     * allow-utf-8; underscores under legacy validation). scrape/scrape_test.go
     * TestAcceptHeader has the default and proto-first headers verbatim.
     */
    { /* default, allow-utf-8 */
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
      "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
      "escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* native histograms, allow-utf-8 */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;"
      "escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,"
      "*/*;q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* [OpenMetricsText1.0.0], allow-utf-8 */
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* [PrometheusText1.0.0], allow-utf-8 */
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5",
      "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8" },
    { /* default, underscores */
      "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,"
      "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
      "escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    { /* native histograms, underscores */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;"
      "escaping=underscores;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
      "text/plain;version=1.0.0;escaping=underscores;q=0.3,text/plain;version=0.0.4;q=0.2,"
      "*/*;q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* [OpenMetricsText1.0.0], underscores */
      "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,*/*;q=0.5",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores" },
    { /* [PrometheusText1.0.0], underscores */
      "text/plain;version=1.0.0;escaping=underscores;q=0.6,*/*;q=0.5",
      "text/plain; version=1.0.0; charset=utf-8; escaping=underscores" },
    { /* default, dots */
      "application/openmetrics-text;version=1.0.0;escaping=dots;q=0.6,"
      "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
      "escaping=dots;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots" },
    { /* native histograms, dots */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=dots;"
      "q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
      "escaping=dots;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* [OpenMetricsText1.0.0], dots */
      "application/openmetrics-text;version=1.0.0;escaping=dots;q=0.6,*/*;q=0.5",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots" },
    { /* [PrometheusText1.0.0], dots */
      "text/plain;version=1.0.0;escaping=dots;q=0.6,*/*;q=0.5",
      "text/plain; version=1.0.0; charset=utf-8; escaping=dots" },
    { /* default, values */
      "application/openmetrics-text;version=1.0.0;escaping=values;q=0.6,"
      "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
      "escaping=values;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values" },
    { /* native histograms, values */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=values;"
      "q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
      "escaping=values;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* [OpenMetricsText1.0.0], values */
      "application/openmetrics-text;version=1.0.0;escaping=values;q=0.6,*/*;q=0.5",
      "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values" },
    { /* [PrometheusText1.0.0], values */
      "text/plain;version=1.0.0;escaping=values;q=0.6,*/*;q=0.5",
      "text/plain; version=1.0.0; charset=utf-8; escaping=values" },
    { /* [PrometheusProto], any scheme */
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.6,*/*;q=0.5",
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited; escaping=underscores" },
    { /* [PrometheusText0.0.4], any scheme */
      "text/plain;version=0.0.4;q=0.6,*/*;q=0.5",
      "text/plain; version=0.0.4; charset=utf-8; escaping=underscores" },
    { /* [OpenMetricsText0.0.1], any scheme */
      "application/openmetrics-text;version=0.0.1;q=0.6,*/*;q=0.5",
      "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores" },
};

ParameterizedTestParameters(negotiate, prometheus_accept_headers)
{
    return cr_make_param_array(struct neg_case, prometheus_cases,
                               sizeof(prometheus_cases) / sizeof(prometheus_cases[0]));
}

ParameterizedTest(struct neg_case *c, negotiate, prometheus_accept_headers)
{
    struct negotiate n = negotiate_accept(c->accept);

    cr_assert_str_eq(negotiate_content_type(&n), c->content_type, "Accept: %s", c->accept);
}

/* Other clients, the rules one by one, and hostile input. */
static struct neg_case other_cases[] = {
    { "", T004("underscores") },
    { "*/*", T004("underscores") },
    { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", T004("underscores") },
    { "application/json", T004("underscores") },
    { "garbage", T004("underscores") },
    /* expfmt: no version is OpenMetrics 0.0.1; versions are exact. */
    { "application/openmetrics-text", OM001("underscores") },
    { "application/openmetrics-text; version=1.0.0; charset=utf-8", OM100("underscores") },
    { "application/openmetrics-text;version=2.0.0", T004("underscores") },
    { "text/plain", T004("underscores") },
    { "text/plain;version=1.0.0", T100("underscores") },
    { "text/plain;version=2.0.0,application/openmetrics-text;version=1.0.0;q=0.1",
      OM100("underscores") },
    /* Highest q first; ties in the order listed. */
    { "application/openmetrics-text;q=0.5,text/plain;q=0.5", OM001("underscores") },
    { "text/plain;q=0.5,application/openmetrics-text;q=0.5", T004("underscores") },
    { "application/openmetrics-text;q=0.6,text/plain;q=0.5", OM001("underscores") },
    { "text/plain;version=0.0.4,application/openmetrics-text;version=1.0.0;q=0.9",
      T004("underscores") },
    /* Wildcards match nothing (expfmt), so they neither win nor hide what follows. */
    { "application/*", T004("underscores") },
    { "application/openmetrics-text;version=1.0.0;q=0.75, */*;q=1", OM100("underscores") },
    /* Media types and parameter names compare without case; quotes and spaces go. */
    { "APPLICATION/OpenMetrics-Text;Version=1.0.0", OM100("underscores") },
    { " application/openmetrics-text ; version=\"1.0.0\" ; q=0.9 , text/plain ; q=0.1",
      OM100("underscores") },
    /* q=0 is "not acceptable" (RFC 9110), a malformed q drops the element. */
    { "application/openmetrics-text;q=0", T004("underscores") },
    { "application/openmetrics-text;q=abc", T004("underscores") },
    { "application/openmetrics-text;q=1.5", T004("underscores") },
    { "application/openmetrics-text;version=1.0.0;q=0,application/openmetrics-text;q=1",
      OM001("underscores") },
    { ",,;;=,/,application/openmetrics-text;;q=0.2", OM001("underscores") },
    /* escaping=: the four schemes, exact and lower case; an unknown one is ignored. */
    { "text/plain;escaping=allow-utf-8", T004("allow-utf-8") },
    { "text/plain;version=1.0.0;escaping=dots", T100("dots") },
    { "application/openmetrics-text;version=1.0.0;escaping=values", OM100("values") },
    { "application/openmetrics-text;escaping=underscores", OM001("underscores") },
    { "text/plain;version=1.0.0;escaping=bogus", T100("underscores") },
    { "text/plain;version=1.0.0;escaping=DOTS", T100("underscores") },
    { "text/plain;escaping=\"dots\"", T004("dots") },
    { "text/plain;escaping=dots;escaping=values", T004("values") },
    /* The scheme of the last element walked, in q order, up to the winner (expfmt). */
    { "application/json;escaping=values,text/plain;q=0.5", T004("values") },
    { "text/plain;q=0.5,application/json;escaping=values;q=0.4", T004("underscores") },
    { "application/json;escaping=values", T004("values") },
    { "application/json;escaping=values;q=0.9,application/json;escaping=dots;q=0.8,"
      "text/plain;q=0.7",
      T004("dots") },
    { "application/json;escaping=dots;q=0.9,text/plain;q=0.9,application/json;escaping=values;"
      "q=0.9",
      T004("dots") },
    { "text/plain;escaping=dots;q=0,application/json;escaping=values;q=0", T004("underscores") },
    /* After q come accept-ext, not media type parameters. */
    { "text/plain;q=0.5;escaping=dots", T004("underscores") },
};

ParameterizedTestParameters(negotiate, content_type_from_accept)
{
    return cr_make_param_array(struct neg_case, other_cases,
                               sizeof(other_cases) / sizeof(other_cases[0]));
}

ParameterizedTest(struct neg_case *c, negotiate, content_type_from_accept)
{
    struct negotiate n = negotiate_accept(c->accept);

    cr_assert_str_eq(negotiate_content_type(&n), c->content_type, "Accept: %s", c->accept);
}

Test(negotiate, null_accept_gives_text_with_underscores)
{
    struct negotiate n = negotiate_accept(NULL);

    cr_assert_eq(n.type, NEGOTIATE_TEXT_0_0_4);
    cr_assert_eq(n.fmt, EXPO_TEXT);
    cr_assert_eq(n.esc, EXPO_ESCAPE_UNDERSCORES);
}

/* The body's format and the scheme expo gets agree with what Content-Type says. */
Test(negotiate, outcome_fields_match_the_content_type)
{
    static const struct {
        const char *accept;
        enum negotiate_type type;
        enum expo_format fmt;
        enum expo_escaping esc;
    } cases[] = {
        { "text/plain", NEGOTIATE_TEXT_0_0_4, EXPO_TEXT, EXPO_ESCAPE_UNDERSCORES },
        { "text/plain;version=1.0.0;escaping=allow-utf-8", NEGOTIATE_TEXT_1_0_0, EXPO_TEXT,
          EXPO_ESCAPE_ALLOW_UTF8 },
        { "application/openmetrics-text;escaping=dots", NEGOTIATE_OPENMETRICS_0_0_1,
          EXPO_OPENMETRICS, EXPO_ESCAPE_DOTS },
        { "application/openmetrics-text;version=1.0.0;escaping=values", NEGOTIATE_OPENMETRICS_1_0_0,
          EXPO_OPENMETRICS, EXPO_ESCAPE_VALUES },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct negotiate n = negotiate_accept(cases[i].accept);

        cr_assert_eq(n.type, cases[i].type, "%s", cases[i].accept);
        cr_assert_eq(n.fmt, cases[i].fmt, "%s", cases[i].accept);
        cr_assert_eq(n.esc, cases[i].esc, "%s", cases[i].accept);
    }
}

struct ae_case {
    char header[64];
    int gzip;
};

/* The last block reads q as Accept does: a malformed q drops the element. */
ParameterizedTestParameters(negotiate, gzip_from_accept_encoding)
{
    static struct ae_case cases[] = {
        { "gzip", 1 },
        { "GZip", 1 },
        { "deflate, gzip", 1 },
        { "gzip;q=0", 0 },
        { "gzip; q=0.000", 0 },
        { "gzip;q=0.001", 1 },
        { "gzip;q=1.0", 1 },
        { "*", 1 },
        { "*;q=0", 0 },
        { "gzip;q=0, *", 0 },
        { "x-gzip", 1 },
        { "deflate, br", 0 },
        { "identity", 0 },
        { "", 0 },
        { "gzipx", 0 },
        { " gzip ; Q = 0.5 ", 1 },
        { "gzip;q=\"0\"", 0 },
        { "gzip;q=2", 0 },
        { "gzip;q=2, *", 1 },
        { "gzip;q=abc, *;q=0", 0 },
        { "gzip;q=0, gzip;q=0.5", 1 },
    };

    return cr_make_param_array(struct ae_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ae_case *c, negotiate, gzip_from_accept_encoding)
{
    cr_assert_eq(negotiate_gzip(c->header), c->gzip, "%s", c->header);
}

Test(negotiate, null_accept_encoding_refuses_gzip)
{
    cr_assert_eq(negotiate_gzip(NULL), 0);
}
