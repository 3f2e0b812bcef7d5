#include "http/basicauth.h"
#include "http/basiccred.h"
#include "base/common.h"
#include "base/mem.h"

#include <assert.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define KEY_LEN    32 /* SHA-256 */
#define SECRET_LEN 32

struct slot {
    unsigned char key[KEY_LEN];
    uint32_t user;    /* 1 + its index in users; 0: an unknown user's */
    uint64_t used_at; /* the clock (struct basicauth's tick) at its last use; 0: empty */
};

/*
 * A user's secret keys its cache entries, and is made with its hash: an entry can only
 * ever match the (user, hash) it was computed for, in this generation or in a later one
 * that carried it over (basicauth_carry()). Unknown users' entries take the generation's.
 */
struct user {
    char *name; /* first: bsearch() compares names */
    char *hash;
    unsigned char secret[SECRET_LEN];
    struct authq_lane lane; /* its checks waiting and running, its last wrong password */
};

struct basicauth {
    unsigned refs;
    struct basicauth_pool *pool;
    struct user *users; /* sorted by name, as webcfg gives them */
    size_t nusers;
    char dummy[CRYPT_GENSALT_OUTPUT_SIZE]; /* a bcrypt setting: what an unknown user costs */
    unsigned char secret[SECRET_LEN];      /* keys the unknown users' entries */
    struct authq_lane unknown;             /* the unknown users' checks */
    uint64_t tick;                         /* counts cache uses: orders the entries of a set */
    struct slot ok[BASICAUTH_CACHE_OK];
    struct slot deny[BASICAUTH_CACHE_DENY];
};

struct basicauth_work {
    uv_work_t req;
    struct authq_item item; /* its place in its lane (authq.h) */
    struct basicauth *ba;
    basicauth_done_cb done; /* NULL once abandoned */
    void *arg;
    struct user *user; /* in ba->users; NULL: unknown, the dummy was checked */
    int match;         /* set by the worker ... */
    uint64_t run_us;   /* ... and how long bcrypt took */
    unsigned char key[KEY_LEN];
    char pass[BASICCRED_PASS_MAX + 1];
    char hash[CRYPT_OUTPUT_SIZE];
    struct crypt_data *data; /* crypt_rn's scratch, about 32 KiB: only while it runs */
};

void basicauth_pool_init(struct basicauth_pool *p, uv_loop_t *loop, unsigned max_in_flight)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->max_in_flight = max_in_flight ? max_in_flight : BASICAUTH_DEFAULT_IN_FLIGHT;
    authq_init(&p->q, p->max_in_flight);
}

/* Only for what cannot fail on Linux (getrandom of a few bytes after boot, SHA-256): as
 * out of memory, not an error a caller could handle. */
static void fatal(const char *what) __attribute__((noreturn));
static void fatal(const char *what)
{
    fprintf(stderr, "ustatsd: basicauth: %s failed, aborting\n", what);
    abort();
}

/* getrandom() on a few bytes does not block once the pool is seeded (at boot). */
static void random_bytes(unsigned char *out, size_t n)
{
    if (getrandom(out, n, 0) != (ssize_t)n)
        fatal("getrandom");
}

/* "$2y$10$..." -> 10; the web config checked the form. */
static unsigned long hash_cost(const char *hash)
{
    return strlen(hash) > 6 ? strtoul(hash + 4, NULL, 10) : 0;
}

struct basicauth *basicauth_new(struct basicauth_pool *pool, const struct webcfg_user *users,
                                size_t n)
{
    struct basicauth *ba = mem_calloc(1, sizeof(*ba));
    unsigned long cost = 4;
    unsigned char rnd[16];

    assert(n > 0);
    ba->refs = 1;
    ba->pool = pool;
    ba->users = mem_calloc(n, sizeof(*ba->users));
    ba->nusers = n;
    for (size_t i = 0; i < n; i++) {
        ba->users[i].name = mem_strdup(users[i].name);
        ba->users[i].hash = mem_strdup(users[i].hash);
        random_bytes(ba->users[i].secret, SECRET_LEN);
        authq_lane_init(&ba->users[i].lane, 1, (unsigned)hash_cost(users[i].hash));
        if (hash_cost(users[i].hash) > cost)
            cost = hash_cost(users[i].hash);
    }
    random_bytes(ba->secret, SECRET_LEN);
    random_bytes(rnd, sizeof(rnd));
    if (crypt_gensalt_rn("$2b$", cost, (const char *)rnd, (int)sizeof(rnd), ba->dummy,
                         (int)sizeof(ba->dummy)) == NULL) {
        fatal("crypt_gensalt_rn");
    }
    authq_lane_init(&ba->unknown, 0, (unsigned)cost);
    return ba;
}

void basicauth_ref(struct basicauth *ba)
{
    ba->refs++;
}

void basicauth_unref(struct basicauth *ba)
{
    if (ba == NULL || --ba->refs > 0)
        return;
    for (size_t i = 0; i < ba->nusers; i++) {
        explicit_bzero(ba->users[i].hash, strlen(ba->users[i].hash));
        free(ba->users[i].name);
        free(ba->users[i].hash);
    }
    explicit_bzero(ba->users, ba->nusers * sizeof(*ba->users));
    free(ba->users);
    explicit_bzero(ba, sizeof(*ba));
    free(ba);
}

static int by_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct user *)elem)->name);
}

/* SHA-256(secret, user, NUL, password, NUL, hash): neither may hold a NUL (basiccred.h). */
static void cache_key(const unsigned char secret[SECRET_LEN], const struct basiccred *c,
                      const char *hash, unsigned char key[KEY_LEN])
{
    unsigned char in[SECRET_LEN + sizeof(c->user) + sizeof(c->pass) + CRYPT_OUTPUT_SIZE];
    size_t n = 0, hlen = strlen(hash);

    memcpy(in, secret, SECRET_LEN);
    n += SECRET_LEN;
    memcpy(in + n, c->user, c->user_len + 1);
    n += c->user_len + 1;
    memcpy(in + n, c->pass, c->pass_len + 1);
    n += c->pass_len + 1;
    memcpy(in + n, hash, hlen);
    n += hlen;
    if (EVP_Digest(in, n, key, NULL, EVP_sha256(), NULL) != 1)
        fatal("EVP_Digest(SHA-256)");
    explicit_bzero(in, n);
}

/*
 * A set-associative table of n slots, BASICAUTH_CACHE_WAYS to a set: the key's first bytes
 * pick the set, a key may take any slot of it, and a newcomer to a full set replaces its
 * least recently used entry. A direct-mapped table would let two users whose keys meet
 * push each other out at every scrape, each then a bcrypt run; their secrets are random
 * and carried across reloads, so that would last until a restart. With 4 ways, 4 keys of
 * one set all stay.
 */
static size_t set_index(size_t n, const unsigned char key[KEY_LEN])
{
    uint32_t h =
        (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;

    return h % (n / BASICAUTH_CACHE_WAYS);
}

static struct slot *set_of(struct slot *t, size_t n, const unsigned char key[KEY_LEN])
{
    return &t[set_index(n, key) * BASICAUTH_CACHE_WAYS];
}

static struct slot *lookup(struct slot *t, size_t n, const unsigned char key[KEY_LEN])
{
    struct slot *set = set_of(t, n, key);

    for (size_t i = 0; i < BASICAUTH_CACHE_WAYS; i++)
        if (set[i].used_at != 0 && CRYPTO_memcmp(set[i].key, key, KEY_LEN) == 0)
            return &set[i];
    return NULL;
}

_Static_assert(BASICAUTH_CACHE_OK % BASICAUTH_CACHE_WAYS == 0 &&
                   BASICAUTH_CACHE_DENY % BASICAUTH_CACHE_WAYS == 0,
               "whole sets");

/* Whether key is in t; a hit counts as a use. */
static int cached(struct basicauth *ba, struct slot *t, size_t n, const unsigned char key[KEY_LEN])
{
    struct slot *s = lookup(t, n, key);

    if (s != NULL)
        s->used_at = ++ba->tick;
    return s != NULL;
}

static void cache_put(struct basicauth *ba, struct slot *t, size_t n,
                      const unsigned char key[KEY_LEN], uint32_t user)
{
    struct slot *s = lookup(t, n, key), *set = set_of(t, n, key);

    /* Two checks of the same credentials may both have missed: the second refreshes. */
    for (size_t i = 0; s == NULL && i < BASICAUTH_CACHE_WAYS; i++)
        if (set[i].used_at == 0)
            s = &set[i];
    if (s == NULL) {
        s = &set[0];
        for (size_t i = 1; i < BASICAUTH_CACHE_WAYS; i++)
            if (set[i].used_at < s->used_at)
                s = &set[i];
    }
    memcpy(s->key, key, KEY_LEN);
    s->user = user;
    s->used_at = ++ba->tick;
}

/* On a threadpool thread: the work holds copies only. */
static void work_cb(uv_work_t *req)
{
    struct basicauth_work *w = container_of(req, struct basicauth_work, req);
    const struct basicauth_pool *pool = w->ba->pool;
    uint64_t given = pool->run_hook != NULL ? pool->run_hook(pool->run_hook_arg) : 0;
    struct timespec t0, t1;
    const char *out;
    size_t n = strlen(w->hash);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    out = crypt_rn(w->pass, w->hash, w->data, (int)sizeof(*w->data));
    /* crypt_rn gives NULL or a "*" string for a bad setting: a mismatch either way. */
    w->match = out != NULL && strlen(out) == n && CRYPTO_memcmp(out, w->hash, n) == 0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    w->run_us = given != 0 ? given
                           : (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
                                 (uint64_t)t1.tv_nsec / 1000 - (uint64_t)t0.tv_nsec / 1000;
    explicit_bzero(w->pass, sizeof(w->pass));
    explicit_bzero(w->data, sizeof(*w->data));
}

static void after_work_cb(uv_work_t *req, int status);

/* Hand w to the threadpool; its lane counts it as running. */
static int run(struct basicauth_work *w)
{
    w->data = mem_calloc(1, sizeof(*w->data));
    return uv_queue_work(w->ba->pool->loop, &w->req, work_cb, after_work_cb);
}

static void finish(struct basicauth_work *w, int status);

/* Start what may start now, as slots free. */
static void dispatch(struct basicauth_pool *pool)
{
    struct authq_item *it;

    while ((it = authq_next(&pool->q, uv_now(pool->loop))) != NULL) {
        struct basicauth_work *w = container_of(it, struct basicauth_work, item);

        if (run(w) != 0)
            finish(w, UV_ECANCELED);
    }
}

/* w ran (status 0) or could not: counted, cached, answered, freed; its slot goes on. */
static void finish(struct basicauth_work *w, int status)
{
    struct basicauth *ba = w->ba;
    struct basicauth_pool *pool = ba->pool;
    int allowed = status == 0 && w->user != NULL && w->match;
    uint32_t user = w->user != NULL ? (uint32_t)(w->user - ba->users) + 1 : 0;

    pool->in_flight--;
    authq_done(&pool->q, &w->item, status == 0 && w->user != NULL && !allowed, w->run_us,
               uv_now(pool->loop));
    pool->checks[allowed   ? BASICCRED_RESULT_OK
                 : w->user ? BASICCRED_RESULT_WRONG
                           : BASICCRED_RESULT_UNKNOWN_USER]++;
    if (status == 0) {
        if (allowed)
            cache_put(ba, ba->ok, BASICAUTH_CACHE_OK, w->key, user);
        else
            cache_put(ba, ba->deny, BASICAUTH_CACHE_DENY, w->key, user);
    }
    /* The freed slot goes to what waits, before the answer can bring a new check. */
    dispatch(pool);
    if (w->done != NULL)
        w->done(allowed, w->arg);
    basicauth_unref(ba);
    free(w->data);
    explicit_bzero(w, sizeof(*w));
    free(w);
}

static void after_work_cb(uv_work_t *req, int status)
{
    finish(container_of(req, struct basicauth_work, req), status);
}

enum basicauth_verdict basicauth_check(struct basicauth *ba, const char *authorization,
                                       basicauth_done_cb done, void *arg,
                                       struct basicauth_work **work)
{
    struct basicauth_pool *pool = ba->pool;
    struct basiccred c;
    struct user *u;
    const char *hash;
    unsigned char key[KEY_LEN];
    struct basicauth_work *w;
    int rc = basiccred_parse(authorization, &c);

    if (rc == -ENOENT)
        return BASICAUTH_ABSENT;
    if (rc == 0 && c.pass_len > BASICAUTH_PASS_MAX) {
        explicit_bzero(&c, sizeof(c)); /* bcrypt would ignore what follows byte 72 */
        rc = -EINVAL;
    }
    if (rc != 0) {
        pool->checks[BASICCRED_RESULT_MALFORMED]++;
        return BASICAUTH_DENY;
    }
    u = bsearch(c.user, ba->users, ba->nusers, sizeof(*ba->users), by_name);
    hash = u != NULL ? u->hash : ba->dummy;
    cache_key(u != NULL ? u->secret : ba->secret, &c, hash, key);
    if (cached(ba, ba->ok, BASICAUTH_CACHE_OK, key) ||
        cached(ba, ba->deny, BASICAUTH_CACHE_DENY, key)) {
        explicit_bzero(&c, sizeof(c));
        pool->checks[BASICCRED_RESULT_CACHED]++;
        return lookup(ba->ok, BASICAUTH_CACHE_OK, key) != NULL ? BASICAUTH_ALLOW : BASICAUTH_DENY;
    }
    w = mem_calloc(1, sizeof(*w));
    w->ba = ba;
    w->done = done;
    w->arg = arg;
    w->user = u;
    memcpy(w->key, key, KEY_LEN);
    memcpy(w->pass, c.pass, c.pass_len + 1);
    explicit_bzero(&c, sizeof(c));
    snprintf(w->hash, sizeof(w->hash), "%s", hash);
    switch (
        authq_admit(&pool->q, u != NULL ? &u->lane : &ba->unknown, &w->item, uv_now(pool->loop))) {
    case AUTHQ_RUN:
        if (run(w) == 0)
            break;
        authq_done(&pool->q, &w->item, 0, 0, uv_now(pool->loop));
        free(w->data);
        /* fall through */
    case AUTHQ_BUSY:
        explicit_bzero(w, sizeof(*w));
        free(w);
        pool->checks[BASICCRED_RESULT_BUSY]++;
        return BASICAUTH_BUSY;
    case AUTHQ_WAIT:
        break;
    }
    basicauth_ref(ba);
    pool->in_flight++;
    *work = w;
    return BASICAUTH_PENDING;
}

/*
 * By slot index: both generations' tables have the same sizes, and a carried entry keeps
 * its key (the user's secret comes along), hence its set; its age comes along too (ba
 * takes prev's clock).
 */
static void carry_table(struct slot *to, const struct slot *from, size_t n, const uint32_t *map)
{
    for (size_t i = 0; i < n; i++) {
        if (from[i].used_at != 0 && from[i].user != 0 && map[from[i].user - 1] != 0) {
            to[i] = from[i];
            to[i].user = map[from[i].user - 1];
        }
    }
}

void basicauth_carry(struct basicauth *ba, const struct basicauth *prev)
{
    uint32_t *map = mem_calloc(prev->nusers, sizeof(*map)); /* prev's index -> 1 + ba's */

    for (size_t i = 0; i < ba->nusers; i++) {
        struct user *u = &ba->users[i];
        const struct user *p =
            bsearch(u->name, prev->users, prev->nusers, sizeof(*prev->users), by_name);

        if (p == NULL || strcmp(p->hash, u->hash) != 0)
            continue;
        memcpy(u->secret, p->secret, SECRET_LEN);
        authq_lane_carry(&u->lane, &p->lane);
        map[p - prev->users] = (uint32_t)i + 1;
    }
    ba->tick = prev->tick;
    carry_table(ba->ok, prev->ok, BASICAUTH_CACHE_OK, map);
    carry_table(ba->deny, prev->deny, BASICAUTH_CACHE_DENY, map);
    free(map);
}

size_t basicauth_cached(const struct basicauth *ba)
{
    size_t n = 0;

    for (size_t i = 0; i < BASICAUTH_CACHE_OK; i++)
        n += ba->ok[i].used_at != 0;
    for (size_t i = 0; i < BASICAUTH_CACHE_DENY; i++)
        n += ba->deny[i].used_at != 0;
    return n;
}

size_t basicauth_cache_set(const struct basicauth *ba, const char *authorization)
{
    struct basiccred c;
    const struct user *u;
    unsigned char key[KEY_LEN];

    if (basiccred_parse(authorization, &c) != 0)
        return SIZE_MAX;
    u = bsearch(c.user, ba->users, ba->nusers, sizeof(*ba->users), by_name);
    cache_key(u != NULL ? u->secret : ba->secret, &c, u != NULL ? u->hash : ba->dummy, key);
    explicit_bzero(&c, sizeof(c));
    return set_index(BASICAUTH_CACHE_OK, key);
}

void basicauth_abandon(struct basicauth_work *w)
{
    w->done = NULL;
}
