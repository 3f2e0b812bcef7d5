/*
 * statuspage_fixture: what the end-to-end tests of the status page share
 * (test_e2e_statuspage*): the families and jobs of the daemon under test, the known
 * traffic it is fed (a hostile rejected line among it), and what the live part of the
 * page must then show, in the HTML as served and in the DOM a browser rendered alike.
 */
#ifndef USTATSD_TEST_STATUSPAGE_FIXTURE_H
#define USTATSD_TEST_STATUSPAGE_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "daemon.h"

/* Config members: two families with a label each, one job. */
#define STATUSPAGE_FAMILIES                                                          \
    "\"families\": ["                                                                \
    " {\"name\": \"checkout_orders\", \"type\": \"counter\", \"help\": \"Orders.\"," \
    "  \"labels\": [{\"name\": \"payment\", \"values\": [\"card\", \"invoice\"]}]}," \
    " {\"name\": \"queue_depth\", \"type\": \"gauge\", \"help\": \"Depth.\","        \
    "  \"labels\": [{\"name\": \"queue\", \"max_values\": 8}]}],"                    \
    " \"jobs\": {\"prefix\": \"job\", \"list\": [\"mailer\"]}"

/*
 * Known traffic: 2 series of checkout_orders (both payment values), 1 of queue_depth, an
 * error of the job, an unknown family and a line whose name is markup.
 */
static const char statuspage_traffic[] = "checkout_orders:1|c|#payment:card\n"
                                         "checkout_orders:2|c|#payment:invoice\n"
                                         "queue_depth:7|g|#queue:mail\n"
                                         "mailer:error|j\n"
                                         "nope:1|c\n"
                                         "<script>document.title=location.host</script>:1|c";

static inline void statuspage_feed(struct daemon *d)
{
    cr_assert_eq(daemon_sends(d, statuspage_traffic), 0);
    cr_assert_eq(daemon_wait_read(d, 5000), 0);
}

/* The table row that holds start also holds needle. */
static inline void row_has(const char *html, const char *start, const char *needle)
{
    const char *row = strstr(html, start), *end, *at;

    cr_assert_not_null(row, "no row with %s", start);
    end = strstr(row, "</tr>");
    at = strstr(row, needle);
    cr_assert(end != NULL && at != NULL && at < end, "the row of %s has no %s: %.300s", start,
              needle, row);
}

/* The live part after statuspage_feed(): families, counts against caps, rejects, the job. */
static inline void assert_live(const char *html)
{
    row_has(html, "<code>checkout_orders</code>", "2 / 20000 (0%)");
    row_has(html, "<code>queue_depth</code>", "1 / 20000 (0%)");
    row_has(html, "<td>payment</td>", "2 of 2 values seen");
    row_has(html, "<td>queue</td>", "1 / 8 (12%)");
    row_has(html, "<td>unknown_family</td>", "<td class=\"n\">1</td>");
    row_has(html, "<td>lines accepted</td>", "<td class=\"n\">4</td>");
    row_has(html, "<td>lines rejected</td>", "<td class=\"n\">2</td>");
    row_has(html, "<code>nope:1|c</code>", "pid ");
    row_has(html, "<code>&lt;script&gt;document.title=location.host&lt;/script&gt;:1|c</code>",
            "pid ");
    cr_assert_null(strstr(html, "<script>document"), "a rejected line is never markup");
    cr_assert_not_null(strstr(html, "<title>ustatsd</title>"), "a rejected line never runs");
    row_has(html, "<code>mailer</code>", "<td class=\"state-closed\">closed for ");
    cr_assert_not_null(strstr(html, "id=\"learn\""), "the learn proposal's place");
    /* Learn mode (on by default) proposes the unknown family, script or no script. */
    row_has(html, "<tr><td>nope</td>", "add counter");
}

#endif
