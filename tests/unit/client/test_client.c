/*
 * client/ustatsd.h, the calls: what each sends is what the parser reads, doubles round
 * trip exactly, invalid calls are refused before anything is written, lines batch only at
 * line boundaries, and open() finds its path. The proto/testdata vectors are in
 * test_client_vectors.c; drops, reconnects and ustatsd-send in test_client_transport.c.
 * Every test reads what the client sent from its own socket (tests/lib/rxsock.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rxsock.h"
#include "statsd.h"
#include "ustatsd.h"

/* The client copies the parser's limits instead of including proto: keep them equal. */
_Static_assert(USTATSD_LINE_MAX == STATSD_MAX_LINE, "line limit");
_Static_assert(USTATSD_NAME_MAX == STATSD_MAX_NAME, "name limit");
_Static_assert(USTATSD_LABELS_MAX == STATSD_MAX_TAGS, "tag count limit");
_Static_assert(USTATSD_LABEL_KEY_MAX == STATSD_MAX_TAG_KEY, "tag key limit");
_Static_assert(USTATSD_LABEL_VALUE_MAX == STATSD_MAX_TAG_VALUE, "tag value limit");
_Static_assert(USTATSD_DGRAM_MAX <= STATSD_MAX_DATAGRAM, "datagram limit");

/* ---------------------------------------------------------------- fixture */

static struct rxsock *const rx = &rxsock_rx;
static struct ustatsd *const st = &rxsock_client;

/* Receive one datagram holding exactly one line and parse it. */
static void recv_one_line(char *buf, size_t cap, struct statsd_line *out)
{
    ssize_t n = rxsock_recv(rx, buf, cap);
    cr_assert_gt(n, 0, "no datagram: %s", strerror(errno));
    cr_assert_eq(buf[n - 1], '\n', "line not terminated: %s", buf);
    cr_assert_null(memchr(buf, '\n', (size_t)n - 1), "more than one line: %s", buf);
    int rc = statsd_parse_line(buf, (size_t)n - 1, out);
    cr_assert_eq(rc, STATSD_OK, "parser rejects \"%s\": %s", buf, statsd_reason_name(rc));
}

static int view_eq(struct statsd_view v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

/* ---------------------------------------------------------------- round trip */

/* Doubles whose shortest decimal form is awkward, tiny, huge, or integral. */
static const double awkward[] = {
    0.1,
    1e-300,
    123456.789,
    -2.5,
    0.3,
    1.0 / 3.0,
    2.0 / 3.0,
    5e-324,
    1e-7,
    1e21,
    1e22,
    9007199254740993.0,
    1.7976931348623157e308,
    -1e-310,
    4.35,
    100,
    1e15,
    123456789012345678.0,
    -42,
    9.2e18,
    3.0e-5,
    0.000123,
};

Test(client, doubles_round_trip_exactly_through_the_parser, .init = rxsock_up, .fini = rxsock_down)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    struct statsd_line l;
    st->batching = 0;
    for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
        double v = awkward[i];
        cr_assert_eq(ustatsd_observe(st, "lat", v, NULL, 0), 0);
        recv_one_line(buf, sizeof(buf), &l);
        cr_assert_eq(l.type, STATSD_HISTOGRAM);
        cr_assert_eq(l.nvalues, 1);
        cr_assert(memcmp(&l.values[0], &v, sizeof(v)) == 0, "%.17g came back as %.17g (%s)", v,
                  l.values[0], buf);
        /* Integral values below 2^63 never use an exponent. */
        if (v == (double)(long long)v && v < 9.2e18 && v > -9.2e18)
            cr_assert_null(strpbrk(buf, "eE."), "integer %.17g printed as %s", v, buf);

        cr_assert_eq(ustatsd_gauge_set(st, "g", v, NULL, 0), 0);
        ssize_t n = rxsock_recv(rx, buf, sizeof(buf));
        cr_assert_gt(n, 0);
        size_t pos = 0;
        struct statsd_view line;
        /* A negative absolute gauge is "g:0|g" then "g:-v|g" in one datagram. */
        if (v < 0) {
            cr_assert(statsd_next_line(buf, (size_t)n, &pos, &line));
            cr_assert_eq(statsd_parse_line(line.ptr, line.len, &l), STATSD_OK);
            cr_assert(!l.relative && l.values[0] == 0.0, "%s", buf);
        }
        cr_assert(statsd_next_line(buf, (size_t)n, &pos, &line));
        cr_assert_eq(statsd_parse_line(line.ptr, line.len, &l), STATSD_OK);
        cr_assert_eq(l.type, STATSD_GAUGE);
        cr_assert_eq(l.relative, v < 0, "%s", buf);
        cr_assert(l.values[0] == v, "gauge %.17g came back as %.17g", v, l.values[0]);
        cr_assert_eq(statsd_next_line(buf, (size_t)n, &pos, &line), 0, "extra line: %s", buf);

        cr_assert_eq(ustatsd_gauge_add(st, "g", v, NULL, 0), 0);
        recv_one_line(buf, sizeof(buf), &l);
        cr_assert(l.relative, "gauge_add sent an absolute value: %s", buf);
        cr_assert(l.values[0] == v, "delta %.17g came back as %.17g", v, l.values[0]);
    }
}

Test(client, every_call_round_trips_names_types_rates_and_tags, .init = rxsock_up,
     .fini = rxsock_down)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    struct statsd_line l;
    struct ustatsd_label labels[] = {
        { "method", "GET" },
        { "http.route", "/api/v1/images:resize" },
        { "canary", NULL },
        { "city", "Z\xc3\xbcrich with spaces" },
    };
    st->batching = 0;

    cr_assert_eq(ustatsd_count(st, "http.requests", 3, labels, 4), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert(view_eq(l.name, "http.requests"));
    cr_assert_eq(l.type, STATSD_COUNTER);
    cr_assert_eq(l.values[0], 3.0);
    cr_assert_eq(l.rate, 1.0);
    cr_assert_eq(l.ntags, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert(view_eq(l.tags[i].key, labels[i].key), "tag %zu: %s", i, buf);
        cr_assert(view_eq(l.tags[i].value, labels[i].value ? labels[i].value : ""), "%s", buf);
    }

    cr_assert_eq(ustatsd_count_sampled(st, "jobs_total", 1, 0.1, labels, 1), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert_eq(l.type, STATSD_COUNTER);
    cr_assert_eq(l.rate, 0.1);
    cr_assert_eq(l.ntags, 1);

    cr_assert_eq(ustatsd_observe_sampled(st, "size", 1024, 0.25, NULL, 0), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert_eq(l.type, STATSD_HISTOGRAM);
    cr_assert_eq(l.values[0], 1024.0);
    cr_assert_eq(l.rate, 0.25);

    cr_assert_eq(ustatsd_timing_ms(st, "db.query", 12.5, labels + 2, 1), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert_eq(l.type, STATSD_TIMER);
    cr_assert_eq(l.values[0], 12.5);
    cr_assert(view_eq(l.tags[0].key, "canary") && l.tags[0].value.len == 0);

    cr_assert_eq(ustatsd_timing_ms_sampled(st, "db.query", 0.023, 1e-9, NULL, 0), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert_eq(l.type, STATSD_TIMER);
    cr_assert_eq(l.values[0], 0.023);
    cr_assert_eq(l.rate, 1e-9);

    static const struct {
        enum ustatsd_outcome client;
        enum statsd_outcome parsed;
        char word[8];
    } outcomes[] = {
        { USTATSD_OUTCOME_WORKED, STATSD_OUTCOME_WORKED, "worked" },
        { USTATSD_OUTCOME_IDLE, STATSD_OUTCOME_IDLE, "idle" },
        { USTATSD_OUTCOME_ERROR, STATSD_OUTCOME_ERROR, "error" },
    };
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(ustatsd_job(st, "thumbnail_gc", outcomes[i].client, labels, 1), 0);
        recv_one_line(buf, sizeof(buf), &l);
        cr_assert_eq(l.type, STATSD_JOB);
        cr_assert(view_eq(l.name, "thumbnail_gc"));
        cr_assert_eq(l.outcome, outcomes[i].parsed, "%s", buf);
        cr_assert_not_null(strstr(buf, outcomes[i].word));
        cr_assert_eq(l.ntags, 1);
    }
    cr_assert_eq(st->datagrams_sent, 8);
    cr_assert_eq(st->lines_sent, 8);
    cr_assert_eq(st->datagrams_dropped + st->lines_invalid, 0);
}

/* ---------------------------------------------------------------- validation */

Test(client, invalid_calls_return_a_code_and_send_nothing, .init = rxsock_up, .fini = rxsock_down)
{
    struct ustatsd_label dup[] = { { "http.method", "GET" }, { "http_method", "GET" } };
    struct ustatsd_label bad_key[] = { { "9key", "v" } };
    struct ustatsd_label bad_value[] = { { "k", "a|b" } };
    struct ustatsd_label nul_key[] = { { NULL, "v" } };
    struct ustatsd_label many[USTATSD_LABELS_MAX + 1];
    char keys[USTATSD_LABELS_MAX + 1][8];
    for (int i = 0; i <= USTATSD_LABELS_MAX; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        many[i].key = keys[i];
        many[i].value = "v";
    }
    st->batching = 0;
    cr_assert_eq(ustatsd_count(st, "", 1, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_count(st, NULL, 1, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_count(st, "has space", 1, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_job(st, "9lives", USTATSD_OUTCOME_IDLE, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_count(st, "x", -1, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_observe(st, "x", NAN, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_gauge_add(st, "x", INFINITY, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_timing_ms(st, "x", -INFINITY, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_count_sampled(st, "x", 1, 0.0, NULL, 0), USTATSD_EBADRATE);
    cr_assert_eq(ustatsd_observe_sampled(st, "x", 1, 1.5, NULL, 0), USTATSD_EBADRATE);
    cr_assert_eq(ustatsd_timing_ms_sampled(st, "x", 1, NAN, NULL, 0), USTATSD_EBADRATE);
    cr_assert_eq(ustatsd_count(st, "x", 1, dup, 2), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(st, "x", 1, bad_key, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(st, "x", 1, bad_value, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(st, "x", 1, nul_key, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(st, "x", 1, NULL, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(st, "x", 1, many, USTATSD_LABELS_MAX + 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_job(st, "x", (enum ustatsd_outcome)3, NULL, 0), USTATSD_EBADOUTCOME);
    cr_assert_eq(ustatsd_raw(st, "a\nb", 3), USTATSD_EBADLINE);
    cr_assert_eq(st->lines_invalid, 19);
    cr_assert_eq(st->datagrams_sent + st->datagrams_dropped + st->len, 0);
    char buf[16];
    cr_assert_lt(rxsock_recv(rx, buf, sizeof(buf)), 0, "something was sent: %s", buf);

    /* Liveness: sixteen labels are fine, and the client still sends. */
    cr_assert_eq(ustatsd_count(st, "x", 1, many, USTATSD_LABELS_MAX), 0);
    cr_assert_eq(st->datagrams_sent, 1);
}

/*
 * The client's line length is the parser's: grow a label value byte by byte; the last
 * line the client accepts is exactly USTATSD_LINE_MAX bytes and parses, and the next is
 * refused (the parser would say line_too_long).
 */
Test(client, line_limit_matches_the_parser_to_the_byte, .init = rxsock_up, .fini = rxsock_down)
{
    static char values[USTATSD_LABELS_MAX][USTATSD_LABEL_VALUE_MAX + 1];
    static char keys[USTATSD_LABELS_MAX][USTATSD_LABEL_KEY_MAX + 1];
    struct ustatsd_label labels[USTATSD_LABELS_MAX];
    char buf[USTATSD_DGRAM_MAX + 1];
    struct statsd_line l;
    char name[USTATSD_NAME_MAX + 1];
    memset(name, 'n', USTATSD_NAME_MAX);
    name[USTATSD_NAME_MAX] = '\0';
    /* 200 + ":1|c|#" + 16 * (40 + 1 + 200) + 15 commas = 4077 bytes to start with. */
    for (int i = 0; i < USTATSD_LABELS_MAX; i++) {
        memset(keys[i], 'k', 38);
        snprintf(keys[i] + 38, 8, "%02d", i);
        memset(values[i], 'v', 200);
        values[i][200] = '\0';
        labels[i].key = keys[i];
        labels[i].value = values[i];
    }
    st->batching = 0;
    size_t last_ok = 0;
    for (size_t vlen = 200; vlen <= USTATSD_LABEL_VALUE_MAX; vlen++) {
        memset(values[15], 'v', vlen);
        values[15][vlen] = '\0';
        int rc = ustatsd_count(st, name, 1, labels, USTATSD_LABELS_MAX);
        if (rc == USTATSD_ETOOLONG)
            break;
        cr_assert_eq(rc, 0);
        ssize_t n = rxsock_recv(rx, buf, sizeof(buf));
        cr_assert_gt(n, 0);
        last_ok = (size_t)n - 1;
        cr_assert_eq(statsd_parse_line(buf, last_ok, &l), STATSD_OK);
    }
    cr_assert_eq(last_ok, USTATSD_LINE_MAX);
    /* The parser agrees that one more byte is too much. */
    memmove(buf + 1, buf, last_ok);
    buf[0] = 'y';
    cr_assert_eq(statsd_parse_line(buf, last_ok + 1, &l), STATSD_LINE_TOO_LONG);
}

Test(client, raw_lines_fill_at_most_one_datagram, .init = rxsock_up, .fini = rxsock_down)
{
    static char line[USTATSD_DGRAM_MAX + 1];
    static char buf[USTATSD_DGRAM_MAX + 2];
    memset(line, 'r', sizeof(line));
    cr_assert_eq(ustatsd_raw(st, "a", 1), 0);
    cr_assert_eq(ustatsd_raw(st, line, USTATSD_DGRAM_MAX), USTATSD_ETOOLONG);
    cr_assert_eq(ustatsd_raw(st, line, USTATSD_DGRAM_MAX - 1), 0);
    cr_assert_eq(st->datagrams_sent, 1, "\"a\" went first, alone");
    cr_assert_eq(ustatsd_flush(st), 0);
    cr_assert_eq(rxsock_recv(rx, buf, sizeof(buf)), 2);
    cr_assert_eq(rxsock_recv(rx, buf, sizeof(buf)), USTATSD_DGRAM_MAX);
    cr_assert_eq(buf[USTATSD_DGRAM_MAX - 1], '\n');
    cr_assert_eq(st->lines_invalid, 1);
}

/* ---------------------------------------------------------------- batching */

Test(client, batches_split_only_between_lines_and_stay_under_the_limit, .init = rxsock_up,
     .fini = rxsock_down)
{
    enum { N = 3000 };
    struct ustatsd_label labels[] = { { "route", "/api/v1/images" } };
    static char dgrams[64][USTATSD_DGRAM_MAX + 1];
    size_t lens[64], nd = 0, next = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ustatsd_observe(st, "request.latency", i * 0.5, labels, 1), 0);
        ssize_t n;
        while (nd < 64 && (n = rxsock_recv(rx, dgrams[nd], sizeof(dgrams[nd]))) >= 0)
            lens[nd++] = (size_t)n;
    }
    cr_assert_gt(nd, 5);
    cr_assert_lt(st->lines_sent, N, "batched lines left before the flush");
    cr_assert_gt(st->len, 0);
    cr_assert_eq(ustatsd_flush(st), 0);
    cr_assert_eq(st->len, 0);
    cr_assert_eq(ustatsd_flush(st), 0, "flushing an empty buffer");
    ssize_t n = rxsock_recv(rx, dgrams[nd], sizeof(dgrams[nd]));
    cr_assert_gt(n, 0);
    lens[nd++] = (size_t)n;
    cr_assert_eq(st->datagrams_sent, nd);
    cr_assert_eq(st->lines_sent, N);

    for (size_t d = 0; d < nd; d++) {
        cr_assert_leq(lens[d], USTATSD_DGRAM_MAX);
        cr_assert_eq(dgrams[d][lens[d] - 1], '\n', "datagram %zu split inside a line", d);
        size_t pos = 0;
        struct statsd_view line;
        struct statsd_line l;
        while (statsd_next_line(dgrams[d], lens[d], &pos, &line)) {
            cr_assert_eq(statsd_parse_line(line.ptr, line.len, &l), STATSD_OK);
            cr_assert_eq(l.values[0], (double)next * 0.5, "line %zu out of order", next);
            next++;
        }
        /* Sent only because the next line did not fit. */
        if (d + 1 < nd) {
            const char *nl = memchr(dgrams[d + 1], '\n', lens[d + 1]);
            cr_assert_gt(lens[d] + (size_t)(nl - dgrams[d + 1]) + 1, USTATSD_DGRAM_MAX);
        }
    }
    cr_assert_eq(next, N);
}

Test(client, batching_off_sends_one_datagram_per_call, .init = rxsock_up, .fini = rxsock_down)
{
    char buf[64];
    st->batching = 0;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ustatsd_count(st, "c", i, NULL, 0), 0);
        cr_assert_eq(st->len, 0);
        cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
        char want[16];
        snprintf(want, sizeof(want), "c:%d|c\n", i);
        cr_assert_str_eq(buf, want);
    }
    cr_assert_eq(st->datagrams_sent, 5);
}

Test(client, negative_gauge_pair_never_straddles_two_datagrams, .init = rxsock_up,
     .fini = rxsock_down)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    /* Leave 10 to 17 bytes: room for "temp:0|g\n" (9) but not for the pair (19). */
    while (st->len + 8 <= USTATSD_DGRAM_MAX - 10)
        cr_assert_eq(ustatsd_raw(st, "pad:1|c", 7), 0);
    cr_assert_eq(ustatsd_gauge_set(st, "temp", -5, NULL, 0), 0);
    cr_assert_eq(st->datagrams_sent, 1, "the pair did not fit and forced a flush");
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_null(strstr(buf, "temp"));
    cr_assert_eq(ustatsd_flush(st), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "temp:0|g\ntemp:-5|g\n");
}

Test(client, close_flushes_and_later_calls_fail, .init = rxsock_up, .fini = rxsock_down)
{
    char buf[64];
    cr_assert_eq(ustatsd_count(st, "last", 2, NULL, 0), 0);
    cr_assert_lt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_eq(ustatsd_close(st), 0);
    cr_assert_gt(rxsock_recv(rx, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "last:2|c\n");
    cr_assert_eq(ustatsd_count(st, "x", 1, NULL, 0), USTATSD_ECLOSED);
    cr_assert_eq(ustatsd_raw(st, "x", 1), USTATSD_ECLOSED);
    cr_assert_eq(ustatsd_flush(st), USTATSD_ECLOSED);
    cr_assert_eq(ustatsd_close(st), USTATSD_ECLOSED);
    cr_assert_eq(st->lines_sent, 1);
}

/* ---------------------------------------------------------------- open */

Test(client, open_takes_the_argument_then_the_environment_then_the_default)
{
    struct ustatsd c;
    cr_assert_eq(setenv(USTATSD_SOCKET_ENV, "/nonexistent/env.sock", 1), 0);
    cr_assert_eq(ustatsd_open(&c, "/nonexistent/arg.sock"), 0);
    cr_assert_str_eq(c.path, "/nonexistent/arg.sock");
    ustatsd_close(&c);
    cr_assert_eq(ustatsd_open(&c, NULL), 0);
    cr_assert_str_eq(c.path, "/nonexistent/env.sock");
    cr_assert_eq(c.last_errno, 0, "a failed first connect is not a drop");
    ustatsd_close(&c);
    cr_assert_eq(unsetenv(USTATSD_SOCKET_ENV), 0);
    cr_assert_eq(ustatsd_open(&c, ""), 0);
    cr_assert_str_eq(c.path, USTATSD_DEFAULT_SOCKET);
    cr_assert_eq(c.batching, 1);
    cr_assert_eq(c.reconnect_interval_ms, USTATSD_RECONNECT_MS);
    ustatsd_close(&c);

    char longpath[USTATSD_PATH_MAX + 1];
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    cr_assert_eq(ustatsd_open(&c, longpath), -ENAMETOOLONG);
    cr_assert_eq(ustatsd_close(&c), USTATSD_ECLOSED);
}

Test(client, error_codes_have_names_and_messages)
{
    cr_assert_str_eq(ustatsd_err_name(USTATSD_EBADNAME), "USTATSD_EBADNAME");
    cr_assert_str_eq(ustatsd_err_name(-ENOENT), "errno");
    cr_assert_str_eq(ustatsd_strerror(-ENOENT), strerror(ENOENT));
    cr_assert_str_eq(ustatsd_strerror(USTATSD_EBADRATE), "sample rate outside (0, 1]");
    cr_assert_str_eq(ustatsd_strerror(0), "success");
    cr_assert_str_eq(ustatsd_strerror(-99999), "unknown error");
}
