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

/* Why the label refuses value s (a fold reason), or CONFIG_FOLD_NONE when it takes it. */
static enum config_fold label_refusal(const struct sqlgauge_build *b, size_t j, const char *s,
                                      uint32_t len)
{
    const struct config_label *l = &b->m->labels[j];
    size_t i;

    if (l->overflow != NULL && strlen(l->overflow) == len && memcmp(l->overflow, s, len) == 0)
        return CONFIG_FOLD_NONE;
    if (len > b->max_len)
        return CONFIG_FOLD_TOO_LONG;
    if (l->values != NULL) {
        for (i = 0; i < l->nvalues; i++)
            if (strlen(l->values[i]) == len && memcmp(l->values[i], s, len) == 0)
                return CONFIG_FOLD_NONE;
        return CONFIG_FOLD_NOT_ALLOWED;
    }
    /* libpq's text is NUL-terminated, and holds no NUL. */
    if (!config_label_matches(l, s, len))
        return CONFIG_FOLD_PATTERN;
    if (strset_has(&b->seen[j], s, len) ||
        b->seen[j].n < (l->max_values ? l->max_values : CONFIG_DEFAULT_MAX_LABEL_VALUES))
        return CONFIG_FOLD_NONE;
    return CONFIG_FOLD_CAP;
}

/*
 * The reason the row is skipped, SQLGAUGE_KEPT to keep it, or SQLGAUGE_ABSENT. folds[j]:
 * why label j's value folds into its overflow value, or CONFIG_FOLD_NONE.
 */
static int judge(struct sqlgauge_build *b, const struct sqlgauge_cell *labels,
                 const struct sqlgauge_cell *value, int is_bool, double *v, uint8_t *folds)
{
    size_t j;
    enum config_fold why;

    for (j = 0; j < b->nlabels; j++) {
        if (labels[j].isnull)
            return SQLGAUGE_REASON_NULL_LABEL;
        why = label_refusal(b, j, labels[j].s, labels[j].len);
        folds[j] = (uint8_t)why;
        if (why != CONFIG_FOLD_NONE && b->m->labels[j].overflow == NULL) {
            if (b->log != NULL)
                sqllog_reject(b->log, (uint32_t)j, why, labels[j].s, labels[j].len);
            return SQLGAUGE_REASON_LABEL_REJECTED;
        }
    }
    if (value->isnull)
        return SQLGAUGE_ABSENT;
    if (sqlgauge_parse_value(value->s, is_bool, v) < 0)
        return SQLGAUGE_REASON_BAD_VALUE;
    return SQLGAUGE_KEPT;
}

/* ---- Rows by label values: the index that joins a row to the one it repeats ---- */

/* The bytes of a row's label values, each with its NUL: what the index compares. */
static uint32_t key_len(const struct sqlgauge_row *r)
{
    return r->nlabels ? r->off[r->nlabels - 1] + r->len[r->nlabels - 1] + 1 : 0;
}

static size_t key_slot(const struct sqlgauge_build *b, const char *key, uint32_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
    for (i = (size_t)h & (b->index_cap - 1); b->index[i] != 0; i = (i + 1) & (b->index_cap - 1)) {
        const struct sqlgauge_row *r = &b->rows[b->index[i] - 1];

        if (key_len(r) == len && memcmp(r->blob, key, len) == 0)
            break;
    }
    return i;
}

/* Make room in the index for one more row. */
static void index_grow(struct sqlgauge_build *b)
{
    uint32_t *old = b->index;
    size_t n = b->index_cap, i;

    if ((b->n + 1) * 2 <= b->index_cap)
        return;
    b->index_cap = n ? n * 2 : 32;
    b->index = mem_calloc(b->index_cap, sizeof(*b->index));
    for (i = 0; i < n; i++)
        if (old[i] != 0) {
            const struct sqlgauge_row *r = &b->rows[old[i] - 1];

            b->index[key_slot(b, r->blob, key_len(r))] = old[i];
        }
    free(old);
}

/* A row joins one with the same label values: their values combine as "fold" says. */
static double combine(enum config_sql_fold fold, double was, double v)
{
    switch (fold) {
    case CONFIG_SQL_FOLD_MAX: /* a NaN gives way to a number, as fmax(3)'s */
        return v > was || was != was ? v : was;
    case CONFIG_SQL_FOLD_MIN:
        return v < was || was != was ? v : was;
    default:
        return was + v;
    }
}

/* The row's label values, folds applied, in one allocation; *len is the key's length. */
static char *row_blob(const struct sqlgauge_build *b, const struct sqlgauge_cell *labels,
                      const uint8_t *folds, struct sqlgauge_row *row, uint32_t *len)
{
    const char *s[CONFIG_MAX_LABELS];
    size_t j, total = 0;
    char *blob;

    for (j = 0; j < b->nlabels; j++) {
        s[j] = folds[j] != CONFIG_FOLD_NONE ? b->m->labels[j].overflow : labels[j].s;
        row->len[j] = folds[j] != CONFIG_FOLD_NONE ? (uint32_t)strlen(s[j]) : labels[j].len;
        row->off[j] = (uint32_t)total;
        total += row->len[j] + 1;
    }
    blob = mem_calloc(total ? total : 1, 1);
    for (j = 0; j < b->nlabels; j++)
        memcpy(blob + row->off[j], s[j], row->len[j]);
    row->nlabels = (uint32_t)b->nlabels;
    *len = (uint32_t)total;
    return blob;
}

/* Count the kept row's folds, and remember its first for the log. */
static void count_folds(struct sqlgauge_build *b, const struct sqlgauge_cell *labels,
                        const uint8_t *folds)
{
    for (size_t j = 0; j < b->nlabels; j++) {
        if (folds[j] == CONFIG_FOLD_NONE)
            continue;
        if (b->folds != NULL)
            (*b->folds)[j][folds[j]]++;
        if (b->log != NULL)
            sqllog_fold(b->log, (uint32_t)j, (enum config_fold)folds[j], labels[j].s,
                        labels[j].len);
    }
}

int sqlgauge_build_add(struct sqlgauge_build *b, const struct sqlgauge_cell *labels,
                       const struct sqlgauge_cell *value, int is_bool)
{
    struct sqlgauge_row row, *r;
    uint8_t folds[CONFIG_MAX_LABELS] = { 0 };
    double v = 0;
    uint32_t len;
    size_t j, at;
    int verdict = judge(b, labels, value, is_bool, &v, folds), folded = 0;

    if (verdict != SQLGAUGE_KEPT)
        return verdict;
    for (j = 0; j < b->nlabels; j++)
        folded |= folds[j] != CONFIG_FOLD_NONE;
    memset(&row, 0, sizeof(row));
    row.blob = row_blob(b, labels, folds, &row, &len);
    index_grow(b);
    at = key_slot(b, row.blob, len);
    if (b->index[at] != 0) {
        r = &b->rows[b->index[at] - 1];
        r->value = combine(b->m->fold, r->value, v);
        b->dups += !folded && r->plain;
        r->plain |= !folded;
        free(row.blob);
        count_folds(b, labels, folds);
        return SQLGAUGE_KEPT;
    }
    if (b->n >= b->max_rows) {
        /* Counted once per run: what is left of the result is only drained. */
        free(row.blob);
        b->limited = 1;
        return SQLGAUGE_REASON_LIMIT;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->rows = mem_realloc(b->rows, b->cap * sizeof(*b->rows));
    }
    row.plain = !folded;
    row.value = v;
    b->rows[b->n++] = row;
    b->index[at] = (uint32_t)b->n;
    /* The sets point into the row's blob, which lives as long as the build. */
    for (j = 0; j < b->nlabels; j++)
        if (b->m->labels[j].values == NULL && folds[j] == CONFIG_FOLD_NONE)
            strset_add(&b->seen[j], row.blob + row.off[j], row.len[j]);
    count_folds(b, labels, folds);
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
    free(b->index);
}

size_t sqlgauge_build_finish(struct sqlgauge_build *b, struct sqlgauge_row **rows, size_t *nrows)
{
    size_t dups = b->dups;

    /* Sorted output is deterministic; the index has joined rows with the same labels. */
    if (b->n > 1)
        qsort(b->rows, b->n, sizeof(*b->rows), row_cmp);
    *rows = b->rows;
    *nrows = b->n;
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

/* Label values folded: one sample per label with an overflow value and reason it can have. */
static void write_folds(struct expo *e, const struct sqlgauge_status *st, size_t n)
{
    size_t i, j, k = 0;
    int why;

    for (i = 0; i < n; i++) {
        for (j = 0; st[i].m != NULL && j < st[i].m->nlabels && j < CONFIG_MAX_LABELS; j++) {
            const struct config_label *cl = &st[i].m->labels[j];

            for (why = CONFIG_FOLD_NONE + 1; cl->overflow != NULL && why < CONFIG_FOLD_MAX; why++) {
                const char *reason = config_fold_name((enum config_fold)why);
                struct expo_label l[3] = { { "collector", st[i].name, strlen(st[i].name) },
                                           { "label", cl->name, strlen(cl->name) },
                                           { "reason", reason, strlen(reason) } };

                if (!config_fold_applies(cl, (enum config_fold)why))
                    continue;
                if (k++ == 0)
                    expo_family(e, "ustatsd_sql_label_values_folded", EXPO_COUNTER,
                                "Label values of SQL rows that folded into their label's "
                                "overflow value instead of skipping the row, by collector, "
                                "label and reason.",
                                "");
                expo_sample(e, "_total", l, 3, (double)(*st[i].folds)[j][why]);
            }
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
    write_folds(e, st, n);
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
