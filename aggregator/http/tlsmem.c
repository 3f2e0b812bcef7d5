#include "http/tlsmem.h"
#include "base/common.h"
#include "base/errcode.h"
#include "base/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define RECORD_MAX 16384 /* TLS plaintext record limit (RFC 8446 5.1) */

struct tlsmem_ctx {
    atomic_uint refs;
    SSL_CTX *ssl;
    int ask_cert; /* client_auth_type asks for a certificate: client_allowed_sans apply */
    char **sans;  /* client_allowed_sans; none: any client */
    size_t nsans;
    char fingerprint[65];
    int64_t not_after; /* the certificate's, Unix time; 0: unknown */
    char *cert_origin; /* cert_file as written, or tls_server_config.cert */
};

struct tlsmem_conn {
    struct tlsmem_ctx *ctx;
    SSL *ssl;
    BIO *in;  /* ciphertext read from the socket, for OpenSSL */
    BIO *out; /* ciphertext from OpenSSL, for the socket */
    int established;
    int closed; /* close_notify received */
    int failed;
    int notified; /* close_notify queued */
    enum tlsmem_fail why;
};

static const char *const fail_names[] = {
#define XX(kind, name) name,
    TLSMEM_FAIL_MAP(XX)
#undef XX
};

const char *tlsmem_fail_name(enum tlsmem_fail reason)
{
    if (reason < 0 || reason >= TLSMEM_FAIL_COUNT)
        return "unknown";
    return fail_names[reason];
}

/* ---- the context ---- */

/*
 * A message in the form every config error takes, "file: key: problem", where key is
 * the one the value came from: "tls_server_config.cert_file: server.crt" for a file,
 * the inline key ("tls_server_config.cert") as webcfg names it in origin otherwise.
 * OpenSSL's reason for the last error, if any, ends it.
 */
static int fail(char *err, size_t errlen, const char *file, const char *file_key,
                const char *origin, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int fail(char *err, size_t errlen, const char *file, const char *file_key,
                const char *origin, const char *fmt, ...)
{
    char what[256];
    const char *why = NULL;
    unsigned long e = ERR_peek_last_error();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (e != 0)
        why = ERR_reason_error_string(e);
    if (origin == NULL || strncmp(origin, "tls_server_config.", 18) == 0)
        snprintf(err, errlen, "%s: %s: %s%s%s", file, origin ? origin : file_key, what,
                 why ? ": " : "", why ? why : "");
    else
        snprintf(err, errlen, "%s: %s: %s: %s%s%s", file, file_key, origin, what, why ? ": " : "",
                 why ? why : "");
    ERR_clear_error();
    return ERRCODE_CONFIG;
}

/* Refuse encrypted keys instead of letting OpenSSL prompt on the terminal (nor does Go). */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

static int load_cert(SSL_CTX *ssl, const struct webcfg_tls *cfg, const char *file, char *err,
                     size_t errlen)
{
    const char *key = "tls_server_config.cert_file", *o = cfg->cert_origin;
    BIO *b = BIO_new_mem_buf(cfg->cert_pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;
    int rc = -1;

    if (x == NULL) {
        fail(err, errlen, file, key, o, "no PEM certificate in it");
        goto out;
    }
    if (SSL_CTX_use_certificate(ssl, x) != 1) {
        fail(err, errlen, file, key, o, "certificate refused");
        goto out;
    }
    /* The rest of the file is the chain, sent after the server's certificate. */
    for (;;) {
        X509 *chain = PEM_read_bio_X509(b, NULL, no_password, NULL);

        if (chain == NULL)
            break;
        if (SSL_CTX_add0_chain_cert(ssl, chain) != 1) {
            X509_free(chain);
            fail(err, errlen, file, key, o, "chain certificate refused");
            goto out;
        }
    }
    ERR_clear_error(); /* the end of the PEM text */
    rc = 0;
out:
    X509_free(x);
    BIO_free(b);
    return rc;
}

static int load_key(SSL_CTX *ssl, const struct webcfg_tls *cfg, const char *file, char *err,
                    size_t errlen)
{
    const char *key = "tls_server_config.key_file", *o = cfg->key_origin;
    BIO *b = BIO_new_mem_buf(cfg->key_pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
    int rc = -1;

    if (k == NULL)
        fail(err, errlen, file, key, o, "no unencrypted PEM private key in it");
    else if (SSL_CTX_use_PrivateKey(ssl, k) != 1 || SSL_CTX_check_private_key(ssl) != 1) {
        ERR_clear_error();
        fail(err, errlen, file, key, o, "does not match the certificate");
    } else
        rc = 0;
    EVP_PKEY_free(k);
    BIO_free(b);
    return rc;
}

/* Every certificate of client_ca, as roots and as the names the server asks for. */
static int load_client_ca(SSL_CTX *ssl, const struct webcfg_tls *cfg, const char *file, char *err,
                          size_t errlen)
{
    const char *key = "tls_server_config.client_ca_file", *o = cfg->client_ca_origin;
    X509_STORE *store = SSL_CTX_get_cert_store(ssl);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    BIO *b = BIO_new_mem_buf(cfg->client_ca_pem, -1);
    X509 *x;
    int n = 0;

    if (names == NULL || b == NULL)
        mem_oom(1);
    while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
        X509_NAME *name = X509_NAME_dup(X509_get_subject_name(x));

        if (X509_STORE_add_cert(store, x) != 1 &&
            ERR_GET_REASON(ERR_peek_last_error()) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
            X509_free(x);
            X509_NAME_free(name);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            BIO_free(b);
            return fail(err, errlen, file, key, o, "CA certificate %d refused", n + 1);
        }
        ERR_clear_error();
        if (name == NULL || sk_X509_NAME_push(names, name) <= 0)
            mem_oom(sizeof(name));
        X509_free(x);
        n++;
    }
    BIO_free(b);
    if (n == 0) {
        sk_X509_NAME_free(names);
        return fail(err, errlen, file, key, o, "no PEM certificate in it");
    }
    ERR_clear_error(); /* the end of the PEM text */
    SSL_CTX_set_client_CA_list(ssl, names);
    return 0;
}

/* RequestClientCert and RequireAnyClientCert: take whatever certificate comes. */
static int accept_any(int preverify_ok, X509_STORE_CTX *x)
{
    (void)preverify_ok, (void)x;
    return 1;
}

static int set_client_auth(SSL_CTX *ssl, struct tlsmem_ctx *ctx, const struct webcfg_tls *cfg,
                           const char *file, char *err, size_t errlen)
{
    int verify = cfg->client_auth >= WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN;

    switch (cfg->client_auth) {
    case WEBCFG_NO_CLIENT_CERT:
        SSL_CTX_set_verify(ssl, SSL_VERIFY_NONE, NULL);
        return 0;
    case WEBCFG_REQUEST_CLIENT_CERT:
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, accept_any);
        break;
    case WEBCFG_REQUIRE_ANY_CLIENT_CERT:
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
        break;
    case WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN:
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, NULL);
        break;
    case WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT:
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        break;
    default:
        return fail(err, errlen, file, "tls_server_config.client_auth_type", NULL,
                    "unknown value %d", (int)cfg->client_auth);
    }
    ctx->ask_cert = 1;
    if (cfg->client_ca_pem != NULL)
        return load_client_ca(ssl, cfg, file, err, errlen);
    /* Go verifies against the system's roots when client_ca_file is absent. */
    if (verify && SSL_CTX_set_default_verify_paths(ssl) != 1)
        return fail(err, errlen, file, "tls_server_config.client_ca_file", NULL,
                    "absent, and the system's CA certificates could not be loaded");
    return 0;
}

/* Append name to a ':'-separated OpenSSL list. */
static void list_add(struct buf *list, const char *name)
{
    if (list->len > 0)
        buf_addch(list, ':');
    buf_adds(list, name);
}

static int set_groups(SSL_CTX *ssl, const char *list)
{
    return (int)SSL_CTX_set1_groups_list(ssl, list);
}

/* Hand list to OpenSSL with set, and release it. Returns 0 or -1 (the message in err). */
static int list_apply(SSL_CTX *ssl, struct buf *list, int (*set)(SSL_CTX *, const char *),
                      const char *file, const char *key, char *err, size_t errlen)
{
    int rc = 0;

    buf_addch(list, '\0');
    if (set(ssl, list->ptr) != 1)
        rc = fail(err, errlen, file, key, NULL, "refused by OpenSSL");
    buf_release(list);
    return rc;
}

/*
 * Go's names (tls.CipherSuites(), tls.InsecureCipherSuites()) are the IANA ones, which
 * OpenSSL knows as each cipher's standard name: look each up among every cipher this
 * OpenSSL offers, and hand the OpenSSL names on in the order given.
 */
static int set_ciphers(SSL_CTX *ssl, const struct webcfg_tls *cfg, const char *file, char *err,
                       size_t errlen)
{
    const char *key = "tls_server_config.cipher_suites";
    STACK_OF(SSL_CIPHER) * all;
    struct buf list = BUF_INIT;

    if (cfg->ncipher_suites == 0)
        return 0;
    if (SSL_CTX_set_cipher_list(ssl, "ALL:COMPLEMENTOFALL") != 1)
        return fail(err, errlen, file, key, NULL, "OpenSSL offers no cipher");
    all = SSL_CTX_get_ciphers(ssl);
    for (size_t i = 0; i < cfg->ncipher_suites; i++) {
        const SSL_CIPHER *found = NULL;

        for (int j = 0; j < sk_SSL_CIPHER_num(all) && found == NULL; j++) {
            const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, j);
            const char *std = SSL_CIPHER_standard_name(c);

            if (std != NULL && strcmp(std, cfg->cipher_suites[i]) == 0)
                found = c;
        }
        if (found == NULL) {
            /* TLS 1.3's suites are not in that list: accepted and ignored, as in Go. */
            if (strcmp(cfg->cipher_suites[i], "TLS_AES_128_GCM_SHA256") == 0 ||
                strcmp(cfg->cipher_suites[i], "TLS_AES_256_GCM_SHA384") == 0 ||
                strcmp(cfg->cipher_suites[i], "TLS_CHACHA20_POLY1305_SHA256") == 0)
                continue;
            buf_release(&list);
            return fail(err, errlen, file, key, NULL, "%s: not available in this OpenSSL",
                        cfg->cipher_suites[i]);
        }
        if (strcmp(SSL_CIPHER_get_version(found), "TLSv1.3") != 0)
            list_add(&list, SSL_CIPHER_get_name(found));
    }
    if (list.len == 0) {
        /* Only TLS 1.3 names: TLS 1.2 and below get none, so they cannot be negotiated. */
        if (cfg->min_version < TLS1_3_VERSION &&
            SSL_CTX_set_min_proto_version(ssl, TLS1_3_VERSION) != 1)
            return fail(err, errlen, file, key, NULL,
                        "only TLS 1.3 suites, and TLS 1.3 unavailable");
        buf_adds(&list, "DEFAULT");
    }
    return list_apply(ssl, &list, SSL_CTX_set_cipher_list, file, key, err, errlen);
}

static int set_curves(SSL_CTX *ssl, const struct webcfg_tls *cfg, const char *file, char *err,
                      size_t errlen)
{
    static const char *const go[][2] = {
        { "CurveP256", "P-256" },
        { "CurveP384", "P-384" },
        { "CurveP521", "P-521" },
        { "X25519", "X25519" },
    };
    const char *key = "tls_server_config.curve_preferences";
    struct buf list = BUF_INIT;

    if (cfg->ncurve_preferences == 0)
        return 0;
    for (size_t i = 0; i < cfg->ncurve_preferences; i++) {
        const char *name = NULL;

        for (size_t j = 0; j < ARRAY_SIZE(go) && name == NULL; j++)
            if (strcmp(cfg->curve_preferences[i], go[j][0]) == 0)
                name = go[j][1];
        if (name == NULL) {
            buf_release(&list);
            return fail(err, errlen, file, key, NULL,
                        "%s: not one of CurveP256, CurveP384, CurveP521, X25519",
                        cfg->curve_preferences[i]);
        }
        list_add(&list, name);
    }
    return list_apply(ssl, &list, set_groups, file, key, err, errlen);
}

/* HTTP/1.1 when the client offers it; h2 is never chosen, as it is not served. */
static int select_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    (void)s, (void)arg;
    for (unsigned i = 0; i < inlen && i + 1u + in[i] <= inlen; i += 1u + in[i])
        if (in[i] == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = 8;
            return SSL_TLSEXT_ERR_OK;
        }
    return SSL_TLSEXT_ERR_NOACK;
}

static void set_fingerprint(struct tlsmem_ctx *ctx)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    X509 *x = SSL_CTX_get0_certificate(ctx->ssl);

    ctx->fingerprint[0] = '\0';
    if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1)
        return;
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(ctx->fingerprint + 2 * i, 3, "%02x", md[i]);
}

/* The certificate's notAfter as Unix time (UTC), or 0 when OpenSSL cannot read it. */
static void set_not_after(struct tlsmem_ctx *ctx)
{
    X509 *x = SSL_CTX_get0_certificate(ctx->ssl);
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;

    ctx->not_after = 0;
    if (epoch == NULL)
        mem_oom(sizeof(ASN1_TIME));
    if (x != NULL && ASN1_TIME_diff(&days, &secs, epoch, X509_get0_notAfter(x)) == 1)
        ctx->not_after = (int64_t)days * 86400 + secs;
    ASN1_TIME_free(epoch);
}

static void ctx_free(struct tlsmem_ctx *ctx)
{
    free(ctx->cert_origin);
    SSL_CTX_free(ctx->ssl);
    for (size_t i = 0; i < ctx->nsans; i++)
        free(ctx->sans[i]);
    free(ctx->sans);
    free(ctx);
}

int tlsmem_ctx_new(struct tlsmem_ctx **out, const struct webcfg_tls *cfg, const char *file,
                   char *err, size_t errlen)
{
    struct tlsmem_ctx *ctx = mem_calloc(1, sizeof(*ctx));
    SSL_CTX *ssl;
    int minv = cfg->min_version ? cfg->min_version : TLS1_2_VERSION;
    int maxv = cfg->max_version ? cfg->max_version : TLS1_3_VERSION;

    *out = NULL;
    ERR_clear_error();
    atomic_init(&ctx->refs, 1);
    ssl = ctx->ssl = SSL_CTX_new(TLS_server_method());
    if (ssl == NULL)
        mem_oom(sizeof(*ctx));
    if (cfg->cert_pem == NULL || cfg->key_pem == NULL) {
        fail(err, errlen, file, "tls_server_config", NULL, "cert_file and key_file are required");
        goto bad;
    }
    if (load_cert(ssl, cfg, file, err, errlen) != 0 || load_key(ssl, cfg, file, err, errlen) != 0)
        goto bad;
    if (minv > maxv) {
        fail(err, errlen, file, "tls_server_config.min_version", NULL, "higher than max_version");
        goto bad;
    }
    if (SSL_CTX_set_min_proto_version(ssl, minv) != 1) {
        fail(err, errlen, file, "tls_server_config.min_version", NULL, "refused by OpenSSL");
        goto bad;
    }
    if (SSL_CTX_set_max_proto_version(ssl, maxv) != 1) {
        fail(err, errlen, file, "tls_server_config.max_version", NULL, "refused by OpenSSL");
        goto bad;
    }
    if (set_client_auth(ssl, ctx, cfg, file, err, errlen) != 0 ||
        set_ciphers(ssl, cfg, file, err, errlen) != 0 ||
        set_curves(ssl, cfg, file, err, errlen) != 0)
        goto bad;
    SSL_CTX_set_options(
        ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                 (cfg->prefer_server_cipher_suites ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    /* An idle keep-alive connection holds no 34 KiB of record buffers. */
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ssl, select_alpn, NULL);
    /* Session ids are scoped to this context: one from before a reload is not resumed. */
    SSL_CTX_set_session_id_context(ssl, (const unsigned char *)"ustatsd", 7);
    if (cfg->nclient_allowed_sans > 0) {
        ctx->sans = mem_calloc(cfg->nclient_allowed_sans, sizeof(*ctx->sans));
        for (size_t i = 0; i < cfg->nclient_allowed_sans; i++)
            ctx->sans[i] = mem_strdup(cfg->client_allowed_sans[i]);
        ctx->nsans = cfg->nclient_allowed_sans;
    }
    set_fingerprint(ctx);
    set_not_after(ctx);
    ctx->cert_origin = mem_strdup(cfg->cert_origin ? cfg->cert_origin : "tls_server_config.cert");
    ERR_clear_error();
    *out = ctx;
    return 0;
bad:
    ERR_clear_error();
    ctx_free(ctx);
    return ERRCODE_CONFIG;
}

struct tlsmem_ctx *tlsmem_ctx_ref(struct tlsmem_ctx *ctx)
{
    atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

void tlsmem_ctx_unref(struct tlsmem_ctx *ctx)
{
    if (ctx != NULL && atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) == 1)
        ctx_free(ctx);
}

void tlsmem_ctx_fingerprint(const struct tlsmem_ctx *ctx, char *out)
{
    memcpy(out, ctx->fingerprint, sizeof(ctx->fingerprint));
}

/* ---- a connection ---- */

int64_t tlsmem_ctx_not_after(const struct tlsmem_ctx *ctx)
{
    return ctx->not_after;
}

const char *tlsmem_ctx_cert_origin(const struct tlsmem_ctx *ctx)
{
    return ctx->cert_origin;
}

enum tlsmem_expiry tlsmem_expiry_check(int64_t not_after, int64_t now)
{
    if (not_after <= now)
        return TLSMEM_EXPIRED;
    if (not_after - now <= TLSMEM_EXPIRY_WARN_S)
        return TLSMEM_EXPIRES_SOON;
    return TLSMEM_VALID;
}

struct tlsmem_conn *tlsmem_conn_new(struct tlsmem_ctx *ctx)
{
    struct tlsmem_conn *t = mem_calloc(1, sizeof(*t));

    t->ssl = SSL_new(ctx->ssl);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->in == NULL || t->out == NULL)
        mem_oom(sizeof(*t));
    /* An empty input BIO means "wait for more", not end of file. */
    BIO_set_mem_eof_return(t->in, -1);
    SSL_set_bio(t->ssl, t->in, t->out); /* the SSL owns both from here */
    SSL_set_accept_state(t->ssl);
    t->ctx = tlsmem_ctx_ref(ctx);
    t->why = TLSMEM_FAIL_NONE;
    return t;
}

void tlsmem_conn_free(struct tlsmem_conn *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    tlsmem_ctx_unref(t->ctx);
    free(t);
}

/* The reason of a failed handshake, from OpenSSL's error queue. */
static enum tlsmem_fail classify(void)
{
    unsigned long e = ERR_peek_error();
    int reason = ERR_GET_REASON(e);

    if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL)
        return TLSMEM_FAIL_PROTOCOL;
    if (reason >= SSL_AD_REASON_OFFSET)
        return TLSMEM_FAIL_CLIENT_ALERT; /* SSL_R_..._ALERT_...: what the client sent */
    switch (reason) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
        return TLSMEM_FAIL_PLAIN_HTTP;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return TLSMEM_FAIL_VERSION;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        return TLSMEM_FAIL_CIPHER;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return TLSMEM_FAIL_NO_CLIENT_CERT;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return TLSMEM_FAIL_BAD_CLIENT_CERT;
    default:
        return TLSMEM_FAIL_PROTOCOL;
    }
}

static int san_is(const GENERAL_NAME *g, const char *want)
{
    const ASN1_STRING *s;
    char ip[INET6_ADDRSTRLEN];

    switch (g->type) {
    case GEN_DNS:
    case GEN_EMAIL:
    case GEN_URI:
        s = g->d.ia5;
        return (size_t)ASN1_STRING_length(s) == strlen(want) &&
               memcmp(ASN1_STRING_get0_data(s), want, strlen(want)) == 0;
    case GEN_IPADD:
        /* As Go's net.IP.String() writes it: dotted quad, or RFC 5952 for IPv6. */
        s = g->d.ip;
        if (ASN1_STRING_length(s) != 4 && ASN1_STRING_length(s) != 16)
            return 0;
        if (inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip,
                      sizeof(ip)) == NULL)
            return 0;
        return strcmp(ip, want) == 0;
    default:
        return 0;
    }
}

/* client_allowed_sans, as exporter-toolkit checks them: one exact match suffices. */
static int sans_ok(const struct tlsmem_conn *t)
{
    const struct tlsmem_ctx *ctx = t->ctx;
    X509 *peer;
    GENERAL_NAMES *names;
    int ok = 0;

    if (ctx->nsans == 0 || !ctx->ask_cert)
        return 1;
    peer = SSL_get0_peer_certificate(t->ssl);
    if (peer == NULL)
        return 0;
    names = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !ok; i++)
        for (size_t j = 0; j < ctx->nsans && !ok; j++)
            ok = san_is(sk_GENERAL_NAME_value(names, i), ctx->sans[j]);
    GENERAL_NAMES_free(names);
    return ok;
}

static enum tlsmem_status failed(struct tlsmem_conn *t, enum tlsmem_fail why)
{
    t->failed = 1;
    t->why = why;
    ERR_clear_error();
    return TLSMEM_FAILED;
}

enum tlsmem_status tlsmem_conn_feed(struct tlsmem_conn *t, const void *data, size_t len,
                                    struct buf *plain)
{
    const char *p = data;
    int n;

    if (t->failed)
        return TLSMEM_FAILED;
    if (t->closed)
        return TLSMEM_CLOSED;
    while (len > 0) {
        n = BIO_write(t->in, p, len > INT_MAX ? INT_MAX : (int)len);
        if (n <= 0)
            mem_oom(len);
        p += n;
        len -= (size_t)n;
    }
    ERR_clear_error();
    if (!t->established) {
        n = SSL_do_handshake(t->ssl);
        if (n <= 0) {
            if (SSL_get_error(t->ssl, n) == SSL_ERROR_WANT_READ)
                return TLSMEM_OK;
            return failed(t, classify());
        }
        if (!sans_ok(t))
            return failed(t, TLSMEM_FAIL_CLIENT_SAN);
        t->established = 1;
    }
    for (;;) {
        buf_grow(plain, RECORD_MAX);
        n = SSL_read(t->ssl, plain->ptr + plain->len, RECORD_MAX);
        if (n > 0) {
            plain->len += (size_t)n;
            continue;
        }
        switch (SSL_get_error(t->ssl, n)) {
        case SSL_ERROR_WANT_READ:
            return TLSMEM_OK;
        case SSL_ERROR_ZERO_RETURN:
            t->closed = 1;
            return TLSMEM_CLOSED;
        default: /* a bad record after the handshake: not a handshake failure */
            return failed(t, TLSMEM_FAIL_NONE);
        }
    }
}

int tlsmem_conn_seal(struct tlsmem_conn *t, const void *data, size_t len)
{
    const char *p = data;
    size_t done;

    if (t->failed || !t->established || t->notified)
        return -EPIPE;
    while (len > 0) {
        ERR_clear_error();
        /* The output BIO grows as needed, so a write is whole or failed. */
        if (SSL_write_ex(t->ssl, p, len, &done) != 1) {
            failed(t, TLSMEM_FAIL_NONE);
            return ERRCODE_TLS;
        }
        p += done;
        len -= done;
    }
    return 0;
}

void tlsmem_conn_close_notify(struct tlsmem_conn *t)
{
    if (t->failed || !t->established || t->notified)
        return;
    t->notified = 1;
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
}

size_t tlsmem_conn_take(struct tlsmem_conn *t, struct buf *out)
{
    size_t n = BIO_ctrl_pending(t->out), got = 0;

    if (n == 0)
        return 0;
    buf_grow(out, n);
    if (BIO_read_ex(t->out, out->ptr + out->len, n, &got) != 1)
        got = 0;
    out->len += got;
    return got;
}

int tlsmem_conn_established(const struct tlsmem_conn *t)
{
    return t->established;
}

enum tlsmem_fail tlsmem_conn_failure(const struct tlsmem_conn *t)
{
    return t->why;
}
