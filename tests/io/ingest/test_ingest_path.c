/* The ingest socket's file: what start-up finds at its path, its mode and group, its removal. */
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>

#include "ingestctx.h"

/* An ingest on the default config, started; the path holds its socket. */
static void start_default(struct ctx *c)
{
    char err[256];

    ctx_setup(c);
    cr_assert_eq(ctx_start(c, NULL, err, sizeof(err)), 0, "%s", err);
}

/* Close the ingest and run the loop until it has closed. */
static void close_and_run(struct ctx *c)
{
    ingest_close(&c->in, on_closed);
    ctx_run(c, 5000);
}

Test(ingest, stale_socket_file_is_removed)
{
    struct ctx c;
    char err[256];
    int fd;

    ctx_setup(&c);
    make_stale_socket(c.path);
    cr_assert_eq(ctx_start(&c, NULL, err, sizeof(err)), 0, "%s", err);
    fd = client_socket();
    send_to(fd, c.path, "x:1|c", 5, 0);
    close(fd);
    c.expect = 1;
    ctx_run(&c, 5000);
    cr_assert_not(c.timed_out);
    cr_assert_str_eq(c.data[0], "x:1|c");
    ctx_teardown(&c);
}

Test(ingest, path_that_is_not_a_socket_is_refused_with_its_name)
{
    struct ctx c;
    char err[256];
    struct stat st;
    int fd;

    ctx_setup(&c);
    fd = open(c.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "keep", 4), 4);
    close(fd);

    cr_assert_eq(ctx_start(&c, NULL, err, sizeof(err)), -EEXIST);
    cr_assert_not_null(strstr(err, c.path), "message does not name the path: %s", err);
    cr_assert_not_null(strstr(err, "not a socket"), "%s", err);
    cr_assert_eq(stat(c.path, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(st.st_size, 4);
    cr_assert_eq(c.in.fd, -1);
    ctx_teardown(&c);
}

Test(ingest, live_socket_at_the_path_is_refused)
{
    struct ctx c;
    char err[256], got[8];
    struct sockaddr_un sa;
    int owner, fd;

    ctx_setup(&c);
    owner = client_socket();
    sa = addr_of(c.path);
    cr_assert_eq(bind(owner, (struct sockaddr *)&sa, sizeof(sa)), 0);

    cr_assert_eq(ctx_start(&c, NULL, err, sizeof(err)), -EADDRINUSE);
    cr_assert_not_null(strstr(err, "already in use"), "%s", err);
    cr_assert_not_null(strstr(err, c.path), "%s", err);

    /* The owner still receives at its path. */
    fd = client_socket();
    send_to(fd, c.path, "ping", 4, 0);
    close(fd);
    cr_assert_eq(recv(owner, got, sizeof(got), MSG_DONTWAIT), 4);
    close(owner);
    ctx_teardown(&c);
}

Test(ingest, socket_mode_and_group_are_applied)
{
    struct ctx c;
    struct ingest_config cfg = { 0 };
    struct group *gr = getgrgid(getgid());
    char err[256], group[64];
    struct stat st;

    cr_assert_not_null(gr);
    snprintf(group, sizeof(group), "%s", gr->gr_name);
    ctx_setup(&c);
    cfg.path = c.path;
    cfg.mode = 0620;
    cfg.group = group;
    cr_assert_eq(ctx_start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(lstat(c.path, &st), 0);
    cr_assert(S_ISSOCK(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0620, "mode %o", st.st_mode & 07777);
    cr_assert_eq(st.st_gid, getgid());
    close_and_run(&c);
    ctx_teardown(&c);
}

Test(ingest, default_mode_is_0660)
{
    struct ctx c;
    struct stat st;

    start_default(&c);
    cr_assert_eq(lstat(c.path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0660, "mode %o", st.st_mode & 07777);
    close_and_run(&c);
    ctx_teardown(&c);
}

Test(ingest, unknown_group_is_refused_before_binding)
{
    struct ctx c;
    struct ingest_config cfg = { 0 };
    char err[256];
    struct stat st;

    ctx_setup(&c);
    cfg.path = c.path;
    cfg.group = "no-such-group-ustatsd-test";
    cr_assert_eq(ctx_start(&c, &cfg, err, sizeof(err)), -ENOENT);
    cr_assert_not_null(strstr(err, "no-such-group-ustatsd-test"), "%s", err);
    cr_assert_eq(lstat(c.path, &st), -1);
    ctx_teardown(&c);
}

Test(ingest, path_too_long_is_refused)
{
    struct ctx c;
    struct ingest_config cfg = { 0 };
    char err[256], path[300];

    ctx_setup(&c);
    memset(path, 'a', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    cfg.path = path;
    cr_assert_eq(ctx_start(&c, &cfg, err, sizeof(err)), -ENAMETOOLONG);
    cr_assert_not_null(strstr(err, "longer than"), "%s", err);
    ctx_teardown(&c);
}

Test(ingest, close_unlinks_the_socket_file)
{
    struct ctx c;
    struct stat st;

    start_default(&c);
    cr_assert_eq(lstat(c.path, &st), 0);
    close_and_run(&c);
    cr_assert_eq(lstat(c.path, &st), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(c.in.fd, -1);
    ctx_teardown(&c);
}

Test(ingest, close_leaves_a_file_that_replaced_the_socket)
{
    struct ctx c;
    struct stat st;
    int fd;

    start_default(&c);
    cr_assert_eq(unlink(c.path), 0);
    fd = open(c.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    close(fd);
    close_and_run(&c);
    cr_assert_eq(lstat(c.path, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    ctx_teardown(&c);
}

Test(ingest, queue_length_is_read_and_a_short_queue_warns)
{
    struct ctx c;
    long qlen = ingest_read_dgram_qlen();
    int warned = 0;

    start_default(&c);
    cr_assert_eq(c.in.max_dgram_qlen, qlen < 0 ? -1 : qlen);
    for (size_t i = 0; i < c.in.nwarnings; i++)
        if (strstr(c.in.warnings[i], "net.unix.max_dgram_qlen is ") != NULL)
            warned = 1;
    if (qlen >= 0 && qlen < INGEST_MIN_DGRAM_QLEN) {
        char want[64];
        snprintf(want, sizeof(want), "net.unix.max_dgram_qlen is %ld:", qlen);
        cr_assert(warned);
        cr_assert_not_null(strstr(c.in.warnings[0], want), "%s", c.in.warnings[0]);
        cr_assert_not_null(strstr(c.in.warnings[0], "sysctl -w net.unix.max_dgram_qlen=512"));
    } else {
        cr_assert_not(warned);
    }
    cr_assert_gt(c.in.rcvbuf, 0);
    close_and_run(&c);
    ctx_teardown(&c);
}
