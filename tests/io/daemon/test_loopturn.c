/*
 * loopturn on a real loop: each turn is counted, and each turn hands the loop thread its
 * allowance of dead memory to give back (LOOPTURN_RELEASE). A callback that steps a dead
 * block on every one of a thousand calls a turn, as a drain's inserts do, gives back one
 * step a turn, and all of it over as many turns as it has steps.
 */
#include <criterion/criterion.h>

#include <stdint.h>

#include <uv.h>

#include "base/counted.h"
#include "daemon/loopturn.h"

static size_t bytes;
static struct counted_dead dead;

/* A thousand steps a turn. */
static void step_often(uv_idle_t *h)
{
    (void)h;
    for (int k = 0; k < 1000; k++)
        counted_release_step(&bytes, &dead, 0);
}

Test(loopturn, each_turn_gives_back_one_step_of_dead_memory)
{
    uv_loop_t loop;
    uv_idle_t idle;
    struct loopturn turn;
    struct timings stats = { 0 };
    size_t n = 5 * COUNTED_RELEASE_STEP, before;
    int turns = 0;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(uv_loop_configure(&loop, UV_METRICS_IDLE_TIME), 0);
    cr_assert_eq(loopturn_init(&turn, &loop, &stats), 0);
    cr_assert_eq(loopturn_start(&turn), 0);
    cr_assert_eq(uv_idle_init(&loop, &idle), 0);
    cr_assert_eq(uv_idle_start(&idle, step_often), 0);
    counted_dead_take(&bytes, &dead, counted_alloc(&bytes, n), n);

    /* libuv runs idle handles before prepare handles: the first turn has no allowance. */
    counted_release_allow(0);
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert_eq(bytes, n, "nothing given back before the loop's first turn ended");
    while (dead.p != NULL) {
        before = bytes;
        uv_run(&loop, UV_RUN_NOWAIT);
        cr_assert_eq(before - bytes, COUNTED_RELEASE_STEP, "one step a turn, of 1000 calls");
        cr_assert_leq(++turns, 5, "no more turns than steps");
    }
    cr_assert_eq(turns, 5);
    cr_assert_eq(bytes, 0);
    cr_assert_gt(stats.loop.count, 0, "the turns were counted");

    uv_idle_stop(&idle);
    uv_close((uv_handle_t *)&idle, NULL);
    loopturn_close(&turn, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    counted_release_allow(SIZE_MAX);
}
