#include "expose/learnprop.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "config/cfgload.h"
#include "ingest/learnshape.h"

/* One proposal being written: its reasons and flagged labels, appended as they come. */
struct prop {
    const struct config *c;
    const struct learnsum_entry *e;
    json_t *reasons;
    json_t *flagged;
};

static void reason(struct prop *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reason(struct prop *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_array_append_new(p->reasons, json_string(buf));
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The configured family lines named name reach: by its name, or its OpenTelemetry alias. */
static const struct config_family *declared(const struct config *c, const char *name)
{
    long i = config_find_family(c, name, strlen(name));

    if (i >= 0)
        return &c->families[i];
    for (size_t k = 0; k < c->nfamilies; k++)
        if (c->families[k].alias != NULL && strcmp(c->families[k].alias, name) == 0)
            return &c->families[k];
    return NULL;
}

/* ---- labels ---- */

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The key's values, sorted, without the empty one (a bare tag), as a JSON array. */
static json_t *sorted_values(const struct learnsum_key *k, const struct config_label *skip)
{
    const char *v[LEARNSUM_MAX_VALUES];
    json_t *out = json_array();
    size_t n = 0;

    for (uint32_t i = 0; i < k->nvalues; i++) {
        int known = 0;

        for (size_t j = 0; skip != NULL && j < skip->nvalues; j++)
            known |= strcmp(skip->values[j], k->values[i]) == 0;
        if (k->values[i][0] != '\0' && !known)
            v[n++] = k->values[i];
    }
    qsort(v, n, sizeof(v[0]), by_string);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(v[i]));
    return out;
}

/*
 * Why key k must not become a label: a flag's index (learnshape.h), or -1. Free text is
 * flagged only when many sentences were seen: a few fixed ones are a label's values.
 */
static int flag_of(const struct learnsum_key *k)
{
    uint32_t flags = k->flags;

    if (learnsum_distinct(k) <= LEARNPROP_ENUM_MAX)
        flags &= ~LEARNSHAPE_FLAG(TEXT);
    return learnshape_first_flag(flags);
}

static void flag(struct prop *p, const struct learnsum_key *k, int f)
{
    json_t *o = json_object();

    json_object_set_new(o, "label", json_string(k->name));
    json_object_set_new(o, "reason", json_string(learnshape_flag_name(f)));
    json_object_set_new(o, "why", json_string(learnshape_flag_why(f)));
    json_object_set_new(o, "example", json_string(k->example));
    json_array_append_new(p->flagged, o);
    reason(p, "label %s: not proposed, %s (lines carrying it stay refused)", k->name,
           learnshape_flag_why(f));
}

/* A cap for about n distinct values: room for four times as many, 64 at least. */
static uint32_t cap_for(double n, const struct config *c)
{
    double cap = 64;

    while (cap < 4 * n && cap < 100000)
        cap *= 2;
    if (n <= c->max_label_values && cap > c->max_label_values)
        cap = c->max_label_values;
    return (uint32_t)cap;
}

/*
 * The label object for key k, new to its family (type t): enumerated or capped, as the
 * module's comment says. NULL (with a reason or a flag) when it cannot be one.
 */
static json_t *new_label(struct prop *p, const struct learnsum_key *k, enum family_type t)
{
    double distinct = learnsum_distinct(k);
    int f = flag_of(k), shape = learnshape_best(k->shapes & LEARNSHAPE_ALL);
    json_t *l, *values;

    if (f < LEARNSHAPE_NFLAGS) {
        flag(p, k, f);
        return NULL;
    }
    if (!config_valid_name(k->name) || strncmp(k->name, "__", 2) == 0 ||
        (t == FAMILY_HISTOGRAM && strcmp(k->name, "le") == 0) ||
        (t == FAMILY_SUMMARY && strcmp(k->name, "quantile") == 0)) {
        reason(p, "label %s: not proposed, not a label name this family may have", k->name);
        return NULL;
    }
    l = json_object();
    json_object_set_new(l, "name", json_string(k->name));
    if (distinct <= LEARNPROP_ENUM_MAX && shape != LEARNSHAPE_BIT_UUID &&
        shape != LEARNSHAPE_BIT_HEX) {
        values = sorted_values(k, NULL);
        if (json_array_size(values) == 0) {
            json_decref(values);
            json_decref(l);
            reason(p, "label %s: not proposed, only sent bare (no value)", k->name);
            return NULL;
        }
        json_object_set_new(l, "values", values);
        reason(p, "label %s: %zu values seen, enumerated", k->name, json_array_size(values));
        return l;
    }
    json_object_set_new(l, "max_values", json_integer(cap_for(distinct, p->c)));
    if (shape < LEARNSHAPE_NSHAPES)
        json_object_set_new(l, "pattern", json_string(learnshape_pattern(shape)));
    json_object_set_new(l, "overflow", json_string(LEARNPROP_OVERFLOW));
    reason(p, "label %s: %s%.0f distinct values seen%s%s, capped with an overflow value", k->name,
           k->values_full ? "about " : "", distinct,
           shape < LEARNSHAPE_NSHAPES ? ", all of the shape " : "",
           shape < LEARNSHAPE_NSHAPES ? learnshape_name(shape) : "");
    return l;
}

/* Keys by lines carrying them, most first. */
static int by_key_lines(const void *a, const void *b)
{
    const struct learnsum_key *x = *(const struct learnsum_key *const *)a;
    const struct learnsum_key *y = *(const struct learnsum_key *const *)b;

    if (x->lines != y->lines)
        return x->lines > y->lines ? -1 : 1;
    return strcmp(x->name, y->name);
}

static size_t sorted_keys(const struct learnsum_entry *e, const struct learnsum_key **keys)
{
    for (uint32_t i = 0; i < e->nkeys; i++)
        keys[i] = e->keys[i];
    qsort(keys, e->nkeys, sizeof(keys[0]), by_key_lines);
    return e->nkeys;
}

/* ---- a new family ---- */

/* The type, and whether the gauge is up-down, from the lines seen. */
static enum family_type new_type(struct prop *p, int *updown)
{
    const uint64_t *t = p->e->by_type;
    uint64_t hist = t[STATSD_TIMER] + t[STATSD_HISTOGRAM] + t[STATSD_DISTRIBUTION];
    uint64_t scalar = t[STATSD_COUNTER] + t[STATSD_GAUGE];

    *updown = 0;
    if (hist > 0 && hist >= scalar) {
        if (scalar > 0)
            reason(p,
                   "%llu counter and gauge lines stay refused (type_mismatch): a family has "
                   "one type, and most lines were observations",
                   (unsigned long long)scalar);
        return FAMILY_HISTOGRAM;
    }
    if (hist > 0)
        reason(p,
               "%llu observation lines (ms, h, d) stay refused (type_mismatch): a family has "
               "one type",
               (unsigned long long)hist);
    if (t[STATSD_GAUGE] > 0 || p->e->negative_counter) {
        *updown = p->e->signed_gauge || t[STATSD_COUNTER] > 0 || p->e->negative_counter;
        if (p->e->signed_gauge)
            reason(p, "signed gauge values (+N, -N) seen: an up-down gauge, which they move");
        else if (*updown)
            reason(p, "counter lines seen with gauge lines or below zero: an up-down gauge, "
                      "which takes them as signed deltas");
        return FAMILY_GAUGE;
    }
    return FAMILY_COUNTER;
}

static double round_bound(double v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%.3g", v);
    return strtod(buf, NULL);
}

/*
 * Buckets on the observed values (bins in seconds for timers, scale turns them into the
 * family's unit): from one bound below the lowest bin seen to one above the highest.
 */
static json_t *buckets(struct prop *p, double scale)
{
    const uint32_t *b = p->e->bins;
    size_t lo = 0, hi = 0;
    json_t *out;

    for (size_t i = 1; i <= LEARNSUM_NBINS + 1; i++)
        if (b[i] > 0) {
            if (lo == 0)
                lo = i;
            hi = i;
        }
    if (lo == 0) {
        reason(p, "no positive value seen: the default buckets");
        return NULL;
    }
    lo = lo > 1 ? lo - 1 : 1;
    hi = hi < LEARNSUM_NBINS ? hi + 1 : LEARNSUM_NBINS;
    out = json_array();
    for (size_t i = lo; i <= hi; i++)
        json_array_append_new(out, json_real(round_bound(learnsum_bin_bound(i) * scale)));
    reason(p,
           "buckets: 1, 2.5 and 5 a decade around the %llu values seen (from %g to %g as "
           "sent)",
           (unsigned long long)p->e->observations, p->e->vmin, p->e->vmax);
    return out;
}

/* A histogram's name, unit and buckets: timers in seconds unless the name says ms. */
static void histogram(struct prop *p, json_t *fam, char *name, size_t cap)
{
    const uint64_t *t = p->e->by_type;
    int timers =
        t[STATSD_TIMER] > 0 && t[STATSD_TIMER] >= t[STATSD_HISTOGRAM] + t[STATSD_DISTRIBUTION];
    double scale = 1;
    json_t *b;

    if (timers && (ends_with(name, "_ms") || ends_with(name, "_milliseconds"))) {
        json_object_set_new(fam, "unit", json_string("milliseconds"));
        scale = 1000;
        reason(p, "ms timers, and the name says milliseconds: unit milliseconds, values kept "
                  "as sent");
    } else if (timers) {
        if (!ends_with(name, "_seconds") && strlen(name) + 8 <= STATSD_MAX_NAME &&
            strlen(name) + 8 < cap) {
            strcat(name, "_seconds");
            reason(p, "ms timers: unit seconds (the daemon divides them by 1000); the family is "
                      "named with _seconds, and lines keep their name, its OpenTelemetry one");
        } else {
            reason(p, "ms timers: unit seconds (the daemon divides them by 1000)");
        }
    }
    if ((b = buckets(p, scale)) != NULL)
        json_object_set_new(fam, "buckets", b);
}

/* The labels of a new family: the keys carried most, at most CONFIG_MAX_LABELS. */
static void new_labels(struct prop *p, json_t *fam, enum family_type t)
{
    const struct learnsum_key *keys[LEARNSUM_MAX_KEYS];
    size_t n = sorted_keys(p->e, keys), left = 0;
    json_t *labels = json_array(), *l;

    for (size_t i = 0; i < n; i++) {
        if (json_array_size(labels) == CONFIG_MAX_LABELS) {
            left++;
            continue;
        }
        if ((l = new_label(p, keys[i], t)) != NULL)
            json_array_append_new(labels, l);
    }
    if (left > 0 || p->e->keys_over > 0) {
        json_object_set_new(fam, "undeclared_labels", json_string("drop"));
        reason(p,
               "more label keys than a family may have (%d): the least sent are dropped from "
               "the lines (undeclared_labels: drop)",
               CONFIG_MAX_LABELS);
    }
    if (json_array_size(labels) > 0)
        json_object_set_new(fam, "labels", labels);
    else
        json_decref(labels);
}

static json_t *new_family(struct prop *p)
{
    char name[STATSD_MAX_NAME + 16];
    int updown;
    enum family_type t = new_type(p, &updown);
    json_t *fam = json_object();

    snprintf(name, sizeof(name), "%s", p->e->name);
    if (t == FAMILY_COUNTER && !ends_with(name, "_total") && strlen(name) + 6 <= STATSD_MAX_NAME)
        strcat(name, "_total");
    json_object_set_new(fam, "name", json_string(name));
    json_object_set_new(fam, "type", json_string(config_family_type_name(t)));
    json_object_set_new(fam, "help", json_string(LEARNPROP_HELP));
    if (t == FAMILY_HISTOGRAM) {
        histogram(p, fam, name, sizeof(name));
        json_object_set_new(fam, "name", json_string(name));
    }
    if (updown)
        json_object_set_new(fam, "updown", json_true());
    new_labels(p, fam, t);
    return fam;
}

/* ---- a declared family ---- */

static const struct config_label *label_of(const struct config_family *f, const char *name)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(f->labels[i].name, name) == 0)
            return &f->labels[i];
    return NULL;
}

/* A value of k that the label's pattern refuses, or NULL. */
static const char *unmatched(const struct learnsum_key *k, const struct config_label *cl)
{
    for (uint32_t i = 0; i < k->nvalues; i++)
        if (!config_label_matches(cl, k->values[i], strlen(k->values[i])))
            return k->values[i];
    return NULL;
}

/* What to propose for key k, which declared label cl has: values it lacks, if enumerated. */
static json_t *more_values(struct prop *p, const struct learnsum_key *k,
                           const struct config_label *cl)
{
    int f = flag_of(k);
    const char *bad;
    json_t *values, *l;

    if (cl->values == NULL) {
        if (p->e->by_reason[LEARNSUM_LABEL_VALUES_CAP] > 0)
            reason(p,
                   "label %s: its cap (max_values %u) was reached; raise it to take more "
                   "values (not changed: declared)",
                   k->name, cl->max_values);
        if (cl->pattern != NULL && (bad = unmatched(k, cl)) != NULL)
            reason(p,
                   "label %s: values such as \"%s\" do not match its pattern %s (not "
                   "changed: declared)",
                   k->name, bad, cl->pattern);
        return NULL;
    }
    if (f < LEARNSHAPE_NFLAGS) {
        flag(p, k, f);
        return NULL;
    }
    values = sorted_values(k, cl);
    if (json_array_size(values) == 0) {
        json_decref(values);
        return NULL;
    }
    if (k->values_full || cl->nvalues + json_array_size(values) > 4 * LEARNPROP_ENUM_MAX)
        reason(p,
               "label %s: many values refused; a cap (max_values) would suit it better than "
               "an enumeration (not changed: declared)",
               k->name);
    l = json_object();
    json_object_set_new(l, "name", json_string(cl->name));
    json_object_set_new(l, "values", values);
    reason(p, "label %s: %zu values added to its enumeration", k->name, json_array_size(values));
    return l;
}

static void type_reasons(struct prop *p, const struct config_family *f)
{
    uint64_t n = p->e->by_reason[LEARNSUM_TYPE_MISMATCH];

    if (n == 0)
        return;
    if (f->type == FAMILY_GAUGE && !f->updown && p->e->by_type[STATSD_COUNTER] > 0)
        reason(p,
               "%llu lines of another type refused (type_mismatch): counter lines would be "
               "taken as signed deltas with \"updown\": true (not changed: declared)",
               (unsigned long long)n);
    else
        reason(p,
               "%llu lines of another type refused (type_mismatch): a family has one type "
               "(not changed: declared)",
               (unsigned long long)n);
}

static json_t *extend_family(struct prop *p, const struct config_family *f, const char **action)
{
    const struct learnsum_key *keys[LEARNSUM_MAX_KEYS];
    size_t n = sorted_keys(p->e, keys), room = CONFIG_MAX_LABELS - f->nlabels;
    json_t *fam = json_object(), *labels = json_array(), *l;

    type_reasons(p, f);
    for (size_t i = 0; i < n; i++) {
        const struct config_label *cl = label_of(f, keys[i]->name);

        if (cl != NULL) {
            if ((l = more_values(p, keys[i], cl)) != NULL)
                json_array_append_new(labels, l);
            continue;
        }
        if (room == 0) {
            reason(p, "label %s: not proposed, the family has %d labels already", keys[i]->name,
                   CONFIG_MAX_LABELS);
            continue;
        }
        if ((l = new_label(p, keys[i], f->type)) == NULL)
            continue;
        if (f->precreate && json_object_get(l, "values") == NULL) {
            reason(p, "label %s: not proposed, a precreated family takes enumerated labels only",
                   keys[i]->name);
            json_decref(l);
            continue;
        }
        if (keys[i]->dropped > 0)
            reason(p,
                   "label %s: dropped from %llu lines (undeclared_labels: drop); declaring it "
                   "splits the family's series by it",
                   keys[i]->name, (unsigned long long)keys[i]->dropped);
        json_array_append_new(labels, l);
        room--;
    }
    json_object_set_new(fam, "name", json_string(f->name));
    json_object_set_new(fam, "type", json_string(config_family_type_name(f->type)));
    if (json_array_size(labels) == 0) {
        json_decref(labels);
        json_decref(fam);
        *action = "none";
        return NULL;
    }
    json_object_set_new(fam, "labels", labels);
    *action = "extend";
    return fam;
}

/* ---- the proposal ---- */

/*
 * What of the running config takes the name of a new family, which a merge would then
 * refuse: an SQL metric (a line cannot name one: it is unknown_family), the jobs'
 * families, target_info. NULL when nothing does.
 */
static const char *taken_in_config(const struct config *c, const char *name)
{
    char bare[STATSD_MAX_NAME + 16];
    size_t n = strlen(c->job_prefix);

    snprintf(bare, sizeof(bare), "%s", name);
    if (ends_with(bare, "_total"))
        bare[strlen(bare) - 6] = '\0';
    for (size_t i = 0; i < c->nsql_metrics; i++)
        if (strcmp(c->sql_metrics[i].name, bare) == 0)
            return "an SQL metric's name";
    if (strncmp(bare, c->job_prefix, n) == 0 && bare[n] == '_')
        return "the jobs' families (jobs.prefix)";
    if (strcmp(bare, "target_info") == 0 || strcmp(bare, "target") == 0)
        return "target_info, the resource attributes' family";
    return NULL;
}

json_t *learnprop_family(const struct learnsum_entry *e, const struct config *c)
{
    struct prop p = { .c = c, .e = e, .reasons = json_array(), .flagged = json_array() };
    const struct config_family *f = declared(c, e->name);
    const char *action = "add";
    json_t *out = json_object(), *fam;

    if (f != NULL) {
        fam = extend_family(&p, f, &action);
    } else {
        const char *taken;

        fam = new_family(&p);
        if (e->declared)
            reason(&p, "the family these lines reached is no longer configured");
        if ((taken = taken_in_config(c, json_string_value(json_object_get(fam, "name")))) != NULL) {
            reason(&p, "not proposed: its name is taken by %s", taken);
            json_decref(fam);
            fam = NULL;
            action = "none";
        }
    }
    json_object_set_new(out, "family", json_string(f != NULL ? f->name : e->name));
    json_object_set_new(out, "action", json_string(action));
    json_object_set_new(out, "config", fam != NULL ? fam : json_null());
    json_object_set_new(out, "reasons", p.reasons);
    json_object_set_new(out, "flagged", p.flagged);
    return out;
}

/* The label of fam named name, or NULL. */
static json_t *label_named(json_t *fam, const char *name)
{
    json_t *l;
    size_t i;

    json_array_foreach(json_object_get(fam, "labels"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "name")), name) == 0)
            return l;
    }
    return NULL;
}

/*
 * The labels of from into the family into, which takes its lines too: enumerations
 * united, labels it lacks appended while it has room.
 */
static void merge_labels(json_t *into, json_t *from)
{
    json_t *labels = json_object_get(into, "labels"), *l, *v, *have;
    size_t i, k;

    if (labels == NULL) {
        labels = json_array();
        json_object_set_new(into, "labels", labels);
    }
    json_array_foreach(json_object_get(from, "labels"), i, l)
    {
        const char *name = json_string_value(json_object_get(l, "name"));

        if ((have = label_named(into, name)) == NULL) {
            if (json_array_size(labels) < CONFIG_MAX_LABELS)
                json_array_append(labels, l);
            continue;
        }
        if (json_object_get(have, "values") == NULL || json_object_get(l, "values") == NULL)
            continue;
        json_array_foreach(json_object_get(l, "values"), k, v)
        {
            json_t *w;
            size_t j;
            int found = 0;

            json_array_foreach(json_object_get(have, "values"), j, w) found |= json_equal(v, w);
            if (!found)
                json_array_append(json_object_get(have, "values"), v);
        }
    }
}

/*
 * The earlier proposal's family that already takes the lines of the new family fam: the
 * same name, or two counters whose names differ only in "_total" (a gauge x beside a
 * counter x_total is the one pairing the configuration lets through); NULL when none.
 * Records fam's names in taken.
 */
static json_t *taken_by(json_t *taken, json_t *fam)
{
    const char *name = json_string_value(json_object_get(fam, "name"));
    int counter = strcmp(json_string_value(json_object_get(fam, "type")), "counter") == 0;
    char key[STATSD_MAX_NAME + 32];
    json_t *by;

    snprintf(key, sizeof(key), "name:%s", name);
    if ((by = json_object_get(taken, key)) != NULL)
        return by;
    json_object_set(taken, key, fam);
    if (!counter)
        return NULL;
    snprintf(key, sizeof(key), "counter:%s", name);
    if (ends_with(key, "_total"))
        key[strlen(key) - 6] = '\0';
    if ((by = json_object_get(taken, key)) != NULL)
        return by;
    json_object_set(taken, key, fam);
    return NULL;
}

/* The index N of "$.families[N]" in a loader's message; SIZE_MAX when it names none. */
static size_t failing_family(const char *err)
{
    const char *at = strstr(err, "$.families[");

    return at != NULL ? strtoul(at + 11, NULL, 10) : SIZE_MAX;
}

/*
 * Hold the proposal to what the loader takes: the fragment is loaded (cfgload_text()), and
 * a family it refuses is withdrawn with the loader's message as its reason, until it
 * loads. A message that names no family withdraws every proposal.
 */
static void loadable(json_t *all)
{
    for (size_t tries = 0; tries <= LEARNPROP_MAX_FAMILIES; tries++) {
        json_t *frag = learnprop_fragment(all), *one;
        char *text = json_dumps(frag, JSON_COMPACT), err[512];
        struct config tmp;
        size_t bad, i, k = 0;
        int rc = cfgload_text(&tmp, text, strlen(text), "fragment", err, sizeof(err));

        cfgload_release(&tmp);
        free(text);
        json_decref(frag);
        if (rc == 0)
            return;
        bad = failing_family(err);
        json_array_foreach(all, i, one)
        {
            if (!json_is_object(json_object_get(one, "config")))
                continue;
            if (bad == SIZE_MAX || k++ == bad) {
                char why[600];

                snprintf(why, sizeof(why), "not proposed: the configuration refuses it: %s", err);
                json_array_append_new(json_object_get(one, "reasons"), json_string(why));
                json_object_set_new(one, "action", json_string("none"));
                json_object_set_new(one, "config", json_null());
            }
        }
    }
}

json_t *learnprop_all(const struct learnsum *s, const struct config *c)
{
    const struct learnsum_entry *top[LEARNPROP_MAX_FAMILIES];
    size_t n = learnsum_top(s, top, LEARNPROP_MAX_FAMILIES);
    json_t *all = json_array(), *taken = json_object(), *by;

    for (size_t i = 0; i < n; i++) {
        json_t *one = learnprop_family(top[i], c);
        json_t *fam = json_object_get(one, "config");

        if (strcmp(json_string_value(json_object_get(one, "action")), "add") == 0 &&
            (by = taken_by(taken, fam)) != NULL) {
            merge_labels(by, fam);
            json_array_append_new(json_object_get(one, "reasons"),
                                  json_string("merged into the proposal of an earlier family, "
                                              "which takes these lines (the same name, or a "
                                              "counter's with or without _total)"));
            json_object_set_new(one, "action", json_string("none"));
            json_object_set_new(one, "config", json_null());
        }
        json_array_append_new(all, one);
    }
    json_decref(taken);
    loadable(all);
    return all;
}

json_t *learnprop_fragment(const json_t *proposals)
{
    json_t *families = json_array(), *out = json_object(), *one;
    size_t i;

    json_array_foreach(proposals, i, one)
    {
        json_t *fam = json_object_get(one, "config");

        if (json_is_object(fam))
            json_array_append(families, fam);
    }
    json_object_set_new(out, "families", families);
    return out;
}
