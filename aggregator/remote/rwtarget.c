#include "remote/rwtarget.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/mem.h"
#include "base/wallclock.h"

_Static_assert(RWQUEUE_DROP_COUNT == RWSTATS_NREASONS, "a count per drop reason");

/* A body on its way through the background thread: compressed there, queued back on the loop. */
struct rwtarget_work {
    struct bgwork_req req;
    struct rwtarget *t; /* NULL once the target has closed */
    struct buf raw;
    struct rwqueue_body *body; /* compressed into, on the worker; NULL when that failed */
    int64_t ts_ms;
    uint64_t samples, histograms;
};

static void send_next(struct rwtarget *t);

static void publish(struct rwtarget *t)
{
    t->st->pending_samples = t->q.samples;
    t->st->pending_histograms = t->q.histograms;
    t->st->queue_bytes = t->q.bytes;
    t->st->queue_max_bytes = t->q.max_bytes;
}

static void on_dropped(void *arg, enum rwqueue_drop why, const struct rwqueue_body *b)
{
    struct rwtarget *t = arg;

    t->st->samples_dropped[why] += b->samples;
    t->st->histograms_dropped[why] += b->histograms;
    if (why == RWQUEUE_DROP_QUEUE_FULL || why == RWQUEUE_DROP_TOO_LARGE)
        log_msg(t->log, LOG_WARN, "remote_write",
                "%s: dropped the interval at %lld ms (%s, %llu samples): the queue holds %zu of "
                "%zu bytes",
                t->cfg->name, (long long)b->timestamp_ms, rwqueue_drop_name(why),
                (unsigned long long)b->samples, t->q.bytes, t->q.max_bytes);
}

static uint64_t interval_ms(const struct rwtarget *t)
{
    uint64_t ms = (uint64_t)(t->cfg->interval * 1000.0 + 0.5);

    return ms ? ms : 1;
}

static void on_tick(uv_timer_t *h);

/*
 * The timer set for the next multiple of the interval after now on the wall clock, and
 * after the one just collected (a timer may fire a little before the wall clock's time).
 */
static void arm(struct rwtarget *t)
{
    uint64_t iv = interval_ms(t), now = wallclock_ms();
    uint64_t next = (now / iv + 1) * iv;

    if (t->last_ms > 0 && next <= (uint64_t)t->last_ms)
        next = ((uint64_t)t->last_ms / iv + 1) * iv;
    /* Since the one just collected (not a restored mark), whole intervals that went by. */
    if (t->ticked && t->last_ms > 0 && next > (uint64_t)t->last_ms + iv)
        t->st->intervals_missed += (next - (uint64_t)t->last_ms) / iv - 1;
    t->next_ms = (int64_t)next;
    uv_timer_start(&t->tick, on_tick, next - now, 0);
}

/*
 * On the background thread: the body compressed straight into its queue entry, trimmed to
 * its size.
 */
static void compress_work(struct bgwork_req *req)
{
    struct rwtarget_work *w = container_of(req, struct rwtarget_work, req);
    size_t cap = snappy_max_compressed_length(w->raw.len);
    struct rwqueue_body *b = rwqueue_body_new(NULL, cap, w->ts_ms, w->samples, w->histograms), *t;

    if (snappy_compress(w->raw.ptr ? w->raw.ptr : "", w->raw.len, (char *)b->data, &b->len) !=
        SNAPPY_OK) {
        free(b);
        return;
    }
    t = realloc(b, sizeof *b + (b->len ? b->len : 1));
    w->body = t != NULL ? t : b;
}

static void compress_done(struct bgwork_req *req)
{
    struct rwtarget_work *w = container_of(req, struct rwtarget_work, req);
    struct rwtarget *t = w->t;

    if (t != NULL) {
        t->work = NULL;
        if (w->body != NULL) {
            rwqueue_push(&t->q, w->body);
            w->body = NULL;
            publish(t);
            send_next(t);
        } else {
            log_msg(t->log, LOG_ERROR, "remote_write", "%s: snappy could not compress %zu bytes",
                    t->cfg->name, w->raw.len);
        }
    }
    buf_release(&w->raw);
    free(w->body);
    free(w);
}

static void on_collected(void *arg, struct buf *body, uint64_t samples, uint64_t histograms)
{
    struct rwtarget *t = arg;
    struct rwtarget_work *w = mem_calloc(1, sizeof *w);
    int rc;

    t->collect = NULL;
    w->t = t;
    w->raw = *body;
    buf_init(body);
    w->ts_ms = t->last_ms;
    w->samples = samples;
    w->histograms = histograms;
    t->work = w;
    if ((rc = bgwork_queue(t->site->remote_bg, &w->req, compress_work, compress_done)) != 0) {
        /* The thread could not be started (a task limit): the interval is lost, said so. */
        log_msg(t->log, LOG_ERROR, "remote_write",
                "%s: the interval at %lld ms is dropped (%llu samples): its compression could "
                "not be started: %s",
                t->cfg->name, (long long)w->ts_ms, (unsigned long long)samples, uv_strerror(rc));
        t->work = NULL;
        buf_release(&w->raw);
        free(w);
    }
}

void rwtarget_collect_now(struct rwtarget *t, int64_t ts_ms)
{
    struct rwcollect_req req;
    struct expo_label ext[RWCOLLECT_MAX_EXT];

    if (ts_ms <= t->last_ms)
        return; /* sent before a restart, or the clock went back */
    if (t->collect != NULL || t->work != NULL) {
        struct rwqueue_body skipped = { .timestamp_ms = ts_ms };

        on_dropped(t, RWQUEUE_DROP_BEHIND, &skipped);
        log_msg(t->log, LOG_WARN, "remote_write",
                "%s: the interval at %lld ms is skipped: the previous one is still being collected",
                t->cfg->name, (long long)ts_ms);
        return;
    }
    for (size_t i = 0; i < t->cfg->nexternal_labels && i < RWCOLLECT_MAX_EXT; i++)
        ext[i] =
            (struct expo_label){ t->cfg->external_labels[i].name, t->cfg->external_labels[i].value,
                                 strlen(t->cfg->external_labels[i].value) };
    req = (struct rwcollect_req){ .site = t->site,
                                  .endpoints = (const char *const *)t->cfg->endpoints,
                                  .nendpoints = t->cfg->nendpoints,
                                  .timestamp_ms = ts_ms,
                                  .ext = ext,
                                  .next = t->cfg->nexternal_labels,
                                  .native = t->cfg->send_native_histograms,
                                  .done = on_collected,
                                  .arg = t };
    t->collect = rwcollect_start(&req);
    if (t->collect == NULL) {
        log_msg(t->log, LOG_ERROR, "remote_write", "%s: an endpoint it names is not served",
                t->cfg->name);
        return;
    }
    t->last_ms = ts_ms;
    t->st->intervals++;
}

static void on_tick(uv_timer_t *h)
{
    struct rwtarget *t = h->data;
    int64_t ts = t->next_ms;

    rwtarget_collect_now(t, ts);
    t->ticked = 1;
    arm(t);
}

static void on_backoff(uv_timer_t *h)
{
    struct rwtarget *t = h->data;

    t->waiting = 0;
    send_next(t);
}

static void on_sent(void *arg, const struct rwhttp_result *res)
{
    struct rwtarget *t = arg;
    struct rwqueue_body *b = t->q.head;
    enum rwretry_verdict v = rwretry_judge(res->status);

    t->xfer = NULL;
    rwstats_duration(t->st, res->duration_s);
    switch (v) {
    case RWRETRY_SENT:
        t->st->samples += b->samples;
        t->st->histograms += b->histograms;
        t->st->bytes += b->len;
        if (b->timestamp_ms > t->st->highest_sent_ms) {
            t->st->highest_sent_ms = b->timestamp_ms;
            if (t->marked != NULL)
                t->marked(t->marked_arg);
        }
        if (t->failing)
            log_msg(t->log, LOG_INFO, "remote_write", "%s: sending again (%s)", t->cfg->name,
                    t->cfg->url);
        t->failing = 0;
        rwqueue_done(&t->q, 0);
        break;
    case RWRETRY_RETRY: {
        uint64_t delay;

        t->st->samples_retried += b->samples;
        t->st->histograms_retried += b->histograms;
        b->attempts++;
        delay = rwretry_delay_ms(&t->retry, b->attempts, res->retry_after_s);
        if (!t->failing)
            log_msg(t->log, LOG_WARN, "remote_write",
                    "%s: %s answered %ld%s%s%s; retrying in %llu ms, and on until it answers",
                    t->cfg->name, t->cfg->url, res->status, res->error[0] ? " (" : "", res->error,
                    res->error[0] ? ")" : "", (unsigned long long)delay);
        t->failing = 1;
        rwqueue_release(&t->q);
        t->waiting = 1;
        uv_timer_start(&t->backoff, on_backoff, delay, 0);
        break;
    }
    case RWRETRY_REJECTED:
        t->st->samples_failed += b->samples;
        t->st->histograms_failed += b->histograms;
        log_msg(t->log, LOG_ERROR, "remote_write",
                "%s: %s refused the interval at %lld ms with %ld, not retried: %s", t->cfg->name,
                t->cfg->url, (long long)b->timestamp_ms, res->status,
                res->body[0] ? res->body : "(no reason given)");
        rwqueue_done(&t->q, 1);
        break;
    }
    publish(t);
    send_next(t);
}

static void send_next(struct rwtarget *t)
{
    const struct config_remote *c = t->cfg;
    const char *headers[RWTARGET_MAX_HEADERS];
    char lines[RWTARGET_MAX_HEADERS][1024];
    struct rwqueue_body *b;
    struct rwhttp_req req;

    if (t->closing || t->xfer != NULL || t->waiting || (b = rwqueue_take(&t->q)) == NULL)
        return;
    for (size_t i = 0; i < c->nheaders && i < RWTARGET_MAX_HEADERS; i++) {
        snprintf(lines[i], sizeof lines[i], "%s: %s", c->headers[i].name, c->headers[i].value);
        headers[i] = lines[i];
    }
    req =
        (struct rwhttp_req){ .url = c->url,
                             .timeout_s = c->timeout,
                             .headers = headers,
                             .nheaders = c->nheaders < RWTARGET_MAX_HEADERS ? c->nheaders
                                                                            : RWTARGET_MAX_HEADERS,
                             .bearer_token_file = c->bearer_token_file,
                             .username = c->basic_username,
                             .password = c->basic_password,
                             .password_file = c->basic_password_file,
                             .ca_file = c->ca_file,
                             .cert_file = c->cert_file,
                             .key_file = c->key_file,
                             .server_name = c->server_name,
                             .insecure_skip_verify = c->insecure_skip_verify };
    t->xfer = rwhttp_post(t->http, &req, b->data, b->len, on_sent, t);
    if (t->xfer == NULL) {
        rwqueue_release(&t->q);
        t->waiting = 1;
        uv_timer_start(&t->backoff, on_backoff, t->retry.max_backoff_ms, 0);
    }
}

static void set_config(struct rwtarget *t, const struct config_remote *cfg)
{
    t->cfg = cfg;
    t->retry.min_backoff_ms = (uint64_t)(cfg->min_backoff * 1000.0 + 0.5);
    if (t->retry.min_backoff_ms == 0)
        t->retry.min_backoff_ms = 1;
    t->retry.max_backoff_ms = (uint64_t)(cfg->max_backoff * 1000.0 + 0.5);
    if (t->retry.max_backoff_ms < t->retry.min_backoff_ms)
        t->retry.max_backoff_ms = t->retry.min_backoff_ms;
}

int rwtarget_start(struct rwtarget *t, struct site *s, struct log *log, struct rwhttp *http,
                   const struct config_remote *cfg, int64_t last_ms)
{
    memset(t, 0, sizeof *t);
    t->site = s;
    t->log = log;
    t->http = http;
    t->st = rwstats_target(&s->rwstats, cfg->name, cfg->url);
    if (t->st == NULL)
        return ERRCODE_LIMIT;
    set_config(t, cfg);
    t->last_ms = last_ms;
    if (last_ms > t->st->highest_sent_ms)
        t->st->highest_sent_ms = last_ms;
    rwqueue_init(&t->q, cfg->max_bytes, on_dropped, t);
    uv_timer_init(s->loop, &t->tick);
    uv_timer_init(s->loop, &t->backoff);
    t->tick.data = t;
    t->backoff.data = t;
    publish(t);
    arm(t);
    return 0;
}

void rwtarget_update(struct rwtarget *t, const struct config_remote *cfg)
{
    uint64_t old = interval_ms(t);

    set_config(t, cfg);
    rwqueue_set_max(&t->q, cfg->max_bytes);
    publish(t);
    if (interval_ms(t) != old)
        arm(t);
}

static void on_closed(uv_handle_t *h)
{
    struct rwtarget *t = h->data;

    if (++t->closed_handles == 2 && t->closed != NULL)
        t->closed(t->closed_arg);
}

void rwtarget_close(struct rwtarget *t, void (*closed)(void *arg), void *arg)
{
    t->closing = 1;
    t->closed = closed;
    t->closed_arg = arg;
    rwcollect_cancel(t->collect);
    t->collect = NULL;
    if (t->work != NULL)
        t->work->t = NULL; /* its done callback frees it */
    t->work = NULL;
    if (t->xfer != NULL)
        rwhttp_cancel(t->xfer);
    t->xfer = NULL;
    rwqueue_clear(&t->q);
    uv_close((uv_handle_t *)&t->tick, on_closed);
    uv_close((uv_handle_t *)&t->backoff, on_closed);
}
