/*
 * learnsum: learn mode's summary of what the allowlist refused, for the proposal that
 * would take it (expose/learnprop.h, GET /debug/learn).
 *
 * A domain module: the time is passed in (now_ms, monotonic), nothing is read from the
 * system. The intake feeds it from its reject path only (learnsum_note(), for a line
 * refused for an allowlist reason, learnsum_reason()) and from the first sight of an
 * accepted line whose family dropped tags (learnsum_note_dropped()): an accepted line
 * that the front cache knows never reaches it.
 *
 * One entry per family name: the name the family would have (normalised as the allowlist
 * reads names, PROTOCOL.md "Names"), or the declared family's name when the line reached
 * one (a label or type refusal). Per entry: the name as first sent, lines by reason and
 * by type, the values' range and a log-scale histogram of them (ms timers in seconds),
 * whether a gauge value carried a sign, the last senders (pid, uid), a rate over a
 * one-minute window, and up to LEARNSUM_MAX_KEYS label keys, each with its first
 * LEARNSUM_MAX_VALUES distinct values, a HyperLogLog estimate of the distinct count
 * beyond, the shapes all its values share and the flags any has (learnshape.h).
 *
 * Bounded: every byte the summary holds is counted (bytes), and when a note takes it past
 * max_bytes, entries are evicted, least recently seen first, except that an entry seen
 * more than once is given a second chance (its line count halved) up to 8 times an
 * eviction; so a flood of one-off names turns over among themselves while families sent
 * steadily stay. A value longer than LEARNSUM_VALUE_MAX bytes is counted in the estimate,
 * not kept (and flagged when it is longer than limits.max_label_value_length).
 *
 * Loop thread only, like everything the intake touches.
 */
#ifndef USTATSD_LEARNSUM_H
#define USTATSD_LEARNSUM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "statsd.h"

#define LEARNSUM_DEFAULT_MAX_BYTES CONFIG_DEFAULT_LEARN_MAX_BYTES
#define LEARNSUM_MIN_MAX_BYTES     CONFIG_MIN_LEARN_MAX_BYTES
#define LEARNSUM_MAX_MAX_BYTES     CONFIG_MAX_LEARN_MAX_BYTES
#define LEARNSUM_MAX_KEYS          16 /* label keys kept per family; more are counted */
#define LEARNSUM_MAX_VALUES        16 /* distinct values kept per key; beyond, an estimate */
#define LEARNSUM_VALUE_MAX \
    128 /* bytes of a value kept (the default label limit); a longer one leaves the key to its estimate */
#define LEARNSUM_EXAMPLE_MAX 64 /* bytes of a flagged value kept as its example */
#define LEARNSUM_MAX_SENDERS 4  /* the last senders kept per family */
#define LEARNSUM_HLL         64 /* HyperLogLog registers per key */
#define LEARNSUM_WINDOW_MS   60000
#define LEARNSUM_NTYPES      5 /* c g ms h d */
/* The value histogram: 1, 2.5 and 5 times each power of ten from 1e-6 to 5e11. */
#define LEARNSUM_BIN_DECADE_MIN (-6)
#define LEARNSUM_NBINS          54

/* The reasons learn mode summarises, in the order the views list them. */
#define LEARNSUM_REASON_MAP(X) \
    X(UNKNOWN_FAMILY)          \
    X(TYPE_MISMATCH)           \
    X(LABEL_NOT_ALLOWED)       \
    X(LABEL_VALUE_NOT_ALLOWED) \
    X(LABEL_VALUE_TOO_LONG)    \
    X(LABEL_VALUES_CAP)        \
    X(LABEL_VALUE_PATTERN)

enum learnsum_reason {
#define LEARNSUM_REASON_ENUM(id) LEARNSUM_##id,
    LEARNSUM_REASON_MAP(LEARNSUM_REASON_ENUM)
#undef LEARNSUM_REASON_ENUM
        LEARNSUM_NREASONS
};

struct learnsum_key {
    char name[STATSD_MAX_TAG_KEY + 1]; /* normalised */
    char sent[STATSD_MAX_TAG_KEY + 1]; /* as first sent */
    uint64_t lines;                    /* lines that carried it */
    uint64_t dropped;                  /* times undeclared_labels: "drop" removed it */
    uint32_t nvalues;                  /* values[0 .. nvalues-1], exact */
    int values_full;                   /* a value beyond LEARNSUM_MAX_VALUES was seen */
    char *values[LEARNSUM_MAX_VALUES]; /* NUL-terminated, at most LEARNSUM_VALUE_MAX bytes */
    uint8_t hll[LEARNSUM_HLL];
    uint32_t shapes; /* AND of learnshape_shapes() over the values */
    uint32_t flags;  /* OR of learnshape_flags() over the values (and TOO_LONG) */
    size_t max_len;  /* the longest value, bytes */
    char example[LEARNSUM_EXAMPLE_MAX + 1]; /* the first flagged value, cut */
};

struct learnsum_sender {
    pid_t pid;
    uid_t uid;
};

struct learnsum_entry {
    struct learnsum_entry *hnext;       /* hash chain */
    struct learnsum_entry *prev, *next; /* recency: prev is more recent */
    uint64_t hash;
    char *name;     /* the family's name, normalised; the declared name when declared */
    char *sent;     /* as first sent */
    int declared;   /* the lines reached a configured family (label or type refusals) */
    size_t bytes;   /* what this entry holds, counted in the summary's bytes */
    uint64_t lines; /* lines noted (halved by a second chance; see recent) */
    uint64_t total; /* lines noted, never halved */
    uint64_t by_reason[LEARNSUM_NREASONS];
    uint64_t by_type[LEARNSUM_NTYPES]; /* enum statsd_type c, g, ms, h, d */
    uint64_t observations;             /* values noted (packed values count each) */
    double vmin, vmax;                 /* as sent */
    int signed_gauge;                  /* a gauge value with a leading + or - */
    int negative_counter;              /* a counter value below 0 */
    uint32_t bins[LEARNSUM_NBINS + 2]; /* [0]: <= 0 or below 1e-6, [NBINS+1]: above */
    struct learnsum_sender senders[LEARNSUM_MAX_SENDERS]; /* most recent first */
    uint32_t nsenders;
    int unauthenticated; /* a line came without credentials (UDP) */
    uint64_t first_ms, last_ms;
    uint64_t win_start_ms, win_lines, prev_win_lines;
    uint32_t nkeys;
    uint64_t keys_over; /* tags of keys beyond LEARNSUM_MAX_KEYS */
    struct learnsum_key *keys[LEARNSUM_MAX_KEYS];
};

struct learnsum {
    int enabled;
    size_t max_bytes;
    size_t bytes; /* held now: entries, keys, values and the hash table */
    struct learnsum_entry **buckets;
    size_t nbuckets; /* a power of two */
    struct learnsum_entry *head, *tail;
    size_t entries;
    uint64_t evictions;
    uint64_t lines;        /* lines noted since learnsum_init() */
    uint64_t dropped_tags; /* tags noted as dropped */
};

/* A summary, on when enabled, within max_bytes (clamped to the bounds above). */
void learnsum_init(struct learnsum *s, int enabled, size_t max_bytes);

/* Free everything; s may be re-initialised. */
void learnsum_release(struct learnsum *s);

/*
 * A reload's settings: off releases every entry; a lower max_bytes evicts down to it.
 */
void learnsum_configure(struct learnsum *s, int enabled, size_t max_bytes);

/* The learn reason of a reject reason (enum statsd_reason), or LEARNSUM_NREASONS when it is none. */
int learnsum_reason(int statsd_reason);

/* The reject reason (enum statsd_reason) of a learn reason. */
int learnsum_statsd_reason(int learn_reason);

/* Who sent a line: has_cred 0 for a line without credentials (UDP). */
struct learnsum_from {
    int has_cred;
    pid_t pid;
    uid_t uid;
};

/*
 * A line refused for the allowlist reason r (enum statsd_reason that learnsum_reason() knows),
 * parsed; declared is the family it reached, or NULL (unknown_family). cfg is the running
 * config: its clients.strip_tags are left out, as the allowlist leaves them out.
 */
void learnsum_note(struct learnsum *s, const struct config *cfg, const struct statsd_line *line,
                   int r, const struct config_family *declared, const struct learnsum_from *from,
                   uint64_t now_ms);

/*
 * An accepted line of family f, which drops undeclared tags: the tags it dropped (those
 * of keys f does not declare and the config does not strip), if any, are noted under f.
 */
void learnsum_note_dropped(struct learnsum *s, const struct config *cfg,
                           const struct statsd_line *line, const struct config_family *f,
                           const struct learnsum_from *from, uint64_t now_ms);

/* Lines a second over the last minute at now_ms (from the entry's first line, if later). */
double learnsum_rate(const struct learnsum_entry *e, uint64_t now_ms);

/* Distinct values of a key: exact up to LEARNSUM_MAX_VALUES, else the estimate. */
double learnsum_distinct(const struct learnsum_key *k);

/* The upper bound of value bin i (1 .. LEARNSUM_NBINS): 1, 2.5 or 5 times a power of ten. */
double learnsum_bin_bound(size_t i);

/* The entry named name (NUL-terminated, normalised), or NULL. */
const struct learnsum_entry *learnsum_find(const struct learnsum *s, const char *name);

/*
 * The entries, most lines first (ties: the most recent), at most max: written to out
 * (max pointers); returns how many. Valid until the next note.
 */
size_t learnsum_top(const struct learnsum *s, const struct learnsum_entry **out, size_t max);

#endif
