/*
 * The HTML escaper: markup characters become references, control bytes and bytes outside
 * well-formed UTF-8 a visible \xNN, a backslash \\, and UTF-8 passes through.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "base/buf.h"
#include "base/htmlstr.h"

static void check(const char *in, size_t len, const char *want)
{
    struct buf b = BUF_INIT;

    htmlstr_add(&b, in, len);
    buf_addch(&b, '\0');
    cr_assert_str_eq(b.ptr, want);
    buf_release(&b);
}

Test(htmlstr, markup_becomes_text)
{
    const char *s = "<script>alert(\"x\" + 'y')</script>&amp;";

    check(s, strlen(s), "&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;)&lt;/script&gt;&amp;amp;");
}

Test(htmlstr, plain_text_and_utf8_pass_through)
{
    const char *s = "requests_total:1|c|#route:/caf\xc3\xa9,emoji:\xf0\x9f\x98\x80";

    check(s, strlen(s), s);
    check("", 0, "");
}

Test(htmlstr, control_and_invalid_bytes_are_shown_as_hex)
{
    /* NUL, a newline, DEL, a lone continuation byte, a truncated sequence, an overlong. */
    static const char s[] = "a\0b\nc\x7f"
                            "d\x80"
                            "e\xe2\x82"
                            "f\xc0\xaf";

    check(s, sizeof(s) - 1, "a\\x00b\\x0ac\\x7fd\\x80e\\xe2\\x82f\\xc0\\xaf");
}

Test(htmlstr, a_backslash_is_doubled_so_that_hex_is_unambiguous)
{
    check("\\x00", 4, "\\\\x00");
}

Test(htmlstr, a_null_string_appends_nothing)
{
    struct buf b = BUF_INIT;

    htmlstr_adds(&b, NULL);
    htmlstr_adds(&b, "<");
    buf_addch(&b, '\0');
    cr_assert_str_eq(b.ptr, "&lt;");
    buf_release(&b);
}
