#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "mem.h"
#include "statsd.h"

/*
 * The loader walks the document section by section in a fixed order (limits first, since
 * the label rules depend on them) rather than in key order, and keeps the JSON path of the
 * value under inspection in ctx.path so that every message can name it.
 *
 * Ownership is simple on purpose: every array is allocated zeroed at its final size and its
 * count set at once, so config_release() can free a half-filled struct config and no error
 * path needs its own cleanup.
 */

struct ctx {
    struct config *c;
    const char *file;
    const char *basedir; /* for a relative conninfo_file; NULL: the working directory */
    char path[512];
    size_t plen;
    char *err;
    size_t errlen;
};

static const double default_buckets_s[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static const double default_buckets_ms[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

static int fail(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ctx *x, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(x->err, x->errlen, "%s: %s: ", x->file, x->plen ? x->path : "$");
    if (n >= 0 && (size_t)n < x->errlen) {
        va_start(ap, fmt);
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_name_start(char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_name_char(char ch)
{
    return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

/* Keys that are not identifiers ("service.name") are written as $["service.name"]. */
static size_t push_key(struct ctx *x, const char *key)
{
    size_t old = x->plen;
    int ident = is_name_start(key[0]);
    int n;

    for (const char *p = key; *p; p++)
        if (!is_name_char(*p))
            ident = 0;
    if (x->plen == 0)
        x->path[x->plen++] = '$';
    n = snprintf(x->path + x->plen, sizeof(x->path) - x->plen, ident ? ".%s" : "[\"%s\"]", key);
    if (n > 0)
        x->plen +=
            (size_t)n < sizeof(x->path) - x->plen ? (size_t)n : sizeof(x->path) - x->plen - 1;
    return old;
}

static size_t push_index(struct ctx *x, size_t i)
{
    size_t old = x->plen;
    int n;

    if (x->plen == 0)
        x->path[x->plen++] = '$';
    n = snprintf(x->path + x->plen, sizeof(x->path) - x->plen, "[%zu]", i);
    if (n > 0)
        x->plen +=
            (size_t)n < sizeof(x->path) - x->plen ? (size_t)n : sizeof(x->path) - x->plen - 1;
    return old;
}

static void pop(struct ctx *x, size_t old)
{
    x->plen = old;
    x->path[old] = '\0';
}

static int fail_at(struct ctx *x, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct ctx *x, const char *key, const char *fmt, ...)
{
    char msg[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    push_key(x, key);
    return fail(x, "%s", msg);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

/* Unknown keys are errors at every level: a typo must not silently fall back to a default. */
static int check_keys(struct ctx *x, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        size_t i;

        for (i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                break;
        if (allowed[i] == NULL)
            return fail_at(x, key, "unknown key");
    }
    return 0;
}

static int want_object(struct ctx *x, json_t *v)
{
    if (!json_is_object(v))
        return fail(x, "expected an object, got %s", type_name(v));
    return 0;
}

enum { OPT_NULLABLE = 1, OPT_NONEMPTY = 2 };

/* A string member; absent gives a copy of dflt (or NULL), null gives NULL when allowed. */
static int want_string(struct ctx *x, json_t *obj, const char *key, const char *dflt, int opts,
                       char **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL) {
        *out = dflt ? mem_strdup(dflt) : NULL;
        return 0;
    }
    if (json_is_null(v) && (opts & OPT_NULLABLE))
        return 0;
    if (!json_is_string(v))
        return fail_at(x, key, "expected a string%s, got %s",
                       (opts & OPT_NULLABLE) ? " or null" : "", type_name(v));
    if ((opts & OPT_NONEMPTY) && json_string_length(v) == 0)
        return fail_at(x, key, "must not be empty");
    *out = mem_strndup(json_string_value(v), json_string_length(v));
    return 0;
}

static int want_uint(struct ctx *x, json_t *obj, const char *key, uint64_t dflt, uint64_t min,
                     uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    json_int_t n;

    *out = dflt;
    if (v == NULL)
        return 0;
    n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (!json_is_integer(v) || n < 0 || (uint64_t)n < min || (uint64_t)n > max) {
        if (max == UINT32_MAX || max == SIZE_MAX)
            return fail_at(x, key, "expected an integer >= %llu", (unsigned long long)min);
        return fail_at(x, key, "expected an integer from %llu to %llu", (unsigned long long)min,
                       (unsigned long long)max);
    }
    *out = (uint64_t)n;
    return 0;
}

/*
 * A finite number >= min (> min when strict) and <= max. Every caller is a duration that
 * ends up as integer milliseconds: the bound keeps that conversion defined.
 */
static int want_number(struct ctx *x, json_t *obj, const char *key, double dflt, double min,
                       int strict, double max, double *out)
{
    json_t *v = json_object_get(obj, key);
    double d;

    *out = dflt;
    if (v == NULL)
        return 0;
    d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!isfinite(d) || d < min || (strict && d == min) || d > max)
        return fail_at(x, key, "expected a number %s %g and <= %.0f", strict ? ">" : ">=", min,
                       max);
    *out = d;
    return 0;
}

/*
 * A Prometheus name without colons (those belong to recording rules, and ':' ends a
 * statsd name), not starting with the reserved "__".
 */
static int valid_name(const char *s)
{
    if (!is_name_start(s[0]) || (s[0] == '_' && s[1] == '_'))
        return 0;
    for (s++; *s; s++)
        if (!is_name_char(*s))
            return 0;
    return 1;
}

/* name (len bytes, as sent) equals the stored normalised s, reading '.' and '-' as '_'. */
static int name_eq(const char *s, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char ch = name[i] == '.' || name[i] == '-' ? '_' : name[i];

        if (s[i] != ch)
            return 0;
    }
    return s[i] == '\0';
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);

    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/*
 * Family names as services send them ("imgsrv.upload-sessions") become exposition names
 * by mapping '.' and '-' to '_', the same mapping config_find_family() applies to lines.
 */
static int reserved(const char *s)
{
    return strncmp(s, CONFIG_RESERVED_PREFIX, strlen(CONFIG_RESERVED_PREFIX)) == 0 ||
           strncmp(s, CONFIG_RESERVED_PROCESS_PREFIX, strlen(CONFIG_RESERVED_PROCESS_PREFIX)) == 0;
}

/* family: a configured family or SQL metric, which may not take the daemon's own prefixes. */
static int metric_name(struct ctx *x, json_t *obj, const char *key, int counter, int family,
                       char **out)
{
    char *s;
    size_t len;

    if (want_string(x, obj, key, NULL, 0, &s) < 0)
        return -1;
    if (s == NULL)
        return fail_at(x, key, "missing");
    *out = s;
    len = strlen(s);
    if (len > STATSD_MAX_NAME)
        return fail_at(x, key, "\"%s\" is longer than %d bytes", s, STATSD_MAX_NAME);
    for (char *p = s; *p; p++)
        if (*p == '.' || *p == '-')
            *p = '_';
    if (!valid_name(s))
        return fail_at(x, key,
                       "\"%s\" is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*, '.' and '-' "
                       "read as '_', not starting with \"__\")",
                       s);
    if (family && reserved(s))
        return fail_at(x, key,
                       "\"%s\": the prefixes \"%s\" and \"%s\" are reserved for the daemon's own "
                       "metrics",
                       s, CONFIG_RESERVED_PREFIX, CONFIG_RESERVED_PROCESS_PREFIX);
    /* Counters are stored bare so that "x" and "x_total" both find them. */
    if (counter && ends_with(s, len, "_total")) {
        if (len == strlen("_total"))
            return fail_at(x, key, "\"%s\" is empty without \"_total\"", s);
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

static int want_group(struct ctx *x, json_t *obj, char **out)
{
    if (want_string(x, obj, "group", "", 0, out) < 0)
        return -1;
    if (json_object_get(obj, "group") != NULL && !valid_group(*out))
        return fail_at(x, "group", "\"%s\" is not a group name ([A-Za-z0-9_.-]+)", *out);
    return 0;
}

static int want_unit(struct ctx *x, json_t *obj, const char *dflt, char **out)
{
    if (want_string(x, obj, "unit", dflt, 0, out) < 0)
        return -1;
    if (json_object_get(obj, "unit") != NULL && !valid_unit(*out))
        return fail_at(x, "unit", "\"%s\" is not a unit ([a-z_]+)", *out);
    return 0;
}

/* A value that can appear as a label value: jansson has already checked that it is UTF-8. */
static int label_value(struct ctx *x, json_t *v, const char *what, char **out)
{
    size_t len;

    if (!json_is_string(v))
        return fail(x, "expected %s (a string), got %s", what, type_name(v));
    len = json_string_length(v);
    if (len == 0)
        return fail(x, "%s must not be empty", what);
    if (len > x->c->max_label_value_len)
        return fail(x, "%s is longer than max_label_value_length (%zu bytes)", what,
                    x->c->max_label_value_len);
    *out = mem_strndup(json_string_value(v), len);
    return 0;
}

/*
 * s as a message can show it: a value refused for a newline must not break the message
 * in two, so control bytes read \xNN; at most 64 bytes of s. out holds 4 * 64 + 4 bytes.
 */
static const char *shown(char out[260], const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (i == 64) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        if (ch < 0x20 || ch == 0x7f)
            n += (size_t)snprintf(out + n, 5, "\\x%02x", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
    return out;
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

static int parse_values(struct ctx *x, json_t *arr, struct config_label *l)
{
    size_t old = push_key(x, "values");
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(x, "expected a non-empty array of strings, got %s",
                    json_is_array(arr) ? "an empty array" : type_name(arr));
    l->nvalues = json_array_size(arr);
    l->values = mem_calloc(l->nvalues, sizeof(*l->values));
    for (i = 0; i < l->nvalues; i++) {
        size_t o = push_index(x, i);
        json_t *v = json_array_get(arr, i);
        const char *problem;
        char buf[32], q[260];

        if (label_value(x, v, "a label value", &l->values[i]) < 0)
            return -1;
        problem = tag_value_problem(json_string_value(v), json_string_length(v), buf);
        if (problem != NULL)
            return fail(x,
                        "\"%s\" %s: no tag can carry it (PROTOCOL.md \"Tags\": a value holds no "
                        "',', '|' or control character)",
                        shown(q, json_string_value(v), json_string_length(v)), problem);
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->values[j], l->values[i]) == 0)
                return fail(x, "duplicate value \"%s\"", l->values[i]);
        pop(x, o);
    }
    if (l->nvalues > UINT32_MAX)
        return fail(x, "too many values");
    l->max_values = (uint32_t)l->nvalues;
    pop(x, old);
    return 0;
}

/* One label of a family (column == NULL) or of an SQL metric (its result column). */
static int parse_label(struct ctx *x, json_t *v, struct config_label *l, int histogram,
                       char **column)
{
    static const char *const keys[] = { "name", "values", "max_values", NULL };
    static const char *const sql_keys[] = { "name", "column", "values", "max_values", NULL };
    json_t *values;
    uint64_t n;

    if (want_object(x, v) < 0 || check_keys(x, v, column ? sql_keys : keys) < 0)
        return -1;
    values = json_object_get(v, "values");
    if (want_string(x, v, "name", NULL, 0, &l->name) < 0)
        return -1;
    if (l->name == NULL)
        return fail_at(x, "name", "missing");
    if (!valid_name(l->name))
        return fail_at(x, "name",
                       "\"%s\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting "
                       "with \"__\")",
                       l->name);
    if (histogram && strcmp(l->name, "le") == 0)
        return fail_at(x, "name", "\"le\" is reserved for histogram buckets");
    if (column) {
        if (want_string(x, v, "column", l->name, OPT_NONEMPTY, column) < 0)
            return -1;
    }
    if (values != NULL && json_object_get(v, "max_values") != NULL)
        return fail(x, "\"values\" and \"max_values\" are exclusive");
    if (values != NULL)
        return parse_values(x, values, l);
    if (want_uint(x, v, "max_values", x->c->max_label_values, 1, UINT32_MAX, &n) < 0)
        return -1;
    l->max_values = (uint32_t)n;
    return 0;
}

static int parse_labels(struct ctx *x, json_t *obj, struct config_label **labels, size_t *nlabels,
                        int histogram, char ***columns)
{
    json_t *arr = json_object_get(obj, "labels");
    size_t old, n;

    if (arr == NULL)
        return 0;
    old = push_key(x, "labels");
    if (!json_is_array(arr))
        return fail(x, "expected an array of label objects, got %s", type_name(arr));
    n = json_array_size(arr);
    if (n > CONFIG_MAX_LABELS)
        return fail(x, "%zu labels, at most %d are allowed", n, CONFIG_MAX_LABELS);
    *labels = mem_calloc(n, sizeof(**labels));
    *nlabels = n;
    if (columns)
        *columns = mem_calloc(n, sizeof(**columns));
    for (size_t i = 0; i < n; i++) {
        size_t o = push_index(x, i);

        if (parse_label(x, json_array_get(arr, i), &(*labels)[i], histogram,
                        columns ? &(*columns)[i] : NULL) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp((*labels)[j].name, (*labels)[i].name) == 0)
                return fail_at(x, "name", "duplicate label \"%s\"", (*labels)[i].name);
        pop(x, o);
    }
    pop(x, old);
    return 0;
}

static int parse_buckets(struct ctx *x, json_t *arr, struct config_family *f)
{
    size_t old = push_key(x, "buckets");
    size_t n;

    if (f->type != FAMILY_HISTOGRAM)
        return fail(x, "only histograms have buckets");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(x, "expected a non-empty array of numbers, got %s",
                    json_is_array(arr) ? "an empty array" : type_name(arr));
    n = json_array_size(arr);
    if (n > CONFIG_MAX_BUCKETS)
        return fail(x, "%zu buckets, at most %d are allowed", n, CONFIG_MAX_BUCKETS);
    f->buckets = mem_calloc(n, sizeof(*f->buckets));
    f->nbuckets = n;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        size_t o = push_index(x, i);

        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return fail(x, "expected a finite number, got %s", type_name(v));
        f->buckets[i] = json_number_value(v);
        if (i > 0 && !(f->buckets[i] > f->buckets[i - 1]))
            return fail(x, "buckets must be strictly increasing (%g after %g)", f->buckets[i],
                        f->buckets[i - 1]);
        pop(x, o);
    }
    pop(x, old);
    return 0;
}

static int parse_family(struct ctx *x, json_t *v, struct config_family *f)
{
    static const char *const keys[] = { "name",   "type",    "help",        "unit", "group",
                                        "labels", "buckets", "ttl_seconds", NULL };
    json_t *type, *buckets;
    const char *t;

    if (want_object(x, v) < 0 || check_keys(x, v, keys) < 0)
        return -1;
    type = json_object_get(v, "type");
    if (type == NULL)
        return fail_at(x, "type", "missing");
    t = json_is_string(type) ? json_string_value(type) : "";
    if (strcmp(t, "counter") == 0)
        f->type = FAMILY_COUNTER;
    else if (strcmp(t, "gauge") == 0)
        f->type = FAMILY_GAUGE;
    else if (strcmp(t, "histogram") == 0)
        f->type = FAMILY_HISTOGRAM;
    else
        return fail_at(x, "type", "expected \"counter\", \"gauge\" or \"histogram\"");
    if (metric_name(x, v, "name", f->type == FAMILY_COUNTER, 1, &f->name) < 0 ||
        want_string(x, v, "help", "", 0, &f->help) < 0 ||
        want_unit(x, v, f->type == FAMILY_HISTOGRAM ? "seconds" : "", &f->unit) < 0 ||
        want_group(x, v, &f->group) < 0)
        return -1;
    f->unit_ms = strcmp(f->unit, "milliseconds") == 0 || strcmp(f->unit, "ms") == 0;
    if (parse_labels(x, v, &f->labels, &f->nlabels, f->type == FAMILY_HISTOGRAM, NULL) < 0)
        return -1;
    buckets = json_object_get(v, "buckets");
    if (buckets != NULL) {
        if (parse_buckets(x, buckets, f) < 0)
            return -1;
    } else if (f->type == FAMILY_HISTOGRAM) {
        const double *b = f->unit_ms ? default_buckets_ms : default_buckets_s;

        f->nbuckets = f->unit_ms ? sizeof(default_buckets_ms) / sizeof(default_buckets_ms[0])
                                 : sizeof(default_buckets_s) / sizeof(default_buckets_s[0]);
        f->buckets = mem_calloc(f->nbuckets, sizeof(*f->buckets));
        memcpy(f->buckets, b, f->nbuckets * sizeof(*b));
    }
    return want_number(x, v, "ttl_seconds", 0, 0, 0, CONFIG_MAX_TTL_SECONDS, &f->ttl_seconds);
}

static int parse_families(struct ctx *x, json_t *arr)
{
    struct config *c = x->c;
    size_t old = push_key(x, "families");

    if (!json_is_array(arr))
        return fail(x, "expected an array of family objects, got %s", type_name(arr));
    c->nfamilies = json_array_size(arr);
    c->families = mem_calloc(c->nfamilies, sizeof(*c->families));
    for (size_t i = 0; i < c->nfamilies; i++) {
        size_t o = push_index(x, i);

        if (parse_family(x, json_array_get(arr, i), &c->families[i]) < 0)
            return -1;
        pop(x, o);
    }
    pop(x, old);
    return 0;
}

static int parse_socket_mode(struct ctx *x, json_t *d)
{
    json_t *v = json_object_get(d, "socket_mode");
    const char *s;
    unsigned long mode = 0;
    size_t len;

    x->c->socket_mode = CONFIG_DEFAULT_SOCKET_MODE;
    if (v == NULL)
        return 0;
    s = json_is_string(v) ? json_string_value(v) : "";
    len = strlen(s);
    /* A string, not a number: JSON has no octal, and 660 read as decimal is mode 01224. */
    if (len == 0 || len > 4 || strspn(s, "01234567") != len || (mode = strtoul(s, NULL, 8)) > 0777)
        return fail_at(x, "socket_mode", "expected an octal string such as \"0660\", at most 0777");
    x->c->socket_mode = (uint32_t)mode;
    return 0;
}

/* "" (disabled), "unix:/path" or "host:port" with a port from 1 to 65535. */
static int valid_listen(const char *s)
{
    const char *colon;
    char *end;
    long port;

    if (*s == '\0')
        return 1;
    if (strncmp(s, "unix:", 5) == 0)
        return s[5] == '/' && strlen(s + 5) <= CONFIG_SOCKET_PATH_MAX;
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] < '0' || colon[1] > '9')
        return 0;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && port >= 1 && port <= 65535;
}

static int want_listen(struct ctx *x, json_t *d, const char *key, const char *dflt, int opts,
                       char **out)
{
    if (want_string(x, d, key, dflt, opts, out) < 0)
        return -1;
    if (*out != NULL && !valid_listen(*out))
        return fail_at(x, key, "\"%s\" is not \"host:port\", \"unix:/path\" or \"\"", *out);
    return 0;
}

static int parse_daemon(struct ctx *x, json_t *d)
{
    static const char *const keys[] = {
        "socket",       "socket_mode", "socket_group", "metrics_listen",    "metrics_path",
        "debug_listen", "log_format",  "log_level",    "bearer_token_file", NULL
    };
    struct config *c = x->c;
    size_t old = push_key(x, "daemon");

    if (d != NULL && (want_object(x, d) < 0 || check_keys(x, d, keys) < 0))
        return -1;
    if (d == NULL)
        d = json_object(); /* borrowed reads of an empty object give every default */
    else
        json_incref(d);
    if (want_string(x, d, "socket", CONFIG_DEFAULT_SOCKET, OPT_NONEMPTY, &c->socket_path) < 0 ||
        parse_socket_mode(x, d) < 0 ||
        want_string(x, d, "socket_group", NULL, OPT_NULLABLE | OPT_NONEMPTY, &c->socket_group) <
            0 ||
        want_listen(x, d, "metrics_listen", CONFIG_DEFAULT_METRICS_LISTEN, 0, &c->metrics_listen) <
            0 ||
        want_string(x, d, "metrics_path", CONFIG_DEFAULT_METRICS_PATH, 0, &c->metrics_path) < 0 ||
        want_listen(x, d, "debug_listen", NULL, OPT_NULLABLE, &c->debug_listen) < 0 ||
        want_string(x, d, "log_format", "console", 0, &c->log_format) < 0 ||
        want_string(x, d, "log_level", "info", 0, &c->log_level) < 0 ||
        want_string(x, d, "bearer_token_file", NULL, OPT_NULLABLE | OPT_NONEMPTY,
                    &c->bearer_token_file) < 0)
        goto fail;
    if (strlen(c->socket_path) > CONFIG_SOCKET_PATH_MAX) {
        fail_at(x, "socket", "longer than %d bytes (sun_path)", CONFIG_SOCKET_PATH_MAX);
        goto fail;
    }
    if (c->metrics_path[0] != '/') {
        fail_at(x, "metrics_path", "must start with '/'");
        goto fail;
    }
    if (strcmp(c->log_format, "console") != 0 && strcmp(c->log_format, "json") != 0) {
        fail_at(x, "log_format", "expected \"console\" or \"json\"");
        goto fail;
    }
    if (strcmp(c->log_level, "debug") != 0 && strcmp(c->log_level, "info") != 0 &&
        strcmp(c->log_level, "warn") != 0 && strcmp(c->log_level, "error") != 0) {
        fail_at(x, "log_level", "expected \"debug\", \"info\", \"warn\" or \"error\"");
        goto fail;
    }
    json_decref(d);
    pop(x, old);
    return 0;
fail:
    json_decref(d);
    return -1;
}

static int parse_limits(struct ctx *x, json_t *l)
{
    static const char *const keys[] = { "max_series", "max_series_per_family",
                                        "max_label_value_length", "max_label_values", NULL };
    struct config *c = x->c;
    size_t old = push_key(x, "limits");
    uint64_t a = CONFIG_DEFAULT_MAX_SERIES, b = CONFIG_DEFAULT_MAX_FAMILY_SERIES;
    uint64_t len = CONFIG_DEFAULT_MAX_LABEL_LEN, vals = CONFIG_DEFAULT_MAX_LABEL_VALUES;

    if (l != NULL) {
        if (want_object(x, l) < 0 || check_keys(x, l, keys) < 0 ||
            want_uint(x, l, "max_series", a, 1, SIZE_MAX, &a) < 0 ||
            want_uint(x, l, "max_series_per_family", b, 1, SIZE_MAX, &b) < 0 ||
            /* A longer value could never arrive: the wire protocol caps tag values. */
            want_uint(x, l, "max_label_value_length", len, 1, STATSD_MAX_TAG_VALUE, &len) < 0 ||
            want_uint(x, l, "max_label_values", vals, 1, UINT32_MAX, &vals) < 0)
            return -1;
    }
    c->max_series = (size_t)a;
    c->max_series_per_family = (size_t)b;
    c->max_label_value_len = (size_t)len;
    c->max_label_values = (uint32_t)vals;
    pop(x, old);
    return 0;
}

static int cmp_attr(const void *a, const void *b)
{
    return strcmp(((const struct config_resource_attr *)a)->key,
                  ((const struct config_resource_attr *)b)->key);
}

static int parse_resource(struct ctx *x, json_t *r)
{
    struct config *c = x->c;
    size_t old = push_key(x, "resource");
    const char *key;
    json_t *v;
    size_t i = 0;

    if (want_object(x, r) < 0)
        return -1;
    if (json_object_size(r) > CONFIG_MAX_RESOURCE_ATTRS)
        return fail(x, "%zu attributes, at most %d are allowed", json_object_size(r),
                    CONFIG_MAX_RESOURCE_ATTRS);
    c->nresource = json_object_size(r);
    c->resource = mem_calloc(c->nresource, sizeof(*c->resource));
    json_object_foreach(r, key, v)
    {
        struct config_resource_attr *a = &c->resource[i++];
        size_t o = push_key(x, key);

        /* Kept as given; target_info writes them as labels, '.' and '-' becoming '_'. */
        a->key = mem_strdup(key);
        if (strlen(key) > CONFIG_MAX_RESOURCE_KEY)
            return fail(x, "the key is longer than %d bytes", CONFIG_MAX_RESOURCE_KEY);
        for (char *p = a->key; *p; p++)
            if (*p == '.' || *p == '-')
                *p = '_';
        if (!valid_name(a->key))
            return fail(x, "the key is not a valid label name once '.' and '-' read as '_'");
        for (size_t j = 0; j + 1 < i; j++)
            if (name_eq(a->key, c->resource[j].key, strlen(c->resource[j].key)))
                return fail(x, "the key clashes with \"%s\" once '.' and '-' read as '_'",
                            c->resource[j].key);
        strcpy(a->key, key);
        if (label_value(x, v, "the value", &a->value) < 0)
            return -1;
        pop(x, o);
    }
    /* Object order is not meaningful in JSON; sorted keys make target_info deterministic. */
    if (c->nresource > 1)
        qsort(c->resource, c->nresource, sizeof(*c->resource), cmp_attr);
    pop(x, old);
    return 0;
}

static int group_list(struct ctx *x, json_t *arr, char ***out, size_t *n)
{
    if (!json_is_array(arr))
        return fail(x, "expected an array of group names, got %s", type_name(arr));
    *n = json_array_size(arr);
    *out = mem_calloc(*n, sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(arr, i);
        size_t o = push_index(x, i);

        if (!json_is_string(v) || !valid_group(json_string_value(v)))
            return fail(x, "expected a group name ([A-Za-z0-9_.-]+), got %s", type_name(v));
        (*out)[i] = mem_strdup(json_string_value(v));
        pop(x, o);
    }
    return 0;
}

static int parse_groups(struct ctx *x, json_t *g)
{
    static const char *const keys[] = { "include", "exclude", NULL };
    struct config *c = x->c;
    size_t old = push_key(x, "groups");
    json_t *inc, *exc;

    if (want_object(x, g) < 0 || check_keys(x, g, keys) < 0)
        return -1;
    inc = json_object_get(g, "include");
    exc = json_object_get(g, "exclude");
    if (inc != NULL) {
        size_t o = push_key(x, "include");

        if (json_is_string(inc)) {
            if (strcmp(json_string_value(inc), "all") != 0)
                return fail(x, "expected \"all\" or an array of group names");
        } else if (group_list(x, inc, &c->include_groups, &c->ninclude_groups) < 0) {
            /* An empty list is not NULL (mem_calloc never is): it includes nothing. */
            return -1;
        }
        pop(x, o);
    }
    if (exc != NULL) {
        size_t o = push_key(x, "exclude");

        if (group_list(x, exc, &c->exclude_groups, &c->nexclude_groups) < 0)
            return -1;
        pop(x, o);
    }
    pop(x, old);
    return 0;
}

static int in_list(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int group_excluded(const struct config *c, const char *group)
{
    if (group[0] == '\0')
        return 0;
    if (in_list(c->exclude_groups, c->nexclude_groups, group))
        return 1;
    return c->include_groups != NULL && !in_list(c->include_groups, c->ninclude_groups, group);
}

/*
 * A job line carries the job where a metric name goes (PROTOCOL.md "The job extension"),
 * and config_find_job() matches it as sent, so the name must be one a line can hold:
 *
 *   cas-promotion:error|j
 *   ^^^^^^^^^^^^^ [A-Za-z_][A-Za-z0-9_.-]*, 1 to STATSD_MAX_NAME bytes
 */
static int valid_job_name(const char *s, size_t len)
{
    if (len == 0 || len > STATSD_MAX_NAME || !is_name_start(s[0]))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_name_char(s[i]) && s[i] != '.' && s[i] != '-')
            return 0;
    return 1;
}

static int parse_job(struct ctx *x, json_t *v, struct config_job *j, uint64_t threshold,
                     double open)
{
    static const char *const keys[] = { "name", "failure_threshold", "open_seconds", NULL };
    json_t *name = v;

    if (json_is_object(v)) {
        if (check_keys(x, v, keys) < 0)
            return -1;
        name = json_object_get(v, "name");
        if (name == NULL)
            return fail_at(x, "name", "missing");
        if (want_uint(x, v, "failure_threshold", threshold, 1, UINT32_MAX, &threshold) < 0 ||
            want_number(x, v, "open_seconds", open, 0, 1, CONFIG_MAX_OPEN_SECONDS, &open) < 0)
            return -1;
        push_key(x, "name");
    } else if (!json_is_string(v)) {
        return fail(x, "expected a job name or a job object, got %s", type_name(v));
    }
    if (label_value(x, name, "a job name", &j->name) < 0)
        return -1;
    if (!valid_job_name(json_string_value(name), json_string_length(name))) {
        char q[260];

        return fail(x,
                    "\"%s\" is not a valid job name: job lines carry it as a metric name "
                    "([A-Za-z_][A-Za-z0-9_.-]*, at most %d bytes)",
                    shown(q, json_string_value(name), json_string_length(name)), STATSD_MAX_NAME);
    }
    j->failure_threshold = (uint32_t)threshold;
    j->open_seconds = open;
    return 0;
}

static int parse_jobs(struct ctx *x, json_t *s)
{
    static const char *const keys[] = { "prefix", "failure_threshold", "open_seconds", "list",
                                        NULL };
    struct config *c = x->c;
    size_t old = push_key(x, "jobs");
    uint64_t threshold;
    double open;
    json_t *list;

    if (want_object(x, s) < 0 || check_keys(x, s, keys) < 0)
        return -1;
    if (json_object_get(s, "prefix") != NULL) {
        free(c->job_prefix);
        c->job_prefix = NULL;
        if (metric_name(x, s, "prefix", 0, 0, &c->job_prefix) < 0)
            return -1;
    }
    if (want_uint(x, s, "failure_threshold", CONFIG_DEFAULT_FAILURE_THRESHOLD, 1, UINT32_MAX,
                  &threshold) < 0 ||
        want_number(x, s, "open_seconds", CONFIG_DEFAULT_OPEN_SECONDS, 0, 1,
                    CONFIG_MAX_OPEN_SECONDS, &open) < 0)
        return -1;
    list = json_object_get(s, "list");
    if (list != NULL) {
        size_t o = push_key(x, "list");

        if (!json_is_array(list))
            return fail(x, "expected an array of jobs, got %s", type_name(list));
        c->njobs = json_array_size(list);
        c->jobs = mem_calloc(c->njobs, sizeof(*c->jobs));
        for (size_t i = 0; i < c->njobs; i++) {
            size_t oi = push_index(x, i);

            if (parse_job(x, json_array_get(list, i), &c->jobs[i], threshold, open) < 0)
                return -1;
            for (size_t k = 0; k < i; k++)
                if (strcmp(c->jobs[k].name, c->jobs[i].name) == 0)
                    return fail(x, "duplicate job \"%s\"", c->jobs[i].name);
            pop(x, oi);
        }
        pop(x, o);
    }
    pop(x, old);
    return 0;
}

/* Read a whole file, at most max bytes; errno is set on failure. */
static char *read_file(const char *path, size_t max, size_t *len, int *too_big)
{
    struct buf b = BUF_INIT;
    FILE *f = fopen(path, "rb");
    size_t n;

    *too_big = 0;
    if (f == NULL)
        return NULL;
    do {
        buf_grow(&b, 4096);
        n = fread(b.ptr + b.len, 1, b.cap - b.len - 1, f);
        b.len += n;
        if (b.len > max) {
            *too_big = 1;
            break;
        }
    } while (n > 0);
    if (*too_big || ferror(f)) {
        int e = ferror(f) ? errno : EFBIG;

        fclose(f);
        buf_release(&b);
        errno = e;
        return NULL;
    }
    fclose(f);
    buf_grow(&b, 0);
    b.ptr[b.len] = '\0';
    return buf_detach(&b, len);
}

static int read_conninfo(struct ctx *x, const char *file)
{
    struct buf path = BUF_INIT;
    size_t len;
    int too_big;
    char *s;

    if (file[0] != '/' && x->basedir != NULL)
        buf_addf(&path, "%s/%s", x->basedir, file);
    else
        buf_adds(&path, file);
    s = read_file(path.ptr, CONFIG_MAX_CONNINFO_FILE_SIZE, &len, &too_big);
    if (s == NULL) {
        fail_at(x, "conninfo_file", "cannot read %s: %s", path.ptr,
                too_big ? "larger than 64 KiB" : strerror(errno));
        buf_release(&path);
        return -1;
    }
    buf_release(&path);
    while (len > 0 &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    x->c->pg_conninfo = s;
    if (len == 0 || memchr(s, '\0', len) != NULL)
        return fail_at(x, "conninfo_file", "%s", len ? "contains a NUL byte" : "is empty");
    return 0;
}

static int parse_postgres(struct ctx *x, json_t *p)
{
    static const char *const keys[] = { "conninfo",
                                        "conninfo_file",
                                        "pool_size",
                                        "connect_timeout_seconds",
                                        "statement_timeout_seconds",
                                        NULL };
    struct config *c = x->c;
    size_t old = push_key(x, "postgres");
    char *file = NULL;
    uint64_t pool;
    int rc;

    if (want_object(x, p) < 0 || check_keys(x, p, keys) < 0)
        return -1;
    c->has_postgres = 1;
    if ((json_object_get(p, "conninfo") != NULL) == (json_object_get(p, "conninfo_file") != NULL))
        return fail(x, "exactly one of \"conninfo\" and \"conninfo_file\" is required");
    if (want_string(x, p, "conninfo", NULL, OPT_NONEMPTY, &c->pg_conninfo) < 0 ||
        want_string(x, p, "conninfo_file", NULL, OPT_NONEMPTY, &file) < 0)
        return -1;
    rc = file != NULL ? read_conninfo(x, file) : 0;
    free(file);
    if (rc < 0 ||
        want_uint(x, p, "pool_size", CONFIG_DEFAULT_PG_POOL_SIZE, 1, CONFIG_MAX_PG_POOL_SIZE,
                  &pool) < 0 ||
        want_number(x, p, "connect_timeout_seconds", CONFIG_DEFAULT_PG_CONNECT_TIMEOUT, 0, 1,
                    CONFIG_MAX_TIMEOUT_SECONDS, &c->pg_connect_timeout) < 0 ||
        want_number(x, p, "statement_timeout_seconds", CONFIG_DEFAULT_PG_STATEMENT_TIMEOUT, 0, 1,
                    CONFIG_MAX_TIMEOUT_SECONDS, &c->pg_statement_timeout) < 0)
        return -1;
    c->pg_pool_size = (uint32_t)pool;
    pop(x, old);
    return 0;
}

static int parse_sql_metric(struct ctx *x, json_t *v, struct config_sql_metric *m)
{
    static const char *const keys[] = { "name",
                                        "help",
                                        "unit",
                                        "group",
                                        "query",
                                        "labels",
                                        "value_column",
                                        "min_interval_seconds",
                                        "timeout_seconds",
                                        NULL };

    if (want_object(x, v) < 0 || check_keys(x, v, keys) < 0 ||
        metric_name(x, v, "name", 0, 1, &m->name) < 0 ||
        want_string(x, v, "help", "", 0, &m->help) < 0 || want_unit(x, v, "", &m->unit) < 0 ||
        want_group(x, v, &m->group) < 0 ||
        want_string(x, v, "query", NULL, OPT_NONEMPTY, &m->query) < 0)
        return -1;
    if (m->query == NULL)
        return fail_at(x, "query", "missing");
    if (parse_labels(x, v, &m->labels, &m->nlabels, 0, &m->label_columns) < 0 ||
        want_string(x, v, "value_column", NULL, OPT_NONEMPTY, &m->value_column) < 0)
        return -1;
    if (m->value_column == NULL)
        return fail_at(x, "value_column", "missing");
    for (size_t i = 0; i < m->nlabels; i++)
        if (strcmp(m->label_columns[i], m->value_column) == 0)
            return fail_at(x, "value_column", "\"%s\" is also a label column", m->value_column);
    if (want_number(x, v, "min_interval_seconds", CONFIG_DEFAULT_SQL_MIN_INTERVAL, 0, 0,
                    CONFIG_MAX_SQL_MIN_INTERVAL, &m->min_interval_seconds) < 0)
        return -1;
    return want_number(x, v, "timeout_seconds", CONFIG_DEFAULT_SQL_TIMEOUT, 0, 1,
                       CONFIG_MAX_TIMEOUT_SECONDS, &m->timeout_seconds);
}

static int parse_sql_metrics(struct ctx *x, json_t *arr)
{
    struct config *c = x->c;
    size_t old = push_key(x, "sql_metrics");

    if (!json_is_array(arr))
        return fail(x, "expected an array of SQL metric objects, got %s", type_name(arr));
    c->nsql_metrics = json_array_size(arr);
    c->sql_metrics = mem_calloc(c->nsql_metrics, sizeof(*c->sql_metrics));
    for (size_t i = 0; i < c->nsql_metrics; i++) {
        size_t o = push_index(x, i);

        if (parse_sql_metric(x, json_array_get(arr, i), &c->sql_metrics[i]) < 0)
            return -1;
        pop(x, o);
    }
    if (c->nsql_metrics > 0 && !c->has_postgres)
        return fail(x, "SQL metrics need a \"postgres\" section");
    pop(x, old);
    return 0;
}

/*
 * Name clashes are judged on the names an exposition writes, not on the configured ones:
 * a counter "x" writes x_total, so it clashes with a gauge "x_total" although the stored
 * names differ; a histogram "x" writes x_bucket, x_sum and x_count.
 */
/* The generated families sort first, so that a clash is reported at the configured name. */
enum owner { OWN_RESOURCE, OWN_JOBS, OWN_FAMILY, OWN_SQL };

struct exposed {
    char name[STATSD_MAX_NAME + 64];
    enum owner owner;
    size_t index;
};

static void expose(struct exposed **v, size_t *n, size_t *cap, const char *base, const char *suffix,
                   enum owner owner, size_t index)
{
    struct exposed *e;

    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = mem_realloc(*v, *cap * sizeof(**v));
    }
    e = &(*v)[(*n)++];
    snprintf(e->name, sizeof(e->name), "%s%s", base, suffix);
    e->owner = owner;
    e->index = index;
}

static void expose_family(struct exposed **v, size_t *n, size_t *cap, const char *name,
                          enum family_type t, enum owner owner, size_t index)
{
    expose(v, n, cap, name, "", owner, index);
    if (t == FAMILY_COUNTER)
        expose(v, n, cap, name, "_total", owner, index);
    if (t == FAMILY_HISTOGRAM) {
        expose(v, n, cap, name, "_bucket", owner, index);
        expose(v, n, cap, name, "_sum", owner, index);
        expose(v, n, cap, name, "_count", owner, index);
    }
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
    }
}

static int check_clashes(struct ctx *x)
{
    static const struct {
        const char *suffix;
        enum family_type type;
    } job_families[] = {
#define JOB_FAMILY(id, suffix, type) { suffix, type },
        CONFIG_JOB_FAMILY_MAP(JOB_FAMILY)
#undef JOB_FAMILY
    };
    struct config *c = x->c;
    struct exposed *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    for (size_t i = 0; i < c->nfamilies; i++)
        expose_family(&v, &n, &cap, c->families[i].name, c->families[i].type, OWN_FAMILY, i);
    for (size_t i = 0; i < c->nsql_metrics; i++)
        expose_family(&v, &n, &cap, c->sql_metrics[i].name, FAMILY_GAUGE, OWN_SQL, i);
    for (size_t i = 0; i < sizeof(job_families) / sizeof(job_families[0]); i++) {
        char name[STATSD_MAX_NAME + 64];

        snprintf(name, sizeof(name), "%s%s", c->job_prefix, job_families[i].suffix);
        expose_family(&v, &n, &cap, name, job_families[i].type, OWN_JOBS, 0);
    }
    /* target_info: an info family "target" in OpenMetrics, a gauge in text. */
    expose(&v, &n, &cap, "target", "", OWN_RESOURCE, 0);
    expose(&v, &n, &cap, "target_info", "", OWN_RESOURCE, 0);
    qsort(v, n, sizeof(*v), cmp_exposed);
    for (size_t i = 1; i < n && rc == 0; i++) {
        const struct exposed *a = &v[i - 1], *b = &v[i];
        char pa[64];

        if (strcmp(a->name, b->name) != 0 || (a->owner == b->owner && a->index == b->index))
            continue;
        owner_path(pa, sizeof(pa), a);
        x->plen = 0;
        push_key(x, b->owner == OWN_FAMILY ? "families" : "sql_metrics");
        push_index(x, b->index);
        push_key(x, "name");
        rc = fail(x, "clashes with %s: both expose \"%s\"", pa, b->name);
    }
    free(v);
    return rc;
}

static int parse_root(struct ctx *x, json_t *root)
{
    static const char *const keys[] = { "daemon", "limits",   "resource",    "groups", "families",
                                        "jobs",   "postgres", "sql_metrics", NULL };
    struct config *c = x->c;
    json_t *v;

    if (want_object(x, root) < 0 || check_keys(x, root, keys) < 0)
        return -1;
    c->job_prefix = mem_strdup(CONFIG_DEFAULT_JOB_PREFIX);
    c->pg_pool_size = CONFIG_DEFAULT_PG_POOL_SIZE;
    c->pg_connect_timeout = CONFIG_DEFAULT_PG_CONNECT_TIMEOUT;
    c->pg_statement_timeout = CONFIG_DEFAULT_PG_STATEMENT_TIMEOUT;
    if (parse_limits(x, json_object_get(root, "limits")) < 0 ||
        parse_daemon(x, json_object_get(root, "daemon")) < 0)
        return -1;
    if ((v = json_object_get(root, "resource")) != NULL && parse_resource(x, v) < 0)
        return -1;
    if ((v = json_object_get(root, "groups")) != NULL && parse_groups(x, v) < 0)
        return -1;
    if ((v = json_object_get(root, "families")) != NULL && parse_families(x, v) < 0)
        return -1;
    if ((v = json_object_get(root, "jobs")) != NULL && parse_jobs(x, v) < 0)
        return -1;
    if ((v = json_object_get(root, "postgres")) != NULL && parse_postgres(x, v) < 0)
        return -1;
    if ((v = json_object_get(root, "sql_metrics")) != NULL && parse_sql_metrics(x, v) < 0)
        return -1;
    if (check_clashes(x) < 0)
        return -1;
    for (size_t i = 0; i < c->nfamilies; i++)
        c->families[i].excluded = group_excluded(c, c->families[i].group);
    for (size_t i = 0; i < c->nsql_metrics; i++)
        c->sql_metrics[i].excluded = group_excluded(c, c->sql_metrics[i].group);
    return 0;
}

static int parse(struct config *c, const char *text, size_t len, const char *name,
                 const char *basedir, char *err, size_t errlen)
{
    struct ctx x;
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(c, 0, sizeof(*c));
    memset(&x, 0, sizeof(x));
    x.c = c;
    x.file = name;
    x.basedir = basedir;
    x.err = err;
    x.errlen = errlen;
    if (errlen > 0)
        err[0] = '\0';
    /* Duplicate keys are rejected like unknown ones: the second would silently win. */
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    c->path = mem_strdup(name);
    rc = parse_root(&x, root);
    json_decref(root);
    if (rc < 0)
        config_release(c);
    return rc;
}

int config_parse(struct config *c, const char *text, size_t len, const char *name, char *err,
                 size_t errlen)
{
    return parse(c, text, len, name, NULL, err, errlen);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char *text, *dir = NULL;
    size_t len;
    int too_big, rc;

    memset(c, 0, sizeof(*c));
    text = read_file(path, CONFIG_MAX_FILE_SIZE, &len, &too_big);
    if (text == NULL) {
        snprintf(err, errlen, "%s: cannot read: %s", path,
                 too_big ? "larger than 16 MiB" : strerror(errno));
        return -1;
    }
    if (slash != NULL)
        dir = mem_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    rc = parse(c, text, len, path, dir, err, errlen);
    free(dir);
    free(text);
    return rc;
}

static void free_labels(struct config_label *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(labels[i].name);
        for (size_t j = 0; j < labels[i].nvalues; j++)
            free(labels[i].values[j]);
        free(labels[i].values);
    }
    free(labels);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void config_release(struct config *c)
{
    free(c->path);
    free(c->socket_path);
    free(c->socket_group);
    free(c->metrics_listen);
    free(c->metrics_path);
    free(c->debug_listen);
    free(c->log_format);
    free(c->log_level);
    free(c->bearer_token_file);
    for (size_t i = 0; i < c->nresource; i++) {
        free(c->resource[i].key);
        free(c->resource[i].value);
    }
    free(c->resource);
    free_strings(c->include_groups, c->ninclude_groups);
    free_strings(c->exclude_groups, c->nexclude_groups);
    for (size_t i = 0; i < c->nfamilies; i++) {
        struct config_family *f = &c->families[i];

        free(f->name);
        free(f->help);
        free(f->unit);
        free(f->group);
        free(f->buckets);
        free_labels(f->labels, f->nlabels);
    }
    free(c->families);
    free(c->job_prefix);
    for (size_t i = 0; i < c->njobs; i++)
        free(c->jobs[i].name);
    free(c->jobs);
    free(c->pg_conninfo);
    for (size_t i = 0; i < c->nsql_metrics; i++) {
        struct config_sql_metric *m = &c->sql_metrics[i];

        free(m->name);
        free(m->help);
        free(m->group);
        free(m->query);
        free(m->unit);
        free(m->value_column);
        free_labels(m->labels, m->nlabels);
        free_strings(m->label_columns, m->nlabels);
    }
    free(c->sql_metrics);
    memset(c, 0, sizeof(*c));
}

long config_find_family(const struct config *c, const char *name, size_t len)
{
    size_t bare = len;

    for (size_t i = 0; i < c->nfamilies; i++)
        if (name_eq(c->families[i].name, name, len))
            return (long)i;
    /* "x_total" names the counter stored as "x"; a gauge "x_total" matched above. */
    if (len < strlen("_total") ||
        !name_eq("_total", name + len - strlen("_total"), strlen("_total")))
        return -1;
    bare -= strlen("_total");
    for (size_t i = 0; i < c->nfamilies; i++)
        if (c->families[i].type == FAMILY_COUNTER && name_eq(c->families[i].name, name, bare))
            return (long)i;
    return -1;
}

long config_find_job(const struct config *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->njobs; i++)
        if (strlen(c->jobs[i].name) == len && memcmp(c->jobs[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

const char *config_family_type_name(enum family_type t)
{
    switch (t) {
    case FAMILY_COUNTER:
        return "counter";
    case FAMILY_GAUGE:
        return "gauge";
    case FAMILY_HISTOGRAM:
        return "histogram";
    }
    return "unknown";
}

/* ---- reload ---- */

static int same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int same_labels(const struct config_label *a, const struct config_label *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!same_str(a[i].name, b[i].name) || a[i].nvalues != b[i].nvalues ||
            a[i].max_values != b[i].max_values || (a[i].values == NULL) != (b[i].values == NULL))
            return 0;
        for (size_t j = 0; j < a[i].nvalues; j++)
            if (!same_str(a[i].values[j], b[i].values[j]))
                return 0;
    }
    return 1;
}

static int same_sql_metric(const struct config_sql_metric *a, const struct config_sql_metric *b)
{
    if (!same_str(a->name, b->name) || !same_str(a->help, b->help) ||
        !same_str(a->group, b->group) || !same_str(a->query, b->query) ||
        !same_str(a->value_column, b->value_column) || !same_str(a->unit, b->unit) ||
        a->min_interval_seconds != b->min_interval_seconds ||
        a->timeout_seconds != b->timeout_seconds || a->nlabels != b->nlabels ||
        !same_labels(a->labels, b->labels, a->nlabels))
        return 0;
    for (size_t i = 0; i < a->nlabels; i++)
        if (!same_str(a->label_columns[i], b->label_columns[i]))
            return 0;
    return 1;
}

/* The string settings a reload cannot change, and where the file sets them. */
static const struct {
    size_t off;
    const char *path;
} restart_strings[] = {
    { offsetof(struct config, socket_path), "$.daemon.socket" },
    { offsetof(struct config, socket_group), "$.daemon.socket_group" },
    { offsetof(struct config, metrics_listen), "$.daemon.metrics_listen" },
    { offsetof(struct config, metrics_path), "$.daemon.metrics_path" },
    { offsetof(struct config, debug_listen), "$.daemon.debug_listen" },
    { offsetof(struct config, bearer_token_file), "$.daemon.bearer_token_file" },
    { offsetof(struct config, pg_conninfo), "$.postgres.conninfo" },
};

static const char *string_at(const struct config *c, size_t off)
{
    return *(char *const *)(const void *)((const char *)c + off);
}

const char *config_restart_key(const struct config *a, const struct config *b, char *buf,
                               size_t len)
{
    if (a->has_postgres != b->has_postgres)
        return "$.postgres";
    for (size_t i = 0; i < sizeof(restart_strings) / sizeof(restart_strings[0]); i++)
        if (!same_str(string_at(a, restart_strings[i].off), string_at(b, restart_strings[i].off)))
            return restart_strings[i].path;
    if (a->socket_mode != b->socket_mode)
        return "$.daemon.socket_mode";
    if (a->pg_pool_size != b->pg_pool_size)
        return "$.postgres.pool_size";
    if (a->pg_connect_timeout != b->pg_connect_timeout)
        return "$.postgres.connect_timeout_seconds";
    if (a->pg_statement_timeout != b->pg_statement_timeout)
        return "$.postgres.statement_timeout_seconds";
    if (a->nsql_metrics != b->nsql_metrics)
        return "$.sql_metrics";
    for (size_t i = 0; i < a->nsql_metrics; i++) {
        if (!same_sql_metric(&a->sql_metrics[i], &b->sql_metrics[i])) {
            snprintf(buf, len, "$.sql_metrics[%zu]", i);
            return buf;
        }
        /* The same group, included by one config and excluded by the other. */
        if (a->sql_metrics[i].excluded != b->sql_metrics[i].excluded) {
            snprintf(buf, len, "$.groups (sql_metrics[%zu] \"%s\")", i, a->sql_metrics[i].name);
            return buf;
        }
    }
    return NULL;
}
