/*
 * The state file tests' fixture (test_statefile.c, test_statefile_write.c): a temporary
 * directory for each test, bodies as the snapshot writes them, whole files written and
 * read back, and a child that runs as uid/gid 65534.
 */
#ifndef USTATSD_TEST_STATEFILE_FIXTURE_H
#define USTATSD_TEST_STATEFILE_FIXTURE_H

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xxhash.h>

#include "base/buf.h"
#include "state/statefile.h"

#define NOBODY   65534
#define MAX_BODY (64u << 20)
#define BIG_BODY (6u << 20)
#define ERRLEN   512

static char dir[64];
static char path[128];

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ustatsd-statefile-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/state", dir);
}

static inline void teardown(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Records as the snapshot writes them: small, binary, repetitive, with counting values. */
static inline void make_body(struct buf *b, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15u + 1;

    buf_reset(b);
    while (b->len < n) {
        unsigned char rec[24];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memset(rec, 0, sizeof(rec));
        rec[0] = (unsigned char)(x % 5);        /* record kind */
        rec[1] = (unsigned char)(x >> 8);       /* family */
        memcpy(rec + 4, &x, 4);                 /* label ids */
        rec[8] = (unsigned char)(b->len >> 10); /* a value that counts up */
        memcpy(rec + 16, &b->len, sizeof(b->len) < 8 ? sizeof(b->len) : 8);
        buf_add(b, rec, n - b->len < sizeof(rec) ? n - b->len : sizeof(rec));
    }
}

/* Write body in pieces of step bytes (all at once for 0); asserts success. */
static inline uint64_t write_state(const char *p, const void *body, size_t n, size_t step)
{
    struct statefile_out o;
    char err[ERRLEN] = "";
    const char *c = body;
    size_t done = 0;

    cr_assert_eq(statefile_create(&o, p, err, sizeof(err)), 0, "%s", err);
    while (done < n || (n == 0 && done == 0 && step == 0)) {
        size_t k = step == 0 || n - done < step ? n - done : step;
        cr_assert_eq(statefile_append(&o, c + done, k, err, sizeof(err)), 0, "%s", err);
        done += k;
        if (n == 0)
            break;
    }
    cr_assert_eq(statefile_commit(&o, err, sizeof(err)), 0, "%s", err);
    statefile_abort(&o); /* harmless after a commit */
    cr_assert_eq(o.body_size, n);
    return o.file_size;
}

static inline void slurp(const char *p, struct buf *b)
{
    int fd = open(p, O_RDONLY);
    char tmp[65536];
    ssize_t r;

    cr_assert_geq(fd, 0, "open(%s): %s", p, strerror(errno));
    buf_reset(b);
    while ((r = read(fd, tmp, sizeof(tmp))) > 0)
        buf_add(b, tmp, (size_t)r);
    close(fd);
}

static inline void spit(const char *p, const void *data, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    cr_assert_geq(fd, 0, "open(%s): %s", p, strerror(errno));
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static inline int file_exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

/* The number of "state.tmp.*" files in dir: the writer's temporary files. */
static inline int tmp_files(void)
{
    char cmd[256];
    FILE *f;
    int n = 0, c;

    snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c '^state\\.tmp\\.'", dir);
    f = popen(cmd, "r");
    cr_assert_not_null(f);
    if (fscanf(f, "%d", &n) != 1)
        n = -1;
    while ((c = fgetc(f)) != EOF)
        ;
    pclose(f);
    return n;
}

/* Read p and check it is refused as bad, with a message naming it and saying what. */
static inline void expect_bad(const char *p, size_t max_body, const char *what)
{
    struct buf body = BUF_INIT;
    char err[ERRLEN] = "";
    int rc = statefile_read(p, max_body, &body, err, sizeof(err));

    cr_assert_eq(rc, STATEFILE_BAD, "rc %d, err \"%s\", expected \"%s\"", rc, err, what);
    cr_assert_eq(body.len, 0);
    cr_assert_eq(strncmp(err, "state file ", 11), 0, "%s", err);
    cr_assert_not_null(strstr(err, p), "%s", err);
    cr_assert_not_null(strstr(err, what), "\"%s\" does not say \"%s\"", err, what);
    buf_release(&body);
}

static inline void expect_body(const char *p, const void *want, size_t n)
{
    struct buf body = BUF_INIT;
    char err[ERRLEN] = "";

    cr_assert_eq(statefile_read(p, MAX_BODY, &body, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(body.len, n);
    cr_assert(n == 0 || memcmp(body.ptr, want, n) == 0);
    buf_release(&body);
}

/* Run fn in a child as uid/gid 65534 (when root; as is otherwise); 0 when it returned 0. */
static inline int as_nobody(int (*fn)(void))
{
    pid_t pid = fork();
    int status;

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                               setresuid(NOBODY, NOBODY, NOBODY) < 0)) {
            perror("dropping privileges");
            _exit(2);
        }
        _exit(fn());
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
