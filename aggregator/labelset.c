#include "labelset.h"

#include <string.h>

#include "counted.h"
#include "statsd.h"

void labelset_init(struct labelset *ls, const struct config_family *cf)
{
    size_t j;

    ls->n = cf->nlabels;
    for (j = 0; j < cf->nlabels; j++)
        ls->keys[j].in.enumerated = cf->labels[j].values != NULL;
}

void labelset_configure(struct labelset *ls, const struct config_family *cf, size_t *bytes)
{
    size_t j, v;

    for (j = 0; j < cf->nlabels; j++) {
        struct labelset_key *k = &ls->keys[j];
        const struct config_label *cl = &cf->labels[j];

        k->cfg = cl;
        k->name_len = strlen(cl->name);
        k->in.cap = k->in.enumerated ? (uint32_t)cl->nvalues : cl->max_values;
        for (v = 0; k->in.enumerated && v < cl->nvalues; v++) {
            size_t len = strlen(cl->values[v]);
            uint64_t h = intern_hash(cl->values[v], len);

            if (intern_find(&k->in, cl->values[v], len, h) == 0)
                intern_add(&k->in, cl->values[v], len, h, bytes);
        }
    }
}

/* Enumerated values are never freed: are the nvals distinct ones each still in cl? */
static int values_kept(const struct intern *k, const struct config_label *cl, size_t *bytes)
{
    unsigned char *seen = counted_calloc(bytes, k->nvals, 1);
    uint32_t found = 0;
    size_t v;

    for (v = 0; v < cl->nvalues; v++) {
        size_t len = strlen(cl->values[v]);
        uint32_t id = intern_find(k, cl->values[v], len, intern_hash(cl->values[v], len));

        if (id != 0 && !seen[id - 1]) {
            seen[id - 1] = 1;
            found++;
        }
    }
    counted_free(bytes, seen, k->nvals);
    return found == k->nvals;
}

int labelset_compatible(const struct labelset *ls, const struct config_family *cf, size_t *bytes)
{
    size_t j;

    for (j = 0; j < ls->n; j++) {
        const struct labelset_key *k = &ls->keys[j];
        const struct config_label *cl = &cf->labels[j];

        if (strcmp(k->cfg->name, cl->name) != 0 || k->in.enumerated != (cl->values != NULL))
            return 0;
        if (k->in.enumerated && k->in.nvals > 0 && !values_kept(&k->in, cl, bytes))
            return 0;
    }
    return 1;
}

/* Tag keys are normalised like names: '.' and '-' become '_'. */
static int key_matches(const struct labelset_key *k, const char *key, size_t len)
{
    const char *name = k->cfg->name;
    size_t i;

    if (len != k->name_len)
        return 0;
    for (i = 0; i < len; i++)
        if (name[i] != statsd_normalize_char(key[i]))
            return 0;
    return 1;
}

int labelset_check(const struct labelset *ls, const struct statsd_line *line, size_t max_value_len,
                   struct labelset_match *m)
{
    unsigned seen = 0;
    size_t i, j;

    for (i = 0; i < line->ntags; i++) {
        const struct statsd_tag *t = &line->tags[i];
        const struct intern *k = NULL;
        uint32_t id;

        for (j = 0; j < ls->n; j++) {
            if (key_matches(&ls->keys[j], t->key.ptr, t->key.len)) {
                k = &ls->keys[j].in;
                break;
            }
        }
        if (k == NULL)
            return STATSD_LABEL_NOT_ALLOWED;
        if (seen & (1u << j))
            return STATSD_DUPLICATE_TAG;
        seen |= 1u << j;
        if (t->value.len == 0)
            continue;
        if (t->value.len > max_value_len)
            return STATSD_LABEL_VALUE_TOO_LONG;
        m->phash[j] = intern_hash(t->value.ptr, t->value.len);
        id = intern_find(k, t->value.ptr, t->value.len, m->phash[j]);
        if (id != 0) {
            m->ids[j] = id;
            continue;
        }
        if (k->enumerated)
            return STATSD_LABEL_VALUE_NOT_ALLOWED;
        if (intern_full(k))
            return STATSD_LABEL_VALUES_CAP;
        m->pending[j] = &t->value;
        m->fresh |= 1u << j;
    }
    return STATSD_OK;
}

void labelset_intern(struct labelset *ls, struct labelset_match *m, size_t *bytes)
{
    size_t j;

    for (j = 0; j < ls->n; j++)
        if (m->fresh & (1u << j))
            m->ids[j] = intern_add(&ls->keys[j].in, m->pending[j]->ptr, m->pending[j]->len,
                                   m->phash[j], bytes);
}

void labelset_ref(struct labelset *ls, const uint32_t *ids)
{
    size_t j;

    for (j = 0; j < ls->n; j++)
        if (ids[j] != 0)
            intern_ref(&ls->keys[j].in, ids[j]);
}

void labelset_unref(struct labelset *ls, const uint32_t *ids, size_t *bytes)
{
    size_t j;

    for (j = 0; j < ls->n; j++)
        if (ids[j] != 0)
            intern_unref(&ls->keys[j].in, ids[j], bytes);
}

void labelset_release(struct labelset *ls, size_t *bytes)
{
    size_t j;

    for (j = 0; j < ls->n; j++)
        intern_release(&ls->keys[j].in, bytes);
    memset(ls, 0, sizeof *ls);
}
