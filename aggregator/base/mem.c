#include "base/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

void mem_oom(size_t size)
{
    fprintf(stderr, "ustatsd: out of memory allocating %zu bytes, aborting\n", size);
    fflush(stderr);
    abort();
}

void mem_setup(void)
{
#ifdef __GLIBC__
    mallopt(M_MXFAST, 0);
#endif
}

void mem_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void *mem_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        mem_oom(n);
    return p;
}

void *mem_calloc(size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size)
        mem_oom(SIZE_MAX);
    p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        mem_oom(n * size);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        mem_oom(n);
    return q;
}

char *mem_strndup(const char *s, size_t len)
{
    char *p = mem_alloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}
