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
