#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http/routes.h"

static struct routes t;

static void setup(void)
{
    routes_init(&t);
}

static void teardown(void)
{
    routes_release(&t);
}

TestSuite(routes, .init = setup, .fini = teardown);

/* What routes_foreach() reported, in order. */
struct seen {
    struct {
        char name[32];
        unsigned code;
        uint64_t count;
    } v[64];
    size_t n;
};

static void collect(const char *name, unsigned code, uint64_t count, void *arg)
{
    struct seen *s = arg;

    cr_assert_lt(s->n, sizeof s->v / sizeof s->v[0], "too many calls");
    cr_assert_not_null(name);
    cr_assert_lt(strlen(name), sizeof s->v[0].name);
    strcpy(s->v[s->n].name, name);
    s->v[s->n].code = code;
    s->v[s->n].count = count;
    s->n++;
}

static void expect_seen(const struct seen *s, size_t i, const char *name, unsigned code,
                        uint64_t count)
{
    cr_assert_lt(i, s->n, "only %zu calls", s->n);
    cr_assert_str_eq(s->v[i].name, name, "call %zu", i);
    cr_assert_eq(s->v[i].code, code, "call %zu", i);
    cr_assert_eq(s->v[i].count, count, "call %zu", i);
}

Test(routes, add_returns_indexes_in_order_and_find_returns_them)
{
    static const struct {
        const char *path, *name;
    } added[] = {
        { "/metrics", "metrics" },        { "/", "root" },
        { "/-/healthy", "healthy" },      { "/-/ready", "ready" },
        { "/metrics/", "metrics_slash" },
    };
    size_t n = sizeof added / sizeof added[0];

    for (size_t i = 0; i < n; i++)
        cr_assert_eq(routes_add(&t, added[i].path, added[i].name), (int)i, "%s", added[i].path);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(routes_find(&t, added[i].path), (int)i, "%s", added[i].path);
}

Test(routes, find_matches_the_path_exactly)
{
    static const char *missing[] = {
        "", "/", "metrics", "/metric", "/metrics/", "/metricsx", "/METRICS", "/metrics?x=1",
    };

    cr_assert_eq(routes_add(&t, "/metrics", "metrics"), 0);
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        cr_assert_eq(routes_find(&t, missing[i]), ROUTES_NONE, "\"%s\"", missing[i]);
}

Test(routes, find_in_an_empty_table_is_none)
{
    cr_assert_eq(routes_find(&t, "/metrics"), ROUTES_NONE);
    cr_assert_eq(routes_find(&t, ""), ROUTES_NONE);
}

Test(routes, add_refuses_bad_paths_names_and_duplicates)
{
    static const struct {
        const char *path, *name;
        int want;
    } cases[] = {
        { NULL, "x", -EINVAL },        { "", "x", -EINVAL },
        { "metrics", "x", -EINVAL },   { " /metrics", "x", -EINVAL },
        { "/x", NULL, -EINVAL },       { "/metrics", "again", -EEXIST },
        { "/metrics", NULL, -EINVAL }, { "/metrics", "metrics", -EEXIST },
    };

    cr_assert_eq(routes_add(&t, "/metrics", "metrics"), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(routes_add(&t, cases[i].path, cases[i].name), cases[i].want, "case %zu", i);
    /* A refused add takes no index and leaves the table as it was. */
    cr_assert_eq(routes_add(&t, "/x", "x"), 1);
    cr_assert_eq(routes_find(&t, "/metrics"), 0);
    cr_assert_eq(routes_find(&t, "/x"), 1);
}

Test(routes, add_accepts_an_empty_name_and_a_shared_name)
{
    cr_assert_eq(routes_add(&t, "/a", ""), 0);
    cr_assert_eq(routes_add(&t, "/b", "same"), 1);
    cr_assert_eq(routes_add(&t, "/c", "same"), 2);
}

Test(routes, the_table_copies_its_strings)
{
    char path[16] = "/metrics", name[16] = "metrics";
    struct seen s = { 0 };

    cr_assert_eq(routes_add(&t, path, name), 0);
    strcpy(path, "/changed");
    strcpy(name, "changed");
    cr_assert_eq(routes_find(&t, "/metrics"), 0);
    cr_assert_eq(routes_find(&t, "/changed"), ROUTES_NONE);
    routes_count(&t, 0, 200);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, 1);
    expect_seen(&s, 0, "metrics", 200, 1);
}

Test(routes, foreach_reports_nothing_before_any_count)
{
    struct seen s = { 0 };

    cr_assert_eq(routes_add(&t, "/metrics", "metrics"), 0);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, 0);
}

Test(routes, count_by_code_in_the_order_first_seen)
{
    struct seen s = { 0 };

    cr_assert_eq(routes_add(&t, "/metrics", "metrics"), 0);
    routes_count(&t, 0, 200);
    routes_count(&t, 0, 200);
    routes_count(&t, 0, 406);
    routes_count(&t, 0, 200);
    routes_count(&t, 0, 304);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, 3);
    expect_seen(&s, 0, "metrics", 200, 3);
    expect_seen(&s, 1, "metrics", 406, 1);
    expect_seen(&s, 2, "metrics", 304, 1);
}

Test(routes, none_counts_under_other)
{
    struct seen s = { 0 };

    cr_assert_eq(routes_add(&t, "/metrics", "metrics"), 0);
    routes_count(&t, routes_find(&t, "/nope"), 404);
    routes_count(&t, ROUTES_NONE, 404);
    routes_count(&t, ROUTES_NONE, 401);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, 2);
    expect_seen(&s, 0, ROUTES_OTHER, 404, 2);
    expect_seen(&s, 1, ROUTES_OTHER, 401, 1);
    cr_assert_str_eq(ROUTES_OTHER, "other");
}

Test(routes, foreach_goes_in_the_order_added_then_other)
{
    struct seen s = { 0 };
    int metrics, healthy, ready;

    metrics = routes_add(&t, "/metrics", "metrics");
    healthy = routes_add(&t, "/-/healthy", "healthy");
    ready = routes_add(&t, "/-/ready", "ready");
    /* Counted in another order than added; ready has no count and is skipped. */
    routes_count(&t, ROUTES_NONE, 404);
    routes_count(&t, healthy, 200);
    routes_count(&t, metrics, 503);
    routes_count(&t, metrics, 200);
    routes_count(&t, healthy, 200);
    cr_assert_eq(ready, 2);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, 4);
    expect_seen(&s, 0, "metrics", 503, 1);
    expect_seen(&s, 1, "metrics", 200, 1);
    expect_seen(&s, 2, "healthy", 200, 2);
    expect_seen(&s, 3, ROUTES_OTHER, 404, 1);
}

Test(routes, the_last_slot_absorbs_codes_beyond_the_maximum)
{
    struct seen s = { 0 };
    unsigned last = 200 + ROUTES_MAX_CODES - 1;

    cr_assert_eq(routes_add(&t, "/metrics", "metrics"), 0);
    for (unsigned c = 0; c < ROUTES_MAX_CODES; c++)
        routes_count(&t, 0, 200 + c);
    /* Two codes beyond the cap, and codes already held still count in their own slot. */
    routes_count(&t, 0, 599);
    routes_count(&t, 0, 598);
    routes_count(&t, 0, 200);
    routes_count(&t, 0, last);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, ROUTES_MAX_CODES);
    expect_seen(&s, 0, "metrics", 200, 2);
    for (unsigned c = 1; c < ROUTES_MAX_CODES - 1; c++)
        expect_seen(&s, c, "metrics", 200 + c, 1);
    expect_seen(&s, ROUTES_MAX_CODES - 1, "metrics", last, 4);
}

Test(routes, the_cap_is_per_route_and_applies_to_other)
{
    struct seen s = { 0 };

    cr_assert_eq(routes_add(&t, "/a", "a"), 0);
    for (unsigned c = 0; c < ROUTES_MAX_CODES + 3; c++)
        routes_count(&t, ROUTES_NONE, 400 + c);
    routes_count(&t, 0, 200);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, 1 + ROUTES_MAX_CODES);
    expect_seen(&s, 0, "a", 200, 1);
    expect_seen(&s, ROUTES_MAX_CODES, ROUTES_OTHER, 400 + ROUTES_MAX_CODES - 1, 4);
}

Test(routes, release_leaves_an_empty_table_with_nothing_counted)
{
    struct seen s = { 0 };

    cr_assert_eq(routes_add(&t, "/metrics", "metrics"), 0);
    routes_count(&t, 0, 200);
    routes_count(&t, ROUTES_NONE, 404);
    routes_release(&t);
    cr_assert_eq(routes_find(&t, "/metrics"), ROUTES_NONE);
    routes_foreach(&t, collect, &s);
    cr_assert_eq(s.n, 0);
    routes_release(&t); /* again, as the fini does */
}
