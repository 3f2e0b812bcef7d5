/*
 * One snapshot, two views: every value of selfmetrics_fields[] is given a value of its own,
 * and /metrics (selfmetrics_render) and /debug (its daemon and ingest sections) must both
 * show it, each under its name.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "exposcan.h"
#include "expose/debug.h"
#include "selfcheck.h"
#include "base/expo.h"
#include "store/registry.h"
#include "expose/selfmetrics.h"
#include "statsd.h"

static const char config_json[] = "{\"families\": [{\"name\": \"uploads\", \"type\": \"counter\"}],"
                                  " \"resource\": {\"service.name\": \"shop\"}}";

static struct config cfg;
static struct registry reg;

/* cfg is static, so zeroed: each test runs in a process of its own. */
static void setup(void)
{
    char why[256];
    int rc = cfgload_text(&cfg, config_json, sizeof(config_json) - 1, "selfmetrics.json", why,
                          sizeof(why));

    cr_assert_eq(rc, 0, "%s", why);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
}

static void teardown(void)
{
    registry_release(&reg);
    cfgload_release(&cfg);
}

TestSuite(selfmetrics, .init = setup, .fini = teardown);

/* A snapshot whose every shared value differs from every other. */
static void fill(struct selfmetrics *s, const char *reload_error, int udp_on)
{
    uint64_t next = 1000;
    size_t i;
    int r;

    memset(s, 0, sizeof(*s));
    s->version = "9.9.9";
    s->config_path = "test.json";
    s->cfg = &cfg;
    s->reg = &reg;
    s->start_unix = 1.7e9;
    s->now_unix = 1.7e9 + 60;
    s->start_ms = 1000;
    s->now_ms = 61000;
    s->metrics_listen = "127.0.0.1:9464";
    s->metrics_path = "/metrics";
    s->debug_listen = "127.0.0.1:9464";
    s->socket_path = "/run/ustatsd.sock";
    s->socket_mode = 0660;
    s->rcvbuf = 4096;
    s->reload_error = reload_error;
    s->udp_on = udp_on;
    s->udp_listen = "127.0.0.1:0";
    s->udp_address = "127.0.0.1:40000";
    s->udp_rcvbuf = 8192;
    /* The state file goes with UDP: both on, or both off. */
    s->state.on = udp_on;
    s->state.path = "/var/lib/ustatsd/state";
    s->state.interval = 15;
    s->state.restore = "restored";
    /* TLS too. */
    s->tls.on = udp_on;
    s->tls.web_config_file = "/etc/ustatsd/web.yml";
    for (i = 0; i < selfmetrics_nfields; i++) {
        const struct selfmetrics_field *f = &selfmetrics_fields[i];
        char *p = (char *)s + f->offset;

        switch (f->kind) {
        case SELFMETRICS_U64:
        case SELFMETRICS_UDP_U64:
        case SELFMETRICS_STATE_U64:
        case SELFMETRICS_TLS_U64:
            *(uint64_t *)(void *)p = next++;
            break;
        case SELFMETRICS_LONG:
            *(long *)(void *)p = (long)next++;
            break;
        case SELFMETRICS_DOUBLE:
            *(double *)(void *)p = 1.7e9 + (double)next++ + 0.25;
            break;
        case SELFMETRICS_REASONS:
            for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
                ((uint64_t *)(void *)p)[r] = next++;
            break;
        case SELFMETRICS_STATE_DROPS:
            for (r = 0; r < RECORDS_DROP_MAX; r++)
                ((uint64_t *)(void *)p)[r] = next++;
            break;
        case SELFMETRICS_NULL_IS_TRUE:
            break;
        }
    }
}

static char *metrics(const struct selfmetrics *s)
{
    struct buf out = BUF_INIT;
    struct expo e;

    expo_init(&e, &out, EXPO_TEXT);
    selfmetrics_render(s, &e);
    buf_addch(&out, '\0');
    return out.ptr;
}

static json_t *debug(const struct selfmetrics *s)
{
    struct debug_query q;
    struct debug_render dr;
    struct jobs jobs; /* the sections asked for read neither the jobs nor the rejects */
    static struct rejects rejects;
    struct buf out = BUF_INIT;
    char err[256];
    json_error_t jerr;
    json_t *j;

    cr_assert_eq(debug_query_parse(&q, &cfg, "", err, sizeof(err)), 0, "%s", err);
    q.sections = DEBUG_DAEMON | DEBUG_INGEST;
    jobs_init(&jobs, &cfg, 0);
    debug_render_init(&dr, &q, s, &reg, &jobs, &rejects);
    while (debug_render_step(&dr, &out))
        ;
    debug_render_release(&dr);
    jobs_release(&jobs);
    j = json_loadb(out.ptr, out.len, 0, &jerr);
    cr_assert_not_null(j, "%s: %.*s", jerr.text, (int)out.len, out.ptr);
    buf_release(&out);
    return j;
}

static void check_agree(const struct selfmetrics *s)
{
    char *om = metrics(s);
    json_t *j = debug(s);

    selfcheck_agree(om, j, s);
    json_decref(j);
    free(om);
}

Test(selfmetrics, metrics_and_debug_show_every_shared_value_alike)
{
    struct selfmetrics s;

    fill(&s, NULL, 1);
    check_agree(&s);
    fill(&s, "test.json: families[0]: unknown key", 1);
    check_agree(&s);
    /* UDP off: its values are absent from both views, not shown as zeros. */
    fill(&s, NULL, 0);
    check_agree(&s);
}

/* The socket's counters in both views, the two that were missing from one included. */
Test(selfmetrics, every_socket_counter_is_in_the_table)
{
    static const char *const names[] = {
#define NAME(field, metric, key, help) metric "_total",
        SELFMETRICS_SOCKET_MAP(NAME)
#undef NAME
    };
    size_t i, k;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (k = 0; k < selfmetrics_nfields; k++)
            if (strcmp(selfmetrics_fields[k].sample, names[i]) == 0)
                break;
        cr_assert_lt(k, selfmetrics_nfields, "%s is not in selfmetrics_fields", names[i]);
    }
    cr_assert_eq(strcmp(names[3], "ustatsd_datagrams_receive_errors_total"), 0);
    cr_assert_eq(strcmp(names[4], "ustatsd_ingest_budget_exhausted_total"), 0);
    cr_assert_eq(strcmp(names[5], "ustatsd_ingest_batches_cut_total"), 0);
    cr_assert_eq(strcmp(names[6], "ustatsd_ingest_wakeups_total"), 0);
}

Test(selfmetrics, the_ingest_section_sums_the_rejected_lines)
{
    struct selfmetrics s;
    json_t *j;
    uint64_t sum = 0;
    int r;

    fill(&s, NULL, 0);
    for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
        sum += s.lines.rejected[r];
    j = debug(&s);
    cr_assert_eq(json_number_value(json_object_get(json_object_get(j, "ingest"), "lines_rejected")),
                 (double)sum);
    json_decref(j);
}

Test(selfmetrics, the_scrape_part_renders_http_rows_and_the_loop)
{
    struct selfmetrics s;
    char *om;

    fill(&s, NULL, 0);
    selfmetrics_add_requests(&s, "metrics", 200, 7);
    selfmetrics_add_violations(&s, "debug", "header_size", 3);
    s.loop_utilization = 0.5;
    s.loop_idle_seconds = 12.5;
    om = metrics(&s);
    cr_assert_eq(expo_value(om, "ustatsd_http_requests_total{handler=\"metrics\",code=\"200\"}"),
                 7);
    cr_assert_eq(
        expo_value(om,
                   "ustatsd_http_limit_violations_total{listener=\"debug\",kind=\"header_size\"}"),
        3);
    cr_assert_eq(expo_value(om, "ustatsd_event_loop_utilization"), 0.5);
    cr_assert_eq(expo_value(om, "ustatsd_event_loop_idle_seconds_total"), 12.5);
    cr_assert_null(strstr(om, "target_info"), "target_info is the endpoint's, not selfmetrics's");
    cr_assert_eq(expo_value(om, "ustatsd_build_info{version=\"9.9.9\"}"), 1);
    cr_assert_eq(expo_value(om, "ustatsd_family_series{family=\"uploads\"}"), 1);
    free(om);
}

Test(selfmetrics, rows_of_several_listeners_are_summed)
{
    struct selfmetrics s;
    char *om;

    fill(&s, NULL, 0);
    selfmetrics_add_requests(&s, "healthy", 200, 2);
    selfmetrics_add_requests(&s, "healthy", 200, 3);
    selfmetrics_add_requests(&s, "healthy", 503, 1);
    selfmetrics_add_violations(&s, "api", "header_size", 1);
    selfmetrics_add_violations(&s, "api", "header_size", 4);
    om = metrics(&s);
    cr_assert_eq(expo_value(om, "ustatsd_http_requests_total{handler=\"healthy\",code=\"200\"}"),
                 5);
    cr_assert_eq(expo_value(om, "ustatsd_http_requests_total{handler=\"healthy\",code=\"503\"}"),
                 1);
    cr_assert_eq(
        expo_value(om,
                   "ustatsd_http_limit_violations_total{listener=\"api\",kind=\"header_size\"}"),
        5);
    cr_assert_eq(s.nrequests, 2);
    free(om);
}

Test(selfmetrics, target_info_writes_the_attributes_as_labels)
{
    const struct config_resource_attr attrs[] = { { "service.name", "shop" },
                                                  { "service.version", "1.2" } };
    struct buf out = BUF_INIT;
    struct expo e;

    expo_init(&e, &out, EXPO_OPENMETRICS);
    selfmetrics_target_info(attrs, 0, &e);
    cr_assert_eq(out.len, 0, "no attributes, no target_info");
    selfmetrics_target_info(attrs, 2, &e);
    buf_addch(&out, '\0');
    cr_assert_not_null(
        strstr(out.ptr, "target_info{service_name=\"shop\",service_version=\"1.2\"} 1\n"), "%s",
        out.ptr);
    cr_assert_not_null(strstr(out.ptr, "# TYPE target info\n"), "%s", out.ptr);
    buf_release(&out);
}

static uint64_t clock_at(void *arg)
{
    return *(const uint64_t *)arg;
}

/*
 * OpenMetrics dates the daemon's counters and histograms at its start, and a family's
 * own counts at the family's (re)start; gauges and the text format have no _created.
 */
Test(selfmetrics, counters_and_histograms_are_dated_at_start_up)
{
    static const char drop_json[] = "{\"families\": [{\"name\": \"uploads\", \"type\": \"counter\","
                                    " \"undeclared_labels\": \"drop\"}]}";
    static uint64_t wall_ms = 1700000100500;
    struct buf out = BUF_INIT;
    struct selfmetrics s;
    struct expo e;
    char why[256];

    teardown();
    cr_assert_eq(cfgload_text(&cfg, drop_json, strlen(drop_json), "t.json", why, sizeof(why)), 0);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
    registry_set_clock(&reg, clock_at, &wall_ms);
    fill(&s, NULL, 0);
    expo_init(&e, &out, EXPO_OPENMETRICS);
    e.created = 42;
    selfmetrics_render(&s, &e);
    cr_assert_eq(e.created, 42, "the caller's start time is given back");
    buf_addch(&out, '\0');
    cr_assert_eq(expo_value(out.ptr, "ustatsd_lines_accepted_created"), 1.7e9);
    cr_assert_eq(expo_value(out.ptr, "ustatsd_datagrams_received_created"), 1.7e9);
    cr_assert_eq(expo_value(out.ptr, "ustatsd_event_loop_idle_seconds_created"), 1.7e9);
    cr_assert_eq(expo_value(out.ptr, "ustatsd_scrape_duration_seconds_created"), 1.7e9);
    cr_assert_eq(expo_value(out.ptr, "ustatsd_lines_rejected_created{reason=\"empty_name\"}"),
                 1.7e9);
    cr_assert_eq(expo_value(out.ptr, "ustatsd_labels_dropped_created{family=\"uploads\"}"),
                 1700000100.5);
    cr_assert_null(strstr(out.ptr, "ustatsd_series_created"), "a gauge");
    cr_assert_null(strstr(out.ptr, "ustatsd_build_info_created"));
    buf_release(&out);
    expo_init(&e, &out, EXPO_TEXT);
    selfmetrics_render(&s, &e);
    buf_addch(&out, '\0');
    cr_assert_null(strstr(out.ptr, "_created"), "text has none");
    buf_release(&out);
}
