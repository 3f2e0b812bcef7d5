/*
 * sqlcheck: `ustatsd --check-config FILE --connect`: each SQL metric's query tried on the
 * database the config names, before the daemon runs it at every scrape.
 *
 * An I/O module that blocks (libpq's synchronous calls, poll(2) while connecting):
 * --check-config has no loop, and the daemon never calls it. It connects as the daemon
 * does: the same conninfo (conninfo or conninfo_file), the same session settings
 * (read-only, statement_timeout, client_encoding) and connect timeout (conninfo.h).
 *
 * Each SQL metric the daemon would run is checked (those the groups section excludes are
 * not: the daemon never runs them), each in a READ ONLY transaction rolled back after,
 * under the statement timeout its collector runs under:
 *  1. Prepared, as the daemon sends it: one statement of the extended protocol, so a
 *     trailing semicolon, comments and WITH are fine and two statements are not. A
 *     syntax error, a missing table or column is PostgreSQL's message, with its SQLSTATE.
 *     A query with parameters ($1) is refused: the daemon sends none.
 *  2. Described: the value column and each label column must be in its result, by exact
 *     name as the daemon looks them up. The value column's type must be a number
 *     (smallint, integer, bigint, real, double precision, numeric, oid, or a domain over
 *     one) or boolean: what the daemon reads as a sample value. A label column may be of
 *     any type but an array or a composite (row) type, whose text forms are lists, not
 *     values: the daemon takes a label value as PostgreSQL writes the column as text.
 *  3. Run once, its rows read one at a time and dropped: what only running finds
 *     (permission denied, the statement timeout, division by zero) is PostgreSQL's
 *     message. The rows go through the daemon's row rules (sqlgauge.h): rows it would skip
 *     (a label value not listed, a NULL label, ...) and label values it would fold into
 *     an overflow value (counted by label and reason, the first one shown) are warnings,
 *     since they depend on the data of the day, and leave the metric passing.
 *
 * Each problem is one line on the stream given: the config file, the metric's JSON path
 * and name, its query (whitespace folded, cut at SQLCHECK_QUERY_SHOWN bytes), and the
 * problem:
 *
 *   ustatsd: ustatsd.json: $.sql_metrics[3] (imgsrv_cas_ingest_jobs): query "SELECT state,
 *   count(*)::float8 AS n FROM cas_ingest_jobs GROUP..." : relation "cas_ingest_jobs"
 *   does not exist (SQLSTATE 42P01)                                           (one line)
 */
#ifndef USTATSD_SQLCHECK_H
#define USTATSD_SQLCHECK_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

#define SQLCHECK_QUERY_SHOWN 60 /* bytes of a query a problem line shows */

struct sqlcheck_result {
    size_t checked;  /* metrics checked */
    size_t failed;   /* of them, with a problem */
    size_t excluded; /* not checked: groups excludes them */
    size_t warnings; /* lines of rows the daemon would skip */
};

/*
 * Connect with cfg's postgres section (which it must have) and check its SQL metrics,
 * writing each problem and warning as a line on out. Returns the number of metrics that
 * failed (0 when all passed), or a negative errno (-ECONNREFUSED, -ETIMEDOUT) when no
 * connection could be made: one line on out says why, and nothing was checked.
 */
long sqlcheck_run(const struct config *cfg, FILE *out, struct sqlcheck_result *res);

#endif
