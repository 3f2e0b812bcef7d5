/*
 * learnprop: the proposal learn mode makes from its summary, against a config: new
 * families with their types, units, buckets and labels; a declared family extended,
 * never changed; flagged labels left out with their reason; a fragment the loader takes;
 * and a bounded proposal after a flood.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "cfgtest.h"
#include "expose/learnprop.h"
#include "ingest/learnsum.h"

static struct config cfg;
static struct learnsum sum;

static void setup(void)
{
    must_parse(&cfg, "{'families': [{'name': 'requests', 'type': 'counter',"
                     "   'labels': [{'name': 'method', 'values': ['GET', 'POST']},"
                     "              {'name': 'shard', 'max_values': 2, 'pattern': '[0-9]+'}]},"
                     "  {'name': 'depth', 'type': 'gauge'}]}");
    learnsum_init(&sum, 1, CONFIG_DEFAULT_LEARN_MAX_BYTES);
}

static void teardown(void)
{
    learnsum_release(&sum);
    cfgload_release(&cfg);
}

TestSuite(learnprop, .init = setup, .fini = teardown);

static void note(const char *text, int reason, const char *family)
{
    struct statsd_line line;
    struct learnsum_from from = { 1, 42, 1000 };
    const struct config_family *f = NULL;

    cr_assert_eq(statsd_parse_line(text, strlen(text), &line), STATSD_OK, "%s", text);
    if (family != NULL)
        f = &cfg.families[config_find_family(&cfg, family, strlen(family))];
    learnsum_note(&sum, &cfg, &line, reason, f, &from, 0);
}

static json_t *proposal_of(json_t *all, const char *family)
{
    json_t *p;
    size_t i;

    json_array_foreach(all, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "family")), family) == 0)
            return json_object_get(p, "config");
    }
    cr_assert_fail("no proposal for %s", family);
    return NULL;
}

static json_t *label_of(json_t *fam, const char *name)
{
    json_t *l;
    size_t i;

    json_array_foreach(json_object_get(fam, "labels"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "name")), name) == 0)
            return l;
    }
    return NULL;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Whether a reason of the proposal one says word. */
static int mentions(json_t *one, const char *word)
{
    char *text = json_dumps(json_object_get(one, "reasons"), 0);
    int yes = strstr(text, word) != NULL;

    free(text);
    return yes;
}

/* The fragment of all, loaded by the configuration's own loader. */
static void loads(json_t *all)
{
    json_t *frag = learnprop_fragment(all);
    char *text = json_dumps(frag, 0), err[512];
    struct config c;

    cr_expect_eq(cfgload_text(&c, text, strlen(text), "fragment.json", err, sizeof(err)), 0,
                 "the fragment does not load: %s\n%s", err, text);
    cfgload_release(&c);
    free(text);
    json_decref(frag);
}

Test(learnprop, new_families_with_types_units_buckets_and_labels)
{
    json_t *all, *f, *l;
    char line[128];

    note("checkout.latency:12:40:300|ms|#route:/cart,user:jane@x.com", STATSD_UNKNOWN_FAMILY, NULL);
    note("checkout.latency:1200|ms|#route:/pay,user:bob@y.org", STATSD_UNKNOWN_FAMILY, NULL);
    note("queue.depth:+3|g|#queue:mail", STATSD_UNKNOWN_FAMILY, NULL);
    note("queue.depth:-1|g|#queue:mail", STATSD_UNKNOWN_FAMILY, NULL);
    note("render.ms:5|ms", STATSD_UNKNOWN_FAMILY, NULL);
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof(line), "hits:1|c|#code:%d,build:1.%d.0", 100 + i, i % 3);
        note(line, STATSD_UNKNOWN_FAMILY, NULL);
    }
    all = learnprop_all(&sum, &cfg);

    f = proposal_of(all, "checkout_latency");
    cr_expect_str_eq(str(f, "name"), "checkout_latency_seconds");
    cr_expect_str_eq(str(f, "type"), "histogram");
    cr_expect(strncmp(str(f, "help"), "TODO", 4) == 0);
    cr_expect_eq(json_real_value(json_array_get(json_object_get(f, "buckets"), 0)), 0.01,
                 "ms timers in seconds: 12 ms is 0.012, in the bucket of 0.025, one below");
    cr_expect_null(label_of(f, "user"), "an e-mail label is no label");
    cr_assert_not_null(l = label_of(f, "route"));
    cr_expect_eq(json_array_size(json_object_get(l, "values")), 2);

    f = proposal_of(all, "queue_depth");
    cr_expect_str_eq(str(f, "type"), "gauge");
    cr_expect(json_is_true(json_object_get(f, "updown")));

    f = proposal_of(all, "render_ms");
    cr_expect_str_eq(str(f, "name"), "render_ms");
    cr_expect_str_eq(str(f, "unit"), "milliseconds");

    f = proposal_of(all, "hits");
    cr_expect_str_eq(str(f, "name"), "hits_total");
    cr_assert_not_null(l = label_of(f, "code"));
    cr_expect_null(json_object_get(l, "values"));
    cr_expect_str_eq(str(l, "pattern"), "[0-9]+");
    cr_expect_str_eq(str(l, "overflow"), LEARNPROP_OVERFLOW);
    cr_expect_geq(json_integer_value(json_object_get(l, "max_values")), 100);
    cr_assert_not_null(l = label_of(f, "build"));
    cr_expect_eq(json_array_size(json_object_get(l, "values")), 3, "few values: enumerated");
    loads(all);
    json_decref(all);
}

Test(learnprop, a_flagged_label_is_explained)
{
    json_t *all, *p, *flagged;

    note("uploads:1|c|#object:images/2024/cat.jpg", STATSD_UNKNOWN_FAMILY, NULL);
    all = learnprop_all(&sum, &cfg);
    p = json_array_get(all, 0);
    flagged = json_array_get(json_object_get(p, "flagged"), 0);
    cr_assert_not_null(flagged);
    cr_expect_str_eq(str(flagged, "label"), "object");
    cr_expect_str_eq(str(flagged, "reason"), "path");
    cr_expect_str_eq(str(flagged, "example"), "images/2024/cat.jpg");
    json_decref(all);
}

Test(learnprop, a_declared_family_is_extended_never_changed)
{
    json_t *all, *one, *f, *l;

    note("requests:1|c|#method:PUT", STATSD_LABEL_VALUE_NOT_ALLOWED, "requests");
    note("requests:1|c|#method:GET,region:eu", STATSD_LABEL_NOT_ALLOWED, "requests");
    note("requests:1|c|#shard:x7", STATSD_LABEL_VALUE_PATTERN, "requests");
    note("depth:1|c", STATSD_TYPE_MISMATCH, "depth");
    all = learnprop_all(&sum, &cfg);

    one = json_array_get(all, 0);
    cr_expect_str_eq(str(one, "action"), "extend");
    f = json_object_get(one, "config");
    cr_expect_str_eq(str(f, "name"), "requests");
    cr_assert_not_null(l = label_of(f, "method"));
    cr_expect_eq(json_array_size(json_object_get(l, "values")), 1, "only the value it lacks");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(l, "values"), 0)), "PUT");
    cr_expect_not_null(label_of(f, "region"));
    cr_expect_null(label_of(f, "shard"), "a declared cap or pattern is not changed");
    cr_expect(mentions(one, "pattern"));

    one = json_array_get(all, 1);
    cr_expect_str_eq(str(one, "family"), "depth");
    cr_expect_str_eq(str(one, "action"), "none");
    cr_expect(mentions(one, "updown"));
    loads(all);
    json_decref(all);
}

Test(learnprop, counters_with_and_without_total_are_one_family)
{
    json_t *all;

    note("jobs.done:1|c|#queue:a", STATSD_UNKNOWN_FAMILY, NULL);
    note("jobs.done:1|c|#queue:a", STATSD_UNKNOWN_FAMILY, NULL);
    note("jobs_done_total:1|c|#queue:b", STATSD_UNKNOWN_FAMILY, NULL);
    all = learnprop_all(&sum, &cfg);
    cr_expect_str_eq(str(json_array_get(all, 1), "action"), "none");
    cr_expect_eq(
        json_array_size(json_object_get(
            label_of(json_object_get(json_array_get(all, 0), "config"), "queue"), "values")),
        2, "the labels merged");
    loads(all);
    json_decref(all);
}

Test(learnprop, what_the_loader_or_the_config_refuses_is_withdrawn_with_its_reason)
{
    json_t *all, *one;
    size_t i;

    note("process.cpu:1|c", STATSD_UNKNOWN_FAMILY, NULL);
    note("ustatsd_background_job_runs:1|c", STATSD_UNKNOWN_FAMILY, NULL);
    note("fine:1|c", STATSD_UNKNOWN_FAMILY, NULL);
    all = learnprop_all(&sum, &cfg);
    json_array_foreach(all, i, one)
    {
        const char *family = str(one, "family");

        if (strcmp(family, "fine") == 0) {
            cr_expect_str_eq(str(one, "action"), "add");
            continue;
        }
        cr_expect_str_eq(str(one, "action"), "none", "%s", family);
        cr_expect(json_is_null(json_object_get(one, "config")));
        cr_expect(mentions(one, "not proposed"), "%s", family);
    }
    loads(all);
    json_decref(all);
}

Test(learnprop, the_proposal_is_bounded_after_a_flood, .timeout = 60)
{
    char line[64];
    json_t *all, *frag;

    learnsum_configure(&sum, 1, 1 << 20);
    for (int i = 0; i < 1000000; i++) {
        snprintf(line, sizeof(line), "n%d:1|c|#k%d:v%d", i, i, i);
        note(line, STATSD_UNKNOWN_FAMILY, NULL);
    }
    all = learnprop_all(&sum, &cfg);
    cr_expect_leq(json_array_size(all), LEARNPROP_MAX_FAMILIES);
    frag = learnprop_fragment(all);
    cr_expect_leq(json_array_size(json_object_get(frag, "families")), LEARNPROP_MAX_FAMILIES);
    json_decref(frag);
    json_decref(all);
}
