#include "store/ckms.h"

#include <math.h>
#include <string.h>

#include "base/counted.h"

/*
 * The tuples a compress forced by the cap aims at: a quarter below it, so that the next
 * merges fit for a while before another search.
 */
#define FORCED_TARGET (CKMS_MAX_TUPLES - CKMS_MAX_TUPLES / 4)

void ckms_targets_init(struct ckms_targets *tg, const double *q, const double *e, size_t n)
{
    tg->n = 0;
    for (size_t i = 0; i < n && tg->n < CKMS_MAX_TARGETS; i++) {
        double eps;

        /*
         * A target whose rank window reaches past either end constrains nothing: below
         * (q - e) n lies no rank when q <= e, and above (q + e) n none when q + e >= 1.
         */
        if (q[i] <= e[i] || q[i] + e[i] >= 1)
            continue;
        /* e' as ckms.h derives it: f(r, n) <= (q + e) n - r for r below (q - e) n. */
        eps = e[i] * (1 - q[i]) / (1 - q[i] + e[i]);
        tg->t[tg->n].q = q[i];
        tg->t[tg->n].below = 2 * eps / (1 - q[i]);
        tg->t[tg->n].above = 2 * eps / q[i];
        tg->n++;
    }
}

double ckms_allowance(const struct ckms_targets *tg, double r, double n)
{
    double f = INFINITY;

    for (size_t i = 0; i < tg->n; i++) {
        double v = r < tg->t[i].q * n ? tg->t[i].below * (n - r) : tg->t[i].above * r;

        if (v < f)
            f = v;
    }
    return f;
}

double ckms_error(double q, double e, double slack)
{
    double c;

    if (slack == 1 || q <= e || q + e >= 1)
        return e;
    /*
     * The invariant at slack times f is the one of the error e_s whose e' is slack times
     * e's: e_s / (1 - q + e_s) = c = slack e / (1 - q + e).
     */
    c = slack * e / (1 - q + e);
    return c < 1 && c * (1 - q) / (1 - c) < 1 ? c * (1 - q) / (1 - c) : 1;
}

void ckms_init(struct ckms *s)
{
    memset(s, 0, sizeof *s);
    s->slack = 1;
}

void ckms_reserve(struct ckms *s, size_t m, size_t *mem)
{
    size_t need = (size_t)s->len + m, want = need + 8;

    if (want < 16)
        want = 16;
    if (want > CKMS_MAX_TUPLES + m)
        want = CKMS_MAX_TUPLES + m;
    if (s->cap >= need && s->cap <= 2 * want)
        return;
    s->t = counted_realloc(mem, s->t, s->cap * sizeof *s->t, want * sizeof *s->t);
    s->cap = (uint32_t)want;
}

void ckms_release(struct ckms *s, size_t *mem)
{
    if (s->t != NULL)
        counted_free(mem, s->t, s->cap * sizeof *s->t);
    ckms_init(s);
}

size_t ckms_bytes(const struct ckms *s)
{
    return s->t != NULL ? s->cap * sizeof *s->t : 0;
}

void ckms_reset(struct ckms *s)
{
    s->len = 0;
    s->n = 0;
    s->slack = 1;
}

/* What a tuple lets a neighbour inserted before it take as delta: g + delta - run. */
static uint64_t spread(const struct ckms_tuple *t)
{
    return t->g + t->delta - t->run;
}

/*
 * One pass from the top, as the paper's COMPRESS: tuple i merges into the one after it
 * (which keeps its value, delta and run, and takes the g) when the merged tuple keeps the
 * invariant at scale times f. The first tuple stays, the last only receives. With write 0,
 * nothing changes: the tuples the pass would leave are counted.
 */
static size_t compress(struct ckms *s, const struct ckms_targets *tg, double scale, int write)
{
    struct ckms_tuple *t = s->t, recv;
    double n = (double)s->n;
    uint64_t above;
    size_t o, i;

    if (s->len < 3)
        return s->len;
    o = s->len - 1;
    recv = t[o];
    above = recv.g;
    for (i = s->len - 2; i >= 1; i--) {
        const struct ckms_tuple c = t[i];
        uint64_t r = s->n - above - c.g; /* the g before tuple i */

        if ((double)(c.g + spread(&recv) + 1) <= scale * ckms_allowance(tg, (double)r, n)) {
            recv.g += c.g;
        } else {
            if (write)
                t[o] = recv;
            o--;
            recv = c;
        }
        above += c.g;
    }
    if (write) {
        t[o] = recv;
        memmove(t + 1, t + o, (s->len - o) * sizeof *t);
        s->len = (uint32_t)(1 + s->len - o);
    }
    return 1 + s->len - o;
}

/*
 * Over the cap: the least scale, within 1 / 64 of it, whose compress leaves at most
 * FORCED_TARGET tuples, found on passes that change nothing; then that compress, and the
 * scale becomes the stream's slack. The tuples a compress cannot merge are mostly those
 * whose delta came close to f when they were inserted (new values among old ones, as a
 * drifting distribution makes): merging them overshoots f a little, so the scale and with
 * it the error stay close to 1 where doubling the errors would not.
 */
static void compress_to_cap(struct ckms *s, const struct ckms_targets *tg)
{
    double lo = s->slack, hi = s->slack * 2;

    while (hi < CKMS_MAX_SLACK && compress(s, tg, hi, 0) > FORCED_TARGET) {
        lo = hi;
        hi *= 2;
    }
    if (hi > CKMS_MAX_SLACK)
        hi = CKMS_MAX_SLACK;
    while (hi - lo > lo / 64) {
        double mid = (lo + hi) / 2;

        if (compress(s, tg, mid, 0) > FORCED_TARGET)
            lo = mid;
        else
            hi = mid;
    }
    compress(s, tg, hi, 1);
    s->slack = hi;
}

/*
 * Merge from the top into the reserved room, so that nothing moves twice: each new value
 * takes its delta from the first tuple above it that the stream held before the batch
 * (every new value between them lies below that tuple's run too).
 */
void ckms_merge(struct ckms *s, const struct ckms_targets *tg, const struct ckms_obs *b, size_t m)
{
    struct ckms_tuple *t = s->t;
    size_t i = s->len, j = m, o = s->len + m;
    uint64_t next = 0; /* spread() of that tuple; 0 above the maximum, which is exact */

    if (m == 0)
        return;
    if (s->n == 0) {
        s->min = b[0].v;
        s->max = b[m - 1].v;
    } else {
        s->min = b[0].v < s->min ? b[0].v : s->min;
        s->max = b[m - 1].v > s->max ? b[m - 1].v : s->max;
    }
    while (j > 0) {
        const struct ckms_obs *x = &b[j - 1];

        if (i > 0 && t[i - 1].v > x->v) {
            next = spread(&t[i - 1]);
            t[--o] = t[--i];
        } else if (i > 0 && t[i - 1].v == x->v) {
            /* An equal value joins the run at the top of the tuple: delta holds. */
            struct ckms_tuple y = t[--i];

            y.g += x->w;
            y.run += x->w;
            next = spread(&y);
            t[--o] = y;
            s->n += x->w;
            j--;
        } else {
            t[--o] = (struct ckms_tuple){ x->v, x->w, next, x->w };
            s->n += x->w;
            j--;
        }
    }
    /* Equal values left a gap between the tuples below the batch and the merged ones. */
    if (o > i)
        memmove(t + i, t + o, (s->len + m - o) * sizeof *t);
    s->len = (uint32_t)(s->len + m - (o - i));
    /* A stream already widened by the cap compresses at its slack: that costs no more. */
    compress(s, tg, s->slack, 1);
    if (s->len > CKMS_MAX_TUPLES)
        compress_to_cap(s, tg);
}

double ckms_query(const struct ckms *s, double q, double e)
{
    double t, best = INFINITY;
    uint64_t rmin = 0;
    size_t at = 0;

    if (s->n == 0)
        return NAN;
    if (e == 0 && (q == 0 || q == 1))
        return q == 0 ? s->min : s->max;
    /*
     * The tuple nearest rank q n in the worst case: its copies lie at [rho - run + 1, rho]
     * for some rho in [rmin, rmin + delta], so the rank q n is at most max(rmin + delta -
     * run + 1 - q n, q n - rmin) from one of them. The tuple ckms.h's argument finds is
     * within e n, so the nearest is too. Ties go to the higher rank.
     */
    t = q * (double)s->n;
    for (size_t i = 0; i < s->len; i++) {
        const struct ckms_tuple *c = &s->t[i];
        double far, near;

        rmin += c->g;
        far = (double)(rmin + c->delta - c->run + 1) - t;
        near = t - (double)rmin;
        far = far > near ? far : near;
        if (far <= best) {
            best = far < 0 ? 0 : far;
            at = i;
        }
    }
    return s->t[at].v;
}

int ckms_valid(const struct ckms *s, const struct ckms_targets *tg)
{
    uint64_t r = 0;

    if (s->len > s->cap || s->len > CKMS_MAX_TUPLES || !(s->slack >= 1) ||
        !(s->slack <= CKMS_MAX_SLACK))
        return 0;
    if (s->len == 0)
        return s->n == 0;
    if (s->t[0].delta != 0 || s->t[0].run != s->t[0].g || s->min != s->t[0].v ||
        s->max != s->t[s->len - 1].v)
        return 0;
    for (size_t i = 0; i < s->len; i++) {
        const struct ckms_tuple *c = &s->t[i];

        if (!isfinite(c->v) || (i > 0 && !(c->v > s->t[i - 1].v)))
            return 0;
        if (c->run == 0 || c->run > c->g || c->g > s->n - r || c->delta > s->n - r - c->g)
            return 0;
        if (spread(c) > 0 &&
            (double)(spread(c) + 1) > s->slack * ckms_allowance(tg, (double)r, (double)s->n))
            return 0;
        r += c->g;
    }
    return r == s->n;
}
