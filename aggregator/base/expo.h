/*
 * expo: the exposition formats' primitives, Prometheus text 0.0.4 and OpenMetrics 1.0.0.
 *
 * A domain module. Writers append to a caller-owned struct buf; nothing here allocates
 * except through that buffer. The family and sample calls know each format's naming
 * rules, so that callers pass the same arguments for both:
 *   - counters are named without "_total": OpenMetrics writes "# TYPE x counter" and
 *     samples "x_total"; text 0.0.4 writes "# TYPE x_total counter" and samples "x_total";
 *   - a stateset is a gauge in text 0.0.4, an info family is a gauge named "x_info";
 *   - "# UNIT" is written in OpenMetrics only, and only when the name ends in "_<unit>";
 *   - escaping: label values escape \ " and newline; HELP escapes \ and newline (and "
 *     in OpenMetrics);
 *   - expo_eof() writes "# EOF" in OpenMetrics and nothing in text;
 *   - names: a family name that is not a valid legacy name ([a-zA-Z_:][a-zA-Z0-9_:]*) is
 *     escaped by the scheme in e->esc (expo_escape_name()); a legacy-valid one is written
 *     as given under every scheme, as prometheus/common model.EscapeMetricFamily does
 *     (dots escaping included: only EscapeName itself doubles the '_' of a legacy name).
 *     Label names must be valid legacy label names, which no scheme changes.
 */
#ifndef USTATSD_EXPO_H
#define USTATSD_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/exponame.h"
#include "base/expotypes.h"

/*
 * Copy n labels into out, their names and values into one allocation, which is returned
 * (free it after the last use of out; never NULL). For labels that must outlive the config
 * they came from.
 */
char *expo_labels_dup(const struct expo_label *in, size_t n, struct expo_label *out);

/* Start writing fmt to out, with the default escaping scheme (underscores). */
void expo_init(struct expo *e, struct buf *out, enum expo_format fmt);
/*
 * Protobuf: write the current family's series kept so far as one message, give back what
 * was kept, and end the family (a series after it needs an expo_family() again). Nothing
 * in the text formats. expo_eof() flushes too.
 */
void expo_flush(struct expo *e);

/*
 * Start a family: writes # HELP, # TYPE and (OpenMetrics) # UNIT. name is borrowed until
 * the next expo_family(); one that is not legacy-valid is escaped by e->esc first (by
 * underscores under allow-utf-8: these writers have no quoted-name syntax), and the
 * suffixes that the samples add ("_total", "_bucket", ...) follow the escaped name. A counter's
 * name given with "_total" (an info's with "_info") has that suffix dropped, since the format adds
 * it. help and unit may be NULL or "", which omits the line (OpenMetrics treats an empty HELP or
 * UNIT as absent). OpenMetrics order is TYPE, UNIT, HELP (the spec's SHOULD); text writes HELP then
 * TYPE.
 */
void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help,
                 const char *unit);

/*
 * One sample of the current family. suffix is appended to the family name: "" for a
 * gauge, "_total" for a counter, "_bucket", "_sum", "_count" for a histogram, "_info"
 * for an info family. Labels are written in the order given.
 */
void expo_sample(struct expo *e, const char *suffix, const struct expo_label *labels, size_t n,
                 double value);

/* expo_sample() with the one label key="value" (value NUL-terminated). */
void expo_sample1(struct expo *e, const char *suffix, const char *key, const char *value, double v);

/*
 * A family of one unlabelled sample: expo_family() then expo_sample() with the suffix
 * the type takes ("_total" for a counter, "" for a gauge). For counters and gauges only.
 */
void expo_scalar(struct expo *e, const char *name, enum expo_type type, const char *help,
                 const char *unit, double value);

/* A histogram bucket: the labels given, then le="<bound>" (+Inf for INFINITY). */
void expo_bucket(struct expo *e, const struct expo_label *labels, size_t n, double le,
                 double count);

/*
 * One state of a stateset: the labels given, then <family>="<state>" (OpenMetrics 1.0
 * names the state label after the family, so the family name must also be a valid label
 * name: no ':'), value 1 when enabled, else 0. state is raw bytes, escaped here.
 */
void expo_state(struct expo *e, const struct expo_label *labels, size_t n, const char *state,
                size_t state_len, int enabled);

/*
 * Format a histogram bound as Go's strconv.FormatFloat(le, 'g', -1, 64) does (client_golang,
 * OpenMetrics canonical numbers): "0.005", "1", "100000", "1e+06", "+Inf". expo_bucket()
 * appends ".0" in OpenMetrics when there is no '.' or exponent. Same contract as
 * expo_format_double().
 */
size_t expo_format_le(char out[32], double le);

/*
 * A bucket bound as this format writes it in le="...": expo_format_le(), plus ".0" on
 * an integer in OpenMetrics. Writes a NUL-terminated string to out[32]; returns its
 * length (< 32).
 */
size_t expo_bucket_bound(enum expo_format fmt, char out[32], double le);

/*
 * A whole histogram series in one call: the nb finite buckets, whose bounds were
 * formatted once per family with expo_bucket_bound() (bounds[i], bound_lens[i]), then
 * +Inf, _sum and _count. counts[0..nb] are per-bucket (not cumulative) counts, the last
 * for +Inf; the exposition's buckets are cumulative. The labels are escaped once for all
 * the series' lines, which is most of the cost of a large histogram scrape.
 */
void expo_histogram(struct expo *e, const struct expo_label *labels, size_t n, const double *les,
                    const char (*bounds)[32], const unsigned char *bound_lens, size_t nb,
                    const uint64_t *counts, double sum, uint64_t count);

/*
 * A whole summary series in one call, as client_golang writes one: a sample per quantile,
 * the labels given then quantile="<quantiles[i]>" (formatted once per family with
 * expo_bucket_bound(), as client_golang formats them: "0.5", and "1" or "1.0"), with
 * values[i] (NaN for an empty window), then _sum and _count. The labels are escaped once.
 */
void expo_summary(struct expo *e, const struct expo_label *labels, size_t n, const double *qs,
                  const char (*quantiles)[32], const unsigned char *quantile_lens, size_t nq,
                  const double *values, double sum, uint64_t count);

/* Terminate the exposition: "# EOF\n" in OpenMetrics, nothing in text. */
void expo_eof(struct expo *e);

/*
 * Format a sample value so that it parses back to the same double: integers exactly
 * ("42"), others with up to 17 significant digits, and "+Inf", "-Inf", "NaN". Writes a
 * NUL-terminated string of at most 31 bytes to out[32]; returns its length.
 * The digits are the fewest (15, 16 or 17) that strtod() maps back to the same bits;
 * integers up to 2^53 are written in full ("9007199254740992"), and magnitudes from 1e16
 * or below 1e-4 in exponent form ("1e+20", "1.5e-07"); -0.0 is "-0". The spellings of
 * +Inf, -Inf and NaN are the same in both formats. Assumes the "C" locale (LC_NUMERIC).
 */
size_t expo_format_double(char out[32], double v);

/* Append a label value or HELP text escaped for the format. */
void expo_escape_label(struct buf *out, const char *s, size_t len);
void expo_escape_help(struct buf *out, enum expo_format fmt, const char *s, size_t len);

#endif
