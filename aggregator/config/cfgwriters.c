#include "config/cfgwriters.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"
#include "statsd.h"

/*
 * Rules are resolved to what the hot path needs once, at load: every family and job points
 * at its rule, and a rule holds sorted uids and gids. A name that does not resolve is an
 * error rather than a rule that silently matches nobody: an operator who misspells a user
 * would otherwise lock a service out and only find it in the rejects.
 */

/* getpwnam_r/getgrnam_r buffers grow on ERANGE up to this (a group with many members). */
#define LOOKUP_BUF_MAX (1u << 20)

/* The largest id: (uid_t)-1 means "no change" to setresuid() and is nobody's. */
#define ID_MAX 4294967294LL

/* 0 and *id; ENOENT for no such name; or the lookup's error. */
static int lookup(int group, const char *name, uint32_t *id)
{
    size_t cap = 1024;
    int rc, found;

    for (;;) {
        char *buf = mem_alloc(cap);

        if (group) {
            struct group g, *res = NULL;

            rc = getgrnam_r(name, &g, buf, cap, &res);
            found = res != NULL;
            if (found)
                *id = (uint32_t)g.gr_gid;
        } else {
            struct passwd pw, *res = NULL;

            rc = getpwnam_r(name, &pw, buf, cap, &res);
            found = res != NULL;
            if (found)
                *id = (uint32_t)pw.pw_uid;
        }
        free(buf);
        if (found)
            return 0;
        /* glibc says "no such name" with 0 and a NULL result; others with ENOENT and kin. */
        if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
            return ENOENT;
        if (rc != ERANGE || cap >= LOOKUP_BUF_MAX)
            return rc;
        cap *= 2;
    }
}

static int resolve(struct cfgread *r, const json_t *v, int group, uint32_t *id)
{
    const char *what = group ? "group" : "user";
    char q[260];

    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);

        if (n < 0 || n > ID_MAX)
            return cfgread_fail(r, "a %cid is 0 to %lld, got %lld", group ? 'g' : 'u', ID_MAX,
                                (long long)n);
        *id = (uint32_t)n;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        int rc;

        if (strlen(s) != json_string_length(v) || s[0] == '\0')
            return cfgread_fail(r, "no %s \"%s\"", what,
                                cfgread_shown(q, s, json_string_length(v)));
        rc = lookup(group, s, id);
        if (rc == ENOENT)
            return cfgread_fail(r, "no %s \"%s\"", what, cfgread_shown(q, s, strlen(s)));
        if (rc != 0)
            return cfgread_fail(r, "no %s \"%s\": %s", what, cfgread_shown(q, s, strlen(s)),
                                strerror(rc));
        return 0;
    }
    return cfgread_fail(r, "expected a %s name or a %cid, got %s", what, group ? 'g' : 'u',
                        cfgread_type_name(v));
}

int cfgwriters_user(struct cfgread *r, const json_t *v, uint32_t *uid)
{
    return resolve(r, v, 0, uid);
}

int cfgwriters_group(struct cfgread *r, const json_t *v, uint32_t *gid)
{
    return resolve(r, v, 1, gid);
}

/* ---- one rule ---- */

static const char *const scope_keys[] = {
    [CONFIG_WRITERS_FAMILY] = "family",
    [CONFIG_WRITERS_PREFIX] = "prefix",
    [CONFIG_WRITERS_JOB] = "job",
    [CONFIG_WRITERS_JOB_PREFIX] = "job_prefix",
};

static int cmp_id(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* "users" or "groups": an array of names or ids, stored sorted. */
static int read_ids(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                    void *base)
{
    struct config_writers *w = base;
    int group = strcmp(k->name, "groups") == 0;
    uint32_t **ids = group ? &w->gids : &w->uids, *raw;
    size_t *n = group ? &w->ngids : &w->nuids;
    size_t old, i;
    int rc = 0;

    (void)obj;
    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, k->name);
    if (!json_is_array(v))
        return cfgread_fail(r, "expected an array of %s names or %cids, got %s",
                            group ? "group" : "user", group ? 'g' : 'u', cfgread_type_name(v));
    *n = json_array_size(v);
    *ids = mem_calloc(*n + 1, sizeof(**ids));
    for (i = 0; i < *n; i++) {
        size_t oi = cfgread_push_index(r, i);

        if (resolve(r, json_array_get(v, i), group, &(*ids)[i]) < 0)
            return ERRCODE_CONFIG;
        cfgread_pop(r, oi);
    }
    /* "root" and 0 are one user: duplicates are found among the ids, not the names. */
    raw = mem_alloc((*n + 1) * sizeof(*raw));
    memcpy(raw, *ids, *n * sizeof(*raw));
    qsort(*ids, *n, sizeof(**ids), cmp_id);
    for (i = 1; i < *n && (*ids)[i] != (*ids)[i - 1]; i++)
        ;
    if (i < *n) {
        size_t a = 0, b;

        while (raw[a] != (*ids)[i])
            a++;
        for (b = a + 1; raw[b] != raw[a]; b++)
            ;
        cfgread_push_index(r, b);
        rc = cfgread_fail(r, "%s %u again: it is also %s[%zu]", group ? "gid" : "uid",
                          (unsigned)raw[a], k->name, a);
    } else {
        cfgread_pop(r, old);
    }
    free(raw);
    return rc;
}

/* Whether some family (file families only) or job starts with prefix p of len bytes. */
static int prefix_matches(const struct config *c, int jobs, const char *p, size_t len)
{
    if (jobs) {
        for (size_t i = 0; i < c->njobs; i++)
            if (strncmp(c->jobs[i].name, p, len) == 0)
                return 1;
        return 0;
    }
    for (size_t i = 0; i < c->nfamilies; i++)
        if (!c->families[i].client_telemetry && strncmp(c->families[i].name, p, len) == 0)
            return 1;
    return 0;
}

/* Bytes a name may hold, as a line sends it (PROTOCOL.md "Names"). */
static int name_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

/* "family", "prefix", "job" or "job_prefix": what the rule names. */
static int read_target(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    const struct config *c = r->root;
    struct config_writers *w = base;
    enum config_writers_scope scope = CONFIG_WRITERS_FAMILY;
    char q[260], norm[STATSD_MAX_NAME];
    const char *s;
    size_t len;
    long i;

    (void)obj;
    if (v == NULL)
        return 0;
    while (strcmp(scope_keys[scope], k->name) != 0)
        scope++;
    if (w->name != NULL)
        return cfgread_fail_at(r, k->name,
                               "the rule also names %s \"%s\": a rule names exactly one of "
                               "family, prefix, job and job_prefix",
                               scope_keys[w->scope], w->name);
    if (!json_is_string(v))
        return cfgread_fail_at(r, k->name, "expected a string, got %s", cfgread_type_name(v));
    s = json_string_value(v);
    len = json_string_length(v);
    w->scope = scope;
    switch (scope) {
    case CONFIG_WRITERS_FAMILY:
        i = strlen(s) == len ? config_find_family(c, s, len) : ERRCODE_UNKNOWN;
        if (i < 0 || c->families[i].client_telemetry)
            return cfgread_fail_at(r, k->name, "no family \"%s\" in $.families",
                                   cfgread_shown(q, s, len));
        w->name = mem_strdup(c->families[i].name);
        return 0;
    case CONFIG_WRITERS_JOB:
        if (strlen(s) != len || config_find_job(c, s, len) < 0)
            return cfgread_fail_at(r, k->name, "no job \"%s\" in $.jobs.list",
                                   cfgread_shown(q, s, len));
        w->name = mem_strdup(s);
        return 0;
    case CONFIG_WRITERS_PREFIX:
    case CONFIG_WRITERS_JOB_PREFIX:
        break;
    }
    if (len > STATSD_MAX_NAME || !name_chars(s, len))
        return cfgread_fail_at(r, k->name,
                               "\"%s\" is not the start of a name: [A-Za-z0-9_.-], at most %d "
                               "bytes",
                               cfgread_shown(q, s, len), STATSD_MAX_NAME);
    if (scope == CONFIG_WRITERS_PREFIX) {
        /* Family names are stored normalised: "app.db-" guards what "app_db_" names. */
        for (size_t j = 0; j < len; j++)
            norm[j] = statsd_normalize_char(s[j]);
        s = norm;
    }
    if (!prefix_matches(c, scope == CONFIG_WRITERS_JOB_PREFIX, s, len))
        return cfgread_fail_at(r, k->name, "\"%s\" is the start of no %s", cfgread_shown(q, s, len),
                               scope == CONFIG_WRITERS_PREFIX ? "family in $.families"
                                                              : "job in $.jobs.list");
    w->name = mem_strndup(s, len);
    return 0;
}

static const struct cfgread_key rule_keys[] = {
    { .name = "family", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_target },
    { .name = "prefix", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_target },
    { .name = "job", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_target },
    { .name = "job_prefix", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_target },
    { .name = "users", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_ids },
    { .name = "groups", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_ids },
    { .name = "unauthenticated",
      .kind = CFGREAD_BOOL,
      .off = offsetof(struct config_writers, unauthenticated) },
};

/* ---- the section ---- */

int cfgwriters_read(struct cfgread *r, struct config *c, json_t *arr)
{
    size_t old = cfgread_push_key(r, "writers");

    if (!json_is_array(arr))
        return cfgread_fail(r, "expected an array of rule objects, got %s", cfgread_type_name(arr));
    c->nwriters = json_array_size(arr);
    c->writers = mem_calloc(c->nwriters + 1, sizeof(*c->writers));
    for (size_t i = 0; i < c->nwriters; i++) {
        struct config_writers *w = &c->writers[i];
        size_t oi = cfgread_push_index(r, i);

        if (cfgread_section(r, json_array_get(arr, i), rule_keys, ARRAY_SIZE(rule_keys), w) < 0)
            return ERRCODE_CONFIG;
        if (w->name == NULL)
            return cfgread_fail(r, "names nothing: give one of family, prefix, job and "
                                   "job_prefix");
        if (w->nuids == 0 && w->ngids == 0 && !w->unauthenticated)
            return cfgread_fail(r, "allows no sender: give users, groups or "
                                   "\"unauthenticated\": true");
        for (size_t j = 0; j < i; j++)
            if (c->writers[j].scope == w->scope && strcmp(c->writers[j].name, w->name) == 0)
                return cfgread_fail_at(r, scope_keys[w->scope],
                                       "\"%s\" has a rule already: $.writers[%zu]", w->name, j);
        cfgread_pop(r, oi);
    }
    cfgread_pop(r, old);
    return 0;
}

/* The most specific rule for name among the rules of scope exact and its prefix scope. */
static const struct config_writers *rule_for(const struct config *c, const char *name,
                                             enum config_writers_scope exact,
                                             enum config_writers_scope prefix)
{
    const struct config_writers *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < c->nwriters; i++) {
        const struct config_writers *w = &c->writers[i];
        size_t len = strlen(w->name);

        if (w->scope == exact && strcmp(w->name, name) == 0)
            return w;
        if (w->scope == prefix && strncmp(w->name, name, len) == 0 &&
            (best == NULL || len > best_len)) {
            best = w;
            best_len = len;
        }
    }
    return best;
}

void cfgwriters_assign(struct config *c)
{
    for (size_t i = 0; i < c->nfamilies; i++)
        c->families[i].writers =
            rule_for(c, c->families[i].name, CONFIG_WRITERS_FAMILY, CONFIG_WRITERS_PREFIX);
    for (size_t i = 0; i < c->njobs; i++)
        c->jobs[i].writers =
            rule_for(c, c->jobs[i].name, CONFIG_WRITERS_JOB, CONFIG_WRITERS_JOB_PREFIX);
}

void cfgwriters_release(struct config *c)
{
    for (size_t i = 0; i < c->nwriters; i++) {
        free(c->writers[i].name);
        free(c->writers[i].uids);
        free(c->writers[i].gids);
    }
    free(c->writers);
    c->writers = NULL;
    c->nwriters = 0;
}

size_t cfgwriters_guarded_families(const struct config *c)
{
    size_t n = 0;

    for (size_t i = 0; i < c->nfamilies; i++)
        n += !c->families[i].client_telemetry && c->families[i].writers != NULL;
    return n;
}

size_t cfgwriters_guarded_jobs(const struct config *c)
{
    size_t n = 0;

    for (size_t i = 0; i < c->njobs; i++)
        n += c->jobs[i].writers != NULL;
    return n;
}
