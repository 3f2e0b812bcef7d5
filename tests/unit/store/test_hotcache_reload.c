/*
 * The front cache across a reload (hotcache.h, "What the same bytes do"): a family that
 * the new config judges alike keeps its lines cached; one it changes, retires or judges
 * under other common sections has its lines judged again, in full, by the new config.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "registry_fixture.h"

#define LIMITS(len) "\"limits\": {\"max_series\": 40, \"max_label_value_length\": " #len "}"
#define REQUESTS                                      \
    "{\"name\": \"requests\", \"type\": \"counter\"," \
    " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}"
#define UPLOADS(undeclared) \
    "{\"name\": \"uploads\", \"type\": \"counter\", \"undeclared_labels\": \"" undeclared "\"}"
#define QUEUE "{\"name\": \"queue_depth\", \"type\": \"gauge\"}"
#define DONE  "{\"name\": \"jobs_done\", \"type\": \"counter\"}"

static const char before[] =
    "{" LIMITS(16) ", \"families\": [" REQUESTS ", " UPLOADS("drop") ", " QUEUE "]}";

static struct config next;

/* As registry_fixture's ingest_at: the cached path alone (REGISTRY_MISS: not cached). */
static int hit(const char *text)
{
    return registry_apply_raw(&reg, text, strlen(text), 2000);
}

static void reload(const char *json)
{
    struct registry_reload rr;
    char err[512];

    cr_assert_eq(cfgload_text(&next, json, strlen(json), "next", err, sizeof err), 0, "%s", err);
    registry_reconfigure(&reg, &next, &rr);
}

/* Every family's line accepted in full, then from the cache. */
static void warm(void)
{
    load(before);
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("uploads:1|c|#env:prod"), STATSD_OK, "the tag dropped");
    cr_assert_eq(feed("queue_depth:5|g"), STATSD_OK);
    cr_assert_eq(hit("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(hit("uploads:1|c|#env:prod"), STATSD_OK);
    cr_assert_eq(hit("queue_depth:6|g"), STATSD_OK);
}

static void done(void)
{
    /* Back to the first config, so that next can go before the registry does. */
    struct registry_reload rr;

    registry_reconfigure(&reg, &cfg, &rr);
    cfgload_release(&next);
    teardown();
}

/*
 * A reload that retires one family, changes another and adds a third leaves the family it
 * does not touch in the cache: its lines need no full parse after it. The changed
 * family's cached line is judged by the new config (its undeclared tag now rejects it);
 * the retired family's is refused as unknown, and never reaches its retired series.
 */
Test(hotcache_reload, a_family_the_reload_leaves_alike_stays_cached, .fini = done)
{
    warm();
    reload("{" LIMITS(16) ", \"families\": [" REQUESTS ", " UPLOADS("reject") ", " DONE "]}");
    cr_assert_eq(hit("requests:2|c|#method:GET"), STATSD_OK, "the untouched family missed");
    cr_assert_float_eq(value_of(0, "method=GET"), 4, 1e-9);

    cr_assert_eq(hit("uploads:1|c|#env:prod"), REGISTRY_MISS, "a changed family's line hit");
    cr_assert_eq(feed("uploads:1|c|#env:prod"), STATSD_LABEL_NOT_ALLOWED);
    cr_assert_eq(hit("uploads:1|c|#env:prod"), REGISTRY_MISS, "a refused line was cached");
    cr_assert_eq(feed("uploads:1|c"), STATSD_OK);
    cr_assert_float_eq(value_of(1, ""), 3, 1e-9, "the kept series went on");

    cr_assert_eq(hit("queue_depth:7|g"), REGISTRY_MISS, "a retired family's line hit");
    cr_assert_eq(feed("queue_depth:7|g"), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(feed("jobs_done:1|c"), STATSD_OK);
    cr_assert_eq(hit("jobs_done:1|c"), STATSD_OK);
}

/*
 * A reload that changes a section every family's lines go through (here limits) has every
 * cached line judged again, whether its family changed or not; once accepted in full, the
 * same series is found again, with what it held.
 */
Test(hotcache_reload, a_change_to_the_common_sections_judges_every_line_again, .fini = done)
{
    warm();
    reload("{" LIMITS(12) ", \"families\": [" REQUESTS ", " UPLOADS("drop") ", " QUEUE "]}");
    cr_assert_eq(hit("requests:1|c|#method:GET"), REGISTRY_MISS);
    cr_assert_eq(hit("uploads:1|c|#env:prod"), REGISTRY_MISS);
    cr_assert_eq(hit("queue_depth:6|g"), REGISTRY_MISS);
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(hit("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_float_eq(value_of(0, "method=GET"), 4, 1e-9);
}

/* The same config again (a SIGHUP with no edit) leaves every line cached. */
Test(hotcache_reload, the_same_config_again_leaves_every_line_cached, .fini = done)
{
    warm();
    reload(before);
    cr_assert_eq(hit("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(hit("uploads:1|c|#env:prod"), STATSD_OK);
    cr_assert_eq(hit("queue_depth:6|g"), STATSD_OK);
}
