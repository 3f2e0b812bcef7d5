/*
 * seedyaml: a seed's Prometheus files as the test runs them, and the YAML reading they
 * need (libyaml's document API: load, edit a few scalars, emit).
 *
 * The Prometheus config derived from the seed's prometheus.yml: global scrape, timeout
 * and evaluation intervals 1 s (a job's own intervals removed); each static target whose
 * port is a listener's port in ustatsd.json goes to that listener's test address;
 * authorization.credentials_file names the test's token, tls_config's ca_file the test
 * CA (server_name removed: the certificate names 127.0.0.1); alerting, remote_write and
 * remote_read removed; honor_labels, paths, schemes and the rest kept. The rule files
 * are the seed's own with every `for:` set to 0s and a group's own interval removed, so
 * that an alert fires on its first evaluation: the durations are an operator's policy,
 * the expressions are what is tested.
 */
#ifndef USTATSD_TESTS_SEEDYAML_H
#define USTATSD_TESTS_SEEDYAML_H

#include <stddef.h>
#include <yaml.h>

#include "seedrun.h"

/* Load path into doc; fails the test when it is no YAML document. */
void seedyaml_load(const char *path, yaml_document_t *doc);

/* The value of key in mapping m, or NULL. */
yaml_node_t *seedyaml_get(yaml_document_t *doc, yaml_node_t *m, const char *key);

/* The items of a sequence node, by id (stable while nodes are added); at most max. */
size_t seedyaml_items(yaml_node_t *seq, int *ids, size_t max);

/*
 * Write the Prometheus config derived from the seed's prometheus.yml to out, and the
 * derived rule files beside it (s->rule_files).
 */
void seedyaml_derive_prometheus(struct seed_run *s, const char *out);

#endif
