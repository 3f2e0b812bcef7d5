/*
 * path: what the daemon asks of files and directories by name: a path's directory, whether
 * a file could be created next to a path, and a regular file read whole without blocking.
 * The configuration reads its files with it; the ingest socket and the state file check
 * their directories with it.
 *
 * No loop, no clock, nothing global: each call stands alone and may run on any thread.
 */
#ifndef USTATSD_PATH_H
#define USTATSD_PATH_H

#include <stddef.h>

/*
 * Read the whole file at path, at most max bytes, into *text: NUL-terminated after its
 * *len bytes (which may hold NULs: the caller checks), freed by the caller. Only a regular
 * file is read, and opening never blocks: a FIFO, a device or a directory is refused at
 * once. Returns 0; or -EFBIG when the file is larger than max, ERRCODE_NOTREG when it is
 * not a regular file, another negative errno (-ENOENT, -EACCES, ...) when it cannot be
 * opened or read, with *text NULL and *len 0. errcode_str() gives each its message.
 */
int path_read_file(const char *path, size_t max, char **text, size_t *len);

/* path's directory, as a new string: "." for a bare name, "/" for "/name". */
char *path_dirname(const char *path) __attribute__((malloc));

/*
 * Whether the effective user may create a file next to path: its directory (*dir, a new
 * string as path_dirname() gives, freed by the caller) exists, is a directory, and may be
 * written and searched. Returns 0, -ENOENT, -ENOTDIR, or another negative errno (-EACCES,
 * -EROFS, ...). For --check-config, which creates nothing.
 */
int path_dir_writable(const char *path, char **dir);

/* 1 when two optional strings (paths, names) are equal: both NULL, or the same text. */
int path_same_str(const char *a, const char *b);

#endif
