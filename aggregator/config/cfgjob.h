/*
 * cfgjob: a job's counter form, the "counter" key of $.jobs.list[i]: how DogStatsD
 * clients, which cannot send `|j`, report the job's runs as counter lines
 * (PROTOCOL.md, "Jobs from any client"):
 *
 *   "counter": {"name": "publish_runs", "outcome_tag": "outcome", "job_tag": "job"}
 *   "counter": false
 *
 * Every key is optional: the name defaults to the job's own name, the tag keys to
 * "outcome" and "job"; a job given as a bare name, or without "counter", has the
 * defaults. The name is a metric name, normalised and stored without "_total" as a
 * counter family's; the tag keys are tag keys, normalised. Whether a counter name clashes
 * with a family's, the job families' or another job's is cfgclash's.
 *
 * A domain module used by cfgload.
 */
#ifndef USTATSD_CFGJOB_H
#define USTATSD_CFGJOB_H

#include <jansson.h>

#include "config/cfgread.h"
#include "config/config.h"

/*
 * Read v, the "counter" member of the job j (NULL when absent, or for a job given as a
 * bare name), into j, whose name is read already. The path names the job's entry.
 * Returns 0 or ERRCODE_CONFIG.
 */
int cfgjob_counter(struct cfgread *r, json_t *v, struct config_job *j);

/* Free what cfgjob_counter() stored. */
void cfgjob_release(struct config_job *j);

#endif
