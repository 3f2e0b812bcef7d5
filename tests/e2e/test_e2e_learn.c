/*
 * Learn mode end to end through the real binary:
 *
 * - /debug/learn is protected as /debug is: without the bearer token, 401; with it, the
 *   summary and proposal, and ?format=config the fragment; a bad parameter is a 400.
 * - A declared family is extended, never changed: a refused value and label key, and a
 *   tag dropped by undeclared_labels "drop", are proposed; merged and reloaded, the lines
 *   are taken, and the declared values stay as they were.
 * - Hostile traffic: a million distinct names, label keys and values, packed into full
 *   datagrams, and 64 KiB datagrams: ustatsd_learn_bytes never passes learn.max_bytes
 *   (read between bursts), entries are evicted, and /debug/learn stays bounded.
 * - A reload that turns learning off frees the summary.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "learnmerge.h"
#include "waitfor.h"

static struct daemon d;

static void stop(void)
{
    if (d.pid != 0)
        daemon_stop(&d);
}

static void reload(json_t *cfg, double want)
{
    cr_assert_eq(json_dump_file(cfg, d.config, JSON_INDENT(2)), 0);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_config_reloads_total{result=\"success\"}", want, 10000),
        want);
}

static double metric(const char *series)
{
    return daemon_wait_value(&d, series, 0, 5000);
}

static int get_with(const char *target, const char *headers)
{
    struct httpc_response r;
    int status;

    cr_assert_eq(httpc_get(d.http, target, headers, &r), 0);
    status = r.status;
    httpc_response_release(&r);
    return status;
}

/* The reload put the token in force: /debug/learn without it is refused. */
static int token_in_force(void *arg)
{
    (void)arg;
    return get_with("/debug/learn", NULL) == 401;
}

Test(e2e_learn, protected_as_debug_and_refuses_bad_parameters, .fini = stop)
{
    char token[256];
    json_t *cfg;

    /* The token goes in the daemon's own directory, and in force by a reload. */
    cr_assert_eq(daemon_start(&d, "{}", NULL), 0);
    cr_expect_eq(get_with("/debug/learn", NULL), 200, "no token configured yet");
    snprintf(token, sizeof(token), "%s/token", d.dir);
    daemon_write_file(token, "learn-token\n");
    cfg = json_pack("{s:{s:s}}", "daemon", "bearer_token_file", token);
    cr_assert_eq(json_dump_file(cfg, d.config, 0), 0);
    json_decref(cfg);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(waitfor_cond(token_in_force, NULL, 10000), 0, "the token never took effect");
    cr_expect_eq(get_with("/debug/learn", NULL), 401);
    cr_expect_eq(get_with("/debug/learn?format=config", NULL), 401);
    cr_expect_eq(get_with("/debug/learn", "Authorization: Bearer learn-token\r\n"), 200);
    cr_expect_eq(get_with("/debug/learn?format=yaml", "Authorization: Bearer learn-token\r\n"),
                 400);
    cr_expect_eq(get_with("/debug/learn?x=1", "Authorization: Bearer learn-token\r\n"), 400);
}

static const char *str_or(const char *s)
{
    return s != NULL ? s : "(null)";
}

static const char extend_cfg[] =
    "{\"families\": ["
    " {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests.\","
    "  \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},"
    " {\"name\": \"http.duration_seconds\", \"type\": \"histogram\", \"help\": \"D.\","
    "  \"undeclared_labels\": \"drop\", \"labels\": [{\"name\": \"route\", \"values\": "
    "[\"/a\"]}]}]}";

static const char *const extend_lines[] = {
    "requests:1|c|#method:PUT",
    "requests:1|c|#method:GET,region:eu",
    "http.duration_seconds:0.2|h|#route:/a,proto:h2",
};

Test(e2e_learn, a_declared_family_is_extended_and_keeps_what_it_declares, .fini = stop)
{
    json_t *frag, *cfg, *method, *doc, *sender;
    json_error_t err;
    double a0;

    cr_assert_eq(daemon_start(&d, extend_cfg, NULL), 0);
    for (size_t i = 0; i < sizeof(extend_lines) / sizeof(extend_lines[0]); i++)
        cr_assert_eq(daemon_sends(&d, extend_lines[i]), 0);
    cr_assert_eq(daemon_wait_read(&d, 5000), 0);
    /* The sender is this process: its pid, uid and executable, read once. */
    doc = learnmerge_get(&d, "/debug/learn");
    sender = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "families"), 0), "senders"), 0);
    cr_expect_eq(json_integer_value(json_object_get(sender, "pid")), getpid());
    cr_expect_eq(json_integer_value(json_object_get(sender, "uid")), getuid());
    cr_expect(strstr(str_or(json_string_value(json_object_get(sender, "exe"))), "test_e2e_learn") !=
                  NULL,
              "exe %s", str_or(json_string_value(json_object_get(sender, "exe"))));
    json_decref(doc);
    frag = learnmerge_get(&d, "/debug/learn?format=config");
    cr_assert_eq(json_array_size(json_object_get(frag, "families")), 2, "%s", json_dumps(frag, 0));
    cfg = json_load_file(d.config, 0, &err);
    cr_assert_not_null(cfg);
    cr_expect_eq(learnmerge(cfg, frag), 0, "nothing new: both families are declared");
    reload(cfg, 1);
    a0 = metric("ustatsd_lines_accepted_total");
    for (size_t i = 0; i < sizeof(extend_lines) / sizeof(extend_lines[0]); i++)
        cr_assert_eq(daemon_sends(&d, extend_lines[i]), 0);
    cr_expect_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", a0 + 3, 5000), a0 + 3);
    /* What was declared is still there, first and in order. */
    method = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(cfg, "families"), 0), "labels"), 0),
        "values");
    cr_expect_str_eq(json_string_value(json_array_get(method, 0)), "GET");
    cr_expect_str_eq(json_string_value(json_array_get(method, 1)), "POST");
    cr_expect_str_eq(json_string_value(json_array_get(method, 2)), "PUT");
    json_decref(cfg);
    json_decref(frag);
}

/* A full datagram of distinct names, each line with distinct keys and values. */
static size_t hostile_datagram(char *buf, size_t cap, unsigned long *next)
{
    size_t len = 0;

    for (;;) {
        char line[256];
        unsigned long i = *next;
        int n =
            snprintf(line, sizeof(line), "h%lu.x:1|c|#k%lu_a:v%lu,k%lu_b:w%lu\n", i, i, i, i, i);

        if (len + (size_t)n > cap)
            return len;
        memcpy(buf + len, line, (size_t)n);
        len += (size_t)n;
        (*next)++;
    }
}

Test(e2e_learn, a_million_distinct_names_keys_and_values_stay_under_the_cap, .timeout = 300,
     .fini = stop)
{
    static char big[65536];
    char buf[8192], *body;
    unsigned long next = 0;
    double bytes, peak = 0, cap = 1 << 20;
    int datagrams = 0;
    json_t *doc;

    cr_assert_eq(daemon_start(&d, "{\"learn\": {\"max_bytes\": 1048576}}", NULL), 0);
    memset(big, 'x', sizeof(big));
    while (next < 1000000) {
        size_t len = hostile_datagram(buf, sizeof(buf), &next);

        cr_assert_eq(daemon_send(&d, buf, len), 0);
        if (++datagrams % 500 == 0) {
            cr_assert_eq(daemon_send(&d, big, sizeof(big)), 0);
            cr_assert_eq(daemon_wait_read(&d, 30000), 0);
            bytes = metric("ustatsd_learn_bytes");
            cr_assert_leq(bytes, cap, "after %lu names: %.0f bytes", next, bytes);
            peak = bytes > peak ? bytes : peak;
        }
    }
    cr_assert_eq(daemon_wait_read(&d, 30000), 0);
    cr_expect_leq(metric("ustatsd_learn_bytes"), cap);
    cr_expect_eq(metric("ustatsd_learn_max_bytes"), cap);
    cr_expect_gt(metric("ustatsd_learn_evictions_total"), 900000);
    cr_expect_gt(metric("ustatsd_learn_entries"), 0);
    cr_expect_gt(metric("ustatsd_datagrams_truncated_total"), 0, "the 64 KiB datagrams");
    cr_assert_eq(daemon_get(&d, "/debug/learn", NULL, &body), 200);
    doc = json_loads(body, 0, NULL);
    cr_assert_not_null(doc);
    cr_expect_leq(json_array_size(json_object_get(doc, "proposal")), 256);
    fprintf(stderr,
            "learn: %lu names in %d datagrams: peak %.0f bytes of %.0f, %.0f evictions, "
            "/debug/learn %zu bytes\n",
            next, datagrams, peak, cap, metric("ustatsd_learn_evictions_total"), strlen(body));
    json_decref(doc);
    free(body);
}

Test(e2e_learn, a_reload_that_turns_it_off_frees_the_summary, .fini = stop)
{
    json_t *cfg;

    cr_assert_eq(daemon_start(&d, "{}", NULL), 0);
    cr_assert_eq(daemon_sends(&d, "nope:1|c|#a:b"), 0);
    cr_expect_eq(daemon_wait_value(&d, "ustatsd_learn_entries", 1, 5000), 1);
    cfg = json_pack("{s:{s:b}}", "learn", "enabled", 0);
    reload(cfg, 1);
    cr_expect_eq(metric("ustatsd_learn_entries"), 0);
    cr_expect_eq(metric("ustatsd_learn_bytes"), 0);
    cr_assert_eq(daemon_sends(&d, "nope:1|c|#a:b"), 0);
    cr_assert_eq(daemon_wait_read(&d, 5000), 0);
    cr_expect_eq(metric("ustatsd_learn_entries"), 0);
    json_decref(cfg);
}
