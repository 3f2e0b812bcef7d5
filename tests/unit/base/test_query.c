#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "base/query.h"

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

Test(query, has_ctl_sees_raw_and_encoded_control_bytes)
{
    cr_assert_eq(query_has_ctl("a=1&b=%41%20%7E", 15), 0);
    cr_assert_eq(query_has_ctl("a=%00", 5), 1);
    cr_assert_eq(query_has_ctl("a=%1f", 5), 1);
    cr_assert_eq(query_has_ctl("a=%7F", 5), 1);
    cr_assert_eq(query_has_ctl("a=\x01", 3), 1);
    cr_assert_eq(query_has_ctl("a=%zz%4", 7), 0);
    cr_assert_eq(query_has_ctl("a=%0", 4), 0);
    /* unescape passes them on: its callers judge the value. */
    char out[8];
    cr_assert_eq(query_unescape("a%00b", 5, out, sizeof(out)), 3);
}

struct find_case {
    char query[64];
    char name[16];
    int rc;
    char value[32];
};

/* A malformed parameter ends the walk, wherever it stands ("a=%zz&b=2"). */
ParameterizedTestParameters(query, find_decodes_the_first_parameter_by_name)
{
    static struct find_case cases[] = {
        { "a=1&b=2", "b", 1, "2" },
        { "a=1&b=2", "a", 1, "1" },
        { "a=1&b=2", "c", -ENOENT, "" },
        { "", "a", -ENOENT, "" },
        { "name=x%20y+z", "name", 5, "x y z" },
        { "flag&x=1", "flag", 0, "" },
        { "x=%zz", "x", -EINVAL, "" },
        { "x=%4", "x", -EINVAL, "" },
        { "x=%41%42", "x", 2, "AB" },
        { "n%61me=v", "name", 1, "v" },
        { "x=1&x=2", "x", 1, "1" },
        { "x=0123456789012345678901234567890123456789", "x", -ENOSPC, "" },
        { "a=%zz&b=2", "b", -EINVAL, "" },
        { "x=a%00b", "x", -EILSEQ, "" },
        { "x=a%1Fb", "x", -EILSEQ, "" },
        { "x=a%7fb", "x", -EILSEQ, "" },
        { "x=a\tb", "x", -EILSEQ, "" },
        { "x%0a=1", "x", -EILSEQ, "" },
        { "x=a%20b%7e", "x", 4, "a b~" },
    };

    return cr_make_param_array(struct find_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct find_case *c, query, find_decodes_the_first_parameter_by_name)
{
    char v[32];
    int rc = query_find(c->query, c->name, v, sizeof(v));

    cr_assert_eq(rc, c->rc, "%s / %s: %d", c->query, c->name, rc);
    if (rc >= 0)
        cr_assert_str_eq(v, c->value);
}
