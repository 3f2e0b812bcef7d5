/*
 * jobs: the configured background jobs, each with its breaker, and their exposition.
 *
 * A domain module. Services report each attempt as `<job>:<outcome>|j`, as a DogStatsD
 * service check or as a counter line (jobmatch.h); the job name is matched as sent (it
 * becomes the value of the job label, so "cas-promotion" stays "cas-promotion") against
 * the config's jobs section. Every configured job is exposed
 * with zeroed counters from start-up, so that increase() and absence alerts work from the
 * first scrape. The families, with P the configured prefix:
 *
 *   P_attempts_total{job,outcome}          counter, outcome worked|idle|error
 *   P_errors_total{job}                    counter
 *   P_circuit_open_total{job}              counter
 *   P_consecutive_failures{job}            gauge
 *   P_last_success_timestamp_seconds{job}  gauge, absent until the first success
 *   P_last_error_timestamp_seconds{job}    gauge, absent until the first error
 *   P_circuit_state{job,...}               OpenMetrics: a stateset, whose state label is
 *                                          named P_circuit_state as the specification
 *                                          requires; text 0.0.4: a gauge with a state label
 *   P_circuit_state_seconds{job}           gauge, time since the current state was entered
 */
#ifndef USTATSD_JOBS_H
#define USTATSD_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/breaker.h"
#include "store/jobmatch.h"
#include "config/config.h"
#include "base/expo.h"
#include "statsd.h"

struct jobs {
    const struct config *cfg; /* borrowed; outlives the jobs, or until jobs_reconfigure */
    struct breaker *breakers; /* cfg->njobs of them, in config order */
    double *created;          /* per job: Unix seconds its counters started at; 0: undated */
    size_t n;
    struct jobmatch match; /* the jobs' counter names, from cfg */
};

/* One breaker per configured job, closed at now_ms. Allocation failure aborts. */
void jobs_init(struct jobs *j, const struct config *cfg, uint64_t now_ms);
void jobs_release(struct jobs *j);

/*
 * Take cfg, which must outlive the jobs from now on, in place of the running config.
 * A job of both keeps its breaker (state and counts) with the new threshold and
 * open_seconds (breaker_configure); a new job starts closed at now_ms; a job cfg drops
 * is gone, with its counts. The prefix is read from cfg at each render.
 */
void jobs_reconfigure(struct jobs *j, const struct config *cfg, uint64_t now_ms);

/*
 * Date the jobs still undated at now_unix (Unix seconds): every job after jobs_init(),
 * the jobs a reload added after jobs_reconfigure(), which keeps the time of a job that
 * stays. OpenMetrics writes it as the _created sample of the job's counters (attempts,
 * errors, circuit_open), which all start at zero with the job; undated jobs have none.
 */
void jobs_date(struct jobs *j, double now_unix);

/*
 * Apply a parsed line that reports a job: a `|j` line, a service check, or a counter line
 * of a job's counter form (jobmatch.h). Returns STATSD_OK or the reason (jobmatch_line()'s),
 * or JOBMATCH_FAMILY for a line that reports no job (a family's: it changes nothing here).
 * A rejected line changes nothing. Tags are ignored but for the counter form's: the job
 * name is the only label.
 */
int jobs_report(struct jobs *j, const struct statsd_line *line, uint64_t now_ms, double now_unix);

/*
 * jobs_report() in two steps, for a caller that decides between them (the writer policy):
 * jobmatch_line() for the line, with *writers set to the rule of the job it names (NULL:
 * anyone may report it, or no job is named); then the report of a run that jobs_match()
 * gave with STATSD_OK, which cannot fail.
 */
int jobs_match(const struct jobs *j, const struct statsd_line *line, struct jobmatch_run *run,
               const struct config_writers **writers);
void jobs_report_run(struct jobs *j, const struct jobmatch_run *run, uint64_t now_ms,
                     double now_unix);

/*
 * Give the job named name (as sent, len bytes) a saved breaker and creation time (the
 * state file's, records.h; see breaker_restore() for in_state_ms and away_ms). Returns 0, or
 * ERRCODE_UNKNOWN when the config has no such job (nothing changes).
 */
int jobs_restore(struct jobs *j, const char *name, size_t len, const struct breaker *saved,
                 uint64_t in_state_ms, uint64_t away_ms, double created_unix, uint64_t now_ms);

/* The breaker of job i (i < j->n), advanced to now_ms. */
const struct breaker *jobs_get(struct jobs *j, size_t i, uint64_t now_ms);

/* Write every job family (see above), after advancing all breakers to now_ms. */
void jobs_render(struct jobs *j, struct expo *e, uint64_t now_ms);

#endif
