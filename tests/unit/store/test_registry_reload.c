/*
 * Reloading the registry's config: what the new allowlist still allows is carried over,
 * a family whose layout changes is reset, cached lines are checked again, a walk in
 * progress neither repeats nor skips a kept family, and slots and memory are reused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config/cfgclient.h"
#include "reload_fixture.h"

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
        while (registry_draining(&reg))
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

/*
 * A retired family whose key held 300,000 values: once its series are freed, its tables
 * (ids and hash slots, several MB) are given back a step a drain call, never more than
 * COUNTED_RELEASE_STEP at once, and at the end all of it.
 */
Test(registry, a_big_retired_familys_tables_go_back_a_step_a_call, .fini = teardown_reload)
{
    static const char *const configs[2] = {
        "{\"limits\": {\"max_series\": 400000, \"max_series_per_family\": 400000},"
        " \"families\": [{\"name\": \"x\", \"type\": \"counter\"},"
        " {\"name\": \"big\", \"type\": \"gauge\","
        "  \"labels\": [{\"name\": \"k\", \"max_values\": 400000}]}]}",
        "{\"limits\": {\"max_series\": 400000, \"max_series_per_family\": 400000},"
        " \"families\": [{\"name\": \"x\", \"type\": \"counter\"}]}",
    };
    enum { N = 300000 };
    size_t before, steps = 0, worst = 0;
    char line[64];

    load(configs[0]);
    cr_assert_eq(feed("x:1|c"), STATSD_OK);
    before = registry_memory(&reg);
    for (int k = 0; k < N; k++) {
        snprintf(line, sizeof line, "big:%d|g|#k:v%d", k, k);
        cr_assert_eq(feed(line), STATSD_OK, "%s", line);
    }
    reload_into(&reload_cfg[0], &cfg, configs[1]);
    while (registry_series_retired(&reg) > 0)
        registry_drain(&reg, 256);
    cr_assert(registry_draining(&reg), "the tables are still held");
    while (registry_draining(&reg)) {
        size_t m = registry_memory(&reg);

        cr_assert_eq(registry_drain(&reg, 256), 0, "no series is left to free");
        cr_assert_leq(registry_memory(&reg), m);
        if (m - registry_memory(&reg) > worst)
            worst = m - registry_memory(&reg);
        steps++;
        cr_assert_lt(steps, 1000);
    }
    cr_assert_leq(worst, COUNTED_RELEASE_STEP, "%zu bytes given back in one call", worst);
    cr_assert_gt(steps, 2, "%zu steps", steps);
    /* The series table, front cache and slabs' pages are the sweep's to shrink. */
    for (int more = 1, i = 0; more; i++) {
        registry_sweep(&reg, 1000, 4096, &more);
        cr_assert_lt(i, 100000);
    }
    cr_assert_leq(registry_memory(&reg), before + 4096, "%zu bytes held, %zu before the family",
                  registry_memory(&reg), before);
    cr_assert_eq(value_of(fam("x"), ""), 1);
}

/* A histogram's native block is part of its layout: the same keeps it, a change resets it. */
Test(registry, a_native_block_changed_resets_the_histogram, .fini = teardown_reload)
{
    static const char *const configs[3] = {
        "{\"families\": [{\"name\": \"h_seconds\", \"type\": \"histogram\","
        "  \"native\": {\"schema\": 3}}]}",
        "{\"families\": [{\"name\": \"h_seconds\", \"type\": \"histogram\", \"help\": \"v2\","
        "  \"native\": {\"schema\": 3, \"max_buckets\": 160}}]}",
        "{\"families\": [{\"name\": \"h_seconds\", \"type\": \"histogram\","
        "  \"native\": {\"schema\": 2}}]}",
    };
    struct registry_reload rr;

    load(configs[0]);
    cr_assert_eq(feed("h_seconds:0.5|h"), STATSD_OK);
    rr = reload_into(&reload_cfg[0], &cfg, configs[1]);
    cr_assert_eq(rr.reset, 0, "the defaults spelt out are the same block");
    cr_assert_eq(registry_series_retired(&reg), 0);
    rr = reload_into(&reload_cfg[1], &reload_cfg[0], configs[2]);
    cr_assert_eq(rr.reset, 1, "another schema");
    cr_assert_eq(registry_series_retired(&reg), 1, "the observed series goes");
}
