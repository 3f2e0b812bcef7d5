/*
 * bench_statefile: the state file's writer and reader against plain write() and read().
 *
 *   bench_statefile [DIR]     (files go to a fresh directory under DIR, by default
 *                              $TMPDIR or /tmp; give one on the disk you mean to measure)
 *
 * Bodies of 10 MB and 100 MB of records shaped like the snapshot's: small binary
 * records, most of them a counter or a gauge (kind, family, series id, two label ids,
 * creation time, value), one in eight a histogram with 12 bucket counts; values count up
 * and creation times cluster, as they do in a daemon that has run for a while.
 *
 * For each body, the median of 3 runs of:
 *   - statefile: create, append in 64 KiB pieces (as the snapshot writer hands them over),
 *     commit (fsync, rename, fsync of the directory): body MB/s, and the commit alone;
 *   - baseline: open, write() the same bytes in 64 KiB pieces, fsync, close;
 *   - statefile_read() of the file, and read() of the baseline file, both from the page
 *     cache (the daemon reads its file once at start-up, usually just written);
 *   - the compression ratio, body bytes / file bytes.
 * Then deflate alone over the 10 MB body in memory at levels 1, 3 and 6, for the choice
 * of level 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "benchutil.h"
#include "base/buf.h"
#include "state/statefile.h"

#define PIECE (64u * 1024u)
#define RUNS  3

/* A record as the snapshot might lay it out; only its shape matters here. */
static void make_body(struct buf *b, size_t n)
{
    uint64_t x = 0x2545F4914F6CDD1Du, series = 0, created = 1763800000000u;

    buf_reset(b);
    buf_grow(b, n);
    while (b->len < n) {
        unsigned char rec[16 + 8 + 8 + 12 * 8];
        size_t len = 32;
        uint64_t value;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        series++;
        rec[0] = (x & 7) == 0 ? 3 : (unsigned char)(1 + (x & 1)); /* histogram, counter, gauge */
        rec[1] = (unsigned char)(x >> 8) & 0x3f;                  /* family */
        memcpy(rec + 2, &series, 6);                              /* series id */
        memcpy(rec + 8, &(uint32_t){ (uint32_t)(x >> 16) % 5000 }, 4); /* label value ids */
        memcpy(rec + 12, &(uint32_t){ (uint32_t)(x >> 40) % 40 }, 4);
        created += (x >> 20) % 3 == 0 ? (x >> 24) % 60000 : 0;
        memcpy(rec + 16, &created, 8);
        value = rec[0] == 2 ? x % 1000 : series * 17 + (x >> 50);
        memcpy(rec + 24, &value, 8);
        if (rec[0] == 3) {
            for (int i = 0; i < 12; i++) {
                uint64_t c = value >> (12 - i);
                memcpy(rec + 32 + 8 * i, &c, 8);
            }
            len += 12 * 8;
        }
        if (len > n - b->len)
            len = n - b->len;
        memcpy(b->ptr + b->len, rec, len);
        b->len += len;
    }
}

static double secs(uint64_t from)
{
    return (double)(benchutil_now_ns() - from) / 1e9;
}

/* Returns the seconds for the whole write; *commit_s the commit's, *file_size the bytes. */
static double write_statefile(const char *path, const struct buf *body, double *commit_s,
                              uint64_t *file_size)
{
    struct statefile_out o;
    char err[512];
    uint64_t t0 = benchutil_now_ns(), t1;

    if (statefile_create(&o, path, err, sizeof(err)) != 0)
        benchutil_die("%s", err);
    for (size_t done = 0; done < body->len; done += PIECE) {
        size_t n = body->len - done < PIECE ? body->len - done : PIECE;
        if (statefile_append(&o, body->ptr + done, n, err, sizeof(err)) != 0)
            benchutil_die("%s", err);
    }
    t1 = benchutil_now_ns();
    if (statefile_commit(&o, err, sizeof(err)) != 0)
        benchutil_die("%s", err);
    *commit_s = secs(t1);
    *file_size = o.file_size;
    return secs(t0);
}

static double write_plain(const char *path, const struct buf *body)
{
    uint64_t t0 = benchutil_now_ns();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        benchutil_die("open(%s): %s", path, strerror(errno));
    for (size_t done = 0; done < body->len;) {
        size_t n = body->len - done < PIECE ? body->len - done : PIECE;
        ssize_t w = write(fd, body->ptr + done, n);
        if (w <= 0)
            benchutil_die("write(%s): %s", path, strerror(errno));
        done += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0)
        benchutil_die("fsync(%s): %s", path, strerror(errno));
    return secs(t0);
}

static double read_statefile(const char *path, const struct buf *body)
{
    struct buf back = BUF_INIT;
    char err[512];
    uint64_t t0 = benchutil_now_ns();
    double s;

    if (statefile_read(path, body->len, &back, err, sizeof(err)) != 0)
        benchutil_die("%s", err);
    s = secs(t0);
    if (back.len != body->len || memcmp(back.ptr, body->ptr, body->len) != 0)
        benchutil_die("%s: the body read back differs", path);
    buf_release(&back);
    return s;
}

static double read_plain(const char *path, size_t n)
{
    uint64_t t0 = benchutil_now_ns();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *p = malloc(n);
    size_t got = 0;
    double s;

    if (fd < 0 || p == NULL)
        benchutil_die("open(%s): %s", path, strerror(errno));
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0)
            benchutil_die("read(%s): short", path);
        got += (size_t)r;
    }
    close(fd);
    s = secs(t0);
    free(p);
    return s;
}

static void bench_size(const char *dir, size_t mb)
{
    struct buf body = BUF_INIT;
    char path[512], plain[512];
    double w[RUNS], c[RUNS], pw[RUNS], r[RUNS], pr[RUNS];
    uint64_t size = 0;
    double m;

    benchutil_fmt(path, sizeof(path), "%s/state", dir);
    benchutil_fmt(plain, sizeof(plain), "%s/plain", dir);
    make_body(&body, mb * 1000000);
    m = (double)body.len / 1e6;
    for (int i = 0; i < RUNS; i++) {
        pw[i] = write_plain(plain, &body);
        w[i] = write_statefile(path, &body, &c[i], &size);
        r[i] = read_statefile(path, &body);
        pr[i] = read_plain(plain, body.len);
    }
    printf("%zu MB body, %llu bytes on disk: ratio %.2f (%.1f%% of the body)\n", mb,
           (unsigned long long)size, (double)body.len / (double)size,
           100.0 * (double)size / (double)body.len);
    printf("  write: statefile %7.1f MB/s (commit %.1f ms)   plain write+fsync %7.1f MB/s\n",
           m / benchutil_median(w, RUNS), 1e3 * benchutil_median(c, RUNS),
           m / benchutil_median(pw, RUNS));
    printf("  read:  statefile %7.1f MB/s                  plain read        %7.1f MB/s\n",
           m / benchutil_median(r, RUNS), m / benchutil_median(pr, RUNS));
    fflush(stdout);
    unlink(path);
    unlink(plain);
    buf_release(&body);
}

/* deflate alone, in memory, over body: MB/s and the ratio, at level. */
static void bench_level(const struct buf *body, int level)
{
    uLong bound = compressBound(body->len);
    unsigned char *out = malloc(bound);
    double t[RUNS];
    uLongf n = bound;

    if (out == NULL)
        benchutil_die("out of memory");
    for (int i = 0; i < RUNS; i++) {
        uint64_t t0 = benchutil_now_ns();
        n = bound;
        if (compress2(out, &n, (const Bytef *)body->ptr, body->len, level) != Z_OK)
            benchutil_die("compress2 at level %d failed", level);
        t[i] = secs(t0);
    }
    printf("  level %d: %7.1f MB/s, ratio %.2f\n", level,
           (double)body->len / 1e6 / benchutil_median(t, RUNS), (double)body->len / (double)n);
    free(out);
}

int main(int argc, char **argv)
{
    struct buf body = BUF_INIT;
    char dir[512];
    const char *base = argc > 1 ? argv[1] : NULL;

    if (base != NULL) {
        benchutil_fmt(dir, sizeof(dir), "%s/bench_statefile-XXXXXX", base);
        if (mkdtemp(dir) == NULL)
            benchutil_die("mkdtemp(%s): %s", dir, strerror(errno));
    } else {
        benchutil_tmpdir(dir, sizeof(dir), "bench_statefile");
    }
    printf("bench_statefile: files in %s, medians of %d runs; reads from the page cache\n", dir,
           RUNS);
    bench_size(dir, 10);
    bench_size(dir, 100);

    make_body(&body, 10 * 1000000);
    printf("deflate alone, 10 MB body in memory (zlib's compress2):\n");
    bench_level(&body, 1);
    bench_level(&body, 3);
    bench_level(&body, 6);
    buf_release(&body);
    benchutil_rmtree(dir);
    return 0;
}
