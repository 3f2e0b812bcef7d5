/*
 * htmlstr: the one HTML text escaper, for the status page. Values from traffic (metric
 * names, tag values, rejected lines) pass through it, so it accepts any bytes and its
 * output is always text, never markup: safe in an element's content and in a quoted
 * attribute value.
 *
 * A domain module. '&', '<', '>', '"' and '\'' become character references; a control
 * byte (0x00-0x1F, 0x7F) and a byte that does not start a well-formed UTF-8 sequence
 * become a visible "\xNN", and a backslash "\\", so that the text shows every byte of
 * the line unambiguously; well-formed UTF-8 passes through.
 */
#ifndef USTATSD_HTMLSTR_H
#define USTATSD_HTMLSTR_H

#include <stddef.h>

#include "base/buf.h"

/* Append s[0..len), escaped. */
void htmlstr_add(struct buf *b, const char *s, size_t len);

/* Append the NUL-terminated s, escaped; NULL appends nothing. */
void htmlstr_adds(struct buf *b, const char *s);

#endif
