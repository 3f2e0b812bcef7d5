/*
 * The union of the names the DogStatsD clients send (datadog-go statsd/telemetry.go sends
 * them all, the aggregation ones with client-side aggregation on; datadogpy, Java, Ruby
 * and PHP a subset; hot-shots lib/telemetry.js a subset; the Rust exporter adds
 * packets_dropped_serializer), every one a count:
 *
 *   datadog.dogstatsd.client.packets_sent:3|c|#client:go,client_version:5.3.0,client_transport:uds
 *   datadog.dogstatsd.client.metrics_by_type:8|c|#client:nodejs,...,metrics_type:gauge
 *
 * Clients append their tags to the application's constant tags (datadog-go:
 * append(c.tags, ...)), and hot-shots adds none of them; either way only the four below
 * are kept.
 */
#include "config/cfgclient.h"

#include <string.h>

#include "base/common.h"
#include "base/mem.h"

static const struct {
    const char *name; /* after the wire prefix */
    int by_type;      /* has metrics_type */
    const char *help;
} families[] = {
    { "metrics", 0, "Metrics the application gave a DogStatsD client, before sampling." },
    { "metrics_by_type", 1, "Metrics the application gave a DogStatsD client, by type." },
    { "events", 0, "Events the application gave a DogStatsD client." },
    { "service_checks", 0, "Service checks the application gave a DogStatsD client." },
    { "metric_dropped_on_receive", 0,
      "Metrics a DogStatsD client dropped because its receive channel was full." },
    { "packets_sent", 0, "Datagrams a DogStatsD client sent." },
    { "packets_dropped", 0, "Datagrams a DogStatsD client dropped, for any reason." },
    { "packets_dropped_queue", 0,
      "Datagrams a DogStatsD client dropped because its send queue was full." },
    { "packets_dropped_writer", 0,
      "Datagrams a DogStatsD client dropped on a write error, such as a full socket queue." },
    { "packets_dropped_serializer", 0, "Datagrams a DogStatsD client could not serialise." },
    { "bytes_sent", 0, "Bytes a DogStatsD client sent." },
    { "bytes_dropped", 0, "Bytes a DogStatsD client dropped, for any reason." },
    { "bytes_dropped_queue", 0,
      "Bytes a DogStatsD client dropped because its send queue was full." },
    { "bytes_dropped_writer", 0,
      "Bytes a DogStatsD client dropped on a write error, such as a full socket queue." },
    { "aggregated_context", 0, "Contexts a DogStatsD client's own aggregation flushed." },
    { "aggregated_context_by_type", 1,
      "Contexts a DogStatsD client's own aggregation flushed, by metric type." },
    { "aggregated_sample", 0, "Samples a DogStatsD client's own aggregation flushed." },
    { "aggregated_sample_by_type", 1,
      "Samples a DogStatsD client's own aggregation flushed, by metric type." },
};

_Static_assert(ARRAY_SIZE(families) == CFGCLIENT_NFAMILIES, "CFGCLIENT_NFAMILIES is the table's");

/* The metric types the clients name (datadog-go's tagsByType), in their spelling. */
static const char *const metric_types[] = { "count",  "gauge",     "set",
                                            "timing", "histogram", "distribution" };

static void capped(struct config_label *l, const char *name, uint32_t cap)
{
    l->name = mem_strdup(name);
    l->max_values = cap;
    l->overflow = mem_strdup(CFGCLIENT_OVERFLOW);
}

/* Whether every metric type fits max_label_value_length, so that they can be enumerated. */
static int types_fit(const struct config *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(metric_types); i++)
        if (strlen(metric_types[i]) > c->max_label_value_len)
            return 0;
    return 1;
}

static void fill(const struct config *c, struct config_family *f, size_t i)
{
    size_t plen = strlen(CFGCLIENT_FAMILY_PREFIX), len = strlen(families[i].name);
    struct config_label *l;

    f->name = mem_alloc(plen + len + 1);
    memcpy(f->name, CFGCLIENT_FAMILY_PREFIX, plen);
    memcpy(f->name + plen, families[i].name, len + 1);
    f->type = FAMILY_COUNTER;
    f->help = mem_strdup(families[i].help);
    f->unit = mem_strdup("");
    f->group = mem_strdup("");
    f->undeclared = CONFIG_UNDECLARED_DROP;
    f->client_telemetry = 1;
    f->nlabels = families[i].by_type ? 4 : 3;
    f->labels = l = mem_calloc(f->nlabels, sizeof(*f->labels));
    capped(&l[0], "client", CFGCLIENT_MAX_CLIENTS);
    capped(&l[1], "client_transport", CFGCLIENT_MAX_TRANSPORT);
    capped(&l[2], "client_version", CFGCLIENT_MAX_VERSIONS);
    if (!families[i].by_type)
        return;
    /* Under a max_label_value_length too short for "distribution", an enumeration would
     * promise values no line may carry: the label is capped instead, and a type that does
     * not fit is refused as any long value is. */
    if (!types_fit(c)) {
        capped(&l[3], "metrics_type", (uint32_t)ARRAY_SIZE(metric_types));
        return;
    }
    l[3].name = mem_strdup("metrics_type");
    l[3].nvalues = ARRAY_SIZE(metric_types);
    l[3].max_values = (uint32_t)l[3].nvalues;
    l[3].values = mem_calloc(l[3].nvalues, sizeof(*l[3].values));
    for (size_t j = 0; j < l[3].nvalues; j++)
        l[3].values[j] = mem_strdup(metric_types[j]);
    /* A type a newer client adds still counts, as "__other__". */
    l[3].overflow = mem_strdup(CFGCLIENT_OVERFLOW);
}

void cfgclient_families(struct config *c)
{
    size_t n = CFGCLIENT_NFAMILIES;

    if (!c->dogstatsd_telemetry)
        return;
    c->families = mem_realloc(c->families, (c->nfamilies + n) * sizeof(*c->families));
    memset(c->families + c->nfamilies, 0, n * sizeof(*c->families));
    for (size_t i = 0; i < n; i++)
        fill(c, &c->families[c->nfamilies + i], i);
    c->nfamilies += n;
}

size_t cfgclient_family_name(char *name, size_t len)
{
    size_t wl = strlen(CFGCLIENT_WIRE_PREFIX), fl = strlen(CFGCLIENT_FAMILY_PREFIX);

    if (len <= wl || memcmp(name, CFGCLIENT_WIRE_PREFIX, wl) != 0)
        return 0;
    /*
     *   datadog_dogstatsd_client_packets_sent
     *   ustatsd_client_packets_sent
     *                  ^ the rest moves left by wl - fl bytes
     */
    memmove(name + fl, name + wl, len - wl);
    memcpy(name, CFGCLIENT_FAMILY_PREFIX, fl);
    return len - wl + fl;
}
