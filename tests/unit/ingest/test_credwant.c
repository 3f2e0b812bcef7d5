/*
 * credwant: the Unix socket asks for senders' credentials while something needs them
 * (writer rules, a service endpoint: always), and for the linger after start-up, a reload
 * and each rejected line; a daemon whose lines are all accepted stops asking. A fake clock.
 */
#include <criterion/criterion.h>

#include <stdint.h>

#include "ingest/credwant.h"

#define LINGER 600000 /* ms: the default, 10 minutes */

Test(credwant, asks_for_the_linger_after_start_up_then_stops)
{
    struct credwant w;

    credwant_init(&w, 1000, LINGER);
    cr_assert_eq(w.on, 1);
    cr_assert_eq(credwant_decide(&w, 0, 0, 1000, LINGER), 1);
    cr_assert_eq(credwant_decide(&w, 0, 0, 1000 + LINGER - 1, LINGER), 1);
    cr_assert_eq(credwant_decide(&w, 0, 0, 1000 + LINGER, LINGER), 0);
    cr_assert_eq(w.on, 0);
}

Test(credwant, writer_rules_or_a_service_endpoint_keep_it_on)
{
    struct credwant w;

    credwant_init(&w, 0, 0);
    cr_assert_eq(credwant_decide(&w, 1, 0, 1, 0), 1);
    cr_assert_eq(credwant_decide(&w, 1, 0, UINT64_MAX / 2, 0), 1);
    cr_assert_eq(credwant_decide(&w, 0, 0, UINT64_MAX / 2, 0), 0, "the rules are gone");
}

Test(credwant, a_rejected_line_asks_again_for_the_linger_from_then)
{
    struct credwant w;

    credwant_init(&w, 0, LINGER);
    cr_assert_eq(credwant_decide(&w, 0, 0, LINGER, LINGER), 0);
    cr_assert_eq(credwant_decide(&w, 0, 3, 2 * LINGER, LINGER), 1, "3 lines were refused");
    cr_assert_eq(credwant_decide(&w, 0, 3, 3 * LINGER - 1, LINGER), 1);
    cr_assert_eq(credwant_decide(&w, 0, 3, 3 * LINGER, LINGER), 0, "none since");
    cr_assert_eq(credwant_decide(&w, 0, 4, 4 * LINGER, LINGER), 1);
}

Test(credwant, a_reload_asks_again_and_never_shortens_the_linger)
{
    struct credwant w;

    credwant_init(&w, 0, LINGER);
    cr_assert_eq(credwant_decide(&w, 0, 0, LINGER, LINGER), 0);
    credwant_poke(&w, 2 * LINGER, LINGER);
    cr_assert_eq(credwant_decide(&w, 0, 0, 2 * LINGER + 1, LINGER), 1);
    credwant_poke(&w, 2 * LINGER + 2, 0); /* a reload to a linger of 0 */
    cr_assert_eq(credwant_decide(&w, 0, 0, 2 * LINGER + 3, 0), 1, "the earlier linger stands");
    cr_assert_eq(credwant_decide(&w, 0, 0, 3 * LINGER, 0), 0);
}

Test(credwant, a_linger_of_zero_asks_only_while_needed)
{
    struct credwant w;

    credwant_init(&w, 5, 0);
    cr_assert_eq(credwant_decide(&w, 0, 0, 5, 0), 0);
    cr_assert_eq(credwant_decide(&w, 0, 9, 6, 0), 0, "a reject lingers for 0 ms");
    cr_assert_eq(credwant_decide(&w, 1, 9, 7, 0), 1);
}

Test(credwant, the_linger_saturates_at_the_end_of_time)
{
    struct credwant w;

    credwant_init(&w, UINT64_MAX - 5, LINGER);
    cr_assert_eq(credwant_decide(&w, 0, 0, UINT64_MAX - 1, LINGER), 1);
}
