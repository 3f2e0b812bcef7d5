/*
 * The Unix socket asks for senders' credentials only while something needs them
 * (daemon.credentials_linger_seconds; ingest/credwant.h), through the real binary:
 *   - with a linger of 0 and no writer rule, it stops asking at its first expiry tick
 *     (/debug says so, the log says why), lines are still accepted, and a refused line
 *     has no sender;
 *   - a reload that adds a writer rule asks again at once, so the rule judges the next
 *     line by its sender: this process's uid is let in.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "waitfor.h"

static struct daemon d;

DAEMON_FIXTURE(d, "{\"daemon\": {\"credentials_linger_seconds\": 0},"
                  " \"families\": [{\"name\": \"guarded\", \"type\": \"counter\"}]}")

static json_t *debug_of(const char *section)
{
    char path[64], *body = NULL;
    json_t *j;

    snprintf(path, sizeof path, "/debug?section=%s", section);
    cr_assert_eq(daemon_get(&d, path, NULL, &body), 200);
    j = json_loads(body, 0, NULL);
    cr_assert_not_null(j, "not JSON: %s", body);
    free(body);
    return j;
}

/* -1 unknown; else whether /debug says the socket asks for senders. */
static int asking(void)
{
    json_t *j = debug_of("daemon");
    json_t *v = json_object_get(json_object_get(json_object_get(j, "daemon"), "socket"),
                                "sender_credentials");
    int r = json_is_boolean(v) ? json_is_true(v) : -1;

    json_decref(j);
    return r;
}

static int stopped_asking(void *arg)
{
    (void)arg;
    return asking() == 0;
}

static void write_config(const char *text)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_geq(fputs(text, f), 0);
    cr_assert_eq(fclose(f), 0);
}

Test(e2e_credentials, no_rule_and_no_linger_asks_for_nothing_until_a_reload_adds_a_rule,
     .init = start, .fini = stop)
{
    char text[512];
    json_t *j, *rej;
    char *log;

    cr_assert_eq(waitfor_cond(stopped_asking, NULL, 10000), 0, "still asking for credentials");
    log = daemon_read_file(d.log);
    daemon_want(log, 1, "no longer asking for the senders of datagrams on %s", d.sock);
    free(log);

    cr_assert_eq(daemon_sends(&d, "guarded:1|c\nnope:1|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "guarded_total", 1, 5000), 1);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 1, 5000),
        1);
    j = debug_of("rejects");
    rej = json_array_get(json_object_get(j, "rejects"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(rej, "line")), "nope:1|c");
    cr_assert(json_is_null(json_object_get(rej, "pid")), "a sender though none was asked for");
    json_decref(j);
    cr_assert_eq(asking(), 0, "a reject lingers for 0 s");

    /* A rule that lets only this process's uid write: it needs each line's sender. */
    snprintf(text, sizeof text,
             "{\"daemon\": {\"credentials_linger_seconds\": 0},"
             " \"families\": [{\"name\": \"guarded\", \"type\": \"counter\"}],"
             " \"writers\": [{\"family\": \"guarded\", \"users\": [%u]}]}",
             (unsigned)getuid());
    write_config(text);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_config_reloads_total{result=\"success\"}", 1, 5000),
                 1);
    cr_assert_eq(asking(), 1, "the rule needs senders");
    cr_assert_eq(daemon_sends(&d, "guarded:2|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "guarded_total", 3, 5000), 3, "this uid was not let in");
    cr_assert_eq(asking(), 1);
}
