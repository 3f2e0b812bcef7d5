#include "testdata.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

void testdata_open(struct testdata *t, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/proto/testdata/%s", USTATSD_SOURCE_DIR, name);
    t->f = fopen(path, "r");
    cr_assert_not_null(t->f, "cannot open %s", path);
    t->buf = NULL;
    t->cap = 0;
    t->lineno = 0;
}

void testdata_close(struct testdata *t)
{
    fclose(t->f);
    free(t->buf);
}

int testdata_next(struct testdata *t, struct testdata_row *row)
{
    ssize_t n;

    while ((n = getline(&t->buf, &t->cap, t->f)) >= 0) {
        char *s = t->buf;
        t->lineno++;
        if (n > 0 && t->buf[n - 1] == '\n')
            t->buf[--n] = '\0';
        if (n == 0 || t->buf[0] == '#')
            continue;
        row->lineno = t->lineno;
        row->nfields = 0;
        for (;;) {
            char *tab;
            cr_assert_lt(row->nfields, TESTDATA_MAX_FIELDS, "line %d: too many fields", t->lineno);
            row->field[row->nfields++] = s;
            tab = strchr(s, '\t');
            if (!tab)
                break;
            *tab = '\0';
            s = tab + 1;
        }
        return 1;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *testdata_decode(const char *s, size_t *len, int lineno)
{
    size_t n = strlen(s), o = 0, i;
    char *tmp = malloc(n + 1), *out;

    cr_assert_not_null(tmp);
    for (i = 0; i < n; i++) {
        char e;
        if (s[i] != '\\') {
            tmp[o++] = s[i];
            continue;
        }
        cr_assert_lt(i + 1, n, "line %d: dangling backslash", lineno);
        e = s[++i];
        if (e == 'n') {
            tmp[o++] = '\n';
        } else if (e == 'r') {
            tmp[o++] = '\r';
        } else if (e == 't') {
            tmp[o++] = '\t';
        } else if (e == '\\') {
            tmp[o++] = '\\';
        } else if (e == 'x') {
            int hi, lo;
            cr_assert_lt(i + 2, n, "line %d: short \\x escape", lineno);
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            cr_assert(hi >= 0 && lo >= 0, "line %d: bad \\x escape", lineno);
            tmp[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            cr_assert_fail("line %d: unknown escape \\%c", lineno, e);
        }
    }
    out = malloc(o ? o : 1);
    cr_assert_not_null(out);
    memcpy(out, tmp, o);
    free(tmp);
    *len = o;
    return out;
}
