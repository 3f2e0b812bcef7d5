/*
 * The status page: the landing part alone unless the view is live; in the live part every
 * value from traffic escaped (a rejected "<script>" line included), bars against the
 * caps, the lists bounded with a link to /debug for the rest, and the rates over windows
 * of the time passed in.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "ingest/rejects.h"
#include "store/breaker.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "expose/selfmetrics.h"
#include "expose/statuspage.h"
#include "statsd.h"

static const char config_json[] =
    "{\"limits\": {\"max_series\": 40, \"max_series_per_family\": 10},"
    " \"jobs\": {\"prefix\": \"job\", \"list\": [\"mail\", {\"name\": \"thumbs\","
    "   \"failure_threshold\": 1}]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"code\", \"max_values\": 4}]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\","
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 5}]}"
    " ]}";

static struct config cfg;
static struct registry reg;
static struct jobs jobs;
static struct rejects rejects;
static struct selfmetrics self;
static struct selfmetrics_endpoint eps[2] = {
    { "metrics", "127.0.0.1:9464", "/metrics", 0, { 0 } },
    { "api", "127.0.0.1:8081", "/api/metrics", 0, { 0 } },
};

static void load(const char *json)
{
    char err[512];

    cr_assert_eq(cfgload_text(&cfg, json, strlen(json), "page.json", err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
    jobs_init(&jobs, &cfg, 0);
    rejects_init(&rejects);
    self.version = "9.9.9";
    self.config_path = "page.json";
    self.cfg = &cfg;
    self.reg = &reg;
    self.start_unix = 1.7e9;
    self.now_unix = 1.7e9 + 60;
    self.start_ms = 1000;
    self.now_ms = 61000;
    self.metrics_listen = "127.0.0.1:9464";
    self.metrics_path = "/metrics";
    self.debug_listen = "127.0.0.1:9464";
    self.endpoints = eps;
    self.nendpoints = 2;
}

static void setup(void)
{
    load(config_json);
}

static void teardown(void)
{
    jobs_release(&jobs);
    registry_release(&reg);
    cfgload_release(&cfg);
}

TestSuite(statuspage, .init = setup, .fini = teardown);

static void line(const char *text)
{
    struct statsd_line l;

    cr_assert_eq(statsd_parse_line(text, strlen(text), &l), STATSD_OK, "%s", text);
    cr_assert_geq(registry_apply(&reg, &l, 1000), 0, "%s", text);
}

static char *page(int live, int sign_in, const struct statuspage_rate *rate)
{
    struct buf out = BUF_INIT;
    struct statuspage_view v = { &self, "127.0.0.1:9464", live, sign_in, &reg,
                                 &jobs, &rejects,         rate, NULL };

    statuspage_render(&out, &v);
    buf_addch(&out, '\0');
    return out.ptr;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(statuspage, the_landing_part_shows_the_build_and_every_endpoint_and_nothing_of_debug)
{
    char *html;

    line("requests:1|c|#method:GET,code:200");
    rejects_add(&rejects, 1.7e9 + 59, STATSD_UNKNOWN_FAMILY, "secret_family:1|c", 17, 1, 42, 1000,
                NULL);
    html = page(0, 1, NULL);
    cr_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    cr_assert_not_null(strstr(html, "version 9.9.9"), "%s", html);
    cr_assert_not_null(strstr(html, "127.0.0.1:8081"), "%s", html);
    cr_assert_not_null(strstr(html, "/api/metrics"));
    cr_assert_not_null(strstr(html, "metrics: endpoint api"));
    cr_assert_not_null(strstr(html, "<a href=\"/debug\">/debug</a>"), "this listener's paths link");
    cr_assert_not_null(strstr(html, "href=\"/?login=1\""), "how to sign in");
    cr_assert_null(strstr(html, "requests"), "no family without /debug's credentials");
    cr_assert_null(strstr(html, "secret_family"), "no reject without /debug's credentials");
    cr_assert_null(strstr(html, "page.json"), "no config file without /debug's credentials");
    cr_assert_null(strstr(html, "<script"), "no script for the landing part");
    free(html);

    html = page(0, 0, NULL);
    cr_assert_null(strstr(html, "login=1"), "%s", html);
    cr_assert_not_null(strstr(html, "served with /debug, on 127.0.0.1:9464"), "%s", html);
    free(html);
}

Test(statuspage, the_live_part_shows_families_series_caps_and_labels)
{
    char *html;

    line("requests:1|c|#method:GET,code:200");
    line("requests:1|c|#method:GET,code:500");
    line("requests:1|c|#method:POST,code:500");
    line("requests:1|c|#method:POST,code:404");
    line("requests:1|c|#method:POST,code:503");
    line("queue_depth:3|g|#queue:mail");
    line("queue_depth:1|g|#queue:thumbs");
    html = page(1, 0, NULL);
    cr_assert_not_null(strstr(html, "<code>requests</code></td><td>counter</td><td><span "
                                    "class=\"bar\""),
                       "%s", html);
    cr_assert_not_null(strstr(html, "5 / 10 (50%)"), "requests against its cap\n%s", html);
    cr_assert_not_null(strstr(html, "<td>code</td><td>label, capped</td><td><span class=\"bar "
                                    "full\""),
                       "a label at its cap\n%s", html);
    cr_assert_not_null(strstr(html, "4 / 4 (100%)"), "code's distinct values\n%s", html);
    cr_assert_not_null(strstr(html, "<td>method</td><td>label, enumerated</td><td>2 of 2 values "
                                    "seen</td>"),
                       "an enumerated label: no bar\n%s", html);
    cr_assert_not_null(strstr(html, "<td>queue</td><td>label, capped</td><td><span class=\"bar\""),
                       "%s", html);
    /* requests (5 series) before queue_depth (2) before uploads (its zero series). */
    cr_assert_lt(strstr(html, "<code>requests<"), strstr(html, "<code>queue_depth<"));
    cr_assert_lt(strstr(html, "<code>queue_depth<"), strstr(html, "<code>uploads<"));
    cr_assert_not_null(strstr(html, "<code>mail</code></td><td class=\"state-closed\">closed"),
                       "%s", html);
    cr_assert_not_null(strstr(html, "id=\"learn\""));
    cr_assert_not_null(strstr(html, "href=\"/debug/learn\""));
    cr_assert_not_null(strstr(html, "<script>"));
    cr_assert_not_null(strstr(html, "http-equiv=\"refresh\""), "refreshes without a script");
    free(html);
}

Test(statuspage, a_hostile_rejected_line_is_text)
{
    static const char hostile[] = "<script>alert(1)</script>:1|c|#a:\"b\",c:'d'&\x01";
    char *html;

    rejects_add(&rejects, 1.7e9 + 58, STATSD_UNKNOWN_FAMILY, hostile, sizeof(hostile) - 1, 1, 4242,
                1000, NULL);
    html = page(1, 0, NULL);
    cr_assert_eq(count(html, "<script"), 1, "only the page's own script\n%s", html);
    cr_assert_not_null(
        strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;:1|c|#a:&quot;b&quot;,c:&#39;d&#39;"
                     "&amp;\\x01"),
        "%s", html);
    cr_assert_not_null(strstr(html, "pid 4242, uid 1000"), "the sender");
    cr_assert_not_null(strstr(html, "<td>unknown_family</td>"));
    cr_assert_not_null(strstr(html, ">2 s</td>"), "its age at the reading's time\n%s", html);
    free(html);
}

Test(statuspage, a_bar_is_cut_at_its_cap_and_marked)
{
    struct buf b = BUF_INIT;

    statuspage_bar(&b, 5, 10);
    statuspage_bar(&b, 9, 10);
    statuspage_bar(&b, 12, 10);
    statuspage_bar(&b, 7, 0);
    buf_addch(&b, '\0');
    cr_assert_not_null(strstr(b.ptr, "class=\"bar\" role=\"img\" aria-label=\"50%\">"
                                     "<span style=\"width:50.0%\"></span></span>5 / 10 (50%)"),
                       "%s", b.ptr);
    cr_assert_not_null(strstr(b.ptr, "class=\"bar warn\""), "90%%: a warning\n%s", b.ptr);
    cr_assert_not_null(strstr(b.ptr, "class=\"bar full\" role=\"img\" aria-label=\"120%\">"
                                     "<span style=\"width:100.0%\"></span></span>12 / 10 (120%)"),
                       "%s", b.ptr);
    cr_assert_not_null(strstr(b.ptr, "7 <span class=\"note\">(no cap)</span>"), "%s", b.ptr);
    buf_release(&b);
}

/* 60 families, 120 rejects of 200 bytes, every one hostile: the page stays bounded. */
Test(statuspage, the_lists_are_bounded_with_a_link_for_the_rest)
{
    struct buf json = BUF_INIT;
    char line200[REJECTS_LINE_MAX], long_name[200];
    char *html, more[96];
    size_t families, all = 0;

    teardown();
    memset(&cfg, 0, sizeof(cfg));
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    /* The largest rows there can be: names of 190 bytes, 8 labels of 60-byte names each. */
    buf_adds(&json, "{\"limits\": {\"max_series\": 1000}, \"families\": [");
    for (int i = 0; i < 60; i++) {
        buf_addf(&json, "%s{\"name\": \"fam_%02d_%.183s\", \"type\": \"counter\", \"labels\": [",
                 i ? "," : "", i, long_name);
        for (int l = 0; l < 8; l++)
            buf_addf(&json, "%s{\"name\": \"l%d_%.57s\", \"max_values\": 1000}", l ? "," : "", l,
                     long_name);
        buf_adds(&json, "]}");
    }
    buf_adds(&json, "]}");
    buf_addch(&json, '\0');
    load(json.ptr);
    buf_release(&json);
    memset(line200, '"', sizeof(line200)); /* the longest escape: 6 bytes a byte */
    for (int i = 0; i < 120; i++)
        rejects_add(&rejects, 1.7e9, STATSD_UNKNOWN_FAMILY, line200, sizeof(line200), 1, 1, 1,
                    NULL);

    html = page(1, 0, NULL);
    families = count(html, "<tr class=\"family\">");
    cr_assert_eq(count(html, "<tr class=\"label\">"), 8 * STATUSPAGE_MAX_FAMILIES);
    cr_assert_eq(families, STATUSPAGE_MAX_FAMILIES, "%zu", families);
    /* The 60 and the families the daemon declares itself (the DogStatsD telemetry's). */
    for (size_t f = 0; f < registry_nfamilies(&reg); f++)
        all += registry_family_config(&reg, f) != NULL;
    cr_assert_geq(all, 60);
    snprintf(more, sizeof(more), "%zu more families in <a href=\"/debug?section=families\">",
             all - STATUSPAGE_MAX_FAMILIES);
    cr_assert_not_null(strstr(html, more), "%s", more);
    cr_assert_eq(count(html, "<tr class=\"reject\">"), STATUSPAGE_MAX_REJECTS);
    cr_assert_not_null(strstr(html, "120 rejected lines recorded"));
    cr_assert_not_null(strstr(html, "href=\"/debug?section=rejects\""));
    /* The bound docs/exposition.md states, whatever the traffic. */
    cr_assert_lt(strlen(html), (size_t)256 * 1024, "%zu bytes", strlen(html));
    cr_log_info("the largest page: %zu bytes", strlen(html));
    free(html);
}

Test(statuspage, rates_are_over_windows_of_at_least_a_second)
{
    struct statuspage_rate r = { 0 };

    self.lines.accepted = 600;
    self.lines.rejected[STATSD_UNKNOWN_FAMILY] = 60;
    self.datagrams = 300;
    statuspage_rate_update(&r, &self); /* the first: since start-up, 60 s */
    cr_assert_float_eq(r.accepted_per_s, 10.0, 1e-9);
    cr_assert_float_eq(r.rejected_per_s, 1.0, 1e-9);
    cr_assert_float_eq(r.datagrams_per_s, 5.0, 1e-9);
    cr_assert_float_eq(r.window_s, 60.0, 1e-9);

    self.now_ms += 500; /* too soon: the rates stay */
    self.lines.accepted += 1000;
    statuspage_rate_update(&r, &self);
    cr_assert_float_eq(r.accepted_per_s, 10.0, 1e-9);

    self.now_ms += 1500; /* 2 s after the last reading */
    self.lines.rejected[STATSD_UNKNOWN_FAMILY] += 8;
    statuspage_rate_update(&r, &self);
    cr_assert_float_eq(r.accepted_per_s, 500.0, 1e-9);
    cr_assert_float_eq(r.rejected_per_s, 4.0, 1e-9);
    cr_assert_float_eq(r.datagrams_per_s, 0.0, 1e-9);
    cr_assert_float_eq(r.window_s, 2.0, 1e-9);
}

Test(statuspage, a_job_whose_breaker_opened_says_so)
{
    char *html;

    breaker_report(&jobs.breakers[1], STATSD_OUTCOME_ERROR, 30000, 1.7e9 + 29);
    html = page(1, 0, NULL);
    cr_assert_not_null(strstr(html, "<code>thumbs</code></td><td class=\"state-open\">open for "
                                    "31 s</td><td class=\"n\">1 / 1</td>"),
                       "%s", html);
    free(html);
}

/* The learn proposal is rendered in the page (no script needed), its values escaped. */
Test(statuspage, the_learn_proposal_is_in_the_page_and_escaped)
{
    struct buf out = BUF_INIT;
    json_t *learn = json_loads(
        "[{\"family\": \"<b>x</b>\", \"action\": \"add\","
        "  \"config\": {\"name\": \"x\", \"type\": \"counter\", \"help\": \"say \\\"hi\\\" <b>\","
        "              \"labels\": [{\"name\": \"route\", \"values\": [\"/a\"]}]},"
        "  \"reasons\": [\"counter lines\"],"
        "  \"flagged\": [{\"label\": \"owner\", \"reason\": \"email\","
        "                \"why\": \"values look like e-mail addresses\","
        "                \"example\": \"<i>jane@example.com</i>\"}]}]",
        0, NULL);
    struct statuspage_view v = {
        &self, "127.0.0.1:9464", 1, 0, &reg, &jobs, &rejects, NULL, learn
    };
    struct statuspage_rate rate = { 0 };

    cr_assert_not_null(learn);
    v.rate = &rate;
    statuspage_render(&out, &v);
    buf_addch(&out, '\0');
    cr_assert_not_null(strstr(out.ptr, "<tr><td>&lt;b&gt;x&lt;/b&gt;</td><td>add counter (route)"
                                       "</td><td>owner: values look like e-mail addresses (e.g. "
                                       "<code>&lt;i&gt;jane@example.com&lt;/i&gt;</code>)</td>"
                                       "<td>counter lines</td></tr>"),
                       "%s", out.ptr);
    cr_assert_null(strstr(out.ptr, "<i>jane"), "a value from traffic is never markup");
    /* The fragment as JSON: its lines and its escapes kept, markup escaped. */
    cr_assert_not_null(strstr(out.ptr, "data-state=\"available\">{\n  &quot;families&quot;: [\n"),
                       "the fragment\n%s", out.ptr);
    cr_assert_null(strstr(out.ptr, "\\x0a"), "a newline shown as an escape\n%s", out.ptr);
    cr_assert_not_null(strstr(out.ptr, "&quot;say \\&quot;hi\\&quot; &lt;b&gt;&quot;"),
                       "the JSON's own escapes kept once\n%s", out.ptr);
    buf_release(&out);
    json_decref(learn);

    /* Learn mode off: said so. */
    v.learn = NULL;
    statuspage_render(&out, &v);
    buf_addch(&out, '\0');
    cr_assert_not_null(strstr(out.ptr, "Learn mode is off"), "%s", out.ptr);
    buf_release(&out);
}
