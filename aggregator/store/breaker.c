#include "store/breaker.h"

#include <assert.h>
#include <math.h>

const char *breaker_state_name(enum breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

/*
 * A date and an age both stay under INT64_MAX / 2 ms (146 million years), so that a date
 * less an age, and a time less a date, never overflow.
 */
#define BREAKER_MS_MAX ((uint64_t)INT64_MAX / 2)

/* The monotonic clock in milliseconds, as a state's date. */
static int64_t at(uint64_t ms)
{
    return (int64_t)(ms < BREAKER_MS_MAX ? ms : BREAKER_MS_MAX);
}

void breaker_init(struct breaker *b, uint32_t threshold, double open_seconds, uint64_t now_ms)
{
    assert(threshold >= 1);
    assert(open_seconds > 0);
    *b = (struct breaker){ 0 };
    breaker_configure(b, threshold, open_seconds);
    b->state = BREAKER_CLOSED;
    b->since_ms = at(now_ms);
}

void breaker_configure(struct breaker *b, uint32_t threshold, double open_seconds)
{
    assert(threshold >= 1);
    assert(open_seconds > 0);
    b->threshold = threshold;
    /* Round up: a breaker must never half-open before open_seconds have passed. */
    b->open_ms = (uint64_t)ceil(open_seconds * 1000.0);
}

static void enter(struct breaker *b, enum breaker_state s, int64_t at_ms)
{
    b->state = s;
    b->since_ms = at_ms;
    if (s == BREAKER_OPEN)
        b->openings++;
}

void breaker_advance(struct breaker *b, uint64_t now_ms)
{
    int64_t now = at(now_ms);

    if (b->state == BREAKER_OPEN && now >= b->since_ms &&
        (uint64_t)(now - b->since_ms) >= b->open_ms)
        enter(b, BREAKER_HALF_OPEN, b->since_ms + (int64_t)b->open_ms);
}

void breaker_restore(struct breaker *b, const struct breaker *saved, uint64_t in_state_ms,
                     uint64_t away_ms, uint64_t now_ms)
{
    uint32_t threshold = b->threshold;
    uint64_t open_ms = b->open_ms, age = in_state_ms + away_ms;

    *b = *saved;
    b->threshold = threshold;
    b->open_ms = open_ms;
    if (age < in_state_ms) /* overflow: a saved time no clock reaches */
        age = UINT64_MAX;
    if (b->state == BREAKER_OPEN && age >= open_ms) {
        b->state = BREAKER_HALF_OPEN;
        age -= open_ms;
    }
    /* Before the clock's 0 when the state is older than the clock. */
    if (age > BREAKER_MS_MAX)
        age = BREAKER_MS_MAX;
    b->since_ms = at(now_ms) - (int64_t)age;
}

void breaker_report(struct breaker *b, enum statsd_outcome outcome, uint64_t now_ms,
                    double now_unix)
{
    breaker_report_n(b, outcome, 1, now_ms, now_unix);
}

/*
 * n reports at one time are n single ones: after the first error that opens the breaker
 * (from closed at the threshold, or from half-open), the others find it open, which counts
 * them and changes nothing else (open_ms >= 1, so no time passes for it).
 */
void breaker_report_n(struct breaker *b, enum statsd_outcome outcome, uint64_t n, uint64_t now_ms,
                      double now_unix)
{
    assert((unsigned)outcome < BREAKER_NOUTCOMES);
    breaker_advance(b, now_ms);
    if (n == 0)
        return;
    b->attempts[outcome] += n;

    if (outcome != STATSD_OUTCOME_ERROR) {
        b->consecutive_failures = 0;
        b->has_success = 1;
        b->last_success_unix = now_unix;
        if (b->state == BREAKER_HALF_OPEN)
            enter(b, BREAKER_CLOSED, at(now_ms));
        return;
    }

    b->errors += n;
    b->consecutive_failures += n;
    b->has_error = 1;
    b->last_error_unix = now_unix;
    /*
     * The trial attempt of a half-open breaker failed: open again at once, whatever the
     * count, and count it as a new opening (seed 000 alerts on increase(..._open_total)).
     */
    if (b->state == BREAKER_HALF_OPEN ||
        (b->state == BREAKER_CLOSED && b->consecutive_failures >= b->threshold))
        enter(b, BREAKER_OPEN, at(now_ms));
}

uint64_t breaker_time_in_state(const struct breaker *b, uint64_t now_ms)
{
    int64_t now = at(now_ms);

    return now > b->since_ms ? (uint64_t)(now - b->since_ms) : 0;
}
