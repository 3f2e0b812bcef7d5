/*
 * ingest: the daemon's datagram receivers, the Unix socket and the optional UDP one.
 *
 * An I/O module. libuv has no Unix datagram handle, so ingest binds the AF_UNIX/SOCK_DGRAM
 * socket itself and drains it with recvmmsg(2) from a uv_poll_t. That path gives the
 * sender's credentials (SO_PASSCRED, SCM_CREDENTIALS) and lets ingest bound the work done
 * per wake-up, so that a flood of datagrams cannot starve the scrapes served by the same
 * loop. A UDP socket (INGEST_UDP) is drained by the same code, with the source address of
 * each datagram in place of credentials (UDP carries none). Each socket is its own struct
 * ingest with its own budget: libuv calls every ready poll handle once per loop
 * iteration, so two sockets take turns and a flood on one cannot starve the other.
 *
 * Lifecycle:
 *   ingest_init()  fills the struct from the config; allocates nothing, cannot fail.
 *   ingest_start() reads net.unix.max_dgram_qlen, removes a stale socket file, binds,
 *                  applies mode and group, allocates the receive buffers once and starts
 *                  polling. On failure it has released everything: nothing to close.
 *   ingest_close() delivers the datagrams a drain held (ingest_deliver_held), stops
 *                  polling, closes the socket, unlinks the socket file (if it is
 *                  still the one ingest bound, and never an adopted one) and calls
 *                  close_cb from the loop once its handles are closed. Call it only
 *                  after ingest_start() returned 0; it never calls close_cb
 *                  synchronously. The struct must stay alive until close_cb runs.
 *
 * Adopting a socket (ingest_config.fd, from systemd's socket activation, see sysd.h): the
 * socket is already bound, and it belongs to the .socket unit, which outlives the
 * process. ingest_start() then removes no stale file, binds nothing and changes neither
 * mode nor group (the unit's SocketMode= and SocketGroup= own them: a warning says when
 * they differ from cfg->mode, or from cfg->group when one is set); it still asks for
 * SO_PASSCRED and SO_RCVBUF, makes the socket non-blocking and reads max_dgram_qlen.
 * ingest_close() delivers what it holds already, stops reading and closes the process's
 * descriptor, and nothing else: it neither drains nor unlinks, so the datagrams still
 * queued wait in the kernel for the next instance.
 *
 * Every function is for the loop thread only. ingest_start() sets the process umask for
 * the duration of bind(2): start it before other threads create files.
 */
#ifndef USTATSD_INGEST_H
#define USTATSD_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <uv.h>

#include "base/netaddr.h"

#define INGEST_DEFAULT_MODE      0660
#define INGEST_DEFAULT_BATCH     64        /* datagrams per recvmmsg call */
#define INGEST_DEFAULT_BUDGET    1024      /* datagrams per wake-up */
#define INGEST_DEFAULT_BUDGET_NS 1000000   /* and at most about 1 ms per wake-up */
#define INGEST_DEFAULT_RCVBUF    (8 << 20) /* SO_RCVBUF request, bytes */
#define INGEST_MIN_DGRAM_QLEN    512       /* below this, start-up warns */
#define INGEST_MAX_WARNINGS      6
#define INGEST_WARNING_LEN       512

struct ingest;

enum ingest_kind {
    INGEST_UNIX, /* AF_UNIX datagram socket at a path, with credentials */
    INGEST_UDP   /* UDP socket at an IP address and port, with source addresses */
};

/*
 * Called once per datagram that fits the receive buffer, on the loop thread. data is
 * valid only during the call and data[len] is a NUL the callback may rely on. cred holds
 * the sender's pid, uid and gid as the kernel reports them; it is NULL when the kernel
 * attached none (always, on UDP). src is the sender's address on UDP, valid only during
 * the call, and NULL on the Unix socket. The callback may call ingest_close(): no
 * datagram is delivered after it.
 */
typedef void (*ingest_cb)(struct ingest *in, const char *data, size_t len, const struct ucred *cred,
                          const struct sockaddr *src, void *arg);
typedef void (*ingest_close_cb)(struct ingest *in);
/*
 * A hint: a datagram of the batch that cb will likely get soon, so that the owner can
 * start on it early (hints only: one that is truncated, or left when the ingest closes in
 * the middle of a batch, is hinted and never delivered; data is the receive buffer, not
 * yet checked, len at most max_datagram, and NUL-terminated only once delivered). Each
 * datagram gets INGEST_HINT_SCAN INGEST_HINT_SCAN_AHEAD datagrams ahead of its delivery,
 * then INGEST_HINT_FETCH INGEST_HINT_FETCH_AHEAD ahead (the first datagrams of a batch get
 * theirs before the first is delivered). Four and two, not two and one: a datagram of one
 * line takes about 130 ns here, and at 1M series what a scan and a fetch ask for comes
 * from memory, so one datagram's time was too short for it to arrive (`bench_intake
 * --per 1`, docs/cardinality.md).
 * INGEST_HINT_FORGET (data NULL, len 0) ends every batch, and every part of one: a batch
 * stopped at the time budget is delivered on in a later drain, its rest hinted afresh, or
 * at once with no hints (ingest_deliver_held(), ingest_close()). A batch's buffers are
 * reused only once all of it is delivered. Until a forget, a hinted datagram's bytes do
 * not change. A hint must not close or
 * change the ingest. When cb closes the ingest, no datagram of the batch is hinted or
 * delivered after it: only the batch's forget follows.
 */
#define INGEST_HINT_SCAN_AHEAD  4 /* datagrams between a scan and the delivery */
#define INGEST_HINT_FETCH_AHEAD 2 /* and between a fetch and the delivery */
_Static_assert(INGEST_HINT_FETCH_AHEAD < INGEST_HINT_SCAN_AHEAD, "a datagram's scan comes first");
enum ingest_hint_step { INGEST_HINT_SCAN, INGEST_HINT_FETCH, INGEST_HINT_FORGET };
typedef void (*ingest_hint_cb)(const char *data, size_t len, enum ingest_hint_step step, void *arg);

/* Zero (or NULL) in any field means the default. */
struct ingest_config {
    enum ingest_kind kind; /* 0: INGEST_UNIX */
    const char *path;      /* Unix: socket path, required; shorter than sun_path (107 bytes).
                            * UDP: the address, "host:port" as netaddr_parse() reads it,
                            * required; port 0 picks a free port (see addr_text) */
    int allow_remote;      /* UDP: 0 refuses to bind an address other than loopback */
    uint32_t mode;         /* Unix: permission bits of the socket file; 0: 0660 */
    const char *group;     /* Unix: group to chown the socket file to; NULL or "": unchanged */
    unsigned batch;        /* recvmmsg vlen; 0: INGEST_DEFAULT_BATCH */
    unsigned budget;       /* datagrams per wake-up; 0: INGEST_DEFAULT_BUDGET */
    uint64_t budget_ns;    /* time per wake-up, see on_readable in ingest.c; 0: 1 ms */
    size_t max_datagram;   /* largest datagram delivered; 0: STATSD_MAX_DATAGRAM; at most 16 MiB */
    int rcvbuf;            /* SO_RCVBUF request; 0: 8 MiB; < 0: leave the kernel default */
    int fd;                /* > 0: adopt this bound socket of the right kind (Unix: bound at
                            * path; UDP: bound to path's address) instead of binding one:
                            * ingest_start() owns it from then on, whatever it returns.
                            * 0: bind. (systemd passes descriptors from 3 on, so 0, which
                            * a zeroed config holds, is free to mean "none".) */
};

struct ingest_stats {
    uint64_t datagrams;   /* delivered to the callback */
    uint64_t bytes;       /* in delivered datagrams */
    uint64_t truncated;   /* larger than max_datagram: dropped, not delivered */
    uint64_t recv_errors; /* recvmmsg or poll errors other than EAGAIN/EINTR */
    uint64_t wakeups;     /* drains: readable events handled, and held datagrams resumed */
    uint64_t budget_hits; /* wake-ups that stopped at the budget with data maybe left */
    uint64_t max_batch;   /* most datagrams one recvmmsg call returned */
    uint64_t max_wakeup;  /* most datagrams (delivered or truncated) in one wake-up */
    uint64_t batch_cuts;  /* cuts within a batch at the time budget, the rest kept for later */
};

/*
 * Embedded by its owner. Read-only for the owner except through the functions below:
 * stats, max_dgram_qlen, rcvbuf and the warnings may be read at any time on the loop
 * thread (the debug view and the self-metrics do).
 */
struct ingest {
    uv_loop_t *loop;
    uv_poll_t poll;
    int fd;       /* -1 when not started */
    int adopt_fd; /* ingest_config.fd until ingest_start() takes it, else -1 */
    int adopted;  /* fd came from the service manager: never unlinked, never drained */
    int closing;
    enum ingest_kind kind;
    int allow_remote;
    ingest_cb cb;
    void *arg;
    ingest_close_cb close_cb;
    ingest_hint_cb hint; /* NULL: none; the owner sets it after ingest_init() */

    char path[108]; /* sizeof(sun_path); UDP: the address as configured */
    char group[256];
    int path_too_long;
    int group_too_long;
    uint32_t mode;
    unsigned batch;
    unsigned budget;
    uint64_t budget_ns;
    uint64_t ns_per_dgram; /* recent cost of a datagram, received and delivered; 0: none yet */
    /*
     * A batch stopped within at the time budget (a few datagrams of new series can cost
     * far more than the recent cost said): msgs[held..held_n) were received and not yet
     * delivered, and go first in the next drain. While any are held, resume_idle keeps the
     * loop from waiting, and resume_check drains in a turn whose poll callback did not
     * (polled: it ran in this turn). ingest_close() delivers them, unless a delivery
     * called it.
     */
    unsigned held;
    unsigned held_n;
    int polled;
    int delivering;
    uv_idle_t resume_idle;
    uv_check_t resume_check;
    int open_handles; /* of poll, resume_idle and resume_check: close_cb once none is */
    size_t max_datagram;
    int rcvbuf_request;

    /* Identity of the socket file ingest bound, so that close unlinks only that one. */
    dev_t sock_dev;
    ino_t sock_ino;

    /* Allocated once by ingest_start: batch buffers of max_datagram + 1 bytes. */
    struct mmsghdr *msgs;
    struct iovec *iovs;
    char *bufs;
    void *ctrl;
    union netaddr *names; /* UDP: the source address of each datagram of a batch */
    unsigned touched;     /* msgs[0..touched) the last recvmmsg may have written to */

    /* UDP: the address bound (the port the kernel picked for port 0), and as text. */
    union netaddr bound;
    char addr_text[NETADDR_TEXT_MAX];

    /*
     * net.unix.max_dgram_qlen as read before the socket was created (the socket keeps
     * that value for its life), or -1 when it could not be read or on UDP.
     */
    long max_dgram_qlen;
    int rcvbuf;   /* SO_RCVBUF as the kernel reports it after the request, or -1 */
    int passcred; /* the Unix socket asks for senders' credentials (ingest_passcred) */

    /*
     * Conditions that do not stop start-up (short queue, SO_RCVBUF refused, ...), as
     * complete log lines without a trailing newline. ingest_start fills them; the owner
     * logs them. nwarnings <= INGEST_MAX_WARNINGS.
     */
    char warnings[INGEST_MAX_WARNINGS][INGEST_WARNING_LEN];
    size_t nwarnings;

    struct ingest_stats stats;
};

/*
 * Prepare in from cfg (copied: cfg and its strings may go away after the call). Paths
 * or group names that do not fit are reported by ingest_start.
 */
void ingest_init(struct ingest *in, uv_loop_t *loop, const struct ingest_config *cfg, ingest_cb cb,
                 void *arg);

/*
 * Bind the socket (or adopt ingest_config.fd, see above) and start delivering datagrams
 * to cb. A stale socket file (one nobody answers on) is removed first. Returns 0, or a negative
 * errno with a message naming the path written to err (always NUL-terminated when errlen > 0):
 *   -EEXIST      the path exists and is not a socket;
 *   -EADDRINUSE  a live socket answers at the path (another ustatsd is running);
 *   -ENAMETOOLONG, -ENOENT (group unknown), and the errors of socket/bind/chmod/chown.
 * On UDP: -EINVAL (not an address netaddr_parse() reads), -EACCES (not loopback and
 * allow_remote is 0), and the errors of socket/bind; a warning records the receive
 * buffer the kernel granted when it is less than asked.
 * In the one failure after the poll handle exists (uv_poll_start), the handle is closed
 * and the buffers are freed when the loop next runs; in must stay alive until then.
 */
int ingest_start(struct ingest *in, char *err, size_t errlen);

/*
 * Ask the kernel for each datagram's sender from now on (on 1), or stop asking (0): the
 * policy is credwant.h's. A started Unix socket asks from the start; datagrams queued
 * before a change keep what they were sent with. Returns 0 (also when nothing changes,
 * and on UDP, which carries no credentials) or a negative errno of setsockopt(2).
 */
int ingest_passcred(struct ingest *in, int on);

/*
 * Deliver now the datagrams a drain took from the socket and held for a later turn (its
 * time budget ran out within a batch), if any: for an owner that must see everything
 * received so far (a request, a reload). Nothing while a delivery is under way, or on an
 * ingest not started or closing.
 */
void ingest_deliver_held(struct ingest *in);

/* Asynchronous teardown, see the lifecycle above. close_cb may be NULL. */
void ingest_close(struct ingest *in, ingest_close_cb close_cb);

/*
 * UDP: the datagrams the kernel dropped on the socket since it was created (its receive
 * buffer full, or a bad checksum), read now with getsockopt(SO_MEMINFO)'s
 * SK_MEMINFO_DROPS: the socket's own sk_drops counter, exact at the time of the call.
 * Returns the count, or -EOPNOTSUPP on the Unix socket (whose senders block or get EAGAIN
 * instead: the kernel never drops there) or when the kernel cannot say, -EBADF before
 * ingest_start(), -errno when getsockopt() fails.
 */
int64_t ingest_kernel_drops(const struct ingest *in);

/*
 * What ingest_start() would refuse of a Unix socket at path, found without binding or
 * removing anything (for --check-config): a path that is empty or too long for sun_path,
 * a path that exists and is not a socket, and, when nothing is there yet, a directory
 * that does not exist or that this process may not create the socket in (write and
 * search permission). A socket already at path passes: it is the running daemon's, or
 * one systemd made to pass (see "Adopting a socket"). Returns 0, or a negative errno
 * with a message naming the path and the problem in err.
 */
int ingest_check_socket(const char *path, char *err, size_t errlen);

/*
 * Whether the socket group resolves, as ingest_start() resolves it (NULL or "": nothing
 * to check). Returns 0, or -ENOENT (no such group), -ENAMETOOLONG or the lookup's error,
 * with a message naming the group in err.
 */
int ingest_check_group(const char *group, char *err, size_t errlen);

/*
 * Read net.unix.max_dgram_qlen from /proc. Returns the value, or -errno when the file
 * cannot be read, ERRCODE_FORMAT when it holds no count. For tools and tests;
 * ingest_start records it in in->max_dgram_qlen (-1 when unknown).
 */
long ingest_read_dgram_qlen(void);

#endif
