/*
 * libFuzzer target for the TLS engine's server side on arbitrary client bytes: what a
 * hostile client sends before and after the handshake reaches OpenSSL through
 * tlsmem_conn_feed(), and the engine must end in a defined state without crashing,
 * leaking or growing beyond what it was fed.
 *
 * Input: byte 0 picks the set-up (bit 0: RequireAndVerifyClientCert with a client CA and
 * client_allowed_sans; bits 1-3: the chunk size the rest is fed in, 1 to 128 bytes, where
 * 1, 2 and 4 are taken by one input in four, fuzz_full_path(), and 8 by the others); the
 * rest is the client's stream. The server's certificate is made once, in memory (an
 * EC P-256 key, self-signed).
 *
 * Checked: a status is TLSMEM_OK, TLSMEM_CLOSED or TLSMEM_FAILED, and once failed or closed it
 * stays so; an established connection has no failure reason; a handshake failure's
 * reason is one the engine decides; the plaintext never exceeds the bytes fed plus a
 * record; sealing fails before the handshake and after close_notify.
 * Seeds: tests/fuzz/seeds/fuzz_tlsmem/ (ClientHellos of TLS 1.3, 1.2 and with ALPN, and a
 * plain HTTP request).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http/tlsmem.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Fed in pieces of 1, 2 or 4 bytes, a stream takes a handshake step per piece. Only one
 * such input in 2^FULL_PATH_BITS is fed so; the others are fed in pieces of
 * CHEAP_CHUNK_MIN bytes, still a record's header split from its body.
 */
#define FULL_PATH_BITS  2
#define CHEAP_CHUNK_MIN 8

static struct tlsmem_ctx *plain_ctx, *verify_ctx;

static char *pem_of(int (*write)(BIO *, const void *), const void *obj)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p, *out;
    long n;

    if (b == NULL || !write(b, obj))
        abort();
    n = BIO_get_mem_data(b, &p);
    out = malloc((size_t)n + 1);
    if (out == NULL)
        abort();
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}

static int write_cert(BIO *b, const void *x)
{
    return PEM_write_bio_X509(b, (X509 *)x);
}

static int write_key(BIO *b, const void *k)
{
    return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)k, NULL, NULL, 0, NULL, NULL);
}

static struct tlsmem_ctx *make_ctx(const char *cert, const char *key, int verify)
{
    static char *sans[] = { (char *)"scraper.example" };
    struct webcfg_tls c = { 0 };
    struct tlsmem_ctx *ctx = NULL;
    char err[512];

    c.enabled = 1;
    c.cert_pem = (char *)cert;
    c.key_pem = (char *)key;
    c.cert_origin = (char *)"tls_server_config.cert";
    c.key_origin = (char *)"tls_server_config.key";
    c.min_version = TLS1_2_VERSION;
    c.max_version = TLS1_3_VERSION;
    c.prefer_server_cipher_suites = 1;
    if (verify) {
        c.client_auth = WEBCFG_REQUIRE_AND_VERIFY_CLIENT_CERT;
        c.client_ca_pem = (char *)cert;
        c.client_ca_origin = (char *)"tls_server_config.client_ca";
        c.client_allowed_sans = sans;
        c.nclient_allowed_sans = 1;
    }
    if (tlsmem_ctx_new(&ctx, &c, "fuzz.yml", err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_tls: the built-in context is refused: %s\n", err);
        abort();
    }
    return ctx;
}

/*
 * OpenSSL's allocator, as its own default but for a free of NULL, which returns at once.
 * OpenSSL empties its error queue at each step of a handshake, freeing 32 NULL pointers
 * each time; through the sanitizer's free() that cost most of a run fed byte by byte.
 * Every real allocation still goes through malloc() and free(), checked as before.
 */
static void *crypto_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return malloc(n);
}

static void *crypto_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return realloc(p, n);
}

/* Not instrumented: the branch says nothing about the input, and it runs millions of times. */
__attribute__((no_sanitize("coverage"))) static void crypto_free(void *p, const char *file,
                                                                 int line)
{
    (void)file;
    (void)line;
    if (p != NULL)
        free(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    EVP_PKEY *k;
    X509 *x;
    char *cert, *key;

    (void)argc;
    (void)argv;
    if (!CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free)) {
        fprintf(stderr, "fuzz_tlsmem: OpenSSL allocated before the fuzz target could set its "
                        "allocator\n");
        abort();
    }
    k = EVP_EC_gen("P-256");
    x = X509_new();
    if (k == NULL || x == NULL)
        abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    if (!X509_sign(x, k, EVP_sha256()))
        abort();
    cert = pem_of(write_cert, x);
    key = pem_of(write_key, k);
    plain_ctx = make_ctx(cert, key, 0);
    verify_ctx = make_ctx(cert, key, 1);
    free(cert);
    free(key);
    X509_free(x);
    EVP_PKEY_free(k);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* They keep their storage from run to run: a record's room is not allocated anew. */
    static struct buf plain = BUF_INIT, out = BUF_INIT;
    struct tlsmem_conn *t;
    enum tlsmem_status st = TLSMEM_OK, last = TLSMEM_OK;
    size_t chunk, fed = 0;

    if (size < 1)
        return 0;
    buf_reset(&plain);
    buf_reset(&out);
    t = tlsmem_conn_new((data[0] & 1) ? verify_ctx : plain_ctx);
    chunk = (size_t)1 << ((data[0] >> 1) & 7);
    if (chunk < CHEAP_CHUNK_MIN && !fuzz_full_path(data, size, FULL_PATH_BITS))
        chunk = CHEAP_CHUNK_MIN;
    assert(tlsmem_conn_seal(t, "x", 1) == -EPIPE);
    for (size_t i = 1; i < size; i += chunk) {
        size_t n = size - i < chunk ? size - i : chunk;

        st = tlsmem_conn_feed(t, data + i, n, &plain);
        fed += n;
        assert(st == TLSMEM_OK || st == TLSMEM_CLOSED || st == TLSMEM_FAILED);
        assert(last == TLSMEM_OK || st == last); /* failed and closed are final */
        last = st;
        assert(plain.len <= fed + 16384);
        tlsmem_conn_take(t, &out);
        buf_reset(&out);
        if (tlsmem_conn_established(t))
            assert(tlsmem_conn_failure(t) == TLSMEM_FAIL_NONE);
        else if (tlsmem_conn_failure(t) != TLSMEM_FAIL_NONE)
            assert(tlsmem_conn_failure(t) < TLSMEM_FAIL_EARLY_EOF);
    }
    if (tlsmem_conn_established(t) && st == TLSMEM_OK) {
        assert(tlsmem_conn_seal(t, "HTTP/1.1 200 OK\r\n\r\n", 19) == 0);
        tlsmem_conn_close_notify(t);
        assert(tlsmem_conn_seal(t, "x", 1) == -EPIPE);
    }
    tlsmem_conn_take(t, &out);
    tlsmem_conn_free(t);
    return 0;
}
