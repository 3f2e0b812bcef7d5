/*
 * pg: gauges read from PostgreSQL at scrape time (libpq asynchronous, on the loop).
 *
 * An I/O module. struct pg is embedded by the app and owns a small pool of libpq
 * connections and one collector per SQL metric of the configuration (metrics excluded
 * by the "groups" section are never run). Nothing blocks: connections are made with
 * PQconnectStartParams/PQconnectPoll and queries sent with PQsendQueryParams, each
 * connection driven by a uv_poll_t. Ingestion never pauses while a query runs.
 *
 * Choices that an operator should know:
 *  - DNS: a lookup would block the loop, so pg_init refuses a conninfo whose host is a
 *    name (neither an IP literal nor a Unix-socket directory "/..." or "@...") unless
 *    hostaddr= is given too. PGHOST/PGHOSTADDR from the environment are checked the same.
 *    pg_check_config runs the same checks without a loop, for --check-config.
 *  - Read-only: every connection starts with
 *      options='-c default_transaction_read_only=on -c statement_timeout=<ms>'
 *    appended after any options of the conninfo, so a mistaken query can neither write
 *    nor run forever. The session statement_timeout is postgres.statement_timeout; a
 *    collector whose own timeout is smaller (or larger) first sends
 *    "SET statement_timeout = <ms>" as its own asynchronous step, when the connection's
 *    current setting differs. The effective server-side limit of a query is
 *    min(metric timeout, postgres.statement_timeout).
 *  - Loop-side deadline: PQcancel blocks (it opens a connection), so it is never used.
 *    A run that has no answer PG_GRACE_MS after its timeout abandons its connection
 *    (PQfinish, counted in ustatsd_postgres_pool_abandoned_connections_total) and the
 *    connection is made again at once.
 *  - Stale results: only a successful run replaces a collector's rows. A failed run
 *    drops them: the family has no samples and ustatsd_sql_collector_up is 0, since
 *    stale gauges would mislead alerts. Failed runs are not cached: the next collect
 *    runs the query again (connection backoff still protects a database that is down).
 *  - Labels: a row whose label value is NULL is skipped (reason null_label); a value
 *    outside the enumerated ones, longer than limits.max_label_value_len, or new beyond
 *    the label's cap on distinct values within one result is skipped (label_rejected).
 *    Results are read in libpq's single-row mode, so memory holds one row of the
 *    result at a time beyond the rows kept, and at most PG_ROWS_PER_TICK rows are read
 *    per loop iteration. The first row that would go beyond limits.max_series_per_family
 *    counts limit once for the run; every later row of that result is received (the
 *    connection stays usable) and discarded unexamined. Two rows with the
 *    same labels keep one (duplicate); a value that is not a number is skipped
 *    (bad_value). A NULL value means the series is absent, and is not an error.
 *    These row-level problems count in errors_total but leave the run up.
 *  - Reconnects: exponential backoff from backoff_base_ms doubling to backoff_max_ms,
 *    with "equal jitter" from a per-pg xorshift state (no global rand()).
 *
 * Loop thread only.
 */
#ifndef USTATSD_PG_H
#define USTATSD_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#include "config.h"
#include "expo.h"

#define PG_BACKOFF_BASE_MS 250
#define PG_BACKOFF_MAX_MS  30000
#define PG_GRACE_MS        500  /* loop-side deadline beyond a metric's timeout */
#define PG_MAX_WAITERS     256  /* pending pg_collect calls */
#define PG_ERROR_LEN       160  /* bytes kept of a collector's last error message */
#define PG_ROWS_PER_TICK   1024 /* result rows read per loop iteration and connection */

/* Error reasons of ustatsd_sql_collector_errors_total{reason}. */
#define PG_REASON_MAP(X)                \
    X(CONNECT, "connect")               \
    X(QUERY, "query")                   \
    X(TIMEOUT, "timeout")               \
    X(BAD_VALUE, "bad_value")           \
    X(LABEL_REJECTED, "label_rejected") \
    X(NULL_LABEL, "null_label")         \
    X(DUPLICATE, "duplicate")           \
    X(LIMIT, "limit")

enum pg_reason {
#define PG_REASON_ENUM(e, s) PG_REASON_##e,
    PG_REASON_MAP(PG_REASON_ENUM)
#undef PG_REASON_ENUM
        PG_REASON_COUNT
};

struct pg;

/*
 * Called once per pg_collect: status 0 when every collector is fresh or has failed,
 * UV_ETIMEDOUT when the deadline passed first, UV_ECANCELED from pg_close.
 */
typedef void (*pg_collect_cb)(struct pg *pg, void *arg, int status);
typedef void (*pg_close_cb)(struct pg *pg);

/* One row of a result: label values (NUL-terminated, in one allocation) and the value. */
struct pg_row {
    char *blob;
    uint32_t off[CONFIG_MAX_LABELS];
    uint32_t len[CONFIG_MAX_LABELS];
    uint32_t nlabels;
    double value;
};

struct pg_conn;

struct pg_collector {
    struct pg *pg;
    const struct config_sql_metric *m;
    uv_timer_t timer; /* the run's loop-side deadline */
    int state;        /* idle, queued or running */
    struct pg_collector *qnext;
    struct pg_conn *conn; /* while running */
    uint64_t seq_started, seq_done;
    uint64_t req_ns;   /* uv_hrtime() when the current run was requested */
    uint64_t req_ms;   /* uv_now() then */
    uint64_t fresh_ms; /* uv_now() at the request of the last successful run */
    int fresh;         /* fresh_ms is meaningful */
    long timeout_ms;   /* server-side statement_timeout for this collector */
    int up;
    double duration; /* of the last completed run, seconds */
    int has_success;
    uint64_t success_ns;  /* uv_hrtime() at the last success */
    double success_unix;  /* wall-clock time of the last success */
    uint64_t down_events; /* see struct pg_collector_info */
    uint64_t errors[PG_REASON_COUNT];
    uint64_t runs;       /* runs started */
    struct pg_row *rows; /* served result, sorted by labels */
    size_t nrows;
    struct pg_row *build; /* result being read */
    size_t nbuild, capbuild;
    char last_error[PG_ERROR_LEN];
};

struct pg_waiter;

struct pg {
    uv_loop_t *loop;
    const struct config *cfg;
    uv_timer_t wake; /* delivers waiters: never synchronously, and at deadlines */
    struct pg_conn *conns;
    size_t nconns;
    struct pg_collector *cols;
    size_t ncols;
    struct pg_collector *qhead, *qtail; /* runs waiting for a connection */
    struct pg_waiter *waiters;
    size_t nwaiters;
    const char **keys, **vals; /* PQconnectStartParams arguments, NULL-terminated */
    char *options;             /* the combined options= value */
    long session_timeout_ms;
    uint64_t rng;
    /* Tuning knobs; pg_init sets the defaults above, tests may lower them before pg_start. */
    uint32_t backoff_base_ms, backoff_max_ms;
    /* Pool counters, after pgx's names. */
    uint64_t acquires, empty_acquires, canceled_acquires, abandoned;
    uint64_t acquire_ns; /* cumulative */
    size_t open_handles;
    int started, closing;
    pg_close_cb close_cb;
};

/* A collector's state, for the app's log and debug view (see pg_collector_info). */
struct pg_collector_info {
    const char *name;        /* the SQL metric's family name */
    int up;                  /* 1 if the last completed run succeeded */
    int has_run;             /* a run has completed; duration_seconds is meaningful */
    double duration_seconds; /* of the last completed run, waiting included; 0 before */
    int has_success;         /* last_success_unix is meaningful */
    double last_success_unix;
    /*
     * Why the most recent failed run failed, "" if none ever did. Kept after a recovery:
     * compare up (or down_events) to know whether it is current. May quote the server's
     * message (never the conninfo).
     */
    const char *last_error;
    uint64_t errors_total; /* sum of errors[] */
    uint64_t errors[PG_REASON_COUNT];
    /*
     * Incremented each time a run fails while the collector was up, or when the very
     * first run fails (a collector starts in neither state). Remember it and compare:
     * a change means the collector went down since (log last_error then).
     */
    uint64_t down_events;
};

/*
 * Check cfg's postgres section as pg_init does, without a loop or any connection: the
 * conninfo must parse and must not need DNS (the rule above, PGHOST/PGHOSTADDR of the
 * environment included). Returns 0 (also when cfg has no postgres section), or -1 with
 * "<file>: $.postgres.conninfo: <problem>" in err (always NUL-terminated when errlen > 0).
 * The message never quotes the conninfo nor libpq's parse message (either may hold the
 * password); it may name an unknown keyword or a host name.
 */
int pg_check_config(const struct config *cfg, char *err, size_t errlen);

/*
 * Prepare pg from cfg (which must have has_postgres set and outlive pg). Validates the
 * conninfo with pg_check_config and allocates the pool and collectors; connects nothing.
 * Returns 0, or a negative code with a message in err (always NUL-terminated). On
 * failure nothing is left to release. After success, pg_close must be called (even
 * without pg_start) before the loop is closed.
 */
int pg_init(struct pg *pg, uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen);

/* Start connecting the pool. Returns 0. */
int pg_start(struct pg *pg);

/*
 * Bring the collectors up to date for a scrape. Collectors whose last successful result
 * is younger than their min_interval are reused; runs already in flight are shared with
 * other pending collects; the others are started. cb(pg, arg, status) is called exactly
 * once, never synchronously: when every collector needed has completed (fresh or
 * failed), or when deadline_ms (from now) passes. Runs continue after a deadline and
 * their results are kept for later scrapes. Returns 0, UV_EBUSY when PG_MAX_WAITERS
 * collects are already pending, or UV_ECANCELED while closing; cb is not called then.
 */
int pg_collect(struct pg *pg, uint64_t deadline_ms, pg_collect_cb cb, void *arg);

/*
 * Forget the pending collects registered with this (cb, arg): their cb is never called
 * (the scrape's client went away). Runs they started continue. Returns how many.
 */
size_t pg_collect_cancel(struct pg *pg, pg_collect_cb cb, void *arg);

/*
 * Write the SQL gauge families (labels in config order, series sorted by label values)
 * and the collector and pool self-metrics, as they stand now. now_unix is the scrape's
 * wall-clock time, used for ustatsd_sql_collector_last_success_timestamp_seconds.
 */
void pg_render(const struct pg *pg, struct expo *e, double now_unix);

/*
 * Pool state for ustatsd_postgres_pool_connections{state}: acquired + idle +
 * constructing == total <= max.
 */
void pg_pool_counts(const struct pg *pg, size_t *acquired, size_t *idle, size_t *constructing,
                    size_t *total, size_t *max);

/*
 * Tear down: pending collects are called with UV_ECANCELED before this returns, runs
 * are abandoned, connections finished and handles closed; close_cb (may be NULL) runs
 * once every handle is closed, after which pg holds nothing.
 */
void pg_close(struct pg *pg, pg_close_cb close_cb);

/* Number of collectors (the SQL metrics not excluded), in configuration order. */
size_t pg_ncollectors(const struct pg *pg);

/*
 * Fill *out with collector i's state (i < pg_ncollectors). The strings point into pg and
 * stay valid until control returns to the loop (a run may rewrite last_error) or
 * pg_close. Loop thread only.
 */
void pg_collector_info(const struct pg *pg, size_t i, struct pg_collector_info *out);

/* Name of a reason, as in errors_total{reason}. */
const char *pg_reason_name(enum pg_reason r);

#endif
