#include "base/counted.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* What the first bytes of a dead block say: the block given back after it. */
struct dead_next {
    void *p;
    size_t n;
};

static _Thread_local size_t allowance = SIZE_MAX;

size_t counted_release_allow(size_t n)
{
    size_t left = allowance;

    allowance = n;
    return left;
}

/* Free the first block of d; the one after it comes first. */
static void free_first(size_t *bytes, struct counted_dead *d)
{
    struct dead_next next;

    memcpy(&next, d->p, sizeof next);
    counted_free(bytes, d->p, d->n);
    d->p = next.p;
    d->n = next.n;
}

int counted_release_step(size_t *bytes, struct counted_dead *d, int all)
{
    if (all) {
        while (d->p != NULL)
            free_first(bytes, d);
        return 0;
    }
    if (d->p == NULL)
        return 0;
    if (allowance < COUNTED_RELEASE_STEP)
        return 1;
    if (allowance != SIZE_MAX)
        allowance -= COUNTED_RELEASE_STEP;
    /* A shrunk block keeps its first bytes, which name the next: never fewer. */
    if (d->n >= COUNTED_RELEASE_STEP + sizeof(struct dead_next)) {
        d->p = counted_realloc(bytes, d->p, d->n, d->n - COUNTED_RELEASE_STEP);
        d->n -= COUNTED_RELEASE_STEP;
    } else {
        free_first(bytes, d);
    }
    return d->p != NULL;
}

void counted_dead_take(size_t *bytes, struct counted_dead *d, void *p, size_t n)
{
    struct dead_next next = { d->p, d->n };

    if (n <= COUNTED_RELEASE_STEP) {
        counted_free(bytes, p, n);
        return;
    }
    memcpy(p, &next, sizeof next);
    d->p = p;
    d->n = n;
}
