/*
 * clifetch: GET a path from a running daemon's HTTP listener, for the subcommands that
 * read its JSON debug view. An I/O module (libcurl's easy interface: a command-line
 * tool waits for its answer, there is no loop to keep turning).
 *
 * The daemon's listeners may want a bearer token, basic auth or TLS (docs/security.md);
 * the options below are the ones curl and Prometheus's scrape configs give for the same
 * things. Every subcommand that reads the daemon takes them:
 *
 *   --url URL            the listener, e.g. http://127.0.0.1:9464, https://host:9464, or
 *                        unix:/run/ustatsd/http.sock for one on a Unix socket (default:
 *                        $USTATSD_URL, else http://127.0.0.1:9464)
 *   --token-file FILE    Authorization: Bearer <the file's first line>
 *   --user NAME          basic auth; the password from --password-file FILE, else from
 *                        $USTATSD_PASSWORD
 *   --cacert FILE        the CA that signed the daemon's certificate
 *   --cert FILE --key FILE   a client certificate
 *   --insecure           do not verify the daemon's certificate
 *   --timeout SECONDS    per request (default 10)
 */
#ifndef USTATSD_CLIFETCH_H
#define USTATSD_CLIFETCH_H

#include <stddef.h>
#include <stdio.h>

#include "base/buf.h"

#define CLIFETCH_DEFAULT_URL "http://127.0.0.1:9464"

struct clifetch_opts {
    const char *url;
    const char *token_file;
    const char *user;
    const char *password_file;
    const char *cacert;
    const char *cert;
    const char *key;
    int insecure;
    long timeout_ms;
};

/* Defaults: the URL from $USTATSD_URL or CLIFETCH_DEFAULT_URL, a 10 s timeout. */
void clifetch_opts_init(struct clifetch_opts *o);

/*
 * If argv[*i] is one of the options above, take it (and its value: *i is advanced past
 * it) and return 1; return 0 if it is not one of them; return ERRCODE_BADPARAM with a
 * message in err when it is one but its value is missing or bad.
 */
int clifetch_take_opt(struct clifetch_opts *o, int argc, char **argv, int *i, char *err,
                      size_t errlen);

/* The options' usage text, for a subcommand's --help. */
void clifetch_usage(FILE *out);

/*
 * GET o->url + path (path begins with '/', and may carry a query string). The body goes
 * into out (appended), the HTTP status into *status. Returns 0 when an answer came
 * (whatever its status), or ERRCODE_ABSENT with a message in err naming the URL and what failed
 * (refused, TLS, timeout, an unreadable token or password file).
 */
int clifetch_get(const struct clifetch_opts *o, const char *path, struct buf *out, long *status,
                 char *err, size_t errlen);

#endif
