/*
 * conninfo: vet the postgres section's conninfo, and turn it into libpq's arguments.
 *
 * Uses libpq's parser (PQconninfoParse) and nothing else of it: no connection, no loop,
 * no clock, so --check-config and the unit tests run it without a server. It includes
 * <libpq-fe.h>, which is why the build lists it with the I/O modules.
 *
 * The rules (docs/exposition.md, "PostgreSQL gauges"):
 *  - DNS: a lookup would block the loop, so a conninfo whose host is a name (neither an
 *    IP literal nor a Unix-socket directory "/..." or "@...", nor empty) is refused
 *    unless hostaddr= is given too. PGHOST/PGHOSTADDR from the environment are checked
 *    the same way.
 *  - Secrets: messages never quote the conninfo nor libpq's parse message (either may
 *    hold the password); they may name an unknown keyword or a host name.
 *  - Read-only: every connection gets
 *      options='-c default_transaction_read_only=on -c statement_timeout=<ms>'
 *    after any options of the conninfo (later -c settings win, so the conninfo cannot
 *    undo them), client_encoding=UTF8 (label values go to the exposition as they are)
 *    and fallback_application_name=ustatsd.
 */
#ifndef USTATSD_CONNINFO_H
#define USTATSD_CONNINFO_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/errcode.h"

/*
 * Check cfg's postgres section without any connection. Returns 0 (also when cfg has no
 * postgres section), or ERRCODE_CONFIG with "<file>: $.postgres.conninfo: <problem>" in err (always
 * NUL-terminated when errlen > 0).
 */
int conninfo_check(const struct config *cfg, char *err, size_t errlen);

/* PQconnectStartParams arguments: keys and vals are NULL-terminated, in step. */
struct conninfo_params {
    const char **keys, **vals;
    char *options; /* the combined options= value */
};

/*
 * Check cfg's conninfo as conninfo_check does and build the connection arguments, with
 * statement_timeout=<session_timeout_ms> in options (0: no server-side limit). Returns
 * 0, or ERRCODE_CONFIG with a message in err and nothing to release. After success the caller owns
 * *p and frees it with conninfo_params_release.
 */
int conninfo_params_init(struct conninfo_params *p, const struct config *cfg,
                         long session_timeout_ms, char *err, size_t errlen);

/* Free what conninfo_params_init allocated; safe on a zeroed struct and twice. */
void conninfo_params_release(struct conninfo_params *p);

/*
 * The timeouts a connection and its queries run under, in ms (at least 1, at most a day),
 * as the daemon and --check-config --connect apply them:
 *  - the session's statement_timeout: postgres.statement_timeout_seconds, 0 for none;
 *  - a connection attempt: postgres.connect_timeout_seconds (or its default);
 *  - a metric's query: its timeout_seconds (or the default), at most the session's.
 */
long conninfo_session_timeout_ms(const struct config *cfg);
uint64_t conninfo_connect_timeout_ms(const struct config *cfg);
long conninfo_query_timeout_ms(const struct config *cfg, const struct config_sql_metric *m);

#endif
