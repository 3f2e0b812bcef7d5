#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "http/basiccred.h"

struct cred_case {
    char header[160];
    int rc;
    char user[32];
    char pass[32];
};

/* base64("alice:s3cret") = YWxpY2U6czNjcmV0; "a:" = YTo=; ":p" = OnA=; "ab:c" = YWI6Yw== */
ParameterizedTestParameters(basiccred, parse_is_strict)
{
    static struct cred_case cases[] = {
        { "Basic YWxpY2U6czNjcmV0", 0, "alice", "s3cret" },
        { "basic YWxpY2U6czNjcmV0", 0, "alice", "s3cret" },
        { "BASIC   YWxpY2U6czNjcmV0 \t", 0, "alice", "s3cret" },
        { "Basic YTo=", 0, "a", "" },
        { "Basic OnA=", 0, "", "p" },
        { "Basic YWI6Yw==", 0, "ab", "c" },
        { "Basic YTpiOmM=", 0, "a", "b:c" }, /* "a:b:c": the first colon splits */
        { "", -ENOENT, "", "" },
        { "Bearer YWxpY2U6czNjcmV0", -ENOENT, "", "" },
        { "Basicx YWxpY2U6czNjcmV0", -ENOENT, "", "" },
        { "Basic", -EINVAL, "", "" },
        { "Basic ", -EINVAL, "", "" },
        { "Basic YWxpY2U", -EINVAL, "", "" },                   /* not a multiple of 4 */
        { "Basic YWxpY2U=", -EINVAL, "", "" },                  /* "alice": no colon */
        { "Basic YWI6Yw=", -EINVAL, "", "" },                   /* padding short */
        { "Basic YWI6Yw===", -EINVAL, "", "" },                 /* padding long */
        { "Basic YWI6Yx==", -EINVAL, "", "" },                  /* non-zero pad bits */
        { "Basic YTo=YTo=", -EINVAL, "", "" },                  /* padding in the middle */
        { "Basic YWxpY2U6czNjcmV0, Basic x", -EINVAL, "", "" }, /* a repeated header */
        { "Basic YWxp Y2U6czNjcmV0", -EINVAL, "", "" },
        { "Basic YWxpY2U6czNjcmV0\r", -EINVAL, "", "" },
        { "Basic YTphAGI=", -EINVAL, "", "" }, /* "a:a\0b": a NUL */
        { "Basic YTphCmI=", -EINVAL, "", "" }, /* "a:a\nb" */
        { "Basic YQE6Yg==", -EINVAL, "", "" }, /* "a\x01:b" */
        { "Basic YTp/", -EINVAL, "", "" },     /* "a:\x7f" */
    };

    return cr_make_param_array(struct cred_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cred_case *c, basiccred, parse_is_strict)
{
    struct basiccred cred;
    int rc = basiccred_parse(c->header, &cred);

    cr_assert_eq(rc, c->rc, "%s: %d", c->header, rc);
    cr_assert_str_eq(cred.user, c->user, "%s", c->header);
    cr_assert_str_eq(cred.pass, c->pass, "%s", c->header);
    cr_assert_eq(cred.user_len, strlen(c->user));
    cr_assert_eq(cred.pass_len, strlen(c->pass));
}

Test(basiccred, lengths_are_bounded)
{
    /* 128 and 129 bytes of user-id: the bound, and one byte over it. */
    static const char user128[] =
        "Basic "
        "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
        "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE6cA==";
    static const char user129[] =
        "Basic "
        "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
        "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhOnA=";
    struct basiccred cred;

    cr_assert_eq(basiccred_parse(user128, &cred), 0);
    cr_assert_eq(cred.user_len, 128);
    cr_assert_eq(basiccred_parse(user129, &cred), -EINVAL);
}
