/*
 * fuzz_util: what the fuzz targets share.
 */
#ifndef USTATSD_FUZZ_UTIL_H
#define USTATSD_FUZZ_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "base/expo.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "expose/render.h"

/*
 * ASan's defaults for a fuzz target: no stack is recorded at each malloc and free
 * (malloc_context_size=0), the largest share of a run's allocator cost. Every bad access
 * and leak is still caught and named where it happens; to see where the memory was
 * allocated or freed, replay the input with ASAN_OPTIONS=malloc_context_size=30.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "malloc_context_size=0";
}

/* Parse a target's built-in config into cfg, or abort naming the target: a bug, not input. */
static inline void fuzz_builtin_config(struct config *cfg, const char *json, const char *target)
{
    char err[512];

    if (cfgload_text(cfg, json, strlen(json), "fuzz.json", err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: the built-in config is invalid: %s\n", target, err);
        abort();
    }
}

/*
 * Whether an input takes its target's full path, its costly cross-checks (a second
 * pipeline, a full render, a document parsed back): one input in 2^bits (bits 0 to 31),
 * those whose FNV-1a hash has its top bits zero (the low bits mix only the bytes' low
 * bits). The hash depends on the bytes alone, so an input takes the same path run after
 * run, and a finding replays on its own. The cheap checks, every input takes. The hash
 * is not instrumented: it would add coverage that says nothing of the code under test.
 */
__attribute__((no_sanitize("coverage"))) static inline int
fuzz_full_path(const uint8_t *data, size_t size, unsigned bits)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return bits == 0 || h >> (32 - bits) == 0;
}

/* Append every series of reg in fmt at now_ms, as a scrape shows them. */
static inline void fuzz_render_series(struct registry *reg, struct buf *out, enum expo_format fmt,
                                      uint64_t now_ms)
{
    struct render rd;

    render_init(&rd, reg, fmt);
    while (render_step(&rd, out, 1000, now_ms))
        ;
    render_release(&rd);
}

/* Append every series of reg, then every job, in fmt at now_ms, as a scrape shows them. */
static inline void fuzz_render(struct registry *reg, struct jobs *jobs, struct buf *out,
                               enum expo_format fmt, uint64_t now_ms)
{
    struct expo e;

    fuzz_render_series(reg, out, fmt, now_ms);
    expo_init(&e, out, fmt);
    jobs_render(jobs, &e, now_ms);
    expo_flush(&e);
}

/* Point stdin at /dev/null, so that an input naming "/dev/stdin" as a file never blocks. */
static inline void fuzz_stdin_null(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        dup2(fd, 0);
        close(fd);
    }
}

/* Whether the n bytes at p are all zero: a refused parse leaves its struct so. */
static inline int fuzz_all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

#endif
