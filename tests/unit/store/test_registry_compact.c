#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "registry_fixture.h"

/*
 * After a mass expiry the sweep compacts: the survivors' blocks and label values move out
 * of the emptiest slab pages, which go back. Nothing may go astray: every survivor keeps
 * its value and its place in its family's order, a cached line still reaches it (the
 * front cache's way followed the block), a full lookup finds it (the table's slot
 * followed), its label value is still interned once, and a cursor standing on a series
 * that moved goes on from where it stood.
 */
enum { N = 60000, KEEP = 10 };

static const char config[] =
    "{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
    " \"families\": [{\"name\": \"g\", \"type\": \"gauge\", \"ttl_seconds\": 1,"
    "  \"labels\": [{\"name\": \"id\", \"max_values\": 100000}]}]}";

static void line(char *out, size_t cap, size_t i, double v)
{
    snprintf(out, cap, "g:%.2f|g|#id:value-number-%zu", v, i);
}

/* Sweep at now until the sweep, compaction included, says it is done. */
static void sweep_all(uint64_t now)
{
    int more = 1;

    for (size_t calls = 0; more; calls++) {
        registry_sweep(&reg, now, 256, &more);
        cr_assert_lt(calls, 100000, "the sweep does not end");
    }
}

Test(registry_compact, a_mass_expiry_moves_survivors_and_gives_pages_back, .fini = teardown)
{
    char text[96];
    struct registry_cursor c;
    struct registry_sample s;
    size_t blocks_peak, values_peak, seen, walked = 0;

    load(config);
    for (size_t i = 0; i < N; i++) {
        line(text, sizeof text, i, (double)i);
        cr_assert_eq(ingest_at(text, 1000), STATSD_OK);
        cr_assert_eq(ingest_at(text, 1000), STATSD_OK); /* the second: a front-cache hit */
    }
    for (size_t i = 0; i < N; i += KEEP) {
        line(text, sizeof text, i, (double)i);
        cr_assert_eq(ingest_at(text, 1800), STATSD_OK);
    }
    blocks_peak = slab_footprint(&reg.blocks);
    values_peak = slab_footprint(&reg.values);
    /* A cursor stands on a survivor in the middle of the list while everything moves. */
    registry_cursor_init(&c, &reg);
    while (walked < N / 2 && registry_cursor_next(&c, &s))
        walked++;
    sweep_all(2600);
    cr_assert_eq(registry_series_total(&reg), N / KEEP);
    cr_assert_lt(slab_footprint(&reg.blocks), blocks_peak / 4, "%zu of %zu bytes of blocks kept",
                 slab_footprint(&reg.blocks), blocks_peak);
    cr_assert_lt(slab_footprint(&reg.values), values_peak / 4, "%zu of %zu bytes of values kept",
                 slab_footprint(&reg.values), values_peak);
    /* The cursor goes on in order, to the last survivor, none twice. */
    seen = 0;
    while (registry_cursor_next(&c, &s)) {
        cr_assert_eq((size_t)s.value % KEEP, 0, "the cursor reached a freed series");
        cr_assert_geq(s.value, (double)(N / 2), "the cursor went back");
        seen++;
    }
    cr_assert_eq(seen, N / 2 / KEEP, "the cursor saw %zu of the second half's survivors", seen);
    registry_cursor_release(&c);
    /* Every survivor: its value, a cached line, a full lookup, the same label value. */
    for (size_t i = 0; i < N; i += KEEP) {
        char labels[64];

        snprintf(labels, sizeof labels, "id=value-number-%zu", i);
        if (i % (KEEP * 10) == 0) /* a walk of the whole family each */
            cr_assert_float_eq(value_of(0, labels), (double)i, 1e-9, "series %zu", i);
        line(text, sizeof text, i, (double)i + 0.5);
        cr_assert_eq(registry_apply_raw(&reg, text, strlen(text), 2600), STATSD_OK,
                     "series %zu: its cached line missed", i);
        line(text, sizeof text, i, (double)i + 0.25);
        cr_assert_eq(feed_at(text, 2600), STATSD_OK);
        if (i % (KEEP * 10) == 0)
            cr_assert_float_eq(value_of(0, labels), (double)i + 0.25, 1e-9, "series %zu", i);
    }
    cr_assert_eq(registry_series_total(&reg), N / KEEP, "a survivor was created again");
    cr_assert_eq(registry_label_values(&reg, 0, 0), N / KEEP, "a value was interned again");
}
