#include "ingest/credwant.h"

static uint64_t later(uint64_t now_ms, uint64_t linger_ms)
{
    return now_ms + linger_ms < now_ms ? UINT64_MAX : now_ms + linger_ms;
}

void credwant_init(struct credwant *w, uint64_t now_ms, uint64_t linger_ms)
{
    w->until_ms = later(now_ms, linger_ms);
    w->rejected = 0;
    w->on = 1;
}

void credwant_poke(struct credwant *w, uint64_t now_ms, uint64_t linger_ms)
{
    uint64_t until = later(now_ms, linger_ms);

    if (until > w->until_ms)
        w->until_ms = until;
}

int credwant_decide(struct credwant *w, int needed, uint64_t rejected, uint64_t now_ms,
                    uint64_t linger_ms)
{
    if (rejected != w->rejected) {
        w->rejected = rejected;
        credwant_poke(w, now_ms, linger_ms);
    }
    w->on = needed || now_ms < w->until_ms;
    return w->on;
}
