#include "expose/debug.h"
#include "expose/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/errcode.h"
#include "base/jsonstr.h"
#include "base/netaddr.h"
#include "base/query.h"

static const char *const section_names[] = { "daemon", "series",  "ingest", "families",
                                             "jobs",   "rejects", "config" };
static const unsigned section_bits[] = { DEBUG_DAEMON, DEBUG_SERIES,  DEBUG_INGEST, DEBUG_FAMILIES,
                                         DEBUG_JOBS,   DEBUG_REJECTS, DEBUG_CONFIG };
#define NSECTIONS (sizeof(section_bits) / sizeof(section_bits[0]))

/* Sections in document order. */
static const unsigned order[] = { DEBUG_DAEMON, DEBUG_INGEST,  DEBUG_FAMILIES, DEBUG_SERIES,
                                  DEBUG_JOBS,   DEBUG_REJECTS, DEBUG_CONFIG };
#define NORDER (sizeof(order) / sizeof(order[0]))

/* --- query ------------------------------------------------------------------------ */

/* One section, or several separated by commas ("daemon,jobs"). */
static int read_section(struct debug_query *q, const struct config *cfg, const char *value,
                        char *err, size_t errlen)
{
    const char *p = value;

    (void)cfg;
    q->sections = 0;
    for (;;) {
        size_t n = strcspn(p, ","), i;

        for (i = 0; i < NSECTIONS; i++)
            if (strlen(section_names[i]) == n && memcmp(p, section_names[i], n) == 0)
                break;
        if (i == NSECTIONS) {
            snprintf(err, errlen,
                     "unknown section \"%.*s\": expected daemon, ingest, families, series, jobs, "
                     "rejects or config, or several separated by commas",
                     (int)n, p);
            return ERRCODE_BADPARAM;
        }
        q->sections |= section_bits[i];
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
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

/* A parameter that is 0 or 1. */
static int read_bool(const char *name, const char *value, int *out, char *err, size_t errlen)
{
    if (strcmp(value, "1") == 0 || strcmp(value, "0") == 0) {
        *out = value[0] == '1';
        return 0;
    }
    snprintf(err, errlen, "%s \"%s\": expected 0 or 1", name, value);
    return ERRCODE_BADPARAM;
}

static int read_pretty(struct debug_query *q, const struct config *cfg, const char *value,
                       char *err, size_t errlen)
{
    (void)cfg;
    return read_bool("pretty", value, &q->pretty, err, errlen);
}

static int read_seen(struct debug_query *q, const struct config *cfg, const char *value, char *err,
                     size_t errlen)
{
    (void)cfg;
    return read_bool("seen", value, &q->seen, err, errlen);
}

/* The parameters /debug takes, each with the reader of its value. */
static const struct {
    const char *name;
    int (*read)(struct debug_query *q, const struct config *cfg, const char *value, char *err,
                size_t errlen);
} params[] = {
    { "section", read_section }, { "family", read_family }, { "limit", read_limit },
    { "pretty", read_pretty },   { "seen", read_seen },
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
        snprintf(err, errlen,
                 "unknown parameter \"%s\": expected section, family, limit, pretty or seen", name);
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
    q->seen = 1;

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

static void section_rejects(struct debug_render *dr, struct debugjson *w)
{
    size_t i, n = rejects_count(dr->rejects);

    debugjson_kv_open(w, "rejects", '[');
    for (i = 0; i < n; i++) {
        const struct rejects_entry *e = rejects_get(dr->rejects, i);
        char src[NETADDR_TEXT_MAX];

        debugjson_open(w, '{');
        debugjson_kv_num(w, "time", e->time_unix);
        debugjson_kv_str(w, "reason", statsd_reason_name(e->reason));
        debugjson_key(w, "line");
        jsonstr_add_quoted(w->out, e->line, e->len);
        w->need_comma = 1;
        debugjson_kv_bool(w, "line_cut", e->len < e->orig_len);
        debugjson_kv_u64(w, "line_bytes", e->orig_len);
        if (e->has_cred) {
            debugjson_kv_u64(w, "pid", (uint64_t)e->pid);
            debugjson_kv_u64(w, "uid", (uint64_t)e->uid);
        } else {
            debugjson_kv_str(w, "pid", NULL);
            debugjson_kv_str(w, "uid", NULL);
        }
        /* A UDP line carries no credentials: its source address says who sent it. */
        if (e->has_src)
            debugjson_kv_str(w, "source", netaddr_format(&e->src.sa, src, sizeof(src)));
        else
            debugjson_kv_str(w, "source", NULL);
        debugjson_close(w, '}');
    }
    debugjson_close(w, ']');
    debugjson_kv_u64(w, "rejects_total", dr->rejects->total);
}

/*
 * The running config's allowlist (config.allowlist, already JSON), a bounded piece at a
 * time: returns 1 while more remains. The reader holds the config the render borrows.
 */
static int section_config(struct debug_render *dr, struct debugjson *w)
{
    const struct config *c = dr->self.cfg;
    const char *a = c->allowlist != NULL ? c->allowlist : "{}";
    size_t len = strlen(a), n;

    if (dr->config_off == 0) {
        debugjson_kv_open(w, "config", '{');
        debugjson_kv_str(w, "file", c->path);
        debugjson_key(w, "allowlist");
    }
    n = len - dr->config_off < DEBUG_PIECE_BYTES ? len - dr->config_off : DEBUG_PIECE_BYTES;
    buf_add(w->out, a + dr->config_off, n);
    dr->config_off += n;
    if (dr->config_off < len)
        return 1;
    w->need_comma = 1;
    debugjson_close(w, '}');
    return 0;
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
    struct debugjson w = { out, dr->q.pretty, 1, 1 };
    size_t i;

    if (dr->phase == 0) {
        buf_addch(out, '{');
        w.need_comma = 0;
        debugjson_kv_u64(&w, "schema", DEBUG_SCHEMA);
        dr->phase = 1;
    }
    if (dr->cursor_live) {
        w.depth = 2;
        w.need_comma = dr->series_written > 0;
    } else if (dr->families_open) {
        w.depth = 2;
        w.need_comma = dr->fam_written > 0;
    } else if (dr->config_off > 0) {
        w.depth = 2;
    }
    for (i = 0; i < NORDER; i++) {
        unsigned bit = order[i];
        if (bit < dr->phase || !(dr->q.sections & bit))
            continue;
        switch (bit) {
        case DEBUG_DAEMON:
            debugself_daemon(dr, &w);
            break;
        case DEBUG_INGEST:
            debugself_ingest(dr, &w);
            break;
        case DEBUG_FAMILIES:
            if (debugstore_families(dr, &w)) {
                dr->phase = bit;
                return 1;
            }
            break;
        case DEBUG_SERIES:
            if (debugstore_series(dr, &w)) {
                dr->phase = bit;
                return 1;
            }
            break;
        case DEBUG_JOBS:
            debugstore_jobs(dr, &w);
            break;
        case DEBUG_REJECTS:
            section_rejects(dr, &w);
            break;
        case DEBUG_CONFIG:
            if (section_config(dr, &w)) {
                dr->phase = bit;
                return 1;
            }
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
    dr->phase = DEBUG_DONE;
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
