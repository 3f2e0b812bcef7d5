/*
 * cfgsql: the "postgres" and "sql_metrics" sections of the configuration. Both are
 * restart-only as a whole: their collectors hold connections, so a reload that changes
 * them is refused (cfgsql_changed()).
 *
 * A domain module used by cfgload_file(): it reads through a struct cfgread and stores into
 * a struct config. It reads one file, postgres.conninfo_file, relative to the config
 * file's directory (struct cfgread.basedir).
 */
#ifndef USTATSD_CFGSQL_H
#define USTATSD_CFGSQL_H

#include <stddef.h>

#include <jansson.h>

#include "config/cfgread.h"
#include "config/config.h"

/*
 * The postgres section's rows, for cfgload_restart_key(): every one of them is restart-only
 * ("conninfo" stands for the conninfo that either key gave).
 */
extern const struct cfgread_key cfgsql_postgres_keys[];
extern const size_t cfgsql_npostgres_keys;

/*
 * $.postgres into c (obj NULL: absent; the defaults are set and has_postgres stays 0).
 * Exactly one of "conninfo" and "conninfo_file" (at most CONFIG_MAX_CONNINFO_FILE_SIZE
 * bytes, trailing blanks dropped) is required. Returns 0 or ERRCODE_CONFIG after the message.
 */
int cfgsql_postgres(struct cfgread *r, struct config *c, json_t *obj);

/* $.sql_metrics into c; needs the limits and the postgres section read first. */
int cfgsql_metrics(struct cfgread *r, struct config *c, json_t *arr);

/*
 * The path of the first SQL metric that differs between a and b, or "$.sql_metrics" when
 * their numbers differ, or "$.groups (sql_metrics[i] \"name\")" when the groups section
 * includes one and excludes the other; NULL when none. The path may be written to buf.
 */
const char *cfgsql_changed(const struct config *a, const struct config *b, char *buf, size_t len);

/* Free what the two sections stored in c, and zero it. */
void cfgsql_release(struct config *c);

#endif
