/*
 * learnshape: what a label value looks like, for learn mode's proposal (learnsum.h).
 *
 * A domain module of pure functions. Two questions about one value:
 *
 * - its shapes (LEARNSHAPE_*): the forms it fits, such as digits (1 to 9), a UUID, a
 *   dotted version, hex (4 or more of digits and a-f, both) or a word; a label's
 *   shapes are the AND over its values, and the proposal writes the pattern of the most
 *   specific one left (learnshape_pattern());
 * - its flags (LEARNSHAPE_FLAG_*): why it must not become a label value at all, such as
 *   an e-mail address, a URL, a path, a hash or an id (the values the reference services
 *   forbid: upload ids, object keys, digests, principals, raw error text); a label's flags
 *   are the OR over its values. LEARNSHAPE_FLAG_TEXT is weak: a few fixed sentences are
 *   labels (an admission controller's reasons), many are raw error text.
 */
#ifndef USTATSD_LEARNSHAPE_H
#define USTATSD_LEARNSHAPE_H

#include <stddef.h>
#include <stdint.h>

/* Shapes, most specific first: learnshape_pattern() takes the first one set. */
#define LEARNSHAPE_MAP(X)                                                                          \
    X(UUID, "uuid", "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}") \
    X(DIGITS, "digits", "[0-9]+")                                                                  \
    X(VERSION, "version", "[a-z]*[0-9]+(\\.[0-9]+)+")                                              \
    X(HEX, "hex", "[0-9a-f]+")                                                                     \
    X(WORD, "word", "[A-Za-z_][A-Za-z0-9_.-]*")

enum learnshape_bit {
#define LEARNSHAPE_BIT(id, name, re) LEARNSHAPE_BIT_##id,
    LEARNSHAPE_MAP(LEARNSHAPE_BIT)
#undef LEARNSHAPE_BIT
        LEARNSHAPE_NSHAPES
};

#define LEARNSHAPE_ALL ((1u << LEARNSHAPE_NSHAPES) - 1)

/* Why a value must not be a label value: X(ID, name, why). */
#define LEARNSHAPE_FLAG_MAP(X)                                              \
    X(EMAIL, "email", "values look like e-mail addresses")                  \
    X(URL, "url", "values look like URLs")                                  \
    X(PATH, "path", "values look like file paths or object keys")           \
    X(HASH, "hash", "values look like hashes or digests")                   \
    X(ID, "id", "values look like ids (long numbers or random tokens)")     \
    X(TEXT, "text", "values look like free text (many distinct sentences)") \
    X(TOO_LONG, "too_long", "values are longer than limits.max_label_value_length")

enum learnshape_flag_bit {
#define LEARNSHAPE_FLAG_BIT(id, name, why) LEARNSHAPE_FLAG_BIT_##id,
    LEARNSHAPE_FLAG_MAP(LEARNSHAPE_FLAG_BIT)
#undef LEARNSHAPE_FLAG_BIT
        LEARNSHAPE_NFLAGS
};

#define LEARNSHAPE_FLAG(id)  (1u << LEARNSHAPE_FLAG_BIT_##id)
#define LEARNSHAPE_SHAPE(id) (1u << LEARNSHAPE_BIT_##id)

/* The shapes the value s (n bytes) fits: a set of LEARNSHAPE_SHAPE() bits, 0 for none. */
uint32_t learnshape_shapes(const char *s, size_t n);

/*
 * The flags of the value s (n bytes): a set of LEARNSHAPE_FLAG() bits, 0 for a value that
 * may be a label value. LEARNSHAPE_FLAG_TOO_LONG is the caller's: it knows the limit.
 */
uint32_t learnshape_flags(const char *s, size_t n);

/* The most specific shape of the set, as an index (enum learnshape_bit); LEARNSHAPE_NSHAPES for none. */
int learnshape_best(uint32_t shapes);

/* A shape's name ("uuid") and its POSIX extended pattern; NULL out of range. */
const char *learnshape_name(int shape);
const char *learnshape_pattern(int shape);

/* The first flag of the set, as an index (enum learnshape_flag_bit); LEARNSHAPE_NFLAGS for none. */
int learnshape_first_flag(uint32_t flags);

/* A flag's name ("email") and why it keeps a label out; NULL out of range. */
const char *learnshape_flag_name(int flag);
const char *learnshape_flag_why(int flag);

#endif
