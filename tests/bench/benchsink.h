/*
 * benchsink.h: the raw sink of the benchmarks, the baseline every ingest ratio is measured
 * against. A part of benchutil.h, which includes it where this section was; include
 * benchutil.h, not this file.
 */
#ifndef USTATSD_BENCHSINK_H
#define USTATSD_BENCHSINK_H

#include "benchfloor.h"

/* ---- the raw sink -------------------------------------------------------------- */

/*
 * The ceiling the daemon is measured against: a thread that receives with recvmmsg in
 * batches of 64, with SO_PASSCRED on (credentials are part of the transport's cost: the
 * sink of issue 30's targets, and a daemon's that asks for them), and only counts
 * datagrams and lines. benchutil_sink_start_as() can leave SO_PASSCRED off.
 */
struct benchutil_sink {
    char path[200];
    int udp;  /* benchutil_udp_sink_start(): a UDP socket at 127.0.0.1:port, not path */
    int port; /* UDP: the port the kernel picked */
    int fd;
    pthread_t thread;
    uint64_t want_lines;
    uint64_t datagrams, lines, bytes;
    uint64_t calls; /* recvmmsg calls that returned datagrams: datagrams / calls is the batch */
    atomic_uint_least64_t seen; /* datagrams, as published after each batch (other threads) */
    uint64_t done_ns;           /* when lines reached want_lines; 0 if it never did */
    atomic_int stop;            /* set by benchutil_sink_stop() */
    int error; /* errno of a failed recvmmsg (ETIMEDOUT-like EAGAIN after 10 s idle) */
    struct benchfloor *floor;         /* not NULL: each datagram also goes into it (benchfloor.h) */
    struct benchfloor_statsd *sfloor; /* not NULL: the same, the floor of a statsd aggregator */
};

static inline void *benchutil_sink_run(void *arg)
{
    struct benchutil_sink *s = arg;
    static char bufs[BENCHUTIL_SINK_BATCH][BENCHUTIL_MAX_DGRAM + 1];
    static char ctrl[BENCHUTIL_SINK_BATCH][CMSG_SPACE(sizeof(struct ucred))];
    static struct sockaddr_storage names[BENCHUTIL_SINK_BATCH];
    struct mmsghdr msgs[BENCHUTIL_SINK_BATCH];
    struct iovec iov[BENCHUTIL_SINK_BATCH];

    benchutil_pin(BENCHUTIL_CPU_RECEIVER);
    for (int i = 0; i < BENCHUTIL_SINK_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = BENCHUTIL_MAX_DGRAM;
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = ctrl[i];
    }
    while (s->lines < s->want_lines) {
        int n;
        /* UDP: the source address of each datagram, as the daemon asks for; no credentials. */
        for (int i = 0; i < BENCHUTIL_SINK_BATCH; i++) {
            msgs[i].msg_hdr.msg_controllen = s->udp ? 0 : sizeof(ctrl[i]);
            msgs[i].msg_hdr.msg_name = s->udp ? &names[i] : NULL;
            msgs[i].msg_hdr.msg_namelen = s->udp ? sizeof(names[i]) : 0;
        }
        n = recvmmsg(s->fd, msgs, BENCHUTIL_SINK_BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s->error = errno;
            return NULL;
        }
        if (atomic_load(&s->stop))
            return NULL; /* woken by benchutil_sink_stop() */
        for (int i = 0; i < n; i++) {
            const char *p = bufs[i], *end = p + msgs[i].msg_len;
            uint64_t lines = 1;
            if (s->floor != NULL || s->sfloor != NULL) {
                s->lines += benchfloor_take_into(s->floor, s->sfloor, p, msgs[i].msg_len);
                s->bytes += msgs[i].msg_len;
                continue;
            }
            while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                lines++;
                p++;
            }
            s->lines += lines;
            s->bytes += msgs[i].msg_len;
        }
        /* The batch's lines into their series before the next recvmmsg reuses its buffers. */
        if (s->floor != NULL || s->sfloor != NULL)
            benchfloor_flush_into(s->floor, s->sfloor);
        s->datagrams += (uint64_t)n;
        s->calls++;
        atomic_store_explicit(&s->seen, s->datagrams, memory_order_release);
    }
    s->done_ns = benchutil_now_ns();
    return NULL;
}

/* Zero s and open its datagram socket, which gives up after 10 s without a datagram. */
static inline void benchutil_sink_socket(struct benchutil_sink *s, int family, uint64_t want_lines,
                                         int rcvbuf)
{
    struct timeval idle = { 10, 0 };

    memset(s, 0, sizeof(*s));
    s->want_lines = want_lines;
    s->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        benchutil_die("sink socket: %s", strerror(errno));
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
}

/*
 * Bind the sink at path and start its thread; it stops once it has counted want_lines.
 * floor, sfloor: NULL for the raw sink, else the floor of an aggregator, or of a statsd
 * aggregator, that each datagram also goes into (benchfloor.h; one of them at most).
 * passcred: SO_PASSCRED on (every sender's credentials, as the daemon asks for them), or
 * off (none: the kernel neither attaches them nor hands them over).
 */
static inline void benchutil_sink_start_as(struct benchutil_sink *s, const char *path,
                                           uint64_t want_lines, struct benchfloor *floor,
                                           struct benchfloor_statsd *sfloor, int passcred)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    benchutil_sink_socket(s, AF_UNIX, want_lines, 8 << 20);
    s->floor = floor;
    s->sfloor = sfloor;
    benchutil_fmt(s->path, sizeof(s->path), "%s", path);
    setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &passcred, sizeof(passcred));
    benchutil_fmt(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        benchutil_die("sink bind(%s): %s", path, strerror(errno));
    if (pthread_create(&s->thread, NULL, benchutil_sink_run, s) != 0)
        benchutil_die("pthread_create failed");
}

/* The same with SO_PASSCRED on: the raw sink every ratio is taken against. */
static inline void benchutil_sink_start(struct benchutil_sink *s, const char *path,
                                        uint64_t want_lines, struct benchfloor *floor,
                                        struct benchfloor_statsd *sfloor)
{
    benchutil_sink_start_as(s, path, want_lines, floor, sfloor, 1);
}

/*
 * The UDP sink: the same thread on a UDP socket bound to 127.0.0.1 at a port the kernel
 * picks (s->port), with SO_RCVBUF asked for as rcvbuf bytes, as the daemon's udp_rcvbuf.
 */
static inline void benchutil_udp_sink_start(struct benchutil_sink *s, uint64_t want_lines,
                                            int rcvbuf)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);

    benchutil_sink_socket(s, AF_INET, want_lines, rcvbuf);
    s->udp = 1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&sa, &len) < 0)
        benchutil_die("udp sink bind: %s", strerror(errno));
    s->port = ntohs(sa.sin_port);
    if (pthread_create(&s->thread, NULL, benchutil_sink_run, s) != 0)
        benchutil_die("pthread_create failed");
}

/* The datagrams the kernel dropped on the UDP sink's socket (SO_MEMINFO), or -1. */
static inline int64_t benchutil_sink_drops(const struct benchutil_sink *s)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mem);

    if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
        len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
        return -1;
    return mem[SK_MEMINFO_DROPS];
}

/* SO_RCVBUF of the sink's socket as granted. */
static inline int benchutil_sink_rcvbuf(const struct benchutil_sink *s)
{
    int v = -1;
    socklen_t len = sizeof(v);
    getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &v, &len);
    return v;
}

static inline int benchutil_connect_udp(int port);

/*
 * Stop a sink started with want_lines UINT64_MAX. shutdown(2) does not wake a recvmmsg
 * blocked on a Unix datagram socket, so set the flag and send one datagram (not counted).
 */
static inline void benchutil_sink_stop(struct benchutil_sink *s)
{
    int fd;

    atomic_store(&s->stop, 1);
    fd = s->udp ? benchutil_connect_udp(s->port) : benchutil_connect_dgram(s->path);
    if (send(fd, "x", 1, 0) < 0)
        benchutil_die("waking the sink: %s", strerror(errno));
    close(fd);
    pthread_join(s->thread, NULL);
    close(s->fd);
    if (!s->udp)
        unlink(s->path);
}

static inline void benchutil_sink_join(struct benchutil_sink *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
    unlink(s->path);
}

#endif
