/*
 * client/ustatsd.h as a service would use it, built twice by tests/CMakeLists.txt: as
 * C99 (this file) and as C++11 (client_compile.cpp includes this file), both with
 * -Wall -Wextra -pedantic -Werror and nothing from the ustatsd build but the header's
 * directory. Every public function runs once against a socket bound in a temp dir, and
 * the bytes received are compared, so a header that compiles but misbehaves in either
 * language fails too. Exit status 0 on success.
 */
#if !defined(__cplusplus) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* the header needs POSIX.1-2008; g++ has _GNU_SOURCE */
#endif
#include "ustatsd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "client_compile: FAILED: %s\n", what);
        failures++;
    }
}

/* The next datagram on rx must be exactly want. */
static void expect(int rx, const char *want)
{
    char got[USTATSD_DGRAM_MAX + 1];
    ssize_t n = recv(rx, got, sizeof(got) - 1, MSG_DONTWAIT);
    if (n < 0) {
        fprintf(stderr, "client_compile: FAILED: nothing received, wanted %s", want);
        failures++;
        return;
    }
    got[n] = '\0';
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "client_compile: FAILED: got \"%s\", wanted \"%s\"\n", got, want);
        failures++;
    }
}

/* A clock the program moves by hand: the milliseconds that arg points to. */
static long long hand_clock(void *arg)
{
    return *(const long long *)arg;
}

/* ustatsd_open_with() and a caller's clock: the back-off waits for that clock, not time. */
static void check_clock(const char *dir, int *rx)
{
    struct sockaddr_un sa;
    struct ustatsd c;
    struct ustatsd_options opts;
    long long now_ms = 5000;

    memset(&opts, 0, sizeof(opts));
    opts.clock = hand_clock;
    opts.clock_arg = &now_ms;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/later.sock", dir);
    check(ustatsd_open_with(&c, sa.sun_path, &opts) == 0, "ustatsd_open_with");
    c.batching = 0;
    *rx = socket(AF_UNIX, SOCK_DGRAM, 0);
    check(*rx >= 0 && bind(*rx, (const struct sockaddr *)&sa, sizeof(sa)) == 0, "bind later");
    check(ustatsd_count(&c, "early", 1, NULL, 0) == -ENOENT, "no reconnect before the interval");
    now_ms += USTATSD_RECONNECT_MS;
    check(ustatsd_count(&c, "late", 1, NULL, 0) == 0, "reconnect once the clock says so");
    expect(*rx, "late:1|c\n");
    check(ustatsd_close(&c) == 0 && c.connects == 1, "one connect");
    unlink(sa.sun_path);
}

int main(void)
{
    char dir[] = "/tmp/ustatsd-compile-XXXXXX";
    struct sockaddr_un sa;
    struct ustatsd st;
    struct ustatsd_label labels[2] = { { "method", "GET" }, { "canary", NULL } };
    int rx;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ustatsd.sock", dir);
    rx = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (rx < 0 || bind(rx, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("bind");
        return 1;
    }

    check(ustatsd_open(&st, sa.sun_path) == 0, "ustatsd_open");
    st.batching = 0;
    check(ustatsd_count(&st, "requests", 3, labels, 1) == 0, "ustatsd_count");
    expect(rx, "requests:3|c|#method:GET\n");
    check(ustatsd_count_sampled(&st, "requests", 1, 0.5, NULL, 0) == 0, "count_sampled");
    expect(rx, "requests:1|c|@0.5\n");
    check(ustatsd_gauge_set(&st, "temp", -2.5, NULL, 0) == 0, "ustatsd_gauge_set");
    expect(rx, "temp:0|g\ntemp:-2.5|g\n");
    check(ustatsd_gauge_add(&st, "queue", 0.25, NULL, 0) == 0, "ustatsd_gauge_add");
    expect(rx, "queue:+0.25|g\n");
    check(ustatsd_observe(&st, "size", 0.1, labels, 2) == 0, "ustatsd_observe");
    expect(rx, "size:0.1|h|#method:GET,canary\n");
    check(ustatsd_observe_sampled(&st, "size", 1e-300, 0.25, NULL, 0) == 0, "observe_sampled");
    expect(rx, "size:1e-300|h|@0.25\n");
    check(ustatsd_timing_ms(&st, "lat", 12.5, NULL, 0) == 0, "ustatsd_timing_ms");
    expect(rx, "lat:12.5|ms\n");
    check(ustatsd_timing_ms_sampled(&st, "lat", 3, 0.1, NULL, 0) == 0, "timing_ms_sampled");
    expect(rx, "lat:3|ms|@0.1\n");
    check(ustatsd_job(&st, "mailer", USTATSD_OUTCOME_IDLE, NULL, 0) == 0, "ustatsd_job");
    expect(rx, "mailer:idle|j\n");
    check(ustatsd_raw(&st, "any bytes|x", 11) == 0, "ustatsd_raw");
    expect(rx, "any bytes|x\n");

    st.batching = 1;
    check(ustatsd_job(&st, "mailer", USTATSD_OUTCOME_ERROR, NULL, 0) == 0, "batched job");
    check(ustatsd_count(&st, "requests", 1, NULL, 0) == 0, "batched count");
    check(recv(rx, dir, 1, MSG_DONTWAIT) < 0, "batched lines wait for a flush");
    check(ustatsd_flush(&st) == 0, "ustatsd_flush");
    expect(rx, "mailer:error|j\nrequests:1|c\n");

    check(ustatsd_check_name("a.b-c_d", 7) == 0, "ustatsd_check_name valid");
    check(ustatsd_check_name("9lives", 6) == USTATSD_EBADNAME, "ustatsd_check_name invalid");
    check(ustatsd_check_label("k", 1, "v:w x", 5) == 0, "ustatsd_check_label valid");
    check(ustatsd_check_label("k", 1, "a,b", 3) == USTATSD_EBADLABEL, "check_label invalid");
    check(ustatsd_check_labels(labels, 2) == 0, "ustatsd_check_labels");
    check(ustatsd_check_value(1.5) == 0, "ustatsd_check_value");
    check(ustatsd_check_rate(0.0) == USTATSD_EBADRATE, "ustatsd_check_rate");
    check(ustatsd_count(&st, "bad name", 1, NULL, 0) == USTATSD_EBADNAME, "invalid call");
    check(st.lines_invalid == 1, "lines_invalid");
    check(strcmp(ustatsd_err_name(USTATSD_ECLOSED), "USTATSD_ECLOSED") == 0, "err_name");
    check(ustatsd_strerror(-ENOENT)[0] != '\0', "ustatsd_strerror");

    check(ustatsd_close(&st) == 0, "ustatsd_close");
    check(ustatsd_count(&st, "requests", 1, NULL, 0) == USTATSD_ECLOSED, "closed client");
    check(st.datagrams_sent == 11 && st.lines_sent == 13 && st.datagrams_dropped == 0, "counters");

    close(rx);
    unlink(sa.sun_path);
    check_clock(dir, &rx);
    close(rx);
    rmdir(dir);
    return failures == 0 ? 0 : 1;
}
