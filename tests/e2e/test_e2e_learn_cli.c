/*
 * `ustatsd learn` through the real binary, as the README's "First day" runs it: a daemon
 * on packaging/ustatsd.learn.json (no family) refuses a service's lines, and the
 * subcommand, through the daemon's listener, prints the proposal, shows the merge as a
 * diff without writing (--dry-run), writes it, and the file it wrote loads. Refusals are
 * said, with an exit status: a bad option (2), a daemon that cannot be read or wants a
 * token (1), a file that cannot be read (1).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "waitfor.h"

static struct daemon d;

static void stop(void)
{
    if (d.pid != 0)
        daemon_stop(&d);
}

static const char *const service_lines[] = {
    "checkout.orders:1|c|#payment:card",
    "checkout.orders:1|c|#payment:invoice",
    "checkout.latency:12|ms|#route:/pay",
    "checkout.latency:250|ms|#route:/cart",
    "queue.depth:+3|g",
    "queue.depth:-1|g",
};

/* The README's empty allowlist, started, and the service's lines sent and refused. */
static void start_learning(void)
{
    char path[1024], *text;

    snprintf(path, sizeof(path), "%s/packaging/ustatsd.learn.json", getenv("USTATSD_SOURCE_DIR"));
    text = daemon_read_file(path);
    cr_assert_not_null(text, "%s", path);
    cr_assert_eq(daemon_start(&d, text, NULL), 0);
    free(text);
    for (size_t i = 0; i < sizeof(service_lines) / sizeof(service_lines[0]); i++)
        cr_assert_eq(daemon_sends(&d, service_lines[i]), 0);
    cr_assert_eq(daemon_wait_read(&d, 5000), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 6, 5000),
        6);
}

static int run(char **out, const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *args[] = { "learn", "--url", d.http, a1, a2, a3, a4, NULL };

    return daemon_run_once(args, out);
}

Test(e2e_learn_cli, the_first_day_learn_dry_run_merge_and_load, .fini = stop)
{
    char my[512], *out = NULL, *before, *after;
    const char *check[] = { "--check-config", my, NULL };
    json_error_t err;
    json_t *frag;

    start_learning();

    /* The proposal alone: a fragment on stdout (the flags go to stderr). */
    cr_assert_eq(run(&out, NULL, NULL, NULL, NULL), 0, "%s", out);
    frag = json_loads(out, JSON_DISABLE_EOF_CHECK, &err);
    cr_assert_not_null(frag, "not a fragment: %s\n%s", err.text, out);
    cr_expect_eq(json_array_size(json_object_get(frag, "families")), 3, "%s", out);
    json_decref(frag);
    free(out);

    /* --json: the daemon's whole answer. */
    cr_assert_eq(run(&out, "--json", NULL, NULL, NULL), 0, "%s", out);
    cr_expect(strstr(out, "\"proposal\"") != NULL, "%s", out);
    free(out);

    /* --dry-run: the diff, and the file as it was. */
    snprintf(my, sizeof(my), "%s/my.json", d.dir);
    before = daemon_read_file(d.config);
    daemon_write_file(my, "%s", before);
    cr_assert_eq(run(&out, "--merge", my, "--dry-run", NULL), 0, "%s", out);
    cr_expect(strstr(out, "+++ ") != NULL && strstr(out, "checkout_orders") != NULL, "%s", out);
    cr_expect(strstr(out, "not written (--dry-run)") != NULL, "%s", out);
    after = daemon_read_file(my);
    cr_expect_str_eq(after, before, "--dry-run changed the file");
    free(after);
    free(out);

    /* --merge: written, and it loads as the daemon loads a configuration. */
    cr_assert_eq(run(&out, "--merge", my, NULL, NULL), 0, "%s", out);
    cr_expect(strstr(out, "written: 3 families") != NULL, "%s", out);
    cr_expect(strstr(out, "\"updown\": true") != NULL, "the signed gauge deltas:\n%s", out);
    free(out);
    cr_assert_eq(daemon_run_once(check, &out), 0, "%s", out);
    free(out);
    after = daemon_read_file(my);
    cr_expect(strncmp(after, before, strlen(before) - 8) != 0 || strlen(after) > strlen(before),
              "nothing written");
    free(after);
    free(before);

    /* Again: nothing to add. */
    cr_assert_eq(run(&out, "--merge", my, NULL, NULL), 0, "%s", out);
    cr_expect(strstr(out, "nothing to add") != NULL, "%s", out);
    free(out);
}

Test(e2e_learn_cli, refusals_are_said_with_an_exit_status, .fini = stop)
{
    char *out = NULL;
    const char *dead[] = { "learn", "--url", "unix:/nonexistent/http.sock", NULL };
    const char *bad[] = { "learn", "--bogus", NULL };
    const char *lone[] = { "learn", "--dry-run", NULL };

    cr_expect_eq(daemon_run_once(bad, &out), 2, "%s", out);
    free(out);
    cr_expect_eq(daemon_run_once(lone, &out), 2, "%s", out);
    cr_expect(strstr(out, "--dry-run goes with --merge") != NULL, "%s", out);
    free(out);
    cr_expect_eq(daemon_run_once(dead, &out), 1, "%s", out);
    cr_expect(strstr(out, "unix:/nonexistent/http.sock") != NULL, "%s", out);
    free(out);

    start_learning();
    cr_expect_eq(run(&out, "--merge", "/nonexistent/my.json", NULL, NULL), 1, "%s", out);
    cr_expect(strstr(out, "/nonexistent/my.json") != NULL, "%s", out);
    free(out);
}

/* The reload put the token in force. */
static int token_in_force(void *arg)
{
    char *out = NULL;
    int rc = run(&out, NULL, NULL, NULL, NULL);

    (void)arg;
    free(out);
    return rc == 1;
}

Test(e2e_learn_cli, a_debug_behind_a_token_needs_the_token_file, .fini = stop)
{
    char token[512], cfg[1024], *out = NULL;

    cr_assert_eq(daemon_start(&d, "{\"families\": []}", NULL), 0);
    cr_assert_eq(daemon_sends(&d, "x.y:1|c"), 0);
    snprintf(token, sizeof(token), "%s/token", d.dir);
    daemon_write_file(token, "cli-token\n");
    snprintf(cfg, sizeof(cfg), "{\"daemon\": {\"bearer_token_file\": \"%s\"}, \"families\": []}",
             token);
    daemon_write_file(d.config, "%s", cfg);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(waitfor_cond(token_in_force, NULL, 10000), 0, "the token never took effect");
    cr_expect_eq(run(&out, NULL, NULL, NULL, NULL), 1, "%s", out);
    cr_expect(strstr(out, "401") != NULL && strstr(out, "--token-file") != NULL, "%s", out);
    free(out);
    cr_expect_eq(run(&out, "--token-file", token, NULL, NULL), 0, "%s", out);
    cr_expect(strstr(out, "x_y") != NULL, "%s", out);
    free(out);
}
