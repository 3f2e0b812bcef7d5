#include "http/basiccred.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/*
 * Decode n base64 characters (padding included) into out (size bytes). Strict, as Go's
 * base64.StdEncoding.Strict(): only canonical input decodes, so that one password has
 * one encoding and the cache key of a credential does not depend on its spelling.
 * Returns the decoded length or -1.
 */
static long decode(const char *s, size_t n, unsigned char *out, size_t size)
{
    size_t o = 0;

    if (n == 0 || n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        unsigned long bits;

        for (int k = 0; k < 4; k++) {
            v[k] = b64val((unsigned char)s[i + k]);
            if (v[k] < 0) {
                /*
                 *   ...QQ==    ...QUI=
                 *        ^^          ^   padding only at the very end, after 2 or 3 chars
                 */
                if (s[i + k] != '=' || i + 4 != n || k < 2)
                    return -1;
                pad++;
                v[k] = 0;
            } else if (pad > 0) {
                return -1; /* "QQ=Q" */
            }
        }
        bits = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 | (unsigned long)v[2] << 6 |
               (unsigned long)v[3];
        if ((pad == 2 && (bits & 0xffff) != 0) || (pad == 1 && (bits & 0xff) != 0))
            return -1; /* non-zero pad bits */
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= size)
                return -1;
            out[o++] = (unsigned char)(bits >> (16 - 8 * k));
        }
    }
    return (long)o;
}

static int has_ctl(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

int basiccred_parse(const char *a, struct basiccred *c)
{
    unsigned char raw[BASICCRED_USER_MAX + 1 + BASICCRED_PASS_MAX];
    const unsigned char *colon;
    size_t n, end;
    long len;

    memset(c, 0, sizeof(*c));
    /*
     *   Basic  YWxpY2U6czNjcmV0 \t
     *   ^^^^^^ ^^^^^^^^^^^^^^^^ ^^
     *   scheme token68          OWS
     */
    if (strncasecmp(a, "Basic", 5) != 0 || (a[5] != ' ' && a[5] != '\0'))
        return -ENOENT;
    a += 5;
    while (*a == ' ')
        a++;
    n = strlen(a);
    end = n;
    while (end > 0 && (a[end - 1] == ' ' || a[end - 1] == '\t'))
        end--;
    len = decode(a, end, raw, sizeof(raw));
    if (len < 0)
        goto malformed;
    colon = memchr(raw, ':', (size_t)len);
    if (colon == NULL || has_ctl(raw, (size_t)len))
        goto malformed;
    c->user_len = (size_t)(colon - raw);
    c->pass_len = (size_t)len - c->user_len - 1;
    if (c->user_len > BASICCRED_USER_MAX || c->pass_len > BASICCRED_PASS_MAX)
        goto malformed;
    memcpy(c->user, raw, c->user_len);
    memcpy(c->pass, colon + 1, c->pass_len);
    explicit_bzero(raw, sizeof(raw));
    return 0;
malformed:
    explicit_bzero(raw, sizeof(raw));
    explicit_bzero(c, sizeof(*c));
    return -EINVAL;
}

static const char *const result_names[] = {
#define XX(kind, name) name,
    BASICCRED_RESULT_MAP(XX)
#undef XX
};

const char *basiccred_result_name(enum basiccred_result r)
{
    return (unsigned)r < BASICCRED_NRESULTS ? result_names[r] : "unknown";
}
