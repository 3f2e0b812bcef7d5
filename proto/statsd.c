/*
 * statsd: the DogStatsD-compatible line parser. PROTOCOL.md is the grammar; this file
 * only explains how it is parsed fast.
 *
 * The daemon runs this on one core for every line it receives, so the parser makes one
 * pass over the line, never calls strlen, never copies, and never clears the large
 * values[]/tags[] arrays of struct statsd_line: it only sets the counts.
 *
 *   http.requests:1|c|@0.5|#method:GET,code:200|T1656581400
 *   ^name        ^values ^fields (any order; unknown ones are skipped)
 */
#include "statsd.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHAR 1 /* may appear in a name or tag key */
#define NAME_LEAD 2 /* may start one */

/* [A-Za-z_] are 3, [0-9.-] are 1: a table lookup beats five comparisons per byte. */
static const unsigned char name_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, /* - . */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0-9 */
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* A-O */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 3, /* P-Z _ */
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* a-o */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, /* p-z */
    /* 0x80-0xff: 0 */
};

static const struct {
    const char *name;
    const char *msg;
} reasons[] = {
#define REASON_ROW(code, name, msg) { name, msg },
    STATSD_REASON_MAP(REASON_ROW)
#undef REASON_ROW
};

const char *statsd_reason_name(int reason)
{
    if (reason < 0 || reason >= STATSD_REASON_MAX)
        return "unknown";
    return reasons[reason].name;
}

const char *statsd_reason_msg(int reason)
{
    if (reason < 0 || reason >= STATSD_REASON_MAX)
        return "unknown reason";
    return reasons[reason].msg;
}

int statsd_reason_by_name(const char *name)
{
    for (int i = 0; i < STATSD_REASON_MAX; i++)
        if (strcmp(reasons[i].name, name) == 0)
            return i;
    return -1;
}

/* The daemon's one-pass split of a datagram is statsd_scanner.c's, checked against these. */

int statsd_next_line(const char *dgram, size_t len, size_t *pos, struct statsd_view *line)
{
    size_t start = *pos;
    if (start >= len)
        return 0;
    const char *nl = memchr(dgram + start, '\n', len - start);
    size_t end = nl ? (size_t)(nl - dgram) : len;
    *pos = nl ? end + 1 : len;
    /* CRLF senders (netcat on Windows, some scripts): one '\r' before the end is dropped. */
    if (end > start && dgram[end - 1] == '\r')
        end--;
    line->ptr = dgram + start;
    line->len = end - start;
    return 1;
}

size_t statsd_normalize_name(const char *name, size_t len, char *out, size_t cap)
{
    if (len > cap)
        return 0;
    for (size_t i = 0; i < len; i++)
        out[i] = statsd_normalize_char(name[i]);
    return len;
}

/*
 * RFC 3629 well-formed UTF-8 (its Table 3-7): the second byte's range depends on the
 * first so that overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and
 * code points above U+10FFFF (F4 90.., F5..FF) are all rejected without decoding.
 */
static inline size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

size_t statsd_utf8_len(const char *p, size_t avail)
{
    return utf8_len((const unsigned char *)p, avail);
}

int statsd_utf8_valid(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p, *end = s + len;
    while (s < end) {
        /* Label values are nearly always ASCII: skip 8 bytes at a time. */
        while (end - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            if (w & 0x8080808080808080u)
                break;
            s += 8;
        }
        if (s == end)
            break;
        size_t n = utf8_len(s, (size_t)(end - s));
        if (n == 0)
            return 0;
        s += n;
    }
    return 1;
}

static const double pow10_exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* The words NaN, Inf and Infinity (any case, after the sign): NON_FINITE, not INVALID. */
static int nonfinite_word(const char *s, const char *end)
{
    static const char *const words[] = { "nan", "inf", "infinity" };
    size_t n = (size_t)(end - s);
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        if (strlen(words[w]) != n)
            continue;
        size_t i = 0;
        while (i < n && (s[i] | 0x20) == words[w][i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/*
 * The rare numbers the fast path cannot do exactly: strtod on a NUL-terminated copy.
 * The daemon never calls setlocale(), so strtod uses the "C" locale's '.'; the syntax was
 * already checked, so strtod consumes the whole copy.
 */
static int slow_number(const char *s, size_t n, double *out)
{
    char copy[STATSD_MAX_LINE + 1];
    if (n > STATSD_MAX_LINE)
        return STATSD_INVALID_VALUE;
    memcpy(copy, s, n);
    copy[n] = '\0';
    double v = strtod(copy, NULL);
    /* Overflow gives HUGE_VAL; underflow gives 0 or a subnormal, which is a value. */
    if (!isfinite(v))
        return STATSD_NON_FINITE;
    *out = v;
    return STATSD_OK;
}

/*
 * A decimal number starting at s: [+-] digits [. digits] [(e|E) [+-] digits], with
 * digits on at least one side of the '.'. No hex, no words, no spaces. The number ends
 * at ':' or '|' (the separators of packed values and fields) or at end; *stop is set
 * there. Stopping on the separator itself spares the callers a memchr per value.
 *
 * Clinger's fast path: with at most 19 significant digits the mantissa m is exact in a
 * uint64; when m <= 2^53 it is exact in a double too, and so is 10^k for k <= 22, so one
 * IEEE multiply or divide gives the correctly rounded result (x86-64 SSE2: no excess
 * precision). Everything else goes to strtod.
 */
static int parse_number(const char *s, const char *end, double *out, const char **stop)
{
    const char *p = s;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    const char *digits = p;
    uint64_t m = 0;
    int nsig = 0, inexact = 0;
    long exp10 = 0;
    for (; p < end && (unsigned)(*p - '0') < 10; p++) {
        if (nsig < 19) {
            m = m * 10 + (unsigned)(*p - '0');
            nsig += m != 0;
        } else {
            exp10++;
            inexact |= *p != '0';
        }
    }
    size_t ndigits = (size_t)(p - digits);
    if (p < end && *p == '.') {
        const char *frac = ++p;
        for (; p < end && (unsigned)(*p - '0') < 10; p++) {
            if (nsig < 19) {
                m = m * 10 + (unsigned)(*p - '0');
                nsig += m != 0;
                exp10--;
            } else {
                inexact |= *p != '0';
            }
        }
        ndigits += (size_t)(p - frac);
    }
    if (ndigits != 0 && p < end && (*p | 0x20) == 'e') {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || (unsigned)(*p - '0') >= 10)
            ndigits = 0;
        long e = 0;
        /* Saturate: 1e99999999999999999999 must not overflow a long. */
        for (; p < end && (unsigned)(*p - '0') < 10; p++)
            if (e < 100000)
                e = e * 10 + (*p - '0');
        exp10 += eneg ? -e : e;
    }
    if (ndigits == 0 || (p < end && *p != ':' && *p != '|')) {
        /* Not a number: only the words NaN, Inf and Infinity get a reason of their own. */
        const char *t = digits;
        while (t < end && *t != ':' && *t != '|')
            t++;
        return nonfinite_word(digits, t) ? STATSD_NON_FINITE : STATSD_INVALID_VALUE;
    }
    *stop = p;
    if (m == 0 && !inexact) {
        *out = neg ? -0.0 : 0.0;
        return STATSD_OK;
    }
    if (!inexact && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 >= 0 ? v * pow10_exact[exp10] : v / pow10_exact[-exp10];
        *out = neg ? -v : v;
        return STATSD_OK;
    }
    return slow_number(s, (size_t)(p - s), out);
}

/*
 * The shape nearly every value has, done inline before parse_number(): digits, and
 * optionally '.' and more digits, 15 digits in all at most, ending at ':', '|' or end.
 * Then m < 10^15 < 2^53 and the divisor is an exact power of ten, so the one IEEE
 * division is exactly parse_number()'s result. Returns 0 for anything else (a sign, an
 * exponent, more digits, no digit on a side of the '.'); parse_number() decides those.
 */
static inline int plain_number(const char *s, const char *end, double *out, const char **stop)
{
    const char *p = s, *lim = end - s > 16 ? s + 16 : end;
    uint64_t m = 0;
    size_t frac = 0;

    while (p < lim && (unsigned)(*p - '0') < 10)
        m = m * 10 + (unsigned)(*p++ - '0');
    if (p == s)
        return 0;
    if (p < lim && *p == '.') {
        const char *f = ++p;
        while (p < lim && (unsigned)(*p - '0') < 10)
            m = m * 10 + (unsigned)(*p++ - '0');
        frac = (size_t)(p - f);
        if (frac == 0)
            return 0;
    }
    /* 16 bytes hold at most 15 digits and a '.'; a digit at lim may be a 16th. */
    if (p - s - (frac != 0) > 15 || (p < end && *p != ':' && *p != '|'))
        return 0;
    *out = frac != 0 ? (double)m / pow10_exact[frac] : (double)m;
    *stop = p;
    return 1;
}

int statsd_outcome_parse(const char *s, size_t n, enum statsd_outcome *out)
{
    if (n == 6 && memcmp(s, "worked", 6) == 0)
        *out = STATSD_OUTCOME_WORKED;
    else if (n == 4 && memcmp(s, "idle", 4) == 0)
        *out = STATSD_OUTCOME_IDLE;
    else if (n == 5 && memcmp(s, "error", 5) == 0)
        *out = STATSD_OUTCOME_ERROR;
    else
        return 0;
    return 1;
}

static int parse_job(const char *v, const char *vend, struct statsd_line *out)
{
    size_t n = (size_t)(vend - v);

    if (!statsd_outcome_parse(v, n, &out->outcome))
        return memchr(v, ':', n) ? STATSD_PACKED_NOT_ALLOWED : STATSD_INVALID_JOB_OUTCOME;
    out->values[0] = 1;
    out->nvalues = 1;
    return STATSD_OK;
}

/* The values, [v, vend): vend is the '|' before the type, so no '|' lies inside. */
static int parse_values(const char *v, const char *vend, struct statsd_line *out)
{
    const char *stop;
    int rc;
    if (out->type == STATSD_JOB)
        return parse_job(v, vend, out);
    if (out->type == STATSD_COUNTER || out->type == STATSD_GAUGE) {
        /* etsy statsd: "g" with an explicit sign is a delta, not a new value. */
        out->relative = out->type == STATSD_GAUGE && (*v == '+' || *v == '-');
        out->nvalues = 1;
        if (plain_number(v, vend, &out->values[0], &stop) && stop == vend)
            return STATSD_OK;
        rc = parse_number(v, vend, &out->values[0], &stop);
        if (rc == STATSD_OK && stop != vend)
            return STATSD_PACKED_NOT_ALLOWED;
        if (rc != STATSD_OK && memchr(v, ':', (size_t)(vend - v)))
            return STATSD_PACKED_NOT_ALLOWED;
        return rc;
    }
    /*
     *   lat:12.5:3:40|ms
     *       ^    ^ ^  packed values, one histogram observation each
     */
    size_t n = 0;
    for (;;) {
        if (n == STATSD_MAX_VALUES)
            return STATSD_TOO_MANY_VALUES;
        if (!plain_number(v, vend, &out->values[n], &stop)) {
            rc = parse_number(v, vend, &out->values[n], &stop);
            if (rc != STATSD_OK)
                return rc;
        }
        n++;
        if (stop == vend)
            break;
        v = stop + 1;
    }
    out->nvalues = n;
    return STATSD_OK;
}

int statsd_plain_value(const char *v, size_t len, double *out)
{
    const char *stop;

    return plain_number(v, v + len, out, &stop) && stop == v + len;
}

int statsd_parse_values(const char *v, size_t len, struct statsd_line *out)
{
    out->relative = 0;
    if (len == 0)
        return STATSD_MISSING_VALUE;
    /* Nearly every line: one plain value, whatever the type (no sign: not relative). */
    if (out->type != STATSD_JOB && statsd_plain_value(v, len, &out->values[0])) {
        out->nvalues = 1;
        return STATSD_OK;
    }
    return parse_values(v, v + len, out);
}

int statsd_split(const char *p, size_t len, struct statsd_view *name, struct statsd_view *values,
                 struct statsd_view *suffix)
{
    const char *end = p + len, *colon, *bar;

    colon = memchr(p, ':', len);
    if (colon == NULL || colon == p)
        return 0;
    for (bar = colon + 1; bar < end && *bar != '|'; bar++)
        ;
    if (bar == end)
        return 0;
    name->ptr = p;
    name->len = (size_t)(colon - p);
    values->ptr = colon + 1;
    values->len = (size_t)(bar - colon - 1);
    suffix->ptr = bar;
    suffix->len = (size_t)(end - bar);
    return 1;
}

/* Keys that normalise alike ("http.method", "http_method") are the same label. */
static int same_key(struct statsd_view a, const char *b, size_t blen)
{
    if (a.len != blen)
        return 0;
    for (size_t i = 0; i < blen; i++) {
        if (statsd_normalize_char(a.ptr[i]) != statsd_normalize_char(b[i]))
            return 0;
    }
    return 1;
}

/*
 * "#k:v,bare,k2:a b:c" up to the next '|' or the end; *stop is set to that position.
 * The value runs from the first ':' to ',' or '|', so it may hold ':' and spaces.
 */
static int parse_tags(const char *s, const char *end, struct statsd_line *out, const char **stop)
{
    for (;;) {
        const char *k = s;
        while (s < end && (name_class[(unsigned char)*s] & NAME_CHAR))
            s++;
        size_t klen = (size_t)(s - k);
        const char *val = s;
        size_t vlen = 0;
        if (s < end && *s == ':') {
            val = ++s;
            unsigned high = 0;
            for (; s < end; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == ',' || c == '|')
                    break;
                if (c < 0x20 || c == 0x7f)
                    return STATSD_INVALID_TAG;
                high |= c;
            }
            vlen = (size_t)(s - val);
            if (vlen > STATSD_MAX_TAG_VALUE)
                return STATSD_TAG_VALUE_TOO_LONG;
            if ((high & 0x80) && !statsd_utf8_valid(val, vlen))
                return STATSD_INVALID_UTF8;
        } else if (s < end && *s != ',' && *s != '|') {
            return STATSD_INVALID_TAG;
        }
        if (klen == 0 || !(name_class[(unsigned char)*k] & NAME_LEAD))
            return STATSD_INVALID_TAG;
        if (klen > STATSD_MAX_TAG_KEY)
            return STATSD_TAG_KEY_TOO_LONG;
        for (size_t i = 0; i < out->ntags; i++)
            if (same_key(out->tags[i].key, k, klen))
                return STATSD_DUPLICATE_TAG;
        if (out->ntags == STATSD_MAX_TAGS)
            return STATSD_TOO_MANY_TAGS;
        struct statsd_tag *t = &out->tags[out->ntags++];
        t->key.ptr = k;
        t->key.len = klen;
        t->value.ptr = val;
        t->value.len = vlen;
        if (s == end || *s == '|')
            break;
        s++;
    }
    *stop = s;
    return STATSD_OK;
}

/* Unix seconds up to 9999-12-31T23:59:59Z: 12 digits at most, so no overflow. */
#define MAX_TIMESTAMP INT64_C(253402300799)

/* "T1656581400" from s (just past the 'T'); *stop is set to the field's end. */
static int parse_timestamp(const char *s, const char *end, struct statsd_line *out,
                           const char **stop)
{
    const char *d = s;
    int64_t t = 0;
    for (; s < end && *s != '|'; s++) {
        if ((unsigned)(*s - '0') >= 10 || s - d == 12)
            return STATSD_INVALID_TIMESTAMP;
        t = t * 10 + (*s - '0');
    }
    if (out->has_timestamp || s == d || t > MAX_TIMESTAMP)
        return STATSD_INVALID_TIMESTAMP;
    out->has_timestamp = 1;
    out->timestamp = t;
    *stop = s;
    return STATSD_OK;
}

/* "@0.5" from s (just past the '@'); *stop is set to the field's end. */
static int parse_rate(const char *s, const char *end, struct statsd_line *out, int *seen,
                      const char **stop)
{
    double r;
    if (*seen || parse_number(s, end, &r, stop) != STATSD_OK || (*stop < end && **stop == ':') ||
        !(r > 0 && r <= 1))
        return STATSD_INVALID_SAMPLE_RATE;
    *seen = 1;
    out->rate = r;
    return STATSD_OK;
}

/* The type field, [t, tend). Sets out->type or returns the reason. */
static int parse_type(const char *t, const char *tend, struct statsd_line *out)
{
    switch (tend - t) {
    case 0:
        return STATSD_MISSING_TYPE;
    case 1:
        switch (*t) {
        case 'c':
            out->type = STATSD_COUNTER;
            return STATSD_OK;
        case 'g':
            out->type = STATSD_GAUGE;
            return STATSD_OK;
        case 'h':
            out->type = STATSD_HISTOGRAM;
            return STATSD_OK;
        case 'd':
            out->type = STATSD_DISTRIBUTION;
            return STATSD_OK;
        case 'j':
            out->type = STATSD_JOB;
            return STATSD_OK;
        case 's':
            return STATSD_SET_UNSUPPORTED;
        }
        break;
    case 2:
        if (t[0] == 'm' && t[1] == 's') {
            out->type = STATSD_TIMER;
            return STATSD_OK;
        }
        break;
    }
    return STATSD_UNKNOWN_TYPE;
}

/*
 * The name, up to the ':' that starts the values; *stop is set to that ':'.
 *
 *   http.requests:1|c
 *                ^
 */
/*
 * The bytes of a name from p, by the rules of names; *stop is set past them, at the end or
 * at a byte that must be e1 or e2 (what may follow the name).
 */
static inline int scan_name(const char *p, const char *end, char e1, char e2, const char **stop)
{
    const char *s = p;

    while (s < end && (name_class[(unsigned char)*s] & NAME_CHAR))
        s++;
    if (s < end && *s != e1 && *s != e2)
        return STATSD_INVALID_NAME;
    if (s == p)
        return STATSD_EMPTY_NAME;
    if ((size_t)(s - p) > STATSD_MAX_NAME)
        return STATSD_NAME_TOO_LONG;
    if (!(name_class[(unsigned char)*p] & NAME_LEAD))
        return STATSD_INVALID_NAME;
    *stop = s;
    return STATSD_OK;
}

static int parse_name(const char *p, const char *end, struct statsd_line *out, const char **stop)
{
    const char *s;
    int rc = scan_name(p, end, ':', '|', &s);

    if (rc != STATSD_OK)
        return rc;
    if (s == end || *s == '|')
        return STATSD_MISSING_VALUE;
    out->name.ptr = p;
    out->name.len = (size_t)(s - p);
    *stop = s;
    return STATSD_OK;
}

/*
 * "|c:<container>": reported, never an error. The daemon aggregates across containers and
 * shows no container id anywhere, so whatever bytes a client puts there cost it no line.
 */
static int parse_container(const char *f, const char *fend, struct statsd_line *out)
{
    if (out->container.ptr == NULL) {
        out->container.ptr = f + 2;
        out->container.len = (size_t)(fend - f - 2);
    }
    return STATSD_OK;
}

/* The fields after the type, each starting at a '|' (s points at it), to the end. */
static int parse_fields(const char *s, const char *end, struct statsd_line *out)
{
    int seen_rate = 0, rc = STATSD_OK;

    while (s < end) {
        const char *f = s + 1, *fend = end;
        if (f == end || *f == '|') {
            /* An empty field ("x:1|c|") is an unknown field: ignored. */
            s = f;
            continue;
        }
        switch (*f) {
        case '#':
            rc = parse_tags(f + 1, end, out, &fend);
            break;
        case '@':
            rc = parse_rate(f + 1, end, out, &seen_rate, &fend);
            break;
        case 'T':
            rc = parse_timestamp(f + 1, end, out, &fend);
            break;
        default:
            /* s < end, so end - s - 1 bytes follow the '|'. */
            fend = memchr(f, '|', (size_t)(end - s) - 1);
            if (!fend)
                fend = end;
            if (*f == 'c' && fend - f >= 2 && f[1] == ':')
                rc = parse_container(f, fend, out);
        }
        if (rc != STATSD_OK)
            return rc;
        s = fend;
    }
    return STATSD_OK;
}

/*
 * A DogStatsD service check, from just past "_sc|" (PROTOCOL.md, "Service checks"):
 *
 *   _sc|publish|2|d:1656581400|h:web-1|#queue:default|m:timed out
 *       ^name   ^status, then fields in any order; "m:" runs to the end
 *
 * The name follows the rules of metric names; the status is exactly 0, 1 or 2 (3, UNKNOWN,
 * and anything else is STATSD_SERVICE_CHECK_STATUS). Tags and the "d:" timestamp are
 * parsed as on any line; "h:", "c:" and unknown fields are skipped; the message, which
 * clients do not escape '|' in, is the rest of the line and is not looked at.
 */
static int parse_check(const char *p, const char *end, struct statsd_line *out)
{
    const char *s, *st, *f, *fend;
    int rc = scan_name(p, end, '|', '|', &s);

    if (rc != STATSD_OK)
        return rc;
    out->name.ptr = p;
    out->name.len = (size_t)(s - p);
    out->suffix.ptr = s;
    out->suffix.len = (size_t)(end - s);
    st = s + (s < end);
    for (s = st; s < end && *s != '|';)
        s++;
    if (s - st != 1 || (unsigned)(*st - '0') > 2)
        return STATSD_SERVICE_CHECK_STATUS;
    out->type = STATSD_SERVICE_CHECK;
    out->outcome = (enum statsd_outcome)(*st - '0');
    out->values[0] = 1;
    out->nvalues = 1;
    while (s < end) {
        f = s + 1;
        fend = memchr(f, '|', (size_t)(end - f));
        if (fend == NULL)
            fend = end;
        if (end - f >= 2 && f[0] == 'm' && f[1] == ':')
            break;
        if (f < end && *f == '#')
            rc = parse_tags(f + 1, end, out, &fend);
        else if (fend - f >= 2 && f[0] == 'd' && f[1] == ':')
            rc = parse_timestamp(f + 2, end, out, &fend);
        else if (fend - f >= 2 && f[0] == 'c' && f[1] == ':')
            rc = parse_container(f, fend, out);
        if (rc != STATSD_OK)
            return rc;
        s = fend;
    }
    return STATSD_OK;
}

/* What every parsed line starts from: no sign, no rate, no tags, no timestamp. */
static void line_defaults(struct statsd_line *out)
{
    out->relative = 0;
    out->rate = 1;
    out->outcome = STATSD_OUTCOME_WORKED;
    out->ntags = 0;
    out->has_timestamp = 0;
    out->timestamp = 0;
    out->container.ptr = NULL;
    out->container.len = 0;
}

int statsd_parse_line(const char *p, size_t len, struct statsd_line *out)
{
    const char *end = p + len, *s = p;
    int rc;

    if (len > STATSD_MAX_LINE)
        return STATSD_LINE_TOO_LONG;
    /* DogStatsD events (recognised, so that they count apart) and service checks. */
    if (len >= 3 && p[0] == '_') {
        if (p[1] == 'e' && p[2] == '{')
            return STATSD_EVENT_UNSUPPORTED;
        if (len >= 4 && p[1] == 's' && p[2] == 'c' && p[3] == '|') {
            line_defaults(out);
            return parse_check(p + 4, end, out);
        }
    }
    rc = parse_name(p, end, out, &s);
    if (rc != STATSD_OK)
        return rc;

    /* Values are short: a plain loop beats a memchr call here. */
    const char *v = s + 1, *bar = v;
    while (bar < end && *bar != '|')
        bar++;
    if (bar == v)
        return STATSD_MISSING_VALUE;
    if (bar == end)
        return STATSD_MISSING_TYPE;
    const char *t = bar + 1, *tend = t;
    while (tend < end && *tend != '|' && tend - t < 3)
        tend++;
    rc = parse_type(t, tend, out);
    if (rc != STATSD_OK)
        return rc;

    line_defaults(out);
    out->suffix.ptr = bar;
    out->suffix.len = (size_t)(end - bar);
    rc = parse_values(v, bar, out);
    if (rc != STATSD_OK)
        return rc;
    return parse_fields(tend, end, out);
}
