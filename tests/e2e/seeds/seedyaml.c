#include "seedyaml.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsclient.h"

void seedyaml_load(const char *path, yaml_document_t *doc)
{
    yaml_parser_t p;
    FILE *f = fopen(path, "rb");

    cr_assert_not_null(f, "%s", path);
    cr_assert(yaml_parser_initialize(&p));
    yaml_parser_set_input_file(&p, f);
    cr_assert(yaml_parser_load(&p, doc), "%s:%zu: %s", path, p.problem_mark.line + 1,
              p.problem ? p.problem : "?");
    yaml_parser_delete(&p);
    fclose(f);
    cr_assert_not_null(yaml_document_get_root_node(doc), "%s: empty", path);
}

/* Emits doc (and deletes it, as yaml_emitter_dump does). */
static void ydoc_save(const char *path, yaml_document_t *doc)
{
    yaml_emitter_t e;
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "%s", path);
    cr_assert(yaml_emitter_initialize(&e));
    yaml_emitter_set_output_file(&e, f);
    yaml_emitter_set_unicode(&e, 1);
    cr_assert(yaml_emitter_open(&e));
    cr_assert(yaml_emitter_dump(&e, doc), "%s: %s", path, e.problem ? e.problem : "?");
    cr_assert(yaml_emitter_close(&e));
    yaml_emitter_delete(&e);
    fclose(f);
}

static int node_id(yaml_document_t *doc, yaml_node_t *n)
{
    return (int)(n - doc->nodes.start) + 1;
}

static int is_scalar(yaml_node_t *n, const char *s)
{
    return n != NULL && n->type == YAML_SCALAR_NODE && strcmp((char *)n->data.scalar.value, s) == 0;
}

/* The value of key in mapping m, or NULL. */
yaml_node_t *seedyaml_get(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (is_scalar(yaml_document_get_node(doc, p->key), key))
            return yaml_document_get_node(doc, p->value);
    return NULL;
}

static void ymap_del(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (is_scalar(yaml_document_get_node(doc, p->key), key)) {
            memmove(p, p + 1, (size_t)(m->data.mapping.pairs.top - p - 1) * sizeof(*p));
            m->data.mapping.pairs.top--;
            return;
        }
}

/* Set key to a scalar in mapping m (by its id: adding nodes moves them). */
static void ymap_set(yaml_document_t *doc, int m_id, const char *key, const char *value)
{
    int v = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)value, -1, YAML_ANY_SCALAR_STYLE);
    yaml_node_t *m = yaml_document_get_node(doc, m_id);

    cr_assert_gt(v, 0);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (is_scalar(yaml_document_get_node(doc, p->key), key)) {
            p->value = v;
            return;
        }
    {
        int k = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)key, -1, YAML_ANY_SCALAR_STYLE);

        cr_assert(yaml_document_append_mapping_pair(doc, m_id, k, v));
    }
}

/*
 * Replace the text of the scalar node id. libyaml owns a node's memory and has no public
 * allocator, so a new node takes the value and the two swap texts: the old text goes with
 * the new node, which nothing refers to (it is freed with the document, never emitted).
 */
static void yscalar_replace(yaml_document_t *doc, int id, const char *value)
{
    int fresh =
        yaml_document_add_scalar(doc, NULL, (yaml_char_t *)value, -1, YAML_ANY_SCALAR_STYLE);
    yaml_node_t *a = yaml_document_get_node(doc, id), *b = yaml_document_get_node(doc, fresh);
    yaml_char_t *text = a->data.scalar.value;
    size_t len = a->data.scalar.length;

    cr_assert(fresh > 0 && a->type == YAML_SCALAR_NODE);
    a->data.scalar.value = b->data.scalar.value;
    a->data.scalar.length = b->data.scalar.length;
    b->data.scalar.value = text;
    b->data.scalar.length = len;
}

/* The items of a sequence node, by id (stable while nodes are added). */
size_t seedyaml_items(yaml_node_t *seq, int *ids, size_t max)
{
    size_t n = 0;

    if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
        return 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top && n < max; it++)
        ids[n++] = *it;
    return n;
}

/* A rule file with every `for` 0s and no group interval; returns the new path. */
static char *derive_rules(struct seed_run *s, const char *path)
{
    yaml_document_t doc;
    int groups[64], rules[256];
    size_t ng, nr;
    char out[700];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    seedyaml_load(path, &doc);
    ng =
        seedyaml_items(seedyaml_get(&doc, yaml_document_get_root_node(&doc), "groups"), groups, 64);
    for (size_t g = 0; g < ng; g++) {
        yaml_node_t *group = yaml_document_get_node(&doc, groups[g]);

        ymap_del(&doc, group, "interval");
        nr = seedyaml_items(seedyaml_get(&doc, group, "rules"), rules, 256);
        for (size_t r = 0; r < nr; r++)
            if (seedyaml_get(&doc, yaml_document_get_node(&doc, rules[r]), "for") != NULL)
                ymap_set(&doc, rules[r], "for", "0s");
    }
    snprintf(out, sizeof(out), "%s/rules-%zu-%s", s->wdir, s->nrules, base);
    ydoc_save(out, &doc);
    return strdup(out);
}

void seedyaml_derive_prometheus(struct seed_run *s, const char *out)
{
    yaml_document_t doc;
    yaml_node_t *root, *n;
    int root_id, global_id, ids[64], statics[64], targets[64];
    size_t count;
    char path[600];
    const char *certs = tlscerts_dir();

    snprintf(path, sizeof(path), "%s/prometheus.yml", s->src);
    seedyaml_load(path, &doc);
    root = yaml_document_get_root_node(&doc);
    root_id = node_id(&doc, root);
    ymap_del(&doc, root, "alerting");
    ymap_del(&doc, root, "remote_write");
    ymap_del(&doc, root, "remote_read");
    n = seedyaml_get(&doc, root, "global");
    if (n == NULL) {
        global_id = yaml_document_add_mapping(&doc, NULL, YAML_ANY_MAPPING_STYLE);
        {
            int k = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)"global", -1,
                                             YAML_ANY_SCALAR_STYLE);

            cr_assert(yaml_document_append_mapping_pair(&doc, root_id, k, global_id));
        }
    } else {
        global_id = node_id(&doc, n);
    }
    ymap_set(&doc, global_id, "scrape_interval", "1s");
    ymap_set(&doc, global_id, "scrape_timeout", "1s");
    ymap_set(&doc, global_id, "evaluation_interval", "1s");

    /* The rule files: the seed's, relative to its prometheus.yml, derived. */
    count =
        seedyaml_items(seedyaml_get(&doc, yaml_document_get_root_node(&doc), "rule_files"), ids, 8);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(&doc, ids[i]);
        char rule[600];

        cr_assert(item->type == YAML_SCALAR_NODE);
        if (item->data.scalar.value[0] == '/')
            snprintf(rule, sizeof(rule), "%s", (char *)item->data.scalar.value);
        else
            snprintf(rule, sizeof(rule), "%s/%s", s->src, (char *)item->data.scalar.value);
        s->rule_files[s->nrules] = derive_rules(s, rule);
        item = yaml_document_get_node(&doc, ids[i]);
        yscalar_replace(&doc, ids[i], s->rule_files[s->nrules]);
        s->nrules++;
    }

    count = seedyaml_items(seedyaml_get(&doc, yaml_document_get_root_node(&doc), "scrape_configs"),
                           ids, 64);
    cr_assert_gt(count, 0, "%s: no scrape_configs", s->name);
    for (size_t j = 0; j < count; j++) {
        yaml_node_t *job = yaml_document_get_node(&doc, ids[j]), *auth, *tls;
        size_t ns;

        ymap_del(&doc, job, "scrape_interval");
        ymap_del(&doc, job, "scrape_timeout");
        auth = seedyaml_get(&doc, job, "authorization");
        if (auth != NULL && seedyaml_get(&doc, auth, "credentials_file") != NULL)
            ymap_set(&doc, node_id(&doc, auth), "credentials_file", s->token);
        job = yaml_document_get_node(&doc, ids[j]);
        tls = seedyaml_get(&doc, job, "tls_config");
        if (tls != NULL) {
            int tls_id = node_id(&doc, tls);

            cr_assert_not_null(certs, "no test certificates");
            ymap_del(&doc, tls, "server_name");
            ymap_set(&doc, tls_id, "ca_file", tlscerts_path(certs, "ca.crt"));
            if (seedyaml_get(&doc, yaml_document_get_node(&doc, tls_id), "cert_file") != NULL) {
                ymap_set(&doc, tls_id, "cert_file", tlscerts_path(certs, "client.crt"));
                ymap_set(&doc, tls_id, "key_file", tlscerts_path(certs, "client.key"));
            }
        }
        job = yaml_document_get_node(&doc, ids[j]);
        ns = seedyaml_items(seedyaml_get(&doc, job, "static_configs"), statics, 64);
        cr_assert_gt(ns, 0, "%s: a scrape config without static_configs", s->name);
        for (size_t k = 0; k < ns; k++) {
            size_t nt = seedyaml_items(
                seedyaml_get(&doc, yaml_document_get_node(&doc, statics[k]), "targets"), targets,
                64);

            for (size_t t = 0; t < nt; t++) {
                yaml_node_t *target = yaml_document_get_node(&doc, targets[t]);
                int port = seed_port_of((char *)target->data.scalar.value);
                const char *to = NULL;

                for (size_t p = 0; p < s->ports.n; p++)
                    if (s->ports.from[p] == port)
                        to = s->ports.to[p];
                cr_assert_not_null(to, "%s: target %s: no listener of ustatsd.json has its port",
                                   s->name, (char *)target->data.scalar.value);
                yscalar_replace(&doc, targets[t], to);
            }
        }
    }
    ydoc_save(out, &doc);
}
