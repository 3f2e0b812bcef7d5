/*
 * Summary families in the registry: which lines feed them (ms converted to seconds unless
 * the unit is ms, h and d as they are, packed values, sample rates), which are a type
 * mismatch, both ingest paths alike, the state's memory counted and given back, reloads
 * that keep or reset the family, and the exposition in text 0.0.4 and OpenMetrics
 * (golden strings; NaN for an empty window).
 */
#include <criterion/criterion.h>

#include <math.h>

#include "config/cfgclient.h"
#include "registry_fixture.h"
#include "store/summary.h"

static const char summary_config[] =
    "{\"families\": ["
    "  {\"name\": \"rpc_duration_seconds\", \"type\": \"summary\", \"help\": \"RPC latency.\","
    "   \"max_age\": 60, \"age_buckets\": 3, \"ttl_seconds\": 600,"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},"
    "  {\"name\": \"job_ms\", \"type\": \"summary\", \"unit\": \"ms\","
    "   \"quantiles\": {\"0.5\": 0.05, \"1\": 0}},"
    "  {\"name\": \"bare\", \"type\": \"summary\", \"quantiles\": {}},"
    "  {\"name\": \"c\", \"type\": \"counter\"}"
    " ]}";

enum { S_RPC, S_JOB, S_BARE };

static void setup_summary(void)
{
    load(summary_config);
}

/* The sample of fam{labels} read at now: its quantiles into q, its count returned. */
static uint64_t read_at(size_t fam, const char *labels, uint64_t now, double *q, double *sum)
{
    struct registry_sample s;

    cr_assert(find(fam, labels, &s), "no series %zu{%s}", fam, labels);
    cr_assert_not_null(s.summary_spec);
    summary_read(s.summary, s.summary_spec, now, q, NULL);
    *sum = s.value;
    return s.count;
}

Test(registry_summary, ms_lines_are_seconds_and_h_and_d_are_as_sent, .init = setup_summary,
     .fini = teardown)
{
    double q[3], sum;

    cr_assert_eq(feed_at("rpc_duration_seconds:250|ms|#method:GET", 1000), STATSD_OK);
    cr_assert_eq(feed_at("rpc_duration_seconds:0.5|h|#method:GET", 1000), STATSD_OK);
    cr_assert_eq(feed_at("rpc_duration_seconds:0.75|d|#method:GET", 1000), STATSD_OK);
    cr_assert_eq(read_at(S_RPC, "method=GET", 1000, q, &sum), 3);
    cr_assert_float_eq(sum, 1.5, 1e-12);
    cr_assert_eq(q[0], 0.5, "the median of 0.25, 0.5, 0.75");
    cr_assert_eq(q[2], 0.75);

    /* A millisecond family keeps ms lines as they are. */
    cr_assert_eq(feed_at("job_ms:120|ms", 1000), STATSD_OK);
    cr_assert_eq(feed_at("job_ms:80|h", 1000), STATSD_OK);
    cr_assert_eq(read_at(S_JOB, "", 1000, q, &sum), 2);
    cr_assert_float_eq(sum, 200, 1e-12);
    cr_assert_eq(q[1], 120, "quantile 1 with error 0: the maximum");
}

Test(registry_summary, packed_values_and_sample_rates_as_a_histogram, .init = setup_summary,
     .fini = teardown)
{
    double q[3], sum;

    cr_assert_eq(ingest_at("rpc_duration_seconds:100:200:300|ms|#method:POST", 1000), STATSD_OK);
    cr_assert_eq(read_at(S_RPC, "method=POST", 1000, q, &sum), 3);
    cr_assert_float_eq(sum, 0.6, 1e-12);
    /* At @0.25 each value weighs 4: count 4 more, _sum 4 times the value. */
    cr_assert_eq(ingest_at("rpc_duration_seconds:900|ms|@0.25|#method:POST", 1000), STATSD_OK);
    cr_assert_eq(read_at(S_RPC, "method=POST", 1000, q, &sum), 7);
    cr_assert_float_eq(sum, 0.6 + 3.6, 1e-12);
    cr_assert_eq(q[0], 0.9, "4 of 7 observations are 0.9: the median");
    /* The cached path, the same again. */
    cr_assert_eq(ingest_at("rpc_duration_seconds:900|ms|@0.25|#method:POST", 1000), STATSD_OK);
    cr_assert_eq(read_at(S_RPC, "method=POST", 1000, q, &sum), 11);
    cr_assert_eq(ingest_at("rpc_duration_seconds:100|ms|#method:POST", 1000), STATSD_OK);
    cr_assert_eq(read_at(S_RPC, "method=POST", 1000, q, &sum), 12);
    cr_assert_float_eq(sum, 0.6 + 7.2 + 0.1, 1e-12);
}

Test(registry_summary, counters_gauges_and_jobs_are_a_type_mismatch, .init = setup_summary,
     .fini = teardown)
{
    cr_assert_eq(feed("rpc_duration_seconds:1|c|#method:GET"), STATSD_TYPE_MISMATCH);
    cr_assert_eq(feed("rpc_duration_seconds:1|g|#method:GET"), STATSD_TYPE_MISMATCH);
    cr_assert_eq(feed("job_ms:worked|j"), STATSD_TYPE_MISMATCH);
    cr_assert_eq(feed("c:1|ms"), STATSD_TYPE_MISMATCH);
    cr_assert_eq(feed("rpc_duration_seconds:1|h|#method:PUT"), STATSD_LABEL_VALUE_NOT_ALLOWED);
}

Test(registry_summary, label_less_summaries_exist_from_start_with_no_state, .init = setup_summary,
     .fini = teardown)
{
    struct registry_sample s;
    double q[3], sum;

    cr_assert(find(S_JOB, "", &s));
    cr_assert_null(s.summary, "the state is made at the first observation");
    cr_assert_eq(s.count, 0);
    cr_assert(find(S_BARE, "", &s));
    cr_assert_eq(read_at(S_JOB, "", 0, q, &sum), 0);
    cr_assert(isnan(q[0]) && isnan(q[1]));
    cr_assert_eq(feed("bare:3|d"), STATSD_OK);
    cr_assert_eq(read_at(S_BARE, "", 1000, q, &sum), 1);
    cr_assert_eq(sum, 3);
}

Test(registry_summary, precreated_summaries_exist_at_zero_with_no_state, .fini = teardown)
{
    struct registry_sample s;
    double q[3], sum;

    load("{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"summary\","
         " \"precreate\": true, \"ttl_seconds\": 1,"
         " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\","
         " \"POST\"]}]}]}");
    cr_assert_eq(registry_family_series(&reg, 0), 2);
    cr_assert(find(0, "method=POST", &s));
    cr_assert_null(s.summary);
    cr_assert_eq(read_at(0, "method=POST", 0, q, &sum), 0);
    cr_assert(isnan(q[0]));
    cr_assert_eq(registry_expire(&reg, UINT64_MAX / 2, 100), 0, "precreated: never expire");
    cr_assert_eq(feed("rpc_seconds:5|ms|#method:POST"), STATSD_OK);
    cr_assert_eq(read_at(0, "method=POST", 1000, q, &sum), 1);
    cr_assert_eq(q[0], 0.005);
}

Test(registry_summary, the_state_is_counted_and_freed_with_its_series, .init = setup_summary,
     .fini = teardown)
{
    size_t mem0 = registry_memory(&reg), mem1;
    char line[96];

    cr_assert_eq(feed_at("rpc_duration_seconds:1|ms|#method:GET", 1000), STATSD_OK);
    mem1 = registry_memory(&reg);
    for (int i = 0; i < 20000; i++) {
        snprintf(line, sizeof line, "rpc_duration_seconds:%d|ms|#method:GET", i % 997);
        cr_assert_eq(ingest_at(line, 1000 + (uint64_t)i), STATSD_OK);
    }
    cr_assert_gt(registry_memory(&reg), mem1, "the streams' tuples are counted");
    /* 3 streams at the cap at most, and much less in practice. */
    cr_assert_lt(registry_memory(&reg) - mem0,
                 3 * (CKMS_MAX_TUPLES + SUMMARY_BATCH) * sizeof(struct ckms_tuple) + 4096);
    cr_assert_eq(registry_expire(&reg, 1000000, 1000), 1);
    /* Only the tables are left: the series table and the front cache's slots (too small to shrink). */
    cr_assert_leq(registry_memory(&reg), mem0 + 4096 + 64 * 136, "%zu vs %zu",
                  registry_memory(&reg), mem0);
}

static struct config next_cfg[2]; /* the configs reloads run on, in turn */
static struct config *running = &cfg;

static void teardown_next(void)
{
    teardown();
    cfgload_release(&next_cfg[0]);
    cfgload_release(&next_cfg[1]);
}

/* summary_config's rpc_duration_seconds with settings rpc, and job_ms as it was. */
static struct registry_reload reload_with(const char *rpc)
{
    struct config *next = running == &next_cfg[0] ? &next_cfg[1] : &next_cfg[0];
    char json[1024], err[512];
    struct registry_reload rr;

    snprintf(json, sizeof json,
             "{\"families\": [{\"name\": \"rpc_duration_seconds\", \"type\": \"summary\", "
             "\"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]%s},"
             " {\"name\": \"job_ms\", \"type\": \"summary\", \"unit\": \"ms\","
             "  \"quantiles\": {\"0.5\": 0.05, \"1\": 0}}]}",
             rpc);
    cr_assert_eq(cfgload_text(next, json, strlen(json), "next", err, sizeof err), 0, "%s", err);
    registry_reconfigure(&reg, next, &rr);
    /* The config the registry ran on goes: nothing may point into it. */
    cfgload_release(running);
    running = next;
    return rr;
}

Test(registry_summary, reload_keeps_an_unchanged_summary_and_resets_a_changed_one,
     .init = setup_summary, .fini = teardown_next)
{
    static const char *const changes[] = {
        ", \"max_age\": 60, \"age_buckets\": 2",
        ", \"max_age\": 30, \"age_buckets\": 3",
        ", \"max_age\": 60, \"age_buckets\": 3, \"quantiles\": {\"0.5\": 0.05}",
        ", \"max_age\": 60, \"age_buckets\": 3, \"unit\": \"ms\"",
    };
    struct registry_reload rr;
    double q[3], sum;

    cr_assert_eq(feed_at("rpc_duration_seconds:200|ms|#method:GET", 1000), STATSD_OK);
    cr_assert_eq(feed_at("job_ms:7|ms", 1000), STATSD_OK);
    /* The same windows and quantiles, a new help and ttl: the state carries over. */
    rr = reload_with(", \"max_age\": 60, \"age_buckets\": 3, \"help\": \"v2\", \"ttl_seconds\": 9");
    cr_assert_eq(rr.kept, 2 + CFGCLIENT_NFAMILIES);
    cr_assert_eq(rr.reset, 0);
    cr_assert_eq(rr.removed, 2, "bare and c");
    cr_assert_eq(registry_drain(&reg, 100), 2);
    cr_assert_eq(read_at(S_RPC, "method=GET", 1000, q, &sum), 1);
    cr_assert_eq(q[0], 0.2);
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        cr_assert_eq(feed_at("rpc_duration_seconds:200|ms|#method:GET", 1000), STATSD_OK);
        rr = reload_with(changes[i]);
        cr_assert_eq(rr.reset, 1, "%s", changes[i]);
        cr_assert_eq(rr.kept, 1 + CFGCLIENT_NFAMILIES, "job_ms stays");
        cr_assert_eq(registry_series_total(&reg), 1, "%s: the family's series are gone",
                     changes[i]);
        cr_assert_eq(registry_drain(&reg, 100), 1);
        cr_assert_eq(read_at(S_JOB, "", 1000, q, &sum), 1);
    }
}

/* ---- exposition ---- */

static const char golden_text[] = "# HELP rpc_duration_seconds RPC latency.\n"
                                  "# TYPE rpc_duration_seconds summary\n"
                                  "rpc_duration_seconds{method=\"GET\",quantile=\"0.5\"} 0.047\n"
                                  "rpc_duration_seconds{method=\"GET\",quantile=\"0.9\"} 0.09\n"
                                  "rpc_duration_seconds{method=\"GET\",quantile=\"0.99\"} 0.099\n"
                                  "rpc_duration_seconds_sum{method=\"GET\"} 5.050000000000001\n"
                                  "rpc_duration_seconds_count{method=\"GET\"} 100\n"
                                  "# TYPE job_ms summary\n"
                                  "job_ms{quantile=\"0.5\"} NaN\n"
                                  "job_ms{quantile=\"1\"} NaN\n"
                                  "job_ms_sum 12\n"
                                  "job_ms_count 1\n"
                                  "# TYPE bare summary\n"
                                  "bare_sum 0\n"
                                  "bare_count 0\n"
                                  "# TYPE c_total counter\n"
                                  "c_total 0\n";

static const char golden_om[] = "# TYPE rpc_duration_seconds summary\n"
                                "# UNIT rpc_duration_seconds seconds\n"
                                "# HELP rpc_duration_seconds RPC latency.\n"
                                "rpc_duration_seconds{method=\"GET\",quantile=\"0.5\"} 0.047\n"
                                "rpc_duration_seconds{method=\"GET\",quantile=\"0.9\"} 0.09\n"
                                "rpc_duration_seconds{method=\"GET\",quantile=\"0.99\"} 0.099\n"
                                "rpc_duration_seconds_sum{method=\"GET\"} 5.050000000000001\n"
                                "rpc_duration_seconds_count{method=\"GET\"} 100\n"
                                "rpc_duration_seconds_created{method=\"GET\"} 1700000000.5\n"
                                "# TYPE job_ms summary\n"
                                "# UNIT job_ms ms\n"
                                "job_ms{quantile=\"0.5\"} NaN\n"
                                "job_ms{quantile=\"1.0\"} NaN\n"
                                "job_ms_sum 12\n"
                                "job_ms_count 1\n"
                                "job_ms_created 1700000000.5\n"
                                "# TYPE bare summary\n"
                                "bare_sum 0\n"
                                "bare_count 0\n"
                                "bare_created 1700000000.5\n"
                                "# TYPE c counter\n"
                                "c_total 0\n"
                                "c_created 1700000000.5\n";

static uint64_t wall(void *arg)
{
    (void)arg;
    return 1700000000500ull;
}

Test(registry_summary, text_and_openmetrics_exposition, .init = setup_summary, .fini = teardown)
{
    struct buf text = BUF_INIT, om = BUF_INIT;
    char line[96];

    registry_set_clock(&reg, wall, NULL);
    /* job_ms's only observation leaves its window (10 min, 2 min periods) by the scrape. */
    cr_assert_eq(feed_at("job_ms:12|ms", 1000), STATSD_OK);
    /* 1 to 100 ms in a seconds family, a minute's window that holds them at the scrape. */
    for (int i = 1; i <= 100; i++) {
        snprintf(line, sizeof line, "rpc_duration_seconds:%d|ms|#method:GET", i);
        cr_assert_eq(ingest_at(line, 600000), STATSD_OK);
    }
    render_at(&text, EXPO_TEXT, 601000);
    render_at(&om, EXPO_OPENMETRICS, 601000);
    cr_assert_str_eq(text.ptr, golden_text);
    cr_assert_str_eq(om.ptr, golden_om);
    buf_release(&text);
    buf_release(&om);
}
