/*
 * top: the `ustatsd top` subcommand, a terminal view of a running daemon, like
 * `dogstatsd top`: its families by series and line rate, every cap and how full it is,
 * the rejects by reason with their latest lines and senders, the jobs and their breakers,
 * the ingest rate, the event loop's turns and the state snapshots.
 *
 * An I/O module: its options, and the two ways it prints and exits. A reading of the
 * daemon is topread's; what it shows is computed by topmodel and written by toprender;
 * the interactive screen is topscreen's.
 *
 *   ustatsd top [--once | --json] [--interval SECONDS] [--sort KEY] [fetch options]
 *
 * --once prints one plain snapshot and exits: two readings --interval apart (default 1 s),
 * so that its rates are rates. --json prints one reading of the debug view as the daemon
 * answered it (one JSON object) and exits.
 */
#ifndef USTATSD_TOP_H
#define USTATSD_TOP_H

/* The subcommand: argv[0] is "top". Returns the exit status: 0, 1 when the daemon could
 * not be read, 2 on a usage error. */
int top_main(int argc, char **argv);

#endif
