/*
 * bench_fair: does a flood on one ingest socket starve the other? The daemon drains its
 * Unix socket and its UDP socket in turns, each for at most its budget per turn (8192
 * datagrams or 3 ms), so that a flood on one should leave the other its share.
 *
 *   bench_fair [USTATSD_BIN] [--seconds N] [--capacity LINES_PER_SEC] [--unix-per N]
 *              [--one-way]
 *
 * First the daemon's capacity: a blocking burst of 3,000,000 lines on the Unix socket,
 * timed until the daemon has accepted them all (or --capacity). Then, for --seconds each (10 by
 * default):
 *
 *   1. control: a Unix sender at half that capacity, alone;
 *   2. the same Unix sender while a UDP sender floods the daemon at full rate;
 *   3. control: a UDP sender at half the capacity, alone;
 *   4. the same UDP sender while a Unix sender floods at full rate (--one-way: skip 3, 4).
 *
 * The paced sender never blocks, as a DogStatsD client: on the Unix socket a full queue
 * (max_dgram_qlen 512 in a private network namespace, as root) is an EAGAIN, counted as
 * a drop with its lines; over UDP the kernel drops at the daemon's socket, counted by
 * ustatsd_udp_datagrams_dropped_total (only the paced sender uses UDP in runs 3 and 4).
 * The flood sends as fast as it goes: over UDP with sendmmsg, so that the kernel drops
 * what the daemon does not take; on the Unix socket with blocking sends, so that it keeps
 * the queue full. Each sender has a family of its own (fair_unix, fair_udp: counters of
 * 1 per line), so the daemon's exposition says how many lines of each it accepted, and
 * every line is accounted for: accepted, dropped by the sender (EAGAIN) or by the kernel.
 *
 * The shapes are DogStatsD clients': datagrams packed up to 8,192 bytes on the Unix
 * socket (datadog-go on a Unix socket) and up to 1,432 bytes over UDP (its UDP payload).
 * --unix-per N sends N lines per Unix datagram instead (20: bench_ingest's shape; 512 of
 * them last about 4 ms at half capacity, so the queue absorbs little).
 *
 * Placement: with two CPUs the daemon runs on CPU 1, both senders on CPU 0, the flood at
 * SCHED_IDLE: it takes every cycle the paced sender leaves, so it runs at full rate, and
 * cannot delay the paced sender, so that what the paced sender loses is the daemon's
 * doing, not its own CPU's. Datagrams the paced sender could not send in time because it
 * was descheduled for more than 5 ms are skipped (not sent, not drops) and printed.
 *
 * Verdict: the paced sender may lose at most MAX_EXTRA_LOSS (1%) more of its lines under
 * the flood than in its control run. At half capacity a fair drain gives it the time it
 * needs with room to spare, so under the flood it should lose no more than without it;
 * the 1% absorbs the noise of a shared machine (a control run on it loses up to a few
 * tenths of a percent at times), while a starved socket loses tens of percent. A flood
 * that never filled its queue (no UDP drops; the Unix flood never found the queue full)
 * proves nothing: the run is called inconclusive.
 *
 * Exit status: 0 fair, 2 unfair (a paced sender lost more than allowed), 3 inconclusive,
 * 1 when lines are unaccounted for or the run failed.
 */
#include "benchutil.h"

#define SERIES          1000
#define CAPACITY_LINES  3000000
#define DEFAULT_SECONDS 10
#define UNIX_BYTES      8192 /* datadog-go's payload on a Unix socket */
#define UDP_BYTES       1432 /* datadog-go's payload over UDP */
#define MAX_EXTRA_LOSS  0.01

static size_t unix_line(uint64_t i, char *buf, size_t cap)
{
    return (size_t)snprintf(buf, cap, "fair_unix:1|c|#k:v%u", (unsigned)(i % SERIES));
}

static size_t udp_line(uint64_t i, char *buf, size_t cap)
{
    return (size_t)snprintf(buf, cap, "fair_udp:1|c|#k:v%u", (unsigned)(i % SERIES));
}

static const char config_text[] =
    "{\n"
    "  \"families\": [\n"
    "    {\"name\": \"fair_unix\", \"type\": \"counter\", \"help\": \"Lines from the Unix "
    "sender.\",\n"
    "     \"labels\": [{\"name\": \"k\", \"max_values\": 1000}]},\n"
    "    {\"name\": \"fair_udp\", \"type\": \"counter\", \"help\": \"Lines from the UDP "
    "sender.\",\n"
    "     \"labels\": [{\"name\": \"k\", \"max_values\": 1000}]}\n"
    "  ]\n"
    "}\n";

/* What the daemon has taken in: lines per sender's family, UDP datagrams, rejects. */
struct counts {
    double lines[2]; /* [0] fair_unix, [1] fair_udp */
    double udp_dgrams, udp_drops, rejected;
    double turns, unix_cut, udp_cut; /* loop turns; drains cut at their budget */
};

static void counts_get(struct daemon *d, struct counts *c)
{
    char *body = daemon_scrape(d, NULL);
    int found;

    c->lines[0] = expo_sum(body, "fair_unix_total", &found);
    c->lines[1] = expo_sum(body, "fair_udp_total", &found);
    c->udp_dgrams = expo_sum(body, "ustatsd_udp_datagrams_received_total", &found);
    if (!found)
        benchutil_die("no ustatsd_udp_datagrams_received_total in the scrape");
    c->udp_drops = expo_sum(body, "ustatsd_udp_datagrams_dropped_total", &found);
    c->rejected = expo_sum(body, "ustatsd_lines_rejected_total", &found);
    c->turns = expo_sum(body, "ustatsd_event_loop_iteration_seconds_count", &found);
    c->unix_cut = expo_sum(body, "ustatsd_ingest_budget_exhausted_total", &found);
    c->udp_cut = expo_sum(body, "ustatsd_udp_ingest_budget_exhausted_total", &found);
    free(body);
}

static void counts_since(struct counts *c, const struct counts *base)
{
    c->lines[0] -= base->lines[0];
    c->lines[1] -= base->lines[1];
    c->udp_dgrams -= base->udp_dgrams;
    c->udp_drops -= base->udp_drops;
    c->rejected -= base->rejected;
    c->turns -= base->turns;
    c->unix_cut -= base->unix_cut;
    c->udp_cut -= base->udp_cut;
}

/* A sender flat out on a thread of its own, at SCHED_IDLE. */
struct flood {
    int fd, udp;
    const struct benchutil_load *load;
    uint64_t *before; /* before[i]: the lines in datagrams 0..i-1 of the load */
    pthread_t thread;
    atomic_int stop;
    uint64_t sent, sent_lines, full; /* full: Unix sends that found the queue full */
    int error, idle;                 /* idle: SCHED_IDLE was granted */
};

static void flood_count(struct flood *f, size_t first, size_t n)
{
    const struct benchutil_load *l = f->load;
    size_t end = first + n;

    f->sent += n;
    f->sent_lines +=
        (end / l->n - first / l->n) * l->lines + f->before[end % l->n] - f->before[first % l->n];
}

static void *flood_run(void *arg)
{
    struct flood *f = arg;
    struct sched_param sp = { 0 };
    size_t k = 0;

    f->idle = pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0;
    while (!atomic_load(&f->stop)) {
        const struct benchutil_load *l = f->load;
        size_t i = k % l->n, len = l->off[i + 1] - l->off[i], sent = 0;
        ssize_t n;
        int rc;

        if (f->udp) {
            rc = benchutil_send_udp(f->fd, l, k, 64, &sent);
            flood_count(f, k, sent);
            k += sent;
            if (rc < 0) {
                f->error = -rc;
                return NULL;
            }
            continue;
        }
        n = send(f->fd, l->data + l->off[i], len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            f->full++;
            n = send(f->fd, l->data + l->off[i], len, 0);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)len) {
            f->error = n < 0 ? errno : EMSGSIZE;
            return NULL;
        }
        flood_count(f, k, 1);
        k++;
    }
    return NULL;
}

static void flood_start(struct flood *f, int fd, int udp, const struct benchutil_load *l)
{
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->udp = udp;
    f->load = l;
    f->before = benchutil_xrealloc(NULL, (l->n + 1) * sizeof(*f->before));
    f->before[0] = 0;
    for (size_t i = 0; i < l->n; i++)
        f->before[i + 1] =
            f->before[i] + benchutil_dgram_lines(l->data + l->off[i], l->off[i + 1] - l->off[i]);
    atomic_init(&f->stop, 0);
    if (pthread_create(&f->thread, NULL, flood_run, f) != 0)
        benchutil_die("pthread_create failed");
}

static void flood_stop(struct flood *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    free(f->before);
    if (f->error != 0)
        benchutil_die("the %s flood's send failed: %s", f->udp ? "udp" : "unix",
                      strerror(f->error));
}

/* One run: a paced sender, with or without a flood on the other socket. */
struct run {
    int paced_udp, flooded;
    double attempted, accepted, lost, loss; /* the paced sender's lines; loss = lost/attempted */
    uint64_t skipped;
    double flood_sent, flood_accepted, flood_dropped_dgrams, flood_dropped;
    uint64_t flood_full;
    int flood_idle;
    struct counts c; /* the daemon's, over the run */
};

/* Wait (60 s at most) until the daemon has accounted for every datagram sent. */
static int wait_accounted(struct daemon *d, const struct counts *base, const struct run *r,
                          const struct benchutil_pacer *p, const struct flood *f, struct counts *c)
{
    uint64_t deadline = benchutil_now_ns() + 60000000000ull;
    int pu = r->paced_udp;

    for (;;) {
        int done;
        counts_get(d, c);
        counts_since(c, base);
        /* Unix datagrams sent are all accepted; UDP ones are received or dropped. */
        done = pu ? c->udp_dgrams + c->udp_drops >= (double)p->sent &&
                        c->lines[0] >= (r->flooded ? (double)f->sent_lines : 0)
                  : c->lines[0] >= (double)p->sent_lines &&
                        (!r->flooded || c->udp_dgrams + c->udp_drops >= (double)f->sent);
        if (done || benchutil_now_ns() > deadline)
            return done ? 0 : -1;
        waitfor_sleep_ms(100);
    }
}

static int run_one(struct daemon *d, int port, struct run *r, const struct benchutil_load *loads,
                   double lines_per_s, unsigned seconds)
{
    const struct benchutil_load *pl = &loads[r->paced_udp], *fl = &loads[!r->paced_udp];
    struct benchutil_pacer p;
    struct flood f = { 0 };
    struct counts base;
    int pfd, ffd = -1, pu = r->paced_udp, rc;

    counts_get(d, &base);
    pfd = pu ? benchutil_connect_udp(port) : benchutil_connect_dgram(d->sock);
    if (r->flooded) {
        ffd = pu ? benchutil_connect_dgram(d->sock) : benchutil_connect_udp(port);
        flood_start(&f, ffd, !pu, fl);
    }
    benchutil_pace_start(&p, pfd, pl, lines_per_s * (double)pl->n / (double)pl->lines);
    waitfor_sleep_ms((int)seconds * 1000);
    benchutil_pace_stop(&p);
    if (r->flooded)
        flood_stop(&f);
    close(pfd);
    if (ffd >= 0)
        close(ffd);
    if (p.errors != 0)
        benchutil_die("paced sender: %llu send errors, the last %s", (unsigned long long)p.errors,
                      strerror(p.last_error));
    rc = wait_accounted(d, &base, r, &p, &f, &r->c);

    /* The paced sender's lines: sent ones are accepted, or dropped by the kernel (UDP). */
    r->attempted = (double)(p.sent_lines + p.drop_lines);
    r->accepted = r->c.lines[pu];
    r->lost = r->attempted - r->accepted;
    r->loss = r->attempted > 0 ? r->lost / r->attempted : 0;
    r->skipped = p.skipped;
    r->flood_sent = (double)f.sent_lines;
    r->flood_accepted = r->flooded ? r->c.lines[!pu] : 0;
    r->flood_dropped_dgrams = r->flooded && !pu ? r->c.udp_drops : 0;
    r->flood_dropped = r->flood_sent - r->flood_accepted;
    r->flood_full = f.full;
    r->flood_idle = f.idle;
    if (rc != 0 || r->c.rejected != 0 ||
        (pu && r->c.udp_dgrams + r->c.udp_drops != (double)p.sent) ||
        (!pu && r->c.lines[0] != (double)p.sent_lines) ||
        (r->flooded && !pu && r->c.udp_dgrams + r->c.udp_drops != (double)f.sent) ||
        (r->flooded && pu && r->c.lines[0] != (double)f.sent_lines)) {
        fprintf(stderr,
                "bench: unaccounted: paced %llu datagrams (%llu lines) sent, flood %llu "
                "(%llu lines); the daemon accepted %.0f unix and %.0f udp lines, received "
                "%.0f udp datagrams, dropped %.0f, rejected %.0f lines\n",
                (unsigned long long)p.sent, (unsigned long long)p.sent_lines,
                (unsigned long long)f.sent, (unsigned long long)f.sent_lines, r->c.lines[0],
                r->c.lines[1], r->c.udp_dgrams, r->c.udp_drops, r->c.rejected);
        benchutil_daemon_print_rejects(d);
        return -1;
    }
    return 0;
}

static void print_run(const struct run *r, unsigned seconds)
{
    const char *paced = r->paced_udp ? "udp" : "unix", *flood = r->paced_udp ? "unix" : "udp";

    if (!r->flooded)
        printf("  control, %-4s sender alone:", paced);
    else
        printf("  %-4s sender, %-4s flood:    ", paced, flood);
    printf(" sent %.0f lines, accepted %.0f, lost %.0f (%.3f%%)%s; skipped %llu datagrams\n",
           r->attempted, r->accepted, r->lost, 100 * r->loss,
           r->paced_udp ? " (kernel drops)" : " (EAGAIN)", (unsigned long long)r->skipped);
    if (!r->flooded)
        return;
    printf("      flood: sent %.0f lines (%.0f lines/s), accepted %.0f (%.0f lines/s), ",
           r->flood_sent, r->flood_sent / seconds, r->flood_accepted, r->flood_accepted / seconds);
    if (r->paced_udp)
        printf("found the queue full %llu times", (unsigned long long)r->flood_full);
    else
        printf("dropped by the kernel %.0f lines in %.0f datagrams", r->flood_dropped,
               r->flood_dropped_dgrams);
    printf("%s\n", r->flood_idle ? "" : " (SCHED_IDLE refused: the flood ran at normal priority)");
    printf("      the daemon took in %.0f lines/s in all; %.0f event-loop turns, drains cut at "
           "their budget: unix %.0f, udp %.0f\n",
           (r->accepted + r->flood_accepted) / seconds, r->c.turns, r->c.unix_cut, r->c.udp_cut);
}

/*
 * Capacity: a blocking burst on the Unix socket, from the first send to the scrape that
 * shows its last line accepted (a queue of 512 datagrams of 8 KiB holds 190,000 lines,
 * too many to time the burst at the sender alone).
 */
static double measure_capacity(struct daemon *d, unsigned per)
{
    struct benchutil_load burst;
    struct counts base, c;
    uint64_t t0, t1, deadline;
    int fd;

    if (per != 0)
        benchutil_load_build(&burst, CAPACITY_LINES, per, unix_line);
    else
        benchutil_load_build_filled(&burst, CAPACITY_LINES, UNIX_BYTES, unix_line);
    counts_get(d, &base);
    fd = benchutil_connect_dgram(d->sock);
    t0 = benchutil_now_ns();
    benchutil_send_blocking(fd, &burst);
    close(fd);
    deadline = benchutil_now_ns() + 60000000000ull;
    for (;;) {
        counts_get(d, &c);
        counts_since(&c, &base);
        t1 = benchutil_now_ns();
        if (c.lines[0] >= (double)burst.lines || t1 > deadline)
            break;
        waitfor_sleep_ms(1);
    }
    if (c.lines[0] != (double)burst.lines)
        benchutil_die("capacity burst: %.0f of %llu lines accepted", c.lines[0],
                      (unsigned long long)burst.lines);
    benchutil_load_free(&burst);
    return (double)CAPACITY_LINES * 1e9 / (double)(t1 - t0);
}

/* The verdict on one direction: 0 fair, 2 unfair, 3 inconclusive. */
static int judge(const struct run *control, const struct run *flooded)
{
    double extra = flooded->loss - control->loss;
    const char *paced = control->paced_udp ? "udp" : "unix";
    int saturated =
        control->paced_udp ? flooded->flood_full > 0 : flooded->flood_dropped_dgrams > 0;

    printf("  %-4s sender: lost %.3f%% under the flood, %.3f%% alone: %+.3f points (at most "
           "%+.1f)  ",
           paced, 100 * flooded->loss, 100 * control->loss, 100 * extra, 100 * MAX_EXTRA_LOSS);
    if (extra > MAX_EXTRA_LOSS) {
        printf("UNFAIR: the flood starves the %s socket\n", paced);
        return 2;
    }
    if (!saturated) {
        printf("INCONCLUSIVE: the flood never filled its queue\n");
        return 3;
    }
    printf("fair\n");
    return 0;
}

int main(int argc, char **argv)
{
    struct benchutil_load loads[2]; /* [0] the Unix sender's, [1] the UDP sender's */
    struct run runs[4] = {
        { .flooded = 0 }, { .flooded = 1 }, { .paced_udp = 1 }, { .paced_udp = 1, .flooded = 1 }
    };
    unsigned seconds = DEFAULT_SECONDS, unix_per = 0, nruns = 4;
    double capacity = 0;
    struct daemon d;
    int port, status = 0, pinned;
    long qlen;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--capacity") == 0 && i + 1 < argc)
            capacity = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--unix-per") == 0 && i + 1 < argc)
            unix_per = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--one-way") == 0)
            nruns = 2;
        else if (argv[i][0] == '-' || i != 1)
            benchutil_die("usage: bench_fair [USTATSD_BIN] [--seconds N] [--capacity "
                          "LINES_PER_SEC] [--unix-per N] [--one-way]");
    }
    if (seconds == 0 || seconds > 3600 || unix_per > 100)
        benchutil_die("--seconds must be 1..3600, --unix-per 1..100");
    benchutil_find_daemon(argc, argv);
    qlen = benchutil_private_netns();
    pinned = benchutil_pin(BENCHUTIL_CPU_SENDER) == 0;
    if (unix_per != 0)
        benchutil_load_build(&loads[0], SERIES * (uint64_t)unix_per, unix_per, unix_line);
    else
        benchutil_load_build_filled(&loads[0], 100 * SERIES, UNIX_BYTES, unix_line);
    benchutil_load_build_filled(&loads[1], 100 * SERIES, UDP_BYTES, udp_line);
    benchutil_daemon_start_udp(&d, config_text, 1);
    port = benchutil_daemon_udp_port(&d);

    printf("ustatsd fairness benchmark: max_dgram_qlen %ld, %s, %u s a run\n", qlen,
           pinned ? "senders on CPU 0 (the flood at SCHED_IDLE), the daemon on CPU 1"
                  : "not pinned (one CPU)",
           seconds);
    printf("unix datagrams: %.0f lines, %.0f bytes on average; udp datagrams: %.0f lines, %.0f "
           "bytes\n",
           (double)loads[0].lines / (double)loads[0].n, (double)loads[0].len / (double)loads[0].n,
           (double)loads[1].lines / (double)loads[1].n, (double)loads[1].len / (double)loads[1].n);
    if (capacity == 0) {
        capacity = measure_capacity(&d, unix_per);
        printf("capacity: %.0f lines/s (a blocking burst of %d lines on the unix socket, until "
               "accepted)\n",
               capacity, CAPACITY_LINES);
    } else {
        printf("capacity: %.0f lines/s (from --capacity)\n", capacity);
    }
    printf("paced senders at half of it: %.0f lines/s\n\n", capacity / 2);
    for (unsigned i = 0; i < nruns; i++) {
        if (run_one(&d, port, &runs[i], loads, capacity / 2, seconds) != 0)
            status = 1;
        print_run(&runs[i], seconds);
        fflush(stdout);
    }
    printf("\nverdict (a paced sender may lose at most %.0f%% more of its lines under the "
           "flood than alone):\n",
           100 * MAX_EXTRA_LOSS);
    for (unsigned i = 0; i < nruns; i += 2) {
        int v = judge(&runs[i], &runs[i + 1]);
        /* lost lines first, then unfair, then inconclusive */
        if (status == 0 || (status == 3 && v == 2))
            status = v;
    }
    benchutil_daemon_stop(&d);
    benchutil_load_free(&loads[0]);
    benchutil_load_free(&loads[1]);
    return status;
}
