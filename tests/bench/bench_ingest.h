/*
 * bench_ingest.h: what the parts of the bench_ingest program share. bench_ingest.c runs
 * the sink, the floors and the daemon and reports; bench_ingest_mix.c makes the load's
 * lines and spreads them over the series (--series, --mix).
 */
#ifndef USTATSD_BENCH_INGEST_H
#define USTATSD_BENCH_INGEST_H

#include <stddef.h>
#include <stdint.h>

enum mix { MIX_RR, MIX_UNIFORM, MIX_ZIPF };

extern size_t nseries; /* --series: the series the load spreads over */
extern enum mix mix;   /* --mix */
extern const char *const mix_names[];

/* MIX_ZIPF: the ranks' cumulative probabilities, for nseries; zipf_release() frees them. */
void zipf_setup(void);
void zipf_release(void);

/*
 * Line i of the load into buf (cap bytes), to the series the mix gives it; returns its
 * length. warm_line_of(): line i to series i, the warm-up's.
 */
size_t line_of(uint64_t i, char *buf, size_t cap);
size_t warm_line_of(uint64_t i, char *buf, size_t cap);

#endif
