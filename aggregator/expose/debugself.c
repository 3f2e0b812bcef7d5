#include "expose/internal.h"

#include <stdio.h>

#include "statsd.h"

/*
 * The sections that show the daemon's own reading (struct selfmetrics): what /metrics shows
 * too, from the same lists (selfmetrics.h), and what only a person asking needs: paths,
 * addresses, the last errors, the limits.
 */

/* key: an object to follow when on, else null. Returns on. */
static int open_or_null(struct debugjson *w, const char *key, int on)
{
    debugjson_key(w, key);
    if (on) {
        debugjson_open_value(w, '{');
        return 1;
    }
    buf_adds(w->out, "null");
    w->need_comma = 1;
    return 0;
}

/* What a repeated attempt (a reload, a snapshot) came to: last_error NULL when it succeeded. */
static void kv_outcomes(struct debugjson *w, uint64_t ok, uint64_t failed, const char *last_error)
{
    debugjson_kv_u64(w, "succeeded", ok);
    debugjson_kv_u64(w, "failed", failed);
    debugjson_kv_bool(w, "last_successful", last_error == NULL);
    debugjson_kv_str(w, "last_error", last_error);
}

static void restore_dropped(struct debugjson *w, const char *key, const uint64_t *v)
{
    debugjson_kv_open(w, key, '{');
    for (size_t d = 0; d < RECORDS_DROP_MAX; d++)
        debugjson_kv_u64(w, records_drop_name((enum records_drop)d), v[d]);
    debugjson_close(w, '}');
}

/* The restore facts as SELFMETRICS_RESTORE_MAP's kinds show in /debug. */
#define RESTORE_RESULT(w, key, v)  debugjson_kv_str(w, key, v)
#define RESTORE_TEXT(w, key, v)    debugjson_kv_str(w, key, v)
#define RESTORE_SECONDS(w, key, v) debugjson_kv_num(w, key, v)
#define RESTORE_COUNT(w, key, v)   debugjson_kv_u64(w, key, v)
#define RESTORE_DROPPED(w, key, v) restore_dropped(w, key, v)

/* "state": null while off; else the snapshots and the start-up restore (selfmetrics.h). */
static void section_state(const struct selfmetrics_state *st, struct debugjson *w)
{
    if (!open_or_null(w, "state", st->on))
        return;
    debugjson_kv_str(w, "file", st->path);
    debugjson_kv_num(w, "interval_seconds", st->interval);
    debugjson_kv_open(w, "snapshots", '{');
    kv_outcomes(w, st->ok, st->failed, st->last_error);
    if (st->last_ok_unix > 0) {
        debugjson_kv_num(w, "last_success_time", st->last_ok_unix);
        debugjson_kv_num(w, "last_seconds", st->last_seconds);
        debugjson_kv_num(w, "last_longest_slice_seconds", st->last_longest_slice);
        debugjson_kv_u64(w, "last_bytes", st->last_bytes);
        debugjson_kv_u64(w, "last_series", st->last_series);
    }
    debugjson_close(w, '}');
    debugjson_kv_open(w, "restore", '{');
#define RESTORE_ROW(kind, field, metric, key, help) RESTORE_##kind(w, key, st->field);
    SELFMETRICS_RESTORE_MAP(RESTORE_ROW)
#undef RESTORE_ROW
    debugjson_close(w, '}');
    debugjson_close(w, '}');
}

/* "remote_write": each target's counts, as prometheus_remote_storage_* has them; [] when none. */
static void section_remote(const struct rwstats *rs, struct debugjson *w)
{
    debugjson_kv_open(w, "remote_write", '[');
    for (size_t i = 0; rs != NULL && i < RWSTATS_MAX_TARGETS; i++) {
        const struct rwstats_target *t = &rs->t[i];

        if (!t->used)
            continue;
        debugjson_open(w, '{');
        debugjson_kv_str(w, "name", t->name);
        debugjson_kv_str(w, "url", t->url);
        debugjson_kv_u64(w, "intervals", t->intervals);
        debugjson_kv_u64(w, "intervals_missed", t->intervals_missed);
        debugjson_kv_u64(w, "samples_sent", t->samples);
        debugjson_kv_u64(w, "histograms_sent", t->histograms);
        debugjson_kv_u64(w, "samples_failed", t->samples_failed);
        debugjson_kv_u64(w, "samples_retried", t->samples_retried);
        debugjson_kv_open(w, "samples_dropped", '{');
        for (size_t r = 0; r < RWSTATS_NREASONS; r++)
            debugjson_kv_u64(w, rwstats_reason(r), t->samples_dropped[r]);
        debugjson_close(w, '}');
        debugjson_kv_u64(w, "bytes_sent", t->bytes);
        if (t->highest_sent_ms > 0)
            debugjson_kv_num(w, "highest_sent_time", (double)t->highest_sent_ms / 1000.0);
        else
            debugjson_kv_str(w, "highest_sent_time", NULL);
        debugjson_kv_u64(w, "samples_pending", t->pending_samples);
        debugjson_kv_u64(w, "queue_bytes", t->queue_bytes);
        debugjson_kv_u64(w, "queue_max_bytes", t->queue_max_bytes);
        debugjson_close(w, '}');
    }
    debugjson_close(w, ']');
}

/* TLS on the listeners: null without it. */
static void section_tls(const struct selfmetrics_tls *t, struct debugjson *w)
{
    if (!open_or_null(w, "tls", t->on))
        return;
    debugjson_kv_str(w, "web_config_file", t->web_config_file);
    debugjson_kv_str(w, "certificate_sha256", t->cert_sha256);
    debugjson_kv_num(w, "certificate_not_after", t->cert_not_after);
    debugjson_kv_u64(w, "handshakes", t->handshakes);
    debugjson_kv_open(w, "handshake_failures", '{');
    for (int k = 0; k < TLSMEM_FAIL_COUNT; k++)
        debugjson_kv_u64(w, tlsmem_fail_name((enum tlsmem_fail)k), t->failures[k]);
    debugjson_close(w, '}');
    debugjson_close(w, '}');
}

/*
 * "series": what the store holds against the global cap, and how much of its memory the
 * state thread collapsed into huge pages (daemon/hugepages.h).
 */
static void section_series(const struct registry *reg, const struct selfmetrics_hugepages *h,
                           struct debugjson *w)
{
    debugjson_kv_open(w, "series", '{');
    debugjson_kv_u64(w, "total", registry_series_total(reg));
    debugjson_kv_u64(w, "limit", registry_series_cap(reg));
    debugjson_kv_u64(w, "memory_bytes", registry_memory(reg));
    debugjson_kv_u64(w, "expired_by_sweep", registry_expired(reg, 0));
    debugjson_kv_u64(w, "expired_by_reclaim", registry_expired(reg, 1));
    debugjson_kv_open(w, "huge_pages", '{');
    debugjson_kv_bool(w, "enabled", h->on);
    debugjson_kv_u64(w, "collapsed", h->collapsed);
    debugjson_kv_u64(w, "refused", h->refused);
    debugjson_kv_u64(w, "collapsed_bytes", h->collapsed_bytes);
    debugjson_close(w, '}');
    debugjson_close(w, '}');
}

/* Cumulative buckets of a histogram of the loop's turns, as the series section writes a histogram's. */
static void loop_buckets(const struct timings_histogram *h, const char *key, struct debugjson *w)
{
    const double *bounds;
    size_t i, nb = timings_loop_bounds(&bounds);
    uint64_t cumulative = 0;

    debugjson_kv_open(w, key, '[');
    for (i = 0; i <= nb; i++) {
        cumulative += h->buckets[i];
        debugjson_open(w, '{');
        if (i < nb)
            debugjson_kv_num(w, "le", bounds[i]);
        else
            debugjson_kv_str(w, "le", "+Inf");
        debugjson_kv_u64(w, "count", cumulative);
        debugjson_close(w, '}');
    }
    debugjson_close(w, ']');
}

/*
 * "event_loop": the turns of the loop (ustatsd_event_loop_iteration_seconds), and the
 * CPU time of each (ustatsd_event_loop_iteration_cpu_seconds).
 */
static void section_loop(const struct timings *t, struct debugjson *w)
{
    debugjson_kv_open(w, "event_loop", '{');
    debugjson_kv_u64(w, "iterations", t->loop.count);
    debugjson_kv_num(w, "busy_seconds", t->loop.sum);
    loop_buckets(&t->loop, "buckets", w);
    debugjson_kv_num(w, "cpu_seconds", t->cpu.sum);
    loop_buckets(&t->cpu, "cpu_buckets", w);
    debugjson_close(w, '}');
}

void debugself_daemon(struct debug_render *dr, struct debugjson *w)
{
    const struct selfmetrics *d = &dr->self;
    const struct config *c = d->cfg;
    char mode[8];

    debugjson_kv_open(w, "daemon", '{');
    debugjson_kv_str(w, "version", d->version);
    debugjson_kv_num(w, "start_time", d->start_unix);
    debugjson_kv_num(w, "uptime_seconds", d->now_unix - d->start_unix);
    debugjson_kv_str(w, "config_file", d->config_path);
    debugjson_kv_num(w, "config_loaded_time", d->config_loaded_unix);
    debugjson_kv_open(w, "reloads", '{');
    kv_outcomes(w, d->reloads_ok, d->reloads_failed, d->reload_error);
    debugjson_close(w, '}');
    debugjson_kv_open(w, "http_basic_auth_checks", '{');
    for (size_t i = 0; i < BASICCRED_NRESULTS; i++)
        debugjson_kv_u64(w, basiccred_result_name((enum basiccred_result)i), d->basic_auth[i]);
    debugjson_close(w, '}');
    section_state(&d->state, w);
    section_remote(d->remote_write, w);
    section_tls(&d->tls, w);
    debugjson_kv_open(w, "listeners", '{');
    debugjson_kv_str(w, "metrics", d->metrics_listen[0] ? d->metrics_listen : NULL);
    debugjson_kv_str(w, "metrics_path", d->metrics_path);
    debugjson_kv_str(w, "debug", d->debug_listen);
    debugjson_kv_open(w, "endpoints", '[');
    for (size_t i = 0; i < d->nendpoints; i++) {
        const struct selfmetrics_endpoint *ep = &d->endpoints[i];

        debugjson_open(w, '{');
        debugjson_kv_str(w, "name", ep->name);
        debugjson_kv_str(w, "address", ep->address);
        debugjson_kv_str(w, "path", ep->path);
        debugjson_kv_u64(w, "in_flight", ep->in_flight);
        debugjson_kv_open(w, "scrapes", '{');
        debugjson_kv_u64(w, "200", ep->scrapes[0]);
        debugjson_kv_u64(w, "500", ep->scrapes[1]);
        debugjson_kv_u64(w, "503", ep->scrapes[2]);
        debugjson_close(w, '}');
        debugjson_close(w, '}');
    }
    debugjson_close(w, ']');
    debugjson_close(w, '}');
    debugjson_kv_open(w, "socket", '{');
    debugjson_kv_str(w, "path", d->socket_path);
    snprintf(mode, sizeof(mode), "%04o", d->socket_mode & 07777u);
    debugjson_kv_str(w, "mode", mode);
    debugjson_kv_num(w, "max_dgram_qlen", (double)d->max_dgram_qlen);
    debugjson_kv_num(w, "rcvbuf", (double)d->rcvbuf);
    debugjson_kv_bool(w, "sender_credentials", d->passcred);
    debugjson_close(w, '}');
    debugjson_kv_open(w, "limits", '{');
    debugjson_kv_u64(w, "max_series", c->max_series);
    debugjson_kv_u64(w, "max_series_per_family", c->max_series_per_family);
    debugjson_kv_u64(w, "max_label_value_length", c->max_label_value_len);
    debugjson_kv_u64(w, "max_datagram_bytes", STATSD_MAX_DATAGRAM);
    debugjson_kv_u64(w, "max_line_bytes", STATSD_MAX_LINE);
    debugjson_kv_u64(w, "max_tags_per_line", STATSD_MAX_TAGS);
    debugjson_kv_u64(w, "max_name_bytes", STATSD_MAX_NAME);
    debugjson_close(w, '}');
    section_series(dr->reg, &d->huge, w);
    section_loop(&d->stats, w);
    debugjson_close(w, '}');
}

/* "udp": null while it is off; else where it listens and its counters (selfmetrics.h). */
static void section_udp(const struct selfmetrics *s, struct debugjson *w)
{
    if (!s->udp_on) {
        debugjson_kv_str(w, "udp", NULL);
        return;
    }
    debugjson_kv_open(w, "udp", '{');
    debugjson_kv_str(w, "listen", s->udp_listen);
    debugjson_kv_str(w, "address", s->udp_address);
    debugjson_kv_bool(w, "allow_remote", s->udp_allow_remote);
    debugjson_kv_num(w, "rcvbuf", (double)s->udp_rcvbuf);
#define UDP_KEY(field, metric, key, help) debugjson_kv_u64(w, key, s->udp.field);
    SELFMETRICS_UDP_MAP(UDP_KEY)
#undef UDP_KEY
    debugjson_close(w, '}');
}

void debugself_ingest(struct debug_render *dr, struct debugjson *w)
{
    const struct selfmetrics *s = &dr->self;
    int r;

    debugjson_kv_open(w, "ingest", '{');
#define SOCKET_KEY(field, metric, key, help) debugjson_kv_u64(w, key, s->field);
    SELFMETRICS_SOCKET_MAP(SOCKET_KEY)
#undef SOCKET_KEY
    debugjson_kv_u64(w, "lines_accepted", s->lines.accepted);
    debugjson_kv_u64(w, "lines_rejected", intake_rejected_total(&s->lines));
    debugjson_kv_open(w, "rejected_by_reason", '{');
    for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
        debugjson_kv_u64(w, statsd_reason_name(r), s->lines.rejected[r]);
    debugjson_close(w, '}');
    debugjson_kv_open(w, "tags_stripped", '{');
    for (size_t i = 0; i < s->cfg->nstrip_tags; i++)
        debugjson_kv_u64(w, s->cfg->strip_tags[i], registry_tags_stripped(dr->reg, i));
    debugjson_close(w, '}');
    debugjson_kv_open(w, "learn", '{');
    debugjson_kv_bool(w, "enabled", s->learn.on);
#define DEBUGSELF_LEARN(field, metric, key, type, unit, help) \
    debugjson_kv_u64(w, key, s->learn.field);
    SELFMETRICS_LEARN_MAP(DEBUGSELF_LEARN)
#undef DEBUGSELF_LEARN
    debugjson_close(w, '}');
    section_udp(s, w);
    debugjson_close(w, '}');
}
