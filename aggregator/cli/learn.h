/*
 * learn: the `ustatsd learn` subcommand. It reads what a running daemon learned from the
 * lines it refused (GET /debug/learn, docs/exposition.md "Learn mode") and prints the
 * allowlist it proposes, or merges it into a config file.
 *
 * An I/O module: its options, the GET (clifetch), the file and diff(1). The merge is
 * cfgmerge's.
 *
 *   ustatsd learn [--json] [fetch options]
 *       the proposal as a configuration fragment ({"families": [...]}), then, on stderr,
 *       the labels left out and why; --json: /debug/learn as the daemon answered it
 *   ustatsd learn --merge FILE [--dry-run] [fetch options]
 *       merge the proposal into FILE without changing anything FILE declares: print the
 *       change as a unified diff, check the result as the daemon would load it, and
 *       write it in place (atomically, FILE's mode kept); --dry-run writes nothing
 */
#ifndef USTATSD_LEARN_H
#define USTATSD_LEARN_H

/* The subcommand: argv[0] is "learn". Returns the exit status: 0, 1 when the daemon could
 * not be read or the merge could not be made or checked, 2 on a usage error. */
int learn_main(int argc, char **argv);

#endif
