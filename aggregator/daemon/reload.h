/*
 * reload: SIGHUP's reload of the configuration, and the bearer tokens it names.
 *
 * An I/O module. A reload reads the file again, with the flags and environment on top
 * (app_override_cb), the web config file (web.h) and the bearer token files, on a worker
 * thread: all of it may block, none of it touches the daemon's state. Back on the loop,
 * a config that failed, or that changes what only a restart can (cfgload_restart_key),
 * is refused with its message logged and the running one kept; else the tokens, the
 * config and the web config are put in force, in that order. See docs/operations.md, "Reloading".
 */
#ifndef USTATSD_RELOAD_H
#define USTATSD_RELOAD_H

#include <stddef.h>

#include "config/config.h"
#include "config/tokenfile.h"

/*
 * The bearer tokens a config names, read from their files (tokenfile.h): at start-up on
 * the loop, and on SIGHUP with the config on the worker, so that a rotated token takes
 * effect with the reload that reports success, and a bad file refuses the reload.
 */
struct reload_tokens {
    char daemon[TOKENFILE_MAX + 1];                         /* "": none */
    char endpoint[CONFIG_MAX_ENDPOINTS][TOKENFILE_MAX + 1]; /* "": the endpoint is open */
};

struct app;

/*
 * Read every token file c names into t (overwritten). Any thread. Returns 0, or
 * ERRCODE_CONFIG with a message naming the config file, the key, the token file and the
 * problem in err.
 */
int reload_tokens_read(struct reload_tokens *t, const struct config *c, char *err, size_t errlen);

/*
 * Give every route of a's listeners its token from t: the default endpoint and /debug
 * take the daemon's, which also guards the unknown paths of their listeners; each other
 * endpoint its own. Returns 0, or httpd's code with a message naming the route, the
 * listener and the problem in err (then some routes may have their new token: apply the
 * running ones again). Loop thread.
 */
int reload_tokens_apply(struct app *a, const struct reload_tokens *t, char *err, size_t errlen);

/*
 * Read every token file c names, as start-up and a reload do, then forget the tokens:
 * for --check-config. Returns 0, or ERRCODE_CONFIG with the message in err.
 */
int reload_check_tokens(const struct config *c, char *err, size_t errlen);

/*
 * SIGHUP: read the config again, off the loop. SIGHUPs during a reload make one more
 * after it, and so does one while the series an earlier reload retired are being freed:
 * then at most one generation of retired series is ever held, however fast SIGHUPs come.
 * Nothing while stopping. Loop thread.
 */
void reload_start(struct app *a);

/*
 * The reload a SIGHUP asked for while reload_start() had to defer it, if any: when the
 * retired series are freed, and after each reload. Loop thread.
 */
void reload_pending(struct app *a);

#endif
