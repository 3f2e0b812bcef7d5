#include "state/statefile.h"

#include "base/path.h"
#include "base/common.h"

#include "base/errcode.h"
#include "base/mem.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

/*
 * 64 KiB of compressed output per write(2): about 160 KiB of records at the 2.5:1 that
 * bench_statefile's binary records compress to, and the writer's memory stays fixed
 * whatever the body's size.
 */
#define OUT_SIZE (64u * 1024u)
/* zlib counts in uInt: hand it at most this much at a time. */
#define ZCHUNK (1u << 30)
/* Growth step of the body while it inflates, when the trailer gives no usable size. */
#define INFLATE_STEP (64u * 1024u)
/* Random temporary names tried before giving up (each taken already). */
#define LOCK_TRIES 8

__attribute__((format(printf, 3, 0))) static void vsay(char *err, size_t errlen, const char *fmt,
                                                       va_list ap)
{
    if (errlen > 0)
        vsnprintf(err, errlen, fmt, ap);
}

/* "state file PATH: " and the message; returns code, for `return fail(...)`. */
__attribute__((format(printf, 5, 6))) static int fail(int code, char *err, size_t errlen,
                                                      const char *path, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (errlen == 0)
        return code;
    n = snprintf(err, errlen, "state file %s: ", path);
    if (n >= 0 && (size_t)n < errlen) {
        va_start(ap, fmt);
        vsay(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The message of parse(), without a file name; returns STATEFILE_BAD. */
__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(err, errlen, fmt, ap);
    va_end(ap);
    return STATEFILE_BAD;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- writing --------------------------------------------------------------------------- */

/*
 * Write back as the file grows, STATEFILE_WRITEBACK_STEP at a time, rather than all of it
 * at the commit's fsync: the step just written is sent to the disk, and the one before it
 * waited for. A snapshot of 10M series is 80 MB; flushed at once, the kernel's work for
 * its pages (submission, completions) came in bursts that held the loop's CPU 10 to 50
 * ms. Paced, the bursts are a step's, and the dirty pages a snapshot holds stay within
 * two steps. Returns 0, or a negative errno: the call that waits reports a write error of
 * those pages once, and marks it seen, so that the commit's fsync would no longer report
 * it; the snapshot then fails here, whatever the errno. The call that only starts the
 * writeback marks nothing: when it fails (a file system that cannot, memory short),
 * pacing stops for this file and the fsync writes the rest and reports what went wrong.
 */
int statefile__writeback_errno;

static int pace(struct statefile_out *o)
{
    if (o->wb_off || o->file_size - o->wb_started < STATEFILE_WRITEBACK_STEP)
        return 0;
    if (sync_file_range(o->fd, (off64_t)o->wb_started, (off64_t)(o->file_size - o->wb_started),
                        SYNC_FILE_RANGE_WRITE) < 0) {
        o->wb_off = 1;
        return 0;
    }
    if (o->wb_started > o->wb_waited) {
        if (sync_file_range(o->fd, (off64_t)o->wb_waited, (off64_t)(o->wb_started - o->wb_waited),
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER) < 0)
            return -errno;
        if (statefile__writeback_errno != 0)
            return -statefile__writeback_errno;
    }
    o->wb_waited = o->wb_started;
    o->wb_started = o->file_size;
    return 0;
}

static int flush_out(struct statefile_out *o, char *err, size_t errlen)
{
    int rc = write_all(o->fd, o->out, o->out_len);

    if (rc < 0)
        return fail(rc, err, errlen, o->path, "write(%s) failed: %s", o->tmp_path, errcode_str(rc));
    o->file_size += o->out_len;
    o->out_len = 0;
    if ((rc = pace(o)) < 0)
        return fail(rc, err, errlen, o->path, "write-back of %s failed: %s", o->tmp_path,
                    errcode_str(rc));
    return 0;
}

int statefile__no_tmpfile;

/* A name for the temporary file no one can guess ahead: "<path>.tmp." and 12 hex digits. */
static void random_tmp_name(struct statefile_out *o, size_t plen)
{
    unsigned char r[6];
    size_t got = 0;

    while (got < sizeof(r)) {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof(r)) { /* no getrandom(2): the address space and the pid still vary */
        uint64_t x = XXH3_64bits(&o, sizeof(o)) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
        memcpy(r, &x, sizeof(r));
    }
    snprintf(o->tmp_path + plen, sizeof(".tmp.") + 12, ".tmp.%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5]);
}

/*
 * Open the temporary file so that nothing planted in the directory can matter: an
 * unnamed O_TMPFILE file, given a name only at commit (statefile_commit() links it under
 * a fresh random name and renames that over path). Where the file system has no
 * O_TMPFILE, a file created under a random name with O_EXCL and O_NOFOLLOW, so that a
 * name planted ahead (a symbolic link, a hard link, a locked file) is never opened; the
 * only thing left behind by a crash is then that one file.
 */
static int open_tmp(struct statefile_out *o, size_t plen, char *err, size_t errlen)
{
    o->fd =
        statefile__no_tmpfile ? -1 : openat(o->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (statefile__no_tmpfile)
        errno = EOPNOTSUPP;
    if (o->fd >= 0) {
        random_tmp_name(o, plen);
        return 0;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) {
        memcpy(o->tmp_path + plen, ".tmp.*", sizeof(".tmp.*"));
        return fail(-errno, err, errlen, o->path, "open(%s) failed: %s", o->tmp_path,
                    errcode_str(-errno));
    }
    for (int tries = 0; tries < LOCK_TRIES; tries++) {
        random_tmp_name(o, plen);
        o->fd = openat(o->dir_fd, o->tmp_path + o->base_off,
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (o->fd >= 0) {
            o->named = 1;
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    return fail(-errno, err, errlen, o->path, "open(%s) failed: %s", o->tmp_path,
                errcode_str(-errno));
}

/* Give the unnamed temporary file its random name (a fresh one while it is taken). */
static int link_tmp(struct statefile_out *o, char *err, size_t errlen)
{
    char proc[64];
    size_t plen = strlen(o->path);

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
    for (int tries = 0; tries < LOCK_TRIES; tries++) {
        const char *name = o->tmp_path + o->base_off;
        int rc = linkat(AT_FDCWD, proc, o->dir_fd, name, AT_SYMLINK_FOLLOW);

        if (rc < 0 && errno == ENOENT) /* no /proc: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
            rc = linkat(o->fd, "", o->dir_fd, name, AT_EMPTY_PATH);
        if (rc == 0) {
            o->named = 1;
            return 0;
        }
        if (errno != EEXIST)
            break;
        random_tmp_name(o, plen);
    }
    return fail(-errno, err, errlen, o->path, "link(%s) failed: %s", o->tmp_path,
                errcode_str(-errno));
}

static int create(struct statefile_out *o, const char *path, char *err, size_t errlen)
{
    unsigned char header[STATEFILE_HEADER_SIZE];
    const char *slash = strrchr(path, '/');
    size_t plen = strlen(path);
    char *dir;
    int rc;

    memset(o, 0, sizeof(*o));
    o->fd = -1;
    o->dir_fd = -1;
    o->base_off = slash == NULL ? 0 : (size_t)(slash + 1 - path);
    if (o->base_off == plen)
        return fail(-EINVAL, err, errlen, path, "the path names no file");
    o->path = mem_strdup(path);
    o->tmp_path = mem_alloc(plen + sizeof(".tmp.") + 12);
    memcpy(o->tmp_path, path, plen);
    memcpy(o->tmp_path + plen, ".tmp", sizeof(".tmp"));

    /* The directory is opened once: the file is created, renamed and made durable in the
     * same one, even if a component of path is renamed meanwhile. */
    dir = path_dirname(path);
    o->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o->dir_fd < 0) {
        rc = fail(-errno, err, errlen, path, "open(%s) failed: %s", dir, errcode_str(-errno));
        free(dir);
        return rc;
    }
    free(dir);
    rc = open_tmp(o, plen, err, errlen);
    if (rc < 0)
        return rc;

    memcpy(header, STATEFILE_MAGIC, 16);
    le_put32(header + 16, STATEFILE_VERSION);
    le_put32(header + 20, 0);
    rc = write_all(o->fd, header, sizeof(header));
    if (rc < 0)
        return fail(rc, err, errlen, path, "write(%s) failed: %s", o->tmp_path, errcode_str(rc));
    o->file_size = sizeof(header);

    o->xxh = XXH3_createState();
    if (o->xxh == NULL)
        mem_oom(1024); /* XXH3_state_t is about 600 bytes */
    XXH3_64bits_reset(o->xxh);
    /* Level 1: the snapshot is written every few seconds, and level 6 makes the file 14%
     * smaller for four to five times the CPU (bench_statefile). */
    if (deflateInit(&o->z, Z_BEST_SPEED) != Z_OK)
        mem_oom(sizeof(o->z));
    o->zlib_live = 1;
    o->out = mem_alloc(OUT_SIZE);
    return 0;
}

int statefile_create(struct statefile_out *o, const char *path, char *err, size_t errlen)
{
    int rc = create(o, path, err, errlen);

    if (rc < 0)
        statefile_abort(o);
    return rc;
}

int statefile_append(struct statefile_out *o, const void *p, size_t n, char *err, size_t errlen)
{
    const unsigned char *in = p;

    assert(o->zlib_live);
    XXH3_64bits_update(o->xxh, p, n);
    o->body_size += n;
    while (n > 0) {
        uInt chunk = n < ZCHUNK ? (uInt)n : ZCHUNK;

        o->z.next_in = (Bytef *)in; /* zlib does not write through next_in */
        o->z.avail_in = chunk;
        while (o->z.avail_in > 0) {
            int rc;

            o->z.next_out = o->out + o->out_len;
            o->z.avail_out = (uInt)(OUT_SIZE - o->out_len);
            rc = deflate(&o->z, Z_NO_FLUSH);
            assert(rc == Z_OK || rc == Z_BUF_ERROR);
            o->out_len = OUT_SIZE - o->z.avail_out;
            if (o->out_len == OUT_SIZE && (rc = flush_out(o, err, errlen)) < 0)
                return rc;
        }
        in += chunk;
        n -= chunk;
    }
    return 0;
}

static int fsync_dir(int dir_fd, const char *path, const char *dir, char *err, size_t errlen)
{
    if (fsync(dir_fd) < 0)
        return fail(-errno, err, errlen, path, "fsync(%s) failed: %s", dir, errcode_str(-errno));
    return 0;
}

static void release(struct statefile_out *o)
{
    if (o->zlib_live)
        deflateEnd(&o->z);
    o->zlib_live = 0;
    XXH3_freeState(o->xxh);
    o->xxh = NULL;
    free(o->out);
    o->out = NULL;
    if (o->dir_fd >= 0)
        close(o->dir_fd);
    o->dir_fd = -1;
    free(o->path);
    o->path = NULL;
    free(o->tmp_path);
    o->tmp_path = NULL;
}

int statefile_commit(struct statefile_out *o, char *err, size_t errlen)
{
    unsigned char *t;
    char *dir;
    int rc;

    assert(o->zlib_live);
    o->z.next_in = NULL;
    o->z.avail_in = 0;
    do {
        o->z.next_out = o->out + o->out_len;
        o->z.avail_out = (uInt)(OUT_SIZE - o->out_len);
        rc = deflate(&o->z, Z_FINISH);
        assert(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
        o->out_len = OUT_SIZE - o->z.avail_out;
        if (o->out_len + STATEFILE_TRAILER_SIZE > OUT_SIZE || rc != Z_STREAM_END) {
            int w = flush_out(o, err, errlen);
            if (w < 0)
                return w;
        }
    } while (rc != Z_STREAM_END);

    t = o->out + o->out_len;
    memcpy(t, STATEFILE_END_MAGIC, 8);
    le_put64(t + 8, o->body_size);
    le_put64(t + 16, XXH3_64bits_digest(o->xxh));
    o->out_len += STATEFILE_TRAILER_SIZE;
    if ((rc = flush_out(o, err, errlen)) < 0)
        return rc;

    /* The data reaches the disk before the name does: a rename first could leave, after
     * a power loss, the new name on an empty or partial file. */
    if (fsync(o->fd) < 0)
        return fail(-errno, err, errlen, o->path, "fsync(%s) failed: %s", o->tmp_path,
                    errcode_str(-errno));
    if (!o->named && (rc = link_tmp(o, err, errlen)) < 0)
        return rc;
    if (renameat(o->dir_fd, o->tmp_path + o->base_off, o->dir_fd, o->path + o->base_off) < 0)
        return fail(-errno, err, errlen, o->path, "rename(%s, %s) failed: %s", o->tmp_path, o->path,
                    errcode_str(-errno));
    o->renamed = 1;
    dir = path_dirname(o->path);
    rc = fsync_dir(o->dir_fd, o->path, dir, err, errlen);
    free(dir);
    if (rc < 0)
        return rc;
    rc = close(o->fd);
    o->fd = -1;
    if (rc < 0)
        return fail(-errno, err, errlen, o->path, "close(%s) failed: %s", o->path,
                    errcode_str(-errno));
    release(o);
    return 0;
}

void statefile_abort(struct statefile_out *o)
{
    if (o->fd >= 0) {
        /* An unnamed file goes with the close; a named one is ours alone (O_EXCL). */
        if (o->named && !o->renamed && o->dir_fd >= 0)
            unlinkat(o->dir_fd, o->tmp_path + o->base_off, 0);
        close(o->fd);
        o->fd = -1;
    }
    release(o);
}

/* ---- reading --------------------------------------------------------------------------- */

/*
 * Inflate the zlib stream at in[0..n) into body, never past max_body. *used gets the
 * compressed bytes the stream took (to find the trailer after it).
 */
static int inflate_body(const unsigned char *in, size_t n, size_t max_body, size_t hint,
                        struct buf *body, size_t *used, char *err, size_t errlen)
{
    z_stream z;
    size_t left = n;
    int rc;

    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        mem_oom(sizeof(z));
    buf_grow(body, hint < max_body ? hint : max_body);
    for (;;) {
        size_t room, allow;

        if (z.avail_in == 0 && left > 0) {
            z.next_in = (Bytef *)in; /* zlib does not write through next_in */
            z.avail_in = left < ZCHUNK ? (uInt)left : ZCHUNK;
            in += z.avail_in;
            left -= z.avail_in;
        }
        /* Room for one byte over max_body, so that a body too long is seen as such. */
        if (body->cap - body->len - 1 == 0) {
            size_t step = max_body + 1 - body->len;
            buf_grow(body, step < INFLATE_STEP ? step : INFLATE_STEP);
        }
        room = body->cap - body->len - 1;
        allow = max_body + 1 - body->len;
        if (allow > room)
            allow = room;
        if (allow > ZCHUNK)
            allow = ZCHUNK;
        z.next_out = (Bytef *)body->ptr + body->len;
        z.avail_out = (uInt)allow;
        rc = inflate(&z, Z_NO_FLUSH);
        body->len += allow - z.avail_out;
        if (rc == Z_MEM_ERROR)
            mem_oom(INFLATE_STEP);
        if (body->len > max_body) {
            rc =
                bad(err, errlen, "the body inflates to more than the limit of %zu bytes", max_body);
            break;
        }
        if (rc == Z_STREAM_END) {
            *used = (size_t)z.total_in;
            rc = 0;
            break;
        }
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
            rc = bad(err, errlen, "corrupt body: inflate failed at byte %zu of the file: %s",
                     STATEFILE_HEADER_SIZE + (size_t)z.total_in,
                     z.msg != NULL ? z.msg : "a preset dictionary is asked for");
            break;
        }
        /* Z_BUF_ERROR, or Z_OK with nothing left: output room was given, so the input
         * ran out before the stream's end. */
        if (z.avail_in == 0 && left == 0 && (rc == Z_BUF_ERROR || z.avail_out > 0)) {
            rc = bad(err, errlen,
                     "truncated: the body ends after %zu bytes (%zu inflated), with no trailer", n,
                     body->len);
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

int statefile__parse(const void *data, size_t len, size_t max_body, struct buf *body, char *err,
                     size_t errlen)
{
    const unsigned char *d = data, *t;
    size_t used = 0, end, hint, limit = max_body;
    uint32_t version, flags;
    int claimed = 0;
    uint64_t want_len, want_hash, hash;
    int rc;

    buf_reset(body);
    if (len == 0)
        return bad(err, errlen, "empty: 0 bytes");
    /* Never a byte of a foreign file in the message: it may be a secret the daemon can
     * read and the one who planted it cannot. */
    if (memcmp(d, STATEFILE_MAGIC, len < 16 ? len : 16) != 0)
        return bad(err, errlen, "not a ustatsd state file (%zu bytes)", len);
    if (len < STATEFILE_HEADER_SIZE)
        return bad(err, errlen, "truncated: %zu bytes, inside the %u-byte header", len,
                   STATEFILE_HEADER_SIZE);
    version = le_get32(d + 16);
    flags = le_get32(d + 20);
    if (version != STATEFILE_VERSION)
        return bad(err, errlen, "format version %u; this build reads version %u", version,
                   STATEFILE_VERSION);
    if (flags != 0)
        return bad(err, errlen, "flags 0x%08x, which this build does not know", flags);

    /* The trailer's length, where the trailer is in its place, bounds the body before a
     * byte is inflated: a claim over max_body (records_max_body(), from the running
     * configuration) is refused at once, and the body never inflates past its claim, so
     * a small file cannot make the reader allocate more than it says, nor more than the
     * configuration allows. */
    if (len >= STATEFILE_HEADER_SIZE + STATEFILE_TRAILER_SIZE &&
        memcmp(d + len - STATEFILE_TRAILER_SIZE, STATEFILE_END_MAGIC, 8) == 0) {
        uint64_t claim = le_get64(d + len - 16);

        if (claim > max_body)
            return bad(err, errlen,
                       "its trailer claims a body of %llu bytes, over the limit of %zu bytes: "
                       "refused before inflating",
                       (unsigned long long)claim, max_body);
        limit = (size_t)claim;
        claimed = 1;
    }
    hint = limit;
    /* ... sized by no more than deflate's best ratio (about 1032:1) lets the file hold. */
    if (hint / 1032 > len)
        hint = len * 1032;
    rc = inflate_body(d + STATEFILE_HEADER_SIZE, len - STATEFILE_HEADER_SIZE, limit, hint, body,
                      &used, err, errlen);
    if (rc != 0 && claimed && body->len > limit)
        rc = bad(err, errlen, "the body inflates past the %zu bytes its trailer claims", limit);
    if (rc != 0)
        goto bad;

    end = STATEFILE_HEADER_SIZE + used;
    t = d + end;
    if (len - end < STATEFILE_TRAILER_SIZE) {
        rc = bad(err, errlen, "truncated: the trailer has %zu of its %u bytes", len - end,
                 STATEFILE_TRAILER_SIZE);
        goto bad;
    }
    if (memcmp(t, STATEFILE_END_MAGIC, 8) != 0) {
        rc = bad(err, errlen, "corrupt trailer: no end magic at byte %zu, after the body", end);
        goto bad;
    }
    if (len - end > STATEFILE_TRAILER_SIZE) {
        rc = bad(err, errlen, "%zu bytes of trailing garbage after the trailer",
                 len - end - STATEFILE_TRAILER_SIZE);
        goto bad;
    }
    want_len = le_get64(t + 8);
    want_hash = le_get64(t + 16);
    if (want_len != body->len) {
        rc = bad(err, errlen, "length mismatch: the trailer says %llu bytes, the body has %zu",
                 (unsigned long long)want_len, body->len);
        goto bad;
    }
    hash = XXH3_64bits(body->ptr, body->len);
    if (hash != want_hash) {
        rc = bad(err, errlen,
                 "checksum mismatch: the trailer says %016llx, the body hashes to %016llx",
                 (unsigned long long)want_hash, (unsigned long long)hash);
        goto bad;
    }
    return 0;
bad:
    buf_release(body);
    return rc;
}

/*
 * The largest file a body of max_body bytes can be written as: deflate's worst case is
 * stored blocks, 5 bytes per 64 KiB, plus zlib's 6; a margin of 1/256 covers it.
 */
static uint64_t max_file_size(size_t max_body)
{
    uint64_t m = max_body;

    if (m > UINT64_MAX / 2)
        return UINT64_MAX;
    return m + (m >> 8) + 1024 + STATEFILE_HEADER_SIZE + STATEFILE_TRAILER_SIZE;
}

int statefile_read(const char *path, size_t max_body, struct buf *body, char *err, size_t errlen)
{
    struct stat st;
    unsigned char *data;
    size_t size, got = 0;
    char why[256];
    int fd, rc;

    buf_reset(body);
    /* O_NONBLOCK: opening a FIFO put at path would otherwise wait for a writer.
     * O_NOFOLLOW: a symbolic link planted at path must not lead the daemon to a file it
     * may read and whoever planted it may not. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return fail(STATEFILE_ABSENT, err, errlen, path, "absent");
    if (fd < 0 && errno == ELOOP)
        return fail(STATEFILE_BAD, err, errlen, path,
                    "is a symbolic link: refused, never followed");
    if (fd < 0)
        return fail(STATEFILE_ERROR, err, errlen, path, "open(%s) failed: %s", path,
                    errcode_str(-errno));
    if (fstat(fd, &st) < 0) {
        rc = fail(STATEFILE_ERROR, err, errlen, path, "fstat(%s) failed: %s", path,
                  errcode_str(-errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(STATEFILE_ERROR, err, errlen, path, "%s",
                    S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    /* Only a file the daemon wrote: its own, under one name (a hard link to another
     * file would be read, and later set aside, as if it were the state). */
    if (st.st_uid != geteuid()) {
        close(fd);
        return fail(STATEFILE_BAD, err, errlen, path,
                    "owned by uid %u, not this process's %u: refused unread", (unsigned)st.st_uid,
                    (unsigned)geteuid());
    }
    if (st.st_nlink != 1) {
        close(fd);
        return fail(STATEFILE_BAD, err, errlen, path, "has %llu links: refused unread",
                    (unsigned long long)st.st_nlink);
    }
    if ((uint64_t)st.st_size > max_file_size(max_body)) {
        close(fd);
        return fail(STATEFILE_BAD, err, errlen, path,
                    "%lld bytes: too large for a body of at most %zu bytes", (long long)st.st_size,
                    max_body);
    }
    size = (size_t)st.st_size;
    data = mem_alloc(size);
    /* Never past the size seen: a file that shrinks meanwhile reads as truncated. */
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = fail(STATEFILE_ERROR, err, errlen, path, "read(%s) failed: %s", path,
                      errcode_str(-errno));
            free(data);
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    rc = statefile__parse(data, got, max_body, body, why, sizeof(why));
    free(data);
    if (rc != 0 && strncmp(why, "not a ustatsd state file", 24) == 0)
        return fail(rc, err, errlen, path, "not a ustatsd state file (%zu bytes, owner uid %u)",
                    got, (unsigned)st.st_uid);
    if (rc != 0)
        return fail(rc, err, errlen, path, "%s", why);
    return 0;
}

int statefile_set_aside(const char *path, char *to, size_t tolen, char *err, size_t errlen)
{
    char *dir;
    int n = snprintf(to, tolen, "%s.bad", path), dfd, rc = 0;

    if (n < 0 || (size_t)n >= tolen)
        return fail(-ENAMETOOLONG, err, errlen, path, "%s.bad: the name does not fit in %zu bytes",
                    path, tolen);
    /* rename(2) replaces an older .bad at once: one bad file is kept, never a pile. */
    if (rename(path, to) < 0)
        return fail(-errno, err, errlen, path, "rename(%s, %s) failed: %s", path, to,
                    errcode_str(-errno));
    dir = path_dirname(path);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        rc = fail(-errno, err, errlen, path, "open(%s) failed: %s", dir, errcode_str(-errno));
    else
        rc = fsync_dir(dfd, path, dir, err, errlen);
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return rc;
}

int statefile_check(const char *path, char *err, size_t errlen)
{
    struct stat st;
    char *dir;
    int rc, e;

    /* statefile_create() makes "<path>.tmp.<random>" there, renames it over path, fsyncs the
     * directory; a restore may move a bad file to "<path>.bad". */
    rc = path_dir_writable(path, &dir);
    if (rc == -ENOENT)
        fail(rc, err, errlen, path, "its directory %s does not exist", dir);
    else if (rc == -ENOTDIR)
        fail(rc, err, errlen, path, "%s is not a directory", dir);
    else if (rc < 0)
        fail(rc, err, errlen, path, "snapshots cannot be written in %s: %s", dir, errcode_str(rc));
    free(dir);
    if (rc != 0 || lstat(path, &st) < 0)
        return rc;
    if (!S_ISREG(st.st_mode))
        return fail(-EINVAL, err, errlen, path, "exists and is not a regular file");
    if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) < 0) {
        e = errno;
        return fail(-e, err, errlen, path, "cannot be read, so a restart would start empty: %s",
                    errcode_str(-e));
    }
    return 0;
}

int statefile_check_dir(const char *path, char *err, size_t errlen)
{
    char *dir = path_dirname(path);
    struct stat st;
    int rc = 0;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = 0; /* statefile_check() says what is wrong with it */
    else if (st.st_uid != geteuid() && st.st_uid != 0)
        rc = fail(1, err, errlen, path,
                  "its directory %s is owned by uid %u, not this process's %u: that user can "
                  "replace or plant the state file",
                  dir, (unsigned)st.st_uid, (unsigned)geteuid());
    else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
        rc = fail(1, err, errlen, path,
                  "its directory %s is %s-writable (mode %04o) without the sticky bit: others "
                  "can replace or plant the state file",
                  dir, (st.st_mode & S_IWOTH) ? "world" : "group", (unsigned)(st.st_mode & 07777));
    free(dir);
    return rc;
}
