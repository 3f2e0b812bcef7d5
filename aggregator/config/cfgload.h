/*
 * cfgload: loading the configuration file into a struct config (config.h), and what only a
 * restart can change.
 *
 * A domain module, the top of the config folder: it walks the document section by section,
 * reads $.daemon, $.limits and $.jobs from its own schema tables (cfgread.h) and hands the
 * other sections to their readers (cfgfamily, cfgendpoint, cfgsql, cfgwriters), then runs
 * the checks across sections (cfgclash, cfgendpoint) and the synthesised families
 * (cfgclient). No section reader includes this header.
 *
 * Errors name the file, the JSON path and the problem, e.g.
 *   ustatsd.json: $.families[2].labels[0].values: expected an array of strings
 */
#ifndef USTATSD_CFGLOAD_H
#define USTATSD_CFGLOAD_H

#include <stddef.h>

#include "config/cfgread.h"
#include "config/config.h"

/*
 * Load and validate the file at path (at most CONFIG_MAX_FILE_SIZE bytes). Returns 0, or
 * ERRCODE_CONFIG with a message that names the file, the JSON path and the problem written
 * to err (always NUL-terminated when errlen > 0), e.g.
 * "f.json: $.jobs.list[1]: duplicate job \"a\"", or "f.json:12:5: ..." for a JSON syntax
 * error. On failure *c is left zeroed (safe to release). Also reads
 * postgres.conninfo_file, relative to the directory of path. Every string and array in *c
 * is owned by it until cfgload_release(). Any thread; no global state.
 */
int cfgload_file(struct config *c, const char *path, char *err, size_t errlen);

/*
 * The same from a string of len bytes (need not be NUL-terminated); name stands for the
 * file in messages and is copied to c->path. A relative conninfo_file is read from the
 * working directory.
 */
int cfgload_text(struct config *c, const char *text, size_t len, const char *name, char *err,
                 size_t errlen);

/* Free everything cfgload_file or cfgload_text allocated, and zero *c. */
void cfgload_release(struct config *c);

/*
 * What a reload cannot change while the daemon runs: the ingest sockets, the listeners, the
 * bearer token file, and the postgres and sql_metrics sections (whose collectors hold
 * connections). Returns the JSON path of the first such setting that differs between the
 * running config a and the new one b (e.g. "$.daemon.socket"), or NULL when none does.
 * The path may be written to buf, of len bytes.
 */
const char *cfgload_restart_key(const struct config *a, const struct config *b, char *buf,
                                size_t len);

/*
 * $.daemon's schema (cfgread.h), cfgload_ndaemon_keys rows: every setting of the daemon
 * with its kind, bounds, default and restart flag, and, for those that have them, its flag
 * and USTATSD_* variable (.flag). Read-only; any thread.
 */
extern const struct cfgread_key *const cfgload_daemon_keys;
extern const size_t cfgload_ndaemon_keys;

#endif
