/*
 * basiccred: the credentials of an "Authorization: Basic <base64(user:password)>" header
 * (RFC 7617), parsed strictly.
 *
 * A domain module, fuzzed (tests/fuzz/fuzz_basiccred.c): the header comes from the
 * network. The scheme is "Basic" in any case, then one or more spaces, then standard
 * base64 (RFC 4648 section 4) with its padding and zero pad bits, then optional trailing
 * spaces or tabs (what http-parser leaves of OWS). The decoded text is the user-id, a
 * colon, and the password; the first colon splits them (a user-id holds none).
 *
 * Refused as malformed: bad base64 (a character outside the alphabet, missing or extra
 * padding, non-zero pad bits, anything after it, such as the ", " of a repeated header),
 * no colon, a control byte (0x00-0x1F, 0x7F) in the user-id or the password, and more
 * than BASICCRED_USER_MAX or BASICCRED_PASS_MAX bytes. An empty user-id or password is
 * well-formed (no user has an empty name; bcrypt takes an empty password).
 */
#ifndef USTATSD_BASICCRED_H
#define USTATSD_BASICCRED_H

#include <stddef.h>

#define BASICCRED_USER_MAX 128 /* bytes of user-id */
#define BASICCRED_PASS_MAX 256 /* bytes of password (bcrypt reads 72 of them) */

struct basiccred {
    char user[BASICCRED_USER_MAX + 1]; /* NUL-terminated, holds no NUL */
    char pass[BASICCRED_PASS_MAX + 1];
    size_t user_len, pass_len;
};

/*
 * Parse the value of an Authorization header (NUL-terminated). Returns 0 and fills *c,
 * -ENOENT when the value is not of the Basic scheme (empty, "Bearer ...": the caller
 * decides), or -EINVAL when it is Basic but malformed; *c is then zeroed. The caller
 * should wipe *c when done (the password).
 */
int basiccred_parse(const char *authorization, struct basiccred *c);

/* Checks by result, the label values of ustatsd_http_basic_auth_checks_total (basicauth.h
 * counts them). */
#define BASICCRED_RESULT_MAP(XX)     \
    XX(OK, "ok")                     \
    XX(WRONG, "wrong")               \
    XX(UNKNOWN_USER, "unknown_user") \
    XX(MALFORMED, "malformed")       \
    XX(BUSY, "busy")                 \
    XX(CACHED, "cached")

enum basiccred_result {
#define XX(kind, name) BASICCRED_RESULT_##kind,
    BASICCRED_RESULT_MAP(XX)
#undef XX
        BASICCRED_NRESULTS
};

/* "ok", "wrong", ...: a label value. */
const char *basiccred_result_name(enum basiccred_result r);

#endif
