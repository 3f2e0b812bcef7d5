/*
 * learnprop: learn mode's proposal, the allowlist that would take what the summary
 * (ingest/learnsum.h) saw refused, written in the configuration file's own schema
 * (docs/configuration.md) so that it merges into the running one (docs/exposition.md,
 * "Learn mode": the fragment and its merge rule).
 *
 * A domain module. Per summary entry, most lines first, at most LEARNPROP_MAX_FAMILIES:
 *
 * - an unknown family becomes a new one ("add"): its type from the line types seen (a
 *   histogram for timers, h and d; an up-down gauge where a gauge value carried a sign
 *   or counter lines came with gauge lines or below zero; else a counter or a gauge), a
 *   HELP placeholder, for a histogram buckets placed on the values seen (1, 2.5, 5 a
 *   decade, one bucket either side) and, for ms timers, seconds (the name gains
 *   "_seconds", the line's name staying its OpenTelemetry name, cfgalias.h) unless the
 *   name says milliseconds; and its labels;
 * - a declared family that refused lines for their labels is extended ("extend") with the
 *   label keys and enumerated values it lacks, never changing one it has; what cannot be
 *   proposed (a cap reached, a pattern, a type) is explained;
 * - a label: enumerated when at most LEARNPROP_ENUM_MAX values were seen, else capped
 *   (max_values, overflow "__other__") with the pattern of the shape its values share;
 *   a UUID or hex label is always capped. A label whose values look like e-mail
 *   addresses, URLs, paths, hashes or ids, or like free text when there are many, or are
 *   too long, is flagged, with the reason and an example, and left out.
 *
 * A new family whose name the running config gives to something else (an SQL metric,
 * the jobs' families) is not proposed; and the fragment is loaded with the
 * configuration's own loader before it is served, a family it refuses withdrawn with the
 * loader's message. Each proposal says why, in "reasons". Bounded: the summary is.
 */
#ifndef USTATSD_LEARNPROP_H
#define USTATSD_LEARNPROP_H

#include <jansson.h>

#include "config/config.h"
#include "ingest/learnsum.h"

#define LEARNPROP_MAX_FAMILIES 256 /* families proposed (and shown), most lines first */
#define LEARNPROP_ENUM_MAX     10  /* distinct values enumerated; more are capped */
#define LEARNPROP_HELP         "TODO: describe (proposed by learn mode)"
#define LEARNPROP_OVERFLOW     "__other__"

/*
 * The proposal for entry e against the running config c: an object with "family",
 * "action" ("add", "extend" or "none"), "config" (the family object, null for "none"),
 * "reasons" and "flagged". New reference.
 */
json_t *learnprop_family(const struct learnsum_entry *e, const struct config *c);

/*
 * Every entry's proposal (s's entries, most lines first, at most LEARNPROP_MAX_FAMILIES),
 * as an array; a new family whose name an earlier proposal already takes is left out
 * with a reason. New reference.
 */
json_t *learnprop_all(const struct learnsum *s, const struct config *c);

/* The configuration fragment of a proposal array: {"families": [each "config"]}. */
json_t *learnprop_fragment(const json_t *proposals);

#endif
