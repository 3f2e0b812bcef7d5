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
    enum { N = 1000 };
    static int vals[N];
    struct table t = { 0 };
    size_t bytes = 0;
    int n = 0;

    /* Insert until an insert leaves a move under way (the old table over 16 slots). */
    while (n < N && t.old == NULL) {
        vals[n] = n;
        table_insert(&t, weak_hash(n), &vals[n], &bytes);
        n++;
    }
    cr_assert_not_null(t.old, "no insert left a move under way");
    cr_assert_gt(t.old_n, TABLE_MIGRATE_STEP);
    cr_assert_eq(t.n, t.old_n + (t.old_n + 3) / 4, "a table grows by a quarter");
    cr_assert_gt((size_t)n * 5, t.old_n * 4, "grown before four fifths full");
    cr_assert_leq((size_t)(n - 1) * 5, t.old_n * 4, "grown after four fifths full");
    for (int i = 0; i < n; i++)
        cr_assert_eq(lookup(&t, i), &vals[i]);
    table_migrate(&t, SIZE_MAX, &bytes);
    cr_assert_null(t.old);
    cr_assert_eq(bytes, t.n * sizeof *t.slots);
    for (int i = 0; i < n; i++)
        cr_assert_eq(lookup(&t, i), &vals[i]);
    table_release(&t, &bytes);
    cr_assert_eq(bytes, 0);
}

/* A table of any size: every slot is some hash's home, and homes keep the hashes' order. */
Test(table, homes_cover_a_table_of_any_size)
{
    const size_t sizes[] = { 8, 12, 27, 40, 1000003 };

    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k], last = 0;

        cr_assert_eq(table_home(0, n), 0);
        cr_assert_eq(table_home(UINT64_MAX, n), n - 1);
        for (uint64_t hi = 0; hi < 4096; hi++) {
            size_t h = table_home((hi << 52) | 12345, n);

            cr_assert_geq(h, last);
            cr_assert_lt(h, n);
            last = h;
        }
    }
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
        cr_assert(moving_for * 4 <= reg.series.old_n,
                  "step %d: a move of %zu slots under way for %zu inserts", i, reg.series.old_n,
                  moving_for);
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

/* A hash whose home is slot home of a table of n slots; k tells such hashes apart. */
static uint64_t hash_at(size_t home, size_t n, uint32_t k)
{
    uint64_t hi = (((uint64_t)home << 32) + n - 1) / n;

    return hi << 32 | k;
}

static int *lookup_at(const struct table *t, uint64_t h, const int *v)
{
    struct table_probe pr;
    int *p;

    for (p = table_first(t, h, &pr); p != NULL; p = table_next(&pr))
        if (p == v)
            return p;
    return NULL;
}

/*
 * A removal from a table being moved must not shift the old table's slots back: one
 * could land behind the move's cursor and never reach the new table. In a table of 27
 * slots, a at slot 15 and b, with the same home, at 16; fillers elsewhere until the insert
 * that grows the table moves slots 0-15 (a) but not b. Then a is removed. Once the move
 * ends, b must still be found.
 */
Test(table, a_removal_while_the_table_moves_loses_no_other)
{
    enum { N = 27 };
    static int a, b, fill[N];
    struct table t = { 0 };
    size_t bytes = 0, home = 0;
    uint64_t ha = hash_at(15, N, 1), hb = hash_at(15, N, 2);
    uint32_t k = 3;

    t.slots = counted_calloc(&bytes, N, sizeof *t.slots);
    t.n = N;
    cr_assert_eq(table_home(ha, N), 15);
    table_insert(&t, ha, &a, &bytes);
    table_insert(&t, hb, &b, &bytes);
    for (int i = 0; t.old == NULL; i++) {
        cr_assert_lt(i, N, "the table never grew");
        while (home == 15 || home == 16)
            home++;
        table_insert(&t, hash_at(home++, N, k++), &fill[i], &bytes);
    }
    cr_assert_eq(t.old_n, N);
    cr_assert_eq(t.old_next, TABLE_MIGRATE_STEP, "the growing insert moved slots 0-15");
    cr_assert_eq(t.old[16].p, &b);
    table_remove(&t, ha, &a);
    table_migrate(&t, SIZE_MAX, &bytes);
    cr_assert_null(lookup_at(&t, ha, &a));
    cr_assert_eq(lookup_at(&t, hb, &b), &b, "b was lost in the move");
    table_release(&t, &bytes);
    cr_assert_eq(bytes, 0);
}
