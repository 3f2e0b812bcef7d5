/*
 * Helpers for the configuration's unit tests (test_config.c, test_cfgfamily.c).
 */
#ifndef USTATSD_TESTS_CFGTEST_H
#define USTATSD_TESTS_CFGTEST_H

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

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

#endif
