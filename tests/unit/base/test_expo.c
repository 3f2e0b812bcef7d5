#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/expo.h"

/*
 * Golden files: tests/golden/expo_text.txt and expo_openmetrics.txt hold the exact bytes
 * that build_exposition() renders. Set USTATSD_UPDATE_GOLDEN=1 to rewrite them after a
 * deliberate change, then review the diff.
 */

#define L(n, v)                 \
    {                           \
        (n), (v), sizeof(v) - 1 \
    }

/* A gauge family of the values the number formatter finds hard, one case each. */
static void awkward_gauges(struct expo *e)
{
    static const struct {
        const char name[16];
        double v;
    } gauges[] = {
        { "nan", NAN },
        { "pos_inf", INFINITY },
        { "neg_inf", -INFINITY },
        { "neg_zero", -0.0 },
        { "zero", 0.0 },
        { "tenth", 0.1 },
        { "third", 1.0 / 3.0 },
        { "point3", 0.1 + 0.2 },
        { "negative", -2.5 },
        { "fraction", 123456.789 },
        { "two_53", 9007199254740992.0 },
        { "two_53_plus_2", 9007199254740994.0 },
        { "two_64", 18446744073709551616.0 },
        { "e16", 1e16 },
        { "huge", 1.7976931348623157e308 },
        { "tiny", 1e-300 },
        { "denormal", 4.9406564584124654e-324 },
        { "small", 1.5e-7 },
        { "big_neg_int", -4503599627370497.0 },
    };

    expo_family(e, "ustatsd_temperature_celsius", EXPO_GAUGE, "Awkward values.", "celsius");
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
        struct expo_label l = { "case", gauges[i].name, strlen(gauges[i].name) };

        expo_sample(e, "", &l, 1, gauges[i].v);
    }
}

static void build_exposition_esc(struct buf *b, enum expo_format fmt, enum expo_escaping esc)
{
    struct expo e;
    const struct expo_label awkward[] = { L("path", "/a\"b\\c\nd") };
    const struct expo_label utf8[] = { L("path", "/caf\xc3\xa9/\xe2\x9c\x93") };
    const struct expo_label plain[] = { L("path", "/"), L("method", "GET") };
    const struct expo_label route[] = { L("route", "/api") };
    const struct expo_label job_mail[] = { L("job", "mail") };
    const struct expo_label build[] = { L("version", "0.1.0"), L("revision", "abc\"def") };

    buf_reset(b);
    expo_init(&e, b, fmt);
    e.esc = esc;

    expo_family(&e, "ustatsd_requests", EXPO_COUNTER, "Requests \"served\" \\ by path\nsecond line",
                NULL);
    expo_sample(&e, "_total", awkward, 1, 0);
    expo_sample(&e, "_total", utf8, 1, 42);
    expo_sample(&e, "_total", plain, 2, 9007199254740992.0);

    /* A counter named with _total by mistake renders the same way. */
    expo_family(&e, "ustatsd_drops_total", EXPO_COUNTER, "Dropped datagrams.", "");
    expo_sample(&e, "_total", NULL, 0, 3);

    expo_family(&e, "ustatsd_cpu_seconds", EXPO_COUNTER, "CPU time, seconds.", "seconds");
    expo_sample(&e, "_total", NULL, 0, 1.04);

    awkward_gauges(&e);

    /* The unit is not a suffix of the name: no UNIT line. */
    expo_family(&e, "ustatsd_queue_depth", EXPO_GAUGE, "Queue depth.", "seconds");
    expo_sample(&e, "", NULL, 0, 17);

    expo_family(&e, "ustatsd_request_duration_seconds", EXPO_HISTOGRAM, "Request latency.",
                "seconds");
    {
        static const double bounds[] = { 0.005, 0.01, 0.1, 1, 2.5, 100000, 1e6, INFINITY };
        static const double counts[] = { 1, 2, 5, 9, 10, 11, 12, 13 };

        for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
            expo_bucket(&e, route, 1, bounds[i], counts[i]);
        expo_sample(&e, "_sum", route, 1, 1234567.125);
        expo_sample(&e, "_count", route, 1, 13);
    }

    expo_family(&e, "ustatsd_breaker", EXPO_STATESET, "Circuit breaker state.", NULL);
    expo_state(&e, job_mail, 1, "closed", 6, 0);
    expo_state(&e, job_mail, 1, "open", 4, 1);
    expo_state(&e, job_mail, 1, "half_open", 9, 0);

    expo_family(&e, "ustatsd_build", EXPO_INFO, "Build information.", NULL);
    expo_sample(&e, "_info", build, 2, 1);

    expo_family(&e, "ustatsd_legacy", EXPO_UNKNOWN, "An untyped value.", NULL);
    expo_sample(&e, "", NULL, 0, 7);

    expo_eof(&e);
}

static void build_exposition(struct buf *b, enum expo_format fmt)
{
    build_exposition_esc(b, fmt, EXPO_ESCAPE_UNDERSCORES);
}

static char *golden_path(const char *name)
{
    struct buf p = BUF_INIT;

    buf_addf(&p, "%s/tests/golden/%s", USTATSD_SOURCE_DIR, name);
    return buf_detach(&p, NULL);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;

    cr_assert_not_null(f, "cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, len);
}

static void check_golden(enum expo_format fmt, const char *name)
{
    struct buf b = BUF_INIT;
    char *path = golden_path(name);
    char *want;
    size_t want_len;

    build_exposition(&b, fmt);
    if (getenv("USTATSD_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(path, "wb");

        cr_assert_not_null(f);
        cr_assert_eq(fwrite(b.ptr, 1, b.len, f), b.len);
        cr_assert_eq(fclose(f), 0);
    }
    want = slurp(path, &want_len);
    cr_assert_eq(b.len, want_len, "%s: rendered %zu bytes, golden has %zu", name, b.len, want_len);
    cr_assert_eq(memcmp(b.ptr, want, want_len), 0, "%s differs:\n%s", name, b.ptr);
    free(want);
    free(path);
    buf_release(&b);
}

Test(expo, text_matches_golden_byte_for_byte)
{
    check_golden(EXPO_TEXT, "expo_text.txt");
}

Test(expo, openmetrics_matches_golden_byte_for_byte)
{
    check_golden(EXPO_OPENMETRICS, "expo_openmetrics.txt");
}

/* Run a command with the golden file on stdin; returns its exit status, output in out. */
static int run_on_golden(const char *command, const char *golden, struct buf *out)
{
    struct buf cmd = BUF_INIT;
    char *path = golden_path(golden);
    char chunk[512];
    size_t n;
    FILE *p;
    int status;

    buf_addf(&cmd, "%s < '%s' 2>&1", command, path);
    p = popen(cmd.ptr, "r");
    cr_assert_not_null(p);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        buf_add(out, chunk, n);
    status = pclose(p);
    buf_release(&cmd);
    free(path);
    return status;
}

Test(expo, promtool_accepts_text_golden_silently)
{
    struct buf out = BUF_INIT;
    int status = run_on_golden("promtool check metrics", "expo_text.txt", &out);

    cr_assert_eq(status, 0, "promtool exit status %d: %s", status, out.ptr ? out.ptr : "");
    cr_assert_eq(out.len, 0, "promtool printed: %s", out.ptr);
    buf_release(&out);
}

/* Debian's python3-prometheus-client (under /usr/bin/python3) has a strict OpenMetrics parser. */
Test(expo, python_openmetrics_parser_accepts_golden)
{
    struct buf out = BUF_INIT;
    int status = run_on_golden("/usr/bin/python3 " USTATSD_SOURCE_DIR "/tests/lib/om_check.py",
                               "expo_openmetrics.txt", &out);

    cr_assert_eq(status, 0, "om_check.py exit status %d: %s", status, out.ptr ? out.ptr : "");
    buf_release(&out);
}

/*
 * promtool 2.42 only parses text 0.0.4, so the OpenMetrics golden is also checked here
 * against the OpenMetrics 1.0 ABNF and the per-type sample-name rules, without Python.
 */

static int om_number(const char *s)
{
    const char *p = s;
    char *end;

    if (strcmp(s, "NaN") == 0 || strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0)
        return 1;
    if (*p == '+' || *p == '-')
        p++;
    if (!(*p >= '0' && *p <= '9') && *p != '.')
        return 0;
    for (; *p; p++)
        if (strchr("0123456789.e+-", *p) == NULL)
            return 0;
    strtod(s, &end);
    return *end == '\0';
}

static int name_char(char c, int first, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* Parse an escaped-string up to the closing quote; returns the quote or NULL. */
static const char *om_escaped(const char *p, int quoted)
{
    for (; *p && (!quoted || *p != '"'); p++) {
        if (*p == '\\') {
            p++;
            if (*p != 'n' && *p != '"' && *p != '\\')
                return NULL;
        } else if (!quoted && *p == '"') {
            return NULL;
        }
    }
    return p;
}

static const char *om_suffixes(const char *type)
{
    if (strcmp(type, "counter") == 0)
        return "_total _created";
    if (strcmp(type, "histogram") == 0)
        return "_bucket _sum _count _created";
    if (strcmp(type, "info") == 0)
        return "_info";
    return "";
}

#define CHECK(c)      \
    do {              \
        if (!(c))     \
            return 0; \
    } while (0)

/* A "# TYPE|UNIT|HELP" line, in order for the family it names; 1 when it is valid. */
static int meta_ok(const char *line, char family[128], char type[32])
{
    char kw[8], name[128];
    int off = 0;

    CHECK(sscanf(line, "# %7s %127s %n", kw, name, &off) == 2);
    if (strcmp(kw, "TYPE") == 0) {
        CHECK(strcmp(name, family) != 0);
        snprintf(family, 128, "%s", name);
        CHECK(sscanf(line + off, "%31s", type) == 1);
        CHECK(strstr(" counter gauge histogram gaugehistogram stateset info summary unknown ",
                     type) != NULL);
    } else if (strcmp(kw, "UNIT") == 0) {
        size_t nl = strlen(name), ul = strlen(line + off);

        CHECK(strcmp(name, family) == 0);
        CHECK(nl > ul + 1 && strcmp(name + nl - ul, line + off) == 0 && name[nl - ul - 1] == '_');
    } else {
        const char *end;

        CHECK(strcmp(kw, "HELP") == 0);
        CHECK(strcmp(name, family) == 0);
        end = om_escaped(line + off, 0);
        CHECK(end != NULL && *end == '\0');
    }
    return 1;
}

/* The label set at p ("{...}"); the byte after it, or NULL when it is malformed. */
static const char *labels_end(const char *p, const char *family, int *has_le, int *has_state)
{
    size_t fl = strlen(family);

    p++;
    while (*p != '}') {
        const char *ln = p;

        if (!name_char(*p, 1, 0))
            return NULL;
        while (name_char(*p, 0, 0))
            p++;
        if (p - ln == 2 && strncmp(ln, "le", 2) == 0)
            *has_le = 1;
        if ((size_t)(p - ln) == fl && strncmp(ln, family, fl) == 0)
            *has_state = 1;
        if (p[0] != '=' || p[1] != '"')
            return NULL;
        p = om_escaped(p + 2, 1);
        if (p == NULL || *p != '"')
            return NULL;
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

/* sample = metricname [labels] SP number, of the family and type in force; 1 when valid. */
static int sample_ok(const char *line, const char *family, const char *type)
{
    const char *p = line, *value;
    size_t fl = strlen(family);
    int has_le = 0, has_state = 0;

    CHECK(name_char(*p, 1, 1));
    while (name_char(*p, 0, 1))
        p++;
    CHECK(fl > 0 && strncmp(line, family, fl) == 0);
    if ((size_t)(p - line) == fl) {
        CHECK(strcmp(type, "counter") && strcmp(type, "histogram") && strcmp(type, "info"));
    } else {
        char want[32];

        snprintf(want, sizeof(want), "%.*s", (int)(p - line - (ptrdiff_t)fl), line + fl);
        CHECK(want[0] == '_' && strstr(om_suffixes(type), want) != NULL);
    }
    if (*p == '{')
        CHECK((p = labels_end(p, family, &has_le, &has_state)) != NULL);
    CHECK(*p == ' ');
    value = p + 1;
    CHECK(om_number(value));
    if (strncmp(line + fl, "_bucket", 7) == 0 && strcmp(type, "histogram") == 0)
        CHECK(has_le);
    if (strcmp(type, "stateset") == 0)
        CHECK(has_state && (!strcmp(value, "0") || !strcmp(value, "1")));
    if (strcmp(type, "info") == 0)
        CHECK(strcmp(value, "1") == 0);
    return 1;
}

/* Returns NULL when text is a valid exposition, else the offending line. */
static const char *check_openmetrics(char *text)
{
    char family[128] = "", type[32] = "";
    char *save = NULL, *line;
    size_t len = strlen(text);
    int eof = 0;

    if (len == 0 || text[len - 1] != '\n')
        return "(end)";
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (eof)
            return line;
        if (strcmp(line, "# EOF") == 0)
            eof = 1;
        else if (line[0] == '#' ? !meta_ok(line, family, type) : !sample_ok(line, family, type))
            return line;
    }
    return eof ? NULL : "(end)";
}

Test(expo, openmetrics_golden_follows_the_abnf)
{
    struct buf b = BUF_INIT;

    const char *bad;

    build_exposition(&b, EXPO_OPENMETRICS);
    bad = check_openmetrics(b.ptr);
    cr_assert_null(bad, "invalid OpenMetrics line: %s", bad);
    buf_release(&b);
}

struct om_bad {
    char text[96];
};

/* The checker must be able to fail, or the test above proves nothing. */
static struct om_bad om_bad_cases[] = {
    { "# TYPE x counter\nx 1\n# EOF\n" },
    { "# TYPE x counter\nx_total 1\n" },
    { "# TYPE x gauge\nx{a=\"b\"c\"} 1\n# EOF\n" },
    { "# TYPE x gauge\n# HELP x say \"hi\"\n# EOF\n" },
    { "# TYPE x gauge\n# UNIT x seconds\n# EOF\n" },
    { "# TYPE x histogram\nx_bucket{a=\"1\"} 1\n# EOF\n" },
    { "# TYPE x stateset\nx{y=\"a\"} 1\n# EOF\n" },
    { "# TYPE x info\nx_info 2\n# EOF\n" },
    { "# TYPE x gauge\nx inf1\n# EOF\n" },
    { "# TYPE x gauge\nx 1\n# EOF\nx 2\n" },
};

ParameterizedTestParameters(expo, openmetrics_checker_rejects_broken_input)
{
    return cr_make_param_array(struct om_bad, om_bad_cases,
                               sizeof(om_bad_cases) / sizeof(om_bad_cases[0]));
}

ParameterizedTest(struct om_bad *c, expo, openmetrics_checker_rejects_broken_input)
{
    cr_assert_not_null(check_openmetrics(c->text), "accepted: %s", c->text);
}

Test(expo, escapes_label_values_and_help_per_format)
{
    struct buf b = BUF_INIT;
    const char raw[] = "a\\b\"c\nd\xc3\xa9";

    expo_escape_label(&b, raw, sizeof(raw) - 1);
    cr_assert_str_eq(b.ptr, "a\\\\b\\\"c\\nd\xc3\xa9");
    buf_reset(&b);
    expo_escape_help(&b, EXPO_TEXT, raw, sizeof(raw) - 1);
    cr_assert_str_eq(b.ptr, "a\\\\b\"c\\nd\xc3\xa9");
    buf_reset(&b);
    expo_escape_help(&b, EXPO_OPENMETRICS, raw, sizeof(raw) - 1);
    cr_assert_str_eq(b.ptr, "a\\\\b\\\"c\\nd\xc3\xa9");
    buf_reset(&b);
    /* Values are bytes, not C strings: an embedded NUL passes through. */
    expo_escape_label(&b, "x\0y", 3);
    cr_assert_eq(b.len, 3);
    cr_assert_eq(memcmp(b.ptr, "x\0y", 3), 0);
    buf_release(&b);
}

Test(expo, counter_and_info_names_per_format)
{
    struct buf b = BUF_INIT;
    struct expo e;

    expo_init(&e, &b, EXPO_TEXT);
    expo_family(&e, "c_total", EXPO_COUNTER, "h", "total");
    expo_sample(&e, "_total", NULL, 0, 1);
    expo_family(&e, "i", EXPO_INFO, "h", NULL);
    expo_sample(&e, "_info", NULL, 0, 1);
    expo_eof(&e);
    cr_assert_str_eq(b.ptr, "# HELP c_total h\n# TYPE c_total counter\nc_total 1\n"
                            "# HELP i_info h\n# TYPE i_info gauge\ni_info 1\n");
    buf_reset(&b);
    expo_init(&e, &b, EXPO_OPENMETRICS);
    expo_family(&e, "c_total", EXPO_COUNTER, "h", NULL);
    expo_sample(&e, "_total", NULL, 0, 1);
    expo_family(&e, "i_info", EXPO_INFO, "", NULL);
    expo_sample(&e, "_info", NULL, 0, 1);
    expo_eof(&e);
    cr_assert_str_eq(b.ptr, "# TYPE c counter\n# HELP c h\nc_total 1\n"
                            "# TYPE i info\ni_info 1\n# EOF\n");
    buf_release(&b);
}

Test(expo, unit_line_only_when_name_ends_in_unit)
{
    struct buf b = BUF_INIT;
    struct expo e;

    expo_init(&e, &b, EXPO_OPENMETRICS);
    expo_family(&e, "a_bytes", EXPO_GAUGE, NULL, "bytes");
    expo_family(&e, "abytes", EXPO_GAUGE, NULL, "bytes");
    expo_family(&e, "bytes", EXPO_GAUGE, NULL, "bytes");
    expo_family(&e, "a_bytes_total", EXPO_COUNTER, NULL, "bytes");
    cr_assert_str_eq(b.ptr, "# TYPE a_bytes gauge\n# UNIT a_bytes bytes\n"
                            "# TYPE abytes gauge\n"
                            "# TYPE bytes gauge\n"
                            "# TYPE a_bytes counter\n# UNIT a_bytes bytes\n");
    buf_release(&b);
}

Test(expo, stateset_labels_state_after_the_family)
{
    struct buf b = BUF_INIT;
    struct expo e;
    const struct expo_label l = { "job", "a\"b", 3 };

    expo_init(&e, &b, EXPO_TEXT);
    expo_family(&e, "s", EXPO_STATESET, NULL, NULL);
    expo_state(&e, &l, 1, "on", 2, 1);
    expo_state(&e, NULL, 0, "o\nff", 4, 0);
    cr_assert_str_eq(b.ptr, "# TYPE s gauge\ns{job=\"a\\\"b\",s=\"on\"} 1\ns{s=\"o\\nff\"} 0\n");
    buf_release(&b);
}

/*
 * prometheus/common v0.70.1 model/metric_test.go TestEscapeName, verbatim, plus a stray
 * byte, a leading digit and ':' (which legacy metric names allow).
 */
struct escape_case {
    char in[48];
    char underscores[48];
    char dots[64];
    char values[64];
};

ParameterizedTestParameters(expo, escape_name_as_model_escape_name)
{
    static struct escape_case cases[] = {
        { "", "", "", "" },
        { "no:escaping_required", "no:escaping_required", "no:escaping__required",
          "no:escaping_required" },
        { "mysystem.prod.west.cpu.load", "mysystem_prod_west_cpu_load",
          "mysystem_dot_prod_dot_west_dot_cpu_dot_load",
          "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load" },
        { "mysystem.prod.west.cpu.load_total", "mysystem_prod_west_cpu_load_total",
          "mysystem_dot_prod_dot_west_dot_cpu_dot_load__total",
          "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total" },
        { "http.status:sum", "http_status:sum", "http_dot_status:sum", "U__http_2e_status:sum" },
        { "label with \xf0\x9f\x98\xb1", "label_with__", "label__with____",
          "U__label_20_with_20__1f631_" },
        { "\xe8\x8a\xb1\xe7\x81\xab", "__", "____", "U___82b1__706b_" },
        { "label with \xc4\x80", "label_with__", "label__with____", "U__label_20_with_20__100_" },
        { "a\xff"
          "b",
          "a_b", "a__b", "U__a_fffd_b" },
        { "0x", "_x", "__x", "U___30_x" },
        { "a:b", "a:b", "a:b", "a:b" },
    };

    return cr_make_param_array(struct escape_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct escape_case *c, expo, escape_name_as_model_escape_name)
{
    char out[EXPO_ESCAPED_MAX(48)];
    size_t n, len = strlen(c->in);

    n = expo_escape_name(out, sizeof(out), c->in, len, EXPO_ESCAPE_ALLOW_UTF8);
    cr_assert_eq(n, len);
    cr_assert_eq(memcmp(out, c->in, n), 0);
    n = expo_escape_name(out, sizeof(out), c->in, len, EXPO_ESCAPE_UNDERSCORES);
    cr_assert_eq(n, strlen(c->underscores), "%s", c->in);
    cr_assert_eq(memcmp(out, c->underscores, n), 0, "%.*s", (int)n, out);
    n = expo_escape_name(out, sizeof(out), c->in, len, EXPO_ESCAPE_DOTS);
    cr_assert_eq(n, strlen(c->dots), "%s", c->in);
    cr_assert_eq(memcmp(out, c->dots, n), 0, "%.*s", (int)n, out);
    n = expo_escape_name(out, sizeof(out), c->in, len, EXPO_ESCAPE_VALUES);
    cr_assert_eq(n, strlen(c->values), "%s", c->in);
    cr_assert_eq(memcmp(out, c->values, n), 0, "%.*s", (int)n, out);
}

Test(expo, escape_name_stops_before_a_character_that_does_not_fit)
{
    char out[8] = "xxxxxxx";

    cr_assert_eq(expo_escape_name(out, 4, "a.b", 3, EXPO_ESCAPE_DOTS), 1);
    cr_assert_eq(out[0], 'a');
    cr_assert_eq(out[1], 'x');
    cr_assert_eq(expo_escape_name(out, 2, "a.b", 3, EXPO_ESCAPE_VALUES), 0);
    cr_assert_eq(expo_escape_name(out, 2, "\xc4\x80", 2, EXPO_ESCAPE_ALLOW_UTF8), 2);
    cr_assert_eq(expo_escape_name(out, 1, "\xc4\x80", 2, EXPO_ESCAPE_ALLOW_UTF8), 0);
    cr_assert_eq(expo_escape_name(out, 8, "", 0, EXPO_ESCAPE_VALUES), 0);
}

/*
 * Every name we write is legacy-valid, and model.EscapeMetricFamily leaves those alone
 * under every scheme (dots too: only EscapeName itself doubles their '_'). So the golden
 * bytes hold whatever escaping= the scraper asked for, in both formats.
 */
Test(expo, legacy_names_are_the_same_under_every_scheme)
{
    static const enum expo_escaping schemes[] = { EXPO_ESCAPE_ALLOW_UTF8, EXPO_ESCAPE_DOTS,
                                                  EXPO_ESCAPE_VALUES };
    struct buf want = BUF_INIT, got = BUF_INIT;

    for (int fmt = EXPO_TEXT; fmt <= EXPO_OPENMETRICS; fmt++) {
        build_exposition(&want, (enum expo_format)fmt);
        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
            build_exposition_esc(&got, (enum expo_format)fmt, schemes[i]);
            cr_assert_str_eq(got.ptr, want.ptr, "format %d, scheme %d", fmt, (int)schemes[i]);
        }
    }
    buf_release(&want);
    buf_release(&got);
}

/* A name that is not legacy-valid (none of ours is) is escaped once, in every line. */
Test(expo, family_name_escaped_by_the_scheme)
{
    static const struct {
        enum expo_format fmt;
        enum expo_escaping esc;
        const char *want;
    } cases[] = {
        { EXPO_OPENMETRICS, EXPO_ESCAPE_DOTS,
          "# TYPE my_dot_jobs counter\n# HELP my_dot_jobs Jobs.\n"
          "my_dot_jobs_total{queue=\"a\"} 2\n# TYPE my_dot_state stateset\n"
          "my_dot_state{my_dot_state=\"on\"} 1\n" },
        { EXPO_TEXT, EXPO_ESCAPE_VALUES,
          "# HELP U__my_2e_jobs_total Jobs.\n# TYPE U__my_2e_jobs_total counter\n"
          "U__my_2e_jobs_total{queue=\"a\"} 2\n# TYPE U__my_2e_state gauge\n"
          "U__my_2e_state{U__my_2e_state=\"on\"} 1\n" },
        { EXPO_TEXT, EXPO_ESCAPE_UNDERSCORES,
          "# HELP my_jobs_total Jobs.\n# TYPE my_jobs_total counter\n"
          "my_jobs_total{queue=\"a\"} 2\n# TYPE my_state gauge\nmy_state{my_state=\"on\"} 1\n" },
        /* These writers have no quoted names: allow-utf-8 falls back to underscores. */
        { EXPO_OPENMETRICS, EXPO_ESCAPE_ALLOW_UTF8,
          "# TYPE my_jobs counter\n# HELP my_jobs Jobs.\nmy_jobs_total{queue=\"a\"} 2\n"
          "# TYPE my_state stateset\nmy_state{my_state=\"on\"} 1\n" },
    };
    const struct expo_label q = L("queue", "a");

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = BUF_INIT;
        struct expo e;

        expo_init(&e, &b, cases[i].fmt);
        cr_assert_eq(e.esc, EXPO_ESCAPE_UNDERSCORES);
        e.esc = cases[i].esc;
        expo_family(&e, "my.jobs_total", EXPO_COUNTER, "Jobs.", NULL);
        expo_sample(&e, "_total", &q, 1, 2);
        expo_family(&e, "my.state", EXPO_STATESET, NULL, NULL);
        expo_state(&e, NULL, 0, "on", 2, 1);
        cr_assert_str_eq(b.ptr, cases[i].want, "case %zu", i);
        buf_release(&b);
    }
}

/*
 * _created is written in ms precision, however finely the clock that dated the point
 * read: the daemon's start is a wall-clock read in ns.
 */
Test(expo, created_is_written_to_the_ms)
{
    static const struct {
        double created;
        const char *want;
    } cases[] = {
        { 1795385066.0148323, "c_created 1795385066.015\n" },
        { 1795385066.0143, "c_created 1795385066.014\n" },
        { 1795385066.9996, "c_created 1795385067\n" },
        { 1795385066.1, "c_created 1795385066.1\n" },
        { 1795385066123 / 1000.0, "c_created 1795385066.123\n" },
        { 1520430000, "c_created 1520430000\n" },
    };
    static const char bounds[1][32] = { "1.0" };
    static const double les[1] = { 1 };
    static const unsigned char bound_lens[1] = { 3 };
    static const uint64_t counts[2] = { 1, 0 };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b = BUF_INIT;
        struct expo e;
        const char *got;

        expo_init(&e, &b, EXPO_OPENMETRICS);
        e.created = cases[i].created;
        expo_scalar(&e, "c", EXPO_COUNTER, NULL, NULL, 1);
        got = strstr(b.ptr, "c_created ");
        cr_assert_not_null(got, "%s", b.ptr);
        cr_assert_str_eq(got, cases[i].want, "case %zu", i);
        /* A histogram's point is dated the same way. */
        expo_family(&e, "h", EXPO_HISTOGRAM, NULL, NULL);
        expo_histogram(&e, NULL, 0, les, bounds, bound_lens, 1, counts, 0.5, 1);
        got = strstr(b.ptr, "h_created ");
        cr_assert_not_null(got, "%s", b.ptr);
        cr_assert_eq(strncmp(got + 1, cases[i].want + 1, strlen(cases[i].want) - 1), 0,
                     "case %zu: %s", i, got);
        buf_release(&b);
    }
}

/* e->created: a _created sample ends each counter and histogram point, in OpenMetrics only. */
Test(expo, created_ends_counter_and_histogram_points_in_openmetrics_only)
{
    static const char want[] = "# TYPE c counter\n"
                               "c_total{a=\"x\\\"y\"} 3\n"
                               "c_created{a=\"x\\\"y\"} 1520430000.123\n"
                               "c_total 1\n"
                               "# TYPE g gauge\n"
                               "g 2\n"
                               "# TYPE h histogram\n"
                               "h_bucket{a=\"1\",le=\"1.0\"} 1\n"
                               "h_bucket{a=\"1\",le=\"+Inf\"} 2\n"
                               "h_sum{a=\"1\"} 5.5\n"
                               "h_count{a=\"1\"} 2\n"
                               "h_created{a=\"1\"} 1520430000\n"
                               "# TYPE s histogram\n"
                               "s_bucket{le=\"+Inf\"} 0\n"
                               "s_sum 0\n"
                               "s_count 0\n"
                               "s_created 1520430000\n"
                               "# TYPE p counter\n"
                               "p_total 7\n"
                               "p_created 1520430000\n";
    static const char bounds[1][32] = { "1.0" };
    static const double les[1] = { 1 };
    static const unsigned char bound_lens[1] = { 3 };
    static const uint64_t counts[2] = { 1, 1 };
    struct expo_label l = { "a", "x\"y", 3 }, one = { "a", "1", 1 };
    enum expo_format fmts[2] = { EXPO_OPENMETRICS, EXPO_TEXT };

    for (size_t i = 0; i < 2; i++) {
        struct buf b = BUF_INIT;
        struct expo e;

        expo_init(&e, &b, fmts[i]);
        cr_assert_eq(e.created, 0);
        expo_family(&e, "c", EXPO_COUNTER, NULL, NULL);
        e.created = 1520430000.123;
        expo_sample(&e, "_total", &l, 1, 3);
        e.created = 0; /* undated */
        expo_sample(&e, "_total", NULL, 0, 1);
        e.created = 1520430000;
        expo_scalar(&e, "g", EXPO_GAUGE, NULL, NULL, 2);
        expo_family(&e, "h", EXPO_HISTOGRAM, NULL, NULL);
        expo_histogram(&e, &one, 1, les, bounds, bound_lens, 1, counts, 5.5, 2);
        expo_family(&e, "s", EXPO_HISTOGRAM, NULL, NULL);
        expo_bucket(&e, NULL, 0, INFINITY, 0);
        expo_sample(&e, "_sum", NULL, 0, 0);
        expo_sample(&e, "_count", NULL, 0, 0);
        expo_scalar(&e, "p", EXPO_COUNTER, NULL, NULL, 7);
        if (fmts[i] == EXPO_OPENMETRICS)
            cr_assert_str_eq(b.ptr, want);
        else
            cr_assert_null(strstr(b.ptr, "_created"), "text has no _created:\n%s", b.ptr);
        buf_release(&b);
    }
}
