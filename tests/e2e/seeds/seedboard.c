#include "seedboard.h"

#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/common.h"
#include "seedlabels.h"
#include "seedprom.h"

struct vars {
    const char *name[32];
    const char *value[32];
    size_t n;
};

/* expr with the variables substituted (malloc'd); fails the test on an unknown one. */
static char *substitute(struct seed_run *s, const struct vars *v, const char *expr)
{
    static const char *const builtin[][2] = {
        { "__rate_interval", "1m" },  { "__interval", "15s" },
        { "__range", "1h" },          { "__rate_interval_ms", "60000" },
        { "__interval_ms", "15000" }, { "__range_ms", "3600000" },
        { "__range_s", "3600" },      { "__interval_s", "15" },
    };
    struct buf out = BUF_INIT;
    char name[64];

    for (const char *p = expr; *p;) {
        const char *start = p, *val = NULL;
        size_t len = 0;

        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');

            cr_assert_not_null(end, "%s: unclosed ${ in %s", s->name, expr);
            len = (size_t)(end - p - 2);
            memcpy(name, p + 2, len < sizeof(name) ? len : sizeof(name) - 1);
            p = end + 1;
        } else if (p[0] == '[' && p[1] == '[') {
            const char *end = strstr(p, "]]");

            cr_assert_not_null(end, "%s: unclosed [[ in %s", s->name, expr);
            len = (size_t)(end - p - 2);
            memcpy(name, p + 2, len < sizeof(name) ? len : sizeof(name) - 1);
            p = end + 2;
        } else if (p[0] == '$' &&
                   (p[1] == '_' || (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'))) {
            const char *q = p + 1;

            while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                   (*q >= '0' && *q <= '9'))
                q++;
            len = (size_t)(q - p - 1);
            memcpy(name, p + 1, len < sizeof(name) ? len : sizeof(name) - 1);
            p = q;
        } else {
            buf_addch(&out, *p);
            p++;
            continue;
        }
        name[len < sizeof(name) ? len : sizeof(name) - 1] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(builtin) && val == NULL; i++)
            if (strcmp(name, builtin[i][0]) == 0)
                val = builtin[i][1];
        for (size_t i = 0; i < v->n && val == NULL; i++)
            if (strcmp(name, v->name[i]) == 0)
                val = v->value[i];
        cr_assert_not_null(val, "%s: dashboard variable %.*s is not one the test knows: %s",
                           s->name, (int)(p - start), start, expr);
        buf_adds(&out, val);
    }
    buf_addch(&out, '\0');
    return out.ptr;
}

static const char *current_value(json_t *var)
{
    json_t *cur = json_object_get(json_object_get(var, "current"), "value");
    const char *v;

    if (json_is_array(cur))
        cur = json_array_get(cur, 0);
    v = json_string_value(cur);
    if (v == NULL)
        return NULL;
    if (strcmp(v, "$__all") == 0)
        return seed_str_or(json_string_value(json_object_get(var, "allValue")), ".*");
    return v;
}

/*
 * Run every panel query under v: each must return data, or, with none set, return
 * nothing (the variables select something that does not exist).
 */
static void check_panels(struct seed_run *s, const struct vars *v, json_t *panels, int *queries,
                         int none)
{
    json_t *p, *t;
    size_t i, k;

    json_array_foreach(panels, i, p)
    {
        const char *title = seed_str_or(json_string_value(json_object_get(p, "title")), "?");

        check_panels(s, v, json_object_get(p, "panels"), queries, none);
        json_array_foreach(json_object_get(p, "targets"), k, t)
        {
            const char *expr = json_string_value(json_object_get(t, "expr"));
            char what[300], *q;

            cr_assert_not_null(expr, "%s: panel \"%s\": a target without expr", s->name, title);
            snprintf(what, sizeof(what), "panel \"%s\" %s", title,
                     seed_str_or(json_string_value(json_object_get(t, "refId")), ""));
            q = substitute(s, v, expr);
            if (none) {
                seedprom_check_empty(s, what, q);
            } else {
                seedprom_check_query(s, what, q);
                seedlabels_check(s, what, q, json_string_value(json_object_get(t, "legendFormat")));
            }
            free(q);
            ++*queries;
        }
    }
}

void seedboard_check(struct seed_run *s)
{
    char path[600];
    json_error_t err;
    json_t *root, *var;
    struct vars v = { .n = 0 };
    size_t i;
    int queries = 0;

    snprintf(path, sizeof(path), "%s/dashboard.json", s->src);
    root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s:%d: %s", path, err.line, err.text);
    json_array_foreach(json_object_get(json_object_get(root, "templating"), "list"), i, var)
    {
        const char *type = seed_str_or(json_string_value(json_object_get(var, "type")), "");
        const char *name = json_string_value(json_object_get(var, "name"));
        json_t *q = json_object_get(var, "query");
        const char *def = json_is_object(q) ? json_string_value(json_object_get(q, "query"))
                                            : json_string_value(q);

        if (strcmp(type, "datasource") == 0)
            continue;
        cr_assert(name != NULL && v.n < ARRAY_SIZE(v.name));
        v.name[v.n] = name;
        v.value[v.n] = current_value(var);
        cr_assert_not_null(v.value[v.n], "%s: variable %s has no current value", s->name, name);
        v.n++;
        /* label_values(SELECTOR, LABEL): the selector's series have that label. */
        if (strcmp(type, "query") == 0 && def != NULL && strncmp(def, "label_values(", 13) == 0) {
            char sel[512], expr[600], *comma;

            snprintf(sel, sizeof(sel), "%s", def + 13);
            comma = strrchr(sel, ',');
            cr_assert(comma != NULL && sel[strlen(sel) - 1] == ')', "%s: %s", s->name, def);
            sel[strlen(sel) - 1] = '\0';
            *comma = '\0';
            snprintf(expr, sizeof(expr), "count by (%s) (%s)", comma + 1, sel);
            seedprom_check_query(s, name, expr);
        }
    }
    check_panels(s, &v, json_object_get(root, "panels"), &queries, 0);
    cr_assert_gt(queries, 0, "%s: a dashboard without queries", s->name);
    /*
     * The $instance selector applies to every panel: with an instance that does not
     * exist, none has data (a recording rule summed over instances, or a query without
     * instance=~"$instance", would still show every instance's).
     */
    for (i = 0; i < v.n; i++)
        if (strcmp(v.name[i], "instance") == 0) {
            v.value[i] = "no-such-instance:1";
            check_panels(s, &v, json_object_get(root, "panels"), &queries, 1);
        }
    json_decref(root);
}
