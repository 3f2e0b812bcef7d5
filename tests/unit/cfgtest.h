/*
 * Helpers for the configuration's unit tests (test_config.c, test_cfgfamily.c,
 * test_cfgsummary.c).
 */
#ifndef USTATSD_TESTS_CFGTEST_H
#define USTATSD_TESTS_CFGTEST_H

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "config/config.h"
#include "config/cfgload.h"

/*
 * Config texts are written with single quotes so that the tables stay readable; sq()
 * turns them into JSON's double quotes (no test value needs a literal quote).
 */
static inline void sq(char *s)
{
    for (; *s; s++)
        if (*s == '\'')
            *s = '"';
}

static inline int parse_sq(struct config *c, const char *text, char *err, size_t errlen)
{
    char *copy = strdup(text);
    int rc;

    cr_assert_not_null(copy);
    sq(copy);
    rc = cfgload_text(c, copy, strlen(copy), "test.json", err, errlen);
    free(copy);
    return rc;
}

static inline void must_parse(struct config *c, const char *text)
{
    char err[512];
    int rc = parse_sq(c, text, err, sizeof(err));

    cr_assert_eq(rc, 0, "parse failed: %s", err);
}

/*
 * json (single-quoted; changed in place) must be refused with a message that names
 * test.json, then path, and holds msg; the refusal leaves an empty config, safe to release.
 */
static inline void must_refuse(char *json, const char *path, const char *msg)
{
    struct config c;
    char err[512], want[160];

    sq(json);
    memset(&c, 0xa5, sizeof(c));
    cr_assert_eq(cfgload_text(&c, json, strlen(json), "test.json", err, sizeof(err)),
                 ERRCODE_CONFIG, "accepted: %s", json);
    snprintf(want, sizeof(want), "test.json: %s: ", path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "want path %s, got: %s", path, err);
    cr_assert_not_null(strstr(err, msg), "want \"%s\" in: %s", msg, err);
    cr_assert_eq(c.nfamilies, 0);
    cr_assert_null(c.families);
    cr_assert_null(c.path);
    cfgload_release(&c);
}

#endif
