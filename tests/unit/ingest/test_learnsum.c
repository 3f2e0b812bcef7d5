/*
 * learnsum: learn mode's summary, driven with a fake clock (now_ms is an argument): what
 * it records of refused lines, its rate window, its distinct-value estimate, and its
 * bound under hostile traffic (a million distinct names, keys and values), where it must
 * never hold more than its cap after any note.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cfgtest.h"
#include "ingest/learnshape.h"
#include "ingest/learnsum.h"

static struct config cfg;
static struct learnsum sum;

static void setup(void)
{
    must_parse(
        &cfg, "{'clients': {'strip_tags': ['env']},"
              " 'families': [{'name': 'requests', 'type': 'counter',"
              "   'labels': [{'name': 'method', 'values': ['GET']}]},"
              "  {'name': 'http_duration_seconds', 'type': 'histogram',"
              "   'undeclared_labels': 'drop', 'labels': [{'name': 'route', 'max_values': 10}]}]}");
    learnsum_init(&sum, 1, CONFIG_DEFAULT_LEARN_MAX_BYTES);
}

static void teardown(void)
{
    learnsum_release(&sum);
    cr_expect_eq(sum.bytes, 0, "bytes left after release: %zu", sum.bytes);
    cfgload_release(&cfg);
}

static void note_from(const char *text, int reason, const char *family, pid_t pid, uint64_t now)
{
    struct statsd_line line;
    struct learnsum_from from = { 1, pid, 1000 };
    const struct config_family *f = NULL;

    cr_assert_eq(statsd_parse_line(text, strlen(text), &line), STATSD_OK, "%s", text);
    if (family != NULL)
        f = &cfg.families[config_find_family(&cfg, family, strlen(family))];
    learnsum_note(&sum, &cfg, &line, reason, f, &from, now);
}

static void note(const char *text, uint64_t now)
{
    note_from(text, STATSD_UNKNOWN_FAMILY, NULL, 42, now);
}

static const struct learnsum_key *key_of(const struct learnsum_entry *e, const char *name)
{
    for (uint32_t i = 0; i < e->nkeys; i++)
        if (strcmp(e->keys[i]->name, name) == 0)
            return e->keys[i];
    return NULL;
}

TestSuite(learnsum, .init = setup, .fini = teardown);

Test(learnsum, an_unknown_family_by_its_normalised_name)
{
    const struct learnsum_entry *e;
    const struct learnsum_key *k;

    note("checkout.latency:12:40|ms|#route:/cart,env:prod", 1000);
    note("checkout-latency:1200|ms|#route:/pay,user.email:jane@x.com", 2000);
    e = learnsum_find(&sum, "checkout_latency");
    cr_assert_not_null(e);
    cr_expect_str_eq(e->sent, "checkout.latency");
    cr_expect_eq(e->total, 2);
    cr_expect_eq(e->by_reason[LEARNSUM_UNKNOWN_FAMILY], 2);
    cr_expect_eq(e->by_type[STATSD_TIMER], 2);
    cr_expect_eq(e->observations, 3);
    cr_expect_eq(e->vmin, 12);
    cr_expect_eq(e->vmax, 1200);
    cr_expect_not(e->declared);
    /* env is stripped by the config, as the allowlist strips it. */
    cr_expect_null(key_of(e, "env"));
    cr_assert_not_null(k = key_of(e, "route"));
    cr_expect_eq(k->nvalues, 2);
    cr_assert_not_null(k = key_of(e, "user_email"));
    cr_expect_str_eq(k->sent, "user.email");
    cr_expect(k->flags & LEARNSHAPE_FLAG(EMAIL));
    cr_expect_str_eq(k->example, "jane@x.com");
    cr_expect_eq(learnsum_reason(STATSD_UNKNOWN_FAMILY), LEARNSUM_UNKNOWN_FAMILY);
    cr_expect_eq(learnsum_reason(STATSD_INVALID_NAME), LEARNSUM_NREASONS);
    cr_expect_eq(learnsum_statsd_reason(LEARNSUM_LABEL_VALUES_CAP), STATSD_LABEL_VALUES_CAP);
}

Test(learnsum, signs_bins_and_senders)
{
    const struct learnsum_entry *e;

    note_from("queue.depth:5|g", STATSD_UNKNOWN_FAMILY, NULL, 1, 0);
    note_from("queue.depth:+3|g", STATSD_UNKNOWN_FAMILY, NULL, 2, 0);
    for (pid_t pid = 3; pid < 10; pid++)
        note_from("queue.depth:-1|g", STATSD_UNKNOWN_FAMILY, NULL, pid, 0);
    note_from("queue.depth:-1|g", STATSD_UNKNOWN_FAMILY, NULL, 9, 0);
    cr_assert_not_null(e = learnsum_find(&sum, "queue_depth"));
    cr_expect(e->signed_gauge);
    cr_expect_eq(e->nsenders, LEARNSUM_MAX_SENDERS);
    cr_expect_eq(e->senders[0].pid, 9);
    cr_expect_eq(e->senders[1].pid, 8);
    /* 5 and 3 fall in the bins of 5 and 2.5..5; -1 below the first. */
    cr_expect_eq(e->bins[0], 8);
    cr_expect_eq(learnsum_bin_bound(1), 1e-6);
    cr_expect_eq(learnsum_bin_bound(2), 2.5e-6);
}

Test(learnsum, a_declared_family_and_the_tags_it_dropped)
{
    const struct learnsum_entry *e;
    struct statsd_line line;
    struct learnsum_from from = { 1, 7, 0 };
    const char *text = "http.duration_seconds:0.2|h|#route:/a,network.protocol:h2";

    note_from("requests:1|c|#method:PUT", STATSD_LABEL_VALUE_NOT_ALLOWED, "requests", 1, 0);
    cr_assert_not_null(e = learnsum_find(&sum, "requests"));
    cr_expect(e->declared);
    cr_expect_eq(e->by_reason[LEARNSUM_LABEL_VALUE_NOT_ALLOWED], 1);
    cr_assert_eq(statsd_parse_line(text, strlen(text), &line), STATSD_OK);
    learnsum_note_dropped(&sum, &cfg, &line, &cfg.families[1], &from, 0);
    cr_assert_not_null(e = learnsum_find(&sum, "http_duration_seconds"));
    cr_expect_eq(e->nkeys, 1, "only the dropped key: route is declared");
    cr_expect_str_eq(e->keys[0]->name, "network_protocol");
    cr_expect_eq(e->keys[0]->dropped, 1);
    cr_expect_eq(sum.dropped_tags, 1);
    /* A line that drops nothing makes no entry. */
    text = "requests:1|c|#method:GET";
    cr_assert_eq(statsd_parse_line(text, strlen(text), &line), STATSD_OK);
    learnsum_note_dropped(&sum, &cfg, &line, &cfg.families[0], &from, 0);
    cr_expect_eq(sum.entries, 2);
}

Test(learnsum, the_rate_over_a_minute_with_a_fake_clock)
{
    const struct learnsum_entry *e;
    uint64_t t;

    /* Two lines a second for three minutes. */
    for (t = 0; t < 180000; t += 500)
        note("jobs.done:1|c", t);
    cr_assert_not_null(e = learnsum_find(&sum, "jobs_done"));
    cr_expect(fabs(learnsum_rate(e, t) - 2) < 0.1, "rate %g", learnsum_rate(e, t));
    /* Silence: the rate decays to nothing within two windows. */
    cr_expect_lt(learnsum_rate(e, t + 90000), 1.1);
    cr_expect_eq(learnsum_rate(e, t + 2 * LEARNSUM_WINDOW_MS), 0);
    /* A young entry: its lines over its age, a second at least. */
    note("fresh:1|c", t);
    note("fresh:1|c", t + 100);
    cr_expect_eq(learnsum_rate(learnsum_find(&sum, "fresh"), t + 100), 2);
}

Test(learnsum, a_value_too_long_to_keep_leaves_the_key_to_its_estimate)
{
    char line[512];
    const struct learnsum_key *k;

    snprintf(line, sizeof(line), "wide:1|c|#w:%0200d", 7);
    note(line, 0);
    k = key_of(learnsum_find(&sum, "wide"), "w");
    cr_assert_not_null(k);
    cr_expect_eq(k->nvalues, 0);
    cr_expect(k->values_full);
    cr_expect_eq(k->max_len, 200);
    cr_expect_geq(learnsum_distinct(k), 1);
}

Test(learnsum, distinct_values_exact_then_estimated)
{
    const struct learnsum_entry *e;
    const struct learnsum_key *k;
    char line[128];

    for (int i = 0; i < 10000; i++) {
        snprintf(line, sizeof(line), "hits:1|c|#shard:s%d", i);
        note(line, 0);
        if (i == LEARNSUM_MAX_VALUES - 1) {
            k = key_of(learnsum_find(&sum, "hits"), "shard");
            cr_expect_eq(learnsum_distinct(k), LEARNSUM_MAX_VALUES);
            cr_expect_not(k->values_full);
        }
    }
    cr_assert_not_null(e = learnsum_find(&sum, "hits"));
    k = key_of(e, "shard");
    cr_expect(k->values_full);
    cr_expect_eq(k->nvalues, LEARNSUM_MAX_VALUES);
    cr_expect(learnsum_distinct(k) > 6000 && learnsum_distinct(k) < 14000, "estimate %g",
              learnsum_distinct(k));
}

/* Check the bound after every note, not only at the end. */
static void flood(size_t n, int keys, int long_values, uint64_t now)
{
    char line[4096], value[300];
    size_t peak = 0;

    memset(value, 'v', 250);
    value[250] = '\0';
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(line, sizeof(line), "n%zu.x:1|c", i);

        for (int k = 0; k < keys; k++)
            len += snprintf(line + len, sizeof(line) - (size_t)len, "%sk%zu_%d:%s%zu",
                            k ? "," : "|#", i, k, long_values ? value : "v", i);
        note(line, now + i);
        if (sum.bytes > peak)
            peak = sum.bytes;
        cr_assert_leq(sum.bytes, sum.max_bytes, "line %zu: %zu bytes over the cap", i, sum.bytes);
    }
    fprintf(stderr,
            "learnsum: %zu lines, %d keys each: peak %zu bytes of %zu, %zu entries, %llu "
            "evictions\n",
            n, keys, peak, sum.max_bytes, sum.entries, (unsigned long long)sum.evictions);
}

Test(learnsum, a_million_distinct_names_stay_under_the_cap, .timeout = 120)
{
    const struct learnsum_entry *top[8];

    learnsum_configure(&sum, 1, 1 << 20);
    flood(1000000, 1, 0, 0);
    cr_expect_gt(sum.evictions, 900000);
    cr_expect_lt(sum.entries, 10000);
    cr_expect_eq(learnsum_top(&sum, top, 8), 8);
}

Test(learnsum, distinct_keys_and_long_values_stay_under_the_cap, .timeout = 120)
{
    learnsum_configure(&sum, 1, LEARNSUM_MIN_MAX_BYTES);
    flood(20000, STATSD_MAX_TAGS, 1, 0);
    cr_expect_gt(sum.evictions, 0);
}

Test(learnsum, one_family_with_a_million_keys_and_values_is_bounded, .timeout = 120)
{
    char line[256];
    const struct learnsum_entry *e;

    learnsum_configure(&sum, 1, LEARNSUM_MIN_MAX_BYTES);
    for (int i = 0; i < 1000000; i++) {
        snprintf(line, sizeof(line), "one:1|c|#key%d:value%d,fixed:v%d", i % 100000, i, i);
        note(line, (uint64_t)i);
        cr_assert_leq(sum.bytes, sum.max_bytes);
    }
    cr_assert_not_null(e = learnsum_find(&sum, "one"));
    cr_expect_eq(e->nkeys, LEARNSUM_MAX_KEYS);
    cr_expect_gt(e->keys_over, 0);
}

Test(learnsum, a_steady_family_outlives_a_flood_of_one_off_names, .timeout = 60)
{
    char line[64];

    learnsum_configure(&sum, 1, 256 << 10);
    for (int i = 0; i < 200000; i++) {
        if (i % 50 == 0)
            note("steady.requests:1|c|#route:/a", (uint64_t)i);
        snprintf(line, sizeof(line), "junk%d:1|c", i);
        note(line, (uint64_t)i);
    }
    cr_expect_gt(sum.evictions, 0);
    cr_expect_not_null(learnsum_find(&sum, "steady_requests"));
}

Test(learnsum, off_holds_nothing_and_a_lower_cap_evicts)
{
    note("a:1|c", 0);
    note("b:1|c", 0);
    learnsum_configure(&sum, 0, CONFIG_DEFAULT_LEARN_MAX_BYTES);
    cr_expect_eq(sum.bytes, 0);
    cr_expect_eq(sum.entries, 0);
    note("a:1|c", 0);
    cr_expect_eq(sum.entries, 0, "off: nothing noted");
    learnsum_configure(&sum, 1, CONFIG_DEFAULT_LEARN_MAX_BYTES);
    flood(3000, 4, 0, 0);
    learnsum_configure(&sum, 1, LEARNSUM_MIN_MAX_BYTES);
    cr_expect_leq(sum.bytes, LEARNSUM_MIN_MAX_BYTES);
}
