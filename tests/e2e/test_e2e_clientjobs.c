/*
 * Background jobs and an up-down gauge reported by real DogStatsD clients, which cannot
 * send `|j`: hot-shots 17.1.1 for Node (tests/e2e/node/hotshots.js, scenario "jobs") and
 * datadog-go 2.1.0, Debian's (tests/e2e/go/dogstatsd_jobs.go). Each sends job runs as
 * service checks and counter lines with an outcome tag, enough errors to open a breaker,
 * and moves a gauge with increments and decrements. The test sends the same runs and
 * moves as native lines (`|j`, signed `|g`) to twins of the job and the gauge, and every
 * value the daemon exposes for the client's must be the twin's.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "waitfor.h"

static const char config[] =
    "{\"families\": ["
    "  {\"name\": \"inflight\", \"type\": \"gauge\", \"updown\": true, \"help\": \"In flight.\"},"
    "  {\"name\": \"inflight_native\", \"type\": \"gauge\", \"updown\": true, \"help\": \"Twin.\"}"
    " ],"
    " \"jobs\": {\"prefix\": \"imgsrv_background_job\", \"failure_threshold\": 3,"
    "  \"open_seconds\": 86400,"
    "  \"list\": [\"publish\", \"publish_native\", \"cas-promotion\", \"cas-promotion_native\"]}"
    "}";

static struct daemon d;

DAEMON_FIXTURE(d, config)

/* The clients' scenario as native lines, for the twins. */
static const char native[] = "publish_native:worked|j\n"
                             "publish_native:idle|j\n"
                             "publish_native:error|j\n"
                             "publish_native:error|j\n"
                             "publish_native:error|j\n"
                             "publish_native:idle|j\n"
                             "cas-promotion_native:error|j\n"
                             "cas-promotion_native:error|j\n"
                             "inflight_native:+1|g\n"
                             "inflight_native:+1|g\n"
                             "inflight_native:+1|g\n"
                             "inflight_native:-1|g\n"
                             "inflight_native:+4|g\n"
                             "inflight_native:-2|g\n";
#define NATIVE_LINES 14
#define CLIENT_LINES 13 /* accepted; and the UNKNOWN check, refused */

/*
 * Run argv (argv[0] found on PATH) with NODE_PATH set to modules (or not, NULL), its
 * stdout into the daemon's directory; returns what it printed. It must exit 0.
 */
static char *run(const char *const *argv, const char *modules)
{
    char out[256];
    int status;
    pid_t pid;
    char *text;

    snprintf(out, sizeof(out), "%.200s/client.out", d.dir);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(126);
        close(fd);
        if (modules != NULL)
            setenv("NODE_PATH", modules, 1);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    status = waitfor_exit(pid, 30000);
    if (status < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_fail("%s did not exit within 30 s", argv[0]);
    }
    text = daemon_read_file(out);
    cr_assert_not_null(text);
    cr_assert_eq(status, 0, "%s exited with %d; it printed:\n%s", argv[0], status, text);
    return text;
}

#define P "imgsrv_background_job"

/* A job family's series: P + family + {job="job" + more}. */
static void series(char *out, size_t len, const char *family, const char *job, const char *more)
{
    snprintf(out, len, P "%s{job=\"%s\"%s}", family, job, more);
}

/* Every job family of job and its twin, with the values the scenario gives. */
static void check_job(const char *m, const char *job, const char *twin, const double *want)
{
    static const char *const fam[][2] = {
        { "_attempts_total", ",outcome=\"worked\"" },
        { "_attempts_total", ",outcome=\"idle\"" },
        { "_attempts_total", ",outcome=\"error\"" },
        { "_errors_total", "" },
        { "_circuit_open_total", "" },
        { "_consecutive_failures", "" },
        { "_circuit_state", ",state=\"closed\"" },
        { "_circuit_state", ",state=\"open\"" },
        { "_circuit_state", ",state=\"half_open\"" },
    };
    static const char *const times[] = { "_last_success_timestamp_seconds",
                                         "_last_error_timestamp_seconds" };
    char a[256], b[256];
    double x, y;

    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
        series(a, sizeof(a), fam[i][0], job, fam[i][1]);
        series(b, sizeof(b), fam[i][0], twin, fam[i][1]);
        x = expo_value(m, a);
        y = expo_value(m, b);
        cr_expect_eq(x, y, "%s = %.17g, but %s = %.17g", a, x, b, y);
        cr_expect_eq(x, want[i], "%s = %.17g, want %.17g", a, x, want[i]);
    }
    /* The times differ by when each line came; each is there for both, or for neither. */
    for (size_t k = 0; k < 2; k++) {
        series(a, sizeof(a), times[k], job, "");
        series(b, sizeof(b), times[k], twin, "");
        x = expo_value(m, a);
        y = expo_value(m, b);
        cr_expect_eq(isnan(x), isnan(y), "%s = %.17g and %s = %.17g", a, x, b, y);
        cr_expect(isnan(x) || x > 1.7e9, "%s = %.17g", a, x);
    }
}

/*
 * Send the twins' lines, run the client (which must print says), then compare everything.
 */
static void compare_with_native(const char *const *argv, const char *modules, const char *says)
{
    /* worked, idle, error, errors, openings, failures, closed, open, half-open */
    static const double publish[] = { 1, 2, 3, 3, 1, 0, 0, 1, 0 };
    static const double cas[] = { 0, 0, 2, 2, 0, 2, 1, 0, 0 };
    char *out, *m, *om;

    cr_assert_eq(daemon_sends(&d, native), 0);
    out = run(argv, modules);
    cr_assert_not_null(strstr(out, says), "not the pinned client? It printed:\n%s", out);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_accepted_total", NATIVE_LINES + CLIENT_LINES, 10000),
        NATIVE_LINES + CLIENT_LINES, "the client printed:\n%s", out);
    m = daemon_scrape(&d, NULL);
    check_job(m, "publish", "publish_native", publish);
    check_job(m, "cas-promotion", "cas-promotion_native", cas);
    cr_expect(isnan(expo_value(m, P "_last_success_timestamp_seconds{job=\"cas-promotion\"}")));
    cr_expect_eq(expo_value(m, "inflight"), 4);
    cr_expect_eq(expo_value(m, "inflight_native"), 4);
    /* The UNKNOWN check, and nothing else, refused. */
    cr_expect_eq(expo_value(m, "ustatsd_lines_rejected_total{reason=\"service_check_status\"}"), 1);
    cr_expect_eq(expo_sum(m, "ustatsd_lines_rejected_total", &(int){ 0 }), 1);
    cr_expect_eq(expo_check(m, 0), 0, "promtool rejected the exposition");
    om = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_expect_not_null(
        strstr(om, P "_circuit_state{job=\"publish\"," P "_circuit_state=\"open\"} 1\n"));
    cr_expect_eq(expo_check(om, 1), 0, "promtool rejected the OpenMetrics exposition");
    free(om);
    free(m);
    free(out);
}

Test(e2e_clientjobs, hot_shots_check_and_increment_count_as_native_job_lines, .init = start,
     .fini = stop)
{
    const char *modules = getenv("USTATSD_NODE_MODULES"), *src = getenv("USTATSD_SOURCE_DIR");
    char script[1024];
    const char *argv[] = { "node", script, "uds", d.sock, "0", "jobs", NULL };

    cr_assert_not_null(modules, "USTATSD_NODE_MODULES is not set: run the test through ctest");
    cr_assert_not_null(src);
    snprintf(script, sizeof(script), "%s/tests/e2e/node/hotshots.js", src);
    compare_with_native(argv, modules, "hot_shots=17.1.1\n");
}

Test(e2e_clientjobs, datadog_go_service_checks_and_counts_count_as_native_job_lines, .init = start,
     .fini = stop)
{
    const char *bin = getenv("USTATSD_GO_CLIENT");
    const char *argv[] = { bin, d.sock, NULL };

    cr_assert_not_null(bin, "USTATSD_GO_CLIENT is not set: run the test through ctest");
    compare_with_native(argv, NULL, "sent=14\n");
}
