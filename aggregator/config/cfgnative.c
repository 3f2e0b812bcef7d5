#include "config/cfgnative.h"

#include <math.h>
#include <stddef.h>

#include "base/errcode.h"
#include "config/config.h"

static int read_schema(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    struct config_native *n = base;

    (void)obj;
    if (v == NULL) {
        n->schema = CONFIG_NATIVE_DEFAULT_SCHEMA;
        return 0;
    }
    if (!json_is_integer(v))
        return cfgread_fail_at(r, k->name, "expected an integer from %d to %d, got %s",
                               CONFIG_NATIVE_SCHEMA_MIN, CONFIG_NATIVE_SCHEMA_MAX,
                               cfgread_type_name(v));
    if (json_integer_value(v) < CONFIG_NATIVE_SCHEMA_MIN ||
        json_integer_value(v) > CONFIG_NATIVE_SCHEMA_MAX)
        return cfgread_fail_at(r, k->name,
                               "schema %lld is outside %d..%d (8: buckets 2^(1/256) apart, "
                               "-4: 2^16 apart)",
                               (long long)json_integer_value(v), CONFIG_NATIVE_SCHEMA_MIN,
                               CONFIG_NATIVE_SCHEMA_MAX);
    n->schema = (int)json_integer_value(v);
    return 0;
}

static int read_zero_threshold(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                               json_t *v, void *base)
{
    struct config_native *n = base;

    (void)obj;
    n->zero_threshold = CONFIG_NATIVE_DEFAULT_ZERO_THRESHOLD;
    if (v == NULL)
        return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
        return cfgread_fail_at(r, k->name, "expected a finite number >= 0, got %s",
                               json_is_number(v) ? "a negative number" : cfgread_type_name(v));
    n->zero_threshold = json_number_value(v);
    return 0;
}

static const struct cfgread_key native_keys[] = {
    { .name = "schema", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_schema },
    { .name = "zero_threshold",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_zero_threshold },
    { .name = "max_buckets",
      .kind = CFGREAD_UINT32,
      .off = offsetof(struct config_native, max_buckets),
      .udflt = CONFIG_NATIVE_DEFAULT_BUCKETS,
      .umin = 1,
      .umax = CONFIG_NATIVE_MAX_BUCKETS },
};

int cfgnative_read(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                   void *base)
{
    struct config_family *f = base;
    size_t old;
    int rc;

    (void)obj;
    f->native.on = 0;
    if (v == NULL)
        return 0;
    if (f->type != FAMILY_HISTOGRAM)
        return cfgread_fail_at(r, k->name, "only histograms have a native block");
    old = cfgread_push_key(r, k->name);
    if (!json_is_object(v))
        return cfgread_fail(r,
                            "expected an object such as {\"schema\": 3, \"max_buckets\": 160}, "
                            "got %s",
                            cfgread_type_name(v));
    rc = cfgread_section(r, v, native_keys, sizeof native_keys / sizeof native_keys[0], &f->native);
    if (rc != 0)
        return rc;
    f->native.on = 1;
    cfgread_pop(r, old);
    return 0;
}
