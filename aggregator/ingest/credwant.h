/*
 * credwant: whether the Unix socket asks the kernel for each datagram's sender
 * (SO_PASSCRED, an SCM_CREDENTIALS message per datagram). The kernel then takes a
 * reference on the sender's pid for every datagram and formats a control message for the
 * receiver: 4 to 8% of ingest's cost, paid by every accepted line whether or not anything
 * reads the sender. Something does when:
 *   - the config has writer rules (they judge each line by its sender), or an endpoint
 *     serves a service's metrics (it finds the service's processes among the senders):
 *     always, while the config says so;
 *   - lines are refused: the reject log, /debug?section=rejects and learn mode name the
 *     senders of refused lines. For that the credentials are asked for during
 *     daemon.credentials_linger_seconds (10 minutes by default) after start-up, after a
 *     reload and after each rejected line; past that a daemon whose lines are all
 *     accepted asks for nothing. A refused line that arrives after a quiet spell has no
 *     sender; the next ones have.
 *
 * A domain module: the time comes in as an argument (monotonic ms).
 */
#ifndef USTATSD_CREDWANT_H
#define USTATSD_CREDWANT_H

#include <stdint.h>

struct credwant {
    uint64_t until_ms; /* ask until then at least (the last start, reload or reject) */
    uint64_t rejected; /* rejected lines counted at the last credwant_decide() */
    int on;            /* the last verdict */
};

/* Start-up at now_ms: ask during linger_ms. */
void credwant_init(struct credwant *w, uint64_t now_ms, uint64_t linger_ms);

/* A reload at now_ms: ask during linger_ms from now (the new config may refuse lines). */
void credwant_poke(struct credwant *w, uint64_t now_ms, uint64_t linger_ms);

/*
 * The verdict at now_ms: 1 to ask for credentials, 0 not to. needed: the config has
 * writer rules or a service endpoint; rejected: the lines rejected so far (a growing
 * count; one more than last time extends the linger from now).
 */
int credwant_decide(struct credwant *w, int needed, uint64_t rejected, uint64_t now_ms,
                    uint64_t linger_ms);

#endif
