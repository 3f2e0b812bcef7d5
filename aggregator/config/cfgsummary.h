/*
 * cfgsummary: the keys of a summary family ($.families[i] with "type": "summary"), as
 * client_golang's SummaryOpts names them: "quantiles" (Objectives), "max_age" (MaxAge) and
 * "age_buckets" (AgeBuckets). Each is a row reader of cfgfamily's table, read after
 * "type": on another type the key is refused, and on a summary its absence gives the
 * default.
 *
 * A domain module. Each reader returns 0 or ERRCODE_CONFIG after writing the message.
 */
#ifndef USTATSD_CFGSUMMARY_H
#define USTATSD_CFGSUMMARY_H

#include <jansson.h>

#include "config/cfgread.h"

/*
 * "quantiles": an object from each quantile, written as a string ("0.99"), to its allowed
 * absolute rank error: {"0.5": 0.05, "0.9": 0.01, "0.99": 0.001}. Quantiles in [0, 1],
 * distinct as numbers, at most CONFIG_MAX_QUANTILES; errors in [0, 0.5), 0 only for the
 * quantiles 0 and 1 (the exact minimum and maximum). Stored ascending. Absent: statsd_exporter's
 * default, the three above; {}: none (the summary exposes _sum and _count only).
 */
int cfgsummary_read_quantiles(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                              json_t *v, void *base);

/*
 * "max_age": seconds, from CONFIG_MIN_MAX_AGE to CONFIG_MAX_MAX_AGE, CONFIG_DEFAULT_MAX_AGE
 * when absent. "age_buckets": 1 to CONFIG_MAX_AGE_BUCKETS, CONFIG_DEFAULT_AGE_BUCKETS when
 * absent.
 */
int cfgsummary_read_max_age(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base);
int cfgsummary_read_age_buckets(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                                json_t *v, void *base);

#endif
