/*
 * rejectlog: the daemon's log of rejected lines, a summary at most once an interval (a
 * minute by default, daemon.reject_log_interval_seconds) while there are any, never a log
 * line per bad line:
 *
 *   rejected 12 lines in 60 s: unknown_family 10, label_value_not_allowed 2; most:
 *   "nope" 8 (unknown_family; pid 4242 uid 1000 /usr/bin/foo), "checkout_orders" 2
 *   (label_value_not_allowed; pid 4300 uid 1000 /usr/bin/bar); the lines:
 *   /debug?section=rejects, why: ustatsd explain LINE
 *
 * A domain module: the time comes in as an argument (now_ms, monotonic), and the
 * executables of the senders through a callback, so tests move a fake clock and read no
 * /proc. Bounded: the counts by reason, and REJECTLOG_NAMES names (the space-saving
 * algorithm of Metwally, Agrawal and El Abbadi: a new name takes the place of the least
 * counted one, and its count, so the names that reject most stay), each with its last
 * REJECTLOG_SENDERS senders. Noting a reject costs a name compare per tracked name, on
 * the reject path only.
 *
 * The policy: the first reject after a quiet spell opens a period; once the period is an
 * interval old the summary is due (rejectlog_due), and writing it (rejectlog_take) closes
 * the period. Rejects that keep coming are summed up once an interval; none, no log.
 */
#ifndef USTATSD_REJECTLOG_H
#define USTATSD_REJECTLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "statsd.h"

#define REJECTLOG_NAMES     16 /* names tracked in a period */
#define REJECTLOG_TOP       3  /* names a summary shows */
#define REJECTLOG_SENDERS   2  /* senders kept per name */
#define REJECTLOG_NAME_MAX  64 /* bytes of a name kept */
#define REJECTLOG_REASONS   6  /* reasons a summary names; the rest are summed */
#define REJECTLOG_DEFAULT_S 60 /* seconds, daemon.reject_log_interval_seconds */

struct rejectlog_sender {
    int has_cred; /* 0: a line without credentials (UDP) */
    pid_t pid;
    uid_t uid;
};

struct rejectlog_name {
    char name[REJECTLOG_NAME_MAX];
    size_t len;
    uint64_t lines; /* an upper bound once the slot was taken over (space-saving) */
    int reason;     /* the last reason its lines were rejected for */
    struct rejectlog_sender senders[REJECTLOG_SENDERS]; /* the newest first */
    size_t nsenders;
};

struct rejectlog {
    uint64_t interval_ms; /* 0: off */
    uint64_t since_ms;    /* the period's first reject */
    uint64_t last_ms;     /* the last summary; 0 and !logged: none yet */
    int logged;
    uint64_t total; /* in the period */
    uint64_t by_reason[STATSD_REASON_MAX];
    struct rejectlog_name names[REJECTLOG_NAMES];
    size_t nnames;
};

/* The executable of pid into buf (cap bytes), or NULL when unknown. */
typedef const char *(*rejectlog_exe_cb)(pid_t pid, char *buf, size_t cap, void *arg);

/* Nothing pending; interval_ms 0 turns the summary off (notes are then ignored). */
void rejectlog_init(struct rejectlog *l, uint64_t interval_ms);

/* Change the interval (a reload); what is pending stays. */
void rejectlog_set_interval(struct rejectlog *l, uint64_t interval_ms);

/* A rejected line (raw, len bytes) for reason, from a sender (has_cred: pid and uid known). */
void rejectlog_note(struct rejectlog *l, int reason, const char *line, size_t len, int has_cred,
                    pid_t pid, uid_t uid, uint64_t now_ms);

/* Whether the summary is due at now_ms: rejects pending, their period an interval old. */
int rejectlog_due(const struct rejectlog *l, uint64_t now_ms);

/*
 * Append the summary of the period (the message, without a line end) to out and close
 * the period. exe(pid, ..., arg) names a sender's executable; NULL: none is named.
 */
void rejectlog_take(struct rejectlog *l, uint64_t now_ms, rejectlog_exe_cb exe, void *arg,
                    struct buf *out);

#endif
