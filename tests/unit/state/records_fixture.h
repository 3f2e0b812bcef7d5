/*
 * The state file tests' world: a registry and its jobs on a config, a clock that moves
 * a millisecond a read, lines fed as the daemon applies them, and a dump and a restore
 * of the records (test_records.c, test_records_native.c).
 */
#ifndef USTATSD_TEST_RECORDS_FIXTURE_H
#define USTATSD_TEST_RECORDS_FIXTURE_H

#include <criterion/criterion.h>

#include <string.h>

#include "base/buf.h"
#include "config/cfgload.h"
#include "config/config.h"
#include "state/records.h"
#include "statsd.h"
#include "store/jobs.h"
#include "store/registry.h"

struct world {
    struct config cfg;
    struct registry reg;
    struct jobs jobs;
};

static uint64_t clock_ms = 1700000000000ull;

static inline uint64_t fake_clock(void *arg)
{
    (void)arg;
    return clock_ms++;
}

static inline void world_init(struct world *w, const char *json)
{
    char err[512];

    memset(w, 0, sizeof *w);
    cr_assert_eq(cfgload_text(&w->cfg, json, strlen(json), "t.json", err, sizeof err), 0, "%s",
                 err);
    registry_init(&w->reg, &w->cfg);
    registry_set_clock(&w->reg, fake_clock, NULL);
    jobs_init(&w->jobs, &w->cfg, 0);
    jobs_date(&w->jobs, 1700000000.25);
}

static inline void world_release(struct world *w)
{
    jobs_release(&w->jobs);
    registry_release(&w->reg);
    cfgload_release(&w->cfg);
}

static inline void feed(struct world *w, const char *text, uint64_t now)
{
    struct statsd_line l;
    int rc = statsd_parse_line(text, strlen(text), &l);

    cr_assert_eq(rc, STATSD_OK, "%s", text);
    if (l.type == STATSD_JOB)
        rc = jobs_report(&w->jobs, &l, now, 1700000100.0 + (double)now / 1000);
    else
        rc = registry_apply(&w->reg, &l, now);
    cr_assert_eq(rc, STATSD_OK, "%s: %s", text, statsd_reason_name(rc));
}

/* Restore body into w, which must take it whole. */
static inline void restore(struct world *w, const struct buf *body, uint64_t now, uint64_t wall,
                           struct records_restored *got)
{
    char err[256];

    cr_assert_eq(
        records_restore(&w->reg, &w->jobs, body->ptr, body->len, now, wall, got, err, sizeof err),
        0, "%s", err);
}

static inline void records_all(struct world *w, struct buf *out, size_t slice, uint64_t now)
{
    struct records_writer d;

    records_begin(&d, &w->reg, &w->jobs, 1700000200000ull, out);
    while (records_step(&d, out, slice, now))
        ;
    records_end(&d);
}

#endif
