#include "cli/clifetch.h"
#include "base/errcode.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 10000L
#define SECRET_MAX         1024 /* bytes of a token or a password */

void clifetch_opts_init(struct clifetch_opts *o)
{
    const char *env = getenv("USTATSD_URL");

    memset(o, 0, sizeof(*o));
    o->url = env != NULL && env[0] != '\0' ? env : CLIFETCH_DEFAULT_URL;
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
}

int clifetch_take_opt(struct clifetch_opts *o, int argc, char **argv, int *i, char *err,
                      size_t errlen)
{
    static const struct {
        const char *name;
        size_t field; /* offset of the const char * it sets */
    } valued[] = {
        { "--url", offsetof(struct clifetch_opts, url) },
        { "--token-file", offsetof(struct clifetch_opts, token_file) },
        { "--user", offsetof(struct clifetch_opts, user) },
        { "--password-file", offsetof(struct clifetch_opts, password_file) },
        { "--cacert", offsetof(struct clifetch_opts, cacert) },
        { "--cert", offsetof(struct clifetch_opts, cert) },
        { "--key", offsetof(struct clifetch_opts, key) },
    };
    const char *arg = argv[*i];

    if (strcmp(arg, "--insecure") == 0) {
        o->insecure = 1;
        return 1;
    }
    if (strcmp(arg, "--timeout") == 0) {
        char *end;
        double s;

        if (*i + 1 >= argc) {
            snprintf(err, errlen, "--timeout needs a number of seconds");
            return ERRCODE_BADPARAM;
        }
        errno = 0;
        s = strtod(argv[*i + 1], &end);
        if (errno != 0 || end == argv[*i + 1] || *end != '\0' || !(s > 0 && s <= 3600)) {
            snprintf(err, errlen, "--timeout \"%s\": give seconds, more than 0 and at most 3600",
                     argv[*i + 1]);
            return ERRCODE_BADPARAM;
        }
        o->timeout_ms = (long)(s * 1000);
        *i += 1;
        return 1;
    }
    for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
        if (strcmp(arg, valued[k].name) != 0)
            continue;
        if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
            snprintf(err, errlen, "%s needs a value", valued[k].name);
            return ERRCODE_BADPARAM;
        }
        *(const char **)((char *)o + valued[k].field) = argv[*i + 1];
        *i += 1;
        return 1;
    }
    return 0;
}

void clifetch_usage(FILE *out)
{
    fputs("  --url URL             the daemon's listener: http://HOST:PORT, https://HOST:PORT\n"
          "                        or unix:PATH (default: $USTATSD_URL, else " CLIFETCH_DEFAULT_URL
          ")\n"
          "  --token-file FILE     send its first line as a bearer token\n"
          "  --user NAME           basic auth; the password from --password-file FILE or "
          "$USTATSD_PASSWORD\n"
          "  --cacert FILE         the CA that signed the daemon's certificate\n"
          "  --cert FILE --key FILE  a client certificate\n"
          "  --insecure            do not verify the daemon's certificate\n"
          "  --timeout SECONDS     per request (default 10)\n",
          out);
}

/* The first line of path, without its end of line, into out. Returns 0 or -1 (err set). */
static int read_secret(const char *what, const char *path, char *out, size_t outlen, char *err,
                       size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (fgets(out, (int)outlen, f) == NULL) {
        snprintf(err, errlen, "%s %s: empty", what, path);
        fclose(f);
        return -1;
    }
    fclose(f);
    n = strcspn(out, "\r\n");
    out[n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "%s %s: its first line is empty", what, path);
        return -1;
    }
    return 0;
}

static size_t body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    buf_add(arg, data, size * nmemb);
    return size * nmemb;
}

/* Whether the library is set up: once per process, before the first handle. */
static int curl_ready(void)
{
    static int state; /* 0: not yet, 1: ready, -1: failed */

    if (state == 0)
        state = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : -1;
    return state == 1;
}

int clifetch_get(const struct clifetch_opts *o, const char *path, struct buf *out, long *status,
                 char *err, size_t errlen)
{
    char secret[SECRET_MAX], header[SECRET_MAX + 32], curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    struct buf url;
    CURLcode rc;
    CURL *h;
    int ret = ERRCODE_ABSENT;

    if (!curl_ready()) {
        snprintf(err, errlen, "libcurl could not be initialised");
        return ERRCODE_ABSENT;
    }
    buf_init(&url);
    if (strncmp(o->url, "unix:", 5) == 0) /* a listener on a Unix socket */
        buf_adds(&url, "http://localhost");
    else
        buf_adds(&url, o->url);
    while (url.len > 0 && url.ptr[url.len - 1] == '/')
        url.len--;
    buf_adds(&url, path);
    buf_addch(&url, '\0');
    h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "libcurl could not make a handle");
        buf_release(&url);
        return ERRCODE_ABSENT;
    }
    curl_easy_setopt(h, CURLOPT_URL, url.ptr);
    if (strncmp(o->url, "unix:", 5) == 0)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, o->url + 5);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding libcurl decodes */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ustatsd-cli");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (o->token_file != NULL) {
        if (read_secret("--token-file", o->token_file, secret, sizeof(secret), err, errlen) != 0)
            goto done;
        snprintf(header, sizeof(header), "Authorization: Bearer %s", secret);
        headers = curl_slist_append(headers, header);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
    if (o->user != NULL) {
        const char *pw = getenv("USTATSD_PASSWORD");

        if (o->password_file != NULL) {
            if (read_secret("--password-file", o->password_file, secret, sizeof(secret), err,
                            errlen) != 0)
                goto done;
            pw = secret;
        }
        if (pw == NULL) {
            snprintf(err, errlen, "--user %s: give --password-file FILE or $USTATSD_PASSWORD",
                     o->user);
            goto done;
        }
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pw);
    }
    if (o->cacert != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
    if (o->cert != NULL)
        curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert);
    if (o->key != NULL)
        curl_easy_setopt(h, CURLOPT_SSLKEY, o->key);
    if (o->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s%s%s: %s", o->url, strncmp(o->url, "unix:", 5) == 0 ? " " : "",
                 strncmp(o->url, "unix:", 5) == 0 ? path : "",
                 curl_err[0] ? curl_err : curl_easy_strerror(rc));
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    ret = 0;
done:
    explicit_bzero(secret, sizeof(secret));
    explicit_bzero(header, sizeof(header));
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    buf_release(&url);
    return ret;
}
