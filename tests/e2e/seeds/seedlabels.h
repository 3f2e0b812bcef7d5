/*
 * seedlabels: the labels a query groups by exist on the series Prometheus scraped, as
 * the seed's scrape config negotiates them (OpenMetrics, where Prometheus 2.42 asks for
 * it first): a query that groups by a label no series has still returns data, one
 * series without it, and a panel built on it shows nothing by that label.
 *
 * Each `by (l1, l2, ...)` clause of an expression (before its aggregation's argument or
 * after it), and each `{{label}}` of a panel's legendFormat, names a label: for a `by`,
 * `count by (l) (ARGUMENT)` must return a series that has l; for a legend, the query
 * itself must. Each waits for that until the run's deadline, since recording rules and
 * rates take an evaluation or two to have data.
 */
#ifndef USTATSD_TESTS_SEEDLABELS_H
#define USTATSD_TESTS_SEEDLABELS_H

#include "seedrun.h"

/*
 * The labels expr groups by and, when legend is not NULL, those the legend shows, exist
 * on the data (what: the panel or rule, for the failure message).
 */
void seedlabels_check(struct seed_run *s, const char *what, const char *expr, const char *legend);

#endif
