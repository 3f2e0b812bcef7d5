/*
 * app: the daemon's lifecycle: start, stop, and the reload's trigger.
 *
 * An I/O module. It owns the one uv_loop_t and, on it, the ingest sockets, the HTTP
 * listeners with their routes (the handlers are in handler/), the PostgreSQL pool, the
 * timers and the signal handlers: SIGTERM and SIGINT stop, SIGHUP reloads (reload.h).
 * Each received datagram goes to the intake (intake.h).
 */
#ifndef USTATSD_APP_H
#define USTATSD_APP_H

#include <stddef.h>

#include "config/config.h"

/*
 * Put the flags and environment on top of a config just loaded from the file, and check
 * the result as start-up does: for a reload. Runs on a worker thread, so it may block but
 * must not touch the daemon's state. Returns 0, or ERRCODE_CONFIG with a message naming
 * the flag, variable or key and the problem in err (c is released by the caller).
 */
typedef int (*app_override_cb)(struct config *c, void *arg, char *err, size_t errlen);

/*
 * Run the daemon with cfg (flags and environment already applied; borrowed for the whole
 * run) until SIGTERM or SIGINT. config_path names the file for messages, the debug view
 * and reloads. SIGHUP reloads the configuration from config_path with override(arg) on
 * top (see reload.h and docs/operations.md, "Reloading"); a config that fails to load, or that
 * changes what only a restart can (cfgload_restart_key), is refused with its message logged
 * and the running one kept. Returns the process exit status: 0 after a clean stop, 1 when
 * start-up failed (with what failed, its argument and the reason logged).
 */
int app_run(const struct config *cfg, const char *config_path, app_override_cb override, void *arg);

#endif
