/*
 * sockmatch: which configured socket a socket handed over by systemd stands for.
 *
 * A domain module: no loop, no clock, no system call. The caller (sysd.c) describes each
 * passed file descriptor (family, type, listening or not, bound address, from
 * getsockname(2) and getsockopt(2)) in a struct sockmatch_have, and lists the sockets the
 * configuration asks for in struct sockmatch_want; sockmatch_find() says which want a
 * descriptor matches, or why it matches none.
 *
 * Rules (docs/operations.md, "Running under systemd"):
 *   - A descriptor matches by ADDRESS, never by its FileDescriptorName (systemd names
 *     every descriptor of a .socket unit after the unit, so names say nothing).
 *   - SOCKMATCH_UNIX_DGRAM (daemon.socket, ListenDatagram=/path): an AF_UNIX datagram
 *     socket bound to that path. A path written differently but naming the same file (a
 *     symlinked directory: /var/run and /run) matches when same_file says so.
 *   - SOCKMATCH_UDP (daemon.udp_listen, ListenDatagram=127.0.0.1:8125): an AF_INET or
 *     AF_INET6 datagram socket bound to that address and port.
 *   - SOCKMATCH_STREAM (metrics_listen, debug_listen, each endpoint's listen;
 *     ListenStream=): a listening stream socket at "host:port", "[v6]:port" or
 *     "unix:/path". A configured "0.0.0.0:P" (or "*:P", ":P") also matches "[::]:P" when
 *     that socket takes IPv4 too (IPV6_V6ONLY off: systemd's ListenStream=P).
 *   - A configured port 0 ("pick a free port") matches no descriptor.
 *   - Same address, other kind (a stream socket at daemon.socket, a socket systemd
 *     accepted a connection on: Accept=yes) is refused as the wrong kind, naming what was
 *     expected; no address in common is refused as matching nothing, listing the wants.
 */
#ifndef USTATSD_SOCKMATCH_H
#define USTATSD_SOCKMATCH_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/netaddr.h"

#define SOCKMATCH_DESC_MAX 200 /* "unix:" sun_path, kind, name: fits with room */

enum sockmatch_kind {
    SOCKMATCH_UNIX_DGRAM, /* addr: the socket path */
    SOCKMATCH_UDP,        /* addr: "host:port" or "[v6]:port" (netaddr.h) */
    SOCKMATCH_STREAM      /* addr: "host:port", "[v6]:port" or "unix:/path" (listener.h) */
};

/* A socket the configuration asks for. Strings are borrowed for the calls that take it. */
struct sockmatch_want {
    enum sockmatch_kind kind;
    const char *key;  /* where it is configured, for messages: "daemon.socket" */
    const char *addr; /* as configured */
};

/* A passed descriptor, as the kernel reports it. */
struct sockmatch_have {
    int fd;
    const char *name; /* LISTEN_FDNAMES entry, or NULL */
    int family;       /* AF_UNIX, AF_INET, AF_INET6, or anything else */
    int type;         /* SOCK_DGRAM, SOCK_STREAM, ... */
    int listening;    /* SO_ACCEPTCONN */
    int v6only;       /* IPV6_V6ONLY, on AF_INET6 */
    union {
        struct sockaddr_un un; /* AF_UNIX: sun_path as bound ("" when unbound) */
        union netaddr in;      /* AF_INET, AF_INET6 */
    } addr;
};

/*
 * Whether two unix socket paths that differ as text name the same file (stat(2): same
 * device and inode). NULL: only equal text matches.
 */
typedef int (*sockmatch_same_file_cb)(const char *a, const char *b, void *arg);

/*
 * The index in wants[0..n) that h stands for, or ERRCODE_CONFIG with a complete message in err
 * (NUL-terminated when errlen > 0) naming the descriptor, its address, its name and what
 * was expected. Wants whose address does not parse never match. Pure apart from
 * same_file.
 */
long sockmatch_find(const struct sockmatch_have *h, const struct sockmatch_want *wants, size_t n,
                    sockmatch_same_file_cb same_file, void *arg, char *err, size_t errlen);

/*
 * Describe h as "fd 3 (unix:/run/x.sock, datagram, name \"ustatsd.socket\")" in out (cap
 * bytes, NUL-terminated). Returns out.
 */
char *sockmatch_describe(const struct sockmatch_have *h, char *out, size_t cap);

/* "unix datagram socket", "UDP socket" or "listening stream socket". */
const char *sockmatch_kind_name(enum sockmatch_kind kind);

#endif
