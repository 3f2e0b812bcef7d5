/*
 * Staging through a real socket: the receive loop's hints (ingestrecv), recvmmsg's
 * batches and their buffers reused from batch to batch, into the real intake, with a
 * front cache big enough that staging is on. Every short datagram is delivered from its
 * slot, long ones are not staged, and every line counts exactly as it would unstaged:
 * cached series, new ones, and refused lines. Again with batches cut by the time budget,
 * the rest held for later turns: a resumed batch is staged again from its first held
 * datagram.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "ingest/ingest.h"
/* The intake unit tests' pipeline: a config, its registry and an intake over them. */
#include "../../unit/intake_fixture.h"

enum { SERIES = 90000, DGRAMS = 6000, LONG_LINES = 20 };

static uv_loop_t loop;
static uv_timer_t timer;
static struct ingest ing;
static char dir[64], path[128];
static char dgram[DGRAMS][512];
static size_t dlen[DGRAMS];
static double want[SERIES]; /* each cached series' sum */
static size_t delivered;    /* datagrams */
static size_t from_slot;    /* of them, found in a slot when delivered */
static size_t short_ones;   /* datagrams of at most INTAKE_STAGE_BYTES */
static size_t new_lines, bad_lines, good_lines;
static size_t forgets; /* batches ended (ingestrecv's forget) */
static int timed_out;
static int send_errno;   /* the sender's failure, 0: none */
static size_t sent;      /* datagrams the sender got out */
static uint64_t spin_ns; /* each delivery's extra time: the receive loop's budget then cuts */

static void on_closed(struct ingest *ig)
{
    (void)ig;
    uv_close((uv_handle_t *)&timer, NULL);
}

static void on_hint(const char *data, size_t len, enum ingest_hint_step step, void *arg)
{
    (void)arg;
    forgets += step == INGEST_HINT_FORGET;
    intake_stage(&in, data, len,
                 step == INGEST_HINT_SCAN    ? INTAKE_SCAN
                 : step == INGEST_HINT_FETCH ? INTAKE_FETCH
                                             : INTAKE_FORGET);
}

static void on_dgram(struct ingest *ig, const char *data, size_t len, const struct ucred *cred,
                     const struct sockaddr *src, void *arg)
{
    (void)cred, (void)src, (void)arg;
    /* What intake_datagram() will find: a slot scanned from these very bytes. */
    for (unsigned k = 0; k < INTAKE_STAGED; k++)
        from_slot += in.staged[k].data == data && in.staged[k].len == len;
    intake_datagram(&in, data, len, NULL, NOW_MS);
    for (uint64_t until = spin_ns != 0 ? uv_hrtime() + spin_ns : 0; uv_hrtime() < until;)
        ;
    if (++delivered == DGRAMS)
        ingest_close(ig, on_closed);
}

static void on_timeout(uv_timer_t *t)
{
    (void)t;
    timed_out = 1;
    if (!ing.closing)
        ingest_close(&ing, on_closed);
}

/* Blocking sends, in order: the socket's queue is short, the loop drains it meanwhile. */
static void *send_all(void *arg)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    (void)arg;
    if (fd < 0) {
        send_errno = errno;
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (; sent < DGRAMS; sent++)
        if (sendto(fd, dgram[sent], dlen[sent], 0, (struct sockaddr *)&sa, sizeof sa) !=
            (ssize_t)dlen[sent]) {
            send_errno = errno;
            break;
        }
    close(fd);
    return NULL;
}

/*
 * Datagram i: mostly one line to a cached series; every tenth, LONG_LINES lines (too long
 * to stage); now and then a new series, a refused value, or two lines.
 */
static void make_load(void)
{
    for (size_t i = 0; i < DGRAMS; i++) {
        char *d = dgram[i];
        size_t k = (i * 7919) % SERIES, v = i % 7 + 1;
        int n = 0;

        if (i % 10 == 9) {
            for (size_t j = 0; j < LONG_LINES; j++) {
                size_t kj = (i * 131 + j * 977) % SERIES;

                n += snprintf(d + n, sizeof dgram[i] - (size_t)n, "b:1|c|#k:v%zu\n", kj);
                want[kj] += 1;
                good_lines++;
            }
        } else if (i % 50 == 7) {
            n = snprintf(d, sizeof dgram[i], "b:3|c|#k:n%zu", i);
            new_lines++;
        } else if (i % 50 == 13) {
            n = snprintf(d, sizeof dgram[i], "b:x|c|#k:v%zu", k);
            bad_lines++;
        } else if (i % 50 == 21) {
            n = snprintf(d, sizeof dgram[i], "b:%zu|c|#k:v%zu\nb:1|c|#k:v%zu\n", v, k,
                         (k + 1) % SERIES);
            want[k] += (double)v;
            want[(k + 1) % SERIES] += 1;
            good_lines += 2;
        } else {
            n = snprintf(d, sizeof dgram[i], "b:%zu|c|#k:v%zu", v, k);
            want[k] += (double)v;
            good_lines++;
        }
        dlen[i] = (size_t)n;
        short_ones += dlen[i] <= INTAKE_STAGE_BYTES;
    }
}

/* The series made and cached before the load: each at 2, through 20-line datagrams. */
static void warm_up(void)
{
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < SERIES; k += 20) {
            char d[512];
            int n = 0;

            for (size_t j = k; j < k + 20 && j < SERIES; j++)
                n += snprintf(d + n, sizeof d - (size_t)n, "b:1|c|#k:v%zu\n", j);
            intake_datagram(&in, d, (size_t)n, NULL, NOW_MS);
        }
    }
    for (size_t k = 0; k < SERIES; k++)
        want[k] = 2;
}

/* Every cached series' sum in the exposition, and the new ones'. */
static void check_sums(void)
{
    char *text = intake_exposition(), *p = text;
    size_t seen = 0, seen_new = 0;

    while ((p = strstr(p, "\nb_total{k=\"")) != NULL) {
        char kind;
        size_t k;
        double v;

        p += 12;
        cr_assert_eq(sscanf(p, "%c%zu\"} %lf", &kind, &k, &v), 3, "%.40s", p);
        if (kind == 'n') {
            cr_assert_eq(v, 3.0, "n%zu: %g", k, v);
            seen_new++;
            continue;
        }
        cr_assert_eq(kind, 'v');
        cr_assert_lt(k, (size_t)SERIES);
        cr_assert_eq(v, want[k], "v%zu: %g, want %g", k, v, want[k]);
        seen++;
    }
    cr_assert_eq(seen, (size_t)SERIES);
    cr_assert_eq(seen_new, new_lines);
    free(text);
}

/*
 * Datagrams queued before the loop runs, so that its first batch holds that many at least
 * (the socket's queue takes 10 by the kernel's default, net.unix.max_dgram_qlen).
 */
#define PREFILL 9

/* The first PREFILL datagrams, sent without waiting: the queue takes them. */
static void prefill(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (; sent < PREFILL; sent++)
        cr_assert_eq(
            sendto(fd, dgram[sent], dlen[sent], MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa),
            (ssize_t)dlen[sent], "datagram %zu: %s", sent, strerror(errno));
    close(fd);
}

/*
 * The load through a real socket into the intake, staged, each delivery taking spin
 * ns more, and every verdict on what came out.
 */
static void run(uint64_t spin)
{
    struct ingest_config icfg = { 0 };
    pthread_t sender;
    char err[256];
    int rc;

    intake_up("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
              " \"families\": [{\"name\": \"b\", \"type\": \"counter\","
              "  \"labels\": [{\"name\": \"k\", \"max_values\": 100000}]}]}");
    warm_up();
    intake_stage(&in, NULL, 0, INTAKE_FORGET);
    cr_assert_eq(in.staging, 1, "%d series: the front cache pays for staging", SERIES);
    make_load();

    strcpy(dir, "/tmp/test_intake_socket-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ustatsd.sock", dir);
    cr_assert_eq(uv_loop_init(&loop), 0);
    icfg.path = path;
    icfg.batch = 64;
    spin_ns = spin;
    ingest_init(&ing, &loop, &icfg, on_dgram, NULL);
    ing.hint = on_hint;
    cr_assert_eq(ingest_start(&ing, err, sizeof err), 0, "%s", err);
    prefill();
    cr_assert_eq(uv_timer_init(&loop, &timer), 0);
    cr_assert_eq(uv_timer_start(&timer, on_timeout, 60000, 0), 0);
    if (pthread_create(&sender, NULL, send_all, NULL) != 0) {
        ingest_close(&ing, on_closed);
        send_errno = -1;
    }
    rc = uv_run(&loop, UV_RUN_DEFAULT);
    if (send_errno != -1)
        pthread_join(sender, NULL);
    /* Cleaned up before any verdict, so that a failure leaves nothing behind. */
    unlink(path);
    rmdir(dir);
    cr_assert_eq(rc, 0);
    cr_assert_eq(uv_loop_close(&loop), 0);

    cr_assert_eq(send_errno, 0, "the sender stopped at datagram %zu: %s", sent,
                 send_errno > 0 ? strerror(send_errno) : "no thread");
    cr_assert_not(timed_out, "%zu of %d datagrams arrived", delivered, DGRAMS);
    cr_assert_eq(delivered, (size_t)DGRAMS);
    /* Batches of at most 64, each ended by a forget: the receive buffers were reused. */
    cr_assert_geq(forgets, (size_t)(DGRAMS + 63) / 64, "%zu batches", forgets);
    /* Each short datagram from its slot, and no long one. */
    cr_assert_eq(from_slot, short_ones, "%zu of %zu short datagrams came from a slot", from_slot,
                 short_ones);
    cr_assert_lt(short_ones, (size_t)DGRAMS);
    cr_assert_eq(in.count.accepted, 2 * (uint64_t)SERIES + good_lines + new_lines);
    cr_assert_eq(intake_rejected_total(&in.count), bad_lines);
    check_sums();
    intake_down();
}

Test(intake_socket, staged_datagrams_through_a_real_socket_count_exactly, .timeout = 120)
{
    run(0);
}

/*
 * Deliveries of 200 us: the first batch (PREFILL datagrams or more) is cut when its first
 * eight have taken the wake-up's 1 ms, and the rest is held and delivered in later turns,
 * its hints given again from the first one held (the batch's forget dropped the slots).
 * Every short datagram still comes from its own slot, and every line counts exactly.
 */
Test(intake_socket, held_datagrams_are_staged_again_when_their_batch_resumes, .timeout = 120)
{
    run(200000);
    cr_assert_geq(ing.stats.batch_cuts, 1, "%llu batches cut",
                  (unsigned long long)ing.stats.batch_cuts);
}
