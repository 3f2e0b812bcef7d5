/*
 * exponame: metric and label names as prometheus/common's model package checks and
 * escapes them, for the exposition writers (expo, expopb). A domain module: no state.
 */
#ifndef USTATSD_EXPONAME_H
#define USTATSD_EXPONAME_H

#include <stddef.h>

#include "base/expotypes.h"

/* Whether name[0..len) is a legacy-valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
int expo_legacy_name(const char *name, size_t len);

/*
 * Escape a metric or label name as prometheus/common model.EscapeName(name, scheme) does,
 * byte for byte (its test vectors are in test_expo.c):
 *   - allow-utf-8: unchanged;
 *   - underscores: a legacy-valid name unchanged, else each character that is not
 *     legacy (a digit first, '.', any non-ASCII rune) becomes '_';
 *   - dots: every name (legacy too): '_' becomes "__", '.' "_dot_", any other
 *     non-legacy character "__";
 *   - values: a legacy-valid name unchanged, else "U__" then '_' becomes "__", a
 *     non-legacy character "_<hex code point>_", a byte that is not UTF-8 "_fffd_".
 * Writes at most cap bytes to out (no NUL), stopping before a character whose escape
 * would not fit; EXPO_ESCAPED_MAX(len) always fits. Returns the length written.
 */
size_t expo_escape_name(char *out, size_t cap, const char *name, size_t len,
                        enum expo_escaping esc);

#endif
