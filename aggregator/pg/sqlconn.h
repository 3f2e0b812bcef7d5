/*
 * sqlconn: one libpq connection of a sqlpool, driven by a uv_poll_t.
 *
 * An I/O module, and the pool's private part: the pool owns an array of these, starts
 * them, hands them runs and closes their handles. A connection is a state machine:
 *
 *   DOWN --connect--> CONNECTING --PQconnectPoll OK--> IDLE --run--> BUSY --done--> IDLE
 *     ^                   |                              |             |
 *     +------ drop -------+------------------------------+-------------+
 *
 * A dropped connection is made again after a backoff (or at once when abandoned). A run
 * is optionally "SET statement_timeout" then the query, read in single-row mode; its
 * rows go to the run's sqlgauge_build, and its end to the owner's run_done. Nothing
 * here blocks: libpq is non-blocking and every wait is a poll, a timer or an idle
 * handle. Loop thread only.
 *
 * A connection knows nothing of the pool above it: it reports through the struct
 * sqlconn_ops it is given (the pool's private hooks), so the dependency points one way.
 */
#ifndef USTATSD_SQLCONN_H
#define USTATSD_SQLCONN_H

#include <libpq-fe.h>
#include <uv.h>

#include "config/config.h"
#include "pg/conninfo.h"
#include "pg/sqlgauge.h"

#define SQLCONN_ROWS_PER_TICK 1024 /* result rows read per loop iteration */

/*
 * How a connection reports to its owner (the pool). owner is sqlconn_owner.arg; run is
 * the arg of the run (struct sqlconn_run). Called on the loop thread, from the
 * connection's callbacks or from sqlconn_connect/sqlconn_run/sqlconn_drop.
 *  pump:          a connection became idle: hand it a queued run (may call sqlconn_run).
 *  conn_down:     a connection went down: fail the queued runs if none is left alive.
 *  handle_opened: the connection opened one of its handles (its timer, its idle handle, a
 *                 poll handle); handle_closed: one of its poll handles finished closing.
 *  backoff_ms:    the delay before connecting again after attempt failed attempts.
 *  set_error:     keep msg (trailing newlines trimmed) as the run's last error, and the
 *                 server's SQLSTATE (NULL when the error is not the server's).
 *  run_done:      the run ended; reason -1 for success, else a SQLGAUGE_REASON_*.
 */
struct sqlconn_ops {
    void (*pump)(void *owner);
    void (*conn_down)(void *owner);
    void (*handle_opened)(void *owner);
    void (*handle_closed)(void *owner);
    uint64_t (*backoff_ms)(void *owner, unsigned attempt);
    void (*set_error)(void *run, const char *msg, const char *sqlstate);
    void (*run_done)(void *run, int reason);
};

/* What a connection is given by its owner at sqlconn_init (copied). */
struct sqlconn_owner {
    uv_loop_t *loop;
    const struct conninfo_params *params; /* the owner's; outlives the connection */
    long session_timeout_ms;              /* the statement_timeout each session starts with */
    uint64_t connect_timeout_ms;
    const struct sqlconn_ops *ops; /* static, or outlives the connection */
    void *arg;                     /* handed to ops as owner */
};

/*
 * One run, as its owner hands it to sqlconn_run (copied): what to send and where the
 * rows go. m, build and errors must stay valid until ops->run_done (or sqlconn_drop).
 */
struct sqlconn_run {
    const struct config_sql_metric *m; /* the query, its value and label columns */
    long timeout_ms;                   /* the statement_timeout it runs under */
    struct sqlgauge_build *build;      /* ready (sqlgauge_build_init): receives the rows */
    uint64_t *errors;                  /* SQLGAUGE_REASON_COUNT counters of row problems */
    void *arg;                         /* handed to ops as run */
};

enum sqlconn_state { SQLCONN_DOWN, SQLCONN_CONNECTING, SQLCONN_IDLE, SQLCONN_BUSY };

/* Why a connection is dropped, which decides when it is made again. */
enum sqlconn_drop {
    SQLCONN_DROP_FAILED,    /* an attempt failed: the backoff doubles */
    SQLCONN_DROP_LOST,      /* it had worked: the backoff starts over */
    SQLCONN_DROP_ABANDONED, /* the server stopped answering: connect again at once */
    SQLCONN_DROP_CLOSED     /* the owner is closing: never again */
};

enum sqlconn_step { SQLCONN_STEP_SET, SQLCONN_STEP_QUERY };

struct sqlconn_poll;

struct sqlconn {
    struct sqlconn_owner own;
    PGconn *conn;
    struct sqlconn_poll *poll;
    uv_timer_t timer; /* connect timeout, then reconnect backoff */
    enum sqlconn_state state;
    unsigned attempt;
    int closed;             /* dropped with SQLCONN_DROP_CLOSED */
    struct sqlconn_run run; /* while BUSY; zeroed otherwise */
    enum sqlconn_step step;
    int want_write;
    int err;          /* reason of the run's first error, or -1 */
    long cur_timeout; /* the session's statement_timeout now, ms */
    uv_idle_t more;   /* resumes reading rows that libpq already holds */
    /* The result's columns, looked up in its first row (single-row mode). */
    int resolved;
    int vcol;
    int lcol[CONFIG_MAX_LABELS];
};

/*
 * Set c up, DOWN, for own (copied); initialises its timer and idle handles, reporting
 * each to own->ops->handle_opened. The owner closes them (c->timer, c->more).
 */
void sqlconn_init(struct sqlconn *c, const struct sqlconn_owner *own);

/* Start connecting a DOWN connection. A failure drops it (and schedules the retry). */
void sqlconn_connect(struct sqlconn *c);

/*
 * Start run (copied) on an IDLE connection: c becomes BUSY until the run ends with
 * ops->run_done (which may happen before this returns). run->build must be ready.
 */
void sqlconn_run(struct sqlconn *c, const struct sqlconn_run *run);

/*
 * Finish the connection (c->run is forgotten, not completed) and, unless it was ever
 * dropped with SQLCONN_DROP_CLOSED, schedule the next attempt as how says.
 */
void sqlconn_drop(struct sqlconn *c, enum sqlconn_drop how);

#endif
