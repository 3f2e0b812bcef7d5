#include "store/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

static const char *const outcome_names[BREAKER_NOUTCOMES] = { "worked", "idle", "error" };

void jobs_init(struct jobs *j, const struct config *cfg, uint64_t now_ms)
{
    size_t i;

    j->cfg = cfg;
    j->n = cfg->njobs;
    j->breakers = NULL;
    j->created = NULL;
    memset(&j->match, 0, sizeof(j->match));
    jobmatch_build(&j->match, cfg);
    if (j->n == 0)
        return;
    j->breakers = mem_calloc(j->n, sizeof(*j->breakers));
    j->created = mem_calloc(j->n, sizeof(*j->created));
    for (i = 0; i < j->n; i++)
        breaker_init(&j->breakers[i], cfg->jobs[i].failure_threshold, cfg->jobs[i].open_seconds,
                     now_ms);
}

void jobs_reconfigure(struct jobs *j, const struct config *cfg, uint64_t now_ms)
{
    struct breaker *b = NULL;
    double *created = NULL;
    size_t i;

    if (cfg->njobs > 0) {
        b = mem_calloc(cfg->njobs, sizeof(*b));
        created = mem_calloc(cfg->njobs, sizeof(*created));
    }
    for (i = 0; i < cfg->njobs; i++) {
        const struct config_job *cj = &cfg->jobs[i];
        long o = config_find_job(j->cfg, cj->name, strlen(cj->name));

        if (o < 0) {
            breaker_init(&b[i], cj->failure_threshold, cj->open_seconds, now_ms);
            continue;
        }
        b[i] = j->breakers[o];
        created[i] = j->created[o];
        breaker_configure(&b[i], cj->failure_threshold, cj->open_seconds);
    }
    free(j->breakers);
    free(j->created);
    j->breakers = b;
    j->created = created;
    j->n = cfg->njobs;
    j->cfg = cfg;
    jobmatch_build(&j->match, cfg);
}

void jobs_date(struct jobs *j, double now_unix)
{
    size_t i;

    for (i = 0; i < j->n; i++)
        if (j->created[i] == 0)
            j->created[i] = now_unix;
}

int jobs_restore(struct jobs *j, const char *name, size_t len, const struct breaker *saved,
                 uint64_t in_state_ms, uint64_t away_ms, double created_unix, uint64_t now_ms)
{
    long i = config_find_job(j->cfg, name, len);

    if (i < 0)
        return (int)i;
    breaker_restore(&j->breakers[i], saved, in_state_ms, away_ms, now_ms);
    if (created_unix > 0)
        j->created[i] = created_unix;
    return 0;
}

void jobs_release(struct jobs *j)
{
    free(j->breakers);
    free(j->created);
    jobmatch_release(&j->match);
    j->breakers = NULL;
    j->created = NULL;
    j->n = 0;
}

int jobs_match(const struct jobs *j, const struct statsd_line *line, struct jobmatch_run *run,
               const struct config_writers **writers)
{
    int rc = jobmatch_line(&j->match, j->cfg, line, run);

    *writers = rc != JOBMATCH_FAMILY && run->job >= 0 ? j->cfg->jobs[run->job].writers : NULL;
    return rc;
}

void jobs_report_run(struct jobs *j, const struct jobmatch_run *run, uint64_t now_ms,
                     double now_unix)
{
    breaker_report_n(&j->breakers[run->job], run->outcome, run->runs, now_ms, now_unix);
}

int jobs_report(struct jobs *j, const struct statsd_line *line, uint64_t now_ms, double now_unix)
{
    const struct config_writers *writers;
    struct jobmatch_run run;
    int rc = jobs_match(j, line, &run, &writers);

    if (rc == STATSD_OK)
        jobs_report_run(j, &run, now_ms, now_unix);
    return rc;
}

const struct breaker *jobs_get(struct jobs *j, size_t i, uint64_t now_ms)
{
    breaker_advance(&j->breakers[i], now_ms);
    return &j->breakers[i];
}

/* The family name P_suffix, in a caller buffer sized for the longest prefix. */
static const char *family_name(char *out, size_t cap, const char *prefix, const char *suffix)
{
    snprintf(out, cap, "%s_%s", prefix, suffix);
    return out;
}

static struct expo_label job_label(const struct config_job *job)
{
    return (struct expo_label){ "job", job->name, strlen(job->name) };
}

enum job_gauge { GAUGE_FAILURES, GAUGE_LAST_SUCCESS, GAUGE_LAST_ERROR, GAUGE_STATE_SECONDS };

/* A per-job gauge; returns 0 to leave the job's sample out ("absent when none exist"). */
static int gauge_value(const struct breaker *b, enum job_gauge g, uint64_t now_ms, double *v)
{
    switch (g) {
    case GAUGE_FAILURES:
        *v = (double)b->consecutive_failures;
        return 1;
    case GAUGE_LAST_SUCCESS:
        *v = b->last_success_unix;
        return b->has_success;
    case GAUGE_LAST_ERROR:
        *v = b->last_error_unix;
        return b->has_error;
    case GAUGE_STATE_SECONDS:
        *v = (double)breaker_time_in_state(b, now_ms) / 1000.0;
        return 1;
    }
    return 0;
}

static void write_gauge(struct jobs *j, struct expo *e, const char *name, const char *help,
                        const char *unit, enum job_gauge g, uint64_t now_ms)
{
    size_t i, present = 0;
    double v;

    for (i = 0; i < j->n; i++)
        present += (size_t)gauge_value(&j->breakers[i], g, now_ms, &v);
    if (present == 0)
        return;
    expo_family(e, name, EXPO_GAUGE, help, unit);
    for (i = 0; i < j->n; i++) {
        struct expo_label l = job_label(&j->cfg->jobs[i]);
        if (gauge_value(&j->breakers[i], g, now_ms, &v))
            expo_sample(e, "", &l, 1, v);
    }
}

static void write_counter(struct jobs *j, struct expo *e, const char *name, const char *help,
                          int which)
{
    size_t i;

    expo_family(e, name, EXPO_COUNTER, help, "");
    for (i = 0; i < j->n; i++) {
        const struct breaker *b = &j->breakers[i];
        struct expo_label l = job_label(&j->cfg->jobs[i]);

        e->created = j->created[i];
        expo_sample(e, "_total", &l, 1, (double)(which ? b->openings : b->errors));
    }
}

void jobs_render(struct jobs *j, struct expo *e, uint64_t now_ms)
{
    /* The prefix is a metric name (at most STATSD_MAX_NAME bytes); the longest suffix is
     * "_last_success_timestamp_seconds". */
    const char *prefix = j->cfg->job_prefix;
    char name[STATSD_MAX_NAME + 40];
    size_t cap = sizeof(name);
    double was = e->created;
    size_t i, k;

    if (j->n == 0)
        return;
    for (i = 0; i < j->n; i++)
        breaker_advance(&j->breakers[i], now_ms);

    expo_family(e, family_name(name, cap, prefix, "attempts"), EXPO_COUNTER,
                "Background job attempts by outcome (worked, idle or error).", "");
    for (i = 0; i < j->n; i++) {
        e->created = j->created[i];
        for (k = 0; k < BREAKER_NOUTCOMES; k++) {
            struct expo_label l[2] = {
                job_label(&j->cfg->jobs[i]),
                { "outcome", outcome_names[k], strlen(outcome_names[k]) },
            };
            expo_sample(e, "_total", l, 2, (double)j->breakers[i].attempts[k]);
        }
    }
    write_counter(j, e, family_name(name, cap, prefix, "errors"), "Background job errors.", 0);
    write_counter(j, e, family_name(name, cap, prefix, "circuit_open"), "Circuit breaker openings.",
                  1);
    e->created = was;
    write_gauge(j, e, family_name(name, cap, prefix, "consecutive_failures"),
                "Current consecutive failure count.", "", GAUGE_FAILURES, now_ms);
    write_gauge(j, e, family_name(name, cap, prefix, "last_success_timestamp_seconds"),
                "Unix timestamp of the last successful attempt. Idle attempts count as "
                "successful attempts.",
                "seconds", GAUGE_LAST_SUCCESS, now_ms);
    write_gauge(j, e, family_name(name, cap, prefix, "last_error_timestamp_seconds"),
                "Unix timestamp of the last failed attempt.", "seconds", GAUGE_LAST_ERROR, now_ms);
    write_gauge(j, e, family_name(name, cap, prefix, "circuit_state_seconds"),
                "Seconds since the circuit breaker entered its current state.", "seconds",
                GAUGE_STATE_SECONDS, now_ms);

    /*
     * OpenMetrics 1.0, StateSet: each sample carries a label named after the family whose
     * value is the state. Text 0.0.4 has no stateset: a gauge with a "state" label.
     */
    family_name(name, cap, prefix, "circuit_state");
    expo_family(e, name, EXPO_STATESET,
                "Circuit breaker state (closed, open or half_open): 1 for the current state.", "");
    for (i = 0; i < j->n; i++) {
        for (k = 0; k < BREAKER_NSTATES; k++) {
            const char *s = breaker_state_name((enum breaker_state)k);
            struct expo_label l[2] = { job_label(&j->cfg->jobs[i]), { "state", s, strlen(s) } };
            int on = j->breakers[i].state == (enum breaker_state)k;

            if (e->fmt == EXPO_OPENMETRICS)
                expo_state(e, l, 1, s, strlen(s), on);
            else
                expo_sample(e, "", l, 2, on ? 1.0 : 0.0);
        }
    }
}
