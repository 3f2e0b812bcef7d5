/*
 * authq, the policy of basic auth's bcrypt work, on a fake clock: a small simulation runs
 * checks of fixed lengths, ends them in time order and starts what authq gives next.
 * Waiting is measured on that clock, from a check's arrival to its start: floods at
 * other names never delay a user's cold login past one run, a flood at the user's own
 * name never makes it wait past AUTHQ_WAIT_MAX_MS (it is let in within it, or refused at
 * once), and no more than max_running run at once whatever comes.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "http/authq.h"
#include "base/common.h"

#define MAXJOBS 4096

struct job {
    struct authq_item it; /* first: the item is the job */
    uint64_t run_ms;      /* how long it runs */
    int wrong;            /* a wrong password (for a configured user) */
    int state;            /* 0 new, 1 waiting, 2 running, 3 done, 4 refused */
    uint64_t arrived, started;
    unsigned busy_at_arrival; /* checks running when it came */
};

static struct sim {
    struct authq q;
    uint64_t now;
    struct job jobs[MAXJOBS];
    size_t njobs;
    unsigned max_running_seen;
} S;

static void sim_init(unsigned max_running)
{
    memset(&S, 0, sizeof(S));
    authq_init(&S.q, max_running);
    S.now = 1000000; /* any origin */
}

static void check_invariants(void)
{
    unsigned running = 0, waiting = 0;

    for (size_t i = 0; i < S.njobs; i++) {
        running += S.jobs[i].state == 2;
        waiting += S.jobs[i].state == 1;
    }
    cr_assert_eq(running, S.q.running);
    cr_assert_eq(waiting, S.q.waiting);
    cr_assert_leq(S.q.running, S.q.max_running, "the threadpool bound");
    cr_assert_leq(S.q.running_shared, S.q.max_running - S.q.reserved, "the kept slot");
    if (running > S.max_running_seen)
        S.max_running_seen = running;
}

static void started(struct authq_item *it)
{
    struct job *j = (struct job *)it;

    cr_assert_eq(j->state, 1);
    j->state = 2;
    j->started = S.now;
}

/* A check of run_ms comes to lane l now. Returns authq's answer. */
static enum authq_admit submit(struct authq_lane *l, uint64_t run_ms, int wrong, struct job **out)
{
    struct job *j;
    enum authq_admit a;

    cr_assert_lt(S.njobs, MAXJOBS);
    j = &S.jobs[S.njobs++];
    j->run_ms = run_ms;
    j->wrong = wrong;
    j->arrived = S.now;
    j->busy_at_arrival = S.q.running;
    a = authq_admit(&S.q, l, &j->it, S.now);
    j->state = a == AUTHQ_RUN ? 2 : a == AUTHQ_WAIT ? 1 : 4;
    j->started = S.now;
    check_invariants();
    if (out != NULL)
        *out = j;
    return a;
}

/* Run the clock to t: each check that ends by then ends in time order, and what authq
 * gives next starts then. */
static void advance(uint64_t t)
{
    for (;;) {
        struct job *first = NULL;
        struct authq_item *it;

        for (size_t i = 0; i < S.njobs; i++) {
            struct job *j = &S.jobs[i];

            if (j->state == 2 && j->started + j->run_ms <= t &&
                (first == NULL || j->started + j->run_ms < first->started + first->run_ms))
                first = j;
        }
        if (first == NULL)
            break;
        S.now = first->started + first->run_ms;
        first->state = 3;
        authq_done(&S.q, &first->it, first->wrong, first->run_ms * 1000, S.now);
        while ((it = authq_next(&S.q, S.now)) != NULL)
            started(it);
        check_invariants();
    }
    S.now = t;
}

static void lane(struct authq_lane *l, int known)
{
    authq_lane_init(l, known, 10);
}

/* What the clock has seen of one check: its wait, once it started. */
static uint64_t waited(const struct job *j)
{
    cr_assert_geq(j->state, 2, "not started");
    cr_assert_neq(j->state, 4);
    return j->started - j->arrived;
}

/* Wrong guesses at each of lanes[], one every `every` ms, each a run of run_ms. */
struct flood {
    struct authq_lane *lanes[4]; /* guessed at, each every `every` ms */
    size_t nlanes;
    uint64_t every, run_ms;
};

/* The flood from now for `until` ms, and the owner's logins at owner_lane (a right
 * password, as long a run): nlogins of them, from `first` ms on, `spacing` apart, their
 * jobs in owner[]. Then everything ends. */
static void run_flood(const struct flood *f, uint64_t until, struct authq_lane *owner_lane,
                      uint64_t first, uint64_t spacing, size_t nlogins, struct job **owner)
{
    uint64_t t0 = S.now;
    size_t next = 0;

    for (uint64_t t = t0; t < t0 + until; t++) {
        advance(t);
        if ((t - t0) % f->every == 0)
            for (size_t i = 0; i < f->nlanes; i++)
                submit(f->lanes[i], f->run_ms, f->lanes[i]->known, NULL);
        if (next < nlogins && t - t0 == first + spacing * next)
            submit(owner_lane, f->run_ms, 0, &owner[next++]);
    }
    advance(S.now + 100000); /* everything ends */
    cr_assert_eq(S.q.running + S.q.waiting, 0);
    cr_assert_null(S.q.active);
}

/*
 * Guessers flood an unknown name and two other users, bob and carol, every 5 ms for 4 s,
 * each guess a 100 ms run. alice, whom nobody guesses at, logs in (cold: bcrypt runs)
 * every 251 ms from the second second on: she is never refused and never waits more than
 * one run. With 2 slots, one kept for clean users, she waits for none (the flood holds
 * the other); with 1 slot, nothing kept, she waits for the run in progress, no more.
 */
static void other_names(unsigned max_running, uint64_t want_worst)
{
    struct authq_lane alice, bob, carol, unknown;
    struct flood f = { { &unknown, &bob, &carol }, 3, 5, 100 };
    uint64_t worst = 0;
    struct job *logins[12];
    size_t refused = 0;

    sim_init(max_running);
    lane(&alice, 1);
    lane(&bob, 1);
    lane(&carol, 1);
    lane(&unknown, 0);
    run_flood(&f, 4500, &alice, 1000, 251, 12, logins);
    for (size_t i = 0; i < 12; i++) {
        cr_assert_leq(waited(logins[i]), 100, "login %zu waited %lu ms", i, waited(logins[i]));
        cr_assert_geq(logins[i]->busy_at_arrival, max_running - (max_running > 1),
                      "login %zu: the flood held no slot", i);
        worst = waited(logins[i]) > worst ? waited(logins[i]) : worst;
    }
    for (size_t i = 0; i < S.njobs; i++)
        refused += S.jobs[i].state == 4;
    cr_assert_gt(refused, S.njobs / 2, "the flood was mostly refused: %zu", refused);
    cr_assert_eq(S.max_running_seen, max_running);
    cr_assert_geq(worst, want_worst);
    cr_assert(authq_clean(&alice, S.now));
    cr_assert(bob.failed && !authq_clean(&bob, bob.failed_at_ms));
}

Test(authq, a_flood_at_other_names_never_delays_a_cold_login_past_one_run)
{
    other_names(2, 0);
    other_names(1, 1);
}

/* Every check of l let in started within AUTHQ_WAIT_MAX_MS of its arrival; the worst. */
static uint64_t worst_wait(const struct authq_lane *l, size_t *refused)
{
    uint64_t worst = 0;

    *refused = 0;
    for (size_t i = 0; i < S.njobs; i++) {
        const struct job *j = &S.jobs[i];

        if (j->it.lane != l)
            continue;
        if (j->state == 4) {
            ++*refused;
            continue;
        }
        cr_assert_leq(waited(j), AUTHQ_WAIT_MAX_MS, "check %zu waited %lu ms", i, waited(j));
        worst = waited(j) > worst ? waited(j) : worst;
    }
    return worst;
}

/*
 * Guesses at alice's own name every `every` ms for `until` ms (each a 100 ms run), and
 * her logins, n of them, from `first` on, `spacing` apart: every check of her lane let in
 * starts within AUTHQ_WAIT_MAX_MS. The worst wait, and how many were refused.
 */
static uint64_t own_name(uint64_t every, uint64_t until, uint64_t first, uint64_t spacing, size_t n,
                         size_t *refused)
{
    struct authq_lane alice;
    struct flood f = { { &alice }, 1, every, 100 };
    uint64_t worst;
    struct job *logins[30];

    cr_assert_leq(n, 30);
    sim_init(2);
    lane(&alice, 1);
    run_flood(&f, until, &alice, first, spacing, n, logins);
    worst = worst_wait(&alice, refused);
    cr_assert_eq(S.max_running_seen, 1, "a user's lane runs one check at a time");
    return worst;
}

/*
 * Guessers at alice's own name, a guess every 10 ms for 5 s (ten times what her lane can
 * run): alice's logins, as the guesses, start within a second of arriving or are refused
 * at once. The lane does fill up to the bound (the test would see a wait past it). Here
 * the guessers win every race for a place freed, so the owner is refused every time (she
 * retries, as on 503): nothing tells her apart but the password.
 */
Test(authq, a_flood_at_the_users_own_name_never_makes_it_wait_past_a_second)
{
    size_t refused;

    cr_assert_geq(own_name(10, 5000, 500, 149, 30, &refused), AUTHQ_WAIT_MAX_MS - 100,
                  "the lane never filled");
    cr_assert_gt(refused, 0);
}

/* A slower guesser at alice (every 200 ms, a run takes 100; her logins every 450): what
 * is ahead of her stays under the second, and she is always let in. */
Test(authq, a_guesser_slower_than_bcrypt_never_gets_the_owner_refused)
{
    size_t refused;

    cr_assert_gt(own_name(200, 5000, 300, 450, 10, &refused), 0, "she never met a guess");
    cr_assert_eq(refused, 0);
}

/*
 * Guessers at alice, at bob and at unknown names at once, every 5 ms: what alice's lane
 * lets in still starts within the second, her lane's share of the slots taken into the
 * bound; and the threadpool bound holds.
 */
Test(authq, floods_at_every_name_at_once_keep_both_bounds)
{
    struct authq_lane alice, bob, unknown;
    struct flood f = { { &alice, &bob, &unknown }, 3, 5, 100 };
    struct job *logins[30];
    size_t refused;

    sim_init(2);
    lane(&alice, 1);
    lane(&bob, 1);
    lane(&unknown, 0);
    run_flood(&f, 5000, &alice, 500, 149, 30, logins);
    cr_assert_gt(worst_wait(&alice, &refused), 0);
    cr_assert_gt(refused, 0);
    worst_wait(&bob, &refused);
    worst_wait(&unknown, &refused);
    cr_assert_eq(S.max_running_seen, 2);
}

/*
 * Eight users and unknown names all flooded, with hashes of different costs: never more
 * than max_running run at once, never more than AUTHQ_LANE_MAX wait in a lane, and every
 * check let in starts within the second.
 */
Test(authq, the_threadpool_bound_holds_whoever_is_flooded)
{
    struct authq_lane users[8], unknown;
    uint64_t t0;

    sim_init(3);
    for (size_t i = 0; i < 8; i++)
        authq_lane_init(&users[i], 1, 8 + (unsigned)i % 3);
    authq_lane_init(&unknown, 0, 10);
    t0 = S.now;
    for (uint64_t t = t0; t < t0 + 3000; t += 10) {
        advance(t);
        for (size_t i = 0; i < 8; i++) {
            submit(&users[i], 20u << (i % 3), (t - t0) % 70 != i * 10, NULL);
            cr_assert_leq(users[i].waiting, AUTHQ_LANE_MAX);
        }
        submit(&unknown, 80, 0, NULL);
    }
    advance(S.now + 100000);
    for (size_t i = 0; i < 8; i++) {
        size_t refused;

        worst_wait(&users[i], &refused);
    }
    cr_assert_eq(S.max_running_seen, 3);
    cr_assert_null(S.q.active);
}

/* Before any run was measured there is no estimate: only what starts at once, or comes to
 * a clean user's empty lane, is let in. */
Test(authq, nothing_waits_on_a_guess_before_a_run_was_measured)
{
    struct authq_lane alice, unknown;

    sim_init(2);
    lane(&alice, 1);
    lane(&unknown, 0);
    cr_assert_eq(authq_estimate_ms(&S.q, &alice, S.now), UINT64_MAX);
    cr_assert_eq(submit(&unknown, 100, 0, NULL), AUTHQ_RUN);
    cr_assert_eq(submit(&unknown, 100, 0, NULL), AUTHQ_BUSY, "the other slot is kept");
    cr_assert_eq(submit(&alice, 100, 0, NULL), AUTHQ_RUN);
    cr_assert_eq(submit(&alice, 100, 0, NULL), AUTHQ_BUSY);
    advance(S.now + 100);
    /* Measured now: 100 ms a run. One waits for alice's lane, one more for the slot. */
    cr_assert_eq(authq_estimate_ms(&S.q, &alice, S.now), 0);
    cr_assert_eq(submit(&alice, 100, 1, NULL), AUTHQ_RUN);
    cr_assert_eq(submit(&alice, 100, 1, NULL), AUTHQ_WAIT);
    cr_assert_eq(authq_estimate_ms(&S.q, &alice, S.now), 200);
}

/* A reload carries a user's failure and measured run time to its new lane. */
Test(authq, a_reload_carries_the_failure_and_the_run_time)
{
    struct authq_lane alice, next;
    struct job *j;

    sim_init(2);
    lane(&alice, 1);
    cr_assert_eq(submit(&alice, 70, 1, &j), AUTHQ_RUN);
    advance(S.now + 70);
    cr_assert(!authq_clean(&alice, S.now));
    lane(&next, 1);
    authq_lane_carry(&next, &alice);
    cr_assert(!authq_clean(&next, S.now));
    cr_assert(authq_clean(&next, S.now + AUTHQ_FAIL_WINDOW_MS));
    cr_assert_eq(next.run_us, 70000);
}
