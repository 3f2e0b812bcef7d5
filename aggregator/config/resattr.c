#include "config/resattr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
#include "base/query.h"
#include "statsd.h"

const char *resattr_key_problem(const char *key)
{
    char label[CONFIG_MAX_RESOURCE_KEY + 1];
    size_t len = strlen(key);

    if (len == 0)
        return "the key is empty";
    if (len > CONFIG_MAX_RESOURCE_KEY)
        return "the key is longer than 63 bytes";
    resattr_label(key, label);
    return config_valid_name(label)
               ? NULL
               : "the key is not a valid label name once '.' and '-' read as '_'";
}

const char *resattr_value_problem(const char *value, size_t len, size_t max)
{
    const unsigned char *s = (const unsigned char *)value;

    if (len == 0)
        return "the value is empty";
    if (len > max)
        return "the value is longer than max_label_value_length";
    for (size_t i = 0, k; i < len; i += k) {
        if ((k = statsd_utf8_len(value + i, len - i)) == 0)
            return "the value is not valid UTF-8 text";
        if (s[i] < 0x20 || s[i] == 0x7f)
            return "the value holds a control character";
    }
    return NULL;
}

void resattr_label(const char *key, char *out)
{
    size_t len = strlen(key);

    if (len > CONFIG_MAX_RESOURCE_KEY)
        len = CONFIG_MAX_RESOURCE_KEY;
    statsd_normalize_name(key, len, out, len);
    out[len] = '\0';
}

long resattr_find(const struct config_resource_attr *v, size_t n, const char *key)
{
    char a[CONFIG_MAX_RESOURCE_KEY + 1], b[CONFIG_MAX_RESOURCE_KEY + 1];

    resattr_label(key, a);
    for (size_t i = 0; i < n; i++) {
        resattr_label(v[i].key, b);
        if (strcmp(a, b) == 0)
            return (long)i;
    }
    return ERRCODE_UNKNOWN;
}

int resattr_set(struct config_resource_attr **v, size_t *n, const char *key, const char *value)
{
    long at = resattr_find(*v, *n, key);
    size_t i;

    if (at >= 0) {
        free((*v)[at].key);
        free((*v)[at].value);
        memmove(*v + at, *v + at + 1, (*n - (size_t)at - 1) * sizeof(**v));
        (*n)--;
    } else if (*n >= CONFIG_MAX_RESOURCE_ATTRS) {
        return ERRCODE_LIMIT;
    }
    *v = mem_realloc(*v, (*n + 1) * sizeof(**v));
    for (i = *n; i > 0 && strcmp((*v)[i - 1].key, key) > 0; i--)
        (*v)[i] = (*v)[i - 1];
    (*v)[i].key = mem_strdup(key);
    (*v)[i].value = mem_strdup(value);
    (*n)++;
    return 0;
}

struct config_resource_attr *resattr_copy(const struct config_resource_attr *src, size_t n)
{
    struct config_resource_attr *v = mem_calloc(n + 1, sizeof(*v));

    for (size_t i = 0; i < n; i++) {
        v[i].key = mem_strdup(src[i].key);
        v[i].value = mem_strdup(src[i].value);
    }
    return v;
}

/* s[0..len) without the spaces and tabs around it, as the SDKs trim. */
static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static int env_pair(const char *var, const char *item, size_t len, size_t max,
                    struct config_resource_attr **v, size_t *n, char *err, size_t errlen)
{
    const char *eq = memchr(item, '=', len), *k = item, *val, *why;
    size_t klen, vlen;
    char key[CONFIG_MAX_RESOURCE_KEY + 1], *value;
    long dl;

    if (eq == NULL) {
        snprintf(err, errlen, "%s: \"%.*s\": expected key=value", var, (int)(len > 64 ? 64 : len),
                 item);
        return ERRCODE_CONFIG;
    }
    klen = (size_t)(eq - item);
    val = eq + 1;
    vlen = len - klen - 1;
    trim(&k, &klen);
    trim(&val, &vlen);
    if (klen == 0 || klen > CONFIG_MAX_RESOURCE_KEY) {
        snprintf(err, errlen, "%s: \"%.*s\": %s", var, (int)(len > 64 ? 64 : len), item,
                 klen ? "the key is longer than 63 bytes" : "the key is empty");
        return ERRCODE_CONFIG;
    }
    memcpy(key, k, klen);
    key[klen] = '\0';
    if ((why = resattr_key_problem(key)) != NULL) {
        snprintf(err, errlen, "%s: \"%s\": %s", var, key, why);
        return ERRCODE_CONFIG;
    }
    value = mem_alloc(vlen + 1);
    dl = query_unescape(val, vlen, value, vlen + 1);
    why = dl < 0 ? "a '%' not followed by two hex digits"
                 : resattr_value_problem(value, (size_t)dl, max);
    if (why == NULL && resattr_set(v, n, key, value) != 0)
        why = "more than 16 attributes";
    free(value);
    if (why != NULL) {
        snprintf(err, errlen, "%s: \"%s\": %s", var, key, why);
        return ERRCODE_CONFIG;
    }
    return 0;
}

int resattr_from_env(const char *service_name, const char *attrs, size_t max,
                     struct config_resource_attr **v, size_t *n, char *err, size_t errlen)
{
    static const char var[] = "OTEL_RESOURCE_ATTRIBUTES";
    const char *why;

    if (attrs != NULL && attrs[0] != '\0') {
        const char *p = attrs;

        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);

            if (env_pair(var, p, len, max, v, n, err, errlen) != 0)
                return ERRCODE_CONFIG;
            if (comma == NULL)
                break;
            p = comma + 1;
        }
    }
    if (service_name == NULL || service_name[0] == '\0')
        return 0;
    why = resattr_value_problem(service_name, strlen(service_name), max);
    if (why == NULL && resattr_set(v, n, "service.name", service_name) != 0)
        why = "more than 16 attributes";
    if (why != NULL) {
        snprintf(err, errlen, "OTEL_SERVICE_NAME: %s", why);
        return ERRCODE_CONFIG;
    }
    return 0;
}

void resattr_free(struct config_resource_attr *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}
