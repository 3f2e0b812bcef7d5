/*
 * End to end through the real binary: the bearer token file is read again on SIGHUP (the
 * old token stops working, the new one works), a bad new file refuses the reload and
 * keeps the old token, a bad file refuses the start; basic auth users and extra headers
 * of the web config file (--web.config.file), swapped on SIGHUP; and malformed requests
 * get 400; and a user's first login gets in while others flood wrong passwords at its
 * name, at another user's and at unknown names.
 */
#include <criterion/criterion.h>

#include <crypt.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon.h"
#include "httpc.h"
#include "waitfor.h"

static struct daemon d;
static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/ustatsd-auth-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void cleanup(void)
{
    char cmd[128];

    if (d.pid != 0)
        cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static const char *token_path(void)
{
    static char path[128];

    snprintf(path, sizeof(path), "%s/token", dir);
    return path;
}

static void write_token(const void *data, size_t len)
{
    FILE *f = fopen(token_path(), "w");

    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* An open default endpoint (for the reload counters) and a guarded one on its own socket. */
static char *auth_config(void)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"families\": [{\"name\": \"jobs\", \"type\": \"counter\", \"help\": \"Jobs.\"}],"
             " \"endpoints\": [{\"name\": \"sec\", \"listen\": \"unix:%s/sec.sock\","
             "  \"path\": \"/sec\", \"bearer_token_file\": \"%s/token\"}]}",
             dir, dir);
    return buf;
}

/* The status of GET /sec with "Authorization: Bearer <token>". */
static int get_sec(const char *token)
{
    char addr[128], hdr[384];
    struct httpc_response r;
    int status;

    snprintf(addr, sizeof(addr), "unix:%s/sec.sock", dir);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
    cr_assert_eq(httpc_get(addr, "/sec", hdr, &r), 0);
    status = r.status;
    httpc_response_release(&r);
    return status;
}

static void reload_and_wait(const char *result, double want)
{
    char series[96];

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want, "%s", series);
}

/* The debug view's daemon.reloads.last_error holds needle. */
static void last_error_has(const char *needle)
{
    char *body = NULL;

    cr_assert_eq(daemon_get(&d, "/debug?section=daemon", NULL, &body), 200);
    cr_assert_not_null(strstr(body, needle), "%s not in %s", needle, body);
    free(body);
}

Test(e2e_auth, sighup_rotates_the_bearer_token_and_refuses_a_bad_file, .fini = cleanup)
{
    char big[300];

    make_dir();
    write_token("old-token\n", 10);
    cr_assert_eq(daemon_start(&d, auth_config(), NULL), 0);
    cr_assert_eq(get_sec("old-token"), 200);
    cr_assert_eq(get_sec("new-token"), 401);

    /* Rotation: the reload that reports success is the one that swapped the token. */
    write_token("new-token\r\n", 11);
    reload_and_wait("success", 1);
    cr_assert_eq(get_sec("old-token"), 401);
    cr_assert_eq(get_sec("new-token"), 200);

    /* A NUL: the old reader took "abc". The reload is refused, the running token stays. */
    write_token("abc\0long-secret", 15);
    reload_and_wait("failure", 1);
    cr_assert_eq(get_sec("abc"), 401);
    cr_assert_eq(get_sec("new-token"), 200);
    last_error_has("$.endpoints[0].bearer_token_file (endpoint sec): bearer token file ");
    last_error_has("/token: holds a NUL byte at offset 3");

    write_token("", 0);
    reload_and_wait("failure", 2);
    last_error_has("/token: empty");
    memset(big, 'x', sizeof(big));
    write_token(big, sizeof(big));
    reload_and_wait("failure", 3);
    last_error_has("/token: longer than 256 bytes");
    write_token("two\nlines\n", 10);
    reload_and_wait("failure", 4);
    last_error_has("/token: holds a byte outside 0x21-0x7E at offset 3");
    cr_assert_eq(get_sec("new-token"), 200);

    /* A FIFO in its place: refused at once (the worker would wait for a writer). */
    cr_assert_eq(unlink(token_path()), 0);
    cr_assert_eq(mkfifo(token_path(), 0600), 0);
    reload_and_wait("failure", 5);
    last_error_has("/token: not a regular file");
    cr_assert_eq(get_sec("new-token"), 200);
    cr_assert_eq(unlink(token_path()), 0);

    /* 256 bytes is the documented maximum, and it works. */
    memset(big, 'y', 256);
    big[256] = '\0';
    write_token(big, 256);
    reload_and_wait("success", 2);
    cr_assert_eq(get_sec(big), 200);
    cr_assert_eq(get_sec("new-token"), 401);
}

Test(e2e_auth, a_bad_token_file_refuses_the_start, .fini = cleanup)
{
    char cfgpath[128], *out = NULL;
    FILE *f;

    make_dir();
    write_token("abc\0long-secret", 15);
    snprintf(cfgpath, sizeof(cfgpath), "%s/ustatsd.json", dir);
    f = fopen(cfgpath, "w");
    cr_assert_not_null(f);
    fputs(auth_config(), f);
    fclose(f);
    {
        char sock[128];
        const char *args[] = {
            "--config", cfgpath, "--socket", sock, "--metrics-listen", "", NULL
        };

        snprintf(sock, sizeof(sock), "%s/ingest.sock", dir);
        cr_assert_neq(daemon_run_once(args, &out), 0);
    }
    cr_assert_not_null(strstr(out, "bearer token file "), "%s", out);
    cr_assert_not_null(strstr(out, "/token: holds a NUL byte at offset 3"), "%s", out);
    free(out);
}

/* A bcrypt hash of password at cost (4, the cheapest, unless said), as htpasswd -B would
 * write it. */
static void bcrypt_at(const char *password, unsigned long cost, char out[CRYPT_OUTPUT_SIZE])
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h;

    cr_assert_not_null(cd);
    cr_assert_not_null(crypt_gensalt_rn("$2y$", cost, NULL, 0, salt, sizeof(salt)));
    h = crypt_rn(password, salt, cd, (int)sizeof(*cd));
    cr_assert_not_null(h);
    cr_assert_eq(strlen(h), 60, "%s", h);
    strcpy(out, h);
    free(cd);
}

static void bcrypt(const char *password, char out[CRYPT_OUTPUT_SIZE])
{
    bcrypt_at(password, 4, out);
}

static void write_web(const char *user, const char *password, const char *extra)
{
    char path[128], hash[CRYPT_OUTPUT_SIZE];
    FILE *f;

    bcrypt(password, hash);
    snprintf(path, sizeof(path), "%s/web.yml", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
            "basic_auth_users:\n  %s: '%s'\n%s",
            user, hash, extra);
    cr_assert_eq(fclose(f), 0);
}

/* GET path with basic auth of user:password (NULL: no Authorization); the response. */
static int get_basic(const char *path, const char *user, const char *password,
                     struct httpc_response *r)
{
    char cred[128], hdr[256] = "";

    if (user != NULL) {
        unsigned char b64[200];

        snprintf(cred, sizeof(cred), "%s:%s", user, password);
        EVP_EncodeBlock(b64, (const unsigned char *)cred, (int)strlen(cred));
        snprintf(hdr, sizeof(hdr), "Authorization: Basic %s\r\n", b64);
    }
    cr_assert_eq(httpc_get(d.http, path, hdr, r), 0);
    return r->status;
}

static int status_basic(const char *path, const char *user, const char *password)
{
    struct httpc_response r;
    int status = get_basic(path, user, password, &r);

    httpc_response_release(&r);
    return status;
}

/* Wait (5 s at most) until GET /metrics as user:password answers want. */
static void wait_basic(const char *user, const char *password, int want)
{
    for (int i = 0; i < 500 && status_basic("/metrics", user, password) != want; i++)
        usleep(10000);
    cr_assert_eq(status_basic("/metrics", user, password), want, "%s", user);
}

Test(e2e_auth, web_config_basic_auth_users_and_headers_swap_on_sighup, .fini = cleanup)
{
    char web[160];
    const char *args[] = { "--web.config.file", web, NULL };
    struct httpc_response r;

    make_dir();
    snprintf(web, sizeof(web), "%s/web.yml", dir);
    write_web("alice", "wonder land", "");
    cr_assert_eq(daemon_start(&d,
                              "{\"families\": [{\"name\": \"jobs\", \"type\": \"counter\","
                              " \"help\": \"Jobs.\"}]}",
                              args),
                 0);

    /* No credentials: 401 with the Basic challenge, and the extra header on it too. */
    cr_assert_eq(get_basic("/metrics", NULL, NULL, &r), 401);
    cr_assert_str_eq(httpc_header(&r, "www-authenticate"),
                     "Basic realm=\"ustatsd\", charset=\"UTF-8\"");
    cr_assert_str_eq(httpc_header(&r, "x-frame-options"), "deny");
    httpc_response_release(&r);
    cr_assert_eq(status_basic("/metrics", "alice", "wonder lan"), 401);
    cr_assert_eq(status_basic("/metrics", "mallory", "wonder land"), 401);
    cr_assert_eq(status_basic("/debug", NULL, NULL), 401);
    /* Probes stay open. */
    cr_assert_eq(status_basic("/-/healthy", NULL, NULL), 200);
    cr_assert_eq(status_basic("/-/ready", NULL, NULL), 200);

    cr_assert_eq(get_basic("/metrics", "alice", "wonder land", &r), 200);
    cr_assert_str_eq(httpc_header(&r, "x-frame-options"), "deny");
    cr_assert_geq(expo_value(r.body, "ustatsd_http_basic_auth_checks_total{result=\"wrong\"}"), 1);
    cr_assert_geq(
        expo_value(r.body, "ustatsd_http_basic_auth_checks_total{result=\"unknown_user\"}"), 1);
    httpc_response_release(&r);
    cr_assert_eq(get_basic("/metrics", "alice", "wonder land", &r), 200);
    cr_assert_geq(expo_value(r.body, "ustatsd_http_basic_auth_checks_total{result=\"cached\"}"), 1);
    httpc_response_release(&r);

    /* SIGHUP swaps the users: alice is out, bob is in. */
    write_web("bob", "builder", "");
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    wait_basic("bob", "builder", 200);
    cr_assert_eq(status_basic("/metrics", "alice", "wonder land"), 401);

    /* A bad web config refuses the reload; bob stays, and /debug says why. */
    write_web("carol", "x", "rate_limit:\n  burst: 1\n");
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    for (int i = 0; i < 500; i++) {
        cr_assert_eq(get_basic("/metrics", "bob", "builder", &r), 200);
        if (expo_value(r.body, "ustatsd_config_reloads_total{result=\"failure\"}") == 1) {
            httpc_response_release(&r);
            break;
        }
        httpc_response_release(&r);
        usleep(10000);
    }
    cr_assert_eq(get_basic("/debug?section=daemon", "bob", "builder", &r), 200);
    cr_assert_not_null(strstr(r.body, "web.yml:"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "rate_limit: is not supported"), "%s", r.body);
    httpc_response_release(&r);
    cr_assert_eq(status_basic("/metrics", "carol", "x"), 401);
    cr_assert_eq(status_basic("/metrics", "bob", "builder"), 200);
}

/* SIGHUP, then wait (5 s at most) until the reloads counted as result reach want, read
 * from /metrics as user:password. */
static void reload_basic(const char *user, const char *password, const char *result, double want)
{
    char series[96];
    double got = -1;

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    for (int i = 0; i < 500 && got != want; i++) {
        struct httpc_response r;

        if (get_basic("/metrics", user, password, &r) == 200)
            got = expo_value(r.body, series);
        httpc_response_release(&r);
        if (got != want)
            usleep(10000);
    }
    cr_assert_eq(got, want, "%s", series);
}

/* The value of series in /metrics as user:password. */
static double basic_value(const char *user, const char *password, const char *series)
{
    struct httpc_response r;
    double v;

    cr_assert_eq(get_basic("/metrics", user, password, &r), 200, "%s", user);
    v = expo_value(r.body, series);
    httpc_response_release(&r);
    return v;
}

#define CHECKS(result) "ustatsd_http_basic_auth_checks_total{result=\"" result "\"}"

/*
 * SIGHUPs that leave a user's name and hash alone keep its cached login: no bcrypt runs
 * for it after any of them ("ok" stays put, "cached" grows). A user whose hash changed
 * is checked against the new hash from the reload on: the old password fails at once.
 */
Test(e2e_auth, a_reload_keeps_cached_logins_of_unchanged_users, .fini = cleanup)
{
    char web[160], bob[CRYPT_OUTPUT_SIZE], extra[CRYPT_OUTPUT_SIZE + 16];
    const char *args[] = { "--web.config.file", web, NULL };

    make_dir();
    snprintf(web, sizeof(web), "%s/web.yml", dir);
    bcrypt("builder", bob);
    snprintf(extra, sizeof(extra), "  bob: '%s'\n", bob);
    write_web("alice", "wonder land", extra);
    cr_assert_eq(daemon_start(&d, "{}", args), 0);
    cr_assert_eq(status_basic("/metrics", "alice", "wonder land"), 200);
    cr_assert_eq(basic_value("bob", "builder", CHECKS("ok")), 2, "alice's check and bob's own");

    for (int i = 1; i <= 5; i++)
        reload_basic("bob", "builder", "success", i);
    cr_assert_eq(status_basic("/metrics", "alice", "wonder land"), 200);
    cr_assert_eq(basic_value("bob", "builder", CHECKS("ok")), 2, "bcrypt ran again");
    cr_assert_geq(basic_value("bob", "builder", CHECKS("cached")), 7);

    /* alice's password changes, bob's entry does not. */
    write_web("alice", "looking glass", extra);
    reload_basic("bob", "builder", "success", 6);
    cr_assert_eq(status_basic("/metrics", "alice", "wonder land"), 401);
    cr_assert_eq(status_basic("/metrics", "alice", "looking glass"), 200);
    cr_assert_eq(basic_value("bob", "builder", CHECKS("ok")), 3);
    cr_assert_eq(basic_value("bob", "builder", CHECKS("wrong")), 1);
}

/*
 * A FIFO named as the certificate: a reload that names it is refused at once, with the
 * file and "not a regular file", and the running web config stays (a worker blocked in
 * open(2) would have held every later reload too); a start with it is refused.
 */
Test(e2e_auth, a_fifo_named_as_a_certificate_is_refused_not_waited_on, .fini = cleanup,
     .timeout = 60)
{
    static const char tls[] = "tls_server_config:\n  cert_file: pipe.crt\n"
                              "  key_file: pipe.crt\n";
    char web[160], fifo[160], cfgpath[160], sock[160], *out = NULL;
    const char *args[] = { "--web.config.file", web, NULL };
    struct httpc_response r;
    FILE *f;

    make_dir();
    snprintf(web, sizeof(web), "%s/web.yml", dir);
    snprintf(fifo, sizeof(fifo), "%s/pipe.crt", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    write_web("alice", "wonder land", "");
    cr_assert_eq(daemon_start(&d, "{}", args), 0);
    cr_assert_eq(status_basic("/metrics", "alice", "wonder land"), 200);

    write_web("bob", "builder", tls);
    reload_basic("alice", "wonder land", "failure", 1);
    cr_assert_eq(get_basic("/debug?section=daemon", "alice", "wonder land", &r), 200);
    cr_assert_not_null(strstr(r.body, "/pipe.crt: not a regular file"), "%s", r.body);
    httpc_response_release(&r);
    cr_assert_eq(status_basic("/metrics", "alice", "wonder land"), 200);
    cr_assert_eq(status_basic("/metrics", "bob", "builder"), 401);
    /* The worker is free: the next reload runs and succeeds. */
    write_web("bob", "builder", "");
    reload_basic("bob", "builder", "success", 1);
    cr_assert_eq(status_basic("/metrics", "bob", "builder"), 200);
    cr_assert_eq(daemon_stop(&d), 0);
    d.pid = 0;

    write_web("bob", "builder", tls);
    snprintf(cfgpath, sizeof(cfgpath), "%s/ustatsd.json", dir);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", dir);
    f = fopen(cfgpath, "w");
    cr_assert_not_null(f);
    fputs("{}", f);
    cr_assert_eq(fclose(f), 0);
    {
        const char *run[] = {
            "--config",          cfgpath, "--socket", sock, "--metrics-listen", "",
            "--web.config.file", web,     NULL
        };

        cr_assert_neq(daemon_run_once(run, &out), 0);
    }
    cr_assert_not_null(strstr(out, "/pipe.crt: not a regular file"), "%s", out);
    free(out);
}

/* Send raw bytes on a fresh connection to the daemon's listener; the response's status. */
static int raw_status(const char *request)
{
    struct httpc h;
    struct httpc_response r;
    int status;

    cr_assert_eq(httpc_open(&h, d.http, 0), 0);
    cr_assert_eq(httpc_send(&h, request, strlen(request)), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0, "%s", request);
    status = r.status;
    httpc_response_release(&r);
    httpc_close(&h);
    return status;
}

Test(e2e_auth, malformed_header_syntax_and_control_bytes_get_400, .fini = cleanup)
{
    static const char *const bad[] = {
        "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHo st: a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET /debug?family=jobs%00x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /debug?section=daemon%0a HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /debug?family=jobs%7F HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics?x=\t HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    char *body = NULL;

    make_dir();
    cr_assert_eq(daemon_start(&d,
                              "{\"families\": [{\"name\": \"jobs\", \"type\": \"counter\","
                              " \"help\": \"Jobs.\"}]}",
                              NULL),
                 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(raw_status(bad[i]), 400, "%s", bad[i]);
    /* Still serving, and each refusal was counted as a bad request. */
    cr_assert_eq(raw_status("GET /debug?family=jobs HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
    cr_assert_eq(daemon_get(&d, "/metrics", NULL, &body), 200);
    cr_assert_not_null(strstr(body, "kind=\"bad_request\"} 7"), "%s", body);
    free(body);
}

/*
 * A guesser: wrong passwords at one name, one at a time, each new to the daemon: no two
 * guessers send the same one, so no cache answers and each 401 is one bcrypt check.
 */
struct guesser {
    pthread_t t;
    const char *user;
    int id;                    /* which guesser: part of every password it sends */
    int stop;                  /* set by the test */
    unsigned answers, refused; /* 401s and 503s so far */
    int other;                 /* a status that is neither: the first one */
};

static void *guess(void *arg)
{
    struct guesser *g = arg;

    for (unsigned n = 0; !__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE); n++) {
        char password[32];
        struct httpc_response r;
        int status;

        snprintf(password, sizeof(password), "guess %d.%u", g->id, n);
        status = get_basic("/metrics", g->user, password, &r);
        httpc_response_release(&r);
        if (status == 503)
            __atomic_add_fetch(&g->refused, 1, __ATOMIC_RELEASE);
        else if (status != 401 && g->other == 0)
            g->other = status;
        __atomic_add_fetch(&g->answers, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static int guessed_enough(void *arg)
{
    struct guesser *g = arg;

    for (int i = 0; i < 8; i++)
        if (__atomic_load_n(&g[i].answers, __ATOMIC_ACQUIRE) < 10)
            return 0;
    return 1;
}

/*
 * Three guessers at alice's own name, three at bob's and two at unknown names, each
 * sending wrong passwords back to back (cost 8 hashes: bcrypt runs all the time on both
 * of the daemon's slots): alice's first login gets in, answered 200 at the first try, as
 * does carol's, whom nobody guesses at; the guessers get 401 (or 503), never anything
 * else. What alice's lane holds (three guesses at most) is well within its second.
 */
Test(e2e_auth, a_users_first_login_gets_in_while_others_guess, .fini = cleanup, .timeout = 120)
{
    char web[160], hash[3][CRYPT_OUTPUT_SIZE];
    const char *args[] = { "--web.config.file", web, NULL };
    const char *names[8] = { "alice", "alice", "alice", "bob", "bob", "bob", "mallory", "eve" };
    struct guesser g[8];

    make_dir();
    snprintf(web, sizeof(web), "%s/web.yml", dir);
    bcrypt_at("wonder land", 8, hash[0]);
    bcrypt_at("builder", 8, hash[1]);
    bcrypt_at("carol's", 8, hash[2]);
    daemon_write_file(web, "basic_auth_users:\n  alice: '%s'\n  bob: '%s'\n  carol: '%s'\n",
                      hash[0], hash[1], hash[2]);
    cr_assert_eq(daemon_start(&d, "{}", args), 0);
    memset(g, 0, sizeof(g));
    for (int i = 0; i < 8; i++) {
        g[i].user = names[i];
        g[i].id = i;
        cr_assert_eq(pthread_create(&g[i].t, NULL, guess, &g[i]), 0);
    }
    cr_assert_eq(waitfor_cond(guessed_enough, g, 60000), 0, "the guessers got nowhere");
    cr_assert_eq(status_basic("/metrics", "alice", "wonder land"), 200);
    cr_assert_eq(status_basic("/metrics", "carol", "carol's"), 200);
    for (int i = 0; i < 8; i++)
        __atomic_store_n(&g[i].stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(pthread_join(g[i].t, NULL), 0);
        cr_assert_eq(g[i].other, 0, "%s got %d", g[i].user, g[i].other);
    }
    /*
     * The floods ran bcrypt: alice's and carol's checks were two among many. Each 401 a
     * guesser got was one check (its passwords are new), each 503 none.
     */
    unsigned wrong = 0, unknown = 0;

    for (int i = 0; i < 8; i++)
        *(i < 6 ? &wrong : &unknown) += g[i].answers - g[i].refused;
    cr_assert_gt(wrong, 0, "every guess at a known name was refused 503");
    cr_assert_gt(unknown, 0, "every guess at an unknown name was refused 503");
    cr_assert_eq(basic_value("alice", "wonder land", CHECKS("ok")), 2);
    cr_assert_eq(basic_value("alice", "wonder land", CHECKS("wrong")), wrong);
    cr_assert_eq(basic_value("alice", "wonder land", CHECKS("unknown_user")), unknown);
}
