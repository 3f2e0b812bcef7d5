/*
 * The credentials a request needs: its path's bearer token (or the server's), basic
 * auth of the server's users (basicauth.h runs bcrypt off the loop), either one when
 * both are set, neither for the probes. See internal.h.
 */
#include "http/internal.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

int httpauth_token_ok(const char *token, size_t n)
{
    if (n > HTTPD_MAX_TOKEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (token[i] <= ' ' || token[i] > '~')
            return 0;
    return 1;
}

static int bearer_ok(const struct httpd_conn *c, const char *bearer, size_t bearer_len)
{
    const char *a = c->req.authorization;
    size_t n;
    unsigned char diff;

    if (strncasecmp(a, "Bearer ", 7) != 0)
        return 0;
    a += 7;
    while (*a == ' ')
        a++;
    n = strlen(a);
    /* Constant time in the token's length: every byte of the token is compared. */
    diff = n != bearer_len;
    for (size_t i = 0; i < bearer_len; i++)
        diff |= (unsigned char)(bearer[i] ^ (i < n ? a[i] : 0));
    return diff == 0;
}

/* 401 with a challenge for each credential the path takes (RFC 9110 11.6.1). */
static void unauthorized(struct httpd_conn *c, int basic, int bearer)
{
    httpconn_respond_plain(
        c, 401,
        basic && bearer ? "WWW-Authenticate: Basic realm=\"ustatsd\", charset=\"UTF-8\"\r\n"
                          "WWW-Authenticate: Bearer\r\n"
        : basic         ? "WWW-Authenticate: Basic realm=\"ustatsd\", charset=\"UTF-8\"\r\n"
                        : "WWW-Authenticate: Bearer\r\n");
}

/* The bcrypt work came back: the request goes on where httpauth_check() left it. */
static void basic_done(int allowed, void *arg)
{
    struct httpd_conn *c = arg;

    assert(c->state == CONN_DEFERRED);
    c->auth_work = NULL;
    c->cancel = NULL;
    c->arg = NULL;
    c->state = CONN_HANDLING;
    c->authenticated = allowed;
    if (allowed)
        httpconn_serve(c);
    else
        unauthorized(c, 1, c->auth_bearer);
}

/* The connection died while its check was in flight. */
static void basic_cancel(void *arg)
{
    struct httpd_conn *c = arg;

    basicauth_abandon(c->auth_work);
    c->auth_work = NULL;
}

/* The credentials the request's path takes: its bearer token (or the server's), basic auth. */
static void path_credentials(const struct httpd_conn *c, const char **bearer, size_t *bearer_len,
                             struct basicauth **basic)
{
    const struct httpd_server *srv = c->srv;
    const struct request *r = &c->req;

    *bearer = srv->bearer;
    *bearer_len = srv->bearer_len;
    *basic = srv->basic;
    if (c->route != ROUTES_NONE && srv->handlers[c->route].own_bearer) {
        *bearer = srv->handlers[c->route].bearer;
        *bearer_len = srv->handlers[c->route].bearer_len;
    }
    if (strcmp(r->path, "/-/healthy") == 0 || strcmp(r->path, "/-/ready") == 0) {
        *bearer = NULL; /* probes never need credentials */
        *basic = NULL;
    }
}

void httpd_respond_unauthorized(struct httpd_conn *c)
{
    const char *bearer;
    size_t bearer_len;
    struct basicauth *basic;

    path_credentials(c, &bearer, &bearer_len, &basic);
    if (bearer == NULL && basic == NULL) /* nothing to sign in with: a plain 401 */
        httpconn_respond_plain(c, 401, NULL);
    else
        unauthorized(c, basic != NULL, bearer != NULL);
}

/*
 * Credentials: the path's bearer token, or basic auth of the server's users, either one
 * when both are set. An anonymous route serves a request without Authorization as it is,
 * unauthenticated. A basic check that has to run bcrypt defers the request (CONN_DEFERRED,
 * as httpd_defer(), so that a dying connection abandons the check) and
 * httpconn_serve() runs from basic_done().
 */
void httpauth_check(struct httpd_conn *c)
{
    const struct httpd_server *srv = c->srv;
    const struct request *r = &c->req;
    const char *bearer;
    size_t bearer_len;
    struct basicauth *basic;

    path_credentials(c, &bearer, &bearer_len, &basic);
    c->authenticated = 1;
    if ((bearer == NULL && basic == NULL) || (bearer != NULL && bearer_ok(c, bearer, bearer_len))) {
        httpconn_serve(c);
        return;
    }
    if (r->authorization[0] == '\0' && c->route != ROUTES_NONE &&
        srv->handlers[c->route].anonymous) {
        c->authenticated = 0;
        httpconn_serve(c);
        return;
    }
    if (basic == NULL) {
        unauthorized(c, 0, 1);
        return;
    }
    c->auth_bearer = bearer != NULL;
    switch (basicauth_check(basic, r->authorization, basic_done, c, &c->auth_work)) {
    case BASICAUTH_ALLOW:
        httpconn_serve(c);
        break;
    case BASICAUTH_PENDING:
        c->cancel = basic_cancel;
        c->arg = c;
        c->state = CONN_DEFERRED;
        break;
    case BASICAUTH_BUSY:
        httpconn_respond_plain(c, 503, "Retry-After: 1\r\n");
        break;
    case BASICAUTH_DENY:
    case BASICAUTH_ABSENT:
        unauthorized(c, 1, c->auth_bearer);
        break;
    }
}
