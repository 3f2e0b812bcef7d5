/*
 * sqllog: what of a SQL collector's troubles is worth a log line, each said once.
 *
 * A domain module: it decides, the pool (sqlpool) writes the lines. One struct
 * sqllog_metric per SQL metric, of fixed size, so what it remembers is bounded by the
 * configured metrics ("PostgreSQL gauges" in docs/exposition.md, and docs/operations.md):
 *
 *  - Runs. A failed run is said when the collector was not already down for the same
 *    reason (connect, query, timeout) and SQLSTATE: its first failure, or a different
 *    one. A query that fails at every scrape is said once, not once per scrape. Its first
 *    success is said, and the first success after a failure (a recovery).
 *  - Rejected label values. Each (label, value) that a row was skipped for is said once,
 *    with the reason. At most SQLLOG_MAX_VALUES are remembered per metric; the first one
 *    beyond is said as "and more", once, and nothing after that. Values are compared on
 *    their length and their first SQLLOG_VALUE_MAX bytes, which is also what is said.
 *  - Folded label values. The first value that folded into its label's overflow value
 *    (a row kept, not skipped) is said once, and no other after it: the folds are
 *    counted (ustatsd_sql_label_values_folded_total), and folding is what the config
 *    asked for.
 */
#ifndef USTATSD_SQLLOG_H
#define USTATSD_SQLLOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "config/config.h"

#define SQLLOG_MAX_VALUES 16 /* rejected values remembered (and said) per metric */
#define SQLLOG_VALUE_MAX  64 /* bytes of a rejected value kept */

/*
 * Why a row's label value was refused (or folded into the label's overflow value): not
 * among the label's values (not_allowed), longer than limits.max_label_value_length
 * (too_long), not matching the label's pattern (pattern), new beyond the label's
 * max_values within one result (cap). "is not among the label's values", ... for a log
 * line.
 */
const char *sqllog_why_text(enum config_fold why);

struct sqllog_value {
    uint32_t label;              /* the label's index in the metric */
    uint32_t why;                /* enum config_fold */
    size_t len;                  /* the value's whole length */
    char text[SQLLOG_VALUE_MAX]; /* its first min(len, SQLLOG_VALUE_MAX) bytes */
};

enum sqllog_state { SQLLOG_IS_NEW, SQLLOG_IS_UP, SQLLOG_IS_DOWN };

/* One metric's memory. Zeroed memory is a new one. */
struct sqllog_metric {
    enum sqllog_state state;
    int reason;       /* while down: the reason said */
    char sqlstate[6]; /* while down: the SQLSTATE said, "" when none */
    size_t nvalues;
    struct sqllog_value values[SQLLOG_MAX_VALUES];
    size_t said; /* values[0 .. said) have been handed out by sqllog_next_value */
    int more;    /* 0; 1: a value beyond the limit was seen; 2: "and more" handed out */
    struct sqllog_value fold; /* the first value that folded into an overflow value */
    int folded;               /* 0; 1: fold holds it; 2: it was handed out */
};

/* What a run's end asks to be said. */
enum sqllog_say {
    SQLLOG_QUIET,         /* nothing: the same as last time */
    SQLLOG_SAY_DOWN,      /* it failed, and was up or new */
    SQLLOG_SAY_CHANGED,   /* it failed again, for another reason or SQLSTATE */
    SQLLOG_SAY_UP,        /* its first success */
    SQLLOG_SAY_RECOVERED, /* a success after a failure */
};

/*
 * A run ended: reason < 0 for success, else the reason it failed for; sqlstate the
 * server's SQLSTATE (NULL or "" when the server gave none). Returns what to say.
 */
enum sqllog_say sqllog_run(struct sqllog_metric *m, int reason, const char *sqlstate);

/*
 * A row was skipped for value s[0..len) of label label: remember it if it is new and
 * there is room (or note that there was none).
 */
void sqllog_reject(struct sqllog_metric *m, uint32_t label, enum config_fold why, const char *s,
                   size_t len);

/*
 * A kept row's value s[0..len) of label label folded into the label's overflow value:
 * remembered if it is the metric's first, to be said once (the counters count them all).
 */
void sqllog_fold(struct sqllog_metric *m, uint32_t label, enum config_fold why, const char *s,
                 size_t len);

/* The first folded value, once, or NULL. */
const struct sqllog_value *sqllog_take_fold(struct sqllog_metric *m);

/*
 * Set b to what a log line says of v, a value of metric m's: 'label state value "x" is
 * not among the label's values' ("..." after the value when it was cut).
 */
void sqllog_describe(struct buf *b, const struct config_sql_metric *m,
                     const struct sqllog_value *v);

/* The next rejected value not yet said, or NULL. */
const struct sqllog_value *sqllog_next_value(struct sqllog_metric *m);

/* 1, once, when values beyond SQLLOG_MAX_VALUES were rejected: say "and more". */
int sqllog_take_more(struct sqllog_metric *m);

#endif
