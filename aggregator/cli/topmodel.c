#include "cli/topmodel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"

int top_reading_parse(struct top_reading *r, const char *text, size_t len, uint64_t at_ms,
                      char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);

    r->doc = NULL;
    r->at_ms = at_ms;
    if (doc == NULL) {
        snprintf(err, errlen, "the debug view is not JSON: %s (line %d)", jerr.text, jerr.line);
        return ERRCODE_FORMAT;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "the debug view is not a JSON object");
        json_decref(doc);
        return ERRCODE_FORMAT;
    }
    if (json_is_string(json_object_get(doc, "error"))) {
        snprintf(err, errlen, "the debug view refused: %s",
                 json_string_value(json_object_get(doc, "error")));
        json_decref(doc);
        return ERRCODE_FORMAT;
    }
    r->doc = doc;
    return 0;
}

void top_reading_release(struct top_reading *r)
{
    json_decref(r->doc);
    r->doc = NULL;
}

/* ---- reading a document: a missing member reads as 0, "" or NULL ---- */

/* The member at a dotted path ("daemon.series.total"), or NULL. */
static const json_t *at(const json_t *j, const char *path)
{
    char key[64];

    while (j != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");

        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        j = json_object_get(j, key);
        path += n + (path[n] == '.');
    }
    return j;
}

static uint64_t u64_at(const json_t *j, const char *path)
{
    const json_t *v = at(j, path);

    if (json_is_integer(v) && json_integer_value(v) > 0)
        return (uint64_t)json_integer_value(v);
    if (json_is_real(v) && json_real_value(v) > 0)
        return (uint64_t)json_real_value(v);
    return 0;
}

static double num_at(const json_t *j, const char *path, double missing)
{
    const json_t *v = at(j, path);

    return json_is_number(v) ? json_number_value(v) : missing;
}

static const char *str_at(const json_t *j, const char *path)
{
    const char *s = json_string_value(at(j, path));

    return s != NULL ? s : "";
}

/* The counter's rate between two readings: unknown without a previous one, when no time
 * passed, or when it went down (a restart, a reset). */
static struct top_rate rate_of(uint64_t before, uint64_t after, double seconds, int have_before)
{
    struct top_rate r = { 0, 0 };

    if (!have_before || !(seconds > 0) || after < before)
        return r;
    r.known = 1;
    r.per_s = (double)(after - before) / seconds;
    return r;
}

/* The array member of prev's document named like cur's, for a family or job by name. */
static const json_t *find_named(const json_t *arr, const char *key, const char *name)
{
    size_t i;
    const json_t *e;

    json_array_foreach(arr, i, e)
    {
        if (strcmp(str_at(e, key), name) == 0)
            return e;
    }
    return NULL;
}

void top_line_name(const char *line, char *out, size_t outlen)
{
    size_t n = strcspn(line, ":|"), i;

    if (outlen == 0)
        return;
    if (n >= outlen)
        n = outlen - 1;
    for (i = 0; i < n; i++)
        out[i] = line[i] == '.' || line[i] == '-' ? '_' : line[i];
    out[n] = '\0';
}

/* Whether a line's name names the family: as declared, or a counter with "_total". */
static int names_family(const char *name, const char *family)
{
    size_t n = strlen(family);

    return strncmp(name, family, n) == 0 && (name[n] == '\0' || strcmp(name + n, "_total") == 0);
}

/* ---- the sections ---- */

static void compute_ingest(struct top_view *v, const json_t *prev, const json_t *cur, double secs)
{
    int have = prev != NULL;

    v->datagrams = u64_at(cur, "ingest.datagrams");
    v->accepted = u64_at(cur, "ingest.lines_accepted");
    v->rejected = u64_at(cur, "ingest.lines_rejected");
    v->datagram_rate = rate_of(u64_at(prev, "ingest.datagrams"), v->datagrams, secs, have);
    v->accepted_rate = rate_of(u64_at(prev, "ingest.lines_accepted"), v->accepted, secs, have);
    v->rejected_rate = rate_of(u64_at(prev, "ingest.lines_rejected"), v->rejected, secs, have);
}

/*
 * The loop's turns over the interval (or all time): their mean busy time, and the bound of
 * the bucket in which the 99th percentile falls.
 */
static void compute_loop(struct top_view *v, const json_t *prev, const json_t *cur, double secs)
{
    const json_t *nb = at(cur, "daemon.event_loop.buckets");
    const json_t *ob = at(prev, "daemon.event_loop.buckets");
    uint64_t turns = u64_at(cur, "daemon.event_loop.iterations");
    uint64_t before = u64_at(prev, "daemon.event_loop.iterations");
    double busy = num_at(cur, "daemon.event_loop.busy_seconds", 0);
    size_t i;

    v->loop_turns = turns;
    v->loop_rate = rate_of(before, turns, secs, prev != NULL);
    v->loop_mean_ms = -1;
    v->loop_p99_ms = -1;
    if (prev != NULL && turns >= before) {
        turns -= before;
        busy -= num_at(prev, "daemon.event_loop.busy_seconds", 0);
    } else {
        ob = NULL;
    }
    if (turns == 0)
        return;
    v->loop_mean_ms = busy * 1000.0 / (double)turns;
    for (i = 0; i < json_array_size(nb); i++) {
        const json_t *b = json_array_get(nb, i);
        uint64_t c = u64_at(b, "count");

        if (ob != NULL)
            c -= u64_at(json_array_get(ob, i), "count");
        if ((double)c >= 0.99 * (double)turns) {
            const json_t *le = json_object_get(b, "le");
            v->loop_p99_ms = json_is_number(le) ? json_number_value(le) * 1000.0 : INFINITY;
            return;
        }
    }
}

static void compute_state(struct top_view *v, const json_t *cur)
{
    const json_t *st = at(cur, "daemon.state");
    double last = num_at(st, "snapshots.last_success_time", -1);
    double now = num_at(cur, "daemon.start_time", 0) + num_at(cur, "daemon.uptime_seconds", 0);

    v->snapshots_on = json_is_object(st);
    v->snapshots_ok = u64_at(st, "snapshots.succeeded");
    v->snapshots_failed = u64_at(st, "snapshots.failed");
    v->snapshot_error = json_string_value(at(st, "snapshots.last_error"));
    v->snapshot_age_seconds = last > 0 ? fmax(0, now - last) : -1;
    v->snapshot_seconds = num_at(st, "snapshots.last_seconds", 0);
}

static void add_cap(struct top_view *v, enum top_cap_kind kind, const char *family,
                    const char *label, uint64_t used, uint64_t cap)
{
    struct top_cap *c = &v->caps[v->ncaps++];

    c->kind = kind;
    c->family = family;
    c->label = label;
    c->used = used;
    c->cap = cap;
    c->percent = cap > 0 ? 100.0 * (double)used / (double)cap : 0;
}

static void compute_families(struct top_view *v, const json_t *prev, const json_t *cur, double secs)
{
    const json_t *fams = json_object_get(cur, "families");
    const json_t *rejects = json_object_get(cur, "rejects");
    const json_t *f, *l;
    size_t i, k, ncaps = 1;

    json_array_foreach(fams, i, f) ncaps += 1 + json_array_size(json_object_get(f, "labels"));
    v->nfamilies = json_array_size(fams);
    v->families = mem_calloc(v->nfamilies + 1, sizeof(*v->families));
    v->caps = mem_calloc(ncaps, sizeof(*v->caps));
    add_cap(v, TOP_CAP_GLOBAL, NULL, NULL, v->series, v->series_limit);
    json_array_foreach(fams, i, f)
    {
        struct top_family *tf = &v->families[i];
        const json_t *old =
            find_named(json_object_get(prev, "families"), "name", str_at(f, "name"));
        const json_t *r;

        tf->name = str_at(f, "name");
        tf->type = str_at(f, "type");
        tf->series = u64_at(f, "series");
        tf->series_cap = u64_at(f, "series_cap");
        tf->lines = u64_at(f, "lines");
        tf->rate = rate_of(u64_at(old, "lines"), tf->lines, secs, old != NULL);
        json_array_foreach(rejects, k, r)
        {
            char name[256];

            top_line_name(str_at(r, "line"), name, sizeof(name));
            tf->rejects += names_family(name, tf->name);
        }
        add_cap(v, TOP_CAP_FAMILY, tf->name, NULL, tf->series, tf->series_cap);
        json_array_foreach(json_object_get(f, "labels"), k, l)
        {
            add_cap(v, TOP_CAP_LABEL, tf->name, str_at(l, "name"), u64_at(l, "distinct_values"),
                    u64_at(l, "cap"));
        }
    }
}

static int cap_cmp(const void *a, const void *b)
{
    const struct top_cap *x = a, *y = b;

    if (x->percent != y->percent)
        return x->percent > y->percent ? -1 : 1;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    if (x->family != NULL && y->family != NULL && strcmp(x->family, y->family) != 0)
        return strcmp(x->family, y->family);
    return x->label != NULL && y->label != NULL ? strcmp(x->label, y->label) : 0;
}

/* Who sent a rejected line, for the senders column. */
static void sender_of(const json_t *r, char *out, size_t outlen)
{
    if (json_is_string(json_object_get(r, "source")))
        snprintf(out, outlen, "%s", str_at(r, "source"));
    else if (json_is_integer(json_object_get(r, "pid")))
        snprintf(out, outlen, "pid %lld uid %lld",
                 (long long)json_integer_value(json_object_get(r, "pid")),
                 (long long)json_integer_value(json_object_get(r, "uid")));
    else
        snprintf(out, outlen, "?");
}

/* The recent rejects, newest first, each dated against the newest. */
static void compute_rejects(struct top_view *v, const json_t *cur)
{
    const json_t *rejects = json_object_get(cur, "rejects"), *r;
    double newest = num_at(json_array_get(rejects, 0), "time", 0);
    size_t i;

    v->nrejects = json_array_size(rejects);
    v->rejects = mem_calloc(v->nrejects + 1, sizeof(*v->rejects));
    json_array_foreach(rejects, i, r)
    {
        struct top_reject *tr = &v->rejects[i];

        tr->age_seconds = newest - num_at(r, "time", newest);
        tr->reason = str_at(r, "reason");
        tr->line = str_at(r, "line");
        sender_of(r, tr->sender, sizeof(tr->sender));
    }
}

static void reason_examples(struct top_reason *tr, const struct top_view *v)
{
    size_t i, k;

    for (i = 0; i < v->nrejects; i++) {
        const struct top_reject *r = &v->rejects[i];

        if (strcmp(r->reason, tr->reason) != 0)
            continue;
        if (tr->example == NULL)
            tr->example = r->line;
        for (k = 0; k < tr->nsenders && strcmp(tr->senders[k], r->sender) != 0; k++)
            ;
        if (k == tr->nsenders && tr->nsenders < TOP_MAX_SENDERS) {
            snprintf(tr->senders[k], sizeof(tr->senders[k]), "%s", r->sender);
            tr->nsenders++;
        }
    }
}

static int reason_cmp(const void *a, const void *b)
{
    const struct top_reason *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

static void compute_reasons(struct top_view *v, const json_t *prev, const json_t *cur, double secs)
{
    const json_t *by = at(cur, "ingest.rejected_by_reason");
    const json_t *old = at(prev, "ingest.rejected_by_reason");
    const char *key;
    const json_t *n;

    v->reasons = mem_calloc(json_object_size(by) + 1, sizeof(*v->reasons));
    json_object_foreach((json_t *)by, key, n)
    {
        struct top_reason *tr;
        uint64_t c = u64_at(n, "");

        if (c == 0)
            continue;
        tr = &v->reasons[v->nreasons++];
        tr->reason = key;
        tr->count = c;
        tr->rate = rate_of(u64_at(old, key), c, secs, old != NULL);
        reason_examples(tr, v);
    }
    qsort(v->reasons, v->nreasons, sizeof(*v->reasons), reason_cmp);
}

static void compute_jobs(struct top_view *v, const json_t *cur)
{
    const json_t *jobs = json_object_get(cur, "jobs"), *j;
    size_t i;

    v->njobs = json_array_size(jobs);
    v->jobs = mem_calloc(v->njobs + 1, sizeof(*v->jobs));
    json_array_foreach(jobs, i, j)
    {
        struct top_job *tj = &v->jobs[i];

        tj->job = str_at(j, "job");
        tj->state = str_at(j, "state");
        tj->consecutive_failures = u64_at(j, "consecutive_failures");
        tj->failure_threshold = u64_at(j, "failure_threshold");
        tj->errors = u64_at(j, "errors");
        tj->openings = u64_at(j, "circuit_openings");
        tj->state_seconds = num_at(j, "state_seconds", 0);
    }
}

void top_view_compute(struct top_view *v, const struct top_reading *prev,
                      const struct top_reading *cur, enum top_sort sort)
{
    const json_t *p = prev != NULL ? prev->doc : NULL, *c = cur->doc;
    double secs = 0;

    memset(v, 0, sizeof(*v));
    if (p != NULL && cur->at_ms > prev->at_ms)
        secs = (double)(cur->at_ms - prev->at_ms) / 1000.0;
    else
        p = NULL; /* no time between them: one reading */
    v->interval_seconds = secs;
    v->version = str_at(c, "daemon.version");
    v->uptime_seconds = num_at(c, "daemon.uptime_seconds", 0);
    v->series = u64_at(c, "daemon.series.total");
    v->series_limit = u64_at(c, "daemon.series.limit");
    v->memory_bytes = u64_at(c, "daemon.series.memory_bytes");
    compute_ingest(v, p, c, secs);
    compute_loop(v, p, c, secs);
    compute_state(v, c);
    compute_families(v, p, c, secs);
    qsort(v->caps, v->ncaps, sizeof(*v->caps), cap_cmp);
    compute_rejects(v, c);
    compute_reasons(v, p, c, secs);
    compute_jobs(v, c);
    top_view_sort(v, sort);
}

void top_view_release(struct top_view *v)
{
    free(v->families);
    free(v->caps);
    free(v->reasons);
    free(v->rejects);
    free(v->jobs);
    memset(v, 0, sizeof(*v));
}

/* ---- sorting ---- */

static int by_name(const struct top_family *x, const struct top_family *y)
{
    return strcmp(x->name, y->name);
}

static int by_series(const void *a, const void *b)
{
    const struct top_family *x = a, *y = b;

    if (x->series != y->series)
        return x->series > y->series ? -1 : 1;
    return by_name(x, y);
}

/* Fastest first; a known rate before an unknown one, then the lines counted. */
static int by_rate(const void *a, const void *b)
{
    const struct top_family *x = a, *y = b;

    if (x->rate.known != y->rate.known)
        return x->rate.known ? -1 : 1;
    if (x->rate.known && x->rate.per_s != y->rate.per_s)
        return x->rate.per_s > y->rate.per_s ? -1 : 1;
    if (x->lines != y->lines)
        return x->lines > y->lines ? -1 : 1;
    return by_name(x, y);
}

static int by_rejects(const void *a, const void *b)
{
    const struct top_family *x = a, *y = b;

    if (x->rejects != y->rejects)
        return x->rejects > y->rejects ? -1 : 1;
    return by_series(a, b);
}

static int by_name_cmp(const void *a, const void *b)
{
    return by_name(a, b);
}

void top_view_sort(struct top_view *v, enum top_sort sort)
{
    static int (*const cmp[])(const void *, const void *) = {
        [TOP_SORT_SERIES] = by_series,
        [TOP_SORT_RATE] = by_rate,
        [TOP_SORT_NAME] = by_name_cmp,
        [TOP_SORT_REJECTS] = by_rejects,
    };

    v->sort = sort;
    qsort(v->families, v->nfamilies, sizeof(*v->families), cmp[sort]);
}

static const struct {
    int key;
    enum top_sort sort;
    const char *name;
} sort_keys[] = {
    { 's', TOP_SORT_SERIES, "series" },
    { 'r', TOP_SORT_RATE, "rate" },
    { 'n', TOP_SORT_NAME, "name" },
    { 'j', TOP_SORT_REJECTS, "rejects" },
};

int top_sort_of_key(int c, enum top_sort *sort)
{
    for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
        if (sort_keys[i].key == c) {
            *sort = sort_keys[i].sort;
            return 1;
        }
    return 0;
}

const char *top_sort_name(enum top_sort sort)
{
    for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
        if (sort_keys[i].sort == sort)
            return sort_keys[i].name;
    return "?";
}
