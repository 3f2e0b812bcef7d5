/*
 * cfgnative: a histogram family's "native" block ($.families[i].native), Prometheus's
 * native histograms (sparse exponential buckets), with client_golang's settings and
 * defaults: "schema" (the resolution its NativeHistogramBucketFactor picks: 3 for its
 * usual 1.1, a bucket's bounds 2^(1/8) apart), "zero_threshold"
 * (NativeHistogramZeroThreshold) and "max_buckets" (NativeHistogramMaxBucketNumber; Go's
 * 0, no limit, is not allowed: a series stays bounded). A row reader of cfgfamily's table,
 * read after "type" and before "buckets": with a native block, a histogram without
 * "buckets" has no classic buckets, and with both it keeps both, as client_golang does.
 *
 * A domain module. The reader returns 0 or ERRCODE_CONFIG after writing the message.
 */
#ifndef USTATSD_CFGNATIVE_H
#define USTATSD_CFGNATIVE_H

#include <jansson.h>

#include "config/cfgread.h"

/*
 * "native": an object of "schema" (an integer, CONFIG_NATIVE_SCHEMA_MIN to _MAX, default
 * CONFIG_NATIVE_DEFAULT_SCHEMA), "zero_threshold" (a finite number >= 0, default
 * CONFIG_NATIVE_DEFAULT_ZERO_THRESHOLD) and
 * "max_buckets" (1 to CONFIG_NATIVE_MAX_BUCKETS, default CONFIG_NATIVE_DEFAULT_BUCKETS),
 * each optional ({} takes the defaults), an unknown key refused. Only histograms have it.
 */
int cfgnative_read(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                   void *base);

#endif
