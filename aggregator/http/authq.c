#include "http/authq.h"

#include <string.h>

void authq_init(struct authq *q, unsigned max_running)
{
    memset(q, 0, sizeof(*q));
    q->max_running = max_running > 0 ? max_running : 1;
    q->reserved = q->max_running > 1 ? 1 : 0;
}

void authq_lane_init(struct authq_lane *l, int known, unsigned rounds_log2)
{
    memset(l, 0, sizeof(*l));
    l->known = known;
    l->rounds_log2 = rounds_log2 < 31 ? rounds_log2 : 31;
}

void authq_lane_carry(struct authq_lane *to, const struct authq_lane *from)
{
    to->failed = from->failed;
    to->failed_at_ms = from->failed_at_ms;
    to->run_us = from->run_us;
}

int authq_clean(const struct authq_lane *l, uint64_t now_ms)
{
    return l->known && (!l->failed || now_ms - l->failed_at_ms >= AUTHQ_FAIL_WINDOW_MS);
}

/* Checks of l that may run at once. */
static unsigned lane_limit(const struct authq *q, const struct authq_lane *l)
{
    return l->known ? 1 : q->max_running - q->reserved;
}

/* 0: clean users; 1: failing users and unknown names. Lower goes first. */
static int rank(const struct authq_lane *l, uint64_t now_ms)
{
    return authq_clean(l, now_ms) ? 0 : 1;
}

/* How long a run of l's hash takes, as far as is known, in microseconds (q->round_ns set). */
static uint64_t run_us(const struct authq *q, const struct authq_lane *l)
{
    return l->run_us ? l->run_us : ((q->round_ns << l->rounds_log2) + 999) / 1000;
}

uint64_t authq_estimate_ms(const struct authq *q, const struct authq_lane *l, uint64_t now_ms)
{
    uint64_t chain, others = 0;
    /* A lane with a check in it may turn failing when that one ends wrong: the check
     * coming now is bounded as a failing user's, whatever the lane ranks now. */
    int r = l->running + l->waiting == 0 ? rank(l, now_ms) : 1;
    unsigned slots = r == 0 ? q->max_running : q->max_running - q->reserved;

    if (q->round_ns == 0)
        return UINT64_MAX;
    chain = (uint64_t)(l->waiting + l->running) * run_us(q, l) / lane_limit(q, l);
    for (const struct authq_lane *o = q->active; o != NULL; o = o->next) {
        if (o == l)
            continue;
        others += (uint64_t)o->running * run_us(q, o);
        if (rank(o, now_ms) <= r)
            others += (uint64_t)o->waiting * run_us(q, o);
    }
    return (chain + others / slots + 999) / 1000;
}

static void activate(struct authq *q, struct authq_lane *l)
{
    if (l->running + l->waiting > 0)
        return;
    l->prev = NULL;
    l->next = q->active;
    if (q->active != NULL)
        q->active->prev = l;
    q->active = l;
}

static void deactivate(struct authq *q, struct authq_lane *l)
{
    if (l->running + l->waiting > 0)
        return;
    if (l->prev != NULL)
        l->prev->next = l->next;
    else
        q->active = l->next;
    if (l->next != NULL)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

/* Whether a check of l could start now, ahead of none of its lane. */
static int startable(const struct authq *q, const struct authq_lane *l, uint64_t now_ms)
{
    if (q->running >= q->max_running || l->running >= lane_limit(q, l))
        return 0;
    return authq_clean(l, now_ms) || q->running_shared < q->max_running - q->reserved;
}

static void start(struct authq *q, struct authq_item *it, uint64_t now_ms)
{
    struct authq_lane *l = it->lane;

    it->shared = !authq_clean(l, now_ms);
    it->next = NULL;
    l->running++;
    q->running++;
    q->running_shared += it->shared != 0;
}

enum authq_admit authq_admit(struct authq *q, struct authq_lane *l, struct authq_item *it,
                             uint64_t now_ms)
{
    int empty = l->running + l->waiting == 0;

    it->lane = l;
    it->arrived_ms = now_ms;
    it->seq = ++q->seq;
    it->next = NULL;
    if (empty && startable(q, l, now_ms)) {
        activate(q, l);
        start(q, it, now_ms);
        return AUTHQ_RUN;
    }
    if (!(empty && authq_clean(l, now_ms)) &&
        (l->waiting >= AUTHQ_LANE_MAX || authq_estimate_ms(q, l, now_ms) > AUTHQ_WAIT_MAX_MS))
        return AUTHQ_BUSY;
    if (l->waiting == 0 && startable(q, l, now_ms)) {
        start(q, it, now_ms); /* the unknown names' lane, with a slot of its own free */
        return AUTHQ_RUN;
    }
    activate(q, l);
    if (l->tail != NULL)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->waiting++;
    q->waiting++;
    return AUTHQ_WAIT;
}

struct authq_item *authq_next(struct authq *q, uint64_t now_ms)
{
    struct authq_lane *best = NULL;
    int best_rank = 2;
    struct authq_item *it;

    for (struct authq_lane *l = q->active; l != NULL; l = l->next) {
        int r = rank(l, now_ms);

        if (l->head == NULL || !startable(q, l, now_ms))
            continue;
        if (r < best_rank || (r == best_rank && l->head->seq < best->head->seq)) {
            best = l;
            best_rank = r;
        }
    }
    if (best == NULL)
        return NULL;
    it = best->head;
    best->head = it->next;
    if (best->head == NULL)
        best->tail = NULL;
    best->waiting--;
    q->waiting--;
    start(q, it, now_ms);
    return it;
}

void authq_done(struct authq *q, struct authq_item *it, int wrong, uint64_t run_us_,
                uint64_t now_ms)
{
    struct authq_lane *l = it->lane;

    l->running--;
    q->running--;
    q->running_shared -= it->shared != 0;
    if (run_us_ > 0) {
        /* Up at once, down slowly: an estimate too short would let a wait run past the
         * bound. */
        l->run_us = run_us_ >= l->run_us ? run_us_ : (l->run_us * 7 + run_us_) / 8;
        q->round_ns = (run_us_ * 1000 >> l->rounds_log2) + 1;
    }
    if (wrong && l->known) {
        l->failed = 1;
        l->failed_at_ms = now_ms;
    }
    deactivate(q, l);
}
