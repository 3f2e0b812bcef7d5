/*
 * rwretry: 2xx sent; 5xx, 429 and no answer retried with a backoff that doubles from
 * min_backoff to max_backoff, or waits a Retry-After (capped); anything else rejected.
 */
#include <criterion/criterion.h>

#include "remote/rwretry.h"

Test(rwretry, the_verdict_of_each_kind_of_answer)
{
    cr_assert_eq(rwretry_judge(200), RWRETRY_SENT);
    cr_assert_eq(rwretry_judge(204), RWRETRY_SENT);
    cr_assert_eq(rwretry_judge(0), RWRETRY_RETRY);
    cr_assert_eq(rwretry_judge(429), RWRETRY_RETRY);
    cr_assert_eq(rwretry_judge(500), RWRETRY_RETRY);
    cr_assert_eq(rwretry_judge(503), RWRETRY_RETRY);
    cr_assert_eq(rwretry_judge(400), RWRETRY_REJECTED);
    cr_assert_eq(rwretry_judge(401), RWRETRY_REJECTED);
    cr_assert_eq(rwretry_judge(404), RWRETRY_REJECTED);
    cr_assert_eq(rwretry_judge(413), RWRETRY_REJECTED);
    cr_assert_eq(rwretry_judge(301), RWRETRY_REJECTED);
    cr_assert_str_eq(rwretry_verdict_name(RWRETRY_REJECTED), "rejected");
}

Test(rwretry, the_backoff_doubles_up_to_its_ceiling_and_retry_after_replaces_it)
{
    const struct rwretry p = { 30, 5000 };

    cr_assert_eq(rwretry_delay_ms(&p, 1, -1), 30);
    cr_assert_eq(rwretry_delay_ms(&p, 2, -1), 60);
    cr_assert_eq(rwretry_delay_ms(&p, 3, -1), 120);
    cr_assert_eq(rwretry_delay_ms(&p, 8, -1), 3840);
    cr_assert_eq(rwretry_delay_ms(&p, 9, -1), 5000);
    cr_assert_eq(rwretry_delay_ms(&p, 1000000, -1), 5000);
    cr_assert_eq(rwretry_delay_ms(&p, 1, 7), 7000);
    cr_assert_eq(rwretry_delay_ms(&p, 1, 0), 0);
    cr_assert_eq(rwretry_delay_ms(&p, 1, 86400), RWRETRY_MAX_RETRY_AFTER_S * 1000ull);
}
