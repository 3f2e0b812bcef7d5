/*
 * libFuzzer target for the state file: its reader on any bytes, from memory, and its
 * writer on any body, through a real file.
 *
 * The input is taken twice:
 *   - as a whole file image for statefile__parse(), with a 64 KiB max_body. Checked: the
 *     verdict is 0 or STATEFILE_BAD; BAD leaves the body empty and says why in a
 *     NUL-terminated message, and gives the same verdict into an 8-byte err buffer; a
 *     sound image gives a body of at most max_body, is refused with max_body one byte
 *     short of it, and loses its soundness when cut by one byte;
 *   - as a body: written with statefile_create/append/commit in pieces whose sizes the
 *     input's first bytes pick, into a directory on tmpfs where one exists. Checked: it
 *     reads back byte for byte, the file is as long as the writer said, and, for one
 *     input in four (fuzz_full_path()), the file cut short at a point the input picks is
 *     STATEFILE_BAD.
 * Seeds: tests/fuzz/seeds/fuzz_statefile/ (sound files, and bad ones of each kind).
 */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "base/buf.h"
#include "state/statefile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The reader sizes its first buffer by the body's claim or by deflate's best ratio
 * (about 1032:1) over the file, up to max_body. 64 KiB is 16 times libFuzzer's default
 * largest input (4 KiB; no seed is longer), so a body still reaches the limit by
 * inflating, while a run allocates a sixteenth of what 1 MiB made it allocate (each
 * buffer that large was mapped fresh by the sanitizer's allocator, the bulk of a run).
 */
#define MAX_BODY (64u << 10)
/* One input in 2^FULL_PATH_BITS copies its file cut short and reads that too. */
#define FULL_PATH_BITS 2

static char dir[64], path[128], cut_path[128];

static void cleanup(void)
{
    char tmp[160];

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    unlink(path);
    unlink(cut_path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct stat st;

    (void)argc;
    (void)argv;
    /* tmpfs: the writer fsyncs twice per input, which costs nothing there. */
    snprintf(dir, sizeof(dir), "%s/fuzz_statefile-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("fuzz_statefile: mkdtemp");
        abort();
    }
    snprintf(path, sizeof(path), "%s/state", dir);
    snprintf(cut_path, sizeof(cut_path), "%s/cut", dir);
    atexit(cleanup);
    return 0;
}

static void check_parse(const uint8_t *data, size_t size)
{
    struct buf body = BUF_INIT, again = BUF_INIT;
    char err[256], small[8];
    int rc;

    memset(err, 'x', sizeof(err));
    rc = statefile__parse(data, size, MAX_BODY, &body, err, sizeof(err));
    assert(rc == 0 || rc == STATEFILE_BAD);
    memset(small, 'x', sizeof(small));
    assert(statefile__parse(data, size, MAX_BODY, &again, small, sizeof(small)) == rc);
    if (rc != 0) {
        assert(body.len == 0 && again.len == 0);
        assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
        assert(memchr(small, '\0', sizeof(small)) != NULL);
    } else {
        assert(body.len <= MAX_BODY && again.len == body.len);
        assert(body.len == 0 || memcmp(body.ptr, again.ptr, body.len) == 0);
        if (body.len > 0)
            assert(statefile__parse(data, size, body.len - 1, &again, err, sizeof(err)) ==
                   STATEFILE_BAD);
        assert(statefile__parse(data, size - 1, MAX_BODY, &again, err, sizeof(err)) ==
               STATEFILE_BAD);
    }
    buf_release(&again);
    buf_release(&body);
}

static void check_write(const uint8_t *data, size_t size, int full_path)
{
    struct statefile_out o;
    struct buf body = BUF_INIT;
    char err[512];
    size_t done = 0, i = 0;
    struct stat st;
    int fd, rc;

    if (statefile_create(&o, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_statefile: %s\n", err);
        abort();
    }
    while (done < size) {
        /* Piece sizes from the input itself: 1..256 bytes, or the rest. */
        size_t n = data[i++ % size] + 1u;
        if (n > size - done)
            n = size - done;
        assert(statefile_append(&o, data + done, n, err, sizeof(err)) == 0);
        done += n;
    }
    if (statefile_commit(&o, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_statefile: %s\n", err);
        abort();
    }
    assert(o.body_size == size);
    assert(stat(path, &st) == 0 && (uint64_t)st.st_size == o.file_size);

    rc = statefile_read(path, MAX_BODY, &body, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "fuzz_statefile: %s\n", err);
        abort();
    }
    assert(body.len == size && (size == 0 || memcmp(body.ptr, data, size) == 0));

    /* The same file cut short anywhere is bad: one input in 2^FULL_PATH_BITS checks it. */
    if (full_path) {
        size_t cut = size > 0 ? (data[0] | (size_t)data[size - 1] << 8) % o.file_size : 0;
        char *copy = malloc(o.file_size);
        ssize_t r;

        fd = open(path, O_RDONLY);
        assert(fd >= 0 && copy != NULL);
        r = read(fd, copy, o.file_size);
        assert(r == (ssize_t)o.file_size);
        close(fd);
        fd = open(cut_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert(fd >= 0 && write(fd, copy, cut) == (ssize_t)cut);
        close(fd);
        assert(statefile_read(cut_path, MAX_BODY, &body, err, sizeof(err)) == STATEFILE_BAD);
        assert(body.len == 0);
        free(copy);
    }
    buf_release(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parse(data, size);
    if (size <= MAX_BODY)
        check_write(data, size, fuzz_full_path(data, size, FULL_PATH_BITS));
    return 0;
}
