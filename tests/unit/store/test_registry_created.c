/*
 * When the registry's series were created: each dated once by the registry's clock, kept
 * or renewed by a reload, and the precreated combinations of a family's declared values,
 * at zero from the start and on each reload that adds some.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config/cfgclient.h"
#include "reload_fixture.h"

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
