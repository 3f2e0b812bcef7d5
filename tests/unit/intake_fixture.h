/*
 * intake_fixture: the datagram pipeline under test for the intake's unit tests
 * (test_intake, test_intake_jobs): a config, its registry, jobs and reject ring, and an
 * intake over them with a fake wall clock that counts its reads. One per test process
 * (Criterion runs each test in a child of its own).
 */
#ifndef USTATSD_TEST_INTAKE_FIXTURE_H
#define USTATSD_TEST_INTAKE_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "base/expo.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "ingest/intake.h"
#include "expose/render.h"
#include "ingest/rejects.h"
#include "store/jobs.h"
#include "store/registry.h"

#define NOW_MS   5000
#define NOW_UNIX 1.7e9

static struct config cfg;
static struct registry reg;
static struct jobs jobs;
static struct rejects rejects;
static struct intake in;
static unsigned clock_reads;

static inline double fake_clock(void *arg)
{
    (void)arg;
    clock_reads++;
    return NOW_UNIX;
}

/* The pipeline over the config json, with the clock not yet read. */
static inline void intake_up(const char *json)
{
    char err[512];

    memset(&cfg, 0, sizeof(cfg));
    cr_assert_eq(cfgload_text(&cfg, json, strlen(json), "test", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
    jobs_init(&jobs, &cfg, 0);
    rejects_init(&rejects);
    intake_init(&in, &reg, &jobs, &rejects, fake_clock, NULL);
    clock_reads = 0;
}

/* The registry's text exposition, for a sample's value; the caller frees. */
static inline char *intake_exposition(void)
{
    struct buf out = BUF_INIT;
    struct render rd;

    render_init(&rd, &reg, EXPO_TEXT);
    while (render_step(&rd, &out, 1000, NOW_MS))
        ;
    render_release(&rd);
    buf_addch(&out, '\0');
    return out.ptr;
}

static inline void intake_down(void)
{
    jobs_release(&jobs);
    registry_release(&reg);
    cfgload_release(&cfg);
}

#endif
