/*
 * expopb: expo's protobuf writer (EXPO_PROTOBUF), called by expo.c only; expo.h is the
 * interface. Each series is a Metric packed by the C that protoc-c generates from
 * metrics.proto; the family's header (name, help, type, unit) and its series are kept in
 * e->pbhead and e->pb, and expopb_flush() writes them as one delimited MetricFamily.
 *
 * How a family maps, as client_golang's protobuf output has it:
 *   - a counter's family name ends in "_total" (as in text 0.0.4), its Counter carries
 *     e->created as created_timestamp; an info family is a gauge named "<name>_info", a
 *     stateset a gauge with the state label, an unknown family untyped;
 *   - a histogram carries its finite classic buckets (cumulative; +Inf is the count) and,
 *     with e->native, the native schema, zero bucket, spans and deltas; a summary its
 *     quantiles;
 *   - names: as given under allow-utf-8 (protobuf needs no quoting), else escaped as the
 *     text formats escape them;
 *   - e->const_labels follow the caller's labels, as in the text formats.
 */
#ifndef USTATSD_EXPOPB_H
#define USTATSD_EXPOPB_H

#include <stddef.h>
#include <stdint.h>

#include "base/expotypes.h"

/* name[0..len) without the suffix the type adds ("_total", "_info"). */
void expopb_family(struct expo *e, const char *name, size_t len, enum expo_type type,
                   const char *help, const char *unit);
/*
 * One sample of the current family (expo_sample(), expo_state() with its extra label
 * xname="xval"). "_sum", "_count" and "_bucket" samples are not series of their own in
 * protobuf: a histogram or summary is written whole (expopb_histogram, expopb_summary).
 */
void expopb_sample(struct expo *e, const char *suffix, const struct expo_label *labels, size_t n,
                   const char *xname, size_t xname_len, const char *xval, size_t xlen,
                   double value);
void expopb_histogram(struct expo *e, const struct expo_label *labels, size_t n, const double *les,
                      size_t nb, const uint64_t *counts, double sum, uint64_t count);
void expopb_summary(struct expo *e, const struct expo_label *labels, size_t n, const double *qs,
                    size_t nq, const double *values, double sum, uint64_t count);
void expopb_flush(struct expo *e);

#endif
