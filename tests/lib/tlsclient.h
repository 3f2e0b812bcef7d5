/*
 * tlsclient: a tiny blocking HTTPS client for tests, on OpenSSL, and the certificates
 * the TLS tests share (tests/lib/tlscerts.sh, made at test time with the openssl tool).
 *
 * Every socket operation has a timeout, so a test that waits on a broken server fails
 * instead of hanging. One connection, one thread.
 *
 *     struct tlsclient t;
 *     struct tlsclient_opts o = { .ca_file = ".../ca.crt", .cert_file = ..., .key_file = ... };
 *     if (tlsclient_open(&t, "127.0.0.1:9464", &o) == 0 &&
 *         tlsclient_request(&t, "/metrics", NULL) == 0 && tlsclient_read(&t, &r) == 0) ...
 *     tlsclient_close(&t);
 */
#ifndef USTATSD_TESTS_TLSCLIENT_H
#define USTATSD_TESTS_TLSCLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "base/buf.h"

struct tlsclient_opts {
    const char *ca_file;   /* verify the server against it; NULL: no verification */
    const char *cert_file; /* the client's certificate, or NULL */
    const char *key_file;
    const char *server_name;      /* SNI and the name checked; NULL: "localhost" */
    int min_version, max_version; /* TLS1_2_VERSION...; 0: OpenSSL's defaults */
    const char *ciphers;          /* TLS <= 1.2 cipher list (OpenSSL's names), or NULL */
    const char *groups;           /* e.g. "P-384", or NULL */
    int timeout_ms;               /* 0: 5000 */
};

struct tlsclient {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char fingerprint[65]; /* SHA-256 of the server's certificate, lowercase hex */
    char error[512];      /* why the last call failed */
    struct buf in;        /* plaintext read and not yet parsed */
    int eof;              /* the server closed */
    int close_notify;     /* ... with close_notify first */
};

struct tlsclient_response {
    int status;
    struct buf headers; /* raw "Name: value\r\n" lines */
    struct buf body;    /* de-chunked; NUL-terminated (the NUL not counted in len) */
};

/*
 * Connect to addr (as httpc_open(): "host:port", "[v6]:port", "unix:/path") and complete
 * the handshake, and read once more (TLS 1.3 decides on a client certificate after the
 * client's Finished: a refusal shows as an alert right after). Returns 0, or -1 with
 * t->error saying why (the OpenSSL reason, the verification result). Call
 * tlsclient_close() in either case.
 */
int tlsclient_open(struct tlsclient *t, const char *addr, const struct tlsclient_opts *o);

/* Send "GET target HTTP/1.1" with Host and the extra headers (complete lines, or NULL). */
int tlsclient_request(struct tlsclient *t, const char *target, const char *headers);

/* Read one response (Content-Length, chunked, or until close). 0, or -1 with t->error. */
int tlsclient_read(struct tlsclient *t, struct tlsclient_response *r);

/* Wait for the server to close; sets t->eof and t->close_notify. 0, or -1 on timeout. */
int tlsclient_wait_closed(struct tlsclient *t);

void tlsclient_response_release(struct tlsclient_response *r);

/* close_notify (when the connection is up) and close. Safe to call twice. */
void tlsclient_close(struct tlsclient *t);

/*
 * One GET on a fresh connection, with Connection: close; the status, or -1 with the
 * reason in err (at least 512 bytes). body (may be NULL) gets the body.
 */
int tlsclient_get(const char *addr, const struct tlsclient_opts *o, const char *target,
                  const char *headers, struct buf *body, char *err);

/*
 * Make the test certificates (tests/lib/tlscerts.sh) in a new temporary directory,
 * whose name goes to dir (at least 64 bytes). Returns 0, or -1 (with a message on
 * stderr). tlscerts_path(dir, "ca.crt") is a static buffer, valid until the next call.
 */
int tlscerts_make(char *dir);
const char *tlscerts_path(const char *dir, const char *name);
/* The file's text, malloc'd and NUL-terminated, or NULL when unreadable. */
char *tlscerts_read(const char *dir, const char *name);
/*
 * For a test program's ReportHook(PRE_ALL) (in the runner): tlscerts_make() once, the
 * directory published as $USTATSD_TLS_CERTS to the test processes, removed when the runner
 * exits. tlscerts_dir() is that directory in a test (NULL when the hook did not run).
 */
void tlscerts_share(void);
const char *tlscerts_dir(void);
/* rm -rf dir */
void tlscerts_remove(const char *dir);
/* The SHA-256 fingerprint of the certificate file, as tlsclient's. */
void tlscerts_fingerprint(const char *dir, const char *name, char *out);

#endif
