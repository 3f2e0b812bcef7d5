/*
 * libFuzzer target for the Authorization: Basic parser (basiccred.c): the header value
 * comes from the network. The input is the value (a NUL ends it, as request.c keeps it).
 *
 * Checked: a result is 0, -ENOENT or -EINVAL; on 0 the user-id and the password are
 * within their bounds, NUL-terminated at their lengths, free of control bytes, and
 * encoding "user:password" again in canonical base64 gives back the input's token (the
 * parser takes one spelling per credential, the one the cache keys). Otherwise *c is
 * zeroed. Seeds: tests/fuzz/seeds/fuzz_basiccred/.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"
#include "http/basiccred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;

        v |= i + 1 < n ? (unsigned long)in[i + 1] << 8 : 0;
        v |= i + 2 < n ? in[i + 2] : 0;
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

static int no_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 1);
    struct basiccred c;
    static const struct basiccred zero;
    int rc;

    memcpy(a, data, size);
    a[size] = '\0';
    rc = basiccred_parse(a, &c);
    assert(rc == 0 || rc == -ENOENT || rc == -EINVAL);
    if (rc != 0) {
        assert(memcmp(&c, &zero, sizeof(c)) == 0);
    } else {
        unsigned char plain[BASICCRED_USER_MAX + 1 + BASICCRED_PASS_MAX];
        char b64[sizeof(plain) * 4 / 3 + 8];
        const char *tok = a + 5;
        size_t n;

        assert(c.user_len <= BASICCRED_USER_MAX && c.pass_len <= BASICCRED_PASS_MAX);
        assert(strlen(c.user) == c.user_len && strlen(c.pass) == c.pass_len);
        assert(no_ctl(c.user, c.user_len) && no_ctl(c.pass, c.pass_len));
        assert(memchr(c.user, ':', c.user_len) == NULL);
        assert(strncasecmp(a, "Basic ", 6) == 0);
        memcpy(plain, c.user, c.user_len);
        plain[c.user_len] = ':';
        memcpy(plain + c.user_len + 1, c.pass, c.pass_len);
        encode(plain, c.user_len + 1 + c.pass_len, b64);
        while (*tok == ' ')
            tok++;
        n = strlen(b64);
        assert(strncmp(tok, b64, n) == 0);
        for (tok += n; *tok; tok++)
            assert(*tok == ' ' || *tok == '\t');
    }
    free(a);
    return 0;
}
