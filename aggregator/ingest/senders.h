/*
 * senders: the processes that have sent datagrams on the Unix socket, as the kernel
 * reported them (SCM_CREDENTIALS): pid, uid, gid and when each was last seen.
 *
 * A domain module. The intake feeds it once per datagram (intake.h: only when an endpoint
 * stands for a service, so that a daemon without one pays a NULL test); the scrape of a
 * service's endpoint walks it to find that service's processes (svcproc.h) and removes
 * the pids it finds gone. UDP senders carry no credentials and are never recorded.
 *
 * Bounded: at most SENDERS_CAP pids. When a new pid arrives and the table is full, the
 * least recently seen one is evicted (counted in evictions). Everything is O(1) per
 * datagram: a pid is found through an open-addressed index, and recency is a doubly
 * linked list whose head is the last pid seen. A datagram from the same pid, uid and gid
 * as the one before (the common case: a client sends many) costs four compares and a
 * store. The table is allocated once (about 160 KiB) and never grows.
 *
 * Loop thread only, like everything the intake touches.
 */
#ifndef USTATSD_SENDERS_H
#define USTATSD_SENDERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How many pids the table holds; the least recently seen is evicted beyond. */
#define SENDERS_CAP 4096

/* "no entry" in the list links and the index. */
#define SENDERS_NONE UINT32_MAX

struct senders_entry {
    pid_t pid;
    uid_t uid; /* as last reported: the sender's effective uid */
    gid_t gid;
    uint32_t prev, next;   /* recency list: prev is more recent; SENDERS_NONE at the ends */
    uint64_t last_seen_ms; /* the monotonic time given to senders_note() */
};

struct senders {
    struct senders_entry *ent; /* SENDERS_CAP entries; the first n are in use */
    uint32_t *index;           /* 2 * SENDERS_CAP slots: an entry's position, or SENDERS_NONE */
    size_t n;
    uint32_t head, tail; /* most and least recently seen, or SENDERS_NONE */
    /* The head's credentials, for the fast path; last_pid is -1 when the table is empty. */
    pid_t last_pid;
    uid_t last_uid;
    gid_t last_gid;
    uint64_t added;     /* pids recorded since senders_init() */
    uint64_t evictions; /* pids evicted to make room */
    uint64_t removed;   /* pids removed by senders_remove() (found gone) */
};

/* An empty table (allocates it; aborts on OOM as mem.h does). */
void senders_init(struct senders *t);

/* Free the table; t may be re-initialised. */
void senders_release(struct senders *t);

void senders__note(struct senders *t, pid_t pid, uid_t uid, gid_t gid, uint64_t now_ms);

/*
 * Record a datagram from pid (with uid and gid) at monotonic time now_ms: a new pid is
 * added (evicting the least recently seen when full), a known one becomes the most
 * recent and takes the new uid and gid. A pid <= 0 (the sender lives in a pid namespace
 * the daemon cannot see) is ignored. Never fails, never allocates.
 */
static inline void senders_note(struct senders *t, pid_t pid, uid_t uid, gid_t gid, uint64_t now_ms)
{
    if (pid == t->last_pid && uid == t->last_uid && gid == t->last_gid && t->n > 0) {
        t->ent[t->head].last_seen_ms = now_ms;
        return;
    }
    senders__note(t, pid, uid, gid, now_ms);
}

/* The entry of pid, or NULL. Valid until the next note or remove. */
const struct senders_entry *senders_find(const struct senders *t, pid_t pid);

/* Forget pid (a process found gone). Returns 1 if it was there, else 0. */
int senders_remove(struct senders *t, pid_t pid);

/*
 * Walk from the most recently seen: senders_first(t), then senders_next(t, e) until NULL.
 * The table must not change during a walk (copy the pids out before removing any).
 */
const struct senders_entry *senders_first(const struct senders *t);
const struct senders_entry *senders_next(const struct senders *t, const struct senders_entry *e);

#endif
