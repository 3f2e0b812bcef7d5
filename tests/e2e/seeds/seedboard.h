/*
 * seedboard: a seed's Grafana dashboard (dashboard.json) against its Prometheus. Every
 * panel query runs without error and returns at least one sample, and the labels it
 * groups by and its legend shows exist on the data (seedlabels.h); each query variable's
 * `label_values(SELECTOR, LABEL)` has at least one value; with an `instance` variable,
 * every panel query returns nothing for an instance that does not exist.
 *
 * Dashboard variables are substituted before a query runs: `$__rate_interval` 1m,
 * `$__interval` 15s, `$__range` 1h (and their `_s`/`_ms` forms: 60, 15, 3600 / ms), and
 * each templating variable by its `current` value, "All" ($__all) by its `allValue` (".*"
 * when it has none), in the forms `$name`, `${name}` and `[[name]]`. A name that is none
 * of these fails the test. Datasource variables are not substituted (they name no data).
 */
#ifndef USTATSD_TESTS_SEEDBOARD_H
#define USTATSD_TESTS_SEEDBOARD_H

#include "seedrun.h"

void seedboard_check(struct seed_run *s);

#endif
