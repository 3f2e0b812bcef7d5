#include "base/expo.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/exponame.h"
#include "base/expopb.h"
#include "base/exporw.h"
#include "base/mem.h"
#include "statsd.h"

/*
 * Every writer reserves its worst case with one buf_grow() and then stores bytes directly:
 * a scrape of 100,000 series goes through expo_sample() 100,000 times, so the per-byte
 * bounds checks of buf_addch() would dominate.
 */

static char *reserve(struct buf *b, size_t n)
{
    buf_grow(b, n);
    return b->ptr + b->len;
}

static void commit(struct buf *b, char *end)
{
    b->len = (size_t)(end - b->ptr);
    b->ptr[b->len] = '\0';
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

/* Decimal digits of u, two at a time from the right; returns the end. */
static char *put_u64(char *p, uint64_t u)
{
    char tmp[20];
    char *t = tmp + sizeof(tmp);

    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        t -= 2;
        memcpy(t, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        t -= 2;
        memcpy(t, digit_pairs + 2 * u, 2);
    } else {
        *--t = (char)('0' + u);
    }
    return put(p, t, (size_t)(tmp + sizeof(tmp) - t));
}

/*
 * The shortest decimal significand (up to 17 digits) that strtod() maps back to v, which
 * is finite and positive. %.15g cannot lose a value that has 15 or fewer significant
 * digits (DBL_DIG), so 15 is tried first, then 16, then 17, which always round-trips.
 * Both snprintf() and strtod() assume the "C" locale: the daemon never calls setlocale().
 * Returns the digit count; *exp10 is the decimal exponent of the first digit.
 */
static size_t shortest_digits(double v, char digits[17], int *exp10)
{
    char tmp[40];
    const char *e;
    size_t nd = 0;
    int prec;

    for (prec = 15;; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    /* tmp is "d.ddddde+XX" (or "de+XX" never happens: prec - 1 >= 14) */
    digits[nd++] = tmp[0];
    for (e = tmp + 2; *e != 'e'; e++)
        digits[nd++] = *e;
    *exp10 = atoi(e + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    return nd;
}

/*
 * Lay out a significand like C's %g and Go's strconv 'g': exponent form when the
 * exponent is below -4 or at least sci_from, with a sign and at least two exponent digits.
 */
static char *put_layout(char *p, const char *d, size_t nd, int exp10, int sci_from)
{
    if (exp10 < -4 || exp10 >= sci_from) {
        unsigned x = (unsigned)(exp10 < 0 ? -exp10 : exp10);

        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            p = put(p, d + 1, nd - 1);
        }
        *p++ = 'e';
        *p++ = exp10 < 0 ? '-' : '+';
        if (x < 10)
            *p++ = '0';
        return put_u64(p, x);
    }
    if (exp10 < 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > exp10; i--)
            *p++ = '0';
        return put(p, d, nd);
    }
    if (nd <= (size_t)exp10 + 1) {
        p = put(p, d, nd);
        for (size_t i = nd; i <= (size_t)exp10; i++)
            *p++ = '0';
        return p;
    }
    p = put(p, d, (size_t)exp10 + 1);
    *p++ = '.';
    return put(p, d + exp10 + 1, nd - (size_t)exp10 - 1);
}

/*
 * Gauges and sums are often short decimals (0.25, 1.04, 123456.789). v is m / 10^k when
 * the division m / 10^k, correctly rounded by IEEE 754 like strtod() of the digits, gives
 * v back; the smallest such k is the shortest round-trip form. Limited to m < 10^15 (so
 * the form is the unique 15-digit one that the snprintf() path would find) and to
 * v >= 1e-4 (where that path uses fixed notation too): the output is the same either way.
 */
static char *put_short_decimal(char *p, double v)
{
    static const double p10[] = { 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };
    static const uint64_t u10[] = { 10, 100, 1000, 10000, 100000, 1000000 };

    if (!(v >= 1e-4 && v < 1e14))
        return NULL;
    for (size_t k = 0; k < sizeof(p10) / sizeof(p10[0]); k++) {
        double s = v * p10[k];
        uint64_t m, frac;
        char *f;

        if (s >= 1e15)
            return NULL;
        m = (uint64_t)(s + 0.5);
        if ((double)m / p10[k] != v)
            continue;
        p = put_u64(p, m / u10[k]);
        *p++ = '.';
        frac = m % u10[k];
        f = p + k + 1;
        for (char *q = f; q > p;) {
            *--q = (char)('0' + frac % 10);
            frac /= 10;
        }
        while (f[-1] == '0')
            f--;
        return f;
    }
    return NULL;
}

/* Doubles hold every integer up to 2^53 exactly; above it, digits would overstate. */
#define EXACT_INT_MAX 9007199254740992.0

static char *put_double(char *p, double v, int sci_from)
{
    char d[17];
    size_t nd;
    int exp10;

    if (isnan(v))
        return put(p, "NaN", 3);
    if (isinf(v))
        return put(p, v > 0 ? "+Inf" : "-Inf", 4);
    if (signbit(v)) {
        *p++ = '-';
        v = -v;
    }
    /* Counters and most gauges are integers: no snprintf, no strtod. */
    if (sci_from > 15 && v <= EXACT_INT_MAX && v == (double)(uint64_t)v)
        return put_u64(p, (uint64_t)v);
    if (v == 0)
        return put(p, "0", 1);
    if (sci_from > 15) {
        char *end = put_short_decimal(p, v);

        if (end != NULL)
            return end;
    }
    nd = shortest_digits(v, d, &exp10);
    return put_layout(p, d, nd, exp10, sci_from);
}

/* Sample values: plain digits up to 1e16, exponent form beyond. */
#define VALUE_SCI_FROM 16
/*
 * "le" bounds render like Go's strconv.FormatFloat(x, 'g', -1, 64), as client_golang
 * does and as OpenMetrics 1.0 "Canonical Numbers" asks (1e-05, 0.0001, 100000.0, 1e+06),
 * so that the same bucket gets the same label value from every exporter.
 */
#define LE_SCI_FROM 6

size_t expo_format_double(char out[32], double v)
{
    char *end = put_double(out, v, VALUE_SCI_FROM);

    *end = '\0';
    return (size_t)(end - out);
}

/*
 * The OpenMetrics ABNF escapes exactly three bytes in escaped-string (label values and
 * HELP): BS "n", BS DQUOTE, BS BS. Text 0.0.4 escapes the same in label values but only
 * backslash and newline in HELP, where a quote is literal.
 */
static char *put_escaped(char *p, const char *s, size_t len, int quote)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '\\' || (c == '"' && quote)) {
            *p++ = '\\';
            *p++ = c;
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else {
            *p++ = c;
        }
    }
    return p;
}

void expo_escape_label(struct buf *out, const char *s, size_t len)
{
    commit(out, put_escaped(reserve(out, 2 * len), s, len, 1));
}

void expo_escape_help(struct buf *out, enum expo_format fmt, const char *s, size_t len)
{
    commit(out, put_escaped(reserve(out, 2 * len), s, len, fmt == EXPO_OPENMETRICS));
}

char *expo_labels_dup(const struct expo_label *in, size_t n, struct expo_label *out)
{
    size_t size = 1, off = 0;
    char *text;

    for (size_t i = 0; i < n; i++)
        size += strlen(in[i].name) + 1 + in[i].value_len + 1;
    text = mem_alloc(size);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(in[i].name);
        char *name = text + off, *value = name + nl + 1;

        memcpy(name, in[i].name, nl + 1);
        memcpy(value, in[i].value, in[i].value_len);
        value[in[i].value_len] = '\0';
        out[i] = (struct expo_label){ name, value, in[i].value_len };
        off += nl + 1 + in[i].value_len + 1;
    }
    return text;
}

void expo_init(struct expo *e, struct buf *out, enum expo_format fmt)
{
    e->out = out;
    e->fmt = fmt;
    e->type = EXPO_UNKNOWN;
    e->name = "";
    e->name_len = 0;
    e->const_labels = NULL;
    e->nconst = 0;
    e->esc = EXPO_ESCAPE_UNDERSCORES;
    e->created = 0;
    e->native = NULL;
    e->timestamp_ms = 0;
    e->extern_labels = NULL;
    e->nextern = 0;
    e->rw_native = 0;
    e->rw_samples = 0;
    e->rw_histograms = 0;
    buf_init(&e->pbhead);
    buf_init(&e->pb);
}

void expo_flush(struct expo *e)
{
    if (e->fmt == EXPO_PROTOBUF)
        expopb_flush(e);
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);

    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static const char *type_word(enum expo_format fmt, enum expo_type type)
{
    switch (type) {
    case EXPO_COUNTER:
        return "counter";
    case EXPO_GAUGE:
        return "gauge";
    case EXPO_HISTOGRAM:
        return "histogram";
    case EXPO_SUMMARY:
        return "summary";
    case EXPO_STATESET:
        return fmt == EXPO_OPENMETRICS ? "stateset" : "gauge";
    case EXPO_INFO:
        return fmt == EXPO_OPENMETRICS ? "info" : "gauge";
    case EXPO_UNKNOWN:
        break;
    }
    return fmt == EXPO_OPENMETRICS ? "unknown" : "untyped";
}

/* "# <kw> <name><suffix> " */
static void put_meta_head(struct expo *e, const char *kw, const char *suffix)
{
    size_t kl = strlen(kw), sl = strlen(suffix);
    char *p = reserve(e->out, kl + e->name_len + sl + 4);

    *p++ = '#';
    *p++ = ' ';
    p = put(p, kw, kl);
    *p++ = ' ';
    p = put(p, e->name, e->name_len);
    p = put(p, suffix, sl);
    *p++ = ' ';
    commit(e->out, p);
}

void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help,
                 const char *unit)
{
    size_t len = strlen(name);
    const char *meta_suffix = "";
    const char *tw = type_word(e->fmt, type);

    /* Tolerate a caller that already wrote the suffix the format adds itself. */
    if (type == EXPO_COUNTER && ends_with(name, len, "_total"))
        len -= 6;
    else if (type == EXPO_INFO && ends_with(name, len, "_info"))
        len -= 5;
    if (e->fmt == EXPO_PROTOBUF) {
        expopb_family(e, name, len, type, help, unit);
        return;
    }
    /*
     * Once per family, never per sample: our names are legacy-valid, which every scheme
     * leaves as they are (model.EscapeMetricFamily), so the check is all it costs.
     * Under allow-utf-8 a name we could not write unquoted falls back to underscores.
     */
    if (!expo_legacy_name(name, len)) {
        len = expo_escape_name(e->esc_name, sizeof(e->esc_name), name, len,
                               e->esc == EXPO_ESCAPE_ALLOW_UTF8 ? EXPO_ESCAPE_UNDERSCORES : e->esc);
        name = e->esc_name;
    }
    e->type = type;
    e->name = name;
    e->name_len = len;
    if (e->fmt == EXPO_REMOTE_WRITE)
        return; /* no metadata lines: its samples carry the name */

    if (e->fmt == EXPO_OPENMETRICS) {
        /* OpenMetrics 1.0: "The ordering SHOULD be TYPE, UNIT, HELP." */
        put_meta_head(e, "TYPE", "");
        buf_adds(e->out, tw);
        buf_addch(e->out, '\n');
        if (unit != NULL && unit[0] != '\0' && len > strlen(unit) && ends_with(name, len, unit) &&
            name[len - strlen(unit) - 1] == '_') {
            put_meta_head(e, "UNIT", "");
            buf_adds(e->out, unit);
            buf_addch(e->out, '\n');
        }
        if (help != NULL && help[0] != '\0') {
            put_meta_head(e, "HELP", "");
            expo_escape_help(e->out, e->fmt, help, strlen(help));
            buf_addch(e->out, '\n');
        }
        return;
    }
    /* Text 0.0.4 has no family/sample name split: the metadata names the samples. */
    if (type == EXPO_COUNTER)
        meta_suffix = "_total";
    else if (type == EXPO_INFO)
        meta_suffix = "_info";
    if (help != NULL && help[0] != '\0') {
        put_meta_head(e, "HELP", meta_suffix);
        expo_escape_help(e->out, e->fmt, help, strlen(help));
        buf_addch(e->out, '\n');
    }
    put_meta_head(e, "TYPE", meta_suffix);
    buf_adds(e->out, tw);
    buf_addch(e->out, '\n');
}

static size_t labels_bound(const struct expo *e, const struct expo_label *labels, size_t n)
{
    size_t size = 2;

    for (size_t i = 0; i < n; i++)
        size += strlen(labels[i].name) + 2 * labels[i].value_len + 4;
    for (size_t i = 0; i < e->nconst; i++)
        size += strlen(e->const_labels[i].name) + 2 * e->const_labels[i].value_len + 4;
    return size;
}

static char *put_label_list(char *p, const struct expo_label *labels, size_t n, int comma)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0 || comma)
            *p++ = ',';
        p = put(p, labels[i].name, strlen(labels[i].name));
        *p++ = '=';
        *p++ = '"';
        p = put_escaped(p, labels[i].value, labels[i].value_len, 1);
        *p++ = '"';
    }
    return p;
}

/* The caller's labels, then the constant ones; ',' between them. Returns the end. */
static char *put_labels(const struct expo *e, char *p, const struct expo_label *labels, size_t n)
{
    p = put_label_list(p, labels, n, 0);
    return put_label_list(p, e->const_labels, e->nconst, n > 0);
}

/* OpenMetrics: whether the sample just written ends a MetricPoint that takes e->created. */
static int takes_created(const struct expo *e, const char *suffix)
{
    if (!(e->created > 0) || e->fmt != EXPO_OPENMETRICS)
        return 0;
    if (e->type == EXPO_COUNTER)
        return strcmp(suffix, "_total") == 0;
    return (e->type == EXPO_HISTOGRAM || e->type == EXPO_SUMMARY) && strcmp(suffix, "_count") == 0;
}

static char *put_created(char *p, const struct expo *e, const char *block, size_t block_len);

/*
 * One sample line with an optional extra label (le or the stateset's own) placed after
 * the caller's labels:
 *
 *   name_bucket{path="/a",le="0.25"} 3
 *   ^^^^       ^^^^^^^^^^ ^^^^^^^^^  ^
 *   family     labels     extra      value
 */
static void put_sample(struct expo *e, const char *suffix, const struct expo_label *labels,
                       size_t n, const char *xname, size_t xname_len, const char *xval, size_t xlen,
                       double value)
{
    size_t sl = strlen(suffix);
    size_t size = e->name_len + sl + labels_bound(e, labels, n) + 34;
    int created = takes_created(e, suffix);
    const char *block = NULL;
    size_t block_len = 0;

    if (e->fmt == EXPO_PROTOBUF) {
        expopb_sample(e, suffix, labels, n, xname, xname_len, xval, xlen, value);
        return;
    }
    if (e->fmt == EXPO_REMOTE_WRITE) {
        exporw_sample(e, suffix, labels, n, xname, xname_len, xval, xlen, value);
        return;
    }
    char *p;

    if (xname != NULL)
        size += xname_len + 2 * xlen + 4;
    /* The _created line repeats the name and labels: at most 8 + 32 bytes more than this one. */
    p = reserve(e->out, created ? 2 * size + 40 : size);
    p = put(p, e->name, e->name_len);
    p = put(p, suffix, sl);
    if (n + e->nconst > 0 || xname != NULL) {
        *p++ = '{';
        block = p;
        p = put_labels(e, p, labels, n);
        if (xname != NULL) {
            if (n + e->nconst > 0)
                *p++ = ',';
            p = put(p, xname, xname_len);
            *p++ = '=';
            *p++ = '"';
            p = put_escaped(p, xval, xlen, 1);
            *p++ = '"';
        }
        block_len = (size_t)(p - block);
        *p++ = '}';
    }
    *p++ = ' ';
    p = put_double(p, value, VALUE_SCI_FROM);
    *p++ = '\n';
    if (created)
        p = put_created(p, e, block, block_len);
    commit(e->out, p);
}

void expo_sample(struct expo *e, const char *suffix, const struct expo_label *labels, size_t n,
                 double value)
{
    put_sample(e, suffix, labels, n, NULL, 0, NULL, 0, value);
}

void expo_sample1(struct expo *e, const char *suffix, const char *key, const char *value, double v)
{
    const struct expo_label l = { key, value, strlen(value) };

    put_sample(e, suffix, &l, 1, NULL, 0, NULL, 0, v);
}

void expo_scalar(struct expo *e, const char *name, enum expo_type type, const char *help,
                 const char *unit, double value)
{
    assert(type == EXPO_COUNTER || type == EXPO_GAUGE);
    expo_family(e, name, type, help, unit);
    expo_sample(e, type == EXPO_COUNTER ? "_total" : "", NULL, 0, value);
}

size_t expo_format_le(char out[32], double le)
{
    char *end = put_double(out, le, LE_SCI_FROM);

    *end = '\0';
    return (size_t)(end - out);
}

size_t expo_bucket_bound(enum expo_format fmt, char out[32], double le)
{
    size_t len = expo_format_le(out, le);

    /* OpenMetrics canonical bounds are floats: "1.0", not "1" (but "+Inf", "1e+06"). */
    if (fmt == EXPO_OPENMETRICS && isfinite(le) && strpbrk(out, ".e") == NULL) {
        memcpy(out + len, ".0", 3);
        len += 2;
    }
    return len;
}

void expo_bucket(struct expo *e, const struct expo_label *labels, size_t n, double le, double count)
{
    char bound[32];
    size_t len = expo_bucket_bound(e->fmt, bound, le);

    put_sample(e, "_bucket", labels, n, "le", 2, bound, len, count);
}

/* name + suffix, then "{" + the label block + close (or nothing without labels). */
static char *put_head(char *p, const struct expo *e, const char *suffix, size_t sl,
                      const char *block, size_t block_len)
{
    p = put(p, e->name, e->name_len);
    p = put(p, suffix, sl);
    if (block_len > 0) {
        *p++ = '{';
        p = put(p, block, block_len);
        *p++ = '}';
    }
    return p;
}

/*
 * "<name>_created{block} <e->created>": the MetricPoint's start, its labels copied, in
 * ms precision whatever clock dated it ("1795385066.015", not "1795385066.0148323"): the
 * nearest ms, so a date kept in ms and divided by 1000 prints as it was kept.
 */
static char *put_created(char *p, const struct expo *e, const char *block, size_t block_len)
{
    p = put_head(p, e, "_created", 8, block, block_len);
    *p++ = ' ';
    p = put_double(p, round(e->created * 1000.0) / 1000.0, VALUE_SCI_FROM);
    *p++ = '\n';
    return p;
}

/*
 * A histogram or summary series is lines that share one label set: it is escaped once,
 * into the first line, and copied from there. One reservation covers every line, so the
 * block stays put while the lines are written. series_open() reserves nl lines of suffix
 * and key, then _sum, _count and _created, and writes the first line's head; series_line()
 * writes a line; series_close() the last three.
 */
struct series_lines {
    const char *suffix, *key;
    size_t sl, kl;
    const char *block; /* the escaped labels, in the first line */
    size_t block_len;
    int created;
};

static char *series_open(struct expo *e, struct series_lines *sr, const struct expo_label *labels,
                         size_t n, size_t nl)
{
    size_t line = e->name_len + sr->sl + 1 + labels_bound(e, labels, n) + sr->kl + 4 + 32 + 34;
    char *p;

    sr->created = takes_created(e, "_count");
    p = reserve(e->out, (nl + 3 + (size_t)sr->created) * line);
    p = put(p, e->name, e->name_len);
    p = put(p, sr->suffix, sr->sl);
    *p++ = '{';
    sr->block = p;
    p = put_labels(e, p, labels, n);
    sr->block_len = (size_t)(p - sr->block);
    return p;
}

/* One line, "<name><suffix>{<labels>,<key>="<x>"} <v>", the first one's head written. */
static char *series_line(char *p, const struct expo *e, const struct series_lines *sr, int first,
                         const char *x, size_t xl, double v)
{
    if (!first) {
        p = put(p, e->name, e->name_len);
        p = put(p, sr->suffix, sr->sl);
        *p++ = '{';
        p = put(p, sr->block, sr->block_len);
    }
    if (sr->block_len > 0)
        *p++ = ',';
    p = put(p, sr->key, sr->kl);
    *p++ = '=';
    *p++ = '"';
    p = put(p, x, xl);
    p = put(p, "\"} ", 3);
    p = put_double(p, v, VALUE_SCI_FROM);
    *p++ = '\n';
    return p;
}

static void series_close(struct expo *e, char *p, const struct series_lines *sr, double sum,
                         uint64_t count)
{
    p = put_head(p, e, "_sum", 4, sr->block, sr->block_len);
    *p++ = ' ';
    p = put_double(p, sum, VALUE_SCI_FROM);
    *p++ = '\n';
    p = put_head(p, e, "_count", 6, sr->block, sr->block_len);
    *p++ = ' ';
    p = put_double(p, (double)count, VALUE_SCI_FROM);
    *p++ = '\n';
    if (sr->created)
        p = put_created(p, e, sr->block, sr->block_len);
    commit(e->out, p);
}

void expo_histogram(struct expo *e, const struct expo_label *labels, size_t n, const double *les,
                    const char (*bounds)[32], const unsigned char *bound_lens, size_t nb,
                    const uint64_t *counts, double sum, uint64_t count)
{
    struct series_lines sr = { "_bucket", "le", 7, 2, NULL, 0, 0 };
    uint64_t cum = 0;
    char *p;

    if (e->fmt == EXPO_PROTOBUF) {
        expopb_histogram(e, labels, n, les, nb, counts, sum, count);
        return;
    }
    if (e->fmt == EXPO_REMOTE_WRITE) {
        exporw_histogram(e, labels, n, bounds, bound_lens, nb, counts, sum, count);
        return;
    }
    p = series_open(e, &sr, labels, n, nb + 1);

    for (size_t i = 0; i <= nb; i++) {
        cum += counts[i];
        p = series_line(p, e, &sr, i == 0, i < nb ? bounds[i] : "+Inf", i < nb ? bound_lens[i] : 4,
                        (double)cum);
    }
    series_close(e, p, &sr, sum, count);
}

void expo_summary(struct expo *e, const struct expo_label *labels, size_t n, const double *qs,
                  const char (*quantiles)[32], const unsigned char *quantile_lens, size_t nq,
                  const double *values, double sum, uint64_t count)
{
    struct series_lines sr = { "", "quantile", 0, 8, NULL, 0, 0 };
    char *p;

    if (e->fmt == EXPO_PROTOBUF) {
        expopb_summary(e, labels, n, qs, nq, values, sum, count);
        return;
    }
    if (e->fmt == EXPO_REMOTE_WRITE) {
        exporw_summary(e, labels, n, quantiles, quantile_lens, nq, values, sum, count);
        return;
    }

    if (nq == 0) { /* series_open() writes the head of a quantile's line */
        expo_sample(e, "_sum", labels, n, sum);
        expo_sample(e, "_count", labels, n, (double)count);
        return;
    }
    p = series_open(e, &sr, labels, n, nq);
    for (size_t i = 0; i < nq; i++)
        p = series_line(p, e, &sr, i == 0, quantiles[i], quantile_lens[i], values[i]);
    series_close(e, p, &sr, sum, count);
}

void expo_state(struct expo *e, const struct expo_label *labels, size_t n, const char *state,
                size_t state_len, int enabled)
{
    /* OpenMetrics 1.0: the state's label is named after the MetricFamily. */
    put_sample(e, "", labels, n, e->name, e->name_len, state, state_len, enabled ? 1.0 : 0.0);
}

void expo_eof(struct expo *e)
{
    expo_flush(e);
    if (e->fmt == EXPO_OPENMETRICS)
        buf_add(e->out, "# EOF\n", 6);
}
