/*
 * learnjson: the document of GET /debug/learn (docs/exposition.md, "Learn mode"): learn
 * mode's summary (ingest/learnsum.h) and its proposal (learnprop.h), as JSON.
 *
 * A domain module: the time is passed in, and a sender's executable comes from the
 * caller's lookup (the I/O side reads /proc once per pid, handler/learnview.c).
 */
#ifndef USTATSD_LEARNJSON_H
#define USTATSD_LEARNJSON_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "config/config.h"
#include "ingest/learnsum.h"

#define LEARNJSON_SCHEMA 1

/* The executable of pid, or NULL when it cannot be read. */
typedef const char *(*learnjson_exe_cb)(pid_t pid, void *arg);

/*
 * The whole document for summary s under the running config c at monotonic time now_ms:
 * "schema", "learn" (the summary's own figures), "families" (the entries, most lines
 * first, at most LEARNPROP_MAX_FAMILIES) and "proposal" (learnprop_all()). exe may be
 * NULL (every "exe" null). New reference.
 */
json_t *learnjson_document(const struct learnsum *s, const struct config *c, uint64_t now_ms,
                           learnjson_exe_cb exe, void *arg);

/* One entry as "families" shows it. New reference. */
json_t *learnjson_entry(const struct learnsum_entry *e, uint64_t now_ms, learnjson_exe_cb exe,
                        void *arg);

#endif
