/*
 * statsd_scanner: a datagram's lines and their spans in one pass, the daemon's hot path.
 *
 * Each line's first 64 bytes are classified at once from where the line starts (AVX2 in
 * statsd_scanner_fill() where the CPU has it, else SSE2 where there is SSE2, a plain loop
 * otherwise, and in the STATSD_PORTABLE build that tests it): three bit masks say where
 * the '\n', ':' and '|' bytes are, bit 0 the line's
 * first byte. The line's end, colon and first bar after it are then the lowest set bits
 * of masks cut to the line, a few shifts and no branch on the data. A line whose '\n' is
 * not in its first 64 bytes takes the next 64 into a second word of each mask; one whose
 * '\n' is not in those 128 either (and that is not the datagram's last line of at most 128
 * bytes) is split the plain way (statsd_next_line, statsd_split).
 *
 *   requests:1|c|#method:GET\nlatency:0.5|ms\n
 *           ^ ^              ^
 *           colon, bar, newline of the first line: one bit each in its masks
 *
 * Bytes are classified again for each line (a line of 40 bytes reads 64): that costs less
 * than carrying a window of masks from line to line, whose bookkeeping took more
 * instructions than the classifying itself.
 */
#include "statsd_scanner.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) && !defined(STATSD_PORTABLE)
#include <emmintrin.h>
#endif

/* The scan's steps must fold into one loop, scanner state in registers, whatever the
 * compiler's estimate of their size. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

#define SCAN_WORD 64 /* bytes one word of a mask describes */

/* Where the '\n', ':' and '|' bytes of 64 bytes lie, bit i for byte i. */
struct scan_masks {
    uint64_t nl, colon, bar;
};

#if defined(__SSE2__) && !defined(STATSD_PORTABLE)
static ALWAYS_INLINE uint64_t scan_eq16(__m128i w, __m128i c)
{
    return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, c));
}

static ALWAYS_INLINE struct scan_masks scan_classify(const char *p)
{
    const __m128i nl = _mm_set1_epi8('\n'), colon = _mm_set1_epi8(':'), bar = _mm_set1_epi8('|');
    __m128i w0 = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i w1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    __m128i w2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
    __m128i w3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));

    return (struct scan_masks){
        scan_eq16(w0, nl) | scan_eq16(w1, nl) << 16 | scan_eq16(w2, nl) << 32 |
            scan_eq16(w3, nl) << 48,
        scan_eq16(w0, colon) | scan_eq16(w1, colon) << 16 | scan_eq16(w2, colon) << 32 |
            scan_eq16(w3, colon) << 48,
        scan_eq16(w0, bar) | scan_eq16(w1, bar) << 16 | scan_eq16(w2, bar) << 32 |
            scan_eq16(w3, bar) << 48,
    };
}

/* The masks of the 16 bytes at p, as bytes off to off + 16 of a line's 64, added to m. */
static ALWAYS_INLINE void scan_add16(struct scan_masks *m, const char *p, size_t off)
{
    __m128i w = _mm_loadu_si128((const __m128i *)(const void *)p);

    m->nl |= scan_eq16(w, _mm_set1_epi8('\n')) << off;
    m->colon |= scan_eq16(w, _mm_set1_epi8(':')) << off;
    m->bar |= scan_eq16(w, _mm_set1_epi8('|')) << off;
}

/*
 * The masks of the avail bytes at p, 16 <= avail < 64 (a datagram's last line), read in
 * place 16 at a time, the last 16 overlapping the ones before: no copy, and nothing past
 * p + avail read.
 */
static ALWAYS_INLINE struct scan_masks scan_short(const char *p, size_t avail)
{
    struct scan_masks m = { 0, 0, 0 };
    size_t off;

    for (off = 0; off + 16 <= avail; off += 16)
        scan_add16(&m, p + off, off);
    if (off < avail)
        scan_add16(&m, p + avail - 16, avail - 16);
    return m;
}

#define SCAN_SHORT 16 /* fewer bytes left than this: classified from a copy */
#else
#define SCAN_SHORT SCAN_WORD

static ALWAYS_INLINE struct scan_masks scan_classify(const char *p)
{
    struct scan_masks m = { 0, 0, 0 };

    for (unsigned k = 0; k < 64; k++) {
        m.nl |= (uint64_t)(p[k] == '\n') << k;
        m.colon |= (uint64_t)(p[k] == ':') << k;
        m.bar |= (uint64_t)(p[k] == '|') << k;
    }
    return m;
}
#endif

/*
 * The 64 bytes to classify for the bytes at p, of which avail are the datagram's: p
 * itself, or when fewer than 64 are left (fewer than SCAN_SHORT where scan_short() takes
 * the rest), a copy of them padded with zeros in tail (so that no bit is set past the
 * datagram's end, and nothing past it is read).
 */
static ALWAYS_INLINE const char *scan_bytes(const char *p, size_t avail, char tail[SCAN_WORD])
{
    if (avail >= SCAN_WORD)
        return p;
    memset(tail, 0, SCAN_WORD);
    memcpy(tail, p, avail);
    return tail;
}

/* The masks of the 64 bytes at p, of which avail are the datagram's (scan_bytes). */
static ALWAYS_INLINE struct scan_masks scan_at(const char *p, size_t avail)
{
    char tail[SCAN_WORD];

#if SCAN_SHORT < SCAN_WORD
    if (avail < SCAN_WORD && avail >= SCAN_SHORT)
        return scan_short(p, avail);
#endif
    return scan_classify(scan_bytes(p, avail, tail));
}

/* The lowest set bit of m (not 0). */
static ALWAYS_INLINE size_t low_bit(uint64_t m)
{
    return (size_t)__builtin_ctzll(m);
}

/* Bits above bit i (i < 64). */
static ALWAYS_INLINE uint64_t above(size_t i)
{
    return (~UINT64_C(0) << i) << 1;
}

/* Bits below bit i (i <= 64). */
static ALWAYS_INLINE uint64_t below(size_t i)
{
    return i < 64 ? (UINT64_C(1) << i) - 1 : ~UINT64_C(0);
}

void statsd_scanner_init(struct statsd_scanner *s, const char *dgram, size_t len)
{
    s->dgram = dgram;
    s->len = len;
    s->pos = 0;
}

/* A line of SCAN_WORD * 2 bytes or more, split the plain way. */
static int scanner_long_line(struct statsd_scanner *s, struct statsd_parts *out)
{
    statsd_next_line(s->dgram, s->len, &s->pos, &out->line);
    out->split = statsd_split(out->line.ptr, out->line.len, &out->name, &out->values, &out->suffix);
    return 1;
}

/*
 * The line's parts, from its end (nl: the '\n', or the datagram's end) and its colon and
 * bar (the first ':', and the first '|' after it, or SIZE_MAX: none before nl), all from
 * its start.
 */
static ALWAYS_INLINE void scanner_parts(struct statsd_scanner *s, struct statsd_parts *out,
                                        size_t nl, size_t colon, size_t bar)
{
    const char *p = s->dgram + s->pos;
    size_t end = nl;

    s->pos = s->pos + nl < s->len ? s->pos + nl + 1 : s->len;
    /* As statsd_next_line(): one '\r' before the end is dropped; ':' and '|' lie before it. */
    if (end > 0 && p[end - 1] == '\r')
        end--;
    out->line.ptr = p;
    out->line.len = end;
    out->split = bar < nl && colon != 0;
    if (out->split) {
        out->name.ptr = p;
        out->name.len = colon;
        out->values.ptr = p + colon + 1;
        out->values.len = bar - colon - 1;
        out->suffix.ptr = p + bar;
        out->suffix.len = end - bar;
    }
}

/*
 * A line with no '\n' in its first 64 bytes, and more than 64 left: two words a mask (a line
 * of 64 to 127 bytes and its '\n', or the datagram's last line of 65 to 128 bytes), else
 * the plain way.
 */
static int scanner_two_words(struct statsd_scanner *s, struct statsd_parts *out,
                             struct scan_masks a)
{
    size_t avail = s->len - s->pos, nl, colon = SIZE_MAX, bar = SIZE_MAX;
    struct scan_masks b = scan_at(s->dgram + s->pos + SCAN_WORD, avail - SCAN_WORD);
    uint64_t cut;

    if (b.nl == 0) {
        if (avail > 2 * SCAN_WORD)
            return scanner_long_line(s, out);
        nl = avail; /* the last line, with no '\n' */
    } else {
        nl = SCAN_WORD + low_bit(b.nl);
    }
    if (a.colon != 0) {
        colon = low_bit(a.colon);
        if ((a.bar & above(colon)) != 0)
            bar = low_bit(a.bar & above(colon));
        else if ((cut = b.bar & below(nl - SCAN_WORD)) != 0)
            bar = SCAN_WORD + low_bit(cut);
    } else if ((cut = b.colon & below(nl - SCAN_WORD)) != 0) {
        colon = SCAN_WORD + low_bit(cut);
        if ((cut = b.bar & below(nl - SCAN_WORD) & above(colon - SCAN_WORD)) != 0)
            bar = SCAN_WORD + low_bit(cut);
    }
    scanner_parts(s, out, nl, colon, bar);
    return 1;
}

/* The line at s->pos (s->pos < s->len), whose first 64 bytes' masks are m. */
static ALWAYS_INLINE void scanner_line(struct statsd_scanner *s, struct statsd_parts *out,
                                       struct scan_masks m)
{
    size_t avail = s->len - s->pos, nl, colon, bar;
    uint64_t line, colons, bars;

    if (m.nl == 0 && avail > SCAN_WORD) {
        scanner_two_words(s, out, m);
        return;
    }
    /* The line's end: its '\n', else the datagram's (no bit is set past it). */
    nl = m.nl != 0 ? low_bit(m.nl) : avail;
    line = below(nl);
    colons = m.colon & line;
    colon = colons != 0 ? low_bit(colons) : SIZE_MAX;
    bars = colons != 0 ? m.bar & line & above(colon) : 0;
    bar = bars != 0 ? low_bit(bars) : SIZE_MAX;
    scanner_parts(s, out, nl, colon, bar);
}

int statsd_scanner_next(struct statsd_scanner *s, struct statsd_parts *out)
{
    if (s->pos >= s->len)
        return 0;
    scanner_line(s, out, scan_at(s->dgram + s->pos, s->len - s->pos));
    return 1;
}

/*
 * The scanner's fields, each with a load of its own: its caller has nearly always just
 * written them one at a time (statsd_scanner_init), and a copy of the whole struct, which
 * the compiler makes a 16-byte load, cannot take its bytes from two stores still on their
 * way: it waits for them to land (a store-forwarding stall, on every datagram). The empty
 * asm keeps the compiler from merging the loads again.
 */
static inline struct statsd_scanner scanner_load(const struct statsd_scanner *s)
{
    struct statsd_scanner t;

    t.dgram = s->dgram;
    t.len = s->len;
    t.pos = s->pos;
    __asm__("" : "+r"(t.dgram), "+r"(t.len), "+r"(t.pos));
    return t;
}

size_t statsd_scanner_fill_base(struct statsd_scanner *s, struct statsd_parts *out, size_t max)
{
    struct statsd_scanner t = scanner_load(s);
    size_t n = 0;

    for (; n < max && t.pos < t.len; n++)
        scanner_line(&t, &out[n], scan_at(t.dgram + t.pos, t.len - t.pos));
    *s = t;
    return n;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(STATSD_PORTABLE)
#include <immintrin.h>

/*
 * The same loop for a CPU with AVX2 and BMI2, as nearly every x86-64 server since 2013
 * has: a line's 64 bytes in two 32-byte compares a byte, not four of 16, and BMI's bit
 * instructions; about a third fewer instructions a line than the baseline's. The build's
 * own target stays baseline x86-64: the CPU is asked at each call (a load and a test).
 */
#define SCAN_AVX2 __attribute__((target("avx2,bmi,bmi2")))

static ALWAYS_INLINE SCAN_AVX2 uint64_t scan_eq32(__m256i w, char c)
{
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, _mm256_set1_epi8(c)));
}

static ALWAYS_INLINE SCAN_AVX2 struct scan_masks scan_classify_avx2(const char *p)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));

    return (struct scan_masks){
        scan_eq32(lo, '\n') | scan_eq32(hi, '\n') << 32,
        scan_eq32(lo, ':') | scan_eq32(hi, ':') << 32,
        scan_eq32(lo, '|') | scan_eq32(hi, '|') << 32,
    };
}

/*
 * scan_at(), classified the AVX2 way: from 32 bytes left up, the last line's in two loads
 * of 32 (the second overlapping the first), in place.
 */
static ALWAYS_INLINE SCAN_AVX2 struct scan_masks scan_at_avx2(const char *p, size_t avail)
{
    char tail[SCAN_WORD];
    __m256i lo, hi;
    unsigned at;

    if (avail >= SCAN_WORD)
        return scan_classify_avx2(p);
    if (avail < 32)
        return avail >= SCAN_SHORT ? scan_short(p, avail)
                                   : scan_classify_avx2(scan_bytes(p, avail, tail));
    at = (unsigned)avail - 32;
    lo = _mm256_loadu_si256((const __m256i *)(const void *)p);
    hi = _mm256_loadu_si256((const __m256i *)(const void *)(p + at));
    return (struct scan_masks){
        scan_eq32(lo, '\n') | scan_eq32(hi, '\n') << at,
        scan_eq32(lo, ':') | scan_eq32(hi, ':') << at,
        scan_eq32(lo, '|') | scan_eq32(hi, '|') << at,
    };
}

static SCAN_AVX2 size_t scanner_fill_avx2(struct statsd_scanner *s, struct statsd_parts *out,
                                          size_t max)
{
    struct statsd_scanner t = scanner_load(s);
    size_t n = 0;

    for (; n < max && t.pos < t.len; n++)
        scanner_line(&t, &out[n], scan_at_avx2(t.dgram + t.pos, t.len - t.pos));
    *s = t;
    return n;
}

int statsd_scanner_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
           __builtin_cpu_supports("bmi2");
}

size_t statsd_scanner_fill(struct statsd_scanner *s, struct statsd_parts *out, size_t max)
{
    return statsd_scanner_avx2() ? scanner_fill_avx2(s, out, max)
                                 : statsd_scanner_fill_base(s, out, max);
}
#else
int statsd_scanner_avx2(void)
{
    return 0;
}

size_t statsd_scanner_fill(struct statsd_scanner *s, struct statsd_parts *out, size_t max)
{
    return statsd_scanner_fill_base(s, out, max);
}
#endif
