#include <criterion/criterion.h>

#include "base/errcode.h"
#include "base/logname.h"

Test(logname, each_name_is_found_at_its_index_and_the_lists_end_in_null)
{
    for (int i = 0; i < LOGNAME_NFORMATS; i++)
        cr_assert_eq(logname_find(logname_formats, logname_formats[i]), i);
    for (int i = 0; i < LOGNAME_NLEVELS; i++)
        cr_assert_eq(logname_find(logname_levels, logname_levels[i]), i);
    cr_assert_null(logname_formats[LOGNAME_NFORMATS]);
    cr_assert_null(logname_levels[LOGNAME_NLEVELS]);
}

Test(logname, only_an_exact_name_is_found)
{
    cr_assert_eq(logname_find(logname_levels, "Info"), ERRCODE_UNKNOWN);
    cr_assert_eq(logname_find(logname_levels, "inf"), ERRCODE_UNKNOWN);
    cr_assert_eq(logname_find(logname_levels, ""), ERRCODE_UNKNOWN);
    cr_assert_eq(logname_find(logname_formats, "jsonl"), ERRCODE_UNKNOWN);
}
