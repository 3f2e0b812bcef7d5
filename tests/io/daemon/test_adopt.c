/*
 * Sockets passed by systemd, adopted by ingest and listener: datagrams queued before the
 * daemon started are read, nothing is unlinked at close, and the queue outlives the
 * process's descriptor (the test keeps a copy, as systemd does).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "ingest/ingest.h"
#include "http/listener.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ustatsd-adopt-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static int bound(int type, const char *path, struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0, "%s", strerror(errno));
    return fd;
}

struct got {
    int n;
    char last[64];
};

static void on_dgram(struct ingest *in, const char *data, size_t len, const struct ucred *cred,
                     const struct sockaddr *src, void *arg)
{
    struct got *g = arg;

    (void)in;
    (void)cred;
    (void)src;
    g->n++;
    snprintf(g->last, sizeof(g->last), "%.*s", (int)len, data);
}

static void on_closed(struct ingest *in)
{
    (void)in;
}

Test(adopt, ingest_reads_a_passed_socket_and_leaves_it_and_its_queue)
{
    uv_loop_t loop;
    struct ingest in;
    struct ingest_config cfg = { 0 };
    struct sockaddr_un sa;
    struct got g = { 0 };
    struct stat st;
    char path[128], err[256], buf[64];
    int keep, sender, flags;

    make_dir();
    snprintf(path, sizeof(path), "%s/ingest.sock", dir);
    keep = bound(SOCK_DGRAM, path, &sa);
    cr_assert_eq(chmod(path, 0620), 0);
    sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(connect(sender, (struct sockaddr *)&sa, sizeof(sa)), 0);
    /* Sent before any daemon ran: it waits in the queue. */
    cr_assert_eq(send(sender, "a:1|c", 5, 0), 5);

    cr_assert_eq(uv_loop_init(&loop), 0);
    cfg.path = path;
    cfg.mode = 0600;
    cfg.fd = dup(keep); /* the daemon's copy; keep is systemd's */
    ingest_init(&in, &loop, &cfg, on_dgram, &g);
    cr_assert_eq(ingest_start(&in, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(in.adopted, 1);
    flags = fcntl(in.fd, F_GETFL);
    cr_assert(flags & O_NONBLOCK);
    cr_assert_eq(send(sender, "b:1|c", 5, 0), 5);
    while (g.n < 2)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_str_eq(g.last, "b:1|c");
    /* The unit's SocketMode stays: the configured 0600 is not applied to its socket. */
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0620);

    ingest_close(&in, on_closed);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    cr_assert_eq(lstat(path, &st), 0, "the passed socket was unlinked");
    /* Sent after the daemon closed: still queued for the next one. */
    cr_assert_eq(send(sender, "c:1|c", 5, 0), 5);
    cr_assert_eq(recv(keep, buf, sizeof(buf), MSG_DONTWAIT), 5);
    close(sender);
    close(keep);
    remove_dir();
}

Test(adopt, ingest_checks_a_passed_udp_socket_is_loopback)
{
    uv_loop_t loop;
    struct ingest in;
    struct ingest_config cfg = { .kind = INGEST_UDP, .path = "0.0.0.0:0" };
    struct sockaddr_in sa = { .sin_family = AF_INET };
    char err[256];
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cfg.fd = fd;
    ingest_init(&in, &loop, &cfg, on_dgram, NULL);
    cr_assert_eq(ingest_start(&in, err, sizeof(err)), -EACCES);
    cr_assert(strstr(err, "not a loopback address") != NULL, "%s", err);
    /* ingest_start owned the descriptor, and closed it. */
    cr_assert_eq(fcntl(fd, F_GETFD), -1);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

static void on_connection(uv_stream_t *server, int status)
{
    int *n = server->data;

    (void)status;
    (*n)++;
    uv_stop(server->loop);
}

static void on_listener_closed(uv_handle_t *h)
{
    (void)h;
}

Test(adopt, listener_serves_a_passed_unix_socket_and_leaves_its_file)
{
    uv_loop_t loop;
    struct listener l;
    struct sockaddr_un sa;
    struct stat st;
    char path[128], addr[140], err[256], text[160];
    int fd, client, n = 0;

    make_dir();
    snprintf(path, sizeof(path), "%s/http.sock", dir);
    snprintf(addr, sizeof(addr), "unix:%s", path);
    fd = bound(SOCK_STREAM, path, &sa);
    cr_assert_eq(listen(fd, 8), 0);
    cr_assert_eq(uv_loop_init(&loop), 0);
    listener_init(&l, &loop);
    cr_assert_eq(listener_adopt(&l, addr, fd, on_connection, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(listener_address(&l, text, sizeof(text)), 0);
    cr_assert_str_eq(text, addr);
    l.h.handle.data = &n;
    client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(connect(client, (struct sockaddr *)&sa, sizeof(sa)), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(n, 1);
    close(client);
    cr_assert_eq(listener_close(&l, NULL, on_listener_closed), 1);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    cr_assert_eq(lstat(path, &st), 0, "the passed socket's file was unlinked");
    remove_dir();
}
