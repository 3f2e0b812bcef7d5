#include "expose/debug.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/breaker.h"
#include "base/common.h"
#include "base/errcode.h"
#include "base/expo.h"
#include "base/jsonstr.h"
#include "base/netaddr.h"
#include "base/query.h"

/*
 * jansson has no streaming writer: a document of 100,000 series would be a tree of a
 * million objects before the first byte went out. So the view is written by hand, with
 * jsonstr's escaper; tests parse every section back with jansson.
 */

static const char *const section_names[] = { "daemon",   "series", "ingest",
                                             "families", "jobs",   "rejects" };
static const unsigned section_bits[] = { DEBUG_DAEMON,   DEBUG_SERIES, DEBUG_INGEST,
                                         DEBUG_FAMILIES, DEBUG_JOBS,   DEBUG_REJECTS };
#define NSECTIONS (sizeof(section_bits) / sizeof(section_bits[0]))

/* Sections in document order. */
static const unsigned order[] = { DEBUG_DAEMON, DEBUG_INGEST, DEBUG_FAMILIES,
                                  DEBUG_SERIES, DEBUG_JOBS,   DEBUG_REJECTS };
#define NORDER (sizeof(order) / sizeof(order[0]))

/* --- query ------------------------------------------------------------------------ */

static int read_section(struct debug_query *q, const struct config *cfg, const char *value,
                        char *err, size_t errlen)
{
    (void)cfg;
    for (size_t i = 0; i < NSECTIONS; i++)
        if (strcmp(value, section_names[i]) == 0) {
            q->sections = section_bits[i];
            return 0;
        }
    snprintf(err, errlen,
             "unknown section \"%s\": expected daemon, ingest, families, series, jobs or rejects",
             value);
    return ERRCODE_BADPARAM;
}

static int read_family(struct debug_query *q, const struct config *cfg, const char *value,
                       char *err, size_t errlen)
{
    long f = config_find_family(cfg, value, strlen(value));

    if (f < 0) {
        snprintf(err, errlen, "unknown family \"%s\"", value);
        return ERRCODE_BADPARAM;
    }
    snprintf(q->family, sizeof(q->family), "%s", cfg->families[f].name);
    q->family_index = f;
    return 0;
}

static int read_limit(struct debug_query *q, const struct config *cfg, const char *value, char *err,
                      size_t errlen)
{
    char *end;
    unsigned long long v;

    (void)cfg;
    errno = 0;
    v = strtoull(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < 1 ||
        v > DEBUG_MAX_LIMIT) {
        snprintf(err, errlen, "limit \"%s\": expected a whole number from 1 to %d", value,
                 DEBUG_MAX_LIMIT);
        return ERRCODE_BADPARAM;
    }
    q->limit = (size_t)v;
    return 0;
}

static int read_pretty(struct debug_query *q, const struct config *cfg, const char *value,
                       char *err, size_t errlen)
{
    (void)cfg;
    if (strcmp(value, "1") == 0 || strcmp(value, "0") == 0) {
        q->pretty = value[0] == '1';
        return 0;
    }
    snprintf(err, errlen, "pretty \"%s\": expected 0 or 1", value);
    return ERRCODE_BADPARAM;
}

/* The parameters /debug takes, each with the reader of its value. */
static const struct {
    const char *name;
    int (*read)(struct debug_query *q, const struct config *cfg, const char *value, char *err,
                size_t errlen);
} params[] = {
    { "section", read_section },
    { "family", read_family },
    { "limit", read_limit },
    { "pretty", read_pretty },
};

/* One name=value of the query; *seen has a bit per parameter already given. */
static int read_param(struct debug_query *q, const struct config *cfg, const char *name,
                      const char *value, unsigned *seen, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(params); i++)
        if (strcmp(name, params[i].name) == 0)
            break;
    if (i == ARRAY_SIZE(params)) {
        snprintf(err, errlen, "unknown parameter \"%s\": expected section, family, limit or pretty",
                 name);
        return ERRCODE_BADPARAM;
    }
    if (*seen & (1u << i)) {
        snprintf(err, errlen, "parameter \"%s\" given twice", name);
        return ERRCODE_BADPARAM;
    }
    *seen |= 1u << i;
    return params[i].read(q, cfg, value, err, errlen);
}

int debug_query_parse(struct debug_query *q, const struct config *cfg, const char *query, char *err,
                      size_t errlen)
{
    const char *p = query ? query : "";
    char name[32], value[256];
    unsigned seen = 0;
    int rc;

    memset(q, 0, sizeof(*q));
    q->sections = DEBUG_ALL;
    q->family_index = -1;
    q->limit = DEBUG_DEFAULT_LIMIT;

    while ((rc = query_next(&p, name, sizeof(name), value, sizeof(value))) > 0)
        if (read_param(q, cfg, name, value, &seen, err, errlen) != 0)
            return ERRCODE_BADPARAM;
    if (rc < 0) {
        snprintf(err, errlen, "%s",
                 rc == -EILSEQ ? "a query parameter holds a control byte (%00-%1F, %7F)"
                               : "malformed or oversized query parameter");
        return ERRCODE_BADPARAM;
    }
    return 0;
}

/* --- JSON writing ---------------------------------------------------------------------- */

/*
 * A tiny structural writer: it tracks nesting and whether a comma is due, and indents
 * when pretty. Its state lives in the render between pieces.
 */
struct jw {
    struct buf *out;
    int pretty;
    int depth;
    int need_comma;
};

static void jw_indent(struct jw *w)
{
    int i;

    if (!w->pretty)
        return;
    buf_addch(w->out, '\n');
    for (i = 0; i < w->depth; i++)
        buf_adds(w->out, "  ");
}

/* Before a value or a key. */
static void jw_item(struct jw *w)
{
    if (w->need_comma)
        buf_addch(w->out, ',');
    jw_indent(w);
    w->need_comma = 1;
}

static void jw_key(struct jw *w, const char *key)
{
    jw_item(w);
    jsonstr_add_quoted(w->out, key, strlen(key));
    buf_adds(w->out, w->pretty ? ": " : ":");
    w->need_comma = 0;
}

static void jw_open(struct jw *w, char c)
{
    if (w->need_comma || w->depth > 0)
        jw_item(w);
    buf_addch(w->out, c);
    w->depth++;
    w->need_comma = 0;
}

/* An object or array that is a member's value: no indentation before the bracket. */
static void jw_open_value(struct jw *w, char c)
{
    buf_addch(w->out, c);
    w->depth++;
    w->need_comma = 0;
}

/* A member whose value is an object ('{') or an array ('['), opened. */
static void kv_open(struct jw *w, const char *key, char c)
{
    jw_key(w, key);
    jw_open_value(w, c);
}

static void jw_close(struct jw *w, char c)
{
    w->depth--;
    if (w->need_comma)
        jw_indent(w);
    buf_addch(w->out, c);
    w->need_comma = 1;
}

static void jw_num(struct buf *out, double v)
{
    char tmp[32];

    if (!isfinite(v)) {
        buf_adds(out, "null"); /* JSON has no Inf or NaN */
        return;
    }
    expo_format_double(tmp, v);
    buf_adds(out, tmp);
}

static void kv_str(struct jw *w, const char *key, const char *v)
{
    jw_key(w, key);
    if (v == NULL)
        buf_adds(w->out, "null");
    else
        jsonstr_add_quoted(w->out, v, strlen(v));
    w->need_comma = 1;
}

static void kv_num(struct jw *w, const char *key, double v)
{
    jw_key(w, key);
    jw_num(w->out, v);
    w->need_comma = 1;
}

static void kv_u64(struct jw *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    buf_addf(w->out, "%llu", (unsigned long long)v);
    w->need_comma = 1;
}

static void kv_bool(struct jw *w, const char *key, int v)
{
    jw_key(w, key);
    buf_adds(w->out, v ? "true" : "false");
    w->need_comma = 1;
}

static void val_str(struct jw *w, const char *s, size_t len)
{
    jw_item(w);
    jsonstr_add_quoted(w->out, s, len);
}

/* --- sections ---------------------------------------------------------------------- */

static double mono_to_unix(const struct debug_render *dr, uint64_t ms)
{
    return dr->self.start_unix + ((double)ms - (double)dr->self.start_ms) / 1000.0;
}

/* key: an object to follow when on, else null. Returns on. */
static int open_or_null(struct jw *w, const char *key, int on)
{
    jw_key(w, key);
    if (on) {
        jw_open_value(w, '{');
        return 1;
    }
    buf_adds(w->out, "null");
    w->need_comma = 1;
    return 0;
}

/* What a repeated attempt (a reload, a snapshot) came to: last_error NULL when it succeeded. */
static void kv_outcomes(struct jw *w, uint64_t ok, uint64_t failed, const char *last_error)
{
    kv_u64(w, "succeeded", ok);
    kv_u64(w, "failed", failed);
    kv_bool(w, "last_successful", last_error == NULL);
    kv_str(w, "last_error", last_error);
}

static void restore_dropped(struct jw *w, const char *key, const uint64_t *v)
{
    kv_open(w, key, '{');
    for (size_t d = 0; d < RECORDS_DROP_MAX; d++)
        kv_u64(w, records_drop_name((enum records_drop)d), v[d]);
    jw_close(w, '}');
}

/* The restore facts as SELFMETRICS_RESTORE_MAP's kinds show in /debug. */
#define RESTORE_RESULT(w, key, v)  kv_str(w, key, v)
#define RESTORE_TEXT(w, key, v)    kv_str(w, key, v)
#define RESTORE_SECONDS(w, key, v) kv_num(w, key, v)
#define RESTORE_COUNT(w, key, v)   kv_u64(w, key, v)
#define RESTORE_DROPPED(w, key, v) restore_dropped(w, key, v)

/* "state": null while off; else the snapshots and the start-up restore (selfmetrics.h). */
static void section_state(const struct selfmetrics_state *st, struct jw *w)
{
    if (!open_or_null(w, "state", st->on))
        return;
    kv_str(w, "file", st->path);
    kv_num(w, "interval_seconds", st->interval);
    kv_open(w, "snapshots", '{');
    kv_outcomes(w, st->ok, st->failed, st->last_error);
    if (st->last_ok_unix > 0) {
        kv_num(w, "last_success_time", st->last_ok_unix);
        kv_num(w, "last_seconds", st->last_seconds);
        kv_num(w, "last_longest_slice_seconds", st->last_longest_slice);
        kv_u64(w, "last_bytes", st->last_bytes);
        kv_u64(w, "last_series", st->last_series);
    }
    jw_close(w, '}');
    kv_open(w, "restore", '{');
#define RESTORE_ROW(kind, field, metric, key, help) RESTORE_##kind(w, key, st->field);
    SELFMETRICS_RESTORE_MAP(RESTORE_ROW)
#undef RESTORE_ROW
    jw_close(w, '}');
    jw_close(w, '}');
}

/* TLS on the listeners: null without it. */
static void section_tls(const struct selfmetrics_tls *t, struct jw *w)
{
    if (!open_or_null(w, "tls", t->on))
        return;
    kv_str(w, "web_config_file", t->web_config_file);
    kv_str(w, "certificate_sha256", t->cert_sha256);
    kv_u64(w, "handshakes", t->handshakes);
    kv_open(w, "handshake_failures", '{');
    for (int k = 0; k < TLSMEM_FAIL_COUNT; k++)
        kv_u64(w, tlsmem_fail_name((enum tlsmem_fail)k), t->failures[k]);
    jw_close(w, '}');
    jw_close(w, '}');
}

static void section_daemon(struct debug_render *dr, struct jw *w)
{
    const struct selfmetrics *d = &dr->self;
    const struct config *c = d->cfg;
    char mode[8];

    kv_open(w, "daemon", '{');
    kv_str(w, "version", d->version);
    kv_num(w, "start_time", d->start_unix);
    kv_num(w, "uptime_seconds", d->now_unix - d->start_unix);
    kv_str(w, "config_file", d->config_path);
    kv_num(w, "config_loaded_time", d->config_loaded_unix);
    kv_open(w, "reloads", '{');
    kv_outcomes(w, d->reloads_ok, d->reloads_failed, d->reload_error);
    jw_close(w, '}');
    kv_open(w, "http_basic_auth_checks", '{');
    for (size_t i = 0; i < BASICCRED_NRESULTS; i++)
        kv_u64(w, basiccred_result_name((enum basiccred_result)i), d->basic_auth[i]);
    jw_close(w, '}');
    section_state(&d->state, w);
    section_tls(&d->tls, w);
    kv_open(w, "listeners", '{');
    kv_str(w, "metrics", d->metrics_listen[0] ? d->metrics_listen : NULL);
    kv_str(w, "metrics_path", d->metrics_path);
    kv_str(w, "debug", d->debug_listen);
    kv_open(w, "endpoints", '[');
    for (size_t i = 0; i < d->nendpoints; i++) {
        const struct selfmetrics_endpoint *ep = &d->endpoints[i];

        jw_open(w, '{');
        kv_str(w, "name", ep->name);
        kv_str(w, "address", ep->address);
        kv_str(w, "path", ep->path);
        kv_u64(w, "in_flight", ep->in_flight);
        kv_open(w, "scrapes", '{');
        kv_u64(w, "200", ep->scrapes[0]);
        kv_u64(w, "500", ep->scrapes[1]);
        kv_u64(w, "503", ep->scrapes[2]);
        jw_close(w, '}');
        jw_close(w, '}');
    }
    jw_close(w, ']');
    jw_close(w, '}');
    kv_open(w, "socket", '{');
    kv_str(w, "path", d->socket_path);
    snprintf(mode, sizeof(mode), "%04o", d->socket_mode & 07777u);
    kv_str(w, "mode", mode);
    kv_num(w, "max_dgram_qlen", (double)d->max_dgram_qlen);
    kv_num(w, "rcvbuf", (double)d->rcvbuf);
    jw_close(w, '}');
    kv_open(w, "limits", '{');
    kv_u64(w, "max_series", c->max_series);
    kv_u64(w, "max_series_per_family", c->max_series_per_family);
    kv_u64(w, "max_label_value_length", c->max_label_value_len);
    kv_u64(w, "max_datagram_bytes", STATSD_MAX_DATAGRAM);
    kv_u64(w, "max_line_bytes", STATSD_MAX_LINE);
    kv_u64(w, "max_tags_per_line", STATSD_MAX_TAGS);
    kv_u64(w, "max_name_bytes", STATSD_MAX_NAME);
    jw_close(w, '}');
    jw_close(w, '}');
}

/* "udp": null while it is off; else where it listens and its counters (selfmetrics.h). */
static void section_udp(const struct selfmetrics *s, struct jw *w)
{
    if (!s->udp_on) {
        kv_str(w, "udp", NULL);
        return;
    }
    kv_open(w, "udp", '{');
    kv_str(w, "listen", s->udp_listen);
    kv_str(w, "address", s->udp_address);
    kv_bool(w, "allow_remote", s->udp_allow_remote);
    kv_num(w, "rcvbuf", (double)s->udp_rcvbuf);
#define UDP_KEY(field, metric, key, help) kv_u64(w, key, s->udp.field);
    SELFMETRICS_UDP_MAP(UDP_KEY)
#undef UDP_KEY
    jw_close(w, '}');
}

static void section_ingest(struct debug_render *dr, struct jw *w)
{
    const struct selfmetrics *s = &dr->self;
    int r;

    kv_open(w, "ingest", '{');
#define SOCKET_KEY(field, metric, key, help) kv_u64(w, key, s->field);
    SELFMETRICS_SOCKET_MAP(SOCKET_KEY)
#undef SOCKET_KEY
    kv_u64(w, "lines_accepted", s->lines.accepted);
    kv_u64(w, "lines_rejected", intake_rejected_total(&s->lines));
    kv_open(w, "rejected_by_reason", '{');
    for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
        kv_u64(w, statsd_reason_name(r), s->lines.rejected[r]);
    jw_close(w, '}');
    kv_open(w, "tags_stripped", '{');
    for (size_t i = 0; i < s->cfg->nstrip_tags; i++)
        kv_u64(w, s->cfg->strip_tags[i], registry_tags_stripped(dr->reg, i));
    jw_close(w, '}');
    section_udp(s, w);
    jw_close(w, '}');
}

/* A label's value policy: its pattern, its overflow value and what folded into it. */
static void label_policy(struct debug_render *dr, struct jw *w, size_t f, size_t l,
                         const struct config_label *cl)
{
    int why;

    kv_str(w, "pattern", cl->pattern);
    kv_str(w, "overflow", cl->overflow);
    if (cl->overflow == NULL)
        return;
    kv_open(w, "folded", '{');
    for (why = LABELSET_FOLD_NONE + 1; why < LABELSET_FOLD_MAX; why++)
        kv_u64(w, labelset_fold_name((enum labelset_fold)why),
               registry_values_folded(dr->reg, f, l, (enum labelset_fold)why));
    jw_close(w, '}');
}

/*
 * "writers": the rule that guards a family or job, by its place in the file, with the ids
 * its names resolved to; null when anyone may write.
 */
static void kv_ids(struct jw *w, const char *key, const uint32_t *ids, size_t n)
{
    kv_open(w, key, '[');
    for (size_t i = 0; i < n; i++) {
        jw_item(w);
        jw_num(w->out, ids[i]);
    }
    jw_close(w, ']');
}

static void writers_entry(struct jw *w, const struct config *c, const struct config_writers *rw)
{
    char rule[48];

    if (rw == NULL) {
        kv_str(w, "writers", NULL);
        return;
    }
    kv_open(w, "writers", '{');
    snprintf(rule, sizeof(rule), "$.writers[%zu]", (size_t)(rw - c->writers));
    kv_str(w, "rule", rule);
    kv_ids(w, "uids", rw->uids, rw->nuids);
    kv_ids(w, "gids", rw->gids, rw->ngids);
    kv_bool(w, "unauthenticated", rw->unauthenticated);
    jw_close(w, '}');
}

static void family_entry(struct debug_render *dr, struct jw *w, size_t f)
{
    const struct config_family *cf = registry_family_config(dr->reg, f);
    size_t l;

    jw_open(w, '{');
    kv_str(w, "name", cf->name);
    kv_str(w, "type", config_family_type_name(cf->type));
    kv_str(w, "help", cf->help);
    kv_str(w, "unit", cf->unit);
    kv_str(w, "group", cf->group);
    kv_bool(w, "excluded", cf->excluded);
    kv_num(w, "ttl_seconds", cf->ttl_seconds);
    if (cf->type == FAMILY_GAUGE)
        kv_bool(w, "updown", cf->updown);
    kv_str(w, "undeclared_labels", cf->undeclared == CONFIG_UNDECLARED_DROP ? "drop" : "reject");
    if (cf->undeclared == CONFIG_UNDECLARED_DROP)
        kv_u64(w, "labels_dropped", registry_labels_dropped(dr->reg, f));
    kv_u64(w, "series", registry_family_series(dr->reg, f));
    kv_u64(w, "series_cap", registry_family_cap(dr->reg, f));
    writers_entry(w, registry_config(dr->reg), cf->writers);
    if (cf->type == FAMILY_HISTOGRAM) {
        kv_open(w, "buckets", '[');
        for (l = 0; l < cf->nbuckets; l++) {
            jw_item(w);
            jw_num(w->out, cf->buckets[l]);
        }
        jw_close(w, ']');
    }
    kv_open(w, "labels", '[');
    for (l = 0; l < cf->nlabels; l++) {
        const struct config_label *cl = &cf->labels[l];
        size_t it = 0, k, len;
        const char *v;

        jw_open(w, '{');
        kv_str(w, "name", cl->name);
        kv_u64(w, "distinct_values", registry_label_values(dr->reg, f, l));
        if (cl->values) {
            kv_u64(w, "cap", cl->nvalues);
            kv_open(w, "allowed", '[');
            for (k = 0; k < cl->nvalues; k++)
                val_str(w, cl->values[k], strlen(cl->values[k]));
            jw_close(w, ']');
        } else {
            kv_u64(w, "cap", cl->max_values);
        }
        label_policy(dr, w, f, l, cl);
        kv_open(w, "seen", '[');
        while (registry_label_value_next(dr->reg, f, l, &it, &v, &len))
            val_str(w, v, len);
        jw_close(w, ']');
        jw_close(w, '}');
    }
    jw_close(w, ']');
    jw_close(w, '}');
}

/*
 * Returns 1 when families remain: a family lists every label value it has seen, so the
 * section can be megabytes (100 families x 8 labels x 1000 values) and is written a
 * piece at a time like the series.
 */
static int section_families(struct debug_render *dr, struct jw *w)
{
    size_t n = registry_nfamilies(dr->reg);

    if (!dr->families_open) {
        kv_open(w, "families", '[');
        dr->families_open = 1;
    }
    while (dr->fam_next < n) {
        size_t f = dr->fam_next++;
        if (registry_family_config(dr->reg, f) == NULL ||
            (dr->q.family_index >= 0 && (size_t)dr->q.family_index != f))
            continue;
        family_entry(dr, w, f);
        dr->fam_written++;
        if (w->out->len >= DEBUG_PIECE_BYTES && dr->fam_next < n)
            return 1;
    }
    jw_close(w, ']');
    dr->families_open = 0;
    return 0;
}

static void series_entry(struct debug_render *dr, struct jw *w, const struct registry_sample *s)
{
    size_t i;

    jw_open(w, '{');
    kv_str(w, "family", s->cfg->name);
    kv_open(w, "labels", '{');
    for (i = 0; i < s->nlabels; i++) {
        jw_key(w, s->labels[i].name);
        jsonstr_add_quoted(w->out, s->labels[i].value, s->labels[i].value_len);
        w->need_comma = 1;
    }
    jw_close(w, '}');
    if (s->buckets) {
        uint64_t cumulative = 0;
        kv_open(w, "buckets", '[');
        for (i = 0; i <= s->cfg->nbuckets; i++) {
            cumulative += s->buckets[i];
            jw_open(w, '{');
            jw_key(w, "le");
            if (i < s->cfg->nbuckets)
                jw_num(w->out, s->cfg->buckets[i]);
            else
                buf_adds(w->out, "\"+Inf\"");
            w->need_comma = 1;
            kv_u64(w, "count", cumulative);
            jw_close(w, '}');
        }
        jw_close(w, ']');
        kv_num(w, "sum", s->value);
        kv_u64(w, "count", s->count);
    } else {
        kv_num(w, "value", s->value);
    }
    if (s->last_update_ms)
        kv_num(w, "last_update", mono_to_unix(dr, s->last_update_ms));
    else
        kv_str(w, "last_update", NULL);
    /* The series' OpenMetrics _created, as the wall clock read it (null: undated). */
    if (s->created_ms)
        kv_num(w, "created", (double)s->created_ms / 1000.0);
    else
        kv_str(w, "created", NULL);
    jw_close(w, '}');
}

/* Returns 1 when the series section still has series to write. */
static int section_series(struct debug_render *dr, struct jw *w)
{
    struct registry_sample s;
    size_t n = 0;

    if (!dr->cursor_live) {
        registry_cursor_init(&dr->cur, dr->reg);
        dr->cursor_live = 1;
        kv_open(w, "series", '[');
    }
    /* Series skipped by family= count too: the walk is what costs. */
    while (n < DEBUG_STEP_SERIES && w->out->len < DEBUG_PIECE_BYTES &&
           dr->series_written < dr->q.limit && registry_cursor_next(&dr->cur, &s)) {
        n++;
        if (dr->q.family_index >= 0 && s.family != (size_t)dr->q.family_index)
            continue;
        series_entry(dr, w, &s);
        dr->series_written++;
    }
    if (dr->series_written < dr->q.limit && registry_cursor_more(&dr->cur))
        return 1;
    jw_close(w, ']');
    kv_bool(w, "series_truncated",
            dr->series_written >= dr->q.limit && registry_cursor_more(&dr->cur));
    registry_cursor_release(&dr->cur);
    dr->cursor_live = 0;
    return 0;
}

static void section_jobs(struct debug_render *dr, struct jw *w)
{
    static const char *const outcomes[] = { "worked", "idle", "error" };
    size_t i, k;

    kv_open(w, "jobs", '[');
    for (i = 0; i < dr->jobs->n; i++) {
        const struct config_job *cj = &dr->jobs->cfg->jobs[i];
        const struct breaker *b = jobs_get(dr->jobs, i, dr->self.now_ms);

        jw_open(w, '{');
        kv_str(w, "job", cj->name);
        kv_str(w, "state", breaker_state_name(b->state));
        kv_num(w, "state_seconds", (double)breaker_time_in_state(b, dr->self.now_ms) / 1000.0);
        kv_u64(w, "consecutive_failures", b->consecutive_failures);
        kv_u64(w, "failure_threshold", b->threshold);
        kv_num(w, "open_seconds", cj->open_seconds);
        kv_open(w, "attempts", '{');
        for (k = 0; k < BREAKER_NOUTCOMES; k++)
            kv_u64(w, outcomes[k], b->attempts[k]);
        jw_close(w, '}');
        kv_u64(w, "errors", b->errors);
        kv_u64(w, "circuit_openings", b->openings);
        writers_entry(w, dr->jobs->cfg, cj->writers);
        if (b->has_success)
            kv_num(w, "last_success", b->last_success_unix);
        else
            kv_str(w, "last_success", NULL);
        if (b->has_error)
            kv_num(w, "last_error", b->last_error_unix);
        else
            kv_str(w, "last_error", NULL);
        jw_close(w, '}');
    }
    jw_close(w, ']');
}

static void section_rejects(struct debug_render *dr, struct jw *w)
{
    size_t i, n = rejects_count(dr->rejects);

    kv_open(w, "rejects", '[');
    for (i = 0; i < n; i++) {
        const struct rejects_entry *e = rejects_get(dr->rejects, i);
        char src[NETADDR_TEXT_MAX];

        jw_open(w, '{');
        kv_num(w, "time", e->time_unix);
        kv_str(w, "reason", statsd_reason_name(e->reason));
        jw_key(w, "line");
        jsonstr_add_quoted(w->out, e->line, e->len);
        w->need_comma = 1;
        kv_bool(w, "line_cut", e->len < e->orig_len);
        kv_u64(w, "line_bytes", e->orig_len);
        if (e->has_cred) {
            kv_u64(w, "pid", (uint64_t)e->pid);
            kv_u64(w, "uid", (uint64_t)e->uid);
        } else {
            kv_str(w, "pid", NULL);
            kv_str(w, "uid", NULL);
        }
        /* A UDP line carries no credentials: its source address says who sent it. */
        if (e->has_src)
            kv_str(w, "source", netaddr_format(&e->src.sa, src, sizeof(src)));
        else
            kv_str(w, "source", NULL);
        jw_close(w, '}');
    }
    jw_close(w, ']');
    kv_u64(w, "rejects_total", dr->rejects->total);
}

/* --- render ------------------------------------------------------------------------ */

void debug_render_init(struct debug_render *dr, const struct debug_query *q,
                       const struct selfmetrics *self, struct registry *reg, struct jobs *jobs,
                       const struct rejects *rejects)
{
    memset(dr, 0, sizeof(*dr));
    dr->q = *q;
    dr->self = *self;
    dr->reg = reg;
    /* The query named a family of cfg; what matters from here on is its registry index. */
    if (dr->q.family_index >= 0) {
        long fi = registry_find_family(reg, dr->q.family, strlen(dr->q.family));
        dr->q.family_index = fi >= 0 ? fi : LONG_MAX; /* none: it was there at parse time */
    }
    dr->jobs = jobs;
    dr->rejects = rejects;
    dr->phase = 0;
}

/*
 * The writer's state between pieces is only "inside the top-level object, a member was
 * written" (depth 1, comma due) or "inside the series array" (depth 2): sections are
 * written whole except the series, which resume at depth 2.
 */
int debug_render_step(struct debug_render *dr, struct buf *out)
{
    struct jw w = { out, dr->q.pretty, 1, 1 };
    size_t i;

    if (dr->phase == 0) {
        buf_addch(out, '{');
        w.need_comma = 0;
        kv_u64(&w, "schema", DEBUG_SCHEMA);
        dr->phase = 1;
    }
    if (dr->cursor_live) {
        w.depth = 2;
        w.need_comma = dr->series_written > 0;
    } else if (dr->families_open) {
        w.depth = 2;
        w.need_comma = dr->fam_written > 0;
    }
    for (i = 0; i < NORDER; i++) {
        unsigned bit = order[i];
        if (bit < dr->phase || !(dr->q.sections & bit))
            continue;
        switch (bit) {
        case DEBUG_DAEMON:
            section_daemon(dr, &w);
            break;
        case DEBUG_INGEST:
            section_ingest(dr, &w);
            break;
        case DEBUG_FAMILIES:
            if (section_families(dr, &w)) {
                dr->phase = bit;
                return 1;
            }
            break;
        case DEBUG_SERIES:
            if (section_series(dr, &w)) {
                dr->phase = bit;
                return 1;
            }
            break;
        case DEBUG_JOBS:
            section_jobs(dr, &w);
            break;
        case DEBUG_REJECTS:
            section_rejects(dr, &w);
            break;
        }
        dr->phase = bit << 1;
        if (bit == DEBUG_FAMILIES || bit == DEBUG_SERIES)
            return 1; /* the big sections end a piece */
    }
    w.depth = 0;
    w.need_comma = 1;
    if (w.pretty)
        buf_addch(out, '\n');
    buf_adds(out, "}\n");
    dr->phase = DEBUG_ALL + 1;
    return 0;
}

void debug_render_release(struct debug_render *dr)
{
    if (dr->cursor_live) {
        registry_cursor_release(&dr->cur);
        dr->cursor_live = 0;
    }
}

void debug_error_json(struct buf *out, const char *msg)
{
    buf_addf(out, "{\"schema\":%d,\"error\":", DEBUG_SCHEMA);
    jsonstr_add_quoted(out, msg, strlen(msg));
    buf_adds(out, "}\n");
}
