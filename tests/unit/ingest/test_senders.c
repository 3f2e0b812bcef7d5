/*
 * The sender table: lookups, recency order, eviction at the cap, removal, and a long
 * random churn checked against a plain model of what the table must hold.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/senders.h"

static struct senders t;

static void setup(void)
{
    senders_init(&t);
}

static void teardown(void)
{
    senders_release(&t);
}

TestSuite(senders, .init = setup, .fini = teardown);

/* The pids from most to least recently seen, into out; returns how many. */
static size_t order(pid_t *out, size_t cap)
{
    size_t n = 0;

    for (const struct senders_entry *e = senders_first(&t); e != NULL && n < cap;
         e = senders_next(&t, e))
        out[n++] = e->pid;
    return n;
}

Test(senders, records_credentials_and_time)
{
    const struct senders_entry *e;

    cr_assert_null(senders_first(&t));
    senders_note(&t, 100, 1000, 2000, 5);
    e = senders_find(&t, 100);
    cr_assert_not_null(e);
    cr_assert_eq(e->uid, 1000);
    cr_assert_eq(e->gid, 2000);
    cr_assert_eq(e->last_seen_ms, 5);
    /* The same sender again takes the fast path: only the time moves. */
    senders_note(&t, 100, 1000, 2000, 9);
    cr_assert_eq(senders_find(&t, 100)->last_seen_ms, 9);
    cr_assert_eq(t.n, 1);
    cr_assert_eq(t.added, 1);
    /* A pid that changed its uid keeps one entry with the new credentials. */
    senders_note(&t, 100, 0, 0, 10);
    cr_assert_eq(t.n, 1);
    cr_assert_eq(senders_find(&t, 100)->uid, 0);
    cr_assert_null(senders_find(&t, 101));
}

Test(senders, ignores_pids_it_cannot_see)
{
    senders_note(&t, 0, 1000, 1000, 1);
    senders_note(&t, -1, 1000, 1000, 1);
    cr_assert_eq(t.n, 0);
    cr_assert_null(senders_first(&t));
    /* Nor does the fast path take an empty table's sentinel for a sender. */
    senders_note(&t, -1, 0, 0, 1);
    cr_assert_eq(t.n, 0);
}

Test(senders, walks_most_recent_first)
{
    pid_t got[8];

    senders_note(&t, 1, 0, 0, 1);
    senders_note(&t, 2, 0, 0, 2);
    senders_note(&t, 3, 0, 0, 3);
    senders_note(&t, 1, 0, 0, 4);
    cr_assert_eq(order(got, 8), 3);
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 3);
    cr_assert_eq(got[2], 2);
}

Test(senders, evicts_the_least_recently_seen_when_full)
{
    pid_t got[2];

    for (pid_t p = 1; p <= SENDERS_CAP; p++)
        senders_note(&t, p, 0, 0, (uint64_t)p);
    cr_assert_eq(t.n, SENDERS_CAP);
    /* Pid 1 was seen first but again now: pid 2 is the oldest. */
    senders_note(&t, 1, 0, 0, 10000);
    senders_note(&t, 99999, 0, 0, 10001);
    cr_assert_eq(t.n, SENDERS_CAP);
    cr_assert_eq(t.evictions, 1);
    cr_assert_null(senders_find(&t, 2));
    cr_assert_not_null(senders_find(&t, 1));
    cr_assert_not_null(senders_find(&t, 3));
    cr_assert_eq(order(got, 2), 2);
    cr_assert_eq(got[0], 99999);
    cr_assert_eq(got[1], 1);
}

Test(senders, removes_head_middle_and_tail)
{
    pid_t got[8];

    for (pid_t p = 1; p <= 5; p++)
        senders_note(&t, p, 0, 0, (uint64_t)p);
    cr_assert_eq(senders_remove(&t, 5), 1); /* head, and the fast path's pid */
    cr_assert_eq(senders_remove(&t, 3), 1);
    cr_assert_eq(senders_remove(&t, 1), 1); /* tail */
    cr_assert_eq(senders_remove(&t, 1), 0);
    cr_assert_eq(senders_remove(&t, 77), 0);
    cr_assert_eq(t.removed, 3);
    cr_assert_eq(order(got, 8), 2);
    cr_assert_eq(got[0], 4);
    cr_assert_eq(got[1], 2);
    /* The fast path now points at the new head: noting it keeps it alone at the top. */
    senders_note(&t, 4, 0, 0, 50);
    cr_assert_eq(senders_find(&t, 4)->last_seen_ms, 50);
    senders_note(&t, 5, 0, 0, 51);
    cr_assert_eq(order(got, 8), 3);
    cr_assert_eq(got[0], 5);
    cr_assert_eq(senders_remove(&t, 2), 1);
    cr_assert_eq(senders_remove(&t, 4), 1);
    cr_assert_eq(senders_remove(&t, 5), 1);
    cr_assert_null(senders_first(&t));
    senders_note(&t, 5, 0, 0, 52);
    cr_assert_eq(t.n, 1);
}

/*
 * A long churn of notes and removals over more pids than fit, with the hash clustered on
 * purpose (pids that are multiples of a power of two), checked step by step against a
 * model: the last SENDERS_CAP distinct pids noted, minus those removed.
 */
Test(senders, churn_agrees_with_a_model)
{
    enum { PIDS = 3 * SENDERS_CAP, STEPS = 40000 };
    static uint64_t stamp[PIDS]; /* 0: not in the table, else when last noted */
    uint64_t rng = 0x9e3779b97f4a7c15u, now = 0;
    size_t present = 0;

    for (int step = 0; step < STEPS; step++) {
        uint32_t r, i;
        pid_t pid;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        r = (uint32_t)(rng >> 32);
        i = r % PIDS;
        pid = (pid_t)(i % 2 ? i : (i + 2) * 64);
        if (r % 8 == 0) {
            cr_assert_eq(senders_remove(&t, pid), stamp[i] != 0, "step %d", step);
            if (stamp[i] != 0)
                present--;
            stamp[i] = 0;
            continue;
        }
        if (stamp[i] == 0 && present == SENDERS_CAP) {
            /* The model evicts its least recent too. */
            uint32_t oldest = 0;

            for (uint32_t j = 0; j < PIDS; j++)
                if (stamp[j] != 0 && (stamp[oldest] == 0 || stamp[j] < stamp[oldest]))
                    oldest = j;
            stamp[oldest] = 0;
            present--;
        }
        if (stamp[i] == 0)
            present++;
        stamp[i] = ++now;
        senders_note(&t, pid, (uid_t)i, 0, now);
        cr_assert_eq(t.n, present, "step %d", step);
        if (step % 997 == 0) {
            for (uint32_t j = 0; j < PIDS; j++) {
                pid_t pj = (pid_t)(j % 2 ? j : (j + 2) * 64);
                const struct senders_entry *e = senders_find(&t, pj);

                cr_assert_eq(e != NULL, stamp[j] != 0, "step %d pid %d", step, (int)pj);
                if (e != NULL)
                    cr_assert_eq(e->last_seen_ms, stamp[j]);
            }
        }
    }
    /* The walk is in strictly decreasing time and covers every entry. */
    {
        size_t n = 0;
        uint64_t prev = UINT64_MAX;

        for (const struct senders_entry *e = senders_first(&t); e != NULL;
             e = senders_next(&t, e)) {
            cr_assert_lt(e->last_seen_ms, prev);
            prev = e->last_seen_ms;
            n++;
        }
        cr_assert_eq(n, present);
    }
    /* The churn did go past the cap, many times. */
    cr_assert_gt(t.evictions, 1000);
}
