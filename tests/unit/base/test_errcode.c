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
