/*
 * cfgalias: the second name of a family with a unit, its name without "_<unit>", which
 * lines may use as well: OpenTelemetry's name for it. The OpenTelemetry Prometheus
 * exporter appends the unit (and "_total" to counters) to an instrument's name, so a
 * service that sends its OpenTelemetry names sends what the family's name is without
 * them:
 *
 *   family http_server_request_duration_seconds (histogram, unit "seconds")
 *     also takes http.server.request.duration:0.2|h
 *   family imgsrv_objectstore_bytes (counter, unit "bytes", written ..._bytes_total)
 *     also takes imgsrv.objectstore:512|c
 *
 * The rules, so that a line never names two things: exact names always win. A family has
 * no alias when its candidate is also the name of a family (a counter's with or without
 * "_total"), a job's counter name (with or without "_total"), or the job families'
 * attempts family, or when two families have the same candidate (then neither has it).
 * Such a family is served under its own name as before, and cfglint reports why it has no
 * alias. The client telemetry families have none.
 *
 * A domain module used by cfgload (cfgalias_assign()) and cfglint (cfgalias_problem()).
 */
#ifndef USTATSD_CFGALIAS_H
#define USTATSD_CFGALIAS_H

#include <stddef.h>

#include "config/config.h"

/* Set every family's alias (config_family.alias), or leave it NULL, by the rules above. */
void cfgalias_assign(struct config *c);

/*
 * Why family i has no alias although its name ends in "_<unit>": a message in buf (len
 * bytes) that names the alias and what it clashes with. NULL when it has one, or when its
 * name does not end in its unit.
 */
const char *cfgalias_problem(const struct config *c, size_t i, char *buf, size_t len);

#endif
