#include "config/cfgsql.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/cfgmetric.h"
#include "base/errcode.h"
#include "base/mem.h"
#include "base/path.h"

/* file: relative to the config file's directory; the trimmed contents go to pg_conninfo. */
static int read_conninfo_file(struct cfgread *r, struct config *c, const char *file)
{
    struct buf path = BUF_INIT;
    size_t len;
    char *s;
    int rc;

    if (file[0] != '/' && r->basedir != NULL)
        buf_addf(&path, "%s/%s", r->basedir, file);
    else
        buf_adds(&path, file);
    rc = path_read_file(path.ptr, CONFIG_MAX_CONNINFO_FILE_SIZE, &s, &len);
    if (rc != 0) {
        cfgread_fail_at(r, "conninfo_file", "cannot read %s: %s", path.ptr,
                        rc == -EFBIG ? "larger than 64 KiB" : errcode_str(rc));
        buf_release(&path);
        return ERRCODE_CONFIG;
    }
    buf_release(&path);
    while (len > 0 &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    c->pg_conninfo = s;
    if (len == 0 || memchr(s, '\0', len) != NULL)
        return cfgread_fail_at(r, "conninfo_file", "%s", len ? "contains a NUL byte" : "is empty");
    return 0;
}

/* "conninfo" or "conninfo_file", exactly one of them: a cross-key rule. */
static int read_conninfo(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base)
{
    static const struct cfgread_key text = { .name = "conninfo",
                                             .kind = CFGREAD_STRING,
                                             .flags = CFGREAD_NONEMPTY,
                                             .off = offsetof(struct config, pg_conninfo) };
    static const struct cfgread_key file = {
        .name = "conninfo_file", .kind = CFGREAD_STRING, .flags = CFGREAD_NONEMPTY, .off = 0
    };
    char *name = NULL;
    int rc;

    (void)k;
    if (obj == NULL)
        return 0;
    if ((v != NULL) == (json_object_get(obj, "conninfo_file") != NULL))
        return cfgread_fail(r, "exactly one of \"conninfo\" and \"conninfo_file\" is required");
    if (cfgread_row(r, obj, &text, base) < 0 || cfgread_row(r, obj, &file, &name) < 0) {
        free(name);
        return ERRCODE_CONFIG;
    }
    rc = name != NULL ? read_conninfo_file(r, base, name) : 0;
    free(name);
    return rc;
}

static int read_nothing(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    (void)r, (void)k, (void)obj, (void)v, (void)base;
    return 0;
}

const struct cfgread_key cfgsql_postgres_keys[] = {
    { .name = "conninfo",
      .kind = CFGREAD_CUSTOM,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, pg_conninfo),
      .read = read_conninfo,
      .cmp = CFGREAD_STRING },
    /* Read with "conninfo" above. */
    { .name = "conninfo_file",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_nothing },
    { .name = "pool_size",
      .kind = CFGREAD_UINT32,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, pg_pool_size),
      .udflt = CONFIG_DEFAULT_PG_POOL_SIZE,
      .umin = 1,
      .umax = CONFIG_MAX_PG_POOL_SIZE },
    { .name = "connect_timeout_seconds",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT | CFGREAD_RESTART,
      .off = offsetof(struct config, pg_connect_timeout),
      .ddflt = CONFIG_DEFAULT_PG_CONNECT_TIMEOUT,
      .dmin = 0,
      .dmax = CONFIG_MAX_TIMEOUT_SECONDS },
    { .name = "statement_timeout_seconds",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT | CFGREAD_RESTART,
      .off = offsetof(struct config, pg_statement_timeout),
      .ddflt = CONFIG_DEFAULT_PG_STATEMENT_TIMEOUT,
      .dmin = 0,
      .dmax = CONFIG_MAX_TIMEOUT_SECONDS },
};
const size_t cfgsql_npostgres_keys = ARRAY_SIZE(cfgsql_postgres_keys);

int cfgsql_postgres(struct cfgread *r, struct config *c, json_t *obj)
{
    size_t old = cfgread_push_key(r, "postgres");

    c->has_postgres = obj != NULL;
    if (cfgread_section(r, obj, cfgsql_postgres_keys, cfgsql_npostgres_keys, c) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, old);
    return 0;
}

/* ---- sql_metrics ---- */

static int read_name(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                     void *base)
{
    struct config_sql_metric *m = base;

    (void)v;
    return cfgmetric_name(r, obj, k->name, 0, 1, &m->name);
}

static int read_labels(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    struct config_sql_metric *m = base;

    (void)k, (void)v;
    return cfgmetric_labels(r, r->root, obj, &m->labels, &m->nlabels, NULL, &m->label_columns);
}

/* The value column must not be a label column too: a cross-key rule. */
static int read_value_column(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                             void *base)
{
    const struct cfgread_key s = {
        .name = k->name, .kind = CFGREAD_STRING, .flags = CFGREAD_NONEMPTY, .off = k->off
    };
    struct config_sql_metric *m = base;

    (void)v;
    if (cfgread_row(r, obj, &s, base) < 0)
        return ERRCODE_CONFIG;
    for (size_t i = 0; i < m->nlabels; i++)
        if (strcmp(m->label_columns[i], m->value_column) == 0)
            return cfgread_fail_at(r, k->name, "\"%s\" is also a label column", m->value_column);
    return 0;
}

static const char *const fold_names[] = { "sum", "max", "min", NULL };

_Static_assert(sizeof(enum config_sql_fold) == sizeof(int), "CFGREAD_ENUM stores an int");

/* $.sql_metrics[i], in this order; every stored value is compared by cfgsql_changed(). */
static const struct cfgread_key metric_keys[] = {
    { .name = "name",
      .kind = CFGREAD_CUSTOM,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config_sql_metric, name),
      .read = read_name,
      .cmp = CFGREAD_STRING },
    { .name = "help",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config_sql_metric, help),
      .sdflt = "",
      .cmp = CFGREAD_STRING },
    { .name = "unit",
      .kind = CFGREAD_CUSTOM,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config_sql_metric, unit),
      .sdflt = "",
      .read = cfgmetric_read_unit,
      .cmp = CFGREAD_STRING },
    { .name = "group",
      .kind = CFGREAD_CUSTOM,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config_sql_metric, group),
      .read = cfgmetric_read_group,
      .cmp = CFGREAD_STRING },
    { .name = "query",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_RESTART | CFGREAD_REQUIRED | CFGREAD_NONEMPTY,
      .off = offsetof(struct config_sql_metric, query),
      .cmp = CFGREAD_STRING },
    /* Compared by hand, with their columns. */
    { .name = "labels", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_labels },
    { .name = "value_column",
      .kind = CFGREAD_CUSTOM,
      .flags = CFGREAD_RESTART | CFGREAD_REQUIRED,
      .off = offsetof(struct config_sql_metric, value_column),
      .read = read_value_column,
      .cmp = CFGREAD_STRING },
    { .name = "min_interval_seconds",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config_sql_metric, min_interval_seconds),
      .ddflt = CONFIG_DEFAULT_SQL_MIN_INTERVAL,
      .dmin = 0,
      .dmax = CONFIG_MAX_SQL_MIN_INTERVAL },
    { .name = "timeout_seconds",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT | CFGREAD_RESTART,
      .off = offsetof(struct config_sql_metric, timeout_seconds),
      .ddflt = CONFIG_DEFAULT_SQL_TIMEOUT,
      .dmin = 0,
      .dmax = CONFIG_MAX_TIMEOUT_SECONDS },
    { .name = "fold",
      .kind = CFGREAD_ENUM,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config_sql_metric, fold),
      .choices = fold_names },
};

int cfgsql_metrics(struct cfgread *r, struct config *c, json_t *arr)
{
    size_t old = cfgread_push_key(r, "sql_metrics");

    c->nsql_metrics = json_array_size(arr); /* 0 when not an array */
    c->sql_metrics = mem_calloc(c->nsql_metrics, sizeof(*c->sql_metrics));
    if (cfgread_objects(r, arr, "SQL metric objects", metric_keys, ARRAY_SIZE(metric_keys),
                        c->sql_metrics, sizeof(*c->sql_metrics)) < 0)
        return ERRCODE_CONFIG;
    if (c->nsql_metrics > 0 && !c->has_postgres)
        return cfgread_fail(r, "SQL metrics need a \"postgres\" section");
    cfgread_pop(r, old);
    return 0;
}

static int same_labels(const struct config_sql_metric *a, const struct config_sql_metric *b)
{
    if (a->nlabels != b->nlabels)
        return 0;
    for (size_t i = 0; i < a->nlabels; i++) {
        const struct config_label *x = &a->labels[i], *y = &b->labels[i];

        if (!path_same_str(x->name, y->name) || x->nvalues != y->nvalues ||
            x->max_values != y->max_values || (x->values == NULL) != (y->values == NULL) ||
            !path_same_str(a->label_columns[i], b->label_columns[i]) ||
            !path_same_str(x->pattern, y->pattern) || !path_same_str(x->overflow, y->overflow))
            return 0;
        for (size_t j = 0; j < x->nvalues; j++)
            if (!path_same_str(x->values[j], y->values[j]))
                return 0;
    }
    return 1;
}

const char *cfgsql_changed(const struct config *a, const struct config *b, char *buf, size_t len)
{
    if (a->nsql_metrics != b->nsql_metrics)
        return "$.sql_metrics";
    for (size_t i = 0; i < a->nsql_metrics; i++) {
        const struct config_sql_metric *x = &a->sql_metrics[i], *y = &b->sql_metrics[i];

        if (cfgread_changed(metric_keys, ARRAY_SIZE(metric_keys), x, y) != NULL ||
            !same_labels(x, y)) {
            snprintf(buf, len, "$.sql_metrics[%zu]", i);
            return buf;
        }
        /* The same group, included by one config and excluded by the other. */
        if (x->excluded != y->excluded) {
            snprintf(buf, len, "$.groups (sql_metrics[%zu] \"%s\")", i, x->name);
            return buf;
        }
    }
    return NULL;
}

void cfgsql_release(struct config *c)
{
    free(c->pg_conninfo);
    c->pg_conninfo = NULL;
    for (size_t i = 0; i < c->nsql_metrics; i++) {
        struct config_sql_metric *m = &c->sql_metrics[i];

        cfgread_release(metric_keys, ARRAY_SIZE(metric_keys), m);
        cfgmetric_release_labels(m->labels, m->nlabels);
        for (size_t j = 0; j < m->nlabels; j++)
            free(m->label_columns[j]);
        free(m->label_columns);
    }
    free(c->sql_metrics);
    c->sql_metrics = NULL;
    c->nsql_metrics = 0;
}
