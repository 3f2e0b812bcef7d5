/*
 * DogStatsD client telemetry: the families the config holds without the file declaring
 * them, the switch that removes them, and the registry taking datadog.dogstatsd.client.*
 * lines into them with bounded labels, every other tag dropped.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "config/cfgclient.h"
#include "config/cfgload.h"
#include "cfgtest.h"
#include "registry_fixture.h"

static const char telemetry_config[] =
    "{\"families\": [{\"name\": \"requests\", \"type\": \"counter\","
    "                 \"labels\": [{\"name\": \"method\", \"values\": [\"GET\"]}]}]}";

static void start(void)
{
    load(telemetry_config);
}

static size_t family(const char *name)
{
    long f = registry_find_family(&reg, name, strlen(name));

    cr_assert(f >= 0, "no family %s", name);
    return (size_t)f;
}

static const struct config_family *find_config(const struct config *c, const char *name)
{
    long i = config_find_family(c, name, strlen(name));

    cr_assert(i >= 0, "no family %s", name);
    return &c->families[i];
}

/* Every name the clients send (cfgclient.c), after the wire prefix. */
static const char *const names[] = { "metrics",
                                     "metrics_by_type",
                                     "events",
                                     "service_checks",
                                     "metric_dropped_on_receive",
                                     "packets_sent",
                                     "packets_dropped",
                                     "packets_dropped_queue",
                                     "packets_dropped_writer",
                                     "packets_dropped_serializer",
                                     "bytes_sent",
                                     "bytes_dropped",
                                     "bytes_dropped_queue",
                                     "bytes_dropped_writer",
                                     "aggregated_context",
                                     "aggregated_context_by_type",
                                     "aggregated_sample",
                                     "aggregated_sample_by_type" };

Test(cfgclient, the_families_follow_the_file_s_own_counters_with_bounded_labels)
{
    const struct config_family *f;
    struct config c;
    char name[64];

    must_parse(&c, telemetry_config);
    cr_assert_eq(c.nfamilies, 1 + CFGCLIENT_NFAMILIES);
    cr_assert(c.dogstatsd_telemetry);
    cr_assert_str_eq(c.families[0].name, "requests");
    cr_assert_not(c.families[0].client_telemetry);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(name, sizeof(name), "ustatsd_client_%s", names[i]);
        f = find_config(&c, name);
        cr_assert(f->client_telemetry, "%s", name);
        cr_assert_eq(f->type, FAMILY_COUNTER, "%s", name);
        cr_assert_eq(f->undeclared, CONFIG_UNDECLARED_DROP, "%s", name);
        cr_assert_neq(f->help[0], '\0', "%s", name);
        cr_assert_eq(f->nlabels, strstr(name, "_by_type") ? 4 : 3, "%s", name);
        cr_assert_str_eq(f->labels[0].name, "client");
        cr_assert_eq(f->labels[0].max_values, CFGCLIENT_MAX_CLIENTS);
        cr_assert_str_eq(f->labels[1].name, "client_transport");
        cr_assert_eq(f->labels[1].max_values, CFGCLIENT_MAX_TRANSPORT);
        cr_assert_str_eq(f->labels[2].name, "client_version");
        cr_assert_eq(f->labels[2].max_values, CFGCLIENT_MAX_VERSIONS);
        for (size_t j = 0; j < f->nlabels; j++)
            cr_assert_str_eq(f->labels[j].overflow, "__other__");
    }
    f = find_config(&c, "ustatsd_client_aggregated_context_by_type");
    cr_assert_str_eq(f->labels[3].name, "metrics_type");
    cr_assert_eq(f->labels[3].nvalues, 6);
    cr_assert_str_eq(f->labels[3].values[5], "distribution");
    find_config(&c, "ustatsd_client_aggregated_sample_by_type");
    find_config(&c, "ustatsd_client_packets_dropped_serializer");
    cfgload_release(&c);
}

Test(cfgclient, the_switch_off_leaves_only_the_file_s_families)
{
    struct config c;

    must_parse(&c, "{'clients': {'dogstatsd_telemetry': false}}");
    cr_assert_eq(c.nfamilies, 0);
    cr_assert_not(c.dogstatsd_telemetry);
    cfgload_release(&c);
    must_parse(&c, "{'clients': {'dogstatsd_telemetry': true, 'strip_tags': ['env']}}");
    cr_assert_eq(c.nfamilies, CFGCLIENT_NFAMILIES);
    cfgload_release(&c);
}

/* Found by fuzz_config: "distribution" does not fit a max_label_value_length of 11. */
Test(cfgclient, a_short_value_limit_caps_the_metric_types_instead)
{
    struct config c;
    long f;

    must_parse(&c, "{'limits': {'max_label_value_length': 11}}");
    f = config_find_family(&c, "ustatsd_client_aggregated_context_by_type", 41);
    cr_assert_geq(f, 0);
    cr_assert_str_eq(c.families[f].labels[3].name, "metrics_type");
    cr_assert_null(c.families[f].labels[3].values);
    cr_assert_eq(c.families[f].labels[3].max_values, 6);
    cfgload_release(&c);
    must_parse(&c, "{'limits': {'max_label_value_length': 12}}");
    f = config_find_family(&c, "ustatsd_client_aggregated_context_by_type", 41);
    cr_assert_eq(c.families[f].labels[3].nvalues, 6);
    cfgload_release(&c);
}

Test(cfgclient, a_bad_switch_or_a_family_in_its_namespace_is_refused_by_name)
{
    static const struct {
        char json[160];
        char want[200];
    } cases[] = {
        { "{'clients': {'dogstatsd_telemetry': 1}}",
          "test.json: $.clients.dogstatsd_telemetry: expected" },
        { "{'clients': {'dogstatsd_telemetry': 'no'}}",
          "test.json: $.clients.dogstatsd_telemetry: expected" },
        { "{'families': [{'name': 'ustatsd_client_packets_sent', 'type': 'counter'}]}",
          "test.json: $.families[0].name: \"ustatsd_client_packets_sent\": the prefixes" },
    };
    struct config c;
    char err[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(parse_sq(&c, cases[i].json, err, sizeof(err)), ERRCODE_CONFIG, "%s",
                     cases[i].json);
        cr_assert_eq(strncmp(err, cases[i].want, strlen(cases[i].want)), 0, "%s: %s", cases[i].json,
                     err);
        cfgload_release(&c);
    }
}

Test(cfgclient, the_client_s_name_maps_to_the_family_s_and_no_other_does)
{
    static const struct {
        char in[64];
        char out[64]; /* "" when not mapped */
    } cases[] = {
        { "datadog_dogstatsd_client_packets_sent", "ustatsd_client_packets_sent" },
        { "datadog_dogstatsd_client_x", "ustatsd_client_x" },
        { "datadog_dogstatsd_client_", "" },
        { "datadog_dogstatsd_clients_x", "" },
        { "datadog_dogstatsd", "" },
        { "ustatsd_client_packets_sent", "" },
    };
    char name[64];
    size_t n;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strcpy(name, cases[i].in);
        n = cfgclient_family_name(name, strlen(name));
        cr_assert_eq(n, strlen(cases[i].out), "%s", cases[i].in);
        if (n == 0)
            cr_assert_str_eq(name, cases[i].in);
        else
            cr_assert_eq(memcmp(name, cases[i].out, n), 0, "%s: %.*s", cases[i].in, (int)n, name);
    }
}

/* As hot-shots, datadog-go and the Java client send it, other tags and bare tags included. */
Test(cfgclient, telemetry_lines_count_with_four_labels_and_every_other_tag_dropped, .init = start,
     .fini = teardown)
{
    size_t sent = family("ustatsd_client_packets_sent");
    size_t by_type = family("ustatsd_client_metrics_by_type");

    cr_assert_eq(
        feed("datadog.dogstatsd.client.packets_sent:3|c|#client:nodejs,client_version:17.1.1,"
             "client_transport:uds"),
        STATSD_OK);
    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent:4|c|#env:prod,service:checkout,"
                      "client:go,client_version:5.3.0,client_transport:udp|c:83c38a7b"),
                 STATSD_OK);
    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent:2|c|#test,client:java,"
                      "client_version:4.4.0,client_transport:uds"),
                 STATSD_OK);
    /* Again, through the front cache as the daemon takes lines. */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(ingest_at("datadog.dogstatsd.client.packets_sent:3|c|#client:nodejs,"
                               "client_version:17.1.1,client_transport:uds",
                               2000),
                     STATSD_OK);
    cr_assert_eq(feed("datadog.dogstatsd.client.metrics_by_type:8|c|#client:nodejs,"
                      "client_version:17.1.1,client_transport:uds,metrics_type:gauge"),
                 STATSD_OK);
    cr_assert_eq(value_of(sent, "client=nodejs,client_transport=uds,client_version=17.1.1"), 9);
    cr_assert_eq(value_of(sent, "client=go,client_transport=udp,client_version=5.3.0"), 4);
    cr_assert_eq(value_of(sent, "client=java,client_transport=uds,client_version=4.4.0"), 2);
    cr_assert_eq(value_of(by_type, "client=nodejs,client_transport=uds,client_version=17.1.1,"
                                   "metrics_type=gauge"),
                 8);
}

Test(cfgclient, only_the_client_s_known_names_reach_the_families, .init = start, .fini = teardown)
{
    /* The family's own name is no name a line may use, in any spelling. */
    cr_assert_eq(feed("ustatsd_client_packets_sent:1|c|#client:go"), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(feed("ustatsd.client.packets_sent:1|c"), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(feed("ustatsd_client_packets_sent_total:1|c"), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(feed("datadog.dogstatsd.client.not_a_name:1|c|#client:go"), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(feed("datadog.dogstatsd.client:1|c"), STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent:1|g|#client:go"),
                 STATSD_TYPE_MISMATCH);
    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent:-1|c|#client:go"),
                 STATSD_NEGATIVE_COUNTER);
    /* And the file's families are untouched. */
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("requests:1|c|#method:GET,client:go"), STATSD_LABEL_NOT_ALLOWED);
    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent_total:5|c|#client:go"), STATSD_OK);
    cr_assert_eq(value_of(family("ustatsd_client_packets_sent"), "client=go"), 5);
}

/* Values beyond a cap, and a metric type the set does not know, count as "__other__". */
Test(cfgclient, values_beyond_the_caps_fold_into_other, .init = start, .fini = teardown)
{
    size_t sent = family("ustatsd_client_packets_sent");
    size_t by_type = family("ustatsd_client_metrics_by_type");
    char line[160];

    for (int i = 0; i < CFGCLIENT_MAX_VERSIONS + 4; i++) {
        snprintf(line, sizeof(line),
                 "datadog.dogstatsd.client.packets_sent:1|c|#client:go,client_version:5.%d.0", i);
        cr_assert_eq(feed(line), STATSD_OK, "%s", line);
    }
    cr_assert_eq(value_of(sent, "client=go,client_version=5.0.0"), 1);
    cr_assert_eq(value_of(sent, "client=go,client_version=5.3.0"), 1);
    cr_assert_eq(value_of(sent, "client=go,client_version=__other__"), 4,
                 "the versions after the 4th");
    cr_assert_eq(feed("datadog.dogstatsd.client.metrics_by_type:2|c|#client:go,"
                      "metrics_type:timer"),
                 STATSD_OK);
    cr_assert_eq(value_of(by_type, "client=go,metrics_type=__other__"), 2);
}

Test(cfgclient, a_reload_turns_it_off_and_on, .init = start, .fini = teardown)
{
    struct config off, on;
    struct registry_reload rr;
    char err[512];
    const char *off_json = "{\"clients\": {\"dogstatsd_telemetry\": false}}";

    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent:1|c|#client:go"), STATSD_OK);
    cr_assert_eq(cfgload_text(&off, off_json, strlen(off_json), "off", err, sizeof err), 0);
    registry_reconfigure(&reg, &off, &rr);
    cfgload_release(&cfg); /* nothing may point into it now: ASan watches */
    cfg = off;
    cr_assert_eq(rr.removed, 1 + CFGCLIENT_NFAMILIES);
    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent:1|c|#client:go"),
                 STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(
        cfgload_text(&on, telemetry_config, strlen(telemetry_config), "on", err, sizeof err), 0);
    registry_reconfigure(&reg, &on, &rr);
    cfgload_release(&cfg);
    cfg = on;
    cr_assert_eq(rr.added, 1 + CFGCLIENT_NFAMILIES);
    cr_assert_eq(feed("datadog.dogstatsd.client.packets_sent:1|c|#client:go"), STATSD_OK);
    cr_assert_eq(value_of(family("ustatsd_client_packets_sent"), "client=go"), 1,
                 "a new family: the count before the switch went off is gone");
}

/* Whatever clients send, the telemetry holds at most 8,100 series (docs/exposition.md). */
Test(cfgclient, the_caps_bound_the_telemetry_series, .init = start, .fini = teardown)
{
    static const char *const types[] = { "count",     "gauge",        "set", "timing",
                                         "histogram", "distribution", "x",   "y" };
    size_t before = registry_series_total(&reg), n;
    char line[200];

    for (n = 0; n < sizeof names / sizeof names[0]; n++)
        for (int c = 0; c < 12; c++)
            for (int t = 0; t < 7; t++)
                for (int v = 0; v < 7; v++)
                    for (int m = 0; m < 8; m++) {
                        snprintf(line, sizeof line,
                                 "datadog.dogstatsd.client.%s:1|c|#client:c%d,client_transport:"
                                 "t%d,client_version:v%d,metrics_type:%s,host:h%d",
                                 names[n], c, t, v, types[m], m);
                        cr_assert_eq(feed(line), STATSD_OK, "%s", line);
                        if (strstr(names[n], "by_type") == NULL)
                            break; /* metrics_type is dropped there: the same series */
                    }
    cr_assert_eq(registry_series_total(&reg) - before, 15 * 225 + 3 * 225 * 7,
                 "9 clients, 5 transports, 5 versions (each with __other__), 7 types: %zu",
                 registry_series_total(&reg) - before);
}
