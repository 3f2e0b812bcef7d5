#include <criterion/criterion.h>

#include <jansson.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonstr.h"

/* The quoted rendering of in[0..len), NUL-terminated in b. */
static const char *quoted(struct buf *b, const char *in, size_t len)
{
    buf_reset(b);
    jsonstr_add_quoted(b, in, len);
    buf_addch(b, '\0');
    return b->ptr;
}

Test(jsonstr, escapes_quotes_backslashes_and_control_characters)
{
    struct buf b = BUF_INIT;

    cr_assert_str_eq(quoted(&b, "plain", 5), "\"plain\"");
    cr_assert_str_eq(quoted(&b, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    cr_assert_str_eq(quoted(&b, "\n\t\r\b\f", 5), "\"\\n\\t\\r\\b\\f\"");
    cr_assert_str_eq(quoted(&b, "\x01\x1f", 2), "\"\\u0001\\u001f\"");
    cr_assert_str_eq(quoted(&b, "a\0b", 3), "\"a\\u0000b\"");
    cr_assert_str_eq(quoted(&b, "", 0), "\"\"");
    buf_release(&b);
}

Test(jsonstr, keeps_utf8_and_replaces_each_invalid_byte)
{
    struct buf b = BUF_INIT;

    cr_assert_str_eq(quoted(&b, "caf\xc3\xa9 \xf0\x9f\x98\x80", 10),
                     "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    cr_assert_str_eq(quoted(&b, "\xff", 1), "\"\\ufffd\"");
    /* A truncated sequence: its lead byte is replaced, the rest escaped byte by byte. */
    cr_assert_str_eq(quoted(&b, "x\xe2\x82", 3), "\"x\\ufffd\\ufffd\"");
    /* An overlong NUL and a surrogate are not characters. */
    cr_assert_str_eq(quoted(&b, "\xc0\x80", 2), "\"\\ufffd\\ufffd\"");
    cr_assert_str_eq(quoted(&b, "\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");
    buf_release(&b);
}

Test(jsonstr, every_byte_string_round_trips_through_a_json_parser)
{
    struct buf b = BUF_INIT;
    char in[256];

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)i;
    quoted(&b, in, sizeof(in));
    {
        json_error_t err;
        json_t *v = json_loadb(b.ptr, strlen(b.ptr), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

        cr_assert_not_null(v, "%s", err.text);
        cr_assert(json_is_string(v));
        /* ASCII comes back as it went in; each byte >= 0x80 became U+FFFD (3 bytes). */
        cr_assert_eq(json_string_length(v), 128 + 128 * 3);
        cr_assert_eq(memcmp(json_string_value(v), in, 128), 0);
        json_decref(v);
    }
    buf_release(&b);
}
