/*
 * reload_fixture: reloads of registry_fixture.h's registry, for the registry's unit tests
 * that reload (test_registry_reload, test_registry_policy, test_registry_created): the
 * configs reloads run on, a reload that frees the config it ran on, a teardown for both,
 * base_config as reloaded, a family's index by name, and the keys a walk yields as text.
 */
#ifndef USTATSD_TEST_RELOAD_FIXTURE_H
#define USTATSD_TEST_RELOAD_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "store/registry.h"
#include "registry_fixture.h"

static struct config reload_cfg[2]; /* the configs reloads run on */

/* Reload reg with json, parsed into *dst, then free the config it ran on (*prev). */
static inline struct registry_reload reload_into(struct config *dst, struct config *prev,
                                                 const char *json)
{
    struct registry_reload rr;
    char err[512];

    cr_assert_eq(cfgload_text(dst, json, strlen(json), "next", err, sizeof err), 0, "%s", err);
    registry_reconfigure(&reg, dst, &rr);
    cfgload_release(prev); /* nothing may point into it now: ASan watches */
    return rr;
}

static inline struct registry_reload reload(const char *json)
{
    return reload_into(&reload_cfg[0], &cfg, json);
}

static inline void teardown_reload(void)
{
    teardown();
    cfgload_release(&reload_cfg[0]);
    cfgload_release(&reload_cfg[1]);
}

static inline size_t fam(const char *name)
{
    long f = registry_find_family(&reg, name, strlen(name));

    cr_assert(f >= 0, "no family %s", name);
    return (size_t)f;
}

/*
 * base_config, reloaded: requests allows PUT too, with a new help and cap (kept);
 * queue_depth and ml_infer_ms unchanged (kept); latency_seconds rebucketed (reset);
 * proc_ms gone; errors new.
 */
static const char reload_config[] =
    "{\"limits\": {\"max_series\": 50, \"max_series_per_family\": 12,"
    "              \"max_label_value_length\": 16},"
    " \"groups\": {\"exclude\": [\"ml\"]},"
    " \"families\": ["
    "  {\"name\": \"errors\", \"type\": \"counter\"},"
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests, v2.\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"PUT\", \"POST\", \"GET\"]},"
    "              {\"name\": \"status_code\", \"max_values\": 5}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"ttl_seconds\": 60,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.25, 1],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
    "  {\"name\": \"ml_infer_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "   \"buckets\": [10, 100], \"group\": \"ml\"},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"}"
    " ]}";

/* Every (family, labels) a walk yields, as text, one per line. */
static inline void walk_key(struct buf *out, const struct registry_sample *s)
{
    buf_addf(out, "%s{", s->cfg->name);
    for (size_t i = 0; i < s->nlabels; i++)
        buf_addf(out, "%s=%.*s,", s->labels[i].name, (int)s->labels[i].value_len,
                 s->labels[i].value);
    buf_adds(out, "}\n");
}

#endif
