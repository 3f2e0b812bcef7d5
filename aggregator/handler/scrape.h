/*
 * scrape: one GET or HEAD /metrics, streamed in pieces.
 *
 * An I/O module. The response is the endpoint's head (rendered by its handler,
 * metrics.h), the jobs, the registry's series in pieces of SCRAPE_STEP series or
 * SCRAPE_PIECE_BYTES, whichever comes first, then the SQL collectors' gauges once they have
 * answered or the scrape's deadline passed. Between pieces the loop runs, so ingestion goes on
 * during a scrape of 100,000 series. Each finished scrape's duration goes to timings
 * (expose/timings.h).
 */
#ifndef USTATSD_SCRAPE_H
#define USTATSD_SCRAPE_H

#include <stdint.h>

#include <uv.h>

#include "base/buf.h"
#include "base/expo.h"
#include "config/config.h"
#include "http/httpd.h"
#include "http/negotiate.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "pg/sqlpool.h"
#include "expose/timings.h"

/*
 * A piece, gzip included, holds the loop about a millisecond: SCRAPE_STEP series, looked
 * at SCRAPE_SUBSTEP at a time, or about SCRAPE_PIECE_BYTES.
 */
#define SCRAPE_STEP        2000
#define SCRAPE_SUBSTEP     250
#define SCRAPE_PIECE_BYTES (128 * 1024)
#define SCRAPE_MARGIN_S    0.25 /* kept from X-Prometheus-Scrape-Timeout-Seconds */
/*
 * The longest a scrape waits for the SQL collectors: under httpd's deadline for a waiting
 * producer (HTTPD_DEFAULT_EVICT_WORK_MS, after which a full server may evict it), so
 * that a scrape waiting on a slow Postgres within its timeout is never evicted or cut:
 * it answers with what the collectors have.
 */
#define SCRAPE_MAX_WAIT_MS (HTTPD_DEFAULT_EVICT_WORK_MS - 1000)

/*
 * The scrape is over, with the status it was answered with (200; 500 when the stream
 * could not start): it finished, or its client went away.
 */
typedef void (*scrape_done_cb)(void *arg, unsigned status);

#define SCRAPE_MAX_CONST_LABELS 16

/*
 * What a scrape reads and writes, filled by the handler. Every pointer is borrowed and
 * must outlive every scrape in flight (the daemon's own state does); cfg is read only
 * when the scrape starts. The scrape calls nothing back but done.
 */
struct scrape_source {
    uv_loop_t *loop;
    const struct config *cfg; /* the SQL metrics' timeouts; read when the scrape starts */
    /* Where the running config is, read when the SQL gauges are written: a reload may have
     * swapped (and freed) cfg by then. */
    const struct config *const *running;
    struct registry *reg;
    struct jobs *jobs;
    struct timings *stats;
    struct sqlpool *pg; /* NULL without PostgreSQL */
    /* The request's format (negotiate_accept() of its Accept header), and the endpoint's
     * head in it: the daemon's own families, process metrics, target_info, rendered
     * up front. The scrape takes head (the caller's buf is left empty) and writes it
     * first. */
    struct negotiate neg;
    struct buf head;
    uint64_t t0_ns;      /* uv_hrtime() when the request came, for the scrape's duration */
    scrape_done_cb done; /* may be NULL */
    void *arg;
    /* What the endpoint serves (render_select(), struct sqlpool_select). */
    uint32_t bit;   /* 0: every family */
    int self;       /* the daemon's own families */
    int serve_jobs; /* the job families */
    int sql;        /* some SQL metric: the collectors are asked to collect */
    /* Labels written on every application series (jobs, families, SQL gauges), copied. */
    const struct expo_label *const_labels;
    size_t nconst; /* <= SCRAPE_MAX_CONST_LABELS */
};

/*
 * Answer the request on conn from src (copied, its head taken): in the format src->neg
 * says, the SQL collectors asked to collect unless it is a HEAD. The scrape frees itself when its
 * stream ends or is cancelled. When the stream cannot start, a 500 is sent instead.
 */
void scrape_start(struct httpd_conn *conn, const struct httpd_request *req,
                  struct scrape_source *src);

/*
 * How long a scrape may wait for the SQL collectors, in ms: the longest timeout of cfg's
 * SQL metrics (CONFIG_DEFAULT_SQL_TIMEOUT when none is set), cut to the scrape timeout
 * Prometheus announced (scrape_timeout, "" when absent) less SCRAPE_MARGIN_S, and to
 * SCRAPE_MAX_WAIT_MS.
 */
uint64_t scrape_deadline_ms(const struct config *cfg, const char *scrape_timeout);

#endif
