/*
 * pgtmp: a throwaway PostgreSQL server for tests.
 *
 * pgtmp_start() runs initdb into a fresh mkdtemp() directory under /tmp, configures the
 * server to listen on a Unix socket in that directory only (listen_addresses = '',
 * fsync off), starts it with "pg_ctl -w" and creates the database "ustatsd_test". It
 * never uses a server that is already running on the machine, and never skips: a test
 * that needs PostgreSQL starts its own.
 *
 * Binaries: $USTATSD_PG_BINDIR if set, else the newest /usr/lib/postgresql/<ver>/bin.
 * PostgreSQL refuses to run as root, so as root every server command runs as the
 * "postgres" system user through runuser(1) and the directory is chowned to it; the
 * tests themselves (root) still connect to the socket.
 *
 * Cleanup: pgtmp_destroy() stops the server and removes the directory. Every started
 * instance is also registered for an atexit() handler that destroys it, so that a test
 * that fails an assertion (Criterion then exits the test's process) leaves nothing
 * behind; the struct must therefore stay valid until exit or pgtmp_destroy (a static or
 * a Criterion fixture's global). Up to PGTMP_MAX instances per process. A test killed
 * outright (Criterion's timeout, SIGKILL) runs no atexit handler: for that, each
 * instance has a watchdog process (sh, in its own session) holding the read end of a
 * pipe whose only write end is the test's; when the test dies the pipe reaches EOF and
 * the watchdog stops the server ("-m immediate") and removes the directory.
 *
 * One server per test program: an initdb takes seconds, a CREATE DATABASE a few
 * milliseconds. pgtmp_share_start(), called from Criterion's ReportHook(PRE_ALL) in the
 * runner process, starts a server and publishes it in the environment
 * (USTATSD_PGTMP_DIR, USTATSD_PGTMP_PORT) that the test processes inherit;
 * pgtmp_share_stop(), or the runner's exit, destroys it. While one is published,
 * pgtmp_start() in a test attaches to it and creates a database of its own for the test
 * (from template1, so tests stay independent) instead of running initdb. pgtmp_stop and
 * pgtmp_resume still stop and start that server (an outage), and pgtmp_destroy starts it
 * again if the test left it stopped; it never removes a shared server's directory. When
 * the shared server could not start, pgtmp_start fails: tests never skip.
 *
 * Blocking calls, for tests only. Messages go to stderr, with the server log's tail
 * when a command fails.
 *
 *     static struct pgtmp db;
 *     cr_assert_eq(pgtmp_start(&db), 0);
 *     pgtmp_exec(&db, "CREATE TABLE jobs (state text)");
 *     ... connect with db.conninfo ...
 *     pgtmp_stop(&db);   pgtmp_resume(&db);   (an outage)
 *     pgtmp_destroy(&db);
 */
#ifndef USTATSD_PGTMP_H
#define USTATSD_PGTMP_H

#include <stddef.h>

#define PGTMP_MAX    8
#define PGTMP_DBNAME "ustatsd_test"

struct pgtmp {
    char dir[64];       /* the mkdtemp() root: data/, the socket, server.log */
    char bindir[256];   /* where initdb, pg_ctl and postgres are */
    char conninfo[256]; /* "host=<dir> port=<port> dbname=ustatsd_test user=postgres" */
    int port;           /* fixed for the instance's life: it names the socket */
    int running;
    int created;
    int watch_fd;  /* write end of the watchdog's pipe, -1 when none */
    int watch_pid; /* the watchdog process */
    int shared;    /* attached to the program's shared server: not ours to remove */
    int owner;     /* the pid that started it: only that process destroys it at exit */
};

/*
 * initdb, start, create the database; or, with a shared server published, create a fresh
 * database on it. Returns 0, or -1 (message on stderr, nothing left).
 */
int pgtmp_start(struct pgtmp *t);

/*
 * Start the program's shared server and publish it in the environment, or publish its
 * failure (every pgtmp_start then fails). Returns 0 or -1. Call once, before the tests.
 */
int pgtmp_share_start(void);

/* Destroy the shared server and unpublish it. Safe without pgtmp_share_start. */
void pgtmp_share_stop(void);

/*
 * In a Criterion test program (after <criterion/hooks.h>), at file scope:
 *     PGTMP_SHARED_SERVER();
 * defines the ReportHook(PRE_ALL) that starts the shared server before the tests. The
 * runner destroys it when it exits, as every instance is (atexit, and the watchdog);
 * Criterion names a hook after its line, so one macro cannot also define POST_ALL's.
 */
#define PGTMP_SHARED_SERVER()                                     \
    ReportHook(PRE_ALL)(struct criterion_test_set * pgtmp__tests) \
    {                                                             \
        (void)pgtmp__tests;                                       \
        pgtmp_share_start();                                      \
    }                                                             \
    extern int pgtmp__shared_server_hook

/* Stop the server ("pg_ctl stop -m fast -w"); the data stay. Returns 0 or -1. */
int pgtmp_stop(struct pgtmp *t);

/* Start a stopped server again, on the same socket. Returns 0 or -1. */
int pgtmp_resume(struct pgtmp *t);

/* Run SQL (several statements allowed) as the superuser. Returns 0 or -1 (message). */
int pgtmp_exec(struct pgtmp *t, const char *sql);

/*
 * Run a query and copy the first column of the first row to out (NUL-terminated, "" for
 * NULL). Returns 0, or -1 on error or when there is no row.
 */
int pgtmp_query(struct pgtmp *t, const char *sql, char *out, size_t outlen);

/* Stop the server if running and remove the directory. Safe to call twice. */
void pgtmp_destroy(struct pgtmp *t);

#endif
