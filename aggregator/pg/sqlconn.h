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
 * rows go to the collector's sqlgauge_build, and its end to sqlpool__run_done. Nothing
 * here blocks: libpq is non-blocking and every wait is a poll, a timer or an idle
 * handle. Loop thread only.
 */
#ifndef USTATSD_SQLCONN_H
#define USTATSD_SQLCONN_H

#include <libpq-fe.h>
#include <uv.h>

#include "config/config.h"

struct sqlpool;
struct sqlpool_collector;

enum sqlconn_state { SQLCONN_DOWN, SQLCONN_CONNECTING, SQLCONN_IDLE, SQLCONN_BUSY };

/* Why a connection is dropped, which decides when it is made again. */
enum sqlconn_drop {
    SQLCONN_DROP_FAILED,   /* an attempt failed: the backoff doubles */
    SQLCONN_DROP_LOST,     /* it had worked: the backoff starts over */
    SQLCONN_DROP_ABANDONED /* the server stopped answering: connect again at once */
};

enum sqlconn_step { SQLCONN_STEP_SET, SQLCONN_STEP_QUERY };

struct sqlconn_poll;

struct sqlconn {
    struct sqlpool *pool;
    PGconn *conn;
    struct sqlconn_poll *poll;
    uv_timer_t timer; /* connect timeout, then reconnect backoff */
    enum sqlconn_state state;
    unsigned attempt;
    struct sqlpool_collector *run;
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

/* Set c up, DOWN, in pool; initialises its timer and idle handles (two open handles). */
void sqlconn_init(struct sqlconn *c, struct sqlpool *pool);

/* Start connecting a DOWN connection. A failure drops it (and schedules the retry). */
void sqlconn_connect(struct sqlconn *c);

/*
 * Run col on an IDLE connection: c becomes BUSY until the run ends with
 * sqlpool__run_done (which may happen before this returns). col->build must be ready.
 */
void sqlconn_run(struct sqlconn *c, struct sqlpool_collector *col);

/*
 * Finish the connection (c->run is forgotten, not completed) and, unless the pool is
 * closing, schedule the next attempt as how says.
 */
void sqlconn_drop(struct sqlconn *c, enum sqlconn_drop how);

#endif
