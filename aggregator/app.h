/*
 * app: the daemon's event loop and the glue between its modules.
 *
 * An I/O module. It owns the one uv_loop_t and, on it, the ingest socket, the HTTP
 * listeners, the PostgreSQL pool and the signal handlers; it dispatches each received
 * line to the registry or the jobs, and serves /metrics, /debug, /-/healthy and /-/ready.
 */
#ifndef USTATSD_APP_H
#define USTATSD_APP_H

#include "config.h"

/*
 * Run the daemon with cfg (flags and environment already applied; borrowed for the whole
 * run) until SIGTERM or SIGINT. config_path names the file for messages and the debug
 * view. Returns the process exit status: 0 after a clean stop, 1 when start-up failed
 * (with the reason logged).
 */
int app_run(const struct config *cfg, const char *config_path);

#endif
