/*
 * bench_attack.h: what the two parts of the bench_attack program share. bench_attack.c
 * reads the command line and runs the HTTP attacks; bench_attack_handshake.c runs
 * --handshake, the TLS handshake floods. Failures print "bench_attack: ..." and exit.
 */
#ifndef USTATSD_BENCH_ATTACK_H
#define USTATSD_BENCH_ATTACK_H

#include "bench_http.h"

#define PROBE_OK_NS 100000000ull /* a check answered 200 within this succeeds */
#define MAX_CHECKS  100000       /* the latencies a probe keeps */
#define WARMUP_MS   1000         /* from the start of an attack to the first check counted */

/* The daemon under attack, and the program's name (bench_http.h). */
extern struct bench_http B;

/* A non-blocking connection to a unix: address: its fd, or -errno when connect() fails. */
int unix_connect(const char *addr);

/* bench_attack --handshake: each key and binary in turn, without the flood and under it. */
void run_handshake(const char *new_bin, const char *old_bin, unsigned seconds, int conns);

#endif
