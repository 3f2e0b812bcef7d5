#include "config/cfgjob.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "config/cfgmetric.h"
#include "statsd.h"

/* A tag key as lines carry it (PROTOCOL.md "Tags"), before normalisation. */
static const char *tag_key_problem(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > STATSD_MAX_TAG_KEY)
        return "expected a tag key of 1 to 100 bytes";
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return "expected a tag key ([A-Za-z_][A-Za-z0-9_.-]*)";
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return "expected a tag key ([A-Za-z_][A-Za-z0-9_.-]*)";
    return NULL;
}

static int read_counter_name(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                             void *base)
{
    struct config_job *j = base;

    if (v == NULL)
        return 0;
    return cfgmetric_name(r, obj, k->name, 1, 0, &j->counter);
}

/* $.jobs.list[i].counter, an object. */
static const struct cfgread_key counter_keys[] = {
    { .name = "name", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_counter_name },
    { .name = "outcome_tag",
      .kind = CFGREAD_STRING,
      .off = offsetof(struct config_job, outcome_tag),
      .sdflt = "outcome",
      .check = tag_key_problem },
    { .name = "job_tag",
      .kind = CFGREAD_STRING,
      .off = offsetof(struct config_job, job_tag),
      .sdflt = "job",
      .check = tag_key_problem },
};

/*
 * The job's own name as a counter line would carry it: normalised, and without a
 * "_total" that leaves a name (lines may add it back, as for a counter family).
 */
static char *default_name(const char *job)
{
    size_t n = strlen(job), t = strlen("_total");
    char *s = mem_strdup(job);

    statsd_normalize_name(s, n, s, n);
    if (n > t && strcmp(s + n - t, "_total") == 0)
        s[n - t] = '\0';
    return s;
}

int cfgjob_counter(struct cfgread *r, json_t *v, struct config_job *j)
{
    size_t o;

    if (json_is_false(v))
        return 0;
    o = cfgread_push_key(r, "counter");
    if (v != NULL && !json_is_true(v) && !json_is_object(v))
        return cfgread_fail(r, "expected an object, true or false, got %s", cfgread_type_name(v));
    if (cfgread_section(r, json_is_object(v) ? v : NULL, counter_keys, ARRAY_SIZE(counter_keys),
                        j) < 0)
        return ERRCODE_CONFIG;
    if (j->counter == NULL)
        j->counter = default_name(j->name);
    statsd_normalize_name(j->outcome_tag, strlen(j->outcome_tag), j->outcome_tag,
                          strlen(j->outcome_tag));
    statsd_normalize_name(j->job_tag, strlen(j->job_tag), j->job_tag, strlen(j->job_tag));
    if (strcmp(j->outcome_tag, j->job_tag) == 0)
        return cfgread_fail_at(r, "job_tag",
                               "\"%s\" is the outcome tag too: a line cannot carry the job and "
                               "the outcome under one key",
                               j->job_tag);
    cfgread_pop(r, o);
    return 0;
}

void cfgjob_release(struct config_job *j)
{
    free(j->counter);
    free(j->outcome_tag);
    free(j->job_tag);
    j->counter = j->outcome_tag = j->job_tag = NULL;
}
