/*
 * wallclock: the one place that reads the wall clock (CLOCK_REALTIME). Only I/O modules
 * call it; domain modules take the time as an argument. Event timing uses the loop's
 * monotonic clock (uv_now, uv_hrtime), never this: the wall clock jumps.
 */
#ifndef USTATSD_WALLCLOCK_H
#define USTATSD_WALLCLOCK_H

#include <stdint.h>

/* Unix time in seconds, with the fraction. */
double wallclock_unix(void);
/* Unix time in milliseconds. */
uint64_t wallclock_ms(void);

#endif
