/*
 * nativehist: one Prometheus native histogram (sparse exponential buckets), counted as
 * client_golang's prometheus.Histogram counts it with NativeHistogramBucketFactor set
 * (prometheus/histogram.go, v1.24.1-32-g89c60c05: histogramCounts.observe, addToBucket,
 * limitBuckets, doubleBucketWidth, getLe, makeBuckets), so that a histogram moved from a Go
 * service to statsd lines keeps its buckets, bucket for bucket.
 *
 * Buckets. At schema s (-4..8) bucket k holds (2^((k-1) 2^-s), 2^(k 2^-s)]: upper bounds
 * are inclusive, bucket 0 ends at 1, and each power of two is cut into 2^s buckets (s > 0)
 * or 2^-s powers of two make one bucket (s <= 0). The key comes from frexp(|v|) as in Go:
 * for s > 0 a search of the fraction in client_golang's table of bounds (its literals,
 * not recomputed: a value near a boundary lands where Go puts it), for s <= 0 the binary
 * exponent, rounded up to a multiple of 2^-s. +-Inf counts in the bucket above that of
 * +-DBL_MAX (key + 1), as in Go. A value with |v| <= the zero threshold counts in the zero
 * bucket; positive values in the positive buckets, negative ones by |v| in the negative
 * buckets. NaN, as in Go, adds to the count and the sum and to no bucket, so count ==
 * zero_count + the bucket counts holds only while no NaN was observed.
 *
 * Resolution. Each observation that leaves more populated buckets (both sides) than the
 * limit halves the resolution once, as limitBuckets does with neither
 * NativeHistogramMinResetDuration nor NativeHistogramMaxZeroThreshold set (our case: the
 * zero bucket never widens, the histogram never resets itself): the schema drops by one
 * and bucket k merges into ceil(k / 2) (Go: "if key > 0 { key++ }; key /= 2"), never below
 * schema -4. One observation halves at most once, so a bucket count can stay above the
 * limit (Go's "best effort"): n observations of one value are n observations, and halve up
 * to n times. The limit is cfg.max_buckets; 0 means none in Go, here NATIVEHIST_HARD_MAX.
 *
 * Bounded: a histogram never holds more than NATIVEHIST_HARD_MAX buckets. Where Go's one
 * halving an observation would leave more (max_buckets 0, or within a few of the cap), the
 * halving goes on until it does not: the only departure from Go's counts, and only past
 * 4096 buckets. It always ends: schema -4 has 133 possible keys a side.
 *
 * Memory. The buckets of both sides lie in one block: cap counts (uint64) then cap keys
 * (int32), the negative side's in [0, nneg), the positive side's in [nneg, nneg + npos),
 * each side ascending by key. 12 bytes a populated bucket and a 48-byte header, nothing for
 * an empty histogram. A dense window of counts from the lowest key to the highest would
 * save the keys but cost a slot for every empty key between: the limit Go sets counts
 * populated buckets, and one outlier (1e-300 beside 1e3) would stretch a window to
 * thousands of slots. The block grows by doubling up to NATIVEHIST_HARD_MAX + 1 (one
 * insertion before a halving); allocation aborts when memory runs out (base/mem.h).
 * nativehist_free() gives it back.
 *
 * What Go does not: the sum of n observations of v adds v * n once (Go adds v n times,
 * rounding each); no exemplars, no classic buckets (store/histogram does those).
 *
 * A domain module; no state of its own.
 */
#ifndef USTATSD_NATIVEHIST_H
#define USTATSD_NATIVEHIST_H

#include <stddef.h>
#include <stdint.h>

#include "base/expotypes.h"

#define NATIVEHIST_SCHEMA_MIN      (-4)
#define NATIVEHIST_SCHEMA_MAX      8
#define NATIVEHIST_DEFAULT_SCHEMA  3        /* Go's pickSchema(1.1): a factor of 2^(1/8) */
#define NATIVEHIST_DEFAULT_ZERO    0x1p-128 /* DefNativeHistogramZeroThreshold */
#define NATIVEHIST_DEFAULT_BUCKETS 160
#define NATIVEHIST_HARD_MAX        4096 /* buckets a histogram holds, both sides */
#define NATIVEHIST_ENCODED_HEADER  40   /* bytes of nativehist_encode() before the buckets */
#define NATIVEHIST_ENCODED_BUCKET  12   /* bytes a bucket */
#define NATIVEHIST_ENCODED_MAX \
    (NATIVEHIST_ENCODED_HEADER + NATIVEHIST_ENCODED_BUCKET * NATIVEHIST_HARD_MAX)

/* A family's native histogram settings (checked by nativehist_cfg_check()). */
struct nativehist_cfg {
    int8_t schema;         /* the initial (highest) schema, -4..8 */
    double zero_threshold; /* |v| <= this counts in the zero bucket; >= 0, finite */
    uint32_t max_buckets;  /* populated buckets, both sides; 0: NATIVEHIST_HARD_MAX */
};

/* One histogram. Members are the module's: read them through the getters. */
struct nativehist {
    uint64_t count;
    double sum;
    uint64_t zero_count;
    double zero_threshold;
    uint64_t *b; /* cap counts, then cap int32 keys; NULL when cap is 0 */
    uint16_t nneg, npos, cap;
    int8_t schema; /* the current schema: cfg.schema, lower once halved */
};

enum nativehist_side {
    NATIVEHIST_NEGATIVE = 0,
    NATIVEHIST_POSITIVE = 1,
};

/*
 * A run of consecutive buckets, as Prometheus's BucketSpan: struct expo_span (offset: keys
 * from the end of the previous span, the first from key 0; length), which the exposition
 * writers take as nativehist_spans() fills it.
 */

/* Schema 3, zero threshold 2^-128, 160 buckets. */
struct nativehist_cfg nativehist_cfg_default(void);

/*
 * 0 when cfg can be used; ERRCODE_CONFIG with *why (static text) naming the fault: a
 * schema outside -4..8, a zero threshold negative, NaN or infinite, max_buckets above
 * NATIVEHIST_HARD_MAX.
 */
int nativehist_cfg_check(const struct nativehist_cfg *cfg, const char **why);

/* An empty histogram at cfg's schema and zero threshold; allocates nothing. */
void nativehist_init(struct nativehist *h, const struct nativehist_cfg *cfg);

/* Give back h's buckets; h then holds nothing (its schema and threshold stay): twice is safe. */
void nativehist_free(struct nativehist *h);

/* Back to nativehist_init(h, cfg), the buckets given back (Go's resetCounts). */
void nativehist_reset(struct nativehist *h, const struct nativehist_cfg *cfg);

/*
 * Count n observations of v (n > 1 for a sampled line: the caller keeps the fraction), cfg
 * the one h was initialised with (its max_buckets is read). Returns how many times the
 * resolution was halved (0 mostly); n == 0 changes nothing.
 */
int nativehist_observe(struct nativehist *h, const struct nativehist_cfg *cfg, double v,
                       uint64_t n);

uint64_t nativehist_count(const struct nativehist *h);
double nativehist_sum(const struct nativehist *h);
uint64_t nativehist_zero_count(const struct nativehist *h);
double nativehist_zero_threshold(const struct nativehist *h);
int nativehist_schema(const struct nativehist *h);
/* Populated buckets of one side. */
size_t nativehist_buckets(const struct nativehist *h, enum nativehist_side side);
/* Heap bytes h holds (its header excluded), for a memory report. */
size_t nativehist_bytes(const struct nativehist *h);

/*
 * The i-th populated bucket of a side, ascending (i < nativehist_buckets()): its key and
 * count.
 */
void nativehist_bucket(const struct nativehist *h, enum nativehist_side side, size_t i,
                       int32_t *key, uint64_t *count);

/*
 * The upper bound of bucket key at schema (Go's getLe): 2^(key 2^-schema), from Go's table
 * for schema > 0; DBL_MAX for the last finite bucket, +Inf for the one above. The lower
 * bound is that of key - 1.
 */
double nativehist_upper_bound(int schema, int32_t key);

/*
 * One side as Prometheus encodes it (Go's makeBuckets): spans of consecutive keys, a gap
 * of one or two empty buckets filled with zero counts inside a span, a gap of three or
 * more opening a new span (offset: the gap); deltas, one a bucket of the spans (filled
 * ones included), each the count minus the previous bucket's, the first absolute.
 * *nspans and *ndeltas get the numbers needed (at most n and 3n - 2 for n buckets); when
 * they exceed max_spans or max_deltas, nothing is written and ERRCODE_LIMIT is returned.
 * No bucket: 0 spans (see nativehist_needs_noop_span()).
 */
int nativehist_spans(const struct nativehist *h, enum nativehist_side side, struct expo_span *spans,
                     size_t max_spans, int64_t *deltas, size_t max_deltas, size_t *nspans,
                     size_t *ndeltas);

/*
 * 1 when an encoder must add the positive span {0, 0} that Go's Write adds to a histogram
 * with a zero threshold of 0, nothing in the zero bucket and no bucket (else scrapers
 * would read it as a classic histogram); 0 otherwise.
 */
int nativehist_needs_noop_span(const struct nativehist *h);

/* Bytes nativehist_encode() writes for h (at most NATIVEHIST_ENCODED_MAX). */
size_t nativehist_encoded_size(const struct nativehist *h);

/*
 * h for a snapshot, little-endian: version 1 (u8), schema (i8), nneg (u16), npos (u16),
 * 0 (u16), zero threshold (f64), count (u64), sum (f64), zero count (u64), then each
 * bucket, negative side first, as key (i32) and count (u64). Returns the bytes written, or
 * ERRCODE_LIMIT (nothing written) when cap is smaller than nativehist_encoded_size(h).
 */
int nativehist_encode(const struct nativehist *h, void *buf, size_t cap);

/*
 * Restore into h (initialised, for cfg) the snapshot buf[0..len), which must be exactly
 * one encoding. ERRCODE_FORMAT for a corrupt one, h unchanged: short or long, another
 * version, a schema outside -4..8, a zero threshold negative or not finite, more than
 * NATIVEHIST_HARD_MAX buckets, keys not strictly ascending in a side or outside what the
 * schema can produce (those of 2^-1074 up to the +-Inf bucket; above the zero threshold),
 * a bucket of count 0, bucket counts above the count. ERRCODE_CONFIG, h unchanged, for a
 * snapshot of another zero threshold than cfg's. A snapshot of a higher schema than cfg's
 * is halved to it, and one of more buckets than cfg's limit halved until within it (or at
 * schema -4), as observations would; a lower schema is kept, as a halved histogram keeps
 * it. Returns 0.
 */
int nativehist_decode(struct nativehist *h, const struct nativehist_cfg *cfg, const void *buf,
                      size_t len);

#endif
