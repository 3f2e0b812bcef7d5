#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "registry_fixture.h"
#include "base/table.h"

/* Entries are ints; the key of entry i is its value, hashed so that some collide. */
static uint64_t weak_hash(int v)
{
    return (uint64_t)(v % 97) * 0x9e3779b97f4a7c15u;
}

static int *lookup(const struct table *t, int v)
{
    struct table_probe pr;
    int *p;

    for (p = table_first(t, weak_hash(v), &pr); p != NULL; p = table_next(&pr))
        if (*p == v)
            return p;
    return NULL;
}

/*
 * Inserts and removals across many doublings, with colliding hashes: every entry is
 * found until it is removed, never after, and the table's memory is all given back.
 */
Test(table, entries_survive_growth_and_removal)
{
    enum { N = 5000 };
    static int vals[N];
    struct table t = { 0 };
    size_t bytes = 0;

    cr_assert_null(lookup(&t, 1));
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        table_insert(&t, weak_hash(i), &vals[i], &bytes);
        if (i % 3 == 0 && i > 0) {
            table_remove(&t, weak_hash(i - 1), &vals[i - 1]);
            cr_assert_null(lookup(&t, i - 1));
        }
        cr_assert_eq(lookup(&t, i), &vals[i], "%d lost", i);
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(lookup(&t, i) != NULL, !(i % 3 == 2 && i < N - 1), "entry %d", i);
    cr_assert_gt(bytes, 0);
    table_release(&t, &bytes);
    cr_assert_eq(bytes, 0);
    cr_assert_null(t.slots);
}

/*
 * A move of more than TABLE_MIGRATE_STEP slots outlasts the insert that starts it; it
 * ends by table_migrate() alone, and lookups see both tables meanwhile.
 */
Test(table, migrate_finishes_a_move_without_inserts)
{
    enum { N = 33 }; /* the 33rd entry doubles a table of 64 slots */
    static int vals[N];
    struct table t = { 0 };
    size_t bytes = 0;

    for (int i = 0; i < N; i++) {
        vals[i] = i;
        table_insert(&t, weak_hash(i), &vals[i], &bytes);
    }
    cr_assert_not_null(t.old, "the last insert should leave a move under way");
    for (int i = 0; i < N; i++)
        cr_assert_eq(lookup(&t, i), &vals[i]);
    table_migrate(&t, SIZE_MAX, &bytes);
    cr_assert_null(t.old);
    cr_assert_eq(bytes, (t.mask + 1) * sizeof *t.slots);
    for (int i = 0; i < N; i++)
        cr_assert_eq(lookup(&t, i), &vals[i]);
    table_release(&t, &bytes);
    cr_assert_eq(bytes, 0);
}

Test(table, many_series_survive_growth_and_removal, .fini = teardown)
{
    char line[64];
    int i;

    /* Exercises table doubling and backward-shift deletion in both tables. */
    load("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
         " \"families\": ["
         "  {\"name\": \"g\", \"type\": \"gauge\", \"updown\": true, \"ttl_seconds\": 1,"
         "   \"labels\": [{\"name\": \"a\", \"max_values\": 5000},"
         "              {\"name\": \"b\", \"max_values\": 10}]}]}");
    for (i = 0; i < 20000; i++) {
        snprintf(line, sizeof line, "g:%d|g|#a:x%d,b:%d", i, i / 4, i % 4);
        cr_assert_eq(feed_at(line, (uint64_t)(i % 2 ? 5000 : 1)), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), 20000);
    cr_assert_eq(registry_expire(&reg, 2000, 100000), 10000);
    for (i = 1; i < 20000; i += 2) {
        snprintf(line, sizeof line, "g:+1|g|#a:x%d,b:%d", i / 4, i % 4);
        cr_assert_eq(feed_at(line, 5000), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), 10000);
    cr_assert_eq(value_of(0, "a=x4999,b=3"), 19999 + 1);
    cr_assert_eq(registry_label_values(&reg, 0, 0), 5000);
    cr_assert_eq(registry_label_values(&reg, 0, 1), 2);
}

/*
 * The series table grows by moving its slots over a few at a time. Series created while
 * a move is under way, and series expired during it, must be found (or not) exactly as
 * at any other time: feeding a live series again never creates another.
 */
static void refeed_live(int nnew, uint64_t now)
{
    char line[64];

    for (int i = 0; i < nnew; i++) {
        snprintf(line, sizeof line, "temp:%d|g|#id:new%d", 5000 + i, i);
        cr_assert_eq(feed_at(line, now), STATSD_OK);
    }
}

Test(table, series_table_growth_keeps_every_series_findable, .fini = teardown)
{
    enum { OLD = 2000, NEW = 3000 };
    char line[64];
    int expired_while_moving = 0, looked_while_moving = 0;
    size_t freed = 0;

    load("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
         " \"families\": [{\"name\": \"temp\", \"type\": \"gauge\", \"ttl_seconds\": 60,"
         "  \"labels\": [{\"name\": \"id\", \"max_values\": 100000}]}]}");
    for (int i = 0; i < OLD; i++) {
        snprintf(line, sizeof line, "temp:%d|g|#id:old%d", i, i);
        cr_assert_eq(feed_at(line, 1000), STATSD_OK);
    }
    /*
     * Two new series a step grow the table while the old ones expire one a step; every
     * 16 steps all new series so far are fed again, and none may be created twice.
     */
    size_t moving_for = 0; /* inserts since the table under way began to move */
    for (int i = 0; i < NEW; i++) {
        size_t f;
        int moving;

        snprintf(line, sizeof line, "temp:%d|g|#id:new%d", 5000 + i, i);
        cr_assert_eq(feed_at(line, 100000), STATSD_OK);
        /* A move is a slice per insert: it ends long before the new table fills. */
        moving_for = reg.series.old != NULL ? moving_for + 1 : 0;
        cr_assert(moving_for * 4 <= reg.series.old_mask + 1,
                  "step %d: a move of %zu slots under way for %zu inserts", i,
                  reg.series.old_mask + 1, moving_for);
        if (i % 2 == 0)
            continue;
        moving = reg.series.old != NULL;
        f = registry_expire(&reg, 100000, 1);
        expired_while_moving |= moving && f > 0;
        freed += f;
        if (i % 32 == 1) {
            looked_while_moving |= reg.series.old != NULL;
            refeed_live(i + 1, 100000);
            cr_assert_eq(registry_series_total(&reg), OLD - freed + (size_t)i + 1,
                         "step %d: a live series was created twice", i);
        }
    }
    while (freed < OLD)
        freed += registry_expire(&reg, 100000, 1000);
    cr_assert(expired_while_moving, "no series expired while the table was moving");
    cr_assert(looked_while_moving, "no lookup while the table was moving");
    cr_assert_eq(freed, OLD);
    cr_assert_eq(registry_series_total(&reg), NEW);
    refeed_live(NEW, 100001);
    cr_assert_eq(registry_series_total(&reg), NEW, "a live series was not found");
    cr_assert_eq(value_of(0, "id=new2999"), 7999);
    for (int i = 0; i < OLD; i += 7) {
        snprintf(line, sizeof line, "temp:1|g|#id:old%d", i);
        cr_assert_eq(feed_at(line, 100001), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), NEW + (OLD + 6) / 7);
}

/*
 * The next value "v<n>" whose hash, as the registry hashes label values, has its home at
 * slot home of a table of slots slots.
 */
static const char *value_at_home(size_t slots, size_t home, unsigned *n)
{
    static char v[32];

    for (;; (*n)++) {
        snprintf(v, sizeof v, "v%u", *n);
        if ((XXH3_64bits(v, strlen(v)) & (slots - 1)) == home) {
            (*n)++;
            return v;
        }
    }
}

static int feed_value(const char *v, uint64_t now)
{
    char line[64];

    snprintf(line, sizeof line, "f:1|c|#id:%s", v);
    return feed_at(line, now);
}

/*
 * A removal from a table being moved must not shift the old table's slots back: one
 * could land behind the move's cursor and never reach the new table. Label values,
 * placed by hand: a at slot 15 of a 64-slot table and b, with the same home, at 16. The
 * 33rd value grows the table to 128 and moves slots 0-15 (a) but not b; then a's series
 * expires. Once the move ends, b must still be found, not interned a second time.
 */
Test(table, a_value_removed_while_its_table_moves_loses_no_other, .fini = teardown)
{
    char b[32];
    unsigned n = 0;
    size_t before;

    load("{\"families\": [{\"name\": \"f\", \"type\": \"counter\", \"ttl_seconds\": 60,"
         " \"labels\": [{\"name\": \"id\", \"max_values\": 1000}]}]}");
    cr_assert_eq(feed_value(value_at_home(64, 15, &n), 1000), STATSD_OK);
    snprintf(b, sizeof b, "%s", value_at_home(64, 15, &n));
    cr_assert_eq(feed_value(b, 100000), STATSD_OK);
    for (size_t home = 20; home < 50; home++) /* 30 more, each at a home of its own */
        cr_assert_eq(feed_value(value_at_home(64, home, &n), 100000), STATSD_OK);
    cr_assert_eq(feed_value(value_at_home(64, 55, &n), 100000), STATSD_OK); /* the 33rd */
    cr_assert_eq(registry_expire(&reg, 62000, 1000), 1, "a's series should expire");
    for (size_t home = 56; home < 59; home++) /* three more: the move ends */
        cr_assert_eq(feed_value(value_at_home(64, home, &n), 100000), STATSD_OK);
    before = registry_series_total(&reg);
    cr_assert_eq(feed_value(b, 100001), STATSD_OK);
    cr_assert_eq(registry_series_total(&reg), before, "b was lost in the move: a second series");
}
