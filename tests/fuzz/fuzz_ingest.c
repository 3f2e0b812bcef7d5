/*
 * libFuzzer target for the daemon's fast path: the input is one datagram, taken three
 * times by two registries built from the same config. One takes it as the daemon does
 * (statsd_scanner_fill, registry_find_parts, registry_apply_found for the lines the front
 * cache knows and the full parse for the rest); the other takes every line through the
 * full parse only (statsd_next_line, statsd_parse_line, registry_apply). Checked: each
 * line gets the same result from both, round after round (the later rounds hit the
 * cache), and both registries render the same exposition at the end.
 * Seeds: tests/fuzz/seeds/fuzz_ingest/.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "expo.h"
#include "registry.h"
#include "render.h"
#include "statsd.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUNDS    3
#define MAX_LINES 65536
#define NOW_MS    1000

/* Every kind of family and label the fast path must treat as the full parse does. */
static const char config_json[] =
    "{\"families\": ["
    " {\"name\": \"http.requests\", \"type\": \"counter\","
    "  \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "             {\"name\": \"code\", \"max_values\": 4}]},"
    " {\"name\": \"queue.depth\", \"type\": \"gauge\", \"ttl_seconds\": 60,"
    "  \"labels\": [{\"name\": \"queue\", \"max_values\": 3}]},"
    " {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 0.5, 1],"
    "  \"labels\": [{\"name\": \"route\", \"max_values\": 3}]},"
    " {\"name\": \"proc_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "  \"buckets\": [10, 100]},"
    " {\"name\": \"uploads\", \"type\": \"counter\"},"
    " {\"name\": \"ml.score\", \"type\": \"gauge\", \"group\": \"ml\"}"
    "], \"groups\": {\"exclude\": [\"ml\"]},"
    " \"limits\": {\"max_series\": 20, \"max_series_per_family\": 8,"
    "            \"max_label_value_length\": 16}}";

static struct config cfg;
static int rc_daemon[MAX_LINES], rc_full[MAX_LINES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_builtin_config(&cfg, config_json, "fuzz_ingest");
    return 0;
}

static int full_parse(struct registry *reg, const char *p, size_t len)
{
    static struct statsd_line line;
    int r = statsd_parse_line(p, len, &line);

    return r == STATSD_OK ? registry_apply(reg, &line, NOW_MS) : r;
}

/* As app.c takes a datagram; returns the number of non-empty lines. */
static size_t take_as_daemon(struct registry *reg, const char *data, size_t len, int *rc)
{
    struct statsd_parts lp[REGISTRY_FIND_MAX];
    const struct registry_hit *found[REGISTRY_FIND_MAX];
    struct statsd_scanner scan;
    size_t n, i, k = 0;

    statsd_scanner_init(&scan, data, len);
    do {
        n = statsd_scanner_fill(&scan, lp, REGISTRY_FIND_MAX);
        registry_find_parts(reg, lp, n, found);
        for (i = 0; i < n; i++) {
            int r;

            if (lp[i].line.len == 0)
                continue;
            r = found[i] != NULL ? registry_apply_found(reg, found[i], &lp[i], NOW_MS)
                                 : REGISTRY_MISS;
            if (r == REGISTRY_MISS)
                r = full_parse(reg, lp[i].line.ptr, lp[i].line.len);
            if (k < MAX_LINES)
                rc[k] = r;
            k++;
        }
    } while (n == REGISTRY_FIND_MAX);
    return k;
}

static size_t take_in_full(struct registry *reg, const char *data, size_t len, int *rc)
{
    struct statsd_view v;
    size_t pos = 0, k = 0;

    while (statsd_next_line(data, len, &pos, &v)) {
        if (v.len == 0)
            continue;
        if (k < MAX_LINES)
            rc[k] = full_parse(reg, v.ptr, v.len);
        k++;
    }
    return k;
}

static void render_text(struct registry *reg, struct buf *out)
{
    struct render rd;

    render_init(&rd, reg, EXPO_TEXT);
    while (render_step(&rd, out, 1000))
        ;
    render_release(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dgram = (const char *)data;
    struct registry daemon, full;
    struct buf a, b;

    registry_init(&daemon, &cfg);
    registry_init(&full, &cfg);
    for (int round = 0; round < ROUNDS; round++) {
        size_t n = take_as_daemon(&daemon, dgram, size, rc_daemon);

        assert(take_in_full(&full, dgram, size, rc_full) == n);
        for (size_t i = 0; i < n && i < MAX_LINES; i++) {
            if (rc_daemon[i] != rc_full[i]) {
                fprintf(stderr, "round %d, line %zu: fast path %s, full parse %s\n", round, i,
                        statsd_reason_name(rc_daemon[i]), statsd_reason_name(rc_full[i]));
                abort();
            }
        }
    }
    assert(registry_series_total(&daemon) == registry_series_total(&full));
    buf_init(&a);
    buf_init(&b);
    render_text(&daemon, &a);
    render_text(&full, &b);
    if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0) {
        fprintf(stderr, "expositions differ:\n--- fast path\n%.*s--- full parse\n%.*s", (int)a.len,
                a.ptr, (int)b.len, b.ptr);
        abort();
    }
    buf_release(&a);
    buf_release(&b);
    registry_release(&daemon);
    registry_release(&full);
    return 0;
}
