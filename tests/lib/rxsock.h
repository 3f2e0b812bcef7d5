/*
 * rxsock: a stand-in for the daemon in client tests. An AF_UNIX datagram socket bound in
 * a fresh mkdtemp() directory, read with recv(MSG_DONTWAIT): a local datagram is queued
 * by the time send() returns, so no test waits on a daemon.
 *
 *     struct rxsock rx;
 *     rxsock_init(&rx);               directory and path; nothing bound yet
 *     rxsock_bind(&rx);               the daemon is up
 *     ustatsd_open(&st, rx.path);
 *     ... rxsock_recv(&rx, buf, sizeof(buf)) ...
 *     rxsock_unbind(&rx);             the daemon goes away (socket closed, path unlinked)
 *     rxsock_release(&rx);            unbind and remove the directory
 *
 * Failures (mkdtemp, socket, bind) fail the Criterion test.
 */
#ifndef USTATSD_TESTS_RXSOCK_H
#define USTATSD_TESTS_RXSOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "ustatsd.h"

struct rxsock {
    char dir[64];
    char path[108]; /* dir/ustatsd.sock; fits a sockaddr_un */
    int fd;         /* -1 when not bound */
};

/* Create the directory and set path; binds nothing. */
void rxsock_init(struct rxsock *r);

/* Bind a new socket at path (a restarted daemon binds a new inode at the same path). */
void rxsock_bind(struct rxsock *r);

/* Close the socket and unlink its path, as a daemon that stops does. Safe when unbound. */
void rxsock_unbind(struct rxsock *r);

/* rxsock_unbind(), then remove the directory. */
void rxsock_release(struct rxsock *r);

/*
 * The next queued datagram into buf (cap - 1 bytes at most), NUL-terminated. Returns its
 * length, or -1 when none is queued (or the socket is unbound). Never waits.
 */
ssize_t rxsock_recv(struct rxsock *r, char *buf, size_t cap);

/*
 * The fixture of most client tests: rxsock_init(), rxsock_bind(), then open c on r's
 * path with opts (NULL: the defaults) and check that it connected.
 */
void rxsock_start(struct rxsock *r, struct ustatsd *c, const struct ustatsd_options *opts);

/* ustatsd_close(c), then rxsock_release(r). */
void rxsock_stop(struct rxsock *r, struct ustatsd *c);

/*
 * One receiver and one client for a whole test program (Criterion runs each test in a
 * process of its own), with .init and .fini functions:
 *
 *     Test(client, sends, .init = rxsock_up, .fini = rxsock_down) { ... &rxsock_client ... }
 *
 * rxsock_up() is rxsock_start(&rxsock_rx, &rxsock_client, NULL); rxsock_down() is
 * rxsock_stop() on the pair, also after an .init that set them up some other way.
 */
extern struct rxsock rxsock_rx;
extern struct ustatsd rxsock_client;
void rxsock_up(void);
void rxsock_down(void);

#endif
