/*
 * rejects: a bounded ring of the most recently rejected lines, for the debug view.
 *
 * A domain module. This is the only place where raw line content is kept: it exists to
 * find which process sends what, and never reaches /metrics. The ring is a fixed array
 * inside the struct, so recording a reject allocates nothing and memory stays bounded
 * whatever a client sends.
 */
#ifndef USTATSD_REJECTS_H
#define USTATSD_REJECTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/netaddr.h"

#define REJECTS_RING     100 /* entries kept */
#define REJECTS_LINE_MAX 200 /* bytes of a line kept; longer lines are cut */

struct rejects_entry {
    double time_unix;
    int reason;   /* an enum statsd_reason */
    int has_cred; /* pid and uid are known */
    pid_t pid;
    uid_t uid;
    int has_src;       /* src is known: the line came over UDP, with no credentials */
    union netaddr src; /* the sender's address and port, when has_src */
    size_t len;        /* bytes kept in line */
    size_t orig_len;   /* length of the line as received */
    char line[REJECTS_LINE_MAX];
};

struct rejects {
    struct rejects_entry ring[REJECTS_RING];
    uint64_t total; /* entries ever added; the newest is at (total - 1) % REJECTS_RING */
};

void rejects_init(struct rejects *r);

/*
 * Record a rejected line (cut to REJECTS_LINE_MAX bytes). pid/uid used when has_cred. src
 * is the UDP sender's address (AF_INET or AF_INET6, copied), or NULL.
 */
void rejects_add(struct rejects *r, double time_unix, int reason, const char *line, size_t len,
                 int has_cred, pid_t pid, uid_t uid, const struct sockaddr *src);

/* Entries held, at most REJECTS_RING. */
size_t rejects_count(const struct rejects *r);

/* The i-th most recent entry (0: the newest), i < rejects_count(). */
const struct rejects_entry *rejects_get(const struct rejects *r, size_t i);

#endif
