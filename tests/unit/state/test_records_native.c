/*
 * Native histograms in the state file's records: a family's native block and each series'
 * buckets come back as they were dumped (the protobuf exposition, which carries
 * them, reads the same, and goes on alike), a block that changed drops the family's
 * series as a reload would reset them, and damaged buckets are refused.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "base/expo.h"
#include "expose/render.h"
#include "records_fixture.h"

static const char natives[] =
    "{\"families\": ["
    "  {\"name\": \"rpc_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 1],"
    "   \"native\": {\"schema\": 2, \"max_buckets\": 20},"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},"
    "  {\"name\": \"bare_seconds\", \"type\": \"histogram\", \"native\": {}}"
    " ]}";

/* The registry in protobuf, which carries the native buckets. */
static void scrape(struct world *w, struct buf *out)
{
    struct render rd;

    buf_reset(out);
    render_init(&rd, &w->reg, EXPO_PROTOBUF);
    while (render_step(&rd, out, 1000, 1000))
        ;
    render_release(&rd);
}

static void fill(struct world *w)
{
    feed(w, "rpc_seconds:0.2:0.7:3:-1:0|h|#method:GET", 1000);
    feed(w, "rpc_seconds:500|ms|@0.4|#method:POST", 1000); /* weighs 2.5: 2 counted, 0.5 carried */
    for (int i = 0; i < 40; i++) {                         /* past max_buckets: halved */
        char line[64];

        snprintf(line, sizeof line, "rpc_seconds:%d|h|#method:GET", 1 << (i % 30));
        feed(w, line, 1000);
    }
    feed(w, "bare_seconds:1e-300|h", 1000);
}

static void assert_same(struct world *a, struct world *b)
{
    struct buf x = BUF_INIT, y = BUF_INIT;

    scrape(a, &x);
    scrape(b, &y);
    cr_assert_gt(x.len, 0);
    cr_assert_eq(x.len, y.len, "%zu bytes, want %zu", y.len, x.len);
    cr_assert_eq(memcmp(x.ptr, y.ptr, x.len), 0);
    buf_release(&x);
    buf_release(&y);
}

Test(records_native, the_native_buckets_come_back_and_go_on_alike)
{
    static const size_t slices[] = { 1, 1000 };

    for (size_t i = 0; i < sizeof slices / sizeof slices[0]; i++) {
        struct world a, b;
        struct records_restored got;
        struct buf body = BUF_INIT;

        world_init(&a, natives);
        fill(&a);
        records_all(&a, &body, slices[i], 1000);
        world_init(&b, natives);
        restore(&b, &body, 1000, 1700000200000ull, &got);
        cr_assert_eq(got.series, 3);
        assert_same(&a, &b);
        /* The classic bucket's carried half adds up with the next sampled line's, in both kinds. */
        feed(&a, "rpc_seconds:500|ms|@0.4|#method:POST", 1000);
        feed(&b, "rpc_seconds:500|ms|@0.4|#method:POST", 1000);
        assert_same(&a, &b);
        buf_release(&body);
        world_release(&a);
        world_release(&b);
    }
}

Test(records_native, a_changed_or_added_native_block_drops_the_series)
{
    static const char *const changed[] = {
        "{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, "
        "1],"
        " \"native\": {\"schema\": 3, \"max_buckets\": 20},"
        " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}]}",
        "{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, "
        "1],"
        " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}]}",
    };
    static const char classic[] =
        "{\"families\": [{\"name\": \"rpc_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, "
        "1],"
        " \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]}]}";
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;

    world_init(&a, natives);
    fill(&a);
    records_all(&a, &body, 100, 1000);
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        world_init(&b, changed[i]);
        restore(&b, &body, 1000, 1700000200000ull, &got);
        cr_assert_eq(got.series, 0, "%s", changed[i]);
        cr_assert_eq(got.dropped[RECORDS_DROP_LAYOUT_CHANGED], 2, "%s", changed[i]);
        world_release(&b);
    }
    buf_release(&body);
    world_release(&a);
    /* A classic family's file, and the same family with a native block now. */
    world_init(&a, classic);
    feed(&a, "rpc_seconds:0.2|h|#method:GET", 1000);
    records_all(&a, &body, 100, 1000);
    world_init(&b, natives);
    restore(&b, &body, 1000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 0);
    cr_assert_eq(got.dropped[RECORDS_DROP_LAYOUT_CHANGED], 1);
    world_release(&b);
    buf_release(&body);
    world_release(&a);
}

Test(records_native, damaged_buckets_are_refused_as_a_bad_value)
{
    struct world a, b;
    struct records_restored got;
    struct buf body = BUF_INIT;
    unsigned char version = 1;
    size_t at;

    world_init(&a, natives);
    feed(&a, "bare_seconds:2|h", 1000);
    records_all(&a, &body, 100, 1000);
    /* The encoding starts with its version byte, 1, then the schema (3): make it 9. */
    for (at = 0; at + 1 < body.len; at++)
        if ((unsigned char)body.ptr[at] == version && body.ptr[at + 1] == 3)
            break;
    cr_assert_lt(at + 1, body.len);
    body.ptr[at] = 9;
    world_init(&b, natives);
    restore(&b, &body, 1000, 1700000200000ull, &got);
    cr_assert_eq(got.series, 0);
    cr_assert_eq(got.dropped[RECORDS_DROP_BAD_VALUE], 1);
    world_release(&b);
    buf_release(&body);
    world_release(&a);
}
