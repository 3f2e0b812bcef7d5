#include "store/intern.h"

#include <assert.h>

#include "base/counted.h"

/* A recycled slot (1-based) in the list: the next one on the list of free slots. */
static struct intern_value *free_slot(uint32_t next)
{
    return (struct intern_value *)(uintptr_t)((uintptr_t)next << 1 | 1);
}

static int is_free(const struct intern_value *slot)
{
    return ((uintptr_t)slot & 1) != 0;
}

/* A slot of the old list whose value moved to slot i (0-based) of the new one. */
static struct intern_value *moved_slot(uint32_t i)
{
    return (struct intern_value *)(uintptr_t)((uintptr_t)i << 2 | 2);
}

/* A slot that holds a value: neither free nor moved. */
static int is_value(const struct intern_value *slot)
{
    return ((uintptr_t)slot & 3) == 0;
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

/* Where the slot of id lies: the current list, or the old one for an id of the other epoch. */
static struct intern_value **slot_of(struct intern *in, uint32_t id)
{
    uint32_t i = (id & ~INTERN_EPOCH) - 1;

    return (id & INTERN_EPOCH) == in->epoch ? &in->vals[i] : &in->prev[i];
}

/* A slot of the current list for a new value: a recycled one, or one more. 1-based. */
static uint32_t take_slot(struct intern *in, size_t *bytes)
{
    uint32_t i;

    if (in->free_head != 0) {
        i = in->free_head;
        in->free_head = next_free(in->vals[i - 1]);
        in->nfree--;
        return i;
    }
    if (in->nvals == in->valcap) {
        uint32_t n = in->valcap ? in->valcap * 2 : 8;

        in->vals =
            counted_realloc(bytes, in->vals, in->valcap * sizeof *in->vals, n * sizeof *in->vals);
        in->valcap = n;
    }
    return ++in->nvals;
}

uint32_t intern_add(struct intern *in, const char *s, size_t len, uint64_t h, size_t *bytes)
{
    struct intern_value *v;
    uint32_t i = take_slot(in, bytes);

    v = in->slab != NULL ? slab_alloc(in->slab, bytes, value_bytes(len))
                         : counted_alloc(bytes, value_bytes(len));
    v->hash = h;
    v->owner = in->owner;
    v->id = i | in->epoch;
    v->refs = 0;
    v->len = (uint32_t)len;
    memcpy(v->s, s, len);
    v->s[len] = '\0';
    in->vals[i - 1] = v;
    table_insert(&in->tab, h, v, bytes);
    return v->id;
}

void intern_unref(struct intern *in, uint32_t id, size_t *bytes)
{
    struct intern_value *v = intern__at(in, id);
    uint32_t own = v->id;

    if (--v->refs > 0)
        return;
    in->live--;
    if (in->enumerated)
        return;
    /* A capped key's cap counts values in use: give the id back. */
    table_remove(&in->tab, v->hash, v);
    value_free(in, v, bytes);
    if ((own & INTERN_EPOCH) != in->epoch) {
        /* Not moved yet: the renumbering passes it by. */
        in->prev[(own & ~INTERN_EPOCH) - 1] = free_slot(0);
        return;
    }
    in->vals[(own & ~INTERN_EPOCH) - 1] = free_slot(in->free_head);
    in->free_head = own & ~INTERN_EPOCH;
    in->nfree++;
}

void intern_rewind(struct intern *in)
{
    uint32_t i;

    assert(in->prev == NULL);
    while (in->nvals > 0 && is_free(in->vals[in->nvals - 1]))
        in->nvals--;
    /* The list again, lowest first, of the recycled slots below nvals. */
    in->free_head = 0;
    in->nfree = 0;
    for (i = in->nvals; i >= 1; i--)
        if (is_free(in->vals[i - 1])) {
            in->vals[i - 1] = free_slot(in->free_head);
            in->free_head = i;
            in->nfree++;
        }
}

int intern_next(const struct intern *in, size_t *it, const char **s, size_t *len)
{
    /* The old list's values not moved yet, then the current list's. */
    for (; *it < (size_t)in->nprev + in->nvals; (*it)++) {
        const struct intern_value *v = *it < in->nprev ? in->prev[*it] : in->vals[*it - in->nprev];

        if (is_value(v) && v->refs > 0) {
            (*it)++;
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
    *slot_of(in, to->id) = to;
    table_replace(&in->tab, to->hash, from, to);
}

int intern_renumber_wanted(const struct intern *in)
{
    return !in->enumerated && in->prev == NULL && in->dead.p == NULL &&
           in->nvals >= INTERN_RENUMBER_MIN && in->live <= in->nvals / 2;
}

void intern_renumber_begin(struct intern *in, size_t *bytes)
{
    uint32_t cap = in->live + in->live / 4;

    assert(in->prev == NULL);
    if (cap < 8)
        cap = 8;
    in->prev = in->vals;
    in->nprev = in->nvals;
    in->prevcap = in->valcap;
    in->moved = 0;
    in->vals = counted_alloc(bytes, cap * sizeof *in->vals);
    in->valcap = cap;
    in->nvals = 0;
    in->free_head = 0;
    in->nfree = 0;
    in->epoch ^= INTERN_EPOCH;
}

int intern_renumber_step(struct intern *in, size_t budget, size_t *bytes)
{
    for (; in->moved < in->nprev && budget > 0; in->moved++, budget--) {
        struct intern_value *v = in->prev[in->moved];
        uint32_t i;

        if (!is_value(v))
            continue;
        i = take_slot(in, bytes);
        in->vals[i - 1] = v;
        v->id = i | in->epoch;
        in->prev[in->moved] = moved_slot(i - 1);
    }
    return in->moved < in->nprev;
}

int intern_renumber_end(struct intern *in, size_t *bytes)
{
    if (in->prev != NULL) {
        assert(in->moved == in->nprev);
        counted_dead_take(bytes, &in->dead, in->prev, in->prevcap * sizeof *in->prev);
        in->prev = NULL;
        in->nprev = in->prevcap = in->moved = 0;
        return in->dead.p != NULL;
    }
    return counted_release_step(bytes, &in->dead, 0);
}

/* Free the values still allocated, in either list. */
static void values_free(struct intern *in, size_t *bytes)
{
    uint32_t i;

    for (i = 0; in->prev != NULL && i < in->nprev; i++)
        if (is_value(in->prev[i]))
            value_free(in, in->prev[i], bytes);
    for (i = 0; in->vals != NULL && in->nvals - in->nfree > 0 && i < in->nvals; i++)
        if (!is_free(in->vals[i]))
            value_free(in, in->vals[i], bytes);
}

void intern_release(struct intern *in, size_t *bytes)
{
    values_free(in, bytes);
    counted_free(bytes, in->vals, in->valcap * sizeof *in->vals);
    if (in->prev != NULL)
        counted_free(bytes, in->prev, in->prevcap * sizeof *in->prev);
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
        in->nvals = in->nfree = 0;
        in->nprev = in->moved = 0; /* the old list's values are freed: it holds nothing now */
        return 1;
    }
    if (counted_release_step(bytes, &in->dead, 0))
        return 1;
    if (in->prev != NULL) {
        counted_dead_take(bytes, &in->dead, in->prev, in->prevcap * sizeof *in->prev);
        in->prev = NULL;
        in->nprev = 0;
        return 1;
    }
    if (table_release_step(&in->tab, bytes))
        return 1;
    memset(in, 0, sizeof *in);
    return 0;
}
