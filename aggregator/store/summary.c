#include "store/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/counted.h"

void summary_spec_init(struct summary_spec *sp, const struct config_family *cf)
{
    double q[CONFIG_MAX_QUANTILES], e[CONFIG_MAX_QUANTILES];
    size_t nt = 0, i;
    double period;

    memset(sp, 0, sizeof *sp);
    sp->nq = cf->nquantiles;
    for (i = 0; i < cf->nquantiles; i++) {
        sp->q[i] = cf->quantiles[i].q;
        sp->err[i] = cf->quantiles[i].err;
        /* An error of 0 (quantiles 0 and 1) is the exact minimum or maximum: no target. */
        if (cf->quantiles[i].err > 0) {
            q[nt] = cf->quantiles[i].q;
            e[nt++] = cf->quantiles[i].err;
        }
    }
    ckms_targets_init(&sp->targets, q, e, nt);
    sp->nstreams = cf->nquantiles > 0 ? cf->age_buckets : 0;
    period = cf->age_buckets > 0 ? round(cf->max_age * 1000.0 / cf->age_buckets) : 0;
    sp->period_ms = period >= 1 ? (uint64_t)period : 1;
}

int summary_same_layout(const struct config_family *a, const struct config_family *b)
{
    if (a->nquantiles != b->nquantiles || a->max_age != b->max_age ||
        a->age_buckets != b->age_buckets)
        return 0;
    for (size_t i = 0; i < a->nquantiles; i++)
        if (a->quantiles[i].q != b->quantiles[i].q || a->quantiles[i].err != b->quantiles[i].err)
            return 0;
    return 1;
}

static size_t block_size(uint32_t nstreams)
{
    return sizeof(struct summary) + nstreams * sizeof(struct ckms) +
           (nstreams > 0 ? SUMMARY_BATCH * sizeof(struct ckms_obs) : 0);
}

static struct ckms_obs *batch(struct summary *sm)
{
    return (struct ckms_obs *)(void *)(sm->streams + sm->nstreams);
}

struct summary *summary_new(const struct summary_spec *sp, uint64_t now_ms, size_t *mem)
{
    struct summary *sm = counted_calloc(mem, 1, block_size(sp->nstreams));

    sm->nstreams = sp->nstreams;
    sm->next_ms = now_ms + sp->period_ms;
    for (uint32_t i = 0; i < sm->nstreams; i++)
        ckms_init(&sm->streams[i]);
    return sm;
}

void summary_free(struct summary *sm, size_t *mem)
{
    if (sm == NULL)
        return;
    for (uint32_t i = 0; i < sm->nstreams; i++)
        ckms_release(&sm->streams[i], mem);
    counted_free(mem, sm, block_size(sm->nstreams));
}

size_t summary_bytes(const struct summary *sm)
{
    size_t n = block_size(sm->nstreams);

    for (uint32_t i = 0; i < sm->nstreams; i++)
        n += ckms_bytes(&sm->streams[i]);
    return n;
}

static int by_value(const void *a, const void *b)
{
    const struct ckms_obs *x = a, *y = b;

    return x->v < y->v ? -1 : x->v > y->v;
}

/* Merge the batch, sorted and its equal values summed, into every stream. */
static void flush(struct summary *sm, const struct summary_spec *sp)
{
    struct ckms_obs *b = batch(sm);
    size_t m = 0;

    if (sm->nbatch == 0)
        return;
    qsort(b, sm->nbatch, sizeof *b, by_value);
    for (size_t i = 0; i < sm->nbatch; i++) {
        if (m > 0 && b[m - 1].v == b[i].v)
            b[m - 1].w += b[i].w;
        else
            b[m++] = b[i];
    }
    for (uint32_t i = 0; i < sm->nstreams; i++)
        ckms_merge(&sm->streams[i], &sp->targets, b, m);
    sm->nbatch = 0;
}

/* client_golang's maybeRotateStreams, every due rotation at once. */
static void rotate(struct summary *sm, const struct summary_spec *sp, uint64_t now_ms)
{
    uint64_t k;

    if (sm->nstreams == 0 || now_ms < sm->next_ms)
        return;
    flush(sm, sp);
    k = (now_ms - sm->next_ms) / sp->period_ms + 1;
    for (uint64_t j = 0; j < k && j < sm->nstreams; j++)
        ckms_reset(&sm->streams[(sm->head + j) % sm->nstreams]);
    sm->head = (uint32_t)((sm->head + k % sm->nstreams) % sm->nstreams);
    sm->next_ms += k * sp->period_ms;
}

void summary_observe(struct summary *sm, const struct summary_spec *sp, double v, double rate,
                     uint64_t now_ms, size_t *mem)
{
    uint64_t w = 1;

    if (rate < 1) {
        double whole;

        sm->carry += 1 / rate;
        whole = floor(sm->carry);
        sm->carry -= whole;
        w = (uint64_t)whole;
        if (w == 0)
            return;
    }
    sm->count += w;
    if (sm->nstreams == 0)
        return;
    rotate(sm, sp, now_ms);
    /* A batch's first observation makes the room its merge needs, so reads never allocate. */
    if (sm->nbatch == 0)
        for (uint32_t i = 0; i < sm->nstreams; i++)
            ckms_reserve(&sm->streams[i], SUMMARY_BATCH, mem);
    batch(sm)[sm->nbatch++] = (struct ckms_obs){ v, w };
    if (sm->nbatch == SUMMARY_BATCH)
        flush(sm, sp);
}

void summary_settle(struct summary *sm, const struct summary_spec *sp, uint64_t now_ms)
{
    rotate(sm, sp, now_ms);
    flush(sm, sp);
}

uint64_t summary_read(struct summary *sm, const struct summary_spec *sp, uint64_t now_ms,
                      double *out, double *err)
{
    const struct ckms *head;

    for (size_t i = 0; i < sp->nq; i++) {
        out[i] = NAN;
        if (err != NULL)
            err[i] = sp->err[i];
    }
    if (sm == NULL || sm->nstreams == 0)
        return 0;
    summary_settle(sm, sp, now_ms);
    head = &sm->streams[sm->head];
    for (size_t i = 0; i < sp->nq; i++) {
        out[i] = ckms_query(head, sp->q[i], sp->err[i]);
        if (err != NULL)
            err[i] = ckms_error(sp->q[i], sp->err[i], head->slack);
    }
    return head->n;
}

struct ckms *summary_stream(struct summary *sm, uint32_t i)
{
    return &sm->streams[(sm->head + i) % sm->nstreams];
}

uint64_t summary_elapsed(const struct summary *sm, const struct summary_spec *sp, uint64_t now_ms)
{
    uint64_t left = sm->next_ms > now_ms ? sm->next_ms - now_ms : 0;

    return left < sp->period_ms ? sp->period_ms - left : 0;
}

void summary_resume(struct summary *sm, const struct summary_spec *sp, uint64_t elapsed_ms,
                    uint64_t now_ms)
{
    uint64_t k = elapsed_ms / sp->period_ms;

    if (sm->nstreams == 0)
        return;
    for (uint64_t j = 0; j < k && j < sm->nstreams; j++)
        ckms_reset(&sm->streams[(sm->head + j) % sm->nstreams]);
    sm->head = (uint32_t)((sm->head + k % sm->nstreams) % sm->nstreams);
    sm->next_ms = now_ms + (sp->period_ms - elapsed_ms % sp->period_ms);
}

int summary_valid(const struct summary *sm, const struct summary_spec *sp)
{
    uint64_t before;

    if (sm->nstreams != sp->nstreams || sm->nbatch != 0 || !(sm->carry >= 0 && sm->carry < 1) ||
        (sm->nstreams > 0 && sm->head >= sm->nstreams))
        return 0;
    before = sm->count;
    for (uint32_t i = 0; i < sm->nstreams; i++) {
        const struct ckms *s = &sm->streams[(sm->head + i) % sm->nstreams];

        if (s->n > before || !ckms_valid(s, &sp->targets))
            return 0;
        before = s->n;
    }
    return 1;
}
