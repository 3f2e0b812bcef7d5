/*
 * errcode: the error codes of the daemon's module APIs, in one table (libuv's
 * UV_ERRNO_MAP is the model).
 *
 * A module function returns 0 (or a count, or an index) on success and a negative code on
 * failure: one of ERRCODE_* below, or a negative errno passed through unchanged (libuv's
 * UV_E* codes are negative errno values on Linux, so they pass through too). The daemon's
 * own codes lie below -4200, outside errno's range and libuv's (UV_EOF is -4095).
 *
 * A function that gives a verdict rather than an error (a rejected line's reason, a row
 * skipped or kept) returns it as a value >= 0, from an enum of its module; no module keeps
 * negative codes of its own, and no function returns a bare -1 (errcode_str(-1) would say
 * "Operation not permitted"). A lookup that finds nothing returns ERRCODE_UNKNOWN.
 *
 * Where a function also fills a message buffer (config, the debug query), the code says
 * what kind of failure it was and the message says which key, value or file.
 *
 * Bad input from a client is not an error of the daemon: a rejected statsd line is a
 * reason of PROTOCOL.md (STATSD_REASON_MAP), counted, never an errcode.
 */
#ifndef USTATSD_ERRCODE_H
#define USTATSD_ERRCODE_H

/* X(NAME, value, message) */
#define ERRCODE_MAP(X)                                 \
    X(CONFIG, -4201, "invalid configuration")          \
    X(BADPARAM, -4202, "invalid request parameter")    \
    X(UNKNOWN, -4203, "unknown name")                  \
    X(BADVALUE, -4204, "not a value")                  \
    X(NOTREG, -4205, "not a regular file")             \
    X(FORMAT, -4206, "malformed content")              \
    X(LIMIT, -4207, "limit reached")                   \
    X(UNREADABLE, -4208, "the file could not be read") \
    X(TLS, -4209, "TLS library failure")               \
    X(ABSENT, -4210, "not there (yet)")

enum errcode {
#define ERRCODE__ENUM(name, value, msg) ERRCODE_##name = (value),
    ERRCODE_MAP(ERRCODE__ENUM)
#undef ERRCODE__ENUM
};

/* "ERRCODE_CONFIG" for the table's codes, "ENOENT" and the like for a negative errno,
 * "0" for 0, "unknown" otherwise. Static text. */
const char *errcode_name(int code);

/* The message for any return code: the table's text, strerror() for a negative errno.
 * Static or thread-local text; never NULL. */
const char *errcode_str(int code);

#endif
