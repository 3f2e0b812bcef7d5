#include <criterion/criterion.h>

#include "daemon/expiresched.h"

/* A sweep that has more to do for its first `left` slices, and counts them. */
struct fake_sweep {
    int slices;
    int left;
};

static int fake_slice(void *arg)
{
    struct fake_sweep *f = arg;

    f->slices++;
    return --f->left > 0;
}

Test(expiresched, a_tick_with_nothing_to_sweep_runs_one_slice_and_no_idle)
{
    struct fake_sweep f = { 0, 0 };
    struct expiresched s;

    expiresched_init(&s, fake_slice, &f);
    cr_assert_eq(expiresched_tick(&s, 0), 0);
    cr_assert_eq(f.slices, 1);
    cr_assert_eq(expiresched_tick(&s, 0), 0);
    cr_assert_eq(f.slices, 2);
}

Test(expiresched, the_idle_call_in_the_ticks_turn_runs_no_slice)
{
    struct fake_sweep f = { 0, 4 };
    struct expiresched s;

    expiresched_init(&s, fake_slice, &f);
    cr_assert_eq(expiresched_tick(&s, 0), 1, "more to do: the idle handle starts");
    cr_assert_eq(f.slices, 1);
    /* libuv runs the idle handle right after the timer, in the same turn. */
    cr_assert_eq(expiresched_idle(&s), 1);
    cr_assert_eq(f.slices, 1, "a second slice in the tick's turn");
    /* Each later turn: one slice, until the sweep is done. */
    cr_assert_eq(expiresched_idle(&s), 1);
    cr_assert_eq(f.slices, 2);
    cr_assert_eq(expiresched_idle(&s), 1);
    cr_assert_eq(f.slices, 3);
    cr_assert_eq(expiresched_idle(&s), 0, "done: the idle handle stops");
    cr_assert_eq(f.slices, 4);
}

Test(expiresched, ticks_during_a_sweep_leave_it_to_the_idle_handle)
{
    struct fake_sweep f = { 0, 3 };
    struct expiresched s;

    expiresched_init(&s, fake_slice, &f);
    cr_assert_eq(expiresched_tick(&s, 0), 1);
    cr_assert_eq(expiresched_idle(&s), 1);
    cr_assert_eq(expiresched_tick(&s, 1), 0, "a sweep under way: the tick runs no slice");
    cr_assert_eq(f.slices, 1);
    cr_assert_eq(expiresched_idle(&s), 1);
    cr_assert_eq(expiresched_idle(&s), 0);
    cr_assert_eq(f.slices, 3);
    /* Done: the next tick starts a sweep again, with its own slice. */
    f.left = 2;
    cr_assert_eq(expiresched_tick(&s, 0), 1);
    cr_assert_eq(f.slices, 4);
    cr_assert_eq(expiresched_idle(&s), 1);
    cr_assert_eq(f.slices, 4);
    cr_assert_eq(expiresched_idle(&s), 0);
    cr_assert_eq(f.slices, 5);
}
