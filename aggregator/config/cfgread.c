#include "config/cfgread.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
#include "base/path.h"

int cfgread_fail(struct cfgread *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(r->err, r->errlen, "%s: %s: ", r->file, r->plen ? r->path : "$");
    if (n >= 0 && (size_t)n < r->errlen) {
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return ERRCODE_CONFIG;
}

int cfgread_fail_at(struct cfgread *r, const char *key, const char *fmt, ...)
{
    char msg[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cfgread_push_key(r, key);
    return cfgread_fail(r, "%s", msg);
}

/* Append what snprintf wrote, or as much of it as fits. */
static void grow(struct cfgread *r, int n)
{
    size_t room = sizeof(r->path) - r->plen;

    if (n > 0)
        r->plen += (size_t)n < room ? (size_t)n : room - 1;
}

/* Keys that are not identifiers ("service.name") are written as $["service.name"]. */
size_t cfgread_push_key(struct cfgread *r, const char *key)
{
    static const char ident[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";
    size_t old = r->plen;
    int plain =
        key[0] != '\0' && strspn(key, ident) == strlen(key) && !(key[0] >= '0' && key[0] <= '9');

    if (r->plen == 0)
        r->path[r->plen++] = '$';
    grow(r,
         snprintf(r->path + r->plen, sizeof(r->path) - r->plen, plain ? ".%s" : "[\"%s\"]", key));
    return old;
}

size_t cfgread_push_index(struct cfgread *r, size_t i)
{
    size_t old = r->plen;

    if (r->plen == 0)
        r->path[r->plen++] = '$';
    grow(r, snprintf(r->path + r->plen, sizeof(r->path) - r->plen, "[%zu]", i));
    return old;
}

void cfgread_pop(struct cfgread *r, size_t old)
{
    r->plen = old;
    r->path[old] = '\0';
}

const char *cfgread_type_name(const json_t *v)
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

int cfgread_object(struct cfgread *r, const json_t *v)
{
    if (!json_is_object(v))
        return cfgread_fail(r, "expected an object, got %s", cfgread_type_name(v));
    return 0;
}

const char *cfgread_shown(char out[260], const char *s, size_t len)
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

/* ---- documents ---- */

int cfgread_load(void *out, const char *path, size_t max, const char *lead, cfgread_parse_fn parse,
                 char *err, size_t errlen)
{
    char *text, *dir;
    size_t len;
    int rc = path_read_file(path, max, &text, &len);

    if (rc != 0) {
        char big[48];

        if (max % ((size_t)1 << 20) == 0)
            snprintf(big, sizeof(big), "larger than %zu MiB", max >> 20);
        else
            snprintf(big, sizeof(big), "larger than %zu bytes", max);
        snprintf(err, errlen, "%s: %s%s", path, lead, rc == -EFBIG ? big : errcode_str(rc));
        return ERRCODE_CONFIG;
    }
    /* Relative paths in the file are its directory's; a bare name's, the working one. */
    dir = strchr(path, '/') != NULL ? path_dirname(path) : NULL;
    rc = parse(out, text, len, path, dir, err, errlen);
    free(dir);
    free(text);
    return rc;
}

/* ---- schema tables ---- */

static void *at(void *base, size_t off)
{
    return (char *)base + off;
}

static const void *cat(const void *base, size_t off)
{
    return (const char *)base + off;
}

/* "\"a\", \"b\" or \"c\"" */
static void choice_list(char *out, size_t len, const char *const *choices)
{
    size_t n = 0, used = 0;

    while (choices[n] != NULL)
        n++;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(out + used, len - used, "%s\"%s\"",
                         i == 0 ? "" : (i + 1 == n ? " or " : ", "), choices[i]);
        if (w > 0)
            used += (size_t)w;
    }
}

static int read_string(struct cfgread *r, const struct cfgread_key *k, json_t *v, char **out)
{
    free(*out);
    *out = NULL;
    if (v == NULL) {
        *out = k->sdflt ? mem_strdup(k->sdflt) : NULL;
        return 0;
    }
    if (json_is_null(v) && (k->flags & CFGREAD_NULLABLE))
        return 0;
    if (!json_is_string(v))
        return cfgread_fail_at(r, k->name, "expected a string%s, got %s",
                               (k->flags & CFGREAD_NULLABLE) ? " or null" : "",
                               cfgread_type_name(v));
    if ((k->flags & CFGREAD_NONEMPTY) && json_string_length(v) == 0)
        return cfgread_fail_at(r, k->name, "must not be empty");
    *out = mem_strndup(json_string_value(v), json_string_length(v));
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
        return s[5] == '/' && strlen(s + 5) <= CFGREAD_SUN_PATH_MAX;
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] < '0' || colon[1] > '9')
        return 0;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && port >= 1 && port <= 65535;
}

static int read_mode(struct cfgread *r, const struct cfgread_key *k, json_t *v, uint32_t *out)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t len = strlen(s);
    unsigned long mode = 0;

    /* A string, not a number: JSON has no octal, and 660 read as decimal is mode 01224. */
    if (len == 0 || len > 4 || strspn(s, "01234567") != len || (mode = strtoul(s, NULL, 8)) > 0777)
        return cfgread_fail_at(r, k->name,
                               "expected an octal string such as \"0660\", at most 0777");
    *out = (uint32_t)mode;
    return 0;
}

static int read_enum(struct cfgread *r, const struct cfgread_key *k, json_t *v, int *out)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    char list[256];

    for (int i = 0; s != NULL && k->choices[i] != NULL; i++)
        if (strcmp(s, k->choices[i]) == 0) {
            *out = i;
            return 0;
        }
    choice_list(list, sizeof(list), k->choices);
    return cfgread_fail_at(r, k->name, "expected %s", list);
}

static int read_uint(struct cfgread *r, const struct cfgread_key *k, json_t *v, uint64_t *out)
{
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

    if (!json_is_integer(v) || n < 0 || (uint64_t)n < k->umin || (uint64_t)n > k->umax) {
        if (k->umax == UINT32_MAX || k->umax == SIZE_MAX)
            return cfgread_fail_at(r, k->name, "expected an integer >= %llu",
                                   (unsigned long long)k->umin);
        return cfgread_fail_at(r, k->name, "expected an integer from %llu to %llu",
                               (unsigned long long)k->umin, (unsigned long long)k->umax);
    }
    *out = (uint64_t)n;
    return 0;
}

/* Every number is a duration that ends up as integer milliseconds: the bound keeps that
 * conversion defined. */
static int read_number(struct cfgread *r, const struct cfgread_key *k, json_t *v, double *out)
{
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    int gt = (k->flags & CFGREAD_GT) != 0;

    if (!isfinite(d) || d < k->dmin || (gt && d == k->dmin) || d > k->dmax)
        return cfgread_fail_at(r, k->name, "expected a number %s %g and <= %.0f",
                               gt ? ">" : ">=", k->dmin, k->dmax);
    *out = d;
    return 0;
}

static int read_bool(struct cfgread *r, const struct cfgread_key *k, json_t *v, int *out)
{
    if (!json_is_boolean(v))
        return cfgread_fail_at(r, k->name, "expected true or false, got %s", cfgread_type_name(v));
    *out = json_is_true(v);
    return 0;
}

/* A present value of a scalar row into *p; the default when absent is set by the caller. */
static int read_value(struct cfgread *r, const struct cfgread_key *k, json_t *v, void *p)
{
    uint64_t u;
    int rc;

    switch (k->kind) {
    case CFGREAD_MODE:
        return read_mode(r, k, v, p);
    case CFGREAD_ENUM:
        return read_enum(r, k, v, p);
    case CFGREAD_UINT32:
    case CFGREAD_SIZE:
        if ((rc = read_uint(r, k, v, &u)) == 0) {
            if (k->kind == CFGREAD_UINT32)
                *(uint32_t *)p = (uint32_t)u;
            else
                *(size_t *)p = (size_t)u;
        }
        return rc;
    case CFGREAD_NUMBER:
        return read_number(r, k, v, p);
    case CFGREAD_BOOL:
        return read_bool(r, k, v, p);
    default:
        return 0;
    }
}

static void set_default(const struct cfgread_key *k, void *p)
{
    switch (k->kind) {
    case CFGREAD_MODE:
    case CFGREAD_UINT32:
        *(uint32_t *)p = (uint32_t)k->udflt;
        break;
    case CFGREAD_SIZE:
        *(size_t *)p = (size_t)k->udflt;
        break;
    case CFGREAD_ENUM:
    case CFGREAD_BOOL:
        *(int *)p = (int)k->udflt;
        break;
    case CFGREAD_NUMBER:
        *(double *)p = k->ddflt;
        break;
    default:
        break;
    }
}

int cfgread_row(struct cfgread *r, json_t *obj, const struct cfgread_key *k, void *base)
{
    json_t *v = obj != NULL ? json_object_get(obj, k->name) : NULL;
    void *p = k->off != CFGREAD_NOWHERE ? at(base, k->off) : NULL;

    if (v == NULL && (k->flags & CFGREAD_REQUIRED))
        return cfgread_fail_at(r, k->name, "missing");
    if (k->kind == CFGREAD_CUSTOM)
        return k->read(r, k, obj, v, base);
    if (k->kind == CFGREAD_STRING || k->kind == CFGREAD_LISTEN) {
        char **s = p;

        if (v == NULL && (k->flags & CFGREAD_KEEP))
            return 0;
        if (read_string(r, k, v, s) < 0)
            return ERRCODE_CONFIG;
        if (k->kind == CFGREAD_LISTEN && *s != NULL && !valid_listen(*s))
            return cfgread_fail_at(r, k->name,
                                   "\"%s\" is not \"host:port\", \"unix:/path\" or \"\"", *s);
        return 0;
    }
    if (v == NULL) {
        if (!(k->flags & CFGREAD_KEEP))
            set_default(k, p);
        return 0;
    }
    return read_value(r, k, v, p);
}

int cfgread_known(struct cfgread *r, json_t *obj, const struct cfgread_key *keys, size_t n)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        size_t i;

        for (i = 0; i < n; i++)
            if (strcmp(key, keys[i].name) == 0)
                break;
        if (i == n)
            return cfgread_fail_at(r, key, "unknown key");
    }
    return 0;
}

const char *cfgread_value_problem(const struct cfgread_key *k, const char *s, char *buf, size_t len)
{
    const char *problem = NULL;
    size_t i = 0, used;

    if (s == NULL)
        return NULL;
    if (k->check != NULL)
        problem = k->check(s);
    if (problem != NULL || k->choices == NULL)
        return problem;
    while (k->choices[i] != NULL && strcmp(k->choices[i], s) != 0)
        i++;
    if (k->choices[i] != NULL)
        return NULL;
    used = (size_t)snprintf(buf, len, "expected ");
    if (used < len)
        choice_list(buf + used, len - used, k->choices);
    return buf;
}

/* The checks that wait for the whole section: a stored string against its choices. */
static int check_row(struct cfgread *r, const struct cfgread_key *k, const void *base)
{
    const char *problem;
    char buf[256];

    if ((k->kind != CFGREAD_STRING && k->kind != CFGREAD_LISTEN) || k->off == CFGREAD_NOWHERE)
        return 0;
    problem = cfgread_value_problem(k, *(char *const *)cat(base, k->off), buf, sizeof(buf));
    return problem != NULL ? cfgread_fail_at(r, k->name, "%s", problem) : 0;
}

int cfgread_section(struct cfgread *r, json_t *obj, const struct cfgread_key *keys, size_t n,
                    void *base)
{
    if (obj != NULL && (cfgread_object(r, obj) < 0 || cfgread_known(r, obj, keys, n) < 0))
        return ERRCODE_CONFIG;
    for (size_t i = 0; i < n; i++)
        if (cfgread_row(r, obj, &keys[i], base) < 0)
            return ERRCODE_CONFIG;
    for (size_t i = 0; i < n; i++)
        if (check_row(r, &keys[i], base) < 0)
            return ERRCODE_CONFIG;
    return 0;
}

int cfgread_objects(struct cfgread *r, json_t *arr, const char *what,
                    const struct cfgread_key *keys, size_t n, void *elems, size_t size)
{
    if (!json_is_array(arr))
        return cfgread_fail(r, "expected an array of %s, got %s", what, cfgread_type_name(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        size_t o = cfgread_push_index(r, i);

        if (cfgread_section(r, json_array_get(arr, i), keys, n, at(elems, i * size)) < 0)
            return ERRCODE_CONFIG;
        cfgread_pop(r, o);
    }
    return 0;
}

static int same(enum cfgread_kind kind, const void *a, const void *b)
{
    switch (kind) {
    case CFGREAD_STRING:
    case CFGREAD_LISTEN:
        return path_same_str(*(char *const *)a, *(char *const *)b);
    case CFGREAD_MODE:
    case CFGREAD_UINT32:
        return *(const uint32_t *)a == *(const uint32_t *)b;
    case CFGREAD_SIZE:
        return *(const size_t *)a == *(const size_t *)b;
    case CFGREAD_ENUM:
    case CFGREAD_BOOL:
        return *(const int *)a == *(const int *)b;
    case CFGREAD_NUMBER:
        return *(const double *)a == *(const double *)b;
    case CFGREAD_CUSTOM:
        break;
    }
    return 1;
}

const struct cfgread_key *cfgread_changed(const struct cfgread_key *keys, size_t n, const void *a,
                                          const void *b)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfgread_key *k = &keys[i];
        enum cfgread_kind kind = k->kind == CFGREAD_CUSTOM ? k->cmp : k->kind;

        if ((k->flags & CFGREAD_RESTART) && k->off != CFGREAD_NOWHERE &&
            !same(kind, cat(a, k->off), cat(b, k->off)))
            return k;
    }
    return NULL;
}

void cfgread_release(const struct cfgread_key *keys, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfgread_key *k = &keys[i];
        enum cfgread_kind kind = k->kind == CFGREAD_CUSTOM ? k->cmp : k->kind;
        char **s;

        if (k->off == CFGREAD_NOWHERE || (kind != CFGREAD_STRING && kind != CFGREAD_LISTEN))
            continue;
        s = at(base, k->off);
        free(*s);
        *s = NULL;
    }
}

void cfgread_free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

char *cfgread_compact(const json_t *v)
{
    /* Into our own block, not jansson's (its allocator may not be malloc). */
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *s = mem_alloc(n + 1);

    if (json_dumpb(v, s, n, JSON_COMPACT | JSON_ENCODE_ANY) != n)
        mem_oom(0);
    s[n] = '\0';
    return s;
}
