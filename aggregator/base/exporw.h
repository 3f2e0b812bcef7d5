/*
 * exporw: expo's remote write writer (EXPO_REMOTE_WRITE), called by expo.c only; expo.h is
 * the interface. Each sample is one prometheus.TimeSeries, packed by the C that protoc-c
 * generates from prompb/types.proto as a WriteRequest holding only it, which is that
 * series' record of WriteRequest's repeated "timeseries" field: the records one after
 * the other are the WriteRequest, to be compressed with snappy by the sender.
 *
 * expo_family() names the family as for the text formats (expo.c); what a sample becomes is what Prometheus stores when it scrapes the text exposition:
 *   - "__name__" is the sample's name (a counter's with "_total", a histogram's
 *     "_bucket", "_sum" and "_count", a summary's "_sum" and "_count"), escaped as the
 *     text formats escape it; the labels follow, e->const_labels included, all sorted by
 *     name as remote write 1.0 requires;
 *   - a histogram's buckets are cumulative with le="<bound>" (text's spelling, "+Inf" the
 *     last), a summary's quantiles quantile="<q>"; a state set's states are gauges;
 *   - with e->native and e->rw_native, the histogram's native buckets are one more series,
 *     named as the family, holding a Histogram (count, sum, schema, zero bucket, spans,
 *     deltas), and the only one when the family has no classic buckets; without
 *     e->rw_native only the classic series go;
 *   - e->extern_labels are added where the series has no label of the name;
 *   - every sample and histogram carries e->timestamp_ms; created times are not sent.
 */
#ifndef USTATSD_EXPORW_H
#define USTATSD_EXPORW_H

#include <stddef.h>
#include <stdint.h>

#include "base/expotypes.h"

/* One sample: the family's name then suffix, the labels, then xname="xval" if any. */
void exporw_sample(struct expo *e, const char *suffix, const struct expo_label *labels, size_t n,
                   const char *xname, size_t xname_len, const char *xval, size_t xlen,
                   double value);
void exporw_histogram(struct expo *e, const struct expo_label *labels, size_t n,
                      const char (*bounds)[32], const unsigned char *bound_lens, size_t nb,
                      const uint64_t *counts, double sum, uint64_t count);
void exporw_summary(struct expo *e, const struct expo_label *labels, size_t n,
                    const char (*quantiles)[32], const unsigned char *quantile_lens, size_t nq,
                    const double *values, double sum, uint64_t count);

#endif
