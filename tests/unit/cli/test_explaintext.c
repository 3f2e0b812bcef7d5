/*
 * explaintext: what `ustatsd explain` prints for a verdict: the series an accepted line
 * makes, and for a refused one the reason, the part of the line and the config key.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "base/buf.h"
#include "cli/explaintext.h"
#include "cli/nearname.h"
#include "ingest/intake.h"
#include "intake_fixture.h"

static const char config_json[] =
    "{\"limits\": {\"max_series\": 10, \"max_series_per_family\": 2,"
    "              \"max_label_value_length\": 8},"
    " \"groups\": {\"exclude\": [\"ml\"]},"
    " \"families\": ["
    "  {\"name\": \"http.requests\", \"type\": \"counter\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"code\", \"max_values\": 5, \"pattern\": \"[0-9]+\"}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\"},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\"},"
    "  {\"name\": \"ml_score\", \"type\": \"gauge\", \"group\": \"ml\"},"
    "  {\"name\": \"guarded\", \"type\": \"gauge\"}"
    " ],"
    " \"jobs\": {\"list\": [\"publish\"]},"
    " \"writers\": [{\"family\": \"guarded\", \"users\": [0]}]}";

static const struct intake_sender sender = { 4242, 1001, 1002, NULL };

/* The text for line, judged now against the fixture's intake. */
static char *explain(const char *line)
{
    static struct buf out;
    struct intake_verdict v;

    buf_release(&out);
    intake_explain(&in, line, strlen(line), &sender, NOW_MS, &v);
    explaintext_write(&out, &cfg, &reg, line, strlen(line), &v);
    buf_addch(&out, '\0');
    return out.ptr;
}

static void expect(const char *line, const char *want)
{
    char *got = explain(line);

    cr_assert_str_eq(got, want, "%s:\n%s\nwant:\n%s", line, got, want);
}

Test(explaintext, an_accepted_line_names_its_family_and_series)
{
    intake_up(config_json);
    expect("http.requests:1|c|#method:GET,code:200",
           "accepted  http.requests:1|c|#method:GET,code:200\n"
           "  family    http_requests (counter)\n"
           "  series    http_requests_total{method=\"GET\",code=\"200\"}\n"
           "  note      label code: a value the daemon may not hold yet: it takes it while the "
           "label holds fewer than 5 values (families.http_requests.labels.code.max_values); "
           "its counts decide\n"
           "  note      a series the daemon may not hold yet: it takes it while the family holds "
           "fewer than 2 series (limits.max_series_per_family) and all families fewer than 10 "
           "(limits.max_series); its counts decide\n");
    expect("latency_seconds:12|ms", "accepted  latency_seconds:12|ms\n"
                                    "  family    latency_seconds (histogram)\n"
                                    "  series    latency_seconds (_bucket, _sum, _count)\n");
    expect("publish:worked|j", "accepted  publish:worked|j\n  job       publish (jobs.list)\n");
    intake_down();
}

Test(explaintext, a_refused_line_names_the_part_and_the_key)
{
    intake_up(config_json);
    expect("http.requests:1|c|#method:PUT",
           "rejected  http.requests:1|c|#method:PUT\n"
           "  reason    label_value_not_allowed: label value not in the enumeration\n"
           "  at        method:PUT\n"
           "  config    families.http_requests.labels.method.values\n");
    expect("http.requests:1|c|#method:GET,code:2xx",
           "rejected  http.requests:1|c|#method:GET,code:2xx\n"
           "  reason    label_value_pattern: label value does not match its pattern\n"
           "  at        code:2xx\n"
           "  config    families.http_requests.labels.code.pattern\n");
    expect("http.requests:1|c|#route:/",
           "rejected  http.requests:1|c|#route:/\n"
           "  reason    label_not_allowed: label key is not allowed for the family\n"
           "  at        route:/\n"
           "  config    families.http_requests.labels\n");
    expect("http.requests:1|c|#code:123456789",
           "rejected  http.requests:1|c|#code:123456789\n"
           "  reason    label_value_too_long: label value longer than the config limit\n"
           "  at        code:123456789\n"
           "  config    limits.max_label_value_length\n");
    expect("queue_depth:1|c", "rejected  queue_depth:1|c\n"
                              "  reason    type_mismatch: line type does not match the family "
                              "type\n"
                              "  at        c\n"
                              "  config    families.queue_depth.updown\n");
    expect("ml_score:1|g", "rejected  ml_score:1|g\n"
                           "  reason    group_excluded: the family's group is excluded by "
                           "configuration\n"
                           "  at        ml_score\n"
                           "  config    groups.exclude (families.ml_score.group \"ml\")\n");
    expect("guarded:1|g", "rejected  guarded:1|g\n"
                          "  reason    sender_not_allowed: the sender may not write the family "
                          "or job\n"
                          "  at        guarded\n"
                          "  config    writers[0]\n");
    expect("queue_depth:1|g|@2", "rejected  queue_depth:1|g|@2\n"
                                 "  reason    invalid_sample_rate: sample rate outside (0, 1]\n"
                                 "  at        @2\n"
                                 "  config    none: the wire protocol (PROTOCOL.md) refuses it\n");
    intake_down();
}

Test(explaintext, the_caps_say_which_limit)
{
    intake_up(config_json);
    intake_datagram(&in, "http.requests:1|c|#method:GET", 29, &sender, NOW_MS);
    intake_datagram(&in, "http.requests:1|c|#method:POST", 30, &sender, NOW_MS);
    expect("http.requests:1|c", "rejected  http.requests:1|c\n"
                                "  reason    series_cap: series cap (family or total) reached\n"
                                "  at        http.requests:1|c\n"
                                "  config    limits.max_series_per_family\n");
    intake_down();
}

Test(explaintext, an_unknown_name_gets_the_nearest_declared_ones)
{
    intake_up(config_json);
    expect("http_request:1|c", "rejected  http_request:1|c\n"
                               "  reason    unknown_family: metric name is not in the allowlist\n"
                               "  at        http_request\n"
                               "  config    families\n"
                               "  nearest   http_requests (family)\n");
    expect("request_latency:1|h",
           "rejected  request_latency:1|h\n"
           "  reason    unknown_family: metric name is not in the allowlist\n"
           "  at        request_latency\n"
           "  config    families\n"
           "  nearest   latency_seconds (family)\n");
    expect("zzz:1|c", "rejected  zzz:1|c\n"
                      "  reason    unknown_family: metric name is not in the allowlist\n"
                      "  at        zzz\n"
                      "  config    families\n"
                      "  nearest   none: no declared name is close\n");
    expect("publsh:worked|j", "rejected  publsh:worked|j\n"
                              "  reason    unknown_job: job name is not in the jobs section\n"
                              "  at        publsh\n"
                              "  config    jobs.list\n"
                              "  nearest   publish (job)\n");
    intake_down();
}

Test(nearname, distances_read_names_as_the_daemon_does)
{
    cr_assert_eq(nearname_distance("http.requests", 13, "http_requests", 13), 0);
    cr_assert_eq(nearname_distance("HTTP_Requests_total", 19, "http_requests", 13), 0);
    cr_assert_eq(nearname_distance("kitten", 6, "sitting", 7), 3);
    cr_assert_eq(nearname_distance("", 0, "abc", 3), 3);
}
