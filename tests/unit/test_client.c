/*
 * client/ustatsd.h: what it sends is what the parser reads, it refuses what the parser
 * would reject (the proto/testdata vectors), it never blocks or raises SIGPIPE when the
 * daemon is gone or full, it reconnects lazily, and it batches only at line boundaries.
 * Every test binds its own AF_UNIX datagram socket in a mkdtemp() directory and reads
 * what the client sent with recv(MSG_DONTWAIT): a local datagram is queued by the time
 * send() returns, so no test waits on a daemon.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "statsd.h"
#include "testdata.h"
#include "ustatsd.h"

/* The client copies the parser's limits instead of including proto: keep them equal. */
_Static_assert(USTATSD_LINE_MAX == STATSD_MAX_LINE, "line limit");
_Static_assert(USTATSD_NAME_MAX == STATSD_MAX_NAME, "name limit");
_Static_assert(USTATSD_LABELS_MAX == STATSD_MAX_TAGS, "tag count limit");
_Static_assert(USTATSD_LABEL_KEY_MAX == STATSD_MAX_TAG_KEY, "tag key limit");
_Static_assert(USTATSD_LABEL_VALUE_MAX == STATSD_MAX_TAG_VALUE, "tag value limit");
_Static_assert(USTATSD_DGRAM_MAX <= STATSD_MAX_DATAGRAM, "datagram limit");

/* ---------------------------------------------------------------- fixture */

static char dir[64];
static char sock_path[USTATSD_PATH_MAX];
static int rx = -1;
static struct ustatsd st;

static void rx_bind(void)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(rx, 0, "socket: %s", strerror(errno));
    cr_assert_eq(bind(rx, (const struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", sock_path,
                 strerror(errno));
}

/* The daemon going away: its socket closes and its path is unlinked. */
static void rx_unbind(void)
{
    if (rx >= 0)
        close(rx);
    rx = -1;
    unlink(sock_path);
}

static void setup_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ustatsd-client-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/ustatsd.sock", dir);
}

/* A daemon that is up, and a client connected to it. */
static void setup_up(void)
{
    setup_dir();
    rx_bind();
    cr_assert_eq(ustatsd_open(&st, sock_path), 0);
    cr_assert_eq(st.connects, 1);
}

/* No daemon yet: the path does not exist. */
static void setup_down(void)
{
    setup_dir();
    cr_assert_eq(ustatsd_open(&st, sock_path), 0);
    cr_assert_eq(st.connects, 0);
}

static void teardown(void)
{
    ustatsd_close(&st);
    rx_unbind();
    rmdir(dir);
}

/* The next datagram, NUL-terminated, or -1 when none is queued. */
static ssize_t rx_recv(char *buf, size_t cap)
{
    ssize_t n = recv(rx, buf, cap - 1, MSG_DONTWAIT);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* Receive one datagram holding exactly one line and parse it. */
static void recv_one_line(char *buf, size_t cap, struct statsd_line *out)
{
    ssize_t n = rx_recv(buf, cap);
    cr_assert_gt(n, 0, "no datagram: %s", strerror(errno));
    cr_assert_eq(buf[n - 1], '\n', "line not terminated: %s", buf);
    cr_assert_null(memchr(buf, '\n', (size_t)n - 1), "more than one line: %s", buf);
    int rc = statsd_parse_line(buf, (size_t)n - 1, out);
    cr_assert_eq(rc, STATSD_OK, "parser rejects \"%s\": %s", buf, statsd_reason_name(rc));
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
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

Test(client, doubles_round_trip_exactly_through_the_parser, .init = setup_up, .fini = teardown)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    struct statsd_line l;
    st.batching = 0;
    for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
        double v = awkward[i];
        cr_assert_eq(ustatsd_observe(&st, "lat", v, NULL, 0), 0);
        recv_one_line(buf, sizeof(buf), &l);
        cr_assert_eq(l.type, STATSD_HISTOGRAM);
        cr_assert_eq(l.nvalues, 1);
        cr_assert(memcmp(&l.values[0], &v, sizeof(v)) == 0, "%.17g came back as %.17g (%s)", v,
                  l.values[0], buf);
        /* Integral values below 2^63 never use an exponent. */
        if (v == (double)(long long)v && v < 9.2e18 && v > -9.2e18)
            cr_assert_null(strpbrk(buf, "eE."), "integer %.17g printed as %s", v, buf);

        cr_assert_eq(ustatsd_gauge_set(&st, "g", v, NULL, 0), 0);
        ssize_t n = rx_recv(buf, sizeof(buf));
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

        cr_assert_eq(ustatsd_gauge_add(&st, "g", v, NULL, 0), 0);
        recv_one_line(buf, sizeof(buf), &l);
        cr_assert(l.relative, "gauge_add sent an absolute value: %s", buf);
        cr_assert(l.values[0] == v, "delta %.17g came back as %.17g", v, l.values[0]);
    }
}

Test(client, every_call_round_trips_names_types_rates_and_tags, .init = setup_up, .fini = teardown)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    struct statsd_line l;
    struct ustatsd_label labels[] = {
        { "method", "GET" },
        { "http.route", "/api/v1/images:resize" },
        { "canary", NULL },
        { "city", "Z\xc3\xbcrich with spaces" },
    };
    st.batching = 0;

    cr_assert_eq(ustatsd_count(&st, "http.requests", 3, labels, 4), 0);
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

    cr_assert_eq(ustatsd_count_sampled(&st, "jobs_total", 1, 0.1, labels, 1), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert_eq(l.type, STATSD_COUNTER);
    cr_assert_eq(l.rate, 0.1);
    cr_assert_eq(l.ntags, 1);

    cr_assert_eq(ustatsd_observe_sampled(&st, "size", 1024, 0.25, NULL, 0), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert_eq(l.type, STATSD_HISTOGRAM);
    cr_assert_eq(l.values[0], 1024.0);
    cr_assert_eq(l.rate, 0.25);

    cr_assert_eq(ustatsd_timing_ms(&st, "db.query", 12.5, labels + 2, 1), 0);
    recv_one_line(buf, sizeof(buf), &l);
    cr_assert_eq(l.type, STATSD_TIMER);
    cr_assert_eq(l.values[0], 12.5);
    cr_assert(view_eq(l.tags[0].key, "canary") && l.tags[0].value.len == 0);

    cr_assert_eq(ustatsd_timing_ms_sampled(&st, "db.query", 0.023, 1e-9, NULL, 0), 0);
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
        cr_assert_eq(ustatsd_job(&st, "thumbnail_gc", outcomes[i].client, labels, 1), 0);
        recv_one_line(buf, sizeof(buf), &l);
        cr_assert_eq(l.type, STATSD_JOB);
        cr_assert(view_eq(l.name, "thumbnail_gc"));
        cr_assert_eq(l.outcome, outcomes[i].parsed, "%s", buf);
        cr_assert_not_null(strstr(buf, outcomes[i].word));
        cr_assert_eq(l.ntags, 1);
    }
    cr_assert_eq(st.datagrams_sent, 8);
    cr_assert_eq(st.lines_sent, 8);
    cr_assert_eq(st.datagrams_dropped + st.lines_invalid, 0);
}

/* ---------------------------------------------------------------- proto/testdata */

struct vec {
    char *buf; /* decoded line, malloc'd, exact size */
    size_t len;
    int lineno;
};

/* Every data row of proto/testdata/<file>: fn(first field, decoded column col, arg). */
static void each_row(const char *file, size_t col, void (*fn)(const char *, struct vec *, void *),
                     void *arg)
{
    struct testdata td;
    struct testdata_row row;
    testdata_open(&td, file);
    while (testdata_next(&td, &row)) {
        cr_assert_gt(row.nfields, col, "%s:%d: no column %zu", file, row.lineno, col);
        struct vec v = { .lineno = row.lineno };
        v.buf = testdata_decode(row.field[col], &v.len, row.lineno);
        fn(row.field[0], &v, arg);
        free(v.buf);
    }
    testdata_close(&td);
}

#define MAX_VTAGS 48

/* A line taken apart leniently, the way a caller of the client would have held it. */
struct parts {
    const char *name, *value, *type, *rate;
    size_t nlen, vlen, tlen, rlen;
    int nrates;
    size_t ntags;
    struct {
        const char *key, *value; /* value NULL for a bare tag */
        size_t klen, vlen;
    } tags[MAX_VTAGS];
};

/*
 *   name:value|type|@rate|#k:v,bare|T123|c:id
 *   ^    ^     ^    ^     ^ every '|' field after the type, in any order
 */
static void split(const char *p, size_t len, struct parts *out)
{
    const char *end = p + len, *s = p;
    memset(out, 0, sizeof(*out));
    while (len > 0 && (end[-1] == '\n' || end[-1] == '\r'))
        end--, len--;
    while (s < end && *s != ':' && *s != '|')
        s++;
    out->name = p;
    out->nlen = (size_t)(s - p);
    if (s < end && *s == ':')
        s++;
    out->value = s;
    while (s < end && *s != '|')
        s++;
    out->vlen = (size_t)(s - out->value);
    if (s < end)
        s++;
    out->type = s;
    while (s < end && *s != '|')
        s++;
    out->tlen = (size_t)(s - out->type);
    while (s < end) {
        const char *f = ++s;
        while (s < end && *s != '|')
            s++;
        if (f < s && *f == '@') {
            out->rate = f + 1;
            out->rlen = (size_t)(s - f - 1);
            out->nrates++;
        } else if (f < s && *f == '#') {
            const char *t = f + 1;
            for (;;) {
                const char *te = t;
                while (te < s && *te != ',')
                    te++;
                if (out->ntags < MAX_VTAGS) {
                    const char *colon = memchr(t, ':', (size_t)(te - t));
                    out->tags[out->ntags].key = t;
                    out->tags[out->ntags].klen = (size_t)((colon ? colon : te) - t);
                    out->tags[out->ntags].value = colon ? colon + 1 : NULL;
                    out->tags[out->ntags].vlen = colon ? (size_t)(te - colon - 1) : 0;
                }
                out->ntags++;
                if (te == s)
                    break;
                t = te + 1;
            }
        }
    }
}

/* NUL-terminated copies of the tags, for the public API; NULL when a tag holds a NUL. */
static struct ustatsd_label *copy_labels(const struct parts *p, char (*store)[2][512])
{
    static struct ustatsd_label labels[MAX_VTAGS];
    for (size_t i = 0; i < p->ntags && i < MAX_VTAGS; i++) {
        if (p->tags[i].klen >= 512 || p->tags[i].vlen >= 512 ||
            memchr(p->tags[i].key, '\0', p->tags[i].klen) ||
            (p->tags[i].value && memchr(p->tags[i].value, '\0', p->tags[i].vlen)))
            return NULL;
        memcpy(store[i][0], p->tags[i].key, p->tags[i].klen);
        store[i][0][p->tags[i].klen] = '\0';
        labels[i].key = store[i][0];
        labels[i].value = NULL;
        if (p->tags[i].value) {
            memcpy(store[i][1], p->tags[i].value, p->tags[i].vlen);
            store[i][1][p->tags[i].vlen] = '\0';
            labels[i].value = store[i][1];
        }
    }
    return labels;
}

static char label_store[MAX_VTAGS][2][512];

/*
 * strtod of [p, p+n) when the whole of it is a decimal number or a NaN/Inf word; 0 when
 * not. Hex ("0x1") is refused: it is syntax, which a double argument cannot carry.
 */
static int number(const char *p, size_t n, double *out)
{
    char tmp[64], *e;
    if (n == 0 || n >= sizeof(tmp) || memchr(p, '\0', n) || memchr(p, 'x', n) || memchr(p, 'X', n))
        return 0;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &e);
    return *e == '\0';
}

struct tally {
    int checked, skipped;
};

/*
 * A line the parser rejects for a reason that a client call can express must be refused
 * by the client too: by the validator of that part, and by the public call (when the
 * part holds no NUL, which a C string cannot carry).
 */
static void refuse_invalid(const char *reason, struct vec *v, void *arg)
{
    struct tally *t = arg;
    struct parts p;
    char name[512];
    int r = statsd_reason_by_name(reason);
    cr_assert_geq(r, 0, "invalid.tsv:%d: unknown reason %s", v->lineno, reason);
    split(v->buf, v->len, &p);
    int name_ok = p.nlen < sizeof(name) && !memchr(p.name, '\0', p.nlen);
    if (name_ok) {
        memcpy(name, p.name, p.nlen);
        name[p.nlen] = '\0';
    }

    switch (r) {
    case STATSD_EMPTY_NAME:
    case STATSD_NAME_TOO_LONG:
    case STATSD_INVALID_NAME:
        cr_assert_eq(ustatsd_check_name(p.name, p.nlen), USTATSD_EBADNAME,
                     "invalid.tsv:%d: client accepts the name", v->lineno);
        if (name_ok)
            cr_assert_eq(ustatsd_observe(&st, name, 1, NULL, 0), USTATSD_EBADNAME, "invalid.tsv:%d",
                         v->lineno);
        t->checked++;
        return;
    case STATSD_INVALID_TAG:
    case STATSD_TOO_MANY_TAGS:
    case STATSD_TAG_KEY_TOO_LONG:
    case STATSD_TAG_VALUE_TOO_LONG:
    case STATSD_DUPLICATE_TAG:
    case STATSD_INVALID_UTF8:
    case STATSD_LINE_TOO_LONG: {
        if (p.ntags == 0) {
            t->skipped++; /* invalid UTF-8 in a c: field: not something the client sends */
            return;
        }
        int each_ok = 1;
        for (size_t i = 0; i < p.ntags && i < MAX_VTAGS; i++)
            each_ok &= ustatsd_check_label(p.tags[i].key, p.tags[i].klen, p.tags[i].value,
                                           p.tags[i].vlen) == 0;
        struct ustatsd_label *labels = copy_labels(&p, label_store);
        if (labels) {
            cr_assert(name_ok);
            int rc = ustatsd_count(&st, name, 1, labels, p.ntags);
            cr_assert(rc == USTATSD_EBADLABEL || rc == USTATSD_ETOOLONG,
                      "invalid.tsv:%d: client call returns %s", v->lineno, ustatsd_err_name(rc));
            if (p.ntags <= MAX_VTAGS && each_ok)
                cr_assert_eq(ustatsd_check_labels(labels, p.ntags) != 0 ||
                                 r == STATSD_LINE_TOO_LONG,
                             1, "invalid.tsv:%d: check_labels accepts", v->lineno);
        } else {
            cr_assert(!each_ok, "invalid.tsv:%d: client accepts every tag", v->lineno);
        }
        t->checked++;
        return;
    }
    case STATSD_NON_FINITE: {
        int refused = 0;
        const char *s = p.value, *e = p.value + p.vlen;
        while (s <= e) {
            const char *c = memchr(s, ':', (size_t)(e - s));
            double d;
            if (!c)
                c = e;
            if (number(s, (size_t)(c - s), &d) && ustatsd_check_value(d) != 0) {
                cr_assert(name_ok);
                cr_assert_eq(ustatsd_observe(&st, name, d, NULL, 0), USTATSD_EBADVALUE);
                cr_assert_eq(ustatsd_gauge_set(&st, name, d, NULL, 0), USTATSD_EBADVALUE);
                refused = 1;
            }
            s = c + 1;
        }
        cr_assert(refused, "invalid.tsv:%d: client accepts every value", v->lineno);
        t->checked++;
        return;
    }
    case STATSD_INVALID_SAMPLE_RATE: {
        double rate;
        if (p.nrates != 1 || !number(p.rate, p.rlen, &rate)) {
            t->skipped++; /* "@", "@abc", two rates: a double argument cannot say those */
            return;
        }
        cr_assert_eq(ustatsd_check_rate(rate), USTATSD_EBADRATE, "invalid.tsv:%d", v->lineno);
        cr_assert_eq(ustatsd_count_sampled(&st, "x", 1, rate, NULL, 0), USTATSD_EBADRATE);
        t->checked++;
        return;
    }
    default:
        t->skipped++; /* syntax the client's formatter cannot produce */
        return;
    }
}

Test(client, refuses_what_the_parser_rejects_in_proto_testdata, .init = setup_up, .fini = teardown)
{
    struct tally t = { 0, 0 };
    each_row("invalid.tsv", 1, refuse_invalid, &t);
    cr_assert_geq(t.checked, 40, "only %d vectors were applicable", t.checked);
    cr_assert_eq(st.datagrams_sent + st.datagrams_dropped, 0, "an invalid call sent something");
    cr_assert_eq(st.len, 0, "an invalid call left bytes in the buffer");
    cr_assert_gt(st.lines_invalid, 0);
}

/*
 * A line the parser accepts: its name, tags, rate and values pass the client's
 * validators, and sent again through the public call for its type, it parses back to
 * the same name, type, values, rate, tags and outcome.
 */
static void resend_valid(const char *line, struct vec *v, void *arg)
{
    struct tally *t = arg;
    struct parts p;
    struct statsd_line want, got;
    struct statsd_view first;
    char name[512], buf[USTATSD_DGRAM_MAX + 1];
    size_t pos = 0;
    double value = 0, rate = 1;
    int rc;
    (void)line;

    cr_assert(statsd_next_line(v->buf, v->len, &pos, &first));
    cr_assert_eq(statsd_parse_line(first.ptr, first.len, &want), STATSD_OK, "valid.tsv:%d",
                 v->lineno);
    split(first.ptr, first.len, &p);
    cr_assert_eq(ustatsd_check_name(p.name, p.nlen), 0, "valid.tsv:%d: name", v->lineno);
    for (size_t i = 0; i < p.ntags; i++)
        cr_assert_eq(
            ustatsd_check_label(p.tags[i].key, p.tags[i].klen, p.tags[i].value, p.tags[i].vlen), 0,
            "valid.tsv:%d: tag %zu", v->lineno, i);
    struct ustatsd_label *labels = copy_labels(&p, label_store);
    cr_assert_not_null(labels);
    cr_assert_eq(ustatsd_check_labels(labels, p.ntags), 0, "valid.tsv:%d: tags", v->lineno);
    if (p.rate) {
        cr_assert(number(p.rate, p.rlen, &rate));
        cr_assert_eq(ustatsd_check_rate(rate), 0, "valid.tsv:%d: rate", v->lineno);
    }
    for (size_t i = 0; i < want.nvalues; i++)
        cr_assert_eq(ustatsd_check_value(want.values[i]), 0, "valid.tsv:%d", v->lineno);
    memcpy(name, p.name, p.nlen);
    name[p.nlen] = '\0';
    value = want.values[0];

    switch (want.type) {
    case STATSD_COUNTER:
        if (value != (double)(long long)value || value < 0) {
            /* -1|c: the parser's, but the daemon's NEGATIVE_COUNTER; 0.5|c: not an integer. */
            if (value < 0)
                cr_assert_eq(ustatsd_count(&st, name, -1, labels, p.ntags), USTATSD_EBADVALUE);
            t->skipped++;
            return;
        }
        rc = ustatsd_count_sampled(&st, name, (long long)value, want.rate, labels, p.ntags);
        break;
    case STATSD_GAUGE:
        rc = want.relative ? ustatsd_gauge_add(&st, name, value, labels, p.ntags)
                           : ustatsd_gauge_set(&st, name, value, labels, p.ntags);
        break;
    case STATSD_TIMER:
    case STATSD_HISTOGRAM:
        if (want.nvalues != 1) {
            t->skipped++; /* packed values: the client sends one per call */
            return;
        }
        rc = want.type == STATSD_TIMER
                 ? ustatsd_timing_ms_sampled(&st, name, value, want.rate, labels, p.ntags)
                 : ustatsd_observe_sampled(&st, name, value, want.rate, labels, p.ntags);
        break;
    case STATSD_JOB:
        rc = ustatsd_job(&st, name, (enum ustatsd_outcome)want.outcome, labels, p.ntags);
        break;
    default:
        t->skipped++; /* |d: the client has no distribution call */
        return;
    }
    cr_assert_eq(rc, 0, "valid.tsv:%d: client refuses it: %s", v->lineno, ustatsd_err_name(rc));
    ssize_t n = rx_recv(buf, sizeof(buf));
    cr_assert_gt(n, 0);
    pos = 0;
    cr_assert(statsd_next_line(buf, (size_t)n, &pos, &first));
    if (want.type == STATSD_GAUGE && !want.relative && value < 0)
        cr_assert(statsd_next_line(buf, (size_t)n, &pos, &first)); /* after "name:0|g" */
    cr_assert_eq(statsd_parse_line(first.ptr, first.len, &got), STATSD_OK, "%s", buf);
    cr_assert(got.name.len == want.name.len &&
              memcmp(got.name.ptr, want.name.ptr, got.name.len) == 0);
    cr_assert_eq(got.type, want.type, "valid.tsv:%d: %s", v->lineno, buf);
    cr_assert(got.values[0] == want.values[0], "valid.tsv:%d: %s", v->lineno, buf);
    cr_assert_eq(got.relative, want.relative, "valid.tsv:%d: %s", v->lineno, buf);
    cr_assert_eq(got.rate, want.rate, "valid.tsv:%d: %s", v->lineno, buf);
    cr_assert_eq(got.outcome, want.outcome);
    cr_assert_eq(got.ntags, want.ntags, "valid.tsv:%d: %s", v->lineno, buf);
    for (size_t i = 0; i < got.ntags; i++) {
        cr_assert(got.tags[i].key.len == want.tags[i].key.len &&
                  memcmp(got.tags[i].key.ptr, want.tags[i].key.ptr, got.tags[i].key.len) == 0);
        cr_assert(
            got.tags[i].value.len == want.tags[i].value.len &&
                memcmp(got.tags[i].value.ptr, want.tags[i].value.ptr, got.tags[i].value.len) == 0,
            "valid.tsv:%d: tag %zu: %s", v->lineno, i, buf);
    }
    t->checked++;
}

Test(client, accepts_and_reproduces_what_the_parser_accepts_in_proto_testdata, .init = setup_up,
     .fini = teardown)
{
    struct tally t = { 0, 0 };
    st.batching = 0;
    each_row("valid.tsv", 0, resend_valid, &t);
    cr_assert_geq(t.checked, 40, "only %d vectors were applicable", t.checked);
}

/* ---------------------------------------------------------------- validation */

Test(client, invalid_calls_return_a_code_and_send_nothing, .init = setup_up, .fini = teardown)
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
    st.batching = 0;
    cr_assert_eq(ustatsd_count(&st, "", 1, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_count(&st, NULL, 1, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_count(&st, "has space", 1, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_job(&st, "9lives", USTATSD_OUTCOME_IDLE, NULL, 0), USTATSD_EBADNAME);
    cr_assert_eq(ustatsd_count(&st, "x", -1, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_observe(&st, "x", NAN, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_gauge_add(&st, "x", INFINITY, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_timing_ms(&st, "x", -INFINITY, NULL, 0), USTATSD_EBADVALUE);
    cr_assert_eq(ustatsd_count_sampled(&st, "x", 1, 0.0, NULL, 0), USTATSD_EBADRATE);
    cr_assert_eq(ustatsd_observe_sampled(&st, "x", 1, 1.5, NULL, 0), USTATSD_EBADRATE);
    cr_assert_eq(ustatsd_timing_ms_sampled(&st, "x", 1, NAN, NULL, 0), USTATSD_EBADRATE);
    cr_assert_eq(ustatsd_count(&st, "x", 1, dup, 2), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(&st, "x", 1, bad_key, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(&st, "x", 1, bad_value, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(&st, "x", 1, nul_key, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(&st, "x", 1, NULL, 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_count(&st, "x", 1, many, USTATSD_LABELS_MAX + 1), USTATSD_EBADLABEL);
    cr_assert_eq(ustatsd_job(&st, "x", (enum ustatsd_outcome)3, NULL, 0), USTATSD_EBADOUTCOME);
    cr_assert_eq(ustatsd_raw(&st, "a\nb", 3), USTATSD_EBADLINE);
    cr_assert_eq(st.lines_invalid, 19);
    cr_assert_eq(st.datagrams_sent + st.datagrams_dropped + st.len, 0);
    char buf[16];
    cr_assert_lt(rx_recv(buf, sizeof(buf)), 0, "something was sent: %s", buf);

    /* Liveness: sixteen labels are fine, and the client still sends. */
    cr_assert_eq(ustatsd_count(&st, "x", 1, many, USTATSD_LABELS_MAX), 0);
    cr_assert_eq(st.datagrams_sent, 1);
}

/*
 * The client's line length is the parser's: grow a label value byte by byte; the last
 * line the client accepts is exactly USTATSD_LINE_MAX bytes and parses, and the next is
 * refused (the parser would say line_too_long).
 */
Test(client, line_limit_matches_the_parser_to_the_byte, .init = setup_up, .fini = teardown)
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
    st.batching = 0;
    size_t last_ok = 0;
    for (size_t vlen = 200; vlen <= USTATSD_LABEL_VALUE_MAX; vlen++) {
        memset(values[15], 'v', vlen);
        values[15][vlen] = '\0';
        int rc = ustatsd_count(&st, name, 1, labels, USTATSD_LABELS_MAX);
        if (rc == USTATSD_ETOOLONG)
            break;
        cr_assert_eq(rc, 0);
        ssize_t n = rx_recv(buf, sizeof(buf));
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

Test(client, raw_lines_fill_at_most_one_datagram, .init = setup_up, .fini = teardown)
{
    static char line[USTATSD_DGRAM_MAX + 1];
    static char buf[USTATSD_DGRAM_MAX + 2];
    memset(line, 'r', sizeof(line));
    cr_assert_eq(ustatsd_raw(&st, "a", 1), 0);
    cr_assert_eq(ustatsd_raw(&st, line, USTATSD_DGRAM_MAX), USTATSD_ETOOLONG);
    cr_assert_eq(ustatsd_raw(&st, line, USTATSD_DGRAM_MAX - 1), 0);
    cr_assert_eq(st.datagrams_sent, 1, "\"a\" went first, alone");
    cr_assert_eq(ustatsd_flush(&st), 0);
    cr_assert_eq(rx_recv(buf, sizeof(buf)), 2);
    cr_assert_eq(rx_recv(buf, sizeof(buf)), USTATSD_DGRAM_MAX);
    cr_assert_eq(buf[USTATSD_DGRAM_MAX - 1], '\n');
    cr_assert_eq(st.lines_invalid, 1);
}

/* ---------------------------------------------------------------- drops */

/* 10000 calls, none taking 50 ms; returns the slowest in ns. */
static long long ten_thousand_counts(void)
{
    long long slowest = 0;
    for (int i = 0; i < 10000; i++) {
        long long t0 = now_ns();
        int rc = ustatsd_count(&st, "requests", 1, NULL, 0);
        long long dt = now_ns() - t0;
        cr_assert(rc == 0 || rc == -EAGAIN || rc == -ENOENT || rc == -ENOBUFS, "call %d: %s", i,
                  ustatsd_strerror(rc));
        if (dt > slowest)
            slowest = dt;
    }
    cr_assert_lt(slowest, 50LL * 1000000, "a call took %lld ns", slowest);
    return slowest;
}

Test(client, missing_socket_drops_at_once_and_counts, .init = setup_down, .fini = teardown)
{
    st.batching = 0;
    ten_thousand_counts();
    cr_assert_eq(st.datagrams_dropped, 10000);
    cr_assert_eq(st.lines_dropped, 10000);
    cr_assert_eq(st.datagrams_sent, 0);
    cr_assert_eq(st.last_errno, ENOENT);
    cr_assert_eq(ustatsd_count(&st, "requests", 1, NULL, 0), -ENOENT);
}

Test(client, full_queue_drops_at_once_and_keeps_the_connection, .init = setup_up, .fini = teardown)
{
    st.batching = 0;
    ten_thousand_counts();
    /* net.unix.max_dgram_qlen (10 by default) datagrams fit; the rest are dropped. */
    cr_assert_gt(st.datagrams_sent, 0);
    cr_assert_lt(st.datagrams_sent, 10000);
    cr_assert_eq(st.datagrams_sent + st.datagrams_dropped, 10000);
    cr_assert_eq(st.lines_dropped, st.datagrams_dropped);
    cr_assert_eq(st.last_errno, EAGAIN);
    cr_assert_eq(st.connects, 1, "EAGAIN must not reconnect");

    /* The daemon catches up: the next line goes through on the same connection. */
    char buf[64];
    while (rx_recv(buf, sizeof(buf)) >= 0)
        ;
    cr_assert_eq(ustatsd_count(&st, "after", 1, NULL, 0), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "after:1|c\n");
}

Test(client, full_queue_with_batching_drops_whole_datagrams, .init = setup_up, .fini = teardown)
{
    ten_thousand_counts();
    ustatsd_flush(&st);
    cr_assert_gt(st.datagrams_dropped, 0);
    cr_assert_eq(st.lines_sent + st.lines_dropped, 10000);
    cr_assert_eq(st.last_errno, EAGAIN);
}

Test(client, reconnects_lazily_and_at_most_once_per_interval, .init = setup_down, .fini = teardown)
{
    char buf[64];
    st.batching = 0;
    st.reconnect_interval_ms = 300;
    cr_assert_eq(ustatsd_count(&st, "early", 1, NULL, 0), -ENOENT);
    rx_bind();
    /* The daemon is back, but open() tried to connect a moment ago: still dropped. */
    cr_assert_eq(ustatsd_count(&st, "early", 1, NULL, 0), -ENOENT);
    cr_assert_eq(st.connects, 0);
    cr_assert_lt(rx_recv(buf, sizeof(buf)), 0);
    sleep_ms(350);
    cr_assert_eq(ustatsd_count(&st, "late", 1, NULL, 0), 0);
    cr_assert_eq(st.connects, 1);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "late:1|c\n");
    cr_assert_eq(st.datagrams_dropped, 2);
}

Test(client, follows_a_restarted_daemon_to_its_new_socket, .init = setup_up, .fini = teardown)
{
    char buf[64];
    st.batching = 0;
    st.reconnect_interval_ms = 200;
    cr_assert_eq(ustatsd_count(&st, "before", 1, NULL, 0), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    /* Restart: the old socket dies and a new one is bound at the same path. */
    rx_unbind();
    rx_bind();
    /* The connected socket still points at the dead inode, and open() was just now. */
    cr_assert_eq(ustatsd_count(&st, "lost", 1, NULL, 0), -ECONNREFUSED);
    cr_assert_eq(ustatsd_count(&st, "lost", 1, NULL, 0), -ECONNREFUSED);
    sleep_ms(250);
    cr_assert_eq(ustatsd_count(&st, "after", 1, NULL, 0), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "after:1|c\n");
    cr_assert_eq(st.connects, 2);
    cr_assert_eq(st.datagrams_dropped, 2);

    /* Past the interval, the send that finds the peer dead reconnects and retries. */
    sleep_ms(250);
    rx_unbind();
    rx_bind();
    cr_assert_eq(ustatsd_count(&st, "retried", 1, NULL, 0), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "retried:1|c\n");
    cr_assert_eq(st.datagrams_dropped, 2);
    cr_assert_eq(st.connects, 3);
}

Test(client, never_raises_sigpipe, .init = setup_up, .fini = teardown)
{
    cr_assert_neq(signal(SIGPIPE, SIG_DFL), SIG_ERR);
    /* Control: with SIG_DFL, a plain send() on a broken stream does kill the sender. */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            _exit(3);
        close(sv[1]);
        (void)send(sv[0], "x", 1, 0);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);

    st.batching = 0;
    /* A peer that stopped reading: EPIPE. */
    cr_assert_eq(shutdown(rx, SHUT_RD), 0);
    cr_assert_eq(ustatsd_count(&st, "x", 1, NULL, 0), -EPIPE);
    /* A peer that is gone: ECONNREFUSED, then no peer at all. */
    rx_unbind();
    for (int i = 0; i < 100; i++)
        cr_assert_lt(ustatsd_count(&st, "x", 1, NULL, 0), 0);
    cr_assert_eq(ustatsd_close(&st), 0);
    cr_assert_eq(st.datagrams_dropped, 101);
}

/* ---------------------------------------------------------------- batching */

Test(client, batches_split_only_between_lines_and_stay_under_the_limit, .init = setup_up,
     .fini = teardown)
{
    enum { N = 3000 };
    struct ustatsd_label labels[] = { { "route", "/api/v1/images" } };
    static char dgrams[64][USTATSD_DGRAM_MAX + 1];
    size_t lens[64], nd = 0, next = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ustatsd_observe(&st, "request.latency", i * 0.5, labels, 1), 0);
        ssize_t n;
        while (nd < 64 && (n = rx_recv(dgrams[nd], sizeof(dgrams[nd]))) >= 0)
            lens[nd++] = (size_t)n;
    }
    cr_assert_gt(nd, 5);
    cr_assert_lt(st.lines_sent, N, "batched lines left before the flush");
    cr_assert_gt(st.len, 0);
    cr_assert_eq(ustatsd_flush(&st), 0);
    cr_assert_eq(st.len, 0);
    cr_assert_eq(ustatsd_flush(&st), 0, "flushing an empty buffer");
    ssize_t n = rx_recv(dgrams[nd], sizeof(dgrams[nd]));
    cr_assert_gt(n, 0);
    lens[nd++] = (size_t)n;
    cr_assert_eq(st.datagrams_sent, nd);
    cr_assert_eq(st.lines_sent, N);

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

Test(client, batching_off_sends_one_datagram_per_call, .init = setup_up, .fini = teardown)
{
    char buf[64];
    st.batching = 0;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ustatsd_count(&st, "c", i, NULL, 0), 0);
        cr_assert_eq(st.len, 0);
        cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
        char want[16];
        snprintf(want, sizeof(want), "c:%d|c\n", i);
        cr_assert_str_eq(buf, want);
    }
    cr_assert_eq(st.datagrams_sent, 5);
}

Test(client, negative_gauge_pair_never_straddles_two_datagrams, .init = setup_up, .fini = teardown)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    /* Leave 10 to 17 bytes: room for "temp:0|g\n" (9) but not for the pair (19). */
    while (st.len + 8 <= USTATSD_DGRAM_MAX - 10)
        cr_assert_eq(ustatsd_raw(&st, "pad:1|c", 7), 0);
    cr_assert_eq(ustatsd_gauge_set(&st, "temp", -5, NULL, 0), 0);
    cr_assert_eq(st.datagrams_sent, 1, "the pair did not fit and forced a flush");
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_null(strstr(buf, "temp"));
    cr_assert_eq(ustatsd_flush(&st), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "temp:0|g\ntemp:-5|g\n");
}

Test(client, close_flushes_and_later_calls_fail, .init = setup_up, .fini = teardown)
{
    char buf[64];
    cr_assert_eq(ustatsd_count(&st, "last", 2, NULL, 0), 0);
    cr_assert_lt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_eq(ustatsd_close(&st), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "last:2|c\n");
    cr_assert_eq(ustatsd_count(&st, "x", 1, NULL, 0), USTATSD_ECLOSED);
    cr_assert_eq(ustatsd_raw(&st, "x", 1), USTATSD_ECLOSED);
    cr_assert_eq(ustatsd_flush(&st), USTATSD_ECLOSED);
    cr_assert_eq(ustatsd_close(&st), USTATSD_ECLOSED);
    cr_assert_eq(st.lines_sent, 1);
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

/* ---------------------------------------------------------------- ustatsd-send */

/* Run ustatsd-send with args (NULL-terminated) and stdin from in; returns its exit status. */
static int run_send(const char *in, const char *const *args)
{
    const char *bin = getenv("USTATSD_SEND_BIN");
    char *argv[16];
    int p[2], status, i = 0;
    argv[i++] = (char *)bin;
    for (; args[i - 1] && i < 15; i++)
        argv[i] = (char *)args[i - 1];
    argv[i] = NULL;
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        dup2(p[0], 0);
        close(p[0]);
        close(p[1]);
        execv(bin, argv);
        _exit(127);
    }
    close(p[0]);
    if (in)
        cr_assert_eq(write(p[1], in, strlen(in)), (ssize_t)strlen(in));
    close(p[1]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

Test(client, ustatsd_send_batches_raw_lines_and_reports_drops, .init = setup_up, .fini = teardown)
{
    char buf[USTATSD_DGRAM_MAX + 1];
    if (!getenv("USTATSD_SEND_BIN"))
        cr_skip_test("USTATSD_SEND_BIN is not set (run through ctest)");
    const char *const args[] = { "-s", sock_path, "a:1|c", "not a valid line", NULL };
    cr_assert_eq(run_send(NULL, args), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "a:1|c\nnot a valid line\n");

    const char *const from_stdin[] = { "--socket", sock_path, NULL };
    cr_assert_eq(run_send("x:1|c\ny:2|g\n", from_stdin), 0);
    cr_assert_gt(rx_recv(buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "x:1|c\ny:2|g\n");

    char missing[USTATSD_PATH_MAX];
    snprintf(missing, sizeof(missing), "%s/missing.sock", dir);
    const char *const dropped[] = { "-s", missing, "a:1|c", NULL };
    cr_assert_eq(run_send(NULL, dropped), 1);
    const char *const usage[] = { "--bogus", NULL };
    cr_assert_eq(run_send(NULL, usage), 2);
    const char *const no_path[] = { "-s", NULL };
    cr_assert_eq(run_send(NULL, no_path), 2);
}
