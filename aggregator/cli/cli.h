/*
 * cli: the subcommands of the ustatsd binary that talk to a running daemon or check lines
 * without one (`ustatsd learn`, `ustatsd explain`, `ustatsd top`). Each is a program of
 * its own: it reads its arguments, prints, and returns an exit status. The daemon's main()
 * hands argv over when the first argument names one of them.
 */
#ifndef USTATSD_CLI_H
#define USTATSD_CLI_H

#include <stdio.h>

/*
 * If argv[1] names a subcommand, run it with argv + 1 (its own argv[0] is the
 * subcommand's name), set *status to its exit status and return 1. Otherwise return 0.
 */
int cli_dispatch(int argc, char **argv, int *status);

/* The subcommands, one line each, for the daemon's --help. */
void cli_usage(FILE *out);

#endif
