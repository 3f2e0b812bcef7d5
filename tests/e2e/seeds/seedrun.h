/*
 * seedrun: run a laid-out seed (packaging/seeds/NNN-name/) as an operator would, for the
 * end-to-end seed tests (tests/e2e/test_e2e_seed*.c). A seed's run:
 *
 * - The sockets systemd would pass: packaging/ustatsd.socket with the seed's
 *   ustatsd.socket.d/override.conf applied must be exactly the config's (seedunit.h). The
 *   run binds them at the test addresses below and passes them to the daemon as systemd
 *   does (LISTEN_FDS, LISTEN_PID).
 * - ustatsd from the seed's ustatsd.json, with these changes only: every listener
 *   (daemon.metrics_listen, daemon.debug_listen, endpoints[].listen) moves to a free
 *   port on 127.0.0.1; the ingest socket and the log go to the test's directory;
 *   daemon.socket_group goes (a group of the operator's machine); bearer_token_file
 *   (daemon's and endpoints') names a token the test writes; daemon.web_config_file names
 *   a web config of the test's (tls_server_config with a certificate made at test time,
 *   tests/lib/tlscerts.sh); endpoints[].service.user becomes the test's uid (the feeder
 *   is the service's process); postgres.conninfo names a throwaway PostgreSQL
 *   (tests/lib/pgtmp.h) where tests/seeds/NNN-name/setup.sql has run.
 * - Prometheus 2.42 with a config derived from the seed's prometheus.yml (seedyaml.h).
 * - Once Prometheus has scraped every target (up == 1: every counter's first sample is
 *   taken before the first line), a feeder process sends tests/seeds/NNN-name/lines.txt
 *   once a second, one datagram a line (blank lines and `#` lines skipped).
 *
 * One seed runs at a time: seed_start() makes it the current one, which seed_cleanup()
 * (a test's .fini) tears down whatever state the test failed in.
 */
#ifndef USTATSD_TESTS_SEEDRUN_H
#define USTATSD_TESTS_SEEDRUN_H

#include <jansson.h>
#include <sys/types.h>

#include "daemon.h"
#include "pgtmp.h"

#define SEED_MAX_PORTS 16

/* The test address of each listener port of the seed's ustatsd.json. */
struct seed_ports {
    int from[SEED_MAX_PORTS]; /* a listener's port in the seed's ustatsd.json */
    char to[SEED_MAX_PORTS][32];
    size_t n;
};

/* One seed's run: its files, the processes started for it, and what they answer. */
struct seed_run {
    const char *name;
    char src[512];   /* packaging/seeds/<name> */
    char tests[512]; /* tests/seeds/<name> */
    char wdir[64];
    char token[128];
    char prom_addr[32];
    struct seed_ports ports;
    struct daemon d;
    struct pgtmp db;
    pid_t prom;
    pid_t feeder;
    char *rule_files[8]; /* the derived rule files, for the expressions */
    size_t nrules;
    char *last;            /* Prometheus's last answer */
    long long deadline_ms; /* for the queries, from the first line sent */
    json_t *shipped;       /* the seed's ustatsd.json as shipped */
};

/* s, or otherwise when s is NULL. */
const char *seed_str_or(const char *s, const char *otherwise);

/* The port of "host:port", or -1. */
int seed_port_of(const char *addr);

/* The test address for a listener at addr: one per original port, made on first use. */
const char *seed_map_listen(struct seed_ports *m, const char *addr);

/* Call fn with the name of every laid-out seed, in name order; fails when there is none. */
void seed_each(void (*fn)(const char *name));

/*
 * Start the seed name: its sockets, PostgreSQL where it has one, the daemon, and
 * Prometheus, and wait until Prometheus sees every target up. Returns the run, which
 * stays current until seed_finish() or seed_cleanup().
 */
struct seed_run *seed_start(const char *name);

/*
 * Start the seed name's daemon alone: its config changed as for seed_start(), and also
 * without daemon.metrics_listen, daemon.debug_listen, bearer tokens and TLS, so that its
 * default endpoint and /debug answer on s->d.http (daemon.h); the endpoints listen at
 * their test addresses, and the daemon binds its sockets itself. For the tests of what
 * the daemon makes of lines, which no scrape's authentication changes.
 */
struct seed_run *seed_start_daemon(const char *name);

/* seed_start_daemon() with the seed's config changed by edit first (NULL: as shipped). */
struct seed_run *seed_start_daemon_with(const char *name, void (*edit)(json_t *cfg));

/* tests/seeds/<seed>/file (malloc'd); fails the test when it is missing. */
char *seed_read_file(const struct seed_run *s, const char *file);

/*
 * The next line of a lines.txt from *p, which moves past it: its start, and its length in
 * *len; blank lines and `#` lines are skipped. NULL at the end.
 */
const char *seed_line(const char **p, size_t *len);

/* Send lines.txt once a second from a process of its own until the run ends. */
void seed_feed(struct seed_run *s);

/*
 * Break what tests/seeds/<seed>/fault.sql breaks, where the seed has one: run it on the
 * seed's PostgreSQL. For the alerts that watch the daemon's own collectors, once what
 * needs the data has been checked.
 */
void seed_fault(struct seed_run *s);

/* Milliseconds left before s->deadline_ms, 0 once past. */
int seed_remaining(const struct seed_run *s);

/* Stop Prometheus and the daemon, which must exit 0 at SIGTERM; then clean up. */
void seed_finish(struct seed_run *s);

/* Tear the current run down, whatever state it is in (a test's .fini). */
void seed_cleanup(void);

/* Fail the test with why, Prometheus's last answer and both logs. */
void seed_fail_with_logs(struct seed_run *s, const char *why);

#endif
