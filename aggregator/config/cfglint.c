#include "config/cfglint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/common.h"
#include "config/cfgalias.h"

/*
 * The rules follow promlint's wording, so that an operator who has seen promtool's
 * output recognises each one. promlint looks at the names word by word, a word being what
 * lies between underscores: "_ms" flags "latency_ms" and "latency_ms_max" but not
 * "ms_latency", and a unit is the first word that is one.
 */

/* A unit word and its base unit; a base unit maps to itself. */
static const struct unit {
    const char *word, *base;
} units[] = {
    { "amperes", "amperes" },    { "bytes", "bytes" },     { "celsius", "celsius" },
    { "grams", "grams" },        { "joules", "joules" },   { "kelvin", "kelvin" },
    { "meters", "meters" },      { "metres", "metres" },   { "seconds", "seconds" },
    { "volts", "volts" },        { "minutes", "seconds" }, { "hours", "seconds" },
    { "days", "seconds" },       { "weeks", "seconds" },   { "kelvins", "kelvin" },
    { "fahrenheit", "celsius" }, { "rankine", "celsius" }, { "inches", "meters" },
    { "yards", "meters" },       { "miles", "meters" },    { "bits", "bytes" },
    { "calories", "joules" },    { "pounds", "grams" },    { "ounces", "grams" },
};

/* Any of these before a unit word makes a non-base unit ("milliseconds", "kilobytes"). */
static const char *const unit_prefixes[] = { "pico", "nano",  "micro", "milli", "centi", "deci",
                                             "deca", "hecto", "kilo",  "kibi",  "mega",  "mibi",
                                             "giga", "gibi",  "tera",  "tebi",  "peta",  "pebi" };

static const char *const abbreviations[] = { "s",  "ms", "us", "ns", "sec", "b", "kb",
                                             "mb", "gb", "tb", "pb", "m",   "h", "d" };

/* The types promlint looks for in a name (client_model's, untyped aside). */
static const char *const type_words[] = { "counter", "gauge", "summary", "histogram",
                                          "gauge_histogram" };

struct lint {
    cfglint_cb cb;
    void *arg;
    size_t n;
};

static void report(struct lint *l, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct lint *l, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->cb(l->arg, where, msg);
    l->n++;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Whether "_" word "_" occurs in s, or s ends in "_" word; case-insensitive. */
static int has_word(const char *s, const char *word)
{
    size_t m = strlen(word);

    for (const char *p = strchr(s, '_'); p != NULL; p = strchr(p + 1, '_'))
        if (strncasecmp(p + 1, word, m) == 0 && (p[1 + m] == '_' || p[1 + m] == '\0'))
            return 1;
    return 0;
}

static int camel_case(const char *s)
{
    for (; s[0] != '\0' && s[1] != '\0'; s++)
        if (islower((unsigned char)s[0]) && isupper((unsigned char)s[1]))
            return 1;
    return 0;
}

/* The first word of name that is a unit (prefixed or not): its base, and the word. */
static const char *unit_of(const char *name, char *word, size_t wordlen)
{
    const char *p = name;

    while (*p != '\0') {
        size_t len = strcspn(p, "_");

        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            size_t ul = strlen(units[i].word);

            if (len < ul || memcmp(p + len - ul, units[i].word, ul) != 0)
                continue;
            if (len == ul) {
                snprintf(word, wordlen, "%.*s", (int)len, p);
                return units[i].base;
            }
            for (size_t k = 0; k < ARRAY_SIZE(unit_prefixes); k++)
                if (strlen(unit_prefixes[k]) + ul == len &&
                    memcmp(p, unit_prefixes[k], len - ul) == 0) {
                    snprintf(word, wordlen, "%.*s", (int)len, p);
                    return units[i].base;
                }
        }
        p += len;
        p += *p == '_';
    }
    return NULL;
}

/* The rules on a name alone, which also hold for a prefix that names several families. */
static void lint_words(struct lint *l, const char *where, const char *what, const char *name)
{
    char word[64];
    const char *base = unit_of(name, word, sizeof(word));

    if (base != NULL && strcmp(base, word) != 0)
        report(l, where, "%s: use base unit \"%s\" instead of \"%s\"", what, base, word);
    for (size_t i = 0; i < ARRAY_SIZE(type_words); i++)
        if (has_word(name, type_words[i]))
            report(l, where, "%s: metric name should not include type '%s'", what, type_words[i]);
    if (camel_case(name))
        report(l, where, "%s: metric names should be written in 'snake_case' not 'camelCase'",
               what);
    for (size_t i = 0; i < ARRAY_SIZE(abbreviations); i++)
        if (has_word(name, abbreviations[i])) {
            report(l, where, "%s: metric names should not contain abbreviated units", what);
            break;
        }
}

/*
 * One family as exposed: its name with "_total" for a counter. path is the JSON path of
 * its entry ("$.families[3]").
 */
static void lint_family(struct lint *l, const char *path, const char *exposed,
                        enum family_type type, const char *help, const struct config_label *labels,
                        size_t nlabels)
{
    const char *tn = config_family_type_name(type);
    char where[96], what[320];
    int histogram = type == FAMILY_HISTOGRAM, counter = type == FAMILY_COUNTER;
    int summary = type == FAMILY_SUMMARY;

    snprintf(where, sizeof(where), "%s.name", path);
    snprintf(what, sizeof(what), "\"%s\" (%s)", exposed, tn);
    if (help == NULL || help[0] == '\0') {
        char hw[96];

        snprintf(hw, sizeof(hw), "%s.help", path);
        report(l, hw, "%s: no help text", what);
    }
    lint_words(l, where, what, exposed);
    if (!counter && ends_with(exposed, "_total"))
        report(l, where, "%s: non-counter metrics should not have \"_total\" suffix", what);
    if (!histogram && ends_with(exposed, "_bucket"))
        report(l, where, "%s: non-histogram metrics should not have \"_bucket\" suffix", what);
    if (!histogram && !summary && ends_with(exposed, "_count"))
        report(l, where,
               "%s: non-histogram and non-summary metrics should not have \"_count\" suffix", what);
    if (!histogram && !summary && ends_with(exposed, "_sum"))
        report(l, where,
               "%s: non-histogram and non-summary metrics should not have \"_sum\" suffix", what);
    if (type != FAMILY_GAUGE && ends_with(exposed, "_timestamp_seconds"))
        report(l, where, "%s: non-gauge metrics should not have \"_timestamp_seconds\" suffix",
               what);
    if (ends_with(exposed, "_created"))
        report(l, where,
               "%s: the \"_created\" suffix is reserved for the creation time of counters, "
               "histograms and summaries (OpenMetrics)",
               what);
    if (ends_with(exposed, "_info"))
        report(l, where,
               "%s: the \"_info\" suffix is reserved for info metrics (OpenMetrics); this one "
               "is exposed as a %s",
               what, tn);
    for (size_t i = 0; i < nlabels; i++) {
        const char *ln = labels[i].name;

        snprintf(where, sizeof(where), "%s.labels[%zu].name", path, i);
        if (camel_case(ln))
            report(l, where,
                   "%s: label names should be written in 'snake_case' not 'camelCase' (\"%s\")",
                   what, ln);
        if (!histogram && strcmp(ln, "le") == 0)
            report(l, where, "%s: non-histogram metrics should not have \"le\" label", what);
        if (!summary && strcmp(ln, "quantile") == 0)
            report(l, where, "%s: non-summary metrics should not have \"quantile\" label", what);
    }
}

/* A family whose name without its unit is no second name of it (cfgalias.h), and why. */
static void lint_alias(struct lint *l, const struct config *c, size_t i, const char *path,
                       const char *exposed, enum family_type type)
{
    char where[96], why[512];

    if (cfgalias_problem(c, i, why, sizeof(why)) == NULL)
        return;
    snprintf(where, sizeof(where), "%s.name", path);
    report(l, where, "\"%s\" (%s): %s", exposed, config_family_type_name(type), why);
}

/* A counter "x_total" beside a gauge "x" (config_family.total_in_name). */
static void lint_total_beside_gauge(struct lint *l, const char *path, const char *name)
{
    char where[96];
    int n = (int)strlen(name) - (int)strlen("_total");

    snprintf(where, sizeof(where), "%s.name", path);
    report(l, where,
           "\"%s\" (counter): OpenMetrics would name its family \"%.*s\", the gauge's, so it "
           "is written there as the unknown family \"%s\", without _created (text 0.0.4 "
           "writes it as a counter)",
           name, n, name, name);
}

size_t cfglint_run(const struct config *c, cfglint_cb cb, void *arg)
{
    struct lint l = { cb, arg, 0 };
    char path[64], exposed[320];

    for (size_t i = 0; i < c->nfamilies; i++) {
        const struct config_family *f = &c->families[i];

        if (f->client_telemetry)
            continue;
        snprintf(path, sizeof(path), "$.families[%zu]", i);
        snprintf(exposed, sizeof(exposed), "%s%s", f->name, config_takes_total(f) ? "_total" : "");
        lint_family(&l, path, exposed, f->type, f->help, f->labels, f->nlabels);
        lint_alias(&l, c, i, path, exposed, f->type);
        if (f->total_in_name)
            lint_total_beside_gauge(&l, path, f->name);
    }
    if (c->njobs > 0) {
        char what[320];

        snprintf(what, sizeof(what), "\"%s\" (the prefix of the job families)", c->job_prefix);
        lint_words(&l, "$.jobs.prefix", what, c->job_prefix);
    }
    for (size_t i = 0; i < c->nsql_metrics; i++) {
        const struct config_sql_metric *m = &c->sql_metrics[i];

        snprintf(path, sizeof(path), "$.sql_metrics[%zu]", i);
        lint_family(&l, path, m->name, FAMILY_GAUGE, m->help, m->labels, m->nlabels);
    }
    return l.n;
}
