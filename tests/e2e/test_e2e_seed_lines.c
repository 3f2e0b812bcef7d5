/*
 * What every seed's config makes of its service's lines, beyond the lines themselves:
 * Datadog's unified service tags, and values that must never reach an exposition.
 *
 * - Each shipped config strips `env`, `service` and `version` (clients.strip_tags), a
 *   client with DD_ENV, DD_SERVICE or DD_VERSION set adding them to every line; only a
 *   seed where a family declares one of them as a label keeps it (seed 002's go_info and
 *   seed 004's models have a `version`; their READMEs say so). Each label that does not
 *   enumerate its values, a family's or an SQL metric's, has a `pattern` and an
 *   `overflow` value.
 * - Each seed's daemon (seed_start_daemon()) takes every line of its lines.txt plain
 *   (accepted, or rejected for the reason of a "# rejected: REASON" comment right before
 *   it), then again with the unified tags it strips, then, where the line's family has
 *   capped labels, with those labels' values replaced by private ones (an e-mail
 *   address, a signed URL): each variant counts exactly as the plain line did (lines
 *   accepted, and rejected by reason, in /debug), and no private value appears in any
 *   exposition.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/common.h"
#include "seeds/seedrun.h"

static const char *const unified[] = { "env", "service", "version" };
static const char *const unified_values[] = { "env:prod", "service:x", "version:1" };

/* What a service must never see exposed, whatever it sends. */
static const char *const private_values[] = {
    "jane.doe@example.com",
    "/x9Kq2Lw/rs:fit:300:300/plain/https://bucket.example/private/cat.jpg",
};

static int listed(json_t *array, const char *s)
{
    json_t *v;
    size_t i;

    json_array_foreach(array, i, v) if (strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* A name as the daemon reads it: `.` and `-` as `_`, a counter's `_total` left off. */
static void normalise(char *out, size_t size, const char *name, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;

    for (size_t i = 0; i < n; i++)
        out[i] = name[i] == '.' || name[i] == '-' ? '_' : name[i];
    out[n] = '\0';
    if (n > 6 && strcmp(out + n - 6, "_total") == 0)
        out[n - 6] = '\0';
}

/* The family of the config whose name is name (normalised), or NULL. */
static json_t *family_named(json_t *cfg, const char *name, size_t len)
{
    char want[256], have[256];
    json_t *f;
    size_t i;

    normalise(want, sizeof(want), name, len);
    json_array_foreach(json_object_get(cfg, "families"), i, f)
    {
        const char *n = json_string_value(json_object_get(f, "name"));

        normalise(have, sizeof(have), n, strlen(n));
        if (strcmp(have, want) == 0)
            return f;
    }
    return NULL;
}

/* The family's label named key (normalised), when it is capped (no `values`); or NULL. */
static json_t *capped_label(json_t *family, const char *key, size_t len)
{
    char want[128];
    json_t *l;
    size_t i;

    normalise(want, sizeof(want), key, len);
    json_array_foreach(json_object_get(family, "labels"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "name")), want) == 0)
            return json_object_get(l, "values") == NULL ? l : NULL;
    }
    return NULL;
}

/* ---- the configs ---- */

static int declares_label(json_t *cfg, const char *key)
{
    json_t *f, *l;
    size_t i, k;

    json_array_foreach(json_object_get(cfg, "families"), i, f)
    {
        json_array_foreach(json_object_get(f, "labels"), k, l)
        {
            if (strcmp(json_string_value(json_object_get(l, "name")), key) == 0)
                return 1;
        }
    }
    return 0;
}

/* The sections whose metrics have labels: families' from lines, SQL metrics' from rows. */
static const char *const bounded[] = { "families", "sql_metrics" };

static void check_config(const char *name)
{
    char path[600];
    json_error_t err;
    json_t *cfg, *strip, *f, *l;
    size_t i, k;

    snprintf(path, sizeof(path), "%s/packaging/seeds/%s/ustatsd.json", USTATSD_SOURCE_DIR, name);
    cfg = json_load_file(path, 0, &err);
    cr_assert_not_null(cfg, "%s:%d: %s", path, err.line, err.text);
    strip = json_object_get(json_object_get(cfg, "clients"), "strip_tags");
    for (i = 0; i < ARRAY_SIZE(unified); i++)
        cr_expect(listed(strip, unified[i]) || declares_label(cfg, unified[i]),
                  "%s: clients.strip_tags lacks \"%s\", which no family has as a label: a "
                  "client that sets it loses every line",
                  name, unified[i]);
    for (size_t s = 0; s < ARRAY_SIZE(bounded); s++) {
        json_array_foreach(json_object_get(cfg, bounded[s]), i, f)
        {
            json_array_foreach(json_object_get(f, "labels"), k, l)
            {
                if (json_object_get(l, "values") != NULL)
                    continue;
                cr_expect(json_object_get(l, "pattern") != NULL &&
                              json_object_get(l, "overflow") != NULL,
                          "%s: %s %s{%s} is capped, and has no pattern or no overflow value", name,
                          bounded[s], json_string_value(json_object_get(f, "name")),
                          json_string_value(json_object_get(l, "name")));
            }
        }
    }
    json_decref(cfg);
}

Test(e2e_seed_lines, every_seed_strips_the_unified_tags_and_bounds_every_capped_label)
{
    seed_each(check_config);
}

/* ---- the lines ---- */

/* The ingest counts of /debug: the section's JSON (the caller's). */
static json_t *counts(struct seed_run *s)
{
    char *body;
    json_t *j, *ingest;

    cr_assert_eq(daemon_wait_read(&s->d, 10000), 0, "%s: the daemon does not read", s->name);
    cr_assert_eq(daemon_get(&s->d, "/debug?section=ingest", NULL, &body), 200, "%s", s->name);
    j = json_loads(body, 0, NULL);
    cr_assert_not_null(j, "%s: %s", s->name, body);
    free(body);
    ingest = json_incref(json_object_get(j, "ingest"));
    json_decref(j);
    cr_assert_not_null(ingest, "%s: no ingest section", s->name);
    return ingest;
}

static double delta(json_t *from, json_t *to, const char *object, const char *key)
{
    json_t *a = object ? json_object_get(from, object) : from;
    json_t *b = object ? json_object_get(to, object) : to;

    return json_number_value(json_object_get(b, key)) - json_number_value(json_object_get(a, key));
}

/*
 * Send line, then variant: the line must be accepted, or rejected for the reason
 * `rejected` (not NULL), and the variant must count exactly as the line did.
 */
static void same_fate(struct seed_run *s, const char *line, size_t len, const char *rejected,
                      const struct buf *variant)
{
    json_t *c0 = counts(s), *c1, *c2, *v;
    const char *reason;

    cr_assert_eq(daemon_send(&s->d, line, len), 0);
    c1 = counts(s);
    if (rejected != NULL)
        cr_expect_eq(delta(c0, c1, "rejected_by_reason", rejected), 1,
                     "%s: `%.*s` is not rejected as %s", s->name, (int)len, line, rejected);
    else
        cr_expect_eq(delta(c0, c1, NULL, "lines_accepted"), 1, "%s: `%.*s` is rejected", s->name,
                     (int)len, line);
    cr_assert_eq(daemon_send(&s->d, variant->ptr, variant->len), 0);
    c2 = counts(s);
    cr_expect_eq(delta(c1, c2, NULL, "lines_accepted"), delta(c0, c1, NULL, "lines_accepted"),
                 "%s: `%.*s` was %s, `%.*s` was not", s->name, (int)variant->len, variant->ptr,
                 delta(c1, c2, NULL, "lines_accepted") > 0 ? "accepted" : "rejected", (int)len,
                 line);
    json_object_foreach(json_object_get(c2, "rejected_by_reason"), reason, v) cr_expect_eq(
        delta(c1, c2, "rejected_by_reason", reason), delta(c0, c1, "rejected_by_reason", reason),
        "%s: `%.*s` and `%.*s` differ in %s rejections", s->name, (int)len, line, (int)variant->len,
        variant->ptr, reason);
    json_decref(c0);
    json_decref(c1);
    json_decref(c2);
}

/* line with tags added to its tags (the last field, as lines.txt writes them). */
static void with_tags(struct buf *out, const char *line, size_t len, const char *tags)
{
    out->len = 0;
    buf_add(out, line, len);
    buf_adds(out, memmem(line, len, "|#", 2) != NULL ? "," : "|#");
    buf_adds(out, tags);
}

/*
 * line with the value of each tag that is a capped label of its family replaced by
 * value; 0 when it has none (then out means nothing).
 */
static int with_value(struct buf *out, json_t *cfg, const char *line, size_t len, const char *value)
{
    const char *hash = memmem(line, len, "|#", 2), *colon = memchr(line, ':', len);
    const char *end = line + len, *p;
    json_t *family;
    int replaced = 0;

    if (hash == NULL || colon == NULL ||
        (family = family_named(cfg, line, (size_t)(colon - line))) == NULL)
        return 0;
    out->len = 0;
    buf_add(out, line, (size_t)(hash + 2 - line));
    for (p = hash + 2; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;
        const char *sep = memchr(p, ':', (size_t)(stop - p));

        if (p > hash + 2)
            buf_addch(out, ',');
        if (sep != NULL && capped_label(family, p, (size_t)(sep - p)) != NULL) {
            buf_add(out, p, (size_t)(sep + 1 - p));
            buf_adds(out, value);
            replaced = 1;
        } else {
            buf_add(out, p, (size_t)(stop - p));
        }
        p = stop + (comma != NULL);
    }
    return replaced;
}

/*
 * The reason lines.txt expects line (in text) to be rejected for: the comment line right
 * before it, "# rejected: REASON"; NULL when it must be accepted.
 */
static const char *expected_rejection(const char *text, const char *line, char *reason, size_t size)
{
    static const char marker[] = "# rejected: ";
    const char *prev = line - 1;

    if (line == text)
        return NULL;
    while (prev > text && prev[-1] != '\n')
        prev--;
    if (strncmp(prev, marker, sizeof(marker) - 1) != 0)
        return NULL;
    snprintf(reason, size, "%.*s", (int)(line - 1 - prev - (sizeof(marker) - 1)),
             prev + sizeof(marker) - 1);
    return reason;
}

static void check_lines(const char *name)
{
    struct seed_run *s = seed_start_daemon(name);
    char *text = seed_read_file(s, "lines.txt"), *body;
    json_t *strip = json_object_get(json_object_get(s->shipped, "clients"), "strip_tags");
    const char *p = text, *line;
    struct buf tags = BUF_INIT, variant = BUF_INIT;
    size_t len, i;
    int privates = 0;

    for (i = 0; i < ARRAY_SIZE(unified); i++)
        if (listed(strip, unified[i])) {
            if (tags.len > 0)
                buf_addch(&tags, ',');
            buf_adds(&tags, unified_values[i]);
        }
    buf_addch(&tags, '\0');
    while ((line = seed_line(&p, &len)) != NULL) {
        char why[64];
        const char *rejected = expected_rejection(text, line, why, sizeof(why));

        if (tags.len > 1) {
            with_tags(&variant, line, len, tags.ptr);
            same_fate(s, line, len, rejected, &variant);
        }
        for (i = 0; i < ARRAY_SIZE(private_values); i++)
            if (with_value(&variant, s->shipped, line, len, private_values[i])) {
                same_fate(s, line, len, rejected, &variant);
                privates++;
            }
    }
    for (i = 0; i < 2; i++) {
        cr_assert_eq(daemon_get(&s->d, "/metrics", i ? DAEMON_OPENMETRICS : NULL, &body), 200);
        for (size_t k = 0; k < ARRAY_SIZE(private_values); k++) {
            const char *at = strstr(body, private_values[k]), *from = at;

            while (from != NULL && from > body && from[-1] != '\n')
                from--;
            cr_expect_null(at, "%s: %s is exposed: %.*s", s->name, private_values[k],
                           at ? (int)(strcspn(from, "\n")) : 0, from ? from : "");
        }
        free(body);
    }
    fprintf(stderr, "%s: every line counts the same with %s, and %d with private values\n", name,
            tags.ptr, privates);
    buf_release(&tags);
    buf_release(&variant);
    free(text);
    seed_finish(s);
}

Test(e2e_seed_lines, every_line_counts_the_same_with_unified_tags_and_private_values,
     .timeout = 300, .fini = seed_cleanup)
{
    seed_each(check_lines);
}
