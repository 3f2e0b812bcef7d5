#include "seedlabels.h"

#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "seedprom.h"
#include "waitfor.h"

#define MAX_DEPTH 64

struct has_label {
    struct seed_run *s;
    const char *expr;
    const char *label;
    int refused;
};

/* Whether the instant query has a series with the label; a refusal ends the wait. */
static int has_label(void *arg)
{
    struct has_label *h = arg;
    json_t *result = seedprom_query(h->s, h->expr, &h->refused), *sample;
    size_t i;
    int found = 0;

    json_array_foreach(result, i, sample) found |=
        json_object_get(json_object_get(sample, "metric"), h->label) != NULL;
    json_decref(result);
    return found || h->refused;
}

static void check_label(struct seed_run *s, const char *what, const char *expr, const char *label,
                        const char *context)
{
    struct has_label h = { s, expr, label, 0 };

    if (waitfor_cond(has_label, &h, seed_remaining(s)) != 0)
        cr_assert_fail("%s: %s %s `%s`, which no series has: %s\nlast answer: %s", s->name, what,
                       context, label, expr, s->last ? s->last : "(none)");
    cr_assert(!h.refused, "%s: %s: Prometheus refused %s: %s", s->name, what, expr, s->last);
}

static int ident(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == ':';
}

/* p at a quote: the closing quote, or NULL. */
static const char *string_end(const char *p)
{
    char quote = *p;

    for (p++; *p && *p != quote; p++)
        if (*p == '\\' && quote != '`' && p[1] != '\0')
            p++;
    return *p ? p : NULL;
}

/* p at '(': the matching ')', strings skipped; NULL when there is none. */
static const char *closing(const char *p)
{
    int depth = 0;

    for (; *p; p++) {
        if (*p == '"' || *p == '\'' || *p == '`') {
            if ((p = string_end(p)) == NULL)
                return NULL;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')' && --depth == 0) {
            return p;
        }
    }
    return NULL;
}

static const char *skip_spaces(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/*
 * The clause `by (labels)` at by: each label must be on the aggregation's argument, the
 * group that follows the clause, or the one that closed just before it (arg0, arg1).
 */
static void check_by(struct seed_run *s, const char *what, const char *expr, const char *by,
                     const char *arg0, const char *arg1)
{
    const char *list = skip_spaces(by + 2), *end, *next;
    struct buf q = BUF_INIT;

    cr_assert(*list == '(' && (end = strchr(list, ')')) != NULL, "%s: %s: `by` without labels: %s",
              s->name, what, expr);
    next = skip_spaces(end + 1);
    if (*next == '(') {
        arg0 = next;
        arg1 = closing(next);
    }
    cr_assert(arg0 != NULL && arg1 != NULL, "%s: %s: no argument to `by` in %s", s->name, what,
              expr);
    for (const char *l = list + 1; l < end;) {
        size_t n;
        char label[128];

        l = skip_spaces(l);
        for (n = 0; ident(l[n]); n++)
            ;
        if (n > 0) {
            snprintf(label, sizeof(label), "%.*s", (int)n, l);
            q.len = 0;
            buf_addf(&q, "count by (%s) %.*s", label, (int)(arg1 + 1 - arg0), arg0);
            buf_addch(&q, '\0');
            check_label(s, what, q.ptr, label, "groups by");
        }
        l = strchr(l + n, ',');
        l = l != NULL && l < end ? l + 1 : end;
    }
    buf_release(&q);
}

static void check_groupings(struct seed_run *s, const char *what, const char *expr)
{
    const char *open[MAX_DEPTH], *last0 = NULL, *last1 = NULL;
    int depth = 0;

    for (const char *p = expr; *p; p++) {
        if (*p == '"' || *p == '\'' || *p == '`') {
            p = string_end(p);
            cr_assert_not_null(p, "%s: %s: an unclosed string in %s", s->name, what, expr);
        } else if (*p == '(') {
            cr_assert_lt(depth, MAX_DEPTH);
            open[depth++] = p;
        } else if (*p == ')' && depth > 0) {
            last0 = open[--depth];
            last1 = p;
        } else if (p[0] == 'b' && p[1] == 'y' && (p == expr || !ident(p[-1])) && !ident(p[2])) {
            /* The group before counts only when nothing but spaces lies between. */
            int adjacent = last1 != NULL && skip_spaces(last1 + 1) == p;

            check_by(s, what, expr, p, adjacent ? last0 : NULL, adjacent ? last1 : NULL);
        }
    }
}

void seedlabels_check(struct seed_run *s, const char *what, const char *expr, const char *legend)
{
    check_groupings(s, what, expr);
    for (const char *p = legend; p != NULL && (p = strstr(p, "{{")) != NULL;) {
        const char *name = skip_spaces(p + 2), *end = strstr(name, "}}");
        size_t n;
        char label[128];

        cr_assert_not_null(end, "%s: %s: an unclosed {{ in the legend %s", s->name, what, legend);
        for (n = 0; ident(name[n]); n++)
            ;
        cr_assert(n > 0 && skip_spaces(name + n) == end, "%s: %s: the legend %s is no {{label}}",
                  s->name, what, legend);
        snprintf(label, sizeof(label), "%.*s", (int)n, name);
        check_label(s, what, expr, label, "shows in its legend");
        p = end + 2;
    }
}
