/*
 * explain: the `ustatsd explain` subcommand (explain.c says what it does). An I/O module:
 * it reads the config file or a running daemon's, and standard input.
 */
#ifndef USTATSD_EXPLAIN_H
#define USTATSD_EXPLAIN_H

/* argv[0] is "explain". Returns the exit status: 0, 1 (a line refused) or 2 (usage). */
int explain_run(int argc, char **argv);

#endif
