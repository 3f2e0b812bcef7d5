#include "store/histogram.h"

#include <math.h>

/*
 * A sampled observation weighs w = 1 / rate. Bucket counts must stay integers yet be
 * unbiased over time, so each bucket keeps the fraction of weight it has not counted
 * yet: an observation adds w to its bucket's carry and counts the whole part. A bucket's
 * count never drifts more than 1 from its exact weighted count, whatever the mix of
 * values (one carry per series would hand the fractions to whichever bucket happened to
 * come next). The sum adds v / rate exactly.
 */
void histogram_plan(const struct histogram *h, const double *bounds, size_t nbounds,
                    const double *values, size_t n, double div, double rate, double *sum,
                    struct histogram_update *u)
{
    double w = 1.0 / rate;
    size_t i;

    u->carries = 0;
    if (rate < 1.0)
        memset(u->touched, 0, nbounds + 1);
    for (i = 0; i < n; i++) {
        double v = values[i];
        size_t b;

        if (div != 1.0)
            v /= div;
        b = histogram_bucket(bounds, nbounds, v);
        u->bucket[i] = (uint16_t)b;
        *sum += v / rate;
        if (rate >= 1.0) {
            u->incs[i] = 1;
            continue;
        }
        if (!u->touched[b]) {
            u->carry[b] = h != NULL && h->carry != NULL ? h->carry[b] : 0;
            u->touched[b] = 1;
        }
        u->carry[b] += w;
        u->incs[i] = (uint64_t)floor(u->carry[b]);
        u->carry[b] -= (double)u->incs[i];
    }
    if (rate < 1.0)
        for (i = 0; i <= nbounds; i++)
            u->carries |= u->touched[i] && u->carry[i] != 0;
}

void histogram_commit(struct histogram *h, size_t nbounds, const struct histogram_update *u,
                      size_t n, double rate)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h->b[u->bucket[i]] += u->incs[i];
        h->count += u->incs[i];
    }
    if (rate < 1.0 && h->carry != NULL)
        for (i = 0; i <= nbounds; i++)
            if (u->touched[i])
                h->carry[i] = u->carry[i];
}
