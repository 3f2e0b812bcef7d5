#include "pgtmp.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

/* Instances to destroy at exit; tests are processes of their own, so this is per test. */
static struct pgtmp *live[PGTMP_MAX];
static int atexit_done;

static void destroy_all(void)
{
    int i;

    /* A test process that inherited the table (fork) must leave the runner's server. */
    for (i = 0; i < PGTMP_MAX; i++)
        if (live[i] != NULL && live[i]->owner == (int)getpid())
            pgtmp_destroy(live[i]);
}

static void track(struct pgtmp *t, int on)
{
    int i;

    for (i = 0; i < PGTMP_MAX; i++) {
        if (on && live[i] == NULL) {
            live[i] = t;
            break;
        }
        if (!on && live[i] == t)
            live[i] = NULL;
    }
    if (on && !atexit_done) {
        atexit(destroy_all);
        atexit_done = 1;
    }
}

static void show_log(const struct pgtmp *t, const char *name)
{
    char path[128], line[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", t->dir, name);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "pgtmp: --- %s ---\n", path);
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fclose(f);
}

/*
 * Run a server binary with its output appended to <dir>/cmd.log, as the postgres user
 * when we are root. argv[0] is the binary's name in bindir. Returns its exit status.
 */
static int run(const struct pgtmp *t, const char *const *argv)
{
    const char *full[32];
    char bin[300], logpath[128];
    size_t n = 0, i;
    pid_t pid;
    int status, fd;

    snprintf(bin, sizeof(bin), "%s/%s", t->bindir, argv[0]);
    if (geteuid() == 0) {
        full[n++] = "runuser";
        full[n++] = "-u";
        full[n++] = "postgres";
        full[n++] = "--";
    }
    full[n++] = bin;
    for (i = 1; argv[i] != NULL && n < 31; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    snprintf(logpath, sizeof(logpath), "%s/cmd.log", t->dir);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0)
            dup2(fd, 0);
        execvp(full[0], (char *const *)full);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int find_bindir(struct pgtmp *t)
{
    const char *env = getenv("USTATSD_PG_BINDIR");
    glob_t g;
    size_t i, best = 0;
    long bestver = -1;

    if (env != NULL && env[0] != '\0') {
        snprintf(t->bindir, sizeof(t->bindir), "%s", env);
        return 0;
    }
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0) {
        fprintf(stderr, "pgtmp: no /usr/lib/postgresql/<ver>/bin/initdb found\n");
        return -1;
    }
    for (i = 0; i < g.gl_pathc; i++) {
        long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
        if (v > bestver) {
            bestver = v;
            best = i;
        }
    }
    snprintf(t->bindir, sizeof(t->bindir), "%s", g.gl_pathv[best]);
    *strrchr(t->bindir, '/') = '\0';
    globfree(&g);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* See the header: cleans up after a test process that died without running atexit. */
static int spawn_watchdog(struct pgtmp *t)
{
    static const char script[] =
        "cat >/dev/null; "
        "if [ -f \"$1/data/postmaster.pid\" ]; then "
        "$3 \"$2/pg_ctl\" -D \"$1/data\" -m immediate -w stop >/dev/null 2>&1; fi; "
        "rm -rf \"$1\"";
    int p[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        /* Out of the test's process group, so that a group kill leaves the watchdog. */
        setsid();
        dup2(p[0], 0);
        close_range(3, ~0U, 0);
        execl("/bin/sh", "sh", "-c", script, "sh", t->dir, t->bindir,
              geteuid() == 0 ? "runuser -u postgres --" : "", (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    t->watch_fd = p[1];
    t->watch_pid = (int)pid;
    return 0;
}

static int start_server(struct pgtmp *t)
{
    char data[96], log[96];
    const char *argv[] = { "pg_ctl", "-w", "-t", "60", "-D", data, "-l", log, "start", NULL };

    snprintf(data, sizeof(data), "%s/data", t->dir);
    snprintf(log, sizeof(log), "%s/server.log", t->dir);
    if (run(t, argv) != 0) {
        fprintf(stderr, "pgtmp: pg_ctl start failed in %s\n", t->dir);
        show_log(t, "cmd.log");
        show_log(t, "server.log");
        return -1;
    }
    t->running = 1;
    return 0;
}

static int append_conf(const struct pgtmp *t)
{
    char path[96];
    FILE *f;

    snprintf(path, sizeof(path), "%s/data/postgresql.conf", t->dir);
    f = fopen(path, "a");
    if (f == NULL)
        return -1;
    /* No TCP at all, and durability is worthless for a throwaway. */
    fprintf(f,
            "\nlisten_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "shared_buffers = 16MB\nmax_connections = 30\n",
            t->dir, t->port);
    return fclose(f) == 0 ? 0 : -1;
}

/* Run one statement in the "postgres" database, as the superuser. Returns 0 or -1. */
static int admin_exec(const struct pgtmp *t, const char *sql, int quiet)
{
    char admin[256];
    PGconn *conn;
    PGresult *res;
    int ok;

    snprintf(admin, sizeof(admin), "host=%s port=%d dbname=postgres user=postgres", t->dir,
             t->port);
    conn = PQconnectdb(admin);
    res = PQexec(conn, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok && !quiet)
        fprintf(stderr, "pgtmp: %s failed: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    return ok ? 0 : -1;
}

/* The directory, its owner and the watchdog. */
static int make_dir(struct pgtmp *t)
{
    struct passwd *pw;

    snprintf(t->dir, sizeof(t->dir), "/tmp/ustatsd-pgtmp-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        fprintf(stderr, "pgtmp: mkdtemp(%s) failed: %s\n", t->dir, strerror(errno));
        return -1;
    }
    t->created = 1;
    track(t, 1);
    if (spawn_watchdog(t) < 0) {
        fprintf(stderr, "pgtmp: cannot start the watchdog: %s\n", strerror(errno));
        return -1;
    }
    if (geteuid() == 0) {
        pw = getpwnam("postgres");
        if (pw == NULL || chown(t->dir, pw->pw_uid, pw->pw_gid) < 0) {
            fprintf(stderr, "pgtmp: no postgres user to chown %s to\n", t->dir);
            return -1;
        }
    }
    return 0;
}

/* initdb and start a server of our own, with PGTMP_DBNAME created. */
static int start_own(struct pgtmp *t)
{
    static int seq;
    char data[96];
    const char *initdb[] = { "initdb",   "-D",        data, "-A",   "trust",      "-U",
                             "postgres", "--no-sync", "-E", "UTF8", "--locale=C", NULL };

    if (make_dir(t) < 0)
        return -1;
    /* The port only names the socket file in our own directory, so clashes are harmless. */
    t->port = 20000 + (int)(getpid() % 20000) + 7 * seq++;
    if (t->port > 65000)
        t->port -= 40000;
    snprintf(t->conninfo, sizeof(t->conninfo), "host=%s port=%d dbname=%s user=postgres", t->dir,
             t->port, PGTMP_DBNAME);
    snprintf(data, sizeof(data), "%s/data", t->dir);
    if (run(t, initdb) != 0) {
        fprintf(stderr, "pgtmp: initdb failed in %s\n", t->dir);
        show_log(t, "cmd.log");
        return -1;
    }
    if (append_conf(t) < 0) {
        fprintf(stderr, "pgtmp: cannot write %s/data/postgresql.conf\n", t->dir);
        return -1;
    }
    if (start_server(t) < 0)
        return -1;
    return admin_exec(t, "CREATE DATABASE " PGTMP_DBNAME, 0);
}

/*
 * Attach to the shared server and create this test's database. A test that failed in
 * the middle of an outage may have left the server stopped: start it again.
 */
static int attach_shared(struct pgtmp *t, const char *dir)
{
    static int seq;
    const char *port = getenv("USTATSD_PGTMP_PORT");
    char name[64], sql[128];

    if (dir[0] == '\0' || port == NULL) {
        fprintf(stderr, "pgtmp: the shared server did not start (see the runner's output)\n");
        return -1;
    }
    t->shared = 1;
    t->running = 1;
    t->port = atoi(port);
    snprintf(t->dir, sizeof(t->dir), "%s", dir);
    track(t, 1);
    if (admin_exec(t, "SELECT 1", 1) < 0 && start_server(t) < 0)
        return -1;
    snprintf(name, sizeof(name), "%s_%d_%d", PGTMP_DBNAME, (int)getpid(), seq++);
    snprintf(t->conninfo, sizeof(t->conninfo), "host=%s port=%d dbname=%s user=postgres", t->dir,
             t->port, name);
    /* FILE_COPY: a small template is copied faster than it is WAL-logged (PostgreSQL 15). */
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template1 STRATEGY FILE_COPY", name);
    return admin_exec(t, sql, 0);
}

int pgtmp_start(struct pgtmp *t)
{
    const char *shared = getenv("USTATSD_PGTMP_DIR");
    int rc;

    memset(t, 0, sizeof(*t));
    t->watch_fd = -1;
    t->owner = (int)getpid();
    if (find_bindir(t) < 0)
        return -1;
    rc = shared != NULL ? attach_shared(t, shared) : start_own(t);
    if (rc < 0)
        pgtmp_destroy(t);
    return rc;
}

static struct pgtmp shared_server;

int pgtmp_share_start(void)
{
    char port[16];

    unsetenv("USTATSD_PGTMP_DIR");
    if (pgtmp_start(&shared_server) < 0) {
        setenv("USTATSD_PGTMP_DIR", "", 1);
        return -1;
    }
    snprintf(port, sizeof(port), "%d", shared_server.port);
    setenv("USTATSD_PGTMP_DIR", shared_server.dir, 1);
    setenv("USTATSD_PGTMP_PORT", port, 1);
    return 0;
}

void pgtmp_share_stop(void)
{
    unsetenv("USTATSD_PGTMP_DIR");
    unsetenv("USTATSD_PGTMP_PORT");
    pgtmp_destroy(&shared_server);
}

int pgtmp_stop(struct pgtmp *t)
{
    char data[96];
    const char *argv[] = { "pg_ctl", "-w", "-t", "60", "-D", data, "-m", "fast", "stop", NULL };

    if (!t->running)
        return 0;
    snprintf(data, sizeof(data), "%s/data", t->dir);
    if (run(t, argv) != 0) {
        fprintf(stderr, "pgtmp: pg_ctl stop failed in %s\n", t->dir);
        show_log(t, "cmd.log");
        return -1;
    }
    t->running = 0;
    return 0;
}

int pgtmp_resume(struct pgtmp *t)
{
    if (t->running)
        return 0;
    return start_server(t);
}

static PGresult *query(struct pgtmp *t, const char *sql, PGconn **connp)
{
    PGconn *conn = PQconnectdb(t->conninfo);
    PGresult *res;

    *connp = conn;
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pgtmp: cannot connect: %s", PQerrorMessage(conn));
        return NULL;
    }
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "pgtmp: %s: %s", sql, PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

int pgtmp_exec(struct pgtmp *t, const char *sql)
{
    PGconn *conn;
    PGresult *res = query(t, sql, &conn);

    PQclear(res);
    PQfinish(conn);
    return res != NULL ? 0 : -1;
}

int pgtmp_query(struct pgtmp *t, const char *sql, char *out, size_t outlen)
{
    PGconn *conn;
    PGresult *res = query(t, sql, &conn);
    int rc = -1;

    if (res != NULL && PQntuples(res) > 0 && PQnfields(res) > 0) {
        snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
        rc = 0;
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}

void pgtmp_destroy(struct pgtmp *t)
{
    char data[96];
    const char *argv[] = {
        "pg_ctl", "-w", "-t", "60", "-D", data, "-m", "immediate", "stop", NULL
    };

    if (t->shared) {
        /* The next test needs the server: undo an outage this test left behind. */
        if (!t->running)
            start_server(t);
        t->shared = 0;
        t->running = 0;
    }
    if (t->running) {
        snprintf(data, sizeof(data), "%s/data", t->dir);
        if (pgtmp_stop(t) < 0)
            run(t, argv);
        t->running = 0;
    }
    if (t->created) {
        nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        t->created = 0;
    }
    if (t->watch_fd >= 0) {
        close(t->watch_fd);
        t->watch_fd = -1;
        while (waitpid((pid_t)t->watch_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    track(t, 0);
}
