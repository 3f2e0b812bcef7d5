#include "config/cfgmetric.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
#include "config/cfgregex.h"
#include "statsd.h"

/*
 * Ownership is simple on purpose: every array is allocated zeroed at its final size and its
 * count set at once, so cfgload_release() can free a half-filled struct config and no error
 * path needs its own cleanup.
 */

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
int cfgmetric_name(struct cfgread *r, json_t *obj, const char *key, int counter, int family,
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

int cfgmetric_valid_group(const char *s)
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

int cfgmetric_read_group(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base)
{
    char **out = (char **)(void *)((char *)base + k->off);

    (void)obj;
    if (plain_string(r, k->name, v, "", out) < 0)
        return ERRCODE_CONFIG;
    if (v != NULL && !cfgmetric_valid_group(*out))
        return cfgread_fail_at(r, k->name, "\"%s\" is not a group name ([A-Za-z0-9_.-]+)", *out);
    return 0;
}

int cfgmetric_unit(struct cfgread *r, const char *key, json_t *v, const char *dflt, char **out)
{
    if (plain_string(r, key, v, dflt, out) < 0)
        return ERRCODE_CONFIG;
    if (v != NULL && !valid_unit(*out))
        return cfgread_fail_at(r, key, "\"%s\" is not a unit ([a-z_]+)", *out);
    return 0;
}

int cfgmetric_read_unit(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    (void)obj;
    return cfgmetric_unit(r, k->name, v, k->sdflt, (char **)(void *)((char *)base + k->off));
}

/* A value that can appear as a label value: jansson has already checked that it is UTF-8. */
int cfgmetric_label_value(struct cfgread *r, const struct config *c, json_t *v, const char *what,
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

        if (cfgmetric_label_value(r, c, v, "a label value", &l->values[i]) < 0)
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
    { .name = "pattern", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
    { .name = "overflow", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE },
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
    char msg[320], q[260];
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
    if (cfgregex_check(json_string_value(v), len, msg, sizeof(msg)) != 0)
        return cfgread_fail(r, "\"%s\" %s", cfgread_shown(q, json_string_value(v), len), msg);
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

    if (cfgmetric_label_value(r, c, v, "the overflow value", &l->overflow) < 0)
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
                       const char *reserved, char **column)
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
    if (reserved != NULL && strcmp(l->name, reserved) == 0)
        return cfgread_fail_at(r, "name", "\"%s\" is reserved for %s", reserved,
                               strcmp(reserved, "le") == 0 ? "histogram buckets"
                                                           : "summary quantiles");
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

int cfgmetric_labels(struct cfgread *r, const struct config *c, json_t *obj,
                     struct config_label **labels, size_t *nlabels, const char *reserved,
                     char ***columns)
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

        if (parse_label(r, c, json_array_get(arr, i), &(*labels)[i], reserved,
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

void cfgmetric_release_labels(struct config_label *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(labels[i].name);
        cfgread_free_strings(labels[i].values, labels[i].nvalues);
        free(labels[i].pattern);
        if (labels[i].pattern_re != NULL)
            regfree(labels[i].pattern_re);
        free(labels[i].pattern_re);
        free(labels[i].overflow);
    }
    free(labels);
}
