#include "learnmerge.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "daemon.h"

/* A family name as the allowlist compares it: '.' and '-' read as '_'. */
static void normalise(char *out, size_t size, const char *name)
{
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < size; i++)
        out[i] = name[i] == '.' || name[i] == '-' ? '_' : name[i];
    out[i] = '\0';
}

static int counter(const json_t *f)
{
    return strcmp(json_string_value(json_object_get(f, "type")), "counter") == 0;
}

/* Whether families a and b are one: the same name, or counters but for "_total". */
static int same_family(const json_t *a, const json_t *b)
{
    char x[256], y[256];
    size_t n, m;

    normalise(x, sizeof(x), json_string_value(json_object_get(a, "name")));
    normalise(y, sizeof(y), json_string_value(json_object_get(b, "name")));
    if (strcmp(x, y) == 0)
        return 1;
    if (!counter(a) || !counter(b))
        return 0;
    n = strlen(x);
    m = strlen(y);
    if (n > 6 && strcmp(x + n - 6, "_total") == 0)
        x[n - 6] = '\0';
    if (m > 6 && strcmp(y + m - 6, "_total") == 0)
        y[m - 6] = '\0';
    return strcmp(x, y) == 0;
}

static json_t *named(json_t *array, const char *name)
{
    json_t *v;
    size_t i;

    json_array_foreach(array, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            return v;
    }
    return NULL;
}

static void add_values(json_t *have, const json_t *more)
{
    json_t *v, *w;
    size_t i, j;

    json_array_foreach(more, i, v)
    {
        int found = 0;

        json_array_foreach(have, j, w) found |= json_equal(v, w);
        if (!found)
            json_array_append(have, v);
    }
}

int learnmerge(json_t *cfg, const json_t *fragment)
{
    json_t *families = json_object_get(cfg, "families"), *f, *g, *l, *have;
    size_t i, j, k;
    int added = 0;

    if (families == NULL) {
        families = json_array();
        json_object_set_new(cfg, "families", families);
    }
    json_array_foreach(json_object_get(fragment, "families"), i, f)
    {
        json_t *into = NULL;

        json_array_foreach(families, j, g) if (same_family(f, g)) into = g;
        if (into == NULL) {
            json_array_append_new(families, json_deep_copy(f));
            added++;
            continue;
        }
        if (json_object_get(into, "labels") == NULL)
            json_object_set_new(into, "labels", json_array());
        json_array_foreach(json_object_get(f, "labels"), k, l)
        {
            have = named(json_object_get(into, "labels"),
                         json_string_value(json_object_get(l, "name")));
            if (have == NULL)
                json_array_append_new(json_object_get(into, "labels"), json_deep_copy(l));
            else if (json_object_get(have, "values") != NULL &&
                     json_object_get(l, "values") != NULL)
                add_values(json_object_get(have, "values"), json_object_get(l, "values"));
        }
    }
    return added;
}

json_t *learnmerge_get(struct daemon *d, const char *path)
{
    char *body;
    json_error_t err;
    json_t *j;

    cr_assert_eq(daemon_get(d, path, NULL, &body), 200, "GET %s", path);
    j = json_loads(body, 0, &err);
    cr_assert_not_null(j, "GET %s: %s: %s", path, err.text, body);
    free(body);
    return j;
}
