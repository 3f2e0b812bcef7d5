/*
 * basicauth: HTTP basic auth against the bcrypt hashes of basic_auth_users (webcfg.h),
 * checked on libuv's threadpool, never on the loop, and cached.
 *
 * An I/O module. Loop thread only, except the bcrypt work it queues itself and
 * basicauth_new(), which any thread may call: it reads only its arguments, keeps the
 * pool's address without touching the pool, and does no more than allocate, draw random
 * bytes (getrandom) and make a salt (crypt_gensalt_rn, reentrant). A reload builds the
 * next web config's users that way on its worker thread; the result is the caller's
 * alone until it hands it to the loop, where every other call on it happens.
 *
 * Why off the loop: bcrypt at cost 10 takes about 70 ms, which would stall ingestion and
 * every other connection. A check that misses the cache is queued with uv_queue_work()
 * and answered later (basicauth_check() returns BASICAUTH_PENDING); the HTTP server holds
 * the request meanwhile (httpd_server_set_basic_auth()).
 *
 * Bounds. A struct basicauth_pool, shared by every struct basicauth made with it (one per
 * web config generation), lets at most max_in_flight bcrypt runs go at once, so that a
 * flood of wrong passwords can never take libuv's threadpool (4 threads, which the state
 * snapshots and the reloads need too); a check beyond that waits, in the lane of its user
 * (authq.h: each configured user has one, the unknown names share one), and is answered
 * when its turn comes. Memory is bounded too: a lane holds at most AUTHQ_LANE_MAX checks,
 * and a waiting check holds no bcrypt scratch. A check is refused at once with
 * BASICAUTH_BUSY, which the server turns into 503 with Retry-After: 1, when it could not
 * start within AUTHQ_WAIT_MAX_MS (1 s) by the bound authq.h computes from the measured
 * bcrypt times. So:
 * - guesses at other names (unknown names, other users) never take a place in a user's
 *   lane: a user nobody guesses at is let in, and runs at the first slot that frees, within
 *   one bcrypt run (of what was running), one slot being kept for users without a wrong
 *   password in the last AUTHQ_FAIL_WINDOW_MS;
 * - guesses at a user's own name share its lane with its owner (nothing tells them apart
 *   but the password): the owner's cold login waits at most 1 s before it runs, or is
 *   refused at once; its cached success is served at once, whatever the guessers do.
 * Under such a flood, ranking says a little: an unknown name never gets the kept slot, a
 * user's first wrong password does (then it is failing for the window). A guesser learns
 * at most that a name is configured, one name per window, and only while it keeps the
 * other slots busy.
 * The cache has two fixed tables: successes (BASICAUTH_CACHE_OK entries) and failures
 * (BASICAUTH_CACHE_DENY); a failure never evicts a success, so a flood of wrong passwords
 * cannot push a scraper's credentials out and turn its scrapes into bcrypt work. Each is
 * set-associative, BASICAUTH_CACHE_WAYS entries to a set picked by the key, the least
 * recently used replaced when a set is full: up to 4 logins per set stay cached together,
 * whatever their keys; with many users some sets overflow, and their least recently used
 * login is replaced.
 *
 * The cache, as exporter-toolkit's, is keyed by a hash of the user, the password and the
 * user's bcrypt hash: here SHA-256 with a random secret, so that neither the password nor
 * an unsalted digest of it is kept. Each user has its own secret, made with its hash; an
 * unknown user's entries take the generation's. An unknown user costs what a known one
 * does: its password is checked against a dummy hash of the highest cost among the users,
 * and its failure is cached likewise.
 *
 * A reload makes a new struct basicauth; basicauth_carry() moves over the cache entries
 * (and secrets, recent failures and measured bcrypt times) of every user whose name and
 * hash are unchanged, so that a SIGHUP, or a storm of them, never turns a scraper's
 * cached login into bcrypt work. A user removed, or whose hash changed, loses its entries, as do unknown users.
 */
#ifndef USTATSD_BASICAUTH_H
#define USTATSD_BASICAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "http/authq.h"
#include "http/basiccred.h"
#include "config/webcfg.h"

#define BASICAUTH_DEFAULT_IN_FLIGHT 2 /* of libuv's 4 threads: the rest stay free */
#define BASICAUTH_CACHE_OK          64
#define BASICAUTH_CACHE_DENY        256
#define BASICAUTH_CACHE_WAYS        4 /* entries to a set, in both tables */
/* bcrypt reads 72 bytes of a password and ignores the rest, so that "A"x72 + "ZZZZ" would
 * pass for "A"x72: as Go's x/crypto/bcrypt refuses such passwords, a longer one is refused
 * (counted as malformed), never checked. */
#define BASICAUTH_PASS_MAX 72

/*
 * What bcrypt work may be in flight, and what every check came to. The caller owns it;
 * it must outlive every struct basicauth made with it and their checks in flight (the
 * loop runs until those are done: uv_queue_work keeps it alive).
 */
struct basicauth_pool {
    uv_loop_t *loop;        /* where the checks are queued and answered */
    unsigned max_in_flight; /* bcrypt runs at once; 0 at init: BASICAUTH_DEFAULT_IN_FLIGHT */
    unsigned in_flight;     /* checks let in and not answered yet: waiting or running */
    struct authq q;         /* which runs next (q.running, q.waiting) */
    uint64_t checks[BASICCRED_NRESULTS];
    /* Each check is counted once: answered from the cache ("cached", whatever it said),
     * by bcrypt ("ok", "wrong", "unknown_user"), or not checked ("malformed", "busy"). */
    /*
     * For tests, NULL otherwise (set before the first check): called on the threadpool
     * thread before each bcrypt run, which it may hold until the test lets it go; what it
     * returns, when not 0, is counted as the run's length in microseconds instead of the
     * measured one, so that what the bound lets in does not depend on the host's load.
     */
    uint64_t (*run_hook)(void *arg);
    void *run_hook_arg;
};

void basicauth_pool_init(struct basicauth_pool *p, uv_loop_t *loop, unsigned max_in_flight);

struct basicauth;      /* the users of one web config, and their cache; refcounted */
struct basicauth_work; /* one check in flight */

/*
 * Users as the web config holds them (sorted by name, bcrypt hashes), copied. n must be
 * above 0. The result has one reference. Does no bcrypt work. Any thread (see above).
 */
struct basicauth *basicauth_new(struct basicauth_pool *pool, const struct webcfg_user *users,
                                size_t n);
void basicauth_ref(struct basicauth *ba);

/*
 * Take over from prev, the generation ba replaces, what still holds: for each user with
 * the same name and hash in both, its cache entries (successes and failures), the secret
 * that keys them, and its last wrong password. Nothing of a user removed or with another
 * hash, nor of unknown users, comes over. Call before ba's first check (it overwrites
 * slots); a check of prev still in flight caches into prev. Loop thread only; prev is
 * only read.
 */
void basicauth_carry(struct basicauth *ba, const struct basicauth *prev);

/* The entries in ba's cache, successes and failures: for tests. */
size_t basicauth_cached(const struct basicauth *ba);
/*
 * The set of the successes' table that a success of these credentials (an Authorization
 * value, as basicauth_check() takes) would take, below BASICAUTH_CACHE_OK /
 * BASICAUTH_CACHE_WAYS; SIZE_MAX for a malformed value. For tests, which cannot otherwise
 * tell which logins compete for a set (the keys take random secrets).
 */
size_t basicauth_cache_set(const struct basicauth *ba, const char *authorization);
/* Drop a reference; the last one frees ba (checks in flight hold one each). */
void basicauth_unref(struct basicauth *ba);

enum basicauth_verdict {
    BASICAUTH_ALLOW,   /* right user and password (from the cache) */
    BASICAUTH_DENY,    /* wrong password, unknown user, or malformed: 401 */
    BASICAUTH_ABSENT,  /* not Basic credentials at all (none, or another scheme); not counted */
    BASICAUTH_BUSY,    /* it could not run within 1 s (authq.h): 503, try again */
    BASICAUTH_PENDING, /* queued: done() will say */
};

/* A queued check's answer: allowed is 1 or 0. Runs on the loop. */
typedef void (*basicauth_done_cb)(int allowed, void *arg);

/*
 * Check the value of an Authorization header (NUL-terminated, borrowed for the call).
 * Returns a verdict; with BASICAUTH_PENDING, *work is set and done(allowed, arg) runs
 * once on a later loop iteration, unless basicauth_abandon(*work) is called first.
 */
enum basicauth_verdict basicauth_check(struct basicauth *ba, const char *authorization,
                                       basicauth_done_cb done, void *arg,
                                       struct basicauth_work **work);

/* The requester is gone: done will not run. The bcrypt work still finishes (it cannot be
 * stopped once running), is counted and cached, and frees itself. */
void basicauth_abandon(struct basicauth_work *work);

#endif
