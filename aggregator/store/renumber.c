/*
 * store/renumber.c: a label key's values take new ids, dense from 1, once a mass expiry
 * left few of the ids it handed out in use (intern.h, "Renumbering"). The key's list of
 * ids is 8 bytes an id it ever handed out; after nine series in ten of a million expire,
 * that list alone is 8 MB where a key that only held the survivors needs 0.8 MB.
 *
 * One key at a time, in bounded steps that registry_compact() runs after the sweep, like
 * the rest of the compaction:
 *   RENUM_IDS     the key's values move to a new list (intern_renumber_step), 16 old
 *                 slots a call for each series of the budget (most slots are free: a look
 *                 at 8 bytes each); then the key's own ids (its overflow value's) follow;
 *   RENUM_SERIES  the family's series take their values' new ids, budget series a call,
 *                 from the head of the family's list (a registered cursor: a series freed
 *                 or moved meanwhile is stepped over or followed);
 *   RENUM_FREE    the old list goes, COUNTED_RELEASE_STEP bytes a call.
 * Meanwhile every id of either epoch names its value: a line finds its series whether
 * the series holds the old id or the new one (series_key_eq), and the table places
 * series by their values' hashes, which a renumbering does not change (series_hash).
 * Series created meanwhile get ids from intern_find(), the value's current one, and are
 * walked too when the walk had not passed them (they join the tail of the family's list).
 *
 * A family that a reload retires meanwhile is left to its drain, which frees both lists
 * (intern_release_step); a registry reset finishes the running renumbering at once.
 */
#include "store/internal.h"

/* The old list's slots a step looks at for each series the budget allows. */
#define RENUM_SLOTS_PER_SERIES 16

/* The key under renumbering, or NULL when its family is no longer live. */
static struct intern *renum_key(struct registry *r)
{
    struct registry__renum *rn = &r->renum;
    struct registry__family *f;

    if (rn->fam >= r->nfams)
        return NULL;
    f = &r->fams[rn->fam];
    if (f->state != FAM_LIVE || rn->key >= f->labels.n)
        return NULL;
    return &f->labels.keys[rn->key].in;
}

/* A key that wants a renumbering: its family and key in rn. Returns 1 when it found one. */
static int pick(struct registry *r)
{
    struct registry__renum *rn = &r->renum;

    for (size_t i = 0; i < r->nfams; i++) {
        struct registry__family *f = &r->fams[i];

        if (f->state != FAM_LIVE)
            continue;
        for (size_t j = 0; j < f->labels.n; j++)
            if (intern_renumber_wanted(&f->labels.keys[j].in)) {
                rn->fam = (uint32_t)i;
                rn->key = (uint32_t)j;
                return 1;
            }
    }
    return 0;
}

/* Up to budget series of the walk take their values' current ids. */
static void walk_series(struct registry *r, struct intern *in, size_t budget)
{
    struct registry__renum *rn = &r->renum;

    for (size_t n = 0; n < budget && rn->walk.pos != NULL; n++) {
        struct registry__series *s = rn->walk.pos;
        uint32_t *id = &s->ids[rn->key];

        rn->walk.pos = s->next;
        if (*id != 0)
            *id = intern_current(in, *id);
    }
}

int registry_renumber(struct registry *r, size_t budget, int start)
{
    struct registry__renum *rn = &r->renum;
    struct intern *in;

    if (rn->phase == RENUM_NONE) {
        if (!start || !pick(r))
            return 0;
        intern_renumber_begin(renum_key(r), &r->mem);
        rn->phase = RENUM_IDS;
        return 1;
    }
    in = renum_key(r);
    if (in == NULL || (rn->phase != RENUM_FREE && !intern_renumbering(in))) {
        /* Retired (its drain frees both lists), or a new family in its slot. */
        rn->phase = RENUM_NONE;
        rn->walk.pos = NULL;
        return 1;
    }
    switch (rn->phase) {
    case RENUM_IDS:
        /* A slot costs a look at 8 bytes, a series a walk to its block: more a call. */
        if (intern_renumber_step(in,
                                 budget > SIZE_MAX / RENUM_SLOTS_PER_SERIES
                                     ? SIZE_MAX
                                     : budget * RENUM_SLOTS_PER_SERIES,
                                 &r->mem))
            return 1;
        labelset_renumbered(&r->fams[rn->fam].labels, rn->key);
        rn->walk.pos = r->fams[rn->fam].head;
        rn->walk.next_fam = r->nfams; /* the walk never enters another family */
        rn->phase = RENUM_SERIES;
        return 1;
    case RENUM_SERIES:
        walk_series(r, in, budget);
        if (rn->walk.pos == NULL)
            rn->phase = RENUM_FREE;
        return 1;
    case RENUM_FREE:
        if (!intern_renumber_end(in, &r->mem))
            rn->phase = RENUM_NONE;
        return 1;
    case RENUM_NONE:
        break;
    }
    return 0;
}

void registry_renumber_finish(struct registry *r)
{
    while (registry_renumber(r, SIZE_MAX, 0))
        ;
}
