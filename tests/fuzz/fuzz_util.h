/*
 * fuzz_util: what the fuzz targets share.
 */
#ifndef USTATSD_FUZZ_UTIL_H
#define USTATSD_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Parse a target's built-in config into cfg, or abort naming the target: a bug, not input. */
static inline void fuzz_builtin_config(struct config *cfg, const char *json, const char *target)
{
    char err[512];

    if (config_parse(cfg, json, strlen(json), "fuzz.json", err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: the built-in config is invalid: %s\n", target, err);
        abort();
    }
}

#endif
