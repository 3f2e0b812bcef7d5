/*
 * summary: the state of one summary series, as client_golang keeps it: a cumulative count
 * (its _count; _sum is the series' value, which the registry adds to), and the quantiles
 * over a sliding window of max_age seconds, read from age_buckets CKMS streams (ckms.h).
 *
 * The window: every observation goes into every stream; every max_age / age_buckets (a
 * period) the oldest stream, the head, is reset and becomes the newest, and the next one
 * becomes the head. Quantiles read the head, which holds the observations of the last
 * max_age - period to max_age: those at or after the head's reset, at next_ms - max_age
 * (or since the state was made). A quantile of an empty window is NaN. Rotation follows
 * the time passed in (now_ms, the registry's clock) at each observation and each read;
 * nothing here reads a clock.
 *
 * Observations wait in a batch of SUMMARY_BATCH, which merges into the streams when it is
 * full, before a rotation and at a read, so a window is exact to the millisecond. A sampled
 * observation weighs 1 / rate as in a histogram: integer weights, with the fraction carried
 * to the series' next sampled observation (one carry per series: quantiles have no
 * buckets to keep one each).
 *
 * Memory per series: the block of summary_new() (40 bytes, 48 a stream and 16 an
 * observation of the batch: 536 bytes with 5 streams), and each stream's tuples, at most
 * CKMS_MAX_TUPLES + SUMMARY_BATCH of 32 bytes (33,280 bytes). The bound with the default 5
 * streams is 166,936 bytes, 333,576 with 10; measured, a series of the default objectives
 * holds about 12 KB after 1,000 observations and 13 KB after 100,000 (docs/benchmarks.md).
 *
 * A domain module. summary_new(), summary_observe() and summary_free() allocate or free,
 * charging the caller's counter; a read merges and rotates but never allocates (each
 * stream keeps room for a batch from the observation that starts it).
 */
#ifndef USTATSD_SUMMARY_H
#define USTATSD_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/ckms.h"

#define SUMMARY_BATCH 16

_Static_assert(CONFIG_MAX_QUANTILES <= CKMS_MAX_TARGETS, "a family's quantiles fit the targets");
_Static_assert(CONFIG_MAX_AGE_BUCKETS <= 255, "a stream count fits a byte (records.h)");

/* What a summary family's series share, from its config (summary_spec_init). */
struct summary_spec {
    struct ckms_targets targets;
    size_t nq; /* the declared quantiles, ascending */
    double q[CONFIG_MAX_QUANTILES];
    double err[CONFIG_MAX_QUANTILES];
    uint32_t nstreams;  /* age_buckets; 0 without quantiles: only _sum and _count */
    uint64_t period_ms; /* max_age / age_buckets, at least 1 */
};

struct summary {
    uint64_t count;   /* observations (weights), cumulative over the series' life */
    double carry;     /* weight of sampled observations not counted yet, in [0, 1) */
    uint64_t next_ms; /* when the head is reset and the next stream becomes the head */
    uint32_t head;
    uint32_t nstreams;
    uint32_t nbatch;
    uint32_t pad;
    struct ckms streams[]; /* then struct ckms_obs batch[SUMMARY_BATCH] when nstreams > 0 */
};

void summary_spec_init(struct summary_spec *sp, const struct config_family *cf);

/* Whether two configs give the same spec: the same quantiles, max_age and age_buckets. */
int summary_same_layout(const struct config_family *a, const struct config_family *b);

/* A summary with no observation, its first period starting at now_ms. */
struct summary *summary_new(const struct summary_spec *sp, uint64_t now_ms, size_t *mem);

void summary_free(struct summary *sm, size_t *mem);

/* Heap bytes of sm, its streams' tuples included. */
size_t summary_bytes(const struct summary *sm);

/*
 * Observe v at sample rate rate in (0, 1] (weight 1 / rate, the whole part counted, the
 * fraction carried; an observation whose weight rounds to 0 counts once the carry
 * reaches 1).
 */
void summary_observe(struct summary *sm, const struct summary_spec *sp, double v, double rate,
                     uint64_t now_ms, size_t *mem);

/* Rotate to now_ms and merge the batch: what a read and a snapshot see. */
void summary_settle(struct summary *sm, const struct summary_spec *sp, uint64_t now_ms);

/*
 * The declared quantiles' values at now_ms into out[sp->nq] (NaN for an empty window), and
 * the error each one holds to into err[sp->nq] (NULL: not wanted), which is the declared
 * one unless the stream's cap widened it (ckms_error()). Returns the observations in the
 * window. sm may be NULL (no observation yet).
 */
uint64_t summary_read(struct summary *sm, const struct summary_spec *sp, uint64_t now_ms,
                      double *out, double *err);

/* Stream i counted from the head (0, the oldest) to the newest. */
struct ckms *summary_stream(struct summary *sm, uint32_t i);

/* After summary_settle(): ms since the head's period began, below period_ms. */
uint64_t summary_elapsed(const struct summary *sm, const struct summary_spec *sp, uint64_t now_ms);

/*
 * For a restored state: the head's period began elapsed_ms before now_ms (the time away
 * included), so the streams rotate as they would have, and the next rotation is dated.
 */
void summary_resume(struct summary *sm, const struct summary_spec *sp, uint64_t elapsed_ms,
                    uint64_t now_ms);

/*
 * Whether sm is a state this family's series could hold: its stream count, a carry in
 * [0, 1), no batch, every stream ckms_valid() with the spec's targets, holding at most count
 * observations, each no more than the stream before it (older streams hold more).
 */
int summary_valid(const struct summary *sm, const struct summary_spec *sp);

#endif
