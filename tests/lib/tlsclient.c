#include "tlsclient.h"
#include "daemon.h"
#include "httpc.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* The reason of the last OpenSSL error, and the verification result, into t->error. */
static int fail(struct tlsclient *t, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[256] = "";
    long v = t->ssl ? SSL_get_verify_result(t->ssl) : X509_V_OK;

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    snprintf(t->error, sizeof(t->error), "%s: %s%s%s", what, e ? reason : strerror(errno),
             v != X509_V_OK ? "; verify: " : "",
             v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
    ERR_clear_error();
    return -1;
}

static void hex_digest(X509 *x, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    out[0] = '\0';
    if (x != NULL && X509_digest(x, EVP_sha256(), md, &n) == 1)
        for (unsigned i = 0; i < n && i < 32; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int tlsclient_open(struct tlsclient *t, const char *addr, const struct tlsclient_opts *o)
{
    struct httpc h;
    int ms = o->timeout_ms > 0 ? o->timeout_ms : 5000, rc;
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    const char *name = o->server_name ? o->server_name : "localhost";

    memset(t, 0, sizeof(*t));
    t->fd = -1;
    ERR_clear_error();
    rc = httpc_open(&h, addr, ms);
    if (rc != 0) {
        errno = -rc;
        return fail(t, "connect");
    }
    t->fd = h.fd;
    h.fd = -1;
    httpc_close(&h);
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL)
        return fail(t, "SSL_CTX_new");
    if (o->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL) != 1)
            return fail(t, "ca_file");
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (o->cert_file != NULL &&
        (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1 ||
         SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) != 1))
        return fail(t, "client certificate");
    if ((o->min_version && SSL_CTX_set_min_proto_version(t->ctx, o->min_version) != 1) ||
        (o->max_version && SSL_CTX_set_max_proto_version(t->ctx, o->max_version) != 1))
        return fail(t, "version");
    if (o->ciphers != NULL && SSL_CTX_set_cipher_list(t->ctx, o->ciphers) != 1)
        return fail(t, "ciphers");
    if (o->groups != NULL && SSL_CTX_set1_groups_list(t->ctx, o->groups) != 1)
        return fail(t, "groups");
    t->ssl = SSL_new(t->ctx);
    if (t->ssl == NULL)
        return fail(t, "SSL_new");
    SSL_set_fd(t->ssl, t->fd);
    SSL_set_tlsext_host_name(t->ssl, name);
    if (o->ca_file != NULL)
        SSL_set1_host(t->ssl, name);
    if (SSL_connect(t->ssl) != 1)
        return fail(t, "handshake");
    hex_digest(SSL_get0_peer_certificate(t->ssl), t->fingerprint);
    return 0;
}

int tlsclient_request(struct tlsclient *t, const char *target, const char *headers)
{
    struct buf b = BUF_INIT;
    size_t done;
    int rc = 0;

    buf_addf(&b, "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", target, headers ? headers : "");
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, b.ptr, b.len, &done) != 1 || done != b.len)
        rc = fail(t, "write");
    buf_release(&b);
    return rc;
}

/* More plaintext into t->in: 1, 0 at the server's close, -1 on error. */
static int fill(struct tlsclient *t)
{
    size_t n = 0;
    int rc, e;

    if (t->eof)
        return 0;
    buf_grow(&t->in, 65536);
    ERR_clear_error();
    rc = SSL_read_ex(t->ssl, t->in.ptr + t->in.len, 65536, &n);
    if (rc == 1) {
        t->in.len += n;
        return 1;
    }
    e = SSL_get_error(t->ssl, 0);
    if (e == SSL_ERROR_ZERO_RETURN) {
        t->eof = t->close_notify = 1;
        return 0;
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        t->eof = 1; /* FIN without close_notify */
        return 0;
    }
    if (e == SSL_ERROR_SSL &&
        ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        t->eof = 1;
        ERR_clear_error();
        return 0;
    }
    return fail(t, "read");
}

/* The end of the header block in t->in, or 0 while incomplete. */
static size_t head_end(const struct tlsclient *t)
{
    for (size_t i = 3; i < t->in.len; i++)
        if (memcmp(t->in.ptr + i - 3, "\r\n\r\n", 4) == 0)
            return i + 1;
    return 0;
}

/* n bytes of t->in, waiting for them; -1 when the server closed first. */
static int need(struct tlsclient *t, size_t n)
{
    while (t->in.len < n) {
        int rc = fill(t);

        if (rc <= 0) {
            if (rc == 0)
                snprintf(t->error, sizeof(t->error), "closed mid-response");
            return -1;
        }
    }
    return 0;
}

static const char *find_header(const struct buf *h, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = h->ptr; p != NULL && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : p)
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            return p + n + 1;
    return NULL;
}

int tlsclient_read(struct tlsclient *t, struct tlsclient_response *r)
{
    size_t end;
    const char *v, *eol;

    memset(r, 0, sizeof(*r));
    while ((end = head_end(t)) == 0) {
        int rc = fill(t);

        if (rc <= 0) {
            if (rc == 0)
                snprintf(t->error, sizeof(t->error), "closed before a response");
            return -1;
        }
    }
    if (sscanf(t->in.ptr, "HTTP/1.%*d %d", &r->status) != 1) {
        snprintf(t->error, sizeof(t->error), "bad status line");
        return -1;
    }
    eol = strstr(t->in.ptr, "\r\n");
    buf_add(&r->headers, eol + 2, end - (size_t)(eol + 2 - t->in.ptr));
    buf_addch(&r->headers, '\0');
    r->headers.len--;
    buf_consume(&t->in, end);
    if ((v = find_header(&r->headers, "content-length")) != NULL) {
        size_t n = strtoull(v, NULL, 10);

        if (need(t, n) != 0)
            goto bad;
        buf_add(&r->body, t->in.ptr, n);
        buf_consume(&t->in, n);
    } else if ((v = find_header(&r->headers, "transfer-encoding")) != NULL &&
               strncasecmp(v + strspn(v, " "), "chunked", 7) == 0) {
        for (;;) {
            size_t size, i;

            for (i = 0;; i++) {
                if (need(t, i + 2) != 0)
                    goto bad;
                if (memcmp(t->in.ptr + i, "\r\n", 2) == 0)
                    break;
            }
            size = strtoull(t->in.ptr, NULL, 16);
            buf_consume(&t->in, i + 2);
            if (need(t, size + 2) != 0)
                goto bad;
            buf_add(&r->body, t->in.ptr, size);
            buf_consume(&t->in, size + 2);
            if (size == 0)
                break;
        }
    } else {
        while (fill(t) > 0)
            ;
        buf_add(&r->body, t->in.ptr, t->in.len);
        buf_reset(&t->in);
    }
    buf_addch(&r->body, '\0');
    r->body.len--;
    return 0;
bad:
    tlsclient_response_release(r);
    return -1;
}

int tlsclient_wait_closed(struct tlsclient *t)
{
    int rc;

    while ((rc = fill(t)) > 0)
        buf_reset(&t->in);
    return rc;
}

void tlsclient_response_release(struct tlsclient_response *r)
{
    buf_release(&r->headers);
    buf_release(&r->body);
}

void tlsclient_close(struct tlsclient *t)
{
    if (t->ssl != NULL) {
        if (SSL_is_init_finished(t->ssl) && !t->eof)
            SSL_shutdown(t->ssl);
        SSL_free(t->ssl);
    }
    SSL_CTX_free(t->ctx);
    if (t->fd >= 0)
        close(t->fd);
    buf_release(&t->in);
    ERR_clear_error();
    t->ssl = NULL;
    t->ctx = NULL;
    t->fd = -1;
}

int tlsclient_get(const char *addr, const struct tlsclient_opts *o, const char *target,
                  const char *headers, struct buf *body, char *err)
{
    struct tlsclient t;
    struct tlsclient_response r;
    struct buf h = BUF_INIT;
    int status = -1;

    buf_addf(&h, "Connection: close\r\n%s", headers ? headers : "");
    if (tlsclient_open(&t, addr, o) == 0 && tlsclient_request(&t, target, h.ptr) == 0 &&
        tlsclient_read(&t, &r) == 0) {
        status = r.status;
        if (body != NULL)
            buf_add(body, r.body.ptr, r.body.len);
        tlsclient_response_release(&r);
    } else {
        snprintf(err, 512, "%s", t.error);
    }
    tlsclient_close(&t);
    buf_release(&h);
    return status;
}

int tlscerts_make(char *dir)
{
    char cmd[512];
    const char *src = getenv("USTATSD_SOURCE_DIR");

    snprintf(dir, 64, "/tmp/ustatsd-tls-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "sh '%s/tests/lib/tlscerts.sh' '%s'", src ? src : USTATSD_SOURCE_DIR,
             dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "%s failed\n", cmd);
        return -1;
    }
    return 0;
}

const char *tlscerts_path(const char *dir, const char *name)
{
    static char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

char *tlscerts_read(const char *dir, const char *name)
{
    return daemon_read_file(tlscerts_path(dir, name));
}

void tlscerts_remove(const char *dir)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "%s failed\n", cmd);
}

void tlscerts_fingerprint(const char *dir, const char *name, char *out)
{
    FILE *f = fopen(tlscerts_path(dir, name), "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    hex_digest(x, out);
    X509_free(x);
    if (f)
        fclose(f);
}

static char shared_dir[64];
static pid_t shared_owner;

static void shared_remove(void)
{
    if (shared_dir[0] != '\0' && getpid() == shared_owner)
        tlscerts_remove(shared_dir);
}

void tlscerts_share(void)
{
    if (tlscerts_make(shared_dir) != 0)
        return;
    shared_owner = getpid();
    setenv("USTATSD_TLS_CERTS", shared_dir, 1);
    atexit(shared_remove);
}

const char *tlscerts_dir(void)
{
    return getenv("USTATSD_TLS_CERTS");
}
