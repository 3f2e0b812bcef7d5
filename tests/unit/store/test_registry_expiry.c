/*
 * Expiry never costs a line: a series past its ttl makes room for a new one at the
 * family's cap, at the total cap and at a key's value cap, with a fake clock; the sweep
 * finds nothing to walk in families whose series cannot have expired; memory goes back
 * once the series are gone.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "registry_fixture.h"

#define REFILL 1000000

/* a: the refill's family, 1M series of one capped key; b: a second ttl'd family. */
static const char refill_config[] =
    "{\"limits\": {\"max_series\": 1000010, \"max_series_per_family\": 1000000},"
    " \"families\": ["
    "  {\"name\": \"a\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
    "   \"labels\": [{\"name\": \"id\", \"max_values\": 1000000}]},"
    "  {\"name\": \"b\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
    "   \"labels\": [{\"name\": \"id\", \"max_values\": 1000000}]},"
    "  {\"name\": \"c\", \"type\": \"gauge\","
    "   \"labels\": [{\"name\": \"id\", \"max_values\": 100}]}"
    " ]}";

/* One line a:1|g|#id:<prefix><i> at now, through the full parse as a miss would go. */
static int put(const char *fam, const char *prefix, size_t i, uint64_t now)
{
    char text[64];
    struct statsd_line l;
    int n = snprintf(text, sizeof text, "%s:1|g|#id:%s%zu", fam, prefix, i);

    cr_assert_eq(statsd_parse_line(text, (size_t)n, &l), STATSD_OK);
    return registry_apply(&reg, &l, now);
}

/* The refill of the issue: 1M series, the clock past their ttl, 1M new ones. */
Test(expiry, refill_past_the_ttl_loses_no_line, .fini = teardown, .timeout = 120)
{
    size_t i, capped = 0;

    load(refill_config);
    for (i = 0; i < REFILL; i++)
        cr_assert_eq(put("a", "old", i, 1000), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, 0), REFILL);
    /* The key's value cap (1M) is met first, then the family's series cap. */
    cr_assert_eq(put("a", "new", 0, 1000), STATSD_LABEL_VALUES_CAP,
                 "the caps hold while they live");
    cr_assert_eq(put("a", "new", 0, 6000), STATSD_LABEL_VALUES_CAP, "5 s idle is not past 5 s");
    /* No sweep at all: every new series makes its own room. */
    for (i = 0; i < REFILL; i++)
        capped += put("a", "new", i, 6001) != STATSD_OK;
    cr_assert_eq(capped, 0, "%zu lines lost to the caps", capped);
    cr_assert_eq(registry_family_series(&reg, 0), REFILL);
    cr_assert_eq(registry_label_values(&reg, 0, 0), REFILL, "the old values are freed");
    cr_assert_eq(registry_expired(&reg, 1), REFILL, "freed by reclaim");
    cr_assert_eq(registry_expired(&reg, 0), 0, "and none by a sweep");
    /* Every new series is there, none of the old ones. */
    cr_assert_eq(put("a", "new", REFILL - 1, 6002), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, 0), REFILL);
    cr_assert_eq(put("a", "old", 0, 6002), STATSD_LABEL_VALUES_CAP, "live series hold the caps");
}

/* At the total cap, the expired series of another family make room. */
Test(expiry, total_cap_takes_room_from_any_family_with_a_ttl, .fini = teardown)
{
    static const char json[] = "{\"limits\": {\"max_series\": 100, \"max_series_per_family\": 100},"
                               " \"families\": ["
                               "  {\"name\": \"a\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
                               "   \"labels\": [{\"name\": \"id\", \"max_values\": 100}]},"
                               "  {\"name\": \"b\", \"type\": \"gauge\", \"ttl_seconds\": 60,"
                               "   \"labels\": [{\"name\": \"id\", \"max_values\": 100}]},"
                               "  {\"name\": \"c\", \"type\": \"gauge\","
                               "   \"labels\": [{\"name\": \"id\", \"max_values\": 100}]}"
                               " ]}";
    size_t i;

    load(json);
    for (i = 0; i < 40; i++)
        cr_assert_eq(put("a", "x", i, 1000), STATSD_OK);
    for (i = 0; i < 30; i++)
        cr_assert_eq(put("b", "x", i, 1000), STATSD_OK);
    for (i = 0; i < 30; i++)
        cr_assert_eq(put("c", "x", i, 1000), STATSD_OK);
    cr_assert_eq(registry_series_total(&reg), 100);
    cr_assert_eq(put("c", "y", 0, 6000), STATSD_SERIES_CAP);
    /* a's series expired; b's and c's did not. */
    for (i = 0; i < 40; i++)
        cr_assert_eq(put("c", "y", i, 6001), STATSD_OK, "line %zu", i);
    cr_assert_eq(registry_family_series(&reg, 0), 0);
    cr_assert_eq(registry_family_series(&reg, 1), 30);
    cr_assert_eq(put("c", "z", 0, 6001), STATSD_SERIES_CAP, "live series hold the cap");
}

/* A key's value cap counts the values of live series only. */
Test(expiry, value_cap_takes_room_from_expired_series, .fini = teardown)
{
    static const char json[] = "{\"families\": ["
                               "  {\"name\": \"a\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
                               "   \"labels\": [{\"name\": \"id\", \"max_values\": 10}]}"
                               " ]}";
    size_t i;

    load(json);
    for (i = 0; i < 10; i++)
        cr_assert_eq(put("a", "x", i, 1000), STATSD_OK);
    cr_assert_eq(put("a", "y", 0, 2000), STATSD_LABEL_VALUES_CAP);
    for (i = 0; i < 10; i++)
        cr_assert_eq(put("a", "y", i, 6001), STATSD_OK, "line %zu", i);
    cr_assert_eq(registry_label_values(&reg, 0, 0), 10);
    cr_assert_eq(put("a", "z", 0, 6001), STATSD_LABEL_VALUES_CAP);
}

/* Sweep everything expirable at now; returns the calls it took. */
static size_t sweep_all(uint64_t now, size_t budget)
{
    size_t calls = 0;
    int more = 1;

    while (more) {
        registry_sweep(&reg, now, budget, &more);
        calls++;
        cr_assert_lt(calls, 10000000);
    }
    return calls;
}

/* The sweep walks only families that may hold an expired series. */
Test(expiry, sweep_skips_what_cannot_have_expired, .fini = teardown)
{
    size_t i, calls;
    int more;

    load(refill_config);
    for (i = 0; i < 1000; i++)
        cr_assert_eq(put("a", "x", i, 1000), STATSD_OK);
    /* The first walk learns the bound: 1000 series, 10 a call. */
    cr_assert_geq(sweep_all(6000, 10), 100);
    /* Then nothing can expire before 6001: one call, a lap over the families. */
    registry_sweep(&reg, 6000, 64, &more);
    cr_assert_eq(more, 0);
    cr_assert_eq(registry_series_total(&reg), 1000);
    /* An update raises the series' time, not the bound: the next walk finds them alive. */
    for (i = 0; i < 1000; i++)
        cr_assert_eq(put("a", "x", i, 5000), STATSD_OK);
    cr_assert_geq(sweep_all(6001, 10), 100);
    cr_assert_eq(registry_series_total(&reg), 1000);
    registry_sweep(&reg, 10000, 64, &more);
    cr_assert_eq(more, 0, "the walk raised the bound to 5000");
    calls = sweep_all(10001, 10);
    cr_assert_geq(calls, 100);
    cr_assert_eq(registry_series_total(&reg), 0);
    cr_assert_eq(registry_expired(&reg, 0), 1000, "freed by the sweep");
    cr_assert_eq(registry_expired(&reg, 1), 0);
}

/* Memory goes back once the series are gone: the tables shrink, not only the blocks. */
Test(expiry, memory_falls_to_what_the_survivors_hold, .fini = teardown, .timeout = 60)
{
    size_t i, empty, peak, left, ids;

    load(refill_config);
    for (i = 0; i < 10; i++)
        cr_assert_eq(put("b", "keep", i, 1000), STATSD_OK);
    empty = registry_memory(&reg);
    for (i = 0; i < 100000; i++)
        cr_assert_eq(put("a", "x", i, 1000), STATSD_OK);
    peak = registry_memory(&reg);
    for (i = 0; i < 10; i++)
        cr_assert_eq(put("b", "keep", i, 5000), STATSD_OK);
    sweep_all(6001, 256);
    cr_assert_eq(registry_series_total(&reg), 10);
    left = registry_memory(&reg);
    /* What stays: the key's list of ids (a pointer and a free id per value it held). */
    ids = 131072 * (sizeof(void *) + sizeof(uint32_t));
    cr_assert_leq(left, empty + ids + 8192, "%zu bytes held for 10 series (%zu empty, %zu peak)",
                  left, empty, peak);
    cr_assert_gt(peak, 10 * left);
}

/*
 * Load json, whose family a has a 5 s ttl and whose cap (of series or of a's values) is
 * 4,096, and put 4,096 series in a at 1 s, then update the first 3,072 at 4 s: at 6.5 s
 * the last 1,024 are past their ttl, behind 3,072 live ones in the family's order. Then
 * 1,024 new series of family fam at 6.5 s, as many as expired: no line is lost, and the
 * cap is passed by no more than its slack meanwhile.
 */
static void refill_behind_live(const char *json, const char *fam)
{
    size_t i, capped = 0, most = 0;

    load(json);
    for (i = 0; i < 4096; i++)
        cr_assert_eq(put("a", "x", i, 1000), STATSD_OK);
    for (i = 0; i < 3072; i++)
        cr_assert_eq(put("a", "x", i, 4000), STATSD_OK);
    for (i = 0; i < 1024; i++) {
        capped += put(fam, "new", i, 6500) != STATSD_OK;
        if (registry_series_total(&reg) > most)
            most = registry_series_total(&reg);
    }
    cr_assert_eq(capped, 0, "%zu lines lost to the cap", capped);
    cr_assert_leq(most, 4096 + 4096 / 1024 + 1, "the cap was passed by %zu", most - 4096);
}

/*
 * Expired series behind many live ones in the family's order: each line's reclaim looks
 * at 1,024 series and finds none of them expired at first, yet no line is lost; the cap
 * is passed by no more than its slack meanwhile, and is back under it once the walk has
 * freed the expired ones.
 */
Test(expiry, expired_series_behind_live_ones_cost_no_line, .fini = teardown)
{
    static const char json[] =
        "{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 4096},"
        " \"families\": ["
        "  {\"name\": \"a\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
        "   \"labels\": [{\"name\": \"id\", \"max_values\": 20000}]}"
        " ]}";

    refill_behind_live(json, "a");
    /* Every expired series is gone, every new one is there: the cap, and it holds. */
    cr_assert_eq(registry_family_series(&reg, 0), 4096);
    cr_assert_eq(put("a", "late", 0, 6500), STATSD_SERIES_CAP);
    cr_assert_eq(put("a", "x", 0, 6500), STATSD_OK, "a live series is still there");
}

/* The same at the total cap, the new series in a family without a ttl. */
Test(expiry, at_the_total_cap_expired_series_behind_live_ones_cost_no_line, .fini = teardown)
{
    static const char json[] =
        "{\"limits\": {\"max_series\": 4096, \"max_series_per_family\": 8192},"
        " \"families\": ["
        "  {\"name\": \"a\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
        "   \"labels\": [{\"name\": \"id\", \"max_values\": 20000}]},"
        "  {\"name\": \"b\", \"type\": \"gauge\","
        "   \"labels\": [{\"name\": \"id\", \"max_values\": 20000}]}"
        " ]}";
    size_t i;

    refill_behind_live(json, "b");
    cr_assert_eq(registry_series_total(&reg), 4096);
    /* The walk may need one more line to see that nothing expired is left: past the cap by
     * its slack at most, and then no further. */
    for (i = 0; i < 10; i++)
        (void)put("b", "late", i, 6500);
    cr_assert_leq(registry_series_total(&reg), 4096 + 4096 / 1024 + 1);
    cr_assert_eq(put("b", "later", 0, 6500), STATSD_SERIES_CAP);
}

/*
 * The same at a key's value cap: the family's series cap is far, the key's 4,096 values
 * are the cap. Values of expired series behind live ones cost no line either, the cap is
 * passed by its slack at most meanwhile, and it holds once they are freed.
 */
Test(expiry, at_a_value_cap_expired_series_behind_live_ones_cost_no_line, .fini = teardown)
{
    static const char json[] =
        "{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
        " \"families\": ["
        "  {\"name\": \"a\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
        "   \"labels\": [{\"name\": \"id\", \"max_values\": 4096}]}"
        " ]}";

    refill_behind_live(json, "a");
    /* One key: a series per value. */
    cr_assert_eq(registry_label_values(&reg, 0, 0), 4096);
    cr_assert_eq(put("a", "late", 0, 6500), STATSD_LABEL_VALUES_CAP);
    cr_assert_eq(put("a", "x", 0, 6500), STATSD_OK, "a live series is still there");
}

/* With an overflow value, the values of expired series make room before a value folds. */
Test(expiry, at_a_value_cap_expired_series_make_room_before_a_fold, .fini = teardown)
{
    static const char json[] =
        "{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
        " \"families\": ["
        "  {\"name\": \"a\", \"type\": \"gauge\", \"ttl_seconds\": 5,"
        "   \"labels\": [{\"name\": \"id\", \"max_values\": 4096, \"overflow\": \"other\"}]}"
        " ]}";

    refill_behind_live(json, "a");
    /* No line folded: every new value has a series of its own, the overflow none. */
    cr_assert_eq(registry_family_series(&reg, 0), 4096);
    cr_assert_eq(registry_label_values(&reg, 0, 0), 4097, "4,096 and the overflow value");
    cr_assert_eq(put("a", "late", 0, 6500), STATSD_OK, "folds into the overflow value");
    cr_assert_eq(registry_family_series(&reg, 0), 4097, "the overflow value's series");
}

/*
 * The sweep frees what it finds SWEEP_BATCH at a time (expiry.c): at any budget, every
 * expired series is freed once and every live one is kept, across a batch cut by the
 * budget, by the end of a family and by the end of a lap (b, a small family walked last).
 */
Test(expiry, the_sweep_frees_each_expired_series_once_at_any_budget, .fini = teardown)
{
    static const size_t budgets[] = { 1, 5, 16, 17, 1000 };

    for (size_t k = 0; k < sizeof budgets / sizeof budgets[0]; k++) {
        size_t i, kept = 0;

        load(refill_config);
        for (i = 0; i < 100; i++)
            cr_assert_eq(put("a", "x", i, 1000), STATSD_OK);
        for (i = 0; i < 5; i++)
            cr_assert_eq(put("b", "y", i, 1000), STATSD_OK);
        for (i = 0; i < 100; i += 3, kept++)
            cr_assert_eq(put("a", "x", i, 4000), STATSD_OK);
        sweep_all(6001, budgets[k]);
        cr_assert_eq(registry_family_series(&reg, 0), kept, "budget %zu", budgets[k]);
        cr_assert_eq(registry_family_series(&reg, 1), 0, "budget %zu", budgets[k]);
        cr_assert_eq(registry_expired(&reg, 0), 100 - kept + 5, "budget %zu", budgets[k]);
        cr_assert_eq(registry_label_values(&reg, 0, 0), kept, "budget %zu", budgets[k]);
        /* The kept series are found again, the freed ones made anew. */
        for (i = 0; i < 100; i++)
            cr_assert_eq(put("a", "x", i, 6002), STATSD_OK);
        cr_assert_eq(registry_family_series(&reg, 0), 100);
        cr_assert_eq(registry_series_total(&reg), 100);
        if (k + 1 < sizeof budgets / sizeof budgets[0])
            teardown(); /* the last one is .fini's */
    }
}

/*
 * A walk in flight (a scrape's cursor) stands on a series that the sweep puts in a batch:
 * once the batch is freed the cursor stands on the next series still there, and the rest
 * of its walk shows every kept series after it once, and nothing freed.
 */
Test(expiry, a_cursor_on_a_batched_series_moves_on_to_a_kept_one, .fini = teardown)
{
    struct registry_cursor c;
    struct registry_sample s;
    size_t i, seen = 0;
    char want[16];

    load(refill_config);
    for (i = 0; i < 100; i++)
        cr_assert_eq(put("a", "x", i, 1000), STATSD_OK);
    for (i = 0; i < 100; i += 3)
        cr_assert_eq(put("a", "x", i, 4000), STATSD_OK);
    registry_cursor_init(&c, &reg);
    for (i = 0; i < 5; i++) /* x0 to x4 seen: the cursor stands on x5, which expires */
        cr_assert(registry_cursor_next(&c, &s));
    sweep_all(6001, 17);
    /* The kept series after x4: x6, x9, ..., x99, in order, each once. */
    for (i = 6; registry_cursor_next(&c, &s); i += 3, seen++) {
        snprintf(want, sizeof want, "x%zu", i);
        cr_assert_eq(s.family, 0);
        cr_assert_eq(s.nlabels, 1);
        cr_assert_eq(s.labels[0].value_len, strlen(want), "series %zu of the walk", seen);
        cr_assert_eq(memcmp(s.labels[0].value, want, strlen(want)), 0, "want %s", want);
    }
    cr_assert_eq(seen, 32, "%zu kept series after x4", seen);
    registry_cursor_release(&c);
}
