#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/slab.h"

/* Blocks of every size up to SLAB_MAX and beyond: apart, aligned, kept, and all given back. */
Test(slab, blocks_of_every_size_are_apart_and_all_given_back)
{
    enum { N = 3000 };
    static char *p[N];
    static size_t len[N];
    struct slab s = { 0 };
    size_t bytes = 0, sum = 0;

    for (size_t i = 0; i < N; i++) {
        len[i] = 1 + (i * 37) % (SLAB_MAX + 200);
        p[i] = slab_alloc(&s, &bytes, len[i]);
        cr_assert_eq((uintptr_t)p[i] % 8, 0, "block %zu not 8-byte aligned", i);
        memset(p[i], (int)(i & 0xff), len[i]);
        sum += len[i];
    }
    cr_assert_eq(bytes, sum);
    cr_assert_gt(slab_footprint(&s), 0);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < len[i]; k++)
            cr_assert_eq((unsigned char)p[i][k], i & 0xff, "block %zu overwritten", i);
    for (size_t i = 0; i < N; i += 2)
        slab_free(&s, &bytes, p[i], len[i]);
    for (size_t i = 0; i < N; i += 2) { /* the freed room is used again */
        p[i] = slab_alloc(&s, &bytes, len[i]);
        memset(p[i], (int)(i & 0xff), len[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < len[i]; k++)
            cr_assert_eq((unsigned char)p[i][k], i & 0xff, "block %zu overwritten", i);
    for (size_t i = 0; i < N; i++)
        slab_free(&s, &bytes, p[i], len[i]);
    cr_assert_eq(bytes, 0);
    cr_assert_eq(slab_footprint(&s), 0, "%zu pages kept with no block", s.pages);
    cr_assert_eq(s.regions, 0, "a region with no page in use is kept");
    slab_release(&s);
}

/* A freed block is handed out again before the page's untouched room or a new page. */
Test(slab, a_freed_block_is_used_again_first)
{
    struct slab s = { 0 };
    size_t bytes = 0;
    void *a = slab_alloc(&s, &bytes, 100), *b = slab_alloc(&s, &bytes, 100);

    slab_free(&s, &bytes, a, 100);
    cr_assert_eq(slab_alloc(&s, &bytes, 104), a, "the class of 104 bytes holds 100");
    cr_assert_neq(slab_alloc(&s, &bytes, 96), a);
    cr_assert_eq(slab_footprint(&s), 2 * SLAB_PAGE, "a page for each of two classes");
    (void)b;
    slab_release(&s);
    cr_assert_eq(slab_footprint(&s), 0);
}

/* The owner of compaction's test blocks: block i's pointer is in slot[i], its first word i. */
struct owner {
    uint64_t **slot;
    size_t moves;
    size_t budget_left;
};

static void moved(void *arg, void *from, void *to)
{
    struct owner *o = arg;
    uint64_t *t = to;

    cr_assert_eq(o->slot[*t], from, "block %llu moved from where it was not",
                 (unsigned long long)*t);
    o->slot[*t] = to;
    o->moves++;
}

/*
 * 90% of 40,000 blocks of 152 bytes freed at random: compaction moves the survivors out
 * of the emptiest pages, a budget a call, until the class holds at most two pages of
 * room; every survivor keeps its bytes and its owner's pointer follows it.
 */
Test(slab, compaction_packs_the_survivors_and_gives_pages_back)
{
    enum { N = 40000, SIZE = 152, BUDGET = 64 };
    static uint64_t *slot[N];
    struct owner o = { slot, 0, 0 };
    struct slab s = { 0 };
    size_t bytes = 0, live = 0, per_page, calls = 0, peak;

    for (size_t i = 0; i < N; i++) {
        slot[i] = slab_alloc(&s, &bytes, SIZE);
        slot[i][0] = i;
        memset(slot[i] + 1, (int)(i & 0xff), SIZE - 8);
    }
    peak = slab_footprint(&s);
    srand(7);
    for (size_t i = 0; i < N; i++) {
        if (rand() % 10 != 0) {
            slab_free(&s, &bytes, slot[i], SIZE);
            slot[i] = NULL;
        } else {
            live++;
        }
    }
    cr_assert_gt(slab_footprint(&s), peak * 8 / 10, "survivors should hold most pages");
    for (;;) {
        size_t before = o.moves;
        int more = slab_compact(&s, BUDGET, moved, &o);

        cr_assert_leq(o.moves - before, BUDGET, "a call moved more than its budget");
        calls++;
        if (!more)
            break;
        cr_assert_lt(calls, N, "compaction does not end");
    }
    cr_assert_leq(o.moves, live, "a block moved twice");
    per_page = (SLAB_PAGE - 64 - 64 * 8) / SIZE;
    /* The survivors' pages, two of room, and the class's idle page. */
    cr_assert_leq(slab_footprint(&s), ((live + per_page - 1) / per_page + 3) * SLAB_PAGE,
                  "%zu pages for %zu blocks of %d bytes", s.pages, live, SIZE);
    for (size_t i = 0; i < N; i++) {
        if (slot[i] == NULL)
            continue;
        cr_assert_eq(slot[i][0], i);
        for (size_t k = 8; k < SIZE; k++)
            cr_assert_eq(((unsigned char *)slot[i])[k], i & 0xff, "block %zu lost a byte", i);
        slab_free(&s, &bytes, slot[i], SIZE);
    }
    cr_assert_eq(bytes, 0);
    cr_assert_eq(slab_compact(&s, BUDGET, moved, &o), 0, "nothing left to compact");
    cr_assert_eq(s.regions, 0);
    slab_release(&s);
}

/* Blocks freed by their owner while their page is being drained are not moved. */
Test(slab, a_block_freed_while_its_page_drains_is_not_moved)
{
    enum { N = 20000, SIZE = 64 };
    static uint64_t *slot[N];
    struct owner o = { slot, 0, 0 };
    struct slab s = { 0 };
    size_t bytes = 0;

    for (size_t i = 0; i < N; i++) {
        slot[i] = slab_alloc(&s, &bytes, SIZE);
        slot[i][0] = i;
    }
    for (size_t i = 0; i < N; i++)
        if (i % 4 != 0) {
            slab_free(&s, &bytes, slot[i], SIZE);
            slot[i] = NULL;
        }
    cr_assert_eq(slab_compact(&s, 1, moved, &o), 1);
    cr_assert_not_null(s.draining);
    /* The owner frees every block of the draining page but one moved already. */
    for (size_t i = 0; i < N; i++)
        if (slot[i] != NULL &&
            (uintptr_t)slot[i] / SLAB_PAGE == (uintptr_t)s.draining / SLAB_PAGE) {
            slab_free(&s, &bytes, slot[i], SIZE);
            slot[i] = NULL;
        }
    cr_assert_null(s.draining, "the drained page emptied: the drain is over");
    while (slab_compact(&s, 16, moved, &o))
        ;
    for (size_t i = 0; i < N; i++)
        if (slot[i] != NULL) {
            cr_assert_eq(slot[i][0], i);
            slab_free(&s, &bytes, slot[i], SIZE);
        }
    cr_assert_eq(bytes, 0);
    slab_release(&s);
}
