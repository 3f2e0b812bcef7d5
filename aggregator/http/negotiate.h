/*
 * negotiate: HTTP content negotiation (RFC 9110 12.5), the one reader of Accept and
 * Accept-Encoding in the daemon.
 *
 * A domain module: plain string work, no allocation, no state. Both headers are read
 * with the same list and parameter grammar and the same strict qvalue parser; an element
 * whose q is malformed ("q=2", "q=abc", "q=0.0001") is ignored, as if it were not listed.
 *
 * The exposition is chosen the way Prometheus's Go client library chooses it
 * (prometheus/common expfmt.NegotiateIncludingOpenMetrics, as promhttp calls it with
 * EnableOpenMetrics), so that a scraper sees the daemon as it would see any Go exporter:
 * the same format and the same Content-Type, escaping parameter included. docs/exposition.md,
 * "HTTP endpoints", states the rules; negotiate.c says where they come from.
 */
#ifndef USTATSD_NEGOTIATE_H
#define USTATSD_NEGOTIATE_H

#include "base/expo.h"

/* The media types /metrics answers with, each at the version Content-Type names. */
enum negotiate_type {
    NEGOTIATE_TEXT_0_0_4,        /* text/plain; version=0.0.4 */
    NEGOTIATE_TEXT_1_0_0,        /* text/plain; version=1.0.0 (Prometheus 3) */
    NEGOTIATE_OPENMETRICS_0_0_1, /* application/openmetrics-text; version=0.0.1 */
    NEGOTIATE_OPENMETRICS_1_0_0, /* application/openmetrics-text; version=1.0.0 */
    /* application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
     * encoding=delimited */
    NEGOTIATE_PROTOBUF,
};

/* The outcome of negotiate_accept(); a plain value, nothing to release. */
struct negotiate {
    enum negotiate_type type;
    /*
     * The body: EXPO_TEXT for both text versions, whose bytes are the same for the
     * legacy-valid names we write; EXPO_OPENMETRICS for both OpenMetrics versions (the
     * Go client writes its one OpenMetrics 1.0.0 encoder's output under either);
     * EXPO_PROTOBUF for protobuf.
     */
    enum expo_format fmt;
    enum expo_escaping esc; /* the name escaping scheme, for expo and Content-Type */
};

/*
 * Pick the exposition for an Accept value (NULL or "" gives text 0.0.4, underscores).
 *
 * The acceptable elements (q above zero) are taken in order of q, highest first, ties in
 * the order listed; the first that names a type we write wins:
 *   - text/plain with no version or 0.0.4: text 0.0.4; with version 1.0.0: text 1.0.0;
 *   - application/openmetrics-text with no version or 0.0.1: OpenMetrics 0.0.1; with
 *     1.0.0: OpenMetrics 1.0.0;
 *   - application/vnd.google.protobuf with proto=io.prometheus.client.MetricFamily and
 *     encoding=delimited: the protobuf exposition (EXPO_PROTOBUF);
 *   - nothing else: not the wildcard ranges, other protobuf encodings, nor other
 *     versions. When no element wins, text 0.0.4.
 * The escaping scheme is that of the last element taken, up to and including the winner,
 * whose escaping= is one of allow-utf-8, underscores, dots, values (exact, lower case);
 * underscores when there is none. Parameter names and media types compare without case.
 */
struct negotiate negotiate_accept(const char *accept);

/*
 * The exact Content-Type for n, a static string: the media type, version, charset and
 * escaping, as expfmt writes them, for example
 * "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8".
 */
const char *negotiate_content_type(const struct negotiate *n);

/*
 * Whether an Accept-Encoding value accepts gzip: gzip (or x-gzip) listed with a q above
 * zero, or, when neither is listed, * with a q above zero. NULL or "" does not.
 * Returns 1 or 0.
 */
int negotiate_gzip(const char *accept_encoding);

#endif
