/*
 * statsd parser tests. The bulk is table-driven from the tables in proto/testdata (the same
 * vectors seed the fuzzer and the client's tests); the rest are focused tests of line
 * splitting, normalisation, UTF-8 and exact decimal conversion.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd.h"
#include "statsd_scanner.h"
#include "testdata.h"

static int within(struct statsd_view v, const char *p, size_t len)
{
    return v.len == 0 || (v.ptr >= p && v.ptr + v.len <= p + len);
}

static const char *const type_names[] = { "c", "g", "ms", "h", "d", "j", "sc" };
static const char *const outcome_names[] = { "worked", "idle", "error" };

static void check_extra(const struct statsd_line *l, char *extra, int lineno)
{
    int relative = 0;
    if (strcmp(extra, "-") != 0) {
        for (char *item = strtok(extra, ","); item; item = strtok(NULL, ",")) {
            if (strcmp(item, "relative") == 0) {
                relative = 1;
            } else if (strncmp(item, "outcome=", 8) == 0) {
                cr_assert_str_eq(outcome_names[l->outcome], item + 8, "line %d", lineno);
            } else if (strncmp(item, "ts=", 3) == 0) {
                cr_assert(l->has_timestamp, "line %d: no timestamp", lineno);
                cr_assert_eq(l->timestamp, strtoll(item + 3, NULL, 10), "line %d", lineno);
            } else if (strncmp(item, "container=", 10) == 0) {
                cr_assert_eq(l->container.len, strlen(item + 10), "line %d", lineno);
                cr_assert(memcmp(l->container.ptr, item + 10, l->container.len) == 0,
                          "line %d: container", lineno);
            } else {
                cr_assert_fail("line %d: unknown extra %s", lineno, item);
            }
        }
    }
    cr_assert_eq(l->relative, relative, "line %d: relative", lineno);
}

static void check_same_double(double got, double want, int lineno, const char *what)
{
    cr_assert(got == want && !signbit(got) == !signbit(want), "line %d: %s %.17g, want %.17g",
              lineno, what, got, want);
}

Test(statsd, valid_table_lines_parse_with_their_fields)
{
    struct testdata r;
    struct testdata_row row;
    static struct statsd_line l;
    int rows = 0, seen_type[7] = { 0 };
    testdata_open(&r, "valid.tsv");
    while (testdata_next(&r, &row)) {
        cr_assert_eq(row.nfields, 7, "valid.tsv line %d: %zu fields", row.lineno, row.nfields);
        size_t len;
        char *dgram = testdata_decode(row.field[0], &len, row.lineno);
        size_t pos = 0;
        struct statsd_view line;
        cr_assert_eq(statsd_next_line(dgram, len, &pos, &line), 1, "line %d", row.lineno);
        int rc = statsd_parse_line(line.ptr, line.len, &l);
        cr_assert_eq(rc, STATSD_OK, "valid.tsv line %d: %s", row.lineno, statsd_reason_name(rc));
        cr_assert_eq(statsd_next_line(dgram, len, &pos, &line), 0, "line %d: 2 lines", row.lineno);

        cr_assert_str_eq(type_names[l.type], row.field[1], "line %d: type", row.lineno);
        seen_type[l.type] = 1;
        cr_assert_eq(l.nvalues, strtoul(row.field[2], NULL, 10), "line %d: nvalues", row.lineno);
        check_same_double(l.values[0], strtod(row.field[3], NULL), row.lineno, "value0");
        check_same_double(l.rate, strtod(row.field[4], NULL), row.lineno, "rate");
        cr_assert_eq(l.ntags, strtoul(row.field[5], NULL, 10), "line %d: ntags", row.lineno);
        check_extra(&l, row.field[6], row.lineno);

        cr_assert(within(l.name, dgram, len) && l.name.len > 0, "line %d: name", row.lineno);
        cr_assert(within(l.container, dgram, len), "line %d: container", row.lineno);
        for (size_t i = 0; i < l.ntags; i++) {
            cr_assert(within(l.tags[i].key, dgram, len) && l.tags[i].key.len > 0);
            cr_assert(within(l.tags[i].value, dgram, len));
        }
        for (size_t i = 0; i < l.nvalues; i++)
            cr_assert(isfinite(l.values[i]), "line %d: values[%zu]", row.lineno, i);
        free(dgram);
        rows++;
    }
    testdata_close(&r);
    cr_assert_gt(rows, 50);
    for (int t = 0; t < 7; t++)
        cr_assert(seen_type[t], "valid.tsv has no line of type %s", type_names[t]);
}

Test(statsd, invalid_table_lines_reject_with_their_reason_and_cover_every_reason)
{
    struct testdata r;
    struct testdata_row row;
    static struct statsd_line l;
    int seen[STATSD_REASON_MAX] = { 0 };
    testdata_open(&r, "invalid.tsv");
    while (testdata_next(&r, &row)) {
        cr_assert_eq(row.nfields, 2, "invalid.tsv line %d: %zu fields", row.lineno, row.nfields);
        int want = statsd_reason_by_name(row.field[0]);
        cr_assert(want > STATSD_OK && want <= STATSD_PARSER_REASON_LAST,
                  "invalid.tsv line %d: %s is not a parser reason", row.lineno, row.field[0]);
        size_t len;
        char *line = testdata_decode(row.field[1], &len, row.lineno);
        int rc = statsd_parse_line(line, len, &l);
        cr_assert_eq(rc, want, "invalid.tsv line %d: got %s, want %s", row.lineno,
                     statsd_reason_name(rc), row.field[0]);
        seen[rc]++;
        free(line);
    }
    testdata_close(&r);
    for (int i = STATSD_OK + 1; i <= STATSD_PARSER_REASON_LAST; i++)
        cr_assert(seen[i], "invalid.tsv has no line for %s", statsd_reason_name(i));
}

Test(statsd, next_line_splits_on_newline_and_drops_one_carriage_return)
{
    static const char dgram[] = "a:1|c\n\nb:2|g\r\n\r\nc:3|ms\r";
    const char *want[] = { "a:1|c", "", "b:2|g", "", "c:3|ms" };
    size_t pos = 0, n = 0;
    struct statsd_view line;
    while (statsd_next_line(dgram, sizeof(dgram) - 1, &pos, &line)) {
        cr_assert_lt(n, 5);
        cr_assert_eq(line.len, strlen(want[n]), "line %zu", n);
        cr_assert(memcmp(line.ptr, want[n], line.len) == 0, "line %zu", n);
        n++;
    }
    cr_assert_eq(n, 5);
    cr_assert_eq(pos, sizeof(dgram) - 1);
}

Test(statsd, next_line_trailing_newline_adds_no_line)
{
    size_t pos = 0;
    struct statsd_view line;
    cr_assert_eq(statsd_next_line("x:1|c\n", 6, &pos, &line), 1);
    cr_assert_eq(line.len, 5);
    cr_assert_eq(statsd_next_line("x:1|c\n", 6, &pos, &line), 0);
    pos = 0;
    cr_assert_eq(statsd_next_line("", 0, &pos, &line), 0);
    pos = 0;
    cr_assert_eq(statsd_next_line("\n", 1, &pos, &line), 1);
    cr_assert_eq(line.len, 0);
    cr_assert_eq(statsd_next_line("\n", 1, &pos, &line), 0);
    /* Only one '\r', and only at the end: a '\r' inside stays in the line. */
    pos = 0;
    cr_assert_eq(statsd_next_line("a\rb\r\r\n", 6, &pos, &line), 1);
    cr_assert_eq(line.len, 4);
}

static int same_parts(const struct statsd_parts *a, const struct statsd_parts *b)
{
    if (a->line.ptr != b->line.ptr || a->line.len != b->line.len || a->split != b->split)
        return 0;
    return !a->split || (a->name.ptr == b->name.ptr && a->name.len == b->name.len &&
                         a->values.ptr == b->values.ptr && a->values.len == b->values.len &&
                         a->suffix.ptr == b->suffix.ptr && a->suffix.len == b->suffix.len);
}

/*
 * statsd_scanner_fill() gives what statsd_scanner_next() gives, however many at a time;
 * fill: it, or statsd_scanner_fill_base() (the same without AVX2, whatever the CPU).
 */
static void check_fill(const char *dgram, size_t len, size_t max,
                       size_t (*fill)(struct statsd_scanner *, struct statsd_parts *, size_t))
{
    struct statsd_scanner a, b;
    struct statsd_parts batch[5], one;
    size_t n;

    statsd_scanner_init(&a, dgram, len);
    statsd_scanner_init(&b, dgram, len);
    do {
        n = fill(&a, batch, max);
        cr_assert(n <= max);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(statsd_scanner_next(&b, &one), 1, "fill gave a line too many");
            cr_assert(same_parts(&batch[i], &one), "line %zu of a fill of %zu", i, max);
        }
    } while (n == max);
    cr_assert_eq(statsd_scanner_next(&b, &one), 0, "fill stopped a line early");
}

/* The scanner must give exactly what statsd_next_line() and statsd_split() give. */
static void check_parts(const char *dgram, size_t len)
{
    size_t pos1 = 0;
    struct statsd_view line, name, values, suffix;
    struct statsd_scanner scan;
    struct statsd_parts lp;

    statsd_scanner_init(&scan, dgram, len);
    for (;;) {
        int more = statsd_next_line(dgram, len, &pos1, &line);
        cr_assert_eq(statsd_scanner_next(&scan, &lp), more);
        if (!more)
            break;
        cr_assert_eq(scan.pos, pos1);
        cr_assert(lp.line.ptr == line.ptr && lp.line.len == line.len, "line at %zu", pos1);
        cr_assert_eq(lp.split, statsd_split(line.ptr, line.len, &name, &values, &suffix),
                     "split of %.*s", (int)line.len, line.ptr);
        if (!lp.split)
            continue;
        cr_assert(lp.name.ptr == name.ptr && lp.name.len == name.len);
        cr_assert(lp.values.ptr == values.ptr && lp.values.len == values.len);
        cr_assert(lp.suffix.ptr == suffix.ptr && lp.suffix.len == suffix.len);
    }
    check_fill(dgram, len, 1, statsd_scanner_fill);
    check_fill(dgram, len, 5, statsd_scanner_fill);
    check_fill(dgram, len, 5, statsd_scanner_fill_base);
}

Test(statsd, scanner_is_next_line_and_split_in_one_pass)
{
    static const char *const dgrams[] = {
        "a:1|c\n\nb:2|g\r\n\r\nc:3|ms\r",
        "requests.total:1|c|#method:GET,code:200\nlatency:0.25:0.5|h|@0.5|#a:b:c",
        ":1|c\nx:|c\nx:1\nx|c:1\nx:1|\nx:1|\r\n|:\n::||\n\r\n\r",
        "a.rather.long.metric.name.beyond.eight.bytes:12345.678|g|#k:v|c:container|T1700000000",
        "no newline at all and no colon",
        "name:value with spaces|c|#tag:with:colons\n\xff\xfe:1|c",
    };

    for (size_t i = 0; i < sizeof(dgrams) / sizeof(dgrams[0]); i++)
        check_parts(dgrams[i], strlen(dgrams[i]));

    /*
     * Random bytes at every length up to 600 (a line's masks cover 64 bytes, or 128 in
     * two words): dense in the separators, then with lines of tens to hundreds of bytes,
     * which often run past one word or two.
     */
    uint64_t x = 0x2545f4914f6cdd1du;
    static const char *const alphabets[] = {
        "ab:|\n\r:|,#0.", "abcdefghijklmnopqrstuvwxyz0123456789:|\n",
        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"
        "0123456789abcdefghijklmnopqrstuvwxyz0123456789:|,#\r\n"
    };
    char buf[600];
    for (size_t a = 0; a < sizeof(alphabets) / sizeof(alphabets[0]); a++) {
        size_t n = strlen(alphabets[a]);
        for (int round = 0; round < 12000; round++) {
            size_t len = (size_t)round % sizeof(buf);
            for (size_t k = 0; k < len; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[k] = alphabets[a][x % n];
            }
            check_parts(buf, len);
        }
    }
}

Test(statsd, datagram_of_garbage_and_one_valid_line_keeps_the_valid_line)
{
    static const char dgram[] = "\xff\xfe\n_e{1,1}:a|b\nx:1:2|c\n:::\n|||\nok.line:7|c|#k:v\n";
    static struct statsd_line l;
    size_t pos = 0, ok = 0, bad = 0;
    struct statsd_view line;
    while (statsd_next_line(dgram, sizeof(dgram) - 1, &pos, &line)) {
        if (statsd_parse_line(line.ptr, line.len, &l) == STATSD_OK)
            ok++;
        else
            bad++;
    }
    cr_assert_eq(bad, 5);
    cr_assert_eq(ok, 1);
    cr_assert_eq(l.values[0], 7.0);
    cr_assert_eq(l.name.len, 7);
}

Test(statsd, normalize_name_maps_dots_and_dashes_to_underscores)
{
    char out[STATSD_MAX_NAME];
    size_t n = statsd_normalize_name("http.server-requests_total", 26, out, sizeof(out));
    cr_assert_eq(n, 26);
    cr_assert(memcmp(out, "http_server_requests_total", 26) == 0);
    /* Tag keys use the same function: OpenTelemetry keys become Prometheus label names. */
    n = statsd_normalize_name("http.request.method", 19, out, sizeof(out));
    cr_assert(n == 19 && memcmp(out, "http_request_method", 19) == 0);
    cr_assert_eq(statsd_normalize_name("abc", 3, out, 3), 3);
    cr_assert_eq(statsd_normalize_name("abcd", 4, out, 3), 0);
}

Test(statsd, tags_keep_colons_and_spaces_in_values_and_bare_tags_are_empty)
{
    static const char s[] = "x:1|c|#reason:automatic approval,url:http://h:80/p,canary|#b:";
    static struct statsd_line l;
    cr_assert_eq(statsd_parse_line(s, sizeof(s) - 1, &l), STATSD_OK);
    cr_assert_eq(l.ntags, 4);
    const char *keys[] = { "reason", "url", "canary", "b" };
    const char *values[] = { "automatic approval", "http://h:80/p", "", "" };
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(l.tags[i].key.len, strlen(keys[i]));
        cr_assert(memcmp(l.tags[i].key.ptr, keys[i], l.tags[i].key.len) == 0);
        cr_assert_eq(l.tags[i].value.len, strlen(values[i]), "tag %zu", i);
        cr_assert(memcmp(l.tags[i].value.ptr, values[i], l.tags[i].value.len) == 0);
    }
}

Test(statsd, counts_are_reset_between_lines_sharing_one_struct)
{
    static struct statsd_line l;
    static const char a[] = "a:1:2:3|ms|@0.5|#a:1,b:2|T5|c:x";
    static const char b[] = "b:+4|g";
    cr_assert_eq(statsd_parse_line(a, sizeof(a) - 1, &l), STATSD_OK);
    cr_assert_eq(l.nvalues, 3);
    cr_assert_eq(statsd_parse_line(b, sizeof(b) - 1, &l), STATSD_OK);
    cr_assert_eq(l.type, STATSD_GAUGE);
    cr_assert_eq(l.nvalues, 1);
    cr_assert_eq(l.ntags, 0);
    cr_assert_eq(l.rate, 1.0);
    cr_assert_eq(l.has_timestamp, 0);
    cr_assert_eq(l.container.len, 0);
    cr_assert_eq(l.relative, 1);
    cr_assert_eq(l.values[0], 4.0);
}

Test(statsd, parser_never_reads_past_len)
{
    static struct statsd_line l;
    /* The bytes after len would make each of these lines valid. */
    cr_assert_eq(statsd_parse_line("x:12|c", 5, &l), STATSD_MISSING_TYPE);
    cr_assert_eq(statsd_parse_line("x:12|c", 3, &l), STATSD_MISSING_TYPE);
    cr_assert_eq(statsd_parse_line("x:1|c|#k:v", 7, &l), STATSD_INVALID_TAG);
    cr_assert_eq(statsd_parse_line("x:1|c|@0.5", 7, &l), STATSD_INVALID_SAMPLE_RATE);
    cr_assert_eq(statsd_parse_line("x:1|c|T15", 7, &l), STATSD_INVALID_TIMESTAMP);
    cr_assert_eq(statsd_parse_line("x:1e5|g", 4, &l), STATSD_MISSING_TYPE);
    cr_assert_eq(statsd_parse_line("x:1|msx", 6, &l), STATSD_OK);
    cr_assert_eq(l.type, STATSD_TIMER);
}

Test(statsd, line_length_limit_is_inclusive)
{
    static char line[STATSD_MAX_LINE + 1];
    static struct statsd_line l;
    memset(line, 'v', sizeof(line));
    memcpy(line, "x:1|c|e:", 8);
    cr_assert_eq(statsd_parse_line(line, STATSD_MAX_LINE, &l), STATSD_OK);
    cr_assert_eq(statsd_parse_line(line, STATSD_MAX_LINE + 1, &l), STATSD_LINE_TOO_LONG);
}

struct utf8_case {
    char bytes[8];
    size_t len;
    int valid;
};

Test(statsd, utf8_validator_rejects_overlongs_surrogates_and_beyond_u10ffff)
{
    static const struct utf8_case cases[] = {
        { "", 0, 1 },
        { "a", 1, 1 },
        { "\x7f", 1, 1 },
        { "\xc2\x80", 2, 1 },         /* U+0080, smallest 2-byte */
        { "\xdf\xbf", 2, 1 },         /* U+07FF */
        { "\xe0\xa0\x80", 3, 1 },     /* U+0800 */
        { "\xed\x9f\xbf", 3, 1 },     /* U+D7FF, just below the surrogates */
        { "\xee\x80\x80", 3, 1 },     /* U+E000, just above */
        { "\xef\xbf\xbf", 3, 1 },     /* U+FFFF */
        { "\xf0\x90\x80\x80", 4, 1 }, /* U+10000 */
        { "\xf4\x8f\xbf\xbf", 4, 1 }, /* U+10FFFF */
        { "\x00", 1, 1 },             /* NUL is UTF-8; tag values reject it separately */
        { "\xc0\x80", 2, 0 },         /* overlong NUL */
        { "\xc1\xbf", 2, 0 },         /* overlong */
        { "\xe0\x9f\xbf", 3, 0 },     /* overlong 3-byte */
        { "\xf0\x8f\xbf\xbf", 4, 0 }, /* overlong 4-byte */
        { "\xed\xa0\x80", 3, 0 },     /* U+D800 */
        { "\xed\xbf\xbf", 3, 0 },     /* U+DFFF */
        { "\xf4\x90\x80\x80", 4, 0 }, /* U+110000 */
        { "\xf5\x80\x80\x80", 4, 0 },
        { "\xff", 1, 0 },
        { "\x80", 1, 0 },             /* lone continuation */
        { "\xc2", 1, 0 },             /* truncated */
        { "\xe2\x82", 2, 0 },         /* truncated */
        { "\xf0\x9f\x98", 3, 0 },     /* truncated */
        { "\xe2\x28\xa1", 3, 0 },     /* bad continuation */
        { "\xf0\x9f\x98\x28", 4, 0 }, /* bad last continuation */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(statsd_utf8_valid(cases[i].bytes, cases[i].len), cases[i].valid, "case %zu",
                     i);
        /* Each case is one sequence: statsd_utf8_len takes all of it, or none. */
        if (cases[i].len > 0)
            cr_assert_eq(statsd_utf8_len(cases[i].bytes, cases[i].len),
                         cases[i].valid ? cases[i].len : 0, "case %zu", i);
    }
    /* The 8-byte ASCII skip must hand a late non-ASCII byte to the slow path. */
    cr_assert_eq(statsd_utf8_valid("abcdefghijklmno\xff", 16), 0);
    cr_assert_eq(statsd_utf8_valid("abcdefgh\xc3\xa9ijklmnop", 18), 1);
    cr_assert_eq(statsd_utf8_valid("abcdefgh\xc3", 9), 0);
}

/* The shape statsd_plain_value() takes: digits, at most one '.' between digits, 15 digits. */
static int plain_shape(const char *text)
{
    size_t len = strlen(text), digits = 0, dots = 0;

    for (size_t i = 0; i < len; i++) {
        if (text[i] >= '0' && text[i] <= '9')
            digits++;
        else if (text[i] == '.' && i > 0 && i + 1 < len)
            dots++;
        else
            return 0;
    }
    return digits >= 1 && digits <= 15 && dots <= 1;
}

static void check_value(const char *text)
{
    char line[128];
    static struct statsd_line l;
    int n = snprintf(line, sizeof(line), "v:%s|h", text);
    cr_assert(n > 0 && (size_t)n < sizeof(line));
    int rc = statsd_parse_line(line, (size_t)n, &l);
    cr_assert_eq(rc, STATSD_OK, "%s: %s", text, statsd_reason_name(rc));
    double want = strtod(text, NULL);
    cr_assert(l.values[0] == want && !signbit(l.values[0]) == !signbit(want),
              "%s: got %.17g, strtod %.17g", text, l.values[0], want);

    /* The registry's shortcut for cached lines: the same value, or no answer. */
    double plain = -1;
    int took = statsd_plain_value(text, strlen(text), &plain);
    cr_assert_eq(took, plain_shape(text), "%s: plain_value took it: %d", text, took);
    cr_assert(!took || (plain == want && !signbit(plain)), "%s: plain %.17g, strtod %.17g", text,
              plain, want);
}

Test(statsd, values_are_exactly_what_strtod_gives)
{
    static const char *const fixed[] = {
        "0.1",
        "1e-7",
        "123456789012345678",
        "-0",
        "0",
        "-0.0",
        "1e22",
        "1e23",
        "-1e-22",
        "9007199254740992",
        "9007199254740993",
        "9007199254740995",
        "18446744073709551615",
        "1234567890123456789012345",
        "0.30000000000000004",
        "4.9e-324",
        "2.4703282292062328e-324",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
        "123.456e-2",
        "1e308",
        "1e-320",
        "0.000000000000000000000000000001",
        "7.038531e-26",
        "3.14159265358979323846",
        "100000000000000000000000",
        "+5",
        ".5",
        "5.",
        "1E5",
        "1e+05",
        /* the inline path's limits: 15 digits, one '.', digits on both sides */
        "123456789012345",
        "1234567890123456",
        "999999999999999",
        "9999999999999999",
        "12345678901234.5",
        "1234567890123.45",
        "123456789012345.6",
        "0.00000000000001",
        "0.000000000000001",
        "0.0000000000000001",
        "000000000000000000001",
        "0.1e1",
        "1.5E-3",
        "00.5",
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check_value(fixed[i]);
    /* Spans no value has: the shortcut leaves them to the full parse. */
    static const char *const never[] = { "", "1..2", "1.2.3", ".", "1:2", "1e", "0x10" };
    double v;
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        cr_assert_eq(statsd_plain_value(never[i], strlen(never[i]), &v), 0, "%s", never[i]);

    /* Many random decimals, on both sides of the fast path's limits. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    char text[64];
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned ndig = (unsigned)(x % 22) + 1, point = (unsigned)((x >> 8) % (ndig + 1));
        int exp = (int)((x >> 16) % 81) - 40;
        uint64_t d = x >> 20;
        size_t o = 0;
        if (x & (1u << 5))
            text[o++] = '-';
        for (unsigned k = 0; k < ndig; k++) {
            if (k == point && k > 0)
                text[o++] = '.';
            text[o++] = (char)('0' + (d % 10));
            d = d / 10 ? d / 10 : x >> 33;
        }
        if (x & (1u << 6))
            o += (size_t)snprintf(text + o, sizeof(text) - o, "e%d", exp);
        text[o] = '\0';
        check_value(text);
    }
}

Test(statsd, reason_table_names_are_unique_snake_case_and_round_trip)
{
    cr_assert_eq(STATSD_OK, 0);
    cr_assert_str_eq(statsd_reason_name(STATSD_OK), "ok");
    cr_assert_str_eq(statsd_reason_name(STATSD_NON_FINITE), "non_finite_value");
    cr_assert_str_eq(statsd_reason_name(STATSD_UNKNOWN_FAMILY), "unknown_family");
    cr_assert_str_eq(statsd_reason_name(-1), "unknown");
    cr_assert_str_eq(statsd_reason_name(STATSD_REASON_MAX), "unknown");
    cr_assert_str_eq(statsd_reason_msg(STATSD_REASON_MAX), "unknown reason");
    cr_assert_eq(statsd_reason_by_name("no_such_reason"), -1);
    for (int i = 0; i < STATSD_REASON_MAX; i++) {
        const char *name = statsd_reason_name(i);
        cr_assert_eq(statsd_reason_by_name(name), i, "%s", name);
        cr_assert_gt(strlen(statsd_reason_msg(i)), 0);
        for (const char *c = name; *c; c++)
            cr_assert((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_', "%s",
                      name);
    }
    cr_assert_lt(STATSD_PARSER_REASON_LAST, STATSD_UNKNOWN_FAMILY);
}

Test(statsd, job_lines_carry_the_outcome_and_a_value_of_one)
{
    static struct statsd_line l;
    static const char s[] = "thumbnail_gc:error|j|#reason:timeout";
    cr_assert_eq(statsd_parse_line(s, sizeof(s) - 1, &l), STATSD_OK);
    cr_assert_eq(l.type, STATSD_JOB);
    cr_assert_eq(l.outcome, STATSD_OUTCOME_ERROR);
    cr_assert_eq(l.nvalues, 1);
    cr_assert_eq(l.values[0], 1.0);
    cr_assert_eq(l.name.len, 12);
}

/*
 * A service check, as datadog-go and hot-shots send one: the name is the job's, the
 * status its outcome; tags and d: are parsed, h:, c: and unknown fields skipped, and the
 * message (last, '|' and '#' unescaped) never looked at.
 */
Test(statsd, service_checks_carry_the_job_the_outcome_and_the_tags)
{
    static struct statsd_line l;
    static const char s[] = "_sc|cas-promotion|2|d:1700000000|h:web-1|#queue:a,region:eu|"
                            "m:failed | retry #2 of |#x:y, m\\: gave up";
    static const char bare[] = "_sc|publish|1";

    cr_assert_eq(statsd_parse_line(s, sizeof(s) - 1, &l), STATSD_OK);
    cr_assert_eq(l.type, STATSD_SERVICE_CHECK);
    cr_assert_eq(l.outcome, STATSD_OUTCOME_ERROR);
    cr_assert(l.name.ptr == s + 4 && l.name.len == strlen("cas-promotion"));
    cr_assert(l.suffix.ptr == s + 4 + l.name.len &&
              l.suffix.ptr + l.suffix.len == s + sizeof(s) - 1);
    cr_assert_eq(l.nvalues, 1);
    cr_assert_eq(l.values[0], 1.0);
    cr_assert_eq(l.rate, 1.0);
    cr_assert_eq(l.ntags, 2, "the message's '#x:y' is no tag");
    cr_assert(l.tags[1].value.len == 2 && memcmp(l.tags[1].value.ptr, "eu", 2) == 0);
    cr_assert(l.has_timestamp && l.timestamp == 1700000000);
    cr_assert_eq(statsd_parse_line(bare, sizeof(bare) - 1, &l), STATSD_OK);
    cr_assert_eq(l.outcome, STATSD_OUTCOME_IDLE);
    cr_assert_eq(l.ntags, 0);
    cr_assert(!l.has_timestamp);
    cr_assert_eq(l.container.len, 0);
    /* Every status but 0, 1 and 2 has its own reason; so has a status cut short. */
    for (int st = 3; st <= 9; st++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "_sc|publish|%d|#a:b", st);

        cr_assert_eq(statsd_parse_line(line, (size_t)n, &l), STATSD_SERVICE_CHECK_STATUS, "%s",
                     line);
    }
    cr_assert_eq(statsd_parse_line("_sc|publish|", 12, &l), STATSD_SERVICE_CHECK_STATUS);
    cr_assert_eq(statsd_parse_line("_sc|publish|1", 12, &l), STATSD_SERVICE_CHECK_STATUS);
}
