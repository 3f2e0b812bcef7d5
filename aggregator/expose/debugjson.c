#include "expose/internal.h"

#include <math.h>
#include <string.h>

#include "base/expo.h"
#include "base/jsonstr.h"

/*
 * jansson has no streaming writer: a document of 100,000 series would be a tree of a
 * million objects before the first byte went out. So the view is written by hand, with
 * jsonstr's escaper; tests parse every section back with jansson.
 */

static void indent(struct debugjson *w)
{
    int i;

    if (!w->pretty)
        return;
    buf_addch(w->out, '\n');
    for (i = 0; i < w->depth; i++)
        buf_adds(w->out, "  ");
}

void debugjson_item(struct debugjson *w)
{
    if (w->need_comma)
        buf_addch(w->out, ',');
    indent(w);
    w->need_comma = 1;
}

void debugjson_key(struct debugjson *w, const char *key)
{
    debugjson_item(w);
    jsonstr_add_quoted(w->out, key, strlen(key));
    buf_adds(w->out, w->pretty ? ": " : ":");
    w->need_comma = 0;
}

void debugjson_open(struct debugjson *w, char c)
{
    if (w->need_comma || w->depth > 0)
        debugjson_item(w);
    buf_addch(w->out, c);
    w->depth++;
    w->need_comma = 0;
}

void debugjson_open_value(struct debugjson *w, char c)
{
    buf_addch(w->out, c);
    w->depth++;
    w->need_comma = 0;
}

void debugjson_kv_open(struct debugjson *w, const char *key, char c)
{
    debugjson_key(w, key);
    debugjson_open_value(w, c);
}

void debugjson_close(struct debugjson *w, char c)
{
    w->depth--;
    if (w->need_comma)
        indent(w);
    buf_addch(w->out, c);
    w->need_comma = 1;
}

void debugjson_num(struct buf *out, double v)
{
    char tmp[32];

    if (!isfinite(v)) {
        buf_adds(out, "null"); /* JSON has no Inf or NaN */
        return;
    }
    expo_format_double(tmp, v);
    buf_adds(out, tmp);
}

void debugjson_kv_str(struct debugjson *w, const char *key, const char *v)
{
    debugjson_key(w, key);
    if (v == NULL)
        buf_adds(w->out, "null");
    else
        jsonstr_add_quoted(w->out, v, strlen(v));
    w->need_comma = 1;
}

void debugjson_kv_num(struct debugjson *w, const char *key, double v)
{
    debugjson_key(w, key);
    debugjson_num(w->out, v);
    w->need_comma = 1;
}

void debugjson_kv_u64(struct debugjson *w, const char *key, uint64_t v)
{
    debugjson_key(w, key);
    buf_addf(w->out, "%llu", (unsigned long long)v);
    w->need_comma = 1;
}

void debugjson_kv_bool(struct debugjson *w, const char *key, int v)
{
    debugjson_key(w, key);
    buf_adds(w->out, v ? "true" : "false");
    w->need_comma = 1;
}

void debugjson_val_str(struct debugjson *w, const char *s, size_t len)
{
    debugjson_item(w);
    jsonstr_add_quoted(w->out, s, len);
}
