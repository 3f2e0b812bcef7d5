#include "cli/explaintext.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonstr.h"
#include "cli/nearname.h"
#include "statsd.h"

/* ---- the part of the line ---- */

/* The field after the values that starts with c ('@', '#', 'T'), or the type (c 0). */
static size_t field(const char *line, size_t len, char c, const char **at)
{
    const char *p = memchr(line, '|', len), *end = line + len;

    while (p != NULL) {
        const char *f = p + 1, *q = memchr(f, '|', (size_t)(end - f));
        size_t n = (size_t)((q ? q : end) - f);

        if (c == 0 || (n > 0 && f[0] == c)) {
            *at = f;
            return n;
        }
        p = q;
    }
    *at = line;
    return len;
}

/* The name (to the first ':' or '|') or the values (from there to the next '|'). */
static size_t name_or_values(const char *line, size_t len, int values, const char **at)
{
    size_t i = 0, j;

    if (len >= 4 && memcmp(line, "_sc|", 4) == 0) { /* a service check: its job's name */
        const char *q = memchr(line + 4, '|', len - 4);

        *at = line + 4;
        return (size_t)((q ? q : line + len) - *at);
    }
    while (i < len && line[i] != ':' && line[i] != '|')
        i++;
    if (!values) {
        *at = line;
        return i;
    }
    j = i < len && line[i] == ':' ? i + 1 : i;
    *at = line + j;
    while (j < len && line[j] != '|')
        j++;
    return (size_t)(line + j - *at);
}

size_t explaintext_part(const char *line, size_t len, const struct intake_verdict *v,
                        const char **at)
{
    if (v->parsed && v->fam.tag >= 0) {
        const struct statsd_tag *t = &v->line.tags[v->fam.tag];
        const char *end = t->value.len > 0 ? t->value.ptr + t->value.len : t->key.ptr + t->key.len;

        *at = t->key.ptr;
        return (size_t)(end - t->key.ptr);
    }
    switch (v->reason) {
    case STATSD_EMPTY_NAME:
    case STATSD_NAME_TOO_LONG:
    case STATSD_INVALID_NAME:
    case STATSD_UNKNOWN_FAMILY:
    case STATSD_GROUP_EXCLUDED:
    case STATSD_UNKNOWN_JOB:
    case STATSD_SENDER_NOT_ALLOWED:
        return name_or_values(line, len, 0, at);
    case STATSD_MISSING_VALUE:
    case STATSD_INVALID_VALUE:
    case STATSD_NON_FINITE:
    case STATSD_TOO_MANY_VALUES:
    case STATSD_PACKED_NOT_ALLOWED:
    case STATSD_NEGATIVE_COUNTER:
    case STATSD_INVALID_JOB_COUNT:
        return name_or_values(line, len, 1, at);
    case STATSD_INVALID_JOB_OUTCOME:
        return v->parsed && v->line.type != STATSD_JOB ? field(line, len, '#', at)
                                                       : name_or_values(line, len, 1, at);
    case STATSD_MISSING_TYPE:
    case STATSD_UNKNOWN_TYPE:
    case STATSD_SET_UNSUPPORTED:
    case STATSD_TYPE_MISMATCH:
        return field(line, len, 0, at);
    case STATSD_INVALID_SAMPLE_RATE:
        return field(line, len, '@', at);
    case STATSD_INVALID_TIMESTAMP:
        return field(line, len, 'T', at);
    case STATSD_INVALID_TAG:
    case STATSD_TOO_MANY_TAGS:
    case STATSD_TAG_KEY_TOO_LONG:
    case STATSD_TAG_VALUE_TOO_LONG:
    case STATSD_DUPLICATE_TAG:
    case STATSD_INVALID_UTF8:
        return field(line, len, '#', at);
    default:
        *at = line;
        return len;
    }
}

/* ---- the config key ---- */

static const struct config_family *family_of(const struct registry *reg,
                                             const struct intake_verdict *v)
{
    return v->fam.family >= 0 ? registry_family_config(reg, (size_t)v->fam.family) : NULL;
}

static int in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* The key of a label reason: the label's own key that decides, else the family's list. */
static void label_key(const struct config *c, const struct config_family *f, long label, int reason,
                      char *key, size_t keylen)
{
    const struct config_label *l = label >= 0 ? &f->labels[label] : NULL;
    const char *leaf = "";

    if (f->client_telemetry) {
        snprintf(key, keylen, "clients.dogstatsd_telemetry");
        return;
    }
    switch (reason) {
    case STATSD_LABEL_VALUE_NOT_ALLOWED:
        leaf = ".values";
        break;
    case STATSD_LABEL_VALUE_PATTERN:
        leaf = ".pattern";
        break;
    case STATSD_LABEL_VALUES_CAP:
        leaf = ".max_values";
        break;
    case STATSD_LABEL_VALUE_TOO_LONG:
        snprintf(key, keylen, "limits.max_label_value_length");
        return;
    default:
        break;
    }
    if (l == NULL) /* an undeclared key (or none found) */
        snprintf(key, keylen, "families.%s.labels", f->name);
    else
        snprintf(key, keylen, "families.%s.labels.%s%s", f->name, l->name, leaf);
    (void)c;
}

void explaintext_key(const struct config *c, const struct registry *reg,
                     const struct intake_verdict *v, char *key, size_t keylen)
{
    const struct config_family *f = family_of(reg, v);
    const struct config_job *j = v->job >= 0 ? &c->jobs[v->job] : NULL;

    key[0] = '\0';
    switch (v->reason) {
    case STATSD_UNKNOWN_FAMILY:
        snprintf(key, keylen, "families");
        break;
    case STATSD_UNKNOWN_JOB:
        snprintf(key, keylen, "jobs.list");
        break;
    case STATSD_GROUP_EXCLUDED:
        if (f != NULL)
            snprintf(key, keylen, "%s (families.%s.group \"%s\")",
                     in_list(c->exclude_groups, c->nexclude_groups, f->group) ? "groups.exclude"
                                                                              : "groups.include",
                     f->name, f->group);
        break;
    case STATSD_TYPE_MISMATCH:
        if (f != NULL && f->type == FAMILY_GAUGE && v->line.type == STATSD_COUNTER)
            snprintf(key, keylen, "families.%s.updown", f->name);
        else if (f != NULL)
            snprintf(key, keylen, "families.%s.type", f->name);
        else if (v->parsed && (v->line.type == STATSD_JOB || v->line.type == STATSD_SERVICE_CHECK))
            snprintf(key, keylen, "jobs.list");
        break;
    case STATSD_NEGATIVE_COUNTER:
        if (f != NULL)
            snprintf(key, keylen, "families.%s.type", f->name);
        break;
    case STATSD_LABEL_NOT_ALLOWED:
    case STATSD_DUPLICATE_TAG:
    case STATSD_LABEL_VALUE_NOT_ALLOWED:
    case STATSD_LABEL_VALUE_TOO_LONG:
    case STATSD_LABEL_VALUE_PATTERN:
    case STATSD_LABEL_VALUES_CAP:
        if (f != NULL)
            label_key(c, f, v->fam.label, v->reason, key, keylen);
        break;
    case STATSD_SERIES_CAP:
        if (f != NULL && registry_family_series(reg, (size_t)v->fam.family) >=
                             registry_family_cap(reg, (size_t)v->fam.family))
            snprintf(key, keylen, "limits.max_series_per_family");
        else
            snprintf(key, keylen, "limits.max_series");
        break;
    case STATSD_INVALID_JOB_OUTCOME:
        if (j != NULL && v->line.type == STATSD_COUNTER)
            snprintf(key, keylen, "jobs.list.%s.counter.outcome_tag", j->name);
        break;
    case STATSD_SENDER_NOT_ALLOWED: {
        const struct config_writers *w = v->writers;

        if (w != NULL && w >= c->writers && w < c->writers + c->nwriters)
            snprintf(key, keylen, "writers[%zu]", (size_t)(w - c->writers));
        break;
    }
    default:
        break;
    }
}

/* ---- the text ---- */

static void add_series(struct buf *out, const struct config_family *f,
                       const struct registry_dryrun *d)
{
    static const char *const parts[] = { "", "", " (_bucket, _sum, _count)",
                                         " (quantiles, _sum, _count)" };

    buf_adds(out, "  series    ");
    buf_adds(out, f->name);
    if (f->type == FAMILY_COUNTER && !f->total_in_name)
        buf_adds(out, "_total");
    if (d->nlabels > 0) {
        buf_addch(out, '{');
        for (size_t i = 0; i < d->nlabels; i++) {
            if (i > 0)
                buf_addch(out, ',');
            buf_addf(out, "%s=", d->labels[i].name);
            jsonstr_add_quoted(out, d->labels[i].value, d->labels[i].value_len);
        }
        buf_addch(out, '}');
    }
    buf_adds(out, f->type <= FAMILY_SUMMARY ? parts[f->type] : "");
    buf_addch(out, '\n');
}

/* What an accepted line cost, and what the running daemon's counts decide. */
static void add_notes(struct buf *out, const struct config *c, const struct config_family *f,
                      const struct registry_dryrun *d)
{
    for (size_t j = 0; j < f->nlabels; j++) {
        const struct config_label *l = &f->labels[j];

        if (d->folded[j] != CONFIG_FOLD_NONE)
            buf_addf(out,
                     "  note      label %s: the value folds into \"%s\" (%s; "
                     "families.%s.labels.%s.overflow)\n",
                     l->name, l->overflow, config_fold_name((enum config_fold)d->folded[j]),
                     f->name, l->name);
        else if ((d->fresh & (1u << j)) && l->values == NULL)
            buf_addf(out,
                     "  note      label %s: a value the daemon may not hold yet: it takes "
                     "it while the label holds fewer than %u values "
                     "(families.%s.labels.%s.max_values); its counts decide\n",
                     l->name, l->max_values, f->name, l->name);
    }
    for (size_t i = 0; i < c->nstrip_tags; i++)
        if (d->stripped & (1u << i))
            buf_addf(out, "  note      tag %s removed (clients.strip_tags)\n", c->strip_tags[i]);
    if (d->dropped > 0)
        buf_addf(out, "  note      %u undeclared tag(s) dropped (families.%s.undeclared_labels)\n",
                 d->dropped, f->name);
    if (d->new_series)
        buf_addf(out,
                 "  note      a series the daemon may not hold yet: it takes it while the "
                 "family holds fewer than %zu series (limits.max_series_per_family) and all "
                 "families fewer than %zu (limits.max_series); its counts decide\n",
                 c->max_series_per_family, c->max_series);
}

static void add_nearest(struct buf *out, const struct config *c, const struct intake_verdict *v)
{
    struct nearname near[NEARNAME_MAX];
    const struct statsd_view *name = &v->line.name;
    size_t n = nearname_find(c, name->ptr, name->len, near);

    for (size_t i = 0; i < n; i++)
        buf_addf(out, "  nearest   %s (%s)\n", near[i].name, near[i].what);
    if (n == 0)
        buf_adds(out, "  nearest   none: no declared name is close\n");
}

void explaintext_write(struct buf *out, const struct config *c, const struct registry *reg,
                       const char *line, size_t len, const struct intake_verdict *v)
{
    const struct config_family *f = family_of(reg, v);
    char key[512];
    const char *at;
    size_t n;

    buf_adds(out, v->reason == STATSD_OK ? "accepted  " : "rejected  ");
    buf_add(out, line, len);
    buf_addch(out, '\n');
    if (v->reason == STATSD_OK && v->job >= 0) {
        buf_addf(out, "  job       %s (jobs.list)\n", c->jobs[v->job].name);
        return;
    }
    if (v->reason == STATSD_OK && f != NULL) {
        buf_addf(out, "  family    %s (%s)\n", f->name, config_family_type_name(f->type));
        add_series(out, f, &v->fam);
        add_notes(out, c, f, &v->fam);
        return;
    }
    buf_addf(out, "  reason    %s: %s\n", statsd_reason_name(v->reason),
             statsd_reason_msg(v->reason));
    n = explaintext_part(line, len, v, &at);
    buf_adds(out, "  at        ");
    buf_add(out, at, n);
    buf_addch(out, '\n');
    explaintext_key(c, reg, v, key, sizeof key);
    if (key[0] != '\0')
        buf_addf(out, "  config    %s\n", key);
    else if (v->reason <= STATSD_PARSER_REASON_LAST)
        buf_adds(out, "  config    none: the wire protocol (PROTOCOL.md) refuses it\n");
    if (v->fam.reclaim)
        buf_adds(out, "  note      the family may hold expired series: the daemon frees "
                      "those first, and may take the line\n");
    if (v->reason == STATSD_UNKNOWN_FAMILY || v->reason == STATSD_UNKNOWN_JOB)
        add_nearest(out, c, v);
}
