/*
 * mem: allocation that aborts when memory runs out (Redis zmalloc_default_oom). Out of
 * memory is not an error a caller handles: every module allocates through these, so the
 * message and the abort live in one place. Anything untrusted input can make grow has its
 * own explicit cap; these never see an unbounded request from a client.
 */
#ifndef USTATSD_MEM_H
#define USTATSD_MEM_H

#include <stddef.h>

/* malloc(n); n == 0 allocates one byte, so the result is never NULL. */
void *mem_alloc(size_t n) __attribute__((malloc));
/* calloc(n, size), with the product checked for overflow; never NULL (n == 0: one byte). */
void *mem_calloc(size_t n, size_t size) __attribute__((malloc));
/* realloc(p, n); n == 0 keeps one byte. */
void *mem_realloc(void *p, size_t n);
/* A NUL-terminated copy of s. */
char *mem_strdup(const char *s) __attribute__((malloc));
/* A NUL-terminated copy of s[0..len), which need not be NUL-terminated. */
char *mem_strndup(const char *s, size_t len) __attribute__((malloc));
/*
 * Tune the allocator for a store whose blocks are freed in masses (expiry): glibc's
 * fastbins off (M_MXFAST 0), so that freed small blocks coalesce at once instead of
 * piling up until one malloc_consolidate() walks them all (30 ms for a million freed
 * series, in one call). The daemon calls it first thing; nothing elsewhere.
 */
void mem_setup(void);
/*
 * Give the heap's free pages back to the system (glibc's malloc_trim(0): free memory in
 * the middle of the heap too, not only at its top); nothing where the allocator has no
 * such call. Costs a walk over the allocator's free chunks: for after a mass free.
 */
void mem_trim(void);
/* Abort the process with a message naming how much could not be allocated. */
void mem_oom(size_t size) __attribute__((noreturn));

#endif
