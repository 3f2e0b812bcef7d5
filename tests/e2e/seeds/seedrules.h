/*
 * seedrules: a seed's rule files against its Prometheus. Every alert and recording-rule
 * expression returns data, a recording rule's series exist, and the labels an
 * expression groups by exist (seedlabels.h).
 */
#ifndef USTATSD_TESTS_SEEDRULES_H
#define USTATSD_TESTS_SEEDRULES_H

#include "seedrun.h"

/* Check the rule file at path (a derived one); *alerts counts its alerting rules. */
void seedrules_check_file(struct seed_run *s, const char *path, int *alerts);

#endif
