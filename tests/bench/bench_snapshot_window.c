/*
 * bench_snapshot's windows: GET /-/healthy back to back on a keep-alive connection (the
 * prober), with or without the steady load, around back-to-back snapshots or a pause as
 * long; the loop turns and the threads' CPU in it; and its lines of the report.
 */
#include "bench_snapshot.h"

#define LOAD_LINES_PER_S 100000.0
#define MAX_CHECKS       (1u << 22)

/* ---- the prober ---------------------------------------------------------------------- */

/* GET /-/healthy back to back on one keep-alive connection; latencies while armed. */
struct prober {
    const char *addr;
    pthread_t thread;
    atomic_int stop, armed;
    uint64_t *lat;
    size_t n;
    int error;
};

static void *prober_main(void *arg)
{
    struct prober *p = arg;
    struct httpc h;
    int rc;

    if ((rc = httpc_open(&h, p->addr, 60000)) != 0) {
        p->error = -rc;
        return NULL;
    }
    while (!atomic_load(&p->stop)) {
        int armed = atomic_load(&p->armed);
        uint64_t dt;

        if ((rc = benchutil_health_check(&h, &dt)) != 0) {
            p->error = rc;
            break;
        }
        if (armed && atomic_load(&p->armed) && p->n < MAX_CHECKS)
            p->lat[p->n++] = dt;
    }
    httpc_close(&h);
    return NULL;
}

static void prober_start(struct prober *p, const char *addr)
{
    memset(p, 0, sizeof(*p));
    p->addr = addr;
    atomic_init(&p->stop, 0);
    atomic_init(&p->armed, 0);
    p->lat = benchutil_xrealloc(NULL, MAX_CHECKS * sizeof(*p->lat));
    if (pthread_create(&p->thread, NULL, prober_main, p) != 0)
        benchutil_die("pthread_create failed");
    waitfor_sleep_ms(20);
}

/* Stop the prober's window and summarise it into w. */
static void prober_collect(struct prober *p, struct window *w)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    if (p->error)
        benchutil_die("health probe: %s", strerror(p->error));
    if (p->n == 0)
        benchutil_die("no health check completed inside the window");
    qsort(p->lat, p->n, sizeof(p->lat[0]), benchutil_cmp_u64);
    w->checks = p->n;
    w->p50_ms = (double)p->lat[p->n / 2] / 1e6;
    w->p99_ms = (double)p->lat[p->n * 99 / 100] / 1e6;
    w->max_ms = (double)p->lat[p->n - 1] / 1e6;
    free(p->lat);
}

/*
 * One window: the prober (and with load, the paced sender) around a snapshot (snapshot
 * nonzero) or a pause of pause_ms. The loop-turn counts are read just inside its ends.
 */
void run_window(struct inst *in, const struct benchutil_load *load, int snapshot, double pause_ms,
                struct window *w)
{
    struct benchutil_pacer pacer;
    struct prober p;
    struct turns t0, t1, tc0, tc1;
    struct cputime c0, c1;
    uint64_t start;
    int fd = -1;

    memset(w, 0, sizeof(*w));
    if (load != NULL) {
        fd = benchutil_connect_dgram(in->d.sock);
        benchutil_pace_start(&pacer, fd, load, LOAD_LINES_PER_S / LOAD_PER);
    }
    prober_start(&p, in->d.http);
    read_turns(in, &t0, &tc0);
    atomic_store(&p.armed, 1);
    read_cputime(in->d.pid, &c0);
    start = benchutil_now_ns();
    if (snapshot) {
        do {
            snapshot_now(in, &w->s);
            w->snaps++;
            if (w->s.longest_slice * 1e3 > w->slice_ms)
                w->slice_ms = w->s.longest_slice * 1e3;
        } while ((double)(benchutil_now_ns() - start) / 1e6 < WINDOW_MS);
    } else
        waitfor_sleep_ms((int)(pause_ms + 0.5));
    w->ms = (double)(benchutil_now_ns() - start) / 1e6;
    read_cputime(in->d.pid, &c1);
    w->cpu.loop_run = c1.loop_run - c0.loop_run;
    w->cpu.loop_wait = c1.loop_wait - c0.loop_wait;
    w->cpu.others_run = c1.others_run - c0.others_run;
    atomic_store(&p.armed, 0);
    read_turns(in, &t1, &tc1);
    prober_collect(&p, w);
    if (load != NULL) {
        benchutil_pace_stop(&pacer);
        w->drops = atomic_load(&pacer.drops);
        close(fd);
    }
    turns_diff(&w->t, &t0, &t1);
    turns_diff(&w->tc, &tc0, &tc1);
}

/* ---- reporting ----------------------------------------------------------------------- */

void print_window(const char *what, const struct window *w)
{
    double lo, hi;

    turns_longest(&w->t, &lo, &hi);
    printf("    %s, %.0f ms", what, w->ms);
    if (w->snaps > 0)
        printf(": %u snapshots, longest slice %.3f ms", w->snaps, w->slice_ms);
    printf("\n      loop turns %.0f: >1 ms %.0f, >2.5 ms %.0f, >5 ms %.0f, >10 ms %.0f; the "
           "longest in (%g, %g] ms\n",
           w->t.count, turns_over(&w->t, 0.001), turns_over(&w->t, 0.0025),
           turns_over(&w->t, 0.005), turns_over(&w->t, 0.01), lo, hi);
    printf("      /-/healthy back to back: %zu checks, p50 %.3f ms, p99 %.3f ms, max %.3f ms; "
           "the load's drops %llu\n",
           w->checks, w->p50_ms, w->p99_ms, w->max_ms, (unsigned long long)w->drops);
    printf("      the loop thread ran %.0f ms and waited %.1f ms for its CPU; the other "
           "threads ran %.0f ms\n",
           w->cpu.loop_run, w->cpu.loop_wait, w->cpu.others_run);
    if (w->snaps > 0)
        printf("      per snapshot: the loop thread %.1f ms (with the checks it served), the "
               "other threads %.1f ms (deflate, write, fsync)\n",
               w->cpu.loop_run / w->snaps, w->cpu.others_run / w->snaps);
}
