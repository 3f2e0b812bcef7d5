#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "negotiate.h"

struct neg_case {
    char accept[320];
    enum expo_format want;
};

static struct neg_case neg_cases[] = {
    { "", EXPO_TEXT },
    { "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      EXPO_OPENMETRICS },
    { "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/"
      "openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
      "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      EXPO_OPENMETRICS },
    { "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", EXPO_TEXT },
    { "application/openmetrics-text", EXPO_OPENMETRICS },
    { "application/openmetrics-text; version=1.0.0; charset=utf-8", EXPO_OPENMETRICS },
    { "application/openmetrics-text;version=0.0.1", EXPO_OPENMETRICS },
    { "application/openmetrics-text;version=2.0.0", EXPO_TEXT },
    { "*/*", EXPO_TEXT },
    { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", EXPO_TEXT },
    { "application/openmetrics-text;q=0.5,text/plain;q=0.5", EXPO_TEXT },
    { "application/openmetrics-text;q=0.6,text/plain;q=0.5", EXPO_OPENMETRICS },
    { "APPLICATION/OpenMetrics-Text;Version=1.0.0", EXPO_OPENMETRICS },
    { "application/openmetrics-text;q=0", EXPO_TEXT },
    { "application/json", EXPO_TEXT },
    { "application/*", EXPO_OPENMETRICS },
    { "text/plain;version=0.0.4,application/openmetrics-text;version=1.0.0;q=0.9", EXPO_TEXT },
    { "application/openmetrics-text;version=1.0.0;q=0.75, */*;q=1", EXPO_TEXT },
    { "application/openmetrics-text;q=abc", EXPO_TEXT },
    { "application/openmetrics-text;q=1.5", EXPO_TEXT },
    { " application/openmetrics-text ; version=\"1.0.0\" ; q=0.9 , text/plain ; q=0.1",
      EXPO_OPENMETRICS },
    { "application/openmetrics-text;version=1.0.0;q=0,application/openmetrics-text;q=1",
      EXPO_TEXT },
    { ",,;;=,/,application/openmetrics-text;;q=0.2", EXPO_OPENMETRICS },
    { "garbage", EXPO_TEXT },
};

ParameterizedTestParameters(negotiate, format_from_accept)
{
    return cr_make_param_array(struct neg_case, neg_cases,
                               sizeof(neg_cases) / sizeof(neg_cases[0]));
}

ParameterizedTest(struct neg_case *c, negotiate, format_from_accept)
{
    cr_assert_eq(negotiate_format(c->accept), c->want, "Accept: %s", c->accept);
}

Test(negotiate, null_accept_gives_text)
{
    cr_assert_eq(negotiate_format(NULL), EXPO_TEXT);
}

struct ae_case {
    char header[64];
    int gzip;
};

/* The last block reads q as Accept does: a malformed q drops the element. */
ParameterizedTestParameters(negotiate, gzip_from_accept_encoding)
{
    static struct ae_case cases[] = {
        { "gzip", 1 },
        { "GZip", 1 },
        { "deflate, gzip", 1 },
        { "gzip;q=0", 0 },
        { "gzip; q=0.000", 0 },
        { "gzip;q=0.001", 1 },
        { "gzip;q=1.0", 1 },
        { "*", 1 },
        { "*;q=0", 0 },
        { "gzip;q=0, *", 0 },
        { "x-gzip", 1 },
        { "deflate, br", 0 },
        { "identity", 0 },
        { "", 0 },
        { "gzipx", 0 },
        { " gzip ; Q = 0.5 ", 1 },
        { "gzip;q=\"0\"", 0 },
        { "gzip;q=2", 0 },
        { "gzip;q=2, *", 1 },
        { "gzip;q=abc, *;q=0", 0 },
        { "gzip;q=0, gzip;q=0.5", 1 },
    };

    return cr_make_param_array(struct ae_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ae_case *c, negotiate, gzip_from_accept_encoding)
{
    cr_assert_eq(negotiate_gzip(c->header), c->gzip, "%s", c->header);
}

Test(negotiate, null_accept_encoding_refuses_gzip)
{
    cr_assert_eq(negotiate_gzip(NULL), 0);
}
