/*
 * cfgclient: the families of DogStatsD client telemetry, which the configuration holds
 * without the file declaring them.
 *
 * DogStatsD clients (datadog-go, datadogpy, java-dogstatsd-client, dogstatsd-ruby,
 * php-datadogstatsd, hot-shots, metrics-exporter-dogstatsd) report on themselves by
 * default, every 10 seconds, as counters named datadog.dogstatsd.client.<name>: what the
 * application gave them, and the datagrams and bytes they sent and dropped. A drop on a
 * Unix socket happens on the client's side of it (EAGAIN), so this is the only record of
 * it. Each name becomes the counter family ustatsd_client_<name> (exposed
 * ustatsd_client_<name>_total) with the labels the clients put on it, bounded:
 *
 *   client            "go", "py", "java", "nodejs", ...  at most 16 values
 *   client_transport  "udp", "uds", ...                  at most 8 values
 *   client_version    "5.3.0", ...                       at most 16 values
 *   metrics_type      on the *_by_type families only: count, gauge, set, timing,
 *                     histogram, distribution
 *
 * A value beyond a cap or outside metrics_type's set folds into "__other__". Every other
 * tag (the application's global and unified service tags) is dropped and the observation
 * kept ("undeclared_labels": "drop"). A line must use the client's name: the family's own
 * name, ustatsd_client_<name>, is no name a line may send (registry.c, check_family).
 *
 * A domain module: plain data in, struct config out.
 */
#ifndef USTATSD_CFGCLIENT_H
#define USTATSD_CFGCLIENT_H

#include <stddef.h>

#include "config/config.h"

#define CFGCLIENT_FAMILY_PREFIX "ustatsd_client_"           /* the families' names */
#define CFGCLIENT_WIRE_PREFIX   "datadog_dogstatsd_client_" /* the clients', normalised */
#define CFGCLIENT_OVERFLOW      "__other__"
#define CFGCLIENT_NFAMILIES     18 /* families cfgclient_families() appends */
#define CFGCLIENT_MAX_CLIENTS   8  /* client values */
#define CFGCLIENT_MAX_TRANSPORT 4  /* client_transport values */
#define CFGCLIENT_MAX_VERSIONS  4  /* client_version values */

/*
 * Append the telemetry families to c->families, each marked .client_telemetry, when
 * c->dogstatsd_telemetry is set; nothing otherwise. Call once, after the file's families
 * were read and checked: their names carry the reserved prefix "ustatsd_", which no family
 * of the file may use, so they clash with none. cfgload_release() frees them with the rest.
 */
void cfgclient_families(struct config *c);

/*
 * A line's normalised name (len bytes in name, which holds at least len) that starts with
 * CFGCLIENT_WIRE_PREFIX, rewritten in place to the family's name: "datadog_dogstatsd_
 * client_packets_sent" becomes "ustatsd_client_packets_sent". Returns the new length, or 0
 * (name untouched) when the name has no such prefix or nothing after it.
 */
size_t cfgclient_family_name(char *name, size_t len);

#endif
