#include "base/query.h"

#include <errno.h>
#include <string.h>

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int is_ctl(int ch)
{
    return ch < 0x20 || ch == 0x7f;
}

/* strict: '+' is a space, and a control byte is refused (query parameters). */
static int decode(const char *s, size_t n, char *out, size_t size, int strict)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];

        if (ch == '%') {
            int hi, lo;

            if (i + 2 >= n)
                return -EINVAL;
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            ch = hi * 16 + lo;
            i += 2;
        } else if (ch == '+' && strict) {
            ch = ' ';
        }
        if (strict && is_ctl(ch))
            return -EILSEQ;
        if (out) {
            if (o + 1 >= size)
                return -ENOSPC;
            out[o] = (char)ch;
        }
        o++;
    }
    if (out)
        out[o] = '\0';
    return (int)o;
}

int query_decode(const char *s, size_t n, char *out, size_t size)
{
    return decode(s, n, out, size, 1);
}

int query_unescape(const char *s, size_t n, char *out, size_t size)
{
    return decode(s, n, out, size, 0);
}

int query_has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];

        if (ch == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0)
            ch = hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]);
        if (is_ctl(ch))
            return 1;
    }
    return 0;
}

int query_next(const char **pos, char *name, size_t nsize, char *value, size_t vsize)
{
    const char *p = *pos;

    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        int rc;

        *pos = amp ? amp + 1 : p + len;
        if (len == 0) {
            p = *pos;
            continue;
        }
        rc = query_decode(p, nlen, name, nsize);
        if (rc < 0)
            return rc;
        rc = query_decode(eq ? eq + 1 : p + len, eq ? len - nlen - 1 : 0, value, vsize);
        return rc < 0 ? rc : 1;
    }
    *pos = p;
    return 0;
}

int query_find(const char *query, const char *name, char *value, size_t vsize)
{
    const char *p = query;
    char key[QUERY_NAME_MAX];
    int rc;

    while ((rc = query_next(&p, key, sizeof(key), value, vsize)) > 0)
        if (strcmp(key, name) == 0)
            return (int)strlen(value);
    return rc == 0 ? -ENOENT : rc;
}
