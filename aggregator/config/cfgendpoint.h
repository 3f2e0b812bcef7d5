/*
 * cfgendpoint: the "endpoints" section, and what the scrape endpoints need from the rest
 * of the configuration: which families each serves, and the resource attributes each
 * copies onto its series.
 *
 * A domain module used by cfgload_file() (and by main once flags and the environment are
 * applied). Each endpoint is a path on a listener: several endpoints may share a listener,
 * never a path on it. Its families are chosen by group and by name; the selection is
 * stored as one bit per endpoint in each family and SQL metric (.endpoints).
 *
 * The daemon's default endpoint, metrics_listen + metrics_path, is not in c->endpoints: it
 * serves everything, the daemon's own metrics included, with the daemon section's
 * resource_labels.
 */
#ifndef USTATSD_CFGENDPOINT_H
#define USTATSD_CFGENDPOINT_H

#include <stddef.h>

#include <jansson.h>

#include "config/cfgread.h"
#include "config/config.h"

/* $.endpoints: an array of endpoint objects. Needs nothing else read yet. */
int cfgendpoint_read(struct cfgread *r, struct config *c, json_t *arr);

/* A cfgread_key reader of $.daemon.resource_labels into c (base). */
int cfgendpoint_read_labels(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base);

/*
 * Once every section is read: resolve each endpoint's groups and family names (a group no
 * family or SQL metric has, or a name that is none, is an error), set the families' and
 * SQL metrics' .endpoints bits, and check the resource labels (cfgendpoint_problem()).
 */
int cfgendpoint_check(struct cfgread *r, struct config *c);

/*
 * What is wrong with c's endpoints as they will run, or NULL: two on the same listen
 * address and path, or on the default endpoint's or the debug view's path there (as the
 * flags left metrics_listen, metrics_path and debug_listen); a resource label that a
 * served family, SQL metric or job family already has, or "le". The message, naming the
 * keys, is written to buf (len bytes). Call it again once the flags and the OTEL_*
 * variables are applied.
 */
const char *cfgendpoint_problem(const struct config *c, char *buf, size_t len);

/*
 * The resource attributes of endpoint ep (NULL: the default endpoint): c->resource with
 * ep's own on top, as a new array of *n entries (resattr_free() it).
 */
struct config_resource_attr *cfgendpoint_resource(const struct config *c,
                                                  const struct config_endpoint *ep, size_t *n);

/*
 * Whether the endpoint (NULL: the default one) copies the attribute key onto its series.
 */
int cfgendpoint_copies(const struct config *c, const struct config_endpoint *ep, const char *key);

/*
 * What a reload cannot change: the endpoints, by name, listen and path, in order (the
 * bearer token file reloads: the daemon reads it again). The JSON path of the first difference
 * (written to buf), or NULL.
 */
const char *cfgendpoint_changed(const struct config *a, const struct config *b, char *buf,
                                size_t len);

/* The endpoint of this name, or NULL. */
const struct config_endpoint *cfgendpoint_find(const struct config *c, const char *name);

void cfgendpoint_release(struct config *c);

#endif
