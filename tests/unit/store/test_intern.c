#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "store/intern.h"

static uint32_t find(const struct intern *in, const char *s)
{
    return intern_find(in, s, strlen(s), intern_hash(s, strlen(s)));
}

static uint32_t add(struct intern *in, const char *s, size_t *bytes)
{
    return intern_add(in, s, strlen(s), intern_hash(s, strlen(s)), bytes);
}

/* A capped key counts values in use, frees a value with its last reference, and recycles its id. */
Test(intern, capped_values_are_freed_and_their_ids_recycled)
{
    struct intern in = { .cap = 2 };
    size_t bytes = 0, it = 0, len;
    const char *s;
    uint32_t a, b, c;

    cr_assert_eq(find(&in, "a"), 0);
    a = add(&in, "a", &bytes);
    b = add(&in, "bb", &bytes);
    cr_assert_eq(a, 1);
    cr_assert_eq(b, 2);
    cr_assert_eq(find(&in, "bb"), b);
    cr_assert_eq(intern_value(&in, b)->len, 2);
    cr_assert_str_eq(intern_value(&in, b)->s, "bb");
    cr_assert(!intern_full(&in), "no value is in use yet");
    intern_ref(&in, a);
    intern_ref(&in, a);
    intern_ref(&in, b);
    cr_assert(intern_full(&in));
    cr_assert(intern_next(&in, &it, &s, &len));
    cr_assert_eq(len, 1);
    cr_assert(intern_next(&in, &it, &s, &len));
    cr_assert_eq(len, 2);
    cr_assert(!intern_next(&in, &it, &s, &len));
    intern_unref(&in, a, &bytes);
    cr_assert_eq(find(&in, "a"), a, "one reference is left");
    intern_unref(&in, a, &bytes);
    cr_assert_eq(find(&in, "a"), 0, "the last reference frees the value");
    cr_assert(!intern_full(&in));
    c = add(&in, "c", &bytes);
    cr_assert_eq(c, a, "the id is recycled");
    intern_release(&in, &bytes);
    cr_assert_eq(bytes, 0);
}

/* An enumerated key keeps its values without references: its ids never change. */
Test(intern, enumerated_values_are_never_freed)
{
    struct intern in = { .enumerated = 1, .cap = 2 };
    size_t bytes = 0;
    uint32_t get = add(&in, "GET", &bytes), post = add(&in, "POST", &bytes);

    intern_ref(&in, post);
    cr_assert_eq(in.live, 1);
    intern_unref(&in, post, &bytes);
    cr_assert_eq(in.live, 0);
    cr_assert_eq(find(&in, "POST"), post);
    cr_assert_eq(find(&in, "GET"), get);
    intern_release(&in, &bytes);
    cr_assert_eq(bytes, 0);
}

/* Many values through growth of the id array and the table, all found, memory given back. */
Test(intern, many_values_grow_and_are_found)
{
    struct intern in = { .cap = 100000 };
    size_t bytes = 0;
    char v[32];

    for (int i = 0; i < 20000; i++) {
        snprintf(v, sizeof v, "v%d", i);
        cr_assert_eq(add(&in, v, &bytes), (uint32_t)i + 1);
        intern_ref(&in, (uint32_t)i + 1);
    }
    for (int i = 0; i < 20000; i += 2)
        intern_unref(&in, (uint32_t)i + 1, &bytes);
    for (int i = 0; i < 20000; i++) {
        snprintf(v, sizeof v, "v%d", i);
        cr_assert_eq(find(&in, v), i % 2 ? (uint32_t)i + 1 : 0, "%s", v);
    }
    cr_assert_eq(in.live, 10000);
    intern_release(&in, &bytes);
    cr_assert_eq(bytes, 0);
}

/* Rewound after its values went, a key hands out the ids a key that never held them would. */
Test(intern, rewind_hands_out_the_lowest_free_ids_first)
{
    struct intern in = { .cap = 8 };
    size_t bytes = 0;
    uint32_t keep, ids[4];

    keep = add(&in, "kept", &bytes);
    intern_ref(&in, keep);
    for (int i = 0; i < 4; i++) {
        char s[2] = { (char)('a' + i), '\0' };

        ids[i] = add(&in, s, &bytes);
        intern_ref(&in, ids[i]);
    }
    for (int i = 0; i < 4; i++)
        intern_unref(&in, ids[i], &bytes);
    cr_assert_eq(add(&in, "x", &bytes), ids[3], "unrewound: the last id freed comes first");
    intern_ref(&in, ids[3]);
    intern_unref(&in, ids[3], &bytes);
    intern_rewind(&in);
    cr_assert_eq(in.nvals, keep, "ids past the one in use are forgotten");
    cr_assert_eq(add(&in, "y", &bytes), keep + 1);
    cr_assert_eq(add(&in, "z", &bytes), keep + 2);
    cr_assert_eq(find(&in, "kept"), keep);
    intern_release(&in, &bytes);
    cr_assert_eq(bytes, 0);

    /* A hole below the last value in use is handed out first. */
    in = (struct intern){ .cap = 8 };
    ids[0] = add(&in, "a", &bytes);
    ids[1] = add(&in, "b", &bytes);
    intern_ref(&in, ids[0]);
    intern_ref(&in, ids[1]);
    intern_unref(&in, ids[0], &bytes);
    intern_rewind(&in);
    cr_assert_eq(in.nvals, 2);
    cr_assert_eq(add(&in, "c", &bytes), ids[0]);
    cr_assert_eq(add(&in, "d", &bytes), 3);
    intern_release(&in, &bytes);
    cr_assert_eq(bytes, 0);
}

/* Twice INTERN_RENUMBER_MIN values "<prefix><i>", one in three kept in use: one to renumber. */
static void fill_third(struct intern *in, const char *prefix, size_t *bytes)
{
    char v[32];

    for (uint32_t i = 0; i < INTERN_RENUMBER_MIN * 2; i++) {
        uint32_t id;

        snprintf(v, sizeof v, "%s%u", prefix, i);
        id = add(in, v, bytes);
        intern_ref(in, id);
        if (i % 3 != 0)
            intern_unref(in, id, bytes);
    }
}

/*
 * A renumbering: values move to a list of their size, each old id names its value until
 * the old list goes, values freed before and after they moved are passed by, and a value
 * added meanwhile takes an id of the new epoch. Released midway, nothing is left.
 */
Test(intern, renumbering_moves_values_and_keeps_old_ids_valid)
{
    struct intern in = { .cap = 100000 };
    size_t bytes = 0, it = 0, len, seen = 0;
    uint32_t old[INTERN_RENUMBER_MIN * 2], x;
    const char *s;
    char v[32];

    for (uint32_t i = 0; i < INTERN_RENUMBER_MIN * 2; i++) {
        snprintf(v, sizeof v, "v%u", i);
        old[i] = add(&in, v, &bytes);
        intern_ref(&in, old[i]);
    }
    cr_assert(!intern_renumber_wanted(&in), "all in use");
    for (uint32_t i = 0; i < INTERN_RENUMBER_MIN * 2; i++)
        if (i % 4 != 0)
            intern_unref(&in, old[i], &bytes);
    cr_assert(intern_renumber_wanted(&in));
    intern_renumber_begin(&in, &bytes);
    cr_assert(intern_renumbering(&in));
    cr_assert(!intern_renumber_wanted(&in), "one at a time");
    x = add(&in, "meanwhile", &bytes);
    intern_ref(&in, x);
    cr_assert_eq(x, 1u | in.epoch, "the new epoch's first id");
    /* Half the old list moves; a moved value and one not moved yet go. */
    cr_assert(intern_renumber_step(&in, INTERN_RENUMBER_MIN, &bytes));
    intern_unref(&in, old[4], &bytes);
    intern_unref(&in, old[INTERN_RENUMBER_MIN + 4], &bytes);
    while (intern_next(&in, &it, &s, &len))
        seen++;
    cr_assert_eq(seen, INTERN_RENUMBER_MIN / 2 - 2 + 1, "each value in use once: %zu", seen);
    while (intern_renumber_step(&in, 100, &bytes))
        ;
    for (uint32_t i = 0; i < INTERN_RENUMBER_MIN * 2; i += 4) {
        snprintf(v, sizeof v, "v%u", i);
        if (i == 4 || i == INTERN_RENUMBER_MIN + 4) {
            cr_assert_eq(find(&in, v), 0, "%s was freed", v);
            continue;
        }
        cr_assert_eq(intern_value(&in, old[i]), intern_value(&in, find(&in, v)), "%s", v);
        cr_assert_eq(intern_current(&in, old[i]), find(&in, v));
        cr_assert_eq(find(&in, v) & INTERN_EPOCH, in.epoch);
        cr_assert_leq(find(&in, v) & ~INTERN_EPOCH, in.nvals);
        cr_assert_str_eq(intern_value(&in, old[i])->s, v);
    }
    cr_assert_eq(in.nvals, INTERN_RENUMBER_MIN / 2 - 2 + 1, "dense: %u ids", in.nvals);
    while (intern_renumber_end(&in, &bytes))
        ;
    cr_assert(!intern_renumbering(&in));
    intern_release(&in, &bytes);
    cr_assert_eq(bytes, 0);

    /* Released in steps in the middle of another, as a retired family's drain does. */
    in = (struct intern){ .cap = 100000 };
    fill_third(&in, "w", &bytes);
    intern_renumber_begin(&in, &bytes);
    intern_renumber_step(&in, 1000, &bytes);
    while (intern_release_step(&in, &bytes))
        ;
    cr_assert_eq(bytes, 0, "%zu bytes left", bytes);

    /*
     * A drain's first step frees the values of both lists, none moved yet; the daemon
     * stops before the next: the release frees each value once, and both lists.
     */
    in = (struct intern){ .cap = 100000 };
    fill_third(&in, "u", &bytes);
    intern_renumber_begin(&in, &bytes);
    cr_assert(intern_release_step(&in, &bytes));
    intern_release(&in, &bytes);
    cr_assert_eq(bytes, 0, "%zu bytes left", bytes);
}
