/*
 * bench_attack.h: what the parts of the bench_attack program share. bench_attack.c reads
 * the command line, runs the daemon and reports; bench_attack_flood.c holds the attackers
 * and the fresh-connection prober, plain or TLS; bench_attack_handshake.c runs
 * --handshake, the TLS handshake floods. Failures print "bench_attack: ..." and exit.
 */
#ifndef USTATSD_BENCH_ATTACK_H
#define USTATSD_BENCH_ATTACK_H

#include <openssl/ssl.h>

#include "bench_http.h"

#define PROBE_OK_NS      100000000ull /* a check answered 200 within this succeeds */
#define PROBE_PERIOD_NS  20000000ull  /* a fresh-connection check every 20 ms */
#define PROBE_TIMEOUT_MS 1000
#define MAX_CHECKS       100000 /* the latencies a probe keeps */
#define WARMUP_MS        1000   /* from the start of an attack to the first check counted */

/* The daemon under attack, and the program's name (bench_http.h). */
extern struct bench_http B;

/*
 * A non-blocking connection to addr ("unix:/path" or numeric "host:port"), from
 * 127.0.0.<2 + source % 250> over TCP when source >= 0. Returns the fd, with *pending
 * set when the connect is still in progress, or -errno.
 */
int attack_connect(const char *addr, int source, int *pending);

/* The attacks, in the order they run. */
enum attack {
    NONE,
    UNFINISHED,
    SLOWLORIS,
    SLOW_READER,
    TRICKLE_READER,
    IDLE,
    TLS_STALL,
    TLS_IDLE,
    NATTACKS
};

extern const char *const attack_names[NATTACKS]; /* for the report */
extern const char *const attack_args[NATTACKS];  /* as --attack names them */

/* n connections of one kind, in a thread of their own, each reconnecting when dropped. */
struct attacker {
    enum attack kind;
    int n;
    const char *addr;
    SSL_CTX *ctx; /* TLS: the clients' context; NULL: plain */
    atomic_int stop;
    pthread_t thread;
    /* Written by the thread, read after attacker_stop(). */
    uint64_t connects, handshakes, drops, refused; /* refused: connect() failed */
    int open, max_open;
};

void attacker_start(struct attacker *a, enum attack kind, int n, const char *addr, SSL_CTX *ctx);
void attacker_stop(struct attacker *a);

enum outcome { OK_FAST, OK_SLOW, OTHER_STATUS, REFUSED, RESET, TIMEOUT, MISSED, NOUTCOMES };

extern const char *const outcome_names[NOUTCOMES];

struct probe {
    uint64_t lat[MAX_CHECKS]; /* of the checks answered 200 */
    size_t nlat;
    uint64_t count[NOUTCOMES];
    uint64_t checks;
};

/*
 * For seconds, a fresh connection every PROBE_PERIOD_NS asking GET /-/healthy (over TLS:
 * connect, a full handshake, the request), as an orchestrator's liveness probe does.
 */
void probe_run(struct probe *pr, const char *addr, int tls, unsigned seconds);

/* A key (openssl genpkey's arguments) and a self-signed certificate for localhost in
 * dir, and dir/web.yml naming them. */
void attack_make_key(const char *dir, const char *genpkey);

/* bench_attack --handshake: each key and binary in turn, without the flood and under it. */
void run_handshake(const char *new_bin, const char *old_bin, unsigned seconds, int conns);

#endif
