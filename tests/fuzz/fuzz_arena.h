/*
 * fuzz_arena: jansson's allocator for the fuzz targets that parse JSON (fuzz_config, and
 * fuzz_query's parse-back), checked as the sanitizer's malloc() checks it.
 */
#ifndef USTATSD_FUZZ_ARENA_H
#define USTATSD_FUZZ_ARENA_H

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>
#include <sanitizer/asan_interface.h>

/*
 * jansson's allocator in a fuzz target: a bump arena, emptied after each parse. jansson
 * allocates every value, key, string and table of the document and frees them all
 * before the parse returns; through the sanitizer's malloc() and free() that was
 * most of a run, and jansson is not the code under test. The arena keeps the checks
 * that matter here: a block is followed by poisoned bytes (an overflow is reported), a
 * freed block stays poisoned until the arena is emptied, and after it too until it is
 * handed out again (a use after free is reported), a block freed twice aborts, and a
 * block still allocated when the arena is emptied is a leak, reported as one. What does
 * not fit takes malloc().
 */
#define ARENA_SIZE  (8u << 20)
#define ARENA_ALIGN 16u
#define ARENA_FREED ((size_t)-1)

static unsigned char *arena;
static size_t arena_used, arena_live;

__attribute__((no_sanitize("address", "coverage"))) static void *arena_malloc(size_t n)
{
    size_t need = ARENA_ALIGN + (n + 2 * ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    unsigned char *p;

    if (n > ARENA_SIZE || need > ARENA_SIZE - arena_used) {
        p = malloc(n);
        arena_live += p != NULL;
        return p;
    }
    p = arena + arena_used;
    arena_used += need;
    *(size_t *)p = n; /* the block's header, poisoned */
    __asan_unpoison_memory_region(p + ARENA_ALIGN, n);
    arena_live++;
    return p + ARENA_ALIGN;
}

__attribute__((no_sanitize("address", "coverage"))) static void arena_free(void *ptr)
{
    unsigned char *p = ptr;
    size_t *size;

    if (p == NULL)
        return;
    arena_live--;
    if (p < arena || p >= arena + ARENA_SIZE) {
        free(p);
        return;
    }
    size = (size_t *)(p - ARENA_ALIGN);
    if (*size == ARENA_FREED) {
        fprintf(stderr, "fuzz target: jansson freed a block twice\n");
        abort();
    }
    __asan_poison_memory_region(p, *size);
    *size = ARENA_FREED;
}

/* After a parse: every block jansson allocated is freed; the arena starts over. */
static inline void fuzz_arena_empty(void)
{
    if (arena_live != 0) {
        fprintf(stderr, "fuzz target: %zu blocks of jansson's still allocated after a parse\n",
                arena_live);
        abort();
    }
    arena_used = 0;
}

/* Make the arena and hand it to jansson: once, in LLVMFuzzerInitialize. */
static inline void fuzz_arena_for_jansson(void)
{
    arena = malloc(ARENA_SIZE);
    if (arena == NULL)
        abort();
    __asan_poison_memory_region(arena, ARENA_SIZE);
    json_set_alloc_funcs(arena_malloc, arena_free);
}

#endif
