#include "store/jobmatch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/errcode.h"

void jobmatch_build(struct jobmatch *m, const struct config *c)
{
    size_t i, n = 1;

    for (i = 0; i < c->njobs; i++)
        n += c->jobs[i].counter != NULL;
    names_reset(&m->names, n, &m->bytes);
    m->counters = n > 1;
    for (i = 0; i < c->njobs; i++)
        if (c->jobs[i].counter != NULL)
            names_add(&m->names, c->jobs[i].counter, strlen(c->jobs[i].counter), (uint32_t)i, 1);
    snprintf(m->attempts, sizeof(m->attempts), "%s_attempts", c->job_prefix);
    names_add(&m->names, m->attempts, strlen(m->attempts), (uint32_t)c->njobs, 1);
}

void jobmatch_release(struct jobmatch *m)
{
    names_release(&m->names, &m->bytes);
    m->counters = 0;
}

/* Whether a tag's key, as sent, is key (normalised) once normalised. */
static int key_is(const struct statsd_tag *t, const char *key)
{
    size_t n = strlen(key);

    if (t->key.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (statsd_normalize_char(t->key.ptr[i]) != key[i])
            return 0;
    return 1;
}

/* The job of an attempts line: the first tag that is a job's job tag naming that job. */
static long tagged_job(const struct config *c, const struct statsd_line *line)
{
    for (size_t k = 0; k < line->ntags; k++) {
        const struct statsd_tag *t = &line->tags[k];
        long i = config_find_job(c, t->value.ptr, t->value.len);

        if (i >= 0 && c->jobs[i].counter != NULL && key_is(t, c->jobs[i].job_tag))
            return i;
    }
    return ERRCODE_UNKNOWN;
}

/* The outcome and count of a counter line of job j, into run. */
static int counted(const struct config_job *j, const struct statsd_line *line,
                   struct jobmatch_run *run)
{
    const struct statsd_tag *t = NULL;
    double v = line->values[0];

    for (size_t k = 0; k < line->ntags && t == NULL; k++)
        if (key_is(&line->tags[k], j->outcome_tag))
            t = &line->tags[k];
    if (t == NULL || !statsd_outcome_parse(t->value.ptr, t->value.len, &run->outcome))
        return STATSD_INVALID_JOB_OUTCOME;
    if (!(v >= 0 && v <= JOBMATCH_MAX_RUNS) || v != floor(v))
        return STATSD_INVALID_JOB_COUNT;
    run->runs = (uint64_t)v;
    return STATSD_OK;
}

int jobmatch_line(const struct jobmatch *m, const struct config *c, const struct statsd_line *line,
                  struct jobmatch_run *run)
{
    char name[STATSD_MAX_NAME];
    size_t n;

    run->job = ERRCODE_UNKNOWN;
    if (line->type == STATSD_JOB || line->type == STATSD_SERVICE_CHECK) {
        run->job = config_find_job(c, line->name.ptr, line->name.len);
        run->outcome = line->outcome;
        run->runs = 1;
        return run->job < 0 ? STATSD_UNKNOWN_JOB : STATSD_OK;
    }
    if (line->type != STATSD_COUNTER || !m->counters)
        return JOBMATCH_FAMILY;
    n = statsd_normalize_name(line->name.ptr, line->name.len, name, sizeof(name));
    run->job = n ? names_find(&m->names, name, n) : ERRCODE_UNKNOWN;
    if (run->job < 0)
        return JOBMATCH_FAMILY;
    if ((size_t)run->job == c->njobs) {
        run->job = tagged_job(c, line);
        if (run->job < 0)
            return STATSD_UNKNOWN_JOB;
    }
    return counted(&c->jobs[run->job], line, run);
}
