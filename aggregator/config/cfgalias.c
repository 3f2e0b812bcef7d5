#include "config/cfgalias.h"

#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/mem.h"
#include "statsd.h"

/*
 * The suffixes that the OpenTelemetry Prometheus exporter appends for a UCUM unit (its
 * unit map: s, ms, By, KiBy, Cel, Hz, 1 on a gauge, % ...), and the "per" units of
 * "X/Y" (By/s: bytes_per_second). A unit of another word ("requests"; OpenTelemetry's
 * annotations in braces, "{request}", add none) gives no name without it: no instrument
 * would be called that.
 */
static const char *const otel_units[] = {
    "days",        "hours",     "minutes",   "seconds",   "milliseconds", "microseconds",
    "nanoseconds", "bytes",     "kibibytes", "mebibytes", "gibibytes",    "tibibytes",
    "kilobytes",   "megabytes", "gigabytes", "terabytes", "meters",       "volts",
    "amperes",     "joules",    "watts",     "grams",     "celsius",      "hertz",
    "ratio",       "percent",
};
static const char *const otel_per[] = {
    "second", "minute", "hour", "day", "week", "month", "year"
};

static int listed(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
            return 1;
    return 0;
}

/* Whether the OpenTelemetry exporter writes unit as a name's suffix: "X" or "X_per_Y". */
static int otel_unit(const char *unit)
{
    const char *per = strstr(unit, "_per_");

    if (per == NULL)
        return listed(otel_units, ARRAY_SIZE(otel_units), unit, strlen(unit));
    return listed(otel_units, ARRAY_SIZE(otel_units), unit, (size_t)(per - unit)) &&
           listed(otel_per, ARRAY_SIZE(otel_per), per + 5, strlen(per + 5));
}

/*
 * The candidate of family f: its name less "_<unit>", into out (STATSD_MAX_NAME + 1
 * bytes). 0 when it has none: no unit, a unit the OpenTelemetry exporter does not
 * append, a name that does not end in it, or nothing left.
 */
static int candidate(const struct config_family *f, char *out)
{
    size_t n = strlen(f->name), u = strlen(f->unit);

    if (u == 0 || f->client_telemetry || !otel_unit(f->unit) || n <= u + 1 ||
        f->name[n - u - 1] != '_' || memcmp(f->name + n - u, f->unit, u) != 0)
        return 0;
    memcpy(out, f->name, n - u - 1);
    out[n - u - 1] = '\0';
    return 1;
}

/* s is name, or name + "_total" when total. */
static int names(const char *s, const char *name, int total)
{
    size_t n = strlen(name);

    return strncmp(s, name, n) == 0 && (s[n] == '\0' || (total && strcmp(s + n, "_total") == 0));
}

enum clash { CLASH_NONE, CLASH_FAMILY, CLASH_JOB, CLASH_ATTEMPTS, CLASH_SHARED };

/* What alias a of family i clashes with (*with: the other family's or job's index). */
static enum clash clash_of(const struct config *c, size_t i, const char *a, size_t *with)
{
    char other[STATSD_MAX_NAME + 1], attempts[STATSD_MAX_NAME + 16];
    size_t j;

    for (j = 0; j < c->nfamilies; j++)
        if (names(a, c->families[j].name, config_takes_total(&c->families[j]))) {
            *with = j;
            return CLASH_FAMILY;
        }
    for (j = 0; j < c->njobs; j++)
        if (c->jobs[j].counter != NULL && names(a, c->jobs[j].counter, 1)) {
            *with = j;
            return CLASH_JOB;
        }
    snprintf(attempts, sizeof(attempts), "%s_attempts", c->job_prefix);
    if (names(a, attempts, 1))
        return CLASH_ATTEMPTS;
    for (j = 0; j < c->nfamilies; j++)
        if (j != i && candidate(&c->families[j], other) && strcmp(a, other) == 0) {
            *with = j;
            return CLASH_SHARED;
        }
    return CLASH_NONE;
}

void cfgalias_assign(struct config *c)
{
    char a[STATSD_MAX_NAME + 1];
    size_t i, with;

    for (i = 0; i < c->nfamilies; i++)
        if (candidate(&c->families[i], a) && clash_of(c, i, a, &with) == CLASH_NONE)
            c->families[i].alias = mem_strdup(a);
}

const char *cfgalias_problem(const struct config *c, size_t i, char *buf, size_t len)
{
    char a[STATSD_MAX_NAME + 1];
    size_t with = 0;

    if (c->families[i].alias != NULL || !candidate(&c->families[i], a))
        return NULL;
    switch (clash_of(c, i, a, &with)) {
    case CLASH_FAMILY:
        snprintf(buf, len,
                 "its name without the unit, \"%s\", is the name of $.families[%zu]: lines "
                 "named \"%s\" go there, and this family takes only its own name",
                 a, with, a);
        break;
    case CLASH_JOB:
        snprintf(buf, len,
                 "its name without the unit, \"%s\", is the counter name of $.jobs.list[%zu]: "
                 "lines named \"%s\" report that job, and this family takes only its own name",
                 a, with, a);
        break;
    case CLASH_ATTEMPTS:
        snprintf(buf, len,
                 "its name without the unit, \"%s\", is the attempts family of $.jobs.prefix: "
                 "this family takes only its own name",
                 a);
        break;
    case CLASH_SHARED:
        snprintf(buf, len,
                 "its name without the unit, \"%s\", is also $.families[%zu]'s: neither family "
                 "takes it, each only its own name",
                 a, with);
        break;
    case CLASH_NONE:
        return NULL;
    }
    return buf;
}
