#include "exposcan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double expo_value(const char *body, const char *series)
{
    size_t n = strlen(series);
    const char *p = body;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p += n;
    }
    return NAN;
}

double expo_sum(const char *body, const char *name, int *found)
{
    size_t nl = strlen(name);
    const char *p = body;
    double sum = 0;

    *found = 0;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            eol = p + strlen(p);
        if (strncmp(p, name, nl) == 0 && (p[nl] == ' ' || p[nl] == '{')) {
            const char *v = p + nl;
            if (*v == '{') {
                v = memchr(v, '}', (size_t)(eol - v));
                v = v != NULL ? v + 1 : eol;
            }
            sum += strtod(v, NULL);
            (*found)++;
        }
        p = *eol ? eol + 1 : eol;
    }
    return sum;
}

/* Append "<what>: <series>\n" to out, cut at outlen. */
static void note(char *out, size_t outlen, size_t *used, const char *what, const char *s,
                 size_t len)
{
    int n;

    if (*used + 1 >= outlen)
        return;
    n = snprintf(out + *used, outlen - *used, "%s: %.*s\n", what, (int)len, s);
    *used += n < 0 ? 0 : (size_t)n;
    if (*used >= outlen)
        *used = outlen - 1;
}

/* Whether the line "<series> <value>" is in body, for any value. */
static int has_series(const char *body, const char *series, size_t len)
{
    const char *p = body;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[len] == ' ')
            return 1;
        p += len;
    }
    return 0;
}

static int listed(const char *const *skip, const char *name, size_t len)
{
    for (size_t i = 0; skip != NULL && skip[i] != NULL; i++)
        if (strlen(skip[i]) == len && memcmp(skip[i], name, len) == 0)
            return 1;
    return 0;
}

size_t expo_undated(const char *body, const char *const *skip, char *out, size_t outlen)
{
    char fam[256] = "", want[1024];
    const char *point = "", *p = body;
    size_t fl = 0, used = 0, problems = 0;

    if (outlen > 0)
        out[0] = '\0';
    for (; *p; p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : p + strlen(p)) {
        const char *eol = strchr(p, '\n') ? strchr(p, '\n') : p + strlen(p), *sp, *dot;
        size_t len = (size_t)(eol - p);

        if (strncmp(p, "# TYPE ", 7) == 0) {
            const char *t = memchr(p + 7, ' ', len - 7);

            fl = t ? (size_t)(t - p - 7) : 0;
            snprintf(fam, sizeof fam, "%.*s", (int)fl, p + 7);
            /* The sample that ends a point which takes a _created. */
            point = "";
            if (t != NULL && strncmp(t, " counter\n", 9) == 0)
                point = "_total";
            else if (t != NULL &&
                     (strncmp(t, " histogram\n", 11) == 0 || strncmp(t, " summary\n", 9) == 0))
                point = "_count";
            if (listed(skip, fam, fl))
                point = "";
            continue;
        }
        if (p[0] == '#' || len == 0 || fl == 0 || strncmp(p, fam, fl) != 0)
            continue;
        /* The series is all before the last space, the value after it. */
        for (sp = eol; sp > p && sp[-1] != ' '; sp--)
            ;
        if (sp == p)
            continue;
        if (strncmp(p + fl, "_created", 8) == 0 && (p[fl + 8] == ' ' || p[fl + 8] == '{')) {
            dot = memchr(sp, '.', (size_t)(eol - sp));
            if (dot != NULL && strspn(dot + 1, "0123456789") > 3 && ++problems)
                note(out, outlen, &used, "more than ms precision", p, len);
            continue;
        }
        if (point[0] == '\0' || strncmp(p + fl, point, strlen(point)) != 0 ||
            (p[fl + strlen(point)] != ' ' && p[fl + strlen(point)] != '{'))
            continue;
        /* x_total{L} (or x_count{L}) wants x_created{L}. */
        snprintf(want, sizeof want, "%s_created%.*s", fam, (int)(sp - 1 - (p + fl + strlen(point))),
                 p + fl + strlen(point));
        if (!has_series(body, want, strlen(want)) && ++problems)
            note(out, outlen, &used, "no _created", p, (size_t)(sp - 1 - p));
    }
    return problems;
}
