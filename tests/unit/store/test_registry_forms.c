/*
 * The registry's second spellings: an up-down gauge fed by counter lines (signed deltas,
 * as datadog-go's Count, Incr and Decr send them), on the full path and on the cached
 * one, and a family reached by its name without the unit (its OpenTelemetry name).
 */
#include "registry_fixture.h"

TestSuite(registry_forms, .init = setup, .fini = teardown);

Test(registry_forms, an_up_down_gauge_takes_counter_lines_as_deltas_on_both_paths)
{
    /* Each twice: the first line is parsed in full and cached, the second is a hit. */
    static const char *const lines[] = {
        "queue_depth:5|g|#queue:a",   "queue_depth:1|c|#queue:a",  "queue_depth:1|c|#queue:a",
        "queue_depth:-1|c|#queue:a",  "queue_depth:-1|c|#queue:a", "queue_depth:+3|c|#queue:a",
        "queue_depth:-10|c|#queue:a", "queue-depth:2|c|#queue:a",  "queue_depth:2.5|c|#queue:a",
    };
    double want = 0;

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        cr_assert_eq(ingest_at(lines[i], 1000 + i), STATSD_OK, "%s", lines[i]);
    want = 5 + 1 + 1 - 1 - 1 + 3 - 10 + 2 + 2.5;
    cr_assert_float_eq(value_of(F_QUEUE, "queue=a"), want, 1e-9);
    /*
     * A series keeps the identity it was first cached under (the |g line above): a series
     * an up-down counter line creates is served from the front cache from then on.
     */
    cr_assert_eq(ingest_at("queue_depth:1|c|#queue:c", 2000), STATSD_OK);
    cr_assert_eq(registry_apply_raw(&reg, "queue_depth:1|c|#queue:c", 24, 2001), STATSD_OK);
    cr_assert_eq(registry_apply_raw(&reg, "queue_depth:-4|c|#queue:c", 25, 2002), STATSD_OK);
    cr_assert_eq(registry_apply_raw(&reg, "queue_depth:+0.5|c|#queue:c", 27, 2003), STATSD_OK);
    cr_assert_float_eq(value_of(F_QUEUE, "queue=c"), 1 + 1 - 4 + 0.5, 1e-9);
}

Test(registry_forms, a_counter_line_on_an_up_down_gauge_is_scaled_by_its_rate)
{
    cr_assert_eq(ingest_at("queue_depth:1|c|@0.5|#queue:b", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("queue_depth:1|c|@0.5|#queue:b", 1001), STATSD_OK); /* cached */
    cr_assert_eq(ingest_at("queue_depth:-1|c|@0.25|#queue:b", 1002), STATSD_OK);
    cr_assert_float_eq(value_of(F_QUEUE, "queue=b"), 2 + 2 - 4, 1e-9);
}

/* Only an up-down gauge: the others refuse a counter line as before. */
Test(registry_forms, other_gauges_and_counters_keep_their_reasons)
{
    static const char json[] = "{\"families\": ["
                               " {\"name\": \"temp\", \"type\": \"gauge\"},"
                               " {\"name\": \"hits\", \"type\": \"counter\"},"
                               " {\"name\": \"depth\", \"type\": \"gauge\", \"updown\": true}]}";

    teardown();
    load(json);
    cr_assert_eq(ingest_at("temp:1|c", 1000), STATSD_TYPE_MISMATCH);
    cr_assert_eq(ingest_at("temp:-1|c", 1000), STATSD_TYPE_MISMATCH);
    cr_assert_eq(ingest_at("hits:-1|c", 1000), STATSD_NEGATIVE_COUNTER);
    cr_assert_eq(ingest_at("depth:-1|c", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("depth:1|ms", 1000), STATSD_TYPE_MISMATCH);
    cr_assert_eq(ingest_at("depth:1e308|c", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("depth:1e308|c", 1000), STATSD_NON_FINITE); /* cached: no infinity */
    cr_assert_float_eq(value_of(2, ""), 1e308 - 1, 1e292);
}

Test(registry_forms, a_family_with_a_unit_takes_its_name_without_it)
{
    static const uint64_t want[] = { 1, 1, 1, 0 };

    /* latency_seconds, a histogram in seconds, as OpenTelemetry names it. */
    cr_assert_eq(ingest_at("latency:0.05|h|#route:/a", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("latency:0.2|h|#route:/a", 1001), STATSD_OK);
    cr_assert_eq(ingest_at("latency:0.2|h|#route:/a", 1002), STATSD_OK); /* cached */
    cr_assert_eq(ingest_at("latency_seconds:0.7|h|#route:/a", 1003), STATSD_OK);
    cr_assert_eq(ingest_at("latency:0.7|h|#route:/a", 1004), STATSD_OK); /* a second spelling */
    assert_hist(F_LATENCY, "route=/a", (const uint64_t[]){ 1, 2, 2, 0 }, 4, 0.05 + 0.4 + 1.4);
    /* proc_ms's unit is "milliseconds", which its name does not end in: no second name. */
    cr_assert_eq(ingest_at("proc:5|ms", 1000), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(ingest_at("proc_ms:5|ms", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("proc.ms:50|ms", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("proc_ms:500|ms", 1000), STATSD_OK);
    assert_hist(F_PROC, "", want, 3, 555);
    /* Never with "_total", nor for a family without a unit. */
    cr_assert_eq(ingest_at("latency_total:1|h", 1000), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(ingest_at("upload:1|c", 1000), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(registry_find_family(&reg, "latency", 7), F_LATENCY);
}

Test(registry_forms, dotted_open_telemetry_names_reach_a_counter_in_bytes)
{
    static const char json[] = "{\"families\": ["
                               " {\"name\": \"objectstore.bytes_total\", \"type\": \"counter\","
                               "  \"unit\": \"bytes\"},"
                               " {\"name\": \"http.server.request.duration_seconds\","
                               "  \"type\": \"histogram\", \"buckets\": [0.1, 1]},"
                               " {\"name\": \"size_seconds\", \"type\": \"histogram\"},"
                               " {\"name\": \"size\", \"type\": \"gauge\"}]}";

    teardown();
    load(json);
    cr_assert_eq(ingest_at("objectstore:512|c", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("objectstore_bytes_total:512|c", 1000), STATSD_OK);
    cr_assert_float_eq(value_of(0, ""), 1024, 1e-9);
    cr_assert_eq(ingest_at("http.server.request.duration:0.2|h", 1000), STATSD_OK);
    assert_hist(1, "", (const uint64_t[]){ 0, 1, 0 }, 3, 0.2);
    /* Exact names win: "size" is the gauge's, never the histogram's. */
    cr_assert_eq(ingest_at("size:3|g", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("size:3|h", 1000), STATSD_TYPE_MISMATCH);
    cr_assert_float_eq(value_of(3, ""), 3, 1e-9);
}

/* A reload that takes a name from an alias: the cache forgets, the exact name wins. */
Test(registry_forms, a_reload_gives_an_alias_to_the_family_that_takes_the_name)
{
    static const char json[] = "{\"families\": ["
                               " {\"name\": \"latency_seconds\", \"type\": \"histogram\","
                               "  \"buckets\": [0.1, 0.5, 1],"
                               "  \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
                               " {\"name\": \"latency\", \"type\": \"gauge\","
                               "  \"labels\": [{\"name\": \"route\", \"max_values\": 5}]}]}";
    struct config next;
    struct registry_reload rr;
    char err[512];

    cr_assert_eq(ingest_at("latency:0.2|h|#route:/a", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("latency:0.2|h|#route:/a", 1000), STATSD_OK);
    cr_assert_eq(cfgload_text(&next, json, strlen(json), "next", err, sizeof(err)), 0, "%s", err);
    registry_reconfigure(&reg, &next, &rr);
    /* latency_seconds (and the client telemetry families) kept, the gauge added. */
    cr_assert(rr.added == 1 && rr.reset == 0, "added %zu reset %zu", rr.added, rr.reset);
    cr_assert_eq(ingest_at("latency:0.2|h|#route:/a", 1000), STATSD_TYPE_MISMATCH);
    cr_assert_eq(ingest_at("latency:7|g|#route:/a", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("latency_seconds:0.2|h|#route:/a", 1000), STATSD_OK);
    registry_reconfigure(&reg, &cfg, &rr);
    cfgload_release(&next);
}
