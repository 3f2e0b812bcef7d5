#include "http/negotiate.h"

#include <string.h>

#include "base/common.h"

/*
 * Both headers are comma-separated lists of elements (RFC 9110 5.6.1), each a token
 * followed by parameters:
 *
 *   application/openmetrics-text; version=1.0.0; escaping=allow-utf-8; q=0.6
 *   ^ token                       ^ param        ^ param               ^ q (ends the
 *                                                                        media type's
 *                                                                        parameters)
 *
 * The choice follows prometheus/common expfmt/encode.go, NegotiateIncludingOpenMetrics
 * (v0.70.1, the one client_golang's promhttp calls): goautoneg.ParseAccept sorts the
 * elements by q, highest first (a stable sort for lists this short), and the first that
 * matches a format wins; text 0.0.4 when none does. Wildcards match nothing there, so
 * curl's and browsers' "*\/\*" get text; the delimited protobuf encoding is matched as
 * expfmt's Negotiate matches it (proto=io.prometheus.client.MetricFamily;
 * encoding=delimited, both exact), the other protobuf encodings not. On the way, every element's valid escaping= replaces the scheme
 * so far, even on an element that does not match: that is how Prometheus 3.0 to 3.3,
 * which put escaping=allow-utf-8 on every element, get allow-utf-8 named on the text
 * 0.0.4 fallback of a protobuf-only Accept. Where we differ, on purpose:
 *   - text/plain;version=1.0.0 is served, with "text/plain; version=1.0.0", as
 *     client_python does (exposition.py choose_encoder); expfmt has no text 1.0.0 and
 *     falls through to the next element;
 *   - q=0 means "not acceptable" (RFC 9110 12.4.2) and a malformed q drops the element;
 *     goautoneg reads both as numbers (0 still matches, "q=2" sorts first);
 *   - media types and parameter names compare without case, and a quoted value loses
 *     its quotes; parameters after q are accept-ext, not read.
 * None of these changes the outcome for any header Prometheus sends (test_negotiate.c).
 */

#define ESC_UNDERSCORES "underscores"
#define ESC_ALLOW_UTF8  "allow-utf-8"
#define ESC_DOTS        "dots"
#define ESC_VALUES      "values"

/* prometheus/common model: EscapingKey's values (metric.go EscapeUnderscores, ...). */
static const char *const escaping_names[] = {
    [EXPO_ESCAPE_UNDERSCORES] = ESC_UNDERSCORES,
    [EXPO_ESCAPE_ALLOW_UTF8] = ESC_ALLOW_UTF8,
    [EXPO_ESCAPE_DOTS] = ESC_DOTS,
    [EXPO_ESCAPE_VALUES] = ESC_VALUES,
};

/*
 * expfmt.go: FmtText, FmtOpenMetrics_0_0_1 and FmtOpenMetrics_1_0_0, each followed by
 * "; escaping=<scheme>" as NegotiateIncludingOpenMetrics appends it (always, also when
 * Accept names no scheme). Text 1.0.0 is client_python's CONTENT_TYPE_PLAIN_1_0_0 with
 * the same tail.
 */
#define ROW(mt)                                                                         \
    {                                                                                   \
        [EXPO_ESCAPE_UNDERSCORES] = mt ESC_UNDERSCORES,                                 \
        [EXPO_ESCAPE_ALLOW_UTF8] = mt ESC_ALLOW_UTF8, [EXPO_ESCAPE_DOTS] = mt ESC_DOTS, \
        [EXPO_ESCAPE_VALUES] = mt ESC_VALUES,                                           \
    }

static const char *const content_types[][4] = {
    [NEGOTIATE_TEXT_0_0_4] = ROW("text/plain; version=0.0.4; charset=utf-8; escaping="),
    [NEGOTIATE_TEXT_1_0_0] = ROW("text/plain; version=1.0.0; charset=utf-8; escaping="),
    [NEGOTIATE_OPENMETRICS_0_0_1] =
        ROW("application/openmetrics-text; version=0.0.1; charset=utf-8; escaping="),
    [NEGOTIATE_OPENMETRICS_1_0_0] =
        ROW("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping="),
    [NEGOTIATE_PROTOBUF] = ROW("application/vnd.google.protobuf; "
                               "proto=io.prometheus.client.MetricFamily; encoding=delimited; "
                               "escaping="),
};

struct element {
    const char *tok; /* the token, without parameters or surrounding OWS */
    size_t tok_len;
    const char *ver; /* the "version" parameter's value, NULL when absent */
    size_t ver_len;
    const char *esc; /* the "escaping" parameter's value, NULL when absent */
    size_t esc_len;
    const char *proto, *enc; /* "proto" and "encoding", NULL when absent */
    size_t proto_len, enc_len;
    int q; /* in thousandths; 1000 when absent */
};

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int tok_eq(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);

    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != lit[i])
            return 0;
    return 1;
}

/* memchr() over [s, end), NULL when absent. */
static const char *find(const char *s, const char *end, char c)
{
    for (; s < end; s++)
        if (*s == c)
            return s;
    return NULL;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); -1 when malformed. */
static int parse_q(const char *s, size_t len)
{
    int q, scale = 100;

    if (len == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    q = (s[0] - '0') * 1000;
    if (len == 1)
        return q;
    if (s[1] != '.' || len > 5)
        return -1;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/*
 * One parameter, [p, end) after its ';': OWS name OWS "=" OWS value OWS, a value in
 * quotes losing them. Returns 1 when it was q (which ends the parameters), 0 otherwise,
 * -1 for a malformed q.
 */
static int parameter(const char *p, const char *end, struct element *el)
{
    const char *eq, *ne, *v;
    size_t vlen;

    while (p < end && is_ows(*p))
        p++;
    eq = find(p, end, '=');
    if (eq == NULL)
        return 0;
    ne = eq;
    while (ne > p && is_ows(ne[-1]))
        ne--;
    v = eq + 1;
    while (v < end && is_ows(*v))
        v++;
    vlen = (size_t)(end - v);
    while (vlen > 0 && is_ows(v[vlen - 1]))
        vlen--;
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
        v++;
        vlen -= 2;
    }
    if (tok_eq(p, (size_t)(ne - p), "q")) {
        el->q = parse_q(v, vlen);
        return el->q < 0 ? -1 : 1;
    }
    if (tok_eq(p, (size_t)(ne - p), "version")) {
        el->ver = v;
        el->ver_len = vlen;
    } else if (tok_eq(p, (size_t)(ne - p), "escaping")) {
        el->esc = v;
        el->esc_len = vlen;
    } else if (tok_eq(p, (size_t)(ne - p), "proto")) {
        el->proto = v;
        el->proto_len = vlen;
    } else if (tok_eq(p, (size_t)(ne - p), "encoding")) {
        el->enc = v;
        el->enc_len = vlen;
    }
    return 0;
}

/* One list element, [s, end). Returns 0, or -1 when its q is malformed. */
static int element(const char *s, const char *end, struct element *el)
{
    const char *semi, *tend;

    while (s < end && is_ows(*s))
        s++;
    semi = find(s, end, ';');
    if (semi == NULL)
        semi = end;
    tend = semi;
    while (tend > s && is_ows(tend[-1]))
        tend--;
    el->tok = s;
    el->tok_len = (size_t)(tend - s);
    el->ver = NULL;
    el->ver_len = 0;
    el->esc = NULL;
    el->esc_len = 0;
    el->proto = el->enc = NULL;
    el->proto_len = el->enc_len = 0;
    el->q = 1000;
    for (const char *p = semi; p < end;) {
        const char *pend = find(p + 1, end, ';');
        int rc;

        if (pend == NULL)
            pend = end;
        rc = parameter(p + 1, pend, el);
        if (rc < 0)
            return -1;
        /* Parameters after q are accept-ext, not media type parameters. */
        if (rc > 0)
            break;
        p = pend;
    }
    return 0;
}

typedef void (*element_cb)(const struct element *el, size_t pos, void *arg);

/* Call cb for each well-formed element of a list, with its place in it; NULL is empty. */
static void each_element(const char *list, element_cb cb, void *arg)
{
    const char *s = list;
    size_t pos = 0;

    if (s == NULL)
        return;
    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        struct element el;

        if (element(s, end, &el) == 0)
            cb(&el, pos, arg);
        pos++;
        s = comma ? comma + 1 : end;
    }
}

/* An exact parameter value: expfmt compares versions and schemes with ==. */
static int value_is(const char *v, size_t len, const char *lit)
{
    return v != NULL && len == strlen(lit) && memcmp(v, lit, len) == 0;
}

/* The type an element names (expfmt's matches, plus text 1.0.0), or -1. */
static int media_type(const struct element *el)
{
    const char *s = el->tok, *slash = find(s, s + el->tok_len, '/');
    const char *sub;
    size_t tl, sl;

    if (slash == NULL)
        return -1;
    tl = (size_t)(slash - s);
    sub = slash + 1;
    sl = el->tok_len - tl - 1;
    if (tok_eq(s, tl, "text") && tok_eq(sub, sl, "plain")) {
        if (el->ver == NULL || value_is(el->ver, el->ver_len, "0.0.4"))
            return NEGOTIATE_TEXT_0_0_4;
        if (value_is(el->ver, el->ver_len, "1.0.0"))
            return NEGOTIATE_TEXT_1_0_0;
    } else if (tok_eq(s, tl, "application") && tok_eq(sub, sl, "openmetrics-text")) {
        /* expfmt: no version is 0.0.1 ("Return 0.0.1 with no version for backwards
         * compatibility"). */
        if (el->ver == NULL || value_is(el->ver, el->ver_len, "0.0.1"))
            return NEGOTIATE_OPENMETRICS_0_0_1;
        if (value_is(el->ver, el->ver_len, "1.0.0"))
            return NEGOTIATE_OPENMETRICS_1_0_0;
    } else if (tok_eq(s, tl, "application") && tok_eq(sub, sl, "vnd.google.protobuf")) {
        /* expfmt: proto= the MetricFamily, and of its encodings the delimited one. */
        if (value_is(el->proto, el->proto_len, "io.prometheus.client.MetricFamily") &&
            value_is(el->enc, el->enc_len, "delimited"))
            return NEGOTIATE_PROTOBUF;
    }
    return -1;
}

/* The scheme an escaping= value names, or -1 (expfmt ignores an unknown one). */
static int escaping_of(const struct element *el)
{
    for (size_t i = 0; i < ARRAY_SIZE(escaping_names); i++)
        if (value_is(el->esc, el->esc_len, escaping_names[i]))
            return (int)i;
    return -1;
}

/*
 * The walk in q order is done in two passes over the list, without sorting: the first
 * finds the winner (highest q, first listed), the second the escaping= of the last
 * element the walk takes up to it (lowest q at or after the winner's, last listed).
 */
struct pick {
    int type; /* the winner's, -1 while none */
    int q;
    size_t pos;
    int esc; /* the scheme so far, -1 while none */
    int esc_q;
    size_t esc_pos;
};

static void pick_type(const struct element *el, size_t pos, void *arg)
{
    struct pick *p = arg;
    int t = media_type(el);

    if (el->q > 0 && t >= 0 && (p->type < 0 || el->q > p->q)) {
        p->type = t;
        p->q = el->q;
        p->pos = pos;
    }
}

/* Whether the walk reaches el: all of them when nothing wins. */
static int walked(const struct pick *p, int q, size_t pos)
{
    return p->type < 0 || q > p->q || (q == p->q && pos <= p->pos);
}

static void pick_escaping(const struct element *el, size_t pos, void *arg)
{
    struct pick *p = arg;
    int esc = escaping_of(el);

    if (el->q == 0 || esc < 0 || !walked(p, el->q, pos))
        return;
    if (p->esc < 0 || el->q < p->esc_q || (el->q == p->esc_q && pos > p->esc_pos)) {
        p->esc = esc;
        p->esc_q = el->q;
        p->esc_pos = pos;
    }
}

struct negotiate negotiate_accept(const char *accept)
{
    struct pick p = { -1, 0, 0, -1, 0, 0 };
    struct negotiate n;

    each_element(accept, pick_type, &p);
    each_element(accept, pick_escaping, &p);
    n.type = p.type < 0 ? NEGOTIATE_TEXT_0_0_4 : (enum negotiate_type)p.type;
    n.fmt = n.type == NEGOTIATE_OPENMETRICS_0_0_1 || n.type == NEGOTIATE_OPENMETRICS_1_0_0
                ? EXPO_OPENMETRICS
                : EXPO_TEXT;
    if (n.type == NEGOTIATE_PROTOBUF)
        n.fmt = EXPO_PROTOBUF;
    n.esc = p.esc < 0 ? EXPO_ESCAPE_UNDERSCORES : (enum expo_escaping)p.esc;
    return n;
}

const char *negotiate_content_type(const struct negotiate *n)
{
    return content_types[n->type][n->esc];
}

/* The best q each coding is listed with, -1 while it is not listed. */
struct codings {
    int gzip, star;
};

/* RFC 9110 12.5.3: "gzip;q=0" refuses gzip even when "*" would accept it. */
static void coding(const struct element *el, size_t pos, void *arg)
{
    struct codings *c = arg;

    (void)pos;
    if (tok_eq(el->tok, el->tok_len, "gzip") || tok_eq(el->tok, el->tok_len, "x-gzip")) {
        if (el->q > c->gzip)
            c->gzip = el->q;
    } else if (tok_eq(el->tok, el->tok_len, "*")) {
        if (el->q > c->star)
            c->star = el->q;
    }
}

int negotiate_gzip(const char *accept_encoding)
{
    struct codings c = { -1, -1 };

    each_element(accept_encoding, coding, &c);
    if (c.gzip >= 0)
        return c.gzip > 0;
    return c.star > 0;
}
