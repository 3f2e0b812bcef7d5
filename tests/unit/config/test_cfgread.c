/*
 * The configuration's reader (cfgread): the JSON path in messages, and sections read from
 * schema tables, whose RESTART flags drive cfgread_changed().
 */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdio.h>

#include <jansson.h>

#include "config/cfgread.h"
#include "base/errcode.h"

struct sample {
    char *name;
    char *listen;
    uint32_t mode;
    int color;
    uint32_t count;
    size_t size;
    double seconds;
    char *level;
};

static const char *const colors[] = { "red", "green", "blue", NULL };
static const char *const levels[] = { "low", "high", NULL };

static const char *no_x(const char *s)
{
    return strchr(s, 'x') ? "must not hold 'x'" : NULL;
}

static const struct cfgread_key sample_keys[] = {
    { .name = "name",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NONEMPTY | CFGREAD_RESTART,
      .off = offsetof(struct sample, name),
      .sdflt = "anon",
      .check = no_x },
    { .name = "listen",
      .kind = CFGREAD_LISTEN,
      .flags = CFGREAD_NULLABLE | CFGREAD_RESTART,
      .off = offsetof(struct sample, listen) },
    { .name = "mode",
      .kind = CFGREAD_MODE,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct sample, mode),
      .udflt = 0640 },
    { .name = "color",
      .kind = CFGREAD_ENUM,
      .off = offsetof(struct sample, color),
      .udflt = 1,
      .choices = colors },
    { .name = "count",
      .kind = CFGREAD_UINT32,
      .off = offsetof(struct sample, count),
      .udflt = 7,
      .umin = 1,
      .umax = 10 },
    { .name = "size",
      .kind = CFGREAD_SIZE,
      .off = offsetof(struct sample, size),
      .udflt = 100,
      .umin = 2,
      .umax = SIZE_MAX },
    { .name = "seconds",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT | CFGREAD_RESTART,
      .off = offsetof(struct sample, seconds),
      .ddflt = 1.5,
      .dmin = 0,
      .dmax = 60 },
    { .name = "level",
      .kind = CFGREAD_STRING,
      .off = offsetof(struct sample, level),
      .sdflt = "low",
      .choices = levels },
};

/* Read text (NULL: the section is absent) as $.s of "t.json"; err gets the message. */
static int read_sample(const char *text, struct sample *out, char *err, size_t errlen)
{
    struct cfgread r;
    json_t *obj = NULL;
    size_t old;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    r.file = "t.json";
    r.err = err;
    r.errlen = errlen;
    err[0] = '\0';
    if (text != NULL) {
        obj = json_loads(text, 0, NULL);
        cr_assert_not_null(obj, "%s", text);
    }
    old = cfgread_push_key(&r, "s");
    rc = cfgread_section(&r, obj, sample_keys, ARRAY_SIZE(sample_keys), out);
    if (rc == 0) {
        cr_assert_str_eq(r.path, "$.s");
        cfgread_pop(&r, old);
    }
    json_decref(obj);
    return rc;
}

static void release(struct sample *s)
{
    cfgread_release(sample_keys, ARRAY_SIZE(sample_keys), s);
    cr_assert_null(s->name);
    cr_assert_null(s->level);
}

Test(cfgread, an_absent_section_takes_every_default)
{
    struct sample s;
    char err[256];

    cr_assert_eq(read_sample(NULL, &s, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(s.name, "anon");
    cr_assert_null(s.listen);
    cr_assert_eq(s.mode, 0640);
    cr_assert_eq(s.color, 1);
    cr_assert_eq(s.count, 7);
    cr_assert_eq(s.size, 100);
    cr_assert_eq(s.seconds, 1.5);
    cr_assert_str_eq(s.level, "low");
    release(&s);
}

Test(cfgread, each_kind_stores_where_its_row_says)
{
    struct sample s;
    char err[256];

    cr_assert_eq(read_sample("{\"name\": \"n\", \"listen\": \"unix:/run/x.sock\", \"mode\": "
                             "\"0600\", \"color\": \"blue\", \"count\": 10, \"size\": 2, "
                             "\"seconds\": 60, \"level\": \"high\"}",
                             &s, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_str_eq(s.name, "n");
    cr_assert_str_eq(s.listen, "unix:/run/x.sock");
    cr_assert_eq(s.mode, 0600);
    cr_assert_eq(s.color, 2);
    cr_assert_eq(s.count, 10);
    cr_assert_eq(s.size, 2);
    cr_assert_eq(s.seconds, 60);
    cr_assert_str_eq(s.level, "high");
    release(&s);
}

Test(cfgread, messages_name_the_file_the_path_and_the_problem)
{
    static const struct {
        const char *json, *err;
    } cases[] = {
        { "[]", "t.json: $.s: expected an object, got an array" },
        { "{\"nme\": 1}", "t.json: $.s.nme: unknown key" },
        { "{\"a.b\": 1}", "t.json: $.s[\"a.b\"]: unknown key" },
        { "{\"name\": \"\"}", "t.json: $.s.name: must not be empty" },
        { "{\"name\": null}", "t.json: $.s.name: expected a string, got null" },
        { "{\"listen\": 5}", "t.json: $.s.listen: expected a string or null, got a number" },
        { "{\"listen\": \"h:0\"}",
          "t.json: $.s.listen: \"h:0\" is not \"host:port\", \"unix:/path\" or \"\"" },
        { "{\"mode\": \"0800\"}",
          "t.json: $.s.mode: expected an octal string such as \"0660\", at most 0777" },
        { "{\"color\": 1}", "t.json: $.s.color: expected \"red\", \"green\" or \"blue\"" },
        { "{\"count\": 11}", "t.json: $.s.count: expected an integer from 1 to 10" },
        { "{\"size\": 1}", "t.json: $.s.size: expected an integer >= 2" },
        { "{\"seconds\": 0}", "t.json: $.s.seconds: expected a number > 0 and <= 60" },
        { "{\"level\": \"mid\"}", "t.json: $.s.level: expected \"low\" or \"high\"" },
        { "{\"name\": \"x\"}", "t.json: $.s.name: must not hold 'x'" },
        /* The string checks wait for the whole section: the type error is named first. */
        { "{\"name\": \"x\", \"level\": \"mid\", \"seconds\": \"1\"}",
          "t.json: $.s.seconds: expected a number > 0 and <= 60" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sample s;
        char err[256];

        cr_assert_eq(read_sample(cases[i].json, &s, err, sizeof(err)), ERRCODE_CONFIG, "%s",
                     cases[i].json);
        cr_assert_str_eq(err, cases[i].err, "%s", cases[i].json);
        cfgread_release(sample_keys, ARRAY_SIZE(sample_keys), &s);
    }
}

Test(cfgread, keep_and_required)
{
    static const struct cfgread_key keys[] = {
        { .name = "count",
          .kind = CFGREAD_UINT32,
          .flags = CFGREAD_KEEP,
          .off = offsetof(struct sample, count),
          .udflt = 7,
          .umax = 10 },
        { .name = "name",
          .kind = CFGREAD_STRING,
          .flags = CFGREAD_REQUIRED,
          .off = offsetof(struct sample, name) },
    };
    struct cfgread r;
    struct sample s;
    char err[128];
    json_t *obj = json_loads("{\"name\": \"n\"}", 0, NULL);

    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    r.file = "t.json";
    r.err = err;
    r.errlen = sizeof(err);
    s.count = 3;
    cr_assert_eq(cfgread_section(&r, obj, keys, ARRAY_SIZE(keys), &s), 0, "%s", err);
    cr_assert_eq(s.count, 3, "absent: kept, not the default");
    free(s.name);
    json_decref(obj);

    obj = json_loads("{\"count\": 2}", 0, NULL);
    s.name = NULL;
    cr_assert_eq(cfgread_section(&r, obj, keys, ARRAY_SIZE(keys), &s), ERRCODE_CONFIG);
    cr_assert_str_eq(err, "t.json: $.name: missing");
    cr_assert_eq(s.count, 2);
    json_decref(obj);
}

Test(cfgread, changed_compares_the_restart_rows_only)
{
    struct sample a, b;
    char err[256];

    cr_assert_eq(
        read_sample("{\"color\": \"red\", \"count\": 2, \"level\": \"low\"}", &a, err, sizeof(err)),
        0);
    cr_assert_eq(read_sample("{\"color\": \"blue\", \"count\": 3, \"level\": \"high\"}", &b, err,
                             sizeof(err)),
                 0);
    cr_assert_null(cfgread_changed(sample_keys, ARRAY_SIZE(sample_keys), &a, &b));
    release(&b);

    cr_assert_eq(read_sample("{\"listen\": \"\", \"seconds\": 2}", &b, err, sizeof(err)), 0);
    cr_assert_str_eq(cfgread_changed(sample_keys, ARRAY_SIZE(sample_keys), &a, &b)->name, "listen",
                     "NULL and \"\" differ; rows compare in table order");
    release(&b);

    cr_assert_eq(read_sample("{\"seconds\": 2}", &b, err, sizeof(err)), 0);
    cr_assert_str_eq(cfgread_changed(sample_keys, ARRAY_SIZE(sample_keys), &a, &b)->name,
                     "seconds");
    release(&b);
    release(&a);
}

Test(cfgread, paths_grow_and_shrink)
{
    struct cfgread r;
    char err[64];
    size_t a, b;

    memset(&r, 0, sizeof(r));
    r.file = "f";
    r.err = err;
    r.errlen = sizeof(err);
    cr_assert_eq(cfgread_fail(&r, "x"), ERRCODE_CONFIG);
    cr_assert_str_eq(err, "f: $: x");
    a = cfgread_push_key(&r, "families");
    b = cfgread_push_index(&r, 12);
    cfgread_push_key(&r, "9lives");
    cr_assert_str_eq(r.path, "$.families[12][\"9lives\"]");
    cfgread_pop(&r, b);
    cr_assert_str_eq(r.path, "$.families");
    cfgread_pop(&r, a);
    cr_assert_eq(r.plen, 0);
    /* A message longer than the buffer is cut, NUL-terminated. */
    cfgread_fail_at(&r, "k", "%0100d", 1);
    cr_assert_eq(strlen(err), sizeof(err) - 1);
}

/* A parser that keeps what cfgread_load() gave it. */
static int keep(void *out, const char *text, size_t len, const char *name, const char *basedir,
                char *err, size_t errlen)
{
    (void)name, (void)err, (void)errlen;
    snprintf(out, 128, "%.*s in %s", (int)len, text, basedir != NULL ? basedir : "(cwd)");
    return 0;
}

Test(cfgread, load_reads_the_file_then_parses_it_from_its_directory)
{
    char dir[32] = "/tmp/cfgload-XXXXXX", path[64], out[128] = "", want[96], err[128];
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/doc", dir);
    cr_assert_not_null(f = fopen(path, "w"));
    fputs("{ }", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(cfgread_load(out, path, 1 << 20, "cannot read: ", keep, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "{ } in %s", dir);
    cr_assert_str_eq(out, want);
    cr_assert_eq(cfgread_load(out, dir, 1 << 20, "cannot read: ", keep, err, sizeof(err)),
                 ERRCODE_CONFIG);
    snprintf(want, sizeof(want), "%s: cannot read: not a regular file", dir);
    cr_assert_str_eq(err, want);
    cr_assert_eq(cfgread_load(out, path, 2, "", keep, err, sizeof(err)), ERRCODE_CONFIG);
    snprintf(want, sizeof(want), "%s: larger than 2 bytes", path);
    cr_assert_str_eq(err, want);
    unlink(path);
    rmdir(dir);
}
