#include "ingest/learnshape.h"

#include <string.h>

#include "base/common.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_alpha(char c)
{
    return is_lower(c) || (c >= 'A' && c <= 'Z');
}

static int is_word(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
}

/* 8-4-4-4-12 hex digits. */
static int uuid_shape(const char *s, size_t n)
{
    static const size_t dash[] = { 8, 13, 18, 23 };
    size_t d = 0;

    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (d < ARRAY_SIZE(dash) && i == dash[d]) {
            if (s[i] != '-')
                return 0;
            d++;
        } else if (!is_hex(s[i])) {
            return 0;
        }
    }
    return 1;
}

/* [a-z]*[0-9]+(\.[0-9]+)+: "1.4.2", "v2.0", "go1.25.8". */
static int version_shape(const char *s, size_t n)
{
    size_t i = 0, dots = 0;

    while (i < n && is_lower(s[i]))
        i++;
    if (i == n || !is_digit(s[i]))
        return 0;
    while (i < n) {
        if (!is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == n)
            break;
        if (s[i] != '.' || i + 1 == n)
            return 0;
        dots++;
        i++;
    }
    return dots > 0;
}

uint32_t learnshape_shapes(const char *s, size_t n)
{
    uint32_t shapes = 0;
    size_t digits = 0, hex = 0, word = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        digits += is_digit(s[i]);
        hex += is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f');
        word += is_word(s[i]);
    }
    if (uuid_shape(s, n))
        shapes |= LEARNSHAPE_SHAPE(UUID);
    if (digits == n && n <= 9)
        shapes |= LEARNSHAPE_SHAPE(DIGITS);
    if (version_shape(s, n))
        shapes |= LEARNSHAPE_SHAPE(VERSION);
    /* Hex: digits and letters a-f mixed, 4 or more ("a" or "face" is a word). */
    if (hex == n && n >= 4 && digits > 0 && digits < n)
        shapes |= LEARNSHAPE_SHAPE(HEX);
    if (word == n && (is_alpha(s[0]) || s[0] == '_'))
        shapes |= LEARNSHAPE_SHAPE(WORD);
    return shapes;
}

/* local@domain.tld, without spaces. */
static int email(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    const char *dot;

    if (at == NULL || at == s || memchr(s, ' ', n) != NULL)
        return 0;
    dot = memchr(at, '.', n - (size_t)(at - s));
    return dot != NULL && dot > at + 1 && dot + 1 < s + n;
}

static int has(const char *s, size_t n, const char *needle)
{
    return memmem(s, n, needle, strlen(needle)) != NULL;
}

/*
 * A path or an object key: no spaces and no route template ({id}), and either three
 * slashes or more, or a slash and a file extension at the end ("a/b.jpg"). A route such as
 * "/resize" or "/api/v1" is none.
 */
static int path(const char *s, size_t n)
{
    size_t slashes = 0, i;

    if (memchr(s, ' ', n) != NULL || memchr(s, '{', n) != NULL)
        return 0;
    for (i = 0; i < n; i++)
        slashes += s[i] == '/';
    if (slashes >= 3)
        return 1;
    if (slashes == 0)
        return 0;
    for (i = n; i > 0 && s[i - 1] != '.' && s[i - 1] != '/'; i--)
        ;
    return i > 1 && s[i - 1] == '.' && n - i >= 1 && n - i <= 5 && s[i - 2] != '/';
}

/* 16 hex digits or more in a row, with digits and letters: a digest, a commit, a key id. */
static int hash(const char *s, size_t n)
{
    size_t run = 0, digits = 0, letters = 0;

    if (has(s, n, "sha256:") || has(s, n, "sha1:") || has(s, n, "md5:"))
        return 1;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && is_hex(s[i])) {
            run++;
            digits += is_digit(s[i]);
            letters += !is_digit(s[i]);
            continue;
        }
        if (run >= 16 && digits > 0 && letters > 0)
            return 1;
        run = digits = letters = 0;
    }
    return 0;
}

/*
 * A long number (10 digits or more: ids, timestamps) or a random token: 10 bytes or more
 * of letters and digits with 3 digits or more and both cases or digits among letters
 * ("x9Kq2Lw8Ab", "u_8f3k2m9q1z"), no dot, no space.
 */
static int id(const char *s, size_t n)
{
    size_t digits = 0, upper = 0, lower = 0, other = 0, switches = 0;

    for (size_t i = 0; i < n; i++) {
        if (is_digit(s[i]))
            digits++;
        else if (is_lower(s[i]))
            lower++;
        else if (is_alpha(s[i]))
            upper++;
        else if (s[i] != '_' && s[i] != '-')
            other++;
        if (i > 0 && is_digit(s[i]) != is_digit(s[i - 1]))
            switches++;
    }
    if (other > 0 || n < 10)
        return 0;
    if (digits == n)
        return 1;
    /* Both cases, or letters and digits run together: "resnet50_v2_fp16" is a name. */
    return digits >= 3 && lower + upper >= 3 && switches >= 4 &&
           ((upper > 0 && lower > 0) || (memchr(s, '_', n) == NULL && memchr(s, '-', n) == NULL));
}

/* Four words or more, or a sentence over 40 bytes. */
static int text(const char *s, size_t n)
{
    size_t spaces = 0;

    for (size_t i = 0; i < n; i++)
        spaces += s[i] == ' ';
    return spaces >= 3 || (spaces >= 1 && n > 40);
}

uint32_t learnshape_flags(const char *s, size_t n)
{
    uint32_t flags = 0;

    if (n == 0 || uuid_shape(s, n))
        return 0;
    if (email(s, n))
        flags |= LEARNSHAPE_FLAG(EMAIL);
    if (has(s, n, "://") || (n > 4 && strncmp(s, "www.", 4) == 0))
        flags |= LEARNSHAPE_FLAG(URL);
    if (path(s, n))
        flags |= LEARNSHAPE_FLAG(PATH);
    if (hash(s, n))
        flags |= LEARNSHAPE_FLAG(HASH);
    if (id(s, n))
        flags |= LEARNSHAPE_FLAG(ID);
    if (text(s, n))
        flags |= LEARNSHAPE_FLAG(TEXT);
    return flags;
}

/* The index of the lowest bit of set below n, or n. */
static int first_bit(uint32_t set, int n)
{
    int i = 0;

    while (i < n && !(set & (1u << i)))
        i++;
    return i;
}

int learnshape_best(uint32_t shapes)
{
    return first_bit(shapes, LEARNSHAPE_NSHAPES);
}

int learnshape_first_flag(uint32_t flags)
{
    return first_bit(flags, LEARNSHAPE_NFLAGS);
}

static const char *const shape_names[] = {
#define LEARNSHAPE_NAME(id, name, re) name,
    LEARNSHAPE_MAP(LEARNSHAPE_NAME)
#undef LEARNSHAPE_NAME
};

static const char *const shape_patterns[] = {
#define LEARNSHAPE_RE(id, name, re) re,
    LEARNSHAPE_MAP(LEARNSHAPE_RE)
#undef LEARNSHAPE_RE
};

static const char *const flag_names[] = {
#define LEARNSHAPE_FLAG_NAME(id, name, why) name,
    LEARNSHAPE_FLAG_MAP(LEARNSHAPE_FLAG_NAME)
#undef LEARNSHAPE_FLAG_NAME
};

static const char *const flag_whys[] = {
#define LEARNSHAPE_FLAG_WHY(id, name, why) why,
    LEARNSHAPE_FLAG_MAP(LEARNSHAPE_FLAG_WHY)
#undef LEARNSHAPE_FLAG_WHY
};

const char *learnshape_name(int shape)
{
    return shape >= 0 && shape < LEARNSHAPE_NSHAPES ? shape_names[shape] : NULL;
}

const char *learnshape_pattern(int shape)
{
    return shape >= 0 && shape < LEARNSHAPE_NSHAPES ? shape_patterns[shape] : NULL;
}

const char *learnshape_flag_name(int flag)
{
    return flag >= 0 && flag < LEARNSHAPE_NFLAGS ? flag_names[flag] : NULL;
}

const char *learnshape_flag_why(int flag)
{
    return flag >= 0 && flag < LEARNSHAPE_NFLAGS ? flag_whys[flag] : NULL;
}
