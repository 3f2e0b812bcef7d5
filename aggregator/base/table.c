#include "base/table.h"

#include <string.h>

#include "base/counted.h"

/*
 * Why incremental: a rehash of everything at once held the loop for 12 ms at 131,072
 * series and 90 ms at 262,144, and 178 ms for a label key's 524,288 values. A growth's
 * move (TABLE_MIGRATE_STEP old slots an insert) ends after n/16 inserts, long before the
 * new table, 64% full when it starts, reaches four fifths (n/5 inserts); meanwhile
 * lookups try the new table, then the old. Old slots are not cleared once moved (clearing would cut the probe chains of
 * the slots after them): an entry may be in both, and is removed from both. Removal from
 * the old table leaves a tombstone instead of shifting slots back, so that no unmoved
 * slot slides behind the move's cursor.
 */
char table__tomb;

/* The slot after i in a table of n slots. */
static inline size_t after(size_t i, size_t n)
{
    return i + 1 == n ? 0 : i + 1;
}

static void slots_put(struct table_slot *slots, size_t n, uint64_t h, void *p)
{
    size_t i = table_home(h, n);

    while (slots[i].p != NULL)
        i = after(i, n);
    slots[i].hash = h;
    slots[i].p = p;
}

/* Start moving the table into a new one of n slots (the old one stays beside it). */
static void move_to(struct table *t, size_t n, size_t *bytes)
{
    t->old = t->slots;
    t->old_n = t->n;
    t->old_next = 0;
    t->slots = counted_calloc(bytes, n, sizeof *t->slots);
    t->n = n;
}

void table_migrate(struct table *t, size_t budget, size_t *bytes)
{
    size_t n = t->old_n;

    counted_release_step(bytes, &t->dead, 0);
    if (t->old == NULL)
        return;
    for (; t->old_next < n && budget > 0; t->old_next++, budget--) {
        const struct table_slot *o = &t->old[t->old_next];

        if (o->p != NULL && o->p != &table__tomb)
            slots_put(t->slots, t->n, o->hash, o->p);
    }
    if (t->old_next == n) {
        counted_dead_take(bytes, &t->dead, t->old, n * sizeof *t->old);
        t->old = NULL;
    }
}

void table_insert(struct table *t, uint64_t h, void *p, size_t *bytes)
{
    if (t->slots == NULL) {
        t->slots = counted_calloc(bytes, TABLE_MIN_SLOTS, sizeof *t->slots);
        t->n = TABLE_MIN_SLOTS;
    } else if ((t->used + 1) * 5 > t->n * 4) {
        table_migrate(t, SIZE_MAX, bytes); /* a move still under way ends first (never seen) */
        move_to(t, t->n + (t->n + 3) / 4, bytes);
    }
    table_migrate(t, TABLE_MIGRATE_STEP, bytes);
    slots_put(t->slots, t->n, h, p);
    t->used++;
}

int table_shrink(struct table *t, size_t *bytes)
{
    size_t n = t->n;

    /* The move (n/16 inserts at most) ends before the half-full table grows (used/2). */
    _Static_assert(TABLE_MIGRATE_STEP >= 16, "a shrink's move ends before the table grows");
    if (t->slots == NULL || t->old != NULL || t->dead.p != NULL || n <= TABLE_MIN_SLOTS ||
        t->used * 4 > n)
        return 0;
    n = t->used * 2;
    if (n < TABLE_MIN_SLOTS)
        n = TABLE_MIN_SLOTS;
    move_to(t, n, bytes);
    return 1;
}

int table_compact(struct table *t, size_t budget, size_t *bytes)
{
    table_shrink(t, bytes);
    table_migrate(t, budget, bytes);
    if (t->old == NULL)
        table_shrink(t, bytes);
    return table_moving(t);
}

/* Remove p from slots if it is there: backward-shift deletion, or a tombstone. */
/* How far slot j lies past slot i, going round a table of n slots. */
static inline size_t dist(size_t i, size_t j, size_t n)
{
    return j >= i ? j - i : j + n - i;
}

static void slots_remove(struct table_slot *slots, size_t n, uint64_t h, const void *p,
                         int tombstone)
{
    size_t i = table_home(h, n);
    size_t j;

    while (slots[i].p != p) {
        if (slots[i].p == NULL)
            return;
        i = after(i, n);
    }
    if (tombstone) {
        slots[i].p = &table__tomb;
        return;
    }
    for (j = after(i, n); slots[j].p != NULL; j = after(j, n)) {
        size_t home = table_home(slots[j].hash, n);

        if (dist(home, j, n) >= dist(i, j, n)) {
            slots[i] = slots[j];
            i = j;
        }
    }
    slots[i].p = NULL;
    slots[i].hash = 0;
}

void table_remove(struct table *t, uint64_t h, const void *p)
{
    slots_remove(t->slots, t->n, h, p, 0);
    if (t->old != NULL)
        slots_remove(t->old, t->old_n, h, p, 1);
    t->used--;
}

/* Point the slot of p, if slots have it, at to. */
static void slots_replace(struct table_slot *slots, size_t n, uint64_t h, const void *p, void *to)
{
    for (size_t i = table_home(h, n); slots[i].p != NULL; i = after(i, n))
        if (slots[i].p == p) {
            slots[i].p = to;
            return;
        }
}

void table_replace(struct table *t, uint64_t h, const void *p, void *to)
{
    slots_replace(t->slots, t->n, h, p, to);
    if (t->old != NULL)
        slots_replace(t->old, t->old_n, h, p, to);
}

int table_release_step(struct table *t, size_t *bytes)
{
    if (counted_release_step(bytes, &t->dead, 0))
        return 1;
    if (t->old != NULL) {
        counted_dead_take(bytes, &t->dead, t->old, t->old_n * sizeof *t->old);
        t->old = NULL;
    } else if (t->slots != NULL) {
        counted_dead_take(bytes, &t->dead, t->slots, t->n * sizeof *t->slots);
        t->slots = NULL;
    }
    if (t->dead.p != NULL || t->old != NULL || t->slots != NULL)
        return 1;
    memset(t, 0, sizeof *t);
    return 0;
}

void table_release(struct table *t, size_t *bytes)
{
    if (t->slots != NULL)
        counted_free(bytes, t->slots, t->n * sizeof *t->slots);
    if (t->old != NULL)
        counted_free(bytes, t->old, t->old_n * sizeof *t->old);
    counted_release_step(bytes, &t->dead, 1);
    memset(t, 0, sizeof *t);
}
