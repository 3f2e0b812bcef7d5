/*
 * `ustatsd top` end to end, against a daemon fed known traffic (two families, a
 * reject, a job): --once and --json, a /debug behind a bearer token, and the interactive
 * screen driven in tmux (its own server socket): the families and their counts on screen,
 * a key that changes the order, a tiny terminal, the daemon going away, and q.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "waitfor.h"

static const char config_fmt[] =
    "{\"daemon\": {%s},\n"
    " \"families\": [\n"
    "  {\"name\": \"alpha_requests_total\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},\n"
    "  {\"name\": \"beta_depth\", \"type\": \"gauge\", \"help\": \"Depth.\",\n"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4}]}\n"
    " ],\n"
    " \"jobs\": {\"list\": [{\"name\": \"mailer\", \"failure_threshold\": 1}]}}\n";

/* alpha: 1 series from 5 lines; beta: 3 series from 3 lines; a reject; the job failed. */
static const char traffic[] = "alpha_requests_total:1|c|#route:/a\n"
                              "alpha_requests_total:1|c|#route:/a\n"
                              "alpha_requests_total:1|c|#route:/a\n"
                              "alpha_requests_total:1|c|#route:/a\n"
                              "alpha_requests_total:1|c|#route:/a\n"
                              "beta_depth:1|g|#queue:q1\n"
                              "beta_depth:2|g|#queue:q2\n"
                              "beta_depth:3|g|#queue:q3\n"
                              "nope_unknown:1|c\n"
                              "mailer:error|j\n";

static struct daemon d;
static char url[64], listen_at[64], config[2048];

/* Start the daemon on config, /debug on listen_at: a TCP port (curl's). */
static void run_daemon(void)
{
    const char *args[] = { "--debug-listen", listen_at, NULL };

    cr_assert_eq(daemon_start(&d, config, args), 0);
}

/* Start the daemon with /debug on a free port, daemon_extra inside "daemon", and feed it. */
static void start_with(const char *daemon_extra)
{
    int port = daemon_free_port();

    cr_assert_gt(port, 0);
    snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    snprintf(config, sizeof(config), config_fmt, daemon_extra);
    run_daemon();
    cr_assert_eq(daemon_sends(&d, traffic), 0);
    cr_assert_eq(daemon_wait_read(&d, 5000), 0);
}

static void start(void)
{
    start_with("");
}

static void stop(void)
{
    if (d.pid != 0)
        cr_assert_eq(daemon_stop(&d), 0);
}

/* The line of text holding needle, as a string of its own (static), or "" when none. */
static const char *line_with(const char *text, const char *needle)
{
    static char line[512];
    const char *p = strstr(text, needle), *b, *e;

    if (p == NULL)
        return "";
    p += needle[0] == '\n'; /* the line after it */
    for (b = p; b > text && b[-1] != '\n'; b--)
        ;
    e = strchr(p, '\n');
    if (e == NULL)
        e = p + strlen(p);
    snprintf(line, sizeof(line), "%.*s", (int)(e - b), b);
    return line;
}

/* Run the binary with args: it exits with status, its output holding needle. */
static void expect_run(const char *const *args, int status, const char *needle)
{
    char *out = NULL;

    cr_assert_eq(daemon_run_once(args, &out), status, "%s", out);
    cr_assert_not_null(strstr(out, needle), "%s", out);
    free(out);
}

Test(e2e_top, once_prints_the_families_caps_rejects_and_jobs, .init = start, .fini = stop)
{
    const char *args[] = { "top", "--once", "--interval", "0.2", "--url", url, NULL };
    char *out = NULL, sender[64];
    const char *alpha, *beta;

    cr_assert_eq(daemon_run_once(args, &out), 0, "%s", out);
    cr_assert_null(strchr(out, '\033'), "no escape codes:\n%s", out);
    cr_assert_not_null(strstr(out, "rates over "), "two readings:\n%s", out);
    cr_assert_not_null(strstr(out, "lines accepted 9 ("), "%s", out);
    cr_assert_not_null(strstr(out, "rejected 1 ("), "%s", out);
    cr_assert_not_null(strstr(out, "series     4 of "), "%s", out);
    alpha = strstr(out, "\nalpha_requests ");
    beta = strstr(out, "\nbeta_depth ");
    cr_assert(alpha != NULL && beta != NULL && beta < alpha, "by series, beta first:\n%s", out);
    /* name, type, series, cap, cap%, lines, lines/s (nothing sent between readings), rejects */
    cr_assert_not_null(strstr(line_with(out, "\nbeta_depth "),
                              "gauge            3    20000   0.0%          3      0.0       0"),
                       "%s", out);
    cr_assert_not_null(strstr(line_with(out, "\nalpha_requests "), " 1 "), "%s", out);
    cr_assert_not_null(strstr(line_with(out, "\nalpha_requests "), "          5      0.0 "), "%s",
                       out);
    cr_assert_not_null(
        strstr(line_with(out, "values of beta_depth.queue"), "  3          4  75.0%"), "%s", out);
    snprintf(sender, sizeof(sender), "pid %d uid %d", (int)getpid(), (int)getuid());
    cr_assert_not_null(strstr(line_with(out, "unknown_family "), "nope_unknown:1|c"), "%s", out);
    cr_assert_not_null(strstr(line_with(out, "unknown_family "), sender), "%s", out);
    cr_assert_not_null(
        strstr(line_with(out, "\nmailer "), "open             1/1        1        1"), "%s", out);
    free(out);
}

Test(e2e_top, json_prints_the_reading_it_computes_from, .init = start, .fini = stop)
{
    const char *args[] = { "top", "--json", "--url", url, NULL };
    char *out = NULL;
    json_t *j, *f;
    json_error_t err;
    size_t i;
    int seen = 0;

    cr_assert_eq(daemon_run_once(args, &out), 0, "%s", out);
    j = json_loads(out, 0, &err);
    cr_assert_not_null(j, "one JSON object: %s\n%s", err.text, out);
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(json_object_get(j, "daemon"), "series"), "total")),
                 4);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(j, "ingest"), "lines_accepted")), 9);
    cr_assert_null(json_object_get(j, "series"), "top does not ask for the series");
    json_array_foreach(json_object_get(j, "families"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));

        if (strcmp(name, "alpha_requests") == 0) {
            cr_assert_eq(json_integer_value(json_object_get(f, "lines")), 5);
            seen++;
        }
        if (strcmp(name, "beta_depth") == 0) {
            json_t *queue = json_array_get(json_object_get(f, "labels"), 0);

            cr_assert_eq(json_integer_value(json_object_get(f, "series")), 3);
            cr_assert_eq(json_integer_value(json_object_get(queue, "distinct_values")), 3);
            cr_assert_null(json_object_get(queue, "seen"), "top asks without the values");
            seen++;
        }
    }
    cr_assert_eq(seen, 2);
    cr_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(json_object_get(j, "rejects"), 0), "line")),
                     "nope_unknown:1|c");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "jobs"), 0), "state")),
        "open");
    json_decref(j);
    free(out);
}

Test(e2e_top, no_daemon_a_bad_option_or_no_terminal_is_an_error)
{
    char gone[64];
    const char *args[] = { "top", "--once", "--url", gone, NULL };
    const char *bad[] = { "top", "--interval", "0", NULL };
    const char *screen[] = { "top", "--url", gone, NULL };

    snprintf(gone, sizeof(gone), "http://127.0.0.1:%d", daemon_free_port());
    expect_run(args, 1, "ustatsd top: http://127.0.0.1:");
    expect_run(bad, 2, "--interval \"0\": give seconds");
    expect_run(screen, 1, "not a terminal; for a script, --once or --json");
}

Test(e2e_top, a_debug_view_behind_a_bearer_token_needs_the_token_file, .fini = stop)
{
    char dir[64], token[96], extra[160];
    const char *with[] = { "top", "--once",       "--interval", "0.1", "--url",
                           url,   "--token-file", token,        NULL };
    const char *without[] = { "top", "--once", "--url", url, NULL };

    snprintf(dir, sizeof(dir), "%s/ustatsd-top-XXXXXX", P_tmpdir);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(token, sizeof(token), "%s/token", dir);
    daemon_write_file(token, "s3cret-token\n");
    snprintf(extra, sizeof(extra), "\"bearer_token_file\": \"%s\"", token);
    start_with(extra);

    expect_run(without, 1, "HTTP 401");
    expect_run(with, 0, "\nbeta_depth ");
    unlink(token);
    rmdir(dir);
}

/* ---- the screen, in tmux ---- */

static char tmux_sock[64];

/* Run tmux on the test's own server with the arguments; its output into out (may be NULL). */
static int tmux(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int tmux(char **out, const char *fmt, ...)
{
    char cmd[1024], args[900];
    va_list ap;
    FILE *p;
    size_t len = 0, cap = 0;
    char *buf = NULL;
    int c;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "tmux -L %s %s 2>&1", tmux_sock, args);
    p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    while ((c = fgetc(p)) != EOF) {
        if (len + 2 > cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
        }
        buf[len++] = (char)c;
    }
    if (buf)
        buf[len] = '\0';
    c = pclose(p);
    if (out)
        *out = buf ? buf : strdup("");
    else
        free(buf);
    return WIFEXITED(c) ? WEXITSTATUS(c) : -1;
}

struct screen_wait {
    const char *want[3]; /* every one on screen; NULL ends */
    char *last;          /* the last screen seen */
    const char *row;     /* when set: the line holding it must also hold row_has */
    const char *row_has;
};

static int screen_has(void *arg)
{
    struct screen_wait *w = arg;
    size_t i;

    free(w->last);
    w->last = NULL;
    if (tmux(&w->last, "capture-pane -p -t top") != 0)
        return 0;
    for (i = 0; i < 3 && w->want[i] != NULL; i++)
        if (strstr(w->last, w->want[i]) == NULL)
            return 0;
    return w->row == NULL || strstr(line_with(w->last, w->row), w->row_has) != NULL;
}

/* Wait (10 s at most) until the screen holds every string of want; returns the screen. */
static char *wait_screen(const char *a, const char *b, const char *c)
{
    struct screen_wait w = { { a, b, c }, NULL, NULL, NULL };

    cr_assert_eq(waitfor_cond(screen_has, &w, 10000), 0, "the screen never showed \"%s\":\n%s", a,
                 w.last ? w.last : "(none)");
    return w.last;
}

/*
 * The same, and the line holding row also holds row_has: a screen captured while top was
 * still redrawing it can show the new header over the last reading's rows.
 */
static char *wait_screen_row(const char *a, const char *b, const char *row, const char *row_has)
{
    struct screen_wait w = { { a, b, NULL }, NULL, row, row_has };

    cr_assert_eq(waitfor_cond(screen_has, &w, 10000), 0,
                 "the screen never showed \"%s\" with \"%s\" in the line of \"%s\":\n%s", a,
                 row_has, row, w.last ? w.last : "(none)");
    return w.last;
}

/* Where the shell that runs top in the pane writes top's exit status. */
static char status_dir[64], status_path[96];

/* The status is written whole: the line and its end. */
static int status_written(void *arg)
{
    char **out = arg;

    free(*out);
    *out = daemon_read_file(status_path);
    return *out != NULL && strchr(*out, '\n') != NULL;
}

static void tmux_stop(void)
{
    tmux(NULL, "kill-server");
    unlink(status_path);
    rmdir(status_dir);
    stop();
}

Test(e2e_top, the_screen_shows_the_families_sorts_by_key_survives_and_quits_on_q, .init = start,
     .fini = tmux_stop)
{
    char *screen, *status = NULL, again[96];
    const char *bin = getenv("USTATSD_BIN");
    const char *alpha, *beta;

    cr_assert_not_null(bin);
    snprintf(status_dir, sizeof(status_dir), "%s/ustatsd-top-XXXXXX", P_tmpdir);
    cr_assert_not_null(mkdtemp(status_dir));
    snprintf(status_path, sizeof(status_path), "%s/status", status_dir);
    snprintf(tmux_sock, sizeof(tmux_sock), "ustatsd-top-%d", (int)getpid());
    cr_assert_eq(tmux(NULL,
                      "-f /dev/null new-session -d -s top -x 160 -y 50 "
                      "'%s top --url %s --interval 0.2; echo $? >%s'",
                      bin, url, status_path),
                 0);

    /* The families and their counts, by series: beta (3) above alpha (1). */
    screen = wait_screen("keys: s series  r rate  n name  j rejects  ? help  q quit", "rates over",
                         "beta_depth ");
    alpha = strstr(screen, "\nalpha_requests ");
    beta = strstr(screen, "\nbeta_depth ");
    cr_assert(alpha != NULL && beta != NULL && beta < alpha, "%s", screen);
    cr_assert_not_null(strstr(line_with(screen, "\nbeta_depth "), "gauge            3 "), "%s",
                       screen);
    cr_assert_not_null(strstr(screen, "nope_unknown:1|c"), "%s", screen);
    free(screen);

    /* n: by name, alpha above beta. */
    cr_assert_eq(tmux(NULL, "send-keys -t top n"), 0);
    screen = wait_screen("sort: name", NULL, NULL);
    alpha = strstr(screen, "\nalpha_requests ");
    beta = strstr(screen, "\nbeta_depth ");
    cr_assert(alpha != NULL && beta != NULL && alpha < beta, "%s", screen);
    free(screen);

    /* A tiny terminal: what fits, cut; then back. */
    cr_assert_eq(tmux(NULL, "resize-window -t top -x 12 -y 3"), 0);
    screen = wait_screen("keys: s seri\n", NULL, NULL);
    free(screen);
    cr_assert_eq(tmux(NULL, "resize-window -t top -x 160 -y 50"), 0);
    screen = wait_screen("sort: name", "beta_depth ", NULL);
    free(screen);

    /* The daemon goes away: the error on screen over the last data, top goes on; it comes
     * back (on the same port, with nothing sent yet): the error goes, beta has no series. */
    cr_assert_eq(daemon_stop(&d), 0);
    screen = wait_screen("error (retrying every 0.2s): http://127.0.0.1:", "beta_depth ", NULL);
    free(screen);
    run_daemon();
    snprintf(again, sizeof(again), "\n%s every 0.2s\n", url);
    screen = wait_screen_row(again, "lines accepted 0 ", "\nbeta_depth ", "gauge            0 ");
    free(screen);

    /* q: top ends, and the shell that ran it writes how. */
    cr_assert_eq(tmux(NULL, "send-keys -t top q"), 0);
    cr_assert_eq(waitfor_cond(status_written, &status, 10000), 0, "top did not exit on q");
    cr_assert_str_eq(status, "0\n", "top's exit status");
    free(status);
}
