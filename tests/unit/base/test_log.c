#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/errcode.h"
#include "base/log.h"

/* Everything written to the sink so far, NUL-terminated; the caller frees it. */
static char *drain(FILE *f)
{
    long size;
    char *text;

    cr_assert_eq(fflush(f), 0);
    size = ftell(f);
    cr_assert_geq(size, 0);
    text = malloc((size_t)size + 1);
    cr_assert_not_null(text);
    rewind(f);
    cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    rewind(f);
    cr_assert_eq(ftruncate(fileno(f), 0), 0);
    return text;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(log, json_line_has_the_seed_fields_in_order)
{
    FILE *f = tmpfile();
    struct log l;
    json_t *j;
    json_error_t err;
    long long before = now_ms(), after;
    char *text, prefix[64];

    cr_assert_not_null(f);
    log_init(&l, LOG_JSON, LOG_DEBUG, f);
    log_msg(&l, LOG_WARN, "ingest", "Unable to open %s, skipping %d", "/build/index.html", 3);
    after = now_ms();
    text = drain(f);

    snprintf(prefix, sizeof(prefix),
             "{\"level\":\"warn\",\"pid\":%ld,\"timestamp\":", (long)getpid());
    cr_assert_eq(strncmp(text, prefix, strlen(prefix)), 0, "%s", text);
    cr_assert_eq(strchr(text, '\n'), text + strlen(text) - 1, "one line: %s", text);
    j = json_loads(text, 0, &err);
    cr_assert_not_null(j, "%s: %s", err.text, text);
    cr_assert_eq(json_object_size(j), 5);
    cr_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
    cr_assert_eq(json_integer_value(json_object_get(j, "pid")), (json_int_t)getpid());
    cr_assert_geq(json_integer_value(json_object_get(j, "timestamp")), before);
    cr_assert_leq(json_integer_value(json_object_get(j, "timestamp")), after);
    cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
                     "Unable to open /build/index.html, skipping 3");
    cr_assert_str_eq(json_string_value(json_object_get(j, "context")), "ingest");
    cr_assert_not_null(strstr(text, "\",\"context\":\"ingest\"}\n"));
    json_decref(j);
    free(text);
    log_release(&l);
    fclose(f);
}

Test(log, json_escapes_quotes_newlines_controls_and_bad_utf8)
{
    FILE *f = tmpfile();
    struct log l;
    json_t *j;
    json_error_t err;
    char *text;
    const char *msg;

    cr_assert_not_null(f);
    log_init(&l, LOG_JSON, LOG_INFO, f);
    log_msg(&l, LOG_ERROR, "ht\"tp",
            "say \"hi\"\\ now\nnext\tline\x01\x1f caf\xc3\xa9 \xff\xc0\xaf"
            " \xed\xa0\x80 \xf0\x9f\x98\x80");
    text = drain(f);
    cr_assert_not_null(strstr(text, "say \\\"hi\\\"\\\\ now\\nnext\\tline\\u0001\\u001f"), "%s",
                       text);
    j = json_loads(text, 0, &err);
    cr_assert_not_null(j, "%s: %s", err.text, text);
    msg = json_string_value(json_object_get(j, "message"));
    cr_assert_str_eq(msg,
                     "say \"hi\"\\ now\nnext\tline\x01\x1f caf\xc3\xa9 "
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                     " \xf0\x9f\x98\x80");
    cr_assert_str_eq(json_string_value(json_object_get(j, "context")), "ht\"tp");
    cr_assert_str_eq(json_string_value(json_object_get(j, "level")), "error");
    json_decref(j);
    free(text);
    log_release(&l);
    fclose(f);
}

Test(log, console_line_is_human_readable)
{
    FILE *f = tmpfile();
    struct log l;
    struct tm tm = { 0 };
    time_t before = time(NULL), after, stamp;
    char *text, *rest;
    const char *want = " info  listening on /run/ustatsd.sock (ingest)\n";

    cr_assert_not_null(f);
    log_init(&l, LOG_CONSOLE, LOG_INFO, f);
    log_msg(&l, LOG_INFO, "ingest", "listening on %s", "/run/ustatsd.sock");
    log_msg(&l, LOG_ERROR, NULL, "bind(%s) failed: %s, exiting", "/x\ny", "EACCES");
    after = time(NULL);
    text = drain(f);

    /* 2026-11-21T06:40:01.123Z */
    rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    cr_assert_not_null(rest, "%s", text);
    cr_assert(rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' && rest[4] == 'Z', "%s", text);
    stamp = timegm(&tm);
    cr_assert(stamp >= before && stamp <= after, "%s", text);
    cr_assert_eq(strncmp(rest + 5, want, strlen(want)), 0, "%s", text);
    rest = strchr(rest, '\n') + 1;
    cr_assert_str_eq(rest + 24, " error bind(/x\\ny) failed: EACCES, exiting\n", "%s", text);
    free(text);
    log_release(&l);
    fclose(f);
}

Test(log, levels_below_the_minimum_are_dropped)
{
    FILE *f = tmpfile();
    struct log l;
    char *text;
    size_t lines = 0;

    cr_assert_not_null(f);
    log_init(&l, LOG_JSON, LOG_WARN, f);
    cr_assert_eq(log_enabled(&l, LOG_DEBUG), 0);
    cr_assert_eq(log_enabled(&l, LOG_INFO), 0);
    cr_assert_neq(log_enabled(&l, LOG_WARN), 0);
    log_msg(&l, LOG_DEBUG, "t", "d");
    log_msg(&l, LOG_INFO, "t", "i");
    log_msg(&l, LOG_WARN, "t", "w");
    log_msg(&l, LOG_ERROR, "t", "e");
    text = drain(f);
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    cr_assert_eq(lines, 2, "%s", text);
    cr_assert_not_null(strstr(text, "{\"level\":\"warn\""));
    cr_assert_not_null(strstr(text, "{\"level\":\"error\""));
    cr_assert_null(strstr(text, "\"info\""));
    free(text);
    log_release(&l);
    fclose(f);
}

Test(log, long_messages_are_cut_and_still_parse)
{
    FILE *f = tmpfile();
    struct log l;
    json_t *j;
    json_error_t err;
    char *text, *big = malloc(3 * LOG_MSG_MAX);
    const char *msg;

    cr_assert_not_null(f);
    cr_assert_not_null(big);
    memset(big, '"', 3 * LOG_MSG_MAX - 1);
    big[3 * LOG_MSG_MAX - 1] = '\0';
    log_init(&l, LOG_JSON, LOG_DEBUG, f);
    log_msg(&l, LOG_INFO, "", "%s", big);
    text = drain(f);
    j = json_loads(text, 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    msg = json_string_value(json_object_get(j, "message"));
    cr_assert_eq(strlen(msg), LOG_MSG_MAX - 1);
    cr_assert_str_eq(msg + LOG_MSG_MAX - 4, "...");
    cr_assert_null(json_object_get(j, "context"), "empty context is omitted");
    json_decref(j);
    free(text);
    free(big);
    log_release(&l);
    fclose(f);
}

struct name_case {
    char name[16];
    int format;
    int level;
};

static struct name_case name_cases[] = {
    { "console", LOG_CONSOLE, ERRCODE_UNKNOWN },  { "json", LOG_JSON, ERRCODE_UNKNOWN },
    { "debug", ERRCODE_UNKNOWN, LOG_DEBUG },      { "info", ERRCODE_UNKNOWN, LOG_INFO },
    { "warn", ERRCODE_UNKNOWN, LOG_WARN },        { "error", ERRCODE_UNKNOWN, LOG_ERROR },
    { "JSON", ERRCODE_UNKNOWN, ERRCODE_UNKNOWN }, { "warning", ERRCODE_UNKNOWN, ERRCODE_UNKNOWN },
    { "", ERRCODE_UNKNOWN, ERRCODE_UNKNOWN },     { "json ", ERRCODE_UNKNOWN, ERRCODE_UNKNOWN },
    { "log", ERRCODE_UNKNOWN, ERRCODE_UNKNOWN },
};

ParameterizedTestParameters(log, parses_format_and_level_names)
{
    return cr_make_param_array(struct name_case, name_cases,
                               sizeof(name_cases) / sizeof(name_cases[0]));
}

ParameterizedTest(struct name_case *c, log, parses_format_and_level_names)
{
    cr_assert_eq(log_format_parse(c->name), c->format, "%s", c->name);
    cr_assert_eq(log_level_parse(c->name), c->level, "%s", c->name);
    if (c->level >= 0)
        cr_assert_str_eq(log_level_name((enum log_level)c->level), c->name);
}

Test(log, null_sink_means_stderr)
{
    struct log l;

    log_init(&l, LOG_CONSOLE, LOG_ERROR, NULL);
    cr_assert_eq(l.out, stderr);
    cr_assert_eq(l.pid, (long)getpid());
    log_release(&l);
}
