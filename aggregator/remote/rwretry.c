#include "remote/rwretry.h"

enum rwretry_verdict rwretry_judge(long status)
{
    if (status >= 200 && status < 300)
        return RWRETRY_SENT;
    if (status == 0 || status == 429 || (status >= 500 && status < 600))
        return RWRETRY_RETRY;
    return RWRETRY_REJECTED;
}

uint64_t rwretry_delay_ms(const struct rwretry *p, unsigned attempt, long retry_after_s)
{
    uint64_t d = p->min_backoff_ms;

    if (retry_after_s >= 0)
        return (uint64_t)(retry_after_s > RWRETRY_MAX_RETRY_AFTER_S ? RWRETRY_MAX_RETRY_AFTER_S
                                                                    : retry_after_s) *
               1000;
    for (unsigned i = 1; i < attempt && d < p->max_backoff_ms; i++)
        d *= 2;
    return d < p->max_backoff_ms ? d : p->max_backoff_ms;
}

const char *rwretry_verdict_name(enum rwretry_verdict v)
{
    switch (v) {
    case RWRETRY_SENT:
        return "sent";
    case RWRETRY_RETRY:
        return "retry";
    case RWRETRY_REJECTED:
        return "rejected";
    }
    return "?";
}
