#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/slab.h"
#include "registry_fixture.h"

/*
 * What registry_ripe() hands out to be put in huge pages: the full regions of the series'
 * blocks and label values, and the front cache's and series table's whole 2 MiB pages
 * once they settled, never overlapping (so none twice); and a collapse of them all
 * changes nothing the registry holds.
 */
enum { N = 300000, MAXR = 512 };

static const char config[] =
    "{\"limits\": {\"max_series\": 400000, \"max_series_per_family\": 400000},"
    " \"families\": [{\"name\": \"c\", \"type\": \"counter\","
    "  \"labels\": [{\"name\": \"id\", \"max_values\": 400000}]}]}";

static void line(char *out, size_t cap, size_t i)
{
    snprintf(out, cap, "c:%zu|c|#id:series-%zu", i % 7 + 1, i);
}

/* Whether [p, p + n) lies within [lo, lo + len). */
static int within(const void *p, size_t n, const void *lo, size_t len)
{
    return (uintptr_t)p >= (uintptr_t)lo && (uintptr_t)p + n <= (uintptr_t)lo + len;
}

Test(registry_hugepages, settled_memory_is_handed_out_once_and_a_collapse_changes_nothing,
     .fini = teardown)
{
    static void *base[MAXR];
    static size_t len[MAXR];
    char text[64];
    size_t n = 0, hot_pages = 0, table_pages = 0;
    const size_t huge = (size_t)2 << 20;
    void *b;
    size_t l, seen = 0;
    struct registry_cursor c;
    struct registry_sample sm;
    int more = 1;

    load(config);
    for (size_t i = 0; i < N; i++) {
        line(text, sizeof text, i);
        cr_assert_eq(ingest_at(text, 1000), STATSD_OK);
        cr_assert_eq(ingest_at(text, 1000), STATSD_OK);
    }
    /* The sweep finishes the tables' moves (nothing expires: no ttl). */
    for (size_t calls = 0; more; calls++) {
        registry_sweep(&reg, 1000, 256, &more);
        cr_assert_lt(calls, 100000);
    }
    while (registry_ripe(&reg, &b, &l)) {
        cr_assert_lt(n, MAXR);
        base[n] = b;
        len[n++] = l;
    }
    /* 300,000 series of about 100 bytes fill a dozen regions of blocks at least. */
    cr_assert_geq(n, 12, "%zu ranges", n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq((uintptr_t)base[i] % huge, 0, "range %zu is not on a 2 MiB page", i);
        cr_assert_eq(len[i] % huge, 0);
        cr_assert_gt(len[i], 0);
        for (size_t j = 0; j < i; j++)
            cr_assert((uintptr_t)base[i] + len[i] <= (uintptr_t)base[j] ||
                          (uintptr_t)base[j] + len[j] <= (uintptr_t)base[i],
                      "ranges %zu and %zu overlap", i, j);
        if (within(base[i], len[i], reg.hot.sets, reg.hot.n * sizeof *reg.hot.sets))
            hot_pages += len[i] / huge;
        if (within(base[i], len[i], reg.series.slots, reg.series.n * sizeof *reg.series.slots))
            table_pages += len[i] / huge;
    }
    /* Every whole 2 MiB page of each table (it settled: no move is under way). */
    cr_assert_null(reg.hot.old);
    cr_assert_null(reg.series.old);
    cr_assert_geq(hot_pages, (reg.hot.n * sizeof *reg.hot.sets - huge) / huge,
                  "the front cache's pages: %zu", hot_pages);
    cr_assert_gt(hot_pages, 0);
    cr_assert_gt(table_pages, 0);
    cr_assert_geq(table_pages, (reg.series.n * sizeof *reg.series.slots - huge) / huge,
                  "the series table's pages: %zu", table_pages);

    /* Done or refused (no huge page free, an older kernel): either way nothing changes. */
    for (size_t i = 0; i < n; i++)
        (void)slab_collapse(base[i], len[i]);
    /* Every series is still there, and still found by its cached line. */
    for (size_t i = 0; i < N; i += 97) {
        line(text, sizeof text, i);
        cr_assert_eq(ingest_at(text, 2000), STATSD_OK);
    }
    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &sm)) {
        char id[32];
        size_t i;
        double k;

        snprintf(id, sizeof id, "%.*s", (int)sm.labels[0].value_len, sm.labels[0].value);
        cr_assert_eq(sscanf(id, "series-%zu", &i), 1, "%s", id);
        k = i % 97 == 0 ? 3.0 : 2.0;
        cr_assert_eq(sm.value, k * (double)(i % 7 + 1), "series %zu: %g", i, sm.value);
        seen++;
    }
    registry_cursor_release(&c);
    cr_assert_eq(seen, N);
}
