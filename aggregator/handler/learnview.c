#include "handler/learnview.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/query.h"
#include "expose/learnjson.h"
#include "expose/learnprop.h"
#include "expose/procfs.h"
#include "handler/site.h"

/* The executable of pid: from the site's cache, else read once and cached. */
static const char *exe_of(pid_t pid, void *arg)
{
    struct site *s = arg;
    struct site_exe *x;

    for (size_t i = 0; i < SITE_LEARN_EXES; i++)
        if (s->learn_exes[i].pid == pid && pid > 0)
            return s->learn_exes[i].ok ? s->learn_exes[i].path : NULL;
    x = &s->learn_exes[s->learn_exe_next++ % SITE_LEARN_EXES];
    x->pid = pid;
    x->ok = pid > 0 && procfs_read_exe(pid, x->path, sizeof(x->path)) >= 0;
    return x->ok ? x->path : NULL;
}

static void refuse(struct httpd_conn *conn, const char *why)
{
    json_t *o = json_pack("{s:i, s:s}", "schema", LEARNJSON_SCHEMA, "error", why);
    char *body = json_dumps(o, JSON_COMPACT);

    httpd_respond(conn, 400, "application/json", body, strlen(body), 0, NULL);
    free(body);
    json_decref(o);
}

/* format=json|config and pretty=0|1; anything else is refused with why. */
static const char *parse(const char *query, int *config, int *pretty)
{
    const char *p = query ? query : "";
    char name[32], value[32];
    int rc;

    *config = *pretty = 0;
    while ((rc = query_next(&p, name, sizeof(name), value, sizeof(value))) > 0) {
        if (strcmp(name, "format") == 0 &&
            (strcmp(value, "json") == 0 || strcmp(value, "config") == 0))
            *config = strcmp(value, "config") == 0;
        else if (strcmp(name, "pretty") == 0 &&
                 (strcmp(value, "1") == 0 || strcmp(value, "0") == 0))
            *pretty = value[0] == '1';
        else if (strcmp(name, "format") == 0 || strcmp(name, "pretty") == 0)
            return "format is json or config, pretty 0 or 1";
        else
            return "unknown parameter: /debug/learn takes format and pretty";
    }
    return rc < 0 ? "malformed or oversized query parameter" : NULL;
}

void learnview_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct site *s = arg;
    const char *why;
    int config, pretty;
    json_t *doc;
    char *body;

    if ((why = parse(req->query, &config, &pretty)) != NULL) {
        refuse(conn, why);
        return;
    }
    if (config) {
        json_t *all = learnprop_all(&s->learn, s->cfg);

        doc = learnprop_fragment(all);
        json_decref(all);
    } else {
        doc = learnjson_document(&s->learn, s->cfg, uv_now(s->loop), exe_of, s);
    }
    body = json_dumps(doc,
                      (pretty || config ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(12));
    json_decref(doc);
    if (body == NULL) {
        httpd_respond(conn, 500, "application/json", "{\"error\":\"internal\"}\n", 20, 0, NULL);
        return;
    }
    httpd_respond(conn, 200, "application/json", body, strlen(body), HTTPD_GZIP, NULL);
    free(body);
}
