/*
 * daemon: run the real ustatsd binary in end-to-end tests.
 *
 * Each struct daemon owns a fresh temporary directory holding the config, the ingest
 * socket, an HTTP listener on a Unix socket (so parallel tests never fight over ports)
 * and the daemon's log. The binary is $USTATSD_BIN (set by ctest).
 *
 *     struct daemon d;
 *     cr_assert_eq(daemon_start(&d, config_json, NULL), 0);
 *     daemon_send(&d, "jobs:1|c", 8);
 *     daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000);
 *     daemon_wait_scrape(&d, cond, arg, 5000);  until cond(body, arg) holds
 *     char *body = daemon_scrape(&d, NULL);   ... free(body);
 *     cr_assert_eq(daemon_stop(&d), 0);       SIGTERM, exit status, socket removed
 *
 * Blocking, with timeouts everywhere: a broken daemon fails a test, never hangs it. Wait
 * for events (daemon_wait_*, waitfor.h), never for a fixed time. The benchmarks start
 * the daemon here too: $USTATSD_BIN names the binary, so an old build and a new one can
 * be compared, and daemon_start_with() pins it to a CPU.
 */
#ifndef USTATSD_TESTS_DAEMON_H
#define USTATSD_TESTS_DAEMON_H

#include <stddef.h>
#include <sys/types.h>
#include "exposcan.h"

#define DAEMON_OPENMETRICS "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"

struct daemon {
    pid_t pid;     /* 0 when not running */
    char dir[128]; /* the temporary directory */
    char config[192];
    char sock[192]; /* ingest socket */
    char http[200]; /* "unix:<dir>/http.sock" */
    char log[192];  /* the daemon's stderr */
    int fd;         /* a datagram socket connected to sock, for daemon_send */
    /*
     * Sockets were passed (daemon_options.listen_fds): the ingest socket is the caller's,
     * which the daemon must leave in place at stop; daemon_stop() then checks that it did
     * and removes it.
     */
    int passed;
};

/* How to start the daemon, beyond its config. Zero it, then set what differs. */
struct daemon_options {
    const char *const *args; /* more arguments (NULL-terminated), or NULL */
    int pin;                 /* nonzero: run the daemon on CPU cpu only (benchmarks) */
    int cpu;
    /*
     * More environment, "NAME=VALUE" (NULL-terminated), or NULL; set in the child after
     * fork, where a VALUE of "$PID" becomes the child's pid (WATCHDOG_PID must name the
     * daemon itself).
     */
    const char *const *env;
    int no_wait; /* nonzero: return once started, without waiting for /-/ready or
                  * connecting to the ingest socket (daemon_connect() does that) */
    /*
     * Descriptors 0 .. closed_std_fds-1 closed in the daemon (0 to 3), as a harness or a
     * shell's `<&-` may start it; the log then lacks what went to a closed 1 or 2.
     */
    int closed_std_fds;
    /*
     * Sockets to pass as systemd does (socket activation): listen_fds[0 .. nlisten_fds-1]
     * become the daemon's descriptors 3, 4, ... with LISTEN_FDS and LISTEN_PID (its own
     * pid) set. They stay the caller's: close them after the call. At most 16.
     */
    const int *listen_fds;
    int nlisten_fds;
    /*
     * A command the daemon runs under (NULL-terminated, first an absolute path), such as
     * setpriv to run it as another user; NULL: none. owner: nonzero, the uid (and gid)
     * the daemon's directory and config are given to, that such a daemon can use them.
     */
    const char *const *wrap;
    unsigned owner;
    /*
     * How long to wait for /-/ready, in ms; 0: 10 s. A benchmark that restores millions
     * of series from a state file needs more.
     */
    unsigned ready_timeout_ms;
};

/*
 * Write config_json to the directory and start the daemon with --config, --socket and
 * --metrics-listen pointing into it, plus extra_args (NULL-terminated, may be NULL).
 * Waits until GET /-/ready answers 200 (10 s at most; ready_timeout_ms). Returns 0, or -1 after printing
 * the daemon's log to stderr.
 */
int daemon_start(struct daemon *d, const char *config_json, const char *const *extra_args);

/* daemon_start() with options (o NULL: none); the options are only read during the call. */
int daemon_start_with(struct daemon *d, const char *config_json, const struct daemon_options *o);

/*
 * Run the binary with args (NULL-terminated, argv[0] excluded) and no daemon set-up;
 * capture its stderr and stdout into out (malloc'd, NUL-terminated; may be NULL).
 * Returns the exit status, or -1 when it did not exit within 10 s (it is killed).
 */
int daemon_run_once(const char *const *args, char **out);

/* Connect the datagram socket daemon_send() uses to d->sock. Returns 0 or -1. */
int daemon_connect(struct daemon *d);

/* SIGTERM, wait (10 s at most), then remove the directory. Returns the exit status. */
int daemon_stop(struct daemon *d);

/*
 * A test file whose every test runs one daemon: daemon_fixture_start() starts d on
 * config_json with no extra arguments, daemon_fixture_stop() stops it, each failing the
 * test (Criterion's cr_assert) when it does not. DAEMON_FIXTURE(d, config) defines
 * start() and stop() on them, for the tests' .init = start and .fini = stop.
 */
void daemon_fixture_start(struct daemon *d, const char *config_json);
void daemon_fixture_stop(struct daemon *d);

#define DAEMON_FIXTURE(d, config_json)             \
    static void start(void)                        \
    {                                              \
        daemon_fixture_start(&(d), (config_json)); \
    }                                              \
    static void stop(void)                         \
    {                                              \
        daemon_fixture_stop(&(d));                 \
    }

/*
 * The port of the daemon's UDP socket, as /debug reports where it is bound
 * (ingest.udp.address), or -1 when UDP is off or /debug does not answer. Start the daemon
 * with "--udp-listen", "127.0.0.1:0" and the kernel picks a free port: parallel tests
 * never fight over one.
 */
int daemon_udp_port(struct daemon *d);

/*
 * Send data as one UDP datagram to host:port (host numeric: "127.0.0.1" or "::1"), from a
 * socket of its own bound to loopback; *from (when not NULL) gets that socket's port, so
 * that a test knows the source address the daemon sees. Returns 0 or a negative errno.
 */
int daemon_udp_send(const char *host, int port, const char *data, size_t len, int *from);
int daemon_udp_sends(int port, const char *text);

/* Send one datagram, blocking. Returns 0 or -errno. */
int daemon_send(struct daemon *d, const char *data, size_t len);
int daemon_sends(struct daemon *d, const char *text);

/*
 * GET path (e.g. "/metrics") with an optional Accept header; returns the status and sets
 * *body (malloc'd, NUL-terminated) when body is not NULL.
 */
int daemon_get(struct daemon *d, const char *path, const char *accept, char **body);

/* POST path with an empty body (30 s timeout); returns the status, *body as daemon_get(). */
int daemon_post(struct daemon *d, const char *path, char **body);

/* SIGKILL, reap, remove the directory: a crash, for the tests of what survives one. */
void daemon_kill(struct daemon *d);

/* GET /metrics as text 0.0.4 (accept NULL) or with the given Accept; aborts the test on error. */
char *daemon_scrape(struct daemon *d, const char *accept);

/* A condition on a text exposition: nonzero when it holds. */
typedef int (*daemon_scrape_cb)(const char *body, void *arg);

/*
 * Scrape /metrics (text) until cond(body, arg) holds or timeout_ms passes, with
 * waitfor_cond(). Returns 0 when it held, -ETIMEDOUT when not. Aborts as daemon_scrape().
 */
int daemon_wait_scrape(struct daemon *d, daemon_scrape_cb cond, void *arg, int timeout_ms);

/*
 * Scrape until the series has a value >= want or timeout_ms passes; returns the last
 * value seen (NAN when absent). Ingestion is asynchronous: send, then wait for it.
 */
double daemon_wait_value(struct daemon *d, const char *series, double want, int timeout_ms);

/*
 * Wait until the daemon has read every datagram sent with daemon_send() (waitfor_sent()),
 * which orders sends, each in a loop turn of its own, without a scrape. Returns 0, or
 * -ETIMEDOUT.
 */
int daemon_wait_read(struct daemon *d, int timeout_ms);

/*
 * Validate an exposition: text 0.0.4 with `promtool check metrics` (no output, exit 0),
 * OpenMetrics with tests/lib/om_check.py. Returns 0 when valid, else -1 after printing
 * the checker's output.
 */
int expo_check(const char *body, int openmetrics);

/*
 * A free TCP port on 127.0.0.1, for a listener that must be TCP (a real Prometheus
 * scrapes no Unix socket): bound and released, so another process may yet take it.
 */
int daemon_free_port(void);

/*
 * A test's own directory, beside the daemons' (mode 0700): "/tmp/ustatsd-<name>-XXXXXX"
 * made by mkdtemp into dir (dirlen bytes). Fails the test when it cannot be made.
 */
void daemon_make_dir(char *dir, size_t dirlen, const char *name);

/* Remove dir and all below it. Returns 0, or -1 after saying so on stderr. */
int daemon_remove_dir(const char *dir);

/* A file's contents (malloc'd, NUL-terminated), or NULL. */
char *daemon_read_file(const char *path);

/* How many times needle is in text (an output of daemon_run_once, a log). */
int daemon_count(const char *text, const char *needle);

/*
 * Fail the test unless text holds the printf-formatted string times times (any number
 * but 0 when times < 0), showing text.
 */
void daemon_want(const char *text, int times, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write path (created or truncated) from a printf format. Aborts as daemon_scrape() does. */
void daemon_write_file(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
