/*
 * topscreen: the interactive `ustatsd top`, refreshed in place with ncurses.
 *
 * An I/O module. Each --interval it reads the debug view again and redraws: a keys line, a
 * status line (the URL, or the last error while the daemon cannot be read: it keeps the
 * last data on screen and retries each interval), then toprender's tables cut to the
 * terminal. A key sorts the families (s, r, n, j), ? shows the help, q quits. A resize
 * (SIGWINCH, which ncurses turns into KEY_RESIZE) redraws at the new size; a terminal too
 * small for a table shows what fits.
 */
#ifndef USTATSD_TOPSCREEN_H
#define USTATSD_TOPSCREEN_H

#include "cli/topread.h"

/* Run until q. Returns the exit status: 0, or 1 when stdin or stdout is no terminal, or
 * the terminal cannot be used. */
int topscreen_run(const struct top_opts *o);

#endif
