#include "config/cfgsummary.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
#include "config/config.h"

/* statsd_exporter's default summary objectives (client_golang's are none). */
static const struct config_quantile default_quantiles[] = {
    { 0.5, 0.05 },
    { 0.9, 0.01 },
    { 0.99, 0.001 },
};

static int by_quantile(const void *a, const void *b)
{
    const struct config_quantile *x = a, *y = b;

    return x->q < y->q ? -1 : x->q > y->q;
}

/* A quantile as a key spells it: a plain decimal number, "0.99", ".5", "1", "1e-3". */
static int parse_quantile(const char *key, double *q)
{
    char *end;

    if (!isdigit((unsigned char)key[0]) && key[0] != '.')
        return 0;
    *q = strtod(key, &end);
    return end != key && *end == '\0' && isfinite(*q);
}

/* One member of "quantiles", key to error, into *out. The path names the member. */
static int read_quantile(struct cfgread *r, const char *key, json_t *e, struct config_quantile *out)
{
    char shown[260];
    double q, err;

    if (!parse_quantile(key, &q))
        return cfgread_fail(r,
                            "\"%s\" is not a quantile: expected a number from 0 to 1 written as "
                            "a string, such as \"0.99\"",
                            cfgread_shown(shown, key, strlen(key)));
    if (!(q >= 0 && q <= 1))
        return cfgread_fail(r, "quantile %g is outside [0, 1]", q);
    if (!json_is_number(e))
        return cfgread_fail(r, "expected the allowed error of quantile %g (a number), got %s", q,
                            cfgread_type_name(e));
    err = json_number_value(e);
    if (!(err >= 0 && err < 0.5))
        return cfgread_fail(r, "allowed error %g is outside [0, 0.5)", err);
    if (err == 0 && q != 0 && q != 1)
        return cfgread_fail(r,
                            "an allowed error of 0 is for the quantiles 0 and 1 only (the "
                            "window's exact minimum and maximum); quantile %g needs one above 0",
                            q);
    out->q = q;
    out->err = err;
    return 0;
}

int cfgsummary_read_quantiles(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                              json_t *v, void *base)
{
    struct config_family *f = base;
    const char *key;
    size_t old, n, i = 0;
    json_t *e;

    (void)obj;
    if (v == NULL) {
        if (f->type == FAMILY_SUMMARY) {
            f->nquantiles = ARRAY_SIZE(default_quantiles);
            f->quantiles = mem_calloc(f->nquantiles, sizeof(*f->quantiles));
            memcpy(f->quantiles, default_quantiles, sizeof(default_quantiles));
        }
        return 0;
    }
    old = cfgread_push_key(r, k->name);
    if (f->type != FAMILY_SUMMARY)
        return cfgread_fail(r, "only summaries have quantiles");
    if (!json_is_object(v))
        return cfgread_fail(r,
                            "expected an object from each quantile to its allowed error, such as "
                            "{\"0.5\": 0.05, \"0.99\": 0.001}, got %s",
                            cfgread_type_name(v));
    n = json_object_size(v);
    if (n > CONFIG_MAX_QUANTILES)
        return cfgread_fail(r, "%zu quantiles, at most %d are allowed", n, CONFIG_MAX_QUANTILES);
    f->quantiles = mem_calloc(n, sizeof(*f->quantiles));
    f->nquantiles = n;
    json_object_foreach(v, key, e)
    {
        size_t o = cfgread_push_key(r, key);

        if (read_quantile(r, key, e, &f->quantiles[i]) < 0)
            return ERRCODE_CONFIG;
        for (size_t j = 0; j < i; j++)
            if (f->quantiles[j].q == f->quantiles[i].q)
                return cfgread_fail(r, "quantile %g is given twice", f->quantiles[i].q);
        cfgread_pop(r, o);
        i++;
    }
    qsort(f->quantiles, n, sizeof(*f->quantiles), by_quantile);
    cfgread_pop(r, old);
    return 0;
}

/* A summary's key read by row; on any other type, its presence is refused. */
static int summary_row(struct cfgread *r, json_t *obj, json_t *v, const struct cfgread_key *row,
                       struct config_family *f)
{
    if (f->type != FAMILY_SUMMARY)
        return v != NULL ? cfgread_fail_at(r, row->name, "only summaries have %s", row->name) : 0;
    return cfgread_row(r, obj, row, f);
}

int cfgsummary_read_max_age(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base)
{
    static const struct cfgread_key row = { .name = "max_age",
                                            .kind = CFGREAD_NUMBER,
                                            .off = offsetof(struct config_family, max_age),
                                            .ddflt = CONFIG_DEFAULT_MAX_AGE,
                                            .dmin = CONFIG_MIN_MAX_AGE,
                                            .dmax = CONFIG_MAX_MAX_AGE };

    (void)k;
    return summary_row(r, obj, v, &row, base);
}

int cfgsummary_read_age_buckets(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                                json_t *v, void *base)
{
    static const struct cfgread_key row = { .name = "age_buckets",
                                            .kind = CFGREAD_UINT32,
                                            .off = offsetof(struct config_family, age_buckets),
                                            .udflt = CONFIG_DEFAULT_AGE_BUCKETS,
                                            .umin = 1,
                                            .umax = CONFIG_MAX_AGE_BUCKETS };

    (void)k;
    return summary_row(r, obj, v, &row, base);
}
