/*
 * exposcan: read samples out of a text exposition, for the tests' assertions. Plain
 * string work: the unit tests use it without the daemon harness (daemon.h includes it).
 */
#ifndef USTATSD_TESTS_EXPOSCAN_H
#define USTATSD_TESTS_EXPOSCAN_H

#include <stddef.h>

/*
 * The value of the sample whose text before the value is exactly series (for example
 * `jobs_total{queue="mail"}`) in an exposition; NAN when absent.
 */
double expo_value(const char *body, const char *series);

/*
 * The sum of every sample of the metric name, whatever its labels (`name 3` and
 * `name{a="b"} 4` are both counted); *found gets the number of samples summed.
 */
double expo_sum(const char *body, const char *name, int *found);

/*
 * OpenMetrics: the points that lack their _created sample (a counter's x_total{L}
 * without x_created{L}, a histogram's or summary's x_count{L} without x_created{L}), and
 * the _created samples written with more than ms precision. Families named in skip
 * (NULL-terminated, or NULL) are not asked for one. Writes one line per problem into out
 * (NUL-terminated, cut at outlen) and returns how many there are.
 */
size_t expo_undated(const char *body, const char *const *skip, char *out, size_t outlen);

#endif
