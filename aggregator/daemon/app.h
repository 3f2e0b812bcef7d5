/*
 * app: the daemon's event loop and the glue between its modules.
 *
 * An I/O module. It owns the one uv_loop_t and, on it, the ingest socket, the HTTP
 * listeners, the PostgreSQL pool and the signal handlers; it hands each received
 * datagram to the intake (intake.h), each /metrics request to a scrape (scrape.h), and
 * serves /debug, /-/healthy and /-/ready.
 */
#ifndef USTATSD_APP_H
#define USTATSD_APP_H

#include "config/config.h"

/*
 * Load the configuration again, for a reload: the file, then what flags and environment
 * override, checked as at start-up. Runs on a worker thread, so it may block but must not
 * touch the daemon's state. Returns 0 with *c filled, or ERRCODE_CONFIG with a message
 * naming the file, the key and the problem in err (and *c left zeroed).
 */
typedef int (*app_load_cb)(struct config *c, void *arg, char *err, size_t errlen);

/*
 * Run the daemon with cfg (flags and environment already applied; borrowed for the whole
 * run) until SIGTERM or SIGINT. config_path names the file for messages and the debug
 * view. SIGHUP reloads the configuration through load(load_arg) (see docs/operations.md,
 * "Reloading"); a config that fails to load, or that changes what only a restart can
 * (config_restart_key), is refused with its message logged and the running one kept.
 * Returns the process exit status: 0 after a clean stop, 1 when start-up failed (with the
 * reason logged).
 */
int app_run(const struct config *cfg, const char *config_path, app_load_cb load, void *load_arg);

/*
 * Load the web config file c names (daemon.web_config_file), and build its TLS context,
 * as start-up and a reload do, then drop it: for --check-config. Returns 0, or
 * ERRCODE_CONFIG with a message naming the file, the key and the problem in err.
 */
int app_check_web(const struct config *c, char *err, size_t errlen);

/*
 * Read every bearer token file c names (daemon.bearer_token_file and each endpoint's), as
 * start-up and a reload do (tokenfile.h's rules), then forget the tokens: for
 * --check-config. Returns 0, or ERRCODE_CONFIG with a message naming the config file, the
 * key, the token file and the problem in err.
 */
int app_check_tokens(const struct config *c, char *err, size_t errlen);

#endif
