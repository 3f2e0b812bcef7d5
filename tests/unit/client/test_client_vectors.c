/*
 * client/ustatsd.h against the wire format's test vectors (proto/testdata): the client
 * refuses what the parser rejects, and what the parser accepts the client accepts and
 * sends again so that it parses back to the same line.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rxsock.h"
#include "statsd.h"
#include "testdata.h"
#include "ustatsd.h"

static struct rxsock *const rx = &rxsock_rx;
static struct ustatsd *const st = &rxsock_client;

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

/* The tags of a line rejected for a tag reason r: the client refuses them too. */
static int refuse_tags(const struct parts *p, const char *name, int r, int lineno)
{
    int each_ok = 1;
    if (p->ntags == 0)
        return 0; /* invalid UTF-8 in a c: field: not something the client sends */
    for (size_t i = 0; i < p->ntags && i < MAX_VTAGS; i++)
        each_ok &= ustatsd_check_label(p->tags[i].key, p->tags[i].klen, p->tags[i].value,
                                       p->tags[i].vlen) == 0;
    struct ustatsd_label *labels = copy_labels(p, label_store);
    if (labels == NULL) {
        cr_assert(!each_ok, "invalid.tsv:%d: client accepts every tag", lineno);
        return 1;
    }
    cr_assert_not_null(name);
    int rc = ustatsd_count(st, name, 1, labels, p->ntags);
    cr_assert(rc == USTATSD_EBADLABEL || rc == USTATSD_ETOOLONG,
              "invalid.tsv:%d: client call returns %s", lineno, ustatsd_err_name(rc));
    if (p->ntags <= MAX_VTAGS && each_ok)
        cr_assert_eq(ustatsd_check_labels(labels, p->ntags) != 0 || r == STATSD_LINE_TOO_LONG, 1,
                     "invalid.tsv:%d: check_labels accepts", lineno);
    return 1;
}

/* The values of a line rejected as non_finite: the client refuses the non-finite ones. */
static void refuse_values(const struct parts *p, const char *name, int lineno)
{
    int refused = 0;
    const char *s = p->value, *e = p->value + p->vlen;
    while (s <= e) {
        const char *c = memchr(s, ':', (size_t)(e - s));
        double d;
        if (!c)
            c = e;
        if (number(s, (size_t)(c - s), &d) && ustatsd_check_value(d) != 0) {
            cr_assert_not_null(name);
            cr_assert_eq(ustatsd_observe(st, name, d, NULL, 0), USTATSD_EBADVALUE);
            cr_assert_eq(ustatsd_gauge_set(st, name, d, NULL, 0), USTATSD_EBADVALUE);
            refused = 1;
        }
        s = c + 1;
    }
    cr_assert(refused, "invalid.tsv:%d: client accepts every value", lineno);
}

/*
 * A line the parser rejects for a reason that a client call can express must be refused
 * by the client too: by the validator of that part, and by the public call (when the
 * part holds no NUL, which a C string cannot carry).
 */
/* A DogStatsD service check: the client sends none (jobs have ustatsd_job()). */
static int service_check(const struct vec *v)
{
    return v->len >= 4 && memcmp(v->buf, "_sc|", 4) == 0;
}

static void refuse_invalid(const char *reason, struct vec *v, void *arg)
{
    struct tally *t = arg;
    struct parts p;
    char name[512];
    int r = statsd_reason_by_name(reason);
    cr_assert_geq(r, 0, "invalid.tsv:%d: unknown reason %s", v->lineno, reason);
    if (service_check(v)) {
        t->skipped++;
        return;
    }
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
            cr_assert_eq(ustatsd_observe(st, name, 1, NULL, 0), USTATSD_EBADNAME, "invalid.tsv:%d",
                         v->lineno);
        t->checked++;
        return;
    case STATSD_INVALID_TAG:
    case STATSD_TOO_MANY_TAGS:
    case STATSD_TAG_KEY_TOO_LONG:
    case STATSD_TAG_VALUE_TOO_LONG:
    case STATSD_DUPLICATE_TAG:
    case STATSD_INVALID_UTF8:
    case STATSD_LINE_TOO_LONG:
        if (refuse_tags(&p, name_ok ? name : NULL, r, v->lineno))
            t->checked++;
        else
            t->skipped++;
        return;
    case STATSD_NON_FINITE:
        refuse_values(&p, name_ok ? name : NULL, v->lineno);
        t->checked++;
        return;
    case STATSD_INVALID_SAMPLE_RATE: {
        double rate;
        if (p.nrates != 1 || !number(p.rate, p.rlen, &rate)) {
            t->skipped++; /* "@", "@abc", two rates: a double argument cannot say those */
            return;
        }
        cr_assert_eq(ustatsd_check_rate(rate), USTATSD_EBADRATE, "invalid.tsv:%d", v->lineno);
        cr_assert_eq(ustatsd_count_sampled(st, "x", 1, rate, NULL, 0), USTATSD_EBADRATE);
        t->checked++;
        return;
    }
    default:
        t->skipped++; /* syntax the client's formatter cannot produce */
        return;
    }
}

Test(client_vectors, refuses_what_the_parser_rejects_in_proto_testdata, .init = rxsock_up,
     .fini = rxsock_down)
{
    struct tally t = { 0, 0 };
    each_row("invalid.tsv", 1, refuse_invalid, &t);
    cr_assert_geq(t.checked, 40, "only %d vectors were applicable", t.checked);
    cr_assert_eq(st->datagrams_sent + st->datagrams_dropped, 0, "an invalid call sent something");
    cr_assert_eq(st->len, 0, "an invalid call left bytes in the buffer");
    cr_assert_gt(st->lines_invalid, 0);
}

/*
 * Send want (a parsed line named name) through the client call for its type. Returns the
 * call's result, or 1 when no call can send it (the caller skips the line).
 */
static int send_as_client(const struct statsd_line *want, const char *name,
                          const struct ustatsd_label *labels, size_t n)
{
    double value = want->values[0];
    switch (want->type) {
    case STATSD_COUNTER:
        if (value != (double)(long long)value || value < 0) {
            /* -1|c: the parser's, but the daemon's NEGATIVE_COUNTER; 0.5|c: not an integer. */
            if (value < 0)
                cr_assert_eq(ustatsd_count(st, name, -1, labels, n), USTATSD_EBADVALUE);
            return 1;
        }
        return ustatsd_count_sampled(st, name, (long long)value, want->rate, labels, n);
    case STATSD_GAUGE:
        return want->relative ? ustatsd_gauge_add(st, name, value, labels, n)
                              : ustatsd_gauge_set(st, name, value, labels, n);
    case STATSD_TIMER:
    case STATSD_HISTOGRAM:
        if (want->nvalues != 1)
            return 1; /* packed values: the client sends one per call */
        return want->type == STATSD_TIMER
                   ? ustatsd_timing_ms_sampled(st, name, value, want->rate, labels, n)
                   : ustatsd_observe_sampled(st, name, value, want->rate, labels, n);
    case STATSD_JOB:
        return ustatsd_job(st, name, (enum ustatsd_outcome)want->outcome, labels, n);
    default:
        return 1; /* |d: the client has no distribution call */
    }
}

/* got, parsed from what the client sent (buf), is want: name, type, values, tags. */
static void same_line(const struct statsd_line *got, const struct statsd_line *want,
                      const char *buf, int lineno)
{
    cr_assert(got->name.len == want->name.len &&
              memcmp(got->name.ptr, want->name.ptr, got->name.len) == 0);
    cr_assert_eq(got->type, want->type, "valid.tsv:%d: %s", lineno, buf);
    cr_assert(got->values[0] == want->values[0], "valid.tsv:%d: %s", lineno, buf);
    cr_assert_eq(got->relative, want->relative, "valid.tsv:%d: %s", lineno, buf);
    cr_assert_eq(got->rate, want->rate, "valid.tsv:%d: %s", lineno, buf);
    cr_assert_eq(got->outcome, want->outcome);
    cr_assert_eq(got->ntags, want->ntags, "valid.tsv:%d: %s", lineno, buf);
    for (size_t i = 0; i < got->ntags; i++) {
        cr_assert(got->tags[i].key.len == want->tags[i].key.len &&
                  memcmp(got->tags[i].key.ptr, want->tags[i].key.ptr, got->tags[i].key.len) == 0);
        cr_assert(got->tags[i].value.len == want->tags[i].value.len &&
                      memcmp(got->tags[i].value.ptr, want->tags[i].value.ptr,
                             got->tags[i].value.len) == 0,
                  "valid.tsv:%d: tag %zu: %s", lineno, i, buf);
    }
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
    double rate = 1;
    int rc;
    (void)line;

    if (service_check(v)) {
        t->skipped++;
        return;
    }
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

    rc = send_as_client(&want, name, labels, p.ntags);
    if (rc == 1) {
        t->skipped++;
        return;
    }
    cr_assert_eq(rc, 0, "valid.tsv:%d: client refuses it: %s", v->lineno, ustatsd_err_name(rc));
    ssize_t n = rxsock_recv(rx, buf, sizeof(buf));
    cr_assert_gt(n, 0);
    pos = 0;
    cr_assert(statsd_next_line(buf, (size_t)n, &pos, &first));
    if (want.type == STATSD_GAUGE && !want.relative && want.values[0] < 0)
        cr_assert(statsd_next_line(buf, (size_t)n, &pos, &first)); /* after "name:0|g" */
    cr_assert_eq(statsd_parse_line(first.ptr, first.len, &got), STATSD_OK, "%s", buf);
    same_line(&got, &want, buf, v->lineno);
    t->checked++;
}

Test(client_vectors, accepts_and_reproduces_what_the_parser_accepts_in_proto_testdata,
     .init = rxsock_up, .fini = rxsock_down)
{
    struct tally t = { 0, 0 };
    st->batching = 0;
    each_row("valid.tsv", 0, resend_valid, &t);
    cr_assert_geq(t.checked, 40, "only %d vectors were applicable", t.checked);
}
