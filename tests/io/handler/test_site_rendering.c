/*
 * site_rendering(): a scrape on any endpoint, a /debug render or a snapshot; and
 * site_holds_collapses(): those, or memory being given back (a reload's drain, a sweep not
 * done, malloc_trim()), keep the huge pages' collapses waiting (daemon/app.c); nothing else
 * does.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "handler/site.h"

static struct site s;

Test(site_rendering, a_scrape_on_any_endpoint_a_debug_render_or_a_snapshot)
{
    memset(&s, 0, sizeof s);
    s.nendpoints = 3;
    cr_assert_eq(site_rendering(&s), 0, "nothing under way");
    s.endpoints[2].in_flight = 1;
    cr_assert_eq(site_rendering(&s), 1, "a scrape on the last endpoint");
    s.endpoints[2].in_flight = 0;
    s.endpoints[0].in_flight = 2;
    cr_assert_eq(site_rendering(&s), 1, "two on the first");
    s.endpoints[0].in_flight = 0;
    s.state.running = 1;
    cr_assert_eq(site_rendering(&s), 1, "a snapshot");
    s.state.running = 0;
    s.debug_in_flight = 1;
    cr_assert_eq(site_rendering(&s), 1, "a /debug render");
    s.debug_in_flight = 0;
    s.endpoints[3].in_flight = 1; /* past nendpoints: no endpoint */
    cr_assert_eq(site_rendering(&s), 0);
}

Test(site_holds_collapses, a_render_a_drain_or_memory_given_back)
{
    memset(&s, 0, sizeof s);
    s.nendpoints = 1;
    cr_assert_eq(site_holds_collapses(&s), 0, "nothing under way");
    s.endpoints[0].in_flight = 1;
    cr_assert_eq(site_holds_collapses(&s), 1, "a scrape");
    s.endpoints[0].in_flight = 0;
    s.reg.releasing = 1;
    cr_assert_eq(site_rendering(&s), 0, "a drain is no render");
    cr_assert_eq(site_holds_collapses(&s), 1, "a reload's drain");
    s.reg.releasing = 0;
    s.freeing = 1;
    cr_assert_eq(site_rendering(&s), 0);
    cr_assert_eq(site_holds_collapses(&s), 1, "a sweep or malloc_trim()");
    s.freeing = 0;
    cr_assert_eq(site_holds_collapses(&s), 0);
}
