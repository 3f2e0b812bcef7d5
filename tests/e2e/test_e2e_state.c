/*
 * State snapshots end to end, through the real binary: send, snapshot, kill -9, start
 * again, send again, and every counter, up-down gauge, histogram bucket, summary window and
 * breaker goes on from where it was. A bad state file never stops the daemon: it is set aside and the
 * daemon starts empty; an unwritable directory is a self-metric and a log line. A snapshot
 * is written by a thread below the loop's priority.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "waitfor.h"

#define P "svc_background_job"

static const char config[] =
    "{\"families\": ["
    "  {\"name\": \"svc_uploads\", \"type\": \"counter\", \"help\": \"Uploads.\","
    "   \"labels\": [{\"name\": \"outcome\", \"values\": [\"ok\", \"error\"]}]},"
    "  {\"name\": \"svc_queue_depth\", \"type\": \"gauge\", \"updown\": true,"
    "   \"help\": \"Queue depth.\", \"labels\": [{\"name\": \"queue\", \"max_values\": 8}]},"
    "  {\"name\": \"svc_latency_seconds\", \"type\": \"histogram\", \"help\": \"Latency.\","
    "   \"buckets\": [0.1, 0.5, 1]},"
    "  {\"name\": \"svc_rpc_seconds\", \"type\": \"summary\", \"help\": \"RPC latency.\"}"
    " ],"
    " \"jobs\": {\"prefix\": \"" P "\", \"list\": ["
    "   {\"name\": \"publish\", \"failure_threshold\": 2, \"open_seconds\": 3600}, \"sweep\"]}}";

static char dir[64];
static char state_path[128];

static void make_dir(void)
{
    daemon_make_dir(dir, sizeof dir, "state");
    snprintf(state_path, sizeof state_path, "%s/state", dir);
}

static void remove_all(void)
{
    cr_assert_eq(daemon_remove_dir(dir), 0);
}

static void start(struct daemon *d, const char *cfg, const char *path, const char *interval)
{
    const char *args[] = { "--state-file", path, NULL };
    char *json = NULL;

    if (interval != NULL) {
        /* daemon.state_interval_seconds, spliced in before the families. */
        cr_assert(asprintf(&json, "{\"daemon\": {\"state_interval_seconds\": %s}, %s", interval,
                           cfg + 1) > 0);
        cfg = json;
    }
    cr_assert_eq(daemon_start(d, cfg, args), 0, "daemon did not start");
    free(json);
}

static void snapshot(struct daemon *d)
{
    char *body = NULL;
    int st = daemon_post(d, "/debug/snapshot", &body);

    cr_assert_eq(st, 200, "POST /debug/snapshot: %d %s", st, body ? body : "");
    cr_assert_not_null(strstr(body, "\"series\":"), "%s", body);
    free(body);
}

static double value(const char *body, const char *series)
{
    double v = expo_value(body, series);

    cr_assert(!isnan(v), "no %s in\n%s", series, body);
    return v;
}

static void send_first(struct daemon *d)
{
    cr_assert_eq(daemon_sends(d, "svc_uploads:3|c|#outcome:ok\n"
                                 "svc_uploads:1|c|#outcome:error\n"
                                 "svc_queue_depth:+5|g|#queue:mail\n"
                                 "svc_queue_depth:-2|g|#queue:mail\n"
                                 "svc_latency_seconds:0.05:0.3:0.3:2|h\n"
                                 "svc_rpc_seconds:100:200:300|ms\n"
                                 "publish:error|j\n"
                                 "publish:error|j\n"
                                 "sweep:worked|j\n"),
                 0);
    cr_assert_eq(daemon_wait_value(d, "svc_uploads_total{outcome=\"ok\"}", 3, 5000), 3);
    cr_assert_eq(
        daemon_wait_value(d, P "_attempts_total{job=\"sweep\",outcome=\"worked\"}", 1, 5000), 1);
}

Test(e2e_state, a_kill_9_after_a_snapshot_loses_nothing, .init = make_dir, .fini = remove_all)
{
    struct daemon d;
    char *before, *after, *om_before, *om_after;
    const char *same[] = {
        "svc_uploads_total{outcome=\"ok\"}",
        "svc_uploads_total{outcome=\"error\"}",
        "svc_queue_depth{queue=\"mail\"}",
        "svc_latency_seconds_bucket{le=\"0.1\"}",
        "svc_latency_seconds_bucket{le=\"0.5\"}",
        "svc_latency_seconds_bucket{le=\"+Inf\"}",
        "svc_latency_seconds_sum",
        "svc_rpc_seconds{quantile=\"0.5\"}",
        "svc_rpc_seconds{quantile=\"0.99\"}",
        "svc_rpc_seconds_sum",
        "svc_rpc_seconds_count",
        P "_attempts_total{job=\"publish\",outcome=\"error\"}",
        P "_errors_total{job=\"publish\"}",
        P "_circuit_open_total{job=\"publish\"}",
        P "_consecutive_failures{job=\"publish\"}",
        P "_circuit_state{job=\"publish\",state=\"open\"}",
        P "_last_error_timestamp_seconds{job=\"publish\"}",
        P "_last_success_timestamp_seconds{job=\"sweep\"}",
    };

    start(&d, config, state_path, NULL);
    send_first(&d);
    snapshot(&d);
    before = daemon_scrape(&d, NULL);
    om_before = daemon_scrape(&d, DAEMON_OPENMETRICS);
    daemon_kill(&d);

    start(&d, config, state_path, NULL);
    after = daemon_scrape(&d, NULL);
    om_after = daemon_scrape(&d, DAEMON_OPENMETRICS);
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        cr_assert_eq(value(after, same[i]), value(before, same[i]), "%s", same[i]);
    cr_assert_eq(value(after, "svc_queue_depth{queue=\"mail\"}"), 3);
    cr_assert_eq(value(after, P "_circuit_state{job=\"publish\",state=\"open\"}"), 1);
    /* The open breaker's time in state goes on: it is not a fresh opening. */
    cr_assert_geq(value(after, P "_circuit_state_seconds{job=\"publish\"}"),
                  value(before, P "_circuit_state_seconds{job=\"publish\"}"));
    /* The counters keep their creation time: Prometheus sees no reset. */
    cr_assert_eq(value(om_after, "svc_uploads_created{outcome=\"ok\"}"),
                 value(om_before, "svc_uploads_created{outcome=\"ok\"}"));
    cr_assert_eq(value(om_after, P "_attempts_created{job=\"publish\",outcome=\"error\"}"),
                 value(om_before, P "_attempts_created{job=\"publish\",outcome=\"error\"}"));
    cr_assert_eq(value(after, "ustatsd_state_restore_result{result=\"restored\"}"), 1);
    cr_assert_eq(value(after, "ustatsd_state_restored_series"), 5);
    cr_assert_eq(value(after, "ustatsd_state_restored_jobs"), 2);

    /* Sent again: everything continues from where it was. */
    cr_assert_eq(daemon_sends(&d, "svc_uploads:2|c|#outcome:ok\n"
                                  "svc_queue_depth:-1|g|#queue:mail\n"
                                  "svc_latency_seconds:0.2|h\n"
                                  "svc_rpc_seconds:400|ms\n"
                                  "publish:worked|j\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "svc_uploads_total{outcome=\"ok\"}", 5, 5000), 5);
    free(after);
    after = daemon_scrape(&d, NULL);
    cr_assert_eq(value(after, "svc_queue_depth{queue=\"mail\"}"), 2);
    cr_assert_eq(value(after, "svc_latency_seconds_bucket{le=\"0.5\"}"), 4);
    cr_assert_eq(value(after, "svc_latency_seconds_count"), 5);
    /* The window kept its three observations: the fourth makes 0.4 the maximum. */
    cr_assert_eq(value(after, "svc_rpc_seconds_count"), 4);
    cr_assert_eq(value(after, "svc_rpc_seconds{quantile=\"0.99\"}"), 0.4);
    cr_assert_eq(value(after, "svc_rpc_seconds{quantile=\"0.5\"}"), 0.2);
    /* Still open (3600 s): a success counts, and the breaker keeps its state. */
    cr_assert_eq(value(after, P "_attempts_total{job=\"publish\",outcome=\"worked\"}"), 1);
    cr_assert_eq(value(after, P "_circuit_state{job=\"publish\",state=\"open\"}"), 1);
    cr_assert_eq(expo_check(after, 0), 0);
    cr_assert_eq(expo_check(om_after, 1), 0);
    free(before);
    free(after);
    free(om_before);
    free(om_after);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e_state, a_clean_stop_writes_the_last_lines_and_the_timer_writes_without_asking,
     .init = make_dir, .fini = remove_all)
{
    struct daemon d;
    char *body;

    /* A clean stop: every line read before SIGTERM is in the file. */
    start(&d, config, state_path, NULL);
    send_first(&d);
    cr_assert_eq(daemon_stop(&d), 0);
    start(&d, config, state_path, NULL);
    body = daemon_scrape(&d, NULL);
    cr_assert_eq(value(body, "svc_uploads_total{outcome=\"ok\"}"), 3);
    free(body);
    cr_assert_eq(daemon_stop(&d), 0);

    /* Every second, without asking: a kill -9 then loses at most that second. */
    start(&d, config, state_path, "1");
    cr_assert_eq(daemon_sends(&d, "svc_uploads:4|c|#outcome:ok\n"), 0);
    cr_assert_eq(daemon_wait_value(&d, "svc_uploads_total{outcome=\"ok\"}", 7, 5000), 7);
    cr_assert_geq(
        daemon_wait_value(&d, "ustatsd_state_snapshots_total{result=\"success\"}", 2, 10000), 2,
        "two ticks: the second began after the line");
    daemon_kill(&d);
    start(&d, config, state_path, "1");
    body = daemon_scrape(&d, NULL);
    cr_assert_eq(value(body, "svc_uploads_total{outcome=\"ok\"}"), 7);
    free(body);
    cr_assert_eq(daemon_stop(&d), 0);
}

/* Write len bytes of data to the state path. */
static void plant(const void *data, size_t len)
{
    FILE *f = fopen(state_path, "wb");

    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static char *log_of(struct daemon *d)
{
    char *log = daemon_read_file(d->log);

    cr_assert_not_null(log);
    return log;
}

/* A good file, made by a daemon with one line in it. */
static char *good_file(size_t *len)
{
    struct daemon d;
    char *data;
    FILE *f;
    long n;

    start(&d, config, state_path, NULL);
    cr_assert_eq(daemon_sends(&d, "svc_uploads:3|c|#outcome:ok\n"), 0);
    cr_assert_eq(daemon_wait_value(&d, "svc_uploads_total{outcome=\"ok\"}", 3, 5000), 3);
    cr_assert_eq(daemon_stop(&d), 0);
    f = fopen(state_path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    data = malloc((size_t)n);
    cr_assert_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Start on the planted file: the daemon starts empty, and the file is set aside. */
static void expect_set_aside(const char *what, const void *data, size_t len, const char *says)
{
    struct daemon d;
    char bad[160], *body, *log, *kept;
    struct stat st;

    plant(data, len);
    start(&d, config, state_path, NULL);
    body = daemon_scrape(&d, NULL);
    log = log_of(&d);
    cr_assert_eq(value(body, "ustatsd_state_restore_result{result=\"set_aside\"}"), 1, "%s", what);
    cr_assert(isnan(expo_value(body, "svc_uploads_total{outcome=\"ok\"}")), "%s: started empty",
              what);
    cr_assert_not_null(strstr(log, state_path), "%s: the log names the file\n%s", what, log);
    cr_assert_not_null(strstr(log, says), "%s: the log says \"%s\"\n%s", what, says, log);
    cr_assert_not_null(strstr(log, ".bad, starting empty"), "%s\n%s", what, log);
    snprintf(bad, sizeof bad, "%s.bad", state_path);
    kept = daemon_read_file(bad);
    cr_assert_not_null(kept, "%s: moved to %s", what, bad);
    cr_assert_eq(memcmp(kept, data, len), 0, "%s: moved as it was", what);
    cr_assert_neq(stat(state_path, &st), 0, "%s: not left in place", what);
    free(kept);
    free(body);
    free(log);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e_state, a_bad_file_is_set_aside_and_the_daemon_starts_empty, .init = make_dir,
     .fini = remove_all)
{
    size_t len;
    char *good = good_file(&len), *copy = malloc(len);
    static const char json[] = "{\"families\": []}\n";

    expect_set_aside("empty", "", 0, "empty");
    expect_set_aside("truncated in the body", good, len / 2, "truncated");
    expect_set_aside("truncated in the trailer", good, len - 5, "truncated");
    expect_set_aside("foreign", json, sizeof json - 1, "not a ustatsd state file");
    memcpy(copy, good, len);
    copy[16] = 2; /* format version 2 */
    expect_set_aside("another version", copy, len, "version 2");
    memcpy(copy, good, len);
    copy[len - 30] ^= 0x40; /* in the compressed body */
    expect_set_aside("corrupt", copy, len, "state file");
    memcpy(copy, good, len);
    memcpy(copy + len - 16, "\0\0\0\0\0\1\0\0", 8); /* the trailer claims 1 TiB */
    expect_set_aside("a bomb", copy, len, "its trailer claims a body of 1099511627776 bytes");
    free(copy);
    free(good);
}

/* Whoever can write the state directory plants links to files the daemon may read. */
Test(e2e_state, a_hostile_state_directory_gets_nothing, .init = make_dir, .fini = remove_all)
{
    static const char secret_text[] = "TOPSECRET-do-not-show-0123456789\n";
    char secret[160], tmp[160], *body, *log, *debug = NULL;
    struct daemon d;

    /* state: a symbolic link to a secret, refused unfollowed, never shown. */
    snprintf(secret, sizeof secret, "%s/secret", dir);
    daemon_write_file(secret, "%s", secret_text);
    cr_assert_eq(chmod(secret, 0600), 0);
    cr_assert_eq(symlink(secret, state_path), 0);
    /* state.tmp: a symbolic link to the same file, which the snapshots must not touch. */
    snprintf(tmp, sizeof tmp, "%s.tmp", state_path);
    cr_assert_eq(symlink(secret, tmp), 0);
    start(&d, config, state_path, NULL);
    body = daemon_scrape(&d, NULL);
    cr_assert_eq(value(body, "ustatsd_state_restore_result{result=\"set_aside\"}"), 1, "%s", body);
    free(body);
    log = log_of(&d);
    cr_assert_not_null(strstr(log, "is a symbolic link"), "%s", log);
    cr_assert_null(strstr(log, "TOPSECRET"), "%s", log);
    cr_assert_eq(daemon_get(&d, "/debug", NULL, &debug), 200);
    cr_assert_not_null(strstr(debug, "is a symbolic link"), "%s", debug);
    cr_assert_null(strstr(debug, "TOPSECRET"), "%s", debug);
    free(debug);
    free(log);

    cr_assert_eq(daemon_sends(&d, "svc_uploads:3|c|#outcome:ok\n"), 0);
    cr_assert_eq(daemon_wait_value(&d, "svc_uploads_total{outcome=\"ok\"}", 3, 5000), 3);
    snapshot(&d);
    cr_assert_eq(daemon_stop(&d), 0);
    body = daemon_read_file(secret);
    cr_assert_str_eq(body, secret_text, "the planted state.tmp's target is untouched");
    free(body);

    /* The final snapshot went through: the next start restores it. */
    start(&d, config, state_path, NULL);
    cr_assert_eq(daemon_wait_value(&d, "svc_uploads_total{outcome=\"ok\"}", 3, 5000), 3);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e_state, an_unreadable_file_and_an_unwritable_directory_never_stop_the_daemon,
     .init = make_dir, .fini = remove_all)
{
    struct daemon d;
    char nowhere[192], *body, *log, *reply = NULL;

    /* A directory where the file should be: it cannot be read, and stays. */
    cr_assert_eq(mkdir(state_path, 0700), 0);
    start(&d, config, state_path, NULL);
    body = daemon_scrape(&d, NULL);
    cr_assert_eq(value(body, "ustatsd_state_restore_result{result=\"unreadable\"}"), 1);
    free(body);
    cr_assert_eq(daemon_stop(&d), 0);

    /* A directory that does not exist: every snapshot fails, counted and logged, and the
     * daemon goes on serving. */
    snprintf(nowhere, sizeof nowhere, "%s/missing/state", dir);
    start(&d, config, nowhere, "1");
    cr_assert_eq(daemon_post(&d, "/debug/snapshot", &reply), 500);
    cr_assert_not_null(strstr(reply, "missing"), "%s", reply);
    cr_assert_not_null(strstr(reply, "No such file or directory"), "%s", reply);
    free(reply);
    cr_assert_eq(daemon_sends(&d, "svc_uploads:1|c|#outcome:ok\n"), 0);
    cr_assert_eq(daemon_wait_value(&d, "svc_uploads_total{outcome=\"ok\"}", 1, 5000), 1);
    cr_assert_geq(
        daemon_wait_value(&d, "ustatsd_state_snapshots_total{result=\"failure\"}", 2, 10000), 2);
    body = daemon_scrape(&d, NULL);
    cr_assert_eq(value(body, "ustatsd_state_last_snapshot_successful"), 0);
    cr_assert(isnan(expo_value(body, "ustatsd_state_last_snapshot_success_timestamp_seconds")));
    log = log_of(&d);
    cr_assert_not_null(strstr(log, "snapshot failed, the daemon runs on"), "%s", log);
    cr_assert_not_null(strstr(log, "No such file or directory"), "%s", log);
    free(body);
    free(log);
    cr_assert_eq(daemon_stop(&d), 0, "the stop's own snapshot fails too: still a clean stop");
}

Test(e2e_state, a_family_whose_layout_changed_is_dropped_and_counted, .init = make_dir,
     .fini = remove_all)
{
    static const char changed[] =
        "{\"families\": ["
        "  {\"name\": \"svc_uploads\", \"type\": \"counter\", \"help\": \"Uploads.\","
        "   \"labels\": [{\"name\": \"outcome\", \"values\": [\"ok\", \"error\"]}]},"
        "  {\"name\": \"svc_latency_seconds\", \"type\": \"histogram\", \"help\": \"Latency.\","
        "   \"buckets\": [0.25, 1]}"
        " ],"
        " \"jobs\": {\"prefix\": \"" P "\", \"list\": [\"sweep\"]}}";
    struct daemon d;
    char *body, *log;

    start(&d, config, state_path, NULL);
    send_first(&d);
    cr_assert_eq(daemon_stop(&d), 0);
    start(&d, changed, state_path, NULL);
    body = daemon_scrape(&d, NULL);
    cr_assert_eq(value(body, "svc_uploads_total{outcome=\"ok\"}"), 3, "kept");
    cr_assert_eq(value(body, "svc_latency_seconds_count"), 0, "new buckets: starts again");
    cr_assert_eq(value(body, "ustatsd_state_restore_dropped{reason=\"layout_changed\"}"), 1);
    cr_assert_eq(value(body, "ustatsd_state_restore_dropped{reason=\"unknown_family\"}"), 2,
                 "svc_queue_depth, svc_rpc_seconds");
    cr_assert_eq(value(body, "ustatsd_state_restore_dropped{reason=\"unknown_job\"}"), 1,
                 "publish");
    cr_assert_eq(value(body, "ustatsd_state_restored_series"), 2);
    log = log_of(&d);
    cr_assert_not_null(strstr(log, "1 layout_changed"), "%s", log);
    free(log);
    free(body);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e_state, the_snapshot_route_takes_post_only_and_says_when_snapshots_are_off)
{
    struct daemon d;
    char *body = NULL;

    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    cr_assert_eq(daemon_post(&d, "/debug/snapshot", &body), 409);
    cr_assert_not_null(strstr(body, "daemon.state_file"), "%s", body);
    free(body);
    cr_assert_eq(daemon_get(&d, "/debug/snapshot", NULL, NULL), 405);
    body = daemon_scrape(&d, NULL);
    cr_assert_null(strstr(body, "ustatsd_state_"), "no state metrics while off");
    free(body);
    cr_assert_eq(daemon_stop(&d), 0);
}

/* The nice value and name of thread tid of pid (fields 19 and 2 of its stat), or -100. */
static int task_nice(pid_t pid, const char *tid, char *comm, size_t commlen)
{
    char path[96], line[1024], *p, *open;
    FILE *f;
    int nice = -100, field;

    snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, tid);
    if ((f = fopen(path, "r")) == NULL)
        return -100;
    if (fgets(line, sizeof(line), f) != NULL && (p = strrchr(line, ')')) != NULL &&
        (open = strchr(line, '(')) != NULL) {
        snprintf(comm, commlen, "%.*s", (int)(p - open - 1), open + 1);
        /* Field 3 follows the command's closing parenthesis; nice is field 19. */
        for (field = 3, p += 2; field < 19 && p != NULL; field++)
            p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
        if (p != NULL)
            nice = atoi(p);
    }
    fclose(f);
    return nice;
}

/*
 * A snapshot's deflate, write and fsync run on the state file's background thread,
 * ustatsd-state, 10 nice steps below the loop thread (19 at most), so that a big one
 * slows down rather than the loop; every other thread (the loop, libuv's pool for TLS
 * handshakes, bcrypt and the reload's parse) keeps the process's priority.
 */
Test(e2e_state, a_snapshot_is_written_by_a_thread_below_the_loop, .init = make_dir,
     .fini = remove_all)
{
    struct daemon d;
    char path[64], name[32], comm[32];
    int loop_nice, want, n, bg = 0, others = 0;
    DIR *tasks;
    struct dirent *e;

    start(&d, config, state_path, NULL);
    send_first(&d);
    snapshot(&d);
    snprintf(name, sizeof(name), "%d", (int)d.pid);
    loop_nice = task_nice(d.pid, name, comm, sizeof(comm));
    /* The daemon inherits this process's nice value, and its loop thread keeps it. */
    cr_assert_eq(loop_nice, getpriority(PRIO_PROCESS, 0), "the loop thread runs at nice %d",
                 loop_nice);
    want = loop_nice + 10 > 19 ? 19 : loop_nice + 10;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)d.pid);
    cr_assert_not_null(tasks = opendir(path));
    while ((e = readdir(tasks)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        n = task_nice(d.pid, e->d_name, comm, sizeof(comm));
        if (strcmp(comm, "ustatsd-state") == 0) {
            cr_assert_eq(n, want, "the background thread runs at nice %d, not %d", n, want);
            bg++;
        } else {
            cr_assert_eq(n, loop_nice, "thread %s (%s) runs at nice %d, the loop at %d", e->d_name,
                         comm, n, loop_nice);
            others++;
        }
    }
    closedir(tasks);
    cr_assert_eq(bg, 1, "%d threads named ustatsd-state", bg);
    cr_assert_geq(others, 1);
    cr_assert_eq(daemon_stop(&d), 0);
}
