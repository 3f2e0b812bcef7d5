#include "config/cfgfamily.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
#include "config/cfgmetric.h"
#include "config/cfgnative.h"
#include "config/cfgsummary.h"
#include "config/resattr.h"
#include "statsd.h"

/*
 * Ownership is simple on purpose: every array is allocated zeroed at its final size and its
 * count set at once, so cfgload_release() can free a half-filled struct config and no error
 * path needs its own cleanup.
 */

static const double default_buckets_s[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static const double default_buckets_ms[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

/* ---- families ---- */

static int read_family_name(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base)
{
    struct config_family *f = base;

    (void)v;
    return cfgmetric_name(r, obj, k->name, f->type == FAMILY_COUNTER, 1, &f->name);
}

/* Whether the family observes values (ms, h and d lines): a histogram or a summary. */
static int observes(const struct config_family *f)
{
    return f->type == FAMILY_HISTOGRAM || f->type == FAMILY_SUMMARY;
}

/*
 * Histograms and summaries are in seconds unless they say otherwise; "ms" lines are kept
 * unchanged.
 */
static int read_family_unit(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base)
{
    struct config_family *f = base;

    (void)obj;
    if (cfgmetric_unit(r, k->name, v, observes(f) ? "seconds" : "", &f->unit) < 0)
        return ERRCODE_CONFIG;
    f->unit_ms = strcmp(f->unit, "milliseconds") == 0 || strcmp(f->unit, "ms") == 0;
    return 0;
}

static int read_family_labels(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                              json_t *v, void *base)
{
    struct config_family *f = base;

    (void)k;
    (void)v;
    return cfgmetric_labels(r, r->root, obj, &f->labels, &f->nlabels,
                            f->type == FAMILY_HISTOGRAM ? "le"
                            : f->type == FAMILY_SUMMARY ? "quantile"
                                                        : NULL,
                            NULL);
}

static void default_buckets(struct config_family *f)
{
    const double *b = f->unit_ms ? default_buckets_ms : default_buckets_s;

    f->nbuckets = f->unit_ms ? sizeof(default_buckets_ms) / sizeof(default_buckets_ms[0])
                             : sizeof(default_buckets_s) / sizeof(default_buckets_s[0]);
    f->buckets = mem_calloc(f->nbuckets, sizeof(*f->buckets));
    memcpy(f->buckets, b, f->nbuckets * sizeof(*b));
}

static int read_buckets(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *arr,
                        void *base)
{
    struct config_family *f = base;
    size_t old, n;

    (void)obj;
    if (arr == NULL) {
        /* A native histogram declares its classic buckets or has none (client_golang). */
        if (f->type == FAMILY_HISTOGRAM && !f->native.on)
            default_buckets(f);
        return 0;
    }
    old = cfgread_push_key(r, k->name);
    if (f->type != FAMILY_HISTOGRAM)
        return cfgread_fail(r, "only histograms have buckets");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return cfgread_fail(r, "expected a non-empty array of numbers, got %s",
                            json_is_array(arr) ? "an empty array" : cfgread_type_name(arr));
    n = json_array_size(arr);
    if (n > CONFIG_MAX_BUCKETS)
        return cfgread_fail(r, "%zu buckets, at most %d are allowed", n, CONFIG_MAX_BUCKETS);
    f->buckets = mem_calloc(n, sizeof(*f->buckets));
    f->nbuckets = n;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        size_t o = cfgread_push_index(r, i);

        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return cfgread_fail(r, "expected a finite number, got %s", cfgread_type_name(v));
        f->buckets[i] = json_number_value(v);
        if (i > 0 && !(f->buckets[i] > f->buckets[i - 1]))
            return cfgread_fail(r, "buckets must be strictly increasing (%g after %g)",
                                f->buckets[i], f->buckets[i - 1]);
        cfgread_pop(r, o);
    }
    cfgread_pop(r, old);
    return 0;
}

/*
 * "updown": true declares an up-down gauge (OpenTelemetry's UpDownCounter), where "+3|g"
 * and "-3|g" move the value as in etsy statsd. Every other gauge takes a signed value as
 * DogStatsD does: "-4|g" sets -4.
 */
static int read_updown(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    static const struct cfgread_key row = { .name = "updown",
                                            .kind = CFGREAD_BOOL,
                                            .off = offsetof(struct config_family, updown) };
    struct config_family *f = base;

    (void)k;
    (void)v;
    if (cfgread_row(r, obj, &row, base) != 0)
        return ERRCODE_CONFIG;
    if (f->updown && f->type != FAMILY_GAUGE)
        return cfgread_fail_at(r, "updown", "only a gauge can be up-down");
    return 0;
}

size_t cfgfamily_combinations(const struct config_family *f)
{
    size_t n = 1;

    for (size_t j = 0; j < f->nlabels; j++) {
        const struct config_label *l = &f->labels[j];
        size_t k = l->nvalues, v;

        if (l->values == NULL)
            return SIZE_MAX;
        for (v = 0; l->overflow != NULL && v < l->nvalues; v++)
            if (strcmp(l->values[v], l->overflow) == 0)
                break;
        k += l->overflow != NULL && v == l->nvalues;
        if (n > SIZE_MAX / k)
            return SIZE_MAX;
        n *= k;
    }
    return n;
}

/*
 * "precreate": true creates every combination of the family's label values at zero, so
 * that increase() sees a series' first increment (Prometheus takes a series' first sample
 * as its start). Only values known ahead can be combined: every label must be enumerated.
 * A gauge is refused, since a gauge at 0 before its first set would report a value nobody
 * sent. The per-family cap is checked here; the total over the families in
 * cfgfamily_families(), once every family is read.
 */
static int read_precreate(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                          void *base)
{
    static const struct cfgread_key row = { .name = "precreate",
                                            .kind = CFGREAD_BOOL,
                                            .off = offsetof(struct config_family, precreate) };
    const struct config *c = r->root;
    struct config_family *f = base;
    size_t n;

    (void)k;
    (void)v;
    if (cfgread_row(r, obj, &row, base) != 0)
        return ERRCODE_CONFIG;
    if (!f->precreate)
        return 0;
    if (f->type == FAMILY_GAUGE)
        return cfgread_fail_at(r, "precreate",
                               "a gauge cannot be precreated: 0 before its first value would be "
                               "a value nobody sent");
    for (size_t j = 0; j < f->nlabels; j++)
        if (f->labels[j].values == NULL)
            return cfgread_fail_at(r, "precreate",
                                   "label \"%s\" is capped (max_values), not enumerated "
                                   "(values): its values are not known ahead",
                                   f->labels[j].name);
    n = cfgfamily_combinations(f);
    if (n > c->max_series_per_family && n == SIZE_MAX)
        return cfgread_fail_at(r, "precreate",
                               "the combinations of label values are too many to count, more "
                               "than limits.max_series_per_family (%zu)",
                               c->max_series_per_family);
    if (n > c->max_series_per_family)
        return cfgread_fail_at(r, "precreate",
                               "%zu combinations of label values, more than "
                               "limits.max_series_per_family (%zu)",
                               n, c->max_series_per_family);
    return 0;
}

static const char *const undeclared_names[] = { "reject", "drop", NULL };

_Static_assert(sizeof(enum config_undeclared) == sizeof(int), "CFGREAD_ENUM stores an int");

static const char *const family_type_names[] = {
#define TYPE_NAME(id, name) name,
    CONFIG_FAMILY_TYPE_MAP(TYPE_NAME)
#undef TYPE_NAME
        NULL
};

_Static_assert(sizeof(enum family_type) == sizeof(int), "CFGREAD_ENUM stores an int");

/*
 * $.families[i], read in this order: the type decides the name's, unit's, buckets' and a
 * summary's keys' rules.
 */
static const struct cfgread_key family_keys[] = {
    { .name = "type",
      .kind = CFGREAD_ENUM,
      .flags = CFGREAD_REQUIRED,
      .off = offsetof(struct config_family, type),
      .choices = family_type_names },
    { .name = "name", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_family_name },
    { .name = "help",
      .kind = CFGREAD_STRING,
      .off = offsetof(struct config_family, help),
      .sdflt = "" },
    { .name = "unit", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_family_unit },
    { .name = "group",
      .kind = CFGREAD_CUSTOM,
      .off = offsetof(struct config_family, group),
      .read = cfgmetric_read_group },
    { .name = "labels",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_family_labels },
    { .name = "native", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = cfgnative_read },
    { .name = "buckets", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_buckets },
    { .name = "quantiles",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = cfgsummary_read_quantiles },
    { .name = "max_age",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = cfgsummary_read_max_age },
    { .name = "age_buckets",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = cfgsummary_read_age_buckets },
    { .name = "updown", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_updown },
    { .name = "undeclared_labels",
      .kind = CFGREAD_ENUM,
      .off = offsetof(struct config_family, undeclared),
      .choices = undeclared_names },
    { .name = "ttl_seconds",
      .kind = CFGREAD_NUMBER,
      .off = offsetof(struct config_family, ttl_seconds),
      .ddflt = 0,
      .dmin = 0,
      .dmax = CONFIG_MAX_TTL_SECONDS },
    { .name = "precreate", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_precreate },
};

/*
 * A counter declared "x_total" beside a gauge "x" keeps "x_total" as its stored name
 * (config_family.total_in_name), as client_golang serves go_memstats_alloc_bytes and
 * go_memstats_alloc_bytes_total: "x" is the gauge's. cfgmetric_name() changes a name's
 * length only by stripping "_total", which tells a name declared with it. Every other
 * counter is stored without it.
 */
static void keep_total_beside_gauge(struct config *c, json_t *arr)
{
    for (size_t i = 0; i < c->nfamilies; i++) {
        struct config_family *f = &c->families[i];
        size_t len = strlen(f->name);

        if (f->type != FAMILY_COUNTER ||
            json_string_length(json_object_get(json_array_get(arr, i), "name")) == len)
            continue;
        for (size_t j = 0; j < c->nfamilies; j++)
            if (c->families[j].type == FAMILY_GAUGE && strcmp(c->families[j].name, f->name) == 0) {
                f->name = mem_realloc(f->name, len + sizeof("_total"));
                memcpy(f->name + len, "_total", sizeof("_total"));
                f->total_in_name = 1;
                break;
            }
    }
}

int cfgfamily_families(struct cfgread *r, struct config *c, json_t *arr)
{
    size_t old = cfgread_push_key(r, "families");

    c->nfamilies = json_array_size(arr); /* 0 when not an array */
    c->families = mem_calloc(c->nfamilies, sizeof(*c->families));
    if (cfgread_objects(r, arr, "family objects", family_keys, ARRAY_SIZE(family_keys), c->families,
                        sizeof(*c->families)) < 0)
        return ERRCODE_CONFIG;
    keep_total_beside_gauge(c, arr);
    for (size_t i = 0; i < c->nfamilies; i++)
        c->families[i].judged = cfgread_compact(json_array_get(arr, i));
    /* Each family fits its own cap (read_precreate); together they must fit the total. */
    for (size_t i = 0, total = 0; i < c->nfamilies; i++) {
        size_t n = c->families[i].precreate ? cfgfamily_combinations(&c->families[i]) : 0;

        if (n > c->max_series - total) {
            cfgread_push_index(r, i);
            return cfgread_fail_at(r, "precreate",
                                   "with this family's %zu combinations, the precreated "
                                   "families need more than limits.max_series (%zu) series",
                                   n, c->max_series);
        }
        total += n;
    }
    cfgread_pop(r, old);
    return 0;
}

/* ---- resource ---- */

int cfgfamily_attrs(struct cfgread *r, const struct config *c, json_t *obj,
                    struct config_resource_attr **out, size_t *n)
{
    const char *key, *why;
    json_t *v;

    if (cfgread_object(r, obj) < 0)
        return ERRCODE_CONFIG;
    if (json_object_size(obj) > CONFIG_MAX_RESOURCE_ATTRS)
        return cfgread_fail(r, "%zu attributes, at most %d are allowed", json_object_size(obj),
                            CONFIG_MAX_RESOURCE_ATTRS);
    json_object_foreach(obj, key, v)
    {
        size_t o = cfgread_push_key(r, key);
        long same = resattr_find(*out, *n, key);
        char *value = NULL;

        /* Kept as given; they are written as labels, '.' and '-' becoming '_'. */
        if ((why = resattr_key_problem(key)) != NULL)
            return cfgread_fail(r, "%s", why);
        if (same >= 0)
            return cfgread_fail(r, "the key clashes with \"%s\" once '.' and '-' read as '_'",
                                (*out)[same].key);
        if (cfgmetric_label_value(r, c, v, "the value", &value) < 0)
            return ERRCODE_CONFIG;
        resattr_set(out, n, key, value); /* sorted: target_info is deterministic */
        free(value);
        cfgread_pop(r, o);
    }
    return 0;
}

int cfgfamily_resource(struct cfgread *r, struct config *c, json_t *obj)
{
    size_t old = cfgread_push_key(r, "resource");

    if (cfgfamily_attrs(r, c, obj, &c->resource, &c->nresource) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, old);
    return 0;
}

/* ---- clients ---- */

/* The family label a stripped key would take from it, or NULL. */
static const char *label_of_any(const struct config *c, const char *key, size_t *fam)
{
    for (size_t i = 0; i < c->nfamilies; i++)
        for (size_t j = 0; j < c->families[i].nlabels; j++)
            if (strcmp(c->families[i].labels[j].name, key) == 0) {
                *fam = i;
                return c->families[i].name;
            }
    return NULL;
}

/*
 * $.clients.strip_tags: keys as tags spell them ("dd.internal.entity_id"), kept
 * normalised, as labelset matches tag keys. Read after the families, which must not
 * declare one: the label could never get a value.
 */
int cfgfamily_read_strip_tags(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                              json_t *v, void *base)
{
    struct config *c = base;
    size_t old, n;

    (void)obj;
    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, k->name);
    if (!json_is_array(v))
        return cfgread_fail(r, "expected an array of tag keys, got %s", cfgread_type_name(v));
    n = json_array_size(v);
    if (n > CONFIG_MAX_STRIP_TAGS)
        return cfgread_fail(r, "%zu keys, at most %d are allowed", n, CONFIG_MAX_STRIP_TAGS);
    c->strip_tags = mem_calloc(n, sizeof(*c->strip_tags));
    c->nstrip_tags = n;
    for (size_t i = 0; i < n; i++) {
        size_t o = cfgread_push_index(r, i), len, fam;
        json_t *e = json_array_get(v, i);
        const char *owner;
        char *key;

        if (!json_is_string(e))
            return cfgread_fail(r, "expected a tag key (a string), got %s", cfgread_type_name(e));
        len = json_string_length(e);
        key = c->strip_tags[i] = mem_strndup(json_string_value(e), len);
        if (len > STATSD_MAX_TAG_KEY || strlen(key) != len)
            return cfgread_fail(r, "expected at most %d bytes and no NUL", STATSD_MAX_TAG_KEY);
        statsd_normalize_name(key, len, key, len);
        if (!config_valid_name(key))
            return cfgread_fail(r,
                                "\"%s\" is not a tag key that names a label "
                                "([a-zA-Z_][a-zA-Z0-9_]*, '.' and '-' read as '_')",
                                json_string_value(e));
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->strip_tags[j], key) == 0)
                return cfgread_fail(r, "duplicate key \"%s\"", json_string_value(e));
        owner = label_of_any(c, key, &fam);
        if (owner != NULL)
            return cfgread_fail(r,
                                "\"%s\" is a label of family \"%s\" ($.families[%zu]): a "
                                "stripped tag could never give it a value",
                                key, owner, fam);
        cfgread_pop(r, o);
    }
    cfgread_pop(r, old);
    return 0;
}

/* ---- groups ---- */

static int group_list(struct cfgread *r, json_t *arr, char ***out, size_t *n)
{
    if (!json_is_array(arr))
        return cfgread_fail(r, "expected an array of group names, got %s", cfgread_type_name(arr));
    *n = json_array_size(arr);
    *out = mem_calloc(*n, sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(arr, i);
        size_t o = cfgread_push_index(r, i);

        if (!json_is_string(v) || !cfgmetric_valid_group(json_string_value(v)))
            return cfgread_fail(r, "expected a group name ([A-Za-z0-9_.-]+), got %s",
                                cfgread_type_name(v));
        (*out)[i] = mem_strdup(json_string_value(v));
        cfgread_pop(r, o);
    }
    return 0;
}

/* "include" (which may also be "all") or "exclude". */
static int read_group_list(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                           void *base)
{
    struct config *c = base;
    int include = strcmp(k->name, "include") == 0;
    size_t o;

    (void)obj;
    if (v == NULL)
        return 0;
    o = cfgread_push_key(r, k->name);
    if (include && json_is_string(v)) {
        if (strcmp(json_string_value(v), "all") != 0)
            return cfgread_fail(r, "expected \"all\" or an array of group names");
    } else if (group_list(r, v, include ? &c->include_groups : &c->exclude_groups,
                          include ? &c->ninclude_groups : &c->nexclude_groups) < 0) {
        /* An empty include list is not NULL (mem_calloc never is): it includes nothing. */
        return ERRCODE_CONFIG;
    }
    cfgread_pop(r, o);
    return 0;
}

static const struct cfgread_key group_keys[] = {
    { .name = "include", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_group_list },
    { .name = "exclude", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_group_list },
};

int cfgfamily_groups(struct cfgread *r, struct config *c, json_t *obj)
{
    size_t old = cfgread_push_key(r, "groups");

    if (cfgread_section(r, obj, group_keys, ARRAY_SIZE(group_keys), c) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, old);
    return 0;
}

int cfgfamily_in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

int cfgfamily_excluded(const struct config *c, const char *group)
{
    if (group[0] == '\0')
        return 0;
    if (cfgfamily_in_list(c->exclude_groups, c->nexclude_groups, group))
        return 1;
    return c->include_groups != NULL &&
           !cfgfamily_in_list(c->include_groups, c->ninclude_groups, group);
}

/* ---- release ---- */
void cfgfamily_release(struct config *c)
{
    for (size_t i = 0; i < c->nresource; i++) {
        free(c->resource[i].key);
        free(c->resource[i].value);
    }
    free(c->resource);
    cfgread_free_strings(c->strip_tags, c->nstrip_tags);
    c->strip_tags = NULL;
    c->nstrip_tags = 0;
    cfgread_free_strings(c->include_groups, c->ninclude_groups);
    cfgread_free_strings(c->exclude_groups, c->nexclude_groups);
    for (size_t i = 0; i < c->nfamilies; i++) {
        struct config_family *f = &c->families[i];

        free(f->name);
        free(f->help);
        free(f->unit);
        free(f->alias);
        free(f->group);
        free(f->judged);
        free(f->buckets);
        free(f->quantiles);
        cfgmetric_release_labels(f->labels, f->nlabels);
    }
    free(c->families);
    c->resource = NULL;
    c->nresource = 0;
    c->include_groups = c->exclude_groups = NULL;
    c->ninclude_groups = c->nexclude_groups = 0;
    c->families = NULL;
    c->nfamilies = 0;
}
