#include "seedrules.h"

#include <criterion/criterion.h>

#include <stdio.h>

#include "seedlabels.h"
#include "seedprom.h"
#include "seedyaml.h"

void seedrules_check_file(struct seed_run *s, const char *path, int *alerts)
{
    yaml_document_t doc;
    int groups[64], rules[256];
    size_t ng, nr;

    seedyaml_load(path, &doc);
    ng =
        seedyaml_items(seedyaml_get(&doc, yaml_document_get_root_node(&doc), "groups"), groups, 64);
    for (size_t g = 0; g < ng; g++) {
        nr = seedyaml_items(seedyaml_get(&doc, yaml_document_get_node(&doc, groups[g]), "rules"),
                            rules, 256);
        for (size_t r = 0; r < nr; r++) {
            yaml_node_t *rule = yaml_document_get_node(&doc, rules[r]);
            yaml_node_t *expr = seedyaml_get(&doc, rule, "expr"), *name;
            char what[300];

            name = seedyaml_get(&doc, rule, "alert");
            if (name != NULL)
                ++*alerts;
            else
                name = seedyaml_get(&doc, rule, "record");
            cr_assert(expr != NULL && name != NULL && expr->type == YAML_SCALAR_NODE);
            snprintf(what, sizeof(what), "rule %s", (char *)name->data.scalar.value);
            seedprom_check_query(s, what, (char *)expr->data.scalar.value);
            seedlabels_check(s, what, (char *)expr->data.scalar.value, NULL);
            /* A recording rule's series exist too. */
            if (seedyaml_get(&doc, rule, "record") != NULL)
                seedprom_check_query(s, what, (char *)name->data.scalar.value);
        }
    }
    yaml_document_delete(&doc);
}
