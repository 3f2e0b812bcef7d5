/*
 * The registry's tag and value policies: stripped tags, dropped undeclared labels and
 * values folded into an overflow value, counted alike on the cached and the full path,
 * exact under a million-value attack, and carried across reloads.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "reload_fixture.h"

/*
 * env and service stripped; requests drops undeclared keys, folds its route (a pattern,
 * 3 values) and method (enumerated) into overflow values.
 */
static const char policy_config[] =
    "{\"limits\": {\"max_series\": 100, \"max_series_per_family\": 50,"
    "              \"max_label_value_length\": 16},"
    " \"clients\": {\"strip_tags\": [\"env\", \"service\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\", \"undeclared_labels\": \"drop\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"], \"overflow\": "
    "\"_OTHER\"},"
    "              {\"name\": \"route\", \"max_values\": 3, \"pattern\": \"/[a-z]*\","
    "               \"overflow\": \"__other__\"}]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"}"
    " ]}";

static uint64_t folded(size_t f, size_t label, enum config_fold why)
{
    return registry_values_folded(&reg, f, label, why);
}

/* What a line's tags cost is counted as often on the cached path as on the full one. */
Test(registry, tag_policies_count_on_both_paths, .fini = teardown)
{
    static const char *const lines[] = {
        "requests:1|c|#env:prod,service:api,method:GET,route:/img,error.type:500",
        "requests:1|c|#method:PUT,route:/a/b,http.flavor:2",
        "uploads:1|c|#env:prod",
    };
    size_t i, k;

    load(policy_config);
    for (k = 0; k < 5; k++)
        for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
            cr_assert_eq(ingest_at(lines[i], 1000), STATSD_OK, "%s", lines[i]);
    cr_assert_eq(registry_apply_raw(&reg, lines[0], strlen(lines[0]), 1000), STATSD_OK,
                 "the line is cached");
    cr_assert_eq(registry_tags_stripped(&reg, 0), 11, "env: 5 + 5 + the cached one");
    cr_assert_eq(registry_tags_stripped(&reg, 1), 6, "service");
    cr_assert_eq(registry_labels_dropped(&reg, 0), 11, "error.type 6 times, http.flavor 5");
    cr_assert_eq(folded(0, 0, CONFIG_FOLD_NOT_ALLOWED), 5, "PUT");
    cr_assert_eq(folded(0, 1, CONFIG_FOLD_PATTERN), 5, "/a/b");
    cr_assert_eq(folded(0, 1, CONFIG_FOLD_CAP), 0);
    cr_assert_eq(value_of(0, "method=GET,route=/img"), 6);
    cr_assert_eq(value_of(0, "method=_OTHER,route=__other__"), 5);
    cr_assert_eq(value_of(1, ""), 5, "a stripped tag is no label of a label-less family");
    cr_assert_eq(registry_family_lines(&reg, 0), 11, "10 and the cached one");
    cr_assert_eq(registry_family_lines(&reg, 1), 5);
    cr_assert_eq(ingest_at("uploads:-1|c", 1000), STATSD_NEGATIVE_COUNTER);
    cr_assert_eq(registry_family_lines(&reg, 1), 5, "a refused line is not counted");
}

/*
 * A million distinct values against a capped label that folds: the totals stay exact,
 * the series and the memory stay bounded, and each fold is counted by its reason.
 */
Test(registry, a_million_value_attack_folds_with_exact_totals_in_bounded_memory, .fini = teardown)
{
    struct registry_cursor c;
    struct registry_sample s;
    double total = 0;
    size_t mem_mid = 0, series = 0;
    char line[96];
    int i;

    load(policy_config);
    for (i = 0; i < 1000000; i++) {
        /* Half match the pattern (and fill the cap), half are object keys it refuses. */
        if (i % 2 == 0)
            snprintf(line, sizeof line, "requests:1|c|#route:/x/%d", i);
        else
            snprintf(line, sizeof line, "requests:1|c|#route:/%c%c%c%c%c", 'a' + i % 26,
                     'a' + i / 26 % 26, 'a' + i / 676 % 26, 'a' + i / 17576 % 26,
                     'a' + i / 456976 % 26);
        cr_assert_eq(ingest_at(line, 1000), STATSD_OK, "%s", line);
        if (i == 10000)
            mem_mid = registry_memory(&reg);
    }
    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s))
        if (s.family == 0) {
            total += s.value;
            series++;
        }
    registry_cursor_release(&c);
    cr_assert_eq(total, 1000000, "every observation is counted once");
    cr_assert_eq(series, 4, "3 values and __other__");
    cr_assert_eq(registry_label_values(&reg, 0, 1), 4);
    cr_assert_eq(folded(0, 1, CONFIG_FOLD_PATTERN), 500000);
    cr_assert_eq(folded(0, 1, CONFIG_FOLD_CAP), 500000 - 3 * 1, "all but the first 3 that fit");
    cr_assert_eq(registry_memory(&reg), mem_mid, "nothing grew after the first 10,000 lines");
    cr_assert_lt(registry_memory(&reg), 64 * 1024, "%zu bytes", registry_memory(&reg));
}

/* A reload renumbers the strip keys and may change what the same bytes cost. */
Test(registry, reload_carries_tag_counts_and_renotes_cached_lines, .fini = teardown_reload)
{
    const char *line = "requests:1|c|#method:GET,version:1.2,env:prod";
    char next[sizeof policy_config + 64];

    load(policy_config);
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(registry_labels_dropped(&reg, 0), 2, "version is undeclared");
    snprintf(next, sizeof next, "%s", policy_config);
    memcpy(strstr(next, "[\"env\", \"service\"]"), "[\"version\", \"env\"]", 18);
    reload(next);
    cr_assert_eq(registry_tags_stripped(&reg, 1), 2, "env's count follows env");
    cr_assert_eq(registry_tags_stripped(&reg, 0), 0, "version is new");
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(ingest_at(line, 1000), STATSD_OK);
    cr_assert_eq(registry_apply_raw(&reg, line, strlen(line), 1000), STATSD_OK, "cached again");
    cr_assert_eq(registry_tags_stripped(&reg, 0), 3, "version is stripped now, not dropped");
    cr_assert_eq(registry_tags_stripped(&reg, 1), 5);
    cr_assert_eq(registry_labels_dropped(&reg, 0), 2);
    cr_assert_eq(value_of(0, "method=GET"), 5);
}

/* A reload whose pattern refuses a value in use resets the family: no value outlives it. */
Test(registry, reload_with_a_pattern_that_refuses_a_held_value_resets_the_family,
     .fini = teardown_reload)
{
    char next[sizeof policy_config + 64];
    struct registry_reload rr;

    load(policy_config);
    cr_assert_eq(ingest_at("requests:1|c|#route:/img", 1000), STATSD_OK);
    snprintf(next, sizeof next, "%s", policy_config);
    memcpy(strstr(next, "/[a-z]*"), "/[a-z]+", 7);
    rr = reload(next);
    cr_assert_eq(rr.reset, 0, "/img still matches");
    cr_assert_eq(value_of(0, "route=/img"), 1);
    memcpy(strstr(next, "/[a-z]+"), "/[0-9]+", 7);
    rr = reload_into(&reload_cfg[1], &reload_cfg[0], next);
    cr_assert_eq(rr.reset, 1, "/img breaks /[0-9]+");
    cr_assert_eq(ingest_at("requests:1|c|#route:/img", 1000), STATSD_OK);
    cr_assert_eq(value_of(fam("requests"), "route=__other__"), 1, "/img now folds");
}
