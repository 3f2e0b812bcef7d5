#include "config/cfgclash.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "statsd.h"

/*
 * Name clashes are judged on the names an exposition writes, not on the configured ones:
 * a counter "x" writes x_total, so it clashes with a gauge "x_total" although the stored
 * names differ; a histogram "x" writes x_bucket, x_sum and x_count; both write x_created.
 */
/*
 * The generated families sort first, so that a clash is reported at the configured name.
 * A job's counter name (cfgjob.h) exposes nothing, but a counter line of that name, with
 * or without "_total", reports the job: it must name nothing else, so it clashes with
 * every name an exposition writes, and is reported last, at the job.
 */
enum owner { OWN_RESOURCE, OWN_JOBS, OWN_FAMILY, OWN_SQL, OWN_JOB_COUNTER };

struct exposed {
    char name[STATSD_MAX_NAME + 64];
    enum owner owner;
    size_t index;
};

struct exposure {
    struct exposed *v;
    size_t n, cap;
};

static void expose(struct exposure *x, const char *base, const char *suffix, enum owner owner,
                   size_t index)
{
    struct exposed *e;

    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->v = mem_realloc(x->v, x->cap * sizeof(*x->v));
    }
    e = &x->v[x->n++];
    snprintf(e->name, sizeof(e->name), "%s%s", base, suffix);
    e->owner = owner;
    e->index = index;
}

static void expose_family(struct exposure *x, const char *name, enum family_type t,
                          enum owner owner, size_t index)
{
    expose(x, name, "", owner, index);
    if (t == FAMILY_COUNTER)
        expose(x, name, "_total", owner, index);
    if (t == FAMILY_HISTOGRAM)
        expose(x, name, "_bucket", owner, index);
    if (t == FAMILY_HISTOGRAM || t == FAMILY_SUMMARY) {
        expose(x, name, "_sum", owner, index);
        expose(x, name, "_count", owner, index);
    }
    /* OpenMetrics 1.0 names this clash: a counter "foo" writes foo_created, as a gauge would. */
    if (t != FAMILY_GAUGE)
        expose(x, name, "_created", owner, index);
}

static int cmp_exposed(const void *a, const void *b)
{
    const struct exposed *x = a, *y = b;
    int r = strcmp(x->name, y->name);

    if (r != 0)
        return r;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void owner_path(char *out, size_t len, const struct exposed *e)
{
    switch (e->owner) {
    case OWN_FAMILY:
        snprintf(out, len, "$.families[%zu].name", e->index);
        break;
    case OWN_SQL:
        snprintf(out, len, "$.sql_metrics[%zu].name", e->index);
        break;
    case OWN_JOBS:
        snprintf(out, len, "the job families of $.jobs.prefix");
        break;
    case OWN_RESOURCE:
        snprintf(out, len, "the target_info family of $.resource");
        break;
    case OWN_JOB_COUNTER:
        snprintf(out, len, "the counter name of $.jobs.list[%zu]", e->index);
        break;
    }
}

static void expose_all(struct exposure *x, const struct config *c)
{
    static const struct {
        const char *suffix;
        enum family_type type;
    } job_families[] = {
#define JOB_FAMILY(id, suffix, type) { suffix, type },
        CONFIG_JOB_FAMILY_MAP(JOB_FAMILY)
#undef JOB_FAMILY
    };

    for (size_t i = 0; i < c->nfamilies; i++) {
        /* A counter "x_total" beside a gauge "x" writes its stored name only (render.c). */
        if (c->families[i].total_in_name)
            expose(x, c->families[i].name, "", OWN_FAMILY, i);
        else
            expose_family(x, c->families[i].name, c->families[i].type, OWN_FAMILY, i);
    }
    for (size_t i = 0; i < c->nsql_metrics; i++)
        expose_family(x, c->sql_metrics[i].name, FAMILY_GAUGE, OWN_SQL, i);
    for (size_t i = 0; i < sizeof(job_families) / sizeof(job_families[0]); i++) {
        char name[STATSD_MAX_NAME + 64];

        snprintf(name, sizeof(name), "%s%s", c->job_prefix, job_families[i].suffix);
        expose_family(x, name, job_families[i].type, OWN_JOBS, 0);
    }
    for (size_t i = 0; i < c->njobs; i++) {
        if (c->jobs[i].counter == NULL)
            continue;
        expose(x, c->jobs[i].counter, "", OWN_JOB_COUNTER, i);
        expose(x, c->jobs[i].counter, "_total", OWN_JOB_COUNTER, i);
    }
    /* target_info: an info family "target" in OpenMetrics, a gauge in text. */
    expose(x, "target", "", OWN_RESOURCE, 0);
    expose(x, "target_info", "", OWN_RESOURCE, 0);
}

int cfgclash_check(struct cfgread *r, const struct config *c)
{
    struct exposure x = { NULL, 0, 0 };
    int rc = 0;

    expose_all(&x, c);
    qsort(x.v, x.n, sizeof(*x.v), cmp_exposed);
    for (size_t i = 1; i < x.n && rc == 0; i++) {
        const struct exposed *a = &x.v[i - 1], *b = &x.v[i];
        char pa[64];

        if (strcmp(a->name, b->name) != 0 || (a->owner == b->owner && a->index == b->index))
            continue;
        owner_path(pa, sizeof(pa), a);
        cfgread_pop(r, 0);
        if (b->owner == OWN_JOB_COUNTER) {
            cfgread_push_key(r, "jobs");
            cfgread_push_key(r, "list");
            cfgread_push_index(r, b->index);
            cfgread_push_key(r, "counter");
            rc = cfgread_fail(r,
                              "the counter name \"%s\" clashes with %s: a counter line named "
                              "\"%s\" would name both (give the job another \"counter\" name, "
                              "or \"counter\": false)",
                              c->jobs[b->index].counter, pa, b->name);
            break;
        }
        cfgread_push_key(r, b->owner == OWN_FAMILY ? "families" : "sql_metrics");
        cfgread_push_index(r, b->index);
        cfgread_push_key(r, "name");
        rc = cfgread_fail(r, "clashes with %s: both expose \"%s\"", pa, b->name);
    }
    free(x.v);
    return rc;
}
