#include "store/intern.h"

#include "base/counted.h"

uint32_t intern_add(struct intern *in, const char *s, size_t len, uint64_t h, size_t *bytes)
{
    struct intern_value *v;
    uint32_t id;

    if (in->nfree > 0) {
        id = in->freeids[--in->nfree];
    } else {
        if (in->nvals == in->valcap) {
            uint32_t n = in->valcap ? in->valcap * 2 : 8;

            in->vals = counted_realloc(bytes, in->vals, in->valcap * sizeof *in->vals,
                                       n * sizeof *in->vals);
            in->valcap = n;
        }
        id = ++in->nvals;
    }
    v = counted_alloc(bytes, sizeof *v + len + 1);
    v->hash = h;
    v->id = id;
    v->refs = 0;
    v->len = (uint32_t)len;
    memcpy(v->s, s, len);
    v->s[len] = '\0';
    in->vals[id - 1] = v;
    table_insert(&in->tab, h, v, bytes);
    return id;
}

void intern_unref(struct intern *in, uint32_t id, size_t *bytes)
{
    struct intern_value *v = in->vals[id - 1];

    if (--v->refs > 0)
        return;
    in->live--;
    if (in->enumerated)
        return;
    /* A capped key's cap counts values in use: give the id back. */
    table_remove(&in->tab, v->hash, v);
    in->vals[id - 1] = NULL;
    counted_free(bytes, v, sizeof *v + v->len + 1);
    if (in->nfree == in->freecap) {
        uint32_t n = in->freecap ? in->freecap * 2 : 8;

        in->freeids = counted_realloc(bytes, in->freeids, in->freecap * sizeof *in->freeids,
                                      n * sizeof(uint32_t));
        in->freecap = n;
    }
    in->freeids[in->nfree++] = id;
}

void intern_rewind(struct intern *in)
{
    uint32_t id;

    while (in->nvals > 0 && in->vals[in->nvals - 1] == NULL)
        in->nvals--;
    /* Every id below nvals whose value is gone is in freeids: there is room for them. */
    in->nfree = 0;
    for (id = in->nvals; id >= 1; id--)
        if (in->vals[id - 1] == NULL)
            in->freeids[in->nfree++] = id;
}

int intern_next(const struct intern *in, size_t *it, const char **s, size_t *len)
{
    while (*it < in->nvals) {
        const struct intern_value *v = in->vals[(*it)++];

        if (v != NULL && v->refs > 0) {
            *s = v->s;
            *len = v->len;
            return 1;
        }
    }
    return 0;
}

int intern_compact(struct intern *in, size_t budget, size_t *bytes)
{
    return table_compact(&in->tab, budget, bytes);
}

void intern_release(struct intern *in, size_t *bytes)
{
    uint32_t i;

    for (i = 0; i < in->nvals; i++)
        if (in->vals[i] != NULL)
            counted_free(bytes, in->vals[i], sizeof *in->vals[i] + in->vals[i]->len + 1);
    counted_free(bytes, in->vals, in->valcap * sizeof *in->vals);
    counted_free(bytes, in->freeids, in->freecap * sizeof *in->freeids);
    table_release(&in->tab, bytes);
    memset(in, 0, sizeof *in);
}
