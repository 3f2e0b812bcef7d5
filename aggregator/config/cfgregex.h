/*
 * cfgregex: what a label's "pattern" may cost before regcomp(3) sees it. The C library's
 * compiler unrolls repetition: "x+" holds x twice, "x{1,255}" 255 times, and a repetition
 * of a repetition multiplies, so "(a{1,255}){1,255}" takes a quarter of a gigabyte and
 * "a" followed by thirty '+' more than the machine has, from a pattern of 32 bytes.
 * cfgregex_check() walks the pattern's structure as an extended regular expression and
 * refuses, with a message, what POSIX leaves undefined there and what would unroll past
 * CFGREGEX_MAX_ATOMS: a repetition right after another ("a++", the lazy "a*?" of other
 * dialects), and a back-reference (glibc takes "\1" in an ERE, and its match can take
 * exponential time). Syntax errors are left to regcomp(), which names them.
 *
 * A domain module: no I/O.
 */
#ifndef USTATSD_CFGREGEX_H
#define USTATSD_CFGREGEX_H

#include <stddef.h>

/*
 * Atoms (a character, '.', a bracket expression) once every repetition is unrolled: 1,024
 * compile in under 10 ms and 10 MB; "[a-z0-9]{1,63}" is 63, a UUID's pattern 36.
 */
#define CFGREGEX_MAX_ATOMS 1024

/*
 * 0 when pattern (len bytes) may go to regcomp(); otherwise -1 with why in msg (a
 * sentence without the pattern itself, which the caller shows).
 */
int cfgregex_check(const char *pattern, size_t len, char *msg, size_t msglen);

#endif
