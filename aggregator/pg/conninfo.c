#include "pg/conninfo.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/errcode.h"
#include "base/mem.h"

/*
 * A host entry keeps the loop non-blocking if it is a Unix-socket directory, an abstract
 * socket ("@name"), empty (the default socket directory) or an IP literal. host may list
 * several entries separated by commas.
 */
static int host_needs_dns(const char *host)
{
    const char *p = host;

    while (1) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char one[256];
        unsigned char addr[16];

        if (len > 0 && p[0] != '/' && p[0] != '@') {
            if (len >= sizeof(one))
                return 1;
            memcpy(one, p, len);
            one[len] = '\0';
            if (inet_pton(AF_INET, one, addr) != 1 && inet_pton(AF_INET6, one, addr) != 1)
                return 1;
        }
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

/*
 * libpq's parse message may quote a fragment of the conninfo, password included, so it
 * is never shown. Only the name of an unknown keyword is taken from it, and only when
 * it looks like a keyword: libpq writes `invalid connection option "name"` or, for a
 * URI, `invalid URI query parameter: "name"`.
 */
static void unknown_keyword(const char *msg, char *out, size_t outlen)
{
    static const char *const forms[] = { "invalid connection option \"",
                                         "invalid URI query parameter: \"" };
    size_t i, n;

    out[0] = '\0';
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const char *p = strstr(msg, forms[i]);

        if (p == NULL)
            continue;
        p += strlen(forms[i]);
        for (n = 0; p[n] != '"' && n + 1 < outlen; n++)
            if (!((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_'))
                return;
        if (p[n] != '"' || n == 0)
            return;
        memcpy(out, p, n);
        out[n] = '\0';
        return;
    }
}

/*
 * Parse and vet cfg's conninfo. Returns the parsed options (the caller frees them with
 * PQconninfoFree) or NULL with a message in err.
 */
static PQconninfoOption *parse_conninfo(const struct config *cfg, char *err, size_t errlen)
{
    PQconninfoOption *opts, *o;
    char *msg = NULL;
    const char *file = cfg->path ? cfg->path : "";
    const char *host = NULL, *hostaddr = NULL, *from = "";
    char kw[48];

    opts = PQconninfoParse(cfg->pg_conninfo ? cfg->pg_conninfo : "", &msg);
    if (opts == NULL) {
        if (msg == NULL) {
            snprintf(err, errlen, "%s: $.postgres.conninfo: out of memory while parsing", file);
            return NULL;
        }
        unknown_keyword(msg, kw, sizeof(kw));
        PQfreemem(msg);
        if (kw[0] != '\0')
            snprintf(err, errlen, "%s: $.postgres.conninfo: unknown keyword \"%s\"", file, kw);
        else
            snprintf(err, errlen,
                     "%s: $.postgres.conninfo: cannot be parsed by libpq (its message is "
                     "withheld: it may quote secrets)",
                     file);
        return NULL;
    }
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
    }
    if (host == NULL && (host = getenv("PGHOST")) != NULL)
        from = " (from PGHOST)";
    if (hostaddr == NULL)
        hostaddr = getenv("PGHOSTADDR");
    if ((hostaddr == NULL || hostaddr[0] == '\0') && host != NULL && host_needs_dns(host)) {
        snprintf(err, errlen,
                 "%s: $.postgres.conninfo: host \"%.64s\"%s is a name: resolving it would block "
                 "the loop; give an IP address, a socket directory, or hostaddr= as well",
                 file, host, from);
        PQconninfoFree(opts);
        return NULL;
    }
    return opts;
}

int conninfo_check(const struct config *cfg, char *err, size_t errlen)
{
    PQconninfoOption *opts;

    if (errlen > 0)
        err[0] = '\0';
    if (!cfg->has_postgres)
        return 0;
    opts = parse_conninfo(cfg, err, errlen);
    if (opts == NULL)
        return ERRCODE_CONFIG;
    PQconninfoFree(opts);
    return 0;
}

static int skipped(const PQconninfoOption *o)
{
    return o->val == NULL || o->val[0] == '\0';
}

static void add_param(struct conninfo_params *p, size_t *k, const char *key, const char *val)
{
    p->keys[*k] = mem_strdup(key);
    p->vals[(*k)++] = mem_strdup(val);
}

int conninfo_params_init(struct conninfo_params *p, const struct config *cfg,
                         long session_timeout_ms, char *err, size_t errlen)
{
    PQconninfoOption *opts, *o;
    const char *user_opts = NULL;
    size_t n = 0, k = 0;
    struct buf b = BUF_INIT;

    memset(p, 0, sizeof(*p));
    opts = parse_conninfo(cfg, err, errlen);
    if (opts == NULL)
        return ERRCODE_CONFIG;
    for (o = opts; o->keyword != NULL; o++) {
        if (skipped(o))
            continue;
        if (strcmp(o->keyword, "options") == 0)
            user_opts = o->val;
        n++;
    }
    buf_addf(&b, "%s%s-c default_transaction_read_only=on -c statement_timeout=%ld",
             user_opts ? user_opts : "", user_opts ? " " : "", session_timeout_ms);
    p->options = buf_detach(&b, NULL);
    p->keys = mem_calloc(n + 4, sizeof(*p->keys));
    p->vals = mem_calloc(n + 4, sizeof(*p->vals));
    for (o = opts; o->keyword != NULL; o++)
        if (!skipped(o) && strcmp(o->keyword, "options") != 0 &&
            strcmp(o->keyword, "client_encoding") != 0)
            add_param(p, &k, o->keyword, o->val);
    add_param(p, &k, "options", p->options);
    add_param(p, &k, "client_encoding", "UTF8");
    add_param(p, &k, "fallback_application_name", "ustatsd");
    PQconninfoFree(opts);
    return 0;
}

void conninfo_params_release(struct conninfo_params *p)
{
    size_t i;

    if (p->keys != NULL) {
        for (i = 0; p->keys[i] != NULL; i++) {
            free((char *)p->keys[i]);
            free((char *)p->vals[i]);
        }
    }
    free(p->keys);
    free(p->vals);
    free(p->options);
    memset(p, 0, sizeof(*p));
}

static long seconds_to_ms(double s, double dflt)
{
    if (!(s > 0))
        s = dflt;
    if (s > 86400.0)
        s = 86400.0;
    return (long)llround(s * 1000.0) > 0 ? (long)llround(s * 1000.0) : 1;
}

long conninfo_session_timeout_ms(const struct config *cfg)
{
    /* 0 disables the server-side limit; the daemon's loop-side deadlines remain. */
    return cfg->pg_statement_timeout > 0 ? seconds_to_ms(cfg->pg_statement_timeout, 0) : 0;
}

uint64_t conninfo_connect_timeout_ms(const struct config *cfg)
{
    return (uint64_t)seconds_to_ms(cfg->pg_connect_timeout, CONFIG_DEFAULT_PG_CONNECT_TIMEOUT);
}

long conninfo_query_timeout_ms(const struct config *cfg, const struct config_sql_metric *m)
{
    long t = seconds_to_ms(m->timeout_seconds, CONFIG_DEFAULT_SQL_TIMEOUT);
    long session = conninfo_session_timeout_ms(cfg);

    return session > 0 && session < t ? session : t;
}
