/*
 * expotypes: the exposition's plain types, shared by expo (the writers' interface,
 * expo.h, which says what each means), its protobuf writer (expopb) and its name
 * escaping (exponame). Nothing to link.
 */
#ifndef USTATSD_EXPOTYPES_H
#define USTATSD_EXPOTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/*
 * EXPO_PROTOBUF: the delimited protobuf exposition (io.prometheus.client.MetricFamily, each
 * message preceded by its length as a varint), written by expopb.c with the C that
 * protoc-c generates from metrics.proto. A family's series are kept in e->pb until
 * expo_flush() (or the next expo_family(), or expo_eof()) writes them as one message: a
 * writer calls expo_flush() before it lets go of a protobuf expo, and one that goes on
 * with a family after a flush starts it again (expo_family(): a message of its own, the
 * same name, help and type). A family past 256 KB is written in more than one message.
 *
 * EXPO_REMOTE_WRITE: the body of a Prometheus remote write 1.0 WriteRequest, before its
 * snappy compression (exporw.c): each sample a TimeSeries as Prometheus stores what it
 * scrapes, named and labelled as text 0.0.4 names them, at e->timestamp_ms.
 */
enum expo_format { EXPO_TEXT, EXPO_OPENMETRICS, EXPO_PROTOBUF, EXPO_REMOTE_WRITE };

/*
 * The name escaping schemes that a scraper asks for with escaping= in Accept, and that
 * Content-Type names (prometheus/common model.EscapingScheme: allow-utf-8, underscores,
 * dots, values). Underscores is 0: it is model.NameEscapingScheme, the scheme that
 * applies when Accept names none.
 */
enum expo_escaping {
    EXPO_ESCAPE_UNDERSCORES,
    EXPO_ESCAPE_ALLOW_UTF8,
    EXPO_ESCAPE_DOTS,
    EXPO_ESCAPE_VALUES
};

/* The longest name expo_family() escapes whole; the escape of a longer one is cut. */
#define EXPO_ESCAPE_NAME_MAX 256
/* The most bytes expo_escape_name() writes for a len-byte name: "U__", then 6 a byte. */
#define EXPO_ESCAPED_MAX(len) (3 + 6 * (len))

enum expo_type {
    EXPO_COUNTER,
    EXPO_GAUGE,
    EXPO_HISTOGRAM,
    EXPO_SUMMARY,
    EXPO_STATESET,
    EXPO_INFO,
    EXPO_UNKNOWN
};

/* The most classic buckets or quantiles one series has (CONFIG_MAX_BUCKETS and the
 * daemon's own histograms fit). */
#define EXPO_MAX_BUCKETS 64

/* The most labels one series has: its own, the constant ones, a writer's (le, quantile). */
#define EXPO_MAX_LABELS 64

/* A run of consecutive native buckets (Prometheus's BucketSpan). */
struct expo_span {
    int32_t offset;
    uint32_t length;
};

/*
 * A native histogram's sparse buckets as the protobuf exposition carries them (spans and
 * deltas, nativehist_spans()); the text formats do not carry them.
 */
struct expo_native {
    uint64_t count; /* what its zero bucket and buckets add up to */
    double sum;
    int schema;
    double zero_threshold;
    uint64_t zero_count;
    const struct expo_span *spans[2]; /* [0] negative, [1] positive */
    size_t nspans[2];
    const int64_t *deltas[2];
    size_t ndeltas[2];
};

struct expo_label {
    const char *name;  /* a valid label name, NUL-terminated */
    const char *value; /* raw (unescaped) bytes, valid UTF-8 */
    size_t value_len;
};

struct expo {
    struct buf *out;
    enum expo_format fmt;
    enum expo_type type; /* of the current family */
    const char *name;    /* of the current family, borrowed until the next expo_family */
    size_t name_len;
    /*
     * Labels written after the caller's on every sample (before le and a stateset's own),
     * such as resource attributes copied onto each series; borrowed, NULL when none.
     * expo_init() clears them.
     */
    const struct expo_label *const_labels;
    size_t nconst;
    enum expo_escaping esc; /* EXPO_ESCAPE_UNDERSCORES from expo_init(); set it after */
    /* The current family's name when escaped; name points here then (so a copy of a
     * struct expo must not outlive this one). */
    char esc_name[EXPO_ESCAPED_MAX(EXPO_ESCAPE_NAME_MAX)];
    /*
     * The start time (Unix seconds) of the samples written next; 0 (expo_init's) for none.
     * A writer sets it before each series, or once for a set of series that started
     * together. OpenMetrics writes it as the MetricPoint's "<name>_created" sample, with
     * the point's labels: after a counter's "_total" sample, and after a histogram's or
     * summary's "_count" (expo_sample) or whole series (expo_histogram, expo_summary).
     * Other types, and the text formats, which have no _created, ignore it. Written
     * rounded to the ms.
     */
    double created;
    /*
     * Set before expo_histogram() for a series with native buckets, NULL after (borrowed
     * for the call): written in protobuf, ignored by the text formats.
     */
    const struct expo_native *native;
    /* Protobuf: the current family's header and its series not yet written (expo_flush). */
    struct buf pbhead, pb;
    /* Remote write: the samples' timestamp, Unix ms (the interval's). */
    int64_t timestamp_ms;
    /*
     * Remote write: labels every series gets unless it has one of the same name (a
     * target's external_labels, as Prometheus adds its own); borrowed, NULL when none.
     */
    const struct expo_label *extern_labels;
    size_t nextern;
    /*
     * Remote write: whether native histograms go as the spec's Histogram messages (a
     * family with only native buckets then sends nothing else, as a scrape of it stores);
     * when 0, only their classic series are sent (_bucket{le="+Inf"}, _sum, _count when
     * the family has no classic buckets).
     */
    int rw_native;
    /* Remote write: the samples and histograms written so far (exporw counts). */
    uint64_t rw_samples, rw_histograms;
};

#endif
