#include "pg/sqllog.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonstr.h"

const char *sqllog_why_text(enum config_fold why)
{
    switch (why) {
    case CONFIG_FOLD_NOT_ALLOWED:
        return "is not among the label's values";
    case CONFIG_FOLD_TOO_LONG:
        return "is longer than limits.max_label_value_length";
    case CONFIG_FOLD_CAP:
        return "is new beyond the label's max_values";
    case CONFIG_FOLD_PATTERN:
        return "does not match the label's pattern";
    default:
        return "was refused";
    }
}

enum sqllog_say sqllog_run(struct sqllog_metric *m, int reason, const char *sqlstate)
{
    enum sqllog_state was = m->state;
    const char *st = sqlstate != NULL ? sqlstate : "";

    if (reason < 0) {
        m->state = SQLLOG_IS_UP;
        if (was == SQLLOG_IS_UP)
            return SQLLOG_QUIET;
        return was == SQLLOG_IS_NEW ? SQLLOG_SAY_UP : SQLLOG_SAY_RECOVERED;
    }
    if (was == SQLLOG_IS_DOWN && m->reason == reason && strncmp(m->sqlstate, st, 5) == 0)
        return SQLLOG_QUIET;
    m->state = SQLLOG_IS_DOWN;
    m->reason = reason;
    snprintf(m->sqlstate, sizeof(m->sqlstate), "%.5s", st);
    return was == SQLLOG_IS_DOWN ? SQLLOG_SAY_CHANGED : SQLLOG_SAY_DOWN;
}

static size_t kept(size_t len)
{
    return len < SQLLOG_VALUE_MAX ? len : SQLLOG_VALUE_MAX;
}

static void keep(struct sqllog_value *v, uint32_t label, enum config_fold why, const char *s,
                 size_t len)
{
    v->label = label;
    v->why = (uint32_t)why;
    v->len = len;
    memcpy(v->text, s, kept(len));
}

void sqllog_reject(struct sqllog_metric *m, uint32_t label, enum config_fold why, const char *s,
                   size_t len)
{
    struct sqllog_value *v;

    for (size_t i = 0; i < m->nvalues; i++) {
        v = &m->values[i];
        if (v->label == label && v->len == len && memcmp(v->text, s, kept(len)) == 0)
            return;
    }
    if (m->nvalues == SQLLOG_MAX_VALUES) {
        if (m->more == 0)
            m->more = 1;
        return;
    }
    keep(&m->values[m->nvalues++], label, why, s, len);
}

void sqllog_fold(struct sqllog_metric *m, uint32_t label, enum config_fold why, const char *s,
                 size_t len)
{
    if (m->folded != 0)
        return;
    keep(&m->fold, label, why, s, len);
    m->folded = 1;
}

const struct sqllog_value *sqllog_take_fold(struct sqllog_metric *m)
{
    if (m->folded != 1)
        return NULL;
    m->folded = 2;
    return &m->fold;
}

const struct sqllog_value *sqllog_next_value(struct sqllog_metric *m)
{
    return m->said < m->nvalues ? &m->values[m->said++] : NULL;
}

int sqllog_take_more(struct sqllog_metric *m)
{
    if (m->more != 1 || m->said < m->nvalues)
        return 0;
    m->more = 2;
    return 1;
}

void sqllog_describe(struct buf *b, const struct config_sql_metric *m, const struct sqllog_value *v)
{
    buf_reset(b);
    buf_addf(b, "label %s value ", m->labels[v->label].name);
    jsonstr_add_quoted(b, v->text, kept(v->len));
    buf_addf(b, "%s %s", v->len > SQLLOG_VALUE_MAX ? "..." : "",
             sqllog_why_text((enum config_fold)v->why));
}
