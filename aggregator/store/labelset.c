#include "store/labelset.h"

#include <limits.h>
#include <string.h>

#include "base/counted.h"
#include "statsd.h"

void labelset_init(struct labelset *ls, const struct config_family *cf, struct slab *slab,
                   uint32_t owner)
{
    size_t j;

    ls->n = cf->nlabels;
    for (j = 0; j < cf->nlabels; j++) {
        ls->keys[j].in.enumerated = cf->labels[j].values != NULL;
        ls->keys[j].in.slab = slab;
        ls->keys[j].in.owner = owner + (uint32_t)j;
    }
}

/* The id of s, interned first if it is new. */
static uint32_t intern_str(struct intern *in, const char *s, size_t *bytes)
{
    size_t len = strlen(s);
    uint64_t h = intern_hash(s, len);
    uint32_t id = intern_find(in, s, len, h);

    return id != 0 ? id : intern_add(in, s, len, h, bytes);
}

/*
 * The overflow value is interned up front, so that folding never needs room: an
 * enumerated key counts it among its values; a capped key holds a reference on it (it
 * is never freed) and has one more place than max_values, so that it never takes the
 * place of a value that a sender sends.
 */
static void configure_overflow(struct labelset_key *k, const struct config_label *cl, size_t *bytes)
{
    uint32_t old = k->overflow_id;

    k->overflow_id = cl->overflow != NULL ? intern_str(&k->in, cl->overflow, bytes) : 0;
    if (k->in.enumerated)
        return;
    if (k->overflow_id != 0) {
        intern_ref(&k->in, k->overflow_id);
        k->in.cap = cl->max_values + (cl->max_values < UINT32_MAX);
    }
    if (old != 0)
        intern_unref(&k->in, old, bytes); /* after the new reference: it may be the same */
}

void labelset_configure(struct labelset *ls, const struct config_family *cf, size_t *bytes)
{
    size_t j, v;

    ls->undeclared = cf->undeclared;
    for (j = 0; j < cf->nlabels; j++) {
        struct labelset_key *k = &ls->keys[j];
        const struct config_label *cl = &cf->labels[j];

        k->cfg = cl;
        k->name_len = strlen(cl->name);
        k->in.cap = k->in.enumerated ? (uint32_t)cl->nvalues : cl->max_values;
        for (v = 0; k->in.enumerated && v < cl->nvalues; v++)
            intern_str(&k->in, cl->values[v], bytes);
        configure_overflow(k, cl, bytes);
    }
}

/*
 * Enumerated values are never freed: are the nvals distinct ones each still in cl, as
 * one of its values or its overflow value?
 */
static int values_kept(const struct intern *k, const struct config_label *cl, size_t *bytes)
{
    unsigned char *seen = counted_calloc(bytes, k->nvals, 1);
    uint32_t found = 0;
    size_t v;

    for (v = 0; v <= cl->nvalues; v++) {
        const char *s = v < cl->nvalues ? cl->values[v] : cl->overflow;
        size_t len = s != NULL ? strlen(s) : 0;
        uint32_t id = s != NULL ? intern_find(k, s, len, intern_hash(s, len)) : 0;

        if (id != 0 && !seen[id - 1]) {
            seen[id - 1] = 1;
            found++;
        }
    }
    counted_free(bytes, seen, k->nvals);
    return found == k->nvals;
}

/*
 * A capped key whose pattern changes may hold values that the new one refuses: series
 * hold them, so they cannot carry over (an enumerated key losing a value is the same).
 * The new overflow value is exempt, as it is from the pattern.
 */
static int values_match(const struct labelset_key *k, const struct config_label *cl)
{
    const char *v;
    size_t it = 0, len;

    if (cl->pattern_re == NULL ||
        (k->cfg->pattern != NULL && strcmp(k->cfg->pattern, cl->pattern) == 0))
        return 1;
    while (intern_next(&k->in, &it, &v, &len))
        if (!config_label_matches(cl, v, len) &&
            (cl->overflow == NULL || strcmp(v, cl->overflow) != 0))
            return 0;
    return 1;
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
        if (!k->in.enumerated && !values_match(k, cl))
            return 0;
    }
    return 1;
}

/* Tag keys are normalised like names: '.' and '-' become '_'. name is normalised. */
static int key_is(const char *name, size_t name_len, const char *key, size_t len)
{
    size_t i;

    if (len != name_len)
        return 0;
    for (i = 0; i < len; i++)
        if (name[i] != statsd_normalize_char(key[i]))
            return 0;
    return 1;
}

/* The key of a tag: its index in ls->keys, or -1 - i for c->strip_tags[i], or INT_MIN. */
static int key_of(const struct labelset *ls, const struct config *c, const struct statsd_view *key)
{
    size_t j;

    for (j = 0; j < ls->n; j++)
        if (key_is(ls->keys[j].cfg->name, ls->keys[j].name_len, key->ptr, key->len))
            return (int)j;
    for (j = 0; j < c->nstrip_tags; j++)
        if (key_is(c->strip_tags[j], strlen(c->strip_tags[j]), key->ptr, key->len))
            return -1 - (int)j;
    return INT_MIN;
}

/*
 * Whether a value matches the key's pattern. The value lies inside a datagram, and
 * regexec() wants a string; the copy is bounded by max_label_value_len (the caller
 * checks it first) and happens only for a value not interned yet.
 */
static int pattern_matches(const struct config_label *cl, const struct statsd_view *v)
{
    char s[STATSD_MAX_TAG_VALUE + 1];

    if (v->len > STATSD_MAX_TAG_VALUE) /* the parser's limit: never here */
        return 0;
    memcpy(s, v->ptr, v->len);
    s[v->len] = '\0';
    /* A NUL inside the value would end the string early: no pattern sees such a value. */
    return memchr(v->ptr, '\0', v->len) == NULL && config_label_matches(cl, s, v->len);
}

/* Whether key k has no place for one more value (expiring: see labelset_check). */
static int key_full(const struct labelset_key *k, int expiring)
{
    if (!expiring)
        return intern_full(&k->in);
    return k->in.live >= (size_t)k->in.cap + labelset_slack(k->cfg->max_values);
}

/* Why a value that is not interned cannot be: a reason, or STATSD_OK. */
static int value_problem(const struct labelset_key *k, const struct statsd_view *v,
                         size_t max_value_len, int expiring, enum config_fold *fold)
{
    if (v->len > max_value_len) {
        *fold = CONFIG_FOLD_TOO_LONG;
        return STATSD_LABEL_VALUE_TOO_LONG;
    }
    if (k->in.enumerated) {
        *fold = CONFIG_FOLD_NOT_ALLOWED;
        return STATSD_LABEL_VALUE_NOT_ALLOWED;
    }
    if (k->cfg->pattern_re != NULL && !pattern_matches(k->cfg, v)) {
        *fold = CONFIG_FOLD_PATTERN;
        return STATSD_LABEL_VALUE_PATTERN;
    }
    if (key_full(k, expiring)) {
        *fold = CONFIG_FOLD_CAP;
        return STATSD_LABEL_VALUES_CAP;
    }
    return STATSD_OK;
}

/* Key j's value v: an id, a pending value, a fold into the overflow value, or a reason. */
static int check_value(const struct labelset *ls, size_t j, const struct statsd_view *v,
                       size_t max_value_len, int expiring, struct labelset_match *m)
{
    const struct labelset_key *k = &ls->keys[j];
    enum config_fold fold = CONFIG_FOLD_NONE;
    int rc;

    if (v->len <= max_value_len) {
        m->phash[j] = intern_hash(v->ptr, v->len);
        m->ids[j] = intern_find(&k->in, v->ptr, v->len, m->phash[j]);
        if (m->ids[j] != 0)
            return STATSD_OK;
    }
    rc = value_problem(k, v, max_value_len, expiring, &fold);
    if (rc == STATSD_OK) {
        m->pending[j] = v;
        m->fresh |= 1u << j;
    } else if (k->overflow_id != 0) {
        m->ids[j] = k->overflow_id;
        m->phash[j] = intern_value(&k->in, k->overflow_id)->hash;
        m->folded[j] = (uint8_t)fold;
        rc = STATSD_OK;
    }
    return rc;
}

int labelset_check(const struct labelset *ls, const struct statsd_line *line,
                   const struct config *c, struct labelset_match *m, int expiring)
{
    unsigned seen = 0;
    size_t i;

    for (i = 0; i < line->ntags; i++) {
        const struct statsd_tag *t = &line->tags[i];
        int j = key_of(ls, c, &t->key), rc;

        if (j == INT_MIN) {
            if (ls->undeclared != CONFIG_UNDECLARED_DROP)
                return STATSD_LABEL_NOT_ALLOWED;
            m->dropped++;
            continue;
        }
        if (j < 0) {
            m->stripped |= 1u << (-1 - j);
            continue;
        }
        if (seen & (1u << j))
            return STATSD_DUPLICATE_TAG;
        seen |= 1u << j;
        if (t->value.len == 0)
            continue;
        rc = check_value(ls, (size_t)j, &t->value, c->max_label_value_len, expiring, m);
        if (rc != STATSD_OK)
            return rc;
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

int labelset_same(const struct labelset *ls, const uint32_t *a, const uint32_t *b)
{
    for (size_t j = 0; j < ls->n; j++)
        if (a[j] != b[j] &&
            (a[j] == 0 || b[j] == 0 ||
             intern_value(&ls->keys[j].in, a[j]) != intern_value(&ls->keys[j].in, b[j])))
            return 0;
    return 1;
}

void labelset_renumbered(struct labelset *ls, size_t j)
{
    struct labelset_key *k = &ls->keys[j];

    if (k->overflow_id != 0)
        k->overflow_id = intern_current(&k->in, k->overflow_id);
}

int labelset_compact(struct labelset *ls, size_t budget, size_t *bytes)
{
    int moving = 0;
    size_t j;

    for (j = 0; j < ls->n; j++)
        moving |= intern_compact(&ls->keys[j].in, budget, bytes);
    return moving;
}

int labelset_release_step(struct labelset *ls, size_t *bytes)
{
    size_t j;

    for (j = 0; j < ls->n; j++)
        if (intern_release_step(&ls->keys[j].in, bytes))
            return 1;
    memset(ls, 0, sizeof *ls);
    return 0;
}

void labelset_release(struct labelset *ls, size_t *bytes)
{
    size_t j;

    for (j = 0; j < ls->n; j++)
        intern_release(&ls->keys[j].in, bytes);
    memset(ls, 0, sizeof *ls);
}
