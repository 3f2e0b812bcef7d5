/*
 * authq: which bcrypt check runs next, and which waits or is refused. The policy of
 * basic auth's bounded work (basicauth.h), without the work: time comes in as an argument
 * (now_ms, and each run's measured length), so that tests move a fake clock.
 *
 * A domain module: no I/O, no clock, no allocation.
 *
 * Lanes. Each configured user has a lane of its own; all unknown names share one. A check
 * waits in its lane's FIFO, and a user's lane runs one check at a time, so that guesses
 * at other names (unknown ones, or other users) never take a place in it: they can only
 * compete for a running slot, by the rules below.
 *
 * Running slots. At most max_running checks run at once over every lane (the threadpool's
 * bound); of them, `reserved` (1 when max_running > 1) are kept for "clean" users' lanes:
 * a configured user without a wrong password checked in the last AUTHQ_FAIL_WINDOW_MS.
 * When a slot frees, it goes to the clean users' lanes, the oldest head first; then to
 * the failing users' lanes and the unknown names' lane together, the oldest head first,
 * so that among those a check that came later never goes first. The unknown names' lane
 * runs up to max_running - reserved at once.
 *
 * Admission. A check arriving at an empty lane of a clean user is always let in (waiting
 * if no slot is free). Otherwise it is let in when its estimated start is within
 * AUTHQ_WAIT_MAX_MS (and the lane holds fewer than AUTHQ_LANE_MAX), else refused at once
 * (BUSY, 503). The estimate is a bound for greedy scheduling with per-lane chains: until
 * the check starts, either every slot its class may use is busy with work that goes
 * before it, or its own lane's chain is running; so
 *
 *     start <= now + (ahead in its lane) x (its lane's run time)
 *                  + (work running in other lanes, and waiting in lanes that go before
 *                     it) / (slots its class may use)
 *
 * with each lane's run time the last measured run of its hash (raised at once, lowered
 * slowly), or, before one ended, the last measured time per bcrypt round times the hash's
 * rounds. Before any run was measured there is no estimate: a check is let in only if it
 * starts at once, or comes to an empty lane of a clean user. The bound is as good as the
 * measured times: a run slower than the last (a loaded host) stretches it by as much.
 *
 * What that guarantees to a user X (nothing tells X from a guesser at X but the password):
 * - Guesses at other names alone: X's lane is empty, X is clean: X is let in and takes
 *   the first slot that frees (the reserved one is never taken by unknown names or failing
 *   users), so it waits at most one run of what is running, plus one run for each other
 *   clean user's check already waiting; a guesser makes a user's lane clean-ranked for its
 *   first wrong password only, once per user per window.
 * - Guesses at X's own name: X's check either waits less than AUTHQ_WAIT_MAX_MS before it
 *   runs, or gets BUSY at once; never more. A guesser who keeps X's lane full keeps X's
 *   cold login busy (X retries), but cannot make it wait; X's cached success is served
 *   at once, without a lane.
 * - Both at once: the bound above still holds, counting what was waiting when X's check
 *   came; only checks of clean users arriving later can go before it, and a guesser gets
 *   those only until the first wrong password at each user ends (once per user per
 *   window, up to a second's worth of checks of that user).
 */
#ifndef USTATSD_AUTHQ_H
#define USTATSD_AUTHQ_H

#include <stddef.h>
#include <stdint.h>

#define AUTHQ_WAIT_MAX_MS    1000  /* the longest wait before a check runs */
#define AUTHQ_LANE_MAX       32    /* checks waiting in one lane, at most */
#define AUTHQ_FAIL_WINDOW_MS 60000 /* a wrong password ranks a user failing this long */

struct authq_lane;

/* One check, waiting or running; the caller's, embedded in its own record. */
struct authq_item {
    struct authq_item *next;
    struct authq_lane *lane;
    uint64_t arrived_ms;
    uint64_t seq; /* the order of arrival, which ranks heads */
    int shared;   /* running in a slot not kept for clean users */
};

struct authq_lane {
    struct authq_lane *prev, *next; /* in the queue's active list: running or waiting */
    struct authq_item *head, *tail; /* waiting, oldest first */
    unsigned waiting, running;
    int known;             /* a configured user's; 0: the unknown names' */
    unsigned rounds_log2;  /* its hash's bcrypt cost */
    uint64_t run_us;       /* its last runs' length, smoothed; 0: none measured yet */
    int failed;            /* a wrong password was checked ... */
    uint64_t failed_at_ms; /* ... then */
};

struct authq {
    unsigned max_running;    /* at once, over every lane */
    unsigned reserved;       /* of them, kept for clean users' lanes */
    unsigned running;        /* now */
    unsigned running_shared; /* of them, not in a kept slot */
    unsigned waiting;        /* in every lane */
    uint64_t round_ns;       /* the last run's length per round; 0: none measured yet */
    uint64_t seq;            /* checks let in so far */
    struct authq_lane *active;
};

void authq_init(struct authq *q, unsigned max_running);
/* known: a configured user's lane; rounds_log2: its hash's cost (the dummy's for unknown). */
void authq_lane_init(struct authq_lane *l, int known, unsigned rounds_log2);

/* What a reload keeps of a user's lane whose hash is unchanged: its failure, its run time. */
void authq_lane_carry(struct authq_lane *to, const struct authq_lane *from);

enum authq_admit {
    AUTHQ_RUN,  /* start it now: it counts as running */
    AUTHQ_WAIT, /* queued: a later authq_next() gives it */
    AUTHQ_BUSY, /* refused: nothing kept */
};

enum authq_admit authq_admit(struct authq *q, struct authq_lane *l, struct authq_item *it,
                             uint64_t now_ms);

/*
 * The next waiting check to start now (counted as running), or NULL. Call until NULL
 * after authq_done().
 */
struct authq_item *authq_next(struct authq *q, uint64_t now_ms);

/* it ran for run_us and ended; wrong: a wrong password for a configured user. */
void authq_done(struct authq *q, struct authq_item *it, int wrong, uint64_t run_us,
                uint64_t now_ms);

/* Whether l ranks clean at now_ms (a configured user, no wrong password in the window). */
int authq_clean(const struct authq_lane *l, uint64_t now_ms);

/* The bound on when a check arriving at l now would start, in ms from now (see above);
 * UINT64_MAX before any run was measured. */
uint64_t authq_estimate_ms(const struct authq *q, const struct authq_lane *l, uint64_t now_ms);

#endif
