#include "handler/scrape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "http/negotiate.h"
#include "expose/render.h"
#include "base/wallclock.h"

enum scrape_phase { SCRAPE_HEAD, SCRAPE_SERIES, SCRAPE_SQL, SCRAPE_DONE };

struct scrape {
    struct scrape_source src;
    struct httpd_conn *conn;
    enum expo_format fmt;
    enum expo_escaping esc;
    enum scrape_phase phase;
    struct render rd;
    int pg_waiting;
    struct expo_label consts[SCRAPE_MAX_CONST_LABELS]; /* point into const_text */
    size_t nconst;
    char *const_text;
};

static void on_pg_collected(struct sqlpool *pg, void *arg, int status)
{
    struct scrape *sc = arg;

    (void)pg;
    (void)status; /* a failed or late collector shows in ustatsd_sql_collector_up */
    sc->pg_waiting = 0;
    httpd_resume(sc->conn);
}

static void scrape_free(struct scrape *sc, unsigned status)
{
    if (sc->src.done != NULL)
        sc->src.done(sc->src.arg, status);
    render_release(&sc->rd);
    buf_release(&sc->src.head);
    free(sc->const_text);
    free(sc);
}

/* Copy the labels into one allocation: the config they came from may be reloaded. */
static void copy_consts(struct scrape *sc, const struct expo_label *l, size_t n)
{
    if (n > SCRAPE_MAX_CONST_LABELS)
        n = SCRAPE_MAX_CONST_LABELS;
    if (n == 0)
        return;
    sc->const_text = expo_labels_dup(l, n, sc->consts);
    sc->nconst = n;
    render_labels(&sc->rd, sc->consts, n);
}

static void on_scrape_cancel(void *arg)
{
    struct scrape *sc = arg;

    if (sc->pg_waiting)
        sqlpool_collect_cancel(sc->src.pg, on_pg_collected, sc);
    scrape_free(sc, 200);
}

/*
 * A piece ends at SCRAPE_STEP series or SCRAPE_PIECE_BYTES, whichever comes first: 2000
 * counters are ~120 KB, but 2000 histograms with 12 buckets are ~2.7 MB, whose gzip
 * alone would hold the loop for ~10 ms. Returns 1 while series remain.
 */
static int series_piece(struct scrape *sc, struct buf *out)
{
    size_t done = 0;
    int more = 1;

    while (more && done < SCRAPE_STEP && out->len < SCRAPE_PIECE_BYTES) {
        more = render_step(&sc->rd, out, SCRAPE_SUBSTEP, uv_now(sc->src.loop));
        done += SCRAPE_SUBSTEP;
    }
    return more;
}

static int produce_scrape(struct httpd_conn *conn, struct buf *out, void *arg)
{
    struct scrape *sc = arg;
    struct expo e;

    (void)conn;
    expo_init(&e, out, sc->fmt);
    e.esc = sc->esc;
    switch (sc->phase) {
    case SCRAPE_HEAD:
        buf_add(out, sc->src.head.ptr, sc->src.head.len);
        buf_release(&sc->src.head);
        e.const_labels = sc->consts;
        e.nconst = sc->nconst;
        if (sc->src.serve_jobs)
            jobs_render(sc->src.jobs, &e, uv_now(sc->src.loop));
        expo_flush(&e);
        sc->phase = SCRAPE_SERIES;
        return HTTPD_MORE;
    case SCRAPE_SERIES:
        if (series_piece(sc, out))
            return HTTPD_MORE;
        sc->phase = SCRAPE_SQL;
        /* fall through */
    case SCRAPE_SQL:
        if (sc->pg_waiting)
            return HTTPD_WAIT;
        if (sc->src.pg != NULL) {
            const struct sqlpool_select sel = { *sc->src.running, sc->src.bit, sc->src.self,
                                                sc->consts, sc->nconst };

            sqlpool_render(sc->src.pg, &e, wallclock_unix(), &sel);
        }
        expo_eof(&e);
        sc->phase = SCRAPE_DONE;
        timings_scrape(sc->src.stats, (double)(uv_hrtime() - sc->src.t0_ns) / 1e9);
        scrape_free(sc, 200);
        return HTTPD_DONE;
    case SCRAPE_DONE:
        break;
    }
    return HTTPD_DONE;
}

uint64_t scrape_deadline_ms(const struct config *cfg, const char *scrape_timeout)
{
    double limit = 0, v;
    char *end;
    size_t i;

    for (i = 0; i < cfg->nsql_metrics; i++)
        if (cfg->sql_metrics[i].timeout_seconds > limit)
            limit = cfg->sql_metrics[i].timeout_seconds;
    if (limit <= 0)
        limit = CONFIG_DEFAULT_SQL_TIMEOUT;
    if (scrape_timeout[0]) {
        v = strtod(scrape_timeout, &end);
        if (end != scrape_timeout && isfinite(v) && v > 0) {
            v -= v > 4 * SCRAPE_MARGIN_S ? SCRAPE_MARGIN_S : v / 4;
            if (v < limit)
                limit = v;
        }
    }
    if (limit * 1000.0 > SCRAPE_MAX_WAIT_MS)
        return SCRAPE_MAX_WAIT_MS;
    return (uint64_t)(limit * 1000.0);
}

void scrape_start(struct httpd_conn *conn, const struct httpd_request *req,
                  struct scrape_source *src)
{
    const struct negotiate *neg = &src->neg;
    struct scrape *sc;

    sc = mem_calloc(1, sizeof(*sc));
    sc->src = *src;
    buf_init(&src->head);
    sc->conn = conn;
    sc->fmt = neg->fmt;
    sc->esc = neg->esc;
    sc->phase = SCRAPE_HEAD;
    render_init(&sc->rd, src->reg, neg->fmt);
    render_select(&sc->rd, src->bit, src->self);
    render_set_escaping(&sc->rd, neg->esc);
    copy_consts(sc, src->const_labels, src->nconst);
    sc->src.const_labels = NULL; /* the caller's, gone after the call: consts holds a copy */
    if (httpd_stream(conn, 200, negotiate_content_type(neg), HTTPD_GZIP, produce_scrape,
                     on_scrape_cancel, sc) != 0) {
        scrape_free(sc, 500);
        httpd_respond(conn, 500, "text/plain; charset=utf-8", "internal error\n", 15, 0, NULL);
        return;
    }
    /* HEAD gets GET's headers from the stream, which is then cancelled: no SQL. */
    if (!req->head && src->pg != NULL && src->sql &&
        sqlpool_collect(src->pg, scrape_deadline_ms(src->cfg, req->scrape_timeout), on_pg_collected,
                        sc) == 0)
        sc->pg_waiting = 1;
}
