/* path: a path's directory, a writable-directory check, a regular file read whole. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errcode.h"
#include "base/path.h"

Test(path, dirname_of_a_bare_name_a_root_name_and_a_nested_one)
{
    static const char *const cases[][2] = {
        { "f", "." }, { "/f", "/" }, { "/a/b/f", "/a/b" }, { "a/f", "a" }, { "/a/", "/a" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *d = path_dirname(cases[i][0]);

        cr_assert_str_eq(d, cases[i][1], "%s", cases[i][0]);
        free(d);
    }
}

Test(path, same_str_takes_null_as_a_value)
{
    cr_assert(path_same_str(NULL, NULL));
    cr_assert(path_same_str("a", "a"));
    cr_assert(!path_same_str("a", NULL));
    cr_assert(!path_same_str(NULL, "a"));
    cr_assert(!path_same_str("a", "b"));
}

/* A scratch directory with "f" holding text; path receives dir/name. */
static void scratch(char dir[32], const char *text, const char *name, char path[64])
{
    FILE *f;

    strcpy(dir, "/tmp/path-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, 64, "%s/f", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    snprintf(path, 64, "%s/%s", dir, name);
}

Test(path, read_file_reads_a_regular_file_whole)
{
    char dir[32], path[64], *text = (char *)"x";
    size_t len = 9;

    scratch(dir, "{\"a\": 1}\n", "f", path);
    cr_assert_eq(path_read_file(path, 9, &text, &len), 0);
    cr_assert_eq(len, 9);
    cr_assert_str_eq(text, "{\"a\": 1}\n");
    free(text);
    cr_assert_eq(path_read_file(path, 8, &text, &len), -EFBIG);
    cr_assert_null(text);
    cr_assert_eq(len, 0);
    unlink(path);
    cr_assert_eq(path_read_file(path, 9, &text, &len), -ENOENT);
    cr_assert_null(text);
    rmdir(dir);
}

/*
 * A FIFO without a writer would block open(2), and a device or a directory is no file to
 * read: each is refused at once (the timeout fails a test that blocks).
 */
Test(path, read_file_refuses_what_is_not_a_regular_file, .timeout = 10)
{
    char dir[32], path[64], *text = (char *)"x";
    size_t len = 9;

    scratch(dir, "", "pipe", path);
    cr_assert_eq(mkfifo(path, 0600), 0);
    cr_assert_eq(path_read_file(path, 1 << 20, &text, &len), ERRCODE_NOTREG);
    cr_assert_null(text);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(errcode_str(ERRCODE_NOTREG), "not a regular file");
    cr_assert_eq(path_read_file(dir, 1 << 20, &text, &len), ERRCODE_NOTREG);
    cr_assert_eq(path_read_file("/dev/null", 1 << 20, &text, &len), ERRCODE_NOTREG);
    cr_assert_eq(path_read_file("/dev/zero", 1 << 20, &text, &len), ERRCODE_NOTREG);
    cr_assert_null(text);
    unlink(path);
    snprintf(path, sizeof(path), "%s/f", dir);
    cr_assert_eq(path_read_file(path, 1 << 20, &text, &len), 0, "an empty file is a file");
    cr_assert_str_eq(text, "");
    cr_assert_eq(len, 0);
    free(text);
    unlink(path);
    rmdir(dir);
}

Test(path, dir_writable_names_the_directory_and_its_problem)
{
    char dir[32], path[64], *d = NULL;

    scratch(dir, "", "state", path);
    cr_assert_eq(path_dir_writable(path, &d), 0);
    cr_assert_str_eq(d, dir);
    free(d);
    snprintf(path, sizeof(path), "%s/missing/state", dir);
    cr_assert_eq(path_dir_writable(path, &d), -ENOENT);
    free(d);
    snprintf(path, sizeof(path), "%s/f/state", dir);
    cr_assert_eq(path_dir_writable(path, &d), -ENOTDIR);
    free(d);
    snprintf(path, sizeof(path), "%s/f", dir);
    unlink(path);
    rmdir(dir);
}
