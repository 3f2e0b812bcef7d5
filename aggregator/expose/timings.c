#include "expose/timings.h"

#include <math.h>
#include <string.h>

#include "store/histogram.h"

static const double scrape_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,   0.25,   0.5,   1,    2.5 };
/* From 100 us, where a turn's own overhead ends, to a second: a stall by any measure. */
static const double loop_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                      0.01,   0.025,   0.05,   0.1,   0.25,   1 };

#define NBOUNDS(b) (sizeof(b) / sizeof((b)[0]))

_Static_assert(NBOUNDS(scrape_bounds) <= TIMINGS_MAX_BUCKETS, "scrape buckets");
_Static_assert(NBOUNDS(loop_bounds) <= TIMINGS_MAX_BUCKETS, "loop buckets");
_Static_assert(TIMINGS_MAX_BUCKETS <= EXPO_MAX_BUCKETS, "expo takes them");

static void observe(struct timings_histogram *h, const double *bounds, size_t nb, double seconds)
{
    h->buckets[histogram_bucket(bounds, nb, seconds)]++;
    h->count++;
    h->sum += seconds;
}

static void write_histogram(const struct timings_histogram *h, const double *bounds, size_t nb,
                            struct expo *e, const char *name, const char *help)
{
    char text[TIMINGS_MAX_BUCKETS][32];
    unsigned char lens[TIMINGS_MAX_BUCKETS];
    size_t i;

    expo_family(e, name, EXPO_HISTOGRAM, help, "seconds");
    for (i = 0; i < nb; i++)
        lens[i] = (unsigned char)expo_bucket_bound(e->fmt, text[i], bounds[i]);
    expo_histogram(e, NULL, 0, bounds, (const char(*)[32])text, lens, nb, h->buckets, h->sum,
                   h->count);
}

void timings_scrape(struct timings *s, double seconds)
{
    observe(&s->scrape, scrape_bounds, NBOUNDS(scrape_bounds), seconds);
}

void timings_loop_iteration(struct timings *s, uint64_t busy_ns)
{
    observe(&s->loop, loop_bounds, NBOUNDS(loop_bounds), (double)busy_ns / 1e9);
}

void timings_loop_cpu(struct timings *s, uint64_t cpu_ns)
{
    observe(&s->cpu, loop_bounds, NBOUNDS(loop_bounds), (double)cpu_ns / 1e9);
}

size_t timings_loop_bounds(const double **bounds)
{
    *bounds = loop_bounds;
    return NBOUNDS(loop_bounds);
}

void timings_render(const struct timings *s, struct expo *e)
{
    write_histogram(&s->scrape, scrape_bounds, NBOUNDS(scrape_bounds), e,
                    "ustatsd_scrape_duration_seconds",
                    "Time from the start of a /metrics request to its last byte produced.");
    write_histogram(&s->loop, loop_bounds, NBOUNDS(loop_bounds), e,
                    "ustatsd_event_loop_iteration_seconds",
                    "Time each turn of the event loop ran callbacks before it waited for events "
                    "again: how long a datagram or request that became ready meanwhile waited.");
    write_histogram(&s->cpu, loop_bounds, NBOUNDS(loop_bounds), e,
                    "ustatsd_event_loop_iteration_cpu_seconds",
                    "CPU time the event loop's thread used in each turn: the daemon's own part of "
                    "a turn, without the time the system gave other processes meanwhile.");
}
