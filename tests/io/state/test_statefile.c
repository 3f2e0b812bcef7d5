/*
 * The state file's container on a real file system, read back: round trips, and every
 * verdict on a bad file with its message. test_statefile_write.c has the writer's side.
 *
 * The tests may run as root, where permissions stop nothing: the "unwritable" cases run
 * in a forked child that drops to uid/gid 65534 first, so that the fixture's own
 * clean-up keeps its privileges.
 */
#include "statefile_fixture.h"

TestSuite(statefile, .init = setup, .fini = teardown);

/* ---- round trips ----------------------------------------------------------------------- */

Test(statefile, an_empty_body_round_trips)
{
    uint64_t size = write_state(path, "", 0, 0);
    struct stat st;

    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq((uint64_t)st.st_size, size);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(tmp_files(), 0);
    expect_body(path, "", 0);
}

Test(statefile, a_small_body_round_trips_and_the_layout_is_as_documented)
{
    static const char body[] = "counter\0requests_total\0\x01\x02\x03 and so on";
    struct buf f = BUF_INIT;
    const unsigned char *t;
    uint64_t v;

    write_state(path, body, sizeof(body), 7);
    expect_body(path, body, sizeof(body));

    slurp(path, &f);
    cr_assert_geq(f.len, STATEFILE_HEADER_SIZE + STATEFILE_TRAILER_SIZE);
    cr_assert_eq(memcmp(f.ptr, "USTATSD STATE\n\0\0", 16), 0);
    cr_assert_eq(memcmp(f.ptr + 16, "\x01\0\0\0\0\0\0\0", 8), 0); /* version 1, flags 0 */
    cr_assert_eq((unsigned char)f.ptr[24], 0x78);                 /* a zlib stream */
    t = (const unsigned char *)f.ptr + f.len - STATEFILE_TRAILER_SIZE;
    cr_assert_eq(memcmp(t, "USTATEND", 8), 0);
    v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | t[8 + i];
    cr_assert_eq(v, sizeof(body));
    v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | t[16 + i];
    cr_assert_eq(v, XXH3_64bits(body, sizeof(body)));
    buf_release(&f);
}

Test(statefile, several_megabytes_in_many_appends_round_trip)
{
    struct buf body = BUF_INIT, back = BUF_INIT;
    struct statefile_out o;
    char err[ERRLEN] = "";
    size_t done = 0, k = 1;
    struct stat st;

    make_body(&body, BIG_BODY, 1);
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    /* Pieces of every size from 1 byte to 200 KiB. */
    while (done < body.len) {
        size_t n = k < body.len - done ? k : body.len - done;
        cr_assert_eq(statefile_append(&o, body.ptr + done, n, err, sizeof(err)), 0, "%s", err);
        done += n;
        k = k * 3 % 200003 + 1;
    }
    cr_assert_eq(statefile_commit(&o, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq((uint64_t)st.st_size, o.file_size);
    cr_assert_eq(o.body_size, BIG_BODY);
    cr_assert_lt(o.file_size, BIG_BODY / 2, "records compress: %llu bytes",
                 (unsigned long long)o.file_size);

    cr_assert_eq(statefile_read(path, MAX_BODY, &back, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(back.len, body.len);
    cr_assert_eq(memcmp(back.ptr, body.ptr, body.len), 0);
    /* Exactly max_body is allowed. */
    cr_assert_eq(statefile_read(path, BIG_BODY, &back, err, sizeof(err)), 0, "%s", err);
    buf_release(&back);
    buf_release(&body);
}

Test(statefile, a_commit_replaces_the_old_file)
{
    write_state(path, "old", 3, 0);
    write_state(path, "new body", 8, 0);
    expect_body(path, "new body", 8);
}

Test(statefile, a_relative_path_works)
{
    cr_assert_eq(chdir(dir), 0);
    write_state("state", "relative", 8, 0);
    expect_body(path, "relative", 8);
}

/* ---- verdicts -------------------------------------------------------------------------- */

Test(statefile, no_file_is_absent_not_an_error)
{
    struct buf body = BUF_INIT;
    char err[ERRLEN] = "", p[200];

    cr_assert_eq(statefile_read(path, MAX_BODY, &body, err, sizeof(err)), STATEFILE_ABSENT);
    cr_assert_not_null(strstr(err, path), "%s", err);
    snprintf(p, sizeof(p), "%s/no/such/dir/state", dir);
    cr_assert_eq(statefile_read(p, MAX_BODY, &body, err, sizeof(err)), STATEFILE_ABSENT);
    cr_assert_eq(body.len, 0);
    buf_release(&body);
}

Test(statefile, an_empty_file_is_bad)
{
    spit(path, "", 0);
    expect_bad(path, MAX_BODY, "empty: 0 bytes");
}

/* Cut a good file at each of these offsets (negative: from its end). */
Test(statefile, a_file_truncated_anywhere_is_bad_and_says_where)
{
    static const struct {
        long cut;
        char what[64];
    } cuts[] = {
        { 1, "truncated: 1 bytes, inside the 24-byte header" },
        { 16, "truncated: 16 bytes, inside the 24-byte header" },
        { 23, "truncated: 23 bytes, inside the 24-byte header" },
        { 24, "truncated: the body ends after 0 bytes" },
        { 26, "truncated: the body ends after 2 bytes" },
        { 1000, "truncated: the body ends after 976 bytes" },
        { -1000, "with no trailer" },
        { -25, "with no trailer" },
        { -24, "truncated: the trailer has 0 of its 24 bytes" },
        { -20, "truncated: the trailer has 4 of its 24 bytes" },
        { -1, "truncated: the trailer has 23 of its 24 bytes" },
    };
    struct buf body = BUF_INIT, f = BUF_INIT;
    char p[200];

    make_body(&body, 300000, 2);
    write_state(path, body.ptr, body.len, 4096);
    slurp(path, &f);
    snprintf(p, sizeof(p), "%s/cut", dir);
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t n = cuts[i].cut >= 0 ? (size_t)cuts[i].cut : f.len - (size_t)-cuts[i].cut;
        spit(p, f.ptr, n);
        expect_bad(p, MAX_BODY, cuts[i].what);
    }
    buf_release(&f);
    buf_release(&body);
}

/* Read p, expect it refused as bad, and that err holds none of secret. */
static void expect_bad_secret_unseen(const char *p, const char *what, const char *secret)
{
    struct buf body = BUF_INIT;
    char err[ERRLEN] = "";

    expect_bad(p, MAX_BODY, what);
    statefile_read(p, MAX_BODY, &body, err, sizeof(err));
    cr_assert_null(strstr(err, secret), "the message shows the file's bytes: %s", err);
    buf_release(&body);
}

Test(statefile, a_foreign_file_is_bad_and_its_bytes_never_shown)
{
    static const char json[] = "{\"families\": [{\"name\": \"x\"}]}\n";
    char want[128];

    spit(path, json, sizeof(json) - 1);
    snprintf(want, sizeof(want), "not a ustatsd state file (%zu bytes, owner uid %u)",
             sizeof(json) - 1, (unsigned)geteuid());
    expect_bad_secret_unseen(path, want, "families");
    spit(path, "USTATSD", 7); /* a prefix of the magic: short, not foreign */
    expect_bad(path, MAX_BODY, "truncated: 7 bytes, inside the 24-byte header");
    spit(path,
         "\x7f"
         "ELF\x02\x01\x01",
         7);
    expect_bad_secret_unseen(path, "not a ustatsd state file (7 bytes, owner uid", "ELF");
}

Test(statefile, a_symlink_to_a_secret_is_refused_unfollowed)
{
    char secret[200];

    snprintf(secret, sizeof(secret), "%s/secret", dir);
    spit(secret, "TOPSECRETPASSWORD-0123456789", 28);
    cr_assert_eq(symlink(secret, path), 0, "%s", strerror(errno));
    expect_bad_secret_unseen(path, "is a symbolic link", "TOPSECRET");
    /* A symlink to a real state file is refused as well: it is never followed. */
    write_state(secret, "good", 4, 0);
    expect_bad(path, MAX_BODY, "is a symbolic link");
}

Test(statefile, a_hard_link_is_refused_unread)
{
    char other[200];

    snprintf(other, sizeof(other), "%s/other", dir);
    spit(other, "TOPSECRET", 9);
    cr_assert_eq(link(other, path), 0, "%s", strerror(errno));
    expect_bad_secret_unseen(path, "has 2 links", "TOPSECRET");
    cr_assert_eq(unlink(other), 0);
    expect_bad(path, MAX_BODY, "not a ustatsd state file (9 bytes");
}

static void patch(const char *p, long off, const void *bytes, size_t n)
{
    struct buf f = BUF_INIT;

    slurp(p, &f);
    memcpy(f.ptr + (off >= 0 ? (size_t)off : f.len - (size_t)-off), bytes, n);
    spit(p, f.ptr, f.len);
    buf_release(&f);
}

/* Header fields this build does not know: another format version, or any flag. */
Test(statefile, another_version_or_any_flag_is_refused)
{
    static const struct {
        long off;
        char bytes[4];
        char what[64];
    } cases[] = {
        { 16, "\x02\0\0\0", "format version 2; this build reads version 1" },
        { 16, "\0\0\0\0", "format version 0; this build reads version 1" },
        { 20, "\x01\0\0\0", "flags 0x00000001, which this build does not know" },
        { 20, "\0\0\0\x80", "flags 0x80000000, which this build does not know" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_state(path, "body", 4, 0);
        patch(path, cases[i].off, cases[i].bytes, 4);
        expect_bad(path, MAX_BODY, cases[i].what);
    }
}

Test(statefile, one_flipped_byte_anywhere_is_caught)
{
    struct buf body = BUF_INIT, f = BUF_INIT, back = BUF_INIT;
    char err[ERRLEN];
    size_t caught = 0;

    make_body(&body, 20000, 3);
    write_state(path, body.ptr, body.len, 0);
    slurp(path, &f);
    /* Every byte of the file in turn, each flipped whole: no corruption reads as sound. */
    for (size_t i = 0; i < f.len; i++) {
        int rc;
        f.ptr[i] ^= (char)0xff;
        rc = statefile__parse(f.ptr, f.len, MAX_BODY, &back, err, sizeof(err));
        f.ptr[i] ^= (char)0xff;
        cr_assert_eq(rc, STATEFILE_BAD, "byte %zu of %zu flipped reads as sound", i, f.len);
        cr_assert_eq(back.len, 0);
        caught++;
    }
    cr_assert_eq(caught, f.len);
    /* Through the file as well, with the exact verdicts where they are certain. */
    f.ptr[STATEFILE_HEADER_SIZE + 100] ^= 0x10;
    spit(path, f.ptr, f.len);
    expect_bad(path, MAX_BODY, "");
    f.ptr[STATEFILE_HEADER_SIZE + 100] ^= 0x10;
    f.ptr[f.len - 1] ^= 0x01;
    spit(path, f.ptr, f.len);
    expect_bad(path, MAX_BODY, "checksum mismatch: the trailer says ");
    f.ptr[f.len - 1] ^= 0x01;
    f.ptr[f.len - 16] ^= 0x01;
    spit(path, f.ptr, f.len);
    expect_bad(path, MAX_BODY, "length mismatch: the trailer says 20001 bytes, the body has 20000");
    f.ptr[f.len - 16] ^= 0x01;
    f.ptr[f.len - 24] = 'X';
    spit(path, f.ptr, f.len);
    expect_bad(path, MAX_BODY, "corrupt trailer: no end magic");
    buf_release(&back);
    buf_release(&f);
    buf_release(&body);
}

Test(statefile, corrupt_deflate_data_is_named)
{
    struct buf f = BUF_INIT;

    write_state(path, "some body bytes", 15, 0);
    slurp(path, &f);
    f.ptr[STATEFILE_HEADER_SIZE + 2] = (char)0xff; /* the first block: an invalid type */
    spit(path, f.ptr, f.len);
    expect_bad(path, MAX_BODY, "corrupt body: inflate failed at byte ");
    buf_release(&f);
}

Test(statefile, trailing_garbage_is_bad)
{
    struct buf f = BUF_INIT;

    write_state(path, "body", 4, 0);
    slurp(path, &f);
    buf_add(&f, "\n", 1);
    spit(path, f.ptr, f.len);
    expect_bad(path, MAX_BODY, "1 bytes of trailing garbage after the trailer");
    buf_add(&f, "more garbage", 12);
    spit(path, f.ptr, f.len);
    expect_bad(path, MAX_BODY, "13 bytes of trailing garbage");
    buf_release(&f);
}

Test(statefile, a_body_over_max_body_is_bad)
{
    struct buf body = BUF_INIT;

    make_body(&body, 100000, 4);
    write_state(path, body.ptr, body.len, 0);
    expect_bad(path, 99999,
               "its trailer claims a body of 100000 bytes, over the limit of 99999 bytes: "
               "refused before inflating");
    expect_body(path, body.ptr, body.len);
    buf_release(&body);
}

Test(statefile, a_zip_bomb_is_refused_at_its_claim_and_stopped_at_it)
{
    static char zeros[1 << 20];
    struct statefile_out o;
    char err[ERRLEN] = "";
    struct stat st;

    /* 256 MiB of zeros: a file of about 250 KiB. */
    cr_assert_eq(statefile_create(&o, path, err, sizeof(err)), 0, "%s", err);
    for (int i = 0; i < 256; i++)
        cr_assert_eq(statefile_append(&o, zeros, sizeof(zeros), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(statefile_commit(&o, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_lt(st.st_size, 2 << 20, "%lld bytes", (long long)st.st_size);
    cr_assert_gt(st.st_size, 1 << 10);
    expect_bad(path, 4 << 20,
               "its trailer claims a body of 268435456 bytes, over the limit of 4194304 bytes: "
               "refused before inflating");
    /* A trailer that lies small: inflating stops at its claim, not at max_body. */
    patch(path, -16, "\x00\x00\x01\x00\x00\x00\x00\x00", 8); /* 65536 */
    expect_bad(path, 1u << 30, "the body inflates past the 65536 bytes its trailer claims");
    /* No trailer at all: stopped at max_body. */
    cr_assert_eq(truncate(path, st.st_size - 24), 0);
    expect_bad(path, 4 << 20, "the body inflates to more than the limit of 4194304 bytes");
}

Test(statefile, a_file_too_large_for_max_body_is_refused_unread)
{
    static char noise[200000];
    uint64_t x = 88172645463325252u;

    for (size_t i = 0; i < sizeof(noise); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise[i] = (char)x;
    }
    memcpy(noise, "USTATSD STATE\n\0\0\x01\0\0\0\0\0\0\0", 24);
    spit(path, noise, sizeof(noise));
    expect_bad(path, 1000, "200000 bytes: too large for a body of at most 1000 bytes");
}

/* ---- read errors ----------------------------------------------------------------------- */

static void expect_error(const char *p, const char *what)
{
    struct buf body = BUF_INIT;
    char err[ERRLEN] = "";
    int rc = statefile_read(p, MAX_BODY, &body, err, sizeof(err));

    cr_assert_eq(rc, STATEFILE_ERROR, "rc %d: %s", rc, err);
    cr_assert_not_null(strstr(err, p), "%s", err);
    cr_assert_not_null(strstr(err, what), "\"%s\" does not say \"%s\"", err, what);
    cr_assert_eq(body.len, 0);
    buf_release(&body);
}

Test(statefile, a_directory_or_a_fifo_is_an_error_not_a_bad_file)
{
    char p[200];

    cr_assert_eq(mkdir(path, 0700), 0);
    expect_error(path, "is a directory");
    snprintf(p, sizeof(p), "%s/fifo", dir);
    cr_assert_eq(mkfifo(p, 0600), 0);
    expect_error(p, "not a regular file"); /* and no wait for a writer */
    snprintf(p, sizeof(p), "%s/fifo/state", dir);
    expect_error(p, "Not a directory");
}

static int read_unreadable(void)
{
    struct buf body = BUF_INIT;
    char err[ERRLEN] = "";
    int rc = statefile_read(path, MAX_BODY, &body, err, sizeof(err));

    fprintf(stderr, "%s\n", err);
    return rc == STATEFILE_ERROR && strstr(err, "Permission denied") != NULL ? 0 : 1;
}

Test(statefile, an_unreadable_file_is_an_error)
{
    write_state(path, "secret", 6, 0);
    cr_assert_eq(chmod(dir, 0755), 0);
    cr_assert_eq(chmod(path, 0), 0); /* no one reads it but root, who runs fn as 65534 */
    cr_assert_eq(as_nobody(read_unreadable), 0);
}

static int read_foreign_owned(void)
{
    struct buf body = BUF_INIT;
    char err[ERRLEN] = "";
    int rc = statefile_read(path, MAX_BODY, &body, err, sizeof(err));

    fprintf(stderr, "%s\n", err);
    buf_release(&body);
    return rc == STATEFILE_BAD && strstr(err, "owned by uid 0") != NULL ? 0 : 1;
}

Test(statefile, a_file_owned_by_another_user_is_refused_unread)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to give the file to another owner");
    write_state(path, "root's", 6, 0);
    cr_assert_eq(chmod(dir, 0755), 0);
    cr_assert_eq(chmod(path, 0644), 0); /* readable by 65534, who reads it as the daemon */
    cr_assert_eq(as_nobody(read_foreign_owned), 0);
}
