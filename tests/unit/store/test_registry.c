#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <malloc.h>
#include <math.h>
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

/* The up-down gauge of the fixture: a sign moves the value (etsy statsd). */
/* The up-down gauge of the fixture: a sign moves the value (etsy statsd). */
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

/*
 * DogStatsD's gauge: a signed value sets it, through the full parse and through the front
 * cache alike; only a family declared up-down adds. After 0, -4, -4 an absolute gauge
 * reads -4 and an up-down one -8.
 */
Test(registry, a_signed_gauge_sets_unless_the_family_is_up_down, .fini = teardown)
{
    static const char *const seq[] = { "0", "-4", "-4", "+3" };
    static const double absolute[] = { 0, -4, -4, 3 }, updown[] = { 0, -4, -8, -5 };
    const char *names[] = { "temperature", "in_flight" };

    load("{\"families\": [{\"name\": \"temperature\", \"type\": \"gauge\"},"
         " {\"name\": \"in_flight\", \"type\": \"gauge\", \"updown\": true}]}");
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < 4; i++) {
            char line[64];
            int rc;

            snprintf(line, sizeof(line), "%s:%s|g", names[f], seq[i]);
            rc = registry_apply_raw(&reg, line, strlen(line), 1000);
            if (rc == REGISTRY_MISS)
                rc = feed(line);
            cr_assert_eq(rc, STATSD_OK, "%s", line);
            cr_assert_float_eq(value_of(f, ""), f == 0 ? absolute[i] : updown[i], 1e-9, "%s", line);
        }
    }
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

/* ---- reload ---- */

static struct config reload_cfg[2]; /* the configs reloads run on */

/* Reload reg with json, parsed into *dst, then free the config it ran on (*prev). */
static struct registry_reload reload_into(struct config *dst, struct config *prev, const char *json)
{
    struct registry_reload rr;
    char err[512];

    cr_assert_eq(cfgload_text(dst, json, strlen(json), "next", err, sizeof err), 0, "%s", err);
    registry_reconfigure(&reg, dst, &rr);
    cfgload_release(prev); /* nothing may point into it now: ASan watches */
    return rr;
}

static struct registry_reload reload(const char *json)
{
    return reload_into(&reload_cfg[0], &cfg, json);
}

static void teardown_reload(void)
{
    teardown();
    cfgload_release(&reload_cfg[0]);
    cfgload_release(&reload_cfg[1]);
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
    cr_assert_eq(rr.kept, 4 + CFGCLIENT_NFAMILIES);
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

/* Whether a gauge is up-down is no part of its layout: a reload keeps the value and the
 * next signed line follows the new config, cached or not. */
Test(registry, reload_changes_whether_a_gauge_is_up_down, .init = setup, .fini = teardown_reload)
{
    const char *minus2 = "queue_depth:-2|g|#queue:a";

    cr_assert_eq(ingest_at("queue_depth:5|g|#queue:a", 1000), STATSD_OK);
    cr_assert_eq(ingest_at(minus2, 1000), STATSD_OK);
    cr_assert_eq(value_of(fam("queue_depth"), "queue=a"), 3);
    reload(reload_config); /* the same family, not up-down */
    cr_assert_eq(value_of(fam("queue_depth"), "queue=a"), 3, "the value is carried over");
    cr_assert_eq(ingest_at(minus2, 1000), STATSD_OK);
    cr_assert_eq(value_of(fam("queue_depth"), "queue=a"), -2);
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
    cr_assert_eq(rr.kept, CFGCLIENT_NFAMILIES);
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
        cr_assert_leq(registry_nfamilies(&reg), 3 + CFGCLIENT_NFAMILIES, "reload %d: %zu slots", i,
                      registry_nfamilies(&reg));
        if (i == 10 || i == 11)
            mem_at[i % 2] = registry_memory(&reg);
        if (i > 11)
            cr_assert_eq(registry_memory(&reg), mem_at[i % 2], "reload %d: memory grew", i);
    }
    cr_assert_eq(value_of(fam("x"), "k=v0"), 60, "x is kept by every reload");
}

/* ---- tag and value policies ---- */

/*
 * env and service stripped; requests drops undeclared keys, folds its route (a pattern,
 * 3 values) and method (enumerated) into overflow values.
 */
static const char policy_config[] =
    "{\"limits\": {\"max_series\": 100, \"max_series_per_family\": 50,"
    "              \"max_label_value_length\": 16},"
    " \"clients\": {\"strip_tags\": [\"env\", \"service\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\", \"undeclared_labels\": \"drop\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"], \"overflow\": "
    "\"_OTHER\"},"
    "              {\"name\": \"route\", \"max_values\": 3, \"pattern\": \"/[a-z]*\","
    "               \"overflow\": \"__other__\"}]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"}"
    " ]}";

static uint64_t folded(size_t f, size_t label, enum labelset_fold why)
{
    return registry_values_folded(&reg, f, label, why);
}

/* What a line's tags cost is counted as often on the cached path as on the full one. */
Test(registry, tag_policies_count_on_both_paths, .fini = teardown)
{
    static const char *const lines[] = {
        "requests:1|c|#env:prod,service:api,method:GET,route:/img,error.type:500",
        "requests:1|c|#method:PUT,route:/a/b,http.flavor:2",
        "uploads:1|c|#env:prod",
    };
    size_t i, k;

    load(policy_config);
    for (k = 0; k < 5; k++)
        for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
            cr_assert_eq(ingest_at(lines[i], 1000), STATSD_OK, "%s", lines[i]);
    cr_assert_eq(registry_apply_raw(&reg, lines[0], strlen(lines[0]), 1000), STATSD_OK,
                 "the line is cached");
    cr_assert_eq(registry_tags_stripped(&reg, 0), 11, "env: 5 + 5 + the cached one");
    cr_assert_eq(registry_tags_stripped(&reg, 1), 6, "service");
    cr_assert_eq(registry_labels_dropped(&reg, 0), 11, "error.type 6 times, http.flavor 5");
    cr_assert_eq(folded(0, 0, LABELSET_FOLD_NOT_ALLOWED), 5, "PUT");
    cr_assert_eq(folded(0, 1, LABELSET_FOLD_PATTERN), 5, "/a/b");
    cr_assert_eq(folded(0, 1, LABELSET_FOLD_CAP), 0);
    cr_assert_eq(value_of(0, "method=GET,route=/img"), 6);
    cr_assert_eq(value_of(0, "method=_OTHER,route=__other__"), 5);
    cr_assert_eq(value_of(1, ""), 5, "a stripped tag is no label of a label-less family");
}

/*
 * A million distinct values against a capped label that folds: the totals stay exact,
 * the series and the memory stay bounded, and each fold is counted by its reason.
 */
Test(registry, a_million_value_attack_folds_with_exact_totals_in_bounded_memory, .fini = teardown)
{
    struct registry_cursor c;
    struct registry_sample s;
    double total = 0;
    size_t mem_mid = 0, series = 0;
    char line[96];
    int i;

    load(policy_config);
    for (i = 0; i < 1000000; i++) {
        /* Half match the pattern (and fill the cap), half are object keys it refuses. */
        if (i % 2 == 0)
            snprintf(line, sizeof line, "requests:1|c|#route:/x/%d", i);
        else
            snprintf(line, sizeof line, "requests:1|c|#route:/%c%c%c%c%c", 'a' + i % 26,
                     'a' + i / 26 % 26, 'a' + i / 676 % 26, 'a' + i / 17576 % 26,
                     'a' + i / 456976 % 26);
        cr_assert_eq(ingest_at(line, 1000), STATSD_OK, "%s", line);
        if (i == 10000)
            mem_mid = registry_memory(&reg);
    }
    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s))
        if (s.family == 0) {
            total += s.value;
            series++;
        }
    registry_cursor_release(&c);
    cr_assert_eq(total, 1000000, "every observation is counted once");
    cr_assert_eq(series, 4, "3 values and __other__");
    cr_assert_eq(registry_label_values(&reg, 0, 1), 4);
    cr_assert_eq(folded(0, 1, LABELSET_FOLD_PATTERN), 500000);
    cr_assert_eq(folded(0, 1, LABELSET_FOLD_CAP), 500000 - 3 * 1, "all but the first 3 that fit");
    cr_assert_eq(registry_memory(&reg), mem_mid, "nothing grew after the first 10,000 lines");
    cr_assert_lt(registry_memory(&reg), 64 * 1024, "%zu bytes", registry_memory(&reg));
}

/* A reload renumbers the strip keys and may change what the same bytes cost. */
Test(registry, reload_carries_tag_counts_and_renotes_cached_lines, .fini = teardown_reload)
{
    const char *line = "requests:1|c|#method:GET,version:1.2,env:prod";
    char next[sizeof policy_config + 64];

    load(policy_config);
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(registry_labels_dropped(&reg, 0), 2, "version is undeclared");
    snprintf(next, sizeof next, "%s", policy_config);
    memcpy(strstr(next, "[\"env\", \"service\"]"), "[\"version\", \"env\"]", 18);
    reload(next);
    cr_assert_eq(registry_tags_stripped(&reg, 1), 2, "env's count follows env");
    cr_assert_eq(registry_tags_stripped(&reg, 0), 0, "version is new");
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(registry_apply_raw(&reg, line, strlen(line), 1000), STATSD_OK, "cached again");
    cr_assert_eq(registry_tags_stripped(&reg, 0), 3, "version is stripped now, not dropped");
    cr_assert_eq(registry_tags_stripped(&reg, 1), 5);
    cr_assert_eq(registry_labels_dropped(&reg, 0), 2);
    cr_assert_eq(value_of(0, "method=GET"), 5);
}

/* A reload whose pattern refuses a value in use resets the family: no value outlives it. */
Test(registry, reload_with_a_pattern_that_refuses_a_held_value_resets_the_family,
     .fini = teardown_reload)
{
    char next[sizeof policy_config + 64];
    struct registry_reload rr;

    load(policy_config);
    cr_assert_eq(ingest_at("requests:1|c|#route:/img", 1000), STATSD_OK);
    snprintf(next, sizeof next, "%s", policy_config);
    memcpy(strstr(next, "/[a-z]*"), "/[a-z]+", 7);
    rr = reload(next);
    cr_assert_eq(rr.reset, 0, "/img still matches");
    cr_assert_eq(value_of(0, "route=/img"), 1);
    memcpy(strstr(next, "/[a-z]+"), "/[0-9]+", 7);
    rr = reload_into(&reload_cfg[1], &reload_cfg[0], next);
    cr_assert_eq(rr.reset, 1, "/img breaks /[0-9]+");
    cr_assert_eq(ingest_at("requests:1|c|#route:/img", 1000), STATSD_OK);
    cr_assert_eq(value_of(fam("requests"), "route=__other__"), 1, "/img now folds");
}

/* ---- creation times and precreated series ---- */

static uint64_t wall_ms; /* the fake wall clock the registry dates series by */

static uint64_t fake_clock(void *arg)
{
    cr_assert_eq(arg, &wall_ms);
    return wall_ms;
}

static uint64_t created_of(size_t f, const char *labels)
{
    struct registry_sample s;

    cr_assert(find(f, labels, &s), "no series %zu{%s}", f, labels);
    return s.created_ms;
}

Test(registry, series_are_dated_once_at_creation, .init = setup, .fini = teardown)
{
    cr_assert_eq(created_of(F_UPLOADS, ""), 0, "no clock: undated");
    wall_ms = 1700000000123;
    registry_set_clock(&reg, fake_clock, &wall_ms);
    cr_assert_eq(created_of(F_UPLOADS, ""), 1700000000123, "the zero series, dated now");
    cr_assert_eq(created_of(F_PROC, ""), 1700000000123);
    cr_assert_eq(registry_family_created(&reg, F_REQUESTS), 1700000000123);
    wall_ms += 5000;
    cr_assert_eq(ingest_at("requests:1|c|#method:GET", 10), STATSD_OK);
    cr_assert_eq(ingest_at("latency_seconds:0.3|h|#route:a", 10), STATSD_OK);
    wall_ms += 5000;
    cr_assert_eq(ingest_at("requests:1|c|#method:GET", 20), STATSD_OK);
    cr_assert_eq(ingest_at("requests:1|c|#method:GET", 20), STATSD_OK, "the cached path");
    cr_assert_eq(ingest_at("uploads:1|c", 20), STATSD_OK);
    cr_assert_eq(created_of(F_REQUESTS, "method=GET"), 1700000005123, "updates keep the date");
    cr_assert_eq(created_of(F_LATENCY, "route=a"), 1700000005123);
    cr_assert_eq(created_of(F_UPLOADS, ""), 1700000000123);
    /* An expired series comes back with a new date. */
    cr_assert_eq(ingest_at("queue_depth:1|g|#queue:a", 20), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 20 + 61000, 100), 1);
    wall_ms += 70000;
    cr_assert_eq(ingest_at("queue_depth:1|g|#queue:a", 81020), STATSD_OK);
    cr_assert_eq(created_of(F_QUEUE, "queue=a"), 1700000080123);
}

Test(registry, reload_keeps_the_dates_of_a_kept_family_and_renews_a_reset_one, .init = setup,
     .fini = teardown_reload)
{
    wall_ms = 1000000;
    registry_set_clock(&reg, fake_clock, &wall_ms);
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("latency_seconds:0.2|h|#route:a"), STATSD_OK);
    wall_ms = 2000000;
    reload(reload_config); /* requests kept, latency_seconds rebucketed, errors new */
    cr_assert_eq(created_of(fam("requests"), "method=GET"), 1000000);
    cr_assert_eq(registry_family_created(&reg, fam("requests")), 1000000);
    cr_assert_eq(created_of(fam("uploads"), ""), 1000000);
    cr_assert_eq(created_of(fam("errors"), ""), 2000000, "a new family starts at the reload");
    cr_assert_eq(registry_family_created(&reg, fam("latency_seconds")), 2000000, "reset");
    wall_ms = 3000000;
    cr_assert_eq(feed("latency_seconds:0.2|h|#route:a"), STATSD_OK);
    cr_assert_eq(created_of(fam("latency_seconds"), "route=a"), 3000000);
}

/* status: 2 values and an overflow value; method: 2 values, its overflow one of them. */
static const char precreate_config[] =
    "{\"limits\": {\"max_series\": 20, \"max_series_per_family\": 8},"
    " \"families\": ["
    "  {\"name\": \"hits\", \"type\": \"counter\", \"precreate\": true, \"ttl_seconds\": 10,"
    "   \"labels\": [{\"name\": \"status\", \"values\": [\"200\", \"500\"], \"overflow\": "
    "\"other\"},"
    "              {\"name\": \"method\", \"values\": [\"GET\", \"POST\"], \"overflow\": "
    "\"GET\"}]},"
    "  {\"name\": \"took\", \"type\": \"histogram\", \"precreate\": true, \"buckets\": [1],"
    "   \"labels\": [{\"name\": \"op\", \"values\": [\"read\"]}]}"
    " ]}";

/* hits' combinations at start-up, in their order: the last label varies fastest. */
#define PRECREATED                                                  \
    "hits{status=200,method=GET,}\nhits{status=200,method=POST,}\n" \
    "hits{status=500,method=GET,}\nhits{status=500,method=POST,}\n" \
    "hits{status=other,method=GET,}\nhits{status=other,method=POST,}\n"

static void walk_all(struct buf *out)
{
    struct registry_cursor c;
    struct registry_sample s;

    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s)) {
        walk_key(out, &s);
        cr_assert_eq(s.value, 0);
        cr_assert_eq(s.count, 0);
        cr_assert_eq(s.last_update_ms, 0, "never updated");
    }
    registry_cursor_release(&c);
}

Test(registry, precreate_holds_every_combination_at_zero_and_never_expires, .fini = teardown)
{
    struct buf keys = BUF_INIT;

    load(precreate_config);
    walk_all(&keys);
    cr_assert_str_eq(keys.ptr, PRECREATED "took{op=read,}\n");
    cr_assert_eq(registry_series_total(&reg), 7);
    cr_assert_eq(registry_family_series(&reg, 0), 6, "they count against the caps");
    cr_assert_eq(registry_label_values(&reg, 0, 0), 3);
    /* A line on a precreated series finds it; one with a label absent is a new series. */
    cr_assert_eq(feed_at("hits:2|c|#status:200,method:GET", 5), STATSD_OK);
    cr_assert_eq(feed_at("hits:1|c|#status:404,method:POST", 5), STATSD_OK, "folds into other");
    cr_assert_eq(value_of(0, "status=other,method=POST"), 1);
    cr_assert_eq(feed_at("hits:1|c|#status:500", 5), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, 0), 7);
    cr_assert_eq(feed_at("hits:1|c|#method:POST", 5), STATSD_OK);
    cr_assert_eq(feed_at("hits:1|c", 5), STATSD_SERIES_CAP, "8 per family");
    /* Past the ttl, only the series with a label absent expire. */
    cr_assert_eq(registry_expire(&reg, 100000, 1000), 2);
    cr_assert_eq(registry_family_series(&reg, 0), 6);
    cr_assert_eq(value_of(0, "status=200,method=GET"), 2);
    buf_release(&keys);
}

Test(registry, reload_precreates_the_new_combinations_only, .fini = teardown_reload)
{
    char next[sizeof precreate_config + 64], *p;
    struct registry_reload rr;
    struct buf keys = BUF_INIT;

    load(precreate_config);
    wall_ms = 1000;
    registry_set_clock(&reg, fake_clock, &wall_ms);
    cr_assert_eq(created_of(0, "status=500,method=POST"), 1000);
    /* status gains 503: the layout is kept, with two combinations more, dated at the reload. */
    p = strstr(precreate_config, "\"500\"");
    snprintf(next, sizeof next, "%.*s\"503\", %s", (int)(p - precreate_config), precreate_config,
             p);
    wall_ms = 2000;
    rr = reload(next);
    cr_assert_eq(rr.kept, 2 + CFGCLIENT_NFAMILIES);
    cr_assert_eq(rr.reset, 0);
    cr_assert_eq(registry_family_series(&reg, 0), 6 + 2, "503, with GET and with POST");
    cr_assert_eq(created_of(0, "status=500,method=POST"), 1000, "kept");
    cr_assert_eq(created_of(0, "status=503,method=GET"), 2000, "new");
    cr_assert_eq(created_of(0, "status=503,method=POST"), 2000, "new");
    walk_all(&keys);
    /* New combinations follow the old ones: a series' place is its creation. */
    cr_assert_str_eq(keys.ptr, PRECREATED "hits{status=503,method=GET,}\n"
                                          "hits{status=503,method=POST,}\n"
                                          "took{op=read,}\n");
    buf_release(&keys);
    /* Without precreate, the combinations expire like any series. */
    memcpy(strstr(next, "\"precreate\": true"), "\"precreate\":false", 17);
    rr = reload_into(&reload_cfg[1], &reload_cfg[0], next);
    cr_assert_eq(rr.kept, 2 + CFGCLIENT_NFAMILIES);
    cr_assert_eq(registry_expire(&reg, 100000, 1000), 8);
    cr_assert_eq(registry_family_series(&reg, 0), 0);
}
