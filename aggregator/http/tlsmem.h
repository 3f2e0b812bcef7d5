/*
 * tlsmem: TLS for the HTTP listeners with OpenSSL, on memory BIOs, so that the sockets stay
 * libuv's: the transport feeds the ciphertext it read and gets plaintext back, and hands
 * plaintext in to get the ciphertext to write.
 *
 * A domain module: no libuv, no clock, no global state beyond OpenSSL's own. A server
 * context (struct tlsmem_ctx) is built from the web config file's tls_server_config
 * (webcfg.h) on any thread, typically a reload's worker thread, and then shared, by
 * reference, by the connections accepted while it was current: a reload that installs a
 * new one rotates the certificate for new connections and drops nobody. The reference
 * count is atomic, so the last reference may go on any thread; a struct tlsmem_conn belongs
 * to one thread at a time.
 *
 * How tls_server_config maps to OpenSSL, as Go's crypto/tls reads it:
 *   cert, key       the first PEM certificate is the server's, the others its chain; the
 *                   key (PEM, unencrypted) must match the certificate.
 *   client_auth_type
 *                   NoClientCert: no certificate asked for. RequestClientCert: asked for,
 *                   not required, not verified. RequireAnyClientCert: required, not
 *                   verified. VerifyClientCertIfGiven: verified when given.
 *                   RequireAndVerifyClientCert: required and verified.
 *   client_ca       the roots client certificates are verified against (also the names
 *                   sent in the CertificateRequest); none: the system's roots, as Go.
 *   client_allowed_sans
 *                   after the handshake, a client certificate must hold one of these,
 *                   exactly, among its DNS, IP, email or URI subject alternative names; a
 *                   client without a certificate is refused too (unless client_auth_type
 *                   is NoClientCert, which never asks for one, so the list is unused).
 *   min/max_version SSL_CTX_set_min/max_proto_version().
 *   cipher_suites   IANA names mapped to OpenSSL's through SSL_CIPHER_standard_name(), in
 *                   the order given; they govern TLS 1.2 and below. TLS 1.3 suites are
 *                   not configurable, in Go as here: their names are accepted and ignored.
 *   prefer_server_cipher_suites
 *                   SSL_OP_CIPHER_SERVER_PREFERENCE.
 *   curve_preferences
 *                   CurveP256, CurveP384, CurveP521, X25519 as P-256, P-384, P-521, X25519.
 * Always: no renegotiation, ALPN answers "http/1.1" when offered (never h2), buffers are
 * released while a connection is idle.
 */
#ifndef USTATSD_TLSMEM_H
#define USTATSD_TLSMEM_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "config/webcfg.h"

/*
 * Why a handshake failed, counted by the transport (ustatsd_http_tls_handshake_failures_
 * total{reason}). The engine decides the first eight; the transport the last three, as only
 * it sees the socket, the deadline and the queue of handshakes (tlspool.h).
 */
#define TLSMEM_FAIL_MAP(XX)                                                                    \
    XX(PLAIN_HTTP, "plain_http")           /* an HTTP request: the client speaks no TLS */     \
    XX(PROTOCOL, "protocol")               /* not TLS, or malformed */                         \
    XX(VERSION, "version")                 /* no protocol version in common */                 \
    XX(CIPHER, "cipher")                   /* no cipher suite, group or signature in common */ \
    XX(NO_CLIENT_CERT, "no_client_cert")   /* a certificate is required and none was given */  \
    XX(BAD_CLIENT_CERT, "bad_client_cert") /* it did not verify: unknown CA, expired, ... */   \
    XX(CLIENT_SAN, "client_san")           /* none of its SANs is in client_allowed_sans */    \
    XX(CLIENT_ALERT, "client_alert")       /* the client refused: e.g. our certificate */      \
    XX(EARLY_EOF, "eof")                   /* the client left before the end */                \
    XX(INCOMPLETE, "incomplete")           /* closed unfinished: deadline, eviction, stop */   \
    XX(QUEUE_TIMEOUT, "queue_timeout")     /* shed: waited too long for a handshake slot */

enum tlsmem_fail {
#define XX(kind, name) TLSMEM_FAIL_##kind,
    TLSMEM_FAIL_MAP(XX)
#undef XX
        TLSMEM_FAIL_COUNT,
    TLSMEM_FAIL_NONE = TLSMEM_FAIL_COUNT /* no failure: past the reasons, never counted */
};

/* "plain_http", ...: the label value of a reason; "unknown" out of range. */
const char *tlsmem_fail_name(enum tlsmem_fail reason);

struct tlsmem_ctx; /* a server context; private */
struct tlsmem_conn;

/*
 * Build a server context from cfg (which must have enabled set; its strings are only
 * read during the call). file names the web config file in messages. Returns 0 and sets
 * *out (one reference, the caller's), or ERRCODE_CONFIG with a message naming the file,
 * the key and the problem in err, e.g. "web.yml: tls_server_config.key_file: server.key: does not
 * match the certificate". Any thread; it may read the system's CA store (files).
 */
int tlsmem_ctx_new(struct tlsmem_ctx **out, const struct webcfg_tls *cfg, const char *file,
                   char *err, size_t errlen);

/* Take one more reference; returns ctx. Any thread. */
struct tlsmem_ctx *tlsmem_ctx_ref(struct tlsmem_ctx *ctx);

/* Drop a reference (ctx may be NULL); the last one frees the context. Any thread. */
void tlsmem_ctx_unref(struct tlsmem_ctx *ctx);

/*
 * The SHA-256 fingerprint of the context's certificate, as 64 lowercase hex digits and a
 * NUL, into out (at least 65 bytes), for logs: what a reload installed.
 */
void tlsmem_ctx_fingerprint(const struct tlsmem_ctx *ctx, char *out);

/*
 * The context's certificate's notAfter, as Unix time (0 if OpenSSL could not read it), and
 * where it came from: cert_file as written in the web config file, or
 * "tls_server_config.cert" when inline. For the expiry warning and
 * ustatsd_tls_certificate_expiry_timestamp_seconds.
 */
int64_t tlsmem_ctx_not_after(const struct tlsmem_ctx *ctx);
const char *tlsmem_ctx_cert_origin(const struct tlsmem_ctx *ctx);

/* A certificate is worth a warning when it expires within 14 days, or has expired. */
#define TLSMEM_EXPIRY_WARN_S (14 * 86400)

enum tlsmem_expiry {
    TLSMEM_VALID = 0,        /* more than 14 days left */
    TLSMEM_EXPIRES_SOON = 1, /* notAfter within 14 days of now */
    TLSMEM_EXPIRED = 2,      /* notAfter is now or past */
};

/* What a certificate with this notAfter is at now (both Unix time, seconds). */
enum tlsmem_expiry tlsmem_expiry_check(int64_t not_after, int64_t now);

/* A server-side engine for one connection, holding a reference to ctx. Never NULL: out of
 * memory aborts. */
struct tlsmem_conn *tlsmem_conn_new(struct tlsmem_ctx *ctx);

/* Free t (may be NULL) and drop its reference to the context. */
void tlsmem_conn_free(struct tlsmem_conn *t);

enum tlsmem_status {
    TLSMEM_OK = 0,     /* go on: more input is needed, or plaintext was appended */
    TLSMEM_CLOSED = 1, /* the client sent close_notify: no more input will be read */
    TLSMEM_FAILED = 2, /* fatal; tlsmem_conn_failure() says why if it was the handshake */
};

/*
 * Feed len bytes of ciphertext read from the socket; the handshake advances, and the
 * plaintext they complete is appended to plain (at most len plus one record, 16 KiB,
 * beyond what earlier calls held back). Afterwards there may be ciphertext to send
 * (handshake messages, an alert, session tickets): call tlsmem_conn_take() after every
 * call, whatever it returned. After TLSMEM_CLOSED or TLSMEM_FAILED, further calls do nothing
 * and return the same.
 */
enum tlsmem_status tlsmem_conn_feed(struct tlsmem_conn *t, const void *data, size_t len,
                                    struct buf *plain);

/*
 * Encrypt len bytes of plaintext (the handshake must be complete); the ciphertext waits
 * for tlsmem_conn_take(). Returns 0; -EPIPE when the connection failed or is closed (or
 * still in its handshake), writing nothing; ERRCODE_TLS when OpenSSL refuses the write,
 * which fails the connection.
 */
int tlsmem_conn_seal(struct tlsmem_conn *t, const void *data, size_t len);

/* Queue close_notify (once, and only on an established connection that has not failed). */
void tlsmem_conn_close_notify(struct tlsmem_conn *t);

/* Append the ciphertext waiting to be sent to out, and forget it. Returns its length. */
size_t tlsmem_conn_take(struct tlsmem_conn *t, struct buf *out);

/* Whether the handshake completed and the client passed every check. */
int tlsmem_conn_established(const struct tlsmem_conn *t);

/* Why the handshake failed (TLSMEM_FAIL_NONE: it did not, or not yet, or it was not the
 * handshake that failed). */
enum tlsmem_fail tlsmem_conn_failure(const struct tlsmem_conn *t);

#endif
