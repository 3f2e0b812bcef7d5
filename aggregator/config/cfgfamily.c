#include "config/cfgfamily.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
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

static int is_name_start(char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_name_char(char ch)
{
    return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);

    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static int reserved(const char *s)
{
    return strncmp(s, CONFIG_RESERVED_PREFIX, strlen(CONFIG_RESERVED_PREFIX)) == 0 ||
           strncmp(s, CONFIG_RESERVED_PROCESS_PREFIX, strlen(CONFIG_RESERVED_PROCESS_PREFIX)) ==
               0 ||
           strncmp(s, CONFIG_RESERVED_PROMHTTP_PREFIX, strlen(CONFIG_RESERVED_PROMHTTP_PREFIX)) ==
               0;
}

/*
 * Family names as services send them ("imgsrv.upload-sessions") become exposition names
 * by mapping '.' and '-' to '_', the parser's normalisation, which config_find_family()
 * applies to lines too.
 */
int cfgfamily_metric_name(struct cfgread *r, json_t *obj, const char *key, int counter, int family,
                          char **out)
{
    json_t *v = json_object_get(obj, key);
    char *s;
    size_t len;

    if (v == NULL)
        return cfgread_fail_at(r, key, "missing");
    if (!json_is_string(v))
        return cfgread_fail_at(r, key, "expected a string, got %s", cfgread_type_name(v));
    s = *out = mem_strndup(json_string_value(v), json_string_length(v));
    len = strlen(s);
    if (len > STATSD_MAX_NAME)
        return cfgread_fail_at(r, key, "\"%s\" is longer than %d bytes", s, STATSD_MAX_NAME);
    statsd_normalize_name(s, len, s, len);
    if (!config_valid_name(s))
        return cfgread_fail_at(
            r, key,
            "\"%s\" is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*, '.' and '-' "
            "read as '_', not starting with \"__\")",
            s);
    if (family && reserved(s))
        return cfgread_fail_at(r, key,
                               "\"%s\": the prefixes \"%s\", \"%s\" and \"%s\" are reserved for "
                               "the daemon's own metrics",
                               s, CONFIG_RESERVED_PREFIX, CONFIG_RESERVED_PROCESS_PREFIX,
                               CONFIG_RESERVED_PROMHTTP_PREFIX);
    /* Counters are stored bare so that "x" and "x_total" both find them. */
    if (counter && ends_with(s, len, "_total")) {
        if (len == strlen("_total"))
            return cfgread_fail_at(r, key, "\"%s\" is empty without \"_total\"", s);
        s[len - strlen("_total")] = '\0';
    }
    return 0;
}

static int valid_group(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!(is_name_char(*s) || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int valid_unit(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
            return 0;
    return 1;
}

/* An optional string member with its default: want_string's rules without the flags. */
static int plain_string(struct cfgread *r, const char *key, json_t *v, const char *dflt, char **out)
{
    if (v == NULL) {
        *out = mem_strdup(dflt);
        return 0;
    }
    if (!json_is_string(v))
        return cfgread_fail_at(r, key, "expected a string, got %s", cfgread_type_name(v));
    *out = mem_strndup(json_string_value(v), json_string_length(v));
    return 0;
}

int cfgfamily_read_group(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base)
{
    char **out = (char **)(void *)((char *)base + k->off);

    (void)obj;
    if (plain_string(r, k->name, v, "", out) < 0)
        return ERRCODE_CONFIG;
    if (v != NULL && !valid_group(*out))
        return cfgread_fail_at(r, k->name, "\"%s\" is not a group name ([A-Za-z0-9_.-]+)", *out);
    return 0;
}

static int unit_from(struct cfgread *r, const char *key, json_t *v, const char *dflt, char **out)
{
    if (plain_string(r, key, v, dflt, out) < 0)
        return ERRCODE_CONFIG;
    if (v != NULL && !valid_unit(*out))
        return cfgread_fail_at(r, key, "\"%s\" is not a unit ([a-z_]+)", *out);
    return 0;
}

int cfgfamily_read_unit(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    (void)obj;
    return unit_from(r, k->name, v, k->sdflt, (char **)(void *)((char *)base + k->off));
}

/* A value that can appear as a label value: jansson has already checked that it is UTF-8. */
int cfgfamily_label_value(struct cfgread *r, const struct config *c, json_t *v, const char *what,
                          char **out)
{
    size_t len;

    if (!json_is_string(v))
        return cfgread_fail(r, "expected %s (a string), got %s", what, cfgread_type_name(v));
    len = json_string_length(v);
    if (len == 0)
        return cfgread_fail(r, "%s must not be empty", what);
    if (len > c->max_label_value_len)
        return cfgread_fail(r, "%s is longer than max_label_value_length (%zu bytes)", what,
                            c->max_label_value_len);
    *out = mem_strndup(json_string_value(v), len);
    return 0;
}

/*
 * Whether a tag can carry s as its value, by the parser's rules (statsd.c, parse_tags):
 *
 *   x:1|c|#reason:a,b|@0.5
 *                  ^ ^ a value ends at ',' or '|'; a control byte is invalid_tag
 *
 * An enumerated value that breaks them could never match a line. Returns NULL or what is
 * wrong; the length is label_value()'s, since max_label_value_length <= STATSD_MAX_TAG_VALUE.
 */
static const char *tag_value_problem(const char *s, size_t len, char buf[32])
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == ',' || ch == '|') {
            snprintf(buf, 32, "contains '%c'", ch);
            return buf;
        }
        if (ch < 0x20 || ch == 0x7f) {
            snprintf(buf, 32, "contains the control byte 0x%02x", ch);
            return buf;
        }
    }
    /* jansson has checked already; the parser's own check is the one that counts. */
    return statsd_utf8_valid(s, len) ? NULL : "is not valid UTF-8";
}

static int parse_values(struct cfgread *r, const struct config *c, json_t *arr,
                        struct config_label *l)
{
    size_t old = cfgread_push_key(r, "values");
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return cfgread_fail(r, "expected a non-empty array of strings, got %s",
                            json_is_array(arr) ? "an empty array" : cfgread_type_name(arr));
    l->nvalues = json_array_size(arr);
    l->values = mem_calloc(l->nvalues, sizeof(*l->values));
    for (i = 0; i < l->nvalues; i++) {
        size_t o = cfgread_push_index(r, i);
        json_t *v = json_array_get(arr, i);
        const char *problem;
        char buf[32], q[260];

        if (cfgfamily_label_value(r, c, v, "a label value", &l->values[i]) < 0)
            return ERRCODE_CONFIG;
        problem = tag_value_problem(json_string_value(v), json_string_length(v), buf);
        if (problem != NULL)
            return cfgread_fail(r,
                                "\"%s\" %s: no tag can carry it (PROTOCOL.md \"Tags\": a value "
                                "holds no ',', '|' or control character)",
                                cfgread_shown(q, json_string_value(v), json_string_length(v)),
                                problem);
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->values[j], l->values[i]) == 0)
                return cfgread_fail(r, "duplicate value \"%s\"", l->values[i]);
        cfgread_pop(r, o);
    }
    if (l->nvalues > UINT32_MAX)
        return cfgread_fail(r, "too many values");
    l->max_values = (uint32_t)l->nvalues;
    cfgread_pop(r, old);
    return 0;
}

/* What a family's label object may hold. */
static const struct cfgread_key label_keys[] = {
    { .name = "name", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
    { .name = "values", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
    { .name = "max_values", .kind = CFGREAD_UINT32, .off = CFGREAD_NOWHERE },
    { .name = "pattern", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
    { .name = "overflow", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
};

/* What an SQL metric's label object may hold: its values come from a result column. */
static const struct cfgread_key sql_label_keys[] = {
    { .name = "name", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
    { .name = "values", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
    { .name = "max_values", .kind = CFGREAD_UINT32, .off = CFGREAD_NOWHERE },
    { .name = "column", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
};

/*
 * "pattern": a POSIX extended regular expression (regcomp(3), the C library's own), which
 * a value must match whole: labelset takes a match only when it spans the value, which
 * POSIX's leftmost-longest rule finds whenever one exists. (Wrapping the text as
 * ^(pattern)$ would let a pattern such as "[0-9]+)|(x" close the group and match a prefix
 * or a suffix.) Only capped labels take one; an enumerated label already says which values
 * it allows.
 */
static int read_pattern(struct cfgread *r, json_t *v, struct config_label *l)
{
    size_t old = cfgread_push_key(r, "pattern"), len;
    char msg[160], q[260];
    int rc;

    if (!json_is_string(v))
        return cfgread_fail(r, "expected a string, got %s", cfgread_type_name(v));
    len = json_string_length(v);
    if (len == 0 || len > CONFIG_MAX_PATTERN_LEN || strlen(json_string_value(v)) != len)
        return cfgread_fail(r, "expected 1 to %d bytes and no NUL, got %zu bytes",
                            CONFIG_MAX_PATTERN_LEN, len);
    if (l->values != NULL)
        return cfgread_fail(r, "a label with \"values\" allows those only; \"pattern\" is for "
                               "a capped label (\"max_values\")");
    l->pattern = mem_strndup(json_string_value(v), len);
    l->pattern_re = mem_calloc(1, sizeof(*l->pattern_re));
    rc = regcomp(l->pattern_re, l->pattern, REG_EXTENDED);
    if (rc != 0) {
        regerror(rc, l->pattern_re, msg, sizeof(msg));
        free(l->pattern_re); /* regcomp leaves nothing to regfree() when it fails */
        l->pattern_re = NULL;
        return cfgread_fail(r, "\"%s\" is not a POSIX extended regular expression: %s",
                            cfgread_shown(q, l->pattern, len), msg);
    }
    cfgread_pop(r, old);
    return 0;
}

/* "overflow": the value a line's value folds into instead of being rejected. */
static int read_overflow(struct cfgread *r, const struct config *c, json_t *v,
                         struct config_label *l)
{
    size_t old = cfgread_push_key(r, "overflow");
    const char *problem;
    char buf[32], q[260];

    if (cfgfamily_label_value(r, c, v, "the overflow value", &l->overflow) < 0)
        return ERRCODE_CONFIG;
    problem = tag_value_problem(l->overflow, strlen(l->overflow), buf);
    if (problem != NULL)
        return cfgread_fail(r,
                            "\"%s\" %s: a label value holds no ',', '|' or control character "
                            "(PROTOCOL.md \"Tags\")",
                            cfgread_shown(q, l->overflow, strlen(l->overflow)), problem);
    cfgread_pop(r, old);
    return 0;
}

/* One label of a family (column == NULL) or of an SQL metric (its result column). */
static int parse_label(struct cfgread *r, const struct config *c, json_t *v, struct config_label *l,
                       int histogram, char **column)
{
    const struct cfgread_key max_values = { .name = "max_values",
                                            .kind = CFGREAD_UINT32,
                                            .off = offsetof(struct config_label, max_values),
                                            .udflt = c->max_label_values,
                                            .umin = 1,
                                            .umax = UINT32_MAX };
    json_t *values, *name;

    json_t *pattern, *overflow;

    if (cfgread_object(r, v) < 0 ||
        (column ? cfgread_known(r, v, sql_label_keys, ARRAY_SIZE(sql_label_keys))
                : cfgread_known(r, v, label_keys, ARRAY_SIZE(label_keys))) < 0)
        return ERRCODE_CONFIG;
    values = json_object_get(v, "values");
    name = json_object_get(v, "name");
    if (name == NULL)
        return cfgread_fail_at(r, "name", "missing");
    if (plain_string(r, "name", name, "", &l->name) < 0)
        return ERRCODE_CONFIG;
    if (!config_valid_name(l->name))
        return cfgread_fail_at(r, "name",
                               "\"%s\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not "
                               "starting with \"__\")",
                               l->name);
    if (histogram && strcmp(l->name, "le") == 0)
        return cfgread_fail_at(r, "name", "\"le\" is reserved for histogram buckets");
    if (column) {
        const struct cfgread_key col = { .name = "column",
                                         .kind = CFGREAD_STRING,
                                         .flags = CFGREAD_NONEMPTY,
                                         .off = 0,
                                         .sdflt = l->name };

        if (cfgread_row(r, v, &col, column) < 0)
            return ERRCODE_CONFIG;
    }
    if (values != NULL && json_object_get(v, "max_values") != NULL)
        return cfgread_fail(r, "\"values\" and \"max_values\" are exclusive");
    if ((values != NULL ? parse_values(r, c, values, l) : cfgread_row(r, v, &max_values, l)) < 0)
        return ERRCODE_CONFIG;
    pattern = json_object_get(v, "pattern");
    overflow = json_object_get(v, "overflow");
    if (pattern != NULL && read_pattern(r, pattern, l) < 0)
        return ERRCODE_CONFIG;
    return overflow != NULL ? read_overflow(r, c, overflow, l) : 0;
}

int cfgfamily_labels(struct cfgread *r, const struct config *c, json_t *obj,
                     struct config_label **labels, size_t *nlabels, int histogram, char ***columns)
{
    json_t *arr = json_object_get(obj, "labels");
    size_t old, n;

    if (arr == NULL)
        return 0;
    old = cfgread_push_key(r, "labels");
    if (!json_is_array(arr))
        return cfgread_fail(r, "expected an array of label objects, got %s",
                            cfgread_type_name(arr));
    n = json_array_size(arr);
    if (n > CONFIG_MAX_LABELS)
        return cfgread_fail(r, "%zu labels, at most %d are allowed", n, CONFIG_MAX_LABELS);
    *labels = mem_calloc(n, sizeof(**labels));
    *nlabels = n;
    if (columns)
        *columns = mem_calloc(n, sizeof(**columns));
    for (size_t i = 0; i < n; i++) {
        size_t o = cfgread_push_index(r, i);

        if (parse_label(r, c, json_array_get(arr, i), &(*labels)[i], histogram,
                        columns ? &(*columns)[i] : NULL) < 0)
            return ERRCODE_CONFIG;
        for (size_t j = 0; j < i; j++)
            if (strcmp((*labels)[j].name, (*labels)[i].name) == 0)
                return cfgread_fail_at(r, "name", "duplicate label \"%s\"", (*labels)[i].name);
        cfgread_pop(r, o);
    }
    cfgread_pop(r, old);
    return 0;
}

/* ---- families ---- */

static int read_family_name(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base)
{
    struct config_family *f = base;

    (void)v;
    return cfgfamily_metric_name(r, obj, k->name, f->type == FAMILY_COUNTER, 1, &f->name);
}

/* Histograms are in seconds unless they say otherwise; "ms" lines are kept unchanged. */
static int read_family_unit(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base)
{
    struct config_family *f = base;

    (void)obj;
    if (unit_from(r, k->name, v, f->type == FAMILY_HISTOGRAM ? "seconds" : "", &f->unit) < 0)
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
    return cfgfamily_labels(r, r->root, obj, &f->labels, &f->nlabels, f->type == FAMILY_HISTOGRAM,
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
        if (f->type == FAMILY_HISTOGRAM)
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

/* $.families[i], read in this order: the type decides the name's, unit's and buckets' rules. */
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
      .read = cfgfamily_read_group },
    { .name = "labels",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_family_labels },
    { .name = "buckets", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_buckets },
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

int cfgfamily_families(struct cfgread *r, struct config *c, json_t *arr)
{
    size_t old = cfgread_push_key(r, "families");

    c->nfamilies = json_array_size(arr); /* 0 when not an array */
    c->families = mem_calloc(c->nfamilies, sizeof(*c->families));
    if (cfgread_objects(r, arr, "family objects", family_keys, ARRAY_SIZE(family_keys), c->families,
                        sizeof(*c->families)) < 0)
        return ERRCODE_CONFIG;
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
        if (cfgfamily_label_value(r, c, v, "the value", &value) < 0)
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

        if (!json_is_string(v) || !valid_group(json_string_value(v)))
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

void cfgfamily_free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void cfgfamily_release_labels(struct config_label *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(labels[i].name);
        cfgfamily_free_strings(labels[i].values, labels[i].nvalues);
        free(labels[i].pattern);
        if (labels[i].pattern_re != NULL)
            regfree(labels[i].pattern_re);
        free(labels[i].pattern_re);
        free(labels[i].overflow);
    }
    free(labels);
}

void cfgfamily_release(struct config *c)
{
    for (size_t i = 0; i < c->nresource; i++) {
        free(c->resource[i].key);
        free(c->resource[i].value);
    }
    free(c->resource);
    cfgfamily_free_strings(c->strip_tags, c->nstrip_tags);
    c->strip_tags = NULL;
    c->nstrip_tags = 0;
    cfgfamily_free_strings(c->include_groups, c->ninclude_groups);
    cfgfamily_free_strings(c->exclude_groups, c->nexclude_groups);
    for (size_t i = 0; i < c->nfamilies; i++) {
        struct config_family *f = &c->families[i];

        free(f->name);
        free(f->help);
        free(f->unit);
        free(f->group);
        free(f->buckets);
        cfgfamily_release_labels(f->labels, f->nlabels);
    }
    free(c->families);
    c->resource = NULL;
    c->nresource = 0;
    c->include_groups = c->exclude_groups = NULL;
    c->ninclude_groups = c->nexclude_groups = 0;
    c->families = NULL;
    c->nfamilies = 0;
}
