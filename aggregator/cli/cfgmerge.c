#include "cli/cfgmerge.h"
#include "cli/jsonspan.h"
#include "base/errcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One insertion into the text: at offset at, text. */
struct edit {
    size_t at;
    struct buf text;
};

struct merge {
    const char *text;
    size_t len;
    struct edit *edits;
    size_t nedits;
    struct cfgmerge_result *res;
    int add_labels;
};

static struct buf *edit_at(struct merge *m, size_t at)
{
    struct edit *e;

    m->edits = realloc(m->edits, (m->nedits + 1) * sizeof(*m->edits));
    if (m->edits == NULL)
        abort();
    e = &m->edits[m->nedits++];
    e->at = at;
    buf_init(&e->text);
    return &e->text;
}

static void spaces(struct buf *b, size_t n)
{
    while (n-- > 0)
        buf_addch(b, ' ');
}

static int scalar_array(const json_t *a)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v) if (json_is_object(v) || json_is_array(v)) return 0;
    return 1;
}

static void render_scalar(const json_t *v, struct buf *b)
{
    char *s;

    if (json_is_real(v)) { /* the shortest that reads back the same: 0.1, not 0.1000...1 */
        double d = json_real_value(v);
        char num[32];

        for (int p = 6; p <= 17; p++) {
            snprintf(num, sizeof(num), "%.*g", p, d);
            if (strtod(num, NULL) == d)
                break;
        }
        buf_adds(b, num);
        if (strpbrk(num, ".eEn") == NULL) /* still a real when read back */
            buf_adds(b, ".0");
        return;
    }
    s = json_dumps(v, JSON_ENCODE_ANY);

    if (s == NULL)
        abort();
    buf_adds(b, s);
    free(s);
}

/* v as JSON, its nested lines indented from indent: objects one member a line, arrays
 * of scalars on one line, as config files are usually written. */
static void render(const json_t *v, size_t indent, struct buf *b)
{
    const char *key;
    json_t *item;
    size_t i, n = 0;

    if (json_is_object(v)) {
        buf_addch(b, '{');
        json_object_foreach((json_t *)v, key, item)
        {
            json_t *k = json_string(key);

            buf_adds(b, n++ ? ",\n" : "\n");
            spaces(b, indent + 2);
            render_scalar(k, b);
            json_decref(k);
            buf_adds(b, ": ");
            render(item, indent + 2, b);
        }
        if (n > 0) {
            buf_addch(b, '\n');
            spaces(b, indent);
        }
        buf_addch(b, '}');
    } else if (json_is_array(v)) {
        int flat = scalar_array(v);

        buf_addch(b, '[');
        json_array_foreach(v, i, item)
        {
            if (flat) {
                buf_adds(b, i ? ", " : "");
            } else {
                buf_adds(b, i ? ",\n" : "\n");
                spaces(b, indent + 2);
            }
            render(item, indent + 2, b);
        }
        if (!flat && json_array_size(v) > 0) {
            buf_addch(b, '\n');
            spaces(b, indent);
        }
        buf_addch(b, ']');
    } else {
        render_scalar(v, b);
    }
}

/* Append items to the array at arr in the text. */
static int append_items(struct merge *m, const struct jsonspan *arr, const json_t *items)
{
    struct jsonspan last;
    int rc = jsonspan_last(m->text, arr, &last), flat = scalar_array(items);
    size_t i, ind;
    json_t *v;
    struct buf *b;

    if (rc < 0)
        return rc;
    if (rc == 0) { /* [] */
        ind = jsonspan_indent(m->text, arr->start);
        b = edit_at(m, arr->start + 1);
        json_array_foreach(items, i, v)
        {
            if (flat) {
                buf_adds(b, i ? ", " : "");
            } else {
                buf_adds(b, i ? ",\n" : "\n");
                spaces(b, ind + 2);
            }
            render(v, ind + 2, b);
        }
        if (!flat) {
            buf_addch(b, '\n');
            spaces(b, ind);
        }
        return 0;
    }
    ind = jsonspan_indent(m->text, last.start);
    b = edit_at(m, last.end);
    json_array_foreach(items, i, v)
    {
        if (flat) {
            buf_adds(b, ", ");
        } else {
            buf_adds(b, ",\n");
            spaces(b, ind);
        }
        render(v, ind, b);
    }
    return 0;
}

/* Add member key: value to the object at obj in the text. */
static int add_member(struct merge *m, const struct jsonspan *obj, const char *key,
                      const json_t *value)
{
    struct jsonspan last;
    int rc = jsonspan_last(m->text, obj, &last);
    size_t ind =
        rc > 0 ? jsonspan_indent(m->text, last.start) : jsonspan_indent(m->text, obj->start) + 2;
    struct buf *b;
    json_t *k = json_string(key);

    if (rc < 0) {
        json_decref(k);
        return rc;
    }
    b = edit_at(m, rc > 0 ? last.end : obj->start + 1);
    buf_adds(b, rc > 0 ? ",\n" : "\n");
    spaces(b, ind);
    render_scalar(k, b);
    buf_adds(b, ": ");
    render(value, ind, b);
    if (rc == 0) {
        buf_addch(b, '\n');
        spaces(b, ind - 2);
    }
    json_decref(k);
    return 0;
}

/*
 * Whether two family names name the same family, as the daemon reads a line's name:
 * '.' and '-' as '_', and a counter's "_total" either way.
 */
static int same_family(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la >= 6 && strcmp(a + la - 6, "_total") == 0)
        la -= 6;
    if (lb >= 6 && strcmp(b + lb - 6, "_total") == 0)
        lb -= 6;
    if (la != lb)
        return 0;
    for (size_t i = 0; i < la; i++) {
        char x = a[i] == '.' || a[i] == '-' ? '_' : a[i];
        char y = b[i] == '.' || b[i] == '-' ? '_' : b[i];

        if (x != y)
            return 0;
    }
    return 1;
}

/*
 * The element of array a whose "name" is name (families: same_family(); labels: the same
 * bytes), and its index; NULL when none.
 */
static json_t *named(const json_t *a, const char *name, int family, size_t *index)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));

        if (n != NULL && (family ? same_family(n, name) : strcmp(n, name) == 0)) {
            *index = i;
            return v;
        }
    }
    return NULL;
}

/* A label the family declares: add the proposed values it does not list. */
static int merge_values(struct merge *m, const char *fam, const json_t *have, const json_t *want,
                        const struct jsonspan *label)
{
    const char *name = json_string_value(json_object_get(have, "name"));
    json_t *hv = json_object_get(have, "values"), *wv = json_object_get(want, "values");
    json_t *add;
    struct jsonspan vs;
    size_t i, j;
    json_t *v, *h;
    int rc = 0;

    if (!json_is_array(wv))
        return 0;
    if (!json_is_array(hv)) {
        buf_addf(&m->res->notes, "kept: %s label %s is not enumerated here; values not added\n",
                 fam, name);
        return 0;
    }
    add = json_array();
    json_array_foreach(wv, i, v)
    {
        int seen = 0;

        json_array_foreach(hv, j, h) seen |= json_equal(h, v);
        if (!seen)
            json_array_append(add, v);
    }
    if (json_array_size(add) > 0) {
        if ((rc = jsonspan_member(m->text, label, "values", &vs)) == 1)
            rc = append_items(m, &vs, add);
        else if (rc == 0)
            rc = ERRCODE_FORMAT;
        m->res->values += json_array_size(add);
        buf_addf(&m->res->notes, "added: %s label %s: %zu value%s\n", fam, name,
                 json_array_size(add), json_array_size(add) == 1 ? "" : "s");
    }
    json_decref(add);
    return rc;
}

/* A family the file declares (have, at span): add the labels and values it lacks. */
static int merge_family(struct merge *m, const json_t *have, const json_t *want,
                        const struct jsonspan *span)
{
    const char *fam = json_string_value(json_object_get(have, "name"));
    json_t *hl = json_object_get(have, "labels"), *wl = json_object_get(want, "labels");
    json_t *wt = json_object_get(want, "type"), *add = json_array();
    struct jsonspan ls;
    size_t i, j;
    json_t *l;
    int rc = 0;

    if (json_is_string(wt) && !json_equal(wt, json_object_get(have, "type")))
        buf_addf(&m->res->notes, "kept: %s is declared a %s; lines were seen as a %s\n", fam,
                 json_string_value(json_object_get(have, "type")), json_string_value(wt));
    if (json_is_array(hl) && (rc = jsonspan_member(m->text, span, "labels", &ls)) != 1) {
        json_decref(add);
        return rc == 0 ? ERRCODE_FORMAT : rc;
    }
    json_array_foreach(wl, i, l)
    {
        const char *name = json_string_value(json_object_get(l, "name"));
        json_t *h = name != NULL && json_is_array(hl) ? named(hl, name, 0, &j) : NULL;
        struct jsonspan one;

        if (name == NULL)
            continue;
        if (h == NULL && !m->add_labels) {
            buf_addf(&m->res->notes,
                     "not added: %s label %s: a new label changes the family's series, which the "
                     "reload drops and starts again (give --add-labels to add it)\n",
                     fam, name);
            continue;
        }
        if (h == NULL) {
            json_array_append(add, l);
            m->res->labels++;
            buf_addf(&m->res->notes,
                     "added: %s label %s (the family's series are dropped at the reload and "
                     "start again)\n",
                     fam, name);
            continue;
        }
        rc = jsonspan_element(m->text, &ls, j, &one);
        if (rc == 1)
            rc = merge_values(m, fam, h, l, &one);
        else if (rc == 0)
            rc = ERRCODE_FORMAT;
        if (rc < 0)
            break;
    }
    if (rc >= 0 && json_array_size(add) > 0)
        rc = json_is_array(hl) ? append_items(m, &ls, add) : add_member(m, span, "labels", add);
    json_decref(add);
    return rc < 0 ? rc : 0;
}

static int cmp_edit(const void *a, const void *b)
{
    const struct edit *x = a, *y = b;

    return x->at < y->at ? -1 : x->at > y->at ? 1 : 0;
}

/* The text with every edit made. */
static void apply(struct merge *m)
{
    size_t from = 0;

    if (m->nedits > 1) /* qsort's array may not be NULL, even for none */
        qsort(m->edits, m->nedits, sizeof(*m->edits), cmp_edit);
    buf_reset(&m->res->text);
    for (size_t k = 0; k < m->nedits; k++) {
        buf_add(&m->res->text, m->text + from, m->edits[k].at - from);
        buf_add(&m->res->text, m->edits[k].text.ptr, m->edits[k].text.len);
        from = m->edits[k].at;
    }
    buf_add(&m->res->text, m->text + from, m->len - from);
}

void cfgmerge_init(struct cfgmerge_result *res)
{
    memset(res, 0, sizeof(*res));
    buf_init(&res->text);
    buf_init(&res->notes);
}

void cfgmerge_release(struct cfgmerge_result *res)
{
    buf_release(&res->text);
    buf_release(&res->notes);
}

int cfgmerge(const char *text, size_t len, const json_t *fragment, int add_labels,
             struct cfgmerge_result *res, char *err, size_t errlen)
{
    struct merge m = { .text = text, .len = len, .res = res, .add_labels = add_labels };
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr), *hf, *wf, *add = json_array(), *f;
    struct jsonspan root, fs;
    size_t i, j;
    int rc = 0;

    if (doc == NULL || !json_is_object(doc)) {
        snprintf(err, errlen, "line %d: %s", doc ? 1 : jerr.line,
                 doc ? "the top level is not an object" : jerr.text);
        rc = ERRCODE_FORMAT;
        goto done;
    }
    wf = json_object_get(fragment, "families");
    if (!json_is_array(wf)) {
        snprintf(err, errlen, "the proposal has no \"families\" array");
        rc = ERRCODE_FORMAT;
        goto done;
    }
    hf = json_object_get(doc, "families");
    if (jsonspan_root(text, len, &root) != 0 ||
        (json_is_array(hf) && jsonspan_member(text, &root, "families", &fs) != 1)) {
        snprintf(err, errlen, "its \"families\" could not be found in the text");
        rc = ERRCODE_FORMAT;
        goto done;
    }
    json_array_foreach(wf, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *h = name != NULL && json_is_array(hf) ? named(hf, name, 1, &j) : NULL;
        struct jsonspan one;

        if (name == NULL)
            continue;
        if (h == NULL) {
            json_array_append(add, f);
            res->families++;
            buf_addf(&res->notes, "added: family %s\n", name);
            continue;
        }
        if ((rc = jsonspan_element(text, &fs, j, &one)) != 1 ||
            (rc = merge_family(&m, h, f, &one)) < 0) {
            snprintf(err, errlen, "family %s could not be found in the text", name);
            rc = ERRCODE_FORMAT;
            goto done;
        }
        rc = 0;
    }
    if (json_array_size(add) > 0)
        rc =
            json_is_array(hf) ? append_items(&m, &fs, add) : add_member(&m, &root, "families", add);
    if (rc < 0) {
        snprintf(err, errlen, "the text could not be edited where its families are");
        goto done;
    }
    apply(&m);
done:
    for (i = 0; i < m.nedits; i++)
        buf_release(&m.edits[i].text);
    free(m.edits);
    json_decref(add);
    json_decref(doc);
    return rc;
}
