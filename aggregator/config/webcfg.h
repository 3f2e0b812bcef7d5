/*
 * webcfg: the web configuration file that Prometheus exporters share (--web.config.file,
 * the exporter-toolkit format, docs/web-configuration.md there): TLS for the HTTP
 * listeners, basic auth users with bcrypt hashes, and extra response headers.
 *
 *     tls_server_config:
 *       cert_file: server.crt            # or cert: <inline PEM>
 *       key_file: server.key             # or key: <inline PEM>
 *       client_auth_type: RequireAndVerifyClientCert
 *       client_ca_file: ca.crt           # or client_ca: <inline PEM>
 *       client_allowed_sans: [scraper.example]
 *       min_version: TLS12               # TLS10 TLS11 TLS12 TLS13
 *       max_version: TLS13
 *       cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]   # Go's (IANA) names
 *       prefer_server_cipher_suites: true
 *       curve_preferences: [X25519, CurveP256]                  # Go's names
 *     http_server_config:
 *       http2: true                      # accepted; HTTP/2 is not served
 *       headers:
 *         Strict-Transport-Security: max-age=31536000
 *     basic_auth_users:
 *       alice: $2y$10$...
 *
 * A domain module: it reads files but keeps no state. Relative file names are read from
 * the directory of the web config file. Any thread.
 */
#ifndef USTATSD_WEBCFG_H
#define USTATSD_WEBCFG_H

#include <stddef.h>

#define WEBCFG_MAX_FILE_SIZE ((size_t)1 << 20) /* the YAML file itself */

/* tls_server_config.client_auth_type, as Go's crypto/tls.ClientAuthType. */
enum webcfg_client_auth {
    WEBCFG_NO_CLIENT_CERT,                /* "NoClientCert", the default */
    WEBCFG_REQUEST_CLIENT_CERT,           /* "RequestClientCert": asked for, not verified */
    WEBCFG_REQUIRE_ANY_CLIENT_CERT,       /* "RequireAnyClientCert": required, not verified */
    WEBCFG_VERIFY_CLIENT_CERT_IF_GIVEN,   /* "VerifyClientCertIfGiven" */
    WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT /* "RequireAndVerifyClientCert" */
};

struct webcfg_tls {
    int enabled; /* the file has tls_server_config with a certificate: serve TLS */
    /* PEM text, read from cert_file / key_file / client_ca_file or given inline (cert,
     * key, client_ca); NUL-terminated. client_ca_pem is NULL when neither is given. */
    char *cert_pem;
    char *key_pem;
    char *client_ca_pem;
    /* Where each came from, for messages: the file name as written, or
     * "tls_server_config.cert" (inline). */
    char *cert_origin;
    char *key_origin;
    char *client_ca_origin;
    enum webcfg_client_auth client_auth;
    char **client_allowed_sans; /* exact matches against the client certificate's SANs */
    size_t nclient_allowed_sans;
    int min_version; /* OpenSSL's TLS1_2_VERSION etc.; default TLS1_2_VERSION */
    int max_version; /* default TLS1_3_VERSION */
    /* IANA names as Go and the file write them (TLS_ECDHE_..._SHA256), for TLS up to 1.2;
     * checked against the names Go's tls.CipherSuites() lists. None: OpenSSL's defaults. */
    char **cipher_suites;
    size_t ncipher_suites;
    int prefer_server_cipher_suites; /* default 1 */
    /* Go's names (CurveP256, CurveP384, CurveP521, X25519), in order; none: defaults. */
    char **curve_preferences;
    size_t ncurve_preferences;
};

struct webcfg_user {
    char *name;
    char *hash; /* bcrypt: $2a$, $2b$ or $2y$, cost 4..31, 60 characters */
};

struct webcfg_header {
    char *name; /* as the documentation spells it: "Strict-Transport-Security" */
    char *value;
};

struct webcfg {
    char *path; /* the file, for messages */
    struct webcfg_tls tls;
    struct webcfg_user *users; /* basic_auth_users, sorted by name; none: no basic auth */
    size_t nusers;
    struct webcfg_header *headers; /* http_server_config.headers, non-empty values only */
    size_t nheaders;
};

/*
 * Load and check the file at path: YAML syntax, known keys only, every value's type and
 * range, the certificate, key and CA files read (a missing or unreadable one is an error).
 * Returns 0, or ERRCODE_CONFIG with a message naming the file (with the line and column of the
 * value where there is one), the key and the problem in err, e.g. "web.yml:4:16:
 * tls_server_config.min_version: \"TLS14\" is not one of TLS10, TLS11, TLS12, TLS13", or
 * "web.yml:3:5: mapping values are not allowed here" for bad YAML. On failure *w is zeroed. A file
 * that sets none of a certificate, key, client CA or client_auth_type leaves tls.enabled 0 (plain
 * HTTP), as exporter-toolkit does. Whether the PEM parses, and the key matches the certificate, is
 * tlsmem_ctx_new()'s to check (tlsmem.h).
 */
int webcfg_load(struct webcfg *w, const char *path, char *err, size_t errlen);

/* The same from a string; name stands for the file in messages; relative file names are
 * read from the working directory. */
int webcfg_parse(struct webcfg *w, const char *text, size_t len, const char *name, char *err,
                 size_t errlen);

void webcfg_release(struct webcfg *w);

#endif
