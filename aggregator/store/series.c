/*
 * series: one series, one heap block, on its family's list and in the registry's table
 * (store/internal.h). Creation happens once per new label set and freeing on expiry or a
 * drain; only a summary series' observations run per line.
 */
#include <string.h>

#include "base/counted.h"
#include "store/internal.h"

/* Write the identity of line at the end of the block of s, which has room for it. */
static void give_id(const struct registry__family *f, struct registry__series *s,
                    const struct statsd_line *line)
{
    hotcache_id_set(series_id_at(f, s), s, line);
    s->flags |= SERIES_HOT;
}

struct registry__series *series_new(struct registry *r, uint32_t fam, const uint32_t *ids,
                                    uint64_t h, const struct statsd_line *line)
{
    struct registry__family *f = &r->fams[fam];
    size_t n = f->cfg->nlabels, idb = line != NULL ? hotcache_id_bytes(line) : 0;
    struct registry__series *s = slab_alloc(&r->blocks, &r->mem, f->block + idb);

    memset(s, 0, f->block);
    if (f->noff != 0)
        nativehist_init(&series_native(f, s)->h, &f->ncfg);
    s->created_ms = r->clock != NULL ? r->clock(r->clock_arg) : 0;
    s->fam = fam;
    memcpy(s->ids, ids, n * sizeof *ids);
    if (idb != 0)
        give_id(f, s, line);
    labelset_ref(&f->labels, ids);
    s->prev = f->tail;
    if (f->tail)
        f->tail->next = s;
    else
        f->head = s;
    f->tail = s;
    f->nseries++;
    table_insert(&r->series, h, s, &r->mem);
    r->nseries++;
    return s;
}

struct registry__series *series_create(struct registry *r, uint32_t fi, struct labelset_match *m,
                                       const struct statsd_line *line)
{
    struct registry__family *f = &r->fams[fi];

    labelset_intern(&f->labels, m, &r->mem);
    return series_new(r, fi, m->ids, series_hash_match(fi, m, f->labels.n), line);
}

/*
 * The block of series s (family f) now lies at to, a copy: every pointer to it follows,
 * its neighbours', the table's, the cursors', the marks' and its identity's way in the
 * front cache.
 */
static void repoint(struct registry *r, struct registry__family *f, struct registry__series *s,
                    struct registry__series *to)
{
    struct registry_cursor *c;

    if (s->prev)
        s->prev->next = to;
    else
        f->head = to;
    if (s->next)
        s->next->prev = to;
    else
        f->tail = to;
    table_replace(&r->series, series_hash(r, s->fam, s->ids, f->labels.n), s, to);
    for (c = r->cursors; c != NULL; c = c->link)
        if (c->pos == s)
            c->pos = to;
    for (size_t k = 0; k < 2; k++)
        if (f->marks[k].s == s)
            f->marks[k].s = to;
    if (s->flags & SERIES_HOT)
        hotcache_rehome(&r->hot, series_id_at(f, s), series_id_at(f, to));
}

/* Move s (without an identity) into a new block of bytes. */
static struct registry__series *series_move(struct registry *r, struct registry__family *f,
                                            struct registry__series *s, size_t bytes)
{
    struct registry__series *to = slab_alloc(&r->blocks, &r->mem, bytes);

    memcpy(to, s, f->block);
    repoint(r, f, s, to);
    slab_free(&r->blocks, &r->mem, s, f->block);
    return to;
}

void series_slid(void *arg, void *from, void *to)
{
    struct registry *r = arg;
    struct registry__series *s = from;

    repoint(r, &r->fams[s->fam], s, to);
}

void series_value_slid(void *arg, void *from, void *to)
{
    struct registry *r = arg;
    struct intern_value *v = to;
    struct registry__family *f = &r->fams[v->owner / CONFIG_MAX_LABELS];

    intern_moved(&f->labels.keys[v->owner % CONFIG_MAX_LABELS].in, from, v);
}

struct registry__series *series_cache(struct registry *r, struct registry__series *s,
                                      const struct statsd_line *line, uint64_t notes)
{
    struct registry__family *f = &r->fams[s->fam];
    if (!(s->flags & SERIES_HOT)) {
        size_t idb = hotcache_id_bytes(line);

        if (idb == 0)
            return s;
        s = series_move(r, f, s, f->block + idb);
        give_id(f, s, line);
    }
    hotcache_add(&r->hot, series_id_at(f, s), line, notes, f->stamp, r->nseries, &r->mem);
    return s;
}

void series_release(struct registry *r, const struct registry__family *f,
                    struct registry__series *s)
{
    if (f->noff != 0) {
        r->mem -= nativehist_bytes(&series_native(f, s)->h);
        nativehist_free(&series_native(f, s)->h);
    }
    if (f->spec != NULL)
        summary_free(*series_summary(f, s), &r->mem);
    else if (f->carries != 0 && series_hist(f, s)->carry != NULL)
        counted_free(&r->mem, series_hist(f, s)->carry, f->carries);
    slab_free(&r->blocks, &r->mem, s, series_bytes(f, s));
}

void series_native_observe(struct registry *r, const struct registry__family *f,
                           struct registry__series *s, double v, uint64_t n)
{
    struct nativehist *h = &series_native(f, s)->h;
    size_t before = nativehist_bytes(h);

    nativehist_observe(h, &f->ncfg, v, n);
    r->mem = r->mem - before + nativehist_bytes(h);
}

void series_observe(struct registry *r, const struct registry__family *f,
                    struct registry__series *s, double v, double rate, uint64_t now_ms)
{
    struct summary **sm = series_summary(f, s);

    if (*sm == NULL)
        *sm = summary_new(f->spec, now_ms, &r->mem);
    summary_observe(*sm, f->spec, v, rate, now_ms, &r->mem);
}

void series_summarize(struct registry *r, const struct registry__family *f,
                      struct registry__series *s, const struct statsd_line *line, uint64_t now_ms)
{
    double div = series_div(f->cfg, line->type);
    double rate = line->rate < MIN_RATE ? MIN_RATE : line->rate;

    for (size_t i = 0; i < line->nvalues; i++)
        series_observe(r, f, s, line->values[i] / div, rate, now_ms);
}

uint64_t series_prefetch_free(const struct registry *r, const struct registry__series *s)
{
    const struct registry__family *f = &r->fams[s->fam];
    uint64_t h = series_hash(r, s->fam, s->ids, f->labels.n);

    table_prefetch(&r->series, h);
    for (size_t j = 0; j < f->labels.n; j++)
        if (s->ids[j] != 0)
            intern_prefetch_unref(&f->labels.keys[j].in, s->ids[j]);
    if (s->flags & SERIES_HOT)
        hotcache_prefetch_drop(&r->hot, series_id(f, s));
    return h;
}

void series_free(struct registry *r, struct registry__series *s)
{
    series_free_hashed(r, s, series_hash(r, s->fam, s->ids, r->fams[s->fam].labels.n));
}

void series_free_hashed(struct registry *r, struct registry__series *s, uint64_t h)
{
    struct registry__family *f = &r->fams[s->fam];
    struct registry_cursor *c;

    /* Cursors standing on s move to its successor: the walk tolerates removal. */
    for (c = r->cursors; c != NULL; c = c->link)
        if (c->pos == s)
            c->pos = s->next;
    /* A mark (expiry.c) moves back: every series after it is still as young. */
    for (size_t k = 0; k < 2; k++)
        if (f->marks[k].s == s)
            f->marks[k].s = s->prev;
    table_remove(&r->series, h, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        f->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        f->tail = s->prev;
    labelset_unref(&f->labels, s->ids, &r->mem);
    f->nseries--;
    if (f->state == FAM_RETIRED)
        r->retired--;
    else
        r->nseries--;
    if (s->flags & SERIES_HOT)
        hotcache_drop(&r->hot, series_id(f, s));
    series_release(r, f, s);
}

int series_pinned(const struct registry__family *f, const struct registry__series *s)
{
    size_t j;

    if (s->flags & SERIES_PINNED)
        return 1;
    if (!f->cfg->precreate)
        return 0;
    for (j = 0; j < f->labels.n; j++)
        if (s->ids[j] == 0)
            return 0;
    return 1;
}
