#include "cli/nearname.h"

#include <ctype.h>
#include <string.h>

#include "statsd.h"

/* A name as compared: normalised, lower case, without a trailing "_total". */
static size_t fold(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n < cap; i++)
        out[n++] = (char)tolower((unsigned char)statsd_normalize_char(s[i]));
    if (n > 6 && memcmp(out + n - 6, "_total", 6) == 0)
        n -= 6;
    return n;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

static size_t levenshtein(const char *a, size_t an, const char *b, size_t bn)
{
    size_t row[STATSD_MAX_NAME + 1];

    for (size_t j = 0; j <= bn; j++)
        row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t up = row[j];

            row[j] = min3(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1]));
            diag = up;
        }
    }
    return row[bn];
}

size_t nearname_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    char fa[STATSD_MAX_NAME], fb[STATSD_MAX_NAME];
    size_t an = fold(a, alen, fa, sizeof fa), bn = fold(b, blen, fb, sizeof fb);

    return levenshtein(fa, an, fb, bn);
}

/* Whether the folded b holds the folded a whole, or the other way round. */
static int holds(const char *a, size_t an, const char *b, size_t bn)
{
    const char *big = an > bn ? a : b, *small = an > bn ? b : a;
    size_t bl = an > bn ? an : bn, sl = an > bn ? bn : an;

    if (sl < 3)
        return 0;
    for (size_t i = 0; i + sl <= bl; i++)
        if (memcmp(big + i, small, sl) == 0)
            return 1;
    return 0;
}

/*
 * Keep the candidate cand, shown as name, among the best NEARNAME_MAX, best (least
 * distance) first.
 */
static void consider(struct nearname *out, size_t *n, const char *cand, const char *name,
                     const char *what, const char *fa, size_t an)
{
    char fb[STATSD_MAX_NAME];
    size_t bn = fold(cand, strlen(cand), fb, sizeof fb), d = levenshtein(fa, an, fb, bn);
    size_t longer = an > bn ? an : bn, limit = longer / 3 < 2 ? 2 : longer / 3, i;

    if (d > limit && !holds(fa, an, fb, bn))
        return;
    for (i = 0; i < *n; i++)
        if (strcmp(out[i].name, name) == 0)
            return;
    for (i = *n; i > 0 && out[i - 1].distance > d; i--)
        if (i < NEARNAME_MAX)
            out[i] = out[i - 1];
    if (i < NEARNAME_MAX) {
        out[i] = (struct nearname){ name, what, d };
        if (*n < NEARNAME_MAX)
            (*n)++;
    }
}

size_t nearname_find(const struct config *c, const char *name, size_t len,
                     struct nearname out[NEARNAME_MAX])
{
    char fa[STATSD_MAX_NAME];
    size_t an = fold(name, len, fa, sizeof fa), n = 0;

    for (size_t i = 0; i < c->nfamilies; i++) {
        const struct config_family *f = &c->families[i];

        if (f->client_telemetry)
            continue;
        consider(out, &n, f->name, f->name, "family", fa, an);
        if (f->alias != NULL)
            consider(out, &n, f->alias, f->name, "family", fa, an);
    }
    for (size_t i = 0; i < c->njobs; i++)
        consider(out, &n, c->jobs[i].name, c->jobs[i].name, "job", fa, an);
    return n;
}
