/*
 * cfgfamily: the allowlist part of the configuration. Families with their labels and
 * buckets, the groups that include or exclude them, the resource attributes of
 * target_info. The readers that SQL metrics share with families (metric names, labels,
 * units and groups) are cfgmetric's.
 *
 * A domain module used by cfgload_file(); every function reads through a struct cfgread
 * (its messages name the JSON path) and stores into a struct config that cfgload_release()
 * frees, even half filled. Each returns 0 or ERRCODE_CONFIG after writing the message.
 */
#ifndef USTATSD_CFGFAMILY_H
#define USTATSD_CFGFAMILY_H

#include <stddef.h>

#include <jansson.h>

#include "config/cfgread.h"
#include "config/config.h"

/*
 * $.families: an array of family objects, into c->families. Needs c's limits read. The
 * families that say "precreate" must fit the caps: each one's combinations within
 * max_series_per_family, and all of them together within max_series.
 */
int cfgfamily_families(struct cfgread *r, struct config *c, json_t *arr);

/*
 * The series "precreate" creates for f: the product, over its labels, of each one's
 * enumerated values, its overflow value counting as one more when it is not among them
 * (a line may fold into it). 1 for a family without labels; SIZE_MAX when a label is not
 * enumerated or the product does not fit a size_t.
 */
size_t cfgfamily_combinations(const struct config_family *f);

/* $.resource: an object of string attributes, into c->resource sorted by key. */
int cfgfamily_resource(struct cfgread *r, struct config *c, json_t *obj);

/*
 * An object of string attributes at obj (the path names it) added to *out (n entries),
 * sorted by key: the keys valid (resattr_key_problem()), none reading as the same label as
 * another, the values label values.
 */
int cfgfamily_attrs(struct cfgread *r, const struct config *c, json_t *obj,
                    struct config_resource_attr **out, size_t *n);

/* $.groups: {"include": "all" or [names], "exclude": [names]}. */
int cfgfamily_groups(struct cfgread *r, struct config *c, json_t *obj);

/*
 * A cfgread_key reader for $.clients.strip_tags into c->strip_tags (base is the struct
 * config), to be read after $.families: no family may declare a stripped key.
 */
int cfgfamily_read_strip_tags(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                              json_t *v, void *base);

/* Whether c's groups section excludes a family or SQL metric of this group ("": never). */
int cfgfamily_excluded(const struct config *c, const char *group);

/* Whether list (n strings) holds s. */
int cfgfamily_in_list(char *const *list, size_t n, const char *s);

/* Free c's resource, groups and families, and zero them. */
void cfgfamily_release(struct config *c);

#endif
