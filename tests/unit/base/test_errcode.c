#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "base/errcode.h"

Test(errcode, names_and_messages_cover_the_table_errno_and_zero)
{
#define CHECK(name, value, msg)                                       \
    cr_assert_str_eq(errcode_name(ERRCODE_##name), "ERRCODE_" #name); \
    cr_assert_str_eq(errcode_str(ERRCODE_##name), msg);               \
    cr_assert_lt(ERRCODE_##name, -4200);
    ERRCODE_MAP(CHECK)
#undef CHECK
    cr_assert_str_eq(errcode_name(0), "0");
    cr_assert_str_eq(errcode_name(-ENOENT), "ENOENT");
    cr_assert_str_eq(errcode_str(-ENOENT), strerror(ENOENT));
    cr_assert_str_eq(errcode_name(-4199), "unknown");
    cr_assert_str_eq(errcode_str(-4199), "unknown error");
    cr_assert_str_eq(errcode_name(7), "unknown");
}

Test(errcode, each_code_of_the_table_is_its_own)
{
    static const int codes[] = {
#define CODE(name, value, msg) value,
        ERRCODE_MAP(CODE)
#undef CODE
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);

    for (size_t i = 0; i < n; i++) {
        cr_assert_gt(codes[i], -4300, "%s: below -4200 (past errno and UV_EOF, -4095), above -4300",
                     errcode_name(codes[i]));
        for (size_t j = i + 1; j < n; j++)
            cr_assert_neq(codes[i], codes[j], "%s twice", errcode_name(codes[i]));
    }
}

Test(errcode, a_bare_minus_one_would_read_as_eperm)
{
    /* Why no function returns -1 (tests/layering/check.py refuses one): it names EPERM. */
    cr_assert_str_eq(errcode_name(-1), "EPERM");
    cr_assert_str_eq(errcode_name(ERRCODE_FORMAT), "ERRCODE_FORMAT");
    cr_assert_str_eq(errcode_str(ERRCODE_LIMIT), "limit reached");
}
