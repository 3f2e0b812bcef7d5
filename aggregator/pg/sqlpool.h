/*
 * sqlpool: gauges read from PostgreSQL at scrape time (libpq asynchronous, on the loop).
 *
 * An I/O module. struct sqlpool is embedded by the app and owns a small pool of libpq
 * connections (sqlconn) and one collector per SQL metric of the configuration (metrics
 * excluded by the "groups" section are never run). Nothing blocks: connections are made
 * with PQconnectStartParams/PQconnectPoll and queries sent with PQsendQueryParams, each
 * connection driven by a uv_poll_t. Ingestion never pauses while a query runs. Which
 * rows are kept, and how they are rendered, is sqlgauge's part; the conninfo rules
 * (no DNS, read-only sessions) are conninfo's.
 *
 * Choices that an operator should know:
 *  - Statement timeouts: the session statement_timeout is postgres.statement_timeout; a
 *    collector whose own timeout is smaller (or larger) first sends
 *    "SET statement_timeout = <ms>" as its own asynchronous step, when the connection's
 *    current setting differs. The effective server-side limit of a query is
 *    min(metric timeout, postgres.statement_timeout).
 *  - Loop-side deadline: PQcancel blocks (it opens a connection), so it is never used.
 *    A run that has no answer SQLPOOL_GRACE_MS after its timeout abandons its connection
 *    (PQfinish, counted in ustatsd_postgres_pool_abandoned_connections_total) and the
 *    connection is made again at once.
 *  - Stale results: only a successful run replaces a collector's rows. A failed run
 *    drops them: the family has no samples and ustatsd_sql_collector_up is 0, since
 *    stale gauges would mislead alerts. The log says why, once per reason (sqllog). Failed runs are not cached: the next collect
 *    runs the query again (connection backoff still protects a database that is down).
 *  - Rows: results are read in libpq's single-row mode, so memory holds one row of the
 *    result at a time beyond the rows kept, and at most SQLPOOL_ROWS_PER_TICK rows are
 *    read per loop iteration. Once a result reaches limits.max_series_per_family, every
 *    later row of it is received (the connection stays usable) and discarded
 *    unexamined. Row-level problems (sqlgauge.h) count in errors_total but leave the
 *    run up.
 *  - Reconnects: exponential backoff from backoff_base_ms doubling to backoff_max_ms,
 *    with "equal jitter" from a per-pool xorshift state (no global rand()).
 *
 * Loop thread only.
 */
#ifndef USTATSD_SQLPOOL_H
#define USTATSD_SQLPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/log.h"
#include "config/config.h"
#include "pg/conninfo.h"
#include "base/expo.h"
#include "pg/sqlgauge.h"
#include "pg/sqllog.h"

#define SQLPOOL_BACKOFF_BASE_MS 250
#define SQLPOOL_BACKOFF_MAX_MS  30000
#define SQLPOOL_GRACE_MS        500  /* loop-side deadline beyond a metric's timeout */
#define SQLPOOL_MAX_WAITERS     256  /* pending sqlpool_collect calls */
#define SQLPOOL_ERROR_LEN       160  /* bytes kept of a collector's last error message */
#define SQLPOOL_ROWS_PER_TICK   1024 /* result rows read per loop iteration and connection */

struct sqlpool;

/*
 * Called once per sqlpool_collect: status 0 when every collector is fresh or has failed,
 * UV_ETIMEDOUT when the deadline passed first, UV_ECANCELED from sqlpool_close.
 */
typedef void (*sqlpool_collect_cb)(struct sqlpool *pool, void *arg, int status);
typedef void (*sqlpool_close_cb)(struct sqlpool *pool);

enum sqlpool_collector_state { SQLPOOL_COL_IDLE, SQLPOOL_COL_QUEUED, SQLPOOL_COL_RUNNING };

struct sqlconn;

struct sqlpool_collector {
    struct sqlpool *pool;
    const struct config_sql_metric *m;
    size_t index;     /* of m in the config's sql_metrics */
    uv_timer_t timer; /* the run's loop-side deadline */
    enum sqlpool_collector_state state;
    struct sqlpool_collector *qnext;
    struct sqlconn *conn; /* while running */
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
    uint64_t down_events; /* see struct sqlpool_collector_info */
    uint64_t errors[SQLGAUGE_REASON_COUNT];
    sqlgauge_folds folds;      /* label values folded into an overflow value, rows read */
    uint64_t runs;             /* runs started */
    struct sqlgauge_row *rows; /* served result, sorted by labels */
    size_t nrows;
    struct sqlgauge_build build; /* result being read */
    char last_error[SQLPOOL_ERROR_LEN];
    char sqlstate[6];          /* of the last error, "" when not the server's */
    struct sqllog_metric said; /* what the log has said of it */
};

struct sqlpool_waiter;

struct sqlpool {
    uv_loop_t *loop;
    const struct config *cfg;
    /*
     * Where a collector's troubles are said, each once (sqllog.h): a failed run per
     * reason, a recovery, each rejected label value. NULL (sqlpool_init's): nowhere.
     */
    struct log *log;
    uv_timer_t wake; /* delivers waiters: never synchronously, and at deadlines */
    struct sqlconn *conns;
    size_t nconns;
    struct sqlpool_collector *cols;
    size_t ncols;
    struct sqlpool_collector *qhead, *qtail; /* runs waiting for a connection */
    struct sqlpool_waiter *waiters;
    size_t nwaiters;
    struct conninfo_params params;
    long session_timeout_ms;
    uint64_t connect_timeout_ms;
    uint64_t rng;
    /* Tuning knobs; sqlpool_init sets the defaults above, tests may lower them. */
    uint32_t backoff_base_ms, backoff_max_ms;
    /* Pool counters, after pgx's names. */
    uint64_t acquires, empty_acquires, canceled_acquires, abandoned;
    uint64_t acquire_ns; /* cumulative */
    /*
     * When the collectors' and the pool's counters started, Unix seconds: their
     * OpenMetrics _created. sqlpool_init reads the wall clock; the daemon sets its own
     * start instead, since the postgres section only changes with a restart.
     */
    double created_unix;
    size_t open_handles;
    int started, closing;
    sqlpool_close_cb close_cb;
};

/* A collector's state, for the app's log and debug view (see sqlpool_collector_info). */
struct sqlpool_collector_info {
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
    uint64_t errors[SQLGAUGE_REASON_COUNT];
    /*
     * Incremented each time a run fails while the collector was up, or when the very
     * first run fails (a collector starts in neither state). Remember it and compare:
     * a change means the collector went down since (log last_error then).
     */
    uint64_t down_events;
};

/*
 * Prepare pool from cfg (which must have has_postgres set and outlive pool). Validates
 * the conninfo (conninfo_check's rules) and allocates the connections and collectors;
 * connects nothing. Returns 0, or UV_EINVAL with a message in err (always
 * NUL-terminated). On failure nothing is left to release. After success, sqlpool_close
 * must be called (even without sqlpool_start) before the loop is closed.
 */
int sqlpool_init(struct sqlpool *pool, uv_loop_t *loop, const struct config *cfg, char *err,
                 size_t errlen);

/* Start connecting the pool. Returns 0. */
int sqlpool_start(struct sqlpool *pool);

/*
 * Bring the collectors up to date for a scrape. Collectors whose last successful result
 * is younger than their min_interval are reused; runs already in flight are shared with
 * other pending collects; the others are started. cb(pool, arg, status) is called
 * exactly once, never synchronously: when every collector needed has completed (fresh or
 * failed), or when deadline_ms (from now) passes. Runs continue after a deadline and
 * their results are kept for later scrapes. Returns 0, UV_EBUSY when
 * SQLPOOL_MAX_WAITERS collects are already pending, or UV_ECANCELED while closing; cb
 * is not called then.
 */
int sqlpool_collect(struct sqlpool *pool, uint64_t deadline_ms, sqlpool_collect_cb cb, void *arg);

/*
 * Forget the pending collects registered with this (cb, arg): their cb is never called
 * (the scrape's client went away). Runs they started continue. Returns how many.
 */
size_t sqlpool_collect_cancel(struct sqlpool *pool, sqlpool_collect_cb cb, void *arg);

/* What a scrape endpoint shows of the pool (sqlpool_render()). */
struct sqlpool_select {
    const struct config *cfg;        /* the running config: its sql_metrics[i].endpoints, i in the
                               * pool's order (the sql_metrics section only changes with a
                               * restart) */
    uint32_t bit;                    /* the endpoint's bit in .endpoints; 0: every SQL metric */
    int self;                        /* the collector and pool self-metrics too */
    const struct expo_label *labels; /* written on the gauges' samples, not on the daemon's
                                      * own (expo's const_labels) */
    size_t nlabels;
};

/*
 * Write the SQL gauge families (labels in config order, series sorted by label values)
 * and the collector and pool self-metrics, as they stand now; sel NULL writes everything,
 * else what sel says. e's constant labels are replaced (sel's on the gauges, none on
 * the rest). now_unix is the scrape's wall-clock time, used for
 * ustatsd_sql_collector_last_success_timestamp_seconds.
 */
void sqlpool_render(const struct sqlpool *pool, struct expo *e, double now_unix,
                    const struct sqlpool_select *sel);

/*
 * Pool state for ustatsd_postgres_pool_connections{state}: acquired + idle +
 * constructing == total <= max.
 */
void sqlpool_counts(const struct sqlpool *pool, size_t *acquired, size_t *idle,
                    size_t *constructing, size_t *total, size_t *max);

/*
 * Tear down: pending collects are called with UV_ECANCELED before this returns, runs
 * are abandoned, connections finished and handles closed; close_cb (may be NULL) runs
 * once every handle is closed, after which pool holds nothing.
 */
void sqlpool_close(struct sqlpool *pool, sqlpool_close_cb close_cb);

/* Number of collectors (the SQL metrics not excluded), in configuration order. */
size_t sqlpool_ncollectors(const struct sqlpool *pool);

/*
 * Fill *out with collector i's state (i < sqlpool_ncollectors). The strings point into
 * pool and stay valid until control returns to the loop (a run may rewrite last_error)
 * or sqlpool_close. Loop thread only.
 */
void sqlpool_collector_info(const struct sqlpool *pool, size_t i,
                            struct sqlpool_collector_info *out);

#endif
