#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errcode.h"
#include "config/tokenfile.h"

struct token_case {
    char bytes[300];
    size_t len;
    int rc;
    char token[300]; /* when rc is 0 */
    char why[64];    /* in the message, when rc is ERRCODE_FORMAT */
};

ParameterizedTestParameters(tokenfile, the_whole_file_is_the_token_or_it_is_refused)
{
    static struct token_case cases[] = {
        { "s3cret", 6, 0, "s3cret", "" },
        { "s3cret\n", 7, 0, "s3cret", "" },
        { "s3cret\r\n", 8, 0, "s3cret", "" },
        { "a.b-c_d~e+f/g=", 14, 0, "a.b-c_d~e+f/g=", "" },
        { "", 0, ERRCODE_FORMAT, "", "empty" },
        { "\n", 1, ERRCODE_FORMAT, "", "empty" },
        { "\r\n", 2, ERRCODE_FORMAT, "", "empty" },
        { "abc\0long-secret", 15, ERRCODE_FORMAT, "", "a NUL byte at offset 3" },
        { "s3cret\n\n", 8, ERRCODE_FORMAT, "", "outside 0x21-0x7E at offset 6" },
        { "s3 cret", 7, ERRCODE_FORMAT, "", "a space at offset 2" },
        { " s3cret", 7, ERRCODE_FORMAT, "", "a space at offset 0" },
        { "s3cret\r", 7, ERRCODE_FORMAT, "", "outside 0x21-0x7E at offset 6" },
        { "s3\tcret", 7, ERRCODE_FORMAT, "", "outside 0x21-0x7E at offset 2" },
        { "caf\xc3\xa9", 5, ERRCODE_FORMAT, "", "outside 0x21-0x7E at offset 3" },
        { "s3\x7f", 3, ERRCODE_FORMAT, "", "outside 0x21-0x7E at offset 2" },
    };

    return cr_make_param_array(struct token_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static void write_file(char *path, const void *data, size_t len)
{
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

ParameterizedTest(struct token_case *c, tokenfile, the_whole_file_is_the_token_or_it_is_refused)
{
    char path[] = "/tmp/ustatsd-tok-XXXXXX", out[TOKENFILE_MAX + 1], err[256];

    write_file(path, c->bytes, c->len);
    cr_assert_eq(tokenfile_read(path, out, err, sizeof(err)), c->rc, "%s", c->bytes);
    if (c->rc == 0) {
        cr_assert_str_eq(out, c->token);
    } else {
        cr_assert_str_eq(out, "");
        cr_assert_not_null(strstr(err, path), "%s", err);
        cr_assert_not_null(strstr(err, c->why), "%s", err);
    }
    unlink(path);
}

Test(tokenfile, the_maximum_length_is_256_bytes)
{
    char path[] = "/tmp/ustatsd-tok-XXXXXX", path2[] = "/tmp/ustatsd-tok-XXXXXX";
    char data[TOKENFILE_MAX + 2], out[TOKENFILE_MAX + 1], err[256];

    memset(data, 'x', sizeof(data));
    data[TOKENFILE_MAX] = '\n';
    write_file(path, data, TOKENFILE_MAX + 1);
    cr_assert_eq(tokenfile_read(path, out, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strlen(out), TOKENFILE_MAX);
    data[TOKENFILE_MAX] = 'x';
    write_file(path2, data, TOKENFILE_MAX + 1);
    cr_assert_eq(tokenfile_read(path2, out, err, sizeof(err)), ERRCODE_FORMAT);
    cr_assert_not_null(strstr(err, "longer than 256 bytes"), "%s", err);
    unlink(path);
    unlink(path2);
}

Test(tokenfile, a_missing_file_or_a_directory_is_refused)
{
    char out[TOKENFILE_MAX + 1], err[256];

    cr_assert_eq(tokenfile_read("/nonexistent/token", out, err, sizeof(err)), -ENOENT);
    cr_assert_str_eq(err, "/nonexistent/token: No such file or directory");
    cr_assert_eq(tokenfile_read("/tmp", out, err, sizeof(err)), ERRCODE_NOTREG);
    cr_assert_str_eq(err, "/tmp: not a regular file");
}
