#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "query.h"

Test(query, decode_percent_escapes_and_plus)
{
    char out[32];

    cr_assert_eq(query_decode("a%2Eb+c%2f", 10, out, sizeof(out)), 6);
    cr_assert_str_eq(out, "a.b c/");
    cr_assert_eq(query_decode("%zz", 3, out, sizeof(out)), -EINVAL);
    cr_assert_eq(query_decode("abc%4", 5, out, sizeof(out)), -EINVAL);
    cr_assert_eq(query_decode("abcdef", 6, out, 4), -ENOSPC);
    cr_assert_eq(query_decode("abcdef", 6, NULL, 0), 6);
}

Test(query, next_walks_every_parameter_in_order)
{
    const char *p = "section=series&&family=a%2Eb&pretty&limit=10";
    char name[16], value[16];

    cr_assert_eq(query_next(&p, name, sizeof(name), value, sizeof(value)), 1);
    cr_assert_str_eq(name, "section");
    cr_assert_str_eq(value, "series");
    cr_assert_eq(query_next(&p, name, sizeof(name), value, sizeof(value)), 1);
    cr_assert_str_eq(name, "family");
    cr_assert_str_eq(value, "a.b");
    cr_assert_eq(query_next(&p, name, sizeof(name), value, sizeof(value)), 1);
    cr_assert_str_eq(name, "pretty");
    cr_assert_str_eq(value, "");
    cr_assert_eq(query_next(&p, name, sizeof(name), value, sizeof(value)), 1);
    cr_assert_str_eq(name, "limit");
    cr_assert_str_eq(value, "10");
    cr_assert_eq(query_next(&p, name, sizeof(name), value, sizeof(value)), 0);
}

Test(query, next_reports_a_bad_escape_or_an_oversized_name)
{
    const char *p = "ok=1&bad=%g1";
    const char *q = "averyveryverylongname=1";
    char name[8], value[8];

    cr_assert_eq(query_next(&p, name, sizeof(name), value, sizeof(value)), 1);
    cr_assert_eq(query_next(&p, name, sizeof(name), value, sizeof(value)), -EINVAL);
    cr_assert_eq(query_next(&q, name, sizeof(name), value, sizeof(value)), -ENOSPC);
}
