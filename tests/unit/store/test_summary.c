/*
 * A summary series' windows (summary.h) on a fake clock: quantiles against the exact
 * quantiles of the observations the window holds (those at or after the head's reset,
 * worked out here from client_golang's rotation rule, not read from the module), NaN for an
 * empty window, the cumulative count, sampled weights, the resumption of a restored state
 * and the refusal of a damaged one.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/ckms.h"
#include "store/summary.h"

#define MAX_AGE_MS 60000
#define BUCKETS    3
#define PERIOD_MS  (MAX_AGE_MS / BUCKETS)

static const struct config_quantile quantiles[] = {
    { 0, 0 }, { 0.5, 0.05 }, { 0.9, 0.01 }, { 0.99, 0.001 }, { 1, 0 },
};
#define NQ (sizeof quantiles / sizeof quantiles[0])

static struct summary_spec spec;
static size_t mem;

static void spec_of(const struct config_quantile *q, size_t n)
{
    struct config_family cf;

    memset(&cf, 0, sizeof cf);
    cf.type = FAMILY_SUMMARY;
    cf.quantiles = (struct config_quantile *)q;
    cf.nquantiles = n;
    cf.max_age = MAX_AGE_MS / 1000.0;
    cf.age_buckets = BUCKETS;
    summary_spec_init(&spec, &cf);
    mem = 0;
}

static uint64_t rng = 42;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

struct obs {
    uint64_t t;
    double v;
};

/*
 * The window at now of a state made at t0, by client_golang's rule: the head rotates at
 * t0 + k period, and holds what came at or after the reset of the stream that is the head
 * now, max_age before its next rotation (t0 at the latest).
 */
static uint64_t window_start(uint64_t t0, uint64_t now)
{
    uint64_t next = t0 + PERIOD_MS * ((now - t0) / PERIOD_MS + 1);

    return next - MAX_AGE_MS > t0 && next > MAX_AGE_MS ? next - MAX_AGE_MS : t0;
}

/* Whether v's ranks in sorted[0..n) meet [q - e, q + e] n (rounded outwards when empty). */
static int rank_within(const double *sorted, size_t n, double v, double q, double e)
{
    double top = floor((q + e) * (double)n), bottom = ceil((q - e) * (double)n);

    if (bottom > top) {
        top = ceil((q + e) * (double)n);
        bottom = floor((q - e) * (double)n);
    }
    for (size_t i = 0; i < n; i++)
        if (sorted[i] == v && (double)(i + 1) >= bottom && (double)(i + 1) <= top)
            return 1;
    return 0;
}

/* Read at now and check each quantile against the exact ones of the window's observations. */
static void check_window(struct summary *sm, const struct obs *log, size_t nlog, uint64_t t0,
                         uint64_t now)
{
    double got[NQ], err[NQ], *win = malloc((nlog + 1) * sizeof *win);
    uint64_t start = window_start(t0, now), n;
    size_t m = 0;

    cr_assert_not_null(win);
    for (size_t i = 0; i < nlog; i++)
        if (log[i].t >= start)
            win[m++] = log[i].v;
    qsort(win, m, sizeof *win, by_double);
    n = summary_read(sm, &spec, now, got, err);
    cr_assert_eq(n, m, "at %llu ms the window holds %llu, want %zu (from %llu)",
                 (unsigned long long)now, (unsigned long long)n, m, (unsigned long long)start);
    for (size_t i = 0; i < NQ; i++) {
        if (m == 0) {
            cr_assert(isnan(got[i]), "an empty window's quantile is NaN");
            continue;
        }
        cr_assert_eq(err[i], quantiles[i].err, "no stream reached its cap");
        if (quantiles[i].err == 0) /* the minimum or maximum: below */
            continue;
        cr_assert(rank_within(win, m, got[i], quantiles[i].q, quantiles[i].err),
                  "at %llu ms, q %g of %zu observations: %g", (unsigned long long)now,
                  quantiles[i].q, m, got[i]);
    }
    if (m > 0) {
        cr_assert_eq(got[0], win[0], "q 0 with error 0: the window's exact minimum");
        cr_assert_eq(got[NQ - 1], win[m - 1], "q 1 with error 0: the exact maximum");
    }
    free(win);
}

Test(summary, quantiles_follow_the_window_as_it_rotates)
{
    enum { N = 200000 };
    struct obs *log = malloc(N * sizeof *log);
    struct summary *sm;
    uint64_t t0 = 5000, now = t0;
    size_t nlog = 0;

    cr_assert_not_null(log);
    spec_of(quantiles, NQ);
    sm = summary_new(&spec, t0, &mem);
    /* 5 minutes: a level that rises, so that what left the window shows in its quantiles. */
    for (size_t i = 0; i < N; i++) {
        double v = (double)(now - t0) / 1000.0 + uniform() * 10;

        summary_observe(sm, &spec, v, 1, now, &mem);
        log[nlog++] = (struct obs){ now, v };
        now += 1 + (uint64_t)(uniform() * 2);
        if (i % 9973 == 0)
            check_window(sm, log, nlog, t0, now);
    }
    cr_assert_geq(now - t0, 5 * MAX_AGE_MS);
    check_window(sm, log, nlog, t0, now);
    /* Reads alone rotate too: one period later, then past max_age. */
    check_window(sm, log, nlog, t0, now + PERIOD_MS);
    check_window(sm, log, nlog, t0, now + 2 * PERIOD_MS + 1);
    check_window(sm, log, nlog, t0, now + MAX_AGE_MS + PERIOD_MS);
    cr_assert_eq(sm->count, N, "_count is cumulative, not windowed");
    summary_free(sm, &mem);
    cr_assert_eq(mem, 0);
    free(log);
}

Test(summary, an_empty_window_is_nan_and_the_count_stays)
{
    struct summary *sm;
    double got[NQ];

    spec_of(quantiles, NQ);
    sm = summary_new(&spec, 0, &mem);
    cr_assert_eq(summary_read(sm, &spec, 0, got, NULL), 0);
    cr_assert(isnan(got[1]));
    summary_observe(sm, &spec, 0.25, 1, 10, &mem);
    cr_assert_eq(summary_read(sm, &spec, 10, got, NULL), 1);
    for (size_t i = 0; i < NQ; i++)
        cr_assert_eq(got[i], 0.25);
    /* Still there after max_age - period, gone by max_age past the first rotation. */
    cr_assert_eq(summary_read(sm, &spec, PERIOD_MS * (BUCKETS - 1) + 10, got, NULL), 1);
    cr_assert_eq(summary_read(sm, &spec, MAX_AGE_MS, got, NULL), 0);
    for (size_t i = 0; i < NQ; i++)
        cr_assert(isnan(got[i]));
    cr_assert_eq(sm->count, 1);
    cr_assert_eq(summary_read(NULL, &spec, 0, got, NULL), 0, "no state yet: NaN too");
    cr_assert(isnan(got[0]));
    summary_free(sm, &mem);
}

Test(summary, reads_allocate_nothing_and_agree)
{
    struct summary *sm;
    double a[NQ], b[NQ];
    size_t before;

    spec_of(quantiles, NQ);
    sm = summary_new(&spec, 0, &mem);
    for (int i = 0; i < 1000; i++)
        summary_observe(sm, &spec, i % 17, 1, 100, &mem);
    summary_observe(sm, &spec, 3, 1, 100, &mem); /* a batch in progress */
    before = mem;
    cr_assert_eq(summary_read(sm, &spec, 200, a, NULL), 1001);
    cr_assert_eq(summary_read(sm, &spec, 200, b, NULL), 1001);
    cr_assert_eq(mem, before, "a read merges into room reserved at observation");
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_eq(summary_bytes(sm), mem, "summary_bytes() counts what the counter holds");
    cr_assert_leq(summary_bytes(sm),
                  sizeof(struct summary) +
                      BUCKETS * (sizeof(struct ckms) + sizeof(struct ckms_obs) * SUMMARY_BATCH) +
                      BUCKETS * (CKMS_MAX_TUPLES + SUMMARY_BATCH) * sizeof(struct ckms_tuple));
    summary_free(sm, &mem);
    cr_assert_eq(mem, 0);
}

Test(summary, sampled_observations_count_their_weight_with_a_carry)
{
    struct summary *sm;
    double got[NQ];

    spec_of(quantiles, NQ);
    sm = summary_new(&spec, 0, &mem);
    summary_observe(sm, &spec, 1, 0.25, 0, &mem);
    cr_assert_eq(sm->count, 4);
    for (int i = 0; i < 10; i++)
        summary_observe(sm, &spec, 2, 0.3, 0, &mem);
    cr_assert_eq(sm->count, 4 + 33, "10 / 0.3: 33 counted");
    cr_assert_float_eq(sm->carry, 1.0 / 3, 1e-9);
    /* The ranks weigh: 4 observations of 1 beside 33 of 2. */
    summary_read(sm, &spec, 0, got, NULL);
    cr_assert_eq(got[1], 2);
    cr_assert_eq(got[0], 1);
    summary_free(sm, &mem);
}

Test(summary, without_quantiles_only_the_count)
{
    struct summary *sm;

    spec_of(quantiles, 0);
    cr_assert_eq(spec.nstreams, 0);
    sm = summary_new(&spec, 0, &mem);
    for (int i = 0; i < 100; i++)
        summary_observe(sm, &spec, i, 1, (uint64_t)i * 1000, &mem);
    cr_assert_eq(sm->count, 100);
    cr_assert_eq(summary_bytes(sm), sizeof(struct summary));
    cr_assert(summary_valid(sm, &spec));
    summary_free(sm, &mem);
    cr_assert_eq(mem, 0);
}

Test(summary, a_restored_state_rotates_across_the_time_away)
{
    struct summary *sm;
    double got[NQ];

    spec_of(quantiles, NQ);
    sm = summary_new(&spec, 0, &mem);
    for (int i = 0; i < 100; i++)
        summary_observe(sm, &spec, i, 1, 1000, &mem);
    summary_settle(sm, &spec, 3000);
    cr_assert_eq(summary_elapsed(sm, &spec, 3000), 3000);
    /* Restarted at a clock of 7: 3 s into the period plus 10 s away. */
    summary_resume(sm, &spec, 13000, 7);
    cr_assert_eq(summary_read(sm, &spec, 7, got, NULL), 100, "within the first period");
    cr_assert_eq(summary_elapsed(sm, &spec, 7), 13000);
    cr_assert_eq(summary_read(sm, &spec, 7 + PERIOD_MS - 13000, got, NULL), 100,
                 "the first rotation leaves the head with everything");
    /* 3 s in plus a whole window away: every stream reset. */
    summary_resume(sm, &spec, 3000 + MAX_AGE_MS, 7);
    cr_assert_eq(summary_read(sm, &spec, 7, got, NULL), 0);
    cr_assert(isnan(got[2]));
    cr_assert_eq(sm->count, 100);
    cr_assert(summary_valid(sm, &spec));
    summary_free(sm, &mem);
}

Test(summary, valid_refuses_a_damaged_state)
{
    struct summary *sm;
    struct ckms *head, *next;

    spec_of(quantiles, NQ);
    sm = summary_new(&spec, 0, &mem);
    for (int i = 0; i < 500; i++)
        summary_observe(sm, &spec, i * 0.5, 1, (uint64_t)i * 100, &mem);
    summary_settle(sm, &spec, 50000);
    cr_assert(summary_valid(sm, &spec));
    head = summary_stream(sm, 0);
    next = summary_stream(sm, 1);
    cr_assert_gt(head->n, next->n, "the head is older: it holds more");

    sm->carry = 1;
    cr_assert_not(summary_valid(sm, &spec));
    sm->carry = 0;
    sm->count = head->n - 1; /* a stream holding more than ever came */
    cr_assert_not(summary_valid(sm, &spec));
    sm->count = 500;
    sm->head = (sm->head + 1) % BUCKETS; /* a younger stream taken for the head */
    cr_assert_not(summary_valid(sm, &spec));
    sm->head = BUCKETS;
    cr_assert_not(summary_valid(sm, &spec));
    sm->head = BUCKETS - 1; /* where the two rotations left it */
    cr_assert(summary_valid(sm, &spec));
    head->t[0].delta = 1; /* the minimum's rank is known */
    cr_assert_not(summary_valid(sm, &spec));
    head->t[0].delta = 0;
    cr_assert(summary_valid(sm, &spec));
    spec.nstreams = BUCKETS + 1; /* another family's layout */
    cr_assert_not(summary_valid(sm, &spec));
    spec.nstreams = BUCKETS;
    summary_free(sm, &mem);
}
