/*
 * records: the records of the state file. What a scrape shows that came from senders (every
 * series of the registry, with its histogram carries, its summary windows and creation time,
 * and every job's breaker), written a slice at a time and put back at start-up.
 *
 * A domain module: no clock, no I/O. statefile.h wraps the records in the file (header,
 * deflate, checksum, atomic replace); this module knows what they say.
 *
 * Writing. records_begin() opens a walk over the registry (a registry cursor, so the walk
 * survives series created, expired and retired between slices, and a reload); each
 * records_step() appends the records of up to max_series series, and the last one the jobs
 * and the end record. Series are saved as they are when their slice is written: a writing
 * spread over several loop turns is not one instant, but each series in it is whole, and
 * the file as a whole is at most the writing's duration older than its end.
 *
 * The records, little-endian, u = unsigned LEB128, f = IEEE double, s = u length + bytes:
 *   'M' u saved_unix_ms                                            first, once
 *   'F' s name, byte type, byte flags (1 excluded, 2 unit_ms),     a family; the series
 *       byte nlabels, per label: s name, byte enumerated,          after it are its own
 *       [u nvalues, s value...], byte nbuckets, f bucket...,
 *       [summaries: byte nquantiles, (f quantile, f error)..., f max_age, byte age_buckets]
 *   'S' u created_ms, u idle_ms + 1 (0: never updated), f value,   a series
 *       [histograms: u count, u bucket[nbuckets + 1], f carry[nbuckets + 1]],
 *       [summaries: byte has state, then: u count, f carry, byte nstreams (the family's
 *        age_buckets, 0 without quantiles), then u ms into the head's period and, per
 *        stream from the oldest: u n, f min, f max, f slack, u ntuples (at most
 *        CKMS_MAX_TUPLES), (f v, u g, u delta, u run)...],
 *       byte nlabels, per present label: byte key index, s value
 *   'R' s name, u ms                                               a remote write target's
 *                                                                  newest interval (marks)
 *   'J' s name, byte state, u ms in state, u consecutive failures, a job
 *       u attempts[3], u errors, u openings, byte flags (1 success, 2 error),
 *       f last success, f last error, f created (Unix seconds)
 *   'E' u families, u series, u jobs                               last, once
 *
 * Restoring matches what the file holds with the running config as a reload does
 * (registry_reconfigure): a family by name, kept when its layout is the same (type,
 * labels in order and whether each is enumerated, buckets, quantiles with their errors,
 * max_age and age_buckets, ms handling, group verdict;
 * an enumerated key may have gained values, not lost one). Each series then goes through
 * registry_restore(), whose checks are a line's. A job is matched by name. What does not
 * match is dropped and counted by reason (enum records_drop). Times are carried across the
 * time away (now_unix_ms - saved_unix_ms): a series idle past its ttl by now is dropped,
 * an open breaker whose open_seconds ran out is half-open, a summary's windows rotate as
 * they would have. A summary's streams are checked whole before they are trusted
 * (summary_valid(): sorted, counts that add up, the estimator's invariant); one that is not
 * is a bad_value.
 */
#ifndef USTATSD_DUMP_H
#define USTATSD_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "store/jobs.h"
#include "store/registry.h"

/* Why a saved series or job was not restored: X(code, label value). */
#define RECORDS_DROP_MAP(X)                                                        \
    X(UNKNOWN_FAMILY, "unknown_family") /* no family of that name in the config */ \
    X(LAYOUT_CHANGED, "layout_changed") /* the family's layout differs */          \
    X(LABEL_NOT_ALLOWED, "label_not_allowed")                                      \
    X(LABEL_VALUE, "label_value") /* a value the labels' rules now refuse */       \
    X(SERIES_CAP, "series_cap")   /* beyond max_series or the family's cap */      \
    X(EXPIRED, "expired")         /* idle past its family's ttl_seconds by now */  \
    X(DUPLICATE, "duplicate")     /* the same series twice in the file */          \
    X(BAD_VALUE, "bad_value")     /* values no series can hold */                  \
    X(UNKNOWN_JOB, "unknown_job") /* a job the config no longer has */

enum records_drop {
#define RECORDS_DROP_ENUM(code, name) RECORDS_DROP_##code,
    RECORDS_DROP_MAP(RECORDS_DROP_ENUM)
#undef RECORDS_DROP_ENUM
        RECORDS_DROP_MAX
};

/* "unknown_family", ...: the label value of a reason. */
const char *records_drop_name(enum records_drop d);

/*
 * Remote write marks: the newest interval (Unix ms) each target, by name, has sent,
 * so that a restart never sends a sample twice for one timestamp. Written as 'R' records
 * before the jobs, only when there are any (a file without remote write is as before).
 */
#define RECORDS_MAX_MARKS 8
#define RECORDS_MARK_NAME 128
struct records_mark {
    char name[RECORDS_MARK_NAME];
    int64_t ms;
};
struct records_marks {
    size_t n;
    struct records_mark m[RECORDS_MAX_MARKS];
};

/* A writing of the records in progress. Caller-owned; fields are private. */
struct records_writer {
    const struct records_marks *marks; /* records_set_marks(); NULL: none */
    struct registry_cursor cur;
    struct registry *reg;
    struct jobs *jobs;
    long fam;       /* the family whose 'F' record was written last; -1: none */
    size_t nfams;   /* 'F' records written */
    size_t nseries; /* 'S' records written */
    size_t njobs;
    int done;
};

/*
 * Start writing the records of reg and jobs, which must outlive it, and append its first record to
 * out. saved_unix_ms is the wall clock now. Pair with records_end().
 */
void records_begin(struct records_writer *w, struct registry *reg, struct jobs *jobs,
                   uint64_t saved_unix_ms, struct buf *out);

/*
 * Append the records of up to max_series more series to out (and, once they are all
 * written, the jobs' and the end record). now_ms is the registry's clock (series idle
 * times and breaker times are measured against it). Returns 1 while records remain, 0
 * once the end record is written.
 */
int records_step(struct records_writer *w, struct buf *out, size_t max_series, uint64_t now_ms);

/* Write these marks (borrowed until the end record is written) too. */
void records_set_marks(struct records_writer *w, const struct records_marks *m);

/* Series written so far. */
size_t records_series(const struct records_writer *w);

/* Stop the walk (done or not). Idempotent, and harmless on a zeroed writer. */
void records_end(struct records_writer *w);

/*
 * The largest body a registry and jobs of config c can write: max_series series of the
 * largest shape, plus every family's and job's record. A restore reads no more than this
 * (a larger file comes from another config, or was not written by one).
 */
size_t records_max_body(const struct config *c);

/* What a restore did. */
struct records_restored {
    uint64_t saved_unix_ms; /* when the file was written */
    size_t families;        /* families of the file that matched */
    size_t series;          /* series restored */
    size_t jobs;            /* jobs restored */
    uint64_t dropped[RECORDS_DROP_MAX];
    struct records_marks marks; /* the remote write marks the file held */
};

/*
 * Put the records of body (len bytes, a whole file's) back into reg and jobs, fresh from
 * registry_init() and jobs_init() with no line applied. The records are checked whole
 * first: a body that does not parse (a record cut short, an unknown record, counts that
 * differ from the end record's, a key index beyond its family's labels) changes nothing
 * and returns ERRCODE_FORMAT with the problem in err (naming the byte offset). Otherwise returns 0
 * with *out filled. now_ms is the registry's and the jobs' clock, now_unix_ms the wall
 * clock.
 */
int records_restore(struct registry *reg, struct jobs *jobs, const void *body, size_t len,
                    uint64_t now_ms, uint64_t now_unix_ms, struct records_restored *out, char *err,
                    size_t errlen);

#endif
