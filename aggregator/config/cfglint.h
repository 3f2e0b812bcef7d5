/*
 * cfglint: the names a configuration declares, checked against Prometheus's naming
 * conventions the way `promtool check metrics` lints an exposition (client_golang's
 * testutil/promlint), before any line arrives.
 *
 * What is looked at: each family of "families" and each gauge of "sql_metrics", under
 * the name the exposition gives it (a counter with "_total"), its type, help and label
 * names; the job families under jobs.prefix. The client telemetry families (fixed names,
 * the DogStatsD library's) are not.
 *
 * The rules, promlint's and the OpenMetrics suffixes it does not cover:
 *  - no help text;
 *  - a non-base unit in the name ("milliseconds", "kilobytes", "hours": promlint's unit
 *    table and SI prefixes), and an abbreviated one ("ms", "s", "kb", ...);
 *  - a non-counter ending in "_total";
 *  - "_bucket" on a non-histogram, "_count" and "_sum" on what is neither histogram nor
 *    summary, a label "le" on a non-histogram, a label "quantile" on a non-summary (a
 *    summary's own is refused at load);
 *  - a type in the name ("_gauge", "_counter_", ...);
 *  - camelCase in the name or a label name;
 *  - "_timestamp_seconds" on a non-gauge (promlint's gauge rule), "_created" (OpenMetrics
 *    reserves it for the creation time of counters, histograms and summaries) and "_info"
 *    (OpenMetrics's info type, which ustatsd does not declare);
 *  - and ustatsd's own: a family whose name ends in its unit but that does not take the
 *    name without it (its OpenTelemetry name, cfgalias.h), because that name is taken;
 *    and a counter "x_total" beside a gauge "x" (config_family.total_in_name), which
 *    OpenMetrics writes as an unknown family, since its counter family would be "x".
 * A colon cannot occur: cfgload_file() refuses it.
 *
 * These are warnings, never errors: a service may document a name the conventions frown
 * on (seed 003's millisecond histograms, its gauges named immich_*_total), and ustatsd
 * must serve it as documented.
 *
 * A domain module: no I/O, no state.
 */
#ifndef USTATSD_CFGLINT_H
#define USTATSD_CFGLINT_H

#include <stddef.h>

#include "config/config.h"

/*
 * One finding: where is the JSON path of the key that declares it
 * ("$.families[3].name", "$.sql_metrics[0].help", "$.families[1].labels[0].name",
 * "$.jobs.prefix"), msg says what the name is and what the convention says, e.g.
 * "\"immich_users_total\" (gauge): non-counter metrics should not have \"_total\" suffix".
 * Both are valid only during the call.
 */
typedef void (*cfglint_cb)(void *arg, const char *where, const char *msg);

/* Call cb for every finding in c, in file order. Returns how many there were. */
size_t cfglint_run(const struct config *c, cfglint_cb cb, void *arg);

#endif
