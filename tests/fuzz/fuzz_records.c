/*
 * libFuzzer target for the state file's records (records.h): any bytes as a body, restored
 * into a fresh registry and jobs.
 *
 * Checked: a body refused (-1) changes nothing, with a message; a body taken (0) dumps
 * again into a body that a second fresh registry takes whole, every series of the first
 * restored, and both expose the same OpenMetrics and protobuf (native buckets included). A checksum guards the file on disk,
 * so these bytes come from a crafted or foreign file, or a bug: either way the restore
 * must neither crash nor grow past the caps.
 * The two registries are built once; each run ends with registry_reset(), which leaves
 * them as registry_init() and registry_set_clock() do.
 * Seeds: tests/fuzz/seeds/fuzz_records/.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "state/records.h"
#include "base/expo.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "expose/render.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char json[] =
    "{\"limits\": {\"max_series\": 64, \"max_series_per_family\": 16,"
    "              \"max_label_value_length\": 16},"
    " \"jobs\": {\"prefix\": \"job\", \"list\": [\"mail\", \"thumbs\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"code\", \"max_values\": 3, \"pattern\": \"[0-9]+\"}]},"
    "  {\"name\": \"depth\", \"type\": \"gauge\", \"updown\": true, \"ttl_seconds\": 60,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 4, \"overflow\": \"other\"}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 1],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 5}]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"},"
    "  {\"name\": \"rpc_seconds\", \"type\": \"summary\", \"max_age\": 60,"
    "   \"age_buckets\": 2, \"quantiles\": {\"0\": 0, \"0.5\": 0.05, \"0.99\": 0.001},"
    "   \"labels\": [{\"name\": \"m\", \"max_values\": 3}]},"
    "  {\"name\": \"native_seconds\", \"type\": \"histogram\","
    "   \"native\": {\"schema\": 1, \"max_buckets\": 8},"
    "   \"labels\": [{\"name\": \"k\", \"max_values\": 3}]}"
    " ]}";

static struct config cfg;

static uint64_t clock_ms(void *arg)
{
    (void)arg;
    return 1700000000000ull;
}

struct world {
    struct registry reg;
    struct jobs jobs;
};

static struct world a, b;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];

    (void)argc;
    (void)argv;
    if (cfgload_text(&cfg, json, strlen(json), "fuzz.json", err, sizeof err) != 0)
        abort();
    registry_init(&a.reg, &cfg);
    registry_set_clock(&a.reg, clock_ms, NULL);
    registry_init(&b.reg, &cfg);
    registry_set_clock(&b.reg, clock_ms, NULL);
    return 0;
}

static void world_init(struct world *w)
{
    jobs_init(&w->jobs, &cfg, 0);
}

/* Back to the state of a fresh world, for the next run. */
static void world_release(struct world *w)
{
    jobs_release(&w->jobs);
    registry_reset(&w->reg);
}

/* OpenMetrics, then the protobuf exposition (native buckets), NUL-free: hex of it. */
static char *expose(struct world *w)
{
    struct buf out = BUF_INIT, pb = BUF_INIT;

    fuzz_render(&w->reg, &w->jobs, &out, EXPO_OPENMETRICS, 5000);
    fuzz_render_series(&w->reg, &pb, EXPO_PROTOBUF, 5000);
    for (size_t i = 0; i < pb.len; i++)
        buf_addf(&out, "%02x", (unsigned char)pb.ptr[i]);
    buf_release(&pb);
    buf_addch(&out, '\0');
    return out.ptr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct records_restored got, again;
    struct records_writer dw;
    struct buf body = BUF_INIT;
    char err[256], *ea, *eb;
    size_t fresh;

    world_init(&a);
    fresh = registry_series_total(&a.reg);
    err[0] = '\0';
    if (records_restore(&a.reg, &a.jobs, data, size, 5000, 1700000100000ull, &got, err,
                        sizeof err) != 0) {
        assert(err[0] != '\0');
        assert(registry_series_total(&a.reg) == fresh);
        world_release(&a);
        return 0;
    }
    assert(registry_series_total(&a.reg) <= registry_series_cap(&a.reg) + fresh);

    records_begin(&dw, &a.reg, &a.jobs, 1700000100000ull, &body);
    records_set_marks(&dw, &got.marks);
    while (records_step(&dw, &body, 3, 5000))
        ;
    records_end(&dw);
    world_init(&b);
    if (records_restore(&b.reg, &b.jobs, body.ptr, body.len, 5000, 1700000100000ull, &again, err,
                        sizeof err) != 0)
        abort();
    assert(again.series == registry_series_total(&a.reg));
    /* The remote write marks come back as they were read. */
    assert(again.marks.n == got.marks.n);
    for (size_t i = 0; i < got.marks.n; i++) {
        assert(strcmp(again.marks.m[i].name, got.marks.m[i].name) == 0);
        assert(again.marks.m[i].ms == got.marks.m[i].ms);
    }
    ea = expose(&a);
    eb = expose(&b);
    assert(strcmp(ea, eb) == 0);
    free(ea);
    free(eb);
    buf_release(&body);
    world_release(&a);
    world_release(&b);
    return 0;
}
