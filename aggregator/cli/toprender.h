/*
 * toprender: a `ustatsd top` view as a plain text table, the same for `--once` and for the
 * curses screen's content.
 *
 * A domain module. Lines end with '\n' and hold no escape codes: text from the daemon
 * (rejected lines, names) is printed with control bytes shown as '?', so that a line a
 * sender wrote cannot drive the terminal. With a width, each line is cut to that many
 * columns (at a character boundary); with row limits, each table keeps its first rows and
 * says how many it left out.
 */
#ifndef USTATSD_TOPRENDER_H
#define USTATSD_TOPRENDER_H

#include <stddef.h>

#include "base/buf.h"
#include "cli/topmodel.h"

struct top_layout {
    size_t width;       /* columns per line; 0: no limit */
    size_t family_rows; /* rows of each table; 0: all */
    size_t cap_rows;
    size_t reason_rows;
    size_t reject_rows;
    size_t job_rows;
};

/* The whole view: the summary, then the families, caps, rejects and jobs tables. */
void top_render(const struct top_view *v, const struct top_layout *lay, struct buf *out);

/* The keys line the screen shows: "keys: s series  r rate  n name  j rejects  ? help  q quit". */
void top_render_keys(struct buf *out);

/* The help screen: what each key does and what each table shows. */
void top_render_help(struct buf *out);

/* Copy s into out as one line's text: control bytes as '?', cut to width columns (0: no cut). */
void top_render_cut(struct buf *out, const char *s, size_t len, size_t width);

#endif
