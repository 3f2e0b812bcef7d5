/*
 * netaddr: IP socket addresses as the configuration writes them, without name lookups.
 *
 * A domain module: no loop, no clock, no resolver. "host:port" takes a numeric IPv4 host
 * ("" or "*" for every address, "localhost" for 127.0.0.1), "[v6]:port" a numeric IPv6
 * one (with an optional "%scope"). No name is ever resolved: a lookup would block the
 * loop, and a name that resolves to another address tomorrow would move a listener that
 * was checked to be on loopback today.
 */
#ifndef USTATSD_NETADDR_H
#define USTATSD_NETADDR_H

#include <stddef.h>

#include <netinet/in.h>
#include <sys/socket.h>

/* "[" 45 bytes of IPv6 with a scope "]:" 5 digits and the NUL fit in 64. */
#define NETADDR_TEXT_MAX 80

/* Room for either family, smaller than struct sockaddr_storage (28 bytes, not 128). */
union netaddr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

/*
 * Parse s into *out (zeroed first). Port 0 is allowed (the kernel picks one). Returns 0, or
 * -EINVAL when s is not one of the forms above.
 */
int netaddr_parse(const char *s, union netaddr *out);

/* The length bind(2) and connect(2) take for a's family. */
socklen_t netaddr_len(const union netaddr *a);

/* 1 when a is a loopback address: 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104. */
int netaddr_is_loopback(const struct sockaddr *a);

/*
 * Write a as "127.0.0.1:53211" or "[::1]:53211" to out (cap bytes, NUL-terminated; cap of
 * NETADDR_TEXT_MAX always fits). An address of another family writes "?". Returns out.
 */
char *netaddr_format(const struct sockaddr *a, char *out, size_t cap);

#endif
