/*
 * statefile: the container of the daemon's state snapshot, and every byte of it that
 * touches the disk. The body (the records) is opaque bytes here; records.c encodes and
 * decodes it.
 *
 * An I/O module: blocking system calls, no libuv. The writer's steps may run on any
 * thread, one at a time (a uv worker for each step, or the loop thread at shutdown); no
 * function keeps global state, so reads and writes of different files may run at once.
 *
 * The file, little-endian throughout:
 *
 *     offset  size  field
 *          0    16  magic "USTATSD STATE\n\0\0" (STATEFILE_MAGIC)
 *         16     4  u32 format version, STATEFILE_VERSION (1)
 *         20     4  u32 flags, 0; a reader refuses any flag it does not know (all of them)
 *         24     n  the body as one zlib stream (RFC 1950: deflate with its own adler32),
 *                   written at level 1 (Z_BEST_SPEED, see bench_statefile)
 *       24+n     8  end magic "USTATEND" (STATEFILE_END_MAGIC)
 *       32+n     8  u64 length of the uncompressed body
 *       40+n     8  u64 XXH3_64bits (seed 0) of the uncompressed body
 *
 * The header and the trailer are not compressed, so `head -c 24` and `tail -c 24` show
 * them. Nothing may follow the trailer.
 *
 * Atomicity: the writer fills an unnamed O_TMPFILE file in path's directory, fsyncs it,
 * links it there as "<path>.tmp.<12 random hex digits>", renames that over path and
 * fsyncs the directory. A reader of path sees the old file or the new one, whole, never a
 * mix; once statefile_commit() has returned 0 the new file survives a power loss. A crash
 * before that leaves the old file as it was and no temporary file (at most one, in the
 * instant between link and rename). Where the file system has no O_TMPFILE, the file is
 * created under the random name at once, with O_EXCL and O_NOFOLLOW; a crash then leaves
 * it behind. Nothing planted in the directory (a "<path>.tmp" symbolic link, hard link or
 * locked file) is ever opened by the writer. Two processes writing the same path do not
 * interleave: each renames a whole file of its own, and the last rename wins.
 *
 * The reader opens path with O_NOFOLLOW and refuses, unread, anything but a regular file
 * owned by the process's effective uid with one link; it never shows a byte of a file
 * that is not a state file.
 */
#ifndef USTATSD_STATEFILE_H
#define USTATSD_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "base/buf.h"
#include "base/errcode.h"

#define STATEFILE_MAGIC        "USTATSD STATE\n\0\0" /* the first 16 bytes (no NUL after) */
#define STATEFILE_END_MAGIC    "USTATEND"            /* the trailer's first 8 bytes */
#define STATEFILE_VERSION      1u
#define STATEFILE_HEADER_SIZE  24u
#define STATEFILE_TRAILER_SIZE 24u

/*
 * statefile_read()'s failures, by what the caller does next: codes of the one table
 * (errcode.h), named here for that reading. No write returns them (writes pass -errno).
 */
enum statefile_verdict {
    /* No file at path (nor, maybe, its directory): a first start, not an error. */
    STATEFILE_ABSENT = ERRCODE_ABSENT,
    /* The file is there but unusable: set it aside (statefile_set_aside()) and start empty. */
    STATEFILE_BAD = ERRCODE_FORMAT,
    /* The file could not be read (permissions, I/O error, a directory...): leave it be. */
    STATEFILE_ERROR = ERRCODE_UNREADABLE,
};

/*
 * One file being written. The caller owns the struct; the fields below "Private" are
 * statefile's. Between statefile_create() and statefile_commit() or statefile_abort() it
 * holds an open file, a directory descriptor, a zlib stream and a 64 KiB output buffer,
 * and must stay where it is (zlib's state points back at its z_stream): hand threads a
 * pointer to it, never a copy.
 */
/*
 * Bytes written between two steps of the writeback as the file grows: the step just
 * written goes to the disk, the one before it is waited for, so a snapshot's dirty pages
 * stay within two steps and the kernel's work for them comes a step at a time.
 */
#define STATEFILE_WRITEBACK_STEP ((uint64_t)8 << 20)

struct statefile_out {
    /* Read-only for the caller; valid once statefile_commit() has returned 0. */
    uint64_t file_size; /* bytes on disk */
    uint64_t body_size; /* uncompressed body bytes */

    /* Private. */
    char *path;      /* the file to replace (a copy) */
    char *tmp_path;  /* path ".tmp." and 12 random hex digits */
    size_t base_off; /* where the last component starts, in both: the names in dir_fd */
    int dir_fd;
    int fd;
    int named;   /* the temporary file has its name in dir_fd (abort unlinks it) */
    int renamed; /* the temporary name is gone: abort must not unlink it */
    int zlib_live;
    z_stream z;
    void *xxh; /* XXH3_state_t */
    unsigned char *out;
    size_t out_len;
    uint64_t wb_started; /* the file's bytes below this are under writeback (pace()) */
    uint64_t wb_waited;  /* and below this, on disk */
    int wb_off;          /* the writeback could not be started: the fsync does it all */
};

/*
 * Start writing a new file for path: open an unnamed temporary file in path's directory
 * (or, without O_TMPFILE, a new one under a random name), with O_CLOEXEC and mode 0600,
 * and write the header.
 * o needs no initialisation. Returns 0, or a negative errno with err (a NUL-terminated
 * message of at most errlen bytes) naming the file, the failing step and strerror:
 *     "state file /x/state: open(/x/state.tmp.*) failed: Permission denied"
 * A failed create releases
 * what it took (a statefile_abort() after it does nothing).
 */
int statefile_create(struct statefile_out *o, const char *path, char *err, size_t errlen);

/*
 * Append n bytes of body (p borrowed for the call): checksum, deflate, and write out each
 * full 64 KiB of compressed output. Allocates nothing. Returns 0 or a negative errno with
 * err set; then call statefile_abort().
 */
int statefile_append(struct statefile_out *o, const void *p, size_t n, char *err, size_t errlen);

/*
 * End the body, write the trailer, fsync the file, rename it over path, fsync the
 * directory and close. Returns 0, with o->file_size and o->body_size set, or a negative
 * errno with err set; then call statefile_abort(), which removes the temporary file if
 * the rename had not happened yet (path then still holds the old file).
 */
int statefile_commit(struct statefile_out *o, char *err, size_t errlen);

/*
 * Release everything o holds; unlink the temporary file unless it was renamed. Safe after
 * any failure, after a commit and twice in a row (o must have gone through
 * statefile_create() once).
 */
void statefile_abort(struct statefile_out *o);

/*
 * Read the file at path into body (reset first; the caller owns it and releases it with
 * buf_release()). The file is read whole but never beyond its size, and one that could
 * not hold a body of at most max_body bytes is refused unread; a trailer that claims a
 * body over max_body is refused before inflating, and the body never inflates past its
 * trailer's claim (nor max_body), so a small file cannot inflate into gigabytes. The file
 * is opened with O_NOFOLLOW and must be a regular file owned by the effective uid, with
 * one link; a symbolic link, another owner or a second link is STATEFILE_BAD, unread.
 * Returns:
 *     0                the file is sound: body holds exactly the uncompressed body;
 *     STATEFILE_ABSENT no file at path (err says so too);
 *     STATEFILE_BAD    the file is unusable, and err names the file and the exact problem:
 *                      empty, truncated (in the header, the body or the trailer), not a
 *                      state file, another format version, unknown flags, corrupt
 *                      compressed data, a length or checksum mismatch, bytes after the
 *                      trailer, a body over max_body;
 *                      "state file /x/state: truncated: the body ends after 1234 bytes
 *                      (8192 inflated), with no trailer"
 *     STATEFILE_ERROR  the file could not be read (EACCES, EIO, a directory...); err says
 *                      why, with strerror.
 * On anything but 0, body->len is 0.
 */
int statefile_read(const char *path, size_t max_body, struct buf *body, char *err, size_t errlen);

/*
 * Check a whole file image data[0..len) (borrowed) and inflate its body into body, as
 * statefile_read() does after reading. Returns 0 or STATEFILE_BAD, with err set to the
 * problem alone (no file name): "truncated: ...". Pure: for tests and the fuzzer.
 */
int statefile__parse(const void *data, size_t len, size_t max_body, struct buf *body, char *err,
                     size_t errlen);

/*
 * For tests: when set, statefile_create() acts as on a file system without O_TMPFILE
 * (a file created under a random name). Set it before any writer starts, never in the
 * daemon.
 */
extern int statefile__no_tmpfile;

/*
 * For tests: when set, the writeback of each step as the file grows fails with this errno,
 * as a disk's write error reported by the step's wait would. Never set in the daemon.
 */
extern int statefile__writeback_errno;

/*
 * Move a bad file out of the way: rename path to "<path>.bad", replacing an older one (so
 * a crash loop cannot fill the disk), and fsync the directory. The new name is written to
 * to (tolen bytes). Returns 0, or a negative errno with err set.
 */
int statefile_set_aside(const char *path, char *to, size_t tolen, char *err, size_t errlen);

/*
 * Whether snapshots could be written to path and the file restored from, found without
 * writing anything (for --check-config): the directory exists and this process may
 * create, rename and remove files in it, and a file already at path is a regular file it
 * can read. Returns 0, or a negative errno with "state file PATH: <problem>" in err.
 */
int statefile_check(const char *path, char *err, size_t errlen);

/*
 * Whether path's directory is the daemon's alone (for --check-config, a warning): 1, with
 * "state file PATH: its directory D is ..." in err, when it is owned by another user than
 * the effective uid (root excepted) or is group- or world-writable without the sticky
 * bit; 0 otherwise (a missing directory included: statefile_check() reports it).
 */
int statefile_check_dir(const char *path, char *err, size_t errlen);

#endif
