#include "ingest/ingest.h"
#include "ingest/internal.h"
#include "base/common.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/sock_diag.h>

#include "base/buf.h"
#include "base/errcode.h"
#include "base/path.h"
#include "base/mem.h"
#include "statsd.h"

/* recvmmsg(2) rejects vlen above UIO_MAXIOV (1024) with EINVAL. */
#define MAX_BATCH 1024u

#define MAX_DATAGRAM ((size_t)16 << 20)

#define QLEN_PATH "/proc/sys/net/unix/max_dgram_qlen"

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void warnf(struct ingest *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct ingest *in, const char *fmt, ...)
{
    va_list ap;
    if (in->nwarnings == INGEST_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(in->warnings[in->nwarnings++], INGEST_WARNING_LEN, fmt, ap);
    va_end(ap);
}

/* Copies src into dst; returns -1 (dst left empty) when it does not fit. */
static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;

    dst[0] = '\0';
    if (n >= cap)
        return -1;
    if (n > 0)
        memcpy(dst, src, n + 1);
    return 0;
}

void ingest_init(struct ingest *in, uv_loop_t *loop, const struct ingest_config *cfg, ingest_cb cb,
                 void *arg)
{
    memset(in, 0, sizeof(*in));
    in->loop = loop;
    in->fd = -1;
    in->kind = cfg->kind;
    in->allow_remote = cfg->allow_remote;
    in->cb = cb;
    in->arg = arg;
    in->max_dgram_qlen = -1;
    in->rcvbuf = -1;
    /* ingest_init cannot fail: a name that does not fit is reported by ingest_start. */
    in->path_too_long = copy_str(in->path, sizeof(in->path), cfg->path) < 0;
    in->group_too_long = copy_str(in->group, sizeof(in->group), cfg->group) < 0;
    in->mode = cfg->mode != 0 ? cfg->mode : INGEST_DEFAULT_MODE;
    in->batch = cfg->batch != 0 ? cfg->batch : INGEST_DEFAULT_BATCH;
    if (in->batch > MAX_BATCH)
        in->batch = MAX_BATCH;
    in->budget = cfg->budget != 0 ? cfg->budget : INGEST_DEFAULT_BUDGET;
    in->budget_ns = cfg->budget_ns != 0 ? cfg->budget_ns : INGEST_DEFAULT_BUDGET_NS;
    in->max_datagram = cfg->max_datagram != 0 ? cfg->max_datagram : STATSD_MAX_DATAGRAM;
    /* A Unix datagram cannot exceed the sender's SO_SNDBUF, a few MiB at most. */
    if (in->max_datagram > MAX_DATAGRAM)
        in->max_datagram = MAX_DATAGRAM;
    in->rcvbuf_request = cfg->rcvbuf != 0 ? cfg->rcvbuf : INGEST_DEFAULT_RCVBUF;
    in->adopt_fd = cfg->fd > 0 ? cfg->fd : -1;
}

long ingest_read_dgram_qlen(void)
{
    char text[32];
    ssize_t n;
    long v;
    char *end;
    int fd = open(QLEN_PATH, O_RDONLY | O_CLOEXEC), e;

    if (fd < 0)
        return -errno;
    n = read(fd, text, sizeof(text) - 1);
    e = errno;
    close(fd);
    if (n < 0)
        return -e;
    if (n == 0)
        return ERRCODE_FORMAT;
    text[n] = '\0';
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || v < 0)
        return ERRCODE_FORMAT;
    return v;
}

static int resolve_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
    struct group gr, *res = NULL;
    long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t)hint : 1024;
    char *scratch;
    int r;

    /* Groups with many members need more room than the hint: grow on ERANGE. */
    for (;;) {
        scratch = mem_calloc(1, size);
        r = getgrnam_r(name, &gr, scratch, size, &res);
        if (r != ERANGE || size >= (1u << 20))
            break;
        free(scratch);
        size *= 2;
    }
    if (r != 0) {
        errf(err, errlen, "socket group \"%s\": getgrnam_r failed: %s", name, strerror(r));
        free(scratch);
        return -r;
    }
    if (res == NULL) {
        errf(err, errlen, "socket group \"%s\" does not exist", name);
        free(scratch);
        return -ENOENT;
    }
    *gid = gr.gr_gid;
    free(scratch);
    return 0;
}

/*
 * A socket file outlives a daemon that crashed, and bind(2) then fails with EADDRINUSE.
 * Only a file that is a socket and that nobody answers on is removed: a DGRAM connect to
 * it gets ECONNREFUSED. A connect that succeeds (or EPROTOTYPE: a stream socket is bound
 * there) means something is alive at the path, and it is left alone.
 */
static int clear_stale(struct ingest *in, const struct sockaddr_un *sa, char *err, size_t errlen)
{
    struct stat st;
    int probe, r, e;

    if (lstat(in->path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        r = -errno;
        errf(err, errlen, "socket path %s: stat failed: %s", in->path, strerror(errno));
        return r;
    }
    if (!S_ISSOCK(st.st_mode)) {
        errf(err, errlen, "socket path %s exists and is not a socket; refusing to replace it",
             in->path);
        return -EEXIST;
    }
    probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        r = -errno;
        errf(err, errlen, "socket path %s: socket() for the liveness probe failed: %s", in->path,
             strerror(errno));
        return r;
    }
    r = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
    e = errno;
    close(probe);
    if (r == 0 || e == EPROTOTYPE) {
        errf(err, errlen, "socket path %s is already in use: another process is bound to it",
             in->path);
        return -EADDRINUSE;
    }
    if (e != ECONNREFUSED) {
        errf(err, errlen, "socket path %s: cannot tell whether it is in use: connect: %s", in->path,
             strerror(e));
        return -e;
    }
    if (unlink(in->path) < 0 && errno != ENOENT) {
        r = -errno;
        errf(err, errlen, "socket path %s: cannot remove the stale socket: %s", in->path,
             strerror(errno));
        return r;
    }
    return 0;
}

/* SO_RCVBUF: ask, then record what the kernel granted (it doubles the request, capped). */
static void set_rcvbuf(struct ingest *in, int fd)
{
    socklen_t optlen = sizeof(in->rcvbuf);

    if (in->rcvbuf_request > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &in->rcvbuf_request, sizeof(int)) < 0)
        warnf(in, "setsockopt(SO_RCVBUF, %d) on %s failed: %s, ignored", in->rcvbuf_request,
              in->path, strerror(errno));
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &in->rcvbuf, &optlen) < 0)
        in->rcvbuf = -1;
}

static int bind_socket(struct ingest *in, const struct sockaddr_un *sa, char *err, size_t errlen)
{
    int fd, r, one = 1;
    mode_t old;

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        errf(err, errlen, "socket(AF_UNIX, SOCK_DGRAM) for %s failed: %s", in->path,
             strerror(errno));
        return r;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
        r = -errno;
        errf(err, errlen, "setsockopt(SO_PASSCRED) on %s failed: %s", in->path, strerror(errno));
        goto fail;
    }
    set_rcvbuf(in, fd);

    /*
     * bind(2) creates the file with 0777 & ~umask. A umask of 0177 makes it owner-only
     * until chmod widens it to the configured mode, so there is no moment at which the
     * socket is more open than configured.
     */
    old = umask(0177);
    r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
    umask(old);
    if (r < 0) {
        r = -errno;
        errf(err, errlen, "bind(%s) failed: %s", in->path, strerror(errno));
        goto fail;
    }
    in->fd = fd;
    in->passcred = 1;
    return 0;
fail:
    close(fd);
    return r;
}

/* The path and group as given, before anything touches the file system. */
static int check_names(const struct ingest *in, char *err, size_t errlen)
{
    if (in->path_too_long) {
        errf(err, errlen, "socket path is longer than %zu bytes", sizeof(in->path) - 1);
        return -ENAMETOOLONG;
    }
    if (in->path[0] == '\0') {
        errf(err, errlen, "socket path is empty");
        return -EINVAL;
    }
    if (in->group_too_long) {
        errf(err, errlen, "socket group name is longer than %zu bytes", sizeof(in->group) - 1);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* The queue length is copied into the socket when it is created: read it first. */
static void read_qlen(struct ingest *in)
{
    in->max_dgram_qlen = ingest_read_dgram_qlen();
    if (in->max_dgram_qlen < 0) {
        in->max_dgram_qlen = -1; /* shown as such: "-1: unknown" */
        warnf(in, "cannot read %s: the socket's queue length is unknown", QLEN_PATH);
    } else if (in->max_dgram_qlen < INGEST_MIN_DGRAM_QLEN)
        warnf(in,
              "net.unix.max_dgram_qlen is %ld: clients drop datagrams under any burst; set it "
              "to at least %d (sysctl -w net.unix.max_dgram_qlen=%d) before starting ustatsd",
              in->max_dgram_qlen, INGEST_MIN_DGRAM_QLEN, INGEST_MIN_DGRAM_QLEN);
}

/* Mode and group of the bound socket file, and its identity for the stop-time unlink. */
static int own_socket_file(struct ingest *in, gid_t gid, char *err, size_t errlen)
{
    struct stat st;
    int e;

    if (chmod(in->path, in->mode) < 0) {
        e = errno;
        errf(err, errlen, "chmod(%s, %04o) failed: %s", in->path, (unsigned)in->mode, strerror(e));
        return -e;
    }
    if (gid != (gid_t)-1 && lchown(in->path, (uid_t)-1, gid) < 0) {
        e = errno;
        errf(err, errlen, "chown(%s, group %s) failed: %s", in->path, in->group, strerror(e));
        return -e;
    }
    if (lstat(in->path, &st) < 0) {
        e = errno;
        errf(err, errlen, "stat(%s) after bind failed: %s", in->path, strerror(e));
        return -e;
    }
    in->sock_dev = st.st_dev;
    in->sock_ino = st.st_ino;
    return 0;
}

/*
 * Poll the bound in->fd. On a failure after the handle exists, ingest_close() has taken
 * over the fd (in->closing is set); before it, the caller still owns the fd.
 */
static int start_polling(struct ingest *in, char *err, size_t errlen)
{
    int r = uv_poll_init(in->loop, &in->poll, in->fd);

    if (r < 0) {
        errf(err, errlen, "uv_poll_init on %s failed: %s", in->path, uv_strerror(r));
        return r;
    }
    /* libuv's idle and check handles cannot fail to initialise on a live loop. */
    uv_idle_init(in->loop, &in->resume_idle);
    uv_check_init(in->loop, &in->resume_check);
    in->poll.data = in->resume_idle.data = in->resume_check.data = in;
    in->open_handles = 3;
    ingestrecv_alloc(in);
    r = uv_poll_start(&in->poll, UV_READABLE, ingestrecv_readable_cb);
    if (r < 0) {
        /* The handle is initialised: it must go through uv_close; close cleans up. */
        errf(err, errlen, "uv_poll_start on %s failed: %s", in->path, uv_strerror(r));
        ingest_close(in, NULL);
        return r;
    }
    return 0;
}

/*
 * Take the passed socket as it is: systemd made it before any instance ran and keeps it
 * between them. It arrives blocking, as ListenDatagram= leaves it; the drain relies on
 * EAGAIN, so it is made non-blocking here. O_NONBLOCK sits on the open file description,
 * which systemd shares, but systemd never reads from it.
 */
static int adopt(struct ingest *in, char *err, size_t errlen)
{
    int fd = in->adopt_fd, flags = fcntl(fd, F_GETFL), one = 1, r;

    in->adopt_fd = -1;
    in->adopted = 1;
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        r = -errno;
        errf(err, errlen, "passed socket fd %d for %s: fcntl failed: %s", fd, in->path,
             strerror(errno));
        close(fd);
        return r;
    }
    if (in->kind == INGEST_UNIX && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
        r = -errno;
        errf(err, errlen, "setsockopt(SO_PASSCRED) on passed socket fd %d for %s failed: %s", fd,
             in->path, strerror(errno));
        close(fd);
        return r;
    }
    set_rcvbuf(in, fd);
    in->fd = fd;
    in->passcred = in->kind == INGEST_UNIX;
    return 0;
}

/*
 * A passed socket's mode and group are the .socket unit's (SocketMode=, SocketGroup=), and
 * the daemon leaves them: but when they differ from what the config asks for, senders the
 * config lets in may be refused (or others let in), so say so. The file is stat()ed by
 * path: fstat() on a socket describes the socket, not its file. Nothing here refuses.
 */
static void check_adopted_file(struct ingest *in)
{
    struct stat st;
    struct group gr, *res = NULL;
    char scratch[4096], have[64], why[128];
    gid_t gid;

    if (stat(in->path, &st) != 0) {
        warnf(in, "passed socket %s: stat failed: %s; its mode and group are not checked", in->path,
              strerror(errno));
        return;
    }
    if ((st.st_mode & 07777) != in->mode)
        warnf(in,
              "daemon.socket_mode is %04o but the passed socket %s has mode %04o (the "
              ".socket unit's SocketMode=), which applies",
              (unsigned)in->mode, in->path, (unsigned)(st.st_mode & 07777));
    if (in->group[0] == '\0')
        return;
    /* A group unknown to this machine differs from any the file can have. */
    if (resolve_group(in->group, &gid, why, sizeof(why)) == 0 && gid == st.st_gid)
        return;
    if (getgrgid_r(st.st_gid, &gr, scratch, sizeof(scratch), &res) == 0 && res != NULL)
        snprintf(have, sizeof(have), "%s", res->gr_name);
    else
        snprintf(have, sizeof(have), "%lu", (unsigned long)st.st_gid);
    warnf(in,
          "daemon.socket_group is \"%s\" but the passed socket %s has group \"%s\" (the "
          ".socket unit's SocketGroup=), which applies",
          in->group, in->path, have);
}

static void udp_bound(struct ingest *in)
{
    netaddr_format(&in->bound.sa, in->addr_text, sizeof(in->addr_text));
    if (in->rcvbuf_request > 0 && in->rcvbuf >= 0 && in->rcvbuf < in->rcvbuf_request)
        warnf(in,
              "udp %s: SO_RCVBUF is %d bytes, less than the %d asked for: raise "
              "net.core.rmem_max to absorb longer bursts",
              in->addr_text, in->rcvbuf, in->rcvbuf_request);
}

/* The loopback rule holds for a passed socket too: it is checked on where it is bound. */
static int start_udp_adopted(struct ingest *in, char *err, size_t errlen)
{
    socklen_t len = sizeof(in->bound);
    int r = adopt(in, err, errlen);

    if (r < 0)
        return r;
    if (getsockname(in->fd, &in->bound.sa, &len) < 0) {
        r = -errno;
        errf(err, errlen, "getsockname on passed udp socket fd %d failed: %s", in->fd,
             strerror(errno));
        goto fail;
    }
    if (!in->allow_remote && !netaddr_is_loopback(&in->bound.sa)) {
        errf(err, errlen,
             "passed udp socket fd %d is bound to %s, not a loopback address, and remote "
             "senders are not allowed",
             in->fd, netaddr_format(&in->bound.sa, in->addr_text, sizeof(in->addr_text)));
        r = -EACCES;
        goto fail;
    }
    udp_bound(in);
    r = start_polling(in, err, errlen);
    if (r == 0 || in->closing)
        return r;
fail:
    close(in->fd);
    in->fd = -1;
    return r;
}

/*
 * UDP: no file, no credentials. The address was checked by the config already; it is
 * checked again here so that no caller can bind beyond loopback by mistake.
 */
static int start_udp(struct ingest *in, char *err, size_t errlen)
{
    union netaddr sa;
    socklen_t len;
    int fd, r;

    if (in->path_too_long || netaddr_parse(in->path, &sa) != 0) {
        errf(err, errlen, "udp address \"%s\": expected host:port with a numeric host", in->path);
        if (in->adopt_fd >= 0)
            close(in->adopt_fd);
        in->adopt_fd = -1;
        return -EINVAL;
    }
    if (in->adopt_fd >= 0)
        return start_udp_adopted(in, err, errlen);
    if (!in->allow_remote && !netaddr_is_loopback(&sa.sa)) {
        errf(err, errlen,
             "udp address %s is not a loopback address and remote senders are not "
             "allowed",
             in->path);
        return -EACCES;
    }
    fd = socket(sa.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        errf(err, errlen, "socket(SOCK_DGRAM) for udp %s failed: %s", in->path, strerror(errno));
        return r;
    }
    set_rcvbuf(in, fd);
    len = sizeof(in->bound);
    if (bind(fd, &sa.sa, netaddr_len(&sa)) < 0 || getsockname(fd, &in->bound.sa, &len) < 0) {
        r = -errno;
        errf(err, errlen, "bind(udp %s) failed: %s", in->path, strerror(errno));
        close(fd);
        return r;
    }
    udp_bound(in);
    in->fd = fd;
    r = start_polling(in, err, errlen);
    if (r < 0 && !in->closing) {
        close(in->fd);
        in->fd = -1;
    }
    return r;
}

int64_t ingest_kernel_drops(const struct ingest *in)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mem);

    if (in->kind != INGEST_UDP)
        return -EOPNOTSUPP;
    if (in->fd < 0)
        return -EBADF;
    if (getsockopt(in->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
        return -errno;
    if (len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
        return -EOPNOTSUPP;
    return mem[SK_MEMINFO_DROPS];
}

int ingest_start(struct ingest *in, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    gid_t gid = (gid_t)-1;
    int r;

    if (errlen > 0)
        err[0] = '\0';
    if (in->kind == INGEST_UDP)
        return start_udp(in, err, errlen);
    r = check_names(in, err, errlen);
    if (r < 0) {
        if (in->adopt_fd >= 0)
            close(in->adopt_fd);
        in->adopt_fd = -1;
        return r;
    }
    if (in->adopt_fd >= 0) {
        read_qlen(in);
        check_adopted_file(in);
        r = adopt(in, err, errlen);
        if (r < 0)
            return r;
        r = start_polling(in, err, errlen);
        if (r < 0 && !in->closing) {
            close(in->fd);
            in->fd = -1;
        }
        return r;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, in->path, strlen(in->path));
    if (in->group[0] != '\0') {
        r = resolve_group(in->group, &gid, err, errlen);
        if (r < 0)
            return r;
    }
    read_qlen(in);

    r = clear_stale(in, &sa, err, errlen);
    if (r < 0)
        return r;
    r = bind_socket(in, &sa, err, errlen);
    if (r < 0)
        return r;
    r = own_socket_file(in, gid, err, errlen);
    if (r < 0)
        goto fail_bound;
    r = start_polling(in, err, errlen);
    if (r < 0 && !in->closing)
        goto fail_bound;
    return r;

fail_bound:
    unlink(in->path);
    close(in->fd);
    in->fd = -1;
    return r;
}

int ingest_check_socket(const char *path, char *err, size_t errlen)
{
    struct ingest_config cfg = { 0 };
    struct ingest *in = mem_alloc(sizeof(*in));
    struct stat st;
    char *dir;
    int r;

    cfg.path = path;
    ingest_init(in, NULL, &cfg, NULL, NULL);
    r = check_names(in, err, errlen);
    free(in);
    if (r < 0)
        return r;
    if (lstat(path, &st) == 0) {
        if (S_ISSOCK(st.st_mode))
            return 0; /* the running daemon's, or one systemd made to pass: nothing to bind */
        errf(err, errlen,
             "socket path %s exists and is not a socket; start-up would refuse to replace it",
             path);
        return -EEXIST;
    }
    /* bind(2) creates the file in the directory. */
    r = path_dir_writable(path, &dir);
    if (r == -ENOENT)
        errf(err, errlen, "socket path %s: its directory %s does not exist", path, dir);
    else if (r == -ENOTDIR)
        errf(err, errlen, "socket path %s: %s is not a directory", path, dir);
    else if (r < 0)
        errf(err, errlen, "socket path %s: cannot create the socket in %s: %s", path, dir,
             strerror(-r));
    free(dir);
    return r < 0 ? r : 0;
}

int ingest_check_group(const char *group, char *err, size_t errlen)
{
    char name[sizeof(((struct ingest *)0)->group)];
    gid_t gid;

    if (group == NULL || group[0] == '\0')
        return 0;
    if (copy_str(name, sizeof(name), group) < 0) {
        errf(err, errlen, "socket group name is longer than %zu bytes", sizeof(name) - 1);
        return -ENAMETOOLONG;
    }
    return resolve_group(name, &gid, err, errlen);
}

/* One of the poll, idle and check handles closed: the ingest is closed with the last. */
static void on_handle_closed(uv_handle_t *handle)
{
    struct ingest *in = handle->data;

    if (--in->open_handles > 0)
        return;
    close(in->fd);
    in->fd = -1;
    ingestrecv_free(in);
    if (in->close_cb != NULL)
        in->close_cb(in);
}

int ingest_passcred(struct ingest *in, int on)
{
    on = on != 0;
    if (in->kind != INGEST_UNIX || in->fd < 0 || in->passcred == on)
        return 0;
    if (setsockopt(in->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
        return -errno;
    in->passcred = on;
    return 0;
}

void ingest_deliver_held(struct ingest *in)
{
    if (in->fd >= 0 && !in->closing && in->msgs != NULL)
        ingestrecv_deliver_held(in, 0);
}

void ingest_close(struct ingest *in, ingest_close_cb close_cb)
{
    struct stat st;

    if (in->closing)
        return;
    in->closing = 1;
    in->close_cb = close_cb;
    /*
     * Held datagrams were taken from the socket already: they are delivered, not lost (a
     * close from one of those deliveries finds the ingest closing, and returns).
     */
    ingestrecv_deliver_held(in, 1);
    /*
     * Another daemon may have taken over the path since: unlink only our own file. An
     * adopted socket's file belongs to systemd, and its queue to the next instance.
     */
    if (in->kind == INGEST_UNIX && !in->adopted && lstat(in->path, &st) == 0 &&
        st.st_dev == in->sock_dev && st.st_ino == in->sock_ino)
        unlink(in->path);
    uv_close((uv_handle_t *)&in->poll, on_handle_closed);
    uv_close((uv_handle_t *)&in->resume_idle, on_handle_closed);
    uv_close((uv_handle_t *)&in->resume_check, on_handle_closed);
}
