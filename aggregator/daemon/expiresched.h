/*
 * expiresched: when the expiry's slices run on the loop, at most one a turn.
 *
 * A domain module: no loop, no clock. The owner (app.c) runs a slice of the sweep through
 * the callback it gives, which returns 1 while the sweep has more to do, and tells this
 * module when its timer ticks and when its idle handle runs:
 *
 *   - expiresched_tick(): the expiry timer's tick (every 50 ms). While no sweep is under
 *     way (the owner's idle handle is not active: the handle is what says so), it runs a
 *     slice, so that the huge pages' collapses the tick pokes next see a
 *     sweep that started. Returns 1 when the sweep has more: the owner starts its idle
 *     handle, which gives the sweep a slice on every later turn of the loop.
 *   - expiresched_idle(): the idle handle's call. Returns 0 once the sweep is done: the
 *     owner stops the handle.
 *
 * libuv runs idle handles right after the timers, in the same turn of the loop, so the
 * idle handle's first call would come in the turn whose tick has just run a slice: two
 * slices in one turn, beside the socket's drain. At 1M series with a sender at full rate,
 * that made turns of 5.1 to 5.4 ms (1 ms a slice, 3.1 to 3.4 ms of drain), over issue 30's
 * 5 ms target, about once a tick while half the series expired. The idle handle's first
 * call after a tick therefore runs no slice: a turn holds the drain and one slice at most.
 */
#ifndef USTATSD_EXPIRESCHED_H
#define USTATSD_EXPIRESCHED_H

/* One slice of the sweep; returns 1 while the sweep has more to do. */
typedef int (*expiresched_slice_fn)(void *arg);

struct expiresched {
    expiresched_slice_fn slice;
    void *arg;
    int ticked; /* the tick ran this turn's slice: the idle handle's next call runs none */
};

void expiresched_init(struct expiresched *s, expiresched_slice_fn slice, void *arg);

/*
 * The timer ticked; sweeping: the owner's idle handle is active. Returns 1 when the owner
 * must start the handle.
 */
int expiresched_tick(struct expiresched *s, int sweeping);

/* The idle handle ran. Returns 0 when the owner must stop it. */
int expiresched_idle(struct expiresched *s);

#endif
