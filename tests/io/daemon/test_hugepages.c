/*
 * hugepages on a real loop and background thread: every full region and settled table the
 * registry hands out is collapsed (or refused by the kernel) one at a time, each done
 * callback starting the next, until none waits; the series are untouched; and a poke
 * while a collapse runs starts no second one.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "base/bgwork.h"
#include "config/cfgload.h"
#include "daemon/hugepages.h"
#include "store/registry.h"

enum { N = 150000 };

static const char config[] =
    "{\"limits\": {\"max_series\": 200000, \"max_series_per_family\": 200000},"
    " \"families\": [{\"name\": \"c\", \"type\": \"counter\","
    "  \"labels\": [{\"name\": \"id\", \"max_values\": 200000}]}]}";

Test(hugepages, every_ripe_range_is_collapsed_in_turn_off_the_loop)
{
    uv_loop_t loop;
    struct bgwork bg;
    struct config cfg;
    struct registry reg;
    struct hugepages h;
    char err[256], text[64];
    struct registry_cursor c;
    struct registry_sample s;
    size_t seen = 0;
    void *base;
    size_t len;

    cr_assert_eq(cfgload_text(&cfg, config, strlen(config), "test", err, sizeof err), 0, "%s", err);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
    for (size_t i = 0; i < N; i++) {
        struct statsd_line l;

        snprintf(text, sizeof text, "c:1|c|#id:s%zu", i);
        cr_assert_eq(statsd_parse_line(text, strlen(text), &l), STATSD_OK);
        cr_assert_eq(registry_apply(&reg, &l, 1000), STATSD_OK);
    }
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(bgwork_init(&bg, &loop, NULL, "test-huge"), 0);
    hugepages_init(&h, &bg, &reg);

    hugepages_poke(&h);
    cr_assert_eq(h.busy, 1, "a collapse runs");
    hugepages_poke(&h);
    cr_assert_eq(h.busy, 1);
    while (h.busy)
        uv_run(&loop, UV_RUN_ONCE);
    /* 150,000 series of about 90 bytes: six full regions of blocks at least. */
    cr_assert_geq(h.collapsed + h.refused, 6, "%llu collapsed, %llu refused",
                  (unsigned long long)h.collapsed, (unsigned long long)h.refused);
    cr_assert_eq(registry_ripe(&reg, &base, &len), 0, "every ripe range was taken");
    hugepages_poke(&h);
    cr_assert_eq(h.busy, 0, "nothing to do, nothing queued");

    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s)) {
        cr_assert_eq(s.value, 1.0);
        seen++;
    }
    registry_cursor_release(&c);
    cr_assert_eq(seen, N);

    bgwork_close(&bg);
    uv_run(&loop, UV_RUN_DEFAULT);
    bgwork_release(&bg);
    cr_assert_eq(uv_loop_close(&loop), 0);
    registry_release(&reg);
    cfgload_release(&cfg);
}
