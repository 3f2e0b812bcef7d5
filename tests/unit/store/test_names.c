#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/errcode.h"
#include "store/names.h"

static long find(const struct names *n, const char *s)
{
    return names_find(n, s, strlen(s));
}

/* A counter answers to its name and to name_total, anything else to its name alone. */
Test(names, counters_answer_to_total_too)
{
    struct names n = { 0 };
    size_t bytes = 0;

    cr_assert_eq(find(&n, "jobs"), ERRCODE_UNKNOWN, "an empty index finds nothing");
    names_reset(&n, 2, &bytes);
    names_add(&n, "jobs", 4, 0, 1);
    names_add(&n, "depth", 5, 1, 0);
    cr_assert_eq(find(&n, "jobs"), 0);
    cr_assert_eq(find(&n, "jobs_total"), 0);
    cr_assert_eq(find(&n, "depth"), 1);
    cr_assert_eq(find(&n, "depth_total"), ERRCODE_UNKNOWN);
    cr_assert_eq(find(&n, "job"), ERRCODE_UNKNOWN);
    cr_assert_eq(find(&n, "jobs_tota"), ERRCODE_UNKNOWN);
    cr_assert_gt(bytes, 0);
    names_reset(&n, 1, &bytes);
    cr_assert_eq(find(&n, "jobs"), ERRCODE_UNKNOWN, "a reset forgets every name");
    names_release(&n, &bytes);
    cr_assert_eq(bytes, 0);
}

/* Many families: the index grows to keep a quarter full, and every name is found. */
Test(names, every_name_of_many_families_is_found)
{
    static char buf[1000][16];
    struct names n = { 0 };
    size_t bytes = 0;

    names_reset(&n, 1000, &bytes);
    for (int i = 0; i < 1000; i++) {
        int len = snprintf(buf[i], sizeof buf[i], "family_%d", i);

        names_add(&n, buf[i], (size_t)len, (uint32_t)i, i % 2);
    }
    cr_assert_geq(n.mask + 1, 4000);
    for (int i = 0; i < 1000; i++) {
        char total[40];

        snprintf(total, sizeof total, "%.15s_total", buf[i]);
        cr_assert_eq(find(&n, buf[i]), i);
        cr_assert_eq(find(&n, total), i % 2 ? i : ERRCODE_UNKNOWN, "%s", total);
    }
    names_release(&n, &bytes);
    cr_assert_eq(bytes, 0);
}
