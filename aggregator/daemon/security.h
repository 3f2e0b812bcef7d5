/*
 * security: the web config file (daemon.web_config_file) and what the listeners serve with
 * that derives from it: TLS, basic auth users, extra headers.
 *
 * An I/O module. One struct security is in force on every listener. It is loaded at start-up
 * on the loop, and on a reload on the reload's worker thread (the TLS context parses
 * certificates and keys); security_apply() is the one step, on the loop, that hands a loaded
 * one to every listener.
 */
#ifndef USTATSD_SECURITY_H
#define USTATSD_SECURITY_H

#include <stddef.h>

#include "config/config.h"
#include "config/webcfg.h"
#include "handler/site.h"
#include "http/basicauth.h"
#include "http/tlsmem.h"

struct security {
    struct webcfg w;         /* all zero without a file */
    struct tlsmem_ctx *tls;  /* from w.tls; NULL: plain HTTP */
    struct basicauth *basic; /* from w.users; NULL: no basic auth */
};

struct app;

/*
 * Load the web config file at path (NULL or "": none) and build what derives from it;
 * the basic auth users only with a pool (NULL: --check-config). Any thread: it touches
 * nothing of the daemon's, and basicauth_new() may run off the loop (basicauth.h). Returns
 * 0, or the loader's code (errcode.h) with a message naming the file, the key and the
 * problem in err (web left
 * zeroed). Release with security_release(), on the loop once it holds basic auth users.
 */
int security_load(struct security *web, const char *path, struct basicauth_pool *pool, char *err,
                  size_t errlen);

/* Drop what web holds, and zero it. */
void security_release(struct security *web);

/*
 * Load the file c names and build its TLS context, as start-up and a reload do, then drop
 * it: for --check-config. Returns 0, or ERRCODE_CONFIG with a message naming the file,
 * the key and the problem in err. With 0, warn holds the warning start-up would log of a
 * certificate expired or expiring within 14 days (naming the web config, the certificate
 * file and the date), or "" when there is none.
 */
int security_check(const struct config *c, char *err, size_t errlen, char *warn, size_t warnlen);

/*
 * Start-up: load the running config's file into a->web, before any socket, so that a bad
 * one leaves nothing behind. Returns 0, or security_load()'s code with the message in err.
 * Loop thread.
 */
int security_start(struct app *a, char *err, size_t errlen);

/*
 * Give l what it serves with, from a->web, before it listens. Returns 0, or httpd's code
 * with a message naming the listener in err. Loop thread.
 */
int security_serve(struct app *a, struct site_listener *l, char *err, size_t errlen);

/*
 * Put next in force (taking what it holds; next is left zeroed): every listener serves
 * new connections with it, while those already open keep what they began with. A
 * downgrade (TLS or basic auth dropped) is logged as a warning. Loop thread.
 */
void security_apply(struct app *a, struct security *next);

/* Log what the web config in force does, when there is a file. Loop thread. */
void security_log(struct app *a);

#endif
