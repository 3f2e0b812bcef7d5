/*
 * breaker: one background job's attempt counts and circuit breaker.
 *
 * A domain module and a pure state machine: every call takes the time as arguments,
 * never reads a clock. Two clocks are used, because they answer different questions:
 *   - now_ms, monotonic milliseconds, times the states (open_seconds, time in state),
 *     so that a wall-clock step cannot hold a breaker open or close it early;
 *   - now_unix, wall-clock seconds, stamps the last success and last error, which
 *     operators compare with time() in PromQL.
 *
 * States (seed 000, issue "Background jobs and circuit breakers"):
 *
 *      closed --(consecutive errors reach threshold)--> open     (an opening)
 *      open   --(open_seconds passed, report or not)--> half_open
 *      half_open --(success)--> closed
 *      half_open --(error)----> open                             (an opening)
 *
 * "worked" and "idle" are successes and reset the consecutive failures; "error" adds to
 * the errors and the consecutive failures. Reports count in every state. While open, a
 * report changes only the counts: the breaker keeps its open time, so a host-wide breaker
 * is not held open (or closed) by whichever process reports last.
 */
#ifndef USTATSD_BREAKER_H
#define USTATSD_BREAKER_H

#include <stdint.h>

#include "statsd.h"

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

#define BREAKER_NSTATES   3
#define BREAKER_NOUTCOMES 3 /* indexed by enum statsd_outcome */

struct breaker {
    uint32_t threshold; /* consecutive errors that open the breaker, >= 1 */
    uint64_t open_ms;   /* time spent open before half-open */
    enum breaker_state state;
    /*
     * When the current state was entered (monotonic). Below 0 for a state restored from
     * before the clock's start (a state file written before a reboot).
     */
    int64_t since_ms;
    uint64_t consecutive_failures;
    uint64_t attempts[BREAKER_NOUTCOMES];
    uint64_t errors;
    uint64_t openings;
    int has_success;
    int has_error;
    double last_success_unix;
    double last_error_unix;
};

/* "closed", "open" or "half_open". */
const char *breaker_state_name(enum breaker_state s);

/* A closed breaker with zero counts, its state entered at now_ms. open_seconds > 0. */
void breaker_init(struct breaker *b, uint32_t threshold, double open_seconds, uint64_t now_ms);

/*
 * New settings for a running breaker; its state and counts stay. An open breaker
 * half-opens once the new open_seconds have passed since it opened, and a closed one
 * with as many consecutive failures as the new threshold opens on its next error.
 */
void breaker_configure(struct breaker *b, uint32_t threshold, double open_seconds);

/*
 * Bring the state up to date with the time: an open breaker whose open_seconds have
 * passed becomes half-open, entered at the exact moment they passed (not at now_ms).
 * Idempotent; time never runs backwards (a smaller now_ms changes nothing).
 */
void breaker_advance(struct breaker *b, uint64_t now_ms);

/* Count one attempt and apply its transition. Advances the time first. */
void breaker_report(struct breaker *b, enum statsd_outcome outcome, uint64_t now_ms,
                    double now_unix);

/*
 * Count n attempts of one outcome at one time, as n calls of breaker_report() would (n
 * may be 0: only the time advances). For a client that sums its counts before sending
 * (`publish:3|c|#outcome:error`).
 */
void breaker_report_n(struct breaker *b, enum statsd_outcome outcome, uint64_t n, uint64_t now_ms,
                      double now_unix);

/*
 * Take a saved breaker's state and counts (the state file's, records.h), keeping b's own
 * threshold and open_seconds: saved was in its state for in_state_ms when it was saved,
 * and away_ms passed since. The time runs on across the gap: an open breaker whose
 * open_seconds ran out meanwhile is half-open, entered when they ran out. A time in
 * state longer than now_ms (the clock started again at a reboot) dates the state before
 * the clock's 0, so that it reads as long as it was, and an open breaker half-opens on
 * time.
 */
void breaker_restore(struct breaker *b, const struct breaker *saved, uint64_t in_state_ms,
                     uint64_t away_ms, uint64_t now_ms);

/* Milliseconds since the current state was entered (after breaker_advance). */
uint64_t breaker_time_in_state(const struct breaker *b, uint64_t now_ms);

#endif
