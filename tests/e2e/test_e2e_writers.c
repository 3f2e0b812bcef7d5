/*
 * End to end through the real binary: the writer policy, with a second uid. A sender run
 * as nobody (setpriv --reuid=65534) writes to a family and a job only root may write, to
 * a family anyone may write, and over UDP; its guarded lines are refused as
 * sender_not_allowed (counted, in the reject ring with its uid and pid), its other lines
 * and root's count, and a reload that opens the family lets it in.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

#define NOBODY 65534

static struct daemon d;

static const char *const udp_args[] = { "--udp-listen", "127.0.0.1:0", NULL };

/* The socket mode lets nobody send; the rules decide what it may write. */
#define CONFIG_HEAD                                       \
    "{\"daemon\": {\"socket_mode\": \"0666\"},\n"         \
    " \"families\": [\n"                                  \
    "  {\"name\": \"guarded\", \"type\": \"counter\"},\n" \
    "  {\"name\": \"open\", \"type\": \"counter\"},\n"    \
    "  {\"name\": \"udp_ok\", \"type\": \"counter\"}],\n" \
    " \"jobs\": {\"list\": [\"deploy\"], \"failure_threshold\": 1},\n"

static const char config_before[] =
    CONFIG_HEAD " \"writers\": [\n"
                "  {\"family\": \"guarded\", \"users\": [\"root\"]},\n"
                "  {\"family\": \"udp_ok\", \"users\": [0], \"unauthenticated\": true},\n"
                "  {\"job\": \"deploy\", \"users\": [\"root\"]}]}\n";

/* The reload: nobody's group may now write "guarded"; the job stays root's. */
static const char config_after[] =
    CONFIG_HEAD " \"writers\": [\n"
                "  {\"family\": \"guarded\", \"users\": [\"root\"], \"groups\": [\"nogroup\"]},\n"
                "  {\"job\": \"deploy\", \"users\": [\"root\"]}]}\n";

static void start(void)
{
    if (getuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs root and setpriv to send as a second uid");
    cr_assert_eq(daemon_start(&d, config_before, udp_args), 0, "daemon did not start");
    /* The directory is mkdtemp's 0700: nobody must reach the socket and the client in it. */
    cr_assert_eq(chmod(d.dir, 0755), 0);
}

static void stop(void)
{
    if (d.pid != 0)
        cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

/* A copy of ustatsd-send that nobody can run, whatever the build tree's permissions. */
static void copy_sender(char *path, size_t len)
{
    const char *bin = getenv("USTATSD_SEND_BIN");
    char cmd[600];

    cr_assert_not_null(bin, "USTATSD_SEND_BIN is not set");
    snprintf(path, len, "%s/ustatsd-send", d.dir);
    snprintf(cmd, sizeof(cmd), "install -m 0755 '%s' '%s'", bin, path);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Send lines as uid and gid 65534 with no supplementary group; returns the sender's pid. */
static pid_t send_as_nobody(const char *const *lines, size_t n)
{
    char bin[256];
    const char *argv[16];
    size_t k = 0;
    int status;
    pid_t pid;

    copy_sender(bin, sizeof(bin));
    argv[k++] = "setpriv";
    argv[k++] = "--reuid=65534";
    argv[k++] = "--regid=65534";
    argv[k++] = "--clear-groups";
    argv[k++] = bin;
    argv[k++] = "-s";
    argv[k++] = d.sock;
    for (size_t i = 0; i < n && k < 15; i++)
        argv[k++] = lines[i];
    argv[k] = NULL;
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        execv("/usr/bin/setpriv", (char *const *)argv);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "setpriv ... ustatsd-send: %d",
              status);
    return pid; /* setpriv execs the client: one process, one pid */
}

static json_t *debug_json(const char *target)
{
    char *body = NULL;
    json_error_t err;
    json_t *j;

    cr_assert_eq(daemon_get(&d, target, NULL, &body), 200, "GET %s", target);
    j = json_loads(body, 0, &err);
    cr_assert_not_null(j, "GET %s: invalid JSON: %s", target, err.text);
    free(body);
    return j;
}

static double value(const char *series)
{
    char *body = daemon_scrape(&d, NULL);
    double v = expo_value(body, series);

    free(body);
    return v;
}

#define NOT_ALLOWED "ustatsd_lines_rejected_total{reason=\"sender_not_allowed\"}"

/* The newest reject of reason sender_not_allowed in /debug, as an owned object. */
static json_t *newest_refusal(void)
{
    json_t *j = debug_json("/debug?section=rejects"), *ring, *e, *found = NULL;
    size_t i;

    ring = json_object_get(j, "rejects");
    json_array_foreach(ring, i, e) if (strcmp(json_string_value(json_object_get(e, "reason")),
                                              "sender_not_allowed") == 0)
    {
        found = json_incref(e);
        break;
    }
    json_decref(j);
    cr_assert_not_null(found, "no sender_not_allowed in the reject ring");
    return found;
}

Test(e2e_writers, a_second_uid_is_refused_where_a_rule_guards_and_counted_elsewhere, .init = start,
     .fini = stop)
{
    static const char *const lines[] = { "guarded:1|c", "open:1|c", "deploy:error|j" };
    json_t *e;
    pid_t pid;
    int port = daemon_udp_port(&d);

    /* One datagram from nobody: each line is judged alone. */
    pid = send_as_nobody(lines, 3);
    cr_assert_eq(daemon_wait_value(&d, NOT_ALLOWED, 2, 5000), 2);
    cr_assert_eq(value("open_total"), 1, "nobody's line to an open family counts");
    cr_assert_eq(value("guarded_total"), 0);
    cr_assert_eq(value("ustatsd_background_job_errors_total{job=\"deploy\"}"), 0,
                 "nobody's job line touched the job");
    cr_assert_eq(value("ustatsd_background_job_circuit_open_total{job=\"deploy\"}"), 0,
                 "nobody's job line opened the breaker");
    e = newest_refusal();
    cr_assert_eq(json_integer_value(json_object_get(e, "uid")), NOBODY);
    cr_assert_eq(json_integer_value(json_object_get(e, "pid")), pid);
    cr_assert_str_eq(json_string_value(json_object_get(e, "line")), "deploy:error|j");
    json_decref(e);

    /* Root, the rules' user, writes both. */
    cr_assert_eq(daemon_sends(&d, "guarded:1|c\nopen:1|c\ndeploy:worked|j"), 0);
    cr_assert_eq(daemon_wait_value(&d, "guarded_total", 1, 5000), 1);
    cr_assert_eq(daemon_wait_value(&d, "open_total", 2, 5000), 2);
    cr_assert_eq(value(NOT_ALLOWED), 2);

    /* UDP carries no credentials: only a rule that says unauthenticated lets it in. */
    cr_assert_gt(port, 0);
    cr_assert_eq(daemon_udp_sends(port, "guarded:1|c\nudp_ok:1|c\nopen:1|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, NOT_ALLOWED, 3, 5000), 3);
    cr_assert_eq(daemon_wait_value(&d, "udp_ok_total", 1, 5000), 1);
    cr_assert_eq(daemon_wait_value(&d, "open_total", 3, 5000), 3);
    cr_assert_eq(value("guarded_total"), 1);
    e = newest_refusal();
    cr_assert(json_is_null(json_object_get(e, "uid")), "a UDP line has no uid");
    cr_assert_not_null(json_string_value(json_object_get(e, "source")));
    json_decref(e);
}

Test(e2e_writers, the_debug_view_says_which_rule_guards_a_family_or_job, .init = start,
     .fini = stop)
{
    json_t *j, *w;

    j = debug_json("/debug?section=families&family=guarded");
    w = json_object_get(json_array_get(json_object_get(j, "families"), 0), "writers");
    cr_assert_str_eq(json_string_value(json_object_get(w, "rule")), "$.writers[0]");
    cr_assert_eq(json_array_size(json_object_get(w, "uids")), 1);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(w, "uids"), 0)), 0,
                 "root, resolved");
    cr_assert_eq(json_array_size(json_object_get(w, "gids")), 0);
    cr_assert(json_is_false(json_object_get(w, "unauthenticated")));
    json_decref(j);

    j = debug_json("/debug?section=families&family=open");
    w = json_object_get(json_array_get(json_object_get(j, "families"), 0), "writers");
    cr_assert(json_is_null(w), "no rule: null");
    json_decref(j);

    j = debug_json("/debug?section=jobs");
    w = json_object_get(json_array_get(json_object_get(j, "jobs"), 0), "writers");
    cr_assert_str_eq(json_string_value(json_object_get(w, "rule")), "$.writers[2]");
    json_decref(j);
}

static void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_geq(fputs(json, f), 0);
    cr_assert_eq(fclose(f), 0);
}

Test(e2e_writers, a_reload_that_changes_the_rules_takes_effect, .init = start, .fini = stop)
{
    static const char *const lines[] = { "guarded:1|c", "deploy:error|j" };

    send_as_nobody(lines, 2);
    cr_assert_eq(daemon_wait_value(&d, NOT_ALLOWED, 2, 5000), 2);

    /* nogroup is gid 65534: nobody's gid, as the kernel reports it, now matches. */
    write_config(config_after);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_config_reloads_total{result=\"success\"}", 1, 5000),
                 1);
    send_as_nobody(lines, 2);
    cr_assert_eq(daemon_wait_value(&d, "guarded_total", 1, 5000), 1);
    cr_assert_eq(daemon_wait_value(&d, NOT_ALLOWED, 3, 5000), 3, "the job is still root's");

    /* A reload that names a user who does not exist is refused; the running rules stay. */
    write_config("{\"daemon\": {\"socket_mode\": \"0666\"},"
                 " \"families\": [{\"name\": \"guarded\", \"type\": \"counter\"}],"
                 " \"writers\": [{\"family\": \"guarded\", \"users\": [\"no-such-user\"]}]}");
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_config_reloads_total{result=\"failure\"}", 1, 5000),
                 1);
    send_as_nobody(lines, 1);
    cr_assert_eq(daemon_wait_value(&d, "guarded_total", 2, 5000), 2);
}

/* A file of text in a directory of its own; the caller removes both. */
static void write_temp(char *dir, size_t dlen, char *path, size_t plen, const char *text)
{
    FILE *f;

    snprintf(dir, dlen, "/tmp/ustatsd-writers-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, plen, "%s/ustatsd.json", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_geq(fputs(text, f), 0);
    cr_assert_eq(fclose(f), 0);
}

Test(e2e_writers, check_config_says_what_the_rules_guard_and_refuses_an_unknown_user)
{
    char dir[64], path[96], sock[96], *out = NULL;
    const char *args[] = { "--check-config", path, "--socket", sock, NULL };

    write_temp(dir, sizeof(dir), path, sizeof(path), config_before);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", dir);
    cr_assert_eq(daemon_run_once(args, &out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "writers: 3 rules guard 2 of 3 families and 1 of 1 jobs"), "%s",
                       out);
    free(out);
    out = NULL;
    unlink(path);
    rmdir(dir);

    write_temp(dir, sizeof(dir), path, sizeof(path),
               "{\"families\": [{\"name\": \"a\", \"type\": \"counter\"}],"
               " \"writers\": [{\"family\": \"a\", \"users\": [\"root\", \"no-such-user\"]}]}");
    cr_assert_eq(daemon_run_once(args, &out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "ustatsd.json: $.writers[0].users[1]: no user \"no-such-user\""),
                       "%s", out);
    free(out);
    unlink(path);
    rmdir(dir);
}
