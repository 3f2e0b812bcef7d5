#include "http/listener.h"
#include "base/mem.h"
#include "base/netaddr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void listener_init(struct listener *l, uv_loop_t *loop)
{
    memset(l, 0, sizeof(*l));
    l->loop = loop;
}

/* Replace a stale unix socket file; refuse a live one or a non-socket. */
static int unix_prepare(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd, rc;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        seterr(err, errlen, "unix:%s: path too long", path);
        return -ENAMETOOLONG;
    }
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        seterr(err, errlen, "unix:%s: exists and is not a socket, refusing to replace it", path);
        return -EEXIST;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    rc = rc == 0 ? 0 : -errno;
    close(fd);
    if (rc != -ECONNREFUSED) {
        seterr(err, errlen, "unix:%s: socket in use by another process", path);
        return -EADDRINUSE;
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int listener_parse_inet(const char *addr, struct sockaddr_storage *ss)
{
    union netaddr a;
    int rc = netaddr_parse(addr, &a);

    memset(ss, 0, sizeof(*ss));
    if (rc == 0)
        memcpy(ss, &a, netaddr_len(&a));
    return rc;
}

/* Bind a unix: address. *said is set when err holds the message of a failure. */
static int bind_unix(struct listener *l, const char *addr, char *err, size_t errlen, int *said)
{
    const char *path = addr + 5;
    int rc;

    *said = 1;
    if (path[0] == '\0') {
        seterr(err, errlen, "listen %s: empty path", addr);
        return -EINVAL;
    }
    rc = unix_prepare(path, err, errlen);
    if (rc < 0) {
        if (err && err[0] == '\0')
            seterr(err, errlen, "listen %s: %s", addr, uv_strerror(rc));
        return rc;
    }
    *said = 0;
    rc = uv_pipe_init(l->loop, &l->h.pipe, 0);
    if (rc < 0)
        return rc;
    l->open = 1;
    rc = uv_pipe_bind(&l->h.pipe, path);
    if (rc < 0)
        return rc;
    l->unix_path = mem_strdup(path);
    return 0;
}

static int bind_inet(struct listener *l, const char *addr, char *err, size_t errlen, int *said)
{
    struct sockaddr_storage ss;
    int rc;

    *said = listener_parse_inet(addr, &ss) < 0;
    if (*said) {
        seterr(err, errlen,
               "listen %s: expected host:port with a numeric IPv4 host, [v6]:port "
               "or unix:/path",
               addr);
        return -EINVAL;
    }
    rc = uv_tcp_init(l->loop, &l->h.tcp);
    if (rc < 0)
        return rc;
    l->open = 1;
    return uv_tcp_bind(&l->h.tcp, (const struct sockaddr *)&ss, 0);
}

int listener_start(struct listener *l, const char *addr, uv_connection_cb cb, char *err,
                   size_t errlen)
{
    int unix_addr = strncmp(addr, "unix:", 5) == 0;
    int rc, said;

    if (l->open) {
        seterr(err, errlen, "listen %s: server already listening", addr);
        return -EALREADY;
    }
    rc =
        unix_addr ? bind_unix(l, addr, err, errlen, &said) : bind_inet(l, addr, err, errlen, &said);
    if (said)
        return rc;
    if (rc == 0)
        rc = uv_listen(&l->h.stream, LISTENER_BACKLOG, cb);
    if (rc == 0)
        return 0;
    seterr(err, errlen, "listen %s: %s", addr, uv_strerror(rc));
    /* The handle is closed by listener_close(), like any other. */
    if (l->unix_path) {
        unlink(l->unix_path);
        free(l->unix_path);
        l->unix_path = NULL;
    }
    return rc;
}

int listener_adopt(struct listener *l, const char *addr, int fd, uv_connection_cb cb, char *err,
                   size_t errlen)
{
    int unix_addr = strncmp(addr, "unix:", 5) == 0;
    int rc;

    if (l->open) {
        seterr(err, errlen, "listen %s: server already listening", addr);
        close(fd);
        return -EALREADY;
    }
    rc = unix_addr ? uv_pipe_init(l->loop, &l->h.pipe, 0) : uv_tcp_init(l->loop, &l->h.tcp);
    if (rc < 0) {
        close(fd);
        goto fail;
    }
    l->open = 1;
    l->adopted = 1;
    rc = unix_addr ? uv_pipe_open(&l->h.pipe, fd) : uv_tcp_open(&l->h.tcp, fd);
    if (rc < 0) {
        close(fd);
        goto fail;
    }
    if (unix_addr)
        l->unix_path = mem_strdup(addr + 5);
    /* listen(2) again on a listening socket only sets the backlog. */
    rc = uv_listen(&l->h.stream, LISTENER_BACKLOG, cb);
    if (rc == 0)
        return 0;
fail:
    seterr(err, errlen, "listen %s on passed fd %d: %s", addr, fd, uv_strerror(rc));
    return rc;
}

size_t listener_stream_size(const struct listener *l)
{
    return l->h.handle.type == UV_NAMED_PIPE ? sizeof(uv_pipe_t) : sizeof(uv_tcp_t);
}

int listener_stream_init(struct listener *l, uv_stream_t *s)
{
    if (l->h.handle.type == UV_NAMED_PIPE)
        return uv_pipe_init(l->loop, (uv_pipe_t *)s, 0);
    return uv_tcp_init(l->loop, (uv_tcp_t *)s);
}

int listener_accept(struct listener *l, uv_stream_t *s)
{
    int rc = uv_accept(&l->h.stream, s);

    if (rc == 0 && s->type == UV_TCP)
        uv_tcp_nodelay((uv_tcp_t *)s, 1);
    return rc;
}

int listener_refuse(struct listener *l, void *data, uv_close_cb closed_cb)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n";
    uv_stream_t *s = mem_calloc(1, listener_stream_size(l));
    uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);
    int rc = listener_stream_init(l, s);

    if (rc != 0) {
        free(s);
        return rc;
    }
    s->data = data;
    if (uv_accept(&l->h.stream, s) == 0)
        (void)uv_try_write(s, &b, 1);
    uv_close((uv_handle_t *)s, closed_cb);
    return 0;
}

static int inet_address(const struct listener *l, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = (int)sizeof(ss);
    char text[NETADDR_TEXT_MAX];

    if (uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&ss, &n) != 0)
        return -1;
    return snprintf(out, len, "%s", netaddr_format((struct sockaddr *)&ss, text, sizeof(text)));
}

int listener_address(const struct listener *l, char *out, size_t len)
{
    int w;

    if (!l->open)
        return -ENOTCONN;
    if (l->unix_path) {
        w = snprintf(out, len, "unix:%s", l->unix_path);
    } else {
        w = inet_address(l, out, len);
        if (w == -1)
            return -ENOTCONN;
    }
    return w < 0 || (size_t)w >= len ? -ENOSPC : 0;
}

int listener_close(struct listener *l, void *data, uv_close_cb cb)
{
    int closing = l->open;

    if (l->open) {
        l->h.handle.data = data;
        uv_close(&l->h.handle, cb);
    }
    if (l->unix_path) {
        if (!l->adopted)
            unlink(l->unix_path);
        free(l->unix_path);
        l->unix_path = NULL;
    }
    return closing;
}
