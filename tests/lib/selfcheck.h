/*
 * selfcheck: the test that /metrics and /debug agree on the daemon's own state, for the
 * unit test of selfmetrics (a reading of known values) and the end-to-end one (a running
 * daemon's scrape and debug view).
 */
#ifndef USTATSD_TESTS_SELFCHECK_H
#define USTATSD_TESTS_SELFCHECK_H

#include <jansson.h>

#include "expose/selfmetrics.h"

/*
 * For every value of selfmetrics_fields[] (each reject reason of the per-reason ones), the
 * sample in exposition (text 0.0.4) and the number at the path in doc (a /debug document
 * with the daemon and ingest sections; booleans read as 1 and 0) must be present and
 * equal, and equal to the value in want when want is not NULL. The UDP socket's values
 * (SELFMETRICS_UDP_U64) must instead be absent from both while UDP is off (want->udp_on, or
 * without want, /debug's ingest.udp is null), and so must the state file's and TLS's
 * (daemon.state, daemon.tls null). Fails the test otherwise.
 */
void selfcheck_agree(const char *exposition, json_t *doc, const struct selfmetrics *want);

#endif
