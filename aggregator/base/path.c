#include "base/path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/errcode.h"
#include "base/mem.h"

char *path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return mem_strdup(".");
    return slash == path ? mem_strdup("/") : mem_strndup(path, (size_t)(slash - path));
}

int path_dir_writable(const char *path, char **dir)
{
    struct stat st;

    *dir = path_dirname(path);
    if (stat(*dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (faccessat(AT_FDCWD, *dir, W_OK | X_OK, AT_EACCESS) < 0)
        return -errno;
    return 0;
}

/*
 * O_NONBLOCK: open(2) on a FIFO waits for a writer, and a reload reads these files on a
 * libuv worker, which would then hang with the reload (and every later SIGHUP) behind it.
 * The open returns at once, and fstat() refuses what is not a regular file before any
 * read: a FIFO, a device (whose read may block or never end), a directory.
 */
int path_read_file(const char *path, size_t max, char **text, size_t *len)
{
    struct buf b = BUF_INIT;
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY), rc = 0;

    *text = NULL;
    *len = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = ERRCODE_NOTREG;
    while (rc == 0) {
        ssize_t n;

        buf_grow(&b, 4096);
        n = read(fd, b.ptr + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        else if (n == 0)
            break;
        else if ((b.len += (size_t)n) > max)
            rc = -EFBIG;
    }
    close(fd);
    if (rc != 0) {
        buf_release(&b);
        return rc;
    }
    buf_grow(&b, 0);
    b.ptr[b.len] = '\0';
    *text = buf_detach(&b, len);
    return 0;
}

int path_same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}
