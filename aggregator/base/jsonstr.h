/*
 * jsonstr: the one JSON string escaper (RFC 8259 section 7), for the debug view and the
 * JSON log lines. Raw line content from clients passes through it, so it accepts any
 * bytes: a byte that does not start a well-formed UTF-8 sequence becomes U+FFFD, and the
 * output is always valid JSON and valid UTF-8.
 */
#ifndef USTATSD_JSONSTR_H
#define USTATSD_JSONSTR_H

#include <stddef.h>

#include "base/buf.h"

/* Append s[0..len), escaped, without the surrounding quotes. */
void jsonstr_add(struct buf *b, const char *s, size_t len);

/* Append s[0..len) as a quoted JSON string. */
void jsonstr_add_quoted(struct buf *b, const char *s, size_t len);

#endif
