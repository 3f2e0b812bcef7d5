/*
 * bench_snapshot: what a state snapshot (daemon.state_file) costs the daemon, and what
 * the restore costs its start-up, at 100,000 and 1,000,000 series.
 *
 *   bench_snapshot [USTATSD_BIN] [--series N] [--runs N] [--quick] [--no-pin] [--cold]
 *
 * The series are HTTP-server metrics: 90% counters http_requests_total{service, method,
 * route, status} and 10% histograms http_request_duration{service, method, route} in
 * milliseconds, 12 buckets, over 1,000 services (checkout-api-17, ...), 25 route templates,
 * 4 methods and 9 status codes: few values per label, many combinations, as in real
 * fleets. They are filled with blocking sends of datagrams packed up to 8 KiB.
 *
 * Once filled, the daemon is left idle until it has put its series' memory into huge pages
 * (benchutil_settle_huge), as a daemon on a host does within seconds; --cold measures
 * right after the fill.
 *
 * For each size, the real daemon (pinned to CPU 1 with its worker threads, which deflate
 * and write the file; the prober and the sender on CPU 0) is asked for snapshots with
 * POST /debug/snapshot, which answers once the file is on disk, and reports:
 *
 *   1. the longest event-loop turn while a snapshot is written, two ways, against a
 *      window of the same length without one, measured right after in the same run:
 *      (a) the daemon's own ustatsd_event_loop_iteration_seconds buckets (read on an
 *          endpoint that serves only the daemon's own metrics, so that reading them does
 *          not render a million series), and the snapshot's longest_slice_seconds;
 *      (b) from outside: GET /-/healthy back to back on a keep-alive connection, max and
 *          p99 latency.
 *      Both with the daemon otherwise idle, and with a steady load (100,000 lines/s in
 *      datagrams of 20 lines, never blocking: EAGAIN is a drop, counted). A window
 *      repeats snapshots back to back for a second (one of 100,000 series takes about
 *      40 ms). Also the daemon's threads' CPU time and the loop thread's run-queue wait
 *      (schedstat): a loop busy with slices takes any preemption inside a turn, by the
 *      snapshot's own worker when the two share one CPU, or by other processes.
 *      Target (issue 16): no loop turn over 5 ms at 100,000 series;
 *   2. the file's size per series, and its records' size per series before deflate;
 *   3. the snapshot's wall time; the restore at start-up (daemon.state.restore.seconds in
 *      /debug) and the start-up time to /-/ready on the file, against a start-up without
 *      a state file in the same run (readiness is polled with a back-off of up to 20 ms);
 *   4. memory: VmHWM around a snapshot, reset to the current RSS before it
 *      (/proc/PID/clear_refs, root), against VmRSS before it: what a snapshot adds at
 *      its peak (deflate's state and output buffer; the chunk of records stays allocated
 *      from one snapshot to the next), the RSS after many, and the peak of a start-up
 *      that restores (the records inflated whole).
 *
 * Each size's figures are also result lines (benchresult.h): worst_turn_ms (the longest
 * turn's upper bound, idle or loaded; idle_..., loaded_..., baseline_...),
 * worst_turn_cpu_ms (the same in the loop thread's CPU time), turns_over_5ms,
 * worst_slice_ms, healthy_max_ms, file_bytes_per_series, snapshot_s, restore_s.
 *
 * Exit status: 0 when the target is met (or not applicable) and every restore put back
 * every series; 2 when the target is missed; 1 when the run failed.
 *
 * Here: each size measured, the summary, the command line; bench_snapshot.h names the
 * other parts (the daemon under test, the windows).
 */
#include "bench_snapshot.h"
#include "benchresult.h"

#define DEFAULT_RUNS  3
#define MAX_RUNS      9
#define BUCKETS       12
#define TARGET_SERIES 100000
#define TARGET_MS     5.0

/* The worst of a set of windows. */
struct worst {
    double over5, over10, hi_ms, cpu_hi_ms, max_ms, p99_ms, slice_ms;
    double total5, wait_ms, ms; /* sums over the windows */
    uint64_t drops;
};

static void worst_add(struct worst *x, const struct window *w)
{
    double lo, hi;

    turns_longest(&w->t, &lo, &hi);
    x->total5 += turns_over(&w->t, 0.005);
    x->wait_ms += w->cpu.loop_wait;
    x->ms += w->ms;
    if (turns_over(&w->t, 0.005) > x->over5)
        x->over5 = turns_over(&w->t, 0.005);
    if (turns_over(&w->t, 0.01) > x->over10)
        x->over10 = turns_over(&w->t, 0.01);
    if (hi > x->hi_ms)
        x->hi_ms = hi;
    /* The longest in CPU time (-1: the daemon does not count it). */
    turns_longest(&w->tc, &lo, &hi);
    if (w->tc.nb == 0)
        x->cpu_hi_ms = -1;
    else if (hi > x->cpu_hi_ms && x->cpu_hi_ms >= 0)
        x->cpu_hi_ms = hi;
    if (w->max_ms > x->max_ms)
        x->max_ms = w->max_ms;
    if (w->p99_ms > x->p99_ms)
        x->p99_ms = w->p99_ms;
    if (w->slice_ms > x->slice_ms)
        x->slice_ms = w->slice_ms;
    x->drops += w->drops;
}

/* What one size found, for the summary. */
struct result {
    size_t n;
    struct snap s; /* the last snapshot */
    double snap_seconds[MAX_RUNS * 2];
    size_t nsnaps;
    struct worst in[2], base[2]; /* idle, loaded */
    unsigned snaps;              /* written in the windows */
    double rss_kb, hwm_first_kb, hwm_next_kb, rss_after_kb, rss_end_kb;
    int hwm_reset;
    double restore_s, start_state_ms, start_plain_ms, restore_hwm_kb, stop_s;
    int restored_all;
};

/* ---- one size ------------------------------------------------------------------------ */

static void measure_memory(struct inst *in, struct result *r)
{
    struct snap s;
    double rss, hwm;

    r->hwm_reset = reset_hwm(in->d.pid) == 0;
    proc_mem(in->d.pid, &r->rss_kb, &hwm);
    snapshot_now(in, &s); /* the first: starts libuv's worker threads */
    proc_mem(in->d.pid, &rss, &r->hwm_first_kb);
    reset_hwm(in->d.pid);
    proc_mem(in->d.pid, &rss, &hwm);
    snapshot_now(in, &s);
    proc_mem(in->d.pid, &r->rss_after_kb, &r->hwm_next_kb);
    r->hwm_next_kb -= rss;
    r->hwm_first_kb -= r->rss_kb;
    r->s = s;
    printf("  memory: VmRSS %.1f MiB (%.0f bytes per series) before the first snapshot\n",
           r->rss_kb / 1024, r->rss_kb * 1024 / (double)r->n);
    if (r->hwm_reset)
        printf("  memory: a snapshot's peak over the RSS before it (VmHWM reset by clear_refs): "
               "first %+.0f KiB (worker threads start), next %+.0f KiB; VmRSS after %+.0f KiB\n",
               r->hwm_first_kb, r->hwm_next_kb, r->rss_after_kb - r->rss_kb);
    else
        printf("  memory: cannot reset VmHWM (/proc/PID/clear_refs needs root): peaks not "
               "measured; VmRSS after two snapshots %+.0f KiB\n",
               r->rss_after_kb - r->rss_kb);
}

static void measure_loop(struct inst *in, size_t n, int runs, struct result *r)
{
    struct benchutil_load load;

    steady_load(&load, n);
    memset(r->in, 0, sizeof(r->in));
    memset(r->base, 0, sizeof(r->base));
    for (int loaded = 0; loaded < 2; loaded++) {
        printf("  %s: snapshots back to back for %.0f ms, then as long without (the baseline), %d "
               "times\n",
               loaded ? "loaded (100,000 lines/s, 20 per datagram, never blocking)"
                      : "idle (only the prober)",
               WINDOW_MS, runs);
        for (int i = 0; i < runs; i++) {
            struct window s, b;
            run_window(in, loaded ? &load : NULL, 1, 0, &s);
            run_window(in, loaded ? &load : NULL, 0, s.ms, &b);
            print_window("snapshot", &s);
            print_window("baseline", &b);
            worst_add(&r->in[loaded], &s);
            worst_add(&r->base[loaded], &b);
            r->s = s.s;
            if (r->nsnaps < ARRAY_SIZE(r->snap_seconds))
                r->snap_seconds[r->nsnaps++] = s.s.seconds;
            r->snaps += s.snaps;
        }
    }
    benchutil_load_free(&load);
}

/* The restore section of /debug: its result, seconds and series. */
static void read_restore(struct inst *in, char *result, size_t cap, double *seconds, double *series)
{
    char *body = NULL;
    const char *p = NULL, *q;

    if (daemon_get(&in->d, "/debug?section=daemon", NULL, &body) == 200 && body != NULL)
        p = strstr(body, "\"restore\":");
    if (p == NULL)
        benchutil_die("no daemon.state.restore in /debug");
    *seconds = json_num(p, "seconds");
    *series = json_num(p, "series");
    q = strstr(p, "\"result\":\"");
    benchutil_fmt(result, cap, "%.*s", q ? (int)strcspn(q + 10, "\"") : 1, q ? q + 10 : "?");
    free(body);
}

/*
 * Start-up on the state file against start-up without one, runs times each, alternately;
 * every restore must put back n series.
 */
static void measure_restart(const char *dir, const char *state, size_t n, int runs, int pin,
                            struct result *r)
{
    double restore[MAX_RUNS], with[MAX_RUNS], without[MAX_RUNS], hwm = 0, rss_at = 0;
    double stop[MAX_RUNS];
    char result[32];

    r->restored_all = 1;
    for (int i = 0; i < runs; i++) {
        struct inst in;
        double series, rss, h;

        with[i] = (double)inst_start(&in, dir, n, state, pin) / 1e6;
        read_restore(&in, result, sizeof(result), &restore[i], &series);
        proc_mem(in.d.pid, &rss, &h);
        if (h > hwm) {
            hwm = h;
            rss_at = rss;
        }
        if (strcmp(result, "restored") != 0 || series != (double)n) {
            fprintf(stderr, "bench: restore %d: %s, %.0f series of %zu\n", i + 1, result, series,
                    n);
            r->restored_all = 0;
        }
        stop[i] = (double)inst_stop(&in) / 1e9;
        without[i] = (double)inst_start(&in, dir, n, NULL, pin) / 1e6;
        inst_stop(&in);
    }
    r->restore_s = benchutil_median(restore, (size_t)runs);
    r->start_state_ms = benchutil_median(with, (size_t)runs);
    r->start_plain_ms = benchutil_median(without, (size_t)runs);
    r->stop_s = benchutil_median(stop, (size_t)runs);
    r->restore_hwm_kb = hwm;
    printf("  restore at start-up (median of %d): %.3f s in the daemon "
           "(daemon.state.restore.seconds), %.0f ms to /-/ready; without a state file %.0f ms; "
           "every restore put back %zu series: %s\n",
           runs, r->restore_s, r->start_state_ms, r->start_plain_ms, n,
           r->restored_all ? "yes" : "NO");
    printf("  memory of a start-up that restores: VmHWM %.1f MiB, VmRSS once ready %.1f MiB (the "
           "records are inflated whole, then freed: %.1f bytes per series at the peak)\n",
           hwm / 1024, rss_at / 1024, (hwm - rss_at) * 1024 / (double)n);
    printf("  a stop, with its final snapshot: %.2f s (median)\n", r->stop_s);
}

/* --cold: measured right after the fill, not once the series are in huge pages. */
static int cold;

static void run_size(const char *dir, size_t n, int runs, int pin, struct result *r)
{
    struct inst in;
    char state[400];
    uint64_t ms;

    memset(r, 0, sizeof(*r));
    r->n = n;
    benchutil_fmt(state, sizeof(state), "%s/state-%zu", dir, n);
    printf("\n %zu series (%zu counters with 4 labels, %zu histograms of %d buckets with 3):\n", n,
           n - n / 10, n / 10, BUCKETS);
    ms = inst_start(&in, dir, n, state, pin) / 1000000u;
    printf("  started in %llu ms with no state file yet\n", (unsigned long long)ms);
    populate(&in, n);
    if (!cold)
        benchutil_settle_huge(benchutil_metrics_at, in.self);
    measure_memory(&in, r);
    measure_loop(&in, n, runs, r);
    {
        double hwm;
        proc_mem(in.d.pid, &r->rss_end_kb, &hwm);
        printf("  memory: VmRSS after %u more snapshots %+.0f KiB over the RSS before the "
               "first\n",
               r->snaps, r->rss_end_kb - r->rss_kb);
    }
    printf("  file: %.0f bytes, %.1f bytes per series; records %.0f bytes, %.1f per series "
           "(deflate ratio %.2f); snapshot wall time median %.3f s (the last of each window)\n",
           r->s.bytes, r->s.bytes / (double)n, r->s.records_bytes, r->s.records_bytes / (double)n,
           r->s.records_bytes / r->s.bytes, benchutil_median(r->snap_seconds, r->nsnaps));
    if (r->s.series != (double)n) {
        fprintf(stderr, "bench: the snapshot holds %.0f series, not %zu\n", r->s.series, n);
        r->restored_all = 0;
    }
    inst_stop(&in);
    measure_restart(dir, state, n, runs, pin, r);
}

/* ---- the command line and the summary ------------------------------------------------ */

struct args {
    size_t series[2];
    size_t nseries;
    int runs;
    int pin;
};

static void parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){ { 100000, 1000000 }, 2, DEFAULT_RUNS, 1 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
            a->series[0] = benchresult_series(argv[++i]);
            a->nseries = 1;
            if (a->series[0] < 10)
                benchutil_die("--series must be a number of series, at least 10 (100k, 10M)");
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            a->runs = atoi(argv[++i]);
            if (a->runs < 1 || a->runs > MAX_RUNS)
                benchutil_die("--runs must be 1..%d", MAX_RUNS);
        } else if (strcmp(argv[i], "--quick") == 0) {
            a->runs = 1;
        } else if (strcmp(argv[i], "--no-pin") == 0) {
            a->pin = 0;
        } else if (strcmp(argv[i], "--cold") == 0) {
            cold = 1;
        } else if (argv[i][0] == '-' || i != 1) {
            benchutil_die("usage: bench_snapshot [USTATSD_BIN] [--series N] [--runs N] "
                          "[--quick] [--no-pin] [--cold]");
        }
    }
}

/* One size's figures as result lines (benchresult.h). */
static void results(const struct result *r)
{
    double base = r->base[0].hi_ms > r->base[1].hi_ms ? r->base[0].hi_ms : r->base[1].hi_ms;
    double healthy = r->in[0].max_ms > r->in[1].max_ms ? r->in[0].max_ms : r->in[1].max_ms;
    double slice = r->in[0].slice_ms > r->in[1].slice_ms ? r->in[0].slice_ms : r->in[1].slice_ms;

    benchresult("snapshot", r->n, "worst_turn_ms",
                r->in[0].hi_ms > r->in[1].hi_ms ? r->in[0].hi_ms : r->in[1].hi_ms);
    benchresult("snapshot", r->n, "worst_turn_cpu_ms",
                r->in[0].cpu_hi_ms > r->in[1].cpu_hi_ms ? r->in[0].cpu_hi_ms : r->in[1].cpu_hi_ms);
    benchresult("snapshot", r->n, "idle_worst_turn_ms", r->in[0].hi_ms);
    benchresult("snapshot", r->n, "loaded_worst_turn_ms", r->in[1].hi_ms);
    benchresult("snapshot", r->n, "baseline_worst_turn_ms", base);
    benchresult("snapshot", r->n, "turns_over_5ms", r->in[0].total5 + r->in[1].total5);
    benchresult("snapshot", r->n, "worst_slice_ms", slice);
    benchresult("snapshot", r->n, "healthy_max_ms", healthy);
    benchresult("snapshot", r->n, "file_bytes_per_series", r->s.bytes / (double)r->n);
    benchresult("snapshot", r->n, "snapshot_s",
                benchutil_median((double *)r->snap_seconds, r->nsnaps));
    benchresult("snapshot", r->n, "restore_s", r->restore_s);
}

static int print_summary(const struct result *res, size_t nres)
{
    int status = 0;

    printf("\n summary (worst window of each kind; loop turns from the daemon's histogram, "
           "checks from outside):\n");
    printf("  %9s %6s %7s %7s %9s %9s %12s %12s %9s %9s %8s %9s\n", "series", "load", "turns>5",
           "base>5", "longest", "slice", "healthy max", "base max", "B/series", "rec/srs", "snap s",
           "restore");
    for (size_t i = 0; i < nres; i++) {
        const struct result *r = &res[i];
        for (int l = 0; l < 2; l++) {
            char longest[24];
            benchutil_fmt(longest, sizeof(longest), "<=%gms", r->in[l].hi_ms);
            printf("  %9zu %6s %7.0f %7.0f %9s %7.2fms %10.2fms %10.2fms %9.1f %9.1f %8.3f "
                   "%8.3fs\n",
                   r->n, l ? "loaded" : "idle", r->in[l].over5, r->base[l].over5, longest,
                   r->in[l].slice_ms, r->in[l].max_ms, r->base[l].max_ms, r->s.bytes / (double)r->n,
                   r->s.records_bytes / (double)r->n,
                   benchutil_median((double *)r->snap_seconds, r->nsnaps), r->restore_s);
        }
        results(r);
        if (!r->restored_all)
            status = 1;
        if (r->n == TARGET_SERIES) {
            int met = r->in[0].total5 == 0 && r->in[1].total5 == 0;
            printf("  target: no loop turn over %.0f ms while a snapshot of %d series is "
                   "written: %s (turns over 5 ms in all the windows: %.0f idle, %.0f loaded; "
                   "baselines %.0f, %.0f)\n",
                   TARGET_MS, TARGET_SERIES, met ? "met" : "MISSED", r->in[0].total5,
                   r->in[1].total5, r->base[0].total5, r->base[1].total5);
            if (!met)
                printf("  the loop thread waited for its CPU %.0f ms a second during the "
                       "snapshots, %.0f in the baselines: a busy loop takes the CPU time other "
                       "threads get inside its turns, the snapshot's own worker (when they share "
                       "one CPU) and other processes alike\n",
                       (r->in[0].wait_ms + r->in[1].wait_ms) * 1e3 / (r->in[0].ms + r->in[1].ms),
                       (r->base[0].wait_ms + r->base[1].wait_ms) * 1e3 /
                           (r->base[0].ms + r->base[1].ms));
            if (!met && status == 0)
                status = 2;
        }
    }
    return status;
}

int main(int argc, char **argv)
{
    struct result res[2];
    struct args a;
    char dir[256];
    long qlen;
    int status;

    parse_args(argc, argv, &a);
    benchutil_find_daemon(argc, argv);
    qlen = benchutil_private_netns();
    /* The prober, the sender and this thread on CPU 0, the daemon on CPU 1. */
    if (a.pin)
        benchutil_pin(BENCHUTIL_CPU_SENDER);
    benchutil_tmpdir(dir, sizeof(dir), "bench_snapshot");
    printf("ustatsd state snapshot benchmark: %s, max_dgram_qlen %ld, %d run%s per case, "
           "daemon %s\n",
           getenv("USTATSD_BIN"), qlen, a.runs, a.runs > 1 ? "s" : "",
           a.pin ? "and its worker threads pinned to CPU 1" : "not pinned");
    for (size_t i = 0; i < a.nseries; i++)
        run_size(dir, a.series[i], a.runs, a.pin, &res[i]);
    status = print_summary(res, a.nseries);
    benchutil_rmtree(dir);
    return status;
}
