/*
 * bench_snapshot.h: what the parts of the bench_snapshot program share.
 * bench_snapshot_daemon.c starts the daemon under test on its series and reads its
 * figures (a snapshot's answer, memory, loop turns, threads' CPU);
 * bench_snapshot_window.c runs and prints one window, with or without snapshots;
 * bench_snapshot.c measures each size, prints the summary and reads the command line.
 * Failures print a message and exit 1 (benchutil.h).
 */
#ifndef USTATSD_BENCH_SNAPSHOT_H
#define USTATSD_BENCH_SNAPSHOT_H

#include "benchutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define LOAD_PER   20
#define MAX_BOUNDS 16
#define WINDOW_MS  1000.0 /* a snapshot window repeats snapshots for at least this */

/* One daemon and the Unix socket of its endpoint that serves only its own metrics. */
struct inst {
    struct daemon d;
    char self[300]; /* "unix:<dir>/self-<tag>.sock" */
};

/* What POST /debug/snapshot answered. */
struct snap {
    double series, bytes, records_bytes, seconds, longest_slice;
};

/*
 * A loop-turn histogram: cumulative counts per upper bound, and the count; of the turns'
 * wall time (ustatsd_event_loop_iteration_seconds) or of their CPU time
 * (ustatsd_event_loop_iteration_cpu_seconds; nb 0 from a daemon without it).
 */
struct turns {
    size_t nb;
    double le[MAX_BOUNDS], cum[MAX_BOUNDS];
    double count;
};

/*
 * The daemon's threads' times from /proc/PID/task/TID/schedstat, ms: the loop thread's
 * (the main one) time on the CPU and waiting for it on a run queue, and the other
 * threads' time on the CPU (libuv's workers: a snapshot's deflate and writes).
 */
struct cputime {
    double loop_run, loop_wait, others_run;
};

/* What one window found. */
struct window {
    double ms;       /* its length */
    struct turns t;  /* the daemon's loop turns in it */
    struct turns tc; /* ... and their CPU time */
    size_t checks;   /* health checks */
    double p50_ms, p99_ms, max_ms;
    uint64_t drops;     /* the load's EAGAIN */
    struct snap s;      /* a snapshot window: what its last snapshot answered */
    struct cputime cpu; /* the daemon's threads in it */
    unsigned snaps;     /* snapshots written back to back in it */
    double slice_ms;    /* the longest slice any of them took */
};

/* ---- bench_snapshot_daemon.c ---- */

/*
 * Start a daemon for n series, with the state file at state (NULL: none), its self
 * endpoint in dir. Returns the time from the start to /-/ready answering 200, in ns.
 */
uint64_t inst_start(struct inst *in, const char *dir, size_t n, const char *state, int pin);
/* SIGTERM (a final snapshot when the state file is set); returns the time it took. */
uint64_t inst_stop(struct inst *in);
/* Fill series [0, n) with blocking sends. Prints the time it took. */
void populate(struct inst *in, size_t n);
/* The steady load over series of n: LOAD_PER lines a datagram, values of another round. */
void steady_load(struct benchutil_load *load, size_t n);
/* The number after "key": in a JSON text (searched from p), or NAN. */
double json_num(const char *p, const char *key);
/* POST /debug/snapshot, and what it answered. */
void snapshot_now(struct inst *in, struct snap *s);
/* VmRSS and VmHWM of pid, KiB. */
void proc_mem(pid_t pid, double *rss_kb, double *hwm_kb);
/* Reset pid's VmHWM to its current RSS (proc(5), clear_refs "5"). Returns 0, or -1. */
int reset_hwm(pid_t pid);
/* The loop-turn histogram now, from the self endpoint. */
void read_turns(struct inst *in, struct turns *t, struct turns *tc);
/* t = after - before. */
void turns_diff(struct turns *t, const struct turns *before, const struct turns *after);
/* Turns longer than the bound s (one of the histogram's bounds). */
double turns_over(const struct turns *t, double s);
/* The bounds of the longest turn: (lo, hi] in ms, from the highest bucket that has any. */
void turns_longest(const struct turns *t, double *lo_ms, double *hi_ms);
/* The daemon's threads' times now. */
void read_cputime(pid_t pid, struct cputime *c);

/* ---- bench_snapshot_window.c ---- */

/*
 * One window: the prober (and with load, the paced sender) around a snapshot (snapshot
 * nonzero) or a pause of pause_ms. The loop-turn counts are read just inside its ends.
 */
void run_window(struct inst *in, const struct benchutil_load *load, int snapshot, double pause_ms,
                struct window *w);
void print_window(const char *what, const struct window *w);

#endif
