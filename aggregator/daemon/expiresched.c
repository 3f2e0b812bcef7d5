#include "daemon/expiresched.h"

#include <string.h>

void expiresched_init(struct expiresched *s, expiresched_slice_fn slice, void *arg)
{
    memset(s, 0, sizeof *s);
    s->slice = slice;
    s->arg = arg;
}

int expiresched_tick(struct expiresched *s, int sweeping)
{
    if (sweeping || !s->slice(s->arg))
        return 0;
    s->ticked = 1;
    return 1;
}

int expiresched_idle(struct expiresched *s)
{
    if (s->ticked) {
        /* The same turn as the tick's slice: this turn has had its slice. */
        s->ticked = 0;
        return 1;
    }
    return s->slice(s->arg);
}
