/*
 * promrun: a real Prometheus (Debian's prometheus, 2.42) for end-to-end tests, started on a
 * scrape configuration in a directory of the test's, asked through its HTTP API, stopped.
 *
 *     struct promrun p;
 *     cr_assert_eq(promrun_start(&p, dir, "scrape_configs: ..."), 0);
 *     cr_assert_eq(promrun_wait(&p, "up{job=\"ustatsd\"} == 1", 60000), 0, "%s", p.last);
 *     promrun_value(&p, "x_count", &v);
 *     promrun_stop(&p);
 *
 * Wait on a query (promrun_wait()), never for a fixed time.
 */
#ifndef USTATSD_TESTS_PROMRUN_H
#define USTATSD_TESTS_PROMRUN_H

#include <sys/types.h>

struct promrun {
    pid_t pid;     /* 0 when not running */
    char addr[64]; /* its web listener, 127.0.0.1:<a free port> */
    char log[256]; /* its stderr and stdout: <dir>/prometheus.log */
    char *last;    /* the last answer to a query, for messages; NULL before one */
};

/*
 * Write config to <dir>/prometheus.yml and start Prometheus on it, its database in
 * <dir>/tsdb. Returns 0, or -1 when it could not be started.
 */
int promrun_start(struct promrun *p, const char *dir, const char *config);

/* promrun_start() with one more flag (NULL: none), "--enable-feature=native-histograms". */
int promrun_start_flag(struct promrun *p, const char *dir, const char *config, const char *flag);

/*
 * promrun_start() on addr ("127.0.0.1:<port>"; NULL: a free port), so that a restart keeps
 * the address its clients were given, with the flags (NULL-terminated, at most 11; NULL:
 * none). Its log is appended to: a restart on the same directory keeps the first run's.
 */
int promrun_start_opts(struct promrun *p, const char *dir, const char *config, const char *addr,
                       const char *const *flags);

/*
 * The value of the one sample an instant query answers, into *v ("NaN" read as NaN).
 * Returns 0, or -1 when the answer holds no sample, or more than one.
 */
int promrun_value(struct promrun *p, const char *query, double *v);

/* Wait until query answers exactly one sample, timeout_ms at most. Returns 0 or -1. */
int promrun_wait(struct promrun *p, const char *query, int timeout_ms);

/* SIGTERM, wait for it to exit (killed after 20 s), and free the last answer. */
void promrun_stop(struct promrun *p);

#endif
