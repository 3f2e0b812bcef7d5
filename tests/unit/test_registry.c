#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "buf.h"
#include "config.h"
#include "registry.h"
#include "render.h"
#include "statsd.h"

/*
 * Families: an enumerated and a capped label, a ttl'd gauge, histograms in seconds and
 * in milliseconds, an excluded group, a label-less counter.
 */
static const char base_config[] =
    "{\"limits\": {\"max_series\": 40, \"max_series_per_family\": 10,"
    "              \"max_label_value_length\": 16},"
    " \"groups\": {\"exclude\": [\"ml\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests.\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"status_code\", \"max_values\": 3}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"ttl_seconds\": 60,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 0.5, 1],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
    "  {\"name\": \"ml_infer_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "   \"buckets\": [10, 100], \"group\": \"ml\"},"
    "  {\"name\": \"proc_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "   \"buckets\": [10, 100]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"}"
    " ]}";

enum { F_REQUESTS, F_QUEUE, F_LATENCY, F_ML, F_PROC, F_UPLOADS };

static struct config cfg;
static struct registry reg;

static void load(const char *json)
{
    char err[512];

    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(config_parse(&cfg, json, strlen(json), "test", err, sizeof err), 0, "%s", err);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
}

static void setup(void)
{
    load(base_config);
}

static void teardown(void)
{
    registry_release(&reg);
    config_release(&cfg);
}

static int feed_at(const char *text, uint64_t now)
{
    struct statsd_line l;
    int rc = statsd_parse_line(text, strlen(text), &l);

    cr_assert_eq(rc, STATSD_OK, "parse \"%s\": %s", text, statsd_reason_name(rc));
    return registry_apply(&reg, &l, now);
}

static int feed(const char *text)
{
    return feed_at(text, 1000);
}

/* As the daemon takes a line: the raw fast path first, the full parse on a miss. */
static int ingest_at(const char *text, uint64_t now)
{
    int rc = registry_apply_raw(&reg, text, strlen(text), now);

    return rc == REGISTRY_MISS ? feed_at(text, now) : rc;
}

/* The sample of family fam whose labels print as "k=v,k=v" (config order), or 0. */
static int find(size_t fam, const char *labels, struct registry_sample *out)
{
    struct registry_cursor c;
    int found = 0;

    registry_cursor_init(&c, &reg);
    while (!found && registry_cursor_next(&c, out)) {
        char tmp[512];
        size_t i, n = 0;

        if (out->family != fam)
            continue;
        tmp[0] = '\0';
        for (i = 0; i < out->nlabels; i++)
            n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%s%s=%.*s", i ? "," : "",
                                  out->labels[i].name, (int)out->labels[i].value_len,
                                  out->labels[i].value);
        found = strcmp(tmp, labels) == 0;
    }
    registry_cursor_release(&c);
    return found;
}

static double value_of(size_t fam, const char *labels)
{
    struct registry_sample s;

    cr_assert(find(fam, labels, &s), "no series %zu{%s}", fam, labels);
    return s.value;
}

static void render_all(struct buf *out, enum expo_format fmt)
{
    struct render rd;

    render_init(&rd, &reg, fmt);
    while (render_step(&rd, out, 1000))
        ;
    render_release(&rd);
}

/* Everything observable: the exposition, counts, label values, memory. */
struct snapshot {
    struct buf text;
    size_t total, mem;
    size_t fam_series[8];
    size_t label_values[8][CONFIG_MAX_LABELS];
};

static void snap(struct snapshot *s)
{
    size_t f, l;

    memset(s, 0, sizeof *s);
    buf_init(&s->text);
    render_all(&s->text, EXPO_OPENMETRICS);
    s->total = registry_series_total(&reg);
    s->mem = registry_memory(&reg);
    for (f = 0; f < registry_nfamilies(&reg); f++) {
        s->fam_series[f] = registry_family_series(&reg, f);
        for (l = 0; l < registry_family_config(&reg, f)->nlabels; l++)
            s->label_values[f][l] = registry_label_values(&reg, f, l);
    }
}

static void assert_same(struct snapshot *a, struct snapshot *b, const char *what)
{
    cr_assert_eq(a->text.len, b->text.len, "%s: exposition changed", what);
    cr_assert_eq(memcmp(a->text.ptr, b->text.ptr, a->text.len), 0, "%s: exposition", what);
    cr_assert_eq(a->total, b->total, "%s: total series", what);
    cr_assert_eq(a->mem, b->mem, "%s: memory %zu -> %zu", what, a->mem, b->mem);
    cr_assert_eq(memcmp(a->fam_series, b->fam_series, sizeof a->fam_series), 0, "%s", what);
    cr_assert_eq(memcmp(a->label_values, b->label_values, sizeof a->label_values), 0,
                 "%s: label values", what);
    buf_release(&a->text);
    buf_release(&b->text);
}

struct reject_case {
    char line[96];
    char reason[32];
};

static struct reject_case reject_cases[] = {
    { "nope:1|c", "unknown_family" },
    { "requests_totals:1|c", "unknown_family" },
    { "queue_depth_total:1|g", "unknown_family" },
    { "ml.infer-ms:5|ms", "group_excluded" },
    { "requests:1|g", "type_mismatch" },
    { "queue_depth:1|ms", "type_mismatch" },
    { "latency_seconds:1|c", "type_mismatch" },
    { "uploads:1|h", "type_mismatch" },
    { "requests:1|c|#color:red", "label_not_allowed" },
    { "requests:1|c|#canary", "label_not_allowed" },
    { "requests:1|c|#status_code:12345678901234567", "label_value_too_long" },
    { "requests:1|c|#method:PUT", "label_value_not_allowed" },
    { "requests:1|c|#method:get", "label_value_not_allowed" },
    { "requests:1|c|#status_code:503", "label_values_cap" },
    { "requests:1|c|#method:POST,status_code:999", "label_values_cap" },
    { "requests:-1|c", "negative_counter" },
    { "requests:-1|c|#status_code:new", "label_values_cap" },
    { "requests:-1|c|#method:POST,status_code:202", "negative_counter" },
    { "requests_total:-0.5|c|#method:GET", "negative_counter" },
    { "queue_depth:1|g|#queue:q5", "label_values_cap" },
    { "requests:1|c|#method:POST,status_code:202", "series_cap" },
    { "requests:1e308|c|#method:GET,status_code:200", "non_finite_value" },
    { "requests:1e300|c|@0.0000000001", "non_finite_value" },
    { "latency_seconds:1e308:1e308|h|#route:fresh", "non_finite_value" },
    { "queue_depth:+1e308|g|#queue:q1", "non_finite_value" },
};

ParameterizedTestParameters(registry, rejected_line_changes_nothing)
{
    return cr_make_param_array(struct reject_case, reject_cases,
                               sizeof reject_cases / sizeof reject_cases[0]);
}

/*
 * Each reject case runs against a registry filled up to its caps: status_code holds its
 * 3 values, queue its 4, requests its 10 series. route has room, so the non-finite
 * histogram case shows that a value new to a line rejected later is not interned.
 */
ParameterizedTest(struct reject_case *tc, registry, rejected_line_changes_nothing, .init = setup,
                  .fini = teardown)
{
    static const char *const fill[] = {
        "requests:1|c|#method:GET,status_code:200",
        "requests:1e308|c|#method:GET,status_code:200",
        "requests:1|c|#method:GET,status_code:201",
        "requests:1|c|#method:GET,status_code:202",
        "requests:1|c|#method:POST,status_code:200",
        "requests:1|c|#method:POST,status_code:201",
        "requests:1|c|#method:GET",
        "requests:1|c|#status_code:200",
        "requests:1|c",
        "requests:1|c|#method:POST",
        "requests:1|c|#status_code:201",
        "queue_depth:1e308|g|#queue:q1",
        "queue_depth:1|g|#queue:q2",
        "queue_depth:1|g|#queue:q3",
        "queue_depth:1|g|#queue:q4",
        "latency_seconds:1|h|#route:r1",
    };
    struct snapshot before, after;
    size_t i;

    for (i = 0; i < sizeof fill / sizeof fill[0]; i++)
        cr_assert_eq(feed(fill[i]), STATSD_OK, "fill %s", fill[i]);
    cr_assert_eq(registry_family_series(&reg, F_REQUESTS), 10);
    snap(&before);
    cr_assert_eq(feed(tc->line), statsd_reason_by_name(tc->reason), "%s: got %s", tc->line,
                 statsd_reason_name(feed(tc->line)));
    snap(&after);
    assert_same(&before, &after, tc->line);
    /* Liveness: a valid line still goes through. */
    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
}

Test(registry, job_lines_are_a_type_mismatch, .init = setup, .fini = teardown)
{
    struct statsd_line l;

    memset(&l, 0, sizeof l);
    l.name.ptr = "requests";
    l.name.len = 8;
    l.type = STATSD_JOB;
    l.nvalues = 1;
    l.values[0] = 1;
    l.rate = 1;
    cr_assert_eq(registry_apply(&reg, &l, 1), STATSD_TYPE_MISMATCH);
}

/* The parser rejects such lines already; the registry does not rely on it. */
Test(registry, keys_equal_once_normalised_are_duplicates, .init = setup, .fini = teardown)
{
    struct statsd_line l;

    memset(&l, 0, sizeof l);
    l.name.ptr = "requests";
    l.name.len = 8;
    l.type = STATSD_COUNTER;
    l.nvalues = 1;
    l.values[0] = 1;
    l.rate = 1;
    l.ntags = 2;
    l.tags[0].key.ptr = "status_code";
    l.tags[0].key.len = 11;
    l.tags[0].value.ptr = "200";
    l.tags[0].value.len = 3;
    l.tags[1].key.ptr = "status.code";
    l.tags[1].key.len = 11;
    l.tags[1].value.ptr = "201";
    l.tags[1].value.len = 3;
    cr_assert_eq(registry_apply(&reg, &l, 1), STATSD_DUPLICATE_TAG);
    cr_assert_eq(registry_label_values(&reg, F_REQUESTS, 1), 0);
    cr_assert_eq(registry_family_series(&reg, F_REQUESTS), 0);
}

Test(registry, counters_add_value_over_rate, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed("requests:1|c|@0.1|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests_total:2.5|c|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:3|c|@0.5|#method:GET"), STATSD_OK);
    cr_assert_float_eq(value_of(F_REQUESTS, "method=GET"), 1 / 0.1 + 2.5 + 6, 1e-9);
    cr_assert_eq(feed("uploads:0|c"), STATSD_OK);
    cr_assert_eq(value_of(F_UPLOADS, ""), 0);
}

Test(registry, gauges_set_or_add_when_relative, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed("queue_depth:5|g|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 5);
    cr_assert_eq(feed("queue_depth:+3|g|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 8);
    cr_assert_eq(feed("queue_depth:-10|g|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), -2);
    cr_assert_eq(feed("queue_depth:4|g|@0.5|#queue:a"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 4);
    /* A relative first update starts from zero. */
    cr_assert_eq(feed("queue_depth:-1|g|#queue:b"), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=b"), -1);
}

static void assert_hist(size_t fam, const char *labels, const uint64_t *want, size_t n, double sum)
{
    struct registry_sample s;
    uint64_t total = 0;
    size_t i;

    cr_assert(find(fam, labels, &s), "no series %zu{%s}", fam, labels);
    cr_assert_not_null(s.buckets);
    for (i = 0; i < n; i++) {
        cr_assert_eq(s.buckets[i], want[i], "bucket %zu: %llu, want %llu", i,
                     (unsigned long long)s.buckets[i], (unsigned long long)want[i]);
        total += want[i];
    }
    cr_assert_eq(s.count, total);
    cr_assert_float_eq(s.value, sum, 1e-9, "sum %g, want %g", s.value, sum);
}

Test(registry, histogram_buckets_include_their_bound, .init = setup, .fini = teardown)
{
    /* Bounds 0.1, 0.5, 1: ms lines become seconds, h and d lines are seconds already. */
    cr_assert_eq(feed("latency_seconds:100|ms|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:0.5|h|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:1|d|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:1.0000001|h|#route:a"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:-3|h|#route:a"), STATSD_OK);
    {
        const uint64_t want[] = { 2, 1, 1, 1 };

        assert_hist(F_LATENCY, "route=a", want, 4, 0.1 + 0.5 + 1 + 1.0000001 - 3);
    }
}

Test(registry, histogram_packed_values_are_observations, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed("latency_seconds:0.05:0.7:1:250|h|#route:p"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:50:700|ms|#route:p"), STATSD_OK);
    {
        const uint64_t want[] = { 2, 0, 3, 1 };

        assert_hist(F_LATENCY, "route=p", want, 4, 0.05 + 0.7 + 1 + 250 + 0.05 + 0.7);
    }
}

Test(registry, histogram_in_ms_keeps_ms_lines, .init = setup, .fini = teardown)
{
    /* Bounds 10, 100 (ms): ms, h and d lines are all taken as milliseconds. */
    cr_assert_eq(feed("proc_ms:10|ms"), STATSD_OK);
    cr_assert_eq(feed("proc_ms:50|ms"), STATSD_OK);
    cr_assert_eq(feed("proc_ms:100|h"), STATSD_OK);
    cr_assert_eq(feed("proc.ms:5000|d"), STATSD_OK);
    {
        const uint64_t want[] = { 1, 2, 1 };

        assert_hist(F_PROC, "", want, 3, 10 + 50 + 100 + 5000);
    }
}

Test(registry, weighted_counts_stay_integer_and_unbiased, .init = setup, .fini = teardown)
{
    const int n = 10000;
    struct registry_sample s;
    int i;

    for (i = 0; i < n; i++) {
        cr_assert_eq(feed("latency_seconds:0.2|h|@0.3|#route:w"), STATSD_OK);
        if (i % 997 == 0) {
            cr_assert(find(F_LATENCY, "route=w", &s));
            cr_assert_leq(fabs((double)s.count - (i + 1) / 0.3), 1.0, "after %d: %llu", i + 1,
                          (unsigned long long)s.count);
        }
    }
    cr_assert(find(F_LATENCY, "route=w", &s));
    cr_assert_leq(fabs((double)s.count - n / 0.3), 1.0, "count %llu", (unsigned long long)s.count);
    cr_assert_eq(s.buckets[1], s.count);
    /* _sum adds the exact weighted value. */
    cr_assert_float_eq(s.value, 0.2 * n / 0.3, 1e-6);
    /* Packed values are weighted each. */
    cr_assert_eq(feed("latency_seconds:0.05:0.05:0.05|ms|@0.5|#route:x"), STATSD_OK);
    {
        const uint64_t want[] = { 6, 0, 0, 0 };

        assert_hist(F_LATENCY, "route=x", want, 4, 0.00005 * 6);
    }
}

/*
 * Values that alternate between buckets: each bucket's count must follow its own
 * weighted count. With one carry per series, the fraction each observation leaves would
 * be counted by whichever bucket came next, and the buckets would drift apart.
 */
Test(registry, weighted_counts_are_unbiased_per_bucket, .init = setup, .fini = teardown)
{
    struct registry_sample s;
    int i;

    for (i = 0; i < 1000; i++) {
        cr_assert_eq(feed("latency_seconds:0.001|h|@0.4|#route:alt"), STATSD_OK);
        cr_assert_eq(feed("latency_seconds:7|h|@0.4|#route:alt"), STATSD_OK);
    }
    cr_assert_eq(feed("latency_seconds:0.2:0.001:0.2|h|@0.4|#route:alt"), STATSD_OK);
    cr_assert(find(F_LATENCY, "route=alt", &s));
    /* Buckets 0.1, 0.5, 1, +Inf (per bucket, not cumulative). */
    cr_assert_leq(fabs((double)s.buckets[0] - 1001 / 0.4), 1.0, "%llu",
                  (unsigned long long)s.buckets[0]);
    cr_assert_leq(fabs((double)s.buckets[1] - 2 / 0.4), 1.0, "%llu",
                  (unsigned long long)s.buckets[1]);
    cr_assert_eq(s.buckets[2], 0);
    cr_assert_leq(fabs((double)s.buckets[3] - 1000 / 0.4), 1.0, "%llu",
                  (unsigned long long)s.buckets[3]);
    cr_assert_eq(s.count, s.buckets[0] + s.buckets[1] + s.buckets[3]);
    cr_assert_float_eq(s.value, (1001 * 0.001 + 1000 * 7 + 2 * 0.2) / 0.4, 1e-6);
}

Test(registry, labels_in_any_order_make_one_series, .init = setup, .fini = teardown)
{
    struct registry_sample s;

    cr_assert_eq(feed("requests:1|c|#status_code:200,method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#status-code:200,method:GET"), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, F_REQUESTS), 1);
    cr_assert(find(F_REQUESTS, "method=GET,status_code=200", &s));
    cr_assert_eq(s.value, 3);
    cr_assert_eq(s.last_update_ms, 1000);
    /* Absent labels (no tag or a bare tag) are a different series, omitted when printed. */
    cr_assert_eq(feed("requests:1|c|#status_code,method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, F_REQUESTS), 2);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET"), 2);
}

Test(registry, label_less_counters_and_histograms_exist_from_start, .init = setup, .fini = teardown)
{
    struct registry_sample s;

    /* uploads (counter) and proc_ms (histogram); not the excluded ml_infer_ms. */
    cr_assert_eq(registry_series_total(&reg), 2);
    cr_assert(find(F_UPLOADS, "", &s));
    cr_assert_eq(s.value, 0);
    cr_assert_eq(s.last_update_ms, 0);
    cr_assert(find(F_PROC, "", &s));
    cr_assert_eq(s.count, 0);
    cr_assert_not(find(F_ML, "", &s));
    /* They never expire. */
    cr_assert_eq(registry_expire(&reg, UINT64_MAX / 2, 1000), 0);
    cr_assert_eq(registry_series_total(&reg), 2);
}

Test(registry, family_and_total_caps, .fini = teardown)
{
    char line[128];
    int i;

    load("{\"limits\": {\"max_series\": 12, \"max_series_per_family\": 5},"
         " \"families\": ["
         "  {\"name\": \"a\", \"type\": \"gauge\", \"labels\": [{\"name\": \"k\"}]},"
         "  {\"name\": \"b\", \"type\": \"gauge\", \"labels\": [{\"name\": \"k\"}]},"
         "  {\"name\": \"c\", \"type\": \"gauge\", \"labels\": [{\"name\": \"k\"}]}]}");
    cr_assert_eq(registry_series_cap(&reg), 12);
    cr_assert_eq(registry_family_cap(&reg, 0), 5);
    for (i = 0; i < 7; i++) {
        snprintf(line, sizeof line, "a:1|g|#k:v%d", i);
        cr_assert_eq(feed(line), i < 5 ? STATSD_OK : STATSD_SERIES_CAP, "%s", line);
        snprintf(line, sizeof line, "b:1|g|#k:v%d", i);
        cr_assert_eq(feed(line), i < 5 ? STATSD_OK : STATSD_SERIES_CAP, "%s", line);
    }
    cr_assert_eq(feed("c:1|g|#k:x"), STATSD_OK);
    cr_assert_eq(feed("c:1|g|#k:y"), STATSD_OK);
    cr_assert_eq(feed("c:1|g|#k:z"), STATSD_SERIES_CAP);
    cr_assert_eq(registry_series_total(&reg), 12);
    cr_assert_eq(registry_family_series(&reg, 0), 5);
    /* Existing series still update at the cap. */
    cr_assert_eq(feed("c:7|g|#k:y"), STATSD_OK);
    cr_assert_eq(value_of(2, "k=y"), 7);
    /* The rejected value was not interned. */
    cr_assert_eq(registry_label_values(&reg, 2, 0), 2);
}

Test(registry, label_values_are_counted_and_listed, .init = setup, .fini = teardown)
{
    const char *v;
    size_t it = 0, len, n = 0;

    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:POST,status_code:200"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#status_code:404"), STATSD_OK);
    cr_assert_eq(registry_label_values(&reg, F_REQUESTS, 0), 2);
    cr_assert_eq(registry_label_values(&reg, F_REQUESTS, 1), 2);
    while (registry_label_value_next(&reg, F_REQUESTS, 1, &it, &v, &len)) {
        cr_assert(len == 3 && (memcmp(v, "200", 3) == 0 || memcmp(v, "404", 3) == 0));
        n++;
    }
    cr_assert_eq(n, 2);
}

Test(registry, ttl_expires_idle_series_and_frees_their_values, .init = setup, .fini = teardown)
{
    char line[64];
    size_t mem0 = registry_memory(&reg), freed = 0;
    int i, calls = 0;

    for (i = 0; i < 4; i++) {
        snprintf(line, sizeof line, "queue_depth:%d|g|#queue:q%d", i, i);
        cr_assert_eq(feed_at(line, 1000), STATSD_OK);
    }
    cr_assert_eq(feed_at("queue_depth:1|g|#queue:q9", 1000), STATSD_LABEL_VALUES_CAP);
    /* q0 is kept alive by an update; a ttl of 60 s expires idle > 60000 ms. */
    cr_assert_eq(feed_at("queue_depth:9|g|#queue:q0", 30000), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 61000, 1000), 0);
    /* Bounded work: one series looked at per call, so several calls are needed. */
    while (registry_expire(&reg, 61001, 1) == 0 && calls < 100)
        calls++;
    freed = 1;
    for (i = 0; i < 100; i++)
        freed += registry_expire(&reg, 61001, 1);
    cr_assert_gt(calls, 0);
    cr_assert_eq(freed, 3);
    cr_assert_eq(registry_family_series(&reg, F_QUEUE), 1);
    cr_assert_eq(registry_label_values(&reg, F_QUEUE, 0), 1);
    cr_assert_eq(value_of(F_QUEUE, "queue=q0"), 9);
    /* The cap counts values in use: three new ones fit again. */
    cr_assert_eq(feed_at("queue_depth:1|g|#queue:n1", 62000), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:1|g|#queue:n2", 62000), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:1|g|#queue:n3", 62000), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:1|g|#queue:n4", 62000), STATSD_LABEL_VALUES_CAP);
    /* A fresh series after expiry starts over. */
    cr_assert_eq(registry_expire(&reg, 200000, 1000), 4);
    cr_assert_eq(registry_series_total(&reg), 2);
    cr_assert_eq(feed_at("queue_depth:+2|g|#queue:q1", 200000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=q1"), 2);
    cr_assert_eq(registry_expire(&reg, 300000, 1000), 1);
    /*
     * Everything freed but the tables, which never shrink: the series and intern tables
     * and the front cache (its first 64 slots of about 136 bytes).
     */
    cr_assert_leq(registry_memory(&reg), mem0 + 4096 + 64 * 136, "%zu vs %zu",
                  registry_memory(&reg), mem0);
}

Test(registry, cardinality_attack_is_bounded, .fini = teardown)
{
    size_t reasons[STATSD_REASON_MAX] = { 0 };
    char line[96];
    size_t mem_mid = 0;
    int i;

    load("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 500},"
         " \"families\": ["
         "  {\"name\": \"hits\", \"type\": \"counter\","
         "   \"labels\": [{\"name\": \"user\", \"max_values\": 1000},"
         "              {\"name\": \"image\", \"max_values\": 100}]}]}");
    for (i = 0; i < 100000; i++) {
        snprintf(line, sizeof line, "hits:1|c|#user:u%d", i);
        reasons[feed(line)]++;
        if (i == 1000)
            mem_mid = registry_memory(&reg);
    }
    for (i = 0; i < 100000; i++) {
        snprintf(line, sizeof line, "hits:1|c|#user:u1,image:sha256-%08d", i);
        reasons[feed(line)]++;
    }
    cr_assert_eq(reasons[STATSD_OK], 500);
    cr_assert_eq(reasons[STATSD_SERIES_CAP], 100000 - 500 + 100000);
    cr_assert_eq(registry_family_series(&reg, 0), 500);
    cr_assert_eq(registry_label_values(&reg, 0, 0), 500);
    cr_assert_eq(registry_label_values(&reg, 0, 1), 0);
    cr_assert_eq(registry_memory(&reg), mem_mid);
    cr_assert_lt(registry_memory(&reg), 200 * 1024, "%zu bytes", registry_memory(&reg));

    /* With the family cap out of the way, the per-key cap holds. */
    registry_release(&reg);
    config_release(&cfg);
    load("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
         " \"families\": ["
         "  {\"name\": \"hits\", \"type\": \"counter\","
         "   \"labels\": [{\"name\": \"user\", \"max_values\": 1000}]}]}");
    memset(reasons, 0, sizeof reasons);
    for (i = 0; i < 100000; i++) {
        snprintf(line, sizeof line, "hits:1|c|#user:u%d", i);
        reasons[feed(line)]++;
        if (i == 1000)
            mem_mid = registry_memory(&reg);
    }
    cr_assert_eq(reasons[STATSD_OK], 1000);
    cr_assert_eq(reasons[STATSD_LABEL_VALUES_CAP], 99000);
    cr_assert_eq(registry_label_values(&reg, 0, 0), 1000);
    cr_assert_eq(registry_memory(&reg), mem_mid);
    cr_assert_lt(registry_memory(&reg), 400 * 1024, "%zu bytes", registry_memory(&reg));
    /* Liveness. */
    cr_assert_eq(feed("hits:1|c|#user:u7"), STATSD_OK);
    cr_assert_eq(value_of(0, "user=u7"), 2);
}

Test(registry, many_series_survive_growth_and_removal, .fini = teardown)
{
    char line[64];
    int i;

    /* Exercises table doubling and backward-shift deletion in both tables. */
    load("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
         " \"families\": ["
         "  {\"name\": \"g\", \"type\": \"gauge\", \"ttl_seconds\": 1,"
         "   \"labels\": [{\"name\": \"a\", \"max_values\": 5000},"
         "              {\"name\": \"b\", \"max_values\": 10}]}]}");
    for (i = 0; i < 20000; i++) {
        snprintf(line, sizeof line, "g:%d|g|#a:x%d,b:%d", i, i / 4, i % 4);
        cr_assert_eq(feed_at(line, (uint64_t)(i % 2 ? 5000 : 1)), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), 20000);
    cr_assert_eq(registry_expire(&reg, 2000, 100000), 10000);
    for (i = 1; i < 20000; i += 2) {
        snprintf(line, sizeof line, "g:+1|g|#a:x%d,b:%d", i / 4, i % 4);
        cr_assert_eq(feed_at(line, 5000), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), 10000);
    cr_assert_eq(value_of(0, "a=x4999,b=3"), 19999 + 1);
    cr_assert_eq(registry_label_values(&reg, 0, 0), 5000);
    cr_assert_eq(registry_label_values(&reg, 0, 1), 2);
}

/*
 * The ingest promise: an accepted line for an existing series allocates nothing. The
 * registry's own accounting must not move, and neither may glibc's count of bytes in
 * use (mallinfo2). Under ASan, whose allocator mallinfo2 does not see, only the first
 * check bites; the release build runs both.
 */
Test(registry, accepted_lines_for_existing_series_allocate_nothing, .init = setup, .fini = teardown)
{
    static const char *const lines[] = {
        "requests:1|c|#method:GET,status_code:200",
        "queue_depth:+1|g|#queue:mail",
        "latency_seconds:0.2:0.7|ms|@0.5|#route:/a",
        "proc_ms:12|ms",
    };
    struct statsd_line l[4];
    struct mallinfo2 before, after;
    size_t mem, i;
    int k;

    for (i = 0; i < 4; i++) {
        cr_assert_eq(statsd_parse_line(lines[i], strlen(lines[i]), &l[i]), STATSD_OK);
        cr_assert_eq(registry_apply(&reg, &l[i], 1000), STATSD_OK, "%s", lines[i]);
    }
    mem = registry_memory(&reg);
    before = mallinfo2();
    for (k = 0; k < 100000; k++) {
        for (i = 0; i < 4; i++) {
            cr_assert_eq(statsd_parse_line(lines[i], strlen(lines[i]), &l[i]), STATSD_OK);
            cr_assert_eq(registry_apply(&reg, &l[i], 1000 + (uint64_t)k), STATSD_OK);
        }
    }
    after = mallinfo2();
    cr_assert_eq(registry_memory(&reg), mem);
    cr_assert_eq(after.uordblks, before.uordblks, "heap in use moved from %zu to %zu bytes",
                 before.uordblks, after.uordblks);
    cr_assert_float_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 100001, 1e-9);
}

/*
 * The front cache maps a line's name, type and tags as sent to its series; the checks
 * that depend on the value must still run on a hit, and an expired series must never be
 * reached through a stale entry (the ASan build would see it).
 */
Test(registry, cached_lines_still_check_their_values, .init = setup, .fini = teardown)
{
    cr_assert_eq(ingest_at("requests:1|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("requests:2|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("requests:-1|c|#method:GET,status_code:200", 1000),
                 STATSD_NEGATIVE_COUNTER);
    cr_assert_eq(ingest_at("requests:1e308|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("requests:1e308|c|#method:GET,status_code:200", 1000),
                 STATSD_NON_FINITE);
    cr_assert_float_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 3 + 1e308, 1e292);
    /* The same series through the other tag order, cached apart, is still one series. */
    cr_assert_eq(ingest_at("queue_depth:5|g|#queue:a", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("queue_depth:+1|g|#queue:a", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 6);
    cr_assert_eq(ingest_at("latency_seconds:0.2|h|#route:/x", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("latency_seconds:0.2|ms|#route:/x", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("latency_seconds:1|g|#route:/x", 1000), STATSD_TYPE_MISMATCH);
}

Test(registry, cached_entries_of_expired_series_miss, .init = setup, .fini = teardown)
{
    cr_assert_eq(ingest_at("queue_depth:5|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("queue_depth:+1|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 1000000, 1000), 1);
    cr_assert_eq(registry_family_series(&reg, F_QUEUE), 0);
    /* A relative update after expiry starts from zero on a fresh series. */
    cr_assert_eq(ingest_at("queue_depth:+1|g|#queue:gone", 1000001), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, F_QUEUE), 1);
    cr_assert_eq(value_of(F_QUEUE, "queue=gone"), 1);
}

/*
 * registry_apply_raw: a line whose name and suffix a fully parsed, accepted line had is
 * applied from its values alone; everything else is a miss, for the full path to judge.
 */
static int raw(const char *text, uint64_t now)
{
    return registry_apply_raw(&reg, text, strlen(text), now);
}

Test(registry, raw_lines_hit_only_identities_the_full_path_accepted, .init = setup,
     .fini = teardown)
{
    cr_assert_eq(raw("requests:5|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(raw("requests:5|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 6);
    /* The value checks run; a bad value is the full parser's to name. */
    cr_assert_eq(raw("requests:-1|c|#method:GET,status_code:200", 1000), STATSD_NEGATIVE_COUNTER);
    cr_assert_eq(raw("requests:abc|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:1:2|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:nan|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    /* Any other spelling is another identity. */
    cr_assert_eq(raw("requests:1|c|#status_code:200,method:GET", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:1|c|@0.5|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:1|g|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests_total:1|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests", 1000), REGISTRY_MISS);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 6);
}

Test(registry, raw_lines_keep_the_type_and_rate_they_were_cached_with, .init = setup,
     .fini = teardown)
{
    static const uint64_t want[] = { 0, 4, 4, 0 }; /* 0.2 and 0.7 in (0.1,0.5] and (0.5,1] */

    cr_assert_eq(feed("latency_seconds:200:700|ms|@0.5|#route:/a"), STATSD_OK);
    cr_assert_eq(raw("latency_seconds:200:700|ms|@0.5|#route:/a", 1000), STATSD_OK);
    /* ms converted to seconds, each observation weighted 2. */
    assert_hist(F_LATENCY, "route=/a", want, 4, 2 * (0.2 + 0.7) * 2);
    cr_assert_eq(feed("queue_depth:5|g|#queue:q"), STATSD_OK);
    cr_assert_eq(raw("queue_depth:+2|g|#queue:q", 1000), STATSD_OK);
    cr_assert_eq(raw("queue_depth:-1|g|#queue:q", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=q"), 6);
    cr_assert_eq(raw("queue_depth:3|g|#queue:q", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=q"), 3);
}

Test(registry, raw_lines_of_an_expired_series_miss, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed_at("queue_depth:5|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(raw("queue_depth:6|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 1000000, 1000), 1);
    cr_assert_eq(raw("queue_depth:7|g|#queue:gone", 1000001), REGISTRY_MISS);
}

Test(registry, expiring_a_series_leaves_the_others_cached, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed_at("queue_depth:1|g|#queue:old", 1000), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:2|g|#queue:new", 65000), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 70000, 1000), 1);
    cr_assert_eq(raw("queue_depth:1|g|#queue:old", 70000), REGISTRY_MISS);
    cr_assert_eq(raw("queue_depth:3|g|#queue:new", 70000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=new"), 3);
}

/*
 * The front cache grows with the series and holds every identity: once each of 100,000
 * series has been through the daemon's path (the fast path, or the full parse on a miss:
 * the table starts empty when it grows), a line of each hits, whatever the collisions
 * among their hashes.
 */
Test(registry, raw_lines_hit_for_every_series_of_a_large_registry, .fini = teardown)
{
    enum { N = 100000 };
    char line[96];

    load("{\"limits\": {\"max_series\": 200000, \"max_series_per_family\": 200000},"
         " \"families\": [{\"name\": \"jobs.done\", \"type\": \"counter\","
         "  \"labels\": [{\"name\": \"id\", \"max_values\": 200000},"
         "              {\"name\": \"env\", \"values\": [\"prod\"]}]}]}");
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "jobs.done:1|c|#id:%d,env:prod", i);
        cr_assert_eq(feed(line), STATSD_OK, "%s", line);
    }
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "jobs.done:2|c|#id:%d,env:prod", i);
        cr_assert_eq(ingest_at(line, 1000), STATSD_OK, "%s", line);
    }
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "jobs.done:4|c|#id:%d,env:prod", i);
        cr_assert_eq(raw(line, 1000), STATSD_OK, "%s missed", line);
    }
    cr_assert_eq(value_of(0, "id=99999,env=prod"), 7);
}

/*
 * The daemon's loop: a datagram's lines are looked up together, then taken in order,
 * each found line through registry_apply_found() and each miss through the full path.
 */
static void take_datagram(const char *dgram, uint64_t now)
{
    struct statsd_parts lp[REGISTRY_FIND_MAX];
    const struct registry_hit *found[REGISTRY_FIND_MAX];
    struct statsd_scanner scan;
    size_t n;

    statsd_scanner_init(&scan, dgram, strlen(dgram));
    do {
        n = statsd_scanner_fill(&scan, lp, REGISTRY_FIND_MAX);
        registry_find_parts(&reg, lp, n, found);
        for (size_t i = 0; i < n; i++) {
            char text[256];
            int rc = found[i] ? registry_apply_found(&reg, found[i], &lp[i], now) : REGISTRY_MISS;

            if (rc != REGISTRY_MISS)
                continue;
            cr_assert_lt(lp[i].line.len, sizeof text);
            memcpy(text, lp[i].line.ptr, lp[i].line.len);
            text[lp[i].line.len] = '\0';
            feed_at(text, now);
        }
    } while (n == REGISTRY_FIND_MAX);
}

Test(registry, lines_looked_up_together_are_applied_in_their_order, .init = setup, .fini = teardown)
{
    char dgram[4096];
    size_t o = 0;

    /* A gauge created by the first line and set by the others, a miss among hits. */
    take_datagram("queue_depth:1|g|#queue:a\nqueue_depth:2|g|#queue:a\n"
                  "queue_depth:+5|g|#queue:a\nqueue_depth:3|g|#queue:a",
                  1000);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 3);
    /* Another spelling of the same series, between cached lines, keeps its place. */
    take_datagram("requests:1|c|#method:GET,status_code:200\n"
                  "requests:1|c|#status_code:200,method:GET\n"
                  "queue_depth:7|g|#queue:a\nqueue_depth:-2|g|#queue:a",
                  1000);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 5);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 2);
    /* More lines than one lookup takes: the last set wins. */
    for (int i = 0; i < 3 * REGISTRY_FIND_MAX + 5; i++)
        o += (size_t)snprintf(dgram + o, sizeof dgram - o, "%squeue_depth:%d|g|#queue:a",
                              i ? "\n" : "", i);
    take_datagram(dgram, 1000);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 3 * REGISTRY_FIND_MAX + 4);
}

/*
 * Every bound, and the values between them, of a few bucket counts on both sides of 16
 * (where the search changes), odd and even.
 */
Test(registry, histogram_bucket_search_finds_every_bucket, .fini = teardown)
{
    static const int counts[] = { 1, 2, 12, 16, 17, 33 };

    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int nb = counts[c];
        char json[1024], line[64];
        size_t o = 0;
        uint64_t want[34] = { 0 };
        double sum = 0;

        if (c > 0)
            teardown();
        o += (size_t)snprintf(json + o, sizeof json - o,
                              "{\"families\": [{\"name\": \"sizes\", \"type\": \"histogram\","
                              " \"buckets\": [");
        for (int b = 1; b <= nb; b++)
            o += (size_t)snprintf(json + o, sizeof json - o, "%s%d", b > 1 ? ", " : "", b);
        snprintf(json + o, sizeof json - o, "]}]}");
        load(json);
        for (int k = 0; k <= 2 * nb + 1; k++) {
            double v = k / 2.0; /* 0, 0.5, 1, ..., nb + 0.5 */
            size_t b = v <= 1 ? 0 : (size_t)(v + 0.5) - 1;

            if (b > (size_t)nb)
                b = (size_t)nb;
            snprintf(line, sizeof line, "sizes:%g|h", v);
            cr_assert_eq(feed(line), STATSD_OK);
            want[b]++;
            sum += v;
        }
        assert_hist(0, "", want, (size_t)nb + 1, sum);
    }
}

/*
 * The series table grows by moving its slots over a few at a time. Series created while
 * a move is under way, and series expired during it, must be found (or not) exactly as
 * at any other time: feeding a live series again never creates another.
 */
static void refeed_live(int nnew, uint64_t now)
{
    char line[64];

    for (int i = 0; i < nnew; i++) {
        snprintf(line, sizeof line, "temp:%d|g|#id:new%d", 5000 + i, i);
        cr_assert_eq(feed_at(line, now), STATSD_OK);
    }
}

Test(registry, series_table_growth_keeps_every_series_findable, .fini = teardown)
{
    enum { OLD = 2000, NEW = 3000 };
    char line[64];
    int expired_while_moving = 0, looked_while_moving = 0;
    size_t freed = 0;

    load("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
         " \"families\": [{\"name\": \"temp\", \"type\": \"gauge\", \"ttl_seconds\": 60,"
         "  \"labels\": [{\"name\": \"id\", \"max_values\": 100000}]}]}");
    for (int i = 0; i < OLD; i++) {
        snprintf(line, sizeof line, "temp:%d|g|#id:old%d", i, i);
        cr_assert_eq(feed_at(line, 1000), STATSD_OK);
    }
    /*
     * Two new series a step grow the table while the old ones expire one a step; every
     * 16 steps all new series so far are fed again, and none may be created twice.
     */
    size_t moving_for = 0; /* inserts since the table under way began to move */
    for (int i = 0; i < NEW; i++) {
        size_t f;
        int moving;

        snprintf(line, sizeof line, "temp:%d|g|#id:new%d", 5000 + i, i);
        cr_assert_eq(feed_at(line, 100000), STATSD_OK);
        /* A move is a slice per insert: it ends long before the new table fills. */
        moving_for = reg.series.old != NULL ? moving_for + 1 : 0;
        cr_assert(moving_for * 4 <= reg.series.old_mask + 1,
                  "step %d: a move of %zu slots under way for %zu inserts", i,
                  reg.series.old_mask + 1, moving_for);
        if (i % 2 == 0)
            continue;
        moving = reg.series.old != NULL;
        f = registry_expire(&reg, 100000, 1);
        expired_while_moving |= moving && f > 0;
        freed += f;
        if (i % 32 == 1) {
            looked_while_moving |= reg.series.old != NULL;
            refeed_live(i + 1, 100000);
            cr_assert_eq(registry_series_total(&reg), OLD - freed + (size_t)i + 1,
                         "step %d: a live series was created twice", i);
        }
    }
    while (freed < OLD)
        freed += registry_expire(&reg, 100000, 1000);
    cr_assert(expired_while_moving, "no series expired while the table was moving");
    cr_assert(looked_while_moving, "no lookup while the table was moving");
    cr_assert_eq(freed, OLD);
    cr_assert_eq(registry_series_total(&reg), NEW);
    refeed_live(NEW, 100001);
    cr_assert_eq(registry_series_total(&reg), NEW, "a live series was not found");
    cr_assert_eq(value_of(0, "id=new2999"), 7999);
    for (int i = 0; i < OLD; i += 7) {
        snprintf(line, sizeof line, "temp:1|g|#id:old%d", i);
        cr_assert_eq(feed_at(line, 100001), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), NEW + (OLD + 6) / 7);
}

/*
 * The next value "v<n>" whose hash, as the registry hashes label values, has its home at
 * slot home of a table of slots slots.
 */
static const char *value_at_home(size_t slots, size_t home, unsigned *n)
{
    static char v[32];

    for (;; (*n)++) {
        snprintf(v, sizeof v, "v%u", *n);
        if ((XXH3_64bits(v, strlen(v)) & (slots - 1)) == home) {
            (*n)++;
            return v;
        }
    }
}

static int feed_value(const char *v, uint64_t now)
{
    char line[64];

    snprintf(line, sizeof line, "f:1|c|#id:%s", v);
    return feed_at(line, now);
}

/*
 * A removal from a table being moved must not shift the old table's slots back: one
 * could land behind the move's cursor and never reach the new table. Label values,
 * placed by hand: a at slot 15 of a 64-slot table and b, with the same home, at 16. The
 * 33rd value grows the table to 128 and moves slots 0-15 (a) but not b; then a's series
 * expires. Once the move ends, b must still be found, not interned a second time.
 */
Test(registry, a_value_removed_while_its_table_moves_loses_no_other, .fini = teardown)
{
    char b[32];
    unsigned n = 0;
    size_t before;

    load("{\"families\": [{\"name\": \"f\", \"type\": \"counter\", \"ttl_seconds\": 60,"
         " \"labels\": [{\"name\": \"id\", \"max_values\": 1000}]}]}");
    cr_assert_eq(feed_value(value_at_home(64, 15, &n), 1000), STATSD_OK);
    snprintf(b, sizeof b, "%s", value_at_home(64, 15, &n));
    cr_assert_eq(feed_value(b, 100000), STATSD_OK);
    for (size_t home = 20; home < 50; home++) /* 30 more, each at a home of its own */
        cr_assert_eq(feed_value(value_at_home(64, home, &n), 100000), STATSD_OK);
    cr_assert_eq(feed_value(value_at_home(64, 55, &n), 100000), STATSD_OK); /* the 33rd */
    cr_assert_eq(registry_expire(&reg, 62000, 1000), 1, "a's series should expire");
    for (size_t home = 56; home < 59; home++) /* three more: the move ends */
        cr_assert_eq(feed_value(value_at_home(64, home, &n), 100000), STATSD_OK);
    before = registry_series_total(&reg);
    cr_assert_eq(feed_value(b, 100001), STATSD_OK);
    cr_assert_eq(registry_series_total(&reg), before, "b was lost in the move: a second series");
}

/* ---- reload ---- */

static struct config reload_cfg[2]; /* the configs reloads run on */

/* Reload reg with json, parsed into *dst, then free the config it ran on (*prev). */
static struct registry_reload reload_into(struct config *dst, struct config *prev, const char *json)
{
    struct registry_reload rr;
    char err[512];

    cr_assert_eq(config_parse(dst, json, strlen(json), "next", err, sizeof err), 0, "%s", err);
    registry_reconfigure(&reg, dst, &rr);
    config_release(prev); /* nothing may point into it now: ASan watches */
    return rr;
}

static struct registry_reload reload(const char *json)
{
    return reload_into(&reload_cfg[0], &cfg, json);
}

static void teardown_reload(void)
{
    teardown();
    config_release(&reload_cfg[0]);
    config_release(&reload_cfg[1]);
}

static size_t fam(const char *name)
{
    long f = registry_find_family(&reg, name, strlen(name));

    cr_assert(f >= 0, "no family %s", name);
    return (size_t)f;
}

/*
 * base_config, reloaded: requests allows PUT too, with a new help and cap (kept);
 * queue_depth and ml_infer_ms unchanged (kept); latency_seconds rebucketed (reset);
 * proc_ms gone; errors new.
 */
static const char reload_config[] =
    "{\"limits\": {\"max_series\": 50, \"max_series_per_family\": 12,"
    "              \"max_label_value_length\": 16},"
    " \"groups\": {\"exclude\": [\"ml\"]},"
    " \"families\": ["
    "  {\"name\": \"errors\", \"type\": \"counter\"},"
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests, v2.\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"PUT\", \"POST\", \"GET\"]},"
    "              {\"name\": \"status_code\", \"max_values\": 5}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"ttl_seconds\": 60,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.25, 1],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
    "  {\"name\": \"ml_infer_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "   \"buckets\": [10, 100], \"group\": \"ml\"},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"}"
    " ]}";

Test(registry, reload_carries_over_what_the_new_allowlist_still_allows, .init = setup,
     .fini = teardown_reload)
{
    struct registry_reload rr;
    struct registry_sample s;
    struct buf text = BUF_INIT;
    static const uint64_t one_in_first[] = { 1, 0, 0 };

    cr_assert_eq(feed("requests:2|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(feed("queue_depth:5|g|#queue:mail"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:0.2|h|#route:a"), STATSD_OK);
    cr_assert_eq(feed("proc_ms:5|ms"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:PUT"), STATSD_LABEL_VALUE_NOT_ALLOWED);

    rr = reload(reload_config);
    cr_assert_eq(rr.kept, 4);
    cr_assert_eq(rr.added, 1);
    cr_assert_eq(rr.reset, 1);
    cr_assert_eq(rr.removed, 1);
    cr_assert_eq(rr.retired, 2);

    cr_assert_eq(value_of(fam("requests"), "method=GET,status_code=200"), 2);
    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(value_of(fam("requests_total"), "method=GET,status_code=200"), 3);
    cr_assert_eq(feed("requests:1|c|#method:PUT"), STATSD_OK);
    cr_assert_eq(value_of(fam("queue_depth"), "queue=mail"), 5);
    cr_assert_eq(feed("proc_ms:5|ms"), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(value_of(fam("errors"), ""), 0, "a new label-less counter starts at zero");
    cr_assert_eq(value_of(fam("uploads"), ""), 0);
    cr_assert_eq(registry_family_cap(&reg, fam("requests")), 12);
    cr_assert_eq(registry_series_cap(&reg), 50);

    /* The old latency series and proc_ms are out of sight, then freed by the drain. */
    cr_assert_not(find(fam("latency_seconds"), "route=a", &s));
    cr_assert_eq(registry_series_retired(&reg), 2);
    cr_assert_eq(feed("latency_seconds:0.2|h|#route:a"), STATSD_OK);
    assert_hist(fam("latency_seconds"), "route=a", one_in_first, 3, 0.2);
    cr_assert_eq(registry_expire(&reg, 1000, 100), 0, "expiry is not the drain");
    cr_assert_eq(registry_series_retired(&reg), 2);
    cr_assert_eq(registry_drain(&reg, 1), 1);
    cr_assert_eq(registry_series_retired(&reg), 1);
    cr_assert_eq(registry_drain(&reg, 5), 1);
    cr_assert_eq(registry_series_retired(&reg), 0);

    render_all(&text, EXPO_TEXT);
    cr_assert_not_null(strstr(text.ptr, "# HELP requests_total Requests, v2.\n"), "%s", text.ptr);
    cr_assert_null(strstr(text.ptr, "proc_ms"), "%s", text.ptr);
    cr_assert_not_null(strstr(text.ptr, "\nerrors_total 0\n"), "%s", text.ptr);
    cr_assert_not_null(strstr(text.ptr, "latency_seconds_bucket{route=\"a\",le=\"0.25\"} 1\n"),
                       "%s", text.ptr);
    buf_release(&text);
}

Test(registry, reload_checks_cached_lines_against_the_new_config, .init = setup,
     .fini = teardown_reload)
{
    char shorter[sizeof reload_config + 64];
    const char *line = "requests:1|c|#method:GET,status_code:abcdefghij";

    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(registry_apply_raw(&reg, line, strlen(line), 1000), STATSD_OK, "not cached");
    /* The same allowlist, but label values of at most 8 bytes. */
    snprintf(shorter, sizeof shorter, "%s", reload_config);
    memcpy(strstr(shorter, "\"max_label_value_length\": 16"), "\"max_label_value_length\":  8", 28);
    reload(shorter);
    cr_assert_eq(ingest_at(line, 1000), STATSD_LABEL_VALUE_TOO_LONG);
    cr_assert_eq(value_of(fam("requests"), "method=GET,status_code=abcdefghij"), 2,
                 "the series stays; only new lines are refused");
}

Test(registry, reload_that_drops_an_enumerated_value_resets_the_family, .init = setup,
     .fini = teardown_reload)
{
    struct registry_reload rr;
    struct registry_sample s;

    cr_assert_eq(feed("requests:1|c|#method:POST"), STATSD_OK);
    rr = reload("{\"families\": [{\"name\": \"requests\", \"type\": \"counter\","
                " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\"]},"
                "              {\"name\": \"status_code\", \"max_values\": 3}]}]}");
    cr_assert_eq(rr.reset, 1);
    cr_assert_eq(rr.kept, 0);
    cr_assert_not(find(fam("requests"), "method=POST", &s));
    cr_assert_eq(feed("requests:1|c|#method:POST"), STATSD_LABEL_VALUE_NOT_ALLOWED);
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
}

/* Every (family, labels) a walk yields, as text, one per line. */
static void walk_key(struct buf *out, const struct registry_sample *s)
{
    buf_addf(out, "%s{", s->cfg->name);
    for (size_t i = 0; i < s->nlabels; i++)
        buf_addf(out, "%s=%.*s,", s->labels[i].name, (int)s->labels[i].value_len,
                 s->labels[i].value);
    buf_adds(out, "}\n");
}

Test(registry, reload_during_a_walk_neither_repeats_nor_skips_a_kept_family, .init = setup,
     .fini = teardown_reload)
{
    struct registry_cursor c;
    struct registry_sample s;
    struct buf seen = BUF_INIT;
    int i;

    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:POST"), STATSD_OK);
    cr_assert_eq(feed("queue_depth:1|g|#queue:a"), STATSD_OK);
    cr_assert_eq(feed("queue_depth:1|g|#queue:b"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:1|h|#route:r"), STATSD_OK);
    registry_cursor_init(&c, &reg);
    for (i = 0; i < 3; i++) { /* both requests, and queue a */
        cr_assert(registry_cursor_next(&c, &s));
        walk_key(&seen, &s);
    }
    /* queue_depth goes (the cursor stands in it), requests is rendered, errors comes. */
    reload("{\"families\": ["
           "  {\"name\": \"requests\", \"type\": \"counter\","
           "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
           "              {\"name\": \"status_code\", \"max_values\": 3}]},"
           "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 0.5, 1],"
           "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
           "  {\"name\": \"uploads\", \"type\": \"counter\"},"
           "  {\"name\": \"errors\", \"type\": \"counter\"}]}");
    while (registry_cursor_next(&c, &s))
        walk_key(&seen, &s);
    registry_cursor_release(&c);
    cr_assert_str_eq(seen.ptr, "requests{method=GET,}\n"
                               "requests{method=POST,}\n"
                               "queue_depth{queue=a,}\n"
                               "latency_seconds{route=r,}\n"
                               "errors{}\n" /* in the slot ml_infer_ms left */
                               "uploads{}\n");
    buf_release(&seen);
}

/*
 * Families that come and go take the slots retired ones left: over many reloads the
 * family slots and the memory stay put.
 */
Test(registry, repeated_reloads_reuse_family_slots_and_memory, .fini = teardown_reload)
{
    static const char *const configs[2] = {
        "{\"families\": [{\"name\": \"x\", \"type\": \"counter\","
        "  \"labels\": [{\"name\": \"k\", \"max_values\": 100}]},"
        " {\"name\": \"y\", \"type\": \"gauge\", \"labels\": [{\"name\": \"k\", \"max_values\": "
        "100}]}]}",
        "{\"families\": [{\"name\": \"x\", \"type\": \"counter\","
        "  \"labels\": [{\"name\": \"k\", \"max_values\": 100}]},"
        " {\"name\": \"z\", \"type\": \"histogram\", \"buckets\": [1, 2]}]}",
    };
    size_t mem_at[2] = { 0, 0 };
    char line[64];

    load(configs[0]);
    for (int i = 1; i <= 60; i++) {
        struct config *prev = i == 1 ? &cfg : &reload_cfg[(i - 1) % 2];

        reload_into(&reload_cfg[i % 2], prev, configs[i % 2]);
        for (int k = 0; k < 50; k++) {
            snprintf(line, sizeof line, "%s:%d|%s|#k:v%d", i % 2 ? "z" : "y", k, i % 2 ? "h" : "g",
                     k);
            cr_assert_eq(feed(line), i % 2 ? STATSD_LABEL_NOT_ALLOWED : STATSD_OK, "%s", line);
            snprintf(line, sizeof line, "x:1|c|#k:v%d", k);
            cr_assert_eq(feed(line), STATSD_OK);
        }
        while (registry_series_retired(&reg) > 0)
            registry_drain(&reg, 7);
        cr_assert_leq(registry_nfamilies(&reg), 3, "reload %d: %zu slots", i,
                      registry_nfamilies(&reg));
        if (i == 10 || i == 11)
            mem_at[i % 2] = registry_memory(&reg);
        if (i > 11)
            cr_assert_eq(registry_memory(&reg), mem_at[i % 2], "reload %d: memory grew", i);
    }
    cr_assert_eq(value_of(fam("x"), "k=v0"), 60, "x is kept by every reload");
}
