#include "base/htmlstr.h"

#include <string.h>

#include "statsd.h"

/* How many bytes from s need no escape: printable ASCII but markup, and UTF-8 sequences. */
static size_t plain_run(const char *s, size_t len)
{
    size_t i = 0, n;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c < 0x7f && strchr("&<>\"'\\", c) == NULL)
            n = 1;
        else if (c < 0x80 || (n = statsd_utf8_len(s + i, len - i)) == 0)
            break;
        i += n;
    }
    return i;
}

/* One byte that needs an escape: a character reference, "\\", or "\xNN". */
static void escape_byte(struct buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char x[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

    switch (c) {
    case '&':
        buf_adds(b, "&amp;");
        break;
    case '<':
        buf_adds(b, "&lt;");
        break;
    case '>':
        buf_adds(b, "&gt;");
        break;
    case '"':
        buf_adds(b, "&quot;");
        break;
    case '\'':
        buf_adds(b, "&#39;");
        break;
    case '\\':
        buf_adds(b, "\\\\");
        break;
    default:
        buf_add(b, x, sizeof(x));
        break;
    }
}

void htmlstr_add(struct buf *b, const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = plain_run(s + i, len - i);

        buf_add(b, s + i, n);
        i += n;
        if (i < len)
            escape_byte(b, (unsigned char)s[i++]);
    }
}

void htmlstr_adds(struct buf *b, const char *s)
{
    if (s != NULL)
        htmlstr_add(b, s, strlen(s));
}
