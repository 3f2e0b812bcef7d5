#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "http/gzip.h"

/* Inflate a whole gzip member (windowBits 15 + 16: a gzip header and trailer required). */
static size_t gunzip(const struct buf *in, char *out, size_t cap)
{
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)in->ptr;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    rc = inflate(&z, Z_FINISH);
    cr_assert_eq(rc, Z_STREAM_END, "one complete gzip member (inflate: %d)", rc);
    cr_assert_eq(z.avail_in, 0, "nothing after the member");
    inflateEnd(&z);
    return cap - z.avail_out;
}

Test(gzip, a_body_fed_in_pieces_inflates_to_the_pieces_in_order)
{
    static char body[64 * 1024], back[sizeof(body)];
    struct buf out = BUF_INIT;
    struct gzip g = { 0 };
    size_t off = 0;

    for (size_t i = 0; i < sizeof(body); i++) {
        body[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    }
    gzip_begin(&g);
    while (off < sizeof(body)) {
        size_t n = sizeof(body) - off < 3001 ? sizeof(body) - off : 3001;

        gzip_feed(&g, body + off, n, off + n == sizeof(body), &out);
        off += n;
    }
    gzip_end(&g);
    cr_assert_lt(out.len, sizeof(body), "compressed");
    cr_assert_eq(gunzip(&out, back, sizeof(back)), sizeof(body));
    cr_assert_eq(memcmp(body, back, sizeof(body)), 0);
    buf_release(&out);
}

Test(gzip, an_empty_body_is_a_valid_member_and_the_state_can_be_used_again)
{
    struct buf out = BUF_INIT;
    struct gzip g = { 0 };
    char back[16];

    gzip_begin(&g);
    gzip_feed(&g, "", 0, 1, &out);
    gzip_end(&g);
    cr_assert_eq(gunzip(&out, back, sizeof(back)), 0);

    buf_reset(&out);
    gzip_begin(&g);
    gzip_feed(&g, "again", 5, 1, &out);
    gzip_end(&g);
    cr_assert_eq(gunzip(&out, back, sizeof(back)), 5);
    cr_assert_eq(memcmp(back, "again", 5), 0);
    buf_release(&out);
}

Test(gzip, abandoning_a_body_half_way_releases_it)
{
    struct buf out = BUF_INIT;
    struct gzip g = { 0 };

    gzip_begin(&g);
    gzip_feed(&g, "half", 4, 0, &out);
    gzip_end(&g);
    gzip_end(&g); /* harmless when not active */
    buf_release(&out);
}
