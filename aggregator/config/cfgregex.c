#include "config/cfgregex.h"

#include <stdio.h>

#include "base/errcode.h"

#define MAX_DEPTH 64 /* groups open at once; deeper is refused (a 256-byte pattern has room) */

/* Saturating: a count past the bound stays past it. */
#define LIMIT ((size_t)CFGREGEX_MAX_ATOMS + 1)

static size_t add(size_t a, size_t b)
{
    return a + b > LIMIT ? LIMIT : a + b;
}

static size_t mul(size_t a, size_t b)
{
    return b != 0 && a > LIMIT / b ? LIMIT : a * b;
}

/* One open group: the atoms of its alternatives so far. */
struct frame {
    size_t total;
};

/*
 * The end of a bracket expression that starts at p[i] == '[': the index after its ']'
 * (a leading ']' or "^]" is a member; "[:alpha:]", "[=a=]" and "[.a.]" are elements), or
 * len when it does not close (regcomp says so).
 */
static size_t bracket_end(const char *p, size_t len, size_t i)
{
    i++;
    if (i < len && p[i] == '^')
        i++;
    if (i < len && p[i] == ']')
        i++;
    while (i < len && p[i] != ']') {
        if (p[i] == '[' && i + 1 < len && (p[i + 1] == ':' || p[i + 1] == '=' || p[i + 1] == '.')) {
            char kind = p[i + 1];
            size_t k = i + 2;

            while (k + 1 < len && !(p[k] == kind && p[k + 1] == ']'))
                k++;
            if (k + 1 >= len)
                return len;
            i = k + 2;
            continue;
        }
        i++;
    }
    return i < len ? i + 1 : len;
}

/*
 * A counted repetition at p[i] == '{': its upper bound in *copies (the lower one plus one
 * when unbounded) and the index after its '}'; 0 when it is not one (regcomp judges).
 */
static size_t interval(const char *p, size_t len, size_t i, size_t *copies)
{
    size_t lo = 0, hi = 0, k = i + 1;
    int digits = 0, comma = 0, hdigits = 0;

    for (; k < len && p[k] >= '0' && p[k] <= '9'; k++, digits++)
        lo = add(mul(lo, 10), (size_t)(p[k] - '0'));
    if (k < len && p[k] == ',') {
        comma = 1;
        for (k++; k < len && p[k] >= '0' && p[k] <= '9'; k++, hdigits++)
            hi = add(mul(hi, 10), (size_t)(p[k] - '0'));
    }
    if (digits == 0 || k >= len || p[k] != '}')
        return 0;
    *copies = !comma ? lo : hdigits ? hi : add(lo, 1);
    if (*copies == 0)
        *copies = 1;
    return k + 1;
}

static int fail(char *msg, size_t msglen, const char *text)
{
    snprintf(msg, msglen, "%s", text);
    return ERRCODE_BADPARAM;
}

int cfgregex_check(const char *p, size_t len, char *msg, size_t msglen)
{
    struct frame stack[MAX_DEPTH];
    size_t depth = 0, total = 0, last = 0, i = 0, copies, next;
    int repeated = 0; /* the last token was a repetition */

    while (i < len) {
        char c = p[i];

        if (c == '*' || c == '+' || c == '?' ||
            (c == '{' && (next = interval(p, len, i, &copies)) != 0)) {
            if (repeated)
                return fail(msg, msglen,
                            "repeats a repetition (as in \"a++\" or the lazy \"a*?\" of other "
                            "dialects), which POSIX leaves undefined and the C library's "
                            "compiler multiplies out");
            if (c != '{') {
                copies = c == '+' ? 2 : 1; /* x+ is compiled as x x* */
                next = i + 1;
            }
            /* The item before (none at the start: regcomp judges) now counts copies times. */
            total = add(total - last, mul(last, copies));
            last = mul(last, copies);
            repeated = 1;
            i = next;
            if (total > CFGREGEX_MAX_ATOMS)
                break;
            continue;
        }
        repeated = 0;
        switch (c) {
        case '(':
            if (depth == MAX_DEPTH)
                return fail(msg, msglen, "nests groups more than 64 deep");
            stack[depth++].total = total;
            total = 0;
            last = 0;
            i++;
            continue;
        case ')':
            if (depth == 0) {
                last = 1; /* a literal ')' to some, an error to regcomp */
                break;
            }
            last = add(total, 1);
            total = add(stack[--depth].total, last);
            i++;
            continue;
        case '|':
            last = 0; /* the alternatives of a group all compile: their atoms add up */
            i++;
            continue;
        case '[':
            last = 1;
            total = add(total, 1);
            i = bracket_end(p, len, i);
            continue;
        case '\\':
            if (i + 1 < len && p[i + 1] >= '1' && p[i + 1] <= '9')
                return fail(msg, msglen,
                            "holds a back-reference (\\1 to \\9), which extended regular "
                            "expressions do not have and whose match can take exponential time");
            last = 1;
            total = add(total, 1);
            i += i + 1 < len ? 2 : 1;
            continue;
        default:
            last = 1;
            break;
        }
        total = add(total, 1);
        i++;
    }
    while (depth > 0) /* an unclosed group: regcomp says so, but count it */
        total = add(stack[--depth].total, add(total, 1));
    if (total > CFGREGEX_MAX_ATOMS) {
        snprintf(msg, msglen,
                 "unrolls to more than %d atoms once its repetitions are expanded (the C "
                 "library's compiler copies x{1,n} n times, and a repetition of one multiplies "
                 "the copies); use smaller or fewer counted repetitions",
                 CFGREGEX_MAX_ATOMS);
        return ERRCODE_BADPARAM;
    }
    return 0;
}
