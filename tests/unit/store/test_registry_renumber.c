#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "registry_fixture.h"
#include "store/intern.h"

/*
 * After nine series in ten expire, the label key that named each series by a value of
 * its own renumbers (store/renumber.c): its list of ids shrinks to the survivors' size.
 * Lines keep arriving through every phase of it, for survivors (an old id or a new one:
 * the same series, never a second), for new values, and for values that expire midway;
 * at the end every series is found by a full lookup and by its cached line, each value is
 * interned once, and a scrape shows each series once.
 */
enum { N = 60000, KEEP = 10 };

static const char config[] =
    "{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
    " \"families\": [{\"name\": \"g\", \"type\": \"gauge\", \"ttl_seconds\": 1,"
    "  \"labels\": [{\"name\": \"id\", \"max_values\": 100000},"
    "              {\"name\": \"zone\", \"values\": [\"a\", \"b\"]}]}]}";

static void line(char *out, size_t cap, const char *prefix, size_t i, double v)
{
    snprintf(out, cap, "g:%.2f|g|#id:%s-%zu,zone:%s", v, prefix, i, i % 2 ? "a" : "b");
}

static const struct intern *key(void)
{
    return registry_label_key(&reg, 0, 0);
}

/* Lines in the text exposition that are samples of g. */
static size_t samples_of_g(const struct buf *b)
{
    size_t n = 0;

    for (const char *p = b->ptr; p < b->ptr + b->len;) {
        const char *eol = memchr(p, '\n', (size_t)(b->ptr + b->len - p));

        if (strncmp(p, "g{", 2) == 0)
            n++;
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return n;
}

Test(registry_renumber, ids_shrink_after_a_mass_expiry_while_lines_arrive, .fini = teardown)
{
    char text[96];
    size_t calls = 0, fresh = 0, next_survivor = 0, total, phases = 0;
    uint32_t epoch0;
    struct buf out = BUF_INIT;
    int more = 1;

    load(config);
    for (size_t i = 0; i < N; i++) {
        line(text, sizeof text, "old", i, (double)i);
        cr_assert_eq(ingest_at(text, 1000), STATSD_OK);
        cr_assert_eq(ingest_at(text, 1000), STATSD_OK); /* the second: a front-cache hit */
    }
    for (size_t i = 0; i < N; i += KEEP) {
        line(text, sizeof text, "old", i, (double)i);
        cr_assert_eq(ingest_at(text, 1800), STATSD_OK);
    }
    epoch0 = key()->epoch;
    cr_assert_eq(key()->nvals, N + 0u);
    total = N / KEEP;
    /* One sweep call at a time, lines between the calls. */
    while (more) {
        registry_sweep(&reg, 2600, 256, &more);
        cr_assert_lt(++calls, 100000, "the sweep does not end");
        if (reg.renum.phase == RENUM_NONE)
            continue;
        phases |= 1u << reg.renum.phase;
        /* A survivor, by its cached line and by a full lookup: the same series. */
        line(text, sizeof text, "old", next_survivor, (double)next_survivor + 0.5);
        cr_assert_eq(ingest_at(text, 2600), STATSD_OK);
        line(text, sizeof text, "old", next_survivor, (double)next_survivor);
        cr_assert_eq(feed_at(text, 2600), STATSD_OK);
        next_survivor = (next_survivor + KEEP) % N;
        /* Now and then a new value, which takes an id of the new epoch. */
        if (calls % 7 == 0) {
            line(text, sizeof text, "new", fresh++, 1.0);
            cr_assert_eq(ingest_at(text, 2600), STATSD_OK);
            total++;
        }
        cr_assert_eq(registry_series_total(&reg), total, "a series was created twice");
    }
    cr_assert_eq(phases, 1u << RENUM_IDS | 1u << RENUM_SERIES | 1u << RENUM_FREE,
                 "phases seen: %#zx", phases);
    cr_assert_neq(key()->epoch, epoch0, "the key did not renumber");
    cr_assert_null(key()->prev);
    cr_assert_eq(key()->live, total);
    cr_assert_leq(key()->nvals, total, "%u ids for %zu values", key()->nvals, total);
    cr_assert_leq(key()->valcap, 2 * total, "a list of %u ids for %zu values", key()->valcap,
                  total);
    /* Every series: a full lookup and a cached line find it; nothing is interned twice. */
    for (size_t i = 0; i < N; i += KEEP) {
        line(text, sizeof text, "old", i, (double)i + 0.25);
        cr_assert_eq(feed_at(text, 2700), STATSD_OK);
        cr_assert_eq(registry_apply_raw(&reg, text, strlen(text), 2700), STATSD_OK,
                     "series %zu: its cached line missed", i);
    }
    for (size_t i = 0; i < fresh; i++) {
        line(text, sizeof text, "new", i, 2.0);
        cr_assert_eq(feed_at(text, 2700), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), total, "a series was created again");
    cr_assert_eq(registry_label_values(&reg, 0, 0), total, "a value was interned again");
    cr_assert_float_eq(value_of(0, "id=old-120,zone=b"), 120.25, 1e-9);
    render_at(&out, EXPO_TEXT, 2700);
    cr_assert_eq(samples_of_g(&out), total);
    buf_release(&out);
}

/*
 * Values that expire while their key renumbers, before and after they moved; then a
 * reset in the middle of another renumbering finishes it, and the key starts over.
 */
Test(registry_renumber, expiry_and_reset_midway, .fini = teardown)
{
    char text[96];
    int more = 1;
    size_t calls = 0;

    load(config);
    for (size_t i = 0; i < N; i++) {
        line(text, sizeof text, "old", i, (double)i);
        cr_assert_eq(ingest_at(text, 1000), STATSD_OK);
    }
    /* A fifth survive the first sweep; half of them are fed again later, half expire. */
    for (size_t i = 0; i < N; i += 5) {
        line(text, sizeof text, "old", i, (double)i);
        cr_assert_eq(ingest_at(text, 1800), STATSD_OK);
    }
    for (size_t i = 0; i < N; i += 10) {
        line(text, sizeof text, "old", i, (double)i);
        cr_assert_eq(ingest_at(text, 2500), STATSD_OK);
    }
    /* The first sweep frees four in five; once the renumbering runs, the clock moves on. */
    while (more) {
        uint64_t now = reg.renum.phase == RENUM_NONE ? 2600 : 3300;

        registry_sweep(&reg, now, 64, &more);
        cr_assert_lt(++calls, 100000);
    }
    cr_assert_eq(registry_series_total(&reg), N / 10);
    cr_assert_eq(registry_label_values(&reg, 0, 0), N / 10);
    for (size_t i = 0; i < N; i += 10) {
        line(text, sizeof text, "old", i, 1.0);
        cr_assert_eq(feed_at(text, 3300), STATSD_OK);
    }
    cr_assert_eq(registry_series_total(&reg), N / 10, "a survivor was created twice");

    /* Most go again; a reset lands in the middle of the renumbering that follows. */
    for (size_t i = 0; i < N; i += 100) {
        line(text, sizeof text, "old", i, 1.0);
        cr_assert_eq(feed_at(text, 4000), STATSD_OK);
    }
    more = 1;
    while (more && reg.renum.phase != RENUM_SERIES) {
        registry_sweep(&reg, 4500, 64, &more);
        cr_assert_lt(++calls, 200000);
    }
    cr_assert_eq(reg.renum.phase, RENUM_SERIES, "no second renumbering");
    registry_reset(&reg);
    cr_assert_eq(reg.renum.phase, RENUM_NONE);
    cr_assert_null(key()->prev);
    cr_assert_eq(registry_series_total(&reg), 0);
    line(text, sizeof text, "after", 1, 1.0);
    cr_assert_eq(feed_at(text, 5000), STATSD_OK);
    cr_assert_eq(registry_series_total(&reg), 1);
    cr_assert_float_eq(value_of(0, "id=after-1,zone=a"), 1.0, 1e-9);
}
