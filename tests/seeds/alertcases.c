/*
 * alertcases ALERTS_YML TESTS_YML: every alert of a rule file has, in a `promtool test
 * rules` file, a case where it fires and one where it stays quiet.
 *
 * ALERTS_YML is read as Prometheus reads a rule file (groups[].rules[].alert); TESTS_YML
 * as promtool reads its input (tests[].alert_rule_test[] with alertname and exp_alerts).
 * A case fires when exp_alerts is a non-empty sequence, and stays quiet when it is an
 * empty one, null (`~`, `null` or nothing) or absent (promtool then expects no alert).
 * Both files are parsed with libyaml, so quoting, flow style and comments read as YAML
 * says.
 *
 * Prints a line per alert ("NAME: N firing, M quiet") and one "FAIL: ..." per problem:
 * an alert without either case, a case naming no alert of the file, a file with no
 * alert, a file that is not YAML of that shape. Exit status 0 when none, 1 otherwise,
 * 2 on usage.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_ALERTS 256

struct alert {
    char name[256];
    int firing, quiet;
};

static struct alert alerts[MAX_ALERTS];
static size_t nalerts;
static int failed;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("FAIL: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    failed = 1;
}

static void load(const char *path, yaml_document_t *doc)
{
    FILE *f = fopen(path, "rb");
    yaml_parser_t p;

    if (f == NULL) {
        fail("%s: cannot open", path);
        exit(1);
    }
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, doc) || yaml_document_get_root_node(doc) == NULL) {
        fail("%s: not YAML: %s", path, p.problem ? p.problem : "empty");
        exit(1);
    }
    yaml_parser_delete(&p);
    fclose(f);
}

/* The value of key in mapping m, or NULL (also when m is not a mapping). */
static yaml_node_t *get(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key);

        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, pr->value);
    }
    return NULL;
}

static const char *scalar(yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/*
 * A YAML null, as promtool reads `exp_alerts:` left empty, `~` or `null`: no alert
 * expected. A plain scalar only: a quoted "null" is a string.
 */
static int is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
    const char *v = (const char *)n->data.scalar.value;

    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp(v, nulls[i]) == 0)
            return 1;
    return 0;
}

/* The items of a sequence node: [*first, *end); none when n is not a sequence. */
static void items(yaml_node_t *n, yaml_node_item_t **first, yaml_node_item_t **end)
{
    *first = *end = NULL;
    if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
        *first = n->data.sequence.items.start;
        *end = n->data.sequence.items.top;
    }
}

static struct alert *find(const char *name)
{
    for (size_t i = 0; i < nalerts; i++)
        if (strcmp(alerts[i].name, name) == 0)
            return &alerts[i];
    return NULL;
}

static void read_alerts(const char *path)
{
    yaml_document_t doc;
    yaml_node_item_t *g, *ge, *r, *re;

    load(path, &doc);
    items(get(&doc, yaml_document_get_root_node(&doc), "groups"), &g, &ge);
    for (; g < ge; g++) {
        items(get(&doc, yaml_document_get_node(&doc, *g), "rules"), &r, &re);
        for (; r < re; r++) {
            const char *name = scalar(get(&doc, yaml_document_get_node(&doc, *r), "alert"));

            if (name == NULL || find(name) != NULL)
                continue; /* a recording rule; or one name in two groups, counted once */
            if (nalerts == MAX_ALERTS || strlen(name) >= sizeof(alerts[0].name)) {
                fail("%s: too many alerts, or a name too long: %s", path, name);
                break;
            }
            snprintf(alerts[nalerts++].name, sizeof(alerts[0].name), "%s", name);
        }
    }
    yaml_document_delete(&doc);
    if (nalerts == 0)
        fail("%s: no alert", path);
}

static void read_cases(const char *path)
{
    yaml_document_t doc;
    yaml_node_item_t *t, *te, *c, *ce;

    load(path, &doc);
    items(get(&doc, yaml_document_get_root_node(&doc), "tests"), &t, &te);
    for (; t < te; t++) {
        items(get(&doc, yaml_document_get_node(&doc, *t), "alert_rule_test"), &c, &ce);
        for (; c < ce; c++) {
            yaml_node_t *cn = yaml_document_get_node(&doc, *c);
            const char *name = scalar(get(&doc, cn, "alertname"));
            yaml_node_t *exp = get(&doc, cn, "exp_alerts");
            struct alert *a = name != NULL ? find(name) : NULL;

            if (a == NULL) {
                fail("%s: a case for \"%s\", which is no alert of the rule file", path,
                     name != NULL ? name : "(no alertname)");
                continue;
            }
            if (exp != NULL && exp->type == YAML_SEQUENCE_NODE &&
                exp->data.sequence.items.top > exp->data.sequence.items.start)
                a->firing++;
            else if (exp == NULL || exp->type == YAML_SEQUENCE_NODE || is_null(exp))
                a->quiet++;
            else
                fail("%s: %s: exp_alerts is not a sequence", path, name);
        }
    }
    yaml_document_delete(&doc);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: alertcases ALERTS_YML TESTS_YML\n");
        return 2;
    }
    read_alerts(argv[1]);
    read_cases(argv[2]);
    for (size_t i = 0; i < nalerts; i++) {
        printf("%s: %d firing, %d quiet\n", alerts[i].name, alerts[i].firing, alerts[i].quiet);
        if (alerts[i].firing == 0)
            fail("%s: no case in %s where it fires (exp_alerts non-empty)", alerts[i].name,
                 argv[2]);
        if (alerts[i].quiet == 0)
            fail("%s: no case in %s where it stays quiet (exp_alerts: [])", alerts[i].name,
                 argv[2]);
    }
    return failed;
}
