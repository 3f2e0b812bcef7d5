#include "pg/sqlcheck.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/common.h"
#include "base/jsonstr.h"
#include "pg/conninfo.h"
#include "pg/sqlgauge.h"
#include "pg/sqllog.h"

/* The statement's name: the catalog lookups use the unnamed one. */
#define STMT "ustatsd_check"

/* pg_type.h's OIDs (libpq does not export the catalog); a domain is described as its base. */
#define BOOLOID 16
static const Oid number_oids[] = {
    20 /* bigint */, 21 /* smallint */, 23 /* integer */,   26 /* oid */,
    700 /* real */,  701 /* double */,  1700 /* numeric */,
};

/* The metric being checked, and where its lines go. */
struct check {
    const struct config *cfg;
    PGconn *conn;
    FILE *out;
    size_t index;
    const struct config_sql_metric *m;
    char query[SQLCHECK_QUERY_SHOWN + 4]; /* as the lines show it */
    int problems;                         /* lines of problems written for it */
    size_t warnings;
};

/* The value column, the label columns, in the result's numbering. */
struct columns {
    int value;
    int is_bool;
    int label[CONFIG_MAX_LABELS];
};

/* The query on one line: each run of white space one space, cut at a character's start. */
static void shorten(const char *q, char *out, size_t cap)
{
    size_t n = 0;
    int space = 0;

    q += strspn(q, " \t\r\n");
    for (; *q != '\0'; q++) {
        if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') {
            space = 1;
            continue;
        }
        if (n + (size_t)space + 1 > SQLCHECK_QUERY_SHOWN) {
            /* Cut before the character that does not fit, not inside it. */
            if (((unsigned char)*q & 0xC0) == 0x80) {
                while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
                    n--;
                if (n > 0 && (unsigned char)out[n - 1] >= 0xC0)
                    n--;
            }
            memcpy(out + n, "...", 4);
            return;
        }
        if (space)
            out[n++] = ' ';
        space = 0;
        out[n++] = *q;
    }
    out[n < cap ? n : cap - 1] = '\0';
}

/* One line: "ustatsd: FILE: $.sql_metrics[i] (name): query "...": <problem>". */
static void problem(struct check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct check *k, const char *fmt, ...)
{
    va_list ap;

    fprintf(k->out, "ustatsd: %s: $.sql_metrics[%zu] (%s): query \"%s\": ", k->cfg->path, k->index,
            k->m->name, k->query);
    va_start(ap, fmt);
    vfprintf(k->out, fmt, ap);
    va_end(ap);
    fputc('\n', k->out);
    k->problems++;
}

/* One line: "ustatsd: FILE: $.sql_metrics[i] (name): warning: <what>". */
static void warning(struct check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warning(struct check *k, const char *fmt, ...)
{
    va_list ap;

    fprintf(k->out, "ustatsd: %s: $.sql_metrics[%zu] (%s): warning: ", k->cfg->path, k->index,
            k->m->name);
    va_start(ap, fmt);
    vfprintf(k->out, fmt, ap);
    va_end(ap);
    fputc('\n', k->out);
    k->warnings++;
}

/* Empty b, holding "" (a NUL-terminated string even before its first growth). */
static void clear(struct buf *b)
{
    buf_reset(b);
    buf_grow(b, 1);
    b->ptr[0] = '\0';
}

/* Append s on one line: each run of spaces and control characters one space, none last. */
static void one_line(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        int blank = (unsigned char)*s <= 0x20;

        if (!blank)
            buf_addch(b, *s);
        else if (b->len > 0 && b->ptr[b->len - 1] != ' ')
            buf_addch(b, ' ');
    }
    while (b->len > 0 && b->ptr[b->len - 1] == ' ')
        b->ptr[--b->len] = '\0';
}

/*
 * PostgreSQL's message on a failed result, on one line: its primary message, its hint,
 * its SQLSTATE; libpq's own message when the server gave none. Into b (reset).
 */
static const char *pg_message(struct buf *b, const PGresult *res, const PGconn *conn)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    clear(b);
    if (primary == NULL)
        primary = res != NULL && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                                                              : PQerrorMessage(conn);
    one_line(b, primary);
    if (hint != NULL) {
        buf_addf(b, " (hint: ");
        one_line(b, hint);
        buf_addch(b, ')');
    }
    if (state != NULL)
        buf_addf(b, " (SQLSTATE %s)", state);
    return b->ptr;
}

/* A command of the check's own (BEGIN, SET, ROLLBACK): 1 when it worked, else a problem. */
static int command(struct check *k, const char *sql, struct buf *msg)
{
    PGresult *res = PQexec(k->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok)
        problem(k, "%s: %s", sql, pg_message(msg, res, k->conn));
    PQclear(res);
    return ok;
}

static int find_column(const PGresult *res, const char *name)
{
    /* Exact names, as the daemon looks them up (PQfnumber would fold case). */
    for (int i = 0; i < PQnfields(res); i++)
        if (strcmp(PQfname(res, i), name) == 0)
            return i;
    return -1;
}

/* "a, b, c": the result's columns, for a message. */
static const char *column_list(struct buf *b, const PGresult *res)
{
    clear(b);
    for (int i = 0; i < PQnfields(res) && b->len < 200; i++)
        buf_addf(b, "%s%s", i ? ", " : "", PQfname(res, i));
    return b->ptr;
}

/* The type's name and its catalog category ('A' array, 'C' composite, ...), into b. */
static char type_of(struct check *k, Oid oid, struct buf *b)
{
    char num[16];
    const char *param = num;
    PGresult *res;
    char category = '?';

    snprintf(num, sizeof(num), "%u", oid);
    res = PQexecParams(k->conn,
                       "SELECT format_type(oid, NULL), typcategory FROM pg_type WHERE oid = $1", 1,
                       NULL, &param, NULL, NULL, 0);
    clear(b);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        buf_addf(b, "%s", PQgetvalue(res, 0, 0));
        category = PQgetvalue(res, 0, 1)[0];
    } else {
        buf_addf(b, "with OID %s", num);
    }
    PQclear(res);
    return category;
}

/* The value column and the label columns of the described result, each problem a line. */
static void check_columns(struct check *k, const PGresult *res, struct columns *c, struct buf *b)
{
    const struct config_sql_metric *m = k->m;
    Oid oid;
    size_t i;
    char cat;

    c->value = find_column(res, m->value_column);
    if (c->value < 0)
        problem(k, "value column \"%s\" is not in its result (columns: %s)", m->value_column,
                column_list(b, res));
    oid = c->value >= 0 ? PQftype(res, c->value) : 0;
    c->is_bool = oid == BOOLOID;
    for (i = 0; c->value >= 0 && !c->is_bool && i < ARRAY_SIZE(number_oids); i++)
        if (number_oids[i] == oid)
            break;
    if (c->value >= 0 && !c->is_bool && i == ARRAY_SIZE(number_oids)) {
        type_of(k, oid, b);
        problem(k,
                "value column \"%s\" is of type %s: the value must be a number (smallint, "
                "integer, bigint, real, double precision, numeric, oid) or a boolean; cast it, "
                "e.g. %s::float8",
                m->value_column, b->ptr, m->value_column);
    }
    for (i = 0; i < m->nlabels && i < CONFIG_MAX_LABELS; i++) {
        c->label[i] = find_column(res, m->label_columns[i]);
        if (c->label[i] < 0) {
            problem(k, "label column \"%s\" (label %s) is not in its result (columns: %s)",
                    m->label_columns[i], m->labels[i].name, column_list(b, res));
            continue;
        }
        cat = type_of(k, PQftype(res, c->label[i]), b);
        if (cat == 'A' || cat == 'C')
            problem(k,
                    "label column \"%s\" is of type %s, %s: its text form is a list, not a "
                    "label value",
                    m->label_columns[i], b->ptr, cat == 'A' ? "an array" : "a composite type");
    }
}

/* Prepare the query as the daemon sends it, and describe its result. */
static int prepare(struct check *k, struct columns *c, struct buf *b)
{
    PGresult *res = PQprepare(k->conn, STMT, k->m->query, 0, NULL);
    int n;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        problem(k, "%s", pg_message(b, res, k->conn));
        PQclear(res);
        return 0;
    }
    PQclear(res);
    res = PQdescribePrepared(k->conn, STMT);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        problem(k, "%s", pg_message(b, res, k->conn));
    } else if ((n = PQnparams(res)) > 0) {
        problem(k, "it takes %d parameter%s ($1): the daemon sends none", n, n == 1 ? "" : "s");
    } else if (PQnfields(res) == 0) {
        problem(k, "it returns no rows (a command such as SET, or a write without RETURNING): "
                   "the daemon reads rows");
    } else {
        check_columns(k, res, c, b);
    }
    PQclear(res);
    return k->problems == 0;
}

/* Why the daemon would skip a row, for a warning. */
static const char *skip_text(enum sqlgauge_reason r)
{
    switch (r) {
    case SQLGAUGE_REASON_NULL_LABEL:
        return "a label column is NULL";
    case SQLGAUGE_REASON_LABEL_REJECTED:
        return "a label value is refused";
    case SQLGAUGE_REASON_BAD_VALUE:
        return "the value is not a number";
    case SQLGAUGE_REASON_DUPLICATE:
        return "the same label values as another row";
    case SQLGAUGE_REASON_LIMIT:
        return "beyond limits.max_series_per_family";
    default:
        return "";
    }
}

/*
 * The rows the daemon would skip, the label values it would refuse, and the label values
 * that would fold into an overflow value, as warnings.
 */
static void warn_rows(struct check *k, const uint64_t *skipped, size_t rows,
                      const sqlgauge_folds *folds, struct sqllog_metric *said, struct buf *b)
{
    const struct sqllog_value *v;

    for (int r = 0; r < SQLGAUGE_REASON_COUNT; r++)
        if (skipped[r] > 0)
            warning(k, "%" PRIu64 " of %zu rows would be skipped: %s (%s)", skipped[r], rows,
                    skip_text((enum sqlgauge_reason)r),
                    sqlgauge_reason_name((enum sqlgauge_reason)r));
    while ((v = sqllog_next_value(said)) != NULL) {
        sqllog_describe(b, k->m, v);
        warning(k, "%s", b->ptr);
    }
    if (sqllog_take_more(said))
        warning(k, "more label values refused than the %d shown", SQLLOG_MAX_VALUES);
    for (size_t j = 0; j < k->m->nlabels && j < CONFIG_MAX_LABELS; j++)
        for (int why = CONFIG_FOLD_NONE + 1; why < CONFIG_FOLD_MAX; why++)
            if ((*folds)[j][why] > 0)
                warning(k, "%" PRIu64 " of %zu rows would fold label %s into \"%s\" (%s)",
                        (*folds)[j][why], rows, k->m->labels[j].name, k->m->labels[j].overflow,
                        config_fold_name((enum config_fold)why));
    if ((v = sqllog_take_fold(said)) != NULL) {
        sqllog_describe(b, k->m, v);
        warning(k, "the first fold: %s", b->ptr);
    }
}

/* Run the prepared query once, its rows through the daemon's rules and dropped. */
static void run(struct check *k, const struct columns *c, struct buf *b)
{
    struct sqlgauge_cell labels[CONFIG_MAX_LABELS], value;
    uint64_t skipped[SQLGAUGE_REASON_COUNT] = { 0 };
    struct sqllog_metric said;
    sqlgauge_folds folds;
    struct sqlgauge_build build;
    struct sqlgauge_row *rows;
    size_t nrows = 0, n, examined = 0;
    PGresult *res;
    int failed = 0;

    memset(&said, 0, sizeof(said));
    memset(folds, 0, sizeof(folds));
    sqlgauge_build_init(&build, k->cfg, k->m);
    build.log = &said;
    build.folds = &folds;
    if (!PQsendQueryPrepared(k->conn, STMT, 0, NULL, NULL, NULL, 0)) {
        problem(k, "%s", pg_message(b, NULL, k->conn));
        sqlgauge_build_release(&build);
        return;
    }
    PQsetSingleRowMode(k->conn);
    while ((res = PQgetResult(k->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);

        if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && !failed++)
            problem(k, "%s", pg_message(b, res, k->conn));
        for (int r = 0; !failed && r < PQntuples(res); r++, nrows++) {
            int verdict;

            if (build.limited)
                continue;
            examined++;
            for (size_t j = 0; j < build.nlabels; j++)
                labels[j] = (struct sqlgauge_cell){ PQgetvalue(res, r, c->label[j]),
                                                    (uint32_t)PQgetlength(res, r, c->label[j]),
                                                    PQgetisnull(res, r, c->label[j]) };
            value = (struct sqlgauge_cell){ PQgetvalue(res, r, c->value),
                                            (uint32_t)PQgetlength(res, r, c->value),
                                            PQgetisnull(res, r, c->value) };
            verdict = sqlgauge_build_add(&build, labels, &value, c->is_bool);
            if (verdict < SQLGAUGE_REASON_COUNT)
                skipped[verdict]++;
        }
        PQclear(res);
    }
    skipped[SQLGAUGE_REASON_DUPLICATE] += sqlgauge_build_finish(&build, &rows, &n);
    sqlgauge_rows_free(rows, n);
    skipped[SQLGAUGE_REASON_LIMIT] += nrows - examined;
    if (!failed)
        warn_rows(k, skipped, nrows, (const sqlgauge_folds *)&folds, &said, b);
}

/* One metric, in a READ ONLY transaction rolled back after. Returns 1 when it passed. */
static int check_metric(struct check *k)
{
    struct columns c;
    struct buf b = BUF_INIT;
    char sql[64];

    shorten(k->m->query, k->query, sizeof(k->query));
    snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = %ld",
             conninfo_query_timeout_ms(k->cfg, k->m));
    memset(&c, 0, sizeof(c));
    if (command(k, "BEGIN READ ONLY", &b) && command(k, sql, &b) && prepare(k, &c, &b))
        run(k, &c, &b);
    PQclear(PQexec(k->conn, "ROLLBACK"));
    PQclear(PQexec(k->conn, "DEALLOCATE " STMT));
    buf_release(&b);
    return k->problems == 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for what PQconnectPoll asked, until deadline. Returns 0, or -ETIMEDOUT. */
static int wait_socket(PGconn *conn, PostgresPollingStatusType st, double deadline)
{
    struct pollfd pfd = { .fd = PQsocket(conn),
                          .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT };

    for (;;) {
        double left = deadline - now_s();
        int r;

        if (left <= 0)
            return -ETIMEDOUT;
        r = poll(&pfd, 1, (int)(left * 1000.0) + 1);
        if (r > 0 || (r < 0 && errno != EINTR))
            return 0; /* an error of the socket is PQconnectPoll's to find */
        if (r == 0)
            return -ETIMEDOUT;
    }
}

/* Connect as the daemon does, within postgres.connect_timeout_seconds; NULL after a line. */
static PGconn *connect_db(const struct config *cfg, FILE *out, long *rc)
{
    struct conninfo_params p;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    double timeout = (double)conninfo_connect_timeout_ms(cfg) / 1000.0;
    double deadline = now_s() + timeout;
    struct buf b = BUF_INIT;
    char err[1024];
    PGconn *conn;

    if (conninfo_params_init(&p, cfg, conninfo_session_timeout_ms(cfg), err, sizeof(err)) != 0) {
        fprintf(out, "ustatsd: %s\n", err);
        *rc = -EINVAL;
        return NULL;
    }
    conn = PQconnectStartParams(p.keys, p.vals, 0);
    conninfo_params_release(&p);
    while (conn != NULL && PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        if (wait_socket(conn, st, deadline) != 0) {
            fprintf(out,
                    "ustatsd: %s: $.postgres.conninfo: could not connect: no connection within "
                    "%g s (postgres.connect_timeout_seconds)\n",
                    cfg->path, timeout);
            PQfinish(conn);
            *rc = -ETIMEDOUT;
            return NULL;
        }
        st = PQconnectPoll(conn);
    }
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
        return conn;
    clear(&b);
    one_line(&b, conn != NULL ? PQerrorMessage(conn) : "out of memory");
    fprintf(out, "ustatsd: %s: $.postgres.conninfo: could not connect: %s\n", cfg->path, b.ptr);
    buf_release(&b);
    PQfinish(conn);
    *rc = -ECONNREFUSED;
    return NULL;
}

long sqlcheck_run(const struct config *cfg, FILE *out, struct sqlcheck_result *res)
{
    struct check k = { .cfg = cfg, .out = out };
    long rc = 0;
    size_t i;

    memset(res, 0, sizeof(*res));
    k.conn = connect_db(cfg, out, &rc);
    if (k.conn == NULL)
        return rc;
    for (i = 0; i < cfg->nsql_metrics; i++) {
        k.index = i;
        k.m = &cfg->sql_metrics[i];
        k.problems = 0;
        if (k.m->excluded) {
            res->excluded++;
            continue;
        }
        if (PQstatus(k.conn) != CONNECTION_OK) {
            fprintf(out,
                    "ustatsd: %s: $.postgres.conninfo: the connection was lost: $.sql_metrics[%zu] "
                    "and those after it were not checked\n",
                    cfg->path, i);
            for (; i < cfg->nsql_metrics; i++)
                res->failed += !cfg->sql_metrics[i].excluded;
            break;
        }
        res->checked++;
        res->failed += !check_metric(&k);
    }
    res->warnings = k.warnings;
    PQfinish(k.conn);
    return (long)res->failed;
}
