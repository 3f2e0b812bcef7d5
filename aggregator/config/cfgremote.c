#include "config/cfgremote.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/path.h"

/* A path as the file names it: relative ones from the config file's directory. */
static char *resolve(const struct cfgread *r, const char *file)
{
    struct buf b = BUF_INIT;

    if (file[0] != '/' && r->basedir != NULL)
        buf_addf(&b, "%s/%s", r->basedir, file);
    else
        buf_adds(&b, file);
    return b.ptr;
}

/* Read a string member that may be absent; NULL when absent. ERRCODE_CONFIG when bad. */
static int opt_string(struct cfgread *r, json_t *obj, const char *key, char **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return cfgread_fail_at(r, key, "expected a string, got %s", cfgread_type_name(v));
    if (json_string_length(v) == 0)
        return cfgread_fail_at(r, key, "must not be empty");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return cfgread_fail_at(r, key, "contains a NUL byte");
    *out = mem_strdup(json_string_value(v));
    return 0;
}

/* The bytes a file a target names may hold: a secret, a PEM bundle. */
#define MAX_FILE (1u << 20)

/* A file member: a regular file, readable, at most MAX_FILE bytes; stored resolved. */
static int opt_file(struct cfgread *r, json_t *obj, const char *key, char **out)
{
    char *given, *text;
    size_t len;
    int rc;

    if (opt_string(r, obj, key, &given) != 0)
        return ERRCODE_CONFIG;
    if (given == NULL)
        return 0;
    *out = resolve(r, given);
    free(given);
    if ((rc = path_read_file(*out, MAX_FILE, &text, &len)) != 0)
        return cfgread_fail_at(r, key, "cannot read %s: %s", *out,
                               rc == -EFBIG ? "larger than 1 MiB" : errcode_str(rc));
    free(text);
    return 0;
}

/* The file's text in a memory BIO (opt_file() checked it), or NULL. */
static BIO *file_bio(const char *path, char **text)
{
    size_t len;

    if (path_read_file(path, MAX_FILE, text, &len) != 0)
        return NULL;
    return BIO_new_mem_buf(*text, (int)len);
}

/* Keys of an object the table does not know. */
static int only_keys(struct cfgread *r, json_t *obj, const char *const *keys, size_t n)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        size_t i = 0;

        while (i < n && strcmp(keys[i], k) != 0)
            i++;
        if (i == n)
            return cfgread_fail_at(r, k, "unknown key");
    }
    return 0;
}

static int read_basic_auth(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                           void *base)
{
    static const char *const keys[] = { "username", "password", "password_file" };
    struct config_remote *t = base;
    size_t old;

    (void)obj;
    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, k->name);
    if (!json_is_object(v))
        return cfgread_fail(r,
                            "expected an object such as {\"username\": \"edge\", "
                            "\"password_file\": \"/etc/ustatsd/rw-password\"}, got %s",
                            cfgread_type_name(v));
    if (only_keys(r, v, keys, ARRAY_SIZE(keys)) != 0 ||
        opt_string(r, v, "username", &t->basic_username) != 0 ||
        opt_string(r, v, "password", &t->basic_password) != 0 ||
        opt_file(r, v, "password_file", &t->basic_password_file) != 0)
        return ERRCODE_CONFIG;
    if (t->basic_username == NULL)
        return cfgread_fail_at(r, "username", "missing");
    if ((t->basic_password == NULL) == (t->basic_password_file == NULL))
        return cfgread_fail(r, "needs exactly one of \"password\" and \"password_file\"");
    cfgread_pop(r, old);
    return 0;
}

/* What is wrong with a PEM file of certificates (at least one), or NULL. */
static const char *certs_problem(const char *path, X509 **first)
{
    char *text = NULL;
    BIO *b = file_bio(path, &text);
    X509 *x;
    int n = 0;

    if (b == NULL) {
        free(text);
        return "cannot be read";
    }
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (n++ == 0 && first != NULL)
            *first = x;
        else
            X509_free(x);
    }
    BIO_free(b);
    free(text);
    ERR_clear_error();
    return n == 0 ? "holds no PEM certificate" : NULL;
}

static int check_tls_files(struct cfgread *r, struct config_remote *t)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    const char *why;
    char *text = NULL;
    BIO *b;
    int ok;

    if (t->ca_file != NULL && (why = certs_problem(t->ca_file, NULL)) != NULL)
        return cfgread_fail_at(r, "ca_file", "%s %s", t->ca_file, why);
    if ((t->cert_file == NULL) != (t->key_file == NULL))
        return cfgread_fail(r, "\"cert_file\" and \"key_file\" go together: %s is missing",
                            t->cert_file == NULL ? "cert_file" : "key_file");
    if (t->cert_file == NULL)
        return 0;
    if ((why = certs_problem(t->cert_file, &cert)) != NULL)
        return cfgread_fail_at(r, "cert_file", "%s %s", t->cert_file, why);
    if ((b = file_bio(t->key_file, &text)) != NULL) {
        key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
    }
    free(text);
    ERR_clear_error();
    if (key == NULL) {
        X509_free(cert);
        return cfgread_fail_at(r, "key_file", "%s holds no PEM private key", t->key_file);
    }
    ok = X509_check_private_key(cert, key);
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok)
        return cfgread_fail_at(r, "key_file", "%s is not the key of %s", t->key_file, t->cert_file);
    return 0;
}

static int read_tls(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                    void *base)
{
    static const char *const keys[] = { "ca_file", "cert_file", "key_file", "server_name",
                                        "insecure_skip_verify" };
    struct config_remote *t = base;
    json_t *skip;
    size_t old;

    (void)obj;
    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, k->name);
    if (!json_is_object(v))
        return cfgread_fail(r,
                            "expected an object such as {\"ca_file\": \"/etc/ssl/ca.pem\"}, got %s",
                            cfgread_type_name(v));
    if (only_keys(r, v, keys, ARRAY_SIZE(keys)) != 0 ||
        opt_file(r, v, "ca_file", &t->ca_file) != 0 ||
        opt_file(r, v, "cert_file", &t->cert_file) != 0 ||
        opt_file(r, v, "key_file", &t->key_file) != 0 ||
        opt_string(r, v, "server_name", &t->server_name) != 0)
        return ERRCODE_CONFIG;
    skip = json_object_get(v, "insecure_skip_verify");
    if (skip != NULL && !json_is_boolean(skip))
        return cfgread_fail_at(r, "insecure_skip_verify", "expected true or false, got %s",
                               cfgread_type_name(skip));
    t->insecure_skip_verify = skip != NULL && json_is_true(skip);
    if (check_tls_files(r, t) != 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, old);
    return 0;
}

/* HTTP's token characters (RFC 9110). */
static int is_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
            return 0;
    return 1;
}

static int read_headers(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    static const char *const reserved[] = { "Authorization",
                                            "Content-Type",
                                            "Content-Encoding",
                                            "Content-Length",
                                            "User-Agent",
                                            "X-Prometheus-Remote-Write-Version",
                                            "Host" };
    struct config_remote *t = base;
    const char *name;
    json_t *val;
    size_t old;

    (void)obj;
    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, k->name);
    if (!json_is_object(v))
        return cfgread_fail(r, "expected an object of header names and values, got %s",
                            cfgread_type_name(v));
    if (json_object_size(v) > CONFIG_MAX_REMOTE_HEADERS)
        return cfgread_fail(r, "%zu headers, at most %d", json_object_size(v),
                            CONFIG_MAX_REMOTE_HEADERS);
    t->headers = mem_calloc(json_object_size(v) + 1, sizeof *t->headers);
    json_object_foreach(v, name, val)
    {
        const char *s;

        if (!is_token(name))
            return cfgread_fail(r, "\"%s\" is not an HTTP header name", name);
        for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
            if (strcasecmp(name, reserved[i]) == 0)
                return cfgread_fail_at(r, name,
                                       "is set by ustatsd (remote write, or an auth block)");
        if (!json_is_string(val))
            return cfgread_fail_at(r, name, "expected a string, got %s", cfgread_type_name(val));
        s = json_string_value(val);
        if (strpbrk(s, "\r\n") != NULL || strlen(s) != json_string_length(val))
            return cfgread_fail_at(r, name, "holds a line break or a NUL byte");
        t->headers[t->nheaders].name = mem_strdup(name);
        t->headers[t->nheaders].value = mem_strdup(s);
        t->nheaders++;
    }
    cfgread_pop(r, old);
    return 0;
}

static int by_label_name(const void *a, const void *b)
{
    return strcmp(((const struct config_remote_label *)a)->name,
                  ((const struct config_remote_label *)b)->name);
}

static int label_name_ok(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static int read_labels(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    struct config_remote *t = base;
    const char *name;
    json_t *val;
    size_t old;

    (void)obj;
    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, k->name);
    if (!json_is_object(v))
        return cfgread_fail(r, "expected an object such as {\"host\": \"edge-1\"}, got %s",
                            cfgread_type_name(v));
    if (json_object_size(v) > CONFIG_MAX_REMOTE_LABELS)
        return cfgread_fail(r, "%zu labels, at most %d", json_object_size(v),
                            CONFIG_MAX_REMOTE_LABELS);
    t->external_labels = mem_calloc(json_object_size(v) + 1, sizeof *t->external_labels);
    json_object_foreach(v, name, val)
    {
        if (!label_name_ok(name))
            return cfgread_fail(r, "\"%s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", name);
        if (strncmp(name, "__", 2) == 0)
            return cfgread_fail_at(r, name, "names starting with \"__\" are Prometheus's own");
        if (!json_is_string(val) || json_string_length(val) == 0)
            return cfgread_fail_at(r, name, "expected a non-empty string, got %s",
                                   json_is_string(val) ? "\"\"" : cfgread_type_name(val));
        if (strlen(json_string_value(val)) != json_string_length(val))
            return cfgread_fail_at(r, name, "contains a NUL byte");
        t->external_labels[t->nexternal_labels].name = mem_strdup(name);
        t->external_labels[t->nexternal_labels].value = mem_strdup(json_string_value(val));
        t->nexternal_labels++;
    }
    qsort(t->external_labels, t->nexternal_labels, sizeof *t->external_labels, by_label_name);
    cfgread_pop(r, old);
    return 0;
}

static int read_endpoint_names(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                               json_t *v, void *base)
{
    struct config_remote *t = base;
    const struct config *c = r->root;
    json_t *e;
    size_t old, i;

    (void)obj;
    if (v == NULL) {
        t->endpoints = mem_calloc(1, sizeof *t->endpoints);
        t->endpoints[0] = mem_strdup("metrics");
        t->nendpoints = 1;
        return 0;
    }
    old = cfgread_push_key(r, k->name);
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > CONFIG_MAX_ENDPOINTS + 1)
        return cfgread_fail(r,
                            "expected a list of 1 to %d endpoint names (\"metrics\": the "
                            "default endpoint), got %s",
                            CONFIG_MAX_ENDPOINTS + 1,
                            json_is_array(v) ? "an empty list or a longer one"
                                             : cfgread_type_name(v));
    t->endpoints = mem_calloc(json_array_size(v), sizeof *t->endpoints);
    json_array_foreach(v, i, e)
    {
        const char *name = json_string_value(e);
        size_t j = 0;

        if (name == NULL)
            return cfgread_fail(r, "[%zu]: expected an endpoint's name, got %s", i,
                                cfgread_type_name(e));
        while (j < c->nendpoints && strcmp(c->endpoints[j].name, name) != 0)
            j++;
        if (j == c->nendpoints && strcmp(name, "metrics") != 0)
            return cfgread_fail(r,
                                "[%zu]: no endpoint is named \"%s\" (\"metrics\" is the "
                                "default endpoint)",
                                i, name);
        for (j = 0; j < t->nendpoints; j++)
            if (strcmp(t->endpoints[j], name) == 0)
                return cfgread_fail(r, "[%zu]: \"%s\" twice", i, name);
        t->endpoints[t->nendpoints++] = mem_strdup(name);
    }
    cfgread_pop(r, old);
    return 0;
}

static const struct cfgread_key queue_keys[] = {
    { .name = "max_bytes",
      .kind = CFGREAD_SIZE,
      .off = offsetof(struct config_remote, max_bytes),
      .udflt = CFGREMOTE_DEFAULT_MAX_BYTES,
      .umin = 64u << 10,
      .umax = (uint64_t)4 << 30 },
    { .name = "min_backoff",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT,
      .off = offsetof(struct config_remote, min_backoff),
      .ddflt = CFGREMOTE_DEFAULT_MIN_BACKOFF,
      .dmin = 0,
      .dmax = 3600 },
    { .name = "max_backoff",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT,
      .off = offsetof(struct config_remote, max_backoff),
      .ddflt = CFGREMOTE_DEFAULT_MAX_BACKOFF,
      .dmin = 0,
      .dmax = 3600 },
};

static int read_queue(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                      void *base)
{
    struct config_remote *t = base;
    size_t old;

    (void)obj;
    old = cfgread_push_key(r, k->name);
    if (v != NULL && !json_is_object(v))
        return cfgread_fail(r, "expected an object such as {\"max_bytes\": 67108864}, got %s",
                            cfgread_type_name(v));
    if (cfgread_section(r, v, queue_keys, ARRAY_SIZE(queue_keys), t) != 0)
        return ERRCODE_CONFIG;
    if (t->max_backoff < t->min_backoff)
        return cfgread_fail_at(r, "max_backoff", "%g is below min_backoff (%g)", t->max_backoff,
                               t->min_backoff);
    cfgread_pop(r, old);
    return 0;
}

static const char *url_problem(const char *s)
{
    const char *host;

    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return "expected an http:// or https:// URL";
    if (*host == '\0' || *host == '/' || *host == ':' || *host == '?')
        return "has no host";
    if (strpbrk(s, " \t\r\n") != NULL)
        return "holds white space";
    return NULL;
}

static int read_token_file(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                           void *base)
{
    struct config_remote *t = base;

    (void)v;
    return opt_file(r, obj, k->name, &t->bearer_token_file);
}

static const struct cfgread_key target_keys[] = {
    { .name = "name",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NONEMPTY,
      .off = offsetof(struct config_remote, name) },
    { .name = "url",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_REQUIRED | CFGREAD_NONEMPTY,
      .off = offsetof(struct config_remote, url),
      .check = url_problem },
    { .name = "remote_timeout",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT,
      .off = offsetof(struct config_remote, timeout),
      .ddflt = CFGREMOTE_DEFAULT_TIMEOUT,
      .dmin = 0,
      .dmax = 600 },
    { .name = "headers", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_headers },
    { .name = "bearer_token_file",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_token_file },
    { .name = "basic_auth",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_basic_auth },
    { .name = "tls_config", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_tls },
    { .name = "endpoints",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_endpoint_names },
    { .name = "interval",
      .kind = CFGREAD_NUMBER,
      .off = offsetof(struct config_remote, interval),
      .ddflt = CFGREMOTE_DEFAULT_INTERVAL,
      .dmin = 0.1,
      .dmax = 3600 },
    { .name = "external_labels",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_labels },
    { .name = "send_native_histograms",
      .kind = CFGREAD_BOOL,
      .off = offsetof(struct config_remote, send_native_histograms),
      .udflt = 0 },
    { .name = "queue_config", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_queue },
};

int cfgremote_read(struct cfgread *r, struct config *c, json_t *v)
{
    size_t old, n;

    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, "remote_write");
    if (!json_is_array(v))
        return cfgread_fail(r, "expected a list of targets, got %s", cfgread_type_name(v));
    n = json_array_size(v);
    if (n > CONFIG_MAX_REMOTES)
        return cfgread_fail(r, "%zu targets, at most %d", n, CONFIG_MAX_REMOTES);
    if (n == 0) {
        cfgread_pop(r, old);
        return 0;
    }
    c->remotes = mem_calloc(n, sizeof *c->remotes);
    c->nremotes = n;
    if (cfgread_objects(r, v, "target objects", target_keys, ARRAY_SIZE(target_keys), c->remotes,
                        sizeof *c->remotes) != 0)
        return ERRCODE_CONFIG;
    for (size_t i = 0; i < n; i++) {
        struct config_remote *t = &c->remotes[i];
        size_t at = cfgread_push_index(r, i);

        if (t->name == NULL) {
            char name[32];

            snprintf(name, sizeof name, "remote_write_%zu", i);
            t->name = mem_strdup(name);
        }
        for (const char *p = t->name; *p; p++)
            if (!isalnum((unsigned char)*p) && strchr("_.-", *p) == NULL)
                return cfgread_fail_at(r, "name", "\"%s\": only letters, digits, '_', '.' and '-'",
                                       t->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->remotes[j].name, t->name) == 0)
                return cfgread_fail_at(r, "name", "\"%s\" is target %zu's name too", t->name, j);
        if (t->bearer_token_file != NULL && t->basic_username != NULL)
            return cfgread_fail(r, "\"bearer_token_file\" and \"basic_auth\" exclude each other");
        cfgread_pop(r, at);
    }
    cfgread_pop(r, old);
    return 0;
}

void cfgremote_release(struct config *c)
{
    for (size_t i = 0; i < c->nremotes; i++) {
        struct config_remote *t = &c->remotes[i];

        cfgread_release(target_keys, ARRAY_SIZE(target_keys), t);
        for (size_t j = 0; j < t->nheaders; j++) {
            free(t->headers[j].name);
            free(t->headers[j].value);
        }
        free(t->headers);
        for (size_t j = 0; j < t->nexternal_labels; j++) {
            free(t->external_labels[j].name);
            free(t->external_labels[j].value);
        }
        free(t->external_labels);
        cfgread_free_strings(t->endpoints, t->nendpoints);
        free(t->bearer_token_file);
        free(t->basic_username);
        free(t->basic_password);
        free(t->basic_password_file);
        free(t->ca_file);
        free(t->cert_file);
        free(t->key_file);
        free(t->server_name);
    }
    free(c->remotes);
    c->remotes = NULL;
    c->nremotes = 0;
}
