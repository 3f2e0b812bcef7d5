#include "http/routes.h"
#include "base/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void routes_init(struct routes *t)
{
    memset(t, 0, sizeof(*t));
    t->other.path = mem_strdup("");
    t->other.name = mem_strdup(ROUTES_OTHER);
}

static void entry_release(struct routes_entry *e)
{
    free(e->path);
    free(e->name);
    e->path = e->name = NULL;
    e->ncodes = 0;
}

void routes_release(struct routes *t)
{
    for (size_t i = 0; i < t->n; i++)
        entry_release(&t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = 0;
    entry_release(&t->other);
}

int routes_add(struct routes *t, const char *path, const char *name)
{
    struct routes_entry *e;

    if (path == NULL || path[0] != '/' || name == NULL)
        return -EINVAL;
    if (routes_find(t, path) != ROUTES_NONE)
        return -EEXIST;
    t->v = mem_realloc(t->v, (t->n + 1) * sizeof(*t->v));
    e = &t->v[t->n];
    memset(e, 0, sizeof(*e));
    e->path = mem_strdup(path);
    e->name = mem_strdup(name);
    return (int)t->n++;
}

int routes_find(const struct routes *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].path, path) == 0)
            return (int)i;
    return ROUTES_NONE;
}

void routes_count(struct routes *t, int index, unsigned status)
{
    struct routes_entry *e = index == ROUTES_NONE ? &t->other : &t->v[index];
    size_t i;

    for (i = 0; i < e->ncodes; i++)
        if (e->codes[i].code == status)
            break;
    if (i == e->ncodes) {
        /* Handlers choose status codes, clients do not: the cap is never reached in
         * practice, and the last slot absorbs anything beyond it. */
        if (e->ncodes == ROUTES_MAX_CODES)
            i = ROUTES_MAX_CODES - 1;
        else
            e->codes[e->ncodes++].code = status;
    }
    e->codes[i].count++;
}

void routes_foreach(const struct routes *t, routes_count_cb cb, void *arg)
{
    for (size_t i = 0; i <= t->n; i++) {
        const struct routes_entry *e = i < t->n ? &t->v[i] : &t->other;

        for (size_t j = 0; j < e->ncodes; j++)
            cb(e->name, e->codes[j].code, e->codes[j].count, arg);
    }
}
