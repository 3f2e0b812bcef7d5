/*
 * The summary of rejects in the daemon's log, through the real binary: bad lines give
 * one summary line an interval after the first of them, counted by reason and naming the
 * sender, never a log line per bad line.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "waitfor.h"

static struct daemon d;

struct logwait {
    const char *needle;
    int times;
};

static int log_has(void *arg)
{
    const struct logwait *w = arg;
    char *log = daemon_read_file(d.log);
    int n = log != NULL ? daemon_count(log, w->needle) : 0;

    free(log);
    return n >= w->times;
}

Test(e2e_rejectlog, bad_lines_give_one_summary_an_interval_after_the_first)
{
    struct logwait w = { "rejected ", 1 };
    char *log;

    cr_assert_eq(daemon_start(&d,
                              "{\"daemon\": {\"reject_log_interval_seconds\": 0.5},"
                              " \"families\": [{\"name\": \"hits\", \"type\": \"counter\","
                              "   \"labels\": [{\"name\": \"code\", \"values\": [\"200\"]}]}]}",
                              NULL),
                 0);
    /* One datagram: its lines are taken in one go, so they fall in one period. */
    daemon_sends(&d, "nope:1|c\nnope:2|c\nnope:3|c\nhits:1|c|#code:500\nhits:1|c\nhits:x|c");
    cr_assert_eq(waitfor_cond(log_has, &w, 10000), 0, "no summary in the log");
    log = daemon_read_file(d.log);
    daemon_want(log, 1, "rejected 5 lines in ");
    daemon_want(log, 1,
                ": unknown_family 3, invalid_value 1, label_value_not_allowed 1; most: "
                "\"nope\" 3 (unknown_family; pid %ld uid %lu ",
                (long)getpid(), (unsigned long)geteuid());
    daemon_want(log, 1, "; the lines: /debug?section=rejects, why: ustatsd explain LINE");
    daemon_want(log, 0, "nope:1|c");
    free(log);

    /* More later: a second summary, with only the new ones. */
    daemon_sends(&d, "nope:1|c\nnope:1|c");
    w.times = 2;
    cr_assert_eq(waitfor_cond(log_has, &w, 10000), 0, "no second summary");
    log = daemon_read_file(d.log);
    daemon_want(log, 1, "rejected 2 lines in ");
    daemon_want(log, 2, "rejected ");
    free(log);
    cr_assert_eq(daemon_stop(&d), 0);
}
