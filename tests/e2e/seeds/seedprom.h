/*
 * seedprom: what the seed's Prometheus answers, through its HTTP API, and the checks of
 * the seed's rules against it. Every wait ends at the run's deadline (s->deadline_ms).
 */
#ifndef USTATSD_TESTS_SEEDPROM_H
#define USTATSD_TESTS_SEEDPROM_H

#include <jansson.h>

#include "seedrun.h"

/* GET path from Prometheus; the parsed JSON (the caller's), or NULL. s->last keeps the body. */
json_t *seedprom_get(struct seed_run *s, const char *path);

/*
 * The instant query expr, once: its result (a new reference; a vector's is an array of
 * {"metric", "value"}), or NULL when Prometheus did not answer or refused it, which sets
 * *refused.
 */
json_t *seedprom_query(struct seed_run *s, const char *expr, int *refused);

/* The instant query returns at least one sample before the deadline, and is not refused. */
void seedprom_check_query(struct seed_run *s, const char *what, const char *expr);

/* The instant query answers, and with no sample: what must not be there is not. */
void seedprom_check_empty(struct seed_run *s, const char *what, const char *expr);

/* A waitfor condition on a seed_run: every active target is up. */
int seedprom_targets_up(void *arg);

/* A waitfor condition on a seed_run: every alerting rule Prometheus loaded is firing. */
int seedprom_alerts_firing(void *arg);

/*
 * The service's `job` label survives the scrape (honor_labels): no series carries
 * exported_job, and the job families (of root, the config as shipped) answer by the
 * job's own name.
 */
void seedprom_check_job_labels(struct seed_run *s, json_t *root);

#endif
