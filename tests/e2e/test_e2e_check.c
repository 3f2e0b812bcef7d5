/*
 * --check-config through the real binary: it refuses what start-up would refuse of the
 * host (a missing group, a bad or unreadable token file, an unwritable state directory, a
 * bad certificate named by the web config file from the flag or the variable), with the
 * flags and variables given along with it, each message naming the file, the key and the
 * problem; and it warns, exit status 0, on names Prometheus conventions flag and on a TLS
 * certificate expired or expiring within 14 days, as the daemon's start-up log does.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "tlsclient.h"

#define NO_GROUP "ustatsd-no-such-group"

static char dir[64];
static char cfg[128];  /* dir/ustatsd.json */
static char sock[128]; /* dir/ingest.sock */

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ustatsd-check-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cfg, sizeof(cfg), "%s/ustatsd.json", dir);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", dir);
}

static void remove_dir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ustatsd --check-config cfg [extra...] --socket sock; the exit status, output in *out. */
static int check(char **out, const char *const *extra)
{
    const char *args[24];
    size_t n = 0;

    args[n++] = "--check-config";
    args[n++] = cfg;
    args[n++] = "--socket";
    args[n++] = sock;
    while (extra != NULL && *extra != NULL && n < 23)
        args[n++] = *extra++;
    args[n] = NULL;
    return daemon_run_once(args, out);
}

/* out holds the printf-formatted string. */
#define want(out, ...) daemon_want(out, -1, __VA_ARGS__)

TestSuite(e2e_check, .init = make_dir, .fini = remove_dir);

Test(e2e_check, a_missing_socket_group_is_refused_from_the_file_and_from_the_flag)
{
    const char *flag[] = { "--socket-group", NO_GROUP "-2", NULL };
    const char *unset[] = { "--socket-group", "", NULL };
    char *out = NULL;

    cr_assert_null(getgrnam(NO_GROUP));
    daemon_write_file(cfg, "{\"daemon\": {\"socket_group\": \"%s\"}}", NO_GROUP);
    cr_assert_eq(check(&out, NULL), 1, "%s", out);
    want(out, "%s: $.daemon.socket_group: socket group \"%s\" does not exist", cfg, NO_GROUP);
    want(out, "1 problem: the daemon would not start");
    free(out);
    cr_assert_eq(check(&out, flag), 1, "%s", out);
    want(out, "--socket-group: socket group \"%s-2\" does not exist", NO_GROUP);
    cr_assert_null(strstr(out, "$.daemon.socket_group"), "the file's group was overridden: %s",
                   out);
    free(out);
    /* An empty flag leaves the group as it is: nothing to resolve. */
    cr_assert_eq(check(&out, unset), 0, "%s", out);
    want(out, "%s: ok (", cfg);
    free(out);
    cr_assert_eq(access(sock, F_OK), -1, "the check bound the socket");
}

Test(e2e_check, a_bad_token_file_is_refused_naming_the_key_and_the_problem)
{
    char tok[160], ep[160], *out = NULL;
    int fd;

    snprintf(tok, sizeof(tok), "%s/token", dir);
    snprintf(ep, sizeof(ep), "%s/endpoint.token", dir);
    fd = open(tok, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "abc\0long-secret", 15), 15);
    close(fd);
    daemon_write_file(ep, "s3cret\n");
    daemon_write_file(
        cfg,
        "{\"daemon\": {\"bearer_token_file\": \"%s\"},"
        " \"endpoints\": [{\"name\": \"a\", \"listen\": \"127.0.0.1:9999\", \"path\": \"/a\","
        " \"bearer_token_file\": \"%s\"}]}",
        tok, ep);
    cr_assert_eq(check(&out, NULL), 1, "%s", out);
    want(out, "%s: $.daemon.bearer_token_file: bearer token file %s: ", cfg, tok);
    want(out, "NUL");
    cr_assert_null(strstr(out, "long-secret"), "the message quotes the token: %s", out);
    free(out);

    /* The daemon's is good now; the endpoint's file is gone. */
    daemon_write_file(tok, "abc\n");
    cr_assert_eq(unlink(ep), 0);
    cr_assert_eq(check(&out, NULL), 1, "%s", out);
    want(out, "%s: $.endpoints[0].bearer_token_file (endpoint a): bearer token file %s: ", cfg, ep);
    free(out);
    daemon_write_file(ep, "s3cret\n");
    cr_assert_eq(check(&out, NULL), 0, "%s", out);
    free(out);
}

/*
 * Run the check as nobody (setpriv), as an operator checks as the daemon's user: root
 * reads and writes everything, so only another user shows what permissions forbid.
 */
static int check_as_nobody(char **out, const char *extra)
{
    char cmd[1024], path[160];
    const char *bin = getenv("USTATSD_BIN");
    int rc;

    snprintf(path, sizeof(path), "%s/out", dir);
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups '%s' --check-config "
             "'%s' --socket '%s' %s > '%s' 2>&1",
             bin, cfg, sock, extra, path);
    rc = system(cmd);
    *out = daemon_read_file(path);
    cr_assert_not_null(*out);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void need_root(void)
{
    if (getuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0 || getenv("USTATSD_BIN") == NULL)
        cr_skip_test("needs root and setpriv to check as a second uid");
}

Test(e2e_check, state_and_socket_directories_must_exist_and_be_writable)
{
    char state_dir[160], *out = NULL;
    const char *missing[] = { "--state-file", "/nonexistent-ustatsd/state", NULL };

    /* Missing, by the flag. */
    daemon_write_file(cfg, "{}");
    cr_assert_eq(check(&out, missing), 1, "%s", out);
    want(out, "--state-file: state file /nonexistent-ustatsd/state: its directory "
              "/nonexistent-ustatsd does not exist");
    free(out);

    /* The socket's directory, missing. */
    {
        const char *args[] = { "--check-config", cfg, "--socket", "/nonexistent-ustatsd/s.sock",
                               NULL };

        cr_assert_eq(daemon_run_once(args, &out), 1, "%s", out);
        want(out, "--socket: socket path /nonexistent-ustatsd/s.sock: its directory "
                  "/nonexistent-ustatsd does not exist");
        free(out);
    }

    /* A unix: listener's directory, missing, from an endpoint and from the variable. */
    daemon_write_file(cfg, "{\"endpoints\": [{\"name\": \"a\", \"listen\": "
                           "\"unix:/nonexistent-ustatsd/a.sock\", \"path\": \"/a\"}]}");
    cr_assert_eq(setenv("USTATSD_METRICS_LISTEN", "unix:/nonexistent-ustatsd/m.sock", 1), 0);
    cr_assert_eq(check(&out, NULL), 1, "%s", out);
    want(out,
         "%s: $.endpoints[0].listen: socket path /nonexistent-ustatsd/a.sock: its directory "
         "/nonexistent-ustatsd does not exist",
         cfg);
    want(out, "USTATSD_METRICS_LISTEN: socket path /nonexistent-ustatsd/m.sock: its directory "
              "/nonexistent-ustatsd does not exist");
    free(out);
    cr_assert_eq(unsetenv("USTATSD_METRICS_LISTEN"), 0);

    /* Unwritable by the user who checks: nobody, in a directory only root may write. */
    need_root();
    snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
    cr_assert_eq(mkdir(state_dir, 0755), 0);
    cr_assert_eq(chmod(dir, 0755), 0);
    daemon_write_file(cfg, "{\"daemon\": {\"state_file\": \"%s/ustatsd.state\"}}", state_dir);
    cr_assert_eq(chmod(cfg, 0644), 0);
    cr_assert_eq(check_as_nobody(&out, ""), 1, "%s", out);
    want(out,
         "%s: $.daemon.state_file: state file %s/ustatsd.state: snapshots cannot be written "
         "in %s: ",
         cfg, state_dir, state_dir);
    /* The socket's directory is root's too. */
    want(out, "--socket: socket path %s: cannot create the socket in %s: ", sock, dir);
    want(out, "2 problems: the daemon would not start");
    free(out);

    /* Given to nobody, both pass; a state file nobody may not read does not. */
    cr_assert_eq(chown(state_dir, 65534, 65534), 0);
    cr_assert_eq(chown(dir, 65534, 65534), 0);
    cr_assert_eq(check_as_nobody(&out, ""), 0, "%s", out);
    free(out);
    {
        char state[200];

        snprintf(state, sizeof(state), "%s/ustatsd.state", state_dir);
        daemon_write_file(state, "x");
        cr_assert_eq(chmod(state, 0600), 0);
        cr_assert_eq(check_as_nobody(&out, ""), 1, "%s", out);
        want(out, "state file %s: cannot be read, so a restart would start empty: ", state);
        free(out);
    }
}

Test(e2e_check, a_state_directory_others_may_write_is_a_warning)
{
    char state_dir[128], *out;

    snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
    cr_assert_eq(mkdir(state_dir, 0700), 0);
    daemon_write_file(cfg, "{\"daemon\": {\"state_file\": \"%s/ustatsd.state\"}}", state_dir);
    cr_assert_eq(check(&out, NULL), 0, "%s", out);
    cr_assert_null(strstr(out, "warning"), "%s", out);
    free(out);

    cr_assert_eq(chmod(state_dir, 0777), 0);
    cr_assert_eq(check(&out, NULL), 0, "%s", out);
    want(out,
         "%s: $.daemon.state_file: warning: state file %s/ustatsd.state: its directory %s is "
         "world-writable (mode 0777) without the sticky bit",
         cfg, state_dir, state_dir);
    free(out);

    cr_assert_eq(chmod(state_dir, 0770), 0);
    cr_assert_eq(check(&out, NULL), 0, "%s", out);
    want(out, "its directory %s is group-writable (mode 0770) without the sticky bit", state_dir);
    free(out);

    cr_assert_eq(chmod(state_dir, 01777), 0); /* as /tmp: others may not replace our files */
    cr_assert_eq(check(&out, NULL), 0, "%s", out);
    cr_assert_null(strstr(out, "warning"), "%s", out);
    free(out);

    if (geteuid() == 0) { /* another owner: only root can give the directory away */
        cr_assert_eq(chmod(state_dir, 0755), 0);
        cr_assert_eq(chown(state_dir, 65534, 65534), 0);
        cr_assert_eq(check(&out, NULL), 0, "%s", out);
        want(out, "its directory %s is owned by uid 65534, not this process's 0", state_dir);
        free(out);
    }
}

static char web[160];

/* A web config naming a certificate that is not one, and a key file. */
static void write_bad_web(void)
{
    char crt[160], key[160];

    snprintf(web, sizeof(web), "%s/web.yml", dir);
    snprintf(crt, sizeof(crt), "%s/server.crt", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    daemon_write_file(crt, "not a certificate\n");
    daemon_write_file(key, "not a key\n");
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", crt, key);
    daemon_write_file(cfg, "{}");
}

Test(e2e_check, a_bad_certificate_is_refused_from_the_web_config_flag)
{
    const char *flag[] = { "--web.config.file", web, NULL };
    char *out = NULL;

    write_bad_web();
    cr_assert_eq(check(&out, NULL), 0, "%s", out);
    free(out);
    cr_assert_eq(check(&out, flag), 1, "%s", out);
    /* The web config's own message may give the line and column of the key. */
    want(out, "--web.config.file: %s:", web);
    want(out, "tls_server_config.cert_file: %s/server.crt: no PEM certificate in it", dir);
    free(out);
}

Test(e2e_check, a_bad_certificate_is_refused_from_the_web_config_variable)
{
    char *out = NULL;

    write_bad_web();
    cr_assert_eq(setenv("USTATSD_WEB_CONFIG_FILE", web, 1), 0);
    cr_assert_eq(check(&out, NULL), 1, "%s", out);
    want(out, "USTATSD_WEB_CONFIG_FILE: %s:", web);
    want(out, "tls_server_config.cert_file: %s/server.crt: no PEM certificate in it", dir);
    free(out);
    /* The flag wins over the variable, as at start-up: "" turns the web config off. */
    {
        const char *off[] = { "--web.config.file", "", NULL };

        cr_assert_eq(check(&out, off), 0, "%s", out);
        free(out);
    }
}

/*
 * A FIFO named as a certificate is refused, not waited on: path_read_file opens the files a
 * config names without blocking and refuses what is not a regular file.
 */
Test(e2e_check, a_fifo_named_as_a_certificate_is_refused_not_waited_on)
{
    char fifo[160], key[160], *out = NULL;
    const char *flag[] = { "--web.config.file", web, NULL };

    snprintf(web, sizeof(web), "%s/web.yml", dir);
    snprintf(fifo, sizeof(fifo), "%s/server.crt", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    daemon_write_file(key, "not a key\n");
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", fifo, key);
    daemon_write_file(cfg, "{}");
    cr_assert_eq(check(&out, flag), 1, "%s", out ? out : "(killed: it waited on the FIFO)");
    want(out, "--web.config.file: %s:", web);
    want(out, "tls_server_config.cert_file: %s: not a regular file", fifo);
    free(out);
}

/*
 * A certificate expired (tests/lib/tlscerts.sh: in 2020) or expiring within 14 days is a
 * warning naming the web config, the certificate file and the date, as start-up logs it;
 * the check still passes. One 30 days from its end is not warned of.
 */
Test(e2e_check, an_expired_or_expiring_certificate_is_a_warning)
{
    char certs[64], crt[256], key[256], soon[160], soon_key[160], cmd[512], *out = NULL;
    const char *flag[] = { "--web.config.file", web, NULL };

    cr_assert_eq(tlscerts_make(certs), 0);
    snprintf(crt, sizeof(crt), "%s", tlscerts_path(certs, "server_expired.crt"));
    snprintf(key, sizeof(key), "%s", tlscerts_path(certs, "server.key"));
    snprintf(web, sizeof(web), "%s/web.yml", dir);
    daemon_write_file(cfg, "{}");
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", crt, key);
    cr_assert_eq(check(&out, flag), 0, "%s", out);
    want(out,
         "--web.config.file: warning: web config %s: the TLS certificate %s expired on "
         "2020-01-02T00:00:00Z: clients that verify it refuse every connection",
         web, crt);
    free(out);

    /* Self-signed, 7 days from now. */
    snprintf(soon, sizeof(soon), "%s/soon.crt", dir);
    snprintf(soon_key, sizeof(soon_key), "%s/soon.key", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "
             "/CN=localhost -days 7 -keyout '%s' -out '%s' 2>/dev/null",
             soon_key, soon);
    cr_assert_eq(system(cmd), 0);
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", soon, soon_key);
    cr_assert_eq(check(&out, flag), 0, "%s", out);
    want(out, "warning: web config %s: the TLS certificate %s expires on ", web, soon);
    want(out, ", within 14 days: renew it and reload");
    free(out);

    snprintf(crt, sizeof(crt), "%s", tlscerts_path(certs, "server.crt"));
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", crt, key);
    cr_assert_eq(check(&out, flag), 0, "%s", out);
    cr_assert_null(strstr(out, "warning"), "%s", out);
    free(out);
    tlscerts_remove(certs);
}

Test(e2e_check, the_other_flags_and_variables_apply_to_what_is_checked)
{
    const char *udp[] = { "--udp-listen", "0.0.0.0:8125", NULL };
    const char *both[] = { "--config", "/elsewhere.json", NULL };
    char *out = NULL;

    daemon_write_file(cfg, "{}");
    cr_assert_eq(check(&out, udp), 1, "%s", out);
    want(out, "--udp-listen \"0.0.0.0:8125\": ");
    free(out);
    cr_assert_eq(setenv("USTATSD_METRICS_PATH", "metrics", 1), 0);
    cr_assert_eq(check(&out, NULL), 1, "%s", out);
    want(out, "USTATSD_METRICS_PATH \"metrics\": must start with '/'");
    free(out);
    cr_assert_eq(unsetenv("USTATSD_METRICS_PATH"), 0);
    cr_assert_eq(check(&out, both), 2, "%s", out);
    want(out, "give one file");
    free(out);
}

static const char lint_config[] =
    "{\"families\": [\n"
    "  {\"name\": \"app_users_total\", \"type\": \"gauge\", \"help\": \"Users.\"},\n"
    "  {\"name\": \"app_hits\", \"type\": \"counter\"},\n"
    "  {\"name\": \"app_latency_milliseconds\", \"type\": \"histogram\", \"help\": \"L.\",\n"
    "   \"unit\": \"milliseconds\"},\n"
    "  {\"name\": \"app_queue_depth\", \"type\": \"gauge\", \"help\": \"Depth.\"}]}\n";

Test(e2e_check, names_prometheus_flags_are_warnings_and_the_check_passes)
{
    char *out = NULL;

    daemon_write_file(cfg, "%s", lint_config);
    cr_assert_eq(check(&out, NULL), 0, "%s", out);
    want(out,
         "%s: $.families[0].name: warning: \"app_users_total\" (gauge): non-counter metrics "
         "should not have \"_total\" suffix",
         cfg);
    want(out, "%s: $.families[1].help: warning: \"app_hits_total\" (counter): no help text", cfg);
    want(out,
         "%s: $.families[2].name: warning: \"app_latency_milliseconds\" (histogram): use "
         "base unit \"seconds\" instead of \"milliseconds\"",
         cfg);
    cr_assert_null(strstr(out, "$.families[3]"), "a clean family was flagged: %s", out);
    want(out, "%s: ok (4 families", cfg);
    want(out, "%s: 3 warnings (on stderr)", cfg);
    free(out);
}

Test(e2e_check, seed_003s_documented_names_are_warnings_not_errors)
{
    const char *args[] = { "--check-config", cfg, "--socket", sock, NULL };
    char *out = NULL;

    snprintf(cfg, sizeof(cfg), "%s/packaging/seeds/003-gallery/ustatsd.json", USTATSD_SOURCE_DIR);
    cr_assert_eq(daemon_run_once(args, &out), 0, "%s", out);
    want(out, "$.families[0].name: warning: \"immich_users_total\" (gauge): non-counter metrics "
              "should not have \"_total\" suffix");
    want(out, "warning: \"immich_ml_request_duration_ms\" (histogram): metric names should not "
              "contain abbreviated units");
    want(out, ": ok (");
    free(out);
}

Test(e2e_check, the_daemon_logs_the_same_warnings_once_at_start_up)
{
    struct daemon d;
    char *log;

    cr_assert_eq(daemon_start(&d, lint_config, NULL), 0);
    log = daemon_read_file(d.log);
    cr_assert_eq(daemon_stop(&d), 0);
    cr_assert_not_null(log);
    want(log, "$.families[0].name: \"app_users_total\" (gauge): non-counter metrics should not "
              "have \"_total\" suffix");
    cr_assert_null(strstr(strstr(log, "app_users_total") + 1, "app_users_total"),
                   "logged more than once: %s", log);
    free(log);
}
