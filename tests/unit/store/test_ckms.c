/*
 * The CKMS stream (ckms.h) against the exact quantiles of the same observations: random
 * (a fixed seed), ascending, descending, constant and heavy-tailed (Pareto, lognormal)
 * values, 1 to 10^6 of them, at statsd_exporter's default objectives and at others. Each
 * answer must be the value of an observation whose rank lies within [q - e, q + e] n of the
 * sorted data (rounded outwards to a rank when it holds none), and the stream must stay
 * within its cap. Orders that defeat the invariant's space (a drifting distribution, values closing in
 * from both ends) must stay within the cap too, answering within the widened error
 * ckms_error() reports.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/ckms.h"

#define BATCH 32

static const double def_q[] = { 0.5, 0.9, 0.99 };
static const double def_e[] = { 0.05, 0.01, 0.001 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

enum kind { RANDOM, ASCENDING, DESCENDING, CONSTANT, PARETO, LOGNORMAL, DRIFT, CLOSING, NKINDS };

static const char *const kind_names[] = { "random", "ascending", "descending", "constant",
                                          "pareto", "lognormal", "drift",      "closing" };

static double value_of(enum kind k, size_t i, size_t n)
{
    switch (k) {
    case RANDOM:
        return uniform();
    case ASCENDING:
        return (double)i;
    case DESCENDING:
        return (double)(n - i);
    case CONSTANT:
        return 7.25;
    case PARETO: /* alpha 1.5: a heavy tail, as latencies have */
        return pow(1 - uniform(), -1 / 1.5);
    case LOGNORMAL: {
        double u = 1 - uniform(), v = uniform();

        return exp(0.5 + 1.2 * sqrt(-2 * log(u)) * cos(2 * M_PI * v));
    }
    case DRIFT: /* a level that moves slowly, with noise: new values land among old ones */
        return sin((double)i / 1e5) * 100 + uniform();
    case CLOSING: /* from both ends towards the middle, then across */
        return i % 2 ? (double)i : (double)(n - i);
    case NKINDS:
        break;
    }
    return 0;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int by_obs(const void *a, const void *b)
{
    const struct ckms_obs *x = a, *y = b;

    return x->v < y->v ? -1 : x->v > y->v;
}

struct feed {
    struct ckms s;
    struct ckms_targets tg;
    struct ckms_obs batch[BATCH];
    size_t nb;
    size_t mem;
    uint32_t maxlen;
};

/* As summary.c merges: a sorted batch, equal values summed, room reserved first. */
static void flush(struct feed *f)
{
    size_t m = 0;

    if (f->nb == 0)
        return;
    qsort(f->batch, f->nb, sizeof f->batch[0], by_obs);
    for (size_t i = 0; i < f->nb; i++) {
        if (m > 0 && f->batch[m - 1].v == f->batch[i].v)
            f->batch[m - 1].w += f->batch[i].w;
        else
            f->batch[m++] = f->batch[i];
    }
    ckms_merge(&f->s, &f->tg, f->batch, m);
    f->nb = 0;
    if (f->s.len > f->maxlen)
        f->maxlen = f->s.len;
}

static void add(struct feed *f, double v, uint64_t w)
{
    if (f->nb == 0)
        ckms_reserve(&f->s, BATCH, &f->mem);
    f->batch[f->nb++] = (struct ckms_obs){ v, w };
    if (f->nb == BATCH)
        flush(f);
}

static void feed_init(struct feed *f, const double *q, const double *e, size_t n)
{
    memset(f, 0, sizeof *f);
    ckms_init(&f->s);
    ckms_targets_init(&f->tg, q, e, n);
}

/*
 * Whether v is the value of an observation whose rank (1-based) lies within [q - e, q + e]
 * n of the n sorted values; when no rank does, each end rounded outwards to one.
 */
static int rank_within(const double *sorted, size_t n, double v, double q, double e)
{
    size_t lo = 0, hi = n, first, last;
    double top = floor((q + e) * (double)n), bottom = ceil((q - e) * (double)n);

    if (bottom > top) {
        top = ceil((q + e) * (double)n);
        bottom = floor((q - e) * (double)n);
    }

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    first = lo + 1; /* the ranks of v: first to last */
    hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (sorted[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    last = lo;
    return last >= first && (double)last >= bottom && (double)first <= top;
}

/* Feed n values of kind k (weights w_max > 1: random weights), then check every target. */
static void check_kind(enum kind k, size_t n, const double *q, const double *e, size_t nq,
                       uint64_t w_max, int expect_exact)
{
    struct feed f;
    double *sorted;
    size_t total = 0;

    feed_init(&f, q, e, nq);
    sorted = malloc(n * (size_t)w_max * sizeof *sorted);
    cr_assert_not_null(sorted);
    for (size_t i = 0; i < n; i++) {
        double v = value_of(k, i, n);
        uint64_t w = w_max > 1 ? 1 + (uint64_t)(uniform() * (double)w_max) % w_max : 1;

        add(&f, v, w);
        for (uint64_t j = 0; j < w; j++)
            sorted[total++] = v;
    }
    flush(&f);
    qsort(sorted, total, sizeof *sorted, by_double);
    cr_assert_eq(f.s.n, total);
    cr_assert(ckms_valid(&f.s, &f.tg), "%s n=%zu: the stream breaks its invariant", kind_names[k],
              n);
    cr_assert_leq(f.maxlen, CKMS_MAX_TUPLES, "%s n=%zu", kind_names[k], n);
    cr_assert_leq(ckms_bytes(&f.s), (CKMS_MAX_TUPLES + BATCH) * sizeof(struct ckms_tuple));
    if (expect_exact)
        cr_assert_eq(f.s.slack, 1, "%s n=%zu: the cap was reached (%u tuples)", kind_names[k], n,
                     f.maxlen);
    for (size_t i = 0; i < nq; i++) {
        double v = ckms_query(&f.s, q[i], e[i]), es = ckms_error(q[i], e[i], f.s.slack);

        cr_assert(rank_within(sorted, total, v, q[i], es),
                  "%s n=%zu: q %g (error %g) answered %g, outside the window", kind_names[k], n,
                  q[i], es, v);
    }
    cr_assert_eq(ckms_query(&f.s, 0, 0), sorted[0]);
    cr_assert_eq(ckms_query(&f.s, 1, 0), sorted[total - 1]);
    free(sorted);
    ckms_release(&f.s, &f.mem);
    cr_assert_eq(f.mem, 0, "every byte given back");
}

Test(ckms, default_objectives_hold_on_every_input_up_to_a_million)
{
    static const size_t sizes[] = { 1, 2, 3, 7, 10, 33, 100, 999, 10000, 100000, 1000000 };

    for (enum kind k = RANDOM; k <= LOGNORMAL; k++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            check_kind(k, sizes[i], def_q, def_e, 3, 1, 1);
}

Test(ckms, other_objectives_hold_too)
{
    static const double q[] = { 0.001, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999 };
    static const double e[] = { 0.0005, 0.01, 0.02, 0.001, 0.02, 0.005, 0.0001 };
    static const double wide_q[] = { 0.1, 0.5, 0.9 }, wide_e[] = { 0.2, 0.3, 0.4 };

    for (enum kind k = RANDOM; k <= LOGNORMAL; k++) {
        check_kind(k, 200000, q, e, 7, 1, 0);
        check_kind(k, 50000, wide_q, wide_e, 3, 1, 1);
    }
}

Test(ckms, sampled_observations_weigh_their_rate)
{
    for (enum kind k = RANDOM; k <= LOGNORMAL; k++)
        check_kind(k, 100000, def_q, def_e, 3, 50, 1);
}

Test(ckms, the_cap_bounds_memory_and_widens_the_error_it_reports)
{
    check_kind(DRIFT, 1000000, def_q, def_e, 3, 1, 0);
    check_kind(CLOSING, 1000000, def_q, def_e, 3, 1, 0);
}

Test(ckms, a_stream_of_random_values_stays_small)
{
    struct feed f;

    feed_init(&f, def_q, def_e, 3);
    for (size_t i = 0; i < 1000000; i++)
        add(&f, value_of(RANDOM, i, 0), 1);
    flush(&f);
    /* About 50 tuples in practice: far below the cap, a tenth of it at most. */
    cr_assert_leq(f.maxlen, CKMS_MAX_TUPLES / 10, "%u tuples", f.maxlen);
    cr_assert_eq(f.s.slack, 1);
    ckms_release(&f.s, &f.mem);
}

Test(ckms, empty_reset_and_the_error_of_a_slack)
{
    struct feed f;

    feed_init(&f, def_q, def_e, 3);
    cr_assert(isnan(ckms_query(&f.s, 0.5, 0.05)));
    cr_assert(isnan(ckms_query(&f.s, 1, 0)));
    add(&f, 3, 1);
    flush(&f);
    cr_assert_eq(ckms_query(&f.s, 0.99, 0.001), 3);
    ckms_reset(&f.s);
    cr_assert_eq(f.s.n, 0);
    cr_assert(isnan(ckms_query(&f.s, 0.5, 0.05)));
    cr_assert(ckms_valid(&f.s, &f.tg));
    ckms_release(&f.s, &f.mem);
    cr_assert_eq(f.mem, 0);

    cr_assert_eq(ckms_error(0.5, 0.05, 1), 0.05);
    cr_assert_float_eq(ckms_error(0.5, 0.05, 2), 0.1 * 0.5 / (0.55 - 0.1), 1e-12);
    cr_assert_gt(ckms_error(0.99, 0.001, 1.5), 0.0015);
    cr_assert_eq(ckms_error(0.5, 0.05, 1e6), 1, "no error fits: any rank");
    cr_assert_eq(ckms_error(0.01, 0.02, 8), 0.02, "a target that constrains nothing keeps its");
}

/* A stream that merges made, then damaged one way at a time: each must be refused. */
Test(ckms, valid_refuses_damaged_streams)
{
    struct feed f;
    struct ckms_tuple *t;
    struct ckms_tuple keep;

    feed_init(&f, def_q, def_e, 3);
    for (size_t i = 0; i < 5000; i++)
        add(&f, value_of(RANDOM, i, 0), 1);
    flush(&f);
    cr_assert(ckms_valid(&f.s, &f.tg));
    cr_assert_gt(f.s.len, 4);
    t = f.s.t;
    keep = t[2];

    t[2].v = t[1].v; /* not strictly ascending */
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    t[2] = keep;
    t[2].v = NAN;
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    t[2] = keep;
    t[2].run = t[2].g + 1; /* a run longer than the tuple */
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    t[2] = keep;
    t[2].run = 0;
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    t[2] = keep;
    t[2].g += 1; /* the g no longer sum to n */
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    t[2] = keep;
    t[2].delta = f.s.n; /* a delta past the invariant and past n */
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    t[2] = keep;
    t[2].g = UINT64_MAX - 1; /* overflow */
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    t[2] = keep;
    cr_assert(ckms_valid(&f.s, &f.tg));

    f.s.min -= 1; /* min is not the first value */
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    f.s.min += 1;
    f.s.slack = 0.5;
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    f.s.slack = NAN;
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    f.s.slack = 1;
    f.s.len = f.s.cap + 1;
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    f.s.len = 0; /* empty, but n says otherwise */
    cr_assert_not(ckms_valid(&f.s, &f.tg));
    ckms_release(&f.s, &f.mem);
}
