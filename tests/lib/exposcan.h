/*
 * exposcan: read samples out of a text exposition, for the tests' assertions. Plain
 * string work: the unit tests use it without the daemon harness (daemon.h includes it).
 */
#ifndef USTATSD_TESTS_EXPOSCAN_H
#define USTATSD_TESTS_EXPOSCAN_H

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

#endif
