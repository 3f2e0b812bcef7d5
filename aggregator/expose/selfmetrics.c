#include "expose/selfmetrics.h"

#include <stdio.h>
#include <string.h>

#include "config/resattr.h"
#include "statsd.h"

/*
 * What /metrics and /debug both show, checked by the tests against both renderings.
 * config_loaded_unix is one value under two names: the config now running was loaded
 * at start-up or by the last reload that succeeded.
 */
/* The restore facts that both views show as numbers: the others have no sample to compare. */
#define FIELD_COUNT(metric, path, offset) { metric, path, SELFMETRICS_STATE_U64, offset },
#define FIELD_DROPPED(metric, path, offset) \
    { metric "{reason=\"%s\"}", path ".%s", SELFMETRICS_STATE_DROPS, offset },
#define FIELD_RESULT(metric, path, offset)
#define FIELD_TEXT(metric, path, offset)
#define FIELD_SECONDS(metric, path, offset)

const struct selfmetrics_field selfmetrics_fields[] = {
#define SELFMETRICS_ROW(field, metric, key, help) \
    { metric "_total", "ingest." key, SELFMETRICS_U64, offsetof(struct selfmetrics, field) },
    SELFMETRICS_SOCKET_MAP(SELFMETRICS_ROW)
#undef SELFMETRICS_ROW
        { "ustatsd_lines_accepted_total", "ingest.lines_accepted", SELFMETRICS_U64,
          offsetof(struct selfmetrics, lines.accepted) },
    { "ustatsd_lines_rejected_total{reason=\"%s\"}", "ingest.rejected_by_reason.%s",
      SELFMETRICS_REASONS, offsetof(struct selfmetrics, lines.rejected) },
    { "ustatsd_unix_max_dgram_qlen", "daemon.socket.max_dgram_qlen", SELFMETRICS_LONG,
      offsetof(struct selfmetrics, max_dgram_qlen) },
    { "ustatsd_config_reloads_total{result=\"success\"}", "daemon.reloads.succeeded",
      SELFMETRICS_U64, offsetof(struct selfmetrics, reloads_ok) },
    { "ustatsd_config_reloads_total{result=\"failure\"}", "daemon.reloads.failed", SELFMETRICS_U64,
      offsetof(struct selfmetrics, reloads_failed) },
    { "ustatsd_config_last_reload_successful", "daemon.reloads.last_successful",
      SELFMETRICS_NULL_IS_TRUE, offsetof(struct selfmetrics, reload_error) },
    { "ustatsd_config_last_reload_success_timestamp_seconds", "daemon.config_loaded_time",
      SELFMETRICS_DOUBLE, offsetof(struct selfmetrics, config_loaded_unix) },
    { "ustatsd_state_snapshots_total{result=\"success\"}", "daemon.state.snapshots.succeeded",
      SELFMETRICS_STATE_U64, offsetof(struct selfmetrics, state.ok) },
    { "ustatsd_state_snapshots_total{result=\"failure\"}", "daemon.state.snapshots.failed",
      SELFMETRICS_STATE_U64, offsetof(struct selfmetrics, state.failed) },
#define SELFMETRICS_RESTORE_ROW(kind, field, metric, key, help) \
    FIELD_##kind(metric, "daemon.state.restore." key, offsetof(struct selfmetrics, state.field))
    SELFMETRICS_RESTORE_MAP(SELFMETRICS_RESTORE_ROW)
#undef SELFMETRICS_RESTORE_ROW
        { "ustatsd_hugepage_collapses_total{result=\"collapsed\"}",
          "daemon.series.huge_pages.collapsed", SELFMETRICS_U64,
          offsetof(struct selfmetrics, huge.collapsed) },
    { "ustatsd_hugepage_collapses_total{result=\"refused\"}", "daemon.series.huge_pages.refused",
      SELFMETRICS_U64, offsetof(struct selfmetrics, huge.refused) },
    { "ustatsd_hugepage_collapsed_bytes_total", "daemon.series.huge_pages.collapsed_bytes",
      SELFMETRICS_U64, offsetof(struct selfmetrics, huge.collapsed_bytes) },
    { "ustatsd_http_tls_handshakes_total", "daemon.tls.handshakes", SELFMETRICS_TLS_U64,
      offsetof(struct selfmetrics, tls.handshakes) },
#define SELFMETRICS_TLS_ROW(kind, name)                                 \
    { "ustatsd_http_tls_handshake_failures_total{reason=\"" name "\"}", \
      "daemon.tls.handshake_failures." name, SELFMETRICS_TLS_U64,       \
      offsetof(struct selfmetrics, tls.failures) + TLSMEM_FAIL_##kind * sizeof(uint64_t) },
    TLSMEM_FAIL_MAP(SELFMETRICS_TLS_ROW)
#undef SELFMETRICS_TLS_ROW
#define SELFMETRICS_BASIC_ROW(kind, name)                          \
    { "ustatsd_http_basic_auth_checks_total{result=\"" name "\"}", \
      "daemon.http_basic_auth_checks." name, SELFMETRICS_U64,      \
      offsetof(struct selfmetrics, basic_auth[BASICCRED_RESULT_##kind]) },
        BASICCRED_RESULT_MAP(SELFMETRICS_BASIC_ROW)
#undef SELFMETRICS_BASIC_ROW
#define SELFMETRICS_LEARN_ROW(field, metric, key, type, unit, help) \
    { metric, "ingest.learn." key, SELFMETRICS_U64, offsetof(struct selfmetrics, learn.field) },
            SELFMETRICS_LEARN_MAP(SELFMETRICS_LEARN_ROW)
#undef SELFMETRICS_LEARN_ROW
#define SELFMETRICS_UDP_ROW(field, metric, key, help)          \
    { metric "_total", "ingest.udp." key, SELFMETRICS_UDP_U64, \
      offsetof(struct selfmetrics, udp.field) },
                SELFMETRICS_UDP_MAP(SELFMETRICS_UDP_ROW)
#undef SELFMETRICS_UDP_ROW
};
const size_t selfmetrics_nfields = sizeof(selfmetrics_fields) / sizeof(selfmetrics_fields[0]);

void selfmetrics_add_requests(struct selfmetrics *s, const char *handler, unsigned code,
                              uint64_t count)
{
    /* Several listeners serve /-/healthy and /-/ready: one series each, summed. */
    for (size_t i = 0; i < s->nrequests; i++)
        if (s->requests[i].code == code && strcmp(s->requests[i].handler, handler) == 0) {
            s->requests[i].count += count;
            return;
        }
    if (s->nrequests < SELFMETRICS_MAX_REQUESTS)
        s->requests[s->nrequests++] = (struct selfmetrics_requests){ handler, code, count };
}

/* Add count to the (listener, kind) row of rows, appending it while there is room. */
static void add_listener_row(struct selfmetrics_violations *rows, size_t *n, size_t cap,
                             const char *listener, const char *kind, uint64_t count)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(rows[i].listener, listener) == 0 && strcmp(rows[i].kind, kind) == 0) {
            rows[i].count += count;
            return;
        }
    if (*n < cap)
        rows[(*n)++] = (struct selfmetrics_violations){ listener, kind, count };
}

void selfmetrics_add_violations(struct selfmetrics *s, const char *listener, const char *kind,
                                uint64_t count)
{
    add_listener_row(s->violations, &s->nviolations, SELFMETRICS_MAX_VIOLATIONS, listener, kind,
                     count);
}

void selfmetrics_add_evictions(struct selfmetrics *s, const char *listener, const char *reason,
                               uint64_t count)
{
    add_listener_row(s->evictions, &s->nevictions, SELFMETRICS_MAX_EVICTIONS, listener, reason,
                     count);
}

void selfmetrics_add_parked(struct selfmetrics *s, const char *listener, uint64_t open,
                            uint64_t closed)
{
    for (size_t i = 0; i < s->nparked; i++)
        if (strcmp(s->parked[i].listener, listener) == 0) {
            s->parked[i].open += open;
            s->parked[i].closed += closed;
            return;
        }
    if (s->nparked < SELFMETRICS_MAX_PARKED)
        s->parked[s->nparked++] = (struct selfmetrics_parked){ listener, open, closed };
}

/* Counter samples of rows by listener, their kind under the label key. */
static void write_listener_rows(struct expo *e, const struct selfmetrics_violations *rows, size_t n,
                                const char *key)
{
    for (size_t i = 0; i < n; i++) {
        struct expo_label l[2] = { { "listener", rows[i].listener, strlen(rows[i].listener) },
                                   { key, rows[i].kind, strlen(rows[i].kind) } };

        expo_sample(e, "_total", l, 2, (double)rows[i].count);
    }
}

static void write_http(const struct selfmetrics *s, struct expo *e)
{
    size_t i;

    expo_family(e, "ustatsd_http_requests", EXPO_COUNTER,
                "HTTP requests by handler and status code.", "");
    for (i = 0; i < s->nrequests; i++) {
        const struct selfmetrics_requests *r = &s->requests[i];
        char code[8];
        struct expo_label l[2] = {
            { "handler", r->handler, strlen(r->handler) },
            { "code", code, 0 },
        };

        l[1].value_len = (size_t)snprintf(code, sizeof(code), "%u", r->code);
        expo_sample(e, "_total", l, 2, (double)r->count);
    }
    expo_family(e, "ustatsd_http_basic_auth_checks", EXPO_COUNTER,
                "Basic auth checks (web config basic_auth_users), by result: ok, wrong, "
                "unknown_user, malformed, busy (refused 503: bcrypt work at its bound), cached.",
                "");
    for (i = 0; i < BASICCRED_NRESULTS; i++)
        expo_sample1(e, "_total", "result", basiccred_result_name((enum basiccred_result)i),
                     (double)s->basic_auth[i]);
    expo_family(e, "ustatsd_http_limit_violations", EXPO_COUNTER,
                "HTTP clients disconnected for breaking a limit, by listener and kind.", "");
    write_listener_rows(e, s->violations, s->nviolations, "kind");
    expo_family(e, "ustatsd_http_connections_evicted", EXPO_COUNTER,
                "HTTP connections evicted (closed or parked) at the connection cap to make "
                "room, for making no progress, by listener and reason.",
                "");
    write_listener_rows(e, s->evictions, s->nevictions, "reason");
    expo_family(e, "ustatsd_http_connections_parked", EXPO_GAUGE,
                "HTTP connections evicted and parked, by listener: no longer served, their "
                "sockets held open so that a client that reconnects when dropped stays away.",
                "");
    for (i = 0; i < s->nparked; i++)
        expo_sample1(e, "", "listener", s->parked[i].listener, (double)s->parked[i].open);
    expo_family(e, "ustatsd_http_parked_connections_closed", EXPO_COUNTER,
                "Parked HTTP connections closed to make room in a full parking lot, by listener.",
                "");
    for (i = 0; i < s->nparked; i++)
        expo_sample1(e, "_total", "listener", s->parked[i].listener, (double)s->parked[i].closed);
}

/* The TLS handshakes of every listener, while the web config file turns TLS on. */
static void write_tls(const struct selfmetrics *s, struct expo *e)
{
    if (!s->tls.on)
        return;
    expo_scalar(e, "ustatsd_http_tls_handshakes", EXPO_COUNTER,
                "TLS handshakes completed on the HTTP listeners (the client's checks passed).", "",
                (double)s->tls.handshakes);
    expo_family(e, "ustatsd_http_tls_handshake_failures", EXPO_COUNTER,
                "TLS handshakes that failed on the HTTP listeners, by reason.", "");
    for (int k = 0; k < TLSMEM_FAIL_COUNT; k++)
        expo_sample1(e, "_total", "reason", tlsmem_fail_name((enum tlsmem_fail)k),
                     (double)s->tls.failures[k]);
    if (s->tls.cert_not_after == 0 || s->tls.cert_file == NULL)
        return;
    expo_family(e, "ustatsd_tls_certificate_expiry_timestamp_seconds", EXPO_GAUGE,
                "When the TLS certificate new connections get expires (its notAfter), Unix "
                "time, by certificate file.",
                "");
    expo_sample1(e, "", "file", s->tls.cert_file, s->tls.cert_not_after);
}

/*
 * What a repeated attempt (a reload, a snapshot) came to: a counter family by result, and
 * a gauge, 1 when the last one succeeded.
 */
static void write_outcomes(struct expo *e, const char *family, const char *help, uint64_t ok,
                           uint64_t failed, const char *last, const char *last_help, int last_ok)
{
    static const struct expo_label success = { "result", "success", 7 };
    static const struct expo_label failure = { "result", "failure", 7 };

    expo_family(e, family, EXPO_COUNTER, help, "");
    expo_sample(e, "_total", &success, 1, (double)ok);
    expo_sample(e, "_total", &failure, 1, (double)failed);
    expo_scalar(e, last, EXPO_GAUGE, last_help, "", last_ok);
}

/* The restore facts as SELFMETRICS_RESTORE_MAP's kinds show in the text format. */
static void restore_result(struct expo *e, const char *metric, const char *help, const char *v)
{
    expo_family(e, metric, EXPO_GAUGE, help, "");
    expo_sample1(e, "", "result", v, 1);
}

static void restore_dropped(struct expo *e, const char *metric, const char *help, const uint64_t *v)
{
    expo_family(e, metric, EXPO_GAUGE, help, "");
    for (size_t d = 0; d < RECORDS_DROP_MAX; d++)
        expo_sample1(e, "", "reason", records_drop_name((enum records_drop)d), (double)v[d]);
}

#define RESTORE_RESULT(e, metric, help, v)  restore_result(e, metric, help, v)
#define RESTORE_COUNT(e, metric, help, v)   expo_scalar(e, metric, EXPO_GAUGE, help, "", (double)v)
#define RESTORE_DROPPED(e, metric, help, v) restore_dropped(e, metric, help, v)
#define RESTORE_TEXT(e, metric, help, v)    (void)0 /* not in the text format */
#define RESTORE_SECONDS(e, metric, help, v) (void)0

/*
 * The series' memory collapsed into huge pages (daemon/hugepages.h), by result, and the
 * bytes collapsed: shown whether or not the kernel's mode lets the daemon collapse (all 0
 * then), so that a dashboard's query finds the family either way.
 */
static void write_hugepages(const struct selfmetrics_hugepages *h, struct expo *e)
{
    expo_scalar(e, "ustatsd_hugepage_collapse_enabled", EXPO_GAUGE,
                "1 when the daemon collapses the series' memory into huge pages: the kernel's "
                "transparent huge page mode is always or madvise, and its huge page 2 MiB.",
                "", h->on ? 1.0 : 0.0);
    expo_family(e, "ustatsd_hugepage_collapses", EXPO_COUNTER,
                "Ranges of the series' memory (full 2 MiB regions of series, whole 2 MiB "
                "pages of the tables) the state thread took to collapse into huge pages, by "
                "result: collapsed, refused (the kernel would not: no huge page free, a "
                "kernel before 6.1, the range changed meanwhile; or the thread could not "
                "take it).",
                "");
    expo_sample1(e, "_total", "result", "collapsed", (double)h->collapsed);
    expo_sample1(e, "_total", "result", "refused", (double)h->refused);
    expo_scalar(e, "ustatsd_hugepage_collapsed_bytes", EXPO_COUNTER,
                "Bytes of the series' memory collapsed into huge pages.", "bytes",
                (double)h->collapsed_bytes);
}

/* The state file's snapshots and the start-up restore, while state_file is set. */
static void write_state(const struct selfmetrics_state *st, struct expo *e)
{
    if (!st->on)
        return;
    write_outcomes(e, "ustatsd_state_snapshots",
                   "State snapshots written to the state file (daemon.state_file), by result.",
                   st->ok, st->failed, "ustatsd_state_last_snapshot_successful",
                   "Whether the last state snapshot was written (1 before any).",
                   st->last_error == NULL);
    if (st->last_ok_unix > 0) {
        expo_scalar(e, "ustatsd_state_last_snapshot_success_timestamp_seconds", EXPO_GAUGE,
                    "When the last good state snapshot was written: a kill -9 loses the lines "
                    "since.",
                    "seconds", st->last_ok_unix);
        expo_scalar(e, "ustatsd_state_snapshot_duration_seconds", EXPO_GAUGE,
                    "How long the last good state snapshot took, from its first record to its "
                    "rename.",
                    "seconds", st->last_seconds);
        expo_scalar(e, "ustatsd_state_snapshot_longest_slice_seconds", EXPO_GAUGE,
                    "The longest the event loop spent encoding one slice of the last good state "
                    "snapshot.",
                    "seconds", st->last_longest_slice);
        expo_scalar(e, "ustatsd_state_snapshot_bytes", EXPO_GAUGE,
                    "Size on disk of the last good state snapshot.", "bytes",
                    (double)st->last_bytes);
        expo_scalar(e, "ustatsd_state_snapshot_series", EXPO_GAUGE,
                    "Series in the last good state snapshot.", "", (double)st->last_series);
    }
#define RESTORE_ROW(kind, field, metric, key, help) RESTORE_##kind(e, metric, help, st->field);
    SELFMETRICS_RESTORE_MAP(RESTORE_ROW)
#undef RESTORE_ROW
}

static void write_reloads(const struct selfmetrics *s, struct expo *e)
{
    write_outcomes(e, "ustatsd_config_reloads", "Configuration reloads (SIGHUP), by result.",
                   s->reloads_ok, s->reloads_failed, "ustatsd_config_last_reload_successful",
                   "Whether the last configuration reload succeeded (1 before any).",
                   s->reload_error == NULL);
    expo_scalar(e, "ustatsd_config_last_reload_success_timestamp_seconds", EXPO_GAUGE,
                "When the running configuration was loaded, at start-up or by a reload.", "seconds",
                s->config_loaded_unix);
}

void selfmetrics_target_info(const struct config_resource_attr *attrs, size_t nattrs,
                             struct expo *e)
{
    struct expo_label l[CONFIG_MAX_RESOURCE_ATTRS];
    char names[CONFIG_MAX_RESOURCE_ATTRS][CONFIG_MAX_RESOURCE_KEY + 1];
    size_t i, n = 0;

    if (nattrs == 0)
        return;
    /* OpenTelemetry resource attributes: "service.name" becomes label service_name. */
    for (i = 0; i < nattrs && n < CONFIG_MAX_RESOURCE_ATTRS; i++, n++) {
        resattr_label(attrs[i].key, names[n]);
        l[n] = (struct expo_label){ names[n], attrs[i].value, strlen(attrs[i].value) };
    }
    expo_family(e, "target", EXPO_INFO, "Target metadata (OpenTelemetry resource attributes).", "");
    expo_sample(e, "_info", l, n, 1);
}

/* A gauge with one sample per family of the running config, valued by value_of. */
/*
 * The client telemetry families (cfgclient.h) exist whether or not a DogStatsD client ever
 * reports. Their per-family series appear once the family holds a series, so that a daemon
 * with no such client does not expose some 160 zeros about them.
 */
static int unused_client_family(const struct registry *reg, size_t f,
                                const struct config_family *cf)
{
    return cf->client_telemetry && registry_family_series(reg, f) == 0;
}

static void write_per_family(const struct registry *reg, struct expo *e, const char *name,
                             const char *help, size_t (*value_of)(const struct registry *, size_t))
{
    size_t f;

    expo_family(e, name, EXPO_GAUGE, help, "");
    for (f = 0; f < registry_nfamilies(reg); f++) {
        const struct config_family *cf = registry_family_config(reg, f);
        struct expo_label fl;

        if (cf == NULL || unused_client_family(reg, f, cf))
            continue;
        fl = (struct expo_label){ "family", cf->name, strlen(cf->name) };
        expo_sample(e, "", &fl, 1, (double)value_of(reg, f));
    }
}

static void write_lines(const struct intake_counters *c, struct expo *e)
{
    int r;

    expo_scalar(e, "ustatsd_lines_accepted", EXPO_COUNTER,
                "Lines that passed validation and were aggregated.", "", (double)c->accepted);
    /* Every reason, zero or not, so that rate() and absent() alerts work from the start. */
    expo_family(e, "ustatsd_lines_rejected", EXPO_COUNTER,
                "Lines dropped, by reason (see PROTOCOL.md, \"Reject reasons\").", "");
    for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
        expo_sample1(e, "_total", "reason", statsd_reason_name(r), (double)c->rejected[r]);
}

/*
 * A family's own counts restart with it when a reload resets it: their _created is the
 * family's start (registry_family_created), or the caller's when the family is undated.
 */
static void family_created(const struct registry *reg, size_t fam, double start, struct expo *e)
{
    uint64_t ms = registry_family_created(reg, fam);

    e->created = ms != 0 ? (double)ms / 1000.0 : start;
}

static void write_folded(const struct registry *reg, struct expo *e)
{
    double start = e->created;
    size_t f, j, n = 0;
    int why;

    for (f = 0; f < registry_nfamilies(reg); f++) {
        const struct config_family *cf = registry_family_config(reg, f);

        if (cf != NULL && unused_client_family(reg, f, cf))
            continue;
        for (j = 0; cf != NULL && j < cf->nlabels; j++) {
            const struct config_label *cl = &cf->labels[j];

            for (why = CONFIG_FOLD_NONE + 1; cl->overflow != NULL && why < CONFIG_FOLD_MAX; why++) {
                const char *reason = config_fold_name((enum config_fold)why);
                struct expo_label l[3] = { { "family", cf->name, strlen(cf->name) },
                                           { "label", cl->name, strlen(cl->name) },
                                           { "reason", reason, strlen(reason) } };

                if (!config_fold_applies(cl, (enum config_fold)why))
                    continue;
                if (n++ == 0)
                    expo_family(e, "ustatsd_label_values_folded", EXPO_COUNTER,
                                "Label values that folded into their label's overflow value "
                                "instead of rejecting the line, by family, label and reason.",
                                "");
                family_created(reg, f, start, e);
                expo_sample(e, "_total", l, 3,
                            (double)registry_values_folded(reg, f, j, (enum config_fold)why));
            }
        }
    }
    e->created = start;
}

/*
 * The tag policies (labelset_check), each written only where the config uses it, and
 * then at zero from the start.
 */
static void write_tag_policy(const struct config *c, const struct registry *reg, struct expo *e)
{
    double start = e->created;
    size_t i, n = 0;

    if (c->nstrip_tags > 0)
        expo_family(e, "ustatsd_tags_stripped", EXPO_COUNTER,
                    "Accepted lines from which a key of clients.strip_tags was removed, by key.",
                    "");
    for (i = 0; i < c->nstrip_tags; i++)
        expo_sample1(e, "_total", "key", c->strip_tags[i], (double)registry_tags_stripped(reg, i));
    for (i = 0; i < registry_nfamilies(reg); i++) {
        const struct config_family *cf = registry_family_config(reg, i);
        struct expo_label l;

        if (cf == NULL || cf->undeclared != CONFIG_UNDECLARED_DROP ||
            unused_client_family(reg, i, cf))
            continue;
        if (n++ == 0)
            expo_family(e, "ustatsd_labels_dropped", EXPO_COUNTER,
                        "Tags of keys a family does not declare, dropped from accepted lines "
                        "(undeclared_labels: drop), by family.",
                        "");
        l = (struct expo_label){ "family", cf->name, strlen(cf->name) };
        family_created(reg, i, start, e);
        expo_sample(e, "_total", &l, 1, (double)registry_labels_dropped(reg, i));
    }
    e->created = start;
    write_folded(reg, e);
}

void selfmetrics_render(const struct selfmetrics *s, struct expo *e)
{
    struct expo_label l = { "version", s->version, strlen(s->version) };
    double was = e->created;

    /* Every counter and histogram here has counted from zero since start-up. */
    e->created = s->start_unix;

    expo_family(e, "ustatsd_build", EXPO_INFO, "ustatsd build information.", "");
    expo_sample(e, "_info", &l, 1, 1);

#define SELFMETRICS_SCALAR(field, metric, key, help) \
    expo_scalar(e, metric, EXPO_COUNTER, help, "", (double)s->field);
    SELFMETRICS_SOCKET_MAP(SELFMETRICS_SCALAR)
#undef SELFMETRICS_SCALAR
    expo_scalar(e, "ustatsd_unix_max_dgram_qlen", EXPO_GAUGE,
                "net.unix.max_dgram_qlen when the ingest socket was created (-1: unknown).", "",
                (double)s->max_dgram_qlen);
    if (s->udp_on) {
#define SELFMETRICS_UDP_SCALAR(field, metric, key, help) \
    expo_scalar(e, metric, EXPO_COUNTER, help, "", (double)s->udp.field);
        SELFMETRICS_UDP_MAP(SELFMETRICS_UDP_SCALAR)
#undef SELFMETRICS_UDP_SCALAR
        expo_scalar(e, "ustatsd_udp_receive_buffer_bytes", EXPO_GAUGE,
                    "SO_RCVBUF of the UDP socket as the kernel granted it (-1: unknown).", "bytes",
                    (double)s->udp_rcvbuf);
    }
    write_lines(&s->lines, e);
#define SELFMETRICS_LEARN_SCALAR(field, metric, key, type, unit, help) \
    expo_scalar(e, metric, type, help, unit, (double)s->learn.field);
    SELFMETRICS_LEARN_MAP(SELFMETRICS_LEARN_SCALAR)
#undef SELFMETRICS_LEARN_SCALAR
    write_tag_policy(s->cfg, s->reg, e);
    timings_render(&s->stats, e);

    write_per_family(s->reg, e, "ustatsd_family_series", "Series held, by family.",
                     registry_family_series);
    write_per_family(s->reg, e, "ustatsd_family_series_limit", "Series cap, by family.",
                     registry_family_cap);
    expo_scalar(e, "ustatsd_series", EXPO_GAUGE, "Series held in all families.", "",
                (double)registry_series_total(s->reg));
    expo_scalar(e, "ustatsd_series_limit", EXPO_GAUGE, "Series cap over all families.", "",
                (double)registry_series_cap(s->reg));
    expo_scalar(e, "ustatsd_series_memory_bytes", EXPO_GAUGE,
                "Bytes the series store holds: series, label values, tables and the front cache.",
                "bytes", (double)registry_memory(s->reg));
    expo_family(e, "ustatsd_series_expired", EXPO_COUNTER,
                "Series freed past their family's ttl_seconds, by how: sweep (in the "
                "background), reclaim (by a line that found a cap full).",
                "");
    expo_sample1(e, "_total", "by", "sweep", (double)registry_expired(s->reg, 0));
    expo_sample1(e, "_total", "by", "reclaim", (double)registry_expired(s->reg, 1));
    write_hugepages(&s->huge, e);

    write_http(s, e);
    write_tls(s, e);
    write_reloads(s, e);
    write_state(&s->state, e);
    expo_scalar(e, "ustatsd_event_loop_utilization", EXPO_GAUGE,
                "Share of time the event loop was busy since the previous scrape (0 to 1).",
                "ratio", s->loop_utilization);
    expo_scalar(e, "ustatsd_event_loop_idle_seconds", EXPO_COUNTER,
                "Time the event loop spent waiting for events.", "seconds", s->loop_idle_seconds);
    e->created = was;
}
