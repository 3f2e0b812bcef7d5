/*
 * hugepages on a real loop and background threads: each poke takes one range the registry
 * hands out and collapses it (or counts the kernel's refusal) on the thread, each page
 * warmed first on a second thread where one is given, and a poke
 * while one runs starts no second; poked until none waits, every range handed out is
 * accounted for and the series are untouched. With collapses not allowed (the kernel's
 * mode "never"), a poke takes nothing. The mode file's reading, on files of each mode.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "base/bgwork.h"
#include "base/slab.h"
#include "config/cfgload.h"
#include "daemon/hugepages.h"
#include "store/registry.h"

enum { N = 150000 };

static const char config[] =
    "{\"limits\": {\"max_series\": 400000, \"max_series_per_family\": 400000},"
    " \"families\": [{\"name\": \"c\", \"type\": \"counter\","
    "  \"labels\": [{\"name\": \"id\", \"max_values\": 400000}]}]}";

/* The loop, the thread and the registry under test. */
static uv_loop_t loop;
static struct bgwork bg, warm;
static struct config cfg;
static struct registry reg;

/* The registry under test: n counter series, one line each. */
static void fill(size_t n)
{
    char err[256], text[64];

    cr_assert_eq(cfgload_text(&cfg, config, strlen(config), "test", err, sizeof err), 0, "%s", err);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
    for (size_t i = 0; i < n; i++) {
        struct statsd_line l;

        snprintf(text, sizeof text, "c:1|c|#id:s%zu", i);
        cr_assert_eq(statsd_parse_line(text, strlen(text), &l), STATSD_OK);
        cr_assert_eq(registry_apply(&reg, &l, 1000), STATSD_OK);
    }
}

static void start_with(size_t n)
{
    fill(n);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(bgwork_init(&bg, &loop, NULL, "test-huge"), 0);
    cr_assert_eq(bgwork_init(&warm, &loop, NULL, "test-warm"), 0);
    bgwork_idle(&warm);
}

static void start(void)
{
    start_with(N);
}

static void finish(void)
{
    bgwork_close(&bg);
    bgwork_close(&warm);
    uv_run(&loop, UV_RUN_DEFAULT);
    bgwork_release(&bg);
    bgwork_release(&warm);
    cr_assert_eq(uv_loop_close(&loop), 0);
    registry_release(&reg);
    cfgload_release(&cfg);
}

Test(hugepages, every_ripe_range_is_collapsed_in_turn_off_the_loop)
{
    struct hugepages h;
    struct registry_cursor c;
    struct registry_sample s;
    size_t seen = 0, pokes = 0;
    void *base;
    size_t len;

    start();
    hugepages_init(&h, &bg, &warm, &reg, 1, NULL, NULL);

    hugepages_poke(&h);
    cr_assert_eq(h.busy, 1, "a collapse runs");
    cr_assert_eq(h.count.handed, 1);
    hugepages_poke(&h);
    cr_assert_eq(h.count.handed, 1, "no second range while one is under way");
    while (h.busy)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(h.count.collapsed + h.count.refused, 1);
    /* As the expiry tick does: a poke, then the loop until it is done, until none waits. */
    for (;;) {
        uint64_t before = h.count.handed;

        hugepages_poke(&h);
        if (h.count.handed == before)
            break;
        while (h.busy)
            uv_run(&loop, UV_RUN_ONCE);
        cr_assert_lt(++pokes, 10000);
    }
    hugepages_poke(&h);
    cr_assert_eq(h.busy, 0, "nothing waits, nothing is queued");
    cr_assert_eq(registry_ripe(&reg, &base, &len), 0, "every ripe range was taken");
    /* 150,000 series of about 90 bytes: six full regions of blocks at least. */
    cr_assert_geq(h.count.handed, 6, "%llu ranges", (unsigned long long)h.count.handed);
    cr_assert_eq(h.count.collapsed + h.count.refused, h.count.handed,
                 "%llu collapsed, %llu refused of %llu", (unsigned long long)h.count.collapsed,
                 (unsigned long long)h.count.refused, (unsigned long long)h.count.handed);

    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s)) {
        cr_assert_eq(s.value, 1.0);
        seen++;
    }
    registry_cursor_release(&c);
    cr_assert_eq(seen, N);
    /* Each page was warmed first, on the warming thread. */
    cr_assert(warm.started, "the warming thread ran");
    cr_assert(bg.started, "the collapsing thread ran");
    cr_assert_gt(h.count.collapsed_bytes, 0, "%llu collapsed, %llu refused",
                 (unsigned long long)h.count.collapsed, (unsigned long long)h.count.refused);

    finish();
}

static int hold_now;

static int held(void *arg)
{
    (void)arg;
    return hold_now;
}

/* Poke, as the expiry tick does, until a range of more than one page is under way. */
static void until_a_big_range(struct hugepages *h)
{
    for (;;) {
        hugepages_poke(h);
        cr_assert_eq(h->busy, 1, "no range of more than a page was handed out");
        if (h->len > SLAB_REGION)
            return;
        while (h->busy)
            uv_run(&loop, UV_RUN_ONCE);
    }
}

/*
 * A range is collapsed a 2 MiB page a request, the next right after the last while held()
 * says nothing holds it back: once it does, the page under way is the last until a poke,
 * which goes on with the same range (no new one handed out); then, not held, the rest
 * follows from that one poke.
 */
Test(hugepages, a_range_goes_a_page_at_a_time_and_waits_while_held)
{
    struct hugepages h;
    uint64_t handed;

    start_with(2 * N); /* the series table over 6 MiB: a range of two pages or more */
    hugepages_init(&h, &bg, NULL, &reg, 1, held, NULL);
    hold_now = 0;
    until_a_big_range(&h); /* the blocks' regions are one page each; the tables come after */
    handed = h.count.handed;
    hold_now = 1;
    while (h.busy)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(h.done, SLAB_REGION, "one page, then held");
    cr_assert_not_null(h.base, "the rest of the range waits");
    hugepages_poke(&h); /* as the tick does: held, nothing starts */
    cr_assert_eq(h.busy, 0, "a page started while held");
    cr_assert_eq(h.done, SLAB_REGION);
    hold_now = 0;
    hugepages_poke(&h); /* nothing holds it back now */
    cr_assert_eq(h.count.handed, handed, "a new range before this one was done");
    cr_assert_eq(h.busy, 1);
    while (h.busy)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_null(h.base, "not held, the pages followed each other to the range's end");
    cr_assert_eq(h.count.handed, handed);
    cr_assert_eq(h.count.collapsed + h.count.refused, handed);
    cr_assert_eq(h.count.collapsed_bytes % SLAB_REGION, 0);
    finish();
}

/*
 * Held while its page is warmed: the page waits, not counted, and a later poke warms it
 * again and collapses it. A region of series (the first ranges handed out) is tried, never
 * given up for want of a table that holds it.
 */
Test(hugepages, a_page_held_while_it_is_warmed_waits_and_is_tried)
{
    struct hugepages h;
    void *base;

    start();
    hugepages_init(&h, &bg, &warm, &reg, 1, held, NULL);
    hold_now = 0;
    hugepages_poke(&h);
    cr_assert_eq(h.busy, 1, "the warming runs");
    cr_assert_eq(h.table, 0, "the first range is a region of series");
    base = h.base;
    hold_now = 1;
    while (h.busy)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(h.warmed, 0, "held: no collapse after the warming");
    cr_assert_eq(h.base, base, "the page waits");
    cr_assert_eq(h.count.collapsed + h.count.refused, 0);
    cr_assert(!bg.started, "nothing was collapsed");
    hold_now = 0;
    hugepages_poke(&h);
    cr_assert_eq(h.busy, 1);
    while (h.busy)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert(bg.started, "the region was tried");
    cr_assert_null(h.base);
    cr_assert_eq(h.count.collapsed + h.count.refused, 1);
    cr_assert_eq(h.count.handed, 1);
    finish();
}

/* What is left of a held range is given up once the store no longer holds it there. */
Test(hugepages, a_held_range_the_store_freed_is_given_up)
{
    struct hugepages h;
    uint64_t handed, refused;
    size_t bytes;

    start_with(2 * N);
    hugepages_init(&h, &bg, NULL, &reg, 1, held, NULL);
    hold_now = 0;
    until_a_big_range(&h);
    hold_now = 1;
    while (h.busy)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_not_null(h.base);
    cr_assert_eq(registry_range_live(&reg, h.base + h.done, h.len - h.done), 1);
    handed = h.count.handed;
    refused = h.count.refused;
    bytes = (size_t)h.count.collapsed_bytes;
    registry_reset(&reg); /* its tables freed */
    cr_assert_eq(registry_range_live(&reg, h.base + h.done, h.len - h.done), 0);
    hold_now = 0;
    hugepages_poke(&h);
    cr_assert_eq(h.busy, 0, "a page of a freed table was asked for");
    cr_assert_null(h.base);
    cr_assert_eq(h.count.handed, handed);
    cr_assert_eq(h.count.refused, refused + 1, "the range given up counts as refused");
    cr_assert_eq(h.count.collapsed_bytes, bytes);
    finish();
}

Test(hugepages, nothing_is_taken_where_collapses_are_not_allowed)
{
    struct hugepages h;
    void *base;
    size_t len;

    start();
    hugepages_init(&h, &bg, NULL, &reg, 0, NULL, NULL);
    hugepages_poke(&h);
    cr_assert_eq(h.busy, 0);
    cr_assert_eq(h.count.handed, 0);
    cr_assert_eq(registry_ripe(&reg, &base, &len), 1, "the ranges are still there");
    finish();
}

/* hugepages_allowed(), or hugepages_size_fits(), on a file of the kernel's format. */
static int file_says(const char *text, int (*read)(const char *))
{
    char path[] = "/tmp/ustatsd-thp-XXXXXX";
    int fd = mkstemp(path), ok;

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ok = read(path);
    unlink(path);
    return ok;
}

static int allowed_by(const char *text)
{
    return file_says(text, hugepages_allowed);
}

Test(hugepages, the_kernels_mode_decides)
{
    cr_assert_eq(allowed_by("always [madvise] never\n"), 1);
    cr_assert_eq(allowed_by("[always] madvise never\n"), 1);
    cr_assert_eq(allowed_by("always madvise [never]\n"), 0);
    cr_assert_eq(allowed_by(""), 0);
    cr_assert_eq(hugepages_allowed("/nonexistent/transparent_hugepage/enabled"), 0);
}

/* Only a 2 MiB huge page is the store's region: a 512 MiB one (64 KiB base pages) is not. */
Test(hugepages, only_a_huge_page_of_the_regions_size)
{
    cr_assert_eq(file_says("2097152\n", hugepages_size_fits), 1);
    cr_assert_eq(file_says("536870912\n", hugepages_size_fits), 0);
    cr_assert_eq(file_says("1073741824\n", hugepages_size_fits), 0);
    cr_assert_eq(file_says("", hugepages_size_fits), 0);
    cr_assert_eq(hugepages_size_fits("/nonexistent/transparent_hugepage/hpage_pmd_size"), 1,
                 "a kernel without the file has 2 MiB huge pages");
}
