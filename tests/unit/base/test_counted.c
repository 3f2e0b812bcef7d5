#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "base/counted.h"

Test(counted, every_allocation_adds_what_was_asked_and_its_free_takes_it_back)
{
    size_t bytes = 0;
    char *a = counted_alloc(&bytes, 100);
    int *b = counted_calloc(&bytes, 10, sizeof(int));

    cr_assert_eq(bytes, 100 + 10 * sizeof(int));
    for (size_t i = 0; i < 10; i++) {
        cr_assert_eq(b[i], 0, "calloc zeroes");
    }
    memset(a, 'x', 100);
    a = counted_realloc(&bytes, a, 100, 300);
    cr_assert_eq(bytes, 300 + 10 * sizeof(int));
    cr_assert_eq(a[99], 'x', "realloc keeps the contents");
    counted_free(&bytes, a, 300);
    counted_free(&bytes, b, 10 * sizeof(int));
    cr_assert_eq(bytes, 0);
}

Test(counted, two_counters_are_charged_apart)
{
    size_t mine = 0, yours = 0;
    void *p = counted_alloc(&mine, 64);
    void *q = counted_alloc(&yours, 32);

    cr_assert_eq(mine, 64);
    cr_assert_eq(yours, 32);
    counted_free(&mine, p, 64);
    counted_free(&yours, q, 32);
    cr_assert_eq(mine + yours, 0);
}

Test(counted, cache_line_arrays_are_aligned_zeroed_and_charged_with_their_slack)
{
    size_t bytes = 0;
    void *base = NULL;
    uint64_t *v = counted_calloc_lines(&bytes, 13, sizeof(uint64_t), &base);

    cr_assert_not_null(base);
    cr_assert_eq((uintptr_t)v % 64, 0, "aligned to a cache line");
    cr_assert_eq(bytes, 13 * sizeof(uint64_t) + 64);
    for (size_t i = 0; i < 13; i++) {
        cr_assert_eq(v[i], 0);
    }
    counted_free(&bytes, base, 13 * sizeof(uint64_t) + 64);
    cr_assert_eq(bytes, 0);
}

/* A dead block is given back COUNTED_RELEASE_STEP bytes a call; a small one at once. */
Test(counted, a_dead_block_is_given_back_a_step_at_a_time)
{
    struct counted_dead d = { 0 };
    size_t bytes = 0, n = 5 * COUNTED_RELEASE_STEP + 100, before;
    void *small = counted_alloc(&bytes, 64);

    counted_dead_take(&bytes, &d, counted_alloc(&bytes, n), n);
    for (int k = 0; k < 5; k++) {
        before = bytes;
        cr_assert_eq(counted_release_step(&bytes, &d, 0), 1);
        cr_assert_eq(before - bytes, COUNTED_RELEASE_STEP);
    }
    cr_assert_eq(counted_release_step(&bytes, &d, 0), 0, "the last 100 bytes");
    cr_assert_null(d.p);
    counted_dead_take(&bytes, &d, small, 64);
    cr_assert_null(d.p, "a small block is freed at once");
    cr_assert_eq(bytes, 0);
}

/*
 * A block taken while another is still held waits behind it: nothing is freed at once,
 * the held one goes first, and both are given back in whole steps.
 */
Test(counted, a_block_taken_while_another_is_held_waits_behind_it)
{
    struct counted_dead d = { 0 };
    size_t bytes = 0, a = 3 * COUNTED_RELEASE_STEP, b = 2 * COUNTED_RELEASE_STEP + 64, before;
    int steps = 0;

    counted_dead_take(&bytes, &d, counted_alloc(&bytes, a), a);
    cr_assert_eq(counted_release_step(&bytes, &d, 0), 1);
    before = bytes;
    counted_dead_take(&bytes, &d, counted_alloc(&bytes, b), b);
    cr_assert_eq(bytes, before + b, "the block still held is not freed at once");
    do {
        before = bytes;
        steps++;
        cr_assert_leq(steps, 6, "a step at a time, no more steps than blocks need");
        counted_release_step(&bytes, &d, 0);
        cr_assert_leq(before - bytes, COUNTED_RELEASE_STEP, "no step gives back more");
    } while (d.p != NULL);
    cr_assert_eq(bytes, 0, "both given back");
    cr_assert_eq(steps, 5, "b in 2 steps and its last 64 bytes, what is left of a in 2");
}

/* The thread's allowance bounds what all steps give back until it is set again. */
Test(counted, steps_give_back_no_more_than_the_allowance)
{
    struct counted_dead d1 = { 0 }, d2 = { 0 };
    size_t bytes = 0, n = 4 * COUNTED_RELEASE_STEP, before;

    counted_dead_take(&bytes, &d1, counted_alloc(&bytes, n), n);
    counted_dead_take(&bytes, &d2, counted_alloc(&bytes, n), n);
    counted_release_allow(COUNTED_RELEASE_STEP);
    before = bytes;
    for (int k = 0; k < 100; k++) {
        cr_assert_eq(counted_release_step(&bytes, &d1, 0), 1, "some left");
        cr_assert_eq(counted_release_step(&bytes, &d2, 0), 1, "some left");
    }
    cr_assert_eq(before - bytes, COUNTED_RELEASE_STEP, "one step among 200 calls");
    counted_release_allow(2 * COUNTED_RELEASE_STEP);
    before = bytes;
    counted_release_step(&bytes, &d1, 0);
    counted_release_step(&bytes, &d2, 0);
    counted_release_step(&bytes, &d1, 0);
    cr_assert_eq(before - bytes, 2 * COUNTED_RELEASE_STEP);
    cr_assert_eq(counted_release_step(&bytes, &d2, 1), 0, "all: the allowance does not hold");
    cr_assert_null(d2.p);
    counted_release_allow(SIZE_MAX);
    while (counted_release_step(&bytes, &d1, 0))
        ;
    cr_assert_eq(bytes, 0, "without a limit, a step each call");
}

/*
 * A block a few bytes longer than whole steps is never shrunk below the first bytes that
 * name the block after it: both are given back, and the count comes to nothing.
 */
Test(counted, a_block_a_few_bytes_over_whole_steps_keeps_the_next_one_named)
{
    struct counted_dead d = { 0 };
    size_t bytes = 0, a = 3 * COUNTED_RELEASE_STEP, b = 2 * COUNTED_RELEASE_STEP + 8;
    int steps = 0;

    counted_dead_take(&bytes, &d, counted_alloc(&bytes, a), a);
    counted_dead_take(&bytes, &d, counted_alloc(&bytes, b), b);
    while (counted_release_step(&bytes, &d, 0))
        cr_assert_leq(++steps, 10);
    cr_assert_eq(bytes, 0, "the block behind the short one given back too");
}
