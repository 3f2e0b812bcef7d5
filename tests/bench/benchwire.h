/*
 * benchwire: the transport of a response's bytes alone, the raw sink of a scrape. A
 * thread of the bench, on the daemon's CPU, listens on a Unix stream socket beside the
 * daemon's; each connection gets its request read, then as many bytes as it is told
 * (a status line "HTTP/1.1 200 OK" and filler), written in 64 KiB blocking writes, and a
 * close: what the kernel and the client do for a
 * response of that size, without the daemon's render. bench_scrape's run_once() times
 * one after each of the daemon's runs, so both see the machine at the same moment.
 *
 *   benchwire_start(&w, dir);  w.addr is "unix:<dir>/wire.sock"
 *   benchwire_set(&w, bytes);  the next connections get this many bytes
 *   benchwire_stop(&w);
 */
#ifndef USTATSD_BENCHWIRE_H
#define USTATSD_BENCHWIRE_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "benchutil.h"

#define BENCHWIRE_PIECE 65536

struct benchwire {
    char addr[128]; /* "unix:<dir>/wire.sock", for httpc */
    char path[108]; /* sun_path's size */
    int lfd;
    pthread_t thread;
    atomic_size_t bytes; /* what each connection gets */
    atomic_int stop;
    char piece[BENCHWIRE_PIECE];
};

/* Read the request up to its blank line (the client sends one and waits). */
static inline int benchwire__read_request(int fd)
{
    char in[4096];
    size_t have = 0;

    while (have < sizeof(in)) {
        ssize_t n = read(fd, in + have, sizeof(in) - have);

        if (n <= 0)
            return -1;
        have += (size_t)n;
        for (size_t i = 3; i < have; i++)
            if (memcmp(in + i - 3, "\r\n\r\n", 4) == 0)
                return 0;
    }
    return -1;
}

static inline void benchwire__serve(struct benchwire *w, int fd)
{
    size_t left = atomic_load(&w->bytes);

    if (benchwire__read_request(fd) != 0)
        return;
    while (left > 0) {
        size_t k = left < sizeof(w->piece) ? left : sizeof(w->piece);
        ssize_t n = write(fd, w->piece, k);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        left -= (size_t)n;
    }
}

static inline void *benchwire__main(void *arg)
{
    struct benchwire *w = arg;

    (void)benchutil_pin(BENCHUTIL_CPU_RECEIVER); /* the daemon's CPU */
    while (!atomic_load(&w->stop)) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0)
            continue;
        benchwire__serve(w, fd);
        close(fd);
    }
    return NULL;
}

/* Returns 0, or -1 with errno set. */
static inline int benchwire_start(struct benchwire *w, const char *dir)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    static const char status[] = "HTTP/1.1 200 OK\r\n";

    memset(w->piece, 'x', sizeof(w->piece));
    memcpy(w->piece, status, sizeof(status) - 1);
    if (snprintf(w->path, sizeof(w->path), "%s/wire.sock", dir) >= (int)sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(w->addr, sizeof(w->addr), "unix:%s", w->path);
    strcpy(sa.sun_path, w->path);
    atomic_init(&w->bytes, 0);
    atomic_init(&w->stop, 0);
    w->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (w->lfd < 0)
        return -1;
    if (bind(w->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(w->lfd, 16) != 0 ||
        pthread_create(&w->thread, NULL, benchwire__main, w) != 0) {
        close(w->lfd);
        return -1;
    }
    return 0;
}

static inline void benchwire_set(struct benchwire *w, size_t bytes)
{
    atomic_store(&w->bytes, bytes);
}

/* The thread waits in accept(): one last connection wakes it. */
static inline void benchwire_stop(struct benchwire *w)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    atomic_store(&w->stop, 1);
    strcpy(sa.sun_path, w->path);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
    }
    pthread_join(w->thread, NULL);
    close(w->lfd);
    unlink(w->path);
}

#endif
