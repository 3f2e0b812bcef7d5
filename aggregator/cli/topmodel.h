/*
 * topmodel: what `ustatsd top` shows, computed from readings of the JSON debug view.
 *
 * A domain module: no I/O and no clock. A reading is one /debug document (sections
 * daemon, ingest, families, jobs and rejects) and the time it was read at, on the
 * caller's monotonic clock (at_ms). A view is computed from the latest reading and,
 * when there is one, the reading before it: rates are the difference of two counters over
 * the time between the readings, and are unknown ("n/a") with one reading, when no time
 * passed, or when a counter went down (the daemon restarted, a reload reset a family).
 *
 * The view borrows the strings of the latest reading: keep it until the view is released.
 */
#ifndef USTATSD_TOPMODEL_H
#define USTATSD_TOPMODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The sort keys of the families table, and the key that picks each. */
enum top_sort {
    TOP_SORT_SERIES,  /* 's': series held, most first */
    TOP_SORT_RATE,    /* 'r': accepted lines per second, fastest first */
    TOP_SORT_NAME,    /* 'n': by name */
    TOP_SORT_REJECTS, /* 'j': recent rejected lines that name the family, most first */
};

struct top_reading {
    json_t *doc;    /* the /debug document, owned */
    uint64_t at_ms; /* when it was read, on the caller's clock */
};

/* A rate from two readings; known is 0 when it cannot be told. */
struct top_rate {
    int known;
    double per_s;
};

struct top_family {
    const char *name;
    const char *type;
    uint64_t series, series_cap, lines;
    struct top_rate rate; /* of lines */
    uint64_t rejects;     /* rejected lines naming it among the recent ones */
};

/* One cap and how full it is: global, a family's series, or a label's values. */
enum top_cap_kind { TOP_CAP_GLOBAL, TOP_CAP_FAMILY, TOP_CAP_LABEL };

struct top_cap {
    enum top_cap_kind kind;
    const char *family; /* NULL for the global cap */
    const char *label;  /* TOP_CAP_LABEL only */
    uint64_t used, cap;
    double percent; /* used / cap x 100; 0 when cap is 0 */
};

#define TOP_MAX_SENDERS 3

/* A reject reason: its count, its rate, its latest example and who sent it. */
struct top_reason {
    const char *reason;
    uint64_t count;
    struct top_rate rate;
    const char *example;               /* the newest recent line with this reason, or NULL */
    char senders[TOP_MAX_SENDERS][64]; /* distinct "pid 12 uid 1000", or source addresses */
    size_t nsenders;
};

/* One recent rejected line, newest first. */
struct top_reject {
    double age_seconds; /* before the newest one */
    const char *reason, *line;
    char sender[64]; /* "pid 12 uid 1000", or the source address of a UDP line */
};

struct top_job {
    const char *job, *state;
    uint64_t consecutive_failures, failure_threshold, errors, openings;
    double state_seconds;
};

struct top_view {
    const char *version;
    double uptime_seconds;
    double interval_seconds; /* between the two readings; 0 with one */
    enum top_sort sort;
    /* Ingest. */
    uint64_t datagrams, accepted, rejected;
    struct top_rate datagram_rate, accepted_rate, rejected_rate;
    /* Series against the global cap. */
    uint64_t series, series_limit, memory_bytes;
    /* The event loop over the interval (all time with one reading). */
    uint64_t loop_turns;
    struct top_rate loop_rate;
    double loop_mean_ms; /* busy time per turn; -1 when no turn */
    double loop_p99_ms;  /* upper bound of the bucket holding the 99th percentile; -1: none,
                            * INFINITY: beyond the last bound */
    /* State snapshots; snapshots_on is 0 without a state file. */
    int snapshots_on;
    uint64_t snapshots_ok, snapshots_failed;
    const char *snapshot_error;
    double snapshot_age_seconds; /* since the last good one, by the daemon's clock; -1: none */
    double snapshot_seconds;
    struct top_family *families;
    size_t nfamilies;
    struct top_cap *caps; /* fullest first */
    size_t ncaps;
    struct top_reason *reasons; /* reasons with a count, most first */
    size_t nreasons;
    struct top_reject *rejects; /* the recent rejects, newest first */
    size_t nrejects;
    struct top_job *jobs;
    size_t njobs;
};

/*
 * Parse text (len bytes) as a /debug document read at at_ms. Returns 0, or ERRCODE_FORMAT
 * with a message in err when it is not JSON, not an object, or carries "error" (the
 * daemon's 400 answer).
 */
int top_reading_parse(struct top_reading *r, const char *text, size_t len, uint64_t at_ms,
                      char *err, size_t errlen);
void top_reading_release(struct top_reading *r);

/*
 * Compute the view of cur, with rates against prev (NULL: none), the families sorted by
 * sort. The view borrows cur's strings; release it with top_view_release().
 */
void top_view_compute(struct top_view *v, const struct top_reading *prev,
                      const struct top_reading *cur, enum top_sort sort);
void top_view_release(struct top_view *v);

/* Sort the families again (a key was pressed). */
void top_view_sort(struct top_view *v, enum top_sort sort);

/* The sort key a keypress names ('s', 'r', 'n', 'j'); returns 0 when c names none. */
int top_sort_of_key(int c, enum top_sort *sort);
const char *top_sort_name(enum top_sort sort);

/* The name of a line ("requests.count:1|c" gives "requests_count", as the daemon folds
 * '.' and '-'), into out; for matching rejected lines with families. */
void top_line_name(const char *line, char *out, size_t outlen);

#endif
