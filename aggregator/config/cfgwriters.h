/*
 * cfgwriters: the "writers" section of the configuration, the writer policy: which senders
 * may write which families and report which jobs (docs/configuration.md, "writers").
 *
 *   "writers": [
 *     {"prefix": "billing_", "users": ["billing"], "groups": ["ops"]},
 *     {"family": "billing_refunds", "users": [0]},
 *     {"job": "nightly-export", "users": ["exporter"], "unauthenticated": false}
 *   ]
 *
 * A rule names exactly one of "family" (a configured family, by name as a line sends it),
 * "prefix" (every family whose normalised name starts with it; "" is every family), "job"
 * (a configured job) or "job_prefix" (every job whose name, as sent, starts with it), and
 * allows "users" (names or uids), "groups" (names or gids) and, with "unauthenticated":
 * true, lines that carry no credentials (UDP). Names are resolved when the file is read
 * (getpwnam_r, getgrnam_r), so a reload resolves them again.
 *
 * A family or job takes its most specific rule: the exact one, else the longest matching
 * prefix. One with no rule may be written by anyone, and without the section the daemon
 * behaves as if it had no policy at all.
 *
 * A domain module: it resolves names through NSS at load time but never on the hot path.
 * The check per line is cfgwriters_allows(): two binary searches over small sorted arrays.
 */
#ifndef USTATSD_CFGWRITERS_H
#define USTATSD_CFGWRITERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/cfgread.h"
#include "config/config.h"

/*
 * Read $.writers (arr, never NULL) into c->writers. Each rule is checked alone: exactly
 * one of family, prefix, job and job_prefix; a family or job the file configures; a
 * prefix that matches at least one of them; users and groups that resolve (an unknown
 * name is refused, not skipped); no user or group twice; at least one sender allowed. Two
 * rules may not name the same family, job or prefix. Families and jobs must have been read.
 * Returns 0 or ERRCODE_CONFIG (after cfgread_fail*), with c->writers owned by c either way.
 */
int cfgwriters_read(struct cfgread *r, struct config *c, json_t *arr);

/*
 * Point every family and job of c at its most specific rule (or NULL). Run once c holds
 * every family, the synthesised ones (cfgclient) included: a prefix guards those too.
 */
void cfgwriters_assign(struct config *c);

/* Free c->writers. */
void cfgwriters_release(struct config *c);

/*
 * Resolve a user (a name or a uid as a JSON integer) to a uid; ERRCODE_CONFIG, after
 * cfgread_fail() at the current path, for an unknown name or a value that is neither.
 * cfgwriters_group() does the same for a group.
 */
int cfgwriters_user(struct cfgread *r, const json_t *v, uint32_t *uid);
int cfgwriters_group(struct cfgread *r, const json_t *v, uint32_t *gid);

/* Families and jobs of c that a rule guards, for --check-config. */
size_t cfgwriters_guarded_families(const struct config *c);
size_t cfgwriters_guarded_jobs(const struct config *c);

static inline int cfgwriters__has(const uint32_t *a, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (a[mid] == x)
            return 1;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/*
 * Whether rule w lets a sender write: any sender when w is NULL (no rule); a sender
 * without credentials (cred 0: UDP) when w allows unauthenticated lines; else one whose
 * uid is in w's users or whose gid is in w's groups. uid and gid are the credentials the
 * kernel attached (SCM_CREDENTIALS: the effective ids, or a real or saved one the sender
 * chose to pass); supplementary groups are not consulted (docs/configuration.md, "writers").
 */
static inline int cfgwriters_allows(const struct config_writers *w, int cred, uint32_t uid,
                                    uint32_t gid)
{
    if (w == NULL)
        return 1;
    if (!cred)
        return w->unauthenticated;
    return cfgwriters__has(w->uids, w->nuids, uid) || cfgwriters__has(w->gids, w->ngids, gid);
}

#endif
