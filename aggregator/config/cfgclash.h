/*
 * cfgclash: the configuration's check that no two things expose the same name. Families,
 * SQL metrics, the job families of jobs.prefix and target_info are judged on the names an
 * exposition writes, not on the configured ones: a counter "x" writes x_total, a histogram
 * x_bucket, x_sum and x_count, and both x_created (OpenMetrics). A job's counter name
 * (cfgjob.h) may be none of those names, nor another job's counter name, with or without
 * "_total": a counter line of that name reports the job. One pairing is let through: a
 * counter declared "x_total" beside a gauge "x" (config_family.total_in_name) writes
 * "x_total" only.
 *
 * A domain module used by cfgload_file(), once every section is read.
 */
#ifndef USTATSD_CFGCLASH_H
#define USTATSD_CFGCLASH_H

#include "config/cfgread.h"
#include "config/config.h"

/*
 * 0, or ERRCODE_CONFIG with a message at the later configured name ("$.families[3].name: clashes
 * with $.families[1].name: both expose \"x_total\"").
 */
int cfgclash_check(struct cfgread *r, const struct config *c);

#endif
