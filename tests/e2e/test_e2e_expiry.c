/*
 * End to end through the real binary: a family refilled once its series are past their
 * ttl loses no line to the caps. The series fill the family's cap and, but for a few,
 * the total one; once the daemon's own clock has passed the ttl (a probe series of a
 * family the sweep walks first has expired), as many new series arrive at once, while the
 * sweep may not yet have reached the old ones: each line that finds a cap full makes room
 * by freeing expired series.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "exposcan.h"

#define FILL      20000
#define PER_DGRAM 200

static const char config[] =
    "{\n"
    "  \"limits\": {\"max_series\": 20050, \"max_series_per_family\": 20000},\n"
    "  \"families\": [\n"
    "    {\"name\": \"probe\", \"type\": \"gauge\", \"help\": \"The clock.\",\n"
    "     \"ttl_seconds\": 1},\n"
    "    {\"name\": \"fill\", \"type\": \"gauge\", \"help\": \"Refilled.\",\n"
    "     \"ttl_seconds\": 1, \"labels\": [{\"name\": \"id\", \"max_values\": 20000}]}\n"
    "  ]\n"
    "}\n";

static struct daemon d;

DAEMON_FIXTURE(d, config)

/* FILL lines fill:1|g|#id:<prefix><i>, PER_DGRAM to a datagram. */
static void send_fill(const char *prefix)
{
    char dgram[PER_DGRAM * 32];
    size_t i, len = 0;

    for (i = 0; i < FILL; i++) {
        len += (size_t)snprintf(dgram + len, sizeof dgram - len, "%sfill:1|g|#id:%s%zu",
                                len ? "\n" : "", prefix, i);
        if ((i + 1) % PER_DGRAM == 0) {
            cr_assert_eq(daemon_send(&d, dgram, len), 0);
            len = 0;
        }
    }
    cr_assert_eq(daemon_wait_read(&d, 20000), 0, "the daemon did not read every datagram");
}

static int probe_gone(const char *body, void *arg)
{
    (void)arg;
    return expo_value(body, "ustatsd_family_series{family=\"probe\"}") == 0;
}

Test(e2e_expiry, a_refill_past_the_ttl_loses_no_line, .init = start, .fini = stop, .timeout = 120)
{
    char *body;
    int found;

    send_fill("old");
    cr_assert_eq(daemon_sends(&d, "probe:1|g"), 0);
    cr_assert_eq(daemon_wait_read(&d, 20000), 0);
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "ustatsd_family_series{family=\"fill\"}"), FILL, 1e-9);
    cr_assert_float_eq(expo_value(body, "ustatsd_lines_accepted_total"), FILL + 1, 1e-9);
    cr_assert_float_eq(expo_sum(body, "ustatsd_lines_rejected_total", &found), 0, 1e-9);
    free(body);
    /* The probe was sent last and expires first: the old series are past their ttl too. */
    cr_assert_eq(daemon_wait_scrape(&d, probe_gone, NULL, 20000), 0, "the probe did not expire");
    send_fill("new");
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "ustatsd_lines_rejected_total{reason=\"series_cap\"}"), 0,
                       1e-9, "lines lost to series_cap");
    cr_assert_float_eq(expo_sum(body, "ustatsd_lines_rejected_total", &found), 0, 1e-9,
                       "lines lost");
    cr_assert_float_eq(expo_value(body, "ustatsd_lines_accepted_total"), 2 * FILL + 1, 1e-9);
    /* Every new line was taken (above); whether each new series is still there when the
     * scrape comes depends on how long the refill took against the 1 s ttl, the host's
     * timing, so it is not asserted. No old one is. */
    cr_assert_eq(daemon_count(body, "\nfill{id=\"old"), 0);
    /* Each old series and the probe were freed, by the sweep or by a line's reclaim (which
     * of them gets there first is the daemon's timing: not asserted). */
    cr_assert_geq(expo_value(body, "ustatsd_series_expired_total{by=\"sweep\"}") +
                      expo_value(body, "ustatsd_series_expired_total{by=\"reclaim\"}"),
                  FILL + 1);
    free(body);
}
