/*
 * cfgremote: the "remote_write" section, a list of targets, each with the keys of
 * Prometheus's own remote_write block where it has them (url, remote_timeout, headers,
 * bearer_token_file, basic_auth, tls_config, queue_config's min_backoff and max_backoff,
 * send_native_histograms, name) and ustatsd's (the endpoints it sends, its interval, its
 * external labels, queue_config.max_bytes). Durations are seconds, as elsewhere in the file.
 *
 * Everything a target names is checked at load: the files it reads are readable, its
 * certificates and key parse as PEM and the key is the certificate's, the endpoints exist.
 * A domain module.
 */
#ifndef USTATSD_CFGREMOTE_H
#define USTATSD_CFGREMOTE_H

#include <jansson.h>

#include "config/cfgread.h"
#include "config/config.h"

#define CFGREMOTE_DEFAULT_TIMEOUT     30.0
#define CFGREMOTE_DEFAULT_INTERVAL    15.0
#define CFGREMOTE_DEFAULT_MAX_BYTES   (64u << 20)
#define CFGREMOTE_DEFAULT_MIN_BACKOFF 0.03
#define CFGREMOTE_DEFAULT_MAX_BACKOFF 5.0

/* Read $.remote_write (v NULL: none) into c, after its endpoints. 0 or ERRCODE_CONFIG. */
int cfgremote_read(struct cfgread *r, struct config *c, json_t *v);

/* Free what cfgremote_read() stored. */
void cfgremote_release(struct config *c);

#endif
