/*
 * sqlgauge: the rows of a SQL gauge family, from a query's cells to the exposition.
 *
 * A domain module: no libpq, no loop, no clock. The pool (sqlpool, sqlconn) hands each
 * result row over as plain cells; this module decides which rows are kept and why the
 * others are skipped, orders and deduplicates what is kept, and renders the families and
 * the collector and pool self-metrics ("PostgreSQL gauges" in docs/exposition.md).
 *
 * Row rules, in the order they are applied (the first that fails names the reason):
 *  - a NULL label value skips the row (null_label);
 *  - a label value is taken when it is the label's overflow value; else when it is longer
 *    than limits.max_label_value_len, outside the label's enumerated values, not matching
 *    the label's pattern whole, or new beyond the label's cap on distinct values within
 *    this result, it folds into the label's overflow value where the label has one
 *    (counted by label and reason once the row is kept, the metric's first fold
 *    remembered for the log), and otherwise skips the row (label_rejected), remembered
 *    for the log (sqllog) by label, value and why;
 *  - a NULL value means the series is absent: skipped, and no error;
 *  - a value that is not a number (or, for a boolean column, neither 't' nor 'f') skips
 *    it (bad_value);
 *  - a row with the label values of a row kept before joins it: the two values combine
 *    as the metric's "fold" says (sum, max or min). When neither row folded a value the
 *    query returned the same label values twice: that is counted too (duplicate, which
 *    finish returns), and the values combine all the same;
 *  - a row with new label values beyond limits.max_series_per_family skips it (limit)
 *    and marks the build limited: the caller should discard the rest of the result
 *    unexamined.
 */
#ifndef USTATSD_SQLGAUGE_H
#define USTATSD_SQLGAUGE_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/errcode.h"
#include "base/expo.h"
#include "base/strset.h"
#include "pg/sqllog.h"

/* Error reasons of ustatsd_sql_collector_errors_total{reason}. */
#define SQLGAUGE_REASON_MAP(X)          \
    X(CONNECT, "connect")               \
    X(QUERY, "query")                   \
    X(TIMEOUT, "timeout")               \
    X(BAD_VALUE, "bad_value")           \
    X(LABEL_REJECTED, "label_rejected") \
    X(NULL_LABEL, "null_label")         \
    X(DUPLICATE, "duplicate")           \
    X(LIMIT, "limit")

enum sqlgauge_reason {
#define SQLGAUGE_REASON_ENUM(e, s) SQLGAUGE_REASON_##e,
    SQLGAUGE_REASON_MAP(SQLGAUGE_REASON_ENUM)
#undef SQLGAUGE_REASON_ENUM
        SQLGAUGE_REASON_COUNT
};

/* Name of a reason, as in errors_total{reason}; "unknown" out of range. */
const char *sqlgauge_reason_name(enum sqlgauge_reason r);

/* One kept row: label values (each NUL-terminated, in one allocation) and the value. */
struct sqlgauge_row {
    char *blob;
    uint32_t off[CONFIG_MAX_LABELS];
    uint32_t len[CONFIG_MAX_LABELS];
    uint32_t nlabels;
    int plain; /* a row of the query's own joined it, no label value folded */
    double value;
};

/* Label values folded, per label (CONFIG_MAX_LABELS) and enum config_fold. */
typedef uint64_t sqlgauge_folds[CONFIG_MAX_LABELS][CONFIG_FOLD_MAX];

/* One cell of a result row. s is NUL-terminated (libpq's text format) unless isnull. */
struct sqlgauge_cell {
    const char *s;
    uint32_t len;
    int isnull;
};

/* The rows of one result being read. Zeroed memory is a released build. */
struct sqlgauge_build {
    const struct config_sql_metric *m;
    size_t nlabels; /* m->nlabels, at most CONFIG_MAX_LABELS */
    size_t max_rows, max_len;
    struct sqlgauge_row *rows;
    size_t n, cap;
    int limited; /* max_rows was reached: the rest of the result is to be discarded */
    struct strset seen[CONFIG_MAX_LABELS]; /* distinct values per capped label */
    uint32_t *index;                       /* rows by label values: row + 1, or 0 */
    size_t index_cap;                      /* 0 or a power of two, at least 2 n */
    size_t dups;                           /* rows of the query's with the same labels */
    /* Where a label_rejected row's value is remembered for the log (sqllog_reject), and
     * the first folded one (sqllog_fold); NULL (sqlgauge_build_init's) for nowhere. Set
     * after sqlgauge_build_init. */
    struct sqllog_metric *log;
    sqlgauge_folds *folds; /* where kept rows' folds are counted; NULL for nowhere */
};

/*
 * Start an empty build for metric m under cfg's limits. Both are borrowed for the
 * build's life. b must be released (zeroed memory counts as released).
 */
void sqlgauge_build_init(struct sqlgauge_build *b, const struct config *cfg,
                         const struct config_sql_metric *m);

/*
 * sqlgauge_build_add()'s verdicts on a row that no reason skipped; neither is an error.
 * Past every enum sqlgauge_reason, so one int holds either.
 */
enum sqlgauge_verdict {
    SQLGAUGE_KEPT = SQLGAUGE_REASON_COUNT, /* the row is a sample now */
    SQLGAUGE_ABSENT,                       /* its value is NULL: no sample, nothing to count */
};

/*
 * Examine one row: labels holds b->nlabels cells, in the metric's label order. The kept
 * row copies what it needs. Returns SQLGAUGE_KEPT, SQLGAUGE_ABSENT, or the enum
 * sqlgauge_reason that skipped it (< SQLGAUGE_REASON_COUNT), which the caller counts. is_bool: the
 * value column is a boolean, in libpq's text form "t" or "f".
 */
int sqlgauge_build_add(struct sqlgauge_build *b, const struct sqlgauge_cell *labels,
                       const struct sqlgauge_cell *value, int is_bool);

/*
 * Sort the kept rows by label values. Hands the rows over in *rows, *nrows (free them
 * with sqlgauge_rows_free) and releases b. Returns the duplicates: rows of the query's
 * own, no label value folded, that joined another such row.
 */
size_t sqlgauge_build_finish(struct sqlgauge_build *b, struct sqlgauge_row **rows, size_t *nrows);

/* Free the rows kept so far and leave b released. */
void sqlgauge_build_release(struct sqlgauge_build *b);

void sqlgauge_rows_free(struct sqlgauge_row *rows, size_t n);

/*
 * Parse a value cell's text: a number as strtod reads it, "Infinity" and "NaN"
 * included, with nothing after it; for a boolean, "t" is 1 and "f" is 0. Returns 0, or
 * ERRCODE_BADVALUE (counted as the bad_value reason).
 */
int sqlgauge_parse_value(const char *s, int is_bool, double *out);

/* Write metric m's gauge family with rows (sorted as finish leaves them) as samples. */
void sqlgauge_render_family(struct expo *e, const struct config_sql_metric *m,
                            const struct sqlgauge_row *rows, size_t n);

/* A collector's state as its self-metrics show it. */
struct sqlgauge_status {
    const char *name;                  /* the SQL metric's family name */
    int up;                            /* the last run succeeded; rendered only once has_run */
    int has_run;                       /* a run has ended: up and duration are rendered only then */
    double duration;                   /* seconds */
    int has_success;                   /* last_success is rendered only then */
    double last_success;               /* Unix time */
    const uint64_t *errors;            /* SQLGAUGE_REASON_COUNT of them */
    const struct config_sql_metric *m; /* its labels, for the folds; NULL: none */
    const sqlgauge_folds *folds;       /* with m: its labels' folds */
};

/*
 * Write the ustatsd_sql_collector_* families, each with one sample per collector (all
 * reasons for errors_total), in the order given, then ustatsd_sql_label_values_folded
 * with one sample per label with an overflow value and reason that applies to it
 * (config_fold_applies), when there is any. Writes nothing when n is 0. The counters
 * carry e->created (the caller's: when they started) as their _created.
 */
void sqlgauge_render_status(struct expo *e, const struct sqlgauge_status *st, size_t n);

/* The pool's state, for the ustatsd_postgres_pool_* families. */
struct sqlgauge_pool {
    size_t acquired, idle, constructing, total, max;
    uint64_t acquires, empty_acquires, canceled_acquires, abandoned;
    double acquire_seconds; /* cumulative */
};

/* The ustatsd_postgres_pool_* families; the counters carry e->created as their _created. */
void sqlgauge_render_pool(struct expo *e, const struct sqlgauge_pool *p);

#endif
