#include "base/jsonstr.h"

#include "statsd.h"

void jsonstr_add(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, start = 0;

    /* Copy runs of plain characters at once; stop only at what needs an escape. */
    while (i < len) {
        unsigned char c = p[i];
        size_t n = 1;
        const char *esc;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80 && (n = statsd_utf8_len(s + i, len - i)) > 0) {
            i += n;
            continue;
        }
        buf_add(b, s + start, i - start);
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            esc = c >= 0x80 ? "\\ufffd" : NULL;
            break;
        }
        if (esc != NULL) {
            buf_adds(b, esc);
        } else {
            char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

            buf_add(b, u, sizeof(u));
        }
        start = ++i;
    }
    buf_add(b, s + start, len - start);
}

void jsonstr_add_quoted(struct buf *b, const char *s, size_t len)
{
    buf_addch(b, '"');
    jsonstr_add(b, s, len);
    buf_addch(b, '"');
}
