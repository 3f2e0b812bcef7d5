/*
 * End to end through the real binary: the series' memory collapsed into huge pages, as
 * the views show it. Enough series fill several of the store's 2 MiB regions; where the
 * kernel's transparent huge page mode lets the daemon collapse (always, madvise), the state
 * thread takes one full region an expiry tick, and every range it takes is collapsed or
 * refused, never lost: /metrics and /debug count them. Under never, nothing is taken and
 * every count stays 0. The test reads the mode itself to know which to expect.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "exposcan.h"

#define SERIES    60000 /* counter blocks of about 100 bytes: over two full 2 MiB regions */
#define PER_DGRAM 100
#define HUGE      (2.0 * 1024 * 1024)

static const char config[] = "{\n"
                             "  \"limits\": {\"max_series\": 100000, \"max_series_per_family\": "
                             "100000},\n"
                             "  \"families\": [\n"
                             "    {\"name\": \"reqs\", \"type\": \"counter\", \"help\": \"R.\",\n"
                             "     \"labels\": [{\"name\": \"id\", \"max_values\": 100000}]}\n"
                             "  ]\n"
                             "}\n";

static struct daemon d;

DAEMON_FIXTURE(d, config)

/*
 * Whether the kernel lets the daemon collapse, as hugepages_allowed() and
 * hugepages_size_fits() read it: its mode, and a huge page of 2 MiB.
 */
static int mode_allows(void)
{
    char *text = daemon_read_file("/sys/kernel/mm/transparent_hugepage/enabled");
    char *size = daemon_read_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    int ok = text != NULL && (strstr(text, "[always]") != NULL || strstr(text, "[madvise]"));

    if (size == NULL) /* only a missing file is taken as 2 MiB, as the daemon takes it */
        ok = ok && access("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", F_OK) != 0 &&
             errno == ENOENT;
    else
        ok = ok && strtoull(size, NULL, 10) == 2u << 20;
    free(text);
    free(size);
    return ok;
}

static void send_series(void)
{
    char dgram[PER_DGRAM * 40];
    size_t i, len = 0;

    for (i = 0; i < SERIES; i++) {
        len += (size_t)snprintf(dgram + len, sizeof dgram - len, "%sreqs:1|c|#id:series%zu",
                                len ? "\n" : "", i);
        if ((i + 1) % PER_DGRAM == 0) {
            cr_assert_eq(daemon_send(&d, dgram, len), 0);
            len = 0;
        }
    }
    cr_assert_eq(daemon_wait_read(&d, 30000), 0, "the daemon did not read every datagram");
}

/* Two ranges taken, each collapsed or refused: the daemon got past its first region. */
static int two_done(const char *body, void *arg)
{
    (void)arg;
    return expo_value(body, "ustatsd_hugepage_collapses_total{result=\"collapsed\"}") +
               expo_value(body, "ustatsd_hugepage_collapses_total{result=\"refused\"}") >=
           2;
}

/* /debug's daemon.series.huge_pages.<key>, as a number (booleans 1 and 0). */
static double debug_huge(json_t *doc, const char *key)
{
    json_t *v = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "daemon"), "series"), "huge_pages"),
        key);

    cr_assert_not_null(v, "no daemon.series.huge_pages.%s", key);
    return json_is_boolean(v) ? (json_is_true(v) ? 1 : 0) : json_number_value(v);
}

Test(e2e_hugepages, the_full_regions_are_collapsed_or_refused_as_the_views_say, .init = start,
     .fini = stop, .timeout = 120)
{
    int allowed = mode_allows();
    double collapsed, refused, bytes;
    char *body, *dbg = NULL;
    json_t *doc;

    send_series();
    if (allowed)
        cr_assert_eq(daemon_wait_scrape(&d, two_done, NULL, 60000), 0,
                     "no two ranges collapsed or refused");
    body = daemon_scrape(&d, NULL);
    cr_assert_float_eq(expo_value(body, "ustatsd_series"), SERIES, 1e-9);
    cr_assert_float_eq(expo_value(body, "ustatsd_hugepage_collapse_enabled"), allowed, 1e-9);
    collapsed = expo_value(body, "ustatsd_hugepage_collapses_total{result=\"collapsed\"}");
    refused = expo_value(body, "ustatsd_hugepage_collapses_total{result=\"refused\"}");
    bytes = expo_value(body, "ustatsd_hugepage_collapsed_bytes_total");
    free(body);
    if (!allowed) {
        cr_assert_float_eq(collapsed + refused + bytes, 0, 1e-9, "collapses under never");
    } else {
        /* Each range collapsed is one or more whole 2 MiB pages. */
        cr_assert_geq(bytes, collapsed * HUGE, "%.0f bytes in %.0f ranges", bytes, collapsed);
        cr_assert_float_eq(bytes / HUGE, (double)(long long)(bytes / HUGE), 1e-9,
                           "%.0f bytes: not whole huge pages", bytes);
    }
    cr_assert_eq(daemon_get(&d, "/debug?section=daemon", NULL, &dbg), 200);
    doc = json_loads(dbg, 0, NULL);
    cr_assert_not_null(doc);
    cr_assert_float_eq(debug_huge(doc, "enabled"), allowed, 1e-9);
    /* Counts only grow: the debug view, read after the scrape, shows at least as many. */
    cr_assert_geq(debug_huge(doc, "collapsed"), collapsed);
    cr_assert_geq(debug_huge(doc, "refused"), refused);
    cr_assert_geq(debug_huge(doc, "collapsed_bytes"), bytes);
    json_decref(doc);
    free(dbg);
}
