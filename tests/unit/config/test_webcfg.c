/*
 * The web configuration file (webcfg): exporter-toolkit's schema, every refusal naming the
 * file, the line, the key and the problem, and PEM files read relative to the file.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/tls1.h>

#include "base/errcode.h"
#include "config/webcfg.h"

#define HASH_A "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"
#define HASH_B "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"

static char dir[] = "/tmp/webcfg-XXXXXX";

static void put(const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    put("server.crt", "-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n");
    put("server.key", "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n");
    put("ca.crt", "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n");
    put("empty.crt", "");
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    strcpy(dir, "/tmp/webcfg-XXXXXX");
}

TestSuite(webcfg, .init = setup, .fini = teardown);

/* Load text written as web.yml in the scratch directory; 0 or ERRCODE_CONFIG, err filled. */
static int load(struct webcfg *w, const char *text, char *err, size_t errlen)
{
    char path[PATH_MAX];

    put("web.yml", text);
    snprintf(path, sizeof(path), "%s/web.yml", dir);
    return webcfg_load(w, path, err, errlen);
}

/* The load must fail with a message holding each of the fragments. */
static void refused(const char *text, const char *frag1, const char *frag2)
{
    struct webcfg w;
    char err[1024];

    cr_assert_eq(load(&w, text, err, sizeof(err)), ERRCODE_CONFIG, "accepted:\n%s", text);
    cr_assert_not_null(strstr(err, "web.yml"), "%s", err);
    cr_assert_not_null(strstr(err, frag1), "want \"%s\" in: %s", frag1, err);
    if (frag2 != NULL)
        cr_assert_not_null(strstr(err, frag2), "want \"%s\" in: %s", frag2, err);
    cr_assert_null(w.path);
    cr_assert_eq(w.nusers, 0);
}

Test(webcfg, empty_file_is_plain_http)
{
    struct webcfg w;
    char err[256];

    cr_assert_eq(load(&w, "", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w.tls.enabled, 0);
    cr_assert_eq(w.nusers, 0);
    cr_assert_eq(w.nheaders, 0);
    webcfg_release(&w);

    cr_assert_eq(load(&w, "# nothing\ntls_server_config:\n", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w.tls.enabled, 0);
    webcfg_release(&w);

    /* Settings without a certificate are plain HTTP too, as in exporter-toolkit. */
    cr_assert_eq(load(&w, "tls_server_config:\n  min_version: TLS13\n", err, sizeof(err)), 0);
    cr_assert_eq(w.tls.enabled, 0);
    webcfg_release(&w);
}

Test(webcfg, full_file)
{
    struct webcfg w;
    char err[256];
    const char *text = "tls_server_config:\n"
                       "  cert_file: server.crt\n"
                       "  key_file: server.key\n"
                       "  client_auth_type: RequireAndVerifyClientCert\n"
                       "  client_ca_file: ca.crt\n"
                       "  client_allowed_sans: [scraper.example, 10.0.0.1]\n"
                       "  min_version: TLS13\n"
                       "  max_version: TLS13\n"
                       "  cipher_suites:\n"
                       "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
                       "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
                       "  prefer_server_cipher_suites: false\n"
                       "  curve_preferences: [X25519, CurveP256]\n"
                       "http_server_config:\n"
                       "  http2: true\n"
                       "  headers:\n"
                       "    Strict-Transport-Security: max-age=31536000\n"
                       "    X-Frame-Options: DENY\n"
                       "    X-XSS-Protection: \"\"\n"
                       "basic_auth_users:\n"
                       "  zed: " HASH_B "\n"
                       "  alice: '" HASH_A "'\n";

    cr_assert_eq(load(&w, text, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w.tls.enabled, 1);
    cr_assert_str_eq(w.tls.cert_pem,
                     "-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n");
    cr_assert_not_null(strstr(w.tls.key_pem, "PRIVATE KEY"));
    cr_assert_not_null(strstr(w.tls.client_ca_pem, "\nca\n"));
    cr_assert_str_eq(w.tls.cert_origin, "server.crt");
    cr_assert_str_eq(w.tls.client_ca_origin, "ca.crt");
    cr_assert_eq(w.tls.client_auth, WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT);
    cr_assert_eq(w.tls.nclient_allowed_sans, 2);
    cr_assert_str_eq(w.tls.client_allowed_sans[1], "10.0.0.1");
    cr_assert_eq(w.tls.min_version, TLS1_3_VERSION);
    cr_assert_eq(w.tls.max_version, TLS1_3_VERSION);
    cr_assert_eq(w.tls.ncipher_suites, 2);
    cr_assert_str_eq(w.tls.cipher_suites[1], "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
    cr_assert_eq(w.tls.prefer_server_cipher_suites, 0);
    cr_assert_eq(w.tls.ncurve_preferences, 2);
    cr_assert_str_eq(w.tls.curve_preferences[0], "X25519");
    /* Blank headers are unset. */
    cr_assert_eq(w.nheaders, 2);
    cr_assert_str_eq(w.headers[0].name, "Strict-Transport-Security");
    cr_assert_str_eq(w.headers[1].value, "DENY");
    /* Users come sorted by name. */
    cr_assert_eq(w.nusers, 2);
    cr_assert_str_eq(w.users[0].name, "alice");
    cr_assert_str_eq(w.users[0].hash, HASH_A);
    cr_assert_str_eq(w.users[1].name, "zed");
    webcfg_release(&w);
}

Test(webcfg, defaults)
{
    struct webcfg w;
    char err[256];

    cr_assert_eq(load(&w,
                      "tls_server_config:\n  cert_file: server.crt\n  key_file: "
                      "server.key\n",
                      err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(w.tls.enabled, 1);
    cr_assert_eq(w.tls.client_auth, WEBCFG_NO_CLIENT_CERT);
    cr_assert_null(w.tls.client_ca_pem);
    cr_assert_eq(w.tls.min_version, TLS1_2_VERSION);
    cr_assert_eq(w.tls.max_version, TLS1_3_VERSION);
    cr_assert_eq(w.tls.prefer_server_cipher_suites, 1);
    cr_assert_eq(w.tls.ncipher_suites, 0);
    webcfg_release(&w);
}

Test(webcfg, inline_pem_and_absolute_paths)
{
    struct webcfg w;
    char err[512], text[1024];

    snprintf(text, sizeof(text),
             "tls_server_config:\n"
             "  cert: |\n"
             "    -----BEGIN CERTIFICATE-----\n"
             "    inline\n"
             "    -----END CERTIFICATE-----\n"
             "  key_file: %s/server.key\n",
             dir);
    cr_assert_eq(load(&w, text, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(w.tls.cert_pem,
                     "-----BEGIN CERTIFICATE-----\ninline\n-----END CERTIFICATE-----\n");
    cr_assert_str_eq(w.tls.cert_origin, "tls_server_config.cert");
    webcfg_release(&w);
}

Test(webcfg, parse_reads_from_the_working_directory)
{
    struct webcfg w;
    char err[512], cwd[PATH_MAX];
    const char *text = "tls_server_config: {cert_file: server.crt, key_file: server.key}\n";

    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    cr_assert_eq(chdir(dir), 0);
    cr_assert_eq(webcfg_parse(&w, text, strlen(text), "inline", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w.tls.enabled, 1);
    cr_assert_str_eq(w.path, "inline");
    webcfg_release(&w);
    cr_assert_eq(chdir(cwd), 0);
}

Test(webcfg, refusals)
{
    refused("tls_server_config: [\n", "web.yml:", NULL);
    refused("a: 1\n", "unknown key \"a\"", NULL);
    refused("tls_server_config:\n  cert_file: server.crt\n  cert_file: server.crt\n",
            "duplicate key \"cert_file\"", NULL);
    refused("tls_server_config:\n  certfile: x\n", "unknown key \"certfile\"", NULL);
    refused("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
            "tls_server_config.cert_file", "missing.crt: No such file or directory");
    refused("tls_server_config:\n  cert_file: empty.crt\n  key_file: server.key\n",
            "tls_server_config.cert_file", "empty");
    refused("tls_server_config:\n  cert_file: server.crt\n", "missing key_file", NULL);
    refused("tls_server_config:\n  key_file: server.key\n", "missing cert_file", NULL);
    refused("tls_server_config:\n  cert_file: server.crt\n  cert: x\n  key_file: server.key\n",
            "tls_server_config.cert_file", "not both");
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  min_version: TLS14\n",
            "web.yml:4:16: tls_server_config.min_version", "\"TLS14\" is not one of");
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  min_version: TLS13\n  max_version: TLS12\n",
            "is above max_version", NULL);
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_auth_type: Required\n",
            "tls_server_config.client_auth_type", "\"Required\" is not one of");
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file", NULL);
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_ca_file: ca.crt\n",
            "client_auth_type is NoClientCert", NULL);
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n"
            "  client_allowed_sans: [a]\n",
            "tls_server_config.client_allowed_sans", "RequireAnyClientCert");
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
            "tls_server_config.cipher_suites[0]", "not a cipher suite");
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n",
            "cipher_suites[1]", "listed twice");
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  curve_preferences: [P256]\n",
            "curve_preferences[0]", "not a curve");
    refused("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  prefer_server_cipher_suites: maybe\n",
            "prefer_server_cipher_suites", "expected true or false");
    refused("tls_server_config:\n  cert_file: [a]\n", "tls_server_config.cert_file",
            "expected a string");
    refused("tls_server_config: 3\n", "tls_server_config", "expected a mapping");
    refused("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", "\"Set-Cookie\" can not be",
            NULL);
    refused("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "http_server_config.headers.X-Frame-Options", "\"allow\" is not one of");
    refused("http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a\"\n",
            "X-XSS-Protection", "control character");
    refused("http_server_config:\n  http3: true\n", "unknown key \"http3\"", NULL);
    refused("basic_auth_users:\n  alice: secret\n", "basic_auth_users.alice", "not a bcrypt hash");
    refused("basic_auth_users:\n  alice: \"$2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7Esim"
            "hC7zG\"\n",
            "basic_auth_users.alice", "cost");
    refused("basic_auth_users:\n  \"a:b\": " HASH_A "\n", "basic_auth_users", "without ':'");
    refused("basic_auth_users:\n  alice: " HASH_A "\n  alice: " HASH_A "\n",
            "duplicate key \"alice\"", NULL);
    refused("rate_limit:\n  interval: 1s\n", "rate_limit", "not supported");
    refused("tls_server_config: {}\n---\nbasic_auth_users: {}\n", "more than one YAML document",
            NULL);
    refused("- a\n- b\n", "expected a mapping", NULL);
}

Test(webcfg, missing_file)
{
    struct webcfg w;
    char err[256];

    cr_assert_eq(webcfg_load(&w, "/nonexistent/web.yml", err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_str_eq(err, "/nonexistent/web.yml: No such file or directory");
    cr_assert_null(w.path);
}

/* A FIFO named as a certificate, key or CA file is refused at once, naming the file. */
Test(webcfg, a_fifo_named_as_a_pem_file_is_not_waited_on, .timeout = 10)
{
    static const char *const texts[] = {
        "tls_server_config:\n  cert_file: pipe\n  key_file: server.key\n",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: pipe\n",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_ca_file: pipe\n",
    };
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/pipe", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        refused(texts[i], "/pipe: not a regular file", NULL);
}

Test(webcfg, aliases_are_followed)
{
    struct webcfg w;
    char err[256];
    const char *text = "x: &c server.crt\n";

    /* An anchor on an unknown key is still an unknown key. */
    cr_assert_eq(load(&w, text, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_eq(load(&w,
                      "tls_server_config:\n  cert_file: &c server.crt\n  key_file: *c\n"
                      "  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: &s [a]\n",
                      err, sizeof(err)),
                 0, "%s", err);
    webcfg_release(&w);
    cr_assert_eq(load(&w, "basic_auth_users: &u\n  a: *u\n", err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(err, "expected a string"), "%s", err);
}
