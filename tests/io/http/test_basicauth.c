/*
 * Basic auth through the HTTP server: bcrypt hashes made here at a low cost, checked on
 * the threadpool while the request waits; the cache, the bound of work in flight (503),
 * both challenges with a bearer token, open probes, and the web config's headers on
 * every response. The server runs on its own loop thread (tests/lib/httpdfix).
 *
 * What the bound lets in depends on how long runs took: where it matters, the runs wait
 * at a gate the test opens, and count as long as the test says (the pool's run hook), so
 * that a loaded host changes nothing.
 */
#include <criterion/criterion.h>

#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "http/basicauth.h"
#include "base/common.h"
#include "httpc.h"
#include "httpdfix.h"
#include "waitfor.h"

static struct httpdfix F;
static struct basicauth_pool pool;

/* Where bcrypt runs wait while it is closed; each run counts as run_us (0: as measured). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int closed;
    uint64_t run_us;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

/* The pool's run hook, on a threadpool thread. */
static uint64_t at_gate(void *arg)
{
    uint64_t run_us;

    (void)arg;
    pthread_mutex_lock(&gate.mu);
    while (gate.closed)
        pthread_cond_wait(&gate.cv, &gate.mu);
    run_us = gate.run_us;
    pthread_mutex_unlock(&gate.mu);
    return run_us;
}

static void gate_close(int closed)
{
    pthread_mutex_lock(&gate.mu);
    gate.closed = closed;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

/* p's runs pass the gate, each counted as run_us long. */
static void gate_on(struct basicauth_pool *p, uint64_t run_us)
{
    gate.run_us = run_us;
    p->run_hook = at_gate;
}

/* A bcrypt hash of password at cost, made now. */
static char *make_hash(const char *password, unsigned long cost)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    static struct crypt_data data;
    const char *h;

    cr_assert_not_null(crypt_gensalt_rn("$2b$", cost, NULL, 0, setting, sizeof(setting)));
    h = crypt_rn(password, setting, &data, sizeof(data));
    cr_assert(h != NULL && h[0] == '$');
    return strdup(h);
}

/* "Authorization: Basic <base64(user:password)>\r\n" */
static const char *basic(const char *user, const char *password)
{
    static char hdr[512];
    char plain[256];
    unsigned char b64[384];
    int n = snprintf(plain, sizeof(plain), "%s:%s", user, password);

    EVP_EncodeBlock(b64, (const unsigned char *)plain, n);
    snprintf(hdr, sizeof(hdr), "Authorization: Basic %s\r\n", b64);
    return hdr;
}

/* Users alice (s3cret) and bob (hunter2), at cost; the server set up, not yet running. */
static void setup(unsigned long cost, unsigned max_in_flight)
{
    struct webcfg_user users[2] = { { "alice", make_hash("s3cret", cost) },
                                    { "bob", make_hash("hunter2", cost) } };
    struct basicauth *ba;

    httpdfix_setup(&F, NULL);
    basicauth_pool_init(&pool, &F.loop, max_in_flight);
    ba = basicauth_new(&pool, users, 2);
    httpd_server_set_basic_auth(&F.srv, ba);
    basicauth_unref(ba); /* the server holds its own */
    free(users[0].hash);
    free(users[1].hash);
}

static int get(const char *path, const char *headers, struct httpc_response *r)
{
    cr_assert_eq(httpc_get(F.addr, path, headers, r), 0);
    return r->status;
}

static int status_of(const char *path, const char *headers)
{
    struct httpc_response r;
    int status = get(path, headers, &r);

    httpc_response_release(&r);
    return status;
}

static int has_line(struct httpc_response *r, const char *line)
{
    return memmem(r->headers.ptr, r->headers.len, line, strlen(line)) != NULL;
}

/* What the pool counted, by result. */
static void expect_checks(const struct basicauth_pool *p, uint64_t ok, uint64_t wrong,
                          uint64_t unknown, uint64_t cached, uint64_t busy)
{
    cr_assert_eq(p->checks[BASICCRED_RESULT_OK], ok);
    cr_assert_eq(p->checks[BASICCRED_RESULT_WRONG], wrong);
    cr_assert_eq(p->checks[BASICCRED_RESULT_UNKNOWN_USER], unknown);
    cr_assert_eq(p->checks[BASICCRED_RESULT_CACHED], cached);
    cr_assert_eq(p->checks[BASICCRED_RESULT_BUSY], busy);
    cr_assert_eq(p->in_flight, 0);
}

Test(basicauth, right_user_is_served_and_the_rest_get_401)
{
    struct httpc_response r;

    setup(4, 0);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(get("/hello", basic("alice", "s3cret"), &r), 200);
    cr_assert_str_eq(r.body, "hello\n");
    httpc_response_release(&r);
    cr_assert_eq(status_of("/hello", basic("bob", "hunter2")), 200);
    cr_assert_eq(get("/hello", basic("alice", "hunter2"), &r), 401);
    cr_assert(has_line(&r, "WWW-Authenticate: Basic realm=\"ustatsd\", charset=\"UTF-8\"\r\n"));
    cr_assert(!has_line(&r, "Bearer"), "no token on this server");
    httpc_response_release(&r);
    cr_assert_eq(status_of("/hello", basic("mallory", "s3cret")), 401);
    cr_assert_eq(status_of("/hello", "Authorization: Basic YWxpY2U=\r\n"), 401); /* no colon */
    cr_assert_eq(status_of("/hello", "Authorization: Basic !!!!\r\n"), 401);
    cr_assert_eq(status_of("/hello", "Authorization: Bearer s3cret\r\n"), 401);
    cr_assert_eq(status_of("/hello", NULL), 401);
    /* Unknown paths too: no probing for routes without credentials. */
    cr_assert_eq(status_of("/nope", NULL), 401);
    cr_assert_eq(status_of("/nope", basic("alice", "s3cret")), 404);
    /* The probes stay open. */
    cr_assert_eq(status_of("/-/healthy", NULL), 200);
    httpdfix_stop(&F);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_OK], 2);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_WRONG], 1);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_UNKNOWN_USER], 1);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_MALFORMED], 2);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_CACHED], 1, "alice's second check: /nope");
    cr_assert_eq(pool.checks[BASICCRED_RESULT_BUSY], 0);
    cr_assert_eq(pool.in_flight, 0);
}

Test(basicauth, a_password_past_bcrypts_72_bytes_is_refused_unchecked)
{
    char a72[73], a76[77];
    struct webcfg_user users[1];
    struct basicauth *ba;
    static struct crypt_data data;

    memset(a72, 'A', 72);
    a72[72] = '\0';
    snprintf(a76, sizeof(a76), "%sZZZZ", a72);
    users[0].name = (char *)"long";
    users[0].hash = make_hash(a72, 4);
    /* What bcrypt does: the bytes past 72 change nothing. */
    cr_assert_str_eq(crypt_rn(a76, users[0].hash, &data, sizeof(data)), users[0].hash);
    httpdfix_setup(&F, NULL);
    basicauth_pool_init(&pool, &F.loop, 0);
    ba = basicauth_new(&pool, users, 1);
    httpd_server_set_basic_auth(&F.srv, ba);
    basicauth_unref(ba);
    free(users[0].hash);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(status_of("/hello", basic("long", a76)), 401);
    cr_assert_eq(status_of("/hello", basic("long", a72)), 200);
    cr_assert_eq(status_of("/hello", basic("long", a76)), 401, "nor after a success");
    httpdfix_stop(&F);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_MALFORMED], 2);
    expect_checks(&pool, 1, 0, 0, 0, 0);
}

Test(basicauth, a_cache_hit_does_not_run_bcrypt_again)
{
    setup(4, 0);
    httpdfix_run(&F, "127.0.0.1:0");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(status_of("/hello", basic("alice", "s3cret")), 200);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(status_of("/hello", basic("alice", "wrong")), 401);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(status_of("/hello", basic("nobody", "wrong")), 401);
    httpdfix_stop(&F);
    expect_checks(&pool, 1, 1, 1, 8, 0);
}

static int in_flight_is(void *arg)
{
    return __atomic_load_n(&pool.in_flight, __ATOMIC_RELAXED) == *(unsigned *)arg;
}

static unsigned one = 1;

/*
 * Runs of 1.5 s each (what cost 15 takes) with one check running at most: a second,
 * uncached check of the same user while the first runs (held at the gate) could not start
 * within a second, and gets 503 with Retry-After at once; a cached one is served.
 */
Test(basicauth, what_could_not_start_within_a_second_is_503, .timeout = 120)
{
    struct httpc slow;
    struct httpc_response r;

    setup(4, 1);
    gate_on(&pool, 1500000);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(status_of("/hello", basic("alice", "s3cret")), 200); /* now cached */
    gate_close(1);
    httpdfix_open(&slow, &F);
    slow.timeout_ms = 30000;
    cr_assert_eq(httpc_request(&slow, "GET", "/hello", basic("alice", "guess1")), 0);
    cr_assert_eq(waitfor_cond(in_flight_is, &one, 10000), 0);
    cr_assert_eq(get("/hello", basic("alice", "guess2"), &r), 503);
    cr_assert_str_eq(httpc_header(&r, "Retry-After"), "1");
    httpc_response_release(&r);
    cr_assert_eq(status_of("/hello", basic("alice", "s3cret")), 200);
    cr_assert_eq(status_of("/-/healthy", NULL), 200);
    gate_close(0);
    cr_assert_eq(httpc_read(&slow, 0, &r), 0);
    cr_assert_eq(r.status, 401);
    httpc_response_release(&r);
    httpc_close(&slow);
    httpdfix_stop(&F);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_BUSY], 1);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_WRONG], 1);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_OK], 1);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_CACHED], 1);
}

/* Send GET /hello as user:password on a connection of its own, and wait until the pool
 * has want checks in flight. */
static void send_check(struct httpc *h, const char *user, const char *password, unsigned want)
{
    httpdfix_open(h, &F);
    h->timeout_ms = 30000;
    cr_assert_eq(httpc_request(h, "GET", "/hello", basic(user, password)), 0);
    cr_assert_eq(waitfor_cond(in_flight_is, &want, 10000), 0, "%s: not %u in flight", user, want);
}

static int answer(struct httpc *h)
{
    struct httpc_response r;
    int status;

    cr_assert_eq(httpc_read(h, 0, &r), 0);
    status = r.status;
    httpc_response_release(&r);
    httpc_close(h);
    return status;
}

/*
 * Two checks running at most, one kept for users without a wrong password lately: a
 * guess at an unknown name and one at bob hold both (at the gate), and alice, whom nobody
 * guesses at, still gets in with her password never cached: she waits in her own lane,
 * which no guess at another name can fill. A second guess at the unknown name, before any
 * run was measured, cannot be bounded and gets 503. Once bob is failing, his right
 * password waits behind a guess at an unknown name (0.3 s a run, what cost 12 takes: well
 * within the second) and gets in.
 */
Test(basicauth, guesses_at_other_names_take_no_place_in_a_users_lane, .timeout = 120)
{
    struct httpc g1, g2, g3, a, b;

    setup(4, 2);
    gate_on(&pool, 300000);
    httpdfix_run(&F, "127.0.0.1:0");
    gate_close(1);
    send_check(&g1, "mallory", "guess1", 1);
    cr_assert_eq(status_of("/hello", basic("mallory", "guess2")), 503, "an unknown name");
    send_check(&g2, "bob", "guess3", 2);  /* bob has not failed yet: the kept slot */
    send_check(&a, "alice", "s3cret", 3); /* waits for a slot, in her own lane */
    gate_close(0);
    cr_assert_eq(answer(&a), 200);
    cr_assert_eq(answer(&g2), 401);
    cr_assert_eq(answer(&g1), 401);

    gate_close(1);
    send_check(&g3, "mallory", "guess4", 1);
    send_check(&b, "bob", "hunter2", 2);
    gate_close(0);
    cr_assert_eq(answer(&b), 200);
    cr_assert_eq(answer(&g3), 401);
    httpdfix_stop(&F);
    expect_checks(&pool, 2, 1, 2, 0, 1);
}

/* The server closes while a check runs: the check is abandoned, finishes, and frees. */
Test(basicauth, closing_abandons_a_check_in_flight, .timeout = 60)
{
    struct httpc slow;

    setup(12, 1);
    httpdfix_run(&F, "127.0.0.1:0");
    httpdfix_open(&slow, &F);
    cr_assert_eq(httpc_request(&slow, "GET", "/hello", basic("bob", "hunter2")), 0);
    cr_assert_eq(waitfor_cond(in_flight_is, &one, 10000), 0);
    httpdfix_stop(&F); /* runs the loop until the work is done, then closes it */
    httpc_close(&slow);
    cr_assert_eq(pool.in_flight, 0);
    cr_assert_eq(pool.checks[BASICCRED_RESULT_OK], 1);
}

Test(basicauth, a_bearer_token_or_a_user_either_one_will_do)
{
    struct httpc_response r;

    setup(4, 0);
    cr_assert_eq(httpd_server_set_bearer(&F.srv, "tok3n"), 0);
    httpdfix_run(&F, "127.0.0.1:0");
    cr_assert_eq(status_of("/hello", "Authorization: Bearer tok3n\r\n"), 200);
    cr_assert_eq(status_of("/hello", basic("alice", "s3cret")), 200);
    cr_assert_eq(get("/hello", "Authorization: Bearer nope\r\n", &r), 401);
    cr_assert(has_line(&r, "WWW-Authenticate: Basic realm=\"ustatsd\", charset=\"UTF-8\"\r\n"
                           "WWW-Authenticate: Bearer\r\n"));
    httpc_response_release(&r);
    cr_assert_eq(get("/hello", basic("alice", "nope"), &r), 401);
    cr_assert(has_line(&r, "WWW-Authenticate: Bearer\r\n"));
    httpc_response_release(&r);
    httpdfix_stop(&F);
}

Test(basicauth, the_web_config_headers_go_on_every_response)
{
    const struct webcfg_header h[] = { { "Strict-Transport-Security", "max-age=31536000" },
                                       { "X-Frame-Options", "deny" } };
    const struct webcfg_header bad[][1] = {
        { { "X-Bad", "a\r\nSet-Cookie: x" } },
        { { "Bad Name", "x" } },
        { { "Content-Length", "0" } },
        { { "www-authenticate", "Basic" } },
    };
    const char *lines = "Strict-Transport-Security: max-age=31536000\r\n"
                        "X-Frame-Options: deny\r\n";
    const char *paths[] = { "/hello", "/nope", "/-/healthy", "/stream?n=3" };
    struct httpc_response r;

    setup(4, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(httpd_server_set_headers(&F.srv, bad[i], 1), -EINVAL, "%s", bad[i][0].name);
    cr_assert_eq(httpd_server_set_headers(&F.srv, h, 2), 0);
    httpdfix_run(&F, "127.0.0.1:0");
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        get(paths[i], basic("alice", "s3cret"), &r);
        cr_assert(has_line(&r, lines), "%s", paths[i]);
        httpc_response_release(&r);
    }
    cr_assert_eq(get("/hello", NULL, &r), 401); /* the server's own answers too */
    cr_assert(has_line(&r, lines));
    httpc_response_release(&r);
    {
        struct httpc c;

        httpdfix_open(&c, &F);
        cr_assert_eq(httpc_send(&c, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 28), 0);
        cr_assert_eq(httpc_read(&c, 0, &r), 0);
        cr_assert_eq(r.status, 400);
        cr_assert(has_line(&r, lines));
        httpc_response_release(&r);
        httpc_close(&c);
    }
    httpdfix_stop(&F);
}

/* --- without the server: the cache across generations, on a loop of the test's own --- */

struct verdict {
    int done, allowed;
};

static void on_done(int allowed, void *arg)
{
    struct verdict *v = arg;

    v->done = 1;
    v->allowed = allowed;
}

/* The Authorization value of user:password, as basicauth_check() takes it. */
static const char *value_of(const char *user, const char *password)
{
    static char value[512];
    const char *hdr = basic(user, password);

    /* basic() gives "Authorization: <value>\r\n". */
    snprintf(value, sizeof(value), "%.*s", (int)(strlen(hdr) - 17), hdr + 15);
    return value;
}

/*
 * Check user:password on ba. Returns 'A' or 'D' when the cache answered at once, 'a' or
 * 'd' when bcrypt ran (the loop run until it said), 'B' for busy.
 */
static char check(struct basicauth *ba, uv_loop_t *loop, const char *user, const char *password)
{
    const char *value = value_of(user, password);
    struct verdict v = { 0, 0 };
    struct basicauth_work *w = NULL;

    switch (basicauth_check(ba, value, on_done, &v, &w)) {
    case BASICAUTH_ALLOW:
        return 'A';
    case BASICAUTH_DENY:
        return 'D';
    case BASICAUTH_BUSY:
        return 'B';
    case BASICAUTH_PENDING:
        while (!v.done)
            uv_run(loop, UV_RUN_ONCE);
        return v.allowed ? 'a' : 'd';
    default:
        cr_assert_fail("absent: %s", value);
    }
    return '?';
}

static struct basicauth *generation(struct basicauth_pool *p, const char *const names[],
                                    char *const hashes[], size_t n)
{
    struct webcfg_user users[4];

    cr_assert_leq(n, 4);
    for (size_t i = 0; i < n; i++)
        users[i] = (struct webcfg_user){ (char *)names[i], hashes[i] };
    return basicauth_new(p, users, n);
}

/*
 * A reload (a new generation, carried over from the one it replaces) keeps the cached
 * results of users whose name and hash did not change, however many reloads come; a
 * user whose hash changed, one removed, and unknown users lose theirs.
 */
Test(basicauth, a_reload_keeps_the_cache_of_unchanged_users_only)
{
    uv_loop_t loop;
    struct basicauth_pool p;
    char *alice = make_hash("s3cret", 4), *bob = make_hash("hunter2", 4),
         *bob2 = make_hash("hunter3", 4), *carol = make_hash("x", 4), *dave = make_hash("y", 4);
    const char *names1[] = { "alice", "bob", "carol" }, *names2[] = { "alice", "bob", "dave" };
    char *hashes1[] = { alice, bob, carol }, *hashes2[] = { alice, bob2, dave };
    struct basicauth *g1, *g2, *g;

    cr_assert_eq(uv_loop_init(&loop), 0);
    basicauth_pool_init(&p, &loop, 0);
    g1 = generation(&p, names1, hashes1, 3);
    cr_assert_eq(check(g1, &loop, "alice", "s3cret"), 'a');
    cr_assert_eq(check(g1, &loop, "alice", "guess"), 'd');
    cr_assert_eq(check(g1, &loop, "bob", "hunter2"), 'a');
    cr_assert_eq(check(g1, &loop, "carol", "x"), 'a');
    cr_assert_eq(check(g1, &loop, "mallory", "x"), 'd');
    cr_assert_eq(check(g1, &loop, "alice", "s3cret"), 'A');
    /* 3 successes and 2 failures: whatever sets their keys fall in, a set holds 4. */
    cr_assert_eq(basicauth_cached(g1), 5);

    /* bob's hash changed, carol is gone, dave is new. */
    g2 = generation(&p, names2, hashes2, 3);
    basicauth_carry(g2, g1);
    basicauth_unref(g1);
    cr_assert_eq(basicauth_cached(g2), 2, "alice's success and failure only");
    cr_assert_eq(check(g2, &loop, "alice", "s3cret"), 'A');
    cr_assert_eq(check(g2, &loop, "alice", "guess"), 'D');
    cr_assert_eq(check(g2, &loop, "bob", "hunter2"), 'd', "the old password, checked again");
    cr_assert_eq(check(g2, &loop, "bob", "hunter3"), 'a');
    cr_assert_eq(check(g2, &loop, "carol", "x"), 'd', "removed: an unknown user now");
    cr_assert_eq(check(g2, &loop, "mallory", "x"), 'd', "unknown users' entries stay behind");

    /* A storm of reloads with the same users: nothing is checked again. */
    for (int i = 0; i < 20; i++) {
        g = generation(&p, names2, hashes2, 3);
        basicauth_carry(g, g2);
        basicauth_unref(g2);
        g2 = g;
    }
    cr_assert_eq(check(g2, &loop, "alice", "s3cret"), 'A');
    cr_assert_eq(check(g2, &loop, "bob", "hunter3"), 'A');
    cr_assert_eq(check(g2, &loop, "bob", "hunter2"), 'D');
    cr_assert_eq(check(g2, &loop, "carol", "x"), 'd', "unknown: not carried");
    basicauth_unref(g2);
    expect_checks(&p, 4, 2, 4, 6, 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    free(alice);
    free(bob);
    free(bob2);
    free(carol);
    free(dave);
}

/*
 * Logins whose keys fall in one set of the cache all stay, up to the set's ways; a fifth
 * replaces the one least recently used, and no other. 65 users in 16 sets: some set
 * holds at least 5 of them, whatever the random secrets make of their keys.
 */
Test(basicauth, logins_sharing_a_cache_set_stay_cached_up_to_its_ways)
{
    enum { NUSERS = 4 * (BASICAUTH_CACHE_OK / BASICAUTH_CACHE_WAYS) + 1 };
    uv_loop_t loop;
    struct basicauth_pool p;
    struct webcfg_user users[NUSERS];
    char names[NUSERS][8], passwords[NUSERS][8];
    size_t nin[BASICAUTH_CACHE_OK / BASICAUTH_CACHE_WAYS] = { 0 }, in[ARRAY_SIZE(nin)][5];
    size_t set = SIZE_MAX;
    struct basicauth *ba;

    _Static_assert(BASICAUTH_CACHE_WAYS == 4, "the test below names 5 users");
    cr_assert_eq(uv_loop_init(&loop), 0);
    basicauth_pool_init(&p, &loop, 0);
    for (size_t i = 0; i < NUSERS; i++) {
        snprintf(names[i], sizeof(names[i]), "u%02zu", i); /* sorted, as webcfg gives them */
        snprintf(passwords[i], sizeof(passwords[i]), "pw%02zu", i);
        users[i] = (struct webcfg_user){ names[i], make_hash(passwords[i], 4) };
    }
    ba = basicauth_new(&p, users, NUSERS);
    for (size_t i = 0; i < NUSERS && set == SIZE_MAX; i++) {
        size_t k = basicauth_cache_set(ba, value_of(names[i], passwords[i]));

        cr_assert_lt(k, ARRAY_SIZE(nin));
        if (nin[k] < 5)
            in[k][nin[k]++] = i;
        if (nin[k] == 5)
            set = k;
    }
    cr_assert_neq(set, SIZE_MAX, "no set holds 5 of %d users", NUSERS);
#define CHECK(j) check(ba, &loop, names[in[set][j]], passwords[in[set][j]])
    for (int j = 0; j < 4; j++)
        cr_assert_eq(CHECK(j), 'a', "login %d of set %zu", j, set);
    for (int j = 0; j < 4; j++)
        cr_assert_eq(CHECK(j), 'A', "login %d of set %zu pushed out by another", j, set);
    cr_assert_eq(basicauth_cached(ba), 4);
    cr_assert_eq(CHECK(0), 'A'); /* the first is now the most recent: the second is the oldest */
    cr_assert_eq(CHECK(4), 'a');
    cr_assert_eq(basicauth_cached(ba), 4, "a full set replaces, never grows");
    cr_assert_eq(CHECK(0), 'A');
    cr_assert_eq(CHECK(2), 'A');
    cr_assert_eq(CHECK(3), 'A');
    cr_assert_eq(CHECK(4), 'A');
    cr_assert_eq(CHECK(1), 'a', "the least recently used was replaced");
#undef CHECK
    basicauth_unref(ba);
    expect_checks(&p, 6, 0, 0, 9, 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    for (size_t i = 0; i < NUSERS; i++)
        free(users[i].hash);
}

/* --- a user's lane, on a loop of the test's own, bcrypt at cost 4 counted as 1 ms --- */

static unsigned answered; /* done callbacks so far: the order of answers */

struct ordered {
    struct verdict v;
    unsigned order; /* 1 + its place among the answers */
};

static void on_ordered(int allowed, void *arg)
{
    struct ordered *o = arg;

    on_done(allowed, &o->v);
    o->order = ++answered;
}

/* Send user:password to ba without running the loop: its verdict, the answer in *o. */
static enum basicauth_verdict send_to(struct basicauth *ba, const char *user, const char *password,
                                      struct ordered *o)
{
    struct basicauth_work *w = NULL;

    memset(o, 0, sizeof(*o));
    return basicauth_check(ba, value_of(user, password), on_ordered, o, &w);
}

/*
 * 40 wrong guesses at alice sent at once, her right password 11th: her lane lets in what
 * can start within a second and at most AUTHQ_LANE_MAX waiting (at 1 ms a check, the cap
 * is what refuses here), the rest gets BUSY at once. What was let in is answered
 * in the order it came, one at a time: her password after the 10 guesses before it and
 * before those after it. bob, whom nobody guesses at, is let in meanwhile.
 */
Test(basicauth, a_users_lane_answers_in_order_and_refuses_past_its_bound)
{
    uv_loop_t loop;
    struct basicauth_pool p;
    char *alice = make_hash("s3cret", 4), *bob = make_hash("hunter2", 4);
    const char *names[] = { "alice", "bob" };
    char *hashes[] = { alice, bob };
    struct ordered o[42];
    enum basicauth_verdict v[42];
    struct basicauth *ba;
    char guess[16];
    unsigned busy = 0;

    cr_assert_eq(uv_loop_init(&loop), 0);
    basicauth_pool_init(&p, &loop, 0);
    gate_on(&p, 1000);
    ba = generation(&p, names, hashes, 2);
    cr_assert_eq(check(ba, &loop, "alice", "other"), 'd'); /* a run measured */
    for (int i = 0; i < 41; i++) {
        snprintf(guess, sizeof(guess), "guess%d", i);
        v[i] = send_to(ba, "alice", i == 10 ? "s3cret" : guess, &o[i]);
    }
    v[41] = send_to(ba, "bob", "hunter2", &o[41]);
    for (int i = 0; i < 42; i++) {
        if (i <= AUTHQ_LANE_MAX || i == 41)
            cr_assert_eq(v[i], BASICAUTH_PENDING, "check %d", i);
        else
            cr_assert_eq(v[i], BASICAUTH_BUSY, "check %d", i);
        busy += v[i] == BASICAUTH_BUSY;
    }
    cr_assert_eq(p.q.waiting, AUTHQ_LANE_MAX);
    cr_assert_eq(p.q.running, 2, "alice's first guess, and bob in the kept slot");
    while (p.in_flight > 0)
        uv_run(&loop, UV_RUN_ONCE);
    for (int i = 0; i <= AUTHQ_LANE_MAX; i++) {
        cr_assert(o[i].v.done, "check %d", i);
        cr_assert_eq(o[i].v.allowed, i == 10, "check %d", i);
        if (i > 0)
            cr_assert_gt(o[i].order, o[i - 1].order, "check %d answered out of turn", i);
    }
    cr_assert(o[41].v.done && o[41].v.allowed);
    cr_assert_lt(o[41].order, o[10].order, "bob waited behind alice's lane");
    basicauth_unref(ba);
    expect_checks(&p, 2, 1 + AUTHQ_LANE_MAX, 0, 0, busy);
    cr_assert_eq(uv_loop_close(&loop), 0);
    free(alice);
    free(bob);
}
