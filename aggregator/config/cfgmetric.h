/*
 * cfgmetric: the readers that families and SQL metrics share: metric names, labels with
 * their values, patterns and overflow, units and groups.
 *
 * A domain module used by cfgfamily and cfgsql (and cfgload for job names); every function
 * reads through a struct cfgread (its messages name the JSON path) and stores into a struct
 * config that cfgload_release() frees, even half filled. Each returns 0 or ERRCODE_CONFIG
 * after writing the message.
 */
#ifndef USTATSD_CFGMETRIC_H
#define USTATSD_CFGMETRIC_H

#include <stddef.h>

#include <jansson.h>

#include "config/cfgread.h"
#include "config/config.h"

/*
 * The metric name at obj[key] (required): at most STATSD_MAX_NAME bytes, '.' and '-' read
 * as '_' (the stored *out is normalised), a valid name. counter: a "_total" suffix is
 * stripped. family: the daemon's own prefixes are refused. *out is set as soon as it is
 * allocated, so that the caller's struct owns it on failure too.
 */
int cfgmetric_name(struct cfgread *r, json_t *obj, const char *key, int counter, int family,
                   char **out);

/*
 * obj["labels"] (optional): at most CONFIG_MAX_LABELS label objects. reserved: the name
 * the family's samples add ("le" for a histogram, "quantile" for a summary, else NULL) is
 * refused. columns: NULL for a family; for an SQL metric, where each label's result column
 * goes ("column", by default its name).
 */
int cfgmetric_labels(struct cfgread *r, const struct config *c, json_t *obj,
                     struct config_label **labels, size_t *nlabels, const char *reserved,
                     char ***columns);

/*
 * A string that a label value can hold: non-empty and at most c->max_label_value_len bytes.
 * what names it in messages ("a job name"). The path must name v.
 */
int cfgmetric_label_value(struct cfgread *r, const struct config *c, json_t *v, const char *what,
                          char **out);

/* Row readers (cfgread_read_cb) storing a char * at k->off: "group" ([A-Za-z0-9_.-]+,
 * default "") and "unit" ([a-z_]+, default k->sdflt). */
int cfgmetric_read_group(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base);
int cfgmetric_read_unit(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base);

/*
 * The unit at key, v its value or NULL (then *out is a copy of dflt): [a-z_]+. *out is
 * set as soon as it is allocated, as cfgmetric_name's.
 */
int cfgmetric_unit(struct cfgread *r, const char *key, json_t *v, const char *dflt, char **out);

/* Whether s is a group name: [A-Za-z0-9_.-]+. */
int cfgmetric_valid_group(const char *s);

/* Free what cfgmetric_labels() stored. */
void cfgmetric_release_labels(struct config_label *labels, size_t n);

#endif
