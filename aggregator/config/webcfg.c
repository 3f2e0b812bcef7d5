#include "config/webcfg.h"
#include "config/cfgread.h"
#include "base/path.h"
#include "base/common.h"
#include "base/errcode.h"
#include "base/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/tls1.h>
#include <yaml.h>

/*
 * The file is read with libyaml's document loader, then walked against the schema of
 * exporter-toolkit's web config (docs/web-configuration.md there). As there (Go's
 * yaml.UnmarshalStrict), an unknown key or a duplicate one is an error; a null value is
 * the same as an absent one. Unlike there, every value is checked here, at load, so that
 * a reload with a mistake in it is refused whole instead of failing at the first request:
 * bcrypt hashes are checked for their form, and a header value for its characters.
 */

#define PEM_MAX_SIZE ((size_t)1 << 20) /* a certificate chain, key or CA bundle file */
#define KEY_MAX      128               /* the dotted key of a message */

struct walk {
    const char *name; /* the file, for messages */
    const char *dir;  /* relative file names are read from here; NULL: the working directory */
    yaml_document_t *doc;
    char *err;
    size_t errlen;
};

static int fail(struct walk *w, const yaml_node_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct walk *w, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (w->errlen == 0)
        return ERRCODE_CONFIG;
    if (n != NULL)
        snprintf(w->err, w->errlen, "%s:%zu:%zu: %s: %s", w->name, n->start_mark.line + 1,
                 n->start_mark.column + 1, key, msg);
    else
        snprintf(w->err, w->errlen, "%s: %s: %s", w->name, key, msg);
    return ERRCODE_CONFIG;
}

static yaml_node_t *node(struct walk *w, int id)
{
    return yaml_document_get_node(w->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain null (~, null, or nothing at all) reads as absent, as in Go's yaml. */
static int is_null(const yaml_node_t *n)
{
    const char *s;

    if (n == NULL)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    s = scalar(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a string";
    }
}

/* A string value: any scalar, as Go reads a number or a word into a string field. */
static int get_string(struct walk *w, const yaml_node_t *n, const char *key, char **out)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(w, n, key, "expected a string, got %s", kind_name(n));
    if (strlen(scalar(n)) != n->data.scalar.length)
        return fail(w, n, key, "holds a NUL byte");
    free(*out);
    *out = mem_strdup(scalar(n));
    return 0;
}

/* YAML 1.1's booleans, as go-yaml v2 reads them. */
static int get_bool(struct walk *w, const yaml_node_t *n, const char *key, int *out)
{
    static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
                                       "on",   "On",   "ON",   "y",   "Y" };
    static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO",
                                      "off",   "Off",   "OFF",   "n",  "N" };

    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
            if (strcmp(scalar(n), yes[i]) == 0) {
                *out = 1;
                return 0;
            }
            if (strcmp(scalar(n), no[i]) == 0) {
                *out = 0;
                return 0;
            }
        }
    }
    return fail(w, n, key, "expected true or false, got %s",
                n->type == YAML_SCALAR_NODE ? scalar(n) : kind_name(n));
}

/* A list of strings; a null list is empty. */
static int get_strings(struct walk *w, const yaml_node_t *n, const char *key, char ***out,
                       size_t *count)
{
    size_t len;

    if (n->type != YAML_SEQUENCE_NODE)
        return fail(w, n, key, "expected a list of strings, got %s", kind_name(n));
    len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = mem_calloc(len ? len : 1, sizeof(**out));
    *count = len;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = node(w, n->data.sequence.items.start[i]);
        char k[KEY_MAX];

        snprintf(k, sizeof(k), "%s[%zu]", key, i);
        if (item == NULL || is_null(item))
            return fail(w, item, k, "must not be empty");
        if (get_string(w, item, k, &(*out)[i]) != 0)
            return ERRCODE_CONFIG;
        if ((*out)[i][0] == '\0')
            return fail(w, item, k, "must not be empty");
    }
    return 0;
}

/*
 * Walk a mapping: cb(w, key, value, arg) for each pair whose value is not null. Keys must
 * be strings, each once. Returns 0 or -1.
 */
typedef int (*pair_cb)(struct walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);

static int each_pair(struct walk *w, const yaml_node_t *map, const char *where, pair_cb cb,
                     void *arg)
{
    const yaml_node_pair_t *p, *q;

    if (map->type != YAML_MAPPING_NODE)
        return fail(w, map, where, "expected a mapping, got %s", kind_name(map));
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(w, p->key), *v = node(w, p->value);

        if (k == NULL || k->type != YAML_SCALAR_NODE)
            return fail(w, k, where, "keys must be strings");
        for (q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = node(w, q->key);

            if (k2 != NULL && k2->type == YAML_SCALAR_NODE && strcmp(scalar(k2), scalar(k)) == 0)
                return fail(w, k, where, "duplicate key \"%s\"", scalar(k));
        }
        if (is_null(v))
            continue;
        if (cb(w, scalar(k), k, v, arg) != 0)
            return ERRCODE_CONFIG;
    }
    return 0;
}

static void join(char *out, size_t len, const char *a, const char *b)
{
    snprintf(out, len, "%s.%s", a, b);
}

/* ---- files ---- */

/* Read a PEM file named by key into *pem, relative to the web config's directory. */
static int read_pem(struct walk *w, const yaml_node_t *n, const char *key, const char *file,
                    char **pem)
{
    char path[PATH_MAX];
    size_t len;
    int rc;

    if (file[0] == '/' || w->dir == NULL)
        snprintf(path, sizeof(path), "%s", file);
    else
        snprintf(path, sizeof(path), "%s/%s", w->dir, file);
    rc = path_read_file(path, PEM_MAX_SIZE, pem, &len);
    if (rc != 0)
        return rc == -EFBIG ? fail(w, n, key, "%s: larger than %zu bytes", path, PEM_MAX_SIZE)
                            : fail(w, n, key, "%s: %s", path, errcode_str(rc));
    if (strlen(*pem) != len)
        return fail(w, n, key, "%s: holds a NUL byte: not a PEM file", path);
    if (len == 0)
        return fail(w, n, key, "%s: empty", path);
    return 0;
}

/* ---- tls_server_config ---- */

struct tls_read {
    struct webcfg_tls *t;
    char *cert_file, *key_file, *ca_file; /* as written */
    const yaml_node_t *cert_file_n, *key_file_n, *ca_file_n;
    const yaml_node_t *cert_n, *key_n, *ca_n, *auth_n, *sans_n, *min_n, *max_n;
    int has_auth;
};

static const char *const auth_names[] = {
    [WEBCFG_NO_CLIENT_CERT] = "NoClientCert",
    [WEBCFG_REQUEST_CLIENT_CERT] = "RequestClientCert",
    [WEBCFG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
    [WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
    [WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

static const struct {
    const char *name;
    int version;
} versions[] = {
    { "TLS10", TLS1_VERSION },
    { "TLS11", TLS1_1_VERSION },
    { "TLS12", TLS1_2_VERSION },
    { "TLS13", TLS1_3_VERSION },
};

/* The suites Go's tls.CipherSuites() lists, which exporter-toolkit accepts. */
static const char *const cipher_names[] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
};

static const char *const curve_names[] = { "CurveP256", "CurveP384", "CurveP521", "X25519" };

static int get_version(struct walk *w, const yaml_node_t *n, const char *key, int *out)
{
    if (n->type == YAML_SCALAR_NODE)
        for (size_t i = 0; i < ARRAY_SIZE(versions); i++)
            if (strcmp(scalar(n), versions[i].name) == 0) {
                *out = versions[i].version;
                return 0;
            }
    return fail(w, n, key, "\"%s\" is not one of TLS10, TLS11, TLS12, TLS13",
                n->type == YAML_SCALAR_NODE ? scalar(n) : kind_name(n));
}

/* Each item of list must be one of names. */
static int check_names(struct walk *w, const yaml_node_t *n, const char *key, char **list,
                       size_t count, const char *const *names, size_t nnames, const char *what)
{
    for (size_t i = 0; i < count; i++) {
        size_t j = 0;
        char k[KEY_MAX];

        while (j < nnames && strcmp(list[i], names[j]) != 0)
            j++;
        snprintf(k, sizeof(k), "%s[%zu]", key, i);
        if (j == nnames)
            return fail(w, node(w, n->data.sequence.items.start[i]), k,
                        "\"%s\" is not %s that Go's crypto/tls knows", list[i], what);
        for (j = 0; j < i; j++)
            if (strcmp(list[i], list[j]) == 0)
                return fail(w, node(w, n->data.sequence.items.start[i]), k,
                            "\"%s\" is listed twice", list[i]);
    }
    return 0;
}

static int tls_pair(struct walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct tls_read *r = arg;
    struct webcfg_tls *t = r->t;
    char full[KEY_MAX];

    (void)k;
    join(full, sizeof(full), "tls_server_config", key);
    if (strcmp(key, "cert_file") == 0) {
        r->cert_file_n = v;
        return get_string(w, v, full, &r->cert_file);
    }
    if (strcmp(key, "key_file") == 0) {
        r->key_file_n = v;
        return get_string(w, v, full, &r->key_file);
    }
    if (strcmp(key, "client_ca_file") == 0) {
        r->ca_file_n = v;
        return get_string(w, v, full, &r->ca_file);
    }
    if (strcmp(key, "cert") == 0) {
        r->cert_n = v;
        return get_string(w, v, full, &t->cert_pem);
    }
    if (strcmp(key, "key") == 0) {
        r->key_n = v;
        return get_string(w, v, full, &t->key_pem);
    }
    if (strcmp(key, "client_ca") == 0) {
        r->ca_n = v;
        return get_string(w, v, full, &t->client_ca_pem);
    }
    if (strcmp(key, "client_auth_type") == 0) {
        r->auth_n = v;
        if (v->type == YAML_SCALAR_NODE)
            for (size_t i = 0; i < ARRAY_SIZE(auth_names); i++)
                if (strcmp(scalar(v), auth_names[i]) == 0) {
                    t->client_auth = (enum webcfg_client_auth)i;
                    r->has_auth = 1;
                    return 0;
                }
        return fail(w, v, full,
                    "\"%s\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                    "VerifyClientCertIfGiven, RequireAndVerifyClientCert",
                    v->type == YAML_SCALAR_NODE ? scalar(v) : kind_name(v));
    }
    if (strcmp(key, "client_allowed_sans") == 0) {
        r->sans_n = v;
        return get_strings(w, v, full, &t->client_allowed_sans, &t->nclient_allowed_sans);
    }
    if (strcmp(key, "min_version") == 0) {
        r->min_n = v;
        return get_version(w, v, full, &t->min_version);
    }
    if (strcmp(key, "max_version") == 0) {
        r->max_n = v;
        return get_version(w, v, full, &t->max_version);
    }
    if (strcmp(key, "cipher_suites") == 0)
        return get_strings(w, v, full, &t->cipher_suites, &t->ncipher_suites) ||
               check_names(w, v, full, t->cipher_suites, t->ncipher_suites, cipher_names,
                           ARRAY_SIZE(cipher_names), "a cipher suite");
    if (strcmp(key, "prefer_server_cipher_suites") == 0)
        return get_bool(w, v, full, &t->prefer_server_cipher_suites);
    if (strcmp(key, "curve_preferences") == 0)
        return get_strings(w, v, full, &t->curve_preferences, &t->ncurve_preferences) ||
               check_names(w, v, full, t->curve_preferences, t->ncurve_preferences, curve_names,
                           ARRAY_SIZE(curve_names), "a curve");
    return fail(w, k, "tls_server_config", "unknown key \"%s\"", key);
}

/* One PEM from a file or inline: at most one of the two. */
static int pem_source(struct walk *w, const char *inline_key, const yaml_node_t *inline_n,
                      const char *file_key, const char *file, const yaml_node_t *file_n, char **pem,
                      char **origin)
{
    char k[KEY_MAX];

    if (inline_n != NULL && file != NULL) {
        join(k, sizeof(k), "tls_server_config", file_key);
        return fail(w, file_n, k, "give %s or %s, not both", file_key, inline_key);
    }
    if (file != NULL) {
        join(k, sizeof(k), "tls_server_config", file_key);
        if (file[0] == '\0')
            return fail(w, file_n, k, "must not be empty");
        if (read_pem(w, file_n, k, file, pem) != 0)
            return ERRCODE_CONFIG;
        *origin = mem_strdup(file);
    } else if (inline_n != NULL) {
        join(k, sizeof(k), "tls_server_config", inline_key);
        if ((*pem)[0] == '\0')
            return fail(w, inline_n, k, "must not be empty");
        *origin = mem_strdup(k);
    }
    return 0;
}

static int read_tls(struct walk *w, const yaml_node_t *n, struct webcfg_tls *t)
{
    struct tls_read r = { .t = t };
    int rc = ERRCODE_CONFIG;
    const char *any = NULL;

    t->min_version = TLS1_2_VERSION;
    t->max_version = TLS1_3_VERSION;
    t->prefer_server_cipher_suites = 1;
    if (n == NULL)
        return 0;
    if (each_pair(w, n, "tls_server_config", tls_pair, &r) != 0)
        goto out;
    if (pem_source(w, "cert", r.cert_n, "cert_file", r.cert_file, r.cert_file_n, &t->cert_pem,
                   &t->cert_origin) != 0 ||
        pem_source(w, "key", r.key_n, "key_file", r.key_file, r.key_file_n, &t->key_pem,
                   &t->key_origin) != 0 ||
        pem_source(w, "client_ca", r.ca_n, "client_ca_file", r.ca_file, r.ca_file_n,
                   &t->client_ca_pem, &t->client_ca_origin) != 0)
        goto out;

    /* As exporter-toolkit: a section that sets nothing of substance means plain HTTP. */
    any = t->cert_pem        ? "cert_file"
          : t->key_pem       ? "key_file"
          : r.has_auth       ? "client_auth_type"
          : t->client_ca_pem ? "client_ca_file"
                             : NULL;
    if (any == NULL) {
        rc = 0;
        goto out;
    }
    if (t->cert_pem == NULL) {
        rc = fail(w, n, "tls_server_config", "missing cert_file (or cert)");
        goto out;
    }
    if (t->key_pem == NULL) {
        rc = fail(w, n, "tls_server_config", "missing key_file (or key)");
        goto out;
    }
    switch (t->client_auth) {
    case WEBCFG_NO_CLIENT_CERT:
        if (t->client_ca_pem != NULL) {
            rc = fail(w, r.ca_file_n ? r.ca_file_n : r.ca_n, "tls_server_config.client_ca_file",
                      "a client CA is set but client_auth_type is NoClientCert: set "
                      "client_auth_type to RequireAndVerifyClientCert to use it");
            goto out;
        }
        break;
    case WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN:
    case WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT:
        if (t->client_ca_pem == NULL) {
            rc = fail(w, r.auth_n, "tls_server_config.client_auth_type",
                      "%s needs client_ca_file (or client_ca) to verify client certificates with",
                      auth_names[t->client_auth]);
            goto out;
        }
        break;
    default:
        break;
    }
    if (t->nclient_allowed_sans > 0 && t->client_auth != WEBCFG_REQUIRE_ANY_CLIENT_CERT &&
        t->client_auth != WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT) {
        rc = fail(w, r.sans_n, "tls_server_config.client_allowed_sans",
                  "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert, "
                  "which make a client send a certificate to match");
        goto out;
    }
    if (t->min_version > t->max_version) {
        rc = fail(w, r.min_n ? r.min_n : r.max_n, "tls_server_config.min_version",
                  "is above max_version");
        goto out;
    }
    t->enabled = 1;
    rc = 0;
out:
    free(r.cert_file);
    free(r.key_file);
    free(r.ca_file);
    return rc;
}

/* ---- http_server_config ---- */

/* The headers exporter-toolkit lets a file add, and the values it allows ("" any). */
static const struct {
    const char *name;
    const char *values; /* '|'-separated, compared case-insensitively; NULL: any */
} header_names[] = {
    { "Strict-Transport-Security", NULL },    { "X-Content-Type-Options", "nosniff" },
    { "X-Frame-Options", "deny|sameorigin" }, { "X-XSS-Protection", NULL },
    { "Content-Security-Policy", NULL },
};

static int value_allowed(const char *values, const char *v)
{
    size_t n = strlen(v);

    for (const char *p = values; p != NULL; p = strchr(p, '|'), p = p ? p + 1 : NULL) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len == n && strncasecmp(p, v, n) == 0)
            return 1;
    }
    return 0;
}

static int header_pair(struct walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct webcfg *c = arg;
    char full[KEY_MAX], *value = NULL;
    size_t i = 0;

    snprintf(full, sizeof(full), "http_server_config.headers.%s", key);
    while (i < ARRAY_SIZE(header_names) && strcmp(key, header_names[i].name) != 0)
        i++;
    if (i == ARRAY_SIZE(header_names))
        return fail(w, k, "http_server_config.headers",
                    "\"%s\" can not be configured: only Strict-Transport-Security, "
                    "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection and "
                    "Content-Security-Policy can",
                    key);
    if (get_string(w, v, full, &value) != 0)
        return ERRCODE_CONFIG;
    /* A value goes into every response head: a control byte there would split it. */
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < ' ' && *p != '\t') || *p == 0x7f) {
            free(value);
            return fail(w, v, full, "holds a control character");
        }
    if (value[0] == '\0') { /* "Unset if blank" */
        free(value);
        return 0;
    }
    if (header_names[i].values != NULL && !value_allowed(header_names[i].values, value)) {
        fail(w, v, full, "\"%s\" is not one of %s", value, header_names[i].values);
        free(value);
        return ERRCODE_CONFIG;
    }
    c->headers = mem_realloc(c->headers, (c->nheaders + 1) * sizeof(*c->headers));
    c->headers[c->nheaders].name = mem_strdup(header_names[i].name);
    c->headers[c->nheaders].value = value;
    c->nheaders++;
    return 0;
}

static int http_pair(struct walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    int http2;

    if (strcmp(key, "http2") == 0)
        return get_bool(w, v, "http_server_config.http2", &http2); /* HTTP/1.1 is served */
    if (strcmp(key, "headers") == 0)
        return each_pair(w, v, "http_server_config.headers", header_pair, arg);
    return fail(w, k, "http_server_config", "unknown key \"%s\"", key);
}

/* ---- basic_auth_users ---- */

/* bcrypt's own form: $2a$, $2b$ or $2y$, a two-digit cost 04-31, 53 characters of ./A-Za-z0-9. */
static const char *bcrypt_problem(const char *h)
{
    static const char alphabet[] =
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int cost;

    if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || strchr("aby", h[2]) == NULL ||
        h[2] == '\0' || h[3] != '$' || h[6] != '$')
        return "is not a bcrypt hash ($2y$10$ and 53 more characters, as htpasswd -B writes)";
    if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
        return "is not a bcrypt hash: the cost is not two digits";
    cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return "is not a bcrypt hash: the cost must be 04 to 31";
    for (size_t i = 7; i < 60; i++)
        if (strchr(alphabet, h[i]) == NULL)
            return "is not a bcrypt hash: a character outside ./A-Za-z0-9";
    return NULL;
}

static int user_pair(struct walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct webcfg *c = arg;
    char full[KEY_MAX], *hash = NULL;
    const char *why;

    snprintf(full, sizeof(full), "basic_auth_users.%s", key);
    if (key[0] == '\0' || strchr(key, ':') != NULL)
        return fail(w, k, "basic_auth_users", "user \"%s\": a name must be non-empty, without ':'",
                    key);
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p < ' ' || *p == 0x7f)
            return fail(w, k, "basic_auth_users", "a user name holds a control character");
    if (strlen(key) != k->data.scalar.length)
        return fail(w, k, "basic_auth_users", "a user name holds a NUL byte");
    if (get_string(w, v, full, &hash) != 0)
        return ERRCODE_CONFIG;
    why = bcrypt_problem(hash);
    if (why != NULL) {
        free(hash);
        return fail(w, v, full, "%s", why);
    }
    c->users = mem_realloc(c->users, (c->nusers + 1) * sizeof(*c->users));
    c->users[c->nusers].name = mem_strdup(key);
    c->users[c->nusers].hash = hash;
    c->nusers++;
    return 0;
}

static int cmp_user(const void *a, const void *b)
{
    return strcmp(((const struct webcfg_user *)a)->name, ((const struct webcfg_user *)b)->name);
}

/* ---- the file ---- */

struct top {
    struct webcfg *c;
    yaml_node_t *tls;
};

static int top_pair(struct walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct top *t = arg;

    if (strcmp(key, "tls_server_config") == 0) {
        t->tls = v;
        return 0;
    }
    if (strcmp(key, "http_server_config") == 0)
        return each_pair(w, v, "http_server_config", http_pair, t->c);
    if (strcmp(key, "basic_auth_users") == 0)
        return each_pair(w, v, "basic_auth_users", user_pair, t->c);
    if (strcmp(key, "rate_limit") == 0)
        return fail(w, k, "rate_limit", "is not supported by ustatsd; remove it");
    return fail(w, k, "(top level)", "unknown key \"%s\"", key);
}

static int parse(struct webcfg *c, const char *text, size_t len, const char *name, const char *dir,
                 char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct walk w = { .name = name, .dir = dir, .doc = &doc, .err = err, .errlen = errlen };
    struct top top = { .c = c };
    yaml_node_t *root;
    int rc = ERRCODE_CONFIG;

    memset(c, 0, sizeof(*c));
    c->path = mem_strdup(name);
    if (errlen > 0)
        err[0] = '\0';
    if (!yaml_parser_initialize(&parser)) {
        fail(&w, NULL, "(file)", "out of memory");
        goto done_parser;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        if (errlen > 0)
            snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
                     parser.problem_mark.column + 1, parser.problem ? parser.problem : "bad YAML",
                     parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        goto done_parser;
    }
    root = yaml_document_get_root_node(&doc);
    if (root != NULL && !is_null(root)) {
        yaml_event_t ev;

        /* A second document would be ignored silently by a naive reader. */
        if (!yaml_parser_parse(&parser, &ev)) {
            fail(&w, NULL, "(file)", "bad YAML after the first document: %s",
                 parser.problem ? parser.problem : "?");
            goto done;
        }
        if (ev.type != YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            fail(&w, NULL, "(file)", "holds more than one YAML document");
            goto done;
        }
        yaml_event_delete(&ev);
        if (each_pair(&w, root, "(top level)", top_pair, &top) != 0)
            goto done;
    }
    if (read_tls(&w, top.tls, &c->tls) != 0)
        goto done;
    if (c->nusers > 1)
        qsort(c->users, c->nusers, sizeof(*c->users), cmp_user);
    rc = 0;
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
done_parser:
    if (rc != 0)
        webcfg_release(c);
    return rc;
}

int webcfg_parse(struct webcfg *w, const char *text, size_t len, const char *name, char *err,
                 size_t errlen)
{
    return parse(w, text, len, name, NULL, err, errlen);
}

/* parse() for cfgread_load(). */
static int parse_file(void *w, const char *text, size_t len, const char *name, const char *basedir,
                      char *err, size_t errlen)
{
    return parse(w, text, len, name, basedir, err, errlen);
}

int webcfg_load(struct webcfg *w, const char *path, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    return cfgread_load(w, path, WEBCFG_MAX_FILE_SIZE, "", parse_file, err, errlen);
}

void webcfg_release(struct webcfg *w)
{
    struct webcfg_tls *t = &w->tls;

    free(w->path);
    free(t->cert_pem);
    if (t->key_pem != NULL) /* a secret: not left in freed memory */
        explicit_bzero(t->key_pem, strlen(t->key_pem));
    free(t->key_pem);
    free(t->client_ca_pem);
    free(t->cert_origin);
    free(t->key_origin);
    free(t->client_ca_origin);
    cfgread_free_strings(t->client_allowed_sans, t->nclient_allowed_sans);
    cfgread_free_strings(t->cipher_suites, t->ncipher_suites);
    cfgread_free_strings(t->curve_preferences, t->ncurve_preferences);
    for (size_t i = 0; i < w->nusers; i++) {
        free(w->users[i].name);
        if (w->users[i].hash != NULL)
            explicit_bzero(w->users[i].hash, strlen(w->users[i].hash));
        free(w->users[i].hash);
    }
    free(w->users);
    for (size_t i = 0; i < w->nheaders; i++) {
        free(w->headers[i].name);
        free(w->headers[i].value);
    }
    free(w->headers);
    memset(w, 0, sizeof(*w));
}
