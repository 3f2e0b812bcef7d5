/* strset: a set of borrowed byte strings. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "base/strset.h"

Test(strset, holds_what_was_added_across_growth)
{
    struct strset set = { 0 };
    char keys[100][8];
    size_t i;

    cr_assert_eq(strset_has(&set, "x", 1), 0);
    for (i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        strset_add(&set, keys[i], (uint32_t)strlen(keys[i]));
        strset_add(&set, keys[i], (uint32_t)strlen(keys[i]));
    }
    cr_assert_eq(set.n, 100);
    for (i = 0; i < 100; i++)
        cr_assert(strset_has(&set, keys[i], (uint32_t)strlen(keys[i])), "%s", keys[i]);
    cr_assert_eq(strset_has(&set, "k1", 1), 0, "a prefix is another string");
    strset_release(&set);
    cr_assert_eq(set.cap, 0);
}
