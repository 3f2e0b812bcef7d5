/*
 * The eviction policy (evict.h) with a fake clock: each connection's facts and the time
 * are given, nothing sleeps. Limits: stall 200 ms, work 400 ms, fresh 100 ms; the time
 * is NOW.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>

#include "http/evict.h"

#define NOW 100000u

static const struct evict_limits LIM = { .stall_ms = 200, .work_ms = 400, .fresh_ms = 100 };

/* A connection the loop has polled, as most are, last progressing age ms ago. */
#define POLLED(st, age) .state = EVICT_STATE_##st, .progress_ms = NOW - (age), .polls = 3

/* TLS, idle: its handshake's last step done age ms ago, the client's turn. */
#define TLS_HS(age) TLS_DONE(age), .tls_hs = 1

/* TLS, idle: its handshake ended age ms ago. */
#define TLS_DONE(age) POLLED(IDLE, age), .sent = 1, .tls = 1, .tls_begun = 1

/* TLS: bytes of a first record came, not the whole record, since an accept age ms ago. */
#define TLS_REC(age) POLLED(IDLE, age), .accepted_ms = NOW - (age), .sent = 1, .tls = 1, .tls_hs = 1

struct classify_case {
    char name[48];
    struct evict_conn c;
    int want;
};

static struct classify_case classify_cases[] = {
    /* Too new: accepted since this poll began, not read yet. */
    { "new idle", { .state = EVICT_STATE_IDLE, .progress_ms = NOW - 5000 }, EVICT_SPARED },
    { "new, read early", { .state = EVICT_STATE_LINGER, .read_early = 1 }, EVICT_LINGER },
    { "polled once idle", { .state = EVICT_STATE_IDLE, .polls = 1 }, EVICT_IDLE },
    /* 1. idle and lingering: nothing is lost. */
    { "idle", { POLLED(IDLE, 0) }, EVICT_IDLE },
    { "linger", { POLLED(LINGER, 0) }, EVICT_LINGER },
    { "kept alive", { POLLED(IDLE, 0), .sent = 1, .asked = 1 }, EVICT_IDLE },
    /* Silent since the accept: fresh for fresh_ms (ranked after stalled work), then idle. */
    { "silent, fresh", { POLLED(IDLE, 99), .accepted_ms = NOW - 99 }, EVICT_FRESH },
    { "silent, past fresh", { POLLED(IDLE, 100), .accepted_ms = NOW - 100 }, EVICT_IDLE },
    /* TLS: spared while a step is out, and within fresh_ms of it while the client's
     * answer (or first request) is due; a record begun and left is a stalled handshake. */
    { "tls step out", { POLLED(IDLE, 100000), .tls = 1, .tls_step = 1 }, EVICT_SPARED },
    { "tls answer due", { TLS_HS(99) }, EVICT_SPARED },
    { "tls answer late", { TLS_HS(100) }, EVICT_REQUEST },
    { "tls answer due, reserve", { TLS_HS(9), .reserved = 1 }, EVICT_SPARED },
    { "tls answer late, reserve", { TLS_HS(10), .reserved = 1 }, EVICT_HANDSHAKE },
    { "tls answer later, reserve", { TLS_HS(100), .reserved = 1 }, EVICT_REQUEST },
    { "tls request due", { TLS_DONE(9) }, EVICT_SPARED },
    { "tls request late", { TLS_DONE(10) }, EVICT_IDLE },
    { "tls kept alive", { TLS_DONE(0), .asked = 1 }, EVICT_IDLE },
    { "tls record begun", { TLS_REC(99) }, EVICT_FRESH },
    { "tls record left", { TLS_REC(100) }, EVICT_REQUEST },
    { "tls silent", { POLLED(IDLE, 100), .tls = 1, .tls_hs = 1 }, EVICT_IDLE },
    { "tls shield is idle only", { POLLED(REQUEST, 0), .tls_step = 1 }, EVICT_REQUEST },
    /* 2. an unfinished request, however recent: request bytes are not progress. */
    { "request", { POLLED(REQUEST, 0) }, EVICT_REQUEST },
    /* 3. a response stalled on its client for stall_ms. */
    { "owed, progressing", { POLLED(WORKING, 199), .client_owes = 1 }, EVICT_SPARED },
    { "owed, stalled", { POLLED(WORKING, 200), .client_owes = 1 }, EVICT_RESPONSE },
    { "working, nothing owed", { POLLED(WORKING, 100000) }, EVICT_SPARED },
    /* 4. work waiting on something for work_ms, nothing owed. */
    { "waiting, in time", { POLLED(WAITING, 399) }, EVICT_SPARED },
    { "waiting, too long", { POLLED(WAITING, 400) }, EVICT_WORK },
    { "waiting, owed, stalled", { POLLED(WAITING, 200), .client_owes = 1 }, EVICT_RESPONSE },
    { "waiting, owed, in time", { POLLED(WAITING, 199), .client_owes = 1 }, EVICT_SPARED },
    { "closing", { POLLED(CLOSING, 100000) }, EVICT_SPARED },
};

ParameterizedTestParameters(evict, classify_gives_each_reason_and_spares)
{
    return cr_make_param_array(struct classify_case, classify_cases,
                               sizeof(classify_cases) / sizeof(classify_cases[0]));
}

ParameterizedTest(struct classify_case *tc, evict, classify_gives_each_reason_and_spares)
{
    cr_assert_eq(evict_classify(&tc->c, &LIM, NOW), tc->want, "%s", tc->name);
}

/* A server's connections, newest first, and the one the policy picks (-1: none). */
struct pick_case {
    char name[48];
    struct evict_conn c[4];
    int n;
    int want, reason;
};

static struct pick_case pick_cases[] = {
    { "reason before age: idle over request",
      { { POLLED(IDLE, 0) }, { POLLED(REQUEST, 90000) } },
      2,
      0,
      EVICT_IDLE },
    { "idle, then linger", { { POLLED(LINGER, 9000) }, { POLLED(IDLE, 0) } }, 2, 1, EVICT_IDLE },
    { "linger over request",
      { { POLLED(REQUEST, 9000) }, { POLLED(LINGER, 0) } },
      2,
      1,
      EVICT_LINGER },
    { "request over stalled response",
      { { POLLED(WORKING, 9000), .client_owes = 1 }, { POLLED(REQUEST, 0) } },
      2,
      1,
      EVICT_REQUEST },
    { "stalled response over old work",
      { { POLLED(WAITING, 9000) }, { POLLED(WORKING, 300), .client_owes = 1 } },
      2,
      1,
      EVICT_RESPONSE },
    { "fresh after old work",
      { { POLLED(IDLE, 0), .accepted_ms = NOW }, { POLLED(WAITING, 400) } },
      2,
      1,
      EVICT_WORK },
    { "the reserve's due handshake after fresh",
      { { TLS_HS(10), .reserved = 1 }, { POLLED(IDLE, 50), .accepted_ms = NOW - 50 } },
      2,
      1,
      EVICT_FRESH },
    { "the whole order, oldest last",
      { { POLLED(IDLE, 1) },
        { POLLED(REQUEST, 500) },
        { POLLED(WORKING, 900), .client_owes = 1 },
        { POLLED(WAITING, 1000) } },
      4,
      0,
      EVICT_IDLE },
    { "least recently active idle",
      { { POLLED(IDLE, 10) }, { POLLED(IDLE, 30) }, { POLLED(IDLE, 20) } },
      3,
      1,
      EVICT_IDLE },
    { "oldest unfinished request",
      { { POLLED(REQUEST, 20) }, { POLLED(REQUEST, 40) } },
      2,
      1,
      EVICT_REQUEST },
    { "longest stalled response",
      { { POLLED(WORKING, 900), .client_owes = 1 }, { POLLED(WORKING, 300), .client_owes = 1 } },
      2,
      0,
      EVICT_RESPONSE },
    { "longest waiting work",
      { { POLLED(WAITING, 400) }, { POLLED(WAITING, 550) } },
      2,
      1,
      EVICT_WORK },
    { "a tie goes to the older (offered later)",
      { { POLLED(IDLE, 50) }, { POLLED(IDLE, 50) }, { POLLED(IDLE, 10) } },
      3,
      1,
      EVICT_IDLE },
    { "everything progressing: none",
      { { POLLED(WORKING, 0), .client_owes = 1 }, { POLLED(WAITING, 10) }, { POLLED(WORKING, 0) } },
      3,
      -1,
      EVICT_SPARED },
    { "a spared one is skipped",
      { { POLLED(IDLE, 0), .tls_step = 1 }, { POLLED(REQUEST, 0) } },
      2,
      1,
      EVICT_REQUEST },
};

ParameterizedTestParameters(evict, pick_follows_the_order_then_the_oldest_progress)
{
    return cr_make_param_array(struct pick_case, pick_cases,
                               sizeof(pick_cases) / sizeof(pick_cases[0]));
}

ParameterizedTest(struct pick_case *tc, evict, pick_follows_the_order_then_the_oldest_progress)
{
    struct evict_pick p;
    int got = -1;

    evict_pick_init(&p);
    for (int i = 0; i < tc->n; i++)
        if (evict_pick_offer(&p, &tc->c[i], &LIM, NOW))
            got = i;
    cr_assert_eq(got, tc->want, "%s", tc->name);
    cr_assert_eq(p.reason, tc->reason, "%s", tc->name);
    cr_assert_eq(evict_verdict(&p, 0), tc->want < 0 ? EVICT_NONE : EVICT_NOW, "%s", tc->name);
}

/* The pick, in a poll or after it, by how many polls began since its accept. */
struct verdict_case {
    uint64_t polls;
    int read_early, in_poll;
    enum evict_verdict want;
};

static struct verdict_case verdict_cases[] = {
    { 1, 0, 1, EVICT_AFTER_POLL }, /* its request may be among this poll's events */
    { 1, 0, 0, EVICT_NOW },        /* after the poll: read if it had anything */
    { 1, 1, 1, EVICT_NOW },        /* its whole request was read at the accept */
    { 0, 1, 1, EVICT_NOW },        { 2, 0, 1, EVICT_NOW }, /* an earlier poll read it */
};

ParameterizedTestParameters(evict, verdict_waits_for_the_poll_that_may_hold_its_request)
{
    return cr_make_param_array(struct verdict_case, verdict_cases,
                               sizeof(verdict_cases) / sizeof(verdict_cases[0]));
}

ParameterizedTest(struct verdict_case *tc, evict,
                  verdict_waits_for_the_poll_that_may_hold_its_request)
{
    struct evict_conn c = { .state = EVICT_STATE_IDLE,
                            .polls = tc->polls,
                            .read_early = tc->read_early };
    struct evict_pick p;

    evict_pick_init(&p);
    cr_assert_eq(evict_pick_offer(&p, &c, &LIM, NOW), 1);
    cr_assert_eq(evict_verdict(&p, tc->in_poll), tc->want, "polls %llu read_early %d in_poll %d",
                 (unsigned long long)tc->polls, tc->read_early, tc->in_poll);
}

Test(evict, nothing_offered_is_nothing_to_evict)
{
    struct evict_pick p;

    evict_pick_init(&p);
    cr_assert_eq(evict_verdict(&p, 0), EVICT_NONE);
    cr_assert_eq(evict_verdict(&p, 1), EVICT_NONE);
}

Test(evict, time_alone_makes_a_stalled_response_and_old_work_evictable)
{
    struct evict_conn resp = { POLLED(WORKING, 0), .client_owes = 1 };
    struct evict_conn work = { POLLED(WAITING, 0) };
    struct evict_conn tls = { TLS_HS(0) };
    struct evict_conn fresh = { POLLED(IDLE, 0), .accepted_ms = NOW };

    cr_assert_eq(evict_classify(&resp, &LIM, NOW + 199), EVICT_SPARED);
    cr_assert_eq(evict_classify(&resp, &LIM, NOW + 200), EVICT_RESPONSE);
    cr_assert_eq(evict_classify(&work, &LIM, NOW + 399), EVICT_SPARED);
    cr_assert_eq(evict_classify(&work, &LIM, NOW + 400), EVICT_WORK);
    cr_assert(evict_shielded(&tls, &LIM, NOW + 99));
    cr_assert_not(evict_shielded(&tls, &LIM, NOW + 100));
    cr_assert_eq(evict_classify(&fresh, &LIM, NOW + 99), EVICT_FRESH);
    cr_assert_eq(evict_classify(&fresh, &LIM, NOW + 100), EVICT_IDLE);
}

Test(evict, too_new_is_unpolled_and_unread)
{
    struct evict_conn c = { .state = EVICT_STATE_IDLE };

    cr_assert(evict_too_new(&c));
    c.read_early = 1;
    cr_assert_not(evict_too_new(&c));
    c.read_early = 0;
    c.polls = 1;
    cr_assert_not(evict_too_new(&c));
}

Test(evict, names_are_the_label_values)
{
    const char *want[EVICT_COUNT] = { "idle", "linger", "request",  "response",
                                      "work", "fresh",  "handshake" };

    for (int i = 0; i < EVICT_COUNT; i++)
        cr_assert_str_eq(evict_name(i), want[i]);
    cr_assert_str_eq(evict_name(EVICT_COUNT), "unknown");
    cr_assert_str_eq(evict_name(EVICT_SPARED), "unknown");
}

/* How an evicted connection leaves: parked (dropping, or until it speaks), or closed. */
struct exit_case {
    char name[48];
    struct evict_conn c;
    int reason;
    enum evict_exit want;
};

static struct exit_case exit_cases[] = {
    { "unfinished request: parked", { POLLED(REQUEST, 0) }, EVICT_REQUEST, EVICT_PARK },
    { "linger: parked", { POLLED(LINGER, 0) }, EVICT_LINGER, EVICT_PARK },
    { "stalled handshake: parked", { TLS_HS(100) }, EVICT_REQUEST, EVICT_PARK },
    { "record begun: parked", { TLS_REC(0) }, EVICT_FRESH, EVICT_PARK },
    { "silent: until spoken",
      { POLLED(IDLE, 0), .accepted_ms = NOW },
      EVICT_FRESH,
      EVICT_PARK_UNTIL_SPOKEN },
    { "kept alive: until spoken",
      { POLLED(IDLE, 0), .sent = 1, .asked = 1 },
      EVICT_IDLE,
      EVICT_PARK_UNTIL_SPOKEN },
    { "reserve handshake: parked", { TLS_HS(10), .reserved = 1 }, EVICT_HANDSHAKE, EVICT_PARK },
    { "stalled response: closed",
      { POLLED(WORKING, 300), .client_owes = 1 },
      EVICT_RESPONSE,
      EVICT_CLOSE },
    { "old work: closed", { POLLED(WAITING, 400) }, EVICT_WORK, EVICT_CLOSE },
};

ParameterizedTestParameters(evict, exit_parks_what_a_flood_is_made_of)
{
    return cr_make_param_array(struct exit_case, exit_cases,
                               sizeof(exit_cases) / sizeof(exit_cases[0]));
}

ParameterizedTest(struct exit_case *tc, evict, exit_parks_what_a_flood_is_made_of)
{
    struct evict_pick p;

    cr_assert_eq(evict_classify(&tc->c, &LIM, NOW), tc->reason, "%s", tc->name);
    cr_assert_eq(evict_exit_of(&tc->c, tc->reason), tc->want, "%s", tc->name);
    evict_pick_init(&p);
    cr_assert_eq(evict_pick_offer(&p, &tc->c, &LIM, NOW), 1);
    cr_assert_eq(p.exit, tc->want, "%s", tc->name);
}
