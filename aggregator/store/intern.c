#include "store/intern.h"

#include "base/counted.h"

/* A recycled id's slot: the next one on the list (vals). */
static struct intern_value *free_slot(uint32_t next)
{
    return (struct intern_value *)(uintptr_t)((uintptr_t)next << 1 | 1);
}

static int is_free(const struct intern_value *slot)
{
    return ((uintptr_t)slot & 1) != 0;
}

static uint32_t next_free(const struct intern_value *slot)
{
    return (uint32_t)((uintptr_t)slot >> 1);
}

static size_t value_bytes(size_t len)
{
    return sizeof(struct intern_value) + len + 1;
}

static void value_free(struct intern *in, struct intern_value *v, size_t *bytes)
{
    if (in->slab != NULL)
        slab_free(in->slab, bytes, v, value_bytes(v->len));
    else
        counted_free(bytes, v, value_bytes(v->len));
}

uint32_t intern_add(struct intern *in, const char *s, size_t len, uint64_t h, size_t *bytes)
{
    struct intern_value *v;
    uint32_t id;

    if (in->free_head != 0) {
        id = in->free_head;
        in->free_head = next_free(in->vals[id - 1]);
        in->nfree--;
    } else {
        if (in->nvals == in->valcap) {
            uint32_t n = in->valcap ? in->valcap * 2 : 8;

            in->vals = counted_realloc(bytes, in->vals, in->valcap * sizeof *in->vals,
                                       n * sizeof *in->vals);
            in->valcap = n;
        }
        id = ++in->nvals;
    }
    v = in->slab != NULL ? slab_alloc(in->slab, bytes, value_bytes(len))
                         : counted_alloc(bytes, value_bytes(len));
    v->hash = h;
    v->owner = in->owner;
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
    value_free(in, v, bytes);
    in->vals[id - 1] = free_slot(in->free_head);
    in->free_head = id;
    in->nfree++;
}

void intern_rewind(struct intern *in)
{
    uint32_t id;

    while (in->nvals > 0 && is_free(in->vals[in->nvals - 1]))
        in->nvals--;
    /* The list again, lowest first, of the recycled ids below nvals. */
    in->free_head = 0;
    in->nfree = 0;
    for (id = in->nvals; id >= 1; id--)
        if (is_free(in->vals[id - 1])) {
            in->vals[id - 1] = free_slot(in->free_head);
            in->free_head = id;
            in->nfree++;
        }
}

int intern_next(const struct intern *in, size_t *it, const char **s, size_t *len)
{
    while (*it < in->nvals) {
        const struct intern_value *v = in->vals[(*it)++];

        if (!is_free(v) && v->refs > 0) {
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

void intern_moved(struct intern *in, const struct intern_value *from, struct intern_value *to)
{
    in->vals[to->id - 1] = to;
    table_replace(&in->tab, to->hash, from, to);
}

/* Free the values still allocated (ids handed out less those recycled). */
static void values_free(struct intern *in, size_t *bytes)
{
    for (uint32_t i = 0; in->vals != NULL && in->nvals - in->nfree > 0 && i < in->nvals; i++)
        if (!is_free(in->vals[i]))
            value_free(in, in->vals[i], bytes);
}

void intern_release(struct intern *in, size_t *bytes)
{
    values_free(in, bytes);
    counted_free(bytes, in->vals, in->valcap * sizeof *in->vals);
    table_release(&in->tab, bytes);
    counted_release_step(bytes, &in->dead, 1);
    memset(in, 0, sizeof *in);
}

int intern_release_step(struct intern *in, size_t *bytes)
{
    if (in->vals != NULL) {
        values_free(in, bytes);
        counted_dead_take(bytes, &in->dead, in->vals, in->valcap * sizeof *in->vals);
        in->vals = NULL;
        return 1;
    }
    if (counted_release_step(bytes, &in->dead, 0) || table_release_step(&in->tab, bytes))
        return 1;
    memset(in, 0, sizeof *in);
    return 0;
}
