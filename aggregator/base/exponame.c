#include "base/exponame.h"

#include <stdint.h>
#include <string.h>

#include "statsd.h"

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* prometheus/common model.isValidLegacyRune: a digit is legacy after the first byte. */
static int legacy_char(unsigned char c, size_t i)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (c >= '0' && c <= '9' && i > 0);
}

/* model.IsValidLegacyMetricName: [a-zA-Z_:][a-zA-Z0-9_:]*, not empty. */
int expo_legacy_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!legacy_char((unsigned char)s[i], i))
            return 0;
    return len > 0;
}

/* "_<lower-case hex of r>_", as strconv.FormatInt(r, 16) spells it. */
static size_t put_rune_hex(char *p, uint32_t r)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 1;
    int shift = 20;

    p[0] = '_';
    while (shift > 0 && (r >> shift) == 0)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        p[n++] = hex[(r >> shift) & 0xf];
    p[n++] = '_';
    return n;
}

/*
 * The escape of one character: the w bytes at s, starting at byte i of the name, a
 * well-formed UTF-8 sequence when valid (else one stray byte, which Go's range loop reads
 * as U+FFFD). Writes at most 8 bytes to p; returns how many.
 */
static size_t escape_char(char *p, const unsigned char *s, size_t w, int valid, size_t i,
                          enum expo_escaping esc)
{
    int ascii = valid && w == 1;
    uint32_t r;

    if (ascii && legacy_char(s[0], i) && !(s[0] == '_' && esc != EXPO_ESCAPE_UNDERSCORES)) {
        p[0] = (char)s[0];
        return 1;
    }
    switch (esc) {
    case EXPO_ESCAPE_ALLOW_UTF8:
    case EXPO_ESCAPE_UNDERSCORES:
        break;
    case EXPO_ESCAPE_DOTS:
        if (ascii && s[0] == '.') {
            memcpy(p, "_dot_", 5);
            return 5;
        }
        memcpy(p, "__", 2); /* '_' and every other character alike */
        return 2;
    case EXPO_ESCAPE_VALUES:
        if (ascii && s[0] == '_') {
            memcpy(p, "__", 2);
            return 2;
        }
        if (!valid)
            return put_rune_hex(p, 0xfffd);
        r = w == 1 ? s[0] : w == 2 ? s[0] & 0x1fu : w == 3 ? s[0] & 0x0fu : s[0] & 0x07u;
        for (size_t k = 1; k < w; k++)
            r = (r << 6) | (s[k] & 0x3fu);
        return put_rune_hex(p, r);
    }
    p[0] = '_';
    return 1;
}

size_t expo_escape_name(char *out, size_t cap, const char *name, size_t len, enum expo_escaping esc)
{
    /* EscapeName leaves a legacy-valid name alone, except for dots, which doubles '_'. */
    int keep =
        esc == EXPO_ESCAPE_ALLOW_UTF8 || (esc != EXPO_ESCAPE_DOTS && expo_legacy_name(name, len));
    char *p = out, *end = out + cap;
    size_t w;

    if (!keep && esc == EXPO_ESCAPE_VALUES && len > 0) {
        if (cap < 3)
            return 0;
        p = put(p, "U__", 3);
    }
    for (size_t i = 0; i < len; i += w) {
        const unsigned char *s = (const unsigned char *)name + i;
        char tmp[8];
        size_t k;

        w = statsd_utf8_len(name + i, len - i);
        if (keep) {
            k = w > 0 ? w : 1;
            memcpy(tmp, s, k);
        } else {
            k = escape_char(tmp, s, w > 0 ? w : 1, w > 0, i, esc);
        }
        if (w == 0)
            w = 1;
        if (k > (size_t)(end - p))
            break;
        p = put(p, tmp, k);
    }
    return (size_t)(p - out);
}
