/*
 * ckms: one stream of targeted quantiles, after Cormode, Korn, Muthukrishnan and
 * Srivastava, "Effective Computation of Biased Quantiles over Data Streams" (ICDE 2005),
 * the estimator client_golang's summaries use (through beorn7/perks). Chosen for that
 * reason: a summary's declared error is client_golang's Objectives, an absolute error on
 * the rank (the value reported for q is the q'-quantile for some q' in [q - e, q + e]), so
 * a user moving from client_golang or statsd_exporter keeps the meaning of the numbers in
 * the configuration. A relative-error sketch (DDSketch) bounds the value instead, which is
 * another promise.
 *
 * The stream holds tuples (v, g, delta, run), ascending by v. g counts the observations
 * the tuple stands for: those after the previous tuple's, up to its own. For r, the sum of
 * the g of the tuples before it, the true rank of the tuple's last observation lies in
 * [r + g, r + g + delta]. run (1 <= run <= g) counts the observations at the top of g known
 * to equal v: a weighted observation (a sampled line, weighing 1 / rate) is one tuple whose
 * run is its weight, and an observation equal to a tuple's value joins its run.
 *
 * The invariant, for every tuple: g + delta - run + 1 <= max(1, f(r, n)), n the
 * observations in the stream (1: a tuple whose run starts at a known rank), with the
 * paper's targeted function
 *
 *     f(r, n) = min over targets (q, e) of  2 e' r / q              if r >= q n
 *                                           2 e' (n - r) / (1 - q)  otherwise
 *
 * Insertions keep the invariant: f(r, n) never decreases as observations arrive below
 * (r and n grow together) or above (n grows) a tuple. The first tuple (the minimum, a
 * pure run) is never merged away.
 *
 * The guarantee: ckms_query(q, e) for a target returns the value of an observation whose
 * rank (1-based, among equal values any of theirs) lies in [(q - e) n, (q + e) n], each end
 * rounded outwards to a rank when it holds none (the window is narrower than one rank in a
 * stream of fewer than about 1 / (2 e) observations). Why: let tuple i be the first whose
 * run may start above (q + e) n (r + g + delta - run + 1 > (q + e) n; not the first tuple,
 * whose run starts at rank 1). Tuple i - 1 ends at rank r_i or above, and starts no later
 * than (q + e) n; were r_i below (q - e) n, the invariant would bound r_i + g + delta - run
 * + 1 by r_i + f(r_i, n) <= (q + e) n, a contradiction. So one tuple lies within the window,
 * and the query, which takes the tuple nearest rank q n in the worst case, is no farther.
 *
 * Three changes to the paper make that bound hold as stated, and are tested:
 *   - each target uses e' = e (1 - q) / (1 - q + e) in f, with which f(r, n) <= (q + e) n - r
 *     below (q - e) n. With the paper's e' = e, f exceeds 2 e n there, and its error reaches
 *     e + 2 e^2 / (1 - q - 2 e) (0.0125 for {0.9: 0.01}: test_ckms finds a descending input
 *     that strays past 0.01). A target whose window reaches a stream's end (q <= e or
 *     q + e >= 1) constrains nothing and is left out;
 *   - an inserted tuple takes delta = g + delta - run of the tuple after it, the least that
 *     is true (the paper's floor(f) - 1 blocks merges; perks also gives a new minimum a
 *     delta, as if its rank were unknown);
 *   - the query takes the tuple nearest q n, not the last below q n + f(q n, n) / 2, whose
 *     answers lean upwards by up to e: where the stream kept every observation near q n
 *     (f below 2 there: merging needs 2), it answers exactly (ties go to the higher rank,
 *     ceil(q n)).
 *
 * Memory: a stream holds at most CKMS_MAX_TUPLES tuples. The targeted invariant has no
 * proven bound on the tuples it needs (about 50 at the default objectives over 10^6
 * random, sorted or heavy-tailed values, but a distribution that drifts, whose new values
 * land among old ones, needs thousands). When
 * a merge leaves more than the cap, the stream compresses at the least multiple of f
 * (found by search, within 1/64) that leaves three quarters of the cap: memory stays
 * bounded, and the stream's answers hold for the error ckms_error() widens by that
 * factor, ckms.slack, which the stream keeps (compressing at it from then on) until it is
 * reset.
 *
 * A domain module. Only ckms_reserve() and ckms_release() allocate or free, charging the
 * caller's counter (counted.h); merging, querying and resetting never do.
 */
#ifndef USTATSD_CKMS_H
#define USTATSD_CKMS_H

#include <stddef.h>
#include <stdint.h>

#define CKMS_MAX_TARGETS 16           /* = CONFIG_MAX_QUANTILES */
#define CKMS_MAX_TUPLES  1024         /* per stream, the hard cap */
#define CKMS_MAX_SLACK   2147483648.0 /* 2^31 */

/* The targets of f(r, n), prepared by ckms_targets_init(). */
struct ckms_targets {
    size_t n;
    struct {
        double q;
        double below; /* 2 e' / (1 - q): f = below (n - r) for r < q n */
        double above; /* 2 e' / q: f = above r for r >= q n */
    } t[CKMS_MAX_TARGETS];
};

struct ckms_tuple {
    double v;
    uint64_t g;
    uint64_t delta;
    uint64_t run;
};

/* One observation of a batch: a value and its weight (>= 1). */
struct ckms_obs {
    double v;
    uint64_t w;
};

struct ckms {
    struct ckms_tuple *t; /* len in use, cap allocated */
    uint32_t len;
    uint32_t cap;
    double slack;    /* 1; s when the cap made the stream compress at s times f */
    uint64_t n;      /* observations (weights) in the stream */
    double min, max; /* exact, of those observations; undefined when n is 0 */
};

/*
 * The targets of quantiles q[i] with allowed rank errors e[i] (0 < e < 0.5, q in [0, 1];
 * at most CKMS_MAX_TARGETS). Targets that constrain nothing are left out; with none, f is
 * infinite and a stream keeps about its minimum and maximum.
 */
void ckms_targets_init(struct ckms_targets *tg, const double *q, const double *e, size_t n);

/* f(r, n) of the targets: INFINITY with none. */
double ckms_allowance(const struct ckms_targets *tg, double r, double n);

/*
 * The error of target (q, e) in a stream of slack s: the e_s for which s times q's term
 * of f is the term of e_s (e itself when s is 1 or the target constrains nothing; 1, any
 * rank, when none fits).
 */
double ckms_error(double q, double e, double slack);

/* An empty stream with nothing allocated. */
void ckms_init(struct ckms *s);

/*
 * Room for a merge of up to m observations (m <= what one batch holds): grows the tuples
 * to len + m, or shrinks them when they hold more than twice what that needs.
 */
void ckms_reserve(struct ckms *s, size_t m, size_t *mem);

/* Free the tuples. The stream is empty after. */
void ckms_release(struct ckms *s, size_t *mem);

/* Bytes the stream holds on the heap. */
size_t ckms_bytes(const struct ckms *s);

/* Forget every observation, keeping the allocation. */
void ckms_reset(struct ckms *s);

/*
 * Merge the batch b[0..m), ascending and of distinct values, each weighing w >= 1; the
 * room must have been reserved (ckms_reserve(s, m)). Then compress.
 */
void ckms_merge(struct ckms *s, const struct ckms_targets *tg, const struct ckms_obs *b, size_t m);

/*
 * The value at quantile q with allowed rank error e (ckms_error() of it when the stream
 * has a slack), as above; NaN for an empty stream. (q, e) must be one of the targets' or
 * one that constrains nothing; q 0 and 1 with e 0 are min and max.
 */
double ckms_query(const struct ckms *s, double q, double e);

/*
 * Whether the stream is one ckms_merge() could have left under tg: len <= cap and <=
 * CKMS_MAX_TUPLES, values finite and strictly ascending, 1 <= run <= g, the first tuple a
 * pure run, the g summing to n without overflow, every r + g + delta <= n, min and max the
 * first and last values, slack from 1 to CKMS_MAX_SLACK, and the invariant at slack
 * times f. For a stream read from a file, before it is trusted.
 */
int ckms_valid(const struct ckms *s, const struct ckms_targets *tg);

#endif
