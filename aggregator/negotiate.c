#include "negotiate.h"

#include <string.h>

/*
 * Both headers are comma-separated lists of elements (RFC 9110 5.6.1), each a token
 * followed by parameters:
 *
 *   application/openmetrics-text; version=1.0.0; q=0.75
 *   ^ token                       ^ param        ^ q (ends the media type parameters)
 *
 * Prometheus 2.x sends
 *
 *   application/openmetrics-text;version=1.0.0,application/openmetrics-text;
 *   version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*\/\*;q=0.1
 *
 * OpenMetrics wins only with a strictly higher q, so "*\/\*" (curl, browsers) gets text.
 */

struct element {
    const char *tok; /* the token, without parameters or surrounding OWS */
    size_t tok_len;
    const char *ver; /* the "version" parameter's value, NULL when absent */
    size_t ver_len;
    int q; /* in thousandths; 1000 when absent */
};

struct cand {
    int level; /* specificity of the best match so far: 0 none, then higher is more specific */
    int q;     /* in thousandths */
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

typedef void (*element_cb)(const struct element *el, struct cand *a, struct cand *b);

/* Call cb for each well-formed element of a list; NULL is an empty list. */
static void each_element(const char *list, element_cb cb, struct cand *a, struct cand *b)
{
    const char *s = list;

    if (s == NULL)
        return;
    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        struct element el;

        if (element(s, end, &el) == 0)
            cb(&el, a, b);
        s = comma ? comma + 1 : end;
    }
}

/* A match at level takes over from a less specific one; at the same level, the best q. */
static void offer(struct cand *c, int level, int q)
{
    if (level > c->level) {
        c->level = level;
        c->q = q;
    } else if (level == c->level && q > c->q) {
        c->q = q;
    }
}

/* Levels: 1 for * / *, 2 for type / *, 3 for the type, 4 for the type at a version. */
static void media_range(const struct element *el, struct cand *om, struct cand *text)
{
    const char *s = el->tok, *slash = find(s, s + el->tok_len, '/');
    const char *sub;
    size_t tl, sl;

    if (slash == NULL)
        return;
    tl = (size_t)(slash - s);
    sub = slash + 1;
    sl = el->tok_len - tl - 1;
    if (tok_eq(s, tl, "*") && tok_eq(sub, sl, "*")) {
        offer(om, 1, el->q);
        offer(text, 1, el->q);
    } else if (tok_eq(s, tl, "application") && tok_eq(sub, sl, "*")) {
        offer(om, 2, el->q);
    } else if (tok_eq(s, tl, "text") && tok_eq(sub, sl, "*")) {
        offer(text, 2, el->q);
    } else if (tok_eq(s, tl, "application") && tok_eq(sub, sl, "openmetrics-text")) {
        if (el->ver == NULL)
            offer(om, 3, el->q);
        else if (tok_eq(el->ver, el->ver_len, "1.0.0") || tok_eq(el->ver, el->ver_len, "0.0.1"))
            offer(om, 4, el->q);
    } else if (tok_eq(s, tl, "text") && tok_eq(sub, sl, "plain")) {
        if (el->ver == NULL)
            offer(text, 3, el->q);
        else if (tok_eq(el->ver, el->ver_len, "0.0.4"))
            offer(text, 4, el->q);
    }
}

enum expo_format negotiate_format(const char *accept)
{
    struct cand om = { 0, 0 }, text = { 0, 0 };

    each_element(accept, media_range, &om, &text);
    return om.level > 0 && om.q > 0 && om.q > text.q ? EXPO_OPENMETRICS : EXPO_TEXT;
}

/* RFC 9110 12.5.3: "gzip;q=0" refuses gzip even when "*" would accept it. */
static void coding(const struct element *el, struct cand *gzip, struct cand *star)
{
    if (tok_eq(el->tok, el->tok_len, "gzip") || tok_eq(el->tok, el->tok_len, "x-gzip"))
        offer(gzip, 1, el->q);
    else if (tok_eq(el->tok, el->tok_len, "*"))
        offer(star, 1, el->q);
}

int negotiate_gzip(const char *accept_encoding)
{
    struct cand gzip = { 0, 0 }, star = { 0, 0 };

    each_element(accept_encoding, coding, &gzip, &star);
    if (gzip.level > 0)
        return gzip.q > 0;
    return star.level > 0 && star.q > 0;
}
