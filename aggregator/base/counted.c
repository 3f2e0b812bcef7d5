#include "base/counted.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/mem.h"

void *counted_alloc(size_t *bytes, size_t n)
{
    void *p = mem_alloc(n);

    *bytes += n;
    return p;
}

void *counted_calloc(size_t *bytes, size_t n, size_t size)
{
    void *p = mem_calloc(n, size);

    *bytes += n * size;
    return p;
}

/*
 * calloc of 64 bytes more, rounded up. A large calloc gets fresh pages from the kernel,
 * already zero, so even a table of megabytes costs no memset.
 */
void *counted_calloc_lines(size_t *bytes, size_t n, size_t size, void **base)
{
    *base = counted_calloc(bytes, 1, n * size + 64);
    return (void *)(((uintptr_t)*base + 63) & ~(uintptr_t)63);
}

void *counted_realloc(size_t *bytes, void *p, size_t old, size_t n)
{
    void *q = mem_realloc(p, n);

    *bytes += n - old;
    return q;
}

void counted_free(size_t *bytes, void *p, size_t n)
{
    if (p == NULL)
        return;
    *bytes -= n;
    free(p);
}

int counted_release_step(size_t *bytes, struct counted_dead *d, int all)
{
    if (d->p == NULL)
        return 0;
    if (!all && d->n > COUNTED_RELEASE_STEP) {
        d->p = counted_realloc(bytes, d->p, d->n, d->n - COUNTED_RELEASE_STEP);
        d->n -= COUNTED_RELEASE_STEP;
        return 1;
    }
    counted_free(bytes, d->p, d->n);
    d->p = NULL;
    d->n = 0;
    return 0;
}

void counted_dead_take(size_t *bytes, struct counted_dead *d, void *p, size_t n)
{
    counted_release_step(bytes, d, 1);
    d->p = p;
    d->n = n;
    if (n <= COUNTED_RELEASE_STEP)
        counted_release_step(bytes, d, 1);
}
