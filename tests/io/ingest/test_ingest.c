/* The ingest socket's delivery: credentials, hints, truncation, the drain's budget and its batches. */
#include <pthread.h>

#include "ingestctx.h"

Test(ingest, delivers_datagrams_with_content_and_sender_credentials)
{
    struct ctx c;
    char err[256];
    int fd;

    ctx_setup(&c);
    cr_assert_eq(ctx_start(&c, NULL, err, sizeof(err)), 0, "%s", err);
    fd = client_socket();
    send_to(fd, c.path, "jobs_total:1|c|#queue:mail", 26, 0);
    send_to(fd, c.path, "a:1|g\nb:2|c\n", 12, 0);
    close(fd);
    c.expect = 2;
    ctx_run(&c, 5000);

    cr_assert_not(c.timed_out);
    cr_assert_eq(c.count, 2);
    cr_assert_str_eq(c.data[0], "jobs_total:1|c|#queue:mail");
    cr_assert_eq(c.len[0], 26);
    cr_assert_str_eq(c.data[1], "a:1|g\nb:2|c\n");
    cr_assert_eq(c.len[1], 12);
    for (int i = 0; i < 2; i++) {
        cr_assert(c.nul_ok[i], "data[len] is not NUL");
        cr_assert(c.has_cred[i], "no credentials");
        cr_assert_eq(c.cred[i].pid, getpid());
        cr_assert_eq(c.cred[i].uid, getuid());
        cr_assert_eq(c.cred[i].gid, getgid());
    }
    cr_assert_eq(c.in.stats.datagrams, 2);
    cr_assert_eq(c.in.stats.bytes, 38);
    cr_assert_eq(c.in.stats.truncated, 0);
    cr_assert_eq(c.in.stats.recv_errors, 0);
    cr_assert_geq(c.in.stats.wakeups, 1);
    ctx_teardown(&c);
}

/* The order of hints and deliveries (hint_events): seq * 3 + 0, 1 (hints) or 2 (delivered). */
static int hint_events[64];
static size_t nhint_events;

static long seq_of(const char *data, size_t len)
{
    long seq = 0;

    for (size_t i = 0; i < len && data[i] >= '0' && data[i] <= '9'; i++)
        seq = seq * 10 + (data[i] - '0');
    return seq;
}

static void on_hint(const char *data, size_t len, enum ingest_hint_step step, void *arg)
{
    (void)arg;
    if (nhint_events < 64)
        hint_events[nhint_events++] = step == INGEST_HINT_FORGET
                                          ? (data == NULL && len == 0 ? -1 : -2)
                                          : (int)seq_of(data, len) * 3 + (int)step;
}

static void on_dgram_after_hints(struct ingest *in, const char *data, size_t len,
                                 const struct ucred *cred, const struct sockaddr *src, void *arg)
{
    if (nhint_events < 64)
        hint_events[nhint_events++] = (int)seq_of(data, len) * 3 + 2;
    on_dgram(in, data, len, cred, src, arg);
}

/*
 * An ingest with the owner's hints (on_hint), and HINTED datagrams "0" to "7" queued: more
 * than a scan runs ahead of a delivery (INGEST_HINT_SCAN_AHEAD).
 */
#define HINTED 8
_Static_assert(HINTED > INGEST_HINT_SCAN_AHEAD + 2, "datagrams past the hints' reach");
static void start_hinted(struct ctx *c)
{
    struct ingest_config cfg = { 0 };
    char err[256], text[16];
    int fd;

    ctx_setup(c);
    cfg.path = c->path;
    cfg.batch = 64; /* all of them in one recvmmsg batch (checked by the tests) */
    ingest_init(&c->in, &c->loop, &cfg, on_dgram_after_hints, c);
    c->in.hint = on_hint;
    cr_assert_eq(ingest_start(&c->in, err, sizeof(err)), 0, "%s", err);
    fd = client_socket();
    for (int i = 0; i < HINTED; i++) {
        int n = snprintf(text, sizeof text, "%d", i);
        send_to(fd, c->path, text, (size_t)n, 0);
    }
    close(fd);
}

/*
 * The owner's hints (ingest_hint_cb): every datagram of a batch is scanned, then fetched,
 * then delivered, each once, the hints running ahead of the deliveries, and the batch
 * ends with one "forget".
 */
Test(ingest, each_datagram_is_hinted_twice_before_it_is_delivered)
{
    struct ctx c;
    int pos[HINTED][3];

    start_hinted(&c);
    c.expect = HINTED;
    nhint_events = 0;
    ctx_run(&c, 5000);

    cr_assert_not(c.timed_out);
    cr_assert_eq(c.count, HINTED);
    cr_assert_not(c.out_of_order);
    cr_assert_eq(c.in.stats.max_batch, HINTED, "one batch");
    cr_assert_eq(nhint_events, 3 * HINTED + 1, "3 events a datagram and a forget, got %zu",
                 nhint_events);
    cr_assert_eq(hint_events[3 * HINTED], -1, "the batch ends with a forget of no data");
    memset(pos, -1, sizeof pos);
    for (size_t k = 0; k + 1 < nhint_events; k++) {
        int seq = hint_events[k] / 3, what = hint_events[k] % 3;

        cr_assert_geq(hint_events[k], 0, "event %zu: a forget before the batch's end", k);
        cr_assert(seq >= 0 && seq < HINTED);
        cr_assert_eq(pos[seq][what], -1, "datagram %d, event %d twice", seq, what);
        pos[seq][what] = (int)k;
    }
    for (int i = 0; i < HINTED; i++) {
        cr_assert_lt(pos[i][0], pos[i][1], "datagram %d: fetched before its scan", i);
        cr_assert_lt(pos[i][1], pos[i][2], "datagram %d: delivered before its hints", i);
        if (i + 1 < HINTED)
            cr_assert_lt(pos[i + 1][1], pos[i][2], "datagram %d: the next one not hinted ahead", i);
        /* As far ahead as ingest.h says: a scan and a fetch that many datagrams before. */
        if (i + INGEST_HINT_SCAN_AHEAD < HINTED)
            cr_assert_lt(pos[i + INGEST_HINT_SCAN_AHEAD][0], pos[i][2], "datagram %d", i);
        if (i + INGEST_HINT_FETCH_AHEAD < HINTED)
            cr_assert_lt(pos[i + INGEST_HINT_FETCH_AHEAD][1], pos[i][2], "datagram %d", i);
    }
    ctx_teardown(&c);
}

Test(ingest, truncated_datagram_is_counted_and_not_delivered)
{
    static char big[5000];
    struct ctx c;
    struct ingest_config cfg = { 0 };
    char err[256];
    int fd;

    ctx_setup(&c);
    memset(big, 'z', sizeof(big));
    cfg.path = c.path;
    cfg.max_datagram = 100;
    cr_assert_eq(ctx_start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    fd = client_socket();
    send_to(fd, c.path, big, 101, 0);
    send_to(fd, c.path, big, sizeof(big), 0);
    send_to(fd, c.path, big, 100, 0);
    close(fd);
    c.expect = 1;
    ctx_run(&c, 5000);
    cr_assert_not(c.timed_out);
    cr_assert_eq(c.count, 1);
    cr_assert_eq(c.len[0], 100);
    cr_assert(c.nul_ok[0]);
    cr_assert_eq(c.in.stats.truncated, 2);
    cr_assert_eq(c.in.stats.datagrams, 1);
    cr_assert_eq(c.in.stats.bytes, 100);
    ctx_teardown(&c);
}

#define FLOOD_TOTAL       5000
#define FLOOD_PREFILL_CAP 600

struct sender {
    const char *path;
    int fd;
    long from;
    long to;
    long sent;
};

/* Blocking sends: with max_dgram_qlen 10 a non-blocking sender would lose datagrams. */
static void *send_blocking(void *arg)
{
    struct sender *s = arg;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char text[32];

    memcpy(sa.sun_path, s->path, strlen(s->path) + 1); /* checked by the test body */
    for (long i = s->from; i < s->to; i++) {
        int n = snprintf(text, sizeof(text), "%ld", i);
        if (sendto(s->fd, text, (size_t)n, 0, (struct sockaddr *)&sa, sizeof(sa)) != n)
            break;
        s->sent++;
    }
    return NULL;
}

Test(ingest, budget_bounds_each_wakeup_and_everything_arrives)
{
    struct ctx c;
    struct ingest_config cfg = { 0 };
    struct sender s = { 0 };
    struct sockaddr_un sa;
    pthread_t thread;
    char err[256], text[32];
    long prefilled = 0;

    ctx_setup(&c);
    cfg.path = c.path;
    cfg.batch = 3;
    cfg.budget = 4;
    cr_assert_eq(ctx_start(&c, &cfg, err, sizeof(err)), 0, "%s", err);

    /* Fill the queue before the loop runs, so that the first wake-up has more than the
     * budget waiting; then a thread sends the rest, blocking whenever the queue is full. */
    s.fd = client_socket();
    sa = addr_of(c.path);
    while (prefilled < FLOOD_PREFILL_CAP) {
        int n = snprintf(text, sizeof(text), "%ld", prefilled);
        if (sendto(s.fd, text, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) != n)
            break;
        prefilled++;
    }
    cr_assert_gt(prefilled, 4, "max_dgram_qlen %ld is below the test's budget",
                 c.in.max_dgram_qlen);
    s.path = c.path;
    s.from = prefilled;
    s.to = FLOOD_TOTAL;
    cr_assert_eq(pthread_create(&thread, NULL, send_blocking, &s), 0);

    c.expect = FLOOD_TOTAL;
    ctx_run(&c, 20000);
    pthread_join(thread, NULL);
    close(s.fd);

    cr_assert_not(c.timed_out, "only %zu of %d arrived", c.count, FLOOD_TOTAL);
    cr_assert_eq(prefilled + s.sent, FLOOD_TOTAL);
    cr_assert_eq(c.count, FLOOD_TOTAL);
    cr_assert_not(c.out_of_order);
    cr_assert_leq(c.max_in_wakeup, 4);
    cr_assert_leq(c.in.stats.max_wakeup, 4);
    cr_assert_leq(c.in.stats.max_batch, 3);
    cr_assert_geq(c.in.stats.budget_hits, 1);
    cr_assert_geq(c.in.stats.wakeups, FLOOD_TOTAL / 4);
    ctx_teardown(&c);
}

/*
 * Datagrams that each cost the callback 200 us, as an 8 KiB datagram of new series can:
 * once that cost is known, a wake-up asks recvmmsg for no more than the 1 ms budget
 * affords, instead of a batch of 64 that would hold the loop for 13 ms.
 */
Test(ingest, a_batch_of_slow_datagrams_is_cut_to_the_time_left)
{
    struct ctx c;
    struct ingest_config cfg = { 0 };
    struct sender s = { 0 };
    pthread_t thread;
    char err[256];

    ctx_setup(&c);
    cfg.path = c.path;
    cfg.batch = 64;
    cfg.budget = 1024;
    cfg.budget_ns = 1000000;
    c.spin_ns = 200000;
    cr_assert_eq(ctx_start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_geq(c.in.max_dgram_qlen, 7, "max_dgram_qlen %ld is too short for this test",
                  c.in.max_dgram_qlen);

    /* The queue stays full: a blocking sender refills it as fast as it empties. */
    s.fd = client_socket();
    s.path = c.path;
    s.to = 300;
    cr_assert_eq(pthread_create(&thread, NULL, send_blocking, &s), 0);
    c.expect = 300;
    ctx_run(&c, 20000);
    pthread_join(thread, NULL);
    close(s.fd);

    cr_assert_not(c.timed_out, "only %zu of 300 arrived", c.count);
    cr_assert_eq(c.count, 300);
    cr_assert_not(c.out_of_order);
    /* 1 ms / 200 us, plus the one the time left is rounded up to. */
    cr_assert_leq(c.max_in_later_wakeup, 6, "a wake-up took %zu datagrams of 200 us",
                  c.max_in_later_wakeup);
    cr_assert_geq(c.in.stats.budget_hits, 10);
    ctx_teardown(&c);
}

/*
 * Queue n numbered datagrams ("0" to "n-1") before the loop runs: at most 10, the kernel's
 * own net.unix.max_dgram_qlen, which a test may not count on being raised.
 */
#define HELD_TEST_N 10
static void prefill(struct ctx *c, int fd, int n)
{
    char text[32];

    cr_assert_geq(c->in.max_dgram_qlen, n, "max_dgram_qlen %ld is too short for this test",
                  c->in.max_dgram_qlen);
    for (int i = 0; i < n; i++)
        send_to(fd, c->path, text, (size_t)snprintf(text, sizeof(text), "%d", i), MSG_DONTWAIT);
}

/* A started ingest (1 ms budget) with HELD_TEST_N datagrams of 300 us each queued. */
static int start_dear(struct ctx *c)
{
    struct ingest_config cfg = { 0 };
    char err[256];
    int fd;

    ctx_setup(c);
    cfg.path = c->path;
    cfg.batch = 64;
    cfg.budget = 1024;
    cfg.budget_ns = 1000000;
    c->spin_ns = 300000;
    cr_assert_eq(ctx_start(c, &cfg, err, sizeof(err)), 0, "%s", err);
    fd = client_socket();
    prefill(c, fd, HELD_TEST_N);
    return fd;
}

/*
 * Datagrams that turn dear with no warning, as the first datagrams of new series after
 * known ones do: the batch that holds them is stopped within at the 1 ms budget, and the
 * rest of it is delivered in the next turns, in order, first, with nothing lost, though
 * the socket has nothing more to say (no poll callback comes). The first batch, before
 * any cost is known, is stopped at the first look at the clock (8 datagrams); once the
 * cost is known, the clock is read after each one.
 */
Test(ingest, a_batch_that_turns_dear_is_stopped_within_and_the_rest_comes_next)
{
    struct ctx c;
    int fd = start_dear(&c);

    ctx_run_all(&c, fd, HELD_TEST_N);
    cr_assert_eq(c.in.stats.max_batch, HELD_TEST_N, "one recvmmsg took them all");
    cr_assert_leq(c.max_in_wakeup, 8, "a wake-up took %zu datagrams of 300 us", c.max_in_wakeup);
    /* 1 ms / 300 us, and the one that crosses it. */
    cr_assert_leq(c.max_in_later_wakeup, 4, "a later wake-up took %zu datagrams",
                  c.max_in_later_wakeup);
    cr_assert_geq(c.in.stats.batch_cuts, 1);
    cr_assert_geq(c.in.stats.wakeups, 2);
    ctx_teardown(&c);
}

/*
 * New datagrams come while some are held: the held ones go first (the poll callback's
 * drain delivers them before its recvmmsg reuses their buffers), and nothing is lost.
 */
Test(ingest, held_datagrams_go_before_newer_ones)
{
    struct ctx c;
    int fd = start_dear(&c);

    c.more_fd = fd;
    c.more_at = 8; /* the first wake-up's share: two are held then, "10" and "11" come */
    cr_assert_eq(c.more_at + 2, HELD_TEST_N);
    ctx_run_all(&c, fd, HELD_TEST_N + 2);
    cr_assert_geq(c.in.stats.batch_cuts, 1);
    ctx_teardown(&c);
}

/*
 * Datagrams that keep coming while a drain delivers: start with first queued, each
 * delivery sends each more, until total; no time budget in the way. Returns the wake-ups.
 */
static uint64_t feed_run(size_t first, size_t each, size_t total)
{
    struct ctx c;
    struct ingest_config cfg = { 0 };
    char err[256];
    uint64_t wakeups;
    int fd;

    ctx_setup(&c);
    cfg.path = c.path;
    cfg.budget_ns = 60ull * 1000000000ull;
    cr_assert_eq(ctx_start(&c, &cfg, err, sizeof(err)), 0, "%s", err);
    fd = client_socket();
    c.more_fd = fd;
    c.feed_each = each;
    c.feed_total = total;
    for (; c.fed < first; c.fed++) {
        char text[32];

        send_to(fd, c.path, text, (size_t)snprintf(text, sizeof(text), "%zu", c.fed), 0);
    }
    ctx_run_all(&c, fd, total);
    wakeups = c.in.stats.wakeups;
    ctx_teardown(&c);
    return wakeups;
}

/*
 * A batch of several, shorter than asked: more came while it was delivered, so the drain
 * looks again rather than going back to the loop. 40 datagrams, two in each look (each
 * delivered one sends the next; never more than two queued, whatever the host's
 * net.unix.max_dgram_qlen): one wake-up takes them all.
 */
Test(ingest, datagrams_that_come_during_a_drain_are_taken_in_the_same_wakeup)
{
    cr_assert_eq(feed_run(2, 1, 40), 1);
}

/*
 * A batch of one: datagrams come no faster than they are handled, and the drain goes
 * back to the loop (which sleeps in epoll) instead of a recvmmsg call that would find
 * nothing. Each of 10 datagrams, sent while the one before is delivered, has its own
 * wake-up.
 */
Test(ingest, a_batch_of_one_goes_back_to_the_loop)
{
    cr_assert_eq(feed_run(1, 1, 10), 10);
}

/* Datagrams held when the owner closes the ingest are delivered by ingest_close(). */
static void held_then(int deliver_first)
{
    struct ctx c;
    int fd = start_dear(&c);

    cr_assert_eq(uv_timer_init(&c.loop, &c.later), 0);
    c.later.data = &c;
    c.close_later_at = 8; /* the first wake-up's share, before the cost is known */
    c.later_deliver = deliver_first;
    ctx_run(&c, 20000);
    close(fd);

    cr_assert_not(c.timed_out);
    cr_assert_eq(c.in.stats.batch_cuts, 1);
    cr_assert_eq(c.count_at_close, HELD_TEST_N, "%zu delivered when the call returned",
                 c.count_at_close);
    cr_assert_eq(c.count, HELD_TEST_N);
    cr_assert_not(c.out_of_order);
    ctx_teardown(&c);
}

Test(ingest, held_datagrams_are_delivered_by_a_close)
{
    held_then(0);
}

/* What the daemon calls before each request and a reload: the held ones, at once. */
Test(ingest, held_datagrams_are_delivered_when_the_owner_asks)
{
    held_then(1);
}

/*
 * An owner that closes the ingest from a delivery (a reload that stops the socket, say):
 * the rest of the batch is neither delivered nor hinted any further, and the cut batch
 * still ends with its one forget, so that no staged slot outlives the batch's buffers.
 */
Test(ingest, a_batch_cut_by_a_close_still_ends_with_a_forget)
{
    struct ctx c;
    int delivered = 0, forgets = 0, last = -1;

    start_hinted(&c);
    c.expect = 2; /* on_dgram closes the ingest on the second datagram */
    nhint_events = 0;
    ctx_run(&c, 5000);

    cr_assert_not(c.timed_out);
    cr_assert_eq(c.count, 2);
    cr_assert_eq(c.in.stats.max_batch, HINTED, "one batch");
    cr_assert_gt(nhint_events, 0);
    cr_assert_eq(hint_events[nhint_events - 1], -1, "the cut batch ends with a forget");
    for (size_t k = 0; k < nhint_events; k++) {
        if (hint_events[k] < 0) {
            forgets++;
            continue;
        }
        if (hint_events[k] % 3 == 2)
            delivered++;
        if (hint_events[k] / 3 > last)
            last = hint_events[k] / 3;
    }
    cr_assert_eq(forgets, 1, "one forget, got %d", forgets);
    cr_assert_eq(delivered, 2);
    /* Hinted up to INGEST_HINT_SCAN_AHEAD past the last delivered (the second), no further. */
    cr_assert_eq(last, 1 + INGEST_HINT_SCAN_AHEAD, "hinted up to datagram %d, got %d",
                 1 + INGEST_HINT_SCAN_AHEAD, last);
    ctx_teardown(&c);
}

Test(ingest, no_datagram_is_delivered_after_close_in_the_callback)
{
    struct ctx c;
    char err[256];
    int fd;

    ctx_setup(&c);
    cr_assert_eq(ctx_start(&c, NULL, err, sizeof(err)), 0, "%s", err);
    fd = client_socket();
    for (int i = 0; i < 5; i++)
        send_to(fd, c.path, "x:1|c", 5, 0);
    close(fd);
    c.expect = 1;
    ctx_run(&c, 5000);
    cr_assert_not(c.timed_out);
    cr_assert_eq(c.count, 1);
    ctx_teardown(&c);
}
