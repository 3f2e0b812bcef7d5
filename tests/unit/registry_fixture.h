/*
 * registry_fixture: the registry under test for the unit tests of the registry and of
 * the modules it is built from (test_registry_*, test_hotcache, test_table,
 * test_histogram): a config of a few families, and helpers that feed lines the way the
 * daemon does and read series back through a cursor. One registry per test process
 * (Criterion runs each test in a child of its own).
 */
#ifndef USTATSD_TEST_REGISTRY_FIXTURE_H
#define USTATSD_TEST_REGISTRY_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "store/registry.h"
#include "expose/render.h"
#include "statsd.h"

/*
 * Families: an enumerated and a capped label, a ttl'd up-down gauge, histograms in seconds and
 * in milliseconds, an excluded group, a label-less counter.
 */
static const char base_config[] =
    "{\"limits\": {\"max_series\": 40, \"max_series_per_family\": 10,"
    "              \"max_label_value_length\": 16},"
    " \"groups\": {\"exclude\": [\"ml\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests.\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"status_code\", \"max_values\": 3}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"updown\": true, \"ttl_seconds\": 60,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 0.5, 1],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
    "  {\"name\": \"ml_infer_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "   \"buckets\": [10, 100], \"group\": \"ml\"},"
    "  {\"name\": \"proc_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "   \"buckets\": [10, 100]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"}"
    " ]}";

enum { F_REQUESTS, F_QUEUE, F_LATENCY, F_ML, F_PROC, F_UPLOADS };

static struct config cfg;
static struct registry reg;

static inline void load(const char *json)
{
    char err[512];

    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(cfgload_text(&cfg, json, strlen(json), "test", err, sizeof err), 0, "%s", err);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
}

static inline void setup(void)
{
    load(base_config);
}

static inline void teardown(void)
{
    registry_release(&reg);
    cfgload_release(&cfg);
}

static inline int feed_at(const char *text, uint64_t now)
{
    struct statsd_line l;
    int rc = statsd_parse_line(text, strlen(text), &l);

    cr_assert_eq(rc, STATSD_OK, "parse \"%s\": %s", text, statsd_reason_name(rc));
    return registry_apply(&reg, &l, now);
}

static inline int feed(const char *text)
{
    return feed_at(text, 1000);
}

/* As the daemon takes a line: the raw fast path first, the full parse on a miss. */
static inline int ingest_at(const char *text, uint64_t now)
{
    int rc = registry_apply_raw(&reg, text, strlen(text), now);

    return rc == REGISTRY_MISS ? feed_at(text, now) : rc;
}

/* The sample of family fam whose labels print as "k=v,k=v" (config order), or 0. */
static inline int find(size_t fam, const char *labels, struct registry_sample *out)
{
    struct registry_cursor c;
    int found = 0;

    registry_cursor_init(&c, &reg);
    while (!found && registry_cursor_next(&c, out)) {
        char tmp[512];
        size_t i, n = 0;

        if (out->family != fam)
            continue;
        tmp[0] = '\0';
        for (i = 0; i < out->nlabels; i++)
            n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%s%s=%.*s", i ? "," : "",
                                  out->labels[i].name, (int)out->labels[i].value_len,
                                  out->labels[i].value);
        found = strcmp(tmp, labels) == 0;
    }
    registry_cursor_release(&c);
    return found;
}

static inline double value_of(size_t fam, const char *labels)
{
    struct registry_sample s;

    cr_assert(find(fam, labels, &s), "no series %zu{%s}", fam, labels);
    return s.value;
}

/* The whole registry in fmt, as a scrape at now (the registry's clock) renders it. */
static inline void render_at(struct buf *out, enum expo_format fmt, uint64_t now)
{
    struct render rd;

    render_init(&rd, &reg, fmt);
    while (render_step(&rd, out, 1000, now))
        ;
    render_release(&rd);
}

static inline void render_all(struct buf *out, enum expo_format fmt)
{
    render_at(out, fmt, 0);
}

static inline void assert_hist(size_t fam, const char *labels, const uint64_t *want, size_t n,
                               double sum)
{
    struct registry_sample s;
    uint64_t total = 0;
    size_t i;

    cr_assert(find(fam, labels, &s), "no series %zu{%s}", fam, labels);
    cr_assert_not_null(s.buckets);
    for (i = 0; i < n; i++) {
        cr_assert_eq(s.buckets[i], want[i], "bucket %zu: %llu, want %llu", i,
                     (unsigned long long)s.buckets[i], (unsigned long long)want[i]);
        total += want[i];
    }
    cr_assert_eq(s.count, total);
    cr_assert_float_eq(s.value, sum, 1e-9, "sum %g, want %g", s.value, sum);
}

#endif
