/*
 * negotiate: HTTP content negotiation (RFC 9110 12.5), the one reader of Accept and
 * Accept-Encoding in the daemon.
 *
 * A domain module: plain string work, no allocation, no state. Both headers are read
 * with the same list and parameter grammar and the same strict qvalue parser; an element
 * whose q is malformed ("q=2", "q=abc", "q=0.0001") is ignored, as if it were not listed.
 */
#ifndef USTATSD_NEGOTIATE_H
#define USTATSD_NEGOTIATE_H

#include "expo.h"

/*
 * Pick the exposition format from an Accept value (NULL or "" gives EXPO_TEXT).
 * OpenMetrics is chosen when application/openmetrics-text (no version, 1.0.0 or 0.0.1)
 * gets a q above zero and strictly greater than text/plain's. Each format takes the q of
 * the most specific range that matches it; a range naming a version we do not produce
 * matches nothing.
 */
enum expo_format negotiate_format(const char *accept);

/*
 * Whether an Accept-Encoding value accepts gzip: gzip (or x-gzip) listed with a q above
 * zero, or, when neither is listed, * with a q above zero. NULL or "" does not.
 * Returns 1 or 0.
 */
int negotiate_gzip(const char *accept_encoding);

#endif
