#include "seedprom.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "waitfor.h"

/* "/api/v1/query?query=" and expr, URL-encoded, in a buffer of the caller's thread. */
static const char *query_path(const char *expr)
{
    static char path[16384];
    const char *s = expr;
    size_t n = strlen("/api/v1/query?query=");

    memcpy(path, "/api/v1/query?query=", n);
    for (; *s && n + 4 < sizeof(path); s++)
        n += (size_t)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'
                          ? snprintf(path + n, sizeof(path) - n, "%c", *s)
                          : snprintf(path + n, sizeof(path) - n, "%%%02X", (unsigned char)*s));
    cr_assert(*s == '\0', "a query too long to encode");
    path[n] = '\0';
    return path;
}

json_t *seedprom_get(struct seed_run *s, const char *path)
{
    struct httpc_response r;
    json_t *j;

    if (httpc_get(s->prom_addr, path, NULL, &r) != 0)
        return NULL;
    free(s->last);
    s->last = strdup(r.body);
    j = json_loads(r.body, 0, NULL);
    httpc_response_release(&r);
    return j;
}

static int succeeded(json_t *answer)
{
    return strcmp(seed_str_or(json_string_value(json_object_get(answer, "status")), ""),
                  "success") == 0;
}

json_t *seedprom_query(struct seed_run *s, const char *expr, int *refused)
{
    json_t *j = seedprom_get(s, query_path(expr)), *result = NULL;

    *refused = j != NULL && !succeeded(j);
    if (j != NULL && !*refused)
        result = json_incref(json_object_get(json_object_get(j, "data"), "result"));
    json_decref(j);
    return result;
}

struct query {
    struct seed_run *s;
    const char *expr;
    int error; /* Prometheus refused it */
};

/* Whether the instant query returns at least one sample; a refusal ends the wait. */
static int query_has_data(void *arg)
{
    struct query *q = arg;
    json_t *result = seedprom_query(q->s, q->expr, &q->error);
    int ok = q->error || json_array_size(result) > 0 || json_is_string(json_array_get(result, 1));

    json_decref(result);
    return ok;
}

void seedprom_check_query(struct seed_run *s, const char *what, const char *expr)
{
    struct query q = { s, expr, 0 };

    if (waitfor_cond(query_has_data, &q, seed_remaining(s)) != 0)
        cr_assert_fail("%s: %s returned no data: %s\nlast answer: %s", s->name, what, expr,
                       s->last ? s->last : "(none)");
    cr_assert(!q.error, "%s: %s: Prometheus refused %s: %s", s->name, what, expr, s->last);
}

void seedprom_check_empty(struct seed_run *s, const char *what, const char *expr)
{
    json_t *j = seedprom_get(s, query_path(expr)), *result;

    cr_assert_not_null(j, "%s: %s: no answer to %s", s->name, what, expr);
    cr_assert(succeeded(j), "%s: %s: Prometheus refused %s: %s", s->name, what, expr, s->last);
    result = json_object_get(json_object_get(j, "data"), "result");
    cr_assert_eq(json_array_size(result), 0, "%s: %s: %s returned %s", s->name, what, expr,
                 s->last);
    json_decref(j);
}

void seedprom_check_job_labels(struct seed_run *s, json_t *root)
{
    json_t *first = json_array_get(json_object_get(json_object_get(root, "jobs"), "list"), 0);
    const char *job = json_is_object(first) ? json_string_value(json_object_get(first, "name"))
                                            : json_string_value(first);
    char expr[300];

    seedprom_check_empty(s, "Prometheus renamed a `job` label", "count({exported_job!=\"\"})");
    if (job == NULL)
        return;
    snprintf(expr, sizeof(expr), "count({job=\"%s\"})", job);
    seedprom_check_query(s, "the job families under their own job label", expr);
}

int seedprom_targets_up(void *arg)
{
    struct seed_run *s = arg;
    json_t *j = seedprom_get(s, "/api/v1/targets?state=active"), *t;
    json_t *active = json_object_get(json_object_get(j, "data"), "activeTargets");
    size_t i;
    int ok = json_array_size(active) > 0;

    json_array_foreach(active, i, t) ok &=
        strcmp(seed_str_or(json_string_value(json_object_get(t, "health")), ""), "up") == 0;
    json_decref(j);
    return ok;
}

int seedprom_alerts_firing(void *arg)
{
    struct seed_run *s = arg;
    json_t *j = seedprom_get(s, "/api/v1/rules?type=alert"), *g, *r;
    json_t *groups = json_object_get(json_object_get(j, "data"), "groups");
    size_t i, k, n = 0;
    int ok = 1;

    json_array_foreach(groups, i, g)
    {
        json_array_foreach(json_object_get(g, "rules"), k, r)
        {
            n++;
            ok &= strcmp(seed_str_or(json_string_value(json_object_get(r, "state")), ""),
                         "firing") == 0;
        }
    }
    json_decref(j);
    return ok && n > 0;
}
