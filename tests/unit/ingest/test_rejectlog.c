/*
 * rejectlog: the summary of rejects, at most once an interval while there are any, with a
 * fake clock and fake executables.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "ingest/rejectlog.h"
#include "statsd.h"

static struct rejectlog rl;

static const char *fake_exe(pid_t pid, char *buf, size_t cap, void *arg)
{
    (void)arg;
    if (pid == 7)
        return NULL;
    snprintf(buf, cap, "/usr/bin/svc%d", (int)pid);
    return buf;
}

static void note(const char *line, int reason, pid_t pid, uint64_t now)
{
    rejectlog_note(&rl, reason, line, strlen(line), 1, pid, 1000, now);
}

/* The summary at now, as a string the caller frees with buf_release(). */
static struct buf take(uint64_t now)
{
    struct buf b = BUF_INIT;

    cr_assert(rejectlog_due(&rl, now));
    rejectlog_take(&rl, now, fake_exe, NULL, &b);
    buf_addch(&b, '\0');
    return b;
}

Test(rejectlog, nothing_rejected_nothing_due)
{
    rejectlog_init(&rl, 60000);
    for (uint64_t t = 0; t < 600000; t += 1000)
        cr_assert_not(rejectlog_due(&rl, t));
}

Test(rejectlog, one_summary_an_interval_after_the_first_reject_whatever_the_count)
{
    struct buf b;

    rejectlog_init(&rl, 60000);
    for (int i = 0; i < 10000; i++)
        note("nope:1|c", STATSD_UNKNOWN_FAMILY, 42, 5000 + (uint64_t)i);
    note("checkout_orders:1|c|#payment:cash", STATSD_LABEL_VALUE_NOT_ALLOWED, 43, 20000);
    cr_assert_not(rejectlog_due(&rl, 5000 + 59999));
    b = take(65000);
    cr_assert_str_eq(b.ptr, "rejected 10001 lines in 60 s: unknown_family 10000, "
                            "label_value_not_allowed 1; most: \"nope\" 10000 (unknown_family; "
                            "pid 42 uid 1000 /usr/bin/svc42), \"checkout_orders\" 1 "
                            "(label_value_not_allowed; pid 43 uid 1000 /usr/bin/svc43); the "
                            "lines: /debug?section=rejects, why: ustatsd explain LINE");
    buf_release(&b);
    cr_assert_not(rejectlog_due(&rl, 65001), "the period is closed");
    cr_assert_not(rejectlog_due(&rl, 10000000), "no reject since");
}

Test(rejectlog, rejects_that_keep_coming_are_summed_up_once_an_interval)
{
    uint64_t t, summaries = 0, last = 0;

    rejectlog_init(&rl, 1000);
    for (t = 1; t <= 10000; t += 10) {
        note("bad", STATSD_INVALID_VALUE, 1, t);
        if (rejectlog_due(&rl, t)) {
            struct buf b = take(t);

            cr_assert(summaries == 0 || t - last >= 1000, "two summaries %llu ms apart",
                      (unsigned long long)(t - last));
            last = t;
            summaries++;
            buf_release(&b);
        }
    }
    cr_assert_eq(summaries, 9);
}

Test(rejectlog, a_reject_after_a_quiet_spell_waits_an_interval_too)
{
    struct buf b;

    rejectlog_init(&rl, 1000);
    note("a", STATSD_UNKNOWN_FAMILY, 1, 0);
    b = take(1000);
    buf_release(&b);
    note("a", STATSD_UNKNOWN_FAMILY, 1, 50000);
    cr_assert_not(rejectlog_due(&rl, 50500));
    cr_assert(rejectlog_due(&rl, 51000));
}

Test(rejectlog, names_are_bounded_and_the_heaviest_stay)
{
    char line[64];
    struct buf b;

    rejectlog_init(&rl, 1000);
    for (int i = 0; i < 1000; i++)
        note("heavy:1|c", STATSD_UNKNOWN_FAMILY, 7, 1);
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof line, "junk%d:1|c", i);
        note(line, STATSD_UNKNOWN_FAMILY, 8, 2);
    }
    cr_assert_leq(rl.nnames, REJECTLOG_NAMES);
    b = take(1001);
    cr_assert(strstr(b.ptr, "most: \"heavy\" 1000 (unknown_family; pid 7 uid 1000 ?)") != NULL,
              "%s", b.ptr);
    cr_assert_lt(b.len, 1024, "bounded: %zu bytes", b.len);
    buf_release(&b);
}

Test(rejectlog, senders_reasons_and_names_are_bounded_in_the_text)
{
    static const int reasons[] = { STATSD_UNKNOWN_FAMILY, STATSD_INVALID_VALUE, STATSD_INVALID_TAG,
                                   STATSD_TYPE_MISMATCH,  STATSD_SERIES_CAP,    STATSD_INVALID_NAME,
                                   STATSD_EMPTY_NAME,     STATSD_MISSING_TYPE };
    struct buf b;

    rejectlog_init(&rl, 1000);
    for (int i = 0; i < 8; i++)
        note("_sc|deploy|9", reasons[i], 100 + i, 1);
    rejectlog_note(&rl, STATSD_UNKNOWN_FAMILY, "udp:1|c", 7, 0, 0, 0, 1);
    b = take(1001);
    cr_assert(strstr(b.ptr, ", others 2;") != NULL, "%s", b.ptr);
    cr_assert(strstr(b.ptr, "\"deploy\" 8 (missing_type; pid 107 uid 1000 /usr/bin/svc107, "
                            "pid 106 uid 1000 /usr/bin/svc106)") != NULL,
              "%s", b.ptr);
    cr_assert(strstr(b.ptr, "\"udp\" 1 (unknown_family; no credentials (UDP))") != NULL, "%s",
              b.ptr);
    buf_release(&b);
}

Test(rejectlog, off_when_the_interval_is_zero)
{
    rejectlog_init(&rl, 0);
    note("a", STATSD_UNKNOWN_FAMILY, 1, 0);
    cr_assert_not(rejectlog_due(&rl, 1000000));
    cr_assert_eq(rl.total, 0);
}
