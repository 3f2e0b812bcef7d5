/*
 * The debug view's private declarations, shared by the files it is made of:
 *   debug.c      the query, the rejects section, and the render that puts the sections in
 *                order and cuts the document into pieces
 *   debugjson.c  the JSON writer every section writes with
 *   debugself.c  the views of the daemon's own reading: the "daemon" and "ingest" sections
 *   debugstore.c the views of the store: the "families", "series" and "jobs" sections
 *
 * Domain code, as debug.h: no loop, no clock. Each section writes into w->out, which the
 * render owns.
 */
#ifndef USTATSD_EXPOSE_INTERNAL_H
#define USTATSD_EXPOSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "expose/debug.h"

/* ---- debugjson.c ---- */

/*
 * A tiny structural writer: it tracks nesting and whether a comma is due, and indents
 * when pretty. Its state lives in the render between pieces.
 */
struct debugjson {
    struct buf *out;
    int pretty;
    int depth;
    int need_comma;
};

/* Before a value or a key: the comma due, and the indentation. */
void debugjson_item(struct debugjson *w);

/* A member's key and colon; its value follows. */
void debugjson_key(struct debugjson *w, const char *key);

/* An object ('{') or array ('[') that is an element of an array, or the document. */
void debugjson_open(struct debugjson *w, char c);

/* An object or array that is a member's value: no indentation before the bracket. */
void debugjson_open_value(struct debugjson *w, char c);

/* Close the innermost object ('}') or array (']'). */
void debugjson_close(struct debugjson *w, char c);

/* A number in the exposition's format; null for Inf and NaN, which JSON lacks. */
void debugjson_num(struct buf *out, double v);

/* A member whose value is an object ('{') or an array ('['), opened. */
void debugjson_kv_open(struct debugjson *w, const char *key, char c);

/* Members with a scalar value; a NULL string is written null. */
void debugjson_kv_str(struct debugjson *w, const char *key, const char *v);
void debugjson_kv_num(struct debugjson *w, const char *key, double v);
void debugjson_kv_u64(struct debugjson *w, const char *key, uint64_t v);
void debugjson_kv_bool(struct debugjson *w, const char *key, int v);

/* A string element of an array: len bytes of s, escaped. */
void debugjson_val_str(struct debugjson *w, const char *s, size_t len);

/* ---- debugself.c ---- */

/* The "daemon" and "ingest" sections, from dr->self, whole. */
void debugself_daemon(struct debug_render *dr, struct debugjson *w);
void debugself_ingest(struct debug_render *dr, struct debugjson *w);

/* ---- debugstore.c ---- */

/*
 * The "families" and "series" sections, a piece at a time: each returns 1 while some
 * remain (its state kept in dr), 0 once the section is closed.
 */
int debugstore_families(struct debug_render *dr, struct debugjson *w);
int debugstore_series(struct debug_render *dr, struct debugjson *w);

/* The "jobs" section: each job's breaker at dr->self.now_ms, whole. */
void debugstore_jobs(struct debug_render *dr, struct debugjson *w);

#endif
