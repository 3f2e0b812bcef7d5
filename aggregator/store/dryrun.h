/*
 * dryrun: what registry_apply() would do with a line, without doing it. For `ustatsd
 * explain`, which must give the daemon's verdict and say why.
 *
 * A domain module. It runs registry_apply()'s own checks (the family, the tags through
 * labelset_check(), the sign, the caps, the value) in the same order, against the
 * registry as it stands, and changes nothing: no series, no interned value, no count, no
 * front cache entry. So the verdict is registry_apply()'s but in one case: a line that
 * meets a cap (a key's value cap, a family's or the total series cap) while the family
 * may hold series past their ttl. registry_apply() frees those first and may then accept
 * it; the dry run cannot free them, and says so (reclaim).
 */
#ifndef USTATSD_DRYRUN_H
#define USTATSD_DRYRUN_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/expo.h"
#include "store/registry.h"
#include "statsd.h"

struct registry_dryrun {
    int reason;        /* STATSD_OK or the reason registry_apply() would give */
    long family;       /* registry index of the family the line names; -1: none */
    long tag;          /* the tag at fault (index into line->tags); -1: none (or not a tag's) */
    long label;        /* the family's label that tag is (index into its labels); -1: none */
    int new_series;    /* the line would create a series (accepted, or refused at a cap) */
    int reclaim;       /* refused at a cap, but the family may hold expired series (above) */
    unsigned fresh;    /* bit j: label j's value is new to the key (counts against its cap) */
    unsigned stripped; /* bit i: a tag of config.strip_tags[i] was removed */
    unsigned dropped;  /* tags of undeclared keys dropped */
    uint8_t folded[CONFIG_MAX_LABELS]; /* label j: enum config_fold, into its overflow value */
    /* Accepted: the series' labels as exposed, in config order (values borrowed from the
     * line or the registry, valid until either changes). */
    struct expo_label labels[CONFIG_MAX_LABELS];
    size_t nlabels;
};

/*
 * Judge a parsed line as registry_apply(r, line, now_ms) would, filling *out. Returns
 * out->reason. Changes nothing in r.
 */
int registry_dry_run(const struct registry *r, const struct statsd_line *line, uint64_t now_ms,
                     struct registry_dryrun *out);

#endif
