/*
 * cfgmerge: a proposed allowlist (GET /debug/learn?format=config, a fragment in the
 * config file's own schema: {"families": [...]}) merged into a config file's text
 * without changing anything the file declares, for `ustatsd learn --merge`.
 *
 * A domain module. What is added: a family the file does not declare (appended to its
 * "families"; names compared as the daemon reads a line's, '.' and '-' as '_' and a
 * counter's "_total" either way); to a label a family declares with enumerated "values",
 * the proposed values it does not list; and, only with add_labels, to a family it
 * declares, a label it does not declare (appended to its "labels"): a new label changes
 * the family's series, which a reload drops and starts again. Nothing declared is changed or removed: a family's type, help, buckets,
 * a label's cap or pattern stay as they are (a proposal that differs is noted, not
 * applied). The edits are made in the text, so its layout and order stay as written;
 * what is added is laid out as the file's own "families" are indented.
 */
#ifndef USTATSD_CFGMERGE_H
#define USTATSD_CFGMERGE_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"

struct cfgmerge_result {
    struct buf text;                 /* the merged file */
    struct buf notes;                /* one line per thing added, skipped or noted */
    size_t families, labels, values; /* added */
};

void cfgmerge_init(struct cfgmerge_result *res);
void cfgmerge_release(struct cfgmerge_result *res);

/*
 * Merge fragment into the config text (len bytes, valid JSON, its top level an object).
 * Returns 0 (res filled; nothing added when the file already has it all), or
 * ERRCODE_FORMAT with a message in err when the text or the fragment is not what it
 * should be.
 */
int cfgmerge(const char *text, size_t len, const json_t *fragment, int add_labels,
             struct cfgmerge_result *res, char *err, size_t errlen);

#endif
