#include "rxsock.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void rxsock_init(struct rxsock *r)
{
    r->fd = -1;
    snprintf(r->dir, sizeof(r->dir), "/tmp/ustatsd-client-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir), "mkdtemp: %s", strerror(errno));
    snprintf(r->path, sizeof(r->path), "%s/ustatsd.sock", r->dir);
}

void rxsock_bind(struct rxsock *r)
{
    struct sockaddr_un sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, r->path, strlen(r->path) + 1);
    r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(r->fd, 0, "socket: %s", strerror(errno));
    cr_assert_eq(bind(r->fd, (const struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", r->path,
                 strerror(errno));
}

void rxsock_unbind(struct rxsock *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    unlink(r->path);
}

void rxsock_release(struct rxsock *r)
{
    rxsock_unbind(r);
    rmdir(r->dir);
}

ssize_t rxsock_recv(struct rxsock *r, char *buf, size_t cap)
{
    ssize_t n = r->fd >= 0 ? recv(r->fd, buf, cap - 1, MSG_DONTWAIT) : -1;

    if (n >= 0)
        buf[n] = '\0';
    return n;
}

void rxsock_start(struct rxsock *r, struct ustatsd *c, const struct ustatsd_options *opts)
{
    rxsock_init(r);
    rxsock_bind(r);
    cr_assert_eq(ustatsd_open_with(c, r->path, opts), 0);
    cr_assert_eq(c->connects, 1);
}

void rxsock_stop(struct rxsock *r, struct ustatsd *c)
{
    ustatsd_close(c);
    rxsock_release(r);
}

struct rxsock rxsock_rx = { "", "", -1 };
struct ustatsd rxsock_client;

void rxsock_up(void)
{
    rxsock_start(&rxsock_rx, &rxsock_client, NULL);
}

void rxsock_down(void)
{
    rxsock_stop(&rxsock_rx, &rxsock_client);
}
