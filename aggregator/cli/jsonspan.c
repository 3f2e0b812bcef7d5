#include "cli/jsonspan.h"
#include "base/errcode.h"

#include <string.h>

static size_t skip_ws(const char *t, size_t i, size_t end)
{
    while (i < end && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* The end of the value that begins at i (after blanks), or 0 when malformed. */
static size_t skip_value(const char *t, size_t i, size_t end)
{
    int depth = 0;

    i = skip_ws(t, i, end);
    if (i >= end)
        return 0;
    if (t[i] != '{' && t[i] != '[' && t[i] != '"') {
        while (i < end && strchr(",:]} \t\r\n", t[i]) == NULL)
            i++;
        return i;
    }
    for (; i < end; i++) {
        if (t[i] == '"') {
            for (i++; i < end && t[i] != '"'; i++)
                if (t[i] == '\\')
                    i++;
            if (i >= end)
                return 0;
            if (depth == 0)
                return i + 1;
        } else if (t[i] == '{' || t[i] == '[') {
            depth++;
        } else if (t[i] == '}' || t[i] == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return 0;
}

int jsonspan_root(const char *text, size_t len, struct jsonspan *out)
{
    size_t s = skip_ws(text, 0, len), e = skip_value(text, s, len);

    if (e == 0)
        return ERRCODE_FORMAT;
    out->start = s;
    out->end = e;
    return 0;
}

/*
 * Step over the items of the container at c: calls back with each item's span (for an
 * object, the key's span in *key and the value's in *val). Stops when cb returns nonzero
 * and returns that, 0 at the end, or ERRCODE_FORMAT.
 */
typedef int (*item_cb)(const char *t, const struct jsonspan *key, const struct jsonspan *val,
                       void *arg);

static int each(const char *t, const struct jsonspan *c, item_cb cb, void *arg)
{
    int object = t[c->start] == '{';
    size_t i = c->start + 1, close = c->end - 1;

    if (t[c->start] != '{' && t[c->start] != '[')
        return ERRCODE_FORMAT;
    for (;;) {
        struct jsonspan key = { 0, 0 }, val;
        int rc;

        i = skip_ws(t, i, close);
        if (i >= close)
            return 0;
        if (object) {
            key.start = i;
            key.end = skip_value(t, i, close);
            if (key.end == 0 || t[key.start] != '"')
                return ERRCODE_FORMAT;
            i = skip_ws(t, key.end, close);
            if (i >= close || t[i] != ':')
                return ERRCODE_FORMAT;
            i++;
        }
        val.start = skip_ws(t, i, close);
        val.end = skip_value(t, val.start, close);
        if (val.end == 0)
            return ERRCODE_FORMAT;
        if ((rc = cb(t, object ? &key : NULL, &val, arg)) != 0)
            return rc;
        i = skip_ws(t, val.end, close);
        if (i < close && t[i] == ',')
            i++;
        else if (i < close)
            return ERRCODE_FORMAT;
    }
}

struct find {
    const char *key;
    size_t index, seen;
    struct jsonspan *out;
};

static int find_member(const char *t, const struct jsonspan *key, const struct jsonspan *val,
                       void *arg)
{
    struct find *f = arg;
    size_t n = strlen(f->key);

    if (key->end - key->start != n + 2 || memcmp(t + key->start + 1, f->key, n) != 0)
        return 0;
    *f->out = *val;
    return 1;
}

int jsonspan_member(const char *text, const struct jsonspan *obj, const char *key,
                    struct jsonspan *out)
{
    struct find f = { .key = key, .out = out };

    if (text[obj->start] != '{')
        return ERRCODE_FORMAT;
    return each(text, obj, find_member, &f);
}

static int find_element(const char *t, const struct jsonspan *key, const struct jsonspan *val,
                        void *arg)
{
    struct find *f = arg;

    (void)t;
    (void)key;
    if (f->seen++ != f->index)
        return 0;
    *f->out = *val;
    return 1;
}

int jsonspan_element(const char *text, const struct jsonspan *arr, size_t index,
                     struct jsonspan *out)
{
    struct find f = { .index = index, .out = out };

    if (text[arr->start] != '[')
        return ERRCODE_FORMAT;
    return each(text, arr, find_element, &f);
}

static int keep_last(const char *t, const struct jsonspan *key, const struct jsonspan *val,
                     void *arg)
{
    struct find *f = arg;

    (void)t;
    f->out->start = key != NULL ? key->start : val->start;
    f->out->end = val->end;
    f->seen++;
    return 0;
}

int jsonspan_last(const char *text, const struct jsonspan *c, struct jsonspan *out)
{
    struct find f = { .out = out };
    int rc = each(text, c, keep_last, &f);

    return rc < 0 ? rc : f.seen > 0;
}

size_t jsonspan_indent(const char *text, size_t at)
{
    size_t line = at, n = 0;

    while (line > 0 && text[line - 1] != '\n')
        line--;
    while (text[line + n] == ' ' || text[line + n] == '\t')
        n++;
    return n;
}
