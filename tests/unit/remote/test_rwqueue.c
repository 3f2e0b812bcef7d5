/*
 * rwqueue: bodies oldest first, bounded in bytes; the oldest waiting bodies pushed out by a
 * new one, never the one being sent; a body larger than the bound dropped as it comes;
 * every drop told with its reason and sample counts.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "remote/rwqueue.h"

struct drops {
    int n[RWQUEUE_DROP_COUNT];
    uint64_t samples[RWQUEUE_DROP_COUNT];
    int64_t last_ts;
};

static void on_drop(void *arg, enum rwqueue_drop why, const struct rwqueue_body *b)
{
    struct drops *d = arg;

    d->n[why]++;
    d->samples[why] += b->samples;
    d->last_ts = b->timestamp_ms;
}

static struct rwqueue_body *body(size_t len, int64_t ts)
{
    char data[256];

    memset(data, 'x', sizeof data);
    return rwqueue_body_new(data, len, ts, 10, 1);
}

Test(rwqueue, bodies_leave_oldest_first_and_the_counts_follow)
{
    struct drops d = { 0 };
    struct rwqueue q;

    rwqueue_init(&q, 1000, on_drop, &d);
    rwqueue_push(&q, body(100, 1000));
    rwqueue_push(&q, body(100, 2000));
    cr_assert_eq(q.bytes, 200);
    cr_assert_eq(q.samples, 20);
    cr_assert_eq(q.histograms, 2);
    cr_assert_eq(rwqueue_take(&q)->timestamp_ms, 1000);
    rwqueue_done(&q, 0);
    cr_assert_eq(q.count, 1);
    cr_assert_eq(rwqueue_take(&q)->timestamp_ms, 2000);
    rwqueue_done(&q, 0);
    cr_assert_null(rwqueue_take(&q));
    cr_assert_eq(q.bytes, 0);
    cr_assert_eq(q.samples, 0);
    for (int i = 0; i < RWQUEUE_DROP_COUNT; i++)
        cr_assert_eq(d.n[i], 0);
    rwqueue_clear(&q);
}

Test(rwqueue, a_full_queue_pushes_out_the_oldest_waiting_never_the_one_being_sent)
{
    struct drops d = { 0 };
    struct rwqueue q;

    rwqueue_init(&q, 300, on_drop, &d);
    rwqueue_push(&q, body(100, 1000));
    rwqueue_push(&q, body(100, 2000));
    rwqueue_push(&q, body(100, 3000));
    cr_assert_eq(rwqueue_take(&q)->timestamp_ms, 1000); /* being sent */
    rwqueue_push(&q, body(100, 4000));
    cr_assert_eq(d.n[RWQUEUE_DROP_QUEUE_FULL], 1);
    cr_assert_eq(d.last_ts, 2000, "the oldest waiting one went, not the one being sent");
    cr_assert_eq(d.samples[RWQUEUE_DROP_QUEUE_FULL], 10);
    cr_assert_eq(q.bytes, 300);
    /* The send failed: back to waiting, still first. */
    rwqueue_release(&q);
    cr_assert_eq(rwqueue_take(&q)->timestamp_ms, 1000);
    rwqueue_done(&q, 0);
    cr_assert_eq(rwqueue_take(&q)->timestamp_ms, 3000);
    rwqueue_done(&q, 1);
    cr_assert_eq(d.n[RWQUEUE_DROP_REJECTED], 1);
    cr_assert_eq(d.last_ts, 3000);
    cr_assert_eq(rwqueue_take(&q)->timestamp_ms, 4000);
    rwqueue_clear(&q);
    cr_assert_eq(q.bytes, 0);
}

Test(rwqueue, a_body_that_cannot_fit_is_dropped_as_it_comes)
{
    struct drops d = { 0 };
    struct rwqueue q;

    rwqueue_init(&q, 250, on_drop, &d);
    rwqueue_push(&q, body(251, 1000));
    cr_assert_eq(d.n[RWQUEUE_DROP_TOO_LARGE], 1);
    cr_assert_eq(q.count, 0);
    rwqueue_push(&q, body(200, 2000));
    rwqueue_take(&q);
    /* 200 being sent: 100 more cannot fit beside it, whatever waits. */
    rwqueue_push(&q, body(100, 3000));
    cr_assert_eq(d.n[RWQUEUE_DROP_TOO_LARGE], 2);
    cr_assert_eq(q.count, 1);
    rwqueue_push(&q, body(50, 4000));
    cr_assert_eq(q.count, 2);
    rwqueue_clear(&q);
}

Test(rwqueue, a_smaller_bound_drops_the_oldest_waiting_until_it_fits)
{
    struct drops d = { 0 };
    struct rwqueue q;

    rwqueue_init(&q, 1000, on_drop, &d);
    for (int i = 1; i <= 5; i++)
        rwqueue_push(&q, body(100, i * 1000));
    rwqueue_take(&q);
    rwqueue_set_max(&q, 250);
    cr_assert_eq(d.n[RWQUEUE_DROP_QUEUE_FULL], 3);
    cr_assert_eq(q.count, 2);
    cr_assert_eq(q.head->timestamp_ms, 1000, "the one being sent stays");
    cr_assert_eq(q.head->next->timestamp_ms, 5000, "the newest stays");
    cr_assert_str_eq(rwqueue_drop_name(RWQUEUE_DROP_QUEUE_FULL), "queue_full");
    rwqueue_clear(&q);
}
