/*
 * tokenfile: a bearer token read from its file (daemon.bearer_token_file, and each
 * endpoint's), strictly: the token is the whole file, so that what the operator wrote is
 * what a scraper must send, or the file is refused with the reason.
 *
 * The rules. The file is a regular file holding 1 to TOKENFILE_MAX bytes of printable
 * ASCII other than space (0x21-0x7E, what RFC 6750's b64token and any sane secret use),
 * optionally followed by one line end ("\n" or "\r\n"), which is not part of the token.
 * Refused: a missing or unreadable file, one that is not a regular file, an empty token,
 * a NUL byte, any other byte outside 0x21-0x7E (a second line end, a space, UTF-8), and
 * more than TOKENFILE_MAX bytes of token.
 *
 * A domain module: it reads the file but keeps no state. Any thread (the daemon reads
 * the files at start-up on the loop, and on SIGHUP on a worker).
 */
#ifndef USTATSD_TOKENFILE_H
#define USTATSD_TOKENFILE_H

#include <stddef.h>

#define TOKENFILE_MAX 256 /* bytes of token; HTTPD_MAX_TOKEN says the same */

/*
 * Read the token in the file at path into out (TOKENFILE_MAX + 1 bytes, NUL-terminated).
 * Returns 0, or a negative code with "<path>: <problem>" in err (NUL-terminated, errlen
 * bytes): -errno when open() or read() fails, ERRCODE_NOTREG for a directory or a device,
 * ERRCODE_FORMAT for content that is no token, e.g. "/etc/ustatsd/token: holds a NUL
 * byte at offset 3". On failure out is "".
 */
int tokenfile_read(const char *path, char out[TOKENFILE_MAX + 1], char *err, size_t errlen);

#endif
