/*
 * debug: the JSON debug view (GET /debug), rendered in bounded pieces.
 *
 * A domain module. A person asks the daemon what it has, what it rejected and why. The
 * document is written straight into the response buffer, a bounded piece per step, with
 * a registry cursor for the series, so that 100,000 series never become an in-memory
 * tree and ingestion goes on between pieces.
 *
 * Schema (version DEBUG_SCHEMA; documented in docs/exposition.md, "The debug view"):
 *   { "schema": 1,
 *     "daemon":   {...},  "ingest": {...},  "families": [...],
 *     "series":   [...],  "series_truncated": bool,
 *     "jobs":     [...],  "rejects": [...] }
 * Only the sections asked for are present; "schema" always is. section=config gives
 *   { "schema": 1, "config": { "file": "...", "allowlist": {...} } }
 * alone.
 */
#ifndef USTATSD_DEBUG_H
#define USTATSD_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/errcode.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "ingest/rejects.h"
#include "expose/selfmetrics.h"

#define DEBUG_SCHEMA        1
#define DEBUG_DEFAULT_LIMIT 1000 /* series when no limit= is given */
#define DEBUG_MAX_LIMIT     1000000
/*
 * A piece of the series section: a series' JSON takes about 3.5 us to render at 100k
 * series (bench_debug: 355 ms for 100k, connect to last byte), so 250 series hold the loop
 * under a millisecond, its gzip included; 1,000 held it about 3 ms, on top of the ingest
 * drain that may share the turn.
 */
#define DEBUG_STEP_SERIES 250         /* series looked at per piece */
#define DEBUG_PIECE_BYTES (32 * 1024) /* a piece ends once it is this large */

enum debug_section {
    DEBUG_DAEMON = 1u << 0,
    DEBUG_INGEST = 1u << 1,
    DEBUG_FAMILIES = 1u << 2,
    DEBUG_SERIES = 1u << 3,
    DEBUG_JOBS = 1u << 4,
    DEBUG_REJECTS = 1u << 5,
    DEBUG_ALL = (1u << 6) - 1,
    /*
     * Only when asked for (section=config): the running config's sections that judge a
     * line (config.allowlist), for `ustatsd explain --url`. Not part of "all".
     */
    DEBUG_CONFIG = 1u << 6,
    DEBUG_DONE = 1u << 7
};

/* What was asked for; filled by debug_query_parse(). */
struct debug_query {
    unsigned sections;
    char family[256];  /* "" for every family */
    long family_index; /* -1 for every family; config index, then registry index once
                        * debug_render_init() ran */
    size_t limit;
    int pretty;
    int seen; /* 0: the families' labels without their "seen" values */
};

/* The render of one request. Owned by the caller; the borrowed pointers must outlive it. */
struct debug_render {
    struct debug_query q;
    struct selfmetrics self; /* the "daemon" and "ingest" sections */
    struct registry *reg;
    struct jobs *jobs;
    const struct rejects *rejects;
    unsigned phase; /* the next section to write, as a bit of enum debug_section */
    int cursor_live;
    struct registry_cursor cur;
    size_t series_written;
    int families_open; /* inside the families array, resuming at fam_next */
    size_t fam_next;
    size_t fam_written;
    size_t config_off; /* bytes of the config's allowlist written so far */
};

/*
 * Parse a raw query string (without '?'): section=, family=, limit=, pretty=, seen=.
 * Returns 0, or ERRCODE_BADPARAM with a message for the 400 body in err: an unknown
 * parameter, an unknown section or family, a limit that is not a number in
 * 1..DEBUG_MAX_LIMIT, pretty or seen not 0 or 1, a repeated parameter, a malformed
 * %-escape, or a control byte (%00-%1F, %7F).
 */
int debug_query_parse(struct debug_query *q, const struct config *cfg, const char *query, char *err,
                      size_t errlen);

/*
 * Start a render of reg, jobs and rejects (borrowed until debug_render_release), with the
 * reading self for the daemon and ingest sections: self is copied, its strings and
 * self->cfg are borrowed. self->reg is not read.
 */
void debug_render_init(struct debug_render *dr, const struct debug_query *q,
                       const struct selfmetrics *self, struct registry *reg, struct jobs *jobs,
                       const struct rejects *rejects);

/* Append the next piece; returns 1 while more remain, 0 once the document is complete. */
int debug_render_step(struct debug_render *dr, struct buf *out);

/* Release the render (its registry cursor); safe at any point. */
void debug_render_release(struct debug_render *dr);

/* A JSON error document {"schema":1,"error":msg} for 4xx answers. */
void debug_error_json(struct buf *out, const char *msg);

#endif
