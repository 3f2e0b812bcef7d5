/*
 * jobmatch: which job a line reports, and how, for every form a job run takes
 * (PROTOCOL.md, "The job extension" and "Jobs from any client"):
 *
 *   publish:worked|j                                   ustatsd's own line
 *   _sc|publish|0                                      a DogStatsD service check
 *   publish:1|c|#outcome:worked                        the job's counter name
 *   P.attempts:1|c|#job:publish,outcome:worked         the attempts family, P = jobs.prefix
 *
 * A `|j` line and a service check name their job as sent. A counter line is a job's when
 * its name, normalised as family names are, with or without "_total", is a job's counter
 * name (config_job.counter), or is P_attempts and a tag whose key is a job's job tag
 * names that job; its outcome is the value of the job's outcome tag, and its value the
 * number of runs. Any other counter line is a family's.
 *
 * A domain module. The names are looked up in a names index (names.h) built from the
 * config, which must outlive it; rebuilt whole with the config (jobmatch_build).
 */
#ifndef USTATSD_JOBMATCH_H
#define USTATSD_JOBMATCH_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/names.h"
#include "statsd.h"

/* The most runs one counter line may report (2^53: every whole number up to it is exact). */
#define JOBMATCH_MAX_RUNS 9007199254740992.0

struct jobmatch {
    struct names names; /* counter names -> job index; P_attempts -> c->njobs */
    char attempts[STATSD_MAX_NAME + sizeof("_attempts")];
    size_t bytes; /* held by names */
    int counters; /* some job takes counter lines: else no counter line is looked up */
};

/* What a line reports: runs runs of job job, each with outcome. */
struct jobmatch_run {
    long job; /* index into the config's jobs, or ERRCODE_UNKNOWN */
    enum statsd_outcome outcome;
    uint64_t runs;
};

/* jobmatch_line()'s verdict beside STATSD_OK and the reasons: past all of them. */
enum jobmatch_verdict {
    JOBMATCH_FAMILY = STATSD_REASON_MAX /* not a job's line: a family's */
};

/* Index c's counter names. m may be zeroed or built before (it is emptied first). */
void jobmatch_build(struct jobmatch *m, const struct config *c);
void jobmatch_release(struct jobmatch *m);

/*
 * The job line reports, for config c (the one m was built from). Returns JOBMATCH_FAMILY
 * (a gauge, timer, histogram or distribution line, or a counter line that is no job's);
 * STATSD_UNKNOWN_JOB (run->job ERRCODE_UNKNOWN: a `|j` line or service check naming no
 * job, or an attempts line whose tags name none); or, with run->job set, STATSD_OK (run
 * filled), STATSD_INVALID_JOB_OUTCOME (a counter line without the outcome tag, or with a
 * value other than worked, idle or error) or STATSD_INVALID_JOB_COUNT (a counter value
 * that is not a whole number from 0 to JOBMATCH_MAX_RUNS). The rate of a counter line
 * is not applied, as on a `|j` line: it reports the runs it counts.
 */
int jobmatch_line(const struct jobmatch *m, const struct config *c, const struct statsd_line *line,
                  struct jobmatch_run *run);

#endif
