/*
 * How long a scrape waits for the SQL collectors (scrape_deadline_ms): the longest query
 * timeout, cut to what Prometheus announced, and never as long as httpd's deadline for
 * work without progress, so that a scrape waiting on Postgres is never evicted for it.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "config/config.h"
#include "http/httpd.h"
#include "handler/scrape.h"

static uint64_t deadline(double t1, double t2, const char *announced)
{
    struct config_sql_metric m[2];
    struct config c;

    memset(&c, 0, sizeof(c));
    memset(m, 0, sizeof(m));
    m[0].timeout_seconds = t1;
    m[1].timeout_seconds = t2;
    c.sql_metrics = m;
    c.nsql_metrics = t1 > 0 ? 2 : 0;
    return scrape_deadline_ms(&c, announced);
}

Test(scrape_deadline, the_longest_query_timeout_cut_to_the_announced_one)
{
    cr_assert_eq(deadline(0, 0, ""), (uint64_t)(CONFIG_DEFAULT_SQL_TIMEOUT * 1000));
    cr_assert_eq(deadline(2, 3, ""), 3000);
    cr_assert_eq(deadline(2, 3, "2.5"), 2250);
    cr_assert_eq(deadline(2, 3, "junk"), 3000);
}

Test(scrape_deadline, never_reaches_the_server_s_deadline_for_waiting_work)
{
    cr_assert_lt(SCRAPE_MAX_WAIT_MS, HTTPD_DEFAULT_EVICT_WORK_MS);
    cr_assert_lt(SCRAPE_MAX_WAIT_MS, HTTPD_DEFAULT_WRITE_TIMEOUT_MS);
    cr_assert_eq(deadline(60, 1, ""), SCRAPE_MAX_WAIT_MS);
    cr_assert_eq(deadline(60, 1, "120"), SCRAPE_MAX_WAIT_MS);
    cr_assert_eq(deadline(60, 1, "5"), 4750);
}
