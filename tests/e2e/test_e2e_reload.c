/*
 * End to end through the real binary: SIGHUP reloads the allowlist, keeps the series it
 * still allows, refuses a broken file or a change only a restart can make, and waits
 * for the series the last reload dropped before it swaps again.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"

static struct daemon d;

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

static void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_eq(fputs(json, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

/* Send SIGHUP and wait until the reload counter of result reaches want. */
static void reload_and_wait(const char *result, double want)
{
    char series[96];

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want, "%s", series);
}

static const char reload_before[] =
    "{\"families\": [\n"
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\"]}]},\n"
    "  {\"name\": \"old_depth\", \"type\": \"gauge\", \"help\": \"Removed by the reload.\"},\n"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"help\": \"L.\",\n"
    "   \"buckets\": [0.1, 1]},\n"
    "  {\"name\": \"rpc_seconds\", \"type\": \"summary\", \"help\": \"R.\"},\n"
    "  {\"name\": \"job_seconds\", \"type\": \"summary\", \"help\": \"J.\", \"max_age\": 60}],\n"
    " \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\"]}}\n";

/*
 * POST allowed, old_depth gone, latency rebucketed, job_seconds given another window, a
 * family and a job added.
 */
static const char reload_after[] =
    "{\"families\": [\n"
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests, reloaded.\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]}]},\n"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"help\": \"L.\",\n"
    "   \"buckets\": [0.5, 2]},\n"
    "  {\"name\": \"rpc_seconds\", \"type\": \"summary\", \"help\": \"R., reloaded.\"},\n"
    "  {\"name\": \"job_seconds\", \"type\": \"summary\", \"help\": \"J.\", \"max_age\": 30},\n"
    "  {\"name\": \"fresh\", \"type\": \"counter\", \"help\": \"Added by the reload.\"}],\n"
    " \"jobs\": {\"prefix\": \"e2e_job\", \"list\": [\"mailer\", \"indexer\"]}}\n";

Test(e2e_reload, sighup_reloads_the_allowlist_and_keeps_the_series_it_still_allows, .fini = stop)
{
    char *text, *dbg = NULL;
    struct stat st;

    cr_assert_eq(daemon_start(&d, reload_before, NULL), 0);
    cr_assert_eq(daemon_sends(&d, "requests:3|c|#method:GET\nold_depth:7|g\n"
                                  "latency_seconds:0.05|h\nmailer:error|j\n"
                                  "rpc_seconds:100|ms\njob_seconds:2|h"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 6, 5000), 6);
    cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:POST"), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"label_value_not_allowed\"}", 1,
                          5000),
        1);

    write_config(reload_after);
    reload_and_wait("success", 1);
    cr_assert_eq(daemon_sends(&d, "requests:1|c|#method:POST\nrequests:1|c|#method:GET\n"
                                  "fresh:2|c\nlatency_seconds:0.05|h\nold_depth:1|g\n"
                                  "rpc_seconds:300|ms\njob_seconds:5|h"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 12, 5000), 12);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 1, 5000),
        1);
    text = daemon_scrape(&d, NULL);
    /* Kept: the GET count goes on from 3. */
    cr_assert_eq(expo_value(text, "requests_total{method=\"GET\"}"), 4, "%s", text);
    cr_assert_eq(expo_value(text, "requests_total{method=\"POST\"}"), 1);
    cr_assert_not_null(strstr(text, "# HELP requests_total Requests, reloaded.\n"));
    cr_assert_eq(expo_value(text, "fresh_total"), 2);
    cr_assert(isnan(expo_value(text, "old_depth")), "a removed family is still exposed");
    /* New buckets: the series starts again with only the observation after the reload. */
    cr_assert_eq(expo_value(text, "latency_seconds_bucket{le=\"0.5\"}"), 1);
    cr_assert_eq(expo_value(text, "latency_seconds_count"), 1);
    cr_assert(isnan(expo_value(text, "latency_seconds_bucket{le=\"0.1\"}")));
    /* A summary whose windows stay keeps its state; one whose max_age changed starts again. */
    cr_assert_float_eq(expo_value(text, "rpc_seconds_sum"), 0.4, 1e-12);
    cr_assert_eq(expo_value(text, "rpc_seconds_count"), 2);
    cr_assert_eq(expo_value(text, "rpc_seconds{quantile=\"0.99\"}"), 0.3);
    cr_assert_eq(expo_value(text, "job_seconds_sum"), 5);
    cr_assert_eq(expo_value(text, "job_seconds_count"), 1);
    /* The job kept its counts; the new one starts at zero. */
    cr_assert_eq(expo_value(text, "e2e_job_errors_total{job=\"mailer\"}"), 1);
    cr_assert_eq(expo_value(text, "e2e_job_errors_total{job=\"indexer\"}"), 0);
    cr_assert_eq(expo_value(text, "ustatsd_config_last_reload_successful"), 1);
    cr_assert_eq(expo_value(text, "ustatsd_family_series{family=\"fresh\"}"), 1);
    cr_assert(isnan(expo_value(text, "ustatsd_family_series{family=\"old_depth\"}")));
    cr_assert_eq(expo_check(text, 0), 0);
    free(text);
    text = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_check(text, 1), 0);
    free(text);

    /* A broken file: refused, with the file, the key and the problem; the old one runs. */
    write_config("{\"families\": [{\"name\": \"x\", \"type\": \"countr\"}]}");
    reload_and_wait("failure", 1);
    text = daemon_read_file(d.log);
    cr_assert_not_null(strstr(text, "reload refused"), "%s", text);
    cr_assert_not_null(strstr(text, "config.json: $.families[0].type"), "%s", text);
    free(text);
    cr_assert_eq(daemon_sends(&d, "fresh:1|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "fresh_total", 3, 5000), 3);
    text = daemon_scrape(&d, NULL);
    cr_assert_eq(expo_value(text, "ustatsd_config_last_reload_successful"), 0);
    free(text);

    /* What only a restart can change is refused by name, and shows in the debug view. */
    write_config("{\"daemon\": {\"socket_mode\": \"0600\"}, \"families\": []}");
    reload_and_wait("failure", 2);
    cr_assert_eq(stat(d.sock, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0660);
    cr_assert_eq(daemon_get(&d, "/debug?section=daemon", NULL, &dbg), 200);
    cr_assert_not_null(strstr(dbg, "\"failed\":2"), "%s", dbg);
    cr_assert_not_null(strstr(dbg, "$.daemon.socket_mode: differs from the running"), "%s", dbg);
    free(dbg);

    /* A good file again: accepted, and the failure clears. */
    write_config(reload_after);
    reload_and_wait("success", 2);
    text = daemon_scrape(&d, NULL);
    cr_assert_eq(expo_value(text, "ustatsd_config_last_reload_successful"), 1);
    cr_assert_eq(expo_value(text, "fresh_total"), 3);
    free(text);
}

static const char reload_big[] =
    "{\"limits\": {\"max_series_per_family\": 20000},\n"
    " \"families\": [{\"name\": \"big\", \"type\": \"gauge\", \"help\": \"Many series.\",\n"
    "   \"labels\": [{\"name\": \"k\", \"max_values\": 20000}]}]}\n";

/*
 * A SIGHUP while the series the last reload dropped are being freed waits for them: the
 * daemon never holds two reloads' worth. 20,000 series take 0.5 s to free.
 */
Test(e2e_reload, a_reload_during_a_drain_waits_for_it, .fini = stop)
{
    char dgram[8192], *log;
    size_t len = 0;

    cr_assert_eq(daemon_start(&d, reload_big, NULL), 0);
    for (int i = 0; i < 20000; i++) {
        len += (size_t)snprintf(dgram + len, sizeof dgram - len, "big:1|g|#k:v%d\n", i);
        if (len > sizeof dgram - 64 || i == 19999) {
            cr_assert_eq(daemon_send(&d, dgram, len - 1), 0);
            len = 0;
        }
    }
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 20000, 10000), 20000);
    write_config("{\"families\": []}");
    reload_and_wait("success", 1);
    write_config(reload_big);
    reload_and_wait("success", 2);
    log = daemon_read_file(d.log);
    cr_assert_not_null(strstr(log, "reload deferred until the"), "%s", log);
    free(log);
    cr_assert_eq(daemon_sends(&d, "big:5|g|#k:again"), 0);
    cr_assert_eq(daemon_wait_value(&d, "big{k=\"again\"}", 5, 5000), 5);
}

/* The README's run command uses the example config: its exposition must be clean. */
