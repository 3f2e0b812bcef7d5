/*
 * resattr: resource attributes from the OpenTelemetry variables, merged over the config's.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/errcode.h"
#include "config/resattr.h"

static struct config_resource_attr *v;
static size_t n;
static char err[256];

static void fini(void)
{
    resattr_free(v, n);
    v = NULL;
    n = 0;
}

TestSuite(resattr, .fini = fini);

static const char *value_of(const char *key)
{
    long i = resattr_find(v, n, key);

    return i < 0 ? NULL : v[i].value;
}

Test(resattr, the_variables_are_read_as_the_sdks_read_them)
{
    cr_assert_eq(resattr_from_env(NULL,
                                  " service.version = 1.4.2%2Bb7 ,deployment.environment=prod%2Ceu,"
                                  "service.name=from-attrs",
                                  128, &v, &n, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(value_of("service.version"), "1.4.2+b7");
    cr_assert_str_eq(value_of("deployment.environment"), "prod,eu");
    cr_assert_str_eq(value_of("service.name"), "from-attrs");
    /* Sorted by key, for a deterministic target_info. */
    cr_assert_str_eq(v[0].key, "deployment.environment");
    cr_assert_str_eq(v[2].key, "service.version");
}

Test(resattr, otel_service_name_wins_and_the_environment_overrides_the_file)
{
    cr_assert_eq(resattr_set(&v, &n, "service.name", "from-file"), 0);
    cr_assert_eq(resattr_set(&v, &n, "team", "infra"), 0);
    cr_assert_eq(resattr_from_env("from-var", "service.name=from-attrs,team=ops", 128, &v, &n, err,
                                  sizeof(err)),
                 0, "%s", err);
    cr_assert_str_eq(value_of("service.name"), "from-var");
    cr_assert_str_eq(value_of("team"), "ops");
    cr_assert_eq(n, 2);
    /* service_name and service.name are one attribute. */
    cr_assert_eq(resattr_set(&v, &n, "service_name", "x"), 0);
    cr_assert_eq(n, 2);
}

Test(resattr, unset_or_empty_variables_add_nothing)
{
    cr_assert_eq(resattr_from_env(NULL, NULL, 128, &v, &n, err, sizeof(err)), 0);
    cr_assert_eq(resattr_from_env("", "", 128, &v, &n, err, sizeof(err)), 0);
    cr_assert_eq(n, 0);
}

Test(resattr, malformed_lists_are_refused_naming_the_variable_and_item)
{
    static const struct {
        const char *service, *attrs, *want;
    } cases[] = {
        { NULL, "a=1,broken", "OTEL_RESOURCE_ATTRIBUTES: \"broken\": expected key=value" },
        { NULL, "a=1,", "OTEL_RESOURCE_ATTRIBUTES: \"\": expected key=value" },
        { NULL, "=1", "the key is empty" },
        { NULL, "a=%zz", "\"a\": a '%' not followed by two hex digits" },
        { NULL, "a=%4", "\"a\": a '%' not followed by two hex digits" },
        { NULL, "a=", "\"a\": the value is empty" },
        { NULL, "a=%01", "\"a\": the value holds a control character" },
        { NULL, "a=%ff", "\"a\": the value is not valid UTF-8 text" },
        { NULL, "9lives=1", "the key is not a valid label name" },
        { NULL, "__x=1", "the key is not a valid label name" },
        { NULL, "a=0123456789", "\"a\": the value is longer than max_label_value_length" },
        { "a\tb", NULL, "OTEL_SERVICE_NAME: the value holds a control character" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(
            resattr_from_env(cases[i].service, cases[i].attrs, 8, &v, &n, err, sizeof(err)),
            ERRCODE_CONFIG, "case %zu", i);
        cr_assert_not_null(strstr(err, cases[i].want), "case %zu: %s", i, err);
        resattr_free(v, n);
        v = NULL;
        n = 0;
    }
}

Test(resattr, at_most_16_attributes)
{
    char list[512] = "";

    for (int i = 0; i < 17; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sk%d=v", i ? "," : "", i);
    cr_assert_eq(resattr_from_env(NULL, list, 128, &v, &n, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(err, "more than 16 attributes"), "%s", err);
}
