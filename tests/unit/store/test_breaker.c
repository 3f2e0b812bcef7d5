#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <string.h>

#include "store/breaker.h"

/*
 * Each case is a sequence of steps on one breaker with a fake clock: a report (W, I, E)
 * or a look (L) at time t, then the state, consecutive failures and openings expected
 * after it.
 */
#define MAX_STEPS 12

struct step {
    uint64_t t_ms;
    char op; /* 'W' worked, 'I' idle, 'E' error, 'L' look only */
    enum breaker_state state;
    uint64_t failures;
    uint64_t openings;
};

struct breaker_case {
    char name[48];
    uint32_t threshold;
    double open_seconds;
    size_t nsteps;
    struct step steps[MAX_STEPS];
};

#define C BREAKER_CLOSED
#define O BREAKER_OPEN
#define H BREAKER_HALF_OPEN

static struct breaker_case cases[] = {
    { "errors below threshold stay closed",
      3,
      10,
      3,
      { { 0, 'E', C, 1, 0 }, { 1, 'E', C, 2, 0 }, { 2, 'W', C, 0, 0 } } },
    { "threshold reached opens",
      3,
      10,
      3,
      { { 0, 'E', C, 1, 0 }, { 1, 'E', C, 2, 0 }, { 2, 'E', O, 3, 1 } } },
    { "threshold 1 opens on first error", 1, 10, 1, { { 5, 'E', O, 1, 1 } } },
    { "idle resets consecutive failures",
      2,
      10,
      3,
      { { 0, 'E', C, 1, 0 }, { 1, 'I', C, 0, 0 }, { 2, 'E', C, 1, 0 } } },
    { "reports while open count but keep it open",
      1,
      10,
      4,
      { { 0, 'E', O, 1, 1 },
        { 100, 'E', O, 2, 1 },
        { 200, 'W', O, 0, 1 },
        { 9999, 'L', O, 0, 1 } } },
    { "half-open at the exact moment",
      1,
      10,
      3,
      { { 1000, 'E', O, 1, 1 }, { 10999, 'L', O, 1, 1 }, { 11000, 'L', H, 1, 1 } } },
    { "half-open without any report",
      2,
      0.5,
      3,
      { { 0, 'E', C, 1, 0 }, { 0, 'E', O, 2, 1 }, { 60000, 'L', H, 2, 1 } } },
    { "half-open success closes",
      1,
      1,
      3,
      { { 0, 'E', O, 1, 1 }, { 1000, 'L', H, 1, 1 }, { 1500, 'W', C, 0, 1 } } },
    { "half-open idle closes", 1, 1, 2, { { 0, 'E', O, 1, 1 }, { 2000, 'I', C, 0, 1 } } },
    { "half-open error reopens as a new opening",
      3,
      1,
      5,
      { { 0, 'E', C, 1, 0 },
        { 0, 'E', C, 2, 0 },
        { 0, 'E', O, 3, 1 },
        { 1000, 'E', O, 4, 2 },
        { 1999, 'L', O, 4, 2 } } },
    { "reopened breaker half-opens again",
      1,
      1,
      4,
      { { 0, 'E', O, 1, 1 },
        { 1000, 'E', O, 2, 2 },
        { 2000, 'L', H, 2, 2 },
        { 2001, 'W', C, 0, 2 } } },
    { "closed again needs a full threshold",
      2,
      1,
      6,
      { { 0, 'E', C, 1, 0 },
        { 0, 'E', O, 2, 1 },
        { 1000, 'W', C, 0, 1 },
        { 1001, 'E', C, 1, 1 },
        { 1002, 'E', O, 2, 2 },
        { 1003, 'W', O, 0, 2 } } },
    { "time running backwards changes nothing",
      1,
      1,
      3,
      { { 5000, 'E', O, 1, 1 }, { 4000, 'L', O, 1, 1 }, { 6000, 'L', H, 1, 1 } } },
};

ParameterizedTestParameters(breaker, transitions)
{
    return cr_make_param_array(struct breaker_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static enum statsd_outcome outcome_of(char op)
{
    return op == 'W'   ? STATSD_OUTCOME_WORKED
           : op == 'I' ? STATSD_OUTCOME_IDLE
                       : STATSD_OUTCOME_ERROR;
}

ParameterizedTest(struct breaker_case *c, breaker, transitions)
{
    struct breaker b;
    size_t i;

    breaker_init(&b, c->threshold, c->open_seconds, 0);
    for (i = 0; i < c->nsteps; i++) {
        const struct step *s = &c->steps[i];
        if (s->op == 'L')
            breaker_advance(&b, s->t_ms);
        else
            breaker_report(&b, outcome_of(s->op), s->t_ms, 1.7e9 + (double)s->t_ms / 1000.0);
        cr_assert_eq(b.state, s->state, "%s: step %zu: state %s, want %s", c->name, i,
                     breaker_state_name(b.state), breaker_state_name(s->state));
        cr_assert_eq(b.consecutive_failures, s->failures, "%s: step %zu: failures %llu", c->name, i,
                     (unsigned long long)b.consecutive_failures);
        cr_assert_eq(b.openings, s->openings, "%s: step %zu: openings %llu", c->name, i,
                     (unsigned long long)b.openings);
    }
}

Test(breaker, counts_attempts_errors_and_timestamps_in_every_state)
{
    struct breaker b;

    breaker_init(&b, 1, 10, 0);
    cr_assert_eq(b.has_success, 0);
    cr_assert_eq(b.has_error, 0);
    breaker_report(&b, STATSD_OUTCOME_ERROR, 0, 100.0);    /* opens */
    breaker_report(&b, STATSD_OUTCOME_WORKED, 10, 101.0);  /* open */
    breaker_report(&b, STATSD_OUTCOME_IDLE, 20000, 102.0); /* half-open -> closed */
    breaker_report(&b, STATSD_OUTCOME_ERROR, 20001, 103.0);
    cr_assert_eq(b.attempts[STATSD_OUTCOME_WORKED], 1);
    cr_assert_eq(b.attempts[STATSD_OUTCOME_IDLE], 1);
    cr_assert_eq(b.attempts[STATSD_OUTCOME_ERROR], 2);
    cr_assert_eq(b.errors, 2);
    cr_assert_eq(b.openings, 2);
    cr_assert_eq(b.has_success, 1);
    cr_assert_eq(b.has_error, 1);
    cr_assert_float_eq(b.last_success_unix, 102.0, 1e-9);
    cr_assert_float_eq(b.last_error_unix, 103.0, 1e-9);
}

Test(breaker, time_in_state_starts_when_the_state_was_entered)
{
    struct breaker b;

    breaker_init(&b, 1, 2, 500);
    cr_assert_eq(breaker_time_in_state(&b, 1500), 1000);
    breaker_report(&b, STATSD_OUTCOME_ERROR, 3000, 0);
    cr_assert_eq(breaker_time_in_state(&b, 3000), 0);
    /* Half-open was entered at 5000, when open_seconds ran out, not when looked at. */
    breaker_advance(&b, 9000);
    cr_assert_eq(b.state, BREAKER_HALF_OPEN);
    cr_assert_eq(breaker_time_in_state(&b, 9000), 4000);
}

Test(breaker, open_seconds_round_up_to_the_millisecond)
{
    struct breaker b;

    breaker_init(&b, 1, 0.0015, 0);
    breaker_report(&b, STATSD_OUTCOME_ERROR, 0, 0);
    breaker_advance(&b, 1);
    cr_assert_eq(b.state, BREAKER_OPEN);
    breaker_advance(&b, 2);
    cr_assert_eq(b.state, BREAKER_HALF_OPEN);
}

Test(breaker, state_names)
{
    cr_assert_str_eq(breaker_state_name(BREAKER_CLOSED), "closed");
    cr_assert_str_eq(breaker_state_name(BREAKER_OPEN), "open");
    cr_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
}

Test(breaker, configure_keeps_the_state_and_applies_new_settings)
{
    struct breaker b;

    breaker_init(&b, 5, 60, 0);
    breaker_report(&b, STATSD_OUTCOME_ERROR, 10, 0);
    breaker_report(&b, STATSD_OUTCOME_ERROR, 20, 0);
    /* A lower threshold than the failures so far: the next error opens. */
    breaker_configure(&b, 2, 1);
    cr_assert_eq(b.state, BREAKER_CLOSED);
    cr_assert_eq(b.consecutive_failures, 2);
    cr_assert_eq(b.errors, 2);
    breaker_report(&b, STATSD_OUTCOME_ERROR, 30, 0);
    cr_assert_eq(b.state, BREAKER_OPEN);
    cr_assert_eq(b.openings, 1);
    /* A shorter open time counts from when it opened. */
    breaker_configure(&b, 2, 0.5);
    breaker_advance(&b, 529);
    cr_assert_eq(b.state, BREAKER_OPEN);
    breaker_advance(&b, 530);
    cr_assert_eq(b.state, BREAKER_HALF_OPEN);
}

/*
 * breaker_report_n(n) is n breaker_report()s at one time, from every state and across
 * the threshold: a summed count ("publish:3|c|#outcome:error") counts as its runs would.
 */
Test(breaker, n_reports_at_once_are_n_single_reports)
{
    static const uint64_t counts[] = { 0, 1, 2, 3, 7 };
    static const enum statsd_outcome outcomes[] = { STATSD_OUTCOME_WORKED, STATSD_OUTCOME_IDLE,
                                                    STATSD_OUTCOME_ERROR };

    for (int start = 0; start < 4; start++) {
        for (size_t o = 0; o < 3; o++) {
            for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
                struct breaker one, many;

                breaker_init(&one, 3, 1, 0);
                /* Start closed with 0 or 2 failures, open, or half-open. */
                for (int e = 0; e < (start == 1 ? 2 : start >= 2 ? 3 : 0); e++)
                    breaker_report(&one, STATSD_OUTCOME_ERROR, 10, 5.0);
                if (start == 3)
                    breaker_advance(&one, 2000);
                many = one;
                breaker_advance(&one, 2500); /* every report brings the time first */
                for (uint64_t i = 0; i < counts[k]; i++)
                    breaker_report(&one, outcomes[o], 2500, 9.0);
                breaker_report_n(&many, outcomes[o], counts[k], 2500, 9.0);
                cr_assert(memcmp(&one, &many, sizeof(one)) == 0,
                          "start %d, outcome %zu, n %llu: the breakers differ", start, o,
                          (unsigned long long)counts[k]);
            }
        }
    }
}

/* A saved breaker in state, as the state file gives it: its counts and its state. */
static struct breaker saved_in(enum breaker_state state)
{
    struct breaker s;

    breaker_init(&s, 1, 1, 0);
    s.state = state;
    s.openings = 4;
    s.errors = 9;
    return s;
}

/*
 * A breaker of 60 s open_seconds, restored from one saved in state: in_state ms in it
 * when saved, away ms since, now ms on the clock.
 */
static struct breaker restored(enum breaker_state state, uint64_t in_state, uint64_t away,
                               uint64_t now)
{
    struct breaker b, s = saved_in(state);

    breaker_init(&b, 1, 60, 0);
    breaker_restore(&b, &s, in_state, away, now);
    return b;
}

Test(breaker, a_restored_state_keeps_its_age_and_the_running_breakers_settings)
{
    struct breaker b, s = saved_in(BREAKER_CLOSED);

    breaker_init(&b, 3, 60, 0);
    /* 5 s in state when saved, 2 s away, restored at 100 s of the clock. */
    breaker_restore(&b, &s, 5000, 2000, 100000);
    cr_assert_eq(b.state, BREAKER_CLOSED);
    cr_assert_eq(b.threshold, 3);
    cr_assert_eq(b.open_ms, 60000);
    cr_assert_eq(b.openings, 4);
    cr_assert_eq(b.errors, 9);
    cr_assert_eq(breaker_time_in_state(&b, 100000), 7000);
    cr_assert_eq(breaker_time_in_state(&b, 101000), 8000);
}

/*
 * A host that rebooted: the clock started again 30 s ago, and the state is a day old. It
 * reads a day, not 30 s, and goes on from there.
 */
Test(breaker, a_state_older_than_the_clock_reads_its_whole_age)
{
    const uint64_t day = 86400000;
    struct breaker b = restored(BREAKER_CLOSED, day - 10000, 10000, 30000);

    cr_assert_eq(breaker_time_in_state(&b, 30000), day);
    cr_assert_eq(breaker_time_in_state(&b, 31000), day + 1000);
    /* A new state starts from the clock as before. */
    breaker_report(&b, STATSD_OUTCOME_ERROR, 40000, 0);
    cr_assert_eq(b.state, BREAKER_OPEN);
    cr_assert_eq(breaker_time_in_state(&b, 45000), 5000);
}

/*
 * An open breaker 50 s into its 60 s, restored 20 s after the clock started: it half-opens
 * 10 s later, when its 60 s are up, not 60 s after the clock's start.
 */
Test(breaker, an_open_state_older_than_the_clock_half_opens_on_time)
{
    struct breaker b = restored(BREAKER_OPEN, 40000, 10000, 20000);

    cr_assert_eq(b.state, BREAKER_OPEN);
    cr_assert_eq(breaker_time_in_state(&b, 20000), 50000);
    breaker_advance(&b, 29999);
    cr_assert_eq(b.state, BREAKER_OPEN);
    breaker_advance(&b, 30000);
    cr_assert_eq(b.state, BREAKER_HALF_OPEN);
    cr_assert_eq(breaker_time_in_state(&b, 30000), 0);
    cr_assert_eq(breaker_time_in_state(&b, 35000), 5000);
}

/* Open past its time while away: half-open, entered when the time ran out. */
Test(breaker, an_open_state_whose_time_ran_out_while_away_is_half_open)
{
    struct breaker b = restored(BREAKER_OPEN, 50000, 30000, 5000);

    cr_assert_eq(b.state, BREAKER_HALF_OPEN);
    cr_assert_eq(breaker_time_in_state(&b, 5000), 20000);
}

/* A saved time no clock reaches (the sum overflows): the longest age there is, no wrap. */
Test(breaker, an_age_past_any_clock_stays_the_longest)
{
    struct breaker b = restored(BREAKER_CLOSED, UINT64_MAX - 5, 100, 1000);

    cr_assert_gt(breaker_time_in_state(&b, 1000), (uint64_t)1 << 61);
    cr_assert_geq(breaker_time_in_state(&b, 2000), breaker_time_in_state(&b, 1000));
    b = restored(BREAKER_CLOSED, 0, 0, UINT64_MAX);
    cr_assert_eq(breaker_time_in_state(&b, UINT64_MAX), 0);
}
