/*
 * The state file's writer on a real file system: its failures (missing or unwritable
 * directory, a full disk seen as RLIMIT_FSIZE, a write error the writeback reports)
 * leaving the old file whole, a big file written back as it grows, a crash between
 * create and commit, a second writer, files planted in the directory, and moving a bad
 * file aside.
 *
 * The tests may run as root, where permissions stop nothing: the "unwritable" cases run
 * in a forked child that drops to uid/gid 65534 first, so that the fixture's own
 * clean-up keeps its privileges.
 */
#include "statefile_fixture.h"

TestSuite(statefile, .init = setup, .fini = teardown);

/* n bytes that deflate cannot shrink (xorshift64), so that the file is as big as the body. */
static void noise(struct buf *b, size_t n)
{
    uint64_t x = 88172645463325252u;

    buf_reset(b);
    buf_grow(b, n);
    while (b->len < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf_add(b, &x, n - b->len < sizeof(x) ? n - b->len : sizeof(x));
    }
}

/*
 * A file of several writeback steps (bytes that do not compress) is sent to the disk as it
 * grows: after each append, what is written but not yet waited for stays within two
 * steps (and a buffer), and the commit's fsync finds at most that much to do. The file
 * reads back whole.
 */
Test(statefile, a_big_file_is_written_back_as_it_grows)
{
    const size_t total = (size_t)(3 * STATEFILE_WRITEBACK_STEP + STATEFILE_WRITEBACK_STEP / 2);
    struct buf body = BUF_INIT, back = BUF_INIT;
    struct statefile_out o;
    char err[ERRLEN] = "";
    size_t done = 0;

    noise(&body, total);
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    while (done < total) {
        size_t n = total - done < (1u << 20) ? total - done : (1u << 20);

        cr_assert_eq(statefile_append(&o, body.ptr + done, n, err, sizeof(err)), 0, "%s", err);
        done += n;
        cr_assert_leq(o.wb_waited, o.wb_started);
        cr_assert_leq(o.wb_started, o.file_size);
        cr_assert_lt(o.file_size - o.wb_waited, 2 * STATEFILE_WRITEBACK_STEP + (1u << 20),
                     "%llu bytes written, %llu waited for", (unsigned long long)o.file_size,
                     (unsigned long long)o.wb_waited);
    }
    cr_assert_geq(o.wb_waited, 2 * STATEFILE_WRITEBACK_STEP, "%llu bytes waited for",
                  (unsigned long long)o.wb_waited);
    cr_assert_eq(statefile_commit(&o, err, sizeof(err)), 0, "%s", err);
    statefile_abort(&o);
    cr_assert_eq(statefile_read(path, total, &back, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(back.len, total);
    cr_assert_eq(memcmp(back.ptr, body.ptr, total), 0);
    buf_release(&back);
    buf_release(&body);
}

/*
 * A write error that the writeback of a step reports (EIO from the disk) fails the append
 * at once, naming the file: the commit's fsync would not see it again, and the old file
 * must stay.
 */
Test(statefile, a_write_back_error_fails_the_snapshot_and_keeps_the_old_file)
{
    const size_t total = (size_t)(3 * STATEFILE_WRITEBACK_STEP);
    struct buf body = BUF_INIT;
    struct statefile_out o;
    char err[ERRLEN] = "", want[1024];
    size_t done = 0;
    int rc = 0;

    write_state(path, "the old state", 13, 0);
    noise(&body, total);
    statefile__writeback_errno = EIO;
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    while (done < total && rc == 0) {
        size_t n = total - done < (1u << 20) ? total - done : (1u << 20);

        rc = statefile_append(&o, body.ptr + done, n, err, sizeof(err));
        done += n;
    }
    statefile__writeback_errno = 0;
    cr_assert_eq(rc, -EIO, "rc %d after %zu bytes: %s", rc, done, err);
    snprintf(want, sizeof(want), "state file %s: write-back of %s.tmp", path, path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    cr_assert_not_null(strstr(err, "failed: Input/output error"), "%s", err);
    statefile_abort(&o);
    cr_assert_eq(tmp_files(), 0);
    expect_body(path, "the old state", 13);
    buf_release(&body);
}

/* ---- the writer's failures ------------------------------------------------------------- */

static void expect_create_fails(const char *p, int code, const char *what)
{
    struct statefile_out o;
    char err[ERRLEN] = "";
    int rc = statefile_create(&o, p, err, sizeof(err));

    cr_assert_eq(rc, code, "rc %d: %s", rc, err);
    cr_assert_eq(strncmp(err, "state file ", 11), 0, "%s", err);
    cr_assert_not_null(strstr(err, what), "\"%s\" does not say \"%s\"", err, what);
    statefile_abort(&o); /* does nothing more */
}

Test(statefile, create_in_a_missing_directory_fails_clearly)
{
    char p[200], want[1024];

    snprintf(p, sizeof(p), "%s/missing/state", dir);
    snprintf(want, sizeof(want),
             "state file %s: open(%s/missing) failed: No such file or directory", p, dir);
    expect_create_fails(p, -ENOENT, want);
}

Test(statefile, create_under_a_regular_file_fails_clearly)
{
    char p[200], want[1024];

    spit(path, "x", 1);
    snprintf(p, sizeof(p), "%s/state", path);
    snprintf(want, sizeof(want), "open(%s) failed: Not a directory", path);
    expect_create_fails(p, -ENOTDIR, want);
}

static int create_in_readonly_dir(void)
{
    struct statefile_out o;
    char err[ERRLEN] = "", want[1024];
    int rc = statefile_create(&o, path, err, sizeof(err));

    snprintf(want, sizeof(want), "state file %s: open(%s.tmp.*) failed: Permission denied", path,
             path);
    fprintf(stderr, "%s\n", err);
    statefile_abort(&o);
    return rc == -EACCES && strcmp(err, want) == 0 ? 0 : 1;
}

Test(statefile, create_in_an_unwritable_directory_fails_clearly)
{
    write_state(path, "old", 3, 0);
    cr_assert_eq(chmod(dir, 0555), 0);
    cr_assert_eq(as_nobody(create_in_readonly_dir), 0);
    cr_assert_eq(chmod(dir, 0700), 0);
    expect_body(path, "old", 3);
}

static void limit_file_size(rlim_t bytes)
{
    struct rlimit rl = { bytes, bytes };

    signal(SIGXFSZ, SIG_IGN); /* write(2) then fails with EFBIG, as on a full disk */
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0, "%s", strerror(errno));
}

Test(statefile, a_failing_commit_leaves_the_old_file_intact)
{
    struct buf body = BUF_INIT;
    struct statefile_out o;
    char err[ERRLEN] = "", want[1024];
    int rc;

    write_state(path, "the old state", 13, 0);
    make_body(&body, 30000, 5); /* compresses to more than 2000 bytes, all in one buffer */
    limit_file_size(2000);
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_append(&o, body.ptr, body.len, err, sizeof(err)), 0, "%s", err);
    rc = statefile_commit(&o, err, sizeof(err));
    cr_assert_eq(rc, -EFBIG, "rc %d: %s", rc, err);
    snprintf(want, sizeof(want), "state file %s: write(%s.tmp.", path, path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    cr_assert_not_null(strstr(err, ") failed: File too large"), "%s", err);
    statefile_abort(&o);
    cr_assert_eq(tmp_files(), 0, "abort leaves no temporary file");
    statefile_abort(&o);
    expect_body(path, "the old state", 13);
    buf_release(&body);
}

Test(statefile, a_commit_over_a_directory_fails_and_abort_cleans_up)
{
    struct statefile_out o;
    char err[ERRLEN] = "", p[200], want[1024];

    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(p, sizeof(p), "%s/inside", path);
    spit(p, "x", 1);
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_append(&o, "body", 4, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_commit(&o, err, sizeof(err)), -EISDIR, "%s", err);
    snprintf(want, sizeof(want), ", %s) failed: Is a directory", path);
    cr_assert_not_null(strstr(err, want), "%s", err);
    snprintf(want, sizeof(want), "state file %s: rename(%s.tmp.", path, path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    cr_assert_eq(tmp_files(), 1, "the temporary file was named for the rename");
    statefile_abort(&o);
    cr_assert_eq(tmp_files(), 0);
}

Test(statefile, a_failing_append_leaves_the_old_file_intact)
{
    struct buf body = BUF_INIT;
    struct statefile_out o;
    char err[ERRLEN] = "", tmp[200];
    int rc;

    write_state(path, "the old state", 13, 0);
    make_body(&body, 4u << 20, 6);
    limit_file_size(100000);
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    rc = statefile_append(&o, body.ptr, body.len, err, sizeof(err));
    cr_assert_eq(rc, -EFBIG, "rc %d: %s", rc, err);
    cr_assert_not_null(strstr(err, "File too large"), "%s", err);
    statefile_abort(&o);
    (void)tmp;
    cr_assert_eq(tmp_files(), 0);
    expect_body(path, "the old state", 13);
    buf_release(&body);
}

Test(statefile, a_crash_before_commit_leaves_the_old_file_and_no_temporary_file)
{
    pid_t pid;
    int status;

    write_state(path, "the old state", 13, 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct statefile_out o;
        char err[ERRLEN];
        static char junk[300000];
        if (statefile_create(&o, path, err, sizeof(err)) != 0 ||
            statefile_append(&o, junk, sizeof(junk), err, sizeof(err)) != 0)
            _exit(1);
        raise(SIGKILL);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    cr_assert_eq(tmp_files(), 0, "an unnamed temporary file dies with the process");
    expect_body(path, "the old state", 13);
    write_state(path, "the new state", 13, 0);
    expect_body(path, "the new state", 13);
}

Test(statefile, two_writers_of_the_same_file_do_not_interleave)
{
    struct statefile_out a, b;
    char err[ERRLEN] = "";

    cr_assert_eq(statefile_create(&a, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_append(&a, "from a", 6, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_create(&b, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_append(&b, "from b, longer", 14, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_commit(&a, err, sizeof(err)), 0, "%s", err);
    expect_body(path, "from a", 6);
    cr_assert_eq(statefile_commit(&b, err, sizeof(err)), 0, "%s", err);
    expect_body(path, "from b, longer", 14);
    cr_assert_eq(tmp_files(), 0);
}

/* A "<path>.tmp" planted by whoever can write the directory: snapshots go on regardless. */
Test(statefile, a_planted_tmp_symlink_regular_or_locked_file_does_not_matter)
{
    char tmp[200], target[200];
    struct buf f = BUF_INIT;
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(target, sizeof(target), "%s/victim", dir);
    spit(target, "do not touch", 12);
    cr_assert_eq(symlink(target, tmp), 0, "%s", strerror(errno));
    write_state(path, "one", 3, 0);
    expect_body(path, "one", 3);
    slurp(target, &f);
    cr_assert_eq(f.len, 12);
    cr_assert_eq(memcmp(f.ptr, "do not touch", 12), 0, "the symlink's target is untouched");
    cr_assert_eq(unlink(tmp), 0);

    cr_assert_eq(link(target, tmp), 0, "%s", strerror(errno)); /* a hard link */
    write_state(path, "two", 3, 0);
    expect_body(path, "two", 3);
    slurp(target, &f);
    cr_assert_eq(memcmp(f.ptr, "do not touch", 12), 0, "the hard link's file is untouched");
    cr_assert_eq(unlink(tmp), 0);

    spit(tmp, "planted", 7);
    fd = open(tmp, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "%s", strerror(errno));
    write_state(path, "three", 5, 0);
    expect_body(path, "three", 5);
    close(fd);
    cr_assert_eq(tmp_files(), 0);
    buf_release(&f);
}

/* Without O_TMPFILE: a random name, created exclusively; planted names still do not matter. */
Test(statefile, without_o_tmpfile_a_random_name_is_created_exclusively)
{
    struct statefile_out o;
    char err[ERRLEN] = "", tmp[200], target[200];
    struct buf f = BUF_INIT;

    statefile__no_tmpfile = 1;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(target, sizeof(target), "%s/victim", dir);
    spit(target, "do not touch", 12);
    cr_assert_eq(symlink(target, tmp), 0, "%s", strerror(errno));
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(tmp_files(), 1, "the file has its name from the start");
    cr_assert_eq(statefile_append(&o, "named", 5, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_commit(&o, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(tmp_files(), 0);
    expect_body(path, "named", 5);
    slurp(target, &f);
    cr_assert_eq(memcmp(f.ptr, "do not touch", 12), 0);
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    statefile_abort(&o);
    cr_assert_eq(tmp_files(), 0, "abort unlinks the named file");
    statefile__no_tmpfile = 0;
    buf_release(&f);
}

/* ---- set aside ------------------------------------------------------------------------- */

Test(statefile, a_bad_file_is_set_aside_replacing_an_older_one)
{
    char to[200], want[1024], err[ERRLEN] = "";
    struct buf f = BUF_INIT;

    snprintf(want, sizeof(want), "%s.bad", path);
    spit(path, "first bad", 9);
    cr_assert_eq(statefile_set_aside(path, to, sizeof(to), err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(to, want);
    cr_assert_not(file_exists(path));
    spit(path, "second bad", 10);
    cr_assert_eq(statefile_set_aside(path, to, sizeof(to), err, sizeof(err)), 0, "%s", err);
    slurp(want, &f);
    cr_assert_eq(f.len, 10);
    cr_assert_eq(memcmp(f.ptr, "second bad", 10), 0);
    expect_bad(want, MAX_BODY, "not a ustatsd state file");

    cr_assert_eq(statefile_set_aside(path, to, sizeof(to), err, sizeof(err)), -ENOENT);
    cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);
    spit(path, "x", 1);
    cr_assert_eq(statefile_set_aside(path, to, 8, err, sizeof(err)), -ENAMETOOLONG);
    cr_assert_not_null(strstr(err, "does not fit"), "%s", err);
    cr_assert(file_exists(path));
    buf_release(&f);
}
