/*
 * render: incremental exposition of a registry, so that a scrape of many series never
 * holds the loop for long.
 *
 * A domain module. A render walks the registry with a registered registry_cursor and
 * writes through expo.h, so the registry may change between steps (new series, updates,
 * expiry): the walk stays memory-safe, writes each family's HELP/TYPE at most once, and
 * never interleaves two families. Families are written in config order when they have
 * at least one series; a family without series writes nothing (no HELP/TYPE). Series
 * follow in creation order; in OpenMetrics, a counter, histogram or summary series ends with
 * its creation time as "_created" (none for a series the registry left undated). A summary's
 * quantiles are read at the time each step is given (its windows rotate to it). A series
 * created behind the walk's position, or updated after it was written, shows up in the next
 * scrape. Loop thread only.
 */
#ifndef USTATSD_RENDER_H
#define USTATSD_RENDER_H

#include <stddef.h>

#include "base/buf.h"
#include "base/expo.h"
#include "store/registry.h"

struct render {
    /* private */
    struct registry_cursor cur;
    struct expo expo;
    uint32_t bit; /* render_select() */
    int self;
    const struct expo_label *labels; /* render_labels() */
    size_t nlabels;
    size_t last_fam; /* family whose HELP/TYPE was written last; SIZE_MAX: none */
    /* The current family's bucket bounds or quantiles, formatted once per family. */
    char bounds[CONFIG_MAX_BUCKETS][32];
    unsigned char bound_lens[CONFIG_MAX_BUCKETS];
    double qs[CONFIG_MAX_QUANTILES]; /* a summary family's quantiles (protobuf) */
};

/*
 * Start a render of reg in format fmt. reg must outlive the render (or the render must be
 * released first). Allocates nothing.
 */
void render_init(struct render *rd, struct registry *reg, enum expo_format fmt);

/* Escape family names by esc (expo.h); render_init() starts with underscores. */
void render_set_escaping(struct render *rd, enum expo_escaping esc);

/*
 * Render only what a scrape endpoint serves: the families whose .endpoints has bit (0:
 * every family), and the daemon's own (client telemetry) only when self. Call right after
 * render_init(). Families are asked as the walk enters them, so a reload mid-render is
 * judged by the new config.
 */
void render_select(struct render *rd, uint32_t bit, int self);

/*
 * Labels (borrowed until the render is released) written on every series of the
 * application families, not on the daemon's own (client telemetry).
 */
void render_labels(struct render *rd, const struct expo_label *labels, size_t n);

/*
 * Remote write (EXPO_REMOTE_WRITE): every sample at timestamp_ms, with the external labels
 * (borrowed until the render is released), native histograms as such when native (see
 * struct expo). Call right after render_init().
 */
void render_remote(struct render *rd, int64_t timestamp_ms, const struct expo_label *ext, size_t n,
                   int native);

/* The samples and native histograms a remote write render has written so far. */
void render_remote_counts(const struct render *rd, uint64_t *samples, uint64_t *histograms);

/*
 * Append up to max_series series (a histogram or summary series counts once; 0 counts as
 * 1) to out, with their family's HELP/TYPE/UNIT before a family's first series. now_ms is
 * the registry's clock, at which summaries read their windows. Returns 1 while more
 * series remain, 0 once the registry has been fully rendered. Never writes "# EOF": the
 * caller adds its other sections and then calls expo_eof().
 */
int render_step(struct render *rd, struct buf *out, size_t max_series, uint64_t now_ms);

/* Unregister from the registry. Required before the registry is released. */
void render_release(struct render *rd);

#endif
