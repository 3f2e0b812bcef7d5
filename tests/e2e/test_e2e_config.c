/*
 * End to end through the real binary, what surrounds the data: the config checked and
 * refused by name, flags and environment variables, the socket's mode, group and a stale
 * file, the bearer token, and JSON logs.
 */
#include <criterion/criterion.h>

#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"

static const char config[] =
    "{\n"
    "  \"families\": [\n"
    "    {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "     \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}\n"
    "  ]\n"
    "}\n";

static struct daemon d;

Test(e2e_config, json_logs_carry_level_pid_timestamp_message_and_context)
{
    const char *args[] = { "--log-format", "json", NULL };
    char *log, *line;

    cr_assert_eq(daemon_start(&d, config, args), 0);
    log = daemon_read_file(d.log);
    cr_assert_not_null(log);
    cr_assert_eq(daemon_stop(&d), 0);
    line = strtok(log, "\n");
    cr_assert_not_null(line);
    for (; line; line = strtok(NULL, "\n")) {
        cr_assert_eq(line[0], '{', "not JSON: %s", line);
        cr_assert_not_null(strstr(line, "\"level\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"pid\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"timestamp\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"message\":"), "%s", line);
        cr_assert_not_null(strstr(line, "\"context\":"), "%s", line);
    }
    free(log);
}

Test(e2e_config, invalid_config_is_refused_naming_file_path_and_problem)
{
    char path[] = "/tmp/ustatsd-badcfg-XXXXXX";
    const char *check[] = { "--check-config", path, NULL };
    const char *run[] = { "--config", path, "--socket", "/tmp/ustatsd-never.sock", NULL };
    char *out = NULL;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    fputs("{\"families\": [{\"name\": \"x\", \"type\": \"counter\", \"buckets\": [1]}]}", f);
    fclose(f);
    cr_assert_eq(daemon_run_once(check, &out), 1);
    cr_assert_not_null(strstr(out, path), "message does not name the file: %s", out);
    cr_assert_not_null(strstr(out, "$.families[0]"), "message does not name the path: %s", out);
    free(out);
    cr_assert_eq(daemon_run_once(run, &out), 1);
    cr_assert_not_null(strstr(out, "$.families[0]"), "%s", out);
    cr_assert_eq(access("/tmp/ustatsd-never.sock", F_OK), -1);
    free(out);
    unlink(path);
}

Test(e2e_config, check_config_refuses_a_conninfo_the_daemon_would_refuse)
{
    char path[] = "/tmp/ustatsd-pgcfg-XXXXXX";
    const char *check[] = { "--check-config", path, NULL };
    char *out = NULL;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    fputs("{\"postgres\": {\"conninfo\": \"host=db.example.com dbname=x password=hunter2\"}}", f);
    fclose(f);
    cr_assert_eq(daemon_run_once(check, &out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "$.postgres.conninfo"), "%s", out);
    cr_assert_null(strstr(out, "hunter2"), "the message quotes the password: %s", out);
    free(out);
    unlink(path);
}

/*
 * Every shipped config is valid. What the seeds need of the host (their socket group, seed
 * 001's token and web config files, /run/ustatsd) is not this machine's: the check says
 * so, and passes with the socket, group and web config overridden and the token file put
 * in place.
 */
Test(e2e_config, check_config_accepts_the_example_and_every_seed)
{
    static const char *const files[] = {
        "packaging/ustatsd.example.json",
        "packaging/seeds/000-imgsrv/ustatsd.json",
        "packaging/seeds/001-imgforge/ustatsd.json",
        "packaging/seeds/002-connaisseur/ustatsd.json",
        "packaging/seeds/003-gallery/ustatsd.json",
        "packaging/seeds/004-inference/ustatsd.json",
    };
    static const char shipped_token[] = "/etc/ustatsd/imgforge.token";
    char dir[] = "/tmp/ustatsd-seeds-XXXXXX";
    char path[512], copy[128], sock[128], token[128];
    size_t i;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(copy, sizeof(copy), "%s/ustatsd.json", dir);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", dir);
    snprintf(token, sizeof(token), "%s/imgforge.token", dir);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        /* Seed 001's web config (TLS) is tested with generated certificates elsewhere. */
        const char *args[] = { "--check-config",    copy, "--socket", sock, "--socket-group", "",
                               "--web.config.file", "",   NULL };
        char *text, *at, *out = NULL;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", USTATSD_SOURCE_DIR, files[i]);
        text = daemon_read_file(path);
        cr_assert_not_null(text, "%s", path);
        f = fopen(copy, "w");
        cr_assert_not_null(f);
        /* Seed 001's token file, in the scratch directory. */
        if ((at = strstr(text, shipped_token)) != NULL) {
            FILE *t = fopen(token, "w");

            fputs("imgforge-scrape-token\n", t);
            fclose(t);
            fprintf(f, "%.*s%s%s", (int)(at - text), text, token, at + strlen(shipped_token));
        } else {
            fputs(text, f);
        }
        fclose(f);
        cr_assert_eq(daemon_run_once(args, &out), 0, "%s: %s", files[i], out);
        free(out);
        free(text);
    }

    /* As shipped, on a host without their groups or token file, 000 and 001 would not start. */
    for (i = 1; i <= 2; i++) {
        const char *args[] = { "--check-config", path, "--socket", sock, NULL };
        const char *group = i == 1 ? "imgsrv" : "imgforge";
        char want[128], *out = NULL;

        if (getgrnam(group) != NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", USTATSD_SOURCE_DIR, files[i]);
        cr_assert_eq(daemon_run_once(args, &out), 1, "%s: %s", files[i], out);
        snprintf(want, sizeof(want), "$.daemon.socket_group: socket group \"%s\" does not exist",
                 group);
        cr_assert_not_null(strstr(out, want), "%s", out);
        if (i == 2 && access(shipped_token, F_OK) != 0)
            cr_assert_not_null(strstr(out, "$.daemon.bearer_token_file: bearer token file "
                                           "/etc/ustatsd/imgforge.token: "),
                               "%s", out);
        if (i == 2 && access("/etc/ustatsd/imgforge-web.yml", F_OK) != 0)
            cr_assert_not_null(strstr(out, "$.daemon.web_config_file: "
                                           "/etc/ustatsd/imgforge-web.yml: "),
                               "%s", out);
        free(out);
    }
    unlink(copy);
    unlink(token);
    rmdir(dir);
}

Test(e2e_config, socket_path_that_is_not_a_socket_is_refused)
{
    char dir[] = "/tmp/ustatsd-notsock-XXXXXX";
    char path[128], cfgpath[160];
    const char *args[] = { "--config", cfgpath, "--socket", path, "--metrics-listen", "", NULL };
    char *out = NULL;
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/plain-file", dir);
    snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", dir);
    f = fopen(path, "w");
    fputs("precious", f);
    fclose(f);
    f = fopen(cfgpath, "w");
    fputs(config, f);
    fclose(f);
    cr_assert_eq(daemon_run_once(args, &out), 1);
    cr_assert_not_null(strstr(out, path), "message does not name the path: %s", out);
    free(out);
    out = daemon_read_file(path);
    cr_assert_str_eq(out, "precious");
    free(out);
    unlink(path);
    unlink(cfgpath);
    rmdir(dir);
}

Test(e2e_config, stale_socket_from_a_crash_is_replaced)
{
    const char *args[] = { NULL };
    struct daemon first;

    cr_assert_eq(daemon_start(&first, config, args), 0);
    /* A crash leaves the socket file behind. */
    kill(first.pid, SIGKILL);
    waitpid(first.pid, NULL, 0);
    first.pid = 0;
    {
        struct stat st;
        cr_assert_eq(lstat(first.sock, &st), 0);
        cr_assert(S_ISSOCK(st.st_mode));
    }
    {
        /* A second daemon on the same path starts and serves. */
        char sock[192];
        const char *again[] = { "--socket", sock, NULL };
        snprintf(sock, sizeof(sock), "%s", first.sock);
        cr_assert_eq(daemon_start(&d, config, again), 0);
        cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:GET"), 0);
        cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000), 1);
        cr_assert_eq(daemon_stop(&d), 0);
    }
    daemon_stop(&first);
}

Test(e2e_config, socket_mode_is_applied)
{
    const char *args[] = { "--socket-mode", "0600", NULL };
    struct stat st;

    cr_assert_eq(daemon_start(&d, config, args), 0);
    cr_assert_eq(lstat(d.sock, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e_config, example_config_serves_a_clean_exposition)
{
    char path[512];
    char *cfg, *text, *om;

    snprintf(path, sizeof(path), "%s/packaging/ustatsd.example.json", USTATSD_SOURCE_DIR);
    cfg = daemon_read_file(path);
    cr_assert_not_null(cfg);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
    cr_assert_eq(daemon_sends(&d, "imgsrv_objectstore_operations_total:1|c|#operation:get,"
                                  "outcome:success\n"
                                  "imgsrv_objectstore_operation_duration_seconds:12|ms|#operation:"
                                  "put,outcome:error\n"
                                  "inference_latency_seconds:0.07|h|#model:resnet,version:v1,"
                                  "tenant:acme\n"
                                  "job_queue_depth:+3|g|#model:resnet,version:v1\n"
                                  "imgsrv_thumbnail_duration_seconds:35|ms|#format:webp\n"
                                  "publish:worked|j\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 6, 5000), 6);
    text = daemon_scrape(&d, NULL);
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_float_eq(expo_value(text, "imgsrv_objectstore_operation_duration_seconds_sum{"
                                        "operation=\"put\",outcome=\"error\"}"),
                       0.012, 1e-12);
    cr_assert_float_eq(
        expo_value(text, "imgsrv_thumbnail_duration_seconds{format=\"webp\",quantile=\"0.99\"}"),
        0.035, 1e-12);
    cr_assert_eq(expo_check(text, 0), 0);
    cr_assert_eq(expo_check(om, 1), 0);
    free(text);
    free(om);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e_config, environment_variables_configure_the_daemon_and_flags_win)
{
    const char *args[] = { "--metrics-path", "/flag-metrics", NULL };
    char *log;

    setenv("USTATSD_METRICS_PATH", "/env-metrics", 1);
    setenv("USTATSD_LOG_FORMAT", "json", 1);
    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    cr_assert_eq(daemon_get(&d, "/env-metrics", NULL, NULL), 200);
    cr_assert_eq(daemon_get(&d, "/metrics", NULL, NULL), 404);
    log = daemon_read_file(d.log);
    cr_assert_eq(log[0], '{', "USTATSD_LOG_FORMAT=json ignored: %s", log);
    free(log);
    cr_assert_eq(daemon_stop(&d), 0);

    cr_assert_eq(daemon_start(&d, config, args), 0);
    cr_assert_eq(daemon_get(&d, "/flag-metrics", NULL, NULL), 200);
    cr_assert_eq(daemon_get(&d, "/env-metrics", NULL, NULL), 404);
    cr_assert_eq(daemon_stop(&d), 0);
    unsetenv("USTATSD_METRICS_PATH");
    unsetenv("USTATSD_LOG_FORMAT");

    /* A bad value is refused naming the variable or flag it came from. */
    {
        char path[512];
        const char *env_run[] = { "--config", path, NULL };
        const char *flag_run[] = { "--config", path, "--log-level", "loud", NULL };
        char *out = NULL;

        snprintf(path, sizeof(path), "%s/packaging/ustatsd.example.json", USTATSD_SOURCE_DIR);
        setenv("USTATSD_SOCKET_MODE", "abc", 1);
        cr_assert_eq(daemon_run_once(env_run, &out), 2);
        cr_assert_not_null(strstr(out, "USTATSD_SOCKET_MODE \"abc\""), "%s", out);
        free(out);
        unsetenv("USTATSD_SOCKET_MODE");
        cr_assert_eq(daemon_run_once(flag_run, &out), 2);
        cr_assert_not_null(strstr(out, "--log-level \"loud\""), "%s", out);
        free(out);
    }
}

Test(e2e_config, bearer_token_guards_metrics_and_debug_but_not_health)
{
    char tokfile[] = "/tmp/ustatsd-token-XXXXXX";
    char cfg[sizeof(config) + 256];
    struct httpc_response r;
    int fd = mkstemp(tokfile);

    cr_assert_eq(write(fd, "s3cret\n", 7), 7);
    close(fd);
    /* The same config with a daemon section naming the token file. */
    snprintf(cfg, sizeof(cfg), "{\n  \"daemon\": {\"bearer_token_file\": \"%s\"},%s", tokfile,
             config + 2);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    cr_assert_eq(daemon_get(&d, "/metrics", NULL, NULL), 401);
    cr_assert_eq(daemon_get(&d, "/debug", NULL, NULL), 401);
    cr_assert_eq(daemon_get(&d, "/-/healthy", NULL, NULL), 200);
    cr_assert_eq(daemon_get(&d, "/-/ready", NULL, NULL), 200);
    cr_assert_eq(httpc_get(d.http, "/metrics", "Authorization: Bearer wrong\r\n", &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(d.http, "/metrics", "Authorization: Bearer s3cret\r\n", &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "ustatsd_lines_accepted_total"));
    httpc_response_release(&r);
    cr_assert_eq(daemon_stop(&d), 0);
    unlink(tokfile);
}

Test(e2e_config, socket_group_is_applied)
{
    struct group *g = getgrgid(getgid());
    const char *args[] = { "--socket-group", g ? g->gr_name : "root", NULL };
    struct stat st;

    cr_assert_eq(daemon_start(&d, config, args), 0);
    cr_assert_eq(lstat(d.sock, &st), 0);
    cr_assert_eq(st.st_gid, getgid());
    cr_assert_eq(daemon_stop(&d), 0);
    {
        const char *bad[] = { "--config",
                              d.config,
                              "--socket",
                              "/tmp/ustatsd-nogroup.sock",
                              "--socket-group",
                              "no-such-group-here",
                              "--metrics-listen",
                              "",
                              NULL };
        char *out = NULL;
        char path[] = "/tmp/ustatsd-grp-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_eq(write(fd, config, strlen(config)), (ssize_t)strlen(config));
        close(fd);
        bad[1] = path;
        cr_assert_eq(daemon_run_once(bad, &out), 1);
        cr_assert_not_null(strstr(out, "no-such-group-here"), "%s", out);
        free(out);
        unlink(path);
    }
}
