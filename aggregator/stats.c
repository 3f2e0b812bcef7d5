#include "stats.h"

#include <math.h>
#include <string.h>

static const double scrape_bounds[STATS_NSCRAPE_BUCKETS] = STATS_SCRAPE_BUCKETS;

void stats_scrape(struct stats *s, double seconds)
{
    size_t i = 0;

    while (i < STATS_NSCRAPE_BUCKETS && seconds > scrape_bounds[i])
        i++;
    s->scrape_buckets[i]++;
    s->scrape_count++;
    s->scrape_sum += seconds;
}

void stats_render(const struct stats *s, struct expo *e)
{
    uint64_t cumulative = 0;
    int r;
    size_t i;

    expo_scalar(e, "ustatsd_lines_accepted", EXPO_COUNTER,
                "Lines that passed validation and were aggregated.", "", (double)s->lines_accepted);

    expo_family(e, "ustatsd_lines_rejected", EXPO_COUNTER,
                "Lines dropped, by reason (see PROTOCOL.md, \"Reject reasons\").", "");
    for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++) {
        const char *name = statsd_reason_name(r);
        struct expo_label l = { "reason", name, strlen(name) };
        expo_sample(e, "_total", &l, 1, (double)s->lines_rejected[r]);
    }

    expo_family(e, "ustatsd_scrape_duration_seconds", EXPO_HISTOGRAM,
                "Time from the start of a /metrics request to its last byte produced.", "seconds");
    for (i = 0; i <= STATS_NSCRAPE_BUCKETS; i++) {
        cumulative += s->scrape_buckets[i];
        expo_bucket(e, NULL, 0, i < STATS_NSCRAPE_BUCKETS ? scrape_bounds[i] : (double)INFINITY,
                    (double)cumulative);
    }
    expo_sample(e, "_sum", NULL, 0, s->scrape_sum);
    expo_sample(e, "_count", NULL, 0, (double)s->scrape_count);
}
