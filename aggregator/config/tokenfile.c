#include "config/tokenfile.h"

#include "base/errcode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The old reader cut the token at a NUL byte and after 256 bytes, so "abc\0long-secret"
 * admitted "Bearer abc": every byte of the file now counts. O_NONBLOCK keeps a FIFO named
 * by mistake from hanging the open; it is refused as not a regular file.
 */
int tokenfile_read(const char *path, char out[TOKENFILE_MAX + 1], char *err, size_t errlen)
{
    char buf[TOKENFILE_MAX + 3]; /* the token, "\r\n", and one byte to see that it is over */
    struct stat st;
    size_t n = 0;
    const char *why = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

    out[0] = '\0';
    if (fd < 0) {
        int e = errno;

        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "%s: not a regular file", path);
        return ERRCODE_NOTREG;
    }
    while (n < sizeof(buf)) {
        ssize_t got = read(fd, buf + n, sizeof(buf) - n);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;

            snprintf(err, errlen, "%s: %s", path, strerror(e));
            close(fd);
            return -e;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    /* One line end, as an editor or `echo` leaves it, is not part of the token. */
    if (n > 0 && buf[n - 1] == '\n')
        n -= n > 1 && buf[n - 2] == '\r' ? 2 : 1;
    if (n == 0)
        why = "empty (the token is the whole file, one line end aside)";
    for (size_t i = 0; why == NULL && i < n && i <= TOKENFILE_MAX; i++) {
        unsigned char ch = (unsigned char)buf[i];

        if (ch < 0x21 || ch > 0x7e) {
            snprintf(err, errlen,
                     "%s: holds %s at offset %zu: a token is printable ASCII without spaces, "
                     "and one line end at most ends the file",
                     path,
                     ch == '\0'  ? "a NUL byte"
                     : ch == ' ' ? "a space"
                                 : "a byte outside 0x21-0x7E",
                     i);
            return ERRCODE_FORMAT;
        }
    }
    if (why == NULL && n > TOKENFILE_MAX) {
        snprintf(err, errlen, "%s: longer than %d bytes", path, TOKENFILE_MAX);
        return ERRCODE_FORMAT;
    }
    if (why != NULL) {
        snprintf(err, errlen, "%s: %s", path, why);
        return ERRCODE_FORMAT;
    }
    memcpy(out, buf, n);
    out[n] = '\0';
    return 0;
}
