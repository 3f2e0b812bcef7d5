#include "daemon/loopturn.h"

#include <string.h>
#include <time.h>

#include "base/common.h"

/* The CPU time the calling thread has used, in ns. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_turn(uv_prepare_t *p)
{
    struct loopturn *t = container_of(p, struct loopturn, prep);
    uint64_t hr = uv_hrtime(), idle_ns = uv_metrics_idle_time(p->loop), cpu = thread_cpu_ns();
    uint64_t wall = hr - t->prev_hrtime, waited = idle_ns - t->prev_idle_ns;

    if (t->prev_hrtime != 0) {
        timings_loop_iteration(t->stats, wall > waited ? wall - waited : 0);
        timings_loop_cpu(t->stats, cpu - t->prev_cpu_ns);
    }
    t->prev_hrtime = hr;
    t->prev_idle_ns = idle_ns;
    t->prev_cpu_ns = cpu;
    counted_release_allow(LOOPTURN_RELEASE);
}

int loopturn_init(struct loopturn *t, uv_loop_t *loop, struct timings *stats)
{
    memset(t, 0, sizeof(*t));
    t->stats = stats;
    return uv_prepare_init(loop, &t->prep);
}

int loopturn_start(struct loopturn *t)
{
    return uv_prepare_start(&t->prep, on_turn);
}

void loopturn_close(struct loopturn *t, uv_close_cb cb)
{
    uv_close((uv_handle_t *)&t->prep, cb);
}
