#include "config/cfgendpoint.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgfamily.h"
#include "config/cfgwriters.h"
#include "base/errcode.h"
#include "base/mem.h"
#include "config/resattr.h"
#include "statsd.h"

/*
 * An endpoint's name is the handler label of its requests (ustatsd_http_requests_total),
 * so it must not be one of the daemon's own handlers.
 */
static const char *const reserved_names[] = { "metrics", "debug", "healthy", "ready", "other" };

static const char *name_problem(const char *s)
{
    const char *p;

    for (p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return "expected a name of [A-Za-z0-9_.-]";
    if (p - s > 64)
        return "longer than 64 bytes";
    for (size_t i = 0; i < ARRAY_SIZE(reserved_names); i++)
        if (strcmp(s, reserved_names[i]) == 0)
            return "reserved: the daemon's own handlers are named metrics, debug, healthy, ready "
                   "and other";
    return NULL;
}

static const char *path_problem(const char *s)
{
    const char *problem = config_http_path_problem(s);

    if (problem != NULL)
        return problem;
    if (strcmp(s, "/-/healthy") == 0 || strcmp(s, "/-/ready") == 0)
        return "every listener serves /-/healthy and /-/ready itself";
    return NULL;
}

static const char *listen_problem(const char *s)
{
    return s[0] == '\0' ? "an endpoint needs an address (\"host:port\" or \"unix:/path\")" : NULL;
}

static int string_list(struct cfgread *r, json_t *arr, const char *what, char ***out, size_t *n)
{
    if (!json_is_array(arr))
        return cfgread_fail(r, "expected an array of %s, got %s", what, cfgread_type_name(arr));
    *n = json_array_size(arr);
    *out = mem_calloc(*n + 1, sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(arr, i);
        size_t o = cfgread_push_index(r, i);

        if (!json_is_string(v) || json_string_length(v) == 0 ||
            strlen(json_string_value(v)) != json_string_length(v))
            return cfgread_fail(r, "expected one of %s (a non-empty string), got %s", what,
                                cfgread_type_name(v));
        (*out)[i] = mem_strdup(json_string_value(v));
        for (size_t j = 0; j < i; j++)
            if (strcmp((*out)[j], (*out)[i]) == 0)
                return cfgread_fail(r, "\"%s\" is listed twice", (*out)[i]);
        cfgread_pop(r, o);
    }
    return 0;
}

/* "groups" or "families", by the row's key. */
static int read_names(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                      void *base)
{
    struct config_endpoint *ep = base;
    int groups = strcmp(k->name, "groups") == 0;
    size_t o;

    (void)obj;
    if (v == NULL)
        return 0;
    o = cfgread_push_key(r, k->name);
    if (string_list(r, v, groups ? "group names" : "family names",
                    groups ? &ep->groups : &ep->families,
                    groups ? &ep->ngroups : &ep->nfamilies) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, o);
    return 0;
}

/* "jobs": by default, as "every application family" has them. */
static int read_jobs(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                     void *base)
{
    struct config_endpoint *ep = base;

    ep->all = json_object_get(obj, "groups") == NULL && json_object_get(obj, "families") == NULL;
    if (v == NULL) {
        ep->jobs = ep->all;
        return 0;
    }
    if (!json_is_boolean(v))
        return cfgread_fail_at(r, k->name, "expected true or false, got %s", cfgread_type_name(v));
    ep->jobs = json_is_true(v);
    return 0;
}

/* Absent: the daemon's; null: none. */
static int read_token_file(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                           void *base)
{
    const struct config *c = r->root;
    struct config_endpoint *ep = base;

    (void)obj;
    if (v == NULL) {
        ep->bearer_token_file = c->bearer_token_file ? mem_strdup(c->bearer_token_file) : NULL;
        return 0;
    }
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return cfgread_fail_at(r, k->name, "expected a file name or null, got %s",
                               cfgread_type_name(v));
    ep->bearer_token_file = mem_strdup(json_string_value(v));
    return 0;
}

static int read_user(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                     void *base)
{
    struct config_service *s = base;
    size_t old = cfgread_push_key(r, k->name);

    (void)obj;
    if (cfgwriters_user(r, v, &s->uid) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, old);
    return 0;
}

static const char *abs_path_problem(const char *s)
{
    if (s[0] != '/')
        return "must be an absolute path";
    return strlen(s) > 4095 ? "longer than 4095 bytes" : NULL;
}

static const char *cgroup_problem(const char *s)
{
    size_t n = strlen(s);

    if (s[0] != '/')
        return "must be a cgroup path starting with '/', as /proc/<pid>/cgroup shows it";
    return n > 1 && s[n - 1] == '/' ? "must not end with '/'" : abs_path_problem(s);
}

static const struct cfgread_key service_keys[] = {
    { .name = "user",
      .kind = CFGREAD_CUSTOM,
      .flags = CFGREAD_REQUIRED,
      .off = CFGREAD_NOWHERE,
      .read = read_user },
    { .name = "exe",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NONEMPTY,
      .off = offsetof(struct config_service, exe),
      .check = abs_path_problem },
    { .name = "cgroup",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NONEMPTY,
      .off = offsetof(struct config_service, cgroup),
      .check = cgroup_problem },
};

static int read_service(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    struct config_endpoint *ep = base;
    size_t o;

    (void)obj;
    if (v == NULL)
        return 0;
    o = cfgread_push_key(r, k->name);
    ep->has_service = 1;
    if (cfgread_section(r, v, service_keys, ARRAY_SIZE(service_keys), &ep->service) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, o);
    return 0;
}

static int read_resource(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base)
{
    struct config_endpoint *ep = base;
    size_t o;

    (void)obj;
    if (v == NULL)
        return 0;
    o = cfgread_push_key(r, k->name);
    if (cfgfamily_attrs(r, r->root, v, &ep->resource, &ep->nresource) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, o);
    return 0;
}

/* true, false, or an array of attribute keys. */
static int labels_from(struct cfgread *r, const char *key, json_t *v, char ***list, size_t *n,
                       int *all)
{
    size_t o;

    if (v == NULL || json_is_false(v))
        return 0;
    if (json_is_true(v)) {
        *all = 1;
        return 0;
    }
    o = cfgread_push_key(r, key);
    if (!json_is_array(v))
        return cfgread_fail(r, "expected true, false or an array of attribute keys, got %s",
                            cfgread_type_name(v));
    if (string_list(r, v, "attribute keys", list, n) < 0)
        return ERRCODE_CONFIG;
    for (size_t i = 0; i < *n; i++) {
        const char *why = resattr_key_problem((*list)[i]);

        if (why != NULL) {
            cfgread_push_index(r, i);
            return cfgread_fail(r, "%s", why);
        }
    }
    cfgread_pop(r, o);
    return 0;
}

static int read_ep_labels(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                          void *base)
{
    struct config_endpoint *ep = base;

    (void)obj;
    return labels_from(r, k->name, v, &ep->resource_labels, &ep->nresource_labels,
                       &ep->resource_labels_all);
}

int cfgendpoint_read_labels(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base)
{
    struct config *c = base;

    (void)obj;
    return labels_from(r, k->name, v, &c->resource_labels, &c->nresource_labels,
                       &c->resource_labels_all);
}

/* $.endpoints[i]; "jobs" is read after "groups" and "families", which it depends on. */
static const struct cfgread_key endpoint_keys[] = {
    { .name = "name",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_REQUIRED | CFGREAD_NONEMPTY,
      .off = offsetof(struct config_endpoint, name),
      .check = name_problem },
    { .name = "listen",
      .kind = CFGREAD_LISTEN,
      .flags = CFGREAD_REQUIRED,
      .off = offsetof(struct config_endpoint, listen),
      .check = listen_problem },
    { .name = "path",
      .kind = CFGREAD_STRING,
      .off = offsetof(struct config_endpoint, path),
      .sdflt = CONFIG_DEFAULT_METRICS_PATH,
      .check = path_problem },
    { .name = "bearer_token_file",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_token_file },
    { .name = "groups", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_names },
    { .name = "families", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_names },
    { .name = "jobs", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_jobs },
    { .name = "self_metrics",
      .kind = CFGREAD_BOOL,
      .off = offsetof(struct config_endpoint, self_metrics) },
    { .name = "promhttp", .kind = CFGREAD_BOOL, .off = offsetof(struct config_endpoint, promhttp) },
    { .name = "service", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_service },
    { .name = "resource", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_resource },
    { .name = "resource_labels",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_ep_labels },
};

int cfgendpoint_read(struct cfgread *r, struct config *c, json_t *arr)
{
    size_t old = cfgread_push_key(r, "endpoints");

    c->has_endpoints = 1;
    if (!json_is_array(arr))
        return cfgread_fail(r, "expected an array of endpoint objects, got %s",
                            cfgread_type_name(arr));
    if (json_array_size(arr) > CONFIG_MAX_ENDPOINTS)
        return cfgread_fail(r, "%zu endpoints, at most %d are allowed", json_array_size(arr),
                            CONFIG_MAX_ENDPOINTS);
    c->nendpoints = json_array_size(arr);
    c->endpoints = mem_calloc(c->nendpoints + 1, sizeof(*c->endpoints));
    if (cfgread_objects(r, arr, "endpoint objects", endpoint_keys, ARRAY_SIZE(endpoint_keys),
                        c->endpoints, sizeof(*c->endpoints)) < 0)
        return ERRCODE_CONFIG;
    for (size_t i = 0; i < c->nendpoints; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->endpoints[i].name, c->endpoints[j].name) == 0) {
                cfgread_push_index(r, i);
                return cfgread_fail_at(r, "name", "\"%s\" is also $.endpoints[%zu].name",
                                       c->endpoints[i].name, j);
            }
    cfgread_pop(r, old);
    return 0;
}

/* ---- selection ---- */

static int has_group(const struct config *c, const char *g)
{
    for (size_t i = 0; i < c->nfamilies; i++)
        if (!c->families[i].client_telemetry && strcmp(c->families[i].group, g) == 0)
            return 1;
    for (size_t i = 0; i < c->nsql_metrics; i++)
        if (strcmp(c->sql_metrics[i].group, g) == 0)
            return 1;
    return 0;
}

/* A name as an endpoint lists it: '.' and '-' read as '_', a counter with or without _total. */
static long find_sql(const struct config *c, const char *name)
{
    char norm[STATSD_MAX_NAME + 8];
    size_t len = strlen(name);

    if (len >= sizeof(norm))
        return -1;
    statsd_normalize_name(name, len, norm, sizeof(norm));
    norm[len] = '\0';
    for (size_t i = 0; i < c->nsql_metrics; i++)
        if (strcmp(c->sql_metrics[i].name, norm) == 0)
            return (long)i;
    return -1;
}

static int is_job_family(const struct config *c, const char *name)
{
    static const char *const suffixes[] = {
#define SUFFIX(id, suffix, type) suffix,
        CONFIG_JOB_FAMILY_MAP(SUFFIX)
#undef SUFFIX
    };
    size_t pl = strlen(c->job_prefix);

    if (c->njobs == 0 || strncmp(name, c->job_prefix, pl) != 0)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
        size_t sl = strlen(suffixes[i]);

        if (strncmp(name + pl, suffixes[i], sl) == 0 &&
            (name[pl + sl] == '\0' || strcmp(name + pl + sl, "_total") == 0))
            return 1;
    }
    return 0;
}

static int select_families(struct cfgread *r, struct config *c, size_t e)
{
    struct config_endpoint *ep = &c->endpoints[e];
    uint32_t bit = (uint32_t)1 << e;
    size_t o = cfgread_push_index(r, e);

    for (size_t i = 0; i < ep->ngroups; i++)
        if (!has_group(c, ep->groups[i])) {
            cfgread_push_key(r, "groups");
            cfgread_push_index(r, i);
            return cfgread_fail(r, "no family or SQL metric has the group \"%s\"", ep->groups[i]);
        }
    for (size_t i = 0; i < ep->nfamilies; i++) {
        const char *n = ep->families[i];
        long f = config_find_family(c, n, strlen(n));

        if (f >= 0 && !c->families[f].client_telemetry) {
            c->families[f].endpoints |= bit;
            continue;
        }
        if ((f = find_sql(c, n)) >= 0) {
            c->sql_metrics[f].endpoints |= bit;
            continue;
        }
        cfgread_push_key(r, "families");
        cfgread_push_index(r, i);
        if (is_job_family(c, n))
            return cfgread_fail(r, "\"%s\" is a job family: \"jobs\": true serves them all", n);
        return cfgread_fail(r, "no family or SQL metric is named \"%s\"", n);
    }
    for (size_t i = 0; i < c->nfamilies; i++)
        if (!c->families[i].client_telemetry &&
            (ep->all || cfgfamily_in_list(ep->groups, ep->ngroups, c->families[i].group)))
            c->families[i].endpoints |= bit;
    for (size_t i = 0; i < c->nsql_metrics; i++)
        if (ep->all || cfgfamily_in_list(ep->groups, ep->ngroups, c->sql_metrics[i].group))
            c->sql_metrics[i].endpoints |= bit;
    cfgread_pop(r, o);
    return 0;
}

int cfgendpoint_check(struct cfgread *r, struct config *c)
{
    char buf[512];
    const char *why;
    size_t o = cfgread_push_key(r, "endpoints");

    for (size_t e = 0; e < c->nendpoints; e++)
        if (select_families(r, c, e) < 0)
            return ERRCODE_CONFIG;
    cfgread_pop(r, o);
    if ((why = cfgendpoint_problem(c, buf, sizeof(buf))) != NULL) {
        snprintf(r->err, r->errlen, "%s: %s", r->file, why);
        return ERRCODE_CONFIG;
    }
    return 0;
}

/* ---- problems ---- */

/* The first label of what the endpoint serves that is named label, described in buf. */
static int label_taken(const struct config *c, const struct config_endpoint *ep, size_t e,
                       const char *label, char *buf, size_t len)
{
    uint32_t bit = ep != NULL ? (uint32_t)1 << e : 0;

    if (strcmp(label, "le") == 0) {
        snprintf(buf, len, "histogram buckets own the label le");
        return 1;
    }
    for (size_t i = 0; i < c->nfamilies; i++) {
        const struct config_family *f = &c->families[i];

        if (f->client_telemetry || !config_serves(f->endpoints, bit))
            continue;
        for (size_t j = 0; j < f->nlabels; j++)
            if (strcmp(f->labels[j].name, label) == 0) {
                snprintf(buf, len, "$.families[%zu] (%s) has a label %s", i, f->name, label);
                return 1;
            }
    }
    for (size_t i = 0; i < c->nsql_metrics; i++) {
        const struct config_sql_metric *m = &c->sql_metrics[i];

        if (!config_serves(m->endpoints, bit))
            continue;
        for (size_t j = 0; j < m->nlabels; j++)
            if (strcmp(m->labels[j].name, label) == 0) {
                snprintf(buf, len, "$.sql_metrics[%zu] (%s) has a label %s", i, m->name, label);
                return 1;
            }
    }
    if (c->njobs > 0 && (ep == NULL || ep->jobs)) {
        char state[STATSD_MAX_NAME + 32];

        snprintf(state, sizeof(state), "%s_circuit_state", c->job_prefix);
        if (strcmp(label, "job") == 0 || strcmp(label, "outcome") == 0 ||
            strcmp(label, "state") == 0 || strcmp(label, state) == 0) {
            snprintf(buf, len, "the job families have a label %s", label);
            return 1;
        }
    }
    return 0;
}

static const char *labels_problem(const struct config *c, const struct config_endpoint *ep,
                                  size_t e, char *buf, size_t len)
{
    size_t n;
    struct config_resource_attr *attrs = cfgendpoint_resource(c, ep, &n);
    char where[64], label[CONFIG_MAX_RESOURCE_KEY + 1], taken[256];
    const char *why = NULL;

    if (ep != NULL) {
        size_t total = c->nresource;

        for (size_t i = 0; i < ep->nresource; i++)
            total += resattr_find(c->resource, c->nresource, ep->resource[i].key) < 0;
        if (total > CONFIG_MAX_RESOURCE_ATTRS) {
            resattr_free(attrs, n);
            snprintf(buf, len,
                     "$.endpoints[%zu].resource: with the daemon's and the environment's, %zu "
                     "attributes; at most %d are allowed",
                     e, total, CONFIG_MAX_RESOURCE_ATTRS);
            return buf;
        }
    }

    if (ep != NULL)
        snprintf(where, sizeof(where), "$.endpoints[%zu].resource_labels", e);
    else
        snprintf(where, sizeof(where), "$.daemon.resource_labels");
    for (size_t i = 0; i < n && why == NULL; i++) {
        if (!cfgendpoint_copies(c, ep, attrs[i].key))
            continue;
        resattr_label(attrs[i].key, label);
        if (label_taken(c, ep, e, label, taken, sizeof(taken))) {
            snprintf(buf, len,
                     "%s: the attribute %s would be copied onto every series as the label %s, "
                     "but %s",
                     where, attrs[i].key, label, taken);
            why = buf;
        }
    }
    resattr_free(attrs, n);
    return why;
}

/* Where the debug view goes when neither debug_listen nor the default endpoint says. */
static const char *self_listen(const struct config *c)
{
    for (size_t i = 0; i < c->nendpoints; i++)
        if (c->endpoints[i].self_metrics)
            return c->endpoints[i].listen;
    return NULL;
}

static int same_listen(const char *a, const char *b)
{
    return a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;
}

const char *cfgendpoint_problem(const struct config *c, char *buf, size_t len)
{
    const char *why;

    for (size_t i = 0; i < c->nendpoints; i++) {
        const struct config_endpoint *a = &c->endpoints[i];

        for (size_t j = 0; j < i; j++) {
            const struct config_endpoint *b = &c->endpoints[j];

            if (same_listen(a->listen, b->listen) && strcmp(a->path, b->path) == 0) {
                snprintf(buf, len,
                         "$.endpoints[%zu]: \"%s\" and $.endpoints[%zu] (\"%s\") are both at %s%s",
                         i, a->name, j, b->name, a->listen, a->path);
                return buf;
            }
        }
        if (same_listen(a->listen, c->metrics_listen) && strcmp(a->path, c->metrics_path) == 0) {
            snprintf(buf, len,
                     "$.endpoints[%zu]: \"%s\" is at %s%s, the default endpoint's address and "
                     "path (metrics_listen, metrics_path)",
                     i, a->name, a->listen, a->path);
            return buf;
        }
        if (strcmp(a->path, "/debug") == 0 &&
            (same_listen(a->listen, c->debug_listen) ||
             (c->debug_listen == NULL && same_listen(a->listen, c->metrics_listen)) ||
             (c->debug_listen == NULL && (c->metrics_listen == NULL || !c->metrics_listen[0]) &&
              same_listen(a->listen, self_listen(c))))) {
            snprintf(buf, len, "$.endpoints[%zu]: \"%s\" is at %s/debug, where the debug view is",
                     i, a->name, a->listen);
            return buf;
        }
        if ((why = labels_problem(c, a, i, buf, len)) != NULL)
            return why;
    }
    return labels_problem(c, NULL, 0, buf, len);
}

struct config_resource_attr *cfgendpoint_resource(const struct config *c,
                                                  const struct config_endpoint *ep, size_t *n)
{
    struct config_resource_attr *v = resattr_copy(c->resource, c->nresource);

    *n = c->nresource;
    for (size_t i = 0; ep != NULL && i < ep->nresource; i++)
        if (resattr_set(&v, n, ep->resource[i].key, ep->resource[i].value) != 0)
            break; /* more than 16 together: the endpoint's first ones win */
    return v;
}

int cfgendpoint_copies(const struct config *c, const struct config_endpoint *ep, const char *key)
{
    char *const *list = ep ? ep->resource_labels : c->resource_labels;
    size_t n = ep ? ep->nresource_labels : c->nresource_labels;
    char a[CONFIG_MAX_RESOURCE_KEY + 1], b[CONFIG_MAX_RESOURCE_KEY + 1];

    if (ep ? ep->resource_labels_all : c->resource_labels_all)
        return 1;
    resattr_label(key, a);
    for (size_t i = 0; i < n; i++) {
        resattr_label(list[i], b);
        if (strcmp(a, b) == 0)
            return 1;
    }
    return 0;
}

const char *cfgendpoint_changed(const struct config *a, const struct config *b, char *buf,
                                size_t len)
{
    if (a->nendpoints != b->nendpoints) {
        snprintf(buf, len, "$.endpoints: %zu endpoints, %zu running", b->nendpoints, a->nendpoints);
        return buf;
    }
    for (size_t i = 0; i < a->nendpoints; i++) {
        const struct config_endpoint *x = &a->endpoints[i], *y = &b->endpoints[i];
        const char *key = strcmp(x->name, y->name) != 0       ? "name"
                          : strcmp(x->listen, y->listen) != 0 ? "listen"
                          : strcmp(x->path, y->path) != 0     ? "path"
                                                              : NULL;

        if (key != NULL) {
            snprintf(buf, len, "$.endpoints[%zu].%s", i, key);
            return buf;
        }
    }
    return NULL;
}

const struct config_endpoint *cfgendpoint_find(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nendpoints; i++)
        if (strcmp(c->endpoints[i].name, name) == 0)
            return &c->endpoints[i];
    return NULL;
}

void cfgendpoint_release(struct config *c)
{
    for (size_t i = 0; i < c->nendpoints; i++) {
        struct config_endpoint *ep = &c->endpoints[i];

        free(ep->name);
        free(ep->listen);
        free(ep->path);
        free(ep->bearer_token_file);
        cfgread_free_strings(ep->groups, ep->ngroups);
        cfgread_free_strings(ep->families, ep->nfamilies);
        free(ep->service.exe);
        free(ep->service.cgroup);
        resattr_free(ep->resource, ep->nresource);
        cfgread_free_strings(ep->resource_labels, ep->nresource_labels);
    }
    free(c->endpoints);
    cfgread_free_strings(c->resource_labels, c->nresource_labels);
    c->endpoints = NULL;
    c->nendpoints = 0;
    c->resource_labels = NULL;
    c->nresource_labels = 0;
}
