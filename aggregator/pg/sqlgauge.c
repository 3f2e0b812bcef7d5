#include "pg/sqlgauge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"

static const char *const reason_names[] = {
#define SQLGAUGE_REASON_NAME(e, s) s,
    SQLGAUGE_REASON_MAP(SQLGAUGE_REASON_NAME)
#undef SQLGAUGE_REASON_NAME
};

const char *sqlgauge_reason_name(enum sqlgauge_reason r)
{
    return (unsigned)r < SQLGAUGE_REASON_COUNT ? reason_names[r] : "unknown";
}

void sqlgauge_build_init(struct sqlgauge_build *b, const struct config *cfg,
                         const struct config_sql_metric *m)
{
    memset(b, 0, sizeof(*b));
    b->m = m;
    b->nlabels = m->nlabels < CONFIG_MAX_LABELS ? m->nlabels : CONFIG_MAX_LABELS;
    b->max_rows =
        cfg->max_series_per_family ? cfg->max_series_per_family : CONFIG_DEFAULT_MAX_FAMILY_SERIES;
    b->max_len = cfg->max_label_value_len ? cfg->max_label_value_len : CONFIG_DEFAULT_MAX_LABEL_LEN;
}

int sqlgauge_parse_value(const char *s, int is_bool, double *out)
{
    char *end;

    if (is_bool) {
        if (s[0] == 't' || s[0] == 'f') {
            *out = s[0] == 't';
            return 0;
        }
        return ERRCODE_BADVALUE;
    }
    if (s[0] == '\0')
        return ERRCODE_BADVALUE;
    /* strtod also takes float8's and numeric's "Infinity", "-Infinity" and "NaN". */
    errno = 0;
    *out = strtod(s, &end);
    if (*end != '\0')
        return ERRCODE_BADVALUE;
    return 0;
}

/* Why the label refuses value s, or -1 when it takes it. */
static int label_refusal(const struct sqlgauge_build *b, size_t j, const char *s, uint32_t len)
{
    const struct config_label *l = &b->m->labels[j];
    size_t i;

    if (len > b->max_len)
        return SQLLOG_TOO_LONG;
    if (l->values != NULL) {
        for (i = 0; i < l->nvalues; i++)
            if (strlen(l->values[i]) == len && memcmp(l->values[i], s, len) == 0)
                return -1;
        return SQLLOG_NOT_LISTED;
    }
    if (strset_has(&b->seen[j], s, len) ||
        b->seen[j].n < (l->max_values ? l->max_values : CONFIG_DEFAULT_MAX_LABEL_VALUES))
        return -1;
    return SQLLOG_OVER_CAP;
}

/* The reason the row is skipped, SQLGAUGE_KEPT to keep it, or SQLGAUGE_ABSENT. */
static int judge(struct sqlgauge_build *b, const struct sqlgauge_cell *labels,
                 const struct sqlgauge_cell *value, int is_bool, double *v)
{
    size_t j;
    int why;

    for (j = 0; j < b->nlabels; j++) {
        if (labels[j].isnull)
            return SQLGAUGE_REASON_NULL_LABEL;
        if ((why = label_refusal(b, j, labels[j].s, labels[j].len)) >= 0) {
            if (b->log != NULL)
                sqllog_reject(b->log, (uint32_t)j, (enum sqllog_why)why, labels[j].s,
                              labels[j].len);
            return SQLGAUGE_REASON_LABEL_REJECTED;
        }
    }
    if (value->isnull)
        return SQLGAUGE_ABSENT;
    if (sqlgauge_parse_value(value->s, is_bool, v) < 0)
        return SQLGAUGE_REASON_BAD_VALUE;
    if (b->n >= b->max_rows) {
        /* Counted once per run: what is left of the result is only drained. */
        b->limited = 1;
        return SQLGAUGE_REASON_LIMIT;
    }
    return SQLGAUGE_KEPT;
}

int sqlgauge_build_add(struct sqlgauge_build *b, const struct sqlgauge_cell *labels,
                       const struct sqlgauge_cell *value, int is_bool)
{
    struct sqlgauge_row *row;
    double v = 0;
    size_t j, total = 0;
    int verdict = judge(b, labels, value, is_bool, &v);

    if (verdict != SQLGAUGE_KEPT)
        return verdict;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->rows = mem_realloc(b->rows, b->cap * sizeof(*b->rows));
    }
    for (j = 0; j < b->nlabels; j++)
        total += labels[j].len + 1;
    row = &b->rows[b->n++];
    memset(row, 0, sizeof(*row));
    row->blob = mem_calloc(total ? total : 1, 1);
    row->nlabels = (uint32_t)b->nlabels;
    row->value = v;
    total = 0;
    for (j = 0; j < b->nlabels; j++) {
        memcpy(row->blob + total, labels[j].s, labels[j].len);
        row->off[j] = (uint32_t)total;
        row->len[j] = labels[j].len;
        /* The set points into the row, which lives as long as the build. */
        if (b->m->labels[j].values == NULL)
            strset_add(&b->seen[j], row->blob + total, labels[j].len);
        total += labels[j].len + 1;
    }
    return SQLGAUGE_KEPT;
}

static int row_cmp(const void *pa, const void *pb)
{
    const struct sqlgauge_row *a = pa, *b = pb;
    uint32_t i;

    for (i = 0; i < a->nlabels; i++) {
        uint32_t la = a->len[i], lb = b->len[i];
        int d = memcmp(a->blob + a->off[i], b->blob + b->off[i], la < lb ? la : lb);
        if (d != 0)
            return d;
        if (la != lb)
            return la < lb ? -1 : 1;
    }
    return 0;
}

static void release_sets(struct sqlgauge_build *b)
{
    size_t j;

    for (j = 0; j < CONFIG_MAX_LABELS; j++)
        strset_release(&b->seen[j]);
}

size_t sqlgauge_build_finish(struct sqlgauge_build *b, struct sqlgauge_row **rows, size_t *nrows)
{
    size_t i, k = 0, dups = 0;

    /* Sorted output is deterministic, and duplicates become neighbours. */
    if (b->n > 1)
        qsort(b->rows, b->n, sizeof(*b->rows), row_cmp);
    for (i = 0; i < b->n; i++) {
        if (k > 0 && row_cmp(&b->rows[k - 1], &b->rows[i]) == 0) {
            free(b->rows[i].blob);
            dups++;
            continue;
        }
        b->rows[k++] = b->rows[i];
    }
    *rows = b->rows;
    *nrows = k;
    release_sets(b);
    memset(b, 0, sizeof(*b));
    return dups;
}

void sqlgauge_rows_free(struct sqlgauge_row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(rows[i].blob);
    free(rows);
}

void sqlgauge_build_release(struct sqlgauge_build *b)
{
    sqlgauge_rows_free(b->rows, b->n);
    release_sets(b);
    memset(b, 0, sizeof(*b));
}

/* ---- Exposition ---- */

void sqlgauge_render_family(struct expo *e, const struct config_sql_metric *m,
                            const struct sqlgauge_row *rows, size_t n)
{
    struct expo_label labels[CONFIG_MAX_LABELS];
    size_t r, j;

    expo_family(e, m->name, EXPO_GAUGE, m->help ? m->help : "", m->unit ? m->unit : "");
    for (r = 0; r < n; r++) {
        for (j = 0; j < rows[r].nlabels; j++) {
            labels[j].name = m->labels[j].name;
            labels[j].value = rows[r].blob + rows[r].off[j];
            labels[j].value_len = rows[r].len[j];
        }
        expo_sample(e, "", labels, rows[r].nlabels, rows[r].value);
    }
}

static void write_errors(struct expo *e, const struct sqlgauge_status *st, size_t n)
{
    size_t i, r;

    expo_family(e, "ustatsd_sql_collector_errors", EXPO_COUNTER,
                "Collector errors and rows skipped, by reason.", "");
    for (i = 0; i < n; i++) {
        for (r = 0; r < SQLGAUGE_REASON_COUNT; r++) {
            struct expo_label l[2] = {
                { "collector", st[i].name, strlen(st[i].name) },
                { "reason", reason_names[r], strlen(reason_names[r]) },
            };
            expo_sample(e, "_total", l, 2, (double)st[i].errors[r]);
        }
    }
}

void sqlgauge_render_status(struct expo *e, const struct sqlgauge_status *st, size_t n)
{
    size_t i;

    if (n == 0)
        return;
    /*
     * No sample before a collector's first run ends: a 0 there would read as "down" and
     * could fire a collector-down alert for a query that has simply not finished yet.
     */
    expo_family(e, "ustatsd_sql_collector_up", EXPO_GAUGE,
                "1 if the collector's last query succeeded, 0 if it failed; absent until its "
                "first run ends.",
                "");
    for (i = 0; i < n; i++)
        if (st[i].has_run)
            expo_sample1(e, "", "collector", st[i].name, st[i].up);
    expo_family(e, "ustatsd_sql_collector_duration_seconds", EXPO_GAUGE,
                "Duration of the collector's last completed run, waiting included.", "seconds");
    for (i = 0; i < n; i++)
        if (st[i].has_run)
            expo_sample1(e, "", "collector", st[i].name, st[i].duration);
    write_errors(e, st, n);
    expo_family(e, "ustatsd_sql_collector_last_success_timestamp_seconds", EXPO_GAUGE,
                "Unix time of the collector's last successful run.", "seconds");
    for (i = 0; i < n; i++)
        if (st[i].has_success)
            expo_sample1(e, "", "collector", st[i].name, st[i].last_success);
}

void sqlgauge_render_pool(struct expo *e, const struct sqlgauge_pool *p)
{
    static const char *const states[] = { "acquired", "idle", "constructing", "total", "max" };
    const size_t counts[] = { p->acquired, p->idle, p->constructing, p->total, p->max };
    size_t i;

    expo_family(e, "ustatsd_postgres_pool_connections", EXPO_GAUGE,
                "Current PostgreSQL pool connections by state.", "");
    for (i = 0; i < 5; i++)
        expo_sample1(e, "", "state", states[i], (double)counts[i]);
    expo_scalar(e, "ustatsd_postgres_pool_acquires", EXPO_COUNTER, "Successful pool acquisitions.",
                "", (double)p->acquires);
    expo_scalar(e, "ustatsd_postgres_pool_empty_acquires", EXPO_COUNTER,
                "Acquisitions that had to wait because no connection was idle.", "",
                (double)p->empty_acquires);
    expo_scalar(e, "ustatsd_postgres_pool_canceled_acquires", EXPO_COUNTER,
                "Acquisitions given up: no connection, or none free before the timeout.", "",
                (double)p->canceled_acquires);
    expo_scalar(e, "ustatsd_postgres_pool_acquire_duration_seconds", EXPO_COUNTER,
                "Cumulative time spent acquiring pool connections.", "seconds", p->acquire_seconds);
    expo_scalar(e, "ustatsd_postgres_pool_abandoned_connections", EXPO_COUNTER,
                "Connections finished because the server did not answer before a timeout.", "",
                (double)p->abandoned);
}
