/*
 * What the registry refuses and how far it grows: a rejected line (by every reason) leaves
 * everything observable as it was, the family and total caps, the label value caps and
 * how expiry gives values back to them, and a cardinality attack held to bounded memory.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "config/cfgclient.h"
#include "config/cfgload.h"
#include "registry_fixture.h"

/* The fixture's families and the client telemetry's, which every config holds. */
#define SNAP_FAMILIES (8 + CFGCLIENT_NFAMILIES)

/* Everything observable: the exposition, counts, label values, memory. */
struct snapshot {
    struct buf text;
    size_t total, mem;
    size_t fam_series[SNAP_FAMILIES];
    size_t label_values[SNAP_FAMILIES][CONFIG_MAX_LABELS];
};

static void snap(struct snapshot *s)
{
    size_t f, l;

    memset(s, 0, sizeof *s);
    buf_init(&s->text);
    render_all(&s->text, EXPO_OPENMETRICS);
    s->total = registry_series_total(&reg);
    s->mem = registry_memory(&reg);
    cr_assert_leq(registry_nfamilies(&reg), SNAP_FAMILIES);
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

/* A line of value 1 for requests, built by hand past the parser: no tags. */
static void line_by_hand(struct statsd_line *l, enum statsd_type type)
{
    memset(l, 0, sizeof *l);
    l->name.ptr = "requests";
    l->name.len = 8;
    l->type = type;
    l->nvalues = 1;
    l->values[0] = 1;
    l->rate = 1;
}

Test(registry, job_lines_are_a_type_mismatch, .init = setup, .fini = teardown)
{
    struct statsd_line l;

    line_by_hand(&l, STATSD_JOB);
    cr_assert_eq(registry_apply(&reg, &l, 1), STATSD_TYPE_MISMATCH);
}

/* The parser rejects such lines already; the registry does not rely on it. */
Test(registry, keys_equal_once_normalised_are_duplicates, .init = setup, .fini = teardown)
{
    struct statsd_line l;

    line_by_hand(&l, STATSD_COUNTER);
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
     * Everything freed but the tables, at their least size: the series and intern tables
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
    cfgload_release(&cfg);
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
