#include "ingest/rejects.h"

#include <string.h>

void rejects_init(struct rejects *r)
{
    r->total = 0;
}

void rejects_add(struct rejects *r, double time_unix, int reason, const char *line, size_t len,
                 int has_cred, pid_t pid, uid_t uid, const struct sockaddr *src)
{
    struct rejects_entry *e = &r->ring[r->total % REJECTS_RING];

    e->time_unix = time_unix;
    e->reason = reason;
    e->has_cred = has_cred;
    e->pid = has_cred ? pid : 0;
    e->uid = has_cred ? uid : 0;
    /* Fixed-size storage: an address of another family is not kept. */
    e->has_src = src != NULL && (src->sa_family == AF_INET || src->sa_family == AF_INET6);
    memset(&e->src, 0, sizeof(e->src));
    if (e->has_src)
        memcpy(&e->src, src, src->sa_family == AF_INET6 ? sizeof(e->src.in6) : sizeof(e->src.in4));
    e->orig_len = len;
    e->len = len < REJECTS_LINE_MAX ? len : REJECTS_LINE_MAX;
    memcpy(e->line, line, e->len);
    r->total++;
}

size_t rejects_count(const struct rejects *r)
{
    return r->total < REJECTS_RING ? (size_t)r->total : REJECTS_RING;
}

const struct rejects_entry *rejects_get(const struct rejects *r, size_t i)
{
    return &r->ring[(r->total - 1 - i) % REJECTS_RING];
}
